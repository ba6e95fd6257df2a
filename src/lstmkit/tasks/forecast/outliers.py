"""Values far off a series' own course, replaced in the history the models read (``data.outliers replace``).

A spike in the history is carried by most models into their forecasts: naive, Theta, the level-anchored LSTM
and an ETS with a high smoothing weight start their level from it, ARIMA's parameters bend to it, and an LSTM
window that holds it reads it as a pattern. Seasonal naive copies it into one step a season only. On the
harder random draws of ``benchmarks/probe_forecast_random.py --hard`` (2.5 % of the values far off), the
defaults lost to seasonal naive on 6 of 19 such series; with this cleaning, on 3 (``benchmarks/study_outliers.py``).

It is not the default. On M3 the values it replaces are more often real turns than glitches: the 14 yearly
series it touches went from sMAPE 12.97 to 19.85, the 25 series of the quarterly panel from 10.05 to 12.87
(at 7 robust deviations instead of 5, 8 series, 8.40 to 11.33). Judged on the values before it only, a value
cannot be told from the first of a lasting change until the next one comes (a level shift's first value is
replaced), and M3's smooth series have small deviations that a real turn exceeds. For data known to carry
glitches (a sensor's dropouts, a mistyped entry) it is there to ask for.

:func:`clean` judges each value on the values **before it only**, so the history it gives up to any origin is
the one it would have given at that origin: a backtest may clean a whole series once, and no later value
leaks into a forecast. Each value is compared with two predictions, one made from the values as cleaned so far and
one from the values as given: the median of the values one, two and three seasons back (steps, without a
season), each moved by as many times the drift (the median of the latest seasonal differences), so that one
outlier among them does not make the value after it look off. A value off both, on the
same side, by more than :data:`K` robust deviations (1.4826 times the median absolute deviation of the last
:data:`WINDOW` residuals of the prediction from the given values) is replaced by the first prediction, unless
the value before it was off on the same side too: a run is a level shift, and from its second value on it
stays. (Judged on the cleaned prediction alone, a shift would be an outlier for ever: every replaced value
becomes the next season's reference.) Series whose values are all positive before the end of their training
part are judged in logs; cleaning stops at a later value at or below zero.

The peers (naive, seasonal naive, the statsforecast models) and every score read the values as given.
"""

from __future__ import annotations

import numpy as np

#: robust deviations off both predictions that make a value an outlier
K = 5.0
#: residuals the robust deviation is taken over (the latest before the value judged)
WINDOW = 500
#: the deviation is re-measured whenever the residuals it rests on have grown by a tenth, and at least every
#: this many steps (a median a step would cost a long series seconds, and thousands of series minutes)
EVERY = 16
#: residuals needed before any value is judged
MIN_RESIDUALS = 20


#: seasons back the prediction looks (their median: one outlier among them does not move it)
REFERENCES = 3


def _drift_width(m: int) -> int:
    """Seasonal differences the drift is the median of: a season of them, at least 8 (a quarter's 4 would let two
    differences that share one outlier move the median)."""
    return max(m, 8)


def _moved_seasonal_naive(a: np.ndarray, m: int) -> np.ndarray:
    """``p[t]`` from ``a[:t]`` only: the median over ``j = 1 .. REFERENCES`` of ``a[t - j m] + j d[t]``, where
    ``d[t]`` is the median of the latest seasonal differences ``a[u] - a[u - m]``, ``u < t`` (``m == 1``: steps);
    NaN where there is no reference."""
    import pandas as pd

    n = len(a)
    m = max(int(m), 1)
    p = np.full(n, np.nan)
    if n <= m:
        return p
    d = np.full(n, np.nan)
    d[m:] = a[m:] - a[:-m]
    drift = pd.Series(d).rolling(_drift_width(m), min_periods=1).median().shift(1).to_numpy()
    drift = np.where(np.isnan(drift), 0.0, drift)
    refs = np.full((REFERENCES, n), np.nan)
    for j in range(1, REFERENCES + 1):
        if n > j * m:
            refs[j - 1, j * m:] = a[:-j * m] + j * drift[j * m:]
    ok = ~np.all(np.isnan(refs), axis=0)
    p[ok] = np.nanmedian(refs[:, ok], axis=0)
    return p


def _one_prediction(c: np.ndarray, t: int, m: int) -> float:
    """:func:`_moved_seasonal_naive` at one ``t``, from the cleaned values ``c``."""
    lo = max(m, t - _drift_width(m))
    diffs = c[lo:t] - c[lo - m:t - m]
    drift = float(np.median(diffs)) if len(diffs) else 0.0
    refs = [c[t - j * m] + j * drift for j in range(1, REFERENCES + 1) if t - j * m >= 0]
    return float(np.median(refs))


def _deviation(r: np.ndarray, start: int) -> np.ndarray:
    """``s[t]``: 1.4826 x the MAD of the non-zero residuals ``r[u]``, ``start <= u < t``, the last :data:`WINDOW`
    of them, re-measured as :data:`EVERY` says; 0 where fewer than :data:`MIN_RESIDUALS` exist."""
    n = len(r)
    s = np.zeros(n)
    t0 = start + MIN_RESIDUALS
    while t0 < n:
        w = r[max(start, t0 - WINDOW):t0]
        w = w[np.isfinite(w) & (w != 0)]  # a value equal to its prediction (a night at zero) says nothing of the spread
        step = max(1, min(EVERY, len(w) // 10))  # few residuals: each new one moves the deviation more
        if len(w) >= MIN_RESIDUALS:
            s[t0:t0 + step] = 1.4826 * float(np.median(np.abs(w - np.median(w))))
        t0 += step
    return s


def clean(values: np.ndarray, season: int, train_end: int | None = None) -> tuple[np.ndarray, list[int]]:
    """``(values with the outliers replaced, their positions)`` (see the module doc); ``train_end``: the values
    before it decide whether the series is judged in logs (default: all of them)."""
    y = np.asarray(values, dtype="float64")
    n = len(y)
    m = max(int(season), 1)
    start = max(2 * m + 2, 8)
    if n <= start + MIN_RESIDUALS or not np.all(np.isfinite(y)):
        return y, []
    head = y[:n if train_end is None else max(1, min(int(train_end), n))]
    log = bool(np.all(head > 0))
    stop = n
    if log:
        bad = np.flatnonzero(y <= 0)
        stop = int(bad[0]) if len(bad) else n
        z = np.log(np.where(y > 0, y, 1.0))
    else:
        z = y.copy()
    r = z - _moved_seasonal_naive(z, m)  # residuals of the prediction from the values as given
    r[:start] = np.nan
    s = _deviation(r, start)
    side = np.where(s > 0, np.sign(r) * (np.abs(r) > K * s), 0.0)
    side = np.nan_to_num(side)
    before = np.r_[0.0, side[:-1]]
    candidates = np.flatnonzero((side != 0) & (side != before))
    candidates = candidates[(candidates >= start) & (candidates < stop)]
    if not len(candidates):
        return y, []
    c = z.copy()
    replaced = []
    for t in candidates:
        pc = _one_prediction(c, int(t), m)
        e = z[t] - pc
        if np.sign(e) == side[t] and abs(e) > K * s[t]:
            c[t] = pc
            replaced.append(int(t))
    if not replaced:
        return y, []
    out = y.copy()
    out[replaced] = np.exp(c[replaced]) if log else c[replaced]
    return out, replaced


def clean_set(data, season: int, ends: list[int] | None = None):
    """``(data with each series cleaned, {series index: replaced positions})``; ``data`` itself where nothing
    was replaced."""
    from dataclasses import replace

    found: dict[int, list[int]] = {}
    series = []
    for k, s in enumerate(data.series):
        v, pos = clean(s.values, season, None if ends is None else ends[k])
        if pos:
            found[k] = pos
            series.append(replace(s, values=v))
        else:
            series.append(s)
    return (replace(data, series=series) if found else data), found


def note(data, found: dict[int, list[int]], before: list[int] | None = None) -> str:
    """The report's line on what :func:`clean_set` replaced (``before``: count only positions before these)."""
    hits = {k: [t for t in pos if before is None or t < before[k]] for k, pos in found.items()}
    hits = {k: pos for k, pos in hits.items() if pos}
    if not hits:
        return ""
    total = sum(len(p) for p in hits.values())
    shown = []
    from .backtest import _time_text

    for k, pos in list(hits.items())[:3]:
        s = data.series[k]
        when = ", ".join(_time_text(s.time[t]) for t in pos[:3]) + (" ..." if len(pos) > 3 else "")
        shown.append(f"{s.id!r} at {when}" if len(data.series) > 1 else when)
    return (f"outliers: {total} value{'s' if total != 1 else ''} in {len(hits)} series far off the series' course "
            f"(more than {K:g} robust deviations from a seasonal prediction made from the values before, and not the "
            f"start of a lasting shift) replaced in the history the models read: {'; '.join(shown)}"
            + (" ..." if len(hits) > 3 else "") + "; the peers and the scores read the values as given "
            "(data.outliers keep, the default, leaves them)")
