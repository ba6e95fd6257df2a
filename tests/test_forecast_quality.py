"""The issue's quality bars as (slow) tests: run with --runslow; benchmarks/eval_forecast.py reports them."""

from __future__ import annotations

import pytest

from lstmkit.config import replace
from lstmkit.tasks.forecast import ForecastConfig


@pytest.mark.slow
def test_airline_backtest_from_1959_beats_the_bar(tmp_path, shared_data):
    from lstmkit.tasks.forecast.api import backtest

    cfg = replace(ForecastConfig(), **{
        "data.path": str(shared_data / "series" / "airline.csv"), "data.target": "Passengers", "data.time": "Date",
        "horizon": 6, "season": 12, "backtest.start": "1959-01", "train.progress_bar": False,
        "out_dir": str(tmp_path / "airline")})
    m = backtest(cfg, say=lambda s: None).metrics
    assert m["origins"] == 19 and m["first_origin"].startswith("1959-01")
    assert m["model"]["mape"] <= 2.7
    assert m["model"]["mape"] < m["seasonal_naive"]["mape"]


@pytest.mark.slow
def test_sunspots_last_30_years_beat_seasonal_naive(tmp_path, shared_data):
    from lstmkit.tasks.forecast.api import backtest

    cfg = replace(ForecastConfig(), **{
        "data.path": str(shared_data / "series" / "sunspots.csv"), "data.target": "SUNACTIVITY", "data.time": "YEAR",
        "horizon": 11, "season": 11, "backtest.start": "-30", "model.input_size": 33, "model.instance_norm": "none",
        "model.calendar": False, "train.lr": 0.01, "train.epochs": 300, "train.progress_bar": False,
        "out_dir": str(tmp_path / "sunspots")})
    m = backtest(cfg, say=lambda s: None).metrics
    assert m["model"]["mase"] < m["seasonal_naive"]["mase"]
