"""Many series with past and known-future covariates, end to end through the Python API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest



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


def test_many_series_with_covariates(tmp_path):
    from lstmkit import Forecaster

    f = Forecaster(horizon=3, input_size=12, hidden_size=8, ensemble=1, output="gaussian", epochs=3,
                   model="lstm", progress_bar=False, peers=["ets"])
    cols = dict(target="sales", time="month", id="store", past_covariates=["temp"], future_covariates=["promo"])
    frame = f.backtest(_stores(), **cols)
    bt = f.evaluate()
    assert [r["id"] for r in bt["per_series"]] == ["north", "south"]
    assert bt["origins"] == 2 * (16 - 3 + 1)  # auto start: two seasons (24) capped at a third of the 48 values
    assert "coverage_95" in bt["model"] and set(frame["id"]) == {"north", "south"}
    f.fit(_stores(), **cols)
    assert f.lstm_.transform.n_past == 1 and f.lstm_.transform.n_future == 3  # promo + the month's sin/cos
    f.save(tmp_path / "model")

    # forecasting needs the known-future covariate over the horizon: rows after the last sales value
    # (an empty table until 2026-12-07: a user saw no forecast and no reason)
    with pytest.raises(ValueError, match=r"known-future covariates \['promo'\], so it needs their values for the 3 steps"):
        f.predict()
    assert any("known-future covariates" in n for n in f.data_.notes)
    pred = f.predict(history=_stores(future=3))
    assert list(pred["id"].unique()) == ["north", "south"] and len(pred) == 6
    assert str(pred["time"].iloc[0].date()) == "2019-01-01"
    assert (pred["q0.025"] < pred["forecast"]).all()
    # evaluate takes the covariates over the horizon from the actuals' rows: the forecasts predict(history=) gives
    later = _stores(future=3).groupby("store").tail(3).assign(sales=250.0)  # the horizon's rows, now with actuals
    m = f.evaluate(later)
    assert m["series"] == 2 and m["points"] == 6
    got = f.evaluation_frame_.sort_values(["id", "step"])["forecast"].to_numpy()
    same = f.predict(history=pd.concat([_stores(), later.assign(sales=np.nan)]))  # the training data, then the rows
    np.testing.assert_allclose(got, same.sort_values(["id", "step"])["forecast"], rtol=1e-6)
    # training data that end in a row of the covariate without its target hold the horizon's first step already:
    # the actuals give the rest, and the steps they have are scored
    short = pd.concat([_stores(), later.groupby("store").head(1).assign(sales=np.nan)])
    f.fit(short, **cols)
    m = f.evaluate(later.groupby("store").tail(2))
    assert m["points"] == 4 and sorted({r["step"] for r in m["per_step"]}) == [2, 3]
    np.testing.assert_allclose(f.evaluation_frame_.sort_values(["id", "step"])["forecast"],
                               same[same["step"] > 1].sort_values(["id", "step"])["forecast"], rtol=1e-6)
    f.fit(_stores(), **cols)
    # and actuals whose last row has the covariate but no value (a hole at the end): the steps with values are scored
    holed = later.copy()
    holed.loc[holed.groupby("store").tail(1).index, "sales"] = np.nan
    m = f.evaluate(holed)
    assert m["points"] == 4 and sorted({r["step"] for r in m["per_step"]}) == [1, 2]
    # actuals shorter than the horizon, no covariate rows after them: no forecast can be made, and the error says
    # why (it said "no actual value at the 3 timestamps" until 2026-12-07)
    with pytest.raises(ValueError, match=r"known-future covariates \['promo'\], so its forecasts need their values "
                                         r"for the 3 steps after each series' end; .* add those rows"):
        f.evaluate(later.groupby("store").head(2))
    loaded = Forecaster.load(tmp_path / "model")
    with pytest.raises(ValueError, match="known-future covariates"):
        loaded.predict()
    again = loaded.predict(history=_stores(future=3))
    pd.testing.assert_frame_equal(again, pred)
