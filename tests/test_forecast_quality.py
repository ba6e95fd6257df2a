"""The issue's quality bars on the shipped series as (slow) tests, with defaults only: run with --runslow.

``benchmarks/eval_forecast.py`` reports the same runs (and series nobody tuned on).
"""

from __future__ import annotations

import pandas as pd
import pytest

CASES = {  # name: (file, time, target, horizon)
    "airline": ("airline.csv", "Date", "Passengers", 6),
    "sunspots": ("sunspots.csv", "YEAR", "SUNACTIVITY", 11),
    "shampoo": ("shampoo.csv", "Time", "Sales", 6),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_defaults_beat_seasonal_naive_and_stay_near_the_best_peer(name, shared_data):
    from lstmkit import Forecaster

    file, time, target, horizon = CASES[name]
    f = Forecaster(horizon=horizon, progress_bar=False)
    f.backtest(pd.read_csv(shared_data / "series" / file), time=time, target=target)
    m = f.evaluate()
    assert m["model"]["mase"] < m["seasonal_naive"]["mase"]
    best_peer = min(m[p]["mase"] for p in ("ets", "arima", "theta"))
    assert m["model"]["mase"] <= 1.05 * best_peer
