"""Load a (multivariate) series with optional 0/1 labels for anomaly detection.

Reuses the forecasting loader's table reading and numeric checks, so a bad file
gets the same errors (file, column and row). Handling, reported in ``notes``:
inner runs of missing values up to ``max_gap`` rows are linearly interpolated
(edge runs take the nearest value); longer runs are an error naming the rows.
A channel that is constant over the whole series is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...data.series import numeric_column, read_table
from .config import DataConfig
from .events import runs


@dataclass
class AnomalyData:
    values: np.ndarray  # (T, C) float64, no NaN
    labels: np.ndarray | None  # (T,) 0/1 or None
    time: np.ndarray  # (T,) the time column, or row numbers
    columns: list[str]
    source: str
    notes: list[str] = field(default_factory=list)


def _err(path, msg: str) -> ValueError:
    return ValueError(f"anomaly data: {path}: {msg}")


def _fill(col: np.ndarray, name: str, path, max_gap: int, notes: list[str]) -> np.ndarray:
    missing = np.isnan(col)
    if not missing.any():
        return col
    if missing.all():
        raise _err(path, f"column {name!r} has no values")
    idx = np.arange(col.size)
    for start, end in runs(missing):
        length = end - start + 1
        edge = start == 0 or end == col.size - 1
        if length > max_gap and not edge:
            raise _err(path, f"column {name!r} rows {start + 2}-{end + 2}: {length} missing values in a row, "
                       f"more than data.max_gap={max_gap} allows to interpolate")
    filled = np.interp(idx, idx[~missing], col[~missing])  # edges take the nearest value
    notes.append(f"{name}: {int(missing.sum())} missing value(s) in {len(runs(missing))} run(s) filled by linear interpolation")
    return filled


def load_anomaly_data(path: str | Path, cfg: DataConfig | None = None) -> AnomalyData:
    cfg = cfg or DataConfig()
    df = read_table(path)
    # the default label column is optional (no labels: no evaluation); one the user names must exist
    named_label = cfg.label if cfg.label != "label" else ""
    for role, col in (("label", named_label), ("time", cfg.time)):
        if col and col not in df.columns:
            raise _err(path, f"no {role} column {col!r}; the columns are {list(df.columns)}")
    reserved = {c for c in (cfg.label, cfg.time) if c}
    if cfg.columns:
        for c in cfg.columns:
            if c not in df.columns:
                raise _err(path, f"no value column {c!r}; the columns are {list(df.columns)}")
        columns = list(cfg.columns)
    else:
        columns = [c for c in df.columns if c not in reserved]
        if not columns:
            raise _err(path, f"no value columns besides {sorted(reserved)}")
    notes: list[str] = []
    values = np.stack([_fill(numeric_column(df, c, path).to_numpy(), c, path, cfg.max_gap, notes) for c in columns], axis=1)
    flat = [c for c, sd in zip(columns, values.std(axis=0)) if not sd > 0]
    if flat:
        raise _err(path, f"column(s) {flat} are constant: a constant series has nothing to learn or flag")
    labels = None
    if cfg.label and cfg.label in df.columns:
        lab = numeric_column(df, cfg.label, path)
        bad = ~lab.isin([0, 1])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _err(path, f"column {cfg.label!r} row {i + 2}: expected a 0/1 label, got {df[cfg.label].iloc[i]!r}")
        labels = lab.to_numpy().astype(int)
    time = _check_time(df, cfg.time, path, notes) if cfg.time else np.arange(len(df))
    return AnomalyData(values, labels, time, columns, str(path), notes)


def _check_time(df, col: str, path, notes: list[str]) -> np.ndarray:
    """The time column: duplicates and disorder are errors; uneven spacing is reported.

    The detectors treat rows as equally spaced steps, so uneven spacing is
    allowed but stated in the report's data-handling notes.
    """
    import pandas as pd

    raw = df[col]
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.notna().all():
        t = numeric.to_numpy()
    else:
        parsed = pd.to_datetime(raw, errors="coerce")
        if parsed.isna().any():
            i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise _err(path, f"column {col!r} row {i + 2}: expected a time (number or date), got {raw.iloc[i]!r}")
        t = parsed.to_numpy()
    dup = pd.Series(t).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = (np.flatnonzero(dup)[:2] + 2).tolist()
        raise _err(path, f"column {col!r}: duplicate timestamp {raw.iloc[rows[0] - 2]} at rows {rows[0]} and {rows[1]}")
    steps = np.diff(t)
    if steps.size and (steps < steps.dtype.type(0)).any():
        i = int(np.flatnonzero(steps < steps.dtype.type(0))[0]) + 1
        raise _err(path, f"column {col!r} row {i + 2}: timestamps must increase; {raw.iloc[i]} comes after {raw.iloc[i - 1]}")
    if steps.size and (steps != steps[0]).any():
        notes.append(f"{col}: the timestamps are not evenly spaced ({len(np.unique(steps))} different steps); "
                     "the detectors treat the rows as equally spaced steps")
    return raw.to_numpy()
