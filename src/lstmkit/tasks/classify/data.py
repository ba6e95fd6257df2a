"""Classification data: files (TSV/CSV text, ``.ts``, CSV series) and in-memory inputs -> :class:`Examples`.

In memory (:func:`as_examples`, what :class:`~lstmkit.SequenceClassifier` takes):

- a list of strings: texts;
- a 2-D float array ``(N, T)``: ``N`` univariate series; a 3-D array
  ``(N, T, C)``: ``N`` series of ``C`` channels (time before channels);
  trailing ``NaN`` marks the end of a shorter series;
- a list of 1-D ``(T_i,)`` or 2-D ``(T_i, C)`` arrays (or lists) of any lengths;
- a pandas DataFrame: text (a ``data.text_column`` column) or series, one
  row per series (wide) or one row per step with ``data.id_column`` (long);
  the labels may come from its ``data.label_column``.

Handling of awkward input (documented, tested):

- a file that is not UTF-8 text (latin-1, binary) is an error naming the file;
- blank lines in text files are skipped; a row whose text is empty after
  stripping is an error naming the file and line;
- a row with a different number of fields than the header is an error naming
  the line;
- series values must be finite and within float32 range: ``inf``, ``-inf``,
  ``1e300`` or a ``NaN`` before a series' end are errors naming the file,
  the series (or column) and the line (or step); trailing ``NaN`` (shorter
  series in a padded file or array) is the end of that series;
- labels from files are kept as strings (``"1"``, ``"Walking"``); in memory
  they keep their type (ints stay ints); a file without the label column
  reads with ``labels=None`` (fine for ``predict``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import ClassifyDataConfig

#: the largest magnitude a series value may have (float32's range: the networks compute in float32)
MAX_VALUE = float(np.finfo(np.float32).max)


@dataclass
class Examples:
    """Sequences to classify, with their labels when known.

    Attributes:
        kind: ``'text'`` or ``'series'``.
        items: texts (``str``) or series (float64 ``(T, C)`` arrays), one per example.
        labels: class labels (``str`` from files; any hashable from memory) or ``None``.
        ids: where each example came from (``line 12``, a series id, ``X[3]``), for predictions.
        source: the file, or ``'X'`` for in-memory data.
        notes: what was done to the data on reading (a row-number column left out), for the log.
    """

    kind: str
    items: list
    labels: list | None
    ids: list[str]
    source: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def subset(self, index) -> "Examples":
        index = list(index)
        return Examples(self.kind, [self.items[i] for i in index],
                        None if self.labels is None else [self.labels[i] for i in index],
                        [self.ids[i] for i in index], self.source, self.notes)


# ------------------------------------------------------------------ checks
def check_series(values: np.ndarray, where: str, steps: list[str] | None = None,
                 channels: list[str] | None = None) -> np.ndarray:
    """``(T, C)`` float64 with trailing all-NaN steps removed; anything non-finite before the end is an error.

    ``where`` names the series (``"train.csv: series 's1'"``); ``steps`` and
    ``channels`` name its rows and columns for the message (default ``step i``
    and ``channel c``).
    """
    values = np.asarray(values, dtype=np.float64)
    nan = np.isnan(values)
    finite = ~nan.all(axis=1)
    if not finite.any():
        raise ValueError(f"classify: {where}: expected at least one value, got none")
    end = int(np.flatnonzero(finite)[-1]) + 1
    body = values[:end]
    bad = ~np.isfinite(body) | (np.abs(np.nan_to_num(body)) > MAX_VALUE)
    if bad.any():
        t, c = (int(v) for v in np.argwhere(bad)[0])
        step = steps[t] if steps else f"step {t}"
        channel = channels[c] if channels else f"channel {c}"
        got = float(body[t, c])
        what = ("a missing value (NaN) before the series' end; only trailing NaN marks a shorter series"
                if np.isnan(got) else f"{got!r}")
        place = f"{step}, {channel}" if channel else step
        raise ValueError(f"classify: {where}, {place}: expected a finite value within float32 range "
                         f"(|x| <= {MAX_VALUE:.3g}), got {what}")
    return body


# ------------------------------------------------------------------ files
def _data_text(path: Path) -> str:
    from ...data.text_input import read_data_text

    return read_data_text(path, "classification data")


def _dialect(path: Path, text: str) -> dict:
    """A table's separator (and decimal mark): a tab for .tsv, else as the forecaster's tables
    (:func:`lstmkit.data.series.table_dialect` of the header line)."""
    from ...data.series import table_dialect

    if path.suffix.lower() == ".tsv":
        return {"sep": "\t"}
    return table_dialect(text.split("\n", 1)[0])


def detect_kind(path: Path, cfg: ClassifyDataConfig, text: str | None = None) -> str:
    """``'text'`` or ``'series'``: ``cfg.kind``, else from the file's suffix and header."""
    if cfg.kind != "auto":
        return cfg.kind
    suffix = path.suffix.lower()
    if suffix == ".ts":
        return "series"
    if suffix == ".tsv":
        return "text"
    text = _data_text(path) if text is None else text
    dialect = _dialect(path, text)
    header = next((row for row in csv.reader(io.StringIO(text), delimiter=dialect["sep"]) if row), [])
    header = [c.strip() for c in header]
    if cfg.text_column in header:
        return "text"
    return "text" if cfg.text_column == "auto" and _has_text(text, dialect) else "series"


def _has_text(text: str, dialect: dict) -> bool:
    import pandas as pd

    frame = pd.read_csv(io.StringIO(text), nrows=50, **dialect)
    return any(frame[c].dtype == object for c in frame.columns)


def read_examples(path: str | Path, cfg: ClassifyDataConfig, kind: str | None = None) -> Examples:
    """Read ``path`` as text or series (``kind``, default from :func:`detect_kind`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"classify: data file not found: {path}")
    if path.suffix.lower() == ".ts" and (kind or cfg.kind) != "text":
        ex = read_ts_examples(path)
    else:
        text = _data_text(path)
        kind = kind or detect_kind(path, cfg, text)
        ex = read_text_table(path, text, cfg) if kind == "text" else read_series_csv(path, text, cfg)
    if len(ex) == 0:
        raise ValueError(f"classify: {path} holds no examples")
    return ex


def read_text_table(path: Path, text: str, cfg: ClassifyDataConfig) -> Examples:
    """A TSV (``.tsv``) or CSV file with a header, one example a row."""
    delimiter = _dialect(path, text)["sep"]
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    texts, labels, ids = [], [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    header = None
    for row in reader:
        lineno = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue  # blank lines are skipped
        if header is None:
            header = [c.strip() for c in row]
            text_col = cfg.text_column
            if text_col == "auto":
                text_col = next((c for c in header if c != cfg.label_column), "")
            if text_col not in header:
                raise ValueError(f"classify: {path}: expected a text column {cfg.text_column!r} in the header, got {header}")
            ti = header.index(text_col)
            li = header.index(cfg.label_column) if cfg.label_column in header else None
            continue
        if len(row) != len(header):
            # a TSV row often ends in a tab (SST-2): drop empty trailing fields before complaining
            while len(row) > len(header) and not row[-1].strip():
                row = row[:-1]
            if len(row) != len(header):
                raise ValueError(f"classify: {path}:{lineno}: expected {len(header)} fields ({header}), got {len(row)}: {row!r}")
        item = row[ti].strip()
        if not item:
            raise ValueError(f"classify: {path}:{lineno}: expected text in column {header[ti]!r}, got an empty field")
        texts.append(item)
        ids.append(f"line {lineno}")
        if li is not None:
            label = row[li].strip()
            if not label:
                raise ValueError(f"classify: {path}:{lineno}: expected a label in column {header[li]!r}, got an empty field")
            labels.append(label)
    if header is None:
        raise ValueError(f"classify: {path} is empty (expected a header and one example a row)")
    return Examples("text", texts, labels if li is not None else None, ids, str(path))


def read_ts_examples(path: Path) -> Examples:
    from ...data.ts_format import read_ts

    data = read_ts(path)
    items = [check_series(data.X[i].T, f"{path}:{data.lines[i]}: series {i}") for i in range(len(data))]
    labels = None if data.y is None else [str(v) for v in data.y]
    return Examples("series", items, labels, [f"series {i}" for i in range(len(items))], str(path))


def read_series_csv(path: Path, text: str, cfg: ClassifyDataConfig) -> Examples:
    """CSV series: wide (one row per series: label + values) or long (``id_column`` + value columns)."""
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(text), **_dialect(path, text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"classify: {path}: not a readable CSV file ({str(e).splitlines()[0]})") from None
    return series_from_frame(frame, cfg, str(path), first_line=2)


def series_from_frame(frame, cfg: ClassifyDataConfig, source: str, first_line: int | None = None) -> Examples:
    """Series from a DataFrame: wide (one row per series) or long (``cfg.id_column``, one row per step).

    ``first_line``: the file line of the frame's first row (CSV: 2), so errors
    name lines; ``None`` for an in-memory frame (errors name rows).
    """

    def row_name(r) -> str:
        return f"line {r + first_line}" if first_line is not None else f"row {r}"

    from ...data.series import drop_row_counter

    frame = frame.reset_index(drop=True)
    has_label = cfg.label_column in frame.columns
    skip = {cfg.label_column, cfg.id_column, cfg.time_column} - {""}
    notes: list[str] = []
    if not cfg.value_columns:  # a writer's row numbers would be every series' first step (wide) or a channel (long)
        drop_row_counter(frame, skip, notes)  # (in place: reset_index made the frame this function's own)
    if cfg.value_columns:
        missing = [c for c in cfg.value_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"classify: {source}: expected value columns {missing}, got {list(frame.columns)}")
        values = list(cfg.value_columns)
    else:
        values = [c for c in frame.columns if c not in skip and _as_numbers(frame[c]) is not None]
    for c in values:
        numbers = _as_numbers(frame[c])
        if numbers is None:
            bad = next(r for r, v in enumerate(frame[c]) if _number(v) is None)
            raise ValueError(f"classify: {source}: {row_name(bad)}, column {c!r}: expected a number, got {frame[c].iloc[bad]!r} "
                             f"(set data.value_columns, or data.text_column for text)")
        frame[c] = numbers
    if not values:
        raise ValueError(f"classify: {source}: expected numeric value columns, got none "
                         f"(set data.value_columns, or data.text_column for text)")
    items, labels, ids = [], [], []
    names = [str(c) for c in values]
    if not cfg.id_column:  # wide: one row per series, one channel
        matrix = frame[values].to_numpy(dtype=np.float64)
        for r in range(len(frame)):
            items.append(check_series(matrix[r][:, None], f"{source}: {row_name(r)}", steps=[f"column {n!r}" for n in names],
                                      channels=[""]))
            ids.append(row_name(r))
            if has_label:
                labels.append(_label(frame[cfg.label_column].iloc[r], first_line))
    else:
        if cfg.id_column not in frame.columns:
            raise ValueError(f"classify: {source}: expected an id column {cfg.id_column!r}, got {list(frame.columns)}")
        if cfg.time_column:
            if cfg.time_column not in frame.columns:
                raise ValueError(f"classify: {source}: expected a time column {cfg.time_column!r}, got {list(frame.columns)}")
            frame = frame.sort_values([cfg.id_column, cfg.time_column], kind="stable")
        for sid, group in frame.groupby(cfg.id_column, sort=False):
            items.append(check_series(group[values].to_numpy(dtype=np.float64), f"{source}: series {sid!r}",
                                      steps=[row_name(r) for r in group.index], channels=[f"column {n!r}" for n in names]))
            ids.append(str(sid))
            if has_label:
                seen = group[cfg.label_column].unique()
                if len(seen) != 1:
                    raise ValueError(f"classify: {source}: expected one label per series, got {list(seen)} for series {sid!r}")
                labels.append(_label(seen[0], first_line))
    return Examples("series", items, labels if has_label else None, ids, source, notes)


def _number(value: Any) -> float | None:
    """``value`` as a float (text such as ``'1e999'`` or ``'-inf'`` that pandas leaves as text included), else ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _as_numbers(column):
    """A numeric column as it is; a text column whose every entry is a number (``'1e999'``) as floats; else ``None``."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column
    if column.dtype != object:
        return None
    numbers = [_number(v) for v in column]
    if any(v is None for v in numbers):
        return None
    return pd.Series(numbers, index=column.index, dtype=float)


def _label(value: Any, first_line: int | None) -> Any:
    """Labels read from files are strings; from memory they keep their type (numpy scalars become Python ones)."""
    if first_line is not None:
        return str(value)
    return value.item() if hasattr(value, "item") else value


# ------------------------------------------------------------------ memory
def as_examples(X: Any, y: Any = None, cfg: ClassifyDataConfig | None = None, kind: str | None = None,
                who: str = "SequenceClassifier") -> Examples:
    """In-memory inputs (see the module docstring) -> :class:`Examples`, with the labels ``y`` if given.

    ``kind`` (``'text'``/``'series'``) is what the model expects; data of the
    other kind is refused with a one-line error.
    """
    cfg = cfg or ClassifyDataConfig()
    if isinstance(X, Examples):
        ex = X
    elif _is_frame(X):
        ex = _from_frame(X, cfg, who)
    elif isinstance(X, str):
        raise TypeError(f"{who}: expected a list of texts or series, got one string (wrap it in a list)")
    else:
        ex = _from_sequence(X, who)
    if y is not None:
        labels = _label_list(y, who)
        if len(labels) != len(ex):
            raise ValueError(f"{who}: expected {len(ex)} labels (one per example), got {len(labels)}")
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in labels):
            raise ValueError(f"{who}: expected a label for every example, got a missing one (None or NaN) "
                             f"at position {next(i for i, v in enumerate(labels) if v is None or v != v)}")
        ex = Examples(ex.kind, ex.items, labels, ex.ids, ex.source)
    if kind is not None and ex.kind != kind:
        raise ValueError(f"{who}: expected {kind} (as in training), got {ex.kind}")
    if not len(ex):
        raise ValueError(f"{who}: expected at least one example, got none")
    return ex


def _label_list(y: Any, who: str) -> list:
    """``y`` as a list of labels: one column of a frame or an ``(N, 1)`` array
    is the labels' column; other shapes are an error naming the shape."""
    if hasattr(y, "columns"):  # a DataFrame
        if y.shape[1] != 1:
            raise ValueError(f"{who}: expected the labels as one column, got a frame with columns {list(y.columns)}")
        y = y.iloc[:, 0]
    if isinstance(y, np.ndarray) and y.ndim != 1:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        else:
            raise ValueError(f"{who}: expected one label per example (a 1-D sequence), got an array of shape {y.shape}")
    return list(y.tolist() if hasattr(y, "tolist") else y)


def _is_frame(X: Any) -> bool:
    return type(X).__name__ == "DataFrame" and hasattr(X, "columns")


def _from_frame(frame, cfg: ClassifyDataConfig, who: str) -> Examples:
    text_col = cfg.text_column
    if text_col == "auto":
        text_col = next((c for c in frame.columns if c != cfg.label_column and frame[c].dtype == object), None)
    elif text_col not in frame.columns and cfg.kind == "auto":
        # the default name missing: a frame of one text column (besides the label) and no numbers is text
        others = [c for c in frame.columns if c != cfg.label_column]
        texts = [c for c in others if frame[c].dtype == object and frame[c].map(lambda v: isinstance(v, str)).all()]
        if len(texts) == 1 and len(others) == 1:
            text_col = texts[0]
    if cfg.kind == "text" or (cfg.kind == "auto" and text_col in frame.columns):
        if text_col not in frame.columns:
            raise ValueError(f"{who}: expected a text column {cfg.text_column!r} in the DataFrame, got {list(frame.columns)}")
        ex = _from_sequence(list(frame[text_col]), who)
        labels = list(frame[cfg.label_column]) if cfg.label_column in frame.columns else None
        return Examples(ex.kind, ex.items, labels, ex.ids, ex.source)
    return series_from_frame(frame, cfg, "X")


def _from_sequence(X: Any, who: str) -> Examples:
    if isinstance(X, np.ndarray) and X.dtype != object and X.dtype.kind in "fiub":
        if X.ndim not in (2, 3):
            raise ValueError(f"{who}: expected series as an array (N, T) or (N, T, C), got shape {X.shape}")
        arr = X.astype(np.float64)[..., None] if X.ndim == 2 else X.astype(np.float64)
        items = [check_series(arr[i], f"X[{i}]") for i in range(len(arr))]
        return Examples("series", items, None, [f"X[{i}]" for i in range(len(items))], "X")
    items = list(X)
    if not items:
        raise ValueError(f"{who}: expected at least one example, got none")
    if all(isinstance(v, str) for v in items):
        for i, v in enumerate(items):
            if not v.strip():
                raise ValueError(f"{who}: expected text in X[{i}], got an empty string")
        return Examples("text", [v.strip() for v in items], None, [f"X[{i}]" for i in range(len(items))], "X")
    series = []
    for i, v in enumerate(items):
        if isinstance(v, str):
            raise TypeError(f"{who}: expected all texts or all series, got a string at X[{i}] among series")
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{who}: expected X[{i}] a series of numbers ((T,) or (T, C)), got {type(v).__name__}") from None
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[0] == 0:
            raise ValueError(f"{who}: expected X[{i}] of shape (T,) or (T, C) with T >= 1, got {a.shape}")
        series.append(check_series(a, f"X[{i}]"))
    channels = {s.shape[1] for s in series}
    if len(channels) != 1:
        raise ValueError(f"{who}: expected every series to have the same channels, got {sorted(channels)}")
    return Examples("series", series, None, [f"X[{i}]" for i in range(len(series))], "X")
