"""From per-row scores to the final anomaly score: pooling over time, scaled to the normal spread.

A point anomaly (a spike in web traffic) lives in one row; a shape anomaly (an
abnormal heartbeat, a level shift) in a whole cycle whose rows are each only a
little off. :class:`Pooling` looks at both. For each span ``p`` (1 = the row
itself, and one season when the data have one) it takes the centred mean of
``log(1 + score)`` over ``p`` rows without the :data:`TRIM` largest values (so
one spike does not lift the rows around it), and expresses it in units of its
spread on normal validation rows: ``(m_p - median_p) / spread_p`` with
``spread_p = q99_p - median_p``. A few seasons of validation rows hold few
independent windows, which understates that spread, so ``spread_p`` is at
least ``2.33 * sd_1 / sqrt(p)`` (the 99th percentile of a mean of ``p``
independent rows whose per-row standard deviation is ``sd_1``). The final
score is the largest over spans: about 1 means "as high as the top 1 % of
normal rows at the span where the row stands out most". With one span the
final score is a monotone function of the pooled score, so rankings (ROC-AUC,
PR-AUC) do not depend on the scaling.

Centred windows need ``max(p) // 2`` rows after a row to score it: the
streaming detector reports each score that many rows late (:attr:`Pooling.delay`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: values dropped from the top of each pooled window (a spike, and the row after it)
TRIM = 2
_Q99_NORMAL = 2.326  # 99th percentile of a standard normal


def log_scores(scores: np.ndarray) -> np.ndarray:
    """``log(1 + score)`` (negative scores count as 0; NaN stays NaN)."""
    s = np.asarray(scores, dtype=float)
    return np.log1p(np.maximum(s, 0.0))


def _bounds(n: int, span: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(n)
    return np.maximum(0, i - span // 2), np.minimum(n, i + span - span // 2)  # [lo, hi)


def centred_mean(logs: np.ndarray, span: int, trim: int = 0) -> np.ndarray:
    """Mean of the finite values of ``logs`` over rows ``[i - span//2, i + span - 1 - span//2]`` (clipped
    at the ends), leaving out the ``trim`` largest of them when more than ``trim`` remain; NaN where none
    is finite. ``span == 1`` returns ``logs``."""
    s = np.asarray(logs, dtype=float)
    if span <= 1:
        return s.copy()
    n = s.size
    ok = np.isfinite(s)
    c_val = np.cumsum(np.r_[0.0, np.where(ok, s, 0.0)])
    c_cnt = np.cumsum(np.r_[0, ok.astype(int)])
    lo, hi = _bounds(n, span)
    cnt = c_cnt[hi] - c_cnt[lo]
    total = c_val[hi] - c_val[lo]
    if trim > 0:
        padded = np.r_[np.full(span // 2, -np.inf), np.where(ok, s, -np.inf), np.full(span - 1 - span // 2, -np.inf)]
        top = np.zeros(n)
        for start in range(0, n, 4096):  # chunks keep the (rows, span) view small
            stop = min(n, start + 4096)
            w = np.lib.stride_tricks.sliding_window_view(padded[start : stop + span - 1], span)  # (rows, span)
            part = np.partition(w, span - trim, axis=1)[:, span - trim :]
            top[start:stop] = np.where(np.isfinite(part), part, 0.0).sum(axis=1)
        keep = cnt > trim
        total = np.where(keep, total - top, total)
        cnt = np.where(keep, cnt - trim, cnt)
    out = np.full(n, np.nan)
    has = cnt > 0
    out[has] = total[has] / cnt[has]
    return out


@dataclass
class Pooling:
    """Spans and, per span, the median and spread of the pooled score on normal rows.

    Args:
        spans: rows pooled, e.g. ``[1, 24]``.
        median, spread: per span, fitted by :meth:`fit` (empty before).
    """

    spans: list[int]
    median: list[float] = field(default_factory=list)
    spread: list[float] = field(default_factory=list)

    @property
    def delay(self) -> int:
        """Rows after a row that its score needs (0 for per-row scores)."""
        return max(p - 1 - p // 2 for p in self.spans)

    def describe(self) -> str:
        if self.spans == [1]:
            return "per-row scores, log(1 + score)"
        parts = ["the row itself" if p == 1 else f"a centred mean over {p} rows (top {TRIM} left out)" for p in self.spans]
        if len(parts) == 1:
            return f"{parts[0]} of log(1 + score)"
        return ("the larger of " + " and ".join(parts) + " of log(1 + score), each in units of its spread "
                "on the normal validation rows")

    def pooled(self, scores: np.ndarray) -> list[np.ndarray]:
        logs = log_scores(scores)
        return [centred_mean(logs, p, TRIM if p > TRIM + 1 else 0) for p in self.spans]

    def fit(self, scores: np.ndarray, normal: np.ndarray) -> "Pooling":
        """Fit each span's median and spread on the rows ``normal`` (a mask) whose whole window lies
        inside the normal rows."""
        normal = np.asarray(normal, dtype=bool)
        n = normal.size
        logs = log_scores(scores)
        per_row = logs[normal & np.isfinite(logs)]
        if per_row.size < 2:
            raise ValueError(f"Pooling: expected at least 2 scored normal rows to calibrate, got {per_row.size}")
        sd = float(np.std(per_row))
        self.median, self.spread = [], []
        c = np.cumsum(np.r_[0, (~normal).astype(int)])
        for p, m in zip(self.spans, self.pooled(scores)):
            inside = normal.copy()
            if p > 1:  # rows whose window reaches outside the normal rows (or the array) are left out
                i = np.arange(n)
                lo, hi = i - p // 2, i + p - p // 2
                full = (lo >= 0) & (hi <= n)
                inside &= full & ((c[np.clip(hi, 0, n)] - c[np.clip(lo, 0, n)]) == 0)
            v = m[inside & np.isfinite(m)]
            if v.size < 2:
                v = m[normal & np.isfinite(m)]
            med = float(np.median(v))
            spread = float(np.quantile(v, 0.99)) - med
            if p > 1:
                spread = max(spread, _Q99_NORMAL * sd / np.sqrt(p))
            self.median.append(med)
            self.spread.append(spread if spread > 0 else max(1e-9, sd, abs(med) * 1e-6))
        return self

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """Final score per row; NaN where the row's own score is NaN (warm-up)."""
        if len(self.median) != len(self.spans):
            raise RuntimeError("Pooling: call fit() before apply()")
        s = np.asarray(scores, dtype=float)
        scaled = [(m - med) / sp for m, med, sp in zip(self.pooled(s), self.median, self.spread)]
        out = np.fmax.reduce(np.stack(scaled), axis=0) if len(scaled) > 1 else scaled[0]
        return np.where(np.isfinite(s), out, np.nan)

    def to_dict(self) -> dict:
        return {"spans": list(self.spans), "median": list(self.median), "spread": list(self.spread)}

    @classmethod
    def from_dict(cls, d: dict) -> "Pooling":
        return cls([int(p) for p in d["spans"]], [float(v) for v in d["median"]], [float(v) for v in d["spread"]])
