"""``lstmkit.Forecaster``: keyword parameters, in-memory inputs, the verbs, save/load, the combination candidate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lstmkit
from lstmkit import Forecaster
from lstmkit.tasks.estimator import NotFittedError

QUICK = {"epochs": 2, "ensemble": 1, "hidden_size": 4, "progress_bar": False}


def _monthly(n=72, seed=0):
    rng = np.random.default_rng(seed)
    t = pd.date_range("2015-01", periods=n, freq="MS")
    y = 200 + np.arange(n) + 30 * np.sin(2 * np.pi * np.arange(n) / 12) + rng.normal(0, 3, n)
    return pd.DataFrame({"month": t, "sales": y})


def test_parameters_mirror_the_configuration():
    f = Forecaster(horizon=12, hidden_size=16, model="ets", train__seed=3)
    p = f.get_params()
    assert p["horizon"] == 12 and p["hidden_size"] == 16 and p["model"] == "ets" and p["seed"] == 3
    assert f.config.select.model == "ets" and f.config.model.hidden_size == 16
    assert "horizon=12" in repr(f)
    with pytest.raises(ValueError, match="unknown parameter 'hidden'"):
        Forecaster(hidden=3)
    with pytest.raises(ValueError, match="SelectConfig: expected model 'auto' or one of"):
        Forecaster(model="prophet")
    # the combination alone has no members to average (it stopped at an IndexError deep in the fit)
    for bad in (dict(candidates=["combination"]), dict(candidates=["lstm", "combination"]),
                dict(model="combination", candidates=["ets", "theta"])):
        with pytest.raises(ValueError, match="combination is the mean of the best LSTM set-up and the statistical"):
            Forecaster(**bad)
    Forecaster(candidates=["lstm-level", "theta", "combination"])  # members present: accepted


def test_verbs_need_a_fit_and_say_so():
    f = Forecaster(**QUICK)
    with pytest.raises(NotFittedError, match=r"Forecaster.predict: no trained model yet"):
        f.predict()
    with pytest.raises(NotFittedError):
        f.save("never")
    with pytest.raises(ValueError, match="Forecaster.evaluate: no backtest to report"):
        f.evaluate()


def test_series_and_arrays_fit_one_series():
    df = _monthly()
    s = pd.Series(df["sales"].to_numpy(), index=df["month"], name="sales")
    f = Forecaster(horizon=4, candidates=["seasonal_naive", "naive"], peers=[], progress_bar=False).fit(s)
    fc = f.predict()
    assert list(fc["id"]) == ["sales"] * 4 and fc["time"].iloc[0] == pd.Timestamp("2021-01-01")
    assert f.core_.plan.season == 12  # from the index's monthly frequency
    np.testing.assert_allclose(fc["forecast"], df["sales"].to_numpy()[-12:-8])  # seasonal naive
    a = Forecaster(horizon=4, candidates=["naive"], peers=[], progress_bar=False).fit(df["sales"].to_numpy())
    assert list(a.predict()["time"]) == [72, 73, 74, 75] and (a.predict()["forecast"] == df["sales"].iloc[-1]).all()
    assert len(a.predict(horizon=2)) == 2
    with pytest.raises(ValueError, match=r"expected 1 <= horizon <= 4 \(the fitted horizon\), got 5"):
        a.predict(horizon=5)


def test_evaluate_on_the_values_that_followed(tmp_path):
    df = _monthly(84)
    train, test = df.iloc[:72], df.iloc[72:]
    f = Forecaster(horizon=6, candidates=["ets", "seasonal_naive"], peers=["ets", "theta"], progress_bar=False)
    f.fit(train, time="month", target="sales")
    m = f.evaluate(test, time="month", target="sales")
    assert m["points"] == 6 and m["peers"] == ["naive", "seasonal_naive", "ets", "theta"]
    chosen = f.choice_["chosen"]
    assert m["model"]["mase"] == pytest.approx(m[chosen]["mase"])  # the model is the chosen peer's forecasts
    assert "verdict" in m and m["per_step"][0]["step"] == 1
    report = f.report(tmp_path / "r").read_text()
    assert "Evaluation" in report and "AutoTheta" in report
    f.save(tmp_path / "m")
    g = lstmkit.load(tmp_path / "m")
    assert isinstance(g, Forecaster) and g.choice_["chosen"] == chosen
    pd.testing.assert_frame_equal(g.predict(), f.predict())
    pd.testing.assert_frame_equal(g.predict(history=df), f.predict(history=df))  # refitted on the new history


def test_evaluate_takes_one_actual_a_series():
    # a one-step forecast is scored on the one value that followed: too few dates to show their own step, and
    # fewer than the two values a training series needs (both stopped evaluate until 2026-12-07)
    df = _monthly(73)
    f = Forecaster(horizon=1, candidates=["ets", "seasonal_naive"], peers=["theta"], progress_bar=False)
    f.fit(df.iloc[:72], time="month", target="sales")
    m = f.evaluate(df.iloc[72:], time="month", target="sales")
    assert m["points"] == 1 and m["series"] == 1
    assert m["model"]["mae"] == pytest.approx(abs(f.predict()["forecast"].iloc[0] - df["sales"].iloc[72]))


def test_evaluate_names_the_actuals_it_could_not_score():
    """Actuals of an id the model never saw ('S1' for 's1') or of no forecast step were passed over in silence."""
    t = pd.date_range("2018-01-01", periods=40, freq="MS")
    df = pd.concat([pd.DataFrame({"id": f"s{k}", "t": t, "y": 50 + 10 * np.sin(np.arange(40) + k)}) for k in range(3)])
    f = Forecaster(horizon=3, candidates=["naive"], peers=[], progress_bar=False).fit(df, time="t", target="y", id="id")
    after, later = pd.date_range("2021-05-01", periods=3, freq="MS"), pd.date_range("2023-01-01", periods=3, freq="MS")
    act = pd.concat([pd.DataFrame({"id": k, "t": when, "y": 50.0})
                     for k, when in (("s0", after), ("S1", after), ("x", after), ("s2", later))])
    m = f.evaluate(act, time="t", target="y", id="id")
    assert m["series"] == 1 and m["points"] == 3
    assert "actual values of 2 series not scored (not among the series forecast): 'S1', 'x'" in m["notes"]
    assert "actual values of 1 series not scored (none at the 3 steps after the series' end): 's2'" in m["notes"]


def test_new_data_in_the_models_step_stay_on_its_grid(tmp_path):
    # 3-hourly readings at 01:00, 04:00, ...: a one-step actual or a two-row history is read in the model's step,
    # which was laid from midnight (00:00, 03:00, ...): evaluate found no actual and predict(history=) forecast
    # for 00:00-phase times (until 2026-12-07); the grid is now laid from a time on the model's own grid
    t = pd.date_range("2024-01-01 01:00", periods=120, freq="3h")
    y = 10 + 3 * np.sin(2 * np.pi * np.arange(120) / 8) + np.random.default_rng(1).normal(0, 0.2, 120)
    df = pd.DataFrame({"time": t, "y": y})
    f = Forecaster(horizon=1, candidates=["seasonal_naive"], peers=[], progress_bar=False)
    f.fit(df.iloc[:100], time="time", target="y")
    g = Forecaster.load(f.save(tmp_path / "m"))
    for m in (f, g):
        fc = m.predict(history=df.iloc[100:102], time="time", target="y")
        assert list(fc["time"]) == [t[102]]
    assert f.evaluate(df.iloc[100:101], time="time", target="y")["points"] == 1
    got = g.evaluate(df.iloc[100:101], history=df.iloc[:100], time="time", target="y")
    assert got["points"] == 1 and got["model"] == f.evaluation_["model"]
    assert g.anchor_ == pd.Timestamp(t[99])
    # two series on different offsets of the step (01:00 and 02:00): each keeps its own
    u = t + pd.Timedelta("1h")
    two = pd.concat([df.assign(id="a"), df.assign(id="b", time=u)], ignore_index=True)
    cols = dict(time="time", target="y", id="id")
    f.fit(two.groupby("id").head(100), **cols)
    g = Forecaster.load(f.save(tmp_path / "m2"))
    assert g.anchor_ == {"": pd.Timestamp(t[99]), "a": pd.Timestamp(t[99]), "b": pd.Timestamp(u[99])}
    for m in (f, g):
        fc = m.predict(history=two.groupby("id").nth([100, 101]), **cols)
        assert list(fc["time"]) == [t[102], u[102]]
    assert f.evaluate(two.groupby("id").nth(100), **cols)["points"] == 2


def test_a_second_fit_is_evaluated_against_its_own_peers():
    # evaluate keeps the peers' forecasts after the training data; a second fit read the first fit's (stale
    # numbers for the same number of series, an IndexError for more) until 2026-12-07
    a, b = _monthly(75, seed=0), _monthly(75, seed=1).assign(sales=lambda d: 3 * d["sales"])
    kw = dict(horizon=3, candidates=["seasonal_naive"], peers=["theta"], progress_bar=False)
    f = Forecaster(**kw).fit(a.iloc[:72], time="month", target="sales")
    f.evaluate(a.iloc[72:], time="month", target="sales")
    f.fit(b.iloc[:72], time="month", target="sales")
    again = f.evaluate(b.iloc[72:], time="month", target="sales")
    fresh = Forecaster(**kw).fit(b.iloc[:72], time="month", target="sales").evaluate(b.iloc[72:], time="month",
                                                                                      target="sales")
    assert again["theta"] == pytest.approx(fresh["theta"]) and again["naive"] == pytest.approx(fresh["naive"])
    f.fit(a.iloc[:72], time="month", target="sales")  # a new fit: the last one's evaluation is not in its report
    assert f.evaluation_ is None and again["after"] == "the training data"


def test_evaluate_after_load_starts_from_the_history_it_is_given(tmp_path):
    # a loaded model keeps no training data: evaluate stopped at an AttributeError (until 2026-12-07); it now asks
    # for history= and then scores the forecasts and the peers made from that history
    df = _monthly(84)
    f = Forecaster(horizon=3, candidates=["ets", "seasonal_naive"], peers=["theta"], progress_bar=False)
    f.fit(df.iloc[:72], time="month", target="sales")
    g = Forecaster.load(f.save(tmp_path / "m"))
    with pytest.raises(ValueError, match=r"opened with load\(\) keeps no training data.*history="):
        g.evaluate(df.iloc[72:75], time="month", target="sales")
    same = g.evaluate(df.iloc[72:75], history=df.iloc[:72], time="month", target="sales")
    assert same["after"] == "the history given"
    html = g.report(tmp_path / "r").read_text()
    assert "Evaluation on the data that followed the history given (3 points)" in html
    want = f.evaluate(df.iloc[72:75], time="month", target="sales")
    assert same["model"] == pytest.approx(want["model"]) and same["theta"] == pytest.approx(want["theta"])
    # a later history: the forecasts after it, scored on the values after it
    later = f.evaluate(df.iloc[78:81], history=df.iloc[:78], time="month", target="sales")
    fc = f.predict(history=df.iloc[:78], time="month", target="sales")
    assert later["points"] == 3
    assert later["model"]["mae"] == pytest.approx(np.mean(np.abs(fc["forecast"].to_numpy()
                                                                 - df["sales"].iloc[78:81].to_numpy())))
    assert f.evaluate(df.iloc[72:75], time="month", target="sales")["model"] == pytest.approx(want["model"])
    # backtest() of a loaded model has no data of its own either: it said "no target column 'sales'" of the
    # built-in airline series it fell back to
    with pytest.raises(ValueError, match=r"keeps no training data; pass the data to backtest"):
        g.backtest()


def test_evaluate_on_the_row_order_scores_the_values_that_followed():
    # a model fitted on an array (or a frame without dates) reads actuals on their row order too: they are the values
    # after each series' end, not steps 0, 1, 2 (evaluate found "no actual value" until 2026-12-07)
    y = _monthly(75)["sales"].to_numpy()
    f = Forecaster(horizon=3, candidates=["ets", "seasonal_naive"], peers=[], progress_bar=False).fit(y[:72])
    fc = f.predict()["forecast"].to_numpy()
    m = f.evaluate(y[72:])
    assert m["points"] == 3 and m["model"]["mae"] == pytest.approx(np.mean(np.abs(fc - y[72:])))
    assert f.evaluate(y[72:73])["model"]["mae"] == pytest.approx(abs(fc[0] - y[72]))
    two = pd.DataFrame({"id": np.repeat(["a", "b"], 75), "v": np.concatenate([y, 2 * y])})
    g = Forecaster(horizon=3, candidates=["seasonal_naive"], peers=[], progress_bar=False)
    g.fit(two.groupby("id").head(72), target="v", id="id")
    got = g.evaluate(two.groupby("id").tail(3), target="v", id="id")
    assert got["points"] == 6 and got["series"] == 2
    # a training part that ends in a row of a known-future covariate without its target: the actuals are the rows
    # after that row (they were laid from the last value, one row early, and scored against the wrong steps)
    rows = pd.DataFrame({"v": y, "promo": (np.arange(75) % 5 == 0).astype(float)})
    train = rows.iloc[:72].copy()
    train.loc[71, "v"] = np.nan
    h = Forecaster(horizon=3, candidates=["lstm"], peers=[], **QUICK).fit(train, target="v",
                                                                          future_covariates=["promo"])
    got = h.evaluate(rows.iloc[72:], target="v", future_covariates=["promo"])
    frame = h.evaluation_frame_
    assert got["points"] == 2 and frame["step"].tolist() == [2, 3] and frame["actual"].tolist() == y[72:74].tolist()


def test_the_combination_is_the_mean_of_its_members():
    from lstmkit.tasks.forecast.classical import classical_forecasts
    from lstmkit.tasks.forecast.lstm_fit import predict_windows

    df = _monthly()
    f = Forecaster(horizon=3, model="combination", candidates=["lstm", "ets", "theta", "combination"], **QUICK)
    f.fit(df, time="month", target="sales")
    core = f.core_
    assert core.chosen == "combination" and core.members == ["lstm", "ets", "theta"]
    data = f.data_
    net = predict_windows(core.lstm.model, core.lstm.transform, data, [np.array([72])], 3, core.plan.input_size)
    ets = classical_forecasts("ets", data, [72], [np.array([72])], 3, 12).point[0][0]
    theta = classical_forecasts("theta", data, [72], [np.array([72])], 3, 12).point[0][0]
    np.testing.assert_allclose(f.predict()["forecast"], (net["point"][0] + ets + theta) / 3)
    assert "combination" in f.choice_["validation"]


NAIVE = {"candidates": ["naive"], "peers": [], "progress_bar": False}


def test_results_keep_the_users_ids_through_save_and_load(tmp_path):
    """Integer ids come back as integers (a merge on them works), from predict,
    backtest and a loaded model; inside, and in reports, they are strings."""
    df = _monthly(48)
    two = pd.concat([df.assign(shop=7), df.assign(shop=11, sales=df["sales"] * 2)], ignore_index=True)
    f = Forecaster(horizon=3, **NAIVE).fit(two, time="month", target="sales", id="shop")
    fc = f.predict()
    assert list(fc["id"]) == [7, 7, 7, 11, 11, 11] and fc["id"].dtype == np.int64
    assert len(two.merge(fc, left_on="shop", right_on="id")) == 2 * 48 * 3
    assert [s.id for s in f.data_.series] == ["7", "11"]
    f.save(tmp_path / "m")
    assert list(lstmkit.load(tmp_path / "m").predict()["id"]) == [7, 7, 7, 11, 11, 11]
    bt = Forecaster(horizon=3, **NAIVE).backtest(two, time="month", target="sales", id="shop", start=-6)
    assert set(bt["id"]) == {7, 11}
    named = Forecaster(horizon=3, **NAIVE).fit(two.assign(shop=two["shop"].map({7: "a", 11: "b"})), time="month",
                                               target="sales", id="shop")
    assert list(named.predict()["id"]) == ["a"] * 3 + ["b"] * 3


def test_results_keep_the_time_zone():
    """A daily series in a zone keeps its midnights across daylight saving (held
    as wall-clock times); an hourly one over the autumn change, whose wall
    clock repeats an hour, is held in UTC; both forecasts come back in the zone."""
    y = np.arange(60.0) % 7 + 10
    daily = pd.Series(y, index=pd.date_range("2021-03-01", periods=60, freq="D", tz="Europe/Paris"))
    fc = Forecaster(horizon=2, **NAIVE).fit(daily).predict()
    assert list(fc["time"]) == list(pd.date_range("2021-04-30", periods=2, freq="D", tz="Europe/Paris"))
    hourly = pd.Series(np.arange(72.0), index=pd.date_range("2021-10-30", periods=72, freq="h", tz="Europe/Paris"))
    f = Forecaster(horizon=3, **NAIVE).fit(hourly)
    assert f.data_.form.tz_utc and len(f.data_.series[0]) == 72  # no duplicate, no gap in UTC
    want = hourly.index[-1] + pd.Timedelta(hours=1)
    assert f.predict()["time"].iloc[0] == want and str(f.predict()["time"].dt.tz) == "Europe/Paris"


def test_a_frames_date_index_is_its_time():
    df = _monthly(36).set_index("month")
    fc = Forecaster(horizon=2, **NAIVE).fit(df, target="sales").predict()
    assert list(fc["time"]) == [pd.Timestamp("2018-01-01"), pd.Timestamp("2018-02-01")]
    wide = df.assign(other=df["sales"] * 2)
    fw = Forecaster(horizon=2, **NAIVE).fit(wide, layout="wide").predict()
    assert set(fw["id"]) == {"sales", "other"} and fw["time"].iloc[0] == pd.Timestamp("2018-01-01")
    clash = df.rename_axis("when").assign(when=1.0)
    with pytest.raises(ValueError, match="the dates are the index and a column is named 'when' too"):
        Forecaster(horizon=2, **NAIVE).fit(clash, target="sales")


def test_a_horizon_with_no_validation_errors_keeps_empty_quantile_columns_and_says_why():
    y = _monthly(48)["sales"].to_numpy()
    short = Forecaster(horizon=24, **NAIVE).fit(y).predict()
    long = Forecaster(horizon=40, **NAIVE).fit(y)
    fc = long.predict()
    assert list(fc.columns) == list(short.columns)  # the same columns whatever the horizon
    assert short["q0.9"].notna().all() and fc["q0.9"].isna().all() and fc["forecast"].notna().all()
    assert any("no prediction intervals" in n for n in long.core_.notes)


def test_an_array_of_one_column_is_one_series():
    y = _monthly(36)["sales"].to_numpy()
    a = Forecaster(horizon=2, **NAIVE).fit(y[:, None]).predict()
    b = Forecaster(horizon=2, **NAIVE).fit(y).predict()
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match=r"got an array of shape \(36, 2\)"):
        Forecaster(horizon=2, **NAIVE).fit(np.c_[y, y])


def test_series_sharing_zoned_times_stay_on_their_wall_clock():
    """Two hourly series in one zone over the spring change: the times repeat across series, not within one."""
    stamps = pd.date_range("2021-03-26", periods=96, freq="h", tz="Europe/Paris")
    df = pd.DataFrame({"t": list(stamps) * 2, "id": ["a"] * 96 + ["b"] * 96, "y": np.r_[np.arange(96.0), np.arange(96.0)]})
    f = Forecaster(horizon=2, **NAIVE).fit(df, time="t", target="y", id="id")
    assert not f.data_.form.tz_utc  # no repeat within a series: wall-clock times (one hour inserted in spring)
    assert f.predict()["time"].iloc[0] == stamps[-1] + pd.Timedelta(hours=1)


def test_a_backtest_leaves_out_series_too_short_for_it_and_names_them(tmp_path):
    rows = []
    for sid in range(4):
        n = 5 if sid == 2 else 40
        part = _monthly(n, seed=sid).assign(shop=sid)
        rows.append(part)
    df = pd.concat(rows, ignore_index=True)
    f = Forecaster(horizon=6, **NAIVE)
    bt = f.backtest(df, time="month", target="sales", id="shop")
    assert set(bt["id"]) == {0, 1, 3}
    assert any("1 series shorter than 8 values (horizon 6 + 2) left out of the backtest: '2'" in n
               for n in f.backtest_.notes)
    f.fit(df, time="month", target="sales", id="shop")
    assert "'2'" in " ".join(f.backtest_.notes)
    html = f.report(tmp_path).read_text()
    assert "left out of the backtest" in html and "nothing was changed" not in html
    with pytest.raises(ValueError, match="no series is long enough for a backtest of horizon 6"):
        Forecaster(horizon=6, **NAIVE).backtest(df[df["shop"] == 2], time="month", target="sales", id="shop")


def test_quantiles_read_as_a_band_around_the_forecast():
    """Levels in order, the point inside the band, and no band below zero for counts that never were."""
    rng = np.random.default_rng(3)
    counts = (rng.random(104) < 0.16) * rng.integers(1, 4, 104).astype(float)
    weeks = pd.Series(counts, index=pd.date_range("2020-01-05", periods=104, freq="W"))
    quarters = pd.Series(1000 + 30 * np.arange(40) + 100 * np.sin(np.arange(40) * np.pi / 2) + rng.normal(0, 20, 40),
                         index=pd.date_range("2010-01", periods=40, freq="QS"))
    for series in (weeks, quarters):
        fc = Forecaster(horizon=4, candidates=["ets", "theta", "naive", "seasonal_naive"], peers=[],
                        progress_bar=False).fit(series).predict()
        lo, mid, hi = fc[["q0.025", "q0.1"]].to_numpy(), fc["forecast"].to_numpy(), fc[["q0.9", "q0.975"]].to_numpy()
        assert (lo[:, 0] <= lo[:, 1]).all() and (lo[:, 1] <= mid).all() and (mid <= hi[:, 0]).all()
        assert (hi[:, 0] <= hi[:, 1]).all()
        if series.min() >= 0:
            assert (lo >= 0).all()


def test_new_data_too_short_to_show_its_step_take_the_models():
    df = _monthly(36)
    s = pd.Series(df["sales"].to_numpy(), index=df["month"])
    f = Forecaster(horizon=2, **NAIVE).fit(s)
    fc = f.predict(history=s.iloc[-2:])  # two dates: no step of their own
    assert list(fc["time"]) == [pd.Timestamp("2018-01-01"), pd.Timestamp("2018-02-01")]
    with pytest.raises(ValueError, match=r"expected data of frequency 'MS' \(as in training\), got 1"):
        f.predict(history=s.to_numpy())


@pytest.mark.parametrize("time_kind", ["dates", "steps"])
def test_a_deseasonalised_lstm_forecasts_a_history_that_starts_later_in_the_same_phase(tmp_path, time_kind):
    """The level-anchored LSTM takes each series' seasonal indices out of what it reads; they were read by the
    position in the history given, so a history that started 5 months later (the same last values) shifted
    the season by 5 and forecast a different season (after save and load too)."""
    rng = np.random.default_rng(0)
    n = 96
    y = 100 + 20 * np.sin(2 * np.pi * np.arange(n) / 12) + rng.normal(0, 1, n)
    t = pd.date_range("2010-01", periods=n, freq="MS") if time_kind == "dates" else np.arange(1900, 1900 + n)
    df = pd.DataFrame({"t": t, "y": y})
    f = Forecaster(horizon=6, model="lstm-level", peers=[], **QUICK)
    f.fit(df, time="t", target="y")
    assert f.core_.lstm.transform.seasonal  # the set-up does take the season out
    whole = f.predict(history=df)["forecast"].to_numpy()
    for later in (5, 12, 29):
        np.testing.assert_allclose(f.predict(history=df.iloc[later:])["forecast"].to_numpy(), whole, rtol=1e-9)
    f.save(tmp_path / "m")
    g = Forecaster.load(tmp_path / "m")
    np.testing.assert_allclose(g.predict(history=df.iloc[5:])["forecast"].to_numpy(), whole, rtol=1e-9)


def test_a_model_fitted_on_the_row_order_reads_new_data_by_row_order_even_with_a_date_column():
    """New data for a model fitted without time (row order, or saved before date columns were looked for)
    is read the same way: the date column the loader would now find must not turn it into another frequency."""
    rng = np.random.default_rng(0)
    y = 50 + 10 * np.sin(2 * np.pi * np.arange(60) / 12) + rng.normal(0, 1, 60)
    f = Forecaster(horizon=3, model="seasonal_naive", peers=[], **QUICK).fit(pd.DataFrame({"y": y}), target="y")
    assert f.freq_ == 1
    dated = pd.DataFrame({"d": pd.date_range("2015-01", periods=60, freq="MS").strftime("%Y-%m-%d"), "y": y})
    out = f.predict(history=dated)
    np.testing.assert_allclose(out["forecast"].to_numpy(), y[-12:-9])  # seasonal naive by row order
    g = Forecaster(horizon=3, model="seasonal_naive", peers=[], **QUICK).fit(dated, target="y")
    assert g.freq_ == "MS"  # a fit of its own does find the dates


def test_two_id_columns_come_back_as_two_columns_of_the_forecasts(tmp_path):
    days = pd.date_range("2017-01-01", periods=40, freq="D")
    frame = pd.DataFrame([(d, s, i, float(s * 10 + len(i) + k % 7)) for s in (1, 2) for i in ("a", "bb")
                          for k, d in enumerate(days)], columns=["date", "store", "item", "sales"])
    f = Forecaster(horizon=3, target="sales", id="store,item", candidates=["seasonal_naive", "naive"], peers=[],
                   progress_bar=False).fit(frame)
    out = f.predict()
    assert list(out.columns[:3]) == ["store", "item", "time"] and len(out) == 4 * 3
    assert set(zip(out["store"], out["item"])) == {(1, "a"), (1, "bb"), (2, "a"), (2, "bb")}
    f.save(tmp_path / "m")
    again = Forecaster.load(tmp_path / "m").predict(history=frame)
    pd.testing.assert_frame_equal(again, out)
    listed = Forecaster(horizon=3, target="sales", id=["store", "item"], candidates=["seasonal_naive", "naive"],
                        peers=[], progress_bar=False)  # a list works as well as the string
    pd.testing.assert_frame_equal(listed.fit(frame).predict(), out)
    pd.testing.assert_frame_equal(Forecaster(horizon=3, target="sales", candidates=["seasonal_naive", "naive"],
                                             peers=[], progress_bar=False).fit(frame, id=["store", "item"]).predict(),
                                  out)


def test_new_data_are_read_by_the_step_or_year_column_found_at_fit(tmp_path):
    # a model fitted where a 'time' or 'Year' column was found read new data by their row order, which left that
    # column as a second value column: predict(history=...) stopped at "expected the value column to be named"
    for column, first in (("time", 1), ("Year", 1950)):
        frame = pd.DataFrame({column: np.arange(first, first + 80), "v": 5 + np.sin(np.arange(80) / 3)})
        f = Forecaster(horizon=3, candidates=["seasonal_naive", "naive"], peers=[], progress_bar=False).fit(frame)
        assert f.predict()["time"].tolist() == [first + 80, first + 81, first + 82]
        assert f.predict(history=frame.iloc[:60])["time"].tolist() == [first + 60, first + 61, first + 62]
        f.save(tmp_path / column)
        again = Forecaster.load(tmp_path / column).predict(history=frame.iloc[:50])
        assert again["time"].tolist() == [first + 50, first + 51, first + 52]
    dated = pd.DataFrame({"v": np.arange(40.0) + 1}, index=pd.date_range("2000-01-01", periods=40, freq="MS"))
    f = Forecaster(horizon=2, candidates=["naive"], peers=[], progress_bar=False).fit(dated)
    assert f.predict(history=dated.iloc[:30])["time"].iloc[0] == pd.Timestamp("2002-07-01")


def test_opening_hours_forecast_the_next_open_slots_after_save_and_load_and_from_a_short_history(tmp_path):
    rng = np.random.default_rng(0)
    t = pd.date_range("2024-01-01", periods=48 * 7 * 6, freq="30min")
    t = t[(t.dayofweek < 5) & (t.hour * 60 + t.minute >= 570) & (t.hour < 16)]  # 09:30 to 16:00 on weekdays
    k = (t.hour * 60 + t.minute - 570) // 30
    df = pd.DataFrame({"t": t, "volume": 100 + 10 * np.cos(2 * np.pi * k / 13) + rng.normal(0, 1, len(t))})
    f = Forecaster(horizon=15, model="lstm-level", peers=[], **QUICK).fit(df)
    assert f.freq_ == "30min 09:30-16:00 Mon-Fri"
    fc = f.predict()
    last = t[-1]  # a Friday, 15:30: the next slots are Monday's, then Tuesday's
    assert last.dayofweek == 4 and fc["time"].iloc[0] == last.normalize() + pd.Timedelta(days=3, hours=9, minutes=30)
    assert list(fc["time"].iloc[12:15]) == [last.normalize() + pd.Timedelta(days=d, hours=h, minutes=m)
                                            for d, h, m in ((3, 15, 30), (4, 9, 30), (4, 10, 0))]
    f.save(tmp_path / "m")
    g = Forecaster.load(tmp_path / "m")
    pd.testing.assert_frame_equal(g.predict(history=df), fc)
    short = g.predict(history=df.iloc[-40:])  # three days: the fitted session reads them
    assert list(short["time"]) == list(fc["time"])
    np.testing.assert_allclose(short["forecast"], fc["forecast"], rtol=1e-6)
