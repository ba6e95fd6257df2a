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
    assert f.choice_["chosen"] == "seasonal_naive" and f.choice_["runner_up"] == "naive"
    assert any("two seasons" in r for r in plan.reasons)
    # monthly, short: at least one season, fewer windows
    f = Forecaster(horizon=6, candidates=["lstm", "naive"], **QUICK)
    f.fit(_seasonal(50, "MS", 12), time="t", target="y")
    plan = f.core_.plan
    assert 12 <= plan.input_size < 24 and plan.val_windows == 10  # a fifth of the 50 values
    assert set(f.choice_["validation"]) == {"lstm", "naive"}


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
    df = pd.concat(frames, ignore_index=True)
    f = Forecaster(horizon=3, model="lstm", **QUICK)
    f.fit(df, time="t", target="y", id="id")
    assert sorted(f.core_.plan.short) == ["s00", "s10", "s20"]
    fc = f.predict()
    assert fc["id"].nunique() == 30 and np.isfinite(fc["forecast"]).all()
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
