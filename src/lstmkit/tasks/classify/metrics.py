"""Classification metrics and the 1-nearest-neighbour baselines of series classification.

Metrics take label arrays of any kind (ints, strings; numpy arrays, lists or
CPU tensors). The baselines are the reference points of the UCR/UEA archives:
1-NN with Euclidean distance and 1-NN with dynamic time warping (DTW),
optionally inside a Sakoe-Chiba window.
"""

from __future__ import annotations

import numpy as np

METRICS = ("euclidean", "dtw")


def _labels(y_true, y_pred, who: str) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim != 1 or t.shape != p.shape:
        raise ValueError(f"{who}: expected y_true and y_pred of one shape (N,), got {t.shape} and {p.shape}")
    return t, p


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the truth (``0`` for no samples)."""
    t, p = _labels(y_true, y_pred, "accuracy")
    return float((t == p).mean()) if t.size else 0.0


def confusion_matrix(y_true, y_pred, labels=None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``labels[i]`` predicted as ``labels[j]``.

    Args:
        labels: the class order; default the sorted union of both arrays'
            values. A value outside ``labels`` raises ``ValueError``.

    Returns:
        int64 ``(K, K)``: rows are true classes, columns predictions (as scikit-learn).

    Example::

        >>> confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1])
        array([[1, 1, 0],
               [0, 1, 0],
               [0, 1, 0]])
    """
    t, p = _labels(y_true, y_pred, "confusion_matrix")
    labels = np.unique(np.concatenate([t, p])) if labels is None else np.asarray(labels)
    index = {v: i for i, v in enumerate(labels.tolist())}
    out = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for a, b in zip(t.tolist(), p.tolist()):
        if a not in index or b not in index:
            raise ValueError(f"confusion_matrix: expected labels in {labels.tolist()}, got {a if a not in index else b!r}")
        out[index[a], index[b]] += 1
    return out


def f1_per_class(y_true, y_pred, labels=None) -> np.ndarray:
    r"""F1 of each class, :math:`2\,TP / (2\,TP + FP + FN)`, ``0`` where that is ``0/0``.

    ``labels`` as :func:`confusion_matrix`.
    """
    cm = confusion_matrix(y_true, y_pred, labels)
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1)  # 2TP + FP + FN
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def macro_f1(y_true, y_pred, labels=None) -> float:
    """Unweighted mean of :func:`f1_per_class` over the classes.

    By default the classes are those present in ``y_true`` or ``y_pred`` (as
    scikit-learn's ``f1_score(average='macro')``); pass ``labels`` to count
    a class that appears in neither (its F1 is ``0``).
    """
    f1 = f1_per_class(y_true, y_pred, labels)
    return float(f1.mean()) if f1.size else 0.0


# ------------------------------------------------------------------ distances
def as_series_list(X, who: str, name: str) -> list[np.ndarray]:
    """Series in any of the accepted layouts -> a list of float64 ``(C, T_i)`` arrays.

    Accepted: an array ``(N, T)`` (univariate) or ``(N, C, T)``, where a
    series shorter than ``T`` is padded with NaN at its end; or a list of
    ``(T_i,)`` or ``(C, T_i)`` arrays of any lengths. NaN before a series'
    end, infinite values and an empty series are errors naming the series.
    """
    if isinstance(X, np.ndarray) and X.dtype != object:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 2:
            X = X[:, None, :]
        if X.ndim != 3 or X.shape[2] == 0:
            raise ValueError(f"{who}: expected {name} of shape (N, T) or (N, C, T), got {X.shape}")
        items = list(X)
    else:
        items = []
        for i, x in enumerate(X):
            x = np.asarray(x, dtype=np.float64)
            if x.ndim == 1:
                x = x[None, :]
            if x.ndim != 2 or x.shape[1] == 0:
                raise ValueError(f"{who}: expected {name}[{i}] of shape (T,) or (C, T), got {x.shape}")
            items.append(x)
        if not items:
            raise ValueError(f"{who}: expected at least one series in {name}, got none")
    out = []
    for i, x in enumerate(items):
        if np.isinf(x).any():
            c, t = np.argwhere(np.isinf(x))[0]
            raise ValueError(f"{who}: expected finite values in {name}, got {x[c, t]} in series {i} at step {t}")
        missing = np.isnan(x).any(axis=0)
        end = len(missing) - int(np.argmin(missing[::-1])) if not missing.all() else 0
        if end == 0:
            raise ValueError(f"{who}: expected values in {name}, got series {i} with none (all NaN)")
        if missing[:end].any():
            raise ValueError(f"{who}: expected finite values in {name}, got NaN in series {i} at step "
                             f"{int(np.argmax(missing[:end]))} before its end (only trailing NaN marks a shorter series)")
        out.append(x[:, :end])
    channels = {x.shape[0] for x in out}
    if len(channels) != 1:
        raise ValueError(f"{who}: expected every series of {name} to have the same channels, got {sorted(channels)}")
    return out


def _pad(series: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(N, C, T_max)`` with zeros after each series' end, and the lengths ``(N,)``."""
    lengths = np.array([x.shape[1] for x in series], dtype=np.int64)
    out = np.zeros((len(series), series[0].shape[0], int(lengths.max())))
    for i, x in enumerate(series):
        out[i, :, : x.shape[1]] = x
    return out, lengths


def resample(series: list[np.ndarray], length: int) -> np.ndarray:
    """Each ``(C, T_i)`` series linearly interpolated to ``length`` steps, ``(N, C, length)``.

    A series of ``length`` steps is returned unchanged; a series of one step is repeated.
    """
    out = np.empty((len(series), series[0].shape[0], length))
    grid = np.linspace(0.0, 1.0, length)
    for i, x in enumerate(series):
        if x.shape[1] == length:
            out[i] = x
        elif x.shape[1] == 1:
            out[i] = x[:, :1]
        else:
            at = np.linspace(0.0, 1.0, x.shape[1])
            out[i] = np.stack([np.interp(grid, at, ch) for ch in x])
    return out


def euclidean_distances(A, B) -> np.ndarray:
    r"""Pairwise Euclidean distances :math:`\lVert a - b \rVert_2` over all channels and steps, ``(N, M)``.

    ``A`` and ``B`` in any layout :func:`as_series_list` accepts, with the
    same channels. Series of unequal lengths (variable-length data) are first
    linearly resampled to the longest length in ``A`` and ``B``, the usual way
    of giving such sets a Euclidean baseline; series of equal length are used
    as they are.
    """
    a_list, b_list = as_series_list(A, "euclidean_distances", "A"), as_series_list(B, "euclidean_distances", "B")
    if a_list[0].shape[0] != b_list[0].shape[0]:
        raise ValueError(f"euclidean_distances: expected B with {a_list[0].shape[0]} channels, got {b_list[0].shape[0]}")
    length = max(x.shape[1] for x in a_list + b_list)
    a = resample(a_list, length).reshape(len(a_list), -1)
    b = resample(b_list, length).reshape(len(b_list), -1)
    out = np.empty((len(a), len(b)))
    step = max(1, 2_000_000 // max(1, b.size))
    for s in range(0, len(a), step):
        out[s : s + step] = np.sqrt(((a[s : s + step, None, :] - b[None, :, :]) ** 2).sum(-1))
    return out


def dtw_distances(A, B, window: int | None = None) -> np.ndarray:
    r"""Pairwise dynamic-time-warping distances, ``(N, M)``.

    For series :math:`a` (length :math:`n`) and :math:`b` (length :math:`m`)
    with :math:`C` channels:

    .. math::
        D_{i,j} = \lVert a_i - b_j \rVert_2^2 + \min(D_{i-1,j},\; D_{i,j-1},\; D_{i-1,j-1}),
        \qquad \mathrm{dtw}(a, b) = D_{n,m}

    with :math:`D_{0,0} = 0` and :math:`D = \infty` off the grid: the least
    total squared cost over monotone alignments (as aeon's ``dtw_distance``;
    no square root, so ``window=0`` gives the squared Euclidean distance).
    Channels move together (dependent DTW). Series may differ in length
    (variable-length data): each pair is aligned over its own lengths.

    Args:
        A: ``(N, T_a)`` or ``(N, C, T_a)`` (NaN after a shorter series' end),
            or a list of ``(T,)`` / ``(C, T)`` arrays.
        B: likewise, with the same channels.
        window: Sakoe-Chiba band: only cells with :math:`|i - j| \le` ``window``
            (in steps; widened to :math:`|n - m|` for each pair so that a path
            exists). A UCR window of ``r`` percent is ``round(r / 100 * T)``.
            Default ``None``: no band.

    Computed one anti-diagonal of :math:`D` at a time, vectorised over all
    pairs (shorter series are zero-padded; a pair's distance is read at its
    own cell :math:`(n, m)`, which the padding never reaches).
    """
    a_list, b_list = as_series_list(A, "dtw_distances", "A"), as_series_list(B, "dtw_distances", "B")
    if a_list[0].shape[0] != b_list[0].shape[0]:
        raise ValueError(f"dtw_distances: expected B with {a_list[0].shape[0]} channels, got {b_list[0].shape[0]}")
    if window is not None and (isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 0):
        raise ValueError(f"dtw_distances: expected window an int >= 0 or None, got {window!r}")
    A, la = _pad(a_list)
    B, lb = _pad(b_list)
    out = np.empty((len(A), len(B)))
    step = max(1, 4_000_000 // max(1, len(B) * (A.shape[2] + 1)))
    for s in range(0, len(A), step):
        out[s : s + step] = _dtw_block(A[s : s + step], la[s : s + step], B, lb, window)
    return out


def _dtw_block(A: np.ndarray, la: np.ndarray, B: np.ndarray, lb: np.ndarray, window: int | None) -> np.ndarray:
    n, m = int(la.max()), int(lb.max())
    A, B = A[:, :, :n], B[:, :, :m]
    band = None if window is None else np.maximum(window, np.abs(la[:, None] - lb[None, :]))  # (NA, NB) per pair
    w = max(n, m) if band is None else int(band.max())
    target = la[:, None] + lb[None, :]  # the anti-diagonal of each pair's last cell (la, lb)
    result = np.full((len(A), len(B)), np.inf)
    # three anti-diagonals of D, indexed by row i (0..n) first; D[i, j] lies on diagonal d = i + j
    prev2 = np.full((n + 1, len(A), len(B)), np.inf)
    prev2[0] = 0.0  # diagonal 0: D[0, 0]
    prev1 = np.full_like(prev2, np.inf)  # diagonal 1: D[1, 0] and D[0, 1], off the grid
    cur = np.full_like(prev2, np.inf)
    At = np.ascontiguousarray(A.transpose(2, 1, 0))[:, :, :, None]  # (n, C, NA, 1): a_{i-1} is At[i - 1]
    Bt = np.ascontiguousarray(B.transpose(2, 1, 0)[::-1])[:, :, None, :]  # (m, C, 1, NB): b_{j-1} is Bt[m - j]
    for d in range(2, n + m + 1):
        lo, hi = max(1, d - m), min(n, d - 1)  # rows of the grid on this diagonal
        lo, hi = max(lo, -(-(d - w) // 2)), min(hi, (d + w) // 2)  # inside the widest band |i - j| <= w
        # the next two diagonals read this one only at rows lo - 1 .. hi + 1 (the bounds never decrease)
        cur[max(lo - 1, 0) : hi + 2] = np.inf
        if lo <= hi:
            diff = At[lo - 1 : hi] - Bt[m - d + lo : m - d + hi + 1]  # (L, C, NA, NB) for i = lo..hi, j = d - i
            cost = np.square(diff[:, 0]) if diff.shape[1] == 1 else np.square(diff).sum(axis=1)
            best = np.minimum(np.minimum(prev1[lo - 1 : hi], prev1[lo : hi + 1]), prev2[lo - 1 : hi])
            np.add(cost, best, out=cur[lo : hi + 1])
            if band is not None and w > int(band.min()):  # pairs with a narrower band: cells outside it are off
                rows = np.arange(lo, hi + 1)
                outside = np.abs(2 * rows - d)[:, None, None] > band[None]
                cur[lo : hi + 1][outside] = np.inf
        ai, bi = np.nonzero(target == d)
        if len(ai):
            result[ai, bi] = cur[la[ai], ai, bi]
        prev2, prev1, cur = prev1, cur, prev2
    return result


def dtw_distance(a, b, window: int | None = None) -> float:
    """DTW between two series ``(T,)`` or ``(C, T)``; see :func:`dtw_distances`.

    Example::

        >>> dtw_distance([0.0, 1.0, 2.0], [0.0, 2.0])
        1.0
        >>> dtw_distance([1.0, 2.0, 3.0], [1.0, 2.0, 2.0, 3.0])
        0.0
    """
    return float(dtw_distances([np.asarray(a, dtype=np.float64)], [np.asarray(b, dtype=np.float64)], window)[0, 0])


def nearest_neighbour(train_X, train_y, test_X, metric: str = "euclidean", window: int | None = None) -> np.ndarray:
    """1-nearest-neighbour classification: each test series gets the label of its closest training series.

    Args:
        train_X: ``(N, T)`` or ``(N, C, T)`` (NaN after a shorter series'
            end), or a list of ``(T,)`` / ``(C, T)`` arrays of any lengths.
        train_y: ``(N,)`` labels.
        test_X: ``(M, T)``, ``(M, C, T)`` or a list, likewise.
        metric: ``'euclidean'`` (default; unequal lengths are resampled, see
            :func:`euclidean_distances`) or ``'dtw'``.
        window: DTW band, see :func:`dtw_distances`.

    Returns:
        ``(M,)`` predicted labels; on equal distances the earliest training series wins.

    Example::

        >>> nearest_neighbour([[0, 0, 1], [5, 5, 5]], ["low", "high"], [[0, 1, 1], [4, 6, 5]])
        array(['low', 'high'], dtype='<U4')
    """
    if metric not in METRICS:
        raise ValueError(f"nearest_neighbour: expected metric in {METRICS}, got {metric!r}")
    train_y = np.asarray(train_y)
    if len(train_y) != len(train_X) or len(train_y) == 0:
        raise ValueError(f"nearest_neighbour: expected {len(train_X)} training labels (at least one), got {len(train_y)}")
    train_X = as_series_list(train_X, "nearest_neighbour", "train_X")
    test_X = as_series_list(test_X, "nearest_neighbour", "test_X")
    if metric == "euclidean":
        if window is not None:
            raise ValueError(f"nearest_neighbour: expected window=None with metric 'euclidean', got {window!r}")
        dist = euclidean_distances(test_X, train_X)
    else:
        dist = dtw_distances(test_X, train_X, window)
    return train_y[dist.argmin(axis=1)]
