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

from .text_input import read_data_text

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
        lines: the 1-based line of the file each series was read from ``(N,)``
            (for error messages that name the place).
    """

    X: np.ndarray
    y: np.ndarray | None
    classes: list[str] | None
    lengths: np.ndarray
    name: str | None = None
    header: dict[str, str] = field(default_factory=dict)
    lines: np.ndarray | None = None

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
            label not declared in ``@classLabel``, a missing ``@data``; a file
            that is not UTF-8 text (binary, latin-1), naming the file.

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
    text = read_data_text(path, "a .ts file")
    for lineno, raw in enumerate(text.split("\n"), start=1):
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
    return TSData(X=X, y=y, classes=classes, lengths=lengths, name=header.get("problemname"), header=header,
                  lines=np.array(lines, dtype=np.int64))


def write_ts(path: str | Path, series: list, labels: list | None = None, name: str = "data") -> Path:
    """Write series in the ``.ts`` format that :func:`read_ts` reads (the way aeon and sktime write them).

    Args:
        path: the file.
        series: one ``(T_i, C)`` array per series (``(T_i,)`` for one channel);
            the lengths may differ (``@equalLength false``).
        labels: class labels (written as text, declared in ``@classLabel``), or ``None``.
        name: ``@problemName``.

    Raises:
        ValueError: series with different channel counts, a label with white
            space, ``:`` or ``,`` in it, or a non-finite value.
    """
    from ..io.files import atomic_write_text

    arrays = [np.asarray(s, dtype=np.float64) for s in series]
    arrays = [a[:, None] if a.ndim == 1 else a for a in arrays]
    channels = {a.shape[1] for a in arrays}
    if len(channels) != 1 or not arrays:
        raise ValueError(f"write_ts: expected series with one channel count, got {sorted(channels) or 'no series'}")
    if any(not np.isfinite(a).all() for a in arrays):
        raise ValueError("write_ts: expected finite values, got NaN or inf")
    text_labels = None if labels is None else [str(v) for v in labels]
    if text_labels is not None:
        if len(text_labels) != len(arrays):
            raise ValueError(f"write_ts: expected {len(arrays)} labels, got {len(text_labels)}")
        bad = [v for v in text_labels if not v or any(ch in v for ch in " \t:,")]
        if bad:
            raise ValueError(f"write_ts: expected labels without white space, ':' or ',', got {bad[0]!r}")
    lengths = {len(a) for a in arrays}
    head = [f"@problemName {name}", "@timeStamps false", "@missing false",
            f"@univariate {'true' if channels == {1} else 'false'}", f"@dimensions {channels.pop()}",
            f"@equalLength {'true' if len(lengths) == 1 else 'false'}"]
    if len(lengths) == 1:
        head.append(f"@seriesLength {lengths.pop()}")
    if text_labels is not None:
        head.append("@classLabel true " + " ".join(dict.fromkeys(sorted(text_labels))))
    else:
        head.append("@classLabel false")
    rows = []
    for i, a in enumerate(arrays):
        row = ":".join(",".join(repr(float(v)) for v in a[:, c]) for c in range(a.shape[1]))
        rows.append(row + (f":{text_labels[i]}" if text_labels is not None else ""))
    atomic_write_text(path, "\n".join(head + ["@data"] + rows) + "\n")
    return Path(path)
