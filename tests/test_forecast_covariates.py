"""Many series with past and known-future covariates, end to end through the Python API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.config import replace
from lstmkit.tasks.forecast import ForecastConfig


def _stores(n=48, future=0):
    rows = []
    t = pd.date_range("2015-01", periods=n + future, freq="MS")
    rng = np.random.default_rng(0)
    for store, level in (("north", 100.0), ("south", 300.0)):
        promo = (np.arange(n + future) % 5 == 0).astype(float)
        temp = 10 + 8 * np.sin(2 * np.pi * np.arange(n + future) / 12)
        sales = level * (1 + 0.2 * np.sin(2 * np.pi * np.arange(n + future) / 12)) + 30 * promo + rng.normal(0, 2, n + future)
        for i in range(n + future):
            rows.append({"store": store, "month": t[i].strftime("%Y-%m"), "sales": sales[i] if i < n else np.nan,
                         "promo": promo[i], "temp": temp[i] if i < n else np.nan})
    return pd.DataFrame(rows)


def _cfg(tmp_path, path):
    return replace(ForecastConfig(), **{
        "data.path": str(path), "data.target": "sales", "data.time": "month", "data.id": "store",
        "data.past_covariates": ["temp"], "data.future_covariates": ["promo"], "horizon": 3,
        "model.input_size": 12, "model.hidden_size": 8, "model.ensemble": 1, "model.output": "gaussian",
        "train.epochs": 3, "train.progress_bar": False, "out_dir": str(tmp_path / "run"), "val_size": 2,
        "train.early_stopping": 2, "backtest.final_epochs": 2})


def test_many_series_with_covariates(tmp_path):
    from lstmkit.tasks.forecast.api import Forecaster, train

    path = tmp_path / "stores.csv"
    _stores().to_csv(path, index=False)
    res = train(_cfg(tmp_path, path), say=lambda s: None)
    bt = res.metrics["backtest"]
    assert [r["id"] for r in bt["per_series"]] == ["north", "south"]
    assert bt["origins"] == 2 * (24 - 3 + 1)  # auto start: the last two seasons of each series
    assert "coverage_95" in bt["model"]
    f = Forecaster.load(res.model_dir)
    assert f.transform.n_past == 1 and f.transform.n_future == 3  # promo + the month's sin/cos

    # forecasting needs the known-future covariate over the horizon: rows after the last sales value
    with pytest.raises(ValueError, match=r"needs known-future covariates up to step 51, got 48 rows"):
        f.predict(path)
    future = tmp_path / "stores_future.csv"
    _stores(future=3).to_csv(future, index=False)
    pred = f.predict(future)
    assert list(pred["id"].unique()) == ["north", "south"] and len(pred) == 6
    assert str(pred["time"].iloc[0].date()) == "2019-01-01"
    assert (pred["q0.025"] < pred["forecast"]).all()
