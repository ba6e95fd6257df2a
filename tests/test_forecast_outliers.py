"""``data.outliers replace``: outliers replaced in the history the models read, causally; the peers and the scores
read the values as given. The default keeps them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit import Forecaster
from lstmkit.tasks.forecast.outliers import clean

QUICK = {"epochs": 2, "ensemble": 1, "hidden_size": 4, "progress_bar": False}


def _season(n, m=12, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 10 * np.sin(2 * np.pi * t / m) + np.cumsum(rng.normal(0, 0.3, n)) + rng.normal(0, noise, n)


def test_spikes_are_replaced_and_a_plain_series_is_left_alone():
    y = _season(200)
    assert clean(y, 12)[1] == []
    spiked = y.copy()
    spiked[[60, 121, 170]] += [40.0, -35.0, 50.0]
    out, pos = clean(spiked, 12)
    assert pos == [60, 121, 170]
    assert np.all(np.abs(out[pos] - y[pos]) < 5)  # back near the series' course
    keep = np.setdiff1d(np.arange(200), pos)
    assert np.array_equal(out[keep], spiked[keep])


def test_a_level_shift_keeps_its_values_after_the_first():
    y = _season(200)
    y[120:] += 40.0
    out, pos = clean(y, 12)
    assert set(pos) <= {120}  # at most the shift's first value, never the new level that follows
    assert np.array_equal(out[121:], y[121:])
    walk = 100 + np.cumsum(np.random.default_rng(1).normal(0, 1, 300))
    walk[200:] -= 30
    pos = clean(walk, 1)[1]
    assert 200 in pos and not any(200 < p <= 230 for p in pos)  # the drop's first value only
    assert len(pos) <= 3  # a walk's own steps are rarely 5 deviations off


@pytest.mark.parametrize("values", [np.full(100, 7.0), np.r_[np.zeros(60), np.ones(3), np.zeros(57)],
                                    np.random.default_rng(2).poisson(0.3, 150).astype(float)])
def test_constant_and_sparse_series_are_not_cleaned(values):
    out, pos = clean(values, 7)
    assert pos == [] and np.array_equal(out, values)


def test_each_value_is_judged_on_the_values_before_it_only():
    y = _season(260, seed=3)
    y[[50, 130, 131, 200]] += [30.0, 45.0, 44.0, -40.0]
    y[220:] += 25.0
    full, pos = clean(y, 12)
    assert pos  # something to be causal about
    for t in range(40, 261, 7):
        head, _ = clean(y[:t], 12, train_end=len(y))
        assert np.array_equal(head, full[:t]), t


def test_backtest_models_read_the_cleaned_history_and_peers_the_given_one():
    y = _season(160, seed=4)
    y[[100, 137]] += [60.0, 55.0]
    df = pd.DataFrame({"t": pd.date_range("2010-01", periods=160, freq="MS"), "y": y})
    f = Forecaster(horizon=3, candidates=["naive"], peers=[], outliers="replace", progress_bar=False)
    bt = f.backtest(df, time="t", target="y", start="-30")
    # origin 138 follows the spike at 137: the naive peer repeats it, the model (naive on cleaned values) does not
    row = bt[bt["origin"] == df["t"][138]].iloc[0]
    assert row["naive"] == pytest.approx(y[137]) and abs(row["forecast"] - y[137]) > 30
    assert np.allclose(bt["actual"].to_numpy(), y[np.searchsorted(df["t"], bt["time"])])  # scored on what was given
    assert any(n.startswith("outliers: 1 value") for n in f.evaluate()["notes"])  # the spike before the first origin
    away = bt["origin"] != df["t"][138]
    g = Forecaster(horizon=3, candidates=["naive"], peers=[], progress_bar=False)  # the default: keep
    kept = g.backtest(df, time="t", target="y", start="-30")
    assert np.array_equal(kept["forecast"], kept["naive"])  # nothing replaced: the model is the peer
    assert np.array_equal(bt["forecast"][away & (bt["origin"] < df["t"][137])],
                          kept["forecast"][away & (bt["origin"] < df["t"][137])])
    assert not any(n.startswith("outliers") for n in g.evaluate()["notes"])


def test_a_spike_at_the_end_of_the_history_is_not_the_forecasts_level(tmp_path):
    y = _season(150, seed=5)
    df = pd.DataFrame({"t": pd.date_range("2010-01", periods=150, freq="MS"), "y": y})
    f = Forecaster(horizon=4, candidates=["naive"], outliers="replace", **QUICK).fit(df, time="t", target="y")
    assert f.core_.clean_season == 12
    spiked = df.copy()
    spiked.loc[149, "y"] += 80.0
    level = f.predict(history=spiked)["forecast"].to_numpy()
    assert np.all(np.abs(level - y[149]) < 10)  # the cleaned last value, not the spike 80 above it
    f.save(tmp_path / "m")
    g = Forecaster.load(tmp_path / "m")
    assert g.core_.clean_season == 12
    assert np.allclose(g.predict(history=spiked)["forecast"], level)
    kept = Forecaster(horizon=4, candidates=["naive"], **QUICK).fit(df, time="t", target="y")
    assert kept.config.data.outliers == "keep" and kept.core_.clean_season == 0
    assert np.allclose(kept.predict(history=spiked)["forecast"], y[149] + 80.0)


def test_bad_outliers_setting_is_refused():
    with pytest.raises(ValueError, match="outliers"):
        Forecaster(outliers="drop")


def test_the_verdict_names_the_chosen_models_peer_when_its_column_differs():
    from lstmkit.tasks.forecast.backtest import verdict

    same = verdict({"forecast": {"mase": 0.9}, "naive": {"mase": 0.9}, "seasonal_naive": {"mase": 1.2}}, "naive")
    assert not same["peer_wins"] and same["best"] == "forecast"  # the model's own column is not a rival
    # the model read a cleaned history, its peer the values as given, and the peer did better
    apart = verdict({"forecast": {"mase": 0.9}, "naive": {"mase": 0.8}, "seasonal_naive": {"mase": 1.2}}, "naive")
    assert apart["peer_wins"] and apart["best"] == "naive"
