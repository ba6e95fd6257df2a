"""Forecast accuracy: MAE, RMSE, MAPE, sMAPE, MASE; coverage and quantile loss for intervals.

All take arrays of the same shape (any), ignore positions where the actual is
NaN, and return plain floats. Percentages are in percent.
"""

from __future__ import annotations

import numpy as np


def _pair(actual, forecast):
    a = np.asarray(actual, dtype="float64")
    f = np.asarray(forecast, dtype="float64")
    if a.shape != f.shape:
        raise ValueError(f"metrics: expected actual and forecast of the same shape, got {a.shape} and {f.shape}")
    ok = ~np.isnan(a)
    if not ok.any():
        raise ValueError("metrics: expected at least one actual value, got none (all NaN or empty)")
    return a[ok], f[ok], ok


def mae(actual, forecast) -> float:
    a, f, _ = _pair(actual, forecast)
    return float(np.mean(np.abs(a - f)))


def rmse(actual, forecast) -> float:
    a, f, _ = _pair(actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2)))


def mape(actual, forecast) -> float:
    """``100 * mean(|a - f| / |a|)``; NaN if any actual is 0."""
    a, f, _ = _pair(actual, forecast)
    if np.any(a == 0):
        return float("nan")
    return float(100 * np.mean(np.abs(a - f) / np.abs(a)))


def smape(actual, forecast) -> float:
    """``100 * mean(2 |a - f| / (|a| + |f|))``, with 0/0 counted as 0."""
    a, f, _ = _pair(actual, forecast)
    den = np.abs(a) + np.abs(f)
    term = np.where(den == 0, 0.0, 2 * np.abs(a - f) / np.where(den == 0, 1, den))
    return float(100 * np.mean(term))


def mase_scale(history, season: int) -> float:
    """In-sample MAE of the seasonal-naive (``season > 1``) or naive forecast on ``history``."""
    h = np.asarray(history, dtype="float64")
    m = season if season > 1 and len(h) > season else 1
    if len(h) <= m:
        raise ValueError(f"mase_scale: expected more than {m} history values, got {len(h)}")
    return float(np.mean(np.abs(h[m:] - h[:-m])))


def mase(actual, forecast, scale) -> float:
    """``mean(|a - f| / scale)``; ``scale`` (scalar or broadcastable array) from :func:`mase_scale`."""
    a = np.asarray(actual, dtype="float64")
    s = np.broadcast_to(np.asarray(scale, dtype="float64"), a.shape)
    a_, f_, ok = _pair(a, forecast)
    s_ = s[ok]
    if np.any(s_ <= 0):
        return float("nan")
    return float(np.mean(np.abs(a_ - f_) / s_))


def coverage(actual, lower, upper) -> float:
    """Fraction (percent) of actuals inside ``[lower, upper]``."""
    a, lo, ok = _pair(actual, lower)
    hi = np.asarray(upper, dtype="float64")[ok]
    return float(100 * np.mean((a >= lo) & (a <= hi)))


def quantile_loss(actual, quantiles: dict[float, np.ndarray]) -> float:
    """Mean pinball loss over levels: ``mean_q mean max(q (a - f_q), (q - 1)(a - f_q))``."""
    losses = []
    for q, f in quantiles.items():
        a, fq, _ = _pair(actual, f)
        d = a - fq
        losses.append(np.mean(np.maximum(q * d, (q - 1) * d)))
    return float(np.mean(losses))


def point_metrics(actual, forecast, scale) -> dict[str, float]:
    """MAE, RMSE, MAPE, sMAPE and MASE in one dict."""
    return {"mae": mae(actual, forecast), "rmse": rmse(actual, forecast), "mape": mape(actual, forecast),
            "smape": smape(actual, forecast), "mase": mase(actual, forecast, scale)}


def interval_pairs(levels: list[float]) -> list[tuple[float, float, float]]:
    """``(lower q, upper q, nominal coverage %)`` for each symmetric pair among ``levels``."""
    out = []
    for q in levels:
        if q < 0.5 and any(abs((1 - q) - p) < 1e-9 for p in levels):
            out.append((q, 1 - q, round(100 * (1 - 2 * q), 6)))
    return sorted(out, key=lambda t: -t[2])
