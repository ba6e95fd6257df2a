"""Turning scores into decisions: three ways to choose a threshold.

* :func:`from_false_alarm_rate`: on scores of normal (validation) data, the
  level exceeded by at most the given fraction of them.
* :func:`from_contamination`: the level exceeded by the given fraction of the
  scored data itself (when the share of anomalies is roughly known).
* :func:`dynamic`: the non-parametric dynamic threshold of Hundman et al.
  (2018): per window of smoothed scores, the level ``mean + z * std`` whose
  removal of the points above it most reduces the mean and spread, per
  anomalous point and run flagged.
"""

from __future__ import annotations

import numpy as np

from .events import runs


def _finite(name: str, scores) -> np.ndarray:
    s = np.asarray(scores, dtype=float).ravel()
    s = s[np.isfinite(s)]
    if s.size == 0:
        raise ValueError(f"{name}: expected at least one finite score, got none")
    return s


def from_false_alarm_rate(normal_scores, rate: float) -> float:
    """Smallest threshold such that at most ``rate`` of ``normal_scores`` lie above it."""
    if not 0 <= rate < 1:
        raise ValueError(f"from_false_alarm_rate: expected rate in [0, 1), got {rate!r}")
    s = np.sort(_finite("from_false_alarm_rate", normal_scores))
    allowed = int(np.floor(rate * s.size))  # points allowed above the threshold
    return float(s[s.size - 1 - allowed])


def from_contamination(scores, fraction: float) -> float:
    """Threshold that flags (about) the top ``fraction`` of ``scores``."""
    if not 0 < fraction < 1:
        raise ValueError(f"from_contamination: expected fraction in (0, 1), got {fraction!r}")
    return from_false_alarm_rate(scores, fraction)


def ewma(x, span: int) -> np.ndarray:
    """Exponentially weighted moving average with ``alpha = 2 / (span + 1)``."""
    x = np.asarray(x, dtype=float)
    alpha = 2.0 / (span + 1)
    out = np.empty_like(x)
    acc = x[0]
    for i, v in enumerate(x):
        acc = alpha * v + (1 - alpha) * acc if i else v
        out[i] = acc
    return out


def _best_epsilon(e: np.ndarray, z_values: np.ndarray) -> float:
    mu, sd = float(e.mean()), float(e.std())
    if sd == 0:
        return float(e.max())
    best, best_eps = -np.inf, mu + z_values[-1] * sd
    for z in z_values:
        eps = mu + z * sd
        below = e[e <= eps]
        above = e > eps
        n_above = int(above.sum())
        if n_above == 0 or below.size == 0:
            continue
        d_mu = (mu - below.mean()) / mu if mu else 0.0
        d_sd = (sd - below.std()) / sd
        n_runs = len(runs(above))
        score = (d_mu + d_sd) / (n_above + n_runs**2)
        if score > best:
            best, best_eps = score, eps
    return float(best_eps)


def dynamic(scores, window: int | None = None, smoothing: int = 5, z_range=(2.0, 10.0, 0.5)) -> np.ndarray:
    """Per-point thresholds by non-parametric dynamic thresholding.

    Args:
        scores: per-point scores (e.g. prediction errors).
        window: points per window (non-overlapping); ``None`` for one window.
        smoothing: EWMA span applied to the scores before thresholding
            (compare the *smoothed* scores with the thresholds: :func:`ewma`).
        z_range: ``(start, stop, step)`` of the ``z`` values tried.

    Returns an array of thresholds, one per point, for the smoothed scores.
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"dynamic: expected a non-empty 1-D array of scores, got shape {s.shape}")
    filled = np.where(np.isfinite(s), s, np.nanmin(s[np.isfinite(s)]) if np.isfinite(s).any() else 0.0)
    smooth = ewma(filled, smoothing) if smoothing > 1 else filled
    window = window or s.size
    z_values = np.arange(*z_range)
    out = np.empty_like(smooth)
    for start in range(0, s.size, window):
        seg = smooth[start : start + window]
        out[start : start + window] = _best_epsilon(seg, z_values)
    return out
