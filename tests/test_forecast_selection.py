"""Defaults from the data, the choice on the training part only, peers on the same windows, fallbacks for short series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit import Forecaster
from lstmkit.tasks.forecast.seasonality import detect_season, season_from_freq

QUICK = {"epochs": 2, "ensemble": 1, "hidden_size": 4, "progress_bar": False}


def _seasonal(n, freq, season, start="2020-01-01", seed=0, level=50.0):
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, periods=n, freq=freq)
    y = level + 10 * np.sin(2 * np.pi * np.arange(n) / season) + rng.normal(0, 1, n)
    return pd.DataFrame({"t": t, "y": y})


@pytest.mark.parametrize("freq,season", [("MS", 12), ("QS", 4), ("D", 7), ("W", 52), ("h", 24), ("30min", 48),
                                         ("15min", 96), ("5min", 288), ("min", 60), ("YS", 0), ("2MS", 6)])
def test_season_from_the_calendar(freq, season):
    assert season_from_freq(freq) == season


def test_season_detected_in_cycles_but_not_in_noise():
    rng = np.random.default_rng(3)
    t = np.arange(150)
    cycle = 30 * np.sin(2 * np.pi * t / 10) + rng.normal(0, 4, 150) + np.cumsum(rng.normal(0, 1, 150))
    assert detect_season([cycle])[0] == 10
    walks = [np.cumsum(rng.normal(size=n)) for n in (40, 80, 150, 300)]
    noise = [rng.normal(size=n) + 0.1 * np.arange(n) for n in (40, 80, 150, 300)]
    assert all(detect_season([w])[0] == 1 for w in walks + noise)


def test_window_and_validation_come_from_the_data():
    # half-hourly with a daily cycle: the window covers two days, the validation a tenth of the 960 values
    f = Forecaster(horizon=48, candidates=["seasonal_naive", "naive"], peers=[], progress_bar=False)
    f.fit(_seasonal(48 * 20, "30min", 48), time="t", target="y")
    plan = f.core_.plan
    assert plan.season == 48 and plan.input_size == 96 and plan.val_windows == 96
    # 96 origins > MAX_VAL_ORIGINS: every 2nd is forecast, the last one (960 - 48) included
    assert plan.val_stride == 2 and f.core_.val_count == 48
    origins = plan.val_origins(960 - 48 - 96 + 1)
    assert len(origins) == 48 and origins[-1] == 960 - 48 and set(np.diff(origins)) == {2}
    assert any("every 2nd" in r for r in plan.reasons)
    assert f.choice_["chosen"] == "seasonal_naive" and f.choice_["runner_up"] == "naive"
    assert any("two seasons" in r for r in plan.reasons)
    # monthly, short: at least one season, fewer windows
    f = Forecaster(horizon=6, candidates=["lstm", "naive"], **QUICK)
    f.fit(_seasonal(50, "MS", 12), time="t", target="y")
    plan = f.core_.plan
    assert 12 <= plan.input_size < 24 and plan.val_windows == 10  # a fifth of the 50 values
    assert set(f.choice_["validation"]) == {"lstm", "naive"}
    # a long series: a tenth of it would be 3,360 origins; the span stops at MAX_VAL_ORIGINS horizons (240)
    f = Forecaster(horizon=4, candidates=["seasonal_naive", "naive"], peers=[], progress_bar=False)
    f.fit(_seasonal(33_600, "5min", 288), time="t", target="y")
    plan = f.core_.plan
    assert plan.season == 288 and plan.val_windows == 288 and f.core_.val_count == 72  # a season; every 4th
    f = Forecaster(horizon=12, candidates=["seasonal_naive", "naive"], peers=[], progress_bar=False)
    f.fit(_seasonal(33_600, "5min", 288), time="t", target="y")
    assert f.core_.plan.val_windows == 720 and f.core_.val_count == 60 and any(
        "up to 60 horizons" in r for r in f.core_.plan.reasons)


def test_the_choice_never_sees_the_test_windows():
    df = _seasonal(120, "MS", 12)
    kw = dict(horizon=6, start="-24", candidates=["ets", "theta", "seasonal_naive", "naive"], peers=["ets"],
              progress_bar=False)
    a = Forecaster(**kw)
    a.backtest(df, time="t", target="y")
    wrecked = df.copy()
    wrecked.loc[96:, "y"] = wrecked.loc[96:, "y"] * 5 + 1000  # everything after the first origin
    b = Forecaster(**kw)
    b.backtest(wrecked, time="t", target="y")
    ca, cb = a.evaluate()["choice"][0], b.evaluate()["choice"][0]
    assert ca["chosen"] == cb["chosen"] and ca["validation"] == cb["validation"]
    assert a.evaluate()["origins"] == 19


def test_peers_forecast_the_same_windows_and_a_winning_peer_is_named(tmp_path):
    df = _seasonal(96, "MS", 12, seed=1)
    f = Forecaster(horizon=6, model="naive", peers=["ets", "theta"], progress_bar=False)  # a forced weak model
    frame = f.backtest(df, time="t", target="y")
    m = f.evaluate()
    assert m["peers"] == ["naive", "seasonal_naive", "ets", "theta"]
    np.testing.assert_allclose(frame["forecast"], frame["naive"])  # the model is naive: the same forecasts
    assert m["verdict"]["peer_wins"] and m["verdict"]["best"] in ("seasonal_naive", "ets", "theta")
    page = f.report(tmp_path).read_text()
    first = page[page.index("<h1>"):page.index("<h2>")]
    assert "a peer wins" in first  # said in the report's first lines


def test_many_series_with_a_few_too_short_use_the_fallback_and_are_listed(tmp_path):
    frames = []
    for k in range(30):
        n = 60 if k % 10 else 12  # three series of 12 values: shorter than the LSTM's window + horizon
        d = _seasonal(n, "MS", 12, seed=k, level=50 + k)
        frames.append(d.assign(id=f"s{k:02d}"))
    frames.append(_seasonal(60, "MS", 12).tail(1).assign(id="new", y=7.0))  # sold once: was left out, unforecast
    df = pd.concat(frames, ignore_index=True)
    f = Forecaster(horizon=3, model="lstm", **QUICK)
    f.fit(df, time="t", target="y", id="id")
    assert sorted(f.core_.plan.short) == ["new", "s00", "s10", "s20"]
    fc = f.predict()
    assert fc["id"].nunique() == 31 and np.isfinite(fc["forecast"]).all()
    assert fc.loc[fc["id"] == "new", "forecast"].tolist() == [7.0] * 3
    assert f.predict(history=df)["id"].nunique() == 31
    note = [n for n in f.core_.notes if "too short" in n]
    assert note and "'s00'" in note[0]
    page = f.report(tmp_path).read_text()
    assert "s10" in page and ("too short" in page or "shorter than" in page)


def test_a_single_short_series_never_raises():
    y = pd.Series([5.0, 7, 6, 8, 9, 8, 10, 11], name="v")
    f = Forecaster(horizon=3, progress_bar=False, peers=[])
    fc = f.fit(y).predict()
    assert len(fc) == 3 and np.isfinite(fc["forecast"]).all()
    assert "lstm" not in f.core_.plan.candidates  # 8 values: no window for an LSTM; said in the notes
    assert any("LSTM set-ups left out" in r for r in f.core_.notes + f.core_.plan.reasons)


def test_non_finite_forecasts_are_an_error_not_a_result():
    import torch

    f = Forecaster(horizon=3, model="lstm", **QUICK).fit(_seasonal(60, "MS", 12), time="t", target="y")
    with torch.no_grad():
        for p in f.model_.parameters():
            p.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match=r"non-finite forecasts .* series 'y'"):
        f.predict(history=_seasonal(60, "MS", 12))


def test_statsforecast_missing_leaves_classical_candidates_out(monkeypatch):
    import lstmkit.tasks.forecast.backtest as bt
    import lstmkit.tasks.forecast.plan as plan

    monkeypatch.setattr(plan, "statsforecast_available", lambda: False)
    monkeypatch.setattr(bt, "statsforecast_available", lambda: False)
    f = Forecaster(horizon=3, candidates=["ets", "seasonal_naive", "naive"], progress_bar=False)
    f.backtest(_seasonal(60, "MS", 12), time="t", target="y")
    m = f.evaluate()
    assert m["peers"] == ["naive", "seasonal_naive"]
    assert set(m["choice"][0]["validation"]) == {"seasonal_naive", "naive"}
    assert any("statsforecast is not installed" in n for n in m["notes"] + m["choice"][0]["plan"]["reasons"])


# ---------------------------------------------------------------------------------------------- the pool rule
def _val(errors_by_name, H=3, seed=0):
    """Validation forecasts whose per-origin absolute errors are ``errors_by_name[name]`` (actual zero)."""
    actual = [np.zeros((len(next(iter(errors_by_name.values()))), H))]
    fc = {k: [np.repeat(np.asarray(e, float)[:, None], H, axis=1)] for k, e in errors_by_name.items()}
    return fc, actual, [1.0]


def test_pool_rule_keeps_one_candidate_that_is_clearly_ahead():
    from lstmkit.tasks.forecast.selection import choose

    rng = np.random.default_rng(0)
    base = rng.uniform(1, 2, 30)
    fc, actual, scales = _val({"ets": base, "theta": base + 0.5, "seasonal_naive": base + 1.0})
    assert choose("pool", fc, actual, scales, []) == ("ets", [])
    assert choose("best", fc, actual, scales, []) == ("ets", [])


def test_pool_rule_averages_candidates_the_validation_cannot_tell_apart():
    from lstmkit.tasks.forecast.selection import choose

    rng = np.random.default_rng(1)
    a, b = rng.uniform(1, 2, 30), rng.uniform(1, 2, 30)
    fc, actual, scales = _val({"theta": a, "seasonal_naive": b, "naive": a + 5})
    chosen, members = choose("pool", fc, actual, scales, [])
    assert chosen == "pool" and set(members) == {"theta", "seasonal_naive"}
    # "best" keeps only the lower mean
    assert choose("best", fc, actual, scales, [])[0] == ("theta" if a.mean() < b.mean() else "seasonal_naive")


def test_pool_rule_keeps_one_lstm_and_opens_the_combination():
    from lstmkit.tasks.forecast.selection import choose

    rng = np.random.default_rng(2)
    e = rng.uniform(1, 2, 40)
    fc, actual, scales = _val({"lstm": e, "lstm-level": e + rng.normal(0, 0.05, 40), "ets": e[::-1].copy(),
                               "arima": e + 9, "combination": e + rng.normal(0, 0.05, 40)})
    from lstmkit.tasks.forecast.selection import mean_and_se, origin_errors

    for k in ("lstm-level", "combination"):  # both indistinguishable from the LSTM
        d = origin_errors("mase", actual, fc[k], scales)[0] - origin_errors("mase", actual, fc["lstm"], scales)[0]
        mu, se = mean_and_se([d], 3)
        assert abs(mu) <= se
    better, worse = sorted(("lstm", "lstm-level"), key=lambda k: fc[k][0].mean())
    chosen, members = choose("pool", fc, actual, scales, [better, "ets", "arima"])
    assert chosen == "pool"
    assert members[0] == better and worse not in members  # one network: the better set-up, first
    assert {"ets", "arima"} <= set(members)  # arima joins through the combination it is part of


def test_a_pooled_forecaster_forecasts_the_mean_of_its_members_and_survives_save_load(tmp_path):
    rng = np.random.default_rng(0)
    # white noise around a level: naive and seasonal naive are equally good in truth; on this draw the
    # validation cannot tell them apart (on others it can: one standard error is a strict bar)
    df = pd.DataFrame({"t": pd.date_range("2015-01", periods=96, freq="MS"), "y": 100 + rng.normal(0, 5, 96)})
    f = Forecaster(horizon=6, candidates=["naive", "seasonal_naive"], peers=[], progress_bar=False, rule="pool")
    f.fit(df, time="t", target="y")
    assert f.choice_["chosen"] == "pool" and set(f.choice_["members"]) == {"naive", "seasonal_naive"}
    assert "pool" in f.choice_["validation"] and "mean of" in f.choice_text()
    y = df["y"].to_numpy()
    expected = (np.full(6, y[-1]) + y[-12:-6]) / 2  # naive repeats the last value, seasonal naive last year
    np.testing.assert_allclose(f.forecast_["forecast"].to_numpy(), expected, rtol=1e-9)
    g = Forecaster.load(f.save(tmp_path / "m"))
    assert g.choice_["chosen"] == "pool"
    np.testing.assert_allclose(g.predict()["forecast"].to_numpy(), expected, rtol=1e-9)


def test_rule_best_is_the_default_and_bad_rules_are_refused():
    rng = np.random.default_rng(0)  # the draw on which the pool rule pools (test above)
    df = pd.DataFrame({"t": pd.date_range("2015-01", periods=96, freq="MS"), "y": 100 + rng.normal(0, 5, 96)})
    f = Forecaster(horizon=6, candidates=["naive", "seasonal_naive"], peers=[], progress_bar=False)
    assert f.config.select.rule == "best"
    f.fit(df, time="t", target="y")
    assert f.choice_["chosen"] in ("naive", "seasonal_naive") and f.choice_["members"] == []
    with pytest.raises(ValueError, match="rule"):
        Forecaster(horizon=6, rule="median")


def test_backtest_spaces_out_more_than_a_hundred_origins_unless_a_stride_is_given():
    from lstmkit.tasks.forecast.backtest import MAX_ORIGINS, auto_stride

    assert auto_stride([MAX_ORIGINS], 12) == 1 and auto_stride([MAX_ORIGINS + 1], 12) == 2
    assert auto_stride([5000], 12) == 12  # never wider than the horizon: every value is still forecast
    df = _seasonal(400, "h", 24)
    kw = dict(horizon=4, start="-300", candidates=["seasonal_naive", "naive"], peers=[], progress_bar=False)
    f = Forecaster(**kw)
    frame = f.backtest(df, time="t", target="y")
    m = f.evaluate()
    # 297 origins at stride 1 -> every 3rd: 99, the first origin kept
    assert m["stride"] == 3 and m["origins"] == 99 and frame["origin"].nunique() == 99
    assert frame["origin"].min() == df["t"].iloc[100]
    assert any("every 3 steps an origin" in n for n in m["notes"])
    g = Forecaster(**kw)
    g.backtest(df, time="t", target="y", stride=1)
    assert g.evaluate()["stride"] == 1 and g.evaluate()["origins"] == 297


def test_a_combination_member_is_forecast_once_for_the_model_and_its_peer_column(monkeypatch):
    pytest.importorskip("statsforecast")
    from lstmkit.tasks.forecast import selection

    calls = []
    real = selection.classical_forecasts

    def counting(name, data, ends, origins, *a, **kw):
        calls.append((name, len(origins[0])))
        return real(name, data, ends, origins, *a, **kw)

    from lstmkit.tasks.forecast import backtest, estimator

    for module in (selection, backtest, estimator):  # wherever a module would call it from
        monkeypatch.setattr(module, "classical_forecasts", counting, raising=False)
    f = Forecaster(horizon=4, start="-20", candidates=["lstm", "theta"], model="combination", peers=["theta"],
                   **QUICK)
    frame = f.backtest(_seasonal(120, "MS", 12), time="t", target="y")
    assert f.backtest_.cores[0].members == ["lstm", "theta"]
    test_calls = [c for c in calls if c == ("theta", 17)]  # the 17 test origins: one forecast, two columns
    assert len(test_calls) == 1
    assert frame["theta"].notna().all() and not np.allclose(frame["theta"], frame["forecast"])


def test_interval_offsets_pool_standardised_errors_and_take_conformal_ranks():
    import numpy as np

    from lstmkit.tasks.forecast.selection import interval_offsets, rank_quantile

    x = np.arange(1.0, 11.0)  # 10 values: ranks ceil(11 * 0.9) = 10 and floor(11 * 0.1) = 1
    assert rank_quantile(x, 0.9) == 10.0 and rank_quantile(x, 0.1) == 1.0 and rank_quantile(x, 0.5) == 5.5
    assert rank_quantile(x, 0.975) == 10.0  # past the sample: its largest value
    rng = np.random.default_rng(0)
    e = rng.normal(size=(12, 3)) * np.array([1.0, 2.0, 4.0]) + np.array([0.0, 1.0, -1.0])
    off = interval_offsets(e, [0.1, 0.5, 0.9])
    assert all(off[q].shape == (3,) for q in off)
    assert np.all(off[0.1] < off[0.5]) and np.all(off[0.5] < off[0.9])
    width = off[0.9] - off[0.1]  # one pooled quantile of standardised errors, scaled by each step's deviation
    np.testing.assert_allclose(width / e.std(axis=0), width[0] / e.std(axis=0)[0])


def test_a_statistical_models_own_intervals_come_with_its_forecasts():
    pytest.importorskip("statsforecast")
    from statsforecast.models import AutoETS

    from lstmkit.tasks.forecast.classical import band_levels, classical_forecasts

    assert band_levels([0.025, 0.1, 0.5, 0.9, 0.975]) == {0.025: 95.0, 0.1: 80.0, 0.9: 80.0, 0.975: 95.0}
    f = Forecaster(horizon=6, model="ets", peers=[], intervals="model", **QUICK)
    f.fit(_seasonal(96, "MS", 12, seed=4), time="t", target="y")
    data = f.data_
    y = data.series[0].values
    qs = (0.025, 0.5, 0.975)
    cf = classical_forecasts("ets", data, [96], [np.array([90, 96])], 6, 12, quantiles=qs)
    assert set(cf.bands) == {0.025, 0.975}  # no band for the median
    lo, hi = cf.bands[0.025][0], cf.bands[0.975][0]
    assert lo.shape == hi.shape == (2, 6) and np.all(lo < cf.point[0]) and np.all(cf.point[0] < hi)
    # the last origin is the fit's end: statsforecast's own predict with level 95
    own = AutoETS(season_length=12).fit(np.asarray(y, dtype="float64")).predict(6, level=[95.0])
    np.testing.assert_allclose(hi[1], own["hi-95.0"], rtol=1e-6)
    np.testing.assert_allclose(cf.point[0][1], own["mean"], rtol=1e-6)
    # naive models have no model of their errors: no bands
    assert classical_forecasts("seasonal_naive", data, [96], [np.array([96])], 6, 12, quantiles=qs).bands == {}


def test_intervals_model_validation_and_wider_for_a_chosen_statistical_model(tmp_path):
    pytest.importorskip("statsforecast")
    df = _seasonal(96, "MS", 12, seed=5)
    bands = {}
    for rule in ("model", "validation", "wider"):
        f = Forecaster(horizon=6, model="ets", peers=[], intervals=rule, **QUICK)
        f.fit(df, time="t", target="y")
        fc = f.forecast_
        bands[rule] = (fc["q0.025"].to_numpy(), fc["q0.975"].to_numpy(), fc["forecast"].to_numpy())
    lo_m, hi_m, p = bands["model"]
    lo_v, hi_v, p_v = bands["validation"]
    lo_w, hi_w, _ = bands["wider"]
    np.testing.assert_allclose(p, p_v)  # the point forecast does not depend on the band
    assert not np.allclose(hi_m, hi_v)  # two different bands ...
    np.testing.assert_allclose(lo_w, np.minimum(lo_m, lo_v))  # ... and the wider of the two at each bound
    np.testing.assert_allclose(hi_w, np.maximum(hi_m, hi_v))
    # the model's band widens with the horizon (ETS's variance grows), and the choice survives save and load
    assert hi_m[-1] - lo_m[-1] > hi_m[0] - lo_m[0]
    f = Forecaster(horizon=6, model="ets", peers=[], **QUICK)
    assert f.config.model.intervals == "model"  # the default
    f.fit(df, time="t", target="y")
    f.save(tmp_path / "m")
    g = Forecaster.load(tmp_path / "m")
    assert g.core_.intervals == "model"
    np.testing.assert_allclose(g.predict(history=df, time="t", target="y")["q0.975"], hi_m, rtol=1e-6)
    with pytest.raises(ValueError, match="intervals"):
        Forecaster(intervals="bootstrap")


def test_auto_start_covers_two_seasons_and_two_horizons_within_a_third_of_the_series():
    from lstmkit.tasks.forecast.backtest import resolve_start

    def first(T, horizon, season):  # values from the first origin to the end
        return T - resolve_start("auto", _Sized(T), horizon, season)[0]

    assert first(144, 6, 12) == 24  # two seasons
    assert first(1095, 14, 7) == 28  # a horizon longer than the season: two horizons, 15 origins, not 1
    assert first(40, 5, 1) == 10  # no season: a fifth of the series (8) is less than two horizons
    assert first(500, 5, 1) == 100  # a fifth
    assert first(30, 12, 1) == 12  # a third (10) is less than a horizon: one horizon
    assert first(60, 12, 12) == 20  # two seasons (24) capped at a third


def test_a_fraction_starts_the_backtest_after_that_share_of_each_series():
    from lstmkit.tasks.forecast.backtest import resolve_start

    assert resolve_start("0.8", _Sized(144), 6, 12) == [115]  # as Darts' start=0.8: round(0.8 * 144)
    assert resolve_start(".5", _Sized(100), 6, 12) == [50]
    with pytest.raises(ValueError, match="leaves no full horizon"):
        resolve_start("0.99", _Sized(100), 6, 12)
    for bad in ("0,8", "80%"):
        with pytest.raises(ValueError, match="a fraction such as 0.8"):
            resolve_start(bad, _Sized(100), 6, 12)


class _Sized:
    """The least of a SeriesSet that resolve_start reads: one series of T values."""

    def __init__(self, T):
        class _S:
            id = "a"

            def __len__(self):
                return T

        self.series, self.source, self.datetime = [_S()], "x", False


@pytest.mark.parametrize("name", ["ets", "arima", "theta"])
def test_a_model_moved_forward_keeps_the_seasons_phase_on_a_series_longer_than_its_fit(name):
    """On a series longer than the fit window (300 values at season 7), the history a model is moved forward on
    slid with the origin, and AutoETS, which re-runs its filter from the states it fitted at the window's first
    value, forecast the same values from every origin: one-step errors of the season's size."""
    pytest.importorskip("statsforecast")
    from lstmkit.tasks.forecast.classical import _series_forecasts, fit_length

    rng = np.random.default_rng(0)
    t = np.arange(420)
    y = 100 + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.3, len(t))
    end = 350
    assert end > fit_length(7)
    origins = np.arange(end, end + 11)
    f, note, _ = _series_forecasts(name, y, end, origins, 7, 7)
    assert note is None
    one_step = np.abs(f[:, 0] - y[origins]).mean()
    assert one_step < 1.0, one_step  # the noise is 0.3; the season's amplitude 10
    assert not np.allclose(f[0], f[1])  # the next origin's forecast moved with the season


def test_values_at_or_below_zero_after_training_go_to_the_fallback_not_to_a_log_lstm():
    """A series positive in its training part (so the LSTM takes logs) that falls through zero after it: the
    backtest raised FloatingPointError (log of a negative); those series are now the fallback's, with a note."""
    t = np.arange(120)
    rng = np.random.default_rng(1)
    y = np.where(t < 100, 50.0, -8.0) + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, len(t))  # below 0 from 100
    assert y[:96].min() > 0 and y[100:].max() < 0
    df = pd.DataFrame({"t": pd.date_range("2010-01", periods=len(t), freq="MS"), "y": y})
    f = Forecaster(horizon=6, model="lstm", peers=[], **QUICK)
    frame = f.backtest(df, time="t", target="y", start="2018-01")  # fitted on the first 96 values
    assert np.isfinite(frame["forecast"]).all()
    notes = f.evaluate()["notes"]
    assert any("values <= 0 in the windows to forecast from" in n and "log transform" in n for n in notes), notes
    g = Forecaster(horizon=6, model="lstm", peers=[], **QUICK).fit(df.iloc[:96], time="t", target="y")
    assert np.isfinite(g.predict(history=df)["forecast"]).all()
    # in a combination the fallback stands in for the LSTM member only, and the note says so (it named the
    # fallback alone, whose forecasts the combination's are not)
    c = Forecaster(horizon=6, model="combination", peers=[], **QUICK)
    c.backtest(df, time="t", target="y", start="2018-01")
    assert any("in the LSTM's place in the combination" in n for n in c.evaluate()["notes"]), c.evaluate()["notes"]


def test_a_long_window_keeps_its_batch_and_its_early_stopping_origins_are_thinned_to_a_budget():
    from lstmkit.tasks.forecast.lstm_fit import MAX_BATCH_STEPS, MAX_ES_STEPS, batch_plan, thin_es_origins

    # windows up to two years of weeks: the batch grows 8x as before; two seasons of 5-minute steps (576): it stays
    assert batch_plan(90_000, 32, 36) == (256, 100) and batch_plan(90_000, 32, 104) == (256, 100)
    assert batch_plan(90_000, 32, 576) == (32, 100) and batch_plan(90_000, 32, 200) == (128, 100)
    for w in (1, 24, 200, 999, 2000):  # grown only within the bound; the given batch is never cut
        b = batch_plan(10 ** 6, 32, w)[0]
        assert b == 32 or (b > 32 and b * w <= MAX_BATCH_STEPS)
    assert batch_plan(500, 32, 576) == (32, 16)  # few windows: unchanged
    few = [np.arange(100, 118), np.arange(40, 58)]
    assert thin_es_origins(few, 36) is few  # under the budget: every origin
    many = [np.arange(1000, 11512)]  # a tenth of a year of 5-minute steps
    thin = thin_es_origins(many, 576)
    assert thin[0][-1] == 11511 and np.all(np.diff(thin[0]) == 6) and len(thin[0]) * 576 <= MAX_ES_STEPS
    panel = [np.arange(k, k + 300) for k in range(50)]
    out = thin_es_origins(panel, 200)
    assert [o[-1] for o in out] == [o[-1] for o in panel] and sum(map(len, out)) * 200 <= MAX_ES_STEPS * 1.01


def test_fine_data_take_the_calendar_cycle_their_values_show():
    from lstmkit.tasks.forecast.seasonality import calendar_cycles, resolve_season

    # finer than 5 minutes: the minute, hour and day that fit; coarser data keep their one calendar season
    assert calendar_cycles("10s") == [6, 360] and calendar_cycles("3min") == [20, 480]
    assert calendar_cycles("min") == [60] and calendar_cycles("5min") == [] and calendar_cycles("MS") == []
    rng = np.random.default_rng(5)
    k = np.arange(360 * 12)
    hourly_wave = 10 + np.sin(2 * np.pi * k / 360) + rng.normal(0, 0.2, len(k))
    season, why = resolve_season(0, "10s", [hourly_wave])
    assert season == 360 and "hour" in why  # the minute's 6 steps sit on the wave's slope: no peak there
    assert resolve_season(0, "10s", [np.sin(2 * np.pi * k / 6) + rng.normal(0, 0.3, len(k))])[0] == 6
    # no cycle in the values, or too few hours of them: the calendar's minute, as before, and the reason says so
    for values in (rng.normal(size=len(k)), np.cumsum(rng.normal(size=len(k))), hourly_wave[:1000]):
        season, why = resolve_season(0, "10s", [values])
        assert season == 6 and "no calendar cycle" in why
    k = np.arange(480 * 10)
    assert resolve_season(0, "3min", [np.sin(2 * np.pi * k / 480) + rng.normal(0, 0.3, len(k))])[0] == 480
    assert resolve_season(12, "10s", [hourly_wave])[0] == 12  # the user's season stands


@pytest.mark.parametrize("season", [48, 168, 360])
def test_stl_jumps_are_a_tenth_of_the_windows_statsmodels_uses(season):
    """The STL adjustment's trend and low-pass smoothers are fitted every ``ceil(window / 10)`` points (R's
    ``stl()`` defaults), the windows being the ones statsmodels derives for MSTL's seasonal window of 11."""
    pytest.importorskip("statsforecast")
    import statsmodels.api as sm

    from lstmkit.tasks.forecast.classical import _model, describe, stl_jumps

    config = sm.tsa.STL(np.zeros(3 * season), period=season, seasonal=11).config
    assert stl_jumps(season) == {"trend_jump": -(-config["trend"] // 10),
                                 "low_pass_jump": -(-config["low_pass"] // 10)}
    assert _model("ets", season, 3 * season).stl_kwargs == stl_jumps(season)
    j = stl_jumps(season)
    assert f"every {j['trend_jump']} and {j['low_pass_jump']} points" in describe("ets", season)  # the report says so


@pytest.mark.parametrize("name", ["ets", "arima"])
def test_the_stl_adjustment_with_jumps_forecasts_as_the_exact_decomposition(name):
    """Fitting STL's slow smoothers at every tenth point only (30x faster at season 360) moves the forecasts of
    a seasonal series, moved forward over 12 origins, by a small part of its noise."""
    pytest.importorskip("statsforecast")
    from statsforecast.models import MSTL, AutoARIMA, AutoETS

    from lstmkit.tasks.forecast.classical import _series_forecasts

    season, end, H = 48, 48 * 12, 12
    rng = np.random.default_rng(3)
    t = np.arange(end + 60)
    y = 20 + 0.01 * t + 5 * np.sin(2 * np.pi * t / season) + np.cumsum(rng.normal(0, 0.05, len(t))) \
        + rng.normal(0, 0.5, len(t))
    origins = np.arange(end, end + 48, 4)
    ours, note, _ = _series_forecasts(name, y, end, origins, H, season)
    assert note is None
    exact = MSTL(season_length=season, trend_forecaster=AutoETS(model="ZZN") if name == "ets" else AutoARIMA())
    exact = exact.fit(y[:end])
    ref = np.stack([exact.predict(H)["mean"] if o == end else exact.forward(y=y[:o], h=H)["mean"] for o in origins])
    gap = np.abs(ours - ref)
    assert gap.mean() < 0.05 and gap.max() < 0.2, (gap.mean(), gap.max())  # the noise's sd is 0.5
    err_ours = np.abs(ours - np.stack([y[o:o + H] for o in origins])).mean()
    err_ref = np.abs(ref - np.stack([y[o:o + H] for o in origins])).mean()
    assert err_ours < 1.1 * err_ref, (err_ours, err_ref)


@pytest.mark.parametrize("name", ["theta", "ets", "arima"])
def test_statistical_peers_forecast_small_values_as_they_forecast_the_same_values_scaled_up(name):
    """AutoTheta's optimiser stops on absolute tolerances: on a monthly series times 1e-4 its forecasts (and
    bands) were 5.5 % off those of the series itself scaled back. Below a mean absolute value of 1 the series is
    multiplied by a power of ten first (``unit_factor``) and the forecasts divided again."""
    pytest.importorskip("statsforecast")
    from lstmkit.tasks.forecast.classical import _series_forecasts, unit_factor

    rng = np.random.default_rng(0)
    k = np.arange(144)
    y = 300 * (1 + 0.01 * k) * (1 + 0.2 * np.sin(2 * np.pi * k / 12)) * np.exp(rng.normal(0, 0.03, 144))
    origins = np.arange(120, 133)
    ref, _, ref_bands = _series_forecasts(name, y * 1e-3, 120, origins, 12, 12, quantiles=(0.1, 0.9))
    for scale in (1e-4, 1e-7):
        out, note, bands = _series_forecasts(name, y * scale, 120, origins, 12, 12, quantiles=(0.1, 0.9))
        assert note is None
        np.testing.assert_allclose(out / scale, ref / 1e-3, rtol=1e-6)
        np.testing.assert_allclose(bands[0.9] / scale, ref_bands[0.9] / 1e-3, rtol=1e-6)
    assert unit_factor(y) == 1.0 and unit_factor(y * 1e-3) == 1000.0 and unit_factor(np.zeros(5)) == 1.0


def test_mase_scale_never_rests_on_a_near_zero_divisor():
    """A history the seasonal naive repeats exactly is scaled by the naive error, then by its level, then by 1."""
    from lstmkit.tasks.forecast.selection import scale_basis, scale_note

    rng = np.random.default_rng(0)
    noisy = 50 + rng.normal(0, 2, 48)
    s, basis = scale_basis(noisy, 12)
    assert basis == "seasonal naive" and s == pytest.approx(np.mean(np.abs(noisy[12:] - noisy[:-12])))
    repeated = np.tile(np.arange(12.0), 4)
    assert scale_basis(repeated, 12) == (pytest.approx(np.mean(np.abs(np.diff(repeated)))), "naive, season repeated")
    sine = 80 + 10 * np.sin(2 * np.pi * np.arange(40) / 12)  # repeats up to rounding: differences of 1e-14
    assert scale_basis(sine, 12)[1] == "naive, season repeated"
    assert scale_basis(np.full(30, -5.0), 12) == (5.0, "mean level")
    assert scale_basis(np.zeros(30), 12) == (1.0, "unit")
    assert scale_basis(np.zeros(1), 12) == (1.0, "unit")
    assert scale_basis(noisy[:8], 12)[1] == "naive"  # shorter than a season: the plain MASE scale, not a fallback
    def note_of(histories):
        return scale_note({k: scale_basis(h, 12)[1] for k, h in histories.items()})

    assert note_of({"a": noisy, "b": noisy[:8]}) is None
    note = note_of({"a": noisy, "z": np.zeros(30), "c": np.full(30, 3.0), "r": repeated})
    assert "'z'" in note and "'c'" in note and "'r'" in note and "'a'" not in note


def test_one_all_zero_series_does_not_decide_the_choice_or_blow_up_every_band(tmp_path):
    """A panel with one item that never sold: its MASE scale was 1e-12, so the LSTM's 0.007 there scored 1.5e9
    (the LSTM could never be chosen) and, forced, every series' 97.5 % bound went to 4x its forecast."""
    rng = np.random.default_rng(2)
    t = pd.date_range("2014-01-01", periods=60, freq="MS")
    parts = [pd.DataFrame({"id": f"s{k}", "t": t, "y": 100 + 15 * np.sin(2 * np.pi * np.arange(60) / 12 + k)
                           + rng.normal(0, 3, 60)}) for k in range(6)]
    df = pd.concat(parts + [pd.DataFrame({"id": "zero", "t": t, "y": 0.0})], ignore_index=True)
    f = Forecaster(horizon=6, model="lstm", candidates=["lstm", "seasonal_naive"], peers=[], **QUICK)
    f.fit(df, time="t", target="y", id="id")
    assert f.choice_["validation"]["lstm"] < 20
    p = f.predict()
    busy = p[p.id != "zero"]
    assert (busy["q0.975"] - busy["forecast"]).max() < 60  # noise sd 3, season amplitude 15
    zero = p[p.id == "zero"]
    assert (zero["forecast"] == 0).all()  # the value it held, not the network's bias (which was -0.008..0.007)
    assert (zero["q0.1"] <= zero["forecast"]).all() and (zero["forecast"] <= zero["q0.9"]).all()
    actual = p[["id", "time"]].rename(columns={"time": "t"}).assign(y=np.where(p.id == "zero", 2.0, 100.0))
    ev = f.evaluate(actual)
    assert ev["model"]["mase"] < 100  # the zero series' 2 units over a scale of 1, not of 1e-12
    assert any("'zero'" in n and "all zeros" in n for n in ev["notes"])
    assert "all zeros" in f.report(tmp_path / "r").read_text()  # the evaluation's notes reach the report


def test_forecasts_of_a_series_that_never_went_below_zero_stay_at_or_above_it():
    """Counts falling to zero: ARIMA's forecast and the peers' go below zero, which no value of the series can."""
    pytest.importorskip("statsforecast")
    y = np.concatenate([np.linspace(40, 0, 30), np.zeros(6)])
    t = pd.date_range("2020-01-01", periods=len(y), freq="D")
    f = Forecaster(horizon=5, model="naive", candidates=["naive", "arima"], peers=["arima"], progress_bar=False)
    f.fit(pd.DataFrame({"t": t, "y": y}), time="t", target="y")
    from lstmkit.tasks.forecast.classical import _series_forecasts

    raw, _, _ = _series_forecasts("arima", y, len(y), np.array([len(y)]), 5, 1)
    assert raw.min() < 0  # what the floor is there for
    peers, _ = f._peer_forecasts(f.data_)
    assert (peers["arima"][0] >= 0).all()


def test_the_lstm_forecasts_a_series_that_held_one_value_up_to_the_origin_as_that_value():
    from lstmkit.tasks.forecast.lstm_fit import _flat_before
    from lstmkit.data.series import load_series

    t = pd.date_range("2020-01-01", periods=10, freq="D")
    df = pd.DataFrame({"id": np.repeat(["a", "b"], 10), "t": np.tile(t, 2),
                       "y": [3.0] * 6 + [4, 5, 6, 7] + list(np.arange(10.0))})
    data = load_series(df, "y", "t", id="id")
    series, origin = np.array([0, 0, 0, 0, 1, 1]), np.array([1, 6, 7, 10, 1, 2])
    assert _flat_before(data, series, origin).tolist() == [True, True, False, False, True, False]


# ------------------------------------------------------------------------------- a panel's one choice
def _panel(errors_by_name, H=3):
    """Validation forecasts of several series: ``errors_by_name[name][k]`` is series k's absolute error at
    every origin and step (actual zero, scale 1)."""
    n = len(next(iter(errors_by_name.values())))
    actual = [np.zeros((4, H)) for _ in range(n)]
    fc = {k: [np.full((4, H), float(e)) for e in errs] for k, errs in errors_by_name.items()}
    return fc, actual, [1.0] * n


def test_panel_choice_is_not_decided_by_one_series_no_candidate_could_forecast():
    from lstmkit.tasks.forecast.selection import choose, series_refs

    # twelve ordinary series on which ETS is best, and a launch on which every candidate but naive fails
    fc, actual, scales = _panel({"ets": [1.0] * 12 + [40.0], "theta": [1.2] * 12 + [30.0],
                                 "naive": [1.5] * 12 + [5.0]})
    plain = {k: np.mean([np.abs(f).mean() for f in v]) for k, v in fc.items()}
    assert min(plain, key=plain.get) == "naive"  # the plain mean: the launch decides for all thirteen
    refs = series_refs("mase", actual, fc, scales)
    assert np.allclose(refs, [1.2] * 12 + [30.0])  # the median candidate's score on each series
    assert choose("best", fc, actual, scales, [], refs=refs) == ("ets", [])
    assert choose("best", fc, actual, scales, []) == ("naive", [])  # without references, as before


def test_series_references_give_no_series_more_weight_than_a_typical_one():
    from lstmkit.tasks.forecast.selection import series_refs

    fc, actual, scales = _panel({"ets": [0.0, 0.0, 0.4, 1.0, 8.0], "theta": [0.0, 0.1, 0.5, 2.0, 9.0],
                                 "naive": [0.0, 0.3, 0.6, 3.0, 7.0]})
    # medians 0, 0.1, 0.5, 2, 8: the typical (the median of the positive ones) is 1.25; an easier series is
    # divided by it (so its tiny differences are not blown up), a harder one by its own median
    assert np.allclose(series_refs("mase", actual, fc, scales), [1.25, 1.25, 1.25, 2.0, 8.0])
    one = {k: v[4:] for k, v in fc.items()}
    assert series_refs("mase", actual[4:], one, scales[4:]) == [1.0]  # a lone series keeps its plain scores


def test_forecaster_on_a_panel_with_a_launch_reports_relative_scores(tmp_path):
    """Twelve seasonal weekly series and a product launched one week before the validation origins: the plain
    mean chose the naive forecast for every series; each series counting once, a seasonal model is chosen."""
    import pandas as pd

    from lstmkit import Forecaster

    rng = np.random.default_rng(0)
    t = pd.date_range("2020-01-05", periods=156, freq="W-SUN")
    frames = []
    for k in range(12):
        y = (50 + 10 * k) * (1 + 0.3 * np.sin(2 * np.pi * np.arange(156) / 52.18 + k)) + rng.normal(0, 3, 156)
        frames.append(pd.DataFrame({"date": t, "id": f"s{k}", "sales": np.maximum(y, 0)}))
    launch = np.zeros(156)
    launch[146:] = 20 + rng.normal(0, 2, 10)  # validation origins from 147 (horizon 6, 4 origins)
    frames.append(pd.DataFrame({"date": t, "id": "new", "sales": launch}))
    f = Forecaster(horizon=6, progress_bar=False, select__candidates=["ets", "theta", "seasonal_naive", "naive"])
    f.fit(pd.concat(frames), time="date", target="sales", id="id")
    c = f.choice_
    assert c["relative"] is True
    assert c["chosen"] != "naive"
    assert c["validation"][c["chosen"]] < c["validation"]["naive"]
    assert "relative MASE" in f.choice_text()


def test_a_tie_goes_to_the_simpler_candidate():
    from lstmkit.tasks.forecast.selection import choose

    fc, actual, scales = _panel({"ets": [1.0, 2.0, 3.0], "seasonal_naive": [1.0, 2.0, 3.0], "naive": [2.0, 3.0, 4.0]})
    assert choose("best", fc, actual, scales, [], order=["ets", "seasonal_naive", "naive"]) == ("seasonal_naive", [])


def test_a_panel_too_short_for_ets_is_not_credited_to_ets():
    """Quarterly series of nine values: AutoETS falls back to seasonal naive on every one in validation, so the
    two score alike; the choice was AutoETS, whose own forecasts (fitted on all nine values) were never scored."""
    import pandas as pd

    from lstmkit import Forecaster

    rng = np.random.default_rng(0)
    t = pd.date_range("2019-01-01", periods=9, freq="QS")
    df = pd.concat([pd.DataFrame({"t": t, "id": f"s{k}", "y": 100 + 20 * np.sin(np.arange(9) * np.pi / 2 + k)
                                  + rng.normal(0, 5, 9)}) for k in range(10)])
    f = Forecaster(horizon=4, progress_bar=False)
    f.fit(df, time="t", target="y", id="id")
    v = f.choice_["validation"]
    assert v["ets"] == v["seasonal_naive"]
    assert any("AutoETS: seasonal naive used instead on 10 series" in n for n in f.choice_["notes"])
    assert f.choice_["chosen"] == "seasonal_naive"
    assert f.choice_["runner_up"] == "ets"


# ------------------------------------------------------------------ a new run of one value held
def test_held_runs_mark_a_new_regime_not_the_zeros_a_series_always_had():
    from lstmkit.tasks.forecast.classical import held_runs

    sold = np.r_[np.full(20, 30.0) + np.arange(20) % 3, np.zeros(8)]  # sold about 30, then nothing
    h = held_runs(sold, 6)
    assert len(h) == 29 and not h[:26].any() and h[26:].all()  # from the sixth zero (max(5, horizon))
    counts = np.array([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    h = held_runs(counts, 6)  # the last run of 12 zeros is not twice the first one's 7
    assert not h.any()
    assert not held_runs(np.zeros(30), 6).any()  # one value all along: not a new regime
    stuck = held_runs(np.r_[np.arange(10.0), np.full(5, 9.5)], 1)  # a reading stuck, horizon 1: five steps
    assert stuck[-1] and not stuck[-2]


def test_a_product_taken_off_sale_is_forecast_as_zero_with_a_note():
    import pandas as pd

    from lstmkit import Forecaster

    rng = np.random.default_rng(0)
    t = pd.date_range("2021-01-03", periods=120, freq="W-SUN")
    frames = [pd.DataFrame({"t": t, "id": f"s{k}", "y": 50 + 10 * k + 5 * np.sin(np.arange(120) / 3)
                            + rng.normal(0, 2, 120)}) for k in range(4)]
    gone = 30 + rng.normal(0, 3, 120)
    gone[112:] = 0.0  # eight weeks without a sale
    frames.append(pd.DataFrame({"t": t, "id": "gone", "y": gone}))
    f = Forecaster(horizon=6, progress_bar=False, select__candidates=["ets", "theta", "seasonal_naive", "naive"])
    f.fit(pd.concat(frames), time="t", target="y", id="id")
    fc = f.predict()
    assert (fc.loc[fc["id"] == "gone", "forecast"] == 0).all()
    assert (fc.loc[fc["id"] != "gone", "forecast"] > 20).all()
    assert any("new run of one value" in n and "'gone'" in n for n in f.choice_["notes"])
