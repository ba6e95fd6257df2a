"""Load a (multivariate) series with optional 0/1 labels for anomaly detection.

Reuses the forecasting loader's table reading and numeric checks, so a bad file
gets the same errors (file, column and row); a file that is not UTF-8 text (or
not a readable Parquet file) and any infinite or overflowing value (beyond
``1e100`` in size, where scaling overflows) are errors naming the file, column
and row. In-memory input (:func:`from_frame`, :func:`from_array`) gets the
same checks, naming the column and row position. Handling, reported in ``notes``:
inner runs of missing values up to ``max_gap`` rows are linearly interpolated
(edge runs take the nearest value); longer runs are an error naming the rows.
A channel that is constant over the whole series is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...data.series import (clock_repeat_hint, drop_empty_columns, drop_row_counter, holds_dates, index_as_columns,
                            infer_freq, is_clock_repeat, numeric_column, numeric_dates, parse_time, read_table,
                            time_candidates)
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
    time_column: str = ""  # the column ``time`` came from ("": row numbers)


def _err(path, msg: str) -> ValueError:
    return ValueError(f"anomaly data: {path}: {msg}")


def _fill(col: np.ndarray, name: str, path, max_gap: int, notes: list[str], row_offset: int = 2) -> np.ndarray:
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
            raise _err(path, f"column {name!r} rows {start + row_offset}-{end + row_offset}: {length} missing values in a row, "
                       f"more than data.max_gap={max_gap} allows to interpolate")
    filled = np.interp(idx, idx[~missing], col[~missing])  # edges take the nearest value
    notes.append(f"{name}: {int(missing.sum())} missing value(s) in {len(runs(missing))} run(s) filled by linear interpolation")
    return filled


#: values larger than this in size are refused: scaling squares them (1e300 ** 2 overflows to inf)
MAX_ABS = 1e100


def check_finite(values: np.ndarray, columns: list[str], where, row_offset: int) -> None:
    """Raise a one-line error naming the first infinite or overflowing value (column and row)."""
    bad = ~(np.abs(values) <= MAX_ABS) & ~np.isnan(values)
    if bad.any():
        i, c = (int(v[0]) for v in np.nonzero(bad))
        what = "an infinite value" if np.isinf(values[i, c]) else f"a value beyond +-{MAX_ABS:g}"
        raise _err(where, f"column {columns[c]!r} row {i + row_offset}: expected a finite number, got {what} "
                   f"({float(values[i, c])!r}; {int(bad.sum())} such value(s) in the data)")


def _read(path: str | Path):
    """The table of a CSV/Parquet file (:func:`lstmkit.data.series.read_table`: text in any of the encodings it
    reads, binary data refused), unreadable Parquet refused with an error naming it."""
    try:
        return read_table(path)
    except FileNotFoundError:
        raise
    except ValueError as e:
        if str(e).startswith("load_series:"):  # the shared reader's own one-line errors
            raise
        raise _err(path, f"not a readable table ({type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''})") from None
    except Exception as e:  # noqa: BLE001 - pyarrow/pandas raise many types for a damaged Parquet file
        raise _err(path, f"not a readable table ({type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''})") from None


def load_anomaly_data(path: str | Path, cfg: DataConfig | None = None) -> AnomalyData:
    """Read a CSV/Parquet file of one row per time step (see the module docstring for the checks)."""
    cfg = cfg or DataConfig()
    df = _read(path)
    return from_frame(df, cfg, str(path), row_offset=1 + df.attrs.get("header_lines", 1))


def from_frame(df, cfg: DataConfig | None = None, source: str = "DataFrame", row_offset: int = 0,
               refuse_constant: bool = True) -> AnomalyData:
    """An :class:`AnomalyData` from a DataFrame (value columns: ``cfg.columns``, else every column but
    the label and time columns). ``row_offset``: what to add to a row position in messages (2 for a
    file with a header line, 0 in memory)."""
    cfg = cfg or DataConfig()
    path = source
    df, _ = index_as_columns(df, source, cfg.time or None, _err)  # dates as the index: the time column, found below
    # the default label column is optional (no labels: no evaluation); one the user names must exist
    named_label = cfg.label if cfg.label != "label" else ""
    for role, col in (("label", named_label), ("time", cfg.time)):
        if col and col not in df.columns:
            raise _err(path, f"no {role} column {col!r}; the columns are {list(df.columns)}")
    reserved = {c for c in (cfg.label, cfg.time) if c}
    notes: list[str] = list(df.attrs.get("read_notes", []))
    df = df.copy()  # columns may be left out or joined below: never the caller's frame
    drop_empty_columns(df, notes, {cfg.label, cfg.time, *(cfg.columns or [])})
    drop_row_counter(df, {cfg.label, cfg.time, *(cfg.columns or [])} - {""}, notes)  # else read as a channel
    time_col = cfg.time
    if not time_col and not cfg.columns:  # a column of dates is the time, not a channel
        found, dates = time_candidates(df, reserved, notes)  # as the forecaster's loader finds it
        if len(dates) > 1:
            raise _err(path, f"columns {dates} hold dates; name the time column (time=, data.time) and the value "
                       "columns (data.columns)")
        if dates:
            notes.append(f"column {found!r} holds dates: read as the time column, not as a channel")
        if found:
            time_col = found
            reserved.add(time_col)
    if cfg.columns:
        for c in cfg.columns:
            if c not in df.columns:
                raise _err(path, f"no value column {c!r}; the columns are {list(df.columns)}")
        columns = list(cfg.columns)
    else:
        columns = [c for c in df.columns if c not in reserved]
        labels_of_all = [c for c in columns if _one_text(df[c])]  # 'Area: BZN|DE-LU' on every row: a label, no channel
        if labels_of_all and len(labels_of_all) < len(columns):
            columns = [c for c in columns if c not in labels_of_all]
            notes.append(f"column(s) {labels_of_all} hold one text in every row (e.g. {str(df[labels_of_all[0]].iloc[0])!r}): "
                         "left out, not channels")
        if not columns:
            raise _err(path, f"no value columns besides {sorted(reserved)}")
    raw = np.stack([_numeric(df, c, path, row_offset, notes).to_numpy() for c in columns], axis=1)
    check_finite(raw, columns, path, row_offset)
    values = np.stack([_fill(raw[:, i], c, path, cfg.max_gap, notes, row_offset) for i, c in enumerate(columns)], axis=1)
    flat = [c for c, sd in zip(columns, values.std(axis=0)) if not sd > 0]
    if flat and refuse_constant:
        raise _err(path, f"column(s) {flat} are constant: a constant series has nothing to learn or flag")
    labels = None
    if cfg.label and cfg.label in df.columns:
        lab = _numeric(df, cfg.label, path, row_offset)
        bad = ~lab.isin([0, 1])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _err(path, f"column {cfg.label!r} row {i + row_offset}: expected a 0/1 label, got {df[cfg.label].iloc[i]!r}")
        labels = lab.to_numpy().astype(int)
    time, backwards = _check_time(df, time_col, path, notes, row_offset) if time_col else (np.arange(len(df)), False)
    if backwards:  # newest first: the detectors read forwards in time
        values, time = values[::-1].copy(), time[::-1].copy()
        labels = None if labels is None else labels[::-1].copy()
    return AnomalyData(values, labels, time, columns, str(path), notes, time_column=time_col)


def _one_text(col) -> bool:
    """Whether a column holds the same text, not a number, in every row (an export's area or unit column)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col) or col.isna().any() or len(col) < 2:
        return False
    first = str(col.iloc[0]).strip()
    if not first or first[0].isdigit() or first[0] in "+-.(":  # a number, however written: a constant channel,
        return False  # which the constant-column error names
    return bool((col.astype(str).str.strip() == first).all())


def _numeric(df, col: str, path, row_offset: int, notes: list[str] | None = None):
    try:
        return numeric_column(df, col, path, notes=notes)
    except ValueError as e:
        shared = 1 + df.attrs.get("header_lines", 1)  # the shared helper counts file rows (a header = row 1)
        if row_offset == shared:
            raise
        import re

        msg = re.sub(r"row (\d+):", lambda m: f"row {int(m.group(1)) - shared + row_offset}:", str(e), count=1)
        raise ValueError(msg.replace("load_series: ", "anomaly data: ", 1)) from None


def from_array(x, cfg: DataConfig | None = None, source: str = "array") -> AnomalyData:
    """An :class:`AnomalyData` from an array ``(T,)`` or ``(T, C)`` (no labels, row numbers as time)."""
    cfg = cfg or DataConfig()
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as e:
        raise ValueError(f"anomaly data: {source}: expected numbers, got {type(x).__name__} ({e})") from None
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"anomaly data: {source}: expected shape (T,) or (T, C) with T, C >= 1, got {a.shape}")
    columns = [f"x{i}" for i in range(a.shape[1])] if a.shape[1] > 1 else ["value"]
    check_finite(a, columns, source, 0)
    notes: list[str] = []
    values = np.stack([_fill(a[:, i].copy(), c, source, cfg.max_gap, notes, 0) for i, c in enumerate(columns)], axis=1)
    return AnomalyData(values, None, np.arange(a.shape[0]), columns, source, notes)


def _check_time(df, col: str, path, notes: list[str], row_offset: int = 2) -> tuple[np.ndarray, bool]:
    """The time column: duplicates and disorder are errors (but the hour a local clock repeats in autumn, kept
    with a note, and rows that run newest first, as price exports write them: the caller reverses them, with a
    note); uneven spacing is reported. Returns the column and whether its rows run newest first.

    The detectors treat rows as equally spaced steps, so uneven spacing is
    allowed but stated in the report's data-handling notes.
    """
    import pandas as pd

    raw = df[col]
    numeric = pd.to_numeric(raw, errors="coerce")
    # text that reads as numbers but holds dates ('01.2001', a month, is not 1.2001) is read as dates below
    numbers = bool(numeric.notna().all()) and (pd.api.types.is_numeric_dtype(raw) or not holds_dates(raw))
    dates, note = numeric_dates(numeric, col) if numbers else (None, None)  # yyyymm, R's years, Unix, Excel
    if numbers and dates is None:
        t = numeric.to_numpy()  # steps, seconds from a start: numbers as they are
    elif dates is not None and not dates.isna().any():
        t = dates.to_numpy()
        notes.append(note)
    else:  # dates, read as the forecaster reads them (day first where the column says so; a code's missing day)
        try:
            t = parse_time(df, col, path, notes=notes)[0]
        except ValueError as e:
            raise ValueError(str(e).replace("load_series: ", "anomaly data: ", 1)) from None
    dup = pd.Series(t).duplicated(keep=False).to_numpy()
    dated = np.issubdtype(t.dtype, np.datetime64)
    repeat = bool(dup.any()) and dated and is_clock_repeat(t, t[dup])
    if repeat:  # both hours were measured, in this order: the rows stay, as the steps the detectors read
        notes.append(f"{col}: the hour a local clock repeats when summer time ends (times without a zone, twice in "
                     "the small hours of an autumn day): both rows kept in file order, as the detectors read rows as "
                     "steps")
    elif dup.any():
        rows = (np.flatnonzero(dup)[:2] + row_offset).tolist()
        hint = clock_repeat_hint(t, t[dup]) if dated else ""
        raise _err(path, f"column {col!r}: duplicate timestamp {raw.iloc[rows[0] - row_offset]} at rows {rows[0]} and "
                   f"{rows[1]}{hint}")
    steps = np.diff(t)
    backwards = bool(steps.size) and bool((steps < steps.dtype.type(0)).all()) and not repeat
    if backwards:
        notes.append(f"{col}: the rows run newest first: read in time order")
        steps = -steps
    if steps.size and (steps < steps.dtype.type(0)).any():
        i = int(np.flatnonzero(steps < steps.dtype.type(0))[0]) + 1
        raise _err(path, f"column {col!r} row {i + row_offset}: timestamps must increase; {raw.iloc[i]} comes after {raw.iloc[i - 1]}")
    if repeat:
        steps = steps[steps != steps.dtype.type(0)]  # the repeated hour's zero step is no unevenness
    if steps.size and (steps != steps[0]).any() and not (  # months and quarters: even on the calendar
            dated and len(t) >= 3 and infer_freq(pd.DatetimeIndex(t)) is not None):
        notes.append(f"{col}: the timestamps are not evenly spaced ({len(np.unique(steps))} different steps); "
                     "the detectors treat the rows as equally spaced steps")
    return raw.to_numpy(), backwards
