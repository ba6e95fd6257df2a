"""Scores -> flags -> events, and every metric for several detectors on the same rows.

:func:`decide` applies a threshold to the scored rows only (rows outside the
scored span and warm-up rows never flag); :func:`evaluate_detections` scores
every detector on exactly the same rows and says which one ranks the
anomalies best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import metrics, thresholds
from .events import Event, events_from_flags, events_to_mask


@dataclass
class Detection:
    """Final scores (NaN where not scored), the threshold per row, flags and events."""

    scores: np.ndarray
    threshold: np.ndarray
    flags: np.ndarray
    events: list[Event]


def decide(scores: np.ndarray, method: str, level: float | None, contamination: float, dynamic_window: int,
           min_gap: int, who: str = "anomaly") -> Detection:
    """Flag the finite scores above the threshold and group the flags into events.

    ``method``: ``false_alarm`` (``level`` fitted on normal rows beforehand),
    ``contamination`` (the top share of the scored rows) or ``dynamic``
    (Hundman et al. 2018, on the scored rows).
    """
    s = np.asarray(scores, dtype=float)
    finite = np.isfinite(s)
    if not finite.any():
        raise ValueError(f"{who}: no row has a score (every row is outside the scored span or in the "
                         "detector's warm-up); score a longer series or a wider span")
    n = s.size
    if method == "false_alarm":
        if level is None:
            raise ValueError(f"{who}: the false-alarm threshold needs a level fitted on normal rows")
        thr = np.full(n, float(level))
    elif method == "contamination":
        thr = np.full(n, thresholds.from_contamination(s[finite], contamination))
    else:
        thr = np.full(n, np.nan)
        idx = np.flatnonzero(finite)
        thr[idx] = thresholds.dynamic(s[idx], window=dynamic_window or None, smoothing=1)
    flags = finite & (s > np.where(np.isfinite(thr), thr, np.inf))
    return Detection(s, thr, flags, events_from_flags(flags, s, min_gap=min_gap))


def evaluate_detections(labels: np.ndarray, named: dict[str, Detection], rows: np.ndarray) -> dict:
    """Every metric for every detector on ``rows`` (a mask) where all of them have a score.

    Raises ``ValueError`` when those rows hold only one class of label.
    """
    rows = np.asarray(rows, dtype=bool).copy()
    for det in named.values():
        rows &= np.isfinite(det.scores)
    if not rows.any():
        raise ValueError("anomaly evaluate: no row is scored by every detector")
    y_all = np.asarray(labels)
    if y_all[rows].min() == y_all[rows].max():
        cls = "anomalous" if y_all[rows].min() == 1 else "normal"
        raise ValueError(f"anomaly evaluate: the {int(rows.sum())} scored rows are all labelled {cls}; metrics need "
                         "both classes (score other rows with split.score, or move split.train)")
    idx = np.flatnonzero(rows)
    out = {"rows_scored": int(rows.sum()), "first_row_scored": int(idx[0]), "last_row_scored": int(idx[-1]),
           "labelled_rows": int(y_all[rows].sum())}
    for name, det in named.items():
        y, s, f = y_all[rows], det.scores[rows], det.flags[rows]
        # event-wise on the events detect() returns (flag runs merged across short gaps), so that the
        # counts here, in the report and in detect()/predict() are the same events
        ev = metrics.event_prf(y, events_to_mask(det.events, len(y_all))[rows])
        out[name] = {
            "pr_auc": metrics.pr_auc(y, s),
            "roc_auc": metrics.roc_auc(y, s),
            "point": metrics.point_prf(y, f),
            "point_adjusted": metrics.point_adjusted_prf(y, f),
            "event": ev,
            "flagged_rows": int(f.sum()),
            "predicted_events": ev["predicted_events"],
            "ucr_hit": metrics.ucr_hit(y, s),
        }
    ranked = sorted(named, key=lambda k: -out[k]["pr_auc"])
    out["best_pr_auc"] = ranked[0]
    if "LSTM" in named:
        out["baselines_ahead_of_lstm"] = [k for k in named if k != "LSTM" and out[k]["pr_auc"] > out["LSTM"]["pr_auc"]]
    return out


def verdict(evaluation: dict) -> str:
    """One plain sentence: whether a baseline beats the LSTM on PR-AUC on these rows."""
    lstm = evaluation["LSTM"]["pr_auc"]
    ahead = evaluation.get("baselines_ahead_of_lstm") or []
    if not ahead:
        return f"The LSTM ranks the anomalies best (PR-AUC {lstm:.3f}); no baseline beats it on these rows."
    best = max(ahead, key=lambda k: evaluation[k]["pr_auc"])
    others = [k for k in ahead if k != best]
    tail = f" ({', '.join(others)} also beat{'s' if len(others) == 1 else ''} it)" if others else ""
    return (f"A baseline beats the LSTM: the {best} has PR-AUC {evaluation[best]['pr_auc']:.3f} against the LSTM's "
            f"{lstm:.3f} on these rows{tail}.")
