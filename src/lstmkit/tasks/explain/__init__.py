"""Gate traces of any saved task model: load a model folder, turn an input into steps, trace its LSTM.

- :mod:`.models`: :func:`load_explainable` for every registered kind (language
  model, classifier, tagger, forecaster, anomaly detector, translator: encoder or decoder) and
  :class:`Explainable.trace` for a text or a series.

The model-independent parts (traces, heatmaps, unit search, experiments) live
in :mod:`lstmkit.explain`.
"""

from .models import Explainable, load_explainable, read_series

__all__ = ["Explainable", "load_explainable", "read_series"]
