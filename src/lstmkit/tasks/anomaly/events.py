"""Anomalies as events: runs of flagged points with their peak."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ...data.runs import true_runs as runs


@dataclass(frozen=True)
class Event:
    """A run of consecutive anomalous points, ``start`` and ``end`` inclusive."""

    start: int
    end: int
    peak: int
    peak_score: float

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def to_dict(self) -> dict:
        return asdict(self)


def to_events(scores: np.ndarray, threshold, min_gap: int = 0, min_length: int = 1) -> list[Event]:
    """Points with ``score > threshold`` grouped into events.

    Args:
        scores: one score per point (NaN never flags).
        threshold: a number, or one per point; points strictly above it are anomalous.
        min_gap: merge events separated by at most this many normal points.
        min_length: drop events shorter than this (after merging).
    """
    s = np.asarray(scores, dtype=float)
    flags = np.where(np.isnan(s), False, s > threshold)
    return events_from_flags(flags, s, min_gap, min_length)


def events_from_flags(flags: np.ndarray, scores: np.ndarray, min_gap: int = 0, min_length: int = 1) -> list[Event]:
    """Runs of flagged points as events, with the peak taken from ``scores``."""
    s = np.asarray(scores, dtype=float)
    merged: list[list[int]] = []
    for start, end in runs(flags):
        if merged and start - merged[-1][1] - 1 <= min_gap:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    events = []
    for start, end in merged:
        if end - start + 1 < min_length:
            continue
        seg = np.where(np.isnan(s[start : end + 1]), -np.inf, s[start : end + 1])
        peak = start + int(np.argmax(seg))
        events.append(Event(start, end, peak, float(s[peak])))
    return events


def events_to_mask(events: list[Event], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for e in events:
        mask[e.start : e.end + 1] = True
    return mask
