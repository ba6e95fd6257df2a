"""Runs of consecutive true values in a 1-D mask (gaps to fill, anomalous stretches)."""

from __future__ import annotations

import numpy as np


def true_runs(mask) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` of every run of true values in a 1-D mask."""
    f = np.asarray(mask, dtype=bool).astype(np.int8)
    if f.ndim != 1:
        raise ValueError(f"true_runs: expected a 1-D mask, got shape {f.shape}")
    edges = np.diff(np.concatenate([[0], f, [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist()))
