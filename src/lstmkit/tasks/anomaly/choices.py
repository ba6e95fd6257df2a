"""The automatic choices of the anomaly detector, made from its normal rows only.

* :func:`season`: the dominant cycle of the training rows (the first clear peak
  of their autocorrelation), which sets the training window and the pooling
  span.
* :func:`monotone_trend`: whether the normal rows drift one way (web traffic
  that grows, a sensor that wears), in which case the network models
  ``x[t] - x[t-1]``: a network trained on one level range extrapolates badly
  to the levels the scored rows reach.
* :func:`multiplicative`: whether the spread of positive rows grows with their
  level (web traffic, sales), in which case the network models ``log x``: the
  same relative jump then gives the same error at every level, so the error
  model fitted on the validation rows still holds where the level has grown.
* :func:`training_window`: rows per training window from the season.

None of them looks at labels or at the rows that will be scored.
"""

from __future__ import annotations

import numpy as np


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation of a 1-D series at lags 0..max_lag (FFT, biased estimate)."""
    x = x - x.mean()
    n = x.size
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(x, size)
    ac = np.fft.irfft(f * np.conj(f), size)[: max_lag + 1]
    return ac / ac[0] if ac[0] > 0 else np.zeros(max_lag + 1)


def season(values: np.ndarray, min_corr: float = 0.2, max_season: int = 1000) -> int | None:
    """The dominant period of ``values`` ``(T, C)`` in rows, or ``None`` without a clear one.

    The first local maximum of the autocorrelation (averaged over channels,
    computed after removing a straight-line trend when the rows trend) that
    exceeds ``min_corr``, at a lag of at least 3 rows and at most a third of
    the rows.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    if monotone_trend(v):
        t = np.arange(v.shape[0])
        v = np.stack([v[:, c] - np.polyval(np.polyfit(t, v[:, c], 1), t) for c in range(v.shape[1])], axis=1)
    n = v.shape[0]
    max_lag = min(max_season, n // 3)
    if max_lag < 4:
        return None
    ac = np.mean([_acf(v[:, c], max_lag) for c in range(v.shape[1]) if v[:, c].std() > 0] or [np.zeros(max_lag + 1)], axis=0)
    for k in range(3, max_lag):
        if ac[k] > min_corr and ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1]:
            return k
    return None


def monotone_trend(values: np.ndarray, blocks: int = 10) -> bool:
    """Whether ``values`` ``(T, C)`` drift one way: in any channel, the means of ``blocks`` equal blocks
    lie close to a straight line (rise > 3 x their scatter about it) whose rise over the rows is at
    least half the typical spread inside a block."""
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    n = v.shape[0] // blocks * blocks
    if n < 4 * blocks:
        return False
    i = np.arange(blocks)
    for c in range(v.shape[1]):
        b = v[:n, c].reshape(blocks, -1)
        means = b.mean(axis=1)
        slope, intercept = np.polyfit(i, means, 1)
        rise = abs(slope) * (blocks - 1)
        scatter = np.std(means - (intercept + slope * i))
        spread = float(np.median(b.std(axis=1)))
        if rise > 3 * scatter and rise > 0.5 * spread and rise > 0:
            return True
    return False


def multiplicative(values: np.ndarray, blocks: int = 10) -> bool:
    """Whether every channel of ``values`` ``(T, C)`` is positive and its spread grows with its level:
    over ``blocks`` equal blocks the level changes by at least 20 % and log(spread) rises with log(level)
    (slope above 0.5, correlation above 0.7)."""
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    n = v.shape[0] // blocks * blocks
    if n < 4 * blocks or not (v > 0).all():
        return False
    for c in range(v.shape[1]):
        b = v[:n, c].reshape(blocks, -1)
        # the spread of the differences: a season or a trend inside a block does not count as noise
        level, spread = b.mean(axis=1), np.diff(b, axis=1).std(axis=1)
        if level.max() < 1.2 * level.min() or not (spread > 0).all():
            return False
        ll, ls = np.log(level), np.log(spread)
        slope = np.polyfit(ll, ls, 1)[0]
        if not (slope > 0.5 and np.corrcoef(ll, ls)[0, 1] > 0.7):
            return False
    return True


def training_window(period: int | None, rows: int) -> int:
    """Rows per training window: two seasons within 32..256 (128 without a season), at most a quarter
    of the training rows (and at least 8)."""
    w = 128 if period is None else int(np.clip(2 * period, 32, 256))
    return int(max(8, min(w, rows // 4)))


def pooling_span(period: int | None, validation_rows: int) -> int | None:
    """Rows of the pooled score: one season (4..512), or ``None`` when there is no season or the
    validation rows are too few to calibrate it (fewer than three spans)."""
    if period is None:
        return None
    p = int(np.clip(period, 4, 512))
    return p if validation_rows >= 3 * p else None
