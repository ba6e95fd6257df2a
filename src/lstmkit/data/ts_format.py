"""Read time-series classification/regression files in the sktime/aeon ``.ts`` format.

The format (as in the UCR/UEA archives shipped by sktime and aeon)::

    # comments
    @problemName BasicMotions
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 6
    @equalLength true
    @seriesLength 100
    @classLabel true Standing Running Walking Badminton
    @data
    0.07,0.08,...:0.30,0.28,...: ... :Standing

one series a line after ``@data``; channels separated by ``:``, values within
a channel by ``,``; with ``@classLabel true`` (or ``@targetLabel true`` for
regression) the label follows the last ``:``. ``?`` is a missing value (NaN).
Header keys are case-insensitive. Time-stamped data (``@timeStamps true``,
values written ``(t, v)``) is not supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_BOOL_KEYS = ("timestamps", "missing", "univariate", "equallength")


@dataclass
class TSData:
    """What :func:`read_ts` returns.

    Attributes:
        X: the series, float ``(N, C, T)``; series shorter than the longest
            (only when ``@equalLength false``) are padded with NaN at the end.
        y: labels ``(N,)``: class names as ``str`` (``@classLabel true``),
            floats (``@targetLabel true``), or ``None`` when the file has none.
        classes: the class names in header order, or ``None``.
        lengths: the length of each series ``(N,)`` (its longest channel).
        name: ``@problemName``, or ``None``.
        header: every header line, key lower-cased to its raw value text.
    """

    X: np.ndarray
    y: np.ndarray | None
    classes: list[str] | None
    lengths: np.ndarray
    name: str | None = None
    header: dict[str, str] = field(default_factory=dict)

    @property
    def y_index(self) -> np.ndarray:
        """Class labels as ints ``(N,)``: the position of each label in :attr:`classes`."""
        if self.classes is None or self.y is None:
            raise ValueError("TSData: expected a file with @classLabel true for y_index, got no class labels")
        lookup = {c: i for i, c in enumerate(self.classes)}
        return np.array([lookup[c] for c in self.y], dtype=np.int64)

    def __len__(self) -> int:
        return self.X.shape[0]


def _bool(value: str, key: str, where: str) -> bool:
    word = value.split()[0].lower() if value.split() else ""
    if word not in ("true", "false"):
        raise ValueError(f"read_ts: {where}: expected @{key} true or false, got {value!r}")
    return word == "true"


def _values(text: str, where: str, channel: int) -> np.ndarray:
    parts = text.split(",")
    try:
        return np.array(parts, dtype=np.float64)
    except ValueError:
        pass
    out = np.empty(len(parts), dtype=np.float64)
    for i, p in enumerate(parts):
        p = p.strip()
        if p == "?":
            out[i] = np.nan
            continue
        if p.startswith("("):
            raise ValueError(f"read_ts: {where}: expected plain values, got a time-stamped value {p!r} (not supported)")
        try:
            out[i] = float(p)
        except ValueError:
            raise ValueError(f"read_ts: {where}: expected a number in channel {channel} at position {i}, got {p!r}") from None
    return out


def read_ts(path: str | Path, dtype=np.float64) -> TSData:
    """Read a ``.ts`` file into an ``(N, C, T)`` array and labels.

    Args:
        path: the file.
        dtype: the array's float type. Default ``numpy.float64``.

    Raises:
        ValueError: a malformed header or data line, naming the file and the
            1-based line number: non-numeric values, a channel count or length
            that differs from the header or from the other series, a class
            label not declared in ``@classLabel``, a missing ``@data``.

    Example::

        >>> data = read_ts("../shared/data/ucr/BasicMotions_TRAIN.ts")  # doctest: +SKIP
        >>> data.X.shape, data.classes                                      # doctest: +SKIP
        ((40, 6, 100), ['Standing', 'Running', 'Walking', 'Badminton'])
    """
    path = Path(path)
    header: dict[str, str] = {}
    header_line: dict[str, int] = {}
    classes: list[str] | None = None
    has_class = has_target = False
    in_data = False
    series: list[list[np.ndarray]] = []
    labels: list[str] = []
    lines: list[int] = []
    with path.open(encoding="utf-8") as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            where = f"{path}:{lineno}"
            if not line or (line.startswith("#") and not in_data):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise ValueError(f"read_ts: {where}: expected a header line starting with '@' before @data, got {line[:40]!r}")
                key, _, value = line[1:].partition(" ")
                key, value = key.lower(), value.strip()
                if key == "data":
                    in_data = True
                    continue
                header[key], header_line[key] = value, lineno
                if key in _BOOL_KEYS:
                    _bool(value, key, where)
                elif key == "classlabel":
                    has_class = _bool(value, key, where)
                    classes = value.split()[1:] if has_class else None
                    if has_class and not classes:
                        raise ValueError(f"read_ts: {where}: expected class names after '@classLabel true', got none")
                elif key == "targetlabel":
                    has_target = _bool(value, key, where)
                elif key in ("serieslength", "dimensions"):
                    if not value.isdigit():
                        raise ValueError(f"read_ts: {where}: expected @{key} a positive integer, got {value!r}")
                continue
            fields = line.split(":")
            if has_class or has_target:
                if len(fields) < 2:
                    raise ValueError(f"read_ts: {where}: expected series then ':' and a label, got no ':'")
                label = fields.pop().strip()
                if has_class and label not in classes:
                    raise ValueError(f"read_ts: {where}: expected a class label in {classes}, got {label!r}")
                if has_target:
                    try:
                        float(label)
                    except ValueError:
                        raise ValueError(f"read_ts: {where}: expected a numeric target after the last ':', got {label!r}") from None
                labels.append(label)
            channels = [_values(text, where, c) for c, text in enumerate(fields)]
            if series and len(channels) != len(series[0]):
                raise ValueError(
                    f"read_ts: {where}: expected {len(series[0])} channels as in the first series (line {lines[0]}), got {len(channels)}"
                )
            series.append(channels)
            lines.append(lineno)
    if not in_data:
        raise ValueError(f"read_ts: {path}: expected an @data line, got none")
    if has_class and has_target:
        raise ValueError(f"read_ts: {path}: expected @classLabel true or @targetLabel true, got both")
    if header.get("timestamps") and _bool(header["timestamps"], "timeStamps", str(path)):
        raise ValueError(f"read_ts: {path}:{header_line['timestamps']}: expected @timeStamps false, got true (not supported)")
    if not series:
        raise ValueError(f"read_ts: {path}: expected at least one series after @data, got none")

    n_channels = len(series[0])
    if "dimensions" in header and int(header["dimensions"]) != n_channels:
        raise ValueError(
            f"read_ts: {path}:{lines[0]}: expected {header['dimensions']} channels (@dimensions), got {n_channels}"
        )
    if "univariate" in header and _bool(header["univariate"], "univariate", str(path)) and n_channels != 1:
        raise ValueError(f"read_ts: {path}:{lines[0]}: expected 1 channel (@univariate true), got {n_channels}")
    equal = "equallength" in header and _bool(header["equallength"], "equalLength", str(path))
    lengths = np.array([max(len(ch) for ch in s) for s in series], dtype=np.int64)
    if equal:
        expected = int(header["serieslength"]) if "serieslength" in header else len(series[0][0])
        for s, lineno in zip(series, lines):
            got = [len(ch) for ch in s]
            if any(g != expected for g in got):
                raise ValueError(f"read_ts: {path}:{lineno}: expected every channel of length {expected} (@equalLength true), got {got}")
    X = np.full((len(series), n_channels, int(lengths.max())), np.nan, dtype=dtype)
    for i, s in enumerate(series):
        for c, ch in enumerate(s):
            X[i, c, : len(ch)] = ch
    y = None
    if has_class:
        y = np.array(labels, dtype=object).astype(str)
    elif has_target:
        y = np.array([float(v) for v in labels], dtype=np.float64)
    return TSData(X=X, y=y, classes=classes, lengths=lengths, name=header.get("problemname"), header=header)
