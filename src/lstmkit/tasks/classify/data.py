"""Reading classification files: text (TSV/CSV), series (``.ts``, CSV wide or long) -> :class:`Examples`.

Handling of awkward input (documented, tested):

- blank lines in text files are skipped; a row whose text is empty after
  stripping is an error naming the file and line;
- a row with a different number of fields than the header is an error naming
  the line;
- a series with a missing value (``NaN``) before its end is an error naming
  the series; trailing ``NaN`` (shorter series in a padded file) is the end
  of that series;
- labels are kept as strings (``"1"``, ``"Walking"``); a file without the
  label column reads with ``labels=None`` (fine for ``predict``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import ClassifyDataConfig


@dataclass
class Examples:
    """Sequences to classify, with their labels when the file has them.

    Attributes:
        kind: ``'text'`` or ``'series'``.
        items: texts (``str``) or series (float ``(T, C)`` arrays), one per example.
        labels: class names (``str``) or ``None``.
        ids: where each example came from (``line 12``, a series id), for predictions.
        source: the file.
    """

    kind: str
    items: list
    labels: list[str] | None
    ids: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.items)

    def subset(self, index) -> "Examples":
        index = list(index)
        return Examples(self.kind, [self.items[i] for i in index],
                        None if self.labels is None else [self.labels[i] for i in index],
                        [self.ids[i] for i in index], self.source)


def detect_kind(path: Path, cfg: ClassifyDataConfig) -> str:
    if cfg.kind != "auto":
        return cfg.kind
    suffix = path.suffix.lower()
    if suffix == ".ts":
        return "series"
    if suffix == ".tsv":
        return "text"
    header = _header(path, ",")
    return "text" if cfg.text_column in header or cfg.text_column == "auto" and _has_text(path) else "series"


def _header(path: Path, delimiter: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter=delimiter):
            if row:
                return [c.strip() for c in row]
    return []


def _has_text(path: Path) -> bool:
    import pandas as pd

    frame = pd.read_csv(path, nrows=50)
    return any(frame[c].dtype == object for c in frame.columns)


def read_examples(path: str | Path, cfg: ClassifyDataConfig, kind: str | None = None) -> Examples:
    """Read ``path`` as text or series (``kind``, default from :func:`detect_kind`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"classify: data file not found: {path}")
    kind = kind or detect_kind(path, cfg)
    if kind == "text":
        ex = read_text_table(path, cfg)
    elif path.suffix.lower() == ".ts":
        ex = read_ts_examples(path)
    else:
        ex = read_series_csv(path, cfg)
    if len(ex) == 0:
        raise ValueError(f"classify: {path} holds no examples")
    return ex


# ------------------------------------------------------------------ text
def read_text_table(path: Path, cfg: ClassifyDataConfig) -> Examples:
    """A TSV (``.tsv``) or CSV file with a header, one example a row."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    texts, labels, ids = [], [], []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, quoting=quoting)
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
            text = row[ti].strip()
            if not text:
                raise ValueError(f"classify: {path}:{lineno}: expected text in column {header[ti]!r}, got an empty field")
            texts.append(text)
            ids.append(f"line {lineno}")
            if li is not None:
                label = row[li].strip()
                if not label:
                    raise ValueError(f"classify: {path}:{lineno}: expected a label in column {header[li]!r}, got an empty field")
                labels.append(label)
    if header is None:
        raise ValueError(f"classify: {path} is empty (expected a header and one example a row)")
    return Examples("text", texts, labels if li is not None else None, ids, str(path))


# ------------------------------------------------------------------ series
def _trim(series: np.ndarray, where: str) -> np.ndarray:
    """``(T, C)`` with trailing all-NaN steps removed; NaN before the end is an error."""
    finite = np.isfinite(series).all(axis=1)
    if not finite.any():
        raise ValueError(f"classify: {where}: expected at least one value, got none")
    end = int(np.flatnonzero(finite)[-1]) + 1
    if not finite[:end].all():
        bad = int(np.flatnonzero(~finite[:end])[0])
        raise ValueError(f"classify: {where}: expected no missing values inside a series, got one at step {bad}")
    return series[:end]


def read_ts_examples(path: Path) -> Examples:
    from ...data.ts_format import read_ts

    data = read_ts(path)
    items = [_trim(data.X[i].T, f"{path}: series {i}") for i in range(len(data))]
    labels = None if data.y is None else [str(v) for v in data.y]
    return Examples("series", items, labels, [f"series {i}" for i in range(len(items))], str(path))


def read_series_csv(path: Path, cfg: ClassifyDataConfig) -> Examples:
    """CSV series: wide (one row per series: label + values) or long (``id_column`` + value columns)."""
    import pandas as pd

    frame = pd.read_csv(path)
    has_label = cfg.label_column in frame.columns
    skip = {cfg.label_column, cfg.id_column, cfg.time_column} - {""}
    if cfg.value_columns:
        missing = [c for c in cfg.value_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"classify: {path}: expected value columns {missing} in the header, got {list(frame.columns)}")
        values = list(cfg.value_columns)
    else:
        values = [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])]
    bad = [c for c in values if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad or not values:
        raise ValueError(f"classify: {path}: expected numeric value columns, got {bad or 'none'} "
                         f"(set data.value_columns, or data.text_column for a text file)")
    items, labels, ids = [], [], []
    if not cfg.id_column:  # wide: one row per series, one channel
        for r in range(len(frame)):
            arr = frame[values].iloc[r].to_numpy(dtype=np.float64)[:, None]
            items.append(_trim(arr, f"{path}: row {r + 2}"))
            ids.append(f"line {r + 2}")
            if has_label:
                labels.append(str(frame[cfg.label_column].iloc[r]))
    else:
        if cfg.id_column not in frame.columns:
            raise ValueError(f"classify: {path}: expected an id column {cfg.id_column!r}, got {list(frame.columns)}")
        if cfg.time_column:
            if cfg.time_column not in frame.columns:
                raise ValueError(f"classify: {path}: expected a time column {cfg.time_column!r}, got {list(frame.columns)}")
            frame = frame.sort_values([cfg.id_column, cfg.time_column], kind="stable")
        for sid, group in frame.groupby(cfg.id_column, sort=False):
            items.append(_trim(group[values].to_numpy(dtype=np.float64), f"{path}: series {sid!r}"))
            ids.append(str(sid))
            if has_label:
                seen = group[cfg.label_column].astype(str).unique()
                if len(seen) != 1:
                    raise ValueError(f"classify: {path}: expected one label per series, got {list(seen)} for series {sid!r}")
                labels.append(seen[0])
    return Examples("series", items, labels if has_label else None, ids, str(path))
