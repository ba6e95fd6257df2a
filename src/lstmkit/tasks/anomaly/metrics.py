"""Detection metrics: point-wise, event-wise, point-adjusted, ranking, and the UCR criterion.

Conventions (stated in every report):

* **point-wise**: each point is a sample; precision/recall/F1 on flags.
* **point-adjusted** (Xu et al. 2018): if any point of a labelled event is
  flagged, every point of that event counts as detected. This inflates
  scores; it is reported *beside* the unadjusted numbers, never instead.
* **event-wise**: a labelled event is found when at least one flagged point
  falls inside it (recall over labelled events); each predicted event counts
  for the share of its rows that lie inside labelled events (precision: the
  mean share over predicted events), so one giant event that covers the
  series scores a precision near the anomalies' share of the rows, not 1.
  Reports print the number of predicted events and flagged rows beside it.
* **ROC-AUC / PR-AUC** from the raw scores (PR-AUC is average precision, the
  step-wise area, as in scikit-learn's ``average_precision_score``).
* **UCR criterion** (UCR anomaly archive, Wu & Keogh 2021): the single
  top-scoring point lies within a labelled anomaly widened by ±100 points.
"""

from __future__ import annotations

import numpy as np

from .events import runs


def _check(labels, other, name: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    o = np.asarray(other)
    if y.shape != o.shape or y.ndim != 1:
        raise ValueError(f"{name}: expected labels and predictions of the same 1-D shape, got {y.shape} and {o.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name}: expected labels of 0 and 1 only")
    return y.astype(bool), o


def _prf(tp: float, fp: float, fn: float) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def point_prf(labels, flags) -> dict[str, float]:
    """Point-wise precision, recall and F1."""
    y, f = _check(labels, flags, "point_prf")
    f = f.astype(bool)
    return _prf(float(np.sum(y & f)), float(np.sum(~y & f)), float(np.sum(y & ~f)))


def point_adjust(labels, flags) -> np.ndarray:
    """Flags after point adjustment: a hit anywhere in a labelled event marks all of it."""
    y, f = _check(labels, flags, "point_adjust")
    adjusted = f.astype(bool).copy()
    for start, end in runs(y):
        if adjusted[start : end + 1].any():
            adjusted[start : end + 1] = True
    return adjusted


def point_adjusted_prf(labels, flags) -> dict[str, float]:
    return point_prf(labels, point_adjust(labels, flags))


def event_prf(labels, flags) -> dict[str, float]:
    """Event-wise precision (mean over predicted events of the share of their rows inside labelled
    events), recall (labelled events with at least one flagged point) and their F1, with the counts
    of labelled events, predicted events and flagged rows."""
    y, f = _check(labels, flags, "event_prf")
    f = f.astype(bool)
    true_events = runs(y)
    pred_events = runs(f)
    found = sum(bool(f[s : e + 1].any()) for s, e in true_events)
    correct = sum(float(y[s : e + 1].mean()) for s, e in pred_events)
    p = correct / len(pred_events) if pred_events else 0.0
    r = found / len(true_events) if true_events else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "true_events": len(true_events), "predicted_events": len(pred_events),
            "flagged_rows": int(f.sum())}


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve: the probability that a random anomalous point
    scores above a random normal one (ties count one half)."""
    y, s = _check(labels, scores, "roc_auc")
    s = s.astype(float)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc: needs both anomalous and normal points")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average ranks over ties
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pr_auc(labels, scores) -> float:
    """Average precision: sum over thresholds of (recall step) x precision."""
    y, s = _check(labels, scores, "pr_auc")
    s = s.astype(float)
    n_pos = int(y.sum())
    if n_pos == 0:
        raise ValueError("pr_auc: needs at least one anomalous point")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    # evaluate only at the last index of each group of tied scores
    last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), len(s) - 1]
    tp = np.cumsum(y_sorted)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    prev_recall = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev_recall) * precision))


def ucr_hit(labels, scores, margin: int = 100) -> bool:
    """UCR archive criterion: argmax of the scores within ±``margin`` of a labelled anomaly."""
    y, s = _check(labels, scores, "ucr_hit")
    peak = int(np.nanargmax(s.astype(float)))
    return any(start - margin <= peak <= end + margin for start, end in runs(y))
