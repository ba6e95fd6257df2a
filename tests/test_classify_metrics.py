"""Classification metrics on hand-computed cases; DTW against brute force; 1-NN against published UCR error rates."""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
import pytest

from lstmkit.data.ts_format import read_ts
from lstmkit.tasks.classify.metrics import (
    accuracy,
    confusion_matrix,
    dtw_distance,
    dtw_distances,
    euclidean_distances,
    f1_per_class,
    macro_f1,
    nearest_neighbour,
)

Y_TRUE = [0, 0, 0, 1, 1, 2]
Y_PRED = [0, 0, 1, 1, 2, 2]


def test_accuracy():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    assert accuracy(["a", "b"], ["a", "b"]) == 1.0 and accuracy([], []) == 0.0
    with pytest.raises(ValueError, match=r"accuracy: expected y_true and y_pred of one shape \(N,\), got \(2,\) and \(3,\)"):
        accuracy([1, 2], [1, 2, 3])


def test_confusion_matrix():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]  # rows truth, columns prediction
    assert confusion_matrix(["b", "a"], ["a", "a"], labels=["b", "a", "c"]).tolist() == [[0, 1, 0], [0, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match=r"confusion_matrix: expected labels in \[0, 1\], got 2"):
        confusion_matrix([0, 1], [0, 2], labels=[0, 1])


def test_f1_and_macro_f1_hand_computed():
    # class 0: TP 2 FP 0 FN 1 -> 4/5; class 1: TP 1 FP 1 FN 1 -> 1/2; class 2: TP 1 FP 1 FN 0 -> 2/3
    np.testing.assert_allclose(f1_per_class(Y_TRUE, Y_PRED), [0.8, 0.5, 2 / 3])
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    # a class absent from both counts only when named, with F1 0
    assert macro_f1(Y_TRUE, Y_PRED, labels=[0, 1, 2, 3]) == pytest.approx((0.8 + 0.5 + 2 / 3) / 4)
    # a class only predicted, never true: F1 0 (its TP is 0)
    assert macro_f1([0, 0], [0, 1]) == pytest.approx((2 / 3 + 0) / 2)
    assert macro_f1([1, 1], [1, 1]) == 1.0


def _brute_dtw(a: np.ndarray, b: np.ndarray, w: int | None) -> float:
    """Least total squared cost over every monotone warping path, enumerated recursively."""
    n, m = a.shape[-1], b.shape[-1]
    band = max(n, m) if w is None else max(w, abs(n - m))

    @lru_cache(maxsize=None)
    def paths(i: int, j: int) -> list[tuple[tuple[int, int], ...]]:
        if abs(i - j) > band:
            return []
        if (i, j) == (0, 0):
            return [((0, 0),)]
        prev = [(i - 1, j), (i, j - 1), (i - 1, j - 1)]
        return [p + ((i, j),) for pi, pj in prev if pi >= 0 and pj >= 0 for p in paths(pi, pj)]

    all_paths = paths(n - 1, m - 1)
    return min(sum(float(((a[..., i] - b[..., j]) ** 2).sum()) for i, j in path) for path in all_paths)


def test_dtw_against_brute_force():
    rng = np.random.default_rng(0)
    for n, m, c in itertools.product(range(1, 5), range(1, 5), (1, 2)):
        a, b = rng.normal(size=(c, n)), rng.normal(size=(c, m))
        for w in (None, 0, 1, 2):
            got = dtw_distance(a if c > 1 else a[0], b if c > 1 else b[0], window=w)
            assert got == pytest.approx(_brute_dtw(a, b, w), rel=1e-12), (n, m, c, w)


def test_dtw_hand_cases_and_properties():
    assert dtw_distance([0.0, 1.0, 2.0], [0.0, 2.0]) == pytest.approx(1.0)  # path (0,0) (1,0)|(1,1) (2,1)
    assert dtw_distance([1.0, 2.0, 3.0], [1.0, 2.0, 2.0, 3.0]) == 0.0  # the repeat is absorbed
    assert dtw_distance([0.0, 0.0, 5.0], [0.0, 5.0, 5.0], window=0) == 25.0  # no warping: point by point
    assert dtw_distance([0.0, 0.0, 5.0], [0.0, 5.0, 5.0], window=1) == 0.0
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(5, 2, 12)), rng.normal(size=(4, 2, 12))
    np.testing.assert_allclose(dtw_distances(A, B, window=0), euclidean_distances(A, B) ** 2, rtol=1e-12)
    full = dtw_distances(A, B)
    assert (full <= dtw_distances(A, B, window=2) + 1e-12).all() and (full <= euclidean_distances(A, B) ** 2 + 1e-12).all()
    np.testing.assert_allclose(dtw_distances(B, A), full.T, rtol=1e-12)


def test_euclidean_distances():
    d = euclidean_distances([[0.0, 0.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 4.0]])
    np.testing.assert_allclose(d, [[0.0, 4.0], [5.0, 3.0]])


def test_nearest_neighbour_ties_and_errors():
    pred = nearest_neighbour([[0, 0], [0, 0], [9, 9]], ["first", "second", "far"], [[1, 1], [8, 8]])
    assert pred.tolist() == ["first", "far"]  # equal distances: the earliest training series
    with pytest.raises(ValueError, match="nearest_neighbour: expected metric in"):
        nearest_neighbour([[0.0]], [0], [[0.0]], metric="cosine")
    with pytest.raises(ValueError, match="expected 2 training labels"):
        nearest_neighbour([[0.0], [1.0]], [0], [[0.0]])
    with pytest.raises(ValueError, match="expected window an int >= 0 or None, got -1"):
        nearest_neighbour([[0.0]], [0], [[0.0]], metric="dtw", window=-1)
    with pytest.raises(ValueError, match="expected finite values in A"):
        dtw_distances([[np.nan, 0.0]], [[0.0, 1.0]])


@pytest.mark.parametrize(
    "name, metric, errors",
    [
        # test-set errors of the UCR archive's published baselines (error rates 0.087, 0.093, 0.045, 0.050)
        ("GunPoint", "euclidean", 13),
        ("GunPoint", "dtw", 14),
        ("ItalyPowerDemand", "euclidean", 46),
        ("ItalyPowerDemand", "dtw", 51),
    ],
)
def test_one_nn_matches_published_ucr_baselines(shared_data, name, metric, errors):
    train = read_ts(shared_data / "ucr" / f"{name}_TRAIN.ts")
    test = read_ts(shared_data / "ucr" / f"{name}_TEST.ts")
    pred = nearest_neighbour(train.X, train.y, test.X, metric=metric)
    assert int((pred != test.y).sum()) == errors
    assert accuracy(test.y, pred) == pytest.approx(1 - errors / len(test))
    cm = confusion_matrix(test.y, pred, labels=test.classes)
    assert cm.sum() == len(test) and np.trace(cm) == len(test) - errors


def test_dtw_of_variable_length_series_is_each_pair_over_its_own_lengths():
    rng = np.random.default_rng(2)
    A = [rng.normal(size=(2, n)) for n in (1, 3, 4, 2)]
    B = [rng.normal(size=(2, m)) for m in (4, 1, 2)]
    for w in (None, 0, 1):
        got = dtw_distances(A, B, window=w)
        want = [[_brute_dtw(a, b, w) for b in B] for a in A]
        np.testing.assert_allclose(got, want, rtol=1e-12)
    padded = np.full((4, 2, 4), np.nan)  # the same series as one NaN-padded array
    for i, a in enumerate(A):
        padded[i, :, : a.shape[1]] = a
    np.testing.assert_allclose(dtw_distances(padded, B), dtw_distances(A, B), rtol=1e-12)


def test_nearest_neighbour_takes_variable_lengths_with_either_metric():
    train = [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0, 5.0, 5.0]]
    test = [[0.0, 0.1], [5.0, 4.9, 5.1, 5.0, 5.0, 5.0]]
    for metric in ("euclidean", "dtw"):
        assert nearest_neighbour(train, ["low", "high"], test, metric=metric).tolist() == ["low", "high"]
    # Euclidean resamples to the longest length: a 2-step ramp and its 5-step version are the same series
    np.testing.assert_allclose(euclidean_distances([[0.0, 4.0]], [[0.0, 1.0, 2.0, 3.0, 4.0]]), [[0.0]], atol=1e-12)
    with pytest.raises(ValueError, match=r"nearest_neighbour: expected finite values in test_X, got inf in series 1 at step 0"):
        nearest_neighbour(train, ["a", "b"], [[1.0], [np.inf]])
