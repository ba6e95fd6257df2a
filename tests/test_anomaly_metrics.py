"""Anomaly metrics, thresholds, events and baselines on hand-computed cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lstmkit.tasks.anomaly import baselines, events, metrics, thresholds


def test_runs_and_events():
    scores = np.array([0, 5, 6, 0, 0, 7, 0, 9, 1, np.nan])
    assert events.runs(scores > 4) == [(1, 2), (5, 5), (7, 7)]
    evs = events.to_events(scores, 4)
    assert [(e.start, e.end, e.peak, e.peak_score) for e in evs] == [(1, 2, 2, 6.0), (5, 5, 5, 7.0), (7, 7, 7, 9.0)]
    merged = events.to_events(scores, 4, min_gap=1)
    assert [(e.start, e.end, e.peak) for e in merged] == [(1, 2, 2), (5, 7, 7)]
    assert [(e.start, e.end) for e in events.to_events(scores, 4, min_length=2)] == [(1, 2)]


def test_point_event_and_adjusted_metrics_by_hand():
    labels = np.array([0, 1, 1, 1, 0, 0, 1, 1, 0, 0])
    flags = np.array([0, 0, 1, 0, 0, 1, 0, 0, 0, 0])
    p = metrics.point_prf(labels, flags)
    # tp=1 (index 2), fp=1 (index 5), fn=4
    assert p["precision"] == pytest.approx(0.5) and p["recall"] == pytest.approx(1 / 5)
    assert p["f1"] == pytest.approx(2 * 0.5 * 0.2 / 0.7)
    adj = metrics.point_adjusted_prf(labels, flags)
    # the first event (3 points) becomes detected: tp=3, fp=1, fn=2
    assert adj["precision"] == pytest.approx(3 / 4) and adj["recall"] == pytest.approx(3 / 5)
    ev = metrics.event_prf(labels, flags)
    # true events: [1,3] found, [6,7] missed; predicted events: {2} correct, {5} wrong
    assert (ev["precision"], ev["recall"], ev["true_events"], ev["predicted_events"]) == (0.5, 0.5, 2, 2)


def _brute_auc(y, s):
    pos, neg = s[y == 1], s[y == 0]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def _brute_ap(y, s):
    # precision at each distinct threshold times the recall gained there
    ap, prev_r = 0.0, 0.0
    for t in sorted(set(s), reverse=True):
        flagged = s >= t
        tp = np.sum(flagged & (y == 1))
        r = tp / y.sum()
        ap += (r - prev_r) * tp / flagged.sum()
        prev_r = r
    return ap


@pytest.mark.parametrize("seed", range(5))
def test_roc_and_pr_auc_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(40) < 0.3).astype(int)
    y[0], y[1] = 1, 0
    s = np.round(rng.random(40) + 0.5 * y, 1)  # coarse: plenty of ties
    assert metrics.roc_auc(y, s) == pytest.approx(_brute_auc(y, s))
    assert metrics.pr_auc(y, s) == pytest.approx(_brute_ap(y, s))


def test_perfect_and_inverted_scores():
    y = np.array([0, 0, 1, 1])
    assert metrics.roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert metrics.roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert metrics.pr_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0


def test_ucr_criterion():
    y = np.zeros(1000, dtype=int)
    y[500:520] = 1
    s = np.zeros(1000)
    s[610] = 1.0  # 90 after the end: inside the ±100 margin
    assert metrics.ucr_hit(y, s)
    s[610], s[630] = 0.0, 1.0  # 110 after: outside
    assert not metrics.ucr_hit(y, s)


def test_metric_input_checks():
    with pytest.raises(ValueError, match="same 1-D shape"):
        metrics.point_prf(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="labels of 0 and 1"):
        metrics.point_prf(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="both anomalous and normal"):
        metrics.roc_auc(np.zeros(3, dtype=int), np.arange(3.0))


def test_false_alarm_rate_and_contamination_thresholds():
    normal = np.arange(100.0)  # 0..99
    t = thresholds.from_false_alarm_rate(normal, 0.05)
    assert np.mean(normal > t) <= 0.05 and np.mean(normal >= t) > 0.05
    assert thresholds.from_false_alarm_rate(normal, 0.0) == 99.0
    t = thresholds.from_contamination(np.arange(1000.0), 0.01)
    assert np.sum(np.arange(1000.0) > t) == 10
    with pytest.raises(ValueError, match="expected rate in"):
        thresholds.from_false_alarm_rate(normal, 1.5)
    with pytest.raises(ValueError, match="at least one finite score"):
        thresholds.from_false_alarm_rate([np.nan], 0.1)


def test_dynamic_threshold_separates_a_spike_from_noise():
    rng = np.random.default_rng(0)
    s = np.abs(rng.normal(0, 1, 2000))
    s[1200:1210] += 15.0
    eps = thresholds.dynamic(s, smoothing=1)
    flagged = np.flatnonzero(s > eps)
    assert set(range(1200, 1210)) <= set(flagged)
    assert len(flagged) < 30  # noise barely crosses it


def test_ewma_matches_definition():
    x = np.array([1.0, 3.0, 2.0])
    a = 2 / (2 + 1)
    expected = [1.0, a * 3 + (1 - a) * 1.0]
    expected.append(a * 2 + (1 - a) * expected[-1])
    np.testing.assert_allclose(thresholds.ewma(x, 2), expected)


def test_rolling_zscore_against_a_loop():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    z = baselines.rolling_zscore(x, window=10)
    assert np.isnan(z[:10]).all()
    for t in (10, 33, 59):
        past = x[t - 10 : t]
        zz = np.abs(x[t] - past.mean(0)) / np.sqrt(past.var(0) + 1e-8)
        assert z[t] == pytest.approx(np.sqrt((zz**2).mean()))
    with pytest.raises(ValueError, match="window"):
        baselines.rolling_zscore(x, window=100)


def test_isolation_forest_isolates_outliers_first():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    X[:5] += 8.0
    scores = baselines.IsolationForest(n_trees=50, seed=1).fit(X).score(X)
    assert set(np.argsort(-scores)[:5]) == set(range(5))
    assert scores.min() > 0 and scores.max() <= 1
    s = baselines.isolation_forest_scores(np.sin(np.arange(400) / 5.0), window=16, n_trees=20)
    assert np.isnan(s[:15]).all() and np.isfinite(s[15:]).all()


def test_events_from_flags_never_flag_unflagged_rows():
    scores = np.array([0.1, 5.0, 5.0, 0.2, np.nan, 0.3])
    flags = scores > 1.0
    evs = events.events_from_flags(flags, scores)
    assert [(e.start, e.end) for e in evs] == [(1, 2)]
    assert [(e.start, e.end) for e in events.to_events(scores, -np.inf)] == [(0, 3), (5, 5)]  # NaN never flags


def test_one_giant_event_does_not_score_a_high_event_f1():
    labels = np.zeros(1000, dtype=int)
    labels[500:520] = 1
    everything = np.ones(1000, dtype=int)  # one event covering the whole series
    ev = metrics.event_prf(labels, everything)
    assert ev["recall"] == 1.0 and ev["precision"] == pytest.approx(0.02) and ev["f1"] < 0.05
    assert (ev["predicted_events"], ev["flagged_rows"]) == (1, 1000)
    tight = np.zeros(1000, dtype=int)
    tight[505:525] = 1  # 15 of its 20 rows labelled
    ev = metrics.event_prf(labels, tight)
    assert ev["precision"] == pytest.approx(0.75) and ev["f1"] == pytest.approx(2 * 0.75 / 1.75)


def test_centred_pooling_and_its_calibration_by_hand():
    from lstmkit.tasks.anomaly.pooling import Pooling, centred_mean

    logs = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    # span 3: rows [i-1, i+1]; span 2: rows [i-1, i]; NaN rows are left out of the means
    np.testing.assert_allclose(centred_mean(logs, 3), [1.5, 1.5, 3.0, 4.5, 4.5])
    np.testing.assert_allclose(centred_mean(logs, 2), [1.0, 1.5, 2.0, 4.0, 4.5])
    # trim 1: the largest value of each window is left out when more than one remains
    np.testing.assert_allclose(centred_mean(logs, 3, trim=1), [1.0, 1.0, 2.0, 4.0, 4.0])
    spiky = np.zeros(50)
    spiky[25] = 9.0
    assert np.nanmax(centred_mean(spiky, 10, trim=2)) == 0.0  # one spike does not lift its neighbours
    rng = np.random.default_rng(0)
    normal = np.expm1(np.abs(rng.normal(size=2000)))
    pool = Pooling([1, 10]).fit(normal, np.ones(2000, dtype=bool))
    assert pool.delay == 4 and len(pool.median) == 2
    z = pool.apply(normal)
    assert np.mean(z > 1) == pytest.approx(0.01, abs=0.01)  # 1: the top 1 % of normal rows at some span
    # the 10-row spread is at least 2.33 sd / sqrt(10) (few windows understate it)
    assert pool.spread[1] >= 2.326 * np.std(np.log1p(normal)) / np.sqrt(10) - 1e-12
    s = normal.copy()
    s[1000] = 1e6  # a spike: the per-row span carries it
    s[1500:1510] = np.expm1(2.5)  # a run of moderately high rows: the 10-row span carries it
    z = pool.apply(s)
    assert np.argmax(z) == 1000 and z[1500:1510].min() > np.quantile(pool.apply(normal), 0.99)
    assert z[1001:1006].max() < z[1000] / 2  # the rows around the spike are not lifted with it
    assert Pooling.from_dict(pool.to_dict()).apply(s) == pytest.approx(z, nan_ok=True)


def test_automatic_choices_from_the_normal_rows():
    from lstmkit.tasks.anomaly import choices

    rng = np.random.default_rng(0)
    t = np.arange(3000)
    seasonal = np.sin(2 * np.pi * t / 37) + 0.2 * rng.normal(size=3000)
    assert choices.season(seasonal) == pytest.approx(37, abs=1)
    assert not choices.monotone_trend(seasonal)
    trending = seasonal + 0.01 * t
    assert choices.monotone_trend(trending) and choices.season(trending) == pytest.approx(37, abs=1)
    assert choices.season(rng.normal(size=3000)) is None
    assert choices.training_window(37, 3000) == 74 and choices.training_window(None, 3000) == 128
    assert choices.training_window(200, 400) == 100  # at most a quarter of the training rows
    assert choices.pooling_span(37, 1000) == 37 and choices.pooling_span(37, 100) is None


def test_gaussian_errors_score_rows_with_and_without_missing_values():
    """Mahalanobis scores by the definition; a row with a NaN or inf entry
    scores NaN and does not disturb the other rows (the all-finite call takes
    a shorter path than one with missing values: both must agree)."""
    from lstmkit.tasks.anomaly.errors import GaussianErrors

    rng = np.random.default_rng(3)
    g = GaussianErrors().fit(rng.normal(size=(200, 3)) @ np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.2], [0.0, 0.0, 0.5]]))
    e = rng.normal(size=(6, 3))
    want = np.array([(r - g.mean) @ g.precision @ (r - g.mean) for r in e])
    np.testing.assert_allclose(g.score(e), want, rtol=1e-12)
    np.testing.assert_allclose(g.score(e[2:3]), want[2:3], rtol=1e-12)
    bad = e.copy()
    bad[1, 0], bad[4, 2] = np.nan, np.inf
    got = g.score(bad)
    assert np.isnan(got[[1, 4]]).all()
    np.testing.assert_allclose(np.delete(got, [1, 4]), np.delete(want, [1, 4]), rtol=1e-12)


def test_event_wise_metrics_count_the_events_detect_returns():
    """Two flag runs 5 rows apart with min_gap 20 are one event in detect(); evaluation counts one too."""
    import numpy as np

    from lstmkit.tasks.anomaly.evaluation import decide, evaluate_detections

    scores = np.zeros(200)
    scores[100:103] = 5.0
    scores[108:110] = 5.0
    det = decide(scores, "false_alarm", 1.0, 0.01, 0, 20)
    assert [(e.start, e.end) for e in det.events] == [(100, 109)]
    labels = np.zeros(200, dtype=int)
    labels[100:110] = 1
    out = evaluate_detections(labels, {"LSTM": det}, np.ones(200, dtype=bool))["LSTM"]
    assert out["predicted_events"] == 1 and out["flagged_rows"] == 5 and out["event"]["precision"] == 1.0
