"""The experiments behind the claims about LSTMs, each building its own small models from :mod:`lstmkit.nn`.

- :mod:`.long_lag_tasks`: the adding problem and the temporal-order task
  (Hochreiter & Schmidhuber 1997, experiments 4 and 6a) and the 0.04 rule.
- :mod:`.sequence_model`: one recurrent layer (RNN, GRU or LSTM) and a linear read-out.
- :mod:`.long_lag`: train and test RNN, GRU and LSTM on those tasks.
- :mod:`.vanishing`: ``||dL/dx_{t-k}||`` against the lag ``k``, at initialisation and after training.
- :mod:`.full_stop`: forget-gate activity at sentence boundaries against elsewhere, from gate traces.
"""
