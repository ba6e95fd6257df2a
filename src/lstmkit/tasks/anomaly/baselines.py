"""Two simple detectors every LSTM detector is compared with in the same run.

* :func:`rolling_zscore`: how many standard deviations a point lies from the
  mean of the preceding window (per channel; the channels' root mean square).
* :class:`IsolationForest` on sliding windows (Liu, Ting & Zhou 2008): random
  axis-aligned splits isolate outlying windows in fewer steps. Written here in
  NumPy rather than pulling in scikit-learn for one estimator.
"""

from __future__ import annotations

import numpy as np

_EULER = 0.5772156649


def as_2d(values, who: str) -> np.ndarray:
    """``values`` as a float array of shape (T, C); a (T,) series becomes one channel; ``who`` names the caller."""
    a = np.asarray(values, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{who}: expected values of shape (T,) or (T, C), got {a.shape}")
    return a


def rolling_zscore(x, window: int = 50, eps: float = 1e-8) -> np.ndarray:
    """Score ``|x_t - mean| / std`` over the previous ``window`` points.

    The first ``window`` points get NaN (not enough history).
    """
    a = as_2d(x, "rolling_zscore")
    T = a.shape[0]
    if window < 2 or window >= T:
        raise ValueError(f"rolling_zscore: expected 2 <= window < {T} (the series length), got {window}")
    c1 = np.cumsum(np.vstack([np.zeros((1, a.shape[1])), a]), axis=0)
    c2 = np.cumsum(np.vstack([np.zeros((1, a.shape[1])), a * a]), axis=0)
    t = np.arange(window, T)
    s1 = c1[t] - c1[t - window]
    s2 = c2[t] - c2[t - window]
    mean = s1 / window
    var = np.maximum(s2 / window - mean**2, 0.0)
    z = np.abs(a[window:] - mean) / np.sqrt(var + eps)
    out = np.full(T, np.nan)
    out[window:] = np.sqrt((z**2).mean(axis=1))
    return out


def sliding_windows(x, window: int) -> np.ndarray:
    """``(T - window + 1, window * C)`` matrix of flattened windows."""
    a = as_2d(x, "sliding_windows")
    if window < 1 or window > a.shape[0]:
        raise ValueError(f"sliding_windows: expected 1 <= window <= {a.shape[0]}, got {window}")
    w = np.lib.stride_tricks.sliding_window_view(a, window, axis=0)  # (N, C, window)
    return w.reshape(w.shape[0], -1)


def _average_path(n) -> np.ndarray:
    """Expected path length of an unsuccessful search in a BST of n points."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    big = n > 2
    out[big] = 2 * (np.log(n[big] - 1) + _EULER) - 2 * (n[big] - 1) / n[big]
    out[n == 2] = 1.0
    return out


class IsolationForest:
    """Isolation forest: anomaly score ``2^(-E[h(x)] / c(n))`` in (0, 1].

    Args:
        n_trees: trees in the forest. Default ``100``.
        sample_size: points drawn (without replacement) per tree. Default ``256``.
        seed: random seed. Default ``0``.
    """

    def __init__(self, n_trees: int = 100, sample_size: int = 256, seed: int = 0) -> None:
        self.n_trees, self.sample_size, self.seed = n_trees, sample_size, seed
        self.trees: list[dict[str, np.ndarray]] = []

    def fit(self, X) -> "IsolationForest":
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[0] < 2:
            raise ValueError(f"IsolationForest: expected at least 2 rows of features, got shape {X.shape}")
        rng = np.random.default_rng(self.seed)
        self.n_ = min(self.sample_size, X.shape[0])
        limit = int(np.ceil(np.log2(max(self.n_, 2))))
        self.trees = [self._grow(X[rng.choice(X.shape[0], self.n_, replace=False)], rng, limit) for _ in range(self.n_trees)]
        return self

    @staticmethod
    def _grow(X: np.ndarray, rng, limit: int) -> dict[str, np.ndarray]:
        feature, threshold, left, right, size = [], [], [], [], []

        def node(rows: np.ndarray, depth: int) -> int:
            idx = len(feature)
            feature.append(-1), threshold.append(0.0), left.append(-1), right.append(-1), size.append(len(rows))
            if depth >= limit or len(rows) <= 1:
                return idx
            sub = X[rows]
            spread = sub.max(0) - sub.min(0)
            candidates = np.flatnonzero(spread > 0)
            if candidates.size == 0:
                return idx
            f = int(rng.choice(candidates))
            lo, hi = sub[:, f].min(), sub[:, f].max()
            split = rng.uniform(lo, hi)
            feature[idx], threshold[idx] = f, split
            go_left = sub[:, f] < split
            left[idx] = node(rows[go_left], depth + 1)
            right[idx] = node(rows[~go_left], depth + 1)
            return idx

        node(np.arange(X.shape[0]), 0)
        return {k: np.asarray(v) for k, v in
                dict(feature=feature, threshold=threshold, left=left, right=right, size=size).items()}

    def path_lengths(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        total = np.zeros(X.shape[0])
        rows = np.arange(X.shape[0])
        for tree in self.trees:
            node = np.zeros(X.shape[0], dtype=int)
            depth = np.zeros(X.shape[0])
            active = tree["feature"][node] >= 0
            while active.any():
                n = node[active]
                go_left = X[rows[active], tree["feature"][n]] < tree["threshold"][n]
                node[active] = np.where(go_left, tree["left"][n], tree["right"][n])
                depth[active] += 1
                active = tree["feature"][node] >= 0
            total += depth + _average_path(tree["size"][node])
        return total / len(self.trees)

    def score(self, X) -> np.ndarray:
        if not self.trees:
            raise RuntimeError("IsolationForest: call fit() before score()")
        return 2.0 ** (-self.path_lengths(X) / _average_path(np.array([self.n_]))[0])


def isolation_forest_scores(x, window: int = 32, n_trees: int = 100, seed: int = 0, fit_on=None) -> np.ndarray:
    """Per-point scores from an isolation forest over sliding windows.

    Each window's score is given to its last point (as a streaming detector
    would see it); the first ``window - 1`` points get NaN. ``fit_on`` (a
    slice of the series, e.g. a clean segment) defaults to the whole series.
    """
    a = as_2d(x, "isolation_forest_scores")
    W = sliding_windows(a, window)
    fit_rows = W if fit_on is None else sliding_windows(as_2d(fit_on, "isolation_forest_scores(fit_on=)"), window)
    scores = IsolationForest(n_trees=n_trees, seed=seed).fit(fit_rows).score(W)
    out = np.full(a.shape[0], np.nan)
    out[window - 1 :] = scores
    return out
