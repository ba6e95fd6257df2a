"""Load one or many time series from a DataFrame (or a CSV/Parquet/``.tsf`` file), check them, and say what was fixed.

The source is a pandas DataFrame, a pandas Series or a 1-D array (one series)
or a file path; a file is read into a DataFrame first (:func:`read_table`)
and then takes the very same path, so a file and the frame it holds give the
same series and the same checks. Errors about a file name the file and its
row (1-based, header = row 1); errors about an in-memory frame name its
position (0-based).

Two layouts:

- **long**: one row per (series, time): an optional id column, a time column,
  the target column and any covariate columns;
- **wide**: one row per time, one column per series (``target`` lists the
  columns, or every numeric column but the time is a series).

Checks, each a ``ValueError`` that names the file, the column and the file row
(1-based, header = row 1) where it helps: empty file, missing columns,
non-numeric values, non-finite values (``inf``, and magnitudes above
:data:`MAX_ABS` such as ``1e300`` that overflow once squared or summed),
duplicate timestamps, timestamps off a regular grid.

Documented handling (recorded in :attr:`SeriesSet.notes`, which reports print):

- with no time column named, the one column of dates is the time column
  (:func:`find_time_column`; several are an error, none means row order),
  or a date column and a time-of-day column read together
  (:func:`date_and_clock`), or a date column and an hour column (0-23, or an
  hour ending 1-24: :func:`date_and_hour`), or a ``Year`` column, with a ``Month`` or
  ``Quarter`` column where there is one (:func:`year_columns`), or else a column named for
  time or steps whose numbers increase (:func:`step_column`); dates may be text in one format (day first where
  the column says so), ``yyyymm`` integers, period codes, Unix times
  (:func:`unix_times`), Excel's day numbers in a column named as a date
  (:func:`excel_days`), or decimal years as R writes them (:func:`decimal_years`); other evenly spaced
  numbers that are not whole (``0, 0.5, 1.0``) are read as steps;
- a first column that only numbers the rows (pandas' ``to_csv``, R's
  ``write.csv``) is left out (:func:`drop_row_counter`);
- in a long table whose times repeat, with no id named, the one column
  whose values split the rows into series (each time once) is the series id
  (:func:`find_id_column`);
- title lines above a CSV's header are left out (:func:`lines_before_header`),
  as is a row of units under it (:func:`units_row`) and the ONS's ``key,value``
  lines above a table without a header (:func:`metadata_lines`), whose years,
  quarters and months in one column are cut to the finest (:func:`finest_periods`),
  and a CSV whose first line is data (no header row: :func:`header_is_data`)
  is read with columns named ``column_1``, ``column_2``, ...;
- one row per series with the dates (or period codes) across the header
  (``Page,2015-07-01,...``) is melted to the long layout (:func:`dates_across`);
  Eurostat's first column (``freq,unit,geo\\TIME_PERIOD``) is split into its
  dimensions first, those the same in every row left out (:func:`_split_dimensions`);
- columns with no value (a separator at the end of every line, an empty
  ``Flag Codes``) are left out unless named (:func:`drop_empty_columns`);
- Eurostat's flags after a value (``101.2 p``) are read as the number, ``: c`` as missing; a number in
  parentheses (``(1,234.50)``, as accounts write it) as a negative one;
- numbers with thousands separators are read (:func:`grouped_numbers`: a
  comma, or where it cannot be the decimal mark a point, a space or an
  apostrophe, one kind a column; in a ``;`` file, whole numbers grouped by a
  point beside three-digit ones: :func:`_points_in_comma_file`); rows that run
  newest first, or out of order, are read in time order with a note; cells that stand for a
  missing value (:data:`MISSING_MARKERS`: ``?``, a dash, ``n/e``, ``:``, a
  spreadsheet's ``#DIV/0!``) are missing; ``<1`` (below a limit) is half the limit;
- ``24:00`` after a date (the hour ending at midnight) is the next day's
  00:00, and a clock written with dots (``01.02.2020 13.30``) is read
  (:func:`clock_forms`);
- time intervals written as text (``01.01.2020 00:00 - 01.01.2020 01:00``) are
  read by their start (:func:`interval_starts`);
- a European zone's name after a time (``29/10/2023 02:00:00 (CEST)``, as
  ENTSO-E marks its hours) is read as its UTC offset where every time has one,
  and left out where only the times around a clock change have one
  (:func:`zone_marks`);
- in a DataFrame (not a file, whose dialect gives the decimal mark), text
  numbers with a decimal comma (``'104,08'``, ``'9.839,61'``) are read
  (:func:`decimal_commas`), and months that ``pd.read_csv`` took for numbers
  (1.2001 for ``01.2001``, 2001.01 for ``2001.01``) are months
  (:func:`dotted_months`);
- timestamps a little off a round step (a logger's clock running late or
  early, within a fifth of a step) are rounded to it (:func:`snap_jitter`);
- readings taken once a calendar period at varying moments (a meter read on
  a different day each month, a weight logged at a different time each
  morning, a sample at any minute of each hour), which no regular step
  describes, are laid on that period's grid, each dated its period's start,
  with a note (:func:`once_a_period`);
- opening hours (readings in the same clock slots of each open day, nothing
  between: a shop's hours, a market's session; or dates on the same weekdays
  each week, a shop shut on Sundays) step from one open slot to the next,
  with a frequency of their own (``"h 10:00-18:00 daily"``, ``"D Mon-Sat"``,
  :mod:`lstmkit.data.sessions`) found or given as ``freq``; an open weekday
  without readings (a holiday) is a closed day, left out with a note;
- dates in steps that start again each month or year (dekads, the 8- and
  16-day composites of satellite products) are read on that calendar
  (``"16D each year"``, :class:`lstmkit.data.sessions.Restarting`);
- times with no regular stretch at their start take their most common step
  where every time lies on it and they fill half its grid (days absent at
  random; :func:`_common_step`);
- a time so far from the others that the grid would span more than
  :data:`MAX_GRID` steps (and 100 a row) is an error naming its rows;
- a text file that is not UTF-8 is read as UTF-16 where it starts with that
  byte-order mark, else as Windows-1252 (Excel's CSV), with a note
  (:func:`text_encoding`); a binary file is refused;
- rows with no field at all at the end of a file are skipped, and lines that
  repeat the header (files joined one after another) are left out with a
  note, the errors still naming the file's rows;
- timestamps missing from a regular grid are inserted as missing values;
- where times without a zone repeat the hour a local clock repeats when summer
  time ends (the small hours of one autumn day a year), that time's values are
  averaged into its one slot on the grid;
- leading and trailing missing targets are dropped (trailing rows whose
  known-future covariates are present become the future for ``predict``);
- inner missing values are linearly interpolated when a run is at most
  ``max_gap`` long (``missing="interpolate"``); where a longer run leaves at
  least as many values after it as before, the series starts after it (an
  early outage; :func:`_cut_at_long_gap`); any other longer run, or any missing
  value with ``missing="error"``, is an error naming its rows;
- missing covariate values are filled forward, then backward.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import sessions
from .runs import true_runs


@dataclass
class Series:
    """One series after loading: regular time index, float values, covariates."""

    id: str
    time: object  # pandas DatetimeIndex (with freq) or Index of integers, length T
    values: np.ndarray  # (T,) float64, no NaN
    past: np.ndarray  # (T, P) past-observed covariates
    future: np.ndarray  # (T + F, K) known-future covariates (F extra future rows, may be 0)
    rows: np.ndarray  # (T,) file row of each value (-1 for inserted timestamps)

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class SeriesSet:
    """Series loaded from one file, plus what was done to them."""

    series: list[Series]
    source: str  # file path (or "builtin:airline")
    target: str  # target column (long) or "value" (wide)
    freq: object  # pandas frequency string, or an integer step for integer time
    past_names: list[str] = field(default_factory=list)
    future_names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: how results go back to the user: the ids' own values and the time zone (:class:`OutputForm`)
    form: "OutputForm" = field(default_factory=lambda: OutputForm())
    #: the column of the data that holds the times (given or found; ``None`` for the row order, or a time made by
    #: joining or melting columns), so that new data are read the same way
    time_column: str | None = None
    #: the calendar frequency that integer steps stand for, where the data say so without dates (a ``.tsf``
    #: file's ``@frequency monthly`` with no starts): the season comes from it
    calendar: str | None = None

    def __len__(self) -> int:
        return len(self.series)

    @property
    def datetime(self) -> bool:
        return isinstance(self.freq, str)


@dataclass
class OutputForm:
    """What the loaded series' ids and times were before loading, so that
    results go back in the user's terms: series ids are kept as strings
    inside (messages, reports, saved models), and tz-aware times as naive
    ones (the local wall clock, or UTC where the wall clock repeats an hour
    when daylight saving ends)."""

    #: str id -> the user's id value, where some id was not a string
    id_values: dict = field(default_factory=dict)
    #: the time zone of tz-aware times, and whether they are held in UTC (else as local wall-clock times)
    tz: str | None = None
    tz_utc: bool = False
    #: the id columns a joined id came from (``store``, ``item``), where several named the series; their values
    #: are then ``id_values``' (a list for each id)
    id_columns: list = field(default_factory=list)

    def frame(self, df):
        """``df`` (columns ``id``, ``time``, ``origin`` where present) in the user's ids and time zone (a copy);
        a joined id goes back as its columns."""
        import pandas as pd

        if not self.id_values and self.tz is None:
            return df
        out = df.copy()
        if self.id_columns and "id" in out.columns:
            at = list(out.columns).index("id")
            for k, c in enumerate(self.id_columns):
                out.insert(at + k, c, out["id"].map(lambda v: self.id_values.get(v, [v] * (k + 1))[k]).infer_objects(),
                           allow_duplicates=True)
            out = out.drop(columns="id")
        elif self.id_values and "id" in out.columns:
            out["id"] = out["id"].map(lambda v: self.id_values.get(v, v)).infer_objects()
        if self.tz is not None:
            for col in ("time", "origin"):
                if col in out.columns and len(out) and pd.api.types.is_datetime64_any_dtype(out[col]):
                    out[col] = self.times(out[col])
        return out

    def times(self, values):
        """Naive times as held inside, in the user's time zone."""
        import pandas as pd

        idx = pd.DatetimeIndex(values)
        if self.tz_utc:
            idx = idx.tz_localize("UTC").tz_convert(self.tz)
        else:  # a wall-clock time that occurs twice reads as standard time; one skipped moves forward
            idx = idx.tz_localize(self.tz, ambiguous=np.zeros(len(idx), dtype=bool), nonexistent="shift_forward")
        return idx if not isinstance(values, pd.Series) else pd.Series(idx, index=values.index, name=values.name)

    def to_dict(self) -> dict:
        return {"id_values": [[k, v] for k, v in self.id_values.items()], "tz": self.tz, "tz_utc": self.tz_utc,
                "id_columns": list(self.id_columns)}

    @classmethod
    def from_dict(cls, d: dict | None) -> "OutputForm":
        d = d or {}
        return cls({k: v for k, v in d.get("id_values", [])}, d.get("tz"), bool(d.get("tz_utc", False)),
                   list(d.get("id_columns", [])))


def _err(path, msg: str) -> ValueError:
    return ValueError(f"load_series: {path}: {msg}")


def table_dialect(header: str) -> dict:
    """``read_csv``'s separator (and decimal mark) for a table, from its
    header line: ``;`` (then with decimal commas, the European form), a tab or
    ``|`` where the header has more of them than commas; else the comma."""
    sep = max((",", ";", "\t", "|"), key=lambda k: (header.count(k), k == ","))
    return {"sep": ";", "decimal": ","} if sep == ";" else {"sep": sep}


#: bytes Windows-1252 leaves undefined: a file holding one is read as Latin-1 instead
_CP1252_HOLES = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


def text_encoding(path: Path, opener=open) -> tuple[str, str | None]:
    """The encoding to read a text table with, and a note where it is not UTF-8.

    UTF-8 (a byte-order mark or none) as it is; UTF-16 with its byte-order mark (Excel's "Unicode Text");
    any other file that does not decode as UTF-8 as Windows-1252, the encoding of Excel's "CSV" on Windows
    (Latin-1 where it holds a byte Windows-1252 leaves undefined), with a note naming the first such byte.
    A NUL byte in a file that is not UTF-16 is binary data: ``ValueError`` naming the line. The file is read
    in pieces of a megabyte, cut after a line's end (no character is split), so memory does not grow with it."""
    with opener(path, "rb") as fh:
        if fh.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            return "utf-16", "the file is UTF-16 text (as Excel saves 'Unicode Text'): read as such"
        fh.seek(0)
        carry, line, bad, holes = b"", 1, None, False
        while True:
            chunk = fh.read(1 << 20)
            buf = carry + chunk
            cut = buf.rfind(b"\n") + 1 if chunk else len(buf)
            piece, carry = buf[:cut], buf[cut:]
            nul = piece.find(b"\x00")
            if nul >= 0:
                at = line + piece.count(b"\n", 0, nul)
                raise _err(path, f"line {at}: expected CSV text, got a NUL byte (a binary file?)")
            if bad is None and not piece.isascii():  # (plain ASCII, most tables of numbers: nothing to decode)
                try:
                    piece.decode("utf-8")
                except UnicodeDecodeError as e:
                    bad = (piece[e.start], line + piece.count(b"\n", 0, e.start))
            holes = holes or (bad is not None and any(h in piece for h in _CP1252_HOLES))
            line += piece.count(b"\n")
            if not chunk:
                break
    if bad is None:
        return "utf-8-sig", None
    enc, name = ("latin-1", "Latin-1") if holes else ("cp1252", "Windows-1252")
    return enc, (f"the file is not UTF-8 (byte 0x{bad[0]:02x} on line {bad[1]}): read as {name}, the encoding "
                 f"of Excel's CSV on Windows (save it as UTF-8 to be sure of its accented letters)")


def lines_before_header(lines: list[str]) -> int:
    """How many lines before a table's header are not the table (a title such as ``Sales export 2023`` or
    ``# from the logger``, blank lines): the fewest, at most 5, after which a line of two or more fields is
    followed at once by lines of as many fields (the next ten that are not blank), where every line before it
    is blank, has one field or starts with ``#``, or a blank line ends them; 0 otherwise (a header shorter than
    its rows, ``Month,Sales`` above ``2020-01,5,``, stays the header)."""
    import csv

    def fields(line: str, sep: str) -> int:
        return len(next(csv.reader([line], delimiter=sep), [])) if line.strip() else 0

    for k in range(min(6, len(lines))):
        if not lines[k].strip():
            continue
        sep = table_dialect(lines[k])["sep"]
        width = fields(lines[k], sep)
        rest = [fields(x, sep) for x in lines[k + 1:] if x.strip()][:10]
        if width < 2 or not rest or any(w != width for w in rest) or (k + 1 < len(lines) and not lines[k + 1].strip()):
            continue  # not a header: too few fields, unlike the lines after it, or a blank line after it (a title)
        before = lines[:k]
        title = all(fields(x, sep) <= 1 or x.lstrip().startswith("#") for x in before)  # not a shorter header
        return k if title or (before and not before[-1].strip()) else 0
    return 0


def metadata_lines(lines: list[str]) -> int:
    """How many lines of ``key,value`` metadata stand above a table that has no header, as the UK's Office for
    National Statistics writes its series (``"Title","CPIH ANNUAL RATE ..."``, ``"CDID","L55O"``, ... then
    ``"1989","4.1"``): the leading lines whose first cell starts with a letter, at least three (a header and a
    row of units under it are two: :func:`units_row`), where the next :data:`MIN_CODED_ROWS` lines or more (to
    the end of ``lines``) start with a four-digit year; 0 otherwise."""
    full = [x for x in lines if x.strip()]
    if not full:
        return 0
    sep = table_dialect(full[0])["sep"]
    first = [_cells(x, sep)[0] if x.strip() else "" for x in lines]
    k = next((i for i, c in enumerate(first) if re.match(r"\d{4}\b", c)), 0)
    after = [c for c in first[k:] if c]
    if k < 3 or not all(re.match(r"[^\W\d_]", c) for c in first[:k] if c) or len(after) < MIN_CODED_ROWS or \
            not all(re.match(r"\d{4}\b", c) for c in after[:-1]):  # (the last line of the piece may be cut)
        return 0
    return k


#: a year, a quarter or a month as the ONS writes them in one column (``1989``, ``1989 Q1``, ``1989 JAN``)
_ONS_PERIOD = {"year": r"\d{4}", "quarter": r"\d{4} ?Q[1-4]", "month": r"\d{4} ?[A-Za-z]{3}"}


def finest_periods(df, notes: list[str]):
    """``df`` with only the rows of its finest frequency where its first column holds years, quarters and months
    together (``1989``, ``1989 Q1``, ``1989 JAN``: an ONS series at every frequency it is published at, one
    after another), with a note naming what was left out; ``df`` as it is otherwise."""
    if df.shape[1] < 2 or len(df) == 0:
        return df
    col = df.iloc[:, 0].astype(str).str.strip()
    kinds = {k: col.str.fullmatch(p) for k, p in _ONS_PERIOD.items()}
    present = [k for k, m in kinds.items() if m.any()]
    if len(present) < 2 or not (kinds["year"] | kinds["quarter"] | kinds["month"]).all():
        return df
    finest = present[-1]  # months, else quarters
    left = {k: int(kinds[k].sum()) for k in present if k != finest}
    out = df[kinds[finest].to_numpy()].reset_index(drop=True)
    out.attrs.update(df.attrs)
    notes.append(f"the first column holds the series at several frequencies: its {int(kinds[finest].sum())} "
                 f"{finest}s kept, " + " and ".join(f"{n} {k}s" for k, n in left.items()) + " left out")
    return out


def _cells(line: str, sep: str) -> list[str]:
    """A CSV line's cells, stripped of spaces and quotes (a first look at the file, before pandas reads it)."""
    return [c.strip().strip('"') for c in line.split(sep)]


def _month_dot_year_columns(rows: list[str], sep: str | None) -> list[int]:
    """The positions of the columns whose every cell in the data lines ``rows`` (up to 20, at least
    :data:`MIN_CODED_ROWS`; a first cell without digits, a row of units, aside) is a month with a dot
    (``01.2020``, or ``2020.01``), in a file whose decimal mark is a point: pandas would read ``01.2020`` as the
    number 1.202, ``10.2020`` as 10.202 and ``2020.01`` as a number. ``[]`` where there are none."""
    if sep not in (",", "\t", "|"):
        return []
    cells = [_cells(ln, sep) for ln in rows[:21] if ln.strip()]
    if cells and not any(ch.isdigit() for ch in "".join(cells[0])):
        cells = cells[1:]  # a row of units under the header
    if len(cells) < MIN_CODED_ROWS:
        return []
    width = min(len(r) for r in cells)
    return [k for k in range(width) if all(re.fullmatch(_MONTH_DOT_YEAR, r[k]) for r in cells)
            or all(re.fullmatch(_YEAR_DOT_MONTH, r[k]) for r in cells)]


def _split_dimensions(df, notes: list[str]):
    """Eurostat's layout (``freq,unit,geo\\TIME_PERIOD`` over cells ``M,I15,AT``, the periods across the header):
    the first column split into one column per dimension, those that are the same in every row left out, with a
    note; where several vary they are kept as one column (``unit/geo``: ``I15/AT``). ``df`` as it is elsewhere."""
    import pandas as pd

    first = str(df.columns[0])
    if "\\" not in first or df.empty:
        return df
    dims = [d.strip() for d in first.split("\\")[0].split(",")]
    parts = df.iloc[:, 0].astype(str).str.split(",", expand=True)
    if parts.shape[1] != len(dims) or len(set(dims)) != len(dims) or any(d in df.columns[1:] for d in dims):
        return df
    parts.columns = dims
    same = [d for d in dims if parts[d].nunique() == 1]
    vary = [d for d in dims if d not in same]
    if not vary:
        return df
    key = "/".join(vary)
    ids = parts[vary].apply(lambda r: "/".join(r), axis=1) if len(vary) > 1 else parts[vary[0]]
    out = pd.concat([ids.rename(key), df.iloc[:, 1:]], axis=1)
    out.attrs.update(df.attrs)
    kept = ", ".join(f"{d} {parts[d].iloc[0]!r}" for d in same)
    notes.append(f"column {first!r} (Eurostat's dimensions, the time across the header): {key!r} names the series"
                 + (f"; the same in every row, left out: {kept}" if same else ""))
    return out


#: compressed text tables read as they are (pandas reads them by the same suffixes)
COMPRESSED = (".gz", ".bz2", ".xz", ".zip")


def _opener(path: Path, suffix: str):
    """``open``-like for the file's bytes: through gzip, bz2 or lzma, or the one file inside a zip archive."""
    if suffix == ".gz":
        import gzip
        return gzip.open
    if suffix == ".bz2":
        import bz2
        return bz2.open
    if suffix == ".xz":
        import lzma
        return lzma.open
    if suffix == ".zip":
        import zipfile

        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise _err(path, f"expected one file inside the zip archive, got {len(names)}"
                       + (f" ({', '.join(names[:5])}{' ...' if len(names) > 5 else ''}): unpack the one to read"
                          if names else ""))
        import contextlib

        @contextlib.contextmanager
        def member(p, mode="rb"):
            with zipfile.ZipFile(p) as z, z.open(names[0]) as f:
                yield f
        return member
    return open


def read_table(path: str | Path):
    """A pandas DataFrame from a .csv/.tsv/.txt or .parquet file, with clear errors."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_series: file not found: {path}")
    if path.stat().st_size == 0:
        raise _err(path, "the file is empty; expected a header row and data rows")
    suffix = path.suffix.lower()
    if suffix == ".tsf":  # the Monash forecasting archive's format: its own reader, which names the columns
        from .tsf import read_tsf

        df = read_tsf(path)
        df.attrs.update(source=str(path), decimal=".")
        return df
    text = suffix in (".csv", ".txt", ".tsv", *COMPRESSED)
    notes: list[str] = []
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif text:
            opener = _opener(path, suffix)
            encoding, note = text_encoding(path, opener)
            if note:
                notes.append(note)
            with opener(path, "rb") as fh:  # the first lines, for a title above the header and the separator
                head = fh.read(1 << 16).decode(encoding, "replace")
            lines = [x.rstrip("\r") for x in head.split("\n", 30)[:30]]
            skip = lines_before_header(lines)
            meta = 0 if skip else metadata_lines(lines)  # 'key,value' lines above a table without a header
            skip = skip or meta
            # the separator (and decimal mark) of a .csv from its header line, and of a .txt whose header has one of
            # those separators (a ';' .txt export with decimal commas); the others (spaces): pandas' sniffer
            inner = Path(path.stem).suffix.lower() if suffix in COMPRESSED else suffix  # 'x.tsv.gz': '.tsv'
            header_line = lines[skip] if skip < len(lines) else ""
            dialect = table_dialect(header_line) if inner in (".csv", ".tsv") or (
                inner == ".txt" and any(c in header_line for c in ",;\t|")) else {"sep": None, "engine": "python"}
            dialect["encoding"] = encoding
            months = _month_dot_year_columns(lines[skip + 1:], dialect.get("sep"))
            if months:  # '01.2020' in a comma file: pandas would read the number 1.202
                header = _cells(lines[skip], dialect["sep"])
                dialect["dtype"] = {header[k]: str for k in months if k < len(header)}
            # index_col=False: rows with a separator at their end (one field more than the header) would
            # otherwise make pandas take the first column for the index and shift every value one column on
            df = pd.read_csv(path, skiprows=skip, index_col=False, **dialect)
        else:
            sheet = " (save the sheet as CSV: File > Save As > CSV UTF-8)" if suffix in (".xlsx", ".xls", ".ods") else ""
            raise _err(path, f"expected a .csv (or .tsv, .txt; compressed .gz, .bz2, .xz, .zip), .parquet or .tsf "
                             f"file, got {suffix or 'no extension'!r}{sheet}")
    except pd.errors.EmptyDataError:
        raise _err(path, "the file is empty; expected a header row and data rows") from None
    except pd.errors.ParserError as e:
        raise _err(path, f"could not parse as CSV: {e}") from None
    if len(df) == 0:
        raise _err(path, f"no data rows (only the header {list(df.columns)})")
    df.columns = [str(c).strip() for c in df.columns]
    if text and skip:
        title = " | ".join(x.strip() for x in lines[:skip] if x.strip())
        notes.append(f"{skip} line(s) {'of metadata before the table' if meta else 'before the header'} left out "
                     f"({title[:80]!r})")
        df.attrs["header_lines"] = skip + 1
    if text and header_is_data(list(df.columns)):
        first = ",".join(df.columns)
        if inner == ".csv":  # every line is data: the months with a dot counted from the first
            months = _month_dot_year_columns(lines[skip:], dialect.get("sep"))
            dialect["dtype"] = {k: str for k in months} if months else None
        df = pd.read_csv(path, header=None, skiprows=skip, **dialect)
        df.columns = [f"column_{k + 1}" for k in range(df.shape[1])]
        df.attrs["header_lines"] = skip
        notes.append(f"the file has no header row (its first line, {first!r}, is data): its columns are named "
                     f"{', '.join(df.columns)}")
    if text and units_row(df, dialect.get("decimal", ".")):
        first = ", ".join(f"{c}: {str(v).strip()!r}" for c, v in df.iloc[0].items() if not pd.isna(v))
        names = list(df.columns)  # read again without that row, so that pandas types the columns (decimal commas)
        df = pd.read_csv(path, skiprows=[*range(skip), skip + 1], index_col=False, **dialect)
        df.columns = names
        df.attrs["header_lines"] = skip + 2
        notes.append(f"the row under the header holds units or labels ({first[:80]}): left out")
    if text:
        again = _repeated_header_rows(df)
        if len(again):  # files joined one after another ('cat *.csv'): their headers read again without them
            lines = df.attrs.get("header_lines", skip + 1)
            names = list(df.columns)
            kept = np.delete(np.arange(len(df)), again)
            df = pd.read_csv(path, skiprows=[*range(lines - 1), *(lines + int(r) for r in again)], index_col=False,
                             **dialect)
            df.columns = names
            df.attrs["header_lines"] = lines
            df.attrs["row_positions"] = kept
            notes.append(f"{len(again)} line(s) repeating the header (files joined one after another) left out, the "
                         f"first at row {int(again[0]) + 1 + lines}")
    df = _split_dimensions(df, notes)
    if text:
        df = finest_periods(df, notes)
    df.attrs["source"] = str(path)
    df.attrs["decimal"] = dialect.get("decimal", ".") if text else "."
    df.attrs["file_rows"] = True
    df.attrs["read_notes"] = notes
    return df


def _repeated_header_rows(df) -> np.ndarray:
    """The positions of the rows whose every cell is its column's name (a header again, where files were joined
    one after another)."""
    if len(df.columns) < 2 or len(df) < 2:
        return np.array([], dtype="int64")
    same = np.ones(len(df), dtype=bool)
    for c in df.columns:
        col = df[c]
        if col.dtype != object:
            return np.array([], dtype="int64")  # a column pandas typed as numbers holds no header
        same &= (col.astype(str).str.strip() == str(c).strip()).to_numpy()
    return np.flatnonzero(same)


def _names_a_date(cell: str) -> bool:
    """Whether a header cell is a date (``2015-07-01``, ``1949-01``, ``01/02/2020``): digits on both sides of a
    date separator, and pandas reads it."""
    import warnings

    import pandas as pd

    if not re.search(r"\d[-/.:]\d", cell):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return not pd.isna(pd.to_datetime(cell, errors="coerce"))


def header_is_data(names: list[str]) -> bool:
    """Whether a CSV's header cells are a first line of data (``1949-01,112``: a file written without a header,
    whose first values would otherwise become column names): every cell a number or a date, some cell a number,
    and some cell a date, a number with a decimal point or an exponent, or the only cell. Whole numbers alone
    (``1,2,3``: series may be numbered) and dates alone (one row per series, :func:`dates_across`) stay a
    header."""
    cells = [str(c).strip() for c in names]
    if not cells or any(c == "" or c.startswith("Unnamed: ") for c in cells):
        return False
    numbers = [c for c in cells if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", c)]
    dates = [c for c in cells if c not in numbers and _names_a_date(c)]
    if len(numbers) + len(dates) != len(cells):
        return False
    return bool(numbers) and (bool(dates) or len(cells) == 1 or any(re.search(r"[.eE]", c) for c in numbers))


def units_row(df, decimal: str = ".") -> bool:
    """Whether a table's first row holds units or labels under its header (``,kW,degC`` under
    ``Timestamp,Power,Temp``, as data loggers write them): three rows or more, every filled cell of the first
    row text that is neither a number nor a date, and some column a number in every later row that has a value."""
    import pandas as pd

    if len(df) < 3:
        return False
    first = df.iloc[0]
    cells = [str(v).strip() for v in first if not pd.isna(v) and str(v).strip()]
    def number(c: str) -> bool:  # (thousands separators, signs and units: as the value columns read them)
        return pd.notna(pd.to_numeric(c.replace(decimal, "."), errors="coerce")) or reads_as_numbers(pd.Series([c]))

    if not cells or any(number(c) or c in MISSING_MARKERS or _names_a_date(c) for c in cells):
        return False  # a number, a missing-value mark or a date: a row of data
    def numbers_below(c) -> bool:
        rest = df[c].iloc[1:].dropna()
        if decimal != "." and not pd.api.types.is_numeric_dtype(rest):
            rest = rest.astype(str).str.replace(decimal, ".", regex=False)
        return len(rest) > 0 and (bool(pd.to_numeric(rest, errors="coerce").notna().all()) or reads_as_numbers(rest))

    return any(not pd.isna(first[c]) and numbers_below(c) for c in df.columns)


def whole_numbers(a) -> bool:
    """Whether every value is a finite whole number (``inf`` is not, and raises no numpy warning on the way)."""
    a = np.asarray(a, dtype="float64")
    return bool(np.isfinite(a).all()) and bool((np.mod(a, 1) == 0).all())


def where_row(df, i: int) -> str:
    """``row N`` (file row, header = row 1) for a frame read from a file, ``position i`` for one made in memory;
    in a table melted from dates across the header (:func:`dates_across`), the row the value came from."""
    if "__row__" in df.columns:  # the melted rows keep their own
        i = int(df["__row__"].iloc[i])
    if df.attrs.get("row_positions") is not None:  # lines left out between the data rows (headers repeated)
        i = int(df.attrs["row_positions"][i])
    return f"row {i + 1 + df.attrs.get('header_lines', 1)}" if df.attrs.get("file_rows") else f"position {i}"


def _read_ids(df, cols: list, path, notes: list[str]) -> None:
    """The id columns ``cols`` of ``df`` (the loader's own copy) made fit to name series. A row whose id is missing
    is refused: it belongs to no series (read as text, it made one named 'nan', and its series lost the row), as
    a row without a timestamp has no place in one. Text ids are read without the spaces around them ('b ' as 'b',
    as a padded export or a spreadsheet writes them), with a note: read as they were, the rows of one series split
    into two, and the forecasts of the first started days early."""
    import pandas as pd

    for c in cols:
        col = df[c]
        gone = col.isna().to_numpy()
        if gone.any():
            raise _err(path, f"column {c!r} {where_row(df, int(np.flatnonzero(gone)[0]))}: missing series id "
                             f"({int(gone.sum())} row(s) without one; drop them or give them an id)")
        if not (col.dtype == object or isinstance(col.dtype, pd.StringDtype)):
            continue
        text = col.astype(str)
        bare = text.str.strip()
        moved = (text != bare).to_numpy()
        if moved.any():
            df[c] = col.where(~moved, bare)
            first = text[moved].iloc[0]
            notes.append(f"{int(moved.sum())} id(s) in column {c!r} with spaces around them read without ({first!r} "
                         f"as {first.strip()!r})")


def _need(df, path, cols: list[str], role: str) -> None:
    for c in cols:
        if c not in df.columns:
            raise _err(path, f"no {role} column {c!r}; the columns are {list(df.columns)}")


#: a number written with commas between groups of three digits and a decimal point (1,124.86; 12,000)
_GROUPED = r"\d{1,3}(,\d{3})+(\.\d+)?"
#: thousands separators: a comma, or in a decimal-comma file a point (1.234,5, German); a space, no-break or narrow
#: no-break space (1 234,5, French); an apostrophe (1'234.50, Swiss). None of them can be the decimal mark there
GROUP_MARKS = (",", ".", " ", "\u00a0", "\u202f", "'")


def _grouped_forms(text, decimal: str) -> dict:
    """For each thousands separator that is not ``decimal``: which values of ``text`` are numbers grouped by it."""
    d = re.escape(decimal)
    return {m: text.str.fullmatch(rf"[-+]?\d{{1,3}}({re.escape(m)}\d{{3}})+({d}\d+)?")
            for m in GROUP_MARKS if m != decimal}


def grouped_numbers(text, decimal: str = "."):
    """``(values, mark)`` where every value of ``text`` (stripped strings) is a number written with the file's
    ``decimal`` mark, some with one and the same thousands separator between groups of exactly three digits
    (:data:`GROUP_MARKS`, never the decimal mark): ``1,234.5`` and ``999.5``; ``1.234,5`` and ``999,5`` in a
    decimal-comma file; ``None`` otherwise (no value grouped, or marks mixed)."""
    import pandas as pd

    d = re.escape(decimal)
    for mark, grouped in _grouped_forms(text, decimal).items():
        if grouped.any() and (grouped | text.str.fullmatch(rf"[-+]?(\d+({d}\d*)?|{d}\d+)")).all():
            plain = text.str.replace(mark, "", regex=False).str.replace(decimal, ".", regex=False)
            return pd.to_numeric(plain, errors="coerce"), mark
    return None


#: cells that stand for a missing value where a number is expected (UCI's files write '?', statistics tables a
#: dash); pandas reads its own markers ('', 'NA', 'NaN', 'null', '#N/A', ...) as missing already
MISSING_MARKERS = ("?", "-", "--", ".", "\u2013", "\u2014",
                   ":",  # Eurostat's 'not available'
                   "n/e", "N/E",  # ENTSO-E's 'not expected'
                   "n.a.", "N.A.", "n.v.", "k.A.",  # 'not available' in English and German reports
                   "#DIV/0!", "#VALUE!", "#REF!", "#NUM!", "#NAME?", "#NULL!")  # a spreadsheet's error cells
#: a number with Eurostat's flags after a space (``101.2 p``: provisional; b break in series, c confidential, d
#: definition differs, e estimated, f forecast, n not significant, r revised, s Eurostat estimate, u low
#: reliability, z not applicable), read as the number; ``: c`` (no value, a flag) is missing
_FLAGGED = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s+[bcdefnprsuz]{1,4}"
_FLAGGED_MISSING = r":\s*[bcdefnprsuz]{1,4}"
#: a number in parentheses, as accounts write a negative one (``(1,234.50)``, ``(12)``)
_PARENTHESES = r"\(\s*\d[\d.,' \u00a0\u202f]*\s*\)"
#: a value below a limit (``<1``, ``< 0.05``), as Google Trends writes its smallest shares and laboratories their
#: readings below a detection limit: read as half the limit (the usual substitution for a censored value)
_BELOW = r"<\s*(\d+(\.\d*)?|\.\d+)"


def reads_as_numbers(col) -> bool:
    """Whether a column holds numbers: of a numeric type, or text whose every value is a number, some written
    with thousands separators or some missing-value markers such as ``?`` (what :func:`numeric_column` reads); so
    that a spreadsheet's ``"1,124.86"`` column, or a UCI file's column with ``?`` for missing values, counts as
    a value column where none is named."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(col):
        return not pd.api.types.is_bool_dtype(col)
    text = col.dropna().astype(str).str.strip()
    marked = text.isin(MISSING_MARKERS) | text.str.fullmatch(_BELOW)
    text = text[(text != "") & ~marked]
    if len(text) and _one_sign(text, text == text) is not None:  # '$983.94', '9.8%' in every value
        return True
    if len(text) and grouped_numbers(text, col.attrs.get("decimal", ".")) is not None:
        return True
    if decimal_commas(col) is not None:  # '104,08' in a frame read without decimal=','
        return True
    return bool(marked.any()) and bool(pd.to_numeric(text, errors="coerce").notna().all())


#: a number with a currency sign before it or a percent sign, currency sign or unit after it ($983.94, 9.8%, 40 kg)
_SIGNED = re.compile(rf"(?P<pre>[$€£¥])?\s*(?P<num>[-+]?\s*({_GROUPED}|\d+(\.\d*)?|\.\d+))\s*"
                     r"(?P<post>%|[$€£¥]|[A-Za-z]{1,3})?")


def _one_sign(raw, present):
    """``(values, sign)`` where every present value of ``raw`` is a number written with one and the same currency
    sign before it (``$983.94``, ``€ 3``) or one and the same percent sign, currency sign or unit of up to three
    letters after it (``9.8%``, ``40 kg``), thousands separators allowed; ``None`` otherwise (a sign on some
    values only, or mixed signs, stays an error: ``$5`` beside ``€5`` or ``5%`` beside ``0.05`` would be read
    wrong)."""
    import pandas as pd

    text = raw[present].astype(str).str.strip()
    if len(text) == 0 or not text.iloc[:100].str.fullmatch(_SIGNED.pattern).all():  # ids and words fail fast
        return None
    if pd.to_numeric(text, errors="coerce").notna().any():
        return None
    parts = text.str.extract(_SIGNED.pattern)
    full = text.str.fullmatch(_SIGNED.pattern)
    pre, post = parts["pre"].fillna(""), parts["post"].fillna("")
    signs = set(pre + "|" + post)
    if not full.all() or len(signs) != 1 or signs == {"|"} or ((pre != "") & (post != "")).any() or \
            post.iloc[0].lower() in ("am", "pm"):  # '3 pm' is a time of day
        return None
    number = pd.to_numeric(parts["num"].str.replace(r"[\s,]", "", regex=True), errors="coerce")
    if number.isna().any():
        return None
    sign = (pre.iloc[0] or post.iloc[0])
    return pd.Series(number.to_numpy(), index=text.index).reindex(raw.index), sign


def _points_in_comma_file(raw, num, name: str, notes: list[str] | None):
    """``num`` for a text column of a ';' file (decimal commas) that pandas read whole once a point was taken for
    the decimal mark: where every value with a point is a whole number grouped by it (``1.252``) and the others
    are whole numbers of up to three digits, some of three (``723``), the point separates thousands (read as
    decimals the series would drop 600-fold wherever it passes 1000), said in ``notes``; where every value has
    one (``2.000``, ``1.252``) it stays a decimal point, and the note says the reading is a guess."""
    import pandas as pd

    text = raw[raw.notna()].astype(str).str.strip()
    dotted = text.str.contains(".", regex=False)
    if not dotted.any() or not text[dotted].str.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+").all():
        return num
    first = text[dotted].iloc[0]
    rest = text[~dotted]
    if rest.str.fullmatch(r"[-+]?\d{1,3}").all() and rest.str.fullmatch(r"[-+]?\d{3}").any():
        num = num.where(raw.isna(), pd.to_numeric(text.str.replace(".", "", regex=False)).reindex(raw.index))
        said = (f"{int(dotted.sum())} whole number(s) such as {first!r} with a point before groups of three digits, "
                f"beside whole numbers of up to three digits, in a ';' file: the point read as the thousands separator "
                f"({float(num[text[dotted].index[0]]):g})")
    elif rest.empty:
        said = (f"a ';' file, whose decimal mark is a comma, yet {int(dotted.sum())} value(s) such as {first!r} have a "
                f"point before groups of three digits: read with the point as the decimal mark "
                f"({float(num[text[dotted].index[0]]):g}); where it separates thousands, write the numbers without it")
    else:
        return num
    if notes is not None:
        notes.append(f"{name}: {said}")
    return num


def decimal_commas(raw):
    """A text column of numbers written with a decimal comma (``'104,08'``, and grouped ``'9.839,61'``), in a frame
    that did not come from a file (a file's dialect says its decimal mark): the numbers, or ``None``. Only where
    some value has other than three digits after its comma, so that the comma cannot be a thousands separator
    (``'1,234'`` stays unread)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(raw) or "decimal" in raw.attrs:
        return None
    text = raw.dropna().astype(str).str.strip()
    after = text.str.extract(r",(\d+)$")[0].dropna()
    if not len(text) or not len(after) or (after.str.len() == 3).all():
        return None
    if text.str.fullmatch(r"[-+]?\d+(,\d+)?").all():
        return pd.to_numeric(raw.astype(str).str.strip().str.replace(",", ".", regex=False), errors="coerce")
    grouped = grouped_numbers(text, ",")  # '9.839,61', '9 839,61': thousands grouped, as in a decimal-comma file
    return None if grouped is None else grouped[0].reindex(raw.index)


def numeric_column(df, col: str, path, allow_missing: bool = True, notes: list[str] | None = None):
    """Column as float, raising on values that are present but not numbers. Numbers written with thousands
    separators (``"1,124.86"``, a spreadsheet's number format: commas between groups of exactly three digits, a
    point before the decimals), and columns whose every value carries the same currency sign, percent sign or
    unit (:func:`_one_sign`), are read, said in ``notes``; ``?`` and dashes are missing (:data:`MISSING_MARKERS`)."""
    import pandas as pd

    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna()
    name = "the series columns" if col.startswith("__") else f"column {col!r}"  # in the notes
    commas = decimal_commas(raw) if bad.any() else None  # None for a file's column: its attrs carry the decimal mark
    if commas is not None:  # a frame read without decimal=',': '104,08' is 104.08
        if notes is not None:
            first = raw[bad].astype(str).str.strip().iloc[0]
            notes.append(f"{name}: numbers written with a decimal comma (such as {first!r}) read as "
                         f"{float(commas[bad].iloc[0]):g}")
        return commas.astype("float64")
    if not bad.any():  # numbers (and missing values) only: the common case, nothing more to read
        if df.attrs.get("decimal", ".") != "." and not pd.api.types.is_numeric_dtype(raw):
            num = _points_in_comma_file(raw, num, name, notes)
        return num.astype("float64")
    stripped = raw[bad].astype(str).str.strip()  # only the values pandas could not read
    marked = bad.copy()
    marked[bad] = (stripped.isin(MISSING_MARKERS) | stripped.str.fullmatch(_FLAGGED_MISSING)).to_numpy()
    bad[bad] = (stripped != "").to_numpy()
    if marked.any() and allow_missing:  # '?' or a dash for a missing value: missing, said in the notes
        bad = bad & ~marked
        if notes is not None:
            kinds = sorted(set(raw[marked].astype(str).str.strip()))
            notes.append(f"{name}: {int(marked.sum())} value(s) written {' or '.join(map(repr, kinds))} read as "
                         f"missing (first at {where_row(df, int(np.flatnonzero(marked.to_numpy())[0]))})")
    below = bad & raw.astype(str).str.strip().str.fullmatch(_BELOW).fillna(False).astype(bool)
    if below.any():  # '<1': below a limit, read as half of it
        text = raw[below].astype(str).str.strip()
        num = num.where(~below, pd.to_numeric(text.str.lstrip("<").str.strip(), errors="coerce") / 2)
        bad = bad & ~below
        if notes is not None:
            kinds = sorted(set(text))
            shown = " or ".join(map(repr, kinds[:3])) + (" ..." if len(kinds) > 3 else "")
            notes.append(f"{name}: {int(below.sum())} value(s) written {shown} (below a limit, as Google Trends and "
                         f"laboratories write them) read as half the limit ({float(num[below].iloc[0]):g}; first at "
                         f"{where_row(df, int(np.flatnonzero(below.to_numpy())[0]))})")
    negative = bad & raw.astype(str).str.strip().str.fullmatch(_PARENTHESES).fillna(False).astype(bool)
    if negative.any():  # '(1,234.50)': an accountant's negative number
        text = raw[negative].astype(str).str.strip()
        inner = text.str.strip("()").str.strip()
        decimal = df.attrs.get("decimal", ".")
        grouped = grouped_numbers(inner, decimal)
        plain = grouped[0] if grouped is not None else \
            pd.to_numeric(inner.str.replace(decimal, ".", regex=False), errors="coerce")
        negative[negative] = plain.notna().to_numpy()
        num = num.where(~negative, -plain.reindex(raw.index))
        bad = bad & ~negative
        if notes is not None:
            notes.append(f"{name}: {int(negative.sum())} value(s) in parentheses such as {text.iloc[0]!r} (an "
                         f"accountant's negative numbers) read as {float(num[negative].iloc[0]):g}")
    flagged = bad & raw.astype(str).str.strip().str.fullmatch(_FLAGGED).fillna(False).astype(bool)
    if flagged.any() and not _one_sign(raw, bad | (num.notna() & raw.notna())):  # '101.2 p' beside '99.8'
        text = raw[flagged].astype(str).str.strip()
        num = num.where(~flagged, pd.to_numeric(text.str.extract(f"^{_FLAGGED}$")[0], errors="coerce"))
        bad = bad & ~flagged
        if notes is not None:
            kinds = sorted(set(text.str.split().str[-1]))
            notes.append(f"{name}: {int(flagged.sum())} value(s) with Eurostat's flags ({', '.join(kinds)}: p "
                         f"provisional, e estimated, b break in series, ...) such as {text.iloc[0]!r} read as the "
                         f"numbers ({float(num[flagged].iloc[0]):g})")
    signed = _one_sign(raw, bad | (num.notna() & raw.notna()))
    if signed is not None:  # every value written with the same currency sign, percent sign or unit
        values, sign = signed
        num = num.where(~bad, values)
        if notes is not None:
            first = raw[bad].astype(str).str.strip().iloc[0]
            notes.append(f"{name}: every value written with {sign!r} (such as {first!r}): read as the number without "
                         f"it ({float(num[bad].iloc[0]):g})")
        return num.astype("float64")
    if bad.any():
        # every value read again, not only those pandas left as text: in a decimal-comma file pandas takes
        # '1.234' for 1.234 where '1.234,5' beside it shows the point is the thousands separator
        read = (bad | num.notna()) & raw.notna() & ~below & ~marked & ~negative & ~flagged
        grouped = grouped_numbers(raw[read].astype(str).str.strip(), df.attrs.get("decimal", "."))
        if grouped is not None:
            values, mark = grouped
            num = num.where(~read, values.reindex(raw.index))
            if notes is not None:
                text = raw[read].astype(str).str.strip()
                marked_ones = text[text.str.contains(mark, regex=False)]
                notes.append(f"{name}: {len(marked_ones)} number(s) with thousands separators ({mark!r}) such as "
                             f"{marked_ones.iloc[0]!r} read as {float(num[marked_ones.index[0]]):g}")
            return num.astype("float64")
        decimal = df.attrs.get("decimal", ".")
        if decimal != ".":  # '880,50' in a ';' file is a number: name the value that is not one
            fine = pd.to_numeric(raw[bad].astype(str).str.strip().str.replace(decimal, ".", regex=False),
                                 errors="coerce").notna().to_numpy()
            if not fine.all():
                bad[bad] = ~fine
        i = int(np.flatnonzero(bad.to_numpy())[0])
        hint = ""
        used = {m: g for m, g in _grouped_forms(raw[read].astype(str).str.strip(), decimal).items() if g.any()}
        if len(used) > 1:  # '1.234,5' and '1 234,5' in one column: name a value of the rarer kind
            odd = min(used, key=lambda m: int(used[m].sum()))
            i = int(np.flatnonzero(read.to_numpy())[int(np.flatnonzero(used[odd].to_numpy())[0])])
            hint = ("two kinds of thousands separator in the column, "
                    + " and ".join(f"{m!r} in {int(g.sum())} value(s)" for m, g in used.items()) + ": write one kind")
        text = "" if hint else str(raw.iloc[i]).strip()  # the other hints: from the value named
        if re.fullmatch(r"[-+]?\d{1,3}([,.' ]\d{3})+([.,]\d+)?", text):
            hint = ("; thousands separators are read only between groups of exactly three digits, one kind in a "
                    "column and never the file's decimal mark (1,234.5; 1.234,5 in a ';' file; 1 234,5): write the "
                    "numbers without them")
        elif re.fullmatch(r"[-+]?\s*[$€£¥]\s*[-+]?[\d.,' ]+|[-+]?[\d.,' ]+\s*(%|[$€£¥]|[A-Za-z]{1,3})", text):
            hint = "; units and currency or percent signs are not read: write plain numbers"
        detail = hint if len(used) > 1 else f"{int(bad.sum())} non-numeric value(s) in the column{hint}"
        raise _err(path, f"column {col!r} {where_row(df, i)}: expected a number, got {raw.iloc[i]!r} ({detail})")
    return num.astype("float64")


#: largest magnitude a value may have: beyond it, squares and sums (variances, losses) overflow float64
MAX_ABS = 1e100


def check_finite(values: np.ndarray, df, col: str, path) -> None:
    """Raise a one-line error naming ``col`` and the row of the first ``inf`` or ``|x| > MAX_ABS`` value.

    ``NaN`` (missing) is not checked here; the loaders fill or refuse it.
    """
    v = np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        bad = np.isinf(v) | (np.abs(v) > MAX_ABS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _err(path, f"column {col!r} {where_row(df, i)}: expected a finite number of magnitude at most "
                   f"{MAX_ABS:g}, got {float(v[i])!r} ({int(bad.sum())} such value(s) in the column; they would "
                   f"overflow the scaling and the loss)")


def parse_time(df, col: str, path, keys=None, notes: list[str] | None = None):
    """(time values, is_datetime, time zone or None, held in UTC): integers stay
    integers (years, steps) unless they read as ``yyyymm(dd)`` codes or Unix
    times, the rest parse as dates (text in one format for the whole column,
    :func:`_one_format`; period codes); tz-aware dates become naive
    (:func:`_naive`); ``keys``: the series id of each row, where a time may
    repeat across series; ``notes``: where a choice made is said."""
    import pandas as pd

    raw = df[col]
    if raw.isna().any():
        i = int(np.flatnonzero(raw.isna().to_numpy())[0])
        raise _err(path, f"column {col!r} {where_row(df, i)}: missing timestamp")
    if pd.api.types.is_datetime64_any_dtype(raw):
        return _naive(pd.to_datetime(raw), keys)
    integral = pd.api.types.is_integer_dtype(raw) or (
        pd.api.types.is_float_dtype(raw) and whole_numbers(raw.to_numpy()))
    t, note = numeric_dates(raw, col)  # yyyymm(dd) codes, R's decimal years, Unix times, Excel day numbers
    if t is not None:
        if t.isna().any():  # only a yyyymmdd code can name a day that does not exist
            i = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise _err(path, f"column {col!r} {where_row(df, i)}: integers read as dates (yyyymmdd), got "
                       f"{raw.iloc[i]!r}: no such day")
        if notes is not None:
            notes.append(note)
        return _naive(t, keys)
    if pd.api.types.is_numeric_dtype(raw) and not integral:  # 0, 0.5, 1.0, ...: whole steps from the first
        a = raw.to_numpy(dtype="float64")
        d = even_step(a)
        if d is None:
            bad = ", ".join(repr(v) for v in raw.iloc[:3].tolist())
            raise _err(path, f"column {col!r}: numbers that are not whole and not evenly spaced ({bad}, ...): "
                       "expected dates, whole-number steps or evenly spaced numbers")
        steps = np.round((a - a.min()) / d).astype("int64")
        if notes is not None:
            notes.append(f"column {col!r}: evenly spaced numbers ({a.min():g}, {a.min() + d:g}, ...) read as steps "
                         f"0, 1, 2, ... of {d:g}; the forecasts are numbered on in those steps")
        return steps, False, None, False
    if integral:  # steps (or years)
        return raw.to_numpy().astype("int64"), False, None, False
    import warnings

    if _digit_text(raw):  # '200001' as text (a frame read with dtype=str): the numbers a file would hold
        return parse_time(df.assign(**{col: pd.to_numeric(raw)}), col, path, keys, notes)
    clock = clock_forms(raw)
    if clock is not None:  # '24:00' (hour-ending data's midnight), '01.00' (a clock written with dots)
        text, later, said = clock
        t, is_dt, tz, tz_utc = parse_time(df.assign(**{col: text}), col, path, keys, notes)
        if not is_dt:
            return t, is_dt, tz, tz_utc
        if notes is not None:
            notes.append(f"column {col!r}: {said}")
        return (np.asarray(t, dtype="datetime64[ns]") + later.astype("int64") * np.timedelta64(1, "D").astype(
            "timedelta64[ns]"), True, tz, tz_utc)
    marks = zone_marks(raw)
    if marks is not None:  # '29/10/2023 02:00:00 (CEST)': read without the marks, then each at its offset
        text, offsets = marks
        t, is_dt, tz, tz_utc = parse_time(df.assign(**{col: text}), col, path, keys, notes)
        found = raw.astype(str).str.findall(_ZONE_MARK)
        named = ", ".join(f"({z})" for z in dict.fromkeys(z for v in found for z in v))
        if offsets is None or not is_dt:
            if notes is not None:
                notes.append(f"column {col!r}: zone names {named} on {int(text.ne(raw.astype(str)).sum())} of "
                             f"{len(raw)} times only: left out, the times read as the clock shows them")
            return t, is_dt, tz, tz_utc
        if notes is not None:
            notes.append(f"column {col!r}: zone names {named} read as UTC offsets")
        if not _repeats(t, keys):  # the wall clock as written, as for times with UTC offsets
            return t, True, None, False
        return (np.asarray(t, dtype="datetime64[ns]") - (offsets * 3600 * 10**9).astype("timedelta64[ns]"),
                True, "UTC", True)
    starts = interval_starts(raw)
    if starts is not None:  # intervals: read by their starts (the time a value's period starts, as elsewhere)
        if notes is not None:
            notes.append(f"column {col!r}: intervals such as {str(raw.iloc[0]).strip()!r} read by their start")
        raw = starts
    t = period_codes(raw)
    if t is not None:
        if t.isna().any():
            i = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise _err(path, f"column {col!r} {where_row(df, i)}: expected a date/time or an integer step, got "
                       f"{raw.iloc[i]!r}: no such period")
        if notes is not None:
            notes.append(f"column {col!r}: period codes such as {raw.iloc[0]!r} read as the time their period starts "
                         f"({t.iloc[0]:%Y-%m-%d})")
        return _naive(t, keys)
    t = _one_format(raw, col, notes)
    if t is not None:
        return _naive(t, keys)
    with warnings.catch_warnings():  # mixed UTC offsets (a zone's summer and winter time): handled below
        warnings.simplefilter("ignore", FutureWarning)
        try:
            t = pd.to_datetime(raw, errors="coerce", format="mixed")
        except (TypeError, ValueError):
            try:
                t = pd.to_datetime(raw, errors="coerce")
            except (TypeError, ValueError):  # pandas versions that refuse mixed offsets
                t = pd.Series(np.full(len(raw), None, dtype=object), index=raw.index)
    if not pd.api.types.is_datetime64_any_dtype(t):  # offsets that change: +01:00 in winter, +02:00 in summer
        return _mixed_offsets(raw, col, path, df, keys)
    if t.isna().any():
        i = int(np.flatnonzero(t.isna().to_numpy())[0])
        raise _err(path, f"column {col!r} {where_row(df, i)}: expected a date/time or an integer step, got {raw.iloc[i]!r}")
    return _naive(t, keys)


#: a time of day written with dots after a date (``01.02.2020 13.30``, as Finnish and Danish exports write it)
_DOTTED_CLOCK = r"^(\S*\d)\s+(\d{1,2})\.(\d{2})(?:\.(\d{2}))?$"


def _digit_text(col) -> bool:
    """Whether a text column holds whole numbers only (``'200001'``, ``'20240131'``), as a frame read with
    ``dtype=str`` holds them: read as those numbers (yyyymm codes, Unix times, years)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col) or len(col) == 0:
        return False
    if not col.map(lambda v: isinstance(v, str)).all():
        return False
    return bool(col.str.strip().str.fullmatch(r"\d{1,18}").all())


def clock_forms(raw):
    """Clocks pandas does not read, as text it reads: ``(text, the rows whose time is the next day's midnight,
    what was read)``, or ``None`` where there are none. ``24:00`` (``2020-01-01 24:00``, as data stamped by the
    hour ending write midnight) becomes ``00:00`` of the next day; a clock written with dots after a date
    (``01.02.2020 13.30``) is read with colons, where every value has one."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_datetime64_any_dtype(raw):
        return None
    text = raw.astype(str).str.strip()
    said = []
    if text.str.fullmatch(_DOTTED_CLOCK).all():
        text = text.str.replace(_DOTTED_CLOCK, lambda m: f"{m[1]} {m[2]}:{m[3]}" + (f":{m[4]}" if m[4] else ""),
                                regex=True)
        said.append(f"clocks written with dots ({str(raw.iloc[0]).strip()!r}) read as hours and minutes")
    later = text.str.contains(r"(?:^|[ T])24:00(?::00)?$", regex=True).to_numpy()
    if later.any():
        text = text.str.replace(r"(^|[ T])24:00((?::00)?)$", lambda m: f"{m[1]}00:00{m[2]}", regex=True)
        said.append(f"{int(later.sum())} time(s) of 24:00 (the hour ending at midnight) read as 00:00 of the next "
                    "day")
    if not said:
        return None
    return text, later, "; ".join(said)


def clock_repeat_hint(times, repeated) -> str:
    """A hint for a duplicate time in dates without a zone: where the data are
    finer than a day and every repeated time falls in the small hours of a
    month when summer time ends somewhere (March-April south of the equator,
    September-November north of it), the repeat is most likely a local clock
    going back an hour; else ``""``."""
    if _clock_change_moments(times, repeated, np.nextafter(86400e9, 0)) is None:  # finer than a day
        return ""
    return ("; local clock times repeat an hour when summer time ends: write the times with their UTC "
            "offset (2024-10-27T02:00+01:00) or in UTC")


def _clock_change_moments(times, moments, longest_step: float):
    """``moments`` as a DatetimeIndex where the data (``times``, at least three) step by at most ``longest_step``
    nanoseconds (their median step) and every moment falls in the small hours (0-3 h) of a month when summer time begins or
    ends somewhere (March-April, September-November, either hemisphere); else ``None``. What
    :func:`clock_repeat_hint` and :func:`clock_skip_hint` share."""
    import pandas as pd

    t = pd.DatetimeIndex(np.unique(np.asarray(times, dtype="datetime64[ns]")))
    at = pd.DatetimeIndex(np.asarray(moments, dtype="datetime64[ns]"))
    if len(t) < 3 or len(at) == 0 or np.median(np.diff(t.asi8)) > longest_step:
        return None
    if not ((at.hour <= 3) & at.month.isin([3, 4, 9, 10, 11])).all():
        return None
    return at


def _once_a_year(moments) -> bool:
    """Whether ``moments`` (datetimes) fall within one hour of a day, on at most one day a year: a local clock's
    change, not a table's repeated rows."""
    import pandas as pd

    at = pd.DatetimeIndex(np.asarray(moments, dtype="datetime64[ns]"))
    days = pd.Series(at.asi8).groupby(np.asarray(at.normalize())).agg(["min", "max"])
    return bool((days["max"] - days["min"] < 3600 * 10**9).all()) and len(days) <= len(np.unique(at.year))


def is_clock_repeat(times, repeated) -> bool:
    """Whether the ``repeated`` times of ``times`` (datetimes without a zone) are the hour a local clock repeats
    when summer time ends: finer than daily data, the small hours of an autumn day (:func:`clock_repeat_hint`),
    within one hour, on one day a year (:func:`_once_a_year`). Both loaders ask it."""
    return bool(clock_repeat_hint(times, repeated)) and _once_a_year(repeated)


#: how the values of one period become one, where times fall between the points of a given grid; and the words
#: (the forecaster's DataConfig checks the same names without importing this module)
AGGREGATES = {"mean": "averaged", "sum": "summed", "last": "represented by the last", "max": "represented by the "
              "largest", "min": "represented by the smallest"}


def _frequency_word(freq, notes: list[str]):
    """``freq``, or the pandas frequency a word names (``monthly`` -> ``MS``, ``hourly`` -> ``h``: the words of the
    Monash archive's ``@frequency``, :data:`lstmkit.data.tsf.FREQUENCIES`, and ``annual``), with a note."""
    if not isinstance(freq, str):
        return freq
    from .tsf import FREQUENCIES

    word = freq.strip().lower().replace("-", "_").replace(" ", "_")
    found = {**FREQUENCIES, "annual": "YS", "annually": "YS"}.get(word)
    if found is None:
        return freq
    notes.append(f"freq {freq!r} read as the pandas frequency {found!r}")
    return found


def _end_offsets() -> tuple:
    import pandas as pd

    o = pd.offsets
    return (o.MonthEnd, o.QuarterEnd, o.YearEnd, o.BusinessMonthEnd, o.BQuarterEnd, o.BYearEnd, o.SemiMonthEnd)


def _periods(t, freq, anchor=None):
    """The start of the ``freq`` period each of the sorted datetimes ``t`` falls in (``09:41`` -> ``09:00`` for
    ``h``; the 17th -> the 1st for ``MS``), or ``None`` for a frequency pandas cannot lay out. ``anchor``: a time
    on the grid (a fitted model's), from which fixed steps are laid instead of from the first day's midnight."""
    import pandas as pd

    idx = pd.DatetimeIndex(t)
    try:
        off = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    try:
        step = off.nanos  # fixed steps (seconds to days): from the first day's midnight, as pandas' resample
    except ValueError:
        pass
    else:  # (a step that divides the day gives the clock's own grid; '2D' keeps the data's days, not the epoch's:
        # one reading on the 13th of a '2D' series laid on the 12th, off the model's grid, stopped evaluate)
        origin = idx[0].normalize().value if anchor is None else pd.Timestamp(anchor).value
        return ((idx.asi8 - origin) // step * step + origin).astype("datetime64[ns]")
    start = off.rollback(idx[0].normalize())
    if isinstance(off, _end_offsets()):
        # periods named by their last day (ME, QE, YE, ...), as pandas' resample labels them: a day belongs to the
        # first end on or after it (the 1st of January was laid on the 31st of December, a month early)
        grid = pd.date_range(start, idx[-1].normalize() + off, freq=off)
        at = np.searchsorted(grid.asi8, idx.normalize().asi8, side="left")
        return grid[np.minimum(at, len(grid) - 1)].to_numpy()
    grid = pd.date_range(start, idx[-1], freq=off)
    if len(grid) == 0:
        return None
    at = np.searchsorted(grid.asi8, idx.asi8, side="right") - 1
    return grid[np.maximum(at, 0)].to_numpy()


def _aggregate(slots, y, rows, sel, how: str):
    """Sorted period starts ``slots`` with repeats, and the values, file rows and positions beside them: one entry
    a period, its values reduced by ``how`` (:data:`AGGREGATES`; missing values left out), the first row and
    position kept."""
    first = np.r_[True, slots[1:] != slots[:-1]]
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    present = ~np.isnan(y)
    count = np.bincount(group, weights=present.astype("float64"))
    if how in ("mean", "sum"):
        total = np.bincount(group, weights=np.where(present, y, 0.0))
        out = np.full(len(starts), np.nan)
        if how == "mean":
            np.divide(total, count, out=out, where=count > 0)
        else:
            np.copyto(out, total, where=count > 0)
    elif how == "last":
        last = np.full(len(starts), -1)
        np.maximum.at(last, group[present], np.flatnonzero(present))
        out = np.where(last >= 0, y[np.maximum(last, 0)], np.nan)
    else:
        fill = -np.inf if how == "max" else np.inf
        out = (np.maximum if how == "max" else np.minimum).reduceat(np.where(present, y, fill), starts)
        out = np.where(count > 0, out, np.nan)
    return slots[first], out, rows[first], sel[first]


def clock_skip_hint(times, inserted) -> str:
    """A hint for timestamps missing from a grid finer than a day (and so inserted and filled): where every one
    falls in the small hours of a month when summer time begins somewhere (March-April north of the equator,
    September-November south of it), it is most likely the hour a local clock skips; else ``""``."""
    hour = 3600 * 10**9
    gap = _clock_change_moments(times, inserted, hour)
    if gap is None:
        return ""
    if not _once_a_year(gap):  # an hour, once a year
        return ""
    return (" (most likely the hour a local clock skips when summer time begins; its value is interpolated like a "
            "gap: write the times in UTC to keep only the hours measured)")


#: a month and its year with a dot, as German and other European exports write months (``01.2020``, ``1.2020``)
_MONTH_DOT_YEAR = r"(\d{1,2})\.((?:19|20)\d{2})"
#: the year, a dot and a two-digit month, as East Asian statistics and some spreadsheets write months (``2020.01``;
#: ``2020.1`` is not taken: as a number it is October's ``2020.10`` too)
_YEAR_DOT_MONTH = r"((?:19|20)\d{2})\.(0[1-9]|1[0-2])"


def period_codes(raw):
    """Period codes that pandas does not read as dates, as the time each period starts (a datetime series), or
    ``None`` unless every value is written as one of them, all of one kind: months as statistics offices write
    them (``2001M01``, ``2001m1``, ``2001-M01``: the month's first day), with a dot (``01.2001``, as European
    exports write them, or ``2001.01``, year first) or as spreadsheets show them (``Jan-01``, :func:`_month_year`), quarters with a space or the quarter
    first (``2001 Q1``, ``Q1 2001``, ``Q1-2001``: the quarter's first day) and ISO 8601 weeks (``2001-W05``,
    ``2001W05``: the week's Monday). A code for a period that does not exist (``2001M13``, ``2021-W53``) is
    ``NaT``."""
    import pandas as pd

    text = pd.Series(raw).astype(str).str.strip()
    if len(text) == 0:
        return None
    months = _month_year(text)
    if months is not None:
        return months
    years = _year_codes(text)
    if years is not None:
        return years
    quarters = text.str.extract(r"^(\d{4})\s*[-./]\s*([1-4])$")  # 2000-1 .. 2000-4: quarters, not January-April
    if len(text) >= 8 and not quarters.isna().any().any() and quarters[1].nunique() == 4:
        month = ((quarters[1].astype(int) - 1) * 3 + 1).astype(str).str.zfill(2)
        return pd.to_datetime(quarters[0] + "-" + month + "-01", format="%Y-%m-%d")
    days = text.str.extract(r"^(\d{4})-?[Ww](\d{2})-?([1-7])$")  # ISO 8601 week dates: 2020-W05-3
    if not days.isna().any().any():
        t = pd.to_datetime(days[0] + "-W" + days[1] + "-" + days[2], format="%G-W%V-%u", errors="coerce")
        iso = t.dt.isocalendar()
        return t.where((iso["year"] == days[0].astype(int)) & (iso["week"] == days[1].astype(int)))
    for kind, pattern in (("M", r"(\d{4})\s*-?\s*[Mm](\d{1,2})"), ("W", r"(\d{4})\s*-?\s*[Ww](\d{1,2})"),
                          ("Q", r"(\d{4})\s*-?\s*[Qq](\d)"), ("QY", r"[Qq](\d)\s*[-/ ]?\s*(\d{4})"),
                          ("QY", r"[Qq]([1-4])\s*[-/ ']\s*(\d{2})"),
                          ("H", r"(\d{4})\s*-?\s*[HhSs]([12])"), ("HY", r"[HhSs]([12])\s*[-/ ]?\s*(\d{4})"),
                          ("MY", _MONTH_DOT_YEAR), ("YM", _YEAR_DOT_MONTH)):
        parts = text.str.extract(f"^{pattern}$")
        if parts.isna().any().any():
            continue
        year, num = (parts[1], parts[0]) if kind in ("QY", "MY", "HY") else (parts[0], parts[1])
        if (year.str.len() == 2).all():  # Q1-00, Q3 '99: two-digit years, as spreadsheets shorten them
            year = pd.Series(_full_years(year.astype(int).to_numpy()), index=year.index).astype(str)
        if kind in ("Q", "QY"):  # the quarter's first month; Q5 is no quarter
            q = num.astype(int)
            num = ((q - 1) * 3 + 1).where(q.between(1, 4), 13).astype(str)
        if kind in ("H", "HY"):  # the half-year's (semester's) first month
            num = ((num.astype(int) - 1) * 6 + 1).astype(str)
        num = num.str.zfill(2)
        if kind != "W":
            return pd.to_datetime(year + "-" + num + "-01", format="%Y-%m-%d", errors="coerce")
        t = pd.to_datetime(year + "-W" + num + "-1", format="%G-W%V-%u", errors="coerce")
        iso = t.dt.isocalendar()  # 2021-W53 does not exist: strptime would roll it into 2022
        same = (iso["year"] == year.astype(int)) & (iso["week"] == num.astype(int))
        return t.where(same.fillna(False).astype(bool))
    return None


def _year_codes(text):
    """Years written as statistics offices and agencies write them, as each one's first day (a datetime series),
    or ``None``: seasons or fiscal years across two calendar years (``2019/20``, ``2019-2020``: every second year
    the first's next), ``FY2020`` or ``FY20``; and days: dekads (``2020-01-D2``, the 11th) and days of the year
    (``2020-123``, ``2020123`` with a letter before it as MODIS names its composites, ``A2020123``: that day)."""
    import pandas as pd

    if len(text) < 3:
        return None
    parts = text.str.extract(r"^(\d{4})\s*[/-]\s*(\d{2}|\d{4})$")
    if not parts.isna().any().any():
        first, second = parts[0].astype(int), parts[1].astype(int)
        nxt = np.where(parts[1].str.len() == 2, (first + 1) % 100, first + 1)
        if (second == nxt).all():
            return pd.to_datetime(parts[0] + "-01-01", format="%Y-%m-%d")
        return None
    parts = text.str.extract(r"^[Ff][Yy]\s*-?\s*(\d{4}|\d{2})$")
    if not parts.isna().any().any():
        year = pd.Series(_full_years(parts[0].astype(int).to_numpy()), index=parts.index).astype(str)
        return pd.to_datetime(year + "-01-01", format="%Y-%m-%d")
    parts = text.str.extract(r"^(\d{4})\s*-?\s*(\d{1,2})\s*-?\s*[Dd]([123])$")  # dekads: 2020-01-D2
    if not parts.isna().any().any():
        day = ((parts[2].astype(int) - 1) * 10 + 1).astype(str).str.zfill(2)
        return pd.to_datetime(parts[0] + "-" + parts[1].str.zfill(2) + "-" + day, format="%Y-%m-%d", errors="coerce")
    parts = text.str.extract(r"^[A-Za-z]?(\d{4})-?(\d{3})$")
    if not parts.isna().any().any() and (text.str.contains("-") | ~text.str.fullmatch(r"\d+")).all():
        return pd.to_datetime(parts[0] + parts[1], format="%Y%j", errors="coerce")
    return None


#: the fewest rows of integers read as dates (:func:`integer_dates`) in a column nobody named as the time: by
#: chance a column of other numbers is all valid yyyymm codes with a probability of about 0.12 a row
MIN_CODED_ROWS = 8


def integer_dates(raw):
    """Integers written as dates, as datetimes: ``yyyymmdd`` (``20240131``) or ``yyyymm`` (``202401``, the month's
    first day), every value of one width with a year from 1800 to 2199 and a month from 1 to 12 (days from 1 to
    31); ``None`` otherwise (then they are integer steps). pandas reads such a column as plain integers, whose
    steps jump (``200112`` to ``200201`` is 89). A day that does not exist (``20230230``) is ``NaT``."""
    import pandas as pd

    v = pd.to_numeric(pd.Series(raw), errors="coerce")
    if len(v) == 0 or v.isna().any():
        return None
    a = v.to_numpy(dtype="float64")
    if not whole_numbers(a):
        return None
    a = a.astype("int64")
    for width in (6, 8):
        if not ((a >= 10 ** (width - 1)) & (a < 10**width)).all():
            continue
        year, rest = divmod(a, 10 ** (width - 4))
        month, day = (rest, np.ones_like(rest)) if width == 6 else divmod(rest, 100)
        if not ((year >= 1800) & (year < 2200) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)).all():
            return None
        text = pd.Series(year * 10000 + month * 100 + day, index=pd.Series(raw).index).astype(str)
        return pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    return None


def even_step(a: np.ndarray) -> float | None:
    """The step of numbers that lie on an even grid: their distinct values' gaps are whole multiples of the
    smallest gap (within 5 % of it, so that ``1990.083, 1990.167`` rounded to three places pass); ``None`` for
    fewer than three distinct values or any other spacing. A panel's times repeat: the distinct values count."""
    a = np.asarray(a, dtype="float64")
    if not np.isfinite(a).all():
        return None
    u = np.unique(a)
    if len(u) < 3:
        return None
    gaps = np.diff(u)
    d = float(gaps.min())
    r = gaps / d
    return d if bool(np.all(np.abs(r - np.round(r)) < 0.05)) else None


#: a year written as a decimal: parts of a year that ``decimal_years`` reads, and the months each part starts
_YEAR_PARTS = {12: "months", 4: "quarters", 2: "half-years"}


def decimal_years(raw):
    """Years written as decimals, as R's ``time()`` writes a monthly, quarterly or half-yearly series
    (``1990, 1990.0833, 1990.1667, ...``; ``1990.25`` is the second quarter): the first day of each period as
    datetimes, or ``None``. Every value lies from 1800 to 2200, some are not whole, their step is a twelfth, a
    quarter or a half of a year, and each is a whole number of those steps (within 5 % of one, for values
    rounded to three places). pandas would read them as nanoseconds since 1970."""
    import pandas as pd

    v = pd.to_numeric(pd.Series(raw), errors="coerce")
    if len(v) < 3 or v.isna().any():
        return None
    a = v.to_numpy(dtype="float64")
    if whole_numbers(a) or not ((a >= 1800) & (a < 2200)).all():
        return None
    d = even_step(a)
    if d is None:
        return None
    for f in _YEAR_PARTS:
        if abs(d * f - 1) < 0.02 and bool(np.all(np.abs(a * f - np.round(a * f)) < 0.05)):
            year, part = np.divmod(np.round(a * f).astype("int64"), f)
            t = pd.to_datetime(pd.DataFrame({"year": year, "month": 1 + part * (12 // f), "day": 1}))
            return pd.Series(t.to_numpy(), index=v.index)
    return None


#: where nobody named the time column, a column of increasing numbers is the time only where its name says steps
STEP_NAME = re.compile(r"(?i)t|times?|time[ _]?(steps?|index|idx)|steps?|ticks?|idx|index|obs|samples?|period")


def step_column(df, skip, notes: list[str]) -> str | None:
    """Where no column holds dates or years: the one column named for time or steps (:data:`STEP_NAME`: ``t``,
    ``time``, ``step``, ``index``, ...) whose numbers increase row by row, or repeat (a panel) on an even grid,
    said in ``notes``; ``None`` where there is no such column, or several."""
    import pandas as pd

    found = []
    for c in df.columns:
        col = df[c]
        if (c in skip or not STEP_NAME.fullmatch(str(c).strip()) or not pd.api.types.is_numeric_dtype(col)
                or pd.api.types.is_bool_dtype(col) or len(col) < 3 or col.isna().any()):
            continue
        a = col.to_numpy(dtype="float64")
        panel = len(np.unique(a)) < len(a)  # a panel's times repeat, one run per series
        if np.isfinite(a).all() and (bool(np.all(np.diff(a) > 0)) or (panel and even_step(a) is not None)):
            found.append(c)
    if len(found) != 1:
        return None
    notes.append(f"column {found[0]!r} holds increasing numbers and its name says time: it is the time column, "
                 "read as steps (none was named; time=, or --time on the command line, names another)")
    return found[0]


def drop_row_counter(df, keep, notes: list[str]) -> str | None:
    """Drop (in place, from a private copy) a first column that only numbers the rows, as pandas' ``to_csv``
    (without ``index=False``) and R's ``write.csv`` write them: a column with no header (pandas names it
    ``Unnamed: 0``) of distinct whole numbers from 0 (a filtered or sorted frame's row labels too, but not
    consecutive years: R's row names may be years), or one named ``index`` (``reset_index``) that counts 0, 1,
    2, ... or 1, 2, 3, ...; said in ``notes``. It would otherwise be read as a value column (or a channel, or the
    first step of every series). ``keep``: the columns the user named, never dropped."""
    import pandas as pd

    if df.shape[1] < 2:
        return None
    c = df.columns[0]
    name = str(c).strip()
    col = df[c]
    if (c in keep or name not in ("", "Unnamed: 0", "index") or not pd.api.types.is_numeric_dtype(col)
            or pd.api.types.is_bool_dtype(col) or col.isna().any()):
        return None
    a = col.to_numpy(dtype="float64")
    if not (whole_numbers(a) and a.min() >= 0 and len(np.unique(a)) == len(a)):
        return None
    counts = any(np.array_equal(a, np.arange(s, s + len(a))) for s in (0, 1))
    years = bool(np.all(np.diff(a) == 1)) and 1800 <= a.min() and a.max() < 2200  # R's row names may be years
    if (name == "index" or years) and not counts:
        return None
    df.drop(columns=[c], inplace=True)
    shown = ", ".join(str(int(v)) for v in a[:3])
    label = "no header" if name in ("", "Unnamed: 0") else repr(name)
    notes.append(f"the first column ({label}: {shown}, ...) numbers the rows, as pandas' to_csv and "
                 "R's write.csv write them: left out")
    return c


#: Unix times read as dates: seconds since 1970-01-01 UTC from 2001-09-09 (10**9, the first ten-digit second) to
#: 2100-01-01, or milli-, micro- or nanoseconds over the same span (13, 16 or 19 digits)
_UNIX_END = 4_102_444_800
UNIX_SPAN = {"s": (10**9, _UNIX_END), "ms": (10**12, _UNIX_END * 10**3), "us": (10**15, _UNIX_END * 10**6),
             "ns": (10**18, _UNIX_END * 10**9)}
UNIX_UNITS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
#: where nobody named the time column, a column of Unix times must also say so in its name
UNIX_NAME = re.compile(r"time|epoch|unix|stamp|date|(^|[_ ])ts($|[_ ])", re.IGNORECASE)


#: a column of numbers may be the series id only where its name says so (``id``, ``store_id``, ``StoreID``, ``sku``)
ID_NAME = re.compile(r"(?<![a-zA-Z])(?:id|ID|Id|sku|SKU)(?![a-zA-Z_])|(?<=[a-z_])(?:ID|Id)(?![a-z])|_id$")


def join_id_columns(df, id, src, notes: list[str]):
    """Several id columns (``["store", "item"]``, or ``"store,item"`` where no one column has that name) joined
    into one column of ``df`` (a private copy), named by them (``store/item``) and holding ``1/3``; said in
    ``notes``. One name is returned as it is."""
    if isinstance(id, str) and "," in id and id not in df.columns:
        id = [c.strip() for c in id.split(",") if c.strip()]
    if not isinstance(id, (list, tuple)):
        return id
    if len(id) == 1:
        return id[0]
    _need(df, src, list(id), "id")
    _read_ids(df, list(id), src, notes)
    name = _free_name(df, "/".join(map(str, id)))
    joined = df[list(id)].astype(str).agg("/".join, axis=1)
    parts = df[list(id)].assign(__id__=joined).drop_duplicates("__id__")
    df.attrs["id_parts"] = (list(id), {j: [v.item() if isinstance(v, np.generic) else v for v in row]
                                       for j, *row in parts[["__id__", *id]].itertuples(index=False)})
    df[name] = joined
    df.drop(columns=list(id), inplace=True)
    notes.append(f"columns {list(id)} together name the series (ids such as {df[name].iloc[0]!r})")
    return name


def id_hint(df, time: str, skip) -> str:
    """Where a long table's times repeat and no id is named: the column, or pair of columns, that would split the
    rows into series with each time once (the fewest series), as a hint for the error (``--id store,item``)."""
    import itertools

    import pandas as pd

    def id_like(c) -> bool:  # labels or whole numbers, not measurements
        col = df[c]
        whole = pd.api.types.is_numeric_dtype(col) and whole_numbers(col.to_numpy(dtype="float64"))
        return whole or pd.api.types.is_string_dtype(col) or pd.api.types.is_object_dtype(col)

    free = [c for c in df.columns if c != time and c not in skip and not df[c].isna().any()
            and df[c].nunique() <= len(df) // 2 and id_like(c)][:20]
    best = None  # the fewest series: a value column that happens to differ at each time is not the id
    for cols in [*itertools.combinations(free, 1), *itertools.combinations(free, 2)]:
        n = len(df[list(cols)].drop_duplicates())
        if n >= 2 and (best is None or n < best[1]) and not df[[time, *cols]].duplicated().any():
            best = (cols, n)
    if best is None:
        return "; several series in one table? name their id column: id= (--id on the command line)"
    cols, n = best
    return (f"; several series in one table? {' and '.join(map(repr, cols))} would split the rows into {n} series "
            f"with each time once: id={','.join(cols)!r} (--id {','.join(cols)} on the command line)")


def find_id_column(df, time: str, taken: set, src, notes: list[str]) -> str | None:
    """The series-id column of a long table nobody named one for, where the time column repeats: the one column
    (text, or whole numbers under an id name: :data:`ID_NAME`) whose values split the rows into series with
    each time once, at least two rows a series; ``None`` where under a tenth of the times repeat (the hour a clock
    goes back in autumn, beside a CET/CEST column, is not a series), and then the duplicate check names them; an
    error where several columns could be the id."""
    import pandas as pd

    times = df[time]
    if times.duplicated().mean() < 0.1:  # none, or a few: a clock set back an hour in autumn, a row typed twice
        return None
    found = []
    for c in df.columns:
        if c == time or c in taken:
            continue
        col = df[c]
        text = pd.api.types.is_string_dtype(col) or pd.api.types.is_object_dtype(col)
        whole = pd.api.types.is_integer_dtype(col) and bool(ID_NAME.search(str(c)))
        if not (text or whole) or col.isna().any():
            continue
        k = col.nunique()
        if 2 <= k <= len(df) // 2 and not pd.DataFrame({"i": col, "t": times}).duplicated().any():
            found.append((c, k, text))
    if any(f[2] for f in found):  # labels before numbers: a count under an id-like name is not the id
        found = [f for f in found if f[2]]
    if len(found) == 1:
        c, k, _ = found[0]
        notes.append(f"column {c!r} ({k} values) splits the repeated times into series, each time once: it is the "
                     "series id (none was named; id=, or --id on the command line, names another)")
        return c
    if len(found) > 1:
        raise _err(src, f"the times of column {time!r} repeat, and several columns could be the series id: "
                   f"{[f[0] for f in found]}; name one with id= (--id on the command line)")
    return None


def unix_times(raw, name: str | None = None, unit_out: list[str] | None = None):
    """Unix times as naive datetimes in UTC: every value seconds (``1672531200``, fractions allowed) or every
    value whole milli-, micro- or nanoseconds (``1672531200000``) in :data:`UNIX_SPAN`, ``None`` otherwise (then
    the numbers are steps). With ``name`` (a column nobody named as the time) the name must also say time
    (``timestamp``, ``epoch``, ``unix_time``, ``ts``, ...: :data:`UNIX_NAME`) and there must be
    :data:`MIN_CODED_ROWS` rows: a column of other large numbers (populations, revenues) is not taken for
    times. ``unit_out``: receives the unit's name (:data:`UNIX_UNITS`)."""
    import pandas as pd

    if name is not None and (not UNIX_NAME.search(str(name)) or len(raw) < MIN_CODED_ROWS):
        return None
    v = pd.to_numeric(pd.Series(raw), errors="coerce")
    if len(v) == 0 or v.isna().any():
        return None
    a = v.to_numpy(dtype="float64")
    for unit, (lo, hi) in UNIX_SPAN.items():
        if not (((a >= lo) & (a < hi)).all() and (unit == "s" or whole_numbers(a))):
            continue
        if unit == "s":  # fractions of a second allowed: to the microsecond
            t = pd.to_datetime(a * 1000, unit="ms").round("us")
        else:  # whole numbers, as integers (a float64 holds nanoseconds since 1970 only to about 256 ns)
            t = pd.to_datetime(v.to_numpy(dtype="int64") if pd.api.types.is_integer_dtype(v) else a.astype("int64"),
                               unit=unit)
        if unit_out is not None:
            unit_out.append(UNIX_UNITS[unit])
        return pd.Series(t, index=pd.Series(raw).index)
    return None


#: Excel's day numbers (days since 1899-12-30) from 1960-01-01 to 2099-12-31
EXCEL_SPAN = (21916, 73051)
#: a column of Excel day numbers must say date in its name, as a word (``Date``, ``order_date``, ``OrderDate``,
#: ``Datum``, ``fecha``; not ``update``, and a "time" of 30,000 seconds is not a day number)
EXCEL_NAME = re.compile(r"(?<![a-zA-Z])(?:[dD]ate|DATE|[dD]atum|DATUM|[fF]echa|FECHA)|(?<=[a-z])Date")


def excel_days(raw, name) -> object:
    """Excel's day numbers as datetimes (``42005`` = 2015-01-01; a fraction is the time of day, to the second),
    or ``None``: a date column saved from a spreadsheet as numbers. Only where the column's name says date
    (:data:`EXCEL_NAME`), every value lies in :data:`EXCEL_SPAN` and there are :data:`MIN_CODED_ROWS` rows."""
    import pandas as pd

    if not EXCEL_NAME.search(str(name)) or len(raw) < MIN_CODED_ROWS:
        return None
    v = pd.to_numeric(pd.Series(raw), errors="coerce")
    if v.isna().any():
        return None
    a = v.to_numpy(dtype="float64")
    if not ((a >= EXCEL_SPAN[0]) & (a < EXCEL_SPAN[1])).all():
        return None
    t = pd.Timestamp("1899-12-30") + pd.to_timedelta(np.round(a * 86400), unit="s")
    return pd.Series(t, index=pd.Series(raw).index)


def numeric_dates(raw, col: str, search: bool = False):
    """Numbers that read as dates: ``(datetimes, note)``, or ``(None, None)`` where they are numbers (steps,
    values). In this order: ``yyyymm`` / ``yyyymmdd`` integers (:func:`integer_dates`; a day that does not exist
    is ``NaT``, for the caller's error naming its row), R's decimal years (:func:`decimal_years`), Unix times
    (:func:`unix_times`, in UTC) and Excel's day numbers in a column named as a date (:func:`excel_days`).
    ``search``: nobody named the column as the time, so the codes and decimal years need
    :data:`MIN_CODED_ROWS` rows and Unix times a name that says time. The one place the forecaster's and the
    anomaly detector's loaders ask whether numbers are dates."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw) or len(raw) == 0:
        return None, None
    enough = not search or len(raw) >= MIN_CODED_ROWS
    first = raw.iloc[0].item() if hasattr(raw.iloc[0], "item") else raw.iloc[0]

    def shown(t) -> str:
        return f"{t.iloc[0]:%Y-%m-%d}" if len(t) and not pd.isna(t.iloc[0]) else "a day that does not exist"

    t = integer_dates(raw) if enough else None
    if t is not None:
        form = "year, month and day (yyyymmdd)" if int(first) >= 10**7 else "year and month (yyyymm)"
        return t, f"column {col!r}: integers such as {int(first)} read as {form}, {shown(t)}"
    t = decimal_years(raw) if enough else None
    if t is not None:
        kind = _YEAR_PARTS[round(1 / even_step(raw.to_numpy(dtype="float64")))]
        example = raw.iloc[min(1, len(raw) - 1)]
        return t, (f"column {col!r}: decimal years such as {example.item() if hasattr(example, 'item') else example!r}"
                   f" (as R's time() writes them) read as {kind}: {shown(t)}, ...")
    t = dotted_months(raw) if enough else None
    if t is not None:
        form = "month.year" if float(first) < 13 else "year.month"
        return t, (f"column {col!r}: numbers such as {first!r} read as months written {form} (pandas reads '01.2001' "
                   f"and '2001.01' as numbers): {shown(t)}, ...")
    unit: list[str] = []
    t = unix_times(raw, name=col if search else None, unit_out=unit)
    if t is not None:
        return t, (f"column {col!r}: numbers such as {first!r} read as Unix times ({unit[0]} since 1970-01-01), in "
                   f"UTC: {t.iloc[0]}")
    t = excel_days(raw, col)
    if t is not None:
        return t, f"column {col!r}: numbers such as {first!r} read as Excel day numbers (days since 1899-12-30): {t.iloc[0]}"
    return None, None


def dotted_months(raw):
    """Months written ``01.2001`` or ``2001.01`` that a reader took for the numbers 1.2001 and 2001.01 (a frame read
    by ``pd.read_csv``; lstmkit's own file reader keeps them as text): the months' first days, or ``None``. Every
    value must be a month of the years 1800-2200 in one of the two forms, and the months present must follow one
    another (nine steps in ten a single month), so that measured values do not pass."""
    import pandas as pd

    v = raw.to_numpy(dtype="float64")
    if not np.isfinite(v).all() or np.all(np.mod(v, 1) == 0):
        return None
    for scale, month_first in ((10000, True), (100, False)):
        a = np.round(v * scale)
        if np.abs(v * scale - a).max() > 1e-4:
            continue
        a = a.astype("int64")
        year, month = (a % 10000, a // 10000) if month_first else (a // 100, a % 100)
        if not ((month >= 1) & (month <= 12) & (year >= 1800) & (year <= 2200)).all():
            continue
        present = np.unique(year * 12 + month - 1)
        if len(present) < 2 or (np.diff(present) == 1).mean() < 0.9:
            continue
        return pd.Series(pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1})).to_numpy(),
                         index=raw.index)
    return None


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
#: month names as spreadsheets in other languages write them (French, German and Austrian, Spanish, Italian,
#: Dutch, Portuguese), with the abbreviations that are not a beginning of a name (``mrz``, ``mrt``)
_LOCAL_MONTHS = (
    ("janvier", "januar", "jänner", "jän", "enero", "gennaio", "januari", "janeiro"),
    ("février", "fevrier", "févr", "fevr", "februar", "febrero", "febbraio", "februari", "fevereiro"),
    ("mars", "märz", "maerz", "mrz", "marzo", "maart", "mrt", "março", "marco"),
    ("avril", "abril", "aprile"),
    ("mai", "mayo", "maggio", "mei", "maio"),
    ("juin", "juni", "junio", "giugno", "junho"),
    ("juillet", "juil", "juli", "julio", "luglio", "julho"),
    ("août", "aout", "agosto", "augustus"),
    ("septembre", "septiembre", "settembre", "setembro", "sept", "set", "sett"),
    ("octobre", "oktober", "octubre", "ottobre", "outubro", "okt"),
    ("novembre", "noviembre", "novembro"),
    ("décembre", "decembre", "déc", "dezember", "diciembre", "dicembre", "december", "dezembro", "dez"),
)


def _month_number(word: str) -> int:
    """1-12 for a month's name or abbreviation (three letters or more) in English or a language of
    :data:`_LOCAL_MONTHS`, where it names one month only; 0 otherwise (``Run``, ``jui`` for juin or juillet)."""
    w = word.lower().rstrip(".")
    if len(w) < 3:
        return 0
    found = {i + 1 for i, m in enumerate(_MONTHS) if m.startswith(w)}
    found |= {i + 1 for i, names in enumerate(_LOCAL_MONTHS) for m in names if m.startswith(w)}
    return found.pop() if len(found) == 1 else 0


def _month_year(text):
    """Months written as a month's name and a two-digit year (``Jan-01``, ``Sep 98``, ``March'05``: a
    spreadsheet's ``mmm-yy``; ``01-Jan``, year first, as other locales show it), or in another language with two
    or four digits (``janv.-01``, ``Mrz 2001``, ``ene-01``: :data:`_LOCAL_MONTHS`), or as a month's number and a
    two-digit year (``01/15``, ``mm/yy``), as each month's first day, or ``None``. pandas reads none of them
    (``Jan-01`` is "out of bounds"). The names must be months (``Run-01`` is a label); the century is the one
    that puts the year at most 20 years from now (``49`` is 1949, ``05`` is 2005); and, as the same text could
    be a day without a year (``Jan-01`` .. ``Jan-31``, ``01-Jan`` .. ``31-Jan``, ``01/15`` .. ``01/31``), most
    consecutive rows must be one month apart in file order."""
    import pandas as pd

    if len(text) < 2:
        return None
    parts = text.str.extract(r"^([^\W\d_]{3,10})\.?\s*[-/' ]?\s*(\d{2}|\d{4})$")
    if not parts.isna().any().any():
        month = parts[0].map(_month_number)
    else:  # the year first, as some locales' spreadsheets show mmm-yy (15-Jan), or the month's number (01/15)
        parts = text.str.extract(r"^(\d{2})\s*[-/' ]\s*([^\W\d_]{3,10})\.?$")[[1, 0]].set_axis([0, 1], axis=1)
        if not parts.isna().any().any():
            month = parts[0].map(_month_number)
        else:
            parts = text.str.extract(r"^(\d{1,2})\s*[-/]\s*(\d{2})$")
            if parts.isna().any().any():
                return None
            number = parts[0].astype(int)
            month = number.where(number.between(1, 12), 0)
    if (month == 0).any():
        return None
    year = _full_years(parts[1].astype(int).to_numpy())
    steps = np.diff(year * 12 + month.to_numpy())
    if np.mean(steps == 1) < 0.8:
        return None
    return pd.to_datetime(pd.Series(year * 10000 + month.to_numpy() * 100 + 1, index=text.index).astype(str),
                          format="%Y%m%d")


def _full_years(yy: np.ndarray) -> np.ndarray:
    """Years as written, two digits or four, as four: the century is the one that puts a two-digit year at
    most 20 years from now (``49`` is 1949, ``05`` is 2005)."""
    import pandas as pd

    yy = np.asarray(yy, dtype="int64")
    pivot = (pd.Timestamp.now().year + 20) % 100
    return np.where(yy >= 100, yy, np.where(yy <= pivot, 2000 + yy, 1900 + yy))


def holds_dates(col) -> bool:
    """Whether a column holds dates: of a date type, or text (not numbers) that reads as a date in every row
    that has a value."""
    import warnings

    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(col):
        return True
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):  # yyyymm, Unix, Excel, R
        t = numeric_dates(col, col.name, search=True)[0]
        return t is not None and bool(t.notna().all())
    col = col.dropna()
    if _digit_text(col):  # '200001' as text: as the numbers a file would hold
        return holds_dates(pd.to_numeric(col).rename(col.name))
    if len(col) == 0 or not pd.api.types.is_string_dtype(col) or not col.map(lambda v: isinstance(v, str)).all():
        return False
    marks = zone_marks(col)
    col = col if marks is None else marks[0]  # '02:00:00 (CEST)': the times without the zone's name
    clock = clock_forms(col)
    col = col if clock is None else clock[0]  # '24:00', '13.30': as pandas reads them

    def every(part) -> bool:  # not words ('Jan', 'red'), not numbers; one format (fast), else value by value
        if len(col) >= MIN_CODED_ROWS and (part.str.strip().str.fullmatch(_MONTH_DOT_YEAR).all() or  # '01.2020'
                                           part.str.strip().str.fullmatch(_YEAR_DOT_MONTH).all()):  # '2020.01'
            return bool(period_codes(part).notna().all())
        if not part.str.contains(r"\d").all() or pd.to_numeric(part, errors="coerce").notna().any():
            return False
        codes = period_codes(part)
        if codes is not None:
            return bool(codes.notna().all())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fmt in (None, "mixed"):
                try:
                    if pd.to_datetime(part, errors="coerce", format=fmt).notna().all():
                        return True
                except (TypeError, ValueError):
                    pass
        return False

    starts = interval_starts(col.iloc[:100])
    if starts is not None:  # '01.01.2020 00:00 - 01.01.2020 01:00': the intervals' starts
        starts = interval_starts(col)
        col = starts if starts is not None else col
    return every(col.iloc[:100]) and every(col)  # the first rows first: a column of names fails fast


#: a time of day without a date: 17:24, 17:24:00, 5:24:00.5, 5:24 PM
_CLOCK = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s*[AaPp]\.?[Mm]\.?)?"


def _free_name(df, name: str) -> str:
    """``name``, with underscores added until no column of ``df`` has it."""
    while name in df.columns:
        name += "_"
    return name


def _join_time(df, a: str, b: str, values, what: str, notes: list[str], more: tuple = ()) -> str:
    """Columns ``a`` and ``b`` (and ``more``) of ``df`` (a private copy) replaced by one new column of
    ``values``, the time, named after them; said in ``notes`` (they "hold ``what``"). Its name is returned."""
    cols = [a, b, *more]
    name = _free_name(df, " ".join(cols))
    df[name] = values
    df.drop(columns=cols, inplace=True)  # read into the new column: none is a value column now
    listed = f"{a!r} and {b!r}" if not more else ", ".join(map(repr, cols[:-1])) + f" and {cols[-1]!r}"
    notes.append(f"columns {listed} hold {what}: read together as the time (e.g. {str(df[name].dropna().iloc[0])!r})")
    return name


def date_and_clock(df, found: list[str], notes: list[str]) -> str | None:
    """Where the columns that hold dates are two, a date without a time and a time of day (``16/12/2006`` and
    ``17:24:00``, as data loggers and UCI's household power file write them): both replaced by a new column of
    ``df`` (a private copy) joining them, its name returned and said in ``notes``; else ``None``."""
    if len(found) != 2:
        return None
    for day, clock in (found, found[::-1]):
        c = df[clock].dropna().astype(str).str.strip()
        d = df[day].dropna().astype(str).str.strip()
        if len(c) and c.str.fullmatch(_CLOCK).all() and not d.str.contains(":").any() and df[clock].notna().equals(
                df[day].notna()):
            joined = df[day].astype(str).str.strip() + " " + df[clock].astype(str).str.strip()
            return _join_time(df, day, clock, joined.where(df[day].notna(), None), "a date and a time of day", notes)
    return None


#: column names that say the hour of the day (``Hour``, ``hr``, ``HE`` / ``Hour Ending``, ``HB``, ``Stunde``, ...)
_HOUR_NAME = re.compile(r"(?i)hours?|hr|he|hb|hour[ _]?(ending|beginning|starting)|stunde|heure|hora")


def date_and_hour(df, day: str, skip, notes: list[str]) -> str | None:
    """Where the one column of dates holds days without a time (``2022-01-01``) and a column named for the hour
    (:data:`_HOUR_NAME`) holds whole numbers 0-23, or 1-24 (an hour ending, as grid operators write load), each
    (day, hour) once: both replaced by a new column of ``df`` (a private copy) joining them, each hour at its
    start (hour ending 1 is 00:00); its name returned and said in ``notes``; else ``None``."""
    import pandas as pd

    d = df[day]
    if pd.api.types.is_numeric_dtype(d) or d.dropna().astype(str).str.contains(":").any():
        return None
    hours = [c for c in df.columns if c not in skip and c != day and _HOUR_NAME.fullmatch(str(c).strip())
             and _whole(df[c], 0, 24)]
    if len(hours) != 1 or not d.duplicated().any():
        return None
    hour = pd.to_numeric(df[hours[0]]).astype("int64")
    if hour.max() <= 23:
        start, how = hour, "the hour 0-23"
    elif hour.min() >= 1:
        start, how = hour - 1, "the hour ending 1-24 (each hour read at its start: hour ending 1 is 00:00)"
    else:
        return None
    if pd.DataFrame({"d": d, "h": hour}).duplicated().any():
        return None
    joined = d.astype(str).str.strip() + " " + start.map("{:02d}:00".format)
    return _join_time(df, day, hours[0], joined.where(d.notna(), None), f"a date and {how}", notes)


def drop_empty_columns(df, notes: list[str], keep=()) -> list[str]:
    """Drop (in place, from a private copy) the columns with no value: those with no header either, which a
    separator at the end of every line leaves (``Month,Sales,``: pandas names the third ``Unnamed: 2``), and named
    ones the user did not name (``keep``), such as the empty ``Flag Codes`` of an OECD file, which would otherwise
    count as a second value column; said in ``notes``."""
    blank = [c for c in df.columns if df[c].isna().all() and c not in keep]
    unnamed = [c for c in blank if str(c).startswith("Unnamed: ")]
    named = [c for c in blank if c not in unnamed]
    if len(named) == len(df.columns):  # nothing but empty columns: the loaders' own errors say so
        return []
    df.drop(columns=blank, inplace=True)
    if unnamed:
        notes.append(f"empty column(s) {unnamed} left out (no header, no value: a separator at the end of every line?)")
    if named:
        notes.append(f"column(s) {named} hold no value: left out")
    return blank


#: a header cell naming a year: ``1960``, or ``1960 [YR1960]`` as the World Bank's DataBank writes it
_YEAR_HEAD = re.compile(r"\d{4}( \[YR\d{4}\])?")
#: column names that say years, months, quarters (English, German, French, Spanish, Portuguese)
_YEAR_NAME = re.compile(r"(?i)year|yr|yyyy|jahr|ann[ée]e|a[ñn]o")
_MONTH_NAME = re.compile(r"(?i)month|monat|mois|mes|m[êe]s|mo")  # not 'mm' (millimetres) or 'mon' (Monday); 'MO'
# as NASA POWER names it
_QUARTER_NAME = re.compile(r"(?i)quarter|qtr|quartal|trimestre")  # not 'q' (a discharge, a quantity)
_DAY_NAME = re.compile(r"(?i)day|dy|tag|jour|d[ií]a")  # beside a year and a month: the day of the month
_DOY_NAME = re.compile(r"(?i)doy|day[_ ]?of[_ ]?year|jday|julian[_ ]?day|yday")  # NASA POWER's, loggers' days


def _finer_parts(df, free: list[str], used: list[str], start) -> tuple:
    """Beside the year's columns ``used`` (read as the dates ``start``), an hour column (:data:`_HOUR_NAME`):
    ``(times, columns used)``; where there is none, ``(start, used)``. Hours 1-24 are hours ending, each read at
    its start (hour ending 1 is 00:00), as :func:`date_and_hour` reads them."""
    import pandas as pd

    for c in free:
        if c in used or not _HOUR_NAME.fullmatch(str(c).strip()) or not _whole(df[c], 0, 24):
            continue
        hours = pd.to_numeric(df[c]).astype("int64")
        if hours.max() > 23 and hours.min() < 1:
            continue
        return start + pd.to_timedelta(hours - (1 if hours.max() > 23 else 0), unit="h"), [*used, c]
    return start, used


def _whole(col, low: int, high: int) -> bool:
    """Every value present, a whole number from ``low`` to ``high``."""
    import pandas as pd

    v = pd.to_numeric(col, errors="coerce")
    return len(v) > 0 and bool(v.notna().all()) and whole_numbers(v.to_numpy(dtype="float64")) and \
        bool(v.between(low, high).all())


def year_columns(df, skip, notes: list[str]) -> str | None:
    """Where no column holds dates: a column named for the year (``Year``, ``yr``, ``Jahr``, ...) of whole numbers
    1000-2999 is the time, the years as integer steps; with a month column (``Month``: 1-12 or month names) or a
    quarter column (``Quarter``: 1-4 or ``Q1``-``Q4``) beside it, both are replaced by a new column of ``df``
    (a private copy) read as months or quarters; with a month and a day column (``YEAR, MO, DY`` as NASA POWER
    writes them), or a day-of-year column (``YEAR, DOY``), as dates, and with an hour column too, as hours. Its name is returned and said in ``notes``; ``None`` where there
    is no year column."""
    import pandas as pd

    free = [c for c in df.columns if c not in skip]
    years = [c for c in free if _YEAR_NAME.fullmatch(str(c).strip()) and _whole(df[c], 1000, 2999)]
    if len(years) != 1:
        return None
    y = years[0]
    year = pd.to_numeric(df[y]).astype("int64").astype(str)
    for c in free:  # a day of the year beside the year (NASA POWER's YEAR, DOY)
        if c != y and _DOY_NAME.fullmatch(str(c).strip()) and _whole(df[c], 1, 366):
            start = pd.to_datetime(year + pd.to_numeric(df[c]).astype("int64").astype(str).str.zfill(3), format="%Y%j",
                                   errors="coerce")
            if start.isna().any():
                continue
            times, used = _finer_parts(df, free, [y, c], start)
            return _join_time(df, used[0], used[1], times, "the year, the day of the year and the hour" if len(used) > 2
                              else "the year and the day of the year", notes, tuple(used[2:]))
    for kind, pattern in (("month", _MONTH_NAME), ("quarter", _QUARTER_NAME)):
        for c in free:
            if c == y or not pattern.fullmatch(str(c).strip()):
                continue
            text = df[c].astype(str).str.strip()
            if kind == "month" and _whole(df[c], 1, 12):
                part = "-" + pd.to_numeric(df[c]).astype("int64").astype(str).str.zfill(2)
            elif kind == "month" and text.str.lower().str[:3].isin([m[:3] for m in _MONTHS]).all():
                part = "-" + text.str.lower().str[:3].map({m[:3]: f"{k + 1:02d}" for k, m in enumerate(_MONTHS)})
            elif kind == "quarter" and (_whole(df[c], 1, 4) or text.str.fullmatch(r"(?i)q[1-4]").all()):
                part = "-Q" + text.str[-1]
            else:
                continue
            for d in free if kind == "month" else ():  # a day of the month beside them: dates (and hours)
                if d in (y, c) or not _DAY_NAME.fullmatch(str(d).strip()) or not _whole(df[d], 1, 31):
                    continue
                start = pd.to_datetime(year + part + "-" + pd.to_numeric(df[d]).astype("int64").astype(str).str.zfill(2),
                                       format="%Y-%m-%d", errors="coerce")
                if start.isna().any():
                    continue
                times, used = _finer_parts(df, free, [y, c, d], start)
                return _join_time(df, y, c, times, "the year, the month, the day and the hour" if len(used) > 3 else
                                  "the year, the month and the day", notes, tuple(used[2:]))
            return _join_time(df, y, c, year + part, f"the year and the {kind}", notes)
    notes.append(f"column {y!r} holds years: it is the time column (none was named; time=, or --time on the command "
                 "line, names another)")
    return y


def dates_across(df, id: str | None, path, notes: list[str]):
    """A table with one row per series and the dates across its header (``Page,2015-07-01,2015-07-02,...``, as
    web-traffic and sales exports are often laid out), melted to one row per (series, date): ``(frame, id
    column, time column, value column)``; ``None`` where fewer than three column names read as dates, where a
    column not named by a date holds numbers, or where more than one column is not named by a date (it would not
    be clear which is the id). Values are checked while the rows are the file's; said in ``notes``."""
    names = [str(c) for c in df.columns]
    dated = [c for c in names if re.search(r"\d[-/.]\d", c) and _names_a_date(c)]  # dates, not times of day
    years = [c for c in names if _YEAR_HEAD.fullmatch(c.strip()) and 1800 <= int(c.strip()[:4]) < 2200]
    if len(dated) < 3 and len(years) >= MIN_CODED_ROWS:  # '1960', '1961', ... or '1960 [YR1960]' (the World Bank)
        step = even_step(np.array([int(c.strip()[:4]) for c in years]))
        dated = years if step == 1 else []
    else:
        years = []
    if len(dated) < 3 and not years:  # period codes: '2018M01', '2018-Q1' (Eurostat's older files, the IMF)
        import pandas as pd

        coded = [c for c in names if re.fullmatch(r"\d{4}\s*-?\s*[MmQqWw]\d{1,2}|[Qq]\d\s*[-/ ]?\s*\d{4}", c.strip())]
        codes = period_codes(pd.Series([c.strip() for c in coded])) if len(coded) >= 3 else None
        dated = coded if codes is not None and codes.notna().all() else dated
    if len(dated) < 3:
        return None
    others = [c for c in names if c not in dated]
    if id and others != [id]:
        return None
    if len(others) > 1:  # 'Country Name, Country Code, Indicator Name, ...': the first one naming each row once
        if any(reads_as_numbers(df[c]) for c in others):
            return None
        distinct = [c for c in others if df[c].notna().all() and df[c].nunique() == len(df)]
        if not distinct:
            return None
        left = [c for c in others if c != distinct[0]]
        df = df.drop(columns=left)
        notes.append(f"column(s) {left} left out: {distinct[0]!r} names each row's series")
        others = [distinct[0]]
    if any(reads_as_numbers(df[c]) for c in others):
        return None
    for c in dated:  # checked here, while the rows are still the file's (notes come once, from the melted values)
        check_finite(numeric_column(df, c, path).to_numpy(), df, c, path)
    attrs = dict(df.attrs)
    key = others[0] if others else "series"
    frame = df.reset_index(drop=True)
    if not others:
        frame[key] = [where_row(df, i) for i in range(len(df))]  # 'row 2' in a file, 'position 0' in a frame
    time, value = ("time_" if key == "time" else "time"), "value"
    long = frame.melt(id_vars=[key], value_vars=dated, var_name=time, value_name=value, ignore_index=False)
    long["__row__"] = long.index.to_numpy()
    long = long.reset_index(drop=True)
    long.attrs.update(attrs)
    if years:  # whole years, as a year column is read: integer steps
        long[time] = long[time].str.strip().str[:4].astype("int64")
    notes.append(f"{len(dated)} columns named by {'years' if years else 'dates'} ({dated[0]!r} .. {dated[-1]!r}): one row per series"
                 + (f" (id column {key!r})" if others else " (each row a series)") + ", read as such")
    return long, key, time, value


def time_candidates(df, skip, notes: list[str]) -> tuple[str | None, list[str]]:
    """Where no time column is named: ``(column, dated)``. A date column and a time-of-day column are joined
    (:func:`date_and_clock`: that column, ``[]``), as are a date column and an hour column
    (:func:`date_and_hour`); else ``dated`` lists the columns, other than those in
    ``skip``, that :func:`holds_dates` (the column is the one of them, ``None`` where there are several: the
    caller names them in its error, and says which one it took); else a year column, alone or joined with a
    month or quarter column (:func:`year_columns`, ``[]``). The steps that build a column say so in ``notes``.
    The forecaster's and the anomaly detector's loaders both find their time column here."""
    found = [c for c in df.columns if c not in skip and holds_dates(df[c])]
    joined = date_and_clock(df, found, notes) or (date_and_hour(df, found[0], skip, notes) if len(found) == 1
                                                  else None)
    if joined:
        return joined, []
    if len(found) > 1 and _same_dates(df, found):  # 'DATE' beside 'TIME PERIOD' (the ECB): one time, written twice
        df.drop(columns=found[1:], inplace=True)
        notes.append(f"columns {found} hold the same dates: {found[0]!r} is read, the others left out")
        found = found[:1]
    if found:
        return (found[0] if len(found) == 1 else None), found
    return year_columns(df, skip, notes) or step_column(df, skip, notes), []


def _same_dates(df, cols) -> bool:
    """Whether the columns ``cols`` of ``df`` read as the very same times, row by row."""
    try:
        times = [np.asarray(parse_time(df, c, "")[0]) for c in cols]
    except ValueError:
        return False
    return all(t.shape == times[0].shape and bool(np.all(t == times[0])) for t in times[1:])


def find_time_column(df, skip, path, notes: list[str]) -> str | None:
    """The time column when none is named: the one column, other than those in ``skip`` (target, id,
    covariates), that :func:`holds_dates` (said in ``notes``), or a date and a time-of-day column joined
    (:func:`date_and_clock`), else a year column, alone or with a month or quarter column
    (:func:`year_columns`), as :func:`time_candidates` finds them; ``None`` (row order) where none does; an error
    naming them where several hold dates."""
    column, dated = time_candidates(df, skip, notes)
    if len(dated) > 1:
        raise _err(path, f"columns {dated} hold dates; name the time column (time=, or --time on the command line)")
    if dated:
        notes.append(f"column {column!r} holds dates: it is the time column (none was named; time=, or --time "
                     "on the command line, names another)")
    if column:
        return column

    def date_like(c) -> bool:  # digits and a separator in every row ('1-01', '01-Jan'), not labels ('north', 'N7')
        col = df[c].dropna()
        return (len(col) > 0 and not reads_as_numbers(col)
                and bool(col.astype(str).str.contains(r"\d[-/:. ]|[-/:. ]\d").all()))

    text = [c for c in df.columns if c not in skip and date_like(c)]
    if text:  # a time column pandas cannot read would otherwise vanish without a word
        c = text[0]
        notes.append(f"no column reads as dates: the rows are taken in file order as steps 0, 1, ... (column {c!r},"
                     f" e.g. {df[c].dropna().iloc[0]!r}, is not read as a date; write dates as YYYY-MM-DD to use "
                     "the calendar)")
    return None


#: a time zone's name in parentheses after a time, as ENTSO-E marks its hours (``02:00:00 (CEST)``), and its UTC
#: offset in hours: Europe's zones and UTC (names used elsewhere for other zones, CST or IST, are left alone)
ZONE_OFFSETS = {"UTC": 0, "GMT": 0, "WET": 0, "WEST": 1, "CET": 1, "CEST": 2, "MEZ": 1, "MESZ": 2, "EET": 2,
                "EEST": 3}
_ZONE_MARK = r"\s*\((" + "|".join(ZONE_OFFSETS) + r")\)"


def zone_marks(raw):
    """Times written with a zone's name in parentheses (``29/10/2023 02:00:00 (CEST)``, and the intervals ENTSO-E
    writes, ``29/10/2023 02:00:00 (CEST) - 29/10/2023 02:00:00 (CET)``): ``(the text without the names, each
    value's UTC offset in hours from its first name)``, the offsets ``None`` unless every value has a name (where
    only some have one, around a clock change, the others' offsets are unknown); ``None`` where no value has one."""
    import pandas as pd

    text = pd.Series(raw).astype(str)
    first = text.str.extract(_ZONE_MARK, expand=False)
    if first.isna().all():
        return None
    stripped = text.str.replace(_ZONE_MARK, "", regex=True)
    if first.isna().any():
        return stripped, None
    return stripped, first.map(ZONE_OFFSETS).to_numpy(dtype="int64")


#: a time interval written as its start and end: ``01.01.2020 00:00 - 01.01.2020 01:00`` (spaces around the dash)
_INTERVAL = r"\s*(\S*\d\S*(?:\s+\S*\d\S*)*)\s+[-\u2013]\s+(\S*\d\S*(?:\s+\S*\d\S*)*)\s*"


def interval_starts(raw):
    """Time intervals written as text, start and end (``01.01.2020 00:00 - 01.01.2020 01:00``, as the ENTSO-E
    transparency platform and other energy exports write them): the starts as text, or ``None`` unless every
    value is such an interval with the same number of parts on each side. Whether the starts are dates is the
    caller's question."""
    import pandas as pd

    text = pd.Series(raw).astype(str)
    parts = text.str.extract(f"^{_INTERVAL}$")
    if len(text) == 0 or parts.isna().any().any():
        return None
    if not (parts[0].str.split().str.len() == parts[1].str.split().str.len()).all():
        return None
    return parts[0]


def _one_format(raw, col: str, notes: list[str] | None):
    """Text dates read in one format for the whole column, day first or month
    first (``01/02/2024``), or ``None`` where neither reads every value (the
    caller then reads each value on its own). Each value read on its own
    would take ``02/01`` as 1 February and ``13/01`` as 13 January in one
    column. Where both orders read every value, the one whose times fall on
    a regular grid wins (month first where both or neither do, said in
    ``notes``)."""
    import warnings

    import pandas as pd

    def read(dayfirst: bool):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                t = pd.to_datetime(raw, dayfirst=dayfirst)
            except (TypeError, ValueError, OverflowError):
                return None
        return t if pd.api.types.is_datetime64_any_dtype(t) and not t.isna().any() else None

    text = raw.astype(str).str.strip()
    if text.str.match(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(\D|$)").all():  # year first (ISO 8601): never in doubt
        return read(False)
    first, day = read(False), read(True)
    if first is None or day is None or first.equals(day):
        return first if first is not None else day
    regular = [infer_freq(pd.DatetimeIndex(np.unique(t.dt.tz_localize(None) if t.dt.tz is not None else t)))
               is not None for t in (first, day)]
    if regular[1] and not regular[0]:
        if notes is not None:
            notes.append(f"column {col!r}: dates read day first ({raw.iloc[0]!r} = {day.iloc[0]:%d %B %Y}): "
                         "read month first they fall off any regular grid")
        return day
    if regular[0] and not regular[1]:  # read day first they fall off the grid: no doubt
        return first
    if notes is not None:
        notes.append(f"column {col!r}: dates such as {raw.iloc[0]!r} could be day or month first; read month first "
                     f"({first.iloc[0]:%d %B %Y}); write them as YYYY-MM-DD to remove the doubt")
    return first


def _repeats(times, keys) -> bool:
    """Whether a time occurs twice within one series."""
    import pandas as pd

    frame = pd.DataFrame({"t": np.asarray(times)})
    if keys is not None:
        frame["k"] = np.asarray(keys)
    return bool(frame.duplicated().any())


def _mixed_offsets(raw, col: str, path, df, keys=None):
    """Dates written with UTC offsets that change (a zone's summer and winter
    time, its name not given): held as the local wall-clock times written,
    or in UTC where the wall clock repeats a time; results in UTC then."""
    import pandas as pd

    stamps = []
    for i, v in enumerate(raw):
        try:
            stamps.append(pd.Timestamp(str(v)))
        except (TypeError, ValueError):
            raise _err(path, f"column {col!r} {where_row(df, i)}: expected a date/time or an integer step, "
                       f"got {v!r}") from None
    local = pd.Series([x.tz_localize(None) if x.tzinfo is not None else x for x in stamps])
    if not _repeats(local, keys):
        return local.to_numpy(dtype="datetime64[ns]"), True, None, False
    utc = pd.Series([x.tz_convert("UTC").tz_localize(None) if x.tzinfo is not None else x for x in stamps])
    return utc.to_numpy(dtype="datetime64[ns]"), True, "UTC", True


def _naive(t, keys=None):
    """Dates without a zone: tz-aware ones as local wall-clock times (a daily
    series stays on its midnights across daylight saving), or in UTC where
    the wall clock repeats a time (sub-daily data over the autumn change),
    with the zone kept for the results (:class:`OutputForm`)."""
    tz = getattr(t.dt, "tz", None)
    if tz is None:
        return t.to_numpy(), True, None, False
    local = t.dt.tz_localize(None)
    if _repeats(local, keys):
        return t.dt.tz_convert(None).to_numpy(), True, str(tz), True
    return local.to_numpy(), True, str(tz), False


def infer_freq(idx) -> str | None:
    """``pd.infer_freq`` as a string (pandas 3 may return an offset object), or the semi-monthly step it does not
    name (:func:`_semi_monthly`)."""
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pd.infer_freq(idx)
        if f is None and len(idx) >= 3:
            f = _semi_monthly(idx)
    return f if f is None or isinstance(f, str) else f.freqstr


def _semi_monthly(idx) -> str | None:
    """Twice a month (the 1st and the 15th, the 15th and the month's end, ...), which ``pd.infer_freq`` does not
    name: the pandas frequency whose grid is exactly ``idx``, or ``None``."""
    import pandas as pd

    days = set(idx.day)
    ends = idx.is_month_end
    inner = sorted(set(idx.day[~ends]))
    names = []
    if len(days) == 2 and 1 in days:  # first of the month and one more day
        names = [f"SMS-{max(days)}"]
    elif len(inner) == 1 and ends.any():  # one day and the month's last
        names = [f"SME-{inner[0]}", f"SM-{inner[0]}"]  # SM before pandas 2.2
    for name in names:
        try:
            grid = pd.date_range(idx[0], periods=len(idx), freq=name)
        except ValueError:
            continue
        if grid.equals(idx):
            return grid.freqstr
    return None


def _positions(ids: np.ndarray) -> dict[str, np.ndarray]:
    """Each id's row positions, ascending, from one stable sort (``ids == sid`` for every id compared every row
    once per series: 800 million string comparisons for 2,000 series of 200 rows)."""
    if len(ids) == 0:
        return {}
    order = np.argsort(ids, kind="stable")
    ranked = ids[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return {str(ranked[a]): order[a:b] for a, b in zip(starts, ends)}


def _common_freq(times, ids) -> str | None:
    """The frequency most series with at least three distinct timestamps show (``None`` where none does)."""
    import pandas as pd

    found: dict[str, int] = {}
    frame = pd.DataFrame({"t": np.asarray(times), "k": np.asarray(ids)})
    for _, t in frame.groupby("k", sort=False)["t"]:
        idx = pd.DatetimeIndex(np.unique(t.to_numpy()))
        f = infer_freq(idx) if len(idx) >= 3 else None
        if f:
            found[f] = found.get(f, 0) + 1
    return max(found, key=found.get) if found else None


def _row_text(file_rows: bool, header_lines: int = 1, positions=None):
    """How to name row ``r`` of the source: ``row r+2`` in a file (header = row 1), ``position r`` in a frame;
    ``positions``: each row's position in the file's data rows, where lines were left out between them."""
    if positions is not None and file_rows:
        return lambda r: f"row {int(positions[r]) + 1 + header_lines}"
    return (lambda r: f"row {r + 1 + header_lines}") if file_rows else (lambda r: f"position {r}")


#: steps a jittered clock is rounded to (:func:`snap_jitter`): the round ones loggers are set to
_ROUND_STEPS = ("1s", "2s", "5s", "10s", "15s", "20s", "30s", "1min", "2min", "5min", "10min", "15min", "20min",
                "30min", "1h", "2h", "3h", "4h", "6h", "12h", "1D")
#: a timestamp is rounded to the grid only where every one lies within this share of a step of a grid point
MAX_JITTER = 0.2


def snap_jitter(times: np.ndarray, freq) -> tuple[np.ndarray, str, float, int]:
    """Timestamps a logger wrote a little late or early (``00:05:01``, ``00:10:02`` for a 5-minute clock), rounded
    to their grid: ``(times, step, largest offset in seconds, how many moved)``; the times unchanged (and step
    ``""``) where they are on a grid already, or where rounding is not clear-cut: the step (``freq`` where it is
    a fixed step, else the round step of :data:`_ROUND_STEPS` within a tenth of the median step) must leave every
    time within :data:`MAX_JITTER` of a step from its grid point, and no two times on one point."""
    import pandas as pd

    if len(times) < 3:
        return times, "", 0.0, 0
    idx = pd.DatetimeIndex(times)
    steps = np.diff(idx.asi8)
    if (steps == steps[0]).all() or (freq is None and infer_freq(idx) is not None):  # even steps: fast, no grid
        return times, "", 0.0, 0
    step = None
    if freq is not None:
        try:
            step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq).nanos, "ns")
        except ValueError:
            return times, "", 0.0, 0
    else:
        median = pd.Timedelta(int(np.median(steps)), "ns")
        for s in map(pd.Timedelta, _ROUND_STEPS):
            if abs(median - s) <= 0.1 * s:
                step = s
                break
    if step is None or step <= pd.Timedelta(0) or not ((idx.asi8 - idx.asi8[0]) % step.value).any():
        return times, "", 0.0, 0  # no round step, or on a grid from the first time (gaps, 03:00 each day): as is
    rounded = idx.round(step)
    off = np.abs((idx - rounded).total_seconds().to_numpy())
    if not off.any() or off.max() > MAX_JITTER * step.total_seconds() or rounded.has_duplicates:
        return times, "", 0.0, 0
    name = pd.tseries.frequencies.to_offset(step).freqstr
    return rounded.to_numpy(), name, float(off.max()), int((off > 0).sum())


#: calendar periods a series read once a period at varying moments is laid on (:func:`once_a_period`), finest
#: first, with each one's length in days (roughly, for months and longer) to skip those far from the series' step
_READING_PERIODS = (("1min", 1 / 1440), ("5min", 5 / 1440), ("10min", 10 / 1440), ("15min", 15 / 1440),
                    ("30min", 30 / 1440), ("h", 1 / 24), ("D", 1.0), ("B", 1.4), ("W", 7.0), ("MS", 30.44),
                    ("QS", 91.31), ("YS", 365.25))
#: the words notes use for each of those periods
_PERIOD_WORDS = {"1min": "minute", "5min": "5-minute period", "10min": "10-minute period",
                 "15min": "quarter hour", "30min": "half hour", "h": "hour", "D": "day", "B": "business day",
                 "W": "week", "MS": "month", "QS": "quarter", "YS": "year"}
#: the least share of the periods from the first reading's to the last's that must hold a reading
MIN_PERIOD_COVER = 0.9
#: the largest share of those periods that may hold two readings or more (averaged, with a note)
MAX_PERIOD_REPEATS = 0.05
#: the least share of the readings off the grid (of steps: their most common offset in the period; of months,
#: quarters, years: the period's start). Fewer: a grid with gaps, which the regular grid reads as it is, or with
#: a mistyped time, which the error that names its row serves better
MIN_PERIOD_MOVED = 0.25


def once_a_period(times: np.ndarray) -> tuple[str, str, int] | None:
    """Readings taken once a calendar period at varying moments (a meter read on a different day each month, a
    weight logged at a different hour each morning, a sample at any minute of each hour), which no regular step
    describes: ``(frequency, words for the period, periods holding two readings or more)``, the finest period of
    :data:`_READING_PERIODS` in which the readings fall almost once each (at most :data:`MAX_PERIOD_REPEATS` of
    the periods twice or more, at least :data:`MIN_PERIOD_COVER` of them holding one); weeks start on the weekday
    that puts the readings nearest their week's start. ``None`` where no period fits, or where all but fewer than
    :data:`MIN_PERIOD_MOVED` of the readings lie on one grid (daily data at 03:00 with gaps, which the regular grid
    reads as they are; a mistyped date, which the error names)."""
    import pandas as pd

    if len(times) < 8:
        return None
    idx = pd.DatetimeIndex(times)
    median = float(np.median(np.diff(idx.asi8))) / sessions.DAY
    for name, days in _READING_PERIODS:
        if not 0.5 * days <= median <= 1.5 * days:
            continue
        found = None
        for freq in ([f"W-{d}" for d in ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")] if name == "W" else [name]):
            slots = _periods(idx, freq)
            if slots is None:
                continue
            kinds, counts = np.unique(slots, return_counts=True)
            span = len(pd.date_range(kinds[0], kinds[-1], freq=freq))
            if len(kinds) < MIN_PERIOD_COVER * span or (counts > 1).sum() > MAX_PERIOD_REPEATS * len(kinds):
                continue
            off = idx.asi8 - slots.astype("datetime64[ns]").astype("int64")
            if name in ("MS", "QS", "YS"):  # their grids start at the period's start: a later day is off it
                varying = float((off != 0).mean())
            else:  # a grid of fixed steps (or weekdays) may start at any moment: off it is off the common offset
                varying = 1.0 - np.unique(off, return_counts=True)[1].max() / len(off)
            if varying < MIN_PERIOD_MOVED:
                return None  # on a grid already, but for a few readings (typing errors?)
            offset = float(np.mean(off))
            if found is None or offset < found[1]:
                found = (freq, offset, int((counts > 1).sum()))
        if found is not None:
            return found[0], _PERIOD_WORDS[name], found[2]
    return None


#: the most steps a series' regular grid may span, where that is also more than 100 steps a row: beyond, a
#: mistyped time (a year 2203, a value in seconds among milliseconds) would fill memory with missing values
MAX_GRID = 10**6


def _check_span(n_grid: int, gaps: np.ndarray, times, path, time_col: str, sid: str, rows: np.ndarray,
                row_text) -> None:
    """Raise, naming the longest gap's rows, where the grid from the first time to the last would hold more than
    :data:`MAX_GRID` steps and more than 100 a row; ``gaps``: each step between consecutive times, in grid steps."""
    if n_grid <= max(MAX_GRID, 100 * len(times)):
        return
    i = int(np.argmax(gaps))
    raise _err(path, f"series {sid!r}, column {time_col!r}: the times span {n_grid} steps for {len(times)} rows; the "
               f"longest gap is {int(gaps[i]) - 1} missing steps, from {times[i]} {row_text(rows[i])} to "
               f"{times[i + 1]} {row_text(rows[i + 1])}: check that time for a typing error")


#: the steps an irregular-frequency error may suggest, with words for each (:func:`_step_hint`)
_HINT_STEPS = (("1min", "minutes"), ("5min", "5 minutes"), ("15min", "quarter hours"), ("h", "hours"),
               ("D", "days"), ("W", "weeks"), ("MS", "months"), ("QS", "quarters"), ("YS", "years"))


def _step_hint(idx) -> str:
    """For an irregular-frequency error: the first round step of :data:`_HINT_STEPS` at or above 0.8 of the times'
    median step, as a frequency to give (``; the times are 12 minutes apart at the median: freq='15min' groups
    them into quarter hours``); ``""`` for fewer than three times."""
    import pandas as pd

    if len(idx) < 3:
        return ""
    secs = float(np.median(np.diff(idx.asi8))) / 1e9
    days = {"1min": 1 / 1440, "5min": 5 / 1440, "15min": 15 / 1440, "h": 1 / 24, "D": 1, "W": 7, "MS": 28, "QS": 89,
            "YS": 365}
    shown = (f"{secs:.0f} seconds" if secs < 60 else f"{secs / 60:.0f} minutes" if secs < 3600 else
             f"{secs / 3600:.1f} hours" if secs < 86400 else f"{secs / 86400:.1f} days")
    for freq, words in _HINT_STEPS:
        if 0.8 * secs <= days[freq] * 86400:  # (a month of 28 days takes medians up to 35)
            return f"; the times are {shown} apart at the median: freq={freq!r} groups them into {words}"
    return ""


def _month_day_hint(idx) -> str:
    """For an irregular-frequency error: where every date is on one day of its month other than the first or
    the last (``2015-01-15``, ``2015-02-15``: monthly data stamped mid-month, which no pandas frequency
    describes), how to write them; else ``""``."""
    if len(idx) < 2 or (idx.day != idx.day[0]).any() or not 2 <= idx.day[0] <= 28 or (idx.normalize() != idx).any():
        return ""
    months = np.diff(np.asarray(idx.year) * 12 + np.asarray(idx.month))
    if not (months > 0).all():
        return ""
    return (f"; every date is on day {idx.day[0]} of its month: monthly data stamped mid-month have no pandas "
            f"frequency; write each as its month ({idx[0]:%Y-%m}) or its first day ({idx[0]:%Y-%m}-01)")


def _common_step(idx) -> str | None:
    """The step between consecutive times that is most common, as a pandas frequency, where it is at least half
    the steps, every time lies on it from the first and the times fill at least half its grid (daily data with
    a fifth of the days absent at random, which no stretch at the start shows; dates on weekdays only, in steps
    of business days: every other business day is ``2B``); ``None`` otherwise (a log of events at odd moments:
    the error asks for the frequency)."""
    import pandas as pd

    if len(idx) < 3:
        return None
    days = idx.to_numpy().astype("datetime64[D]")
    if (idx == idx.normalize()).all() and (idx.dayofweek < 5).all():  # weekdays only: steps of business days
        at = np.busday_count(days[0], days)
        kinds, counts = np.unique(np.diff(at), return_counts=True)
        k = int(kinds[counts.argmax()])
        if k > 1 and counts.max() >= 0.5 * (len(idx) - 1) and not (at % k).any() and len(idx) >= 0.5 * (at[-1] // k + 1):
            return f"{k}B"
    steps = np.diff(idx.asi8)
    kinds, counts = np.unique(steps, return_counts=True)
    step = int(kinds[counts.argmax()])
    if step <= 0 or counts.max() < 0.5 * len(steps) or ((idx.asi8 - idx.asi8[0]) % step).any():
        return None
    if len(idx) < 0.5 * ((idx.asi8[-1] - idx.asi8[0]) // step + 1):
        return None
    return pd.tseries.frequencies.to_offset(pd.Timedelta(step, "ns")).freqstr


def mean_step_days(freq) -> float:
    """The mean length in days of one step of a pandas frequency over ten years of steps ('MS' and 'ME' alike
    30.4, 'B' 1.4, 'D' 1)."""
    import pandas as pd

    t = pd.date_range("2000-01-01", periods=121, freq=freq)
    return float((t[-1] - t[0]) / pd.Timedelta(days=1) / 120)


def _grid(times, is_dt: bool, freq, path, time_col: str, sid: str, rows: np.ndarray, row_text=_row_text(True),
          default=None):
    """The regular grid covering ``times`` (sorted, unique) and its frequency; raise if off-grid. ``default``:
    called for the frequency to take where dates given no ``freq`` do not show their own (``None``: an error)."""
    import pandas as pd

    if not is_dt:
        steps = np.diff(times)
        if freq:
            step = int(freq)
        else:  # the most common step (np.bincount would allocate one counter for every step up to the longest)
            kinds, counts = np.unique(steps, return_counts=True)
            step = int(kinds[counts.argmax()]) if len(steps) else 1
        if step <= 0:
            raise _err(path, f"expected a positive integer time step, got {freq!r}")
        off = (times - times[0]) % step != 0
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise _err(path, f"series {sid!r}, column {time_col!r} {row_text(rows[i])}: irregular frequency: "
                       f"expected steps of {step} from {times[0]}, got {times[i]}")
        _check_span((int(times[-1]) - int(times[0])) // step + 1, steps // step, times, path, time_col, sid, rows,
                    row_text)
        grid = np.arange(times[0], times[-1] + 1, step)
        return pd.Index(grid), step
    idx = pd.DatetimeIndex(times)
    f = freq or infer_freq(idx) if len(idx) >= 3 else freq
    if not f:
        # try the frequency of the longest regular stretch at the start
        for n in (12, 8, 5, 3):
            if len(idx) >= n:
                f = infer_freq(idx[:n])
                if f:
                    break
    if not f:
        f = _common_step(idx)
    if not f and default is not None:
        f = default()
    if not f:
        raise _err(path, f"series {sid!r}, column {time_col!r}: irregular frequency: could not infer a regular "
                   "step from the timestamps; give it with freq= (--data.freq; a pandas frequency such as MS, D, h: "
                   "the values of each period are then averaged, or summed with aggregate='sum', --data.aggregate "
                   "sum)"
                   + (_month_day_hint(idx) or _step_hint(idx)))
    try:
        nanos = pd.tseries.frequencies.to_offset(f).nanos  # fixed steps (hours, days); calendar ones raise
    except ValueError:
        nanos = None
    if nanos:
        gaps = np.diff(idx.asi8) // nanos
        _check_span((int(idx[-1].value) - int(idx[0].value)) // nanos + 1, gaps, idx, path, time_col, sid, rows,
                    row_text)
    try:
        grid = pd.date_range(idx[0], idx[-1], freq=f)
    except ValueError as e:
        raise _err(path, f"expected a pandas frequency (MS, W-MON, D, h, 15min, ...) or a word (monthly, weekly, "
                   f"daily, hourly, quarterly, yearly), got {f!r}: {e}") from None
    on = idx.isin(grid)
    if not on.all():
        i = int(np.flatnonzero(~on)[0])
        raise _err(path, f"series {sid!r}, column {time_col!r} {row_text(rows[i])}: irregular frequency: "
                   f"{idx[i]} is off the {f!r} grid that starts at {idx[0]}" + _month_day_hint(idx))
    return grid, f


def _restarting(t_all, by_id: dict):
    """The :class:`~lstmkit.data.sessions.Restarting` calendar of dates at midnight, found on the longest series
    (where ``pd.infer_freq`` names none) and kept where every other series' dates lie on it; else ``None``."""
    import pandas as pd

    longest = max(by_id.values(), key=len)
    t = np.unique(t_all[longest])
    if len(t) < 8 or infer_freq(pd.DatetimeIndex(t)) is not None:
        return None
    found = sessions.find_restarting(t)
    if found is None or not all(found.on_grid(t_all[sel]).all() for sel in by_id.values()):
        return None
    return found


def _session_grid(session, t, path, time_col: str, sid: str, rows: np.ndarray, row_text):
    """The open slots of the days ``t`` (sorted datetimes) fall on, the session's frequency, how many open
    weekdays between the first and the last reading hold none (left out: a holiday is a closed day) and how many
    days of the other weekdays hold readings (kept); raise, naming the row, where a reading is off the slots (a
    session the user named that the data do not keep)."""
    import pandas as pd

    if isinstance(session, sessions.Restarting):  # steps that start again each month or year: every slot between
        grid = session.grid(t[0], t[-1])
        off = ~session.on_grid(t)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise _err(path, f"series {sid!r}, column {time_col!r} {row_text(rows[i])}: {pd.Timestamp(t[i])} is off "
                       f"the calendar {session.freq!r} ({session.describe()})")
        return grid, session.freq, 0, 0
    days = np.unique(session.session_days(t))  # (a slot after midnight belongs to the evening before's session)
    grid = pd.DatetimeIndex(session.on_days(days))  # the open days and any other day with readings
    grid = grid[(grid >= t[0]) & (grid <= t[-1])]  # (a session the data start or end inside)
    on = pd.DatetimeIndex(t).isin(grid)
    if not on.all():
        i = int(np.flatnonzero(~on)[0])
        raise _err(path, f"series {sid!r}, column {time_col!r} {row_text(rows[i])}: {pd.Timestamp(t[i])} is off the "
                   f"open slots of {session.freq!r} ({session.describe()})")
    extra = int((~np.isin(pd.DatetimeIndex(days).dayofweek, session.days)).sum())
    closed = len(session.open_days(t[0], t[-1])) - (len(days) - extra)
    return grid, session.freq, closed, extra


def _cut_at_long_gap(values, rows, sid, target, missing: str, max_gap: int, min_length: int, notes: list[str],
                     row_text=_row_text(True)) -> int:
    """Where a run of missing values longer than ``max_gap`` splits ``values`` (already trimmed) and the part after
    the last such run holds at least as many observed values as the part before it (and ``min_length``), the
    index it starts at, with a note: a sensor's outage early in a series leaves the rest to forecast from.
    0 otherwise (nothing cut; :func:`_fill_target` then names the run)."""
    miss = np.isnan(values)
    if missing != "interpolate" or not miss.any():
        return 0
    long = [(a, b + 1) for a, b in true_runs(miss) if b + 1 - a > max_gap]
    if not long:
        return 0
    a, b = long[-1]
    before, after = int((~miss[:a]).sum()), int((~miss[b:]).sum())
    if after < max(before, min_length):
        return 0
    at = row_text(rows[a]) if rows[a] >= 0 else f"step {a} of the series"
    notes.append(f"series {sid!r}: the {before} value(s) of {target!r} before a run of {b - a} missing values (from "
                 f"{at}; longer than max_gap={max_gap}) left out, the {after} after it kept (--data.max_gap {b - a} "
                 "interpolates the run instead)")
    return b


def _fill_target(values, rows, sid, path, target, missing: str, max_gap: int, notes: list[str],
                 row_text=_row_text(True)):
    """Interpolate inner gaps of ``values`` (already trimmed), or raise."""
    miss = np.isnan(values)
    if not miss.any():
        return values
    runs = [(a, b + 1) for a, b in true_runs(miss)]  # (start, stop)
    where = lambda a, b: row_text(rows[a]) if rows[a] >= 0 else f"step {a} of the series"  # noqa: E731
    if missing == "error":
        a, b = runs[0]
        raise _err(path, f"series {sid!r}, column {target!r} {where(a, b)}: missing value "
                   f"({int(miss.sum())} in all); use --data.missing interpolate to fill short gaps")
    long = [(a, b) for a, b in runs if b - a > max_gap]
    if long:
        a, b = long[0]
        raise _err(path, f"series {sid!r}, column {target!r}: a run of {b - a} missing values from {where(a, b)} "
                   f"is longer than max_gap={max_gap} (the values after it are fewer than those before, so the "
                   "series is not cut there); fill it, cut the series, or raise --data.max_gap")
    x = np.arange(len(values))
    filled = values.copy()
    filled[miss] = np.interp(x[miss], x[~miss], values[~miss])
    notes.append(f"series {sid!r}: {int(miss.sum())} missing value(s) of {target!r} in {len(runs)} run(s) "
                 f"(longest {max(b - a for a, b in runs)}) filled by linear interpolation")
    return filled


def _fill_covariate(arr: np.ndarray, names: list[str], sid: str, notes: list[str]) -> np.ndarray:
    import pandas as pd

    if arr.size == 0 or not np.isnan(arr).any():
        return arr
    df = pd.DataFrame(arr, columns=names)
    n = int(df.isna().sum().sum())
    df = df.ffill().bfill()
    if df.isna().any().any():
        col = names[int(np.flatnonzero(df.isna().any().to_numpy())[0])]
        raise ValueError(f"load_series: series {sid!r}: covariate {col!r} has no values at all")
    notes.append(f"series {sid!r}: {n} missing covariate value(s) filled forward/backward")
    return df.to_numpy()


def _index_holds_data(idx) -> bool:
    """Whether a frame's index holds values to read (levels of a MultiIndex, a named index, or text such as dates
    read by ``read_csv(index_col=0)``) rather than row labels (a RangeIndex, or the integers a filtered or sorted
    frame keeps)."""
    import pandas as pd

    if isinstance(idx, pd.MultiIndex):
        return True
    if isinstance(idx, pd.RangeIndex):
        return False
    return idx.name is not None or not (pd.api.types.is_integer_dtype(idx) or pd.api.types.is_bool_dtype(idx))


def index_as_columns(source, name: str, time: str | None = None, err=None):
    """A copy of the DataFrame ``source`` (column names as text) with an index that holds data made columns:
    ``(frame, the time column where the index held dates, else None)``. Periods (index, levels or columns) become
    their start dates; dates (unless ``time`` names a column) become the time column, named as the index or
    ``time``; the levels of a MultiIndex, a named index, or a text index (dates read by ``read_csv(index_col=0)``)
    become columns for the finders of the time and the id (:func:`_index_holds_data`). ``err``: how to raise for a
    name clash (the loader's ``_err`` by default)."""
    import pandas as pd

    err = err or _err
    df = source.copy()
    df.columns = [str(c).strip() for c in df.columns]
    if isinstance(df.index, pd.PeriodIndex):  # months or quarters as periods (statsmodels' data sets)
        df.index = df.index.to_timestamp()
    if isinstance(df.index, pd.DatetimeIndex) and (not time or time not in df.columns):  # as a Series' dates are
        dates = str(time or df.index.name or "time")
        if dates in df.columns:
            raise err(name, f"the dates are the index and a column is named {dates!r} too; give the time column "
                      "with time=")
        return _period_starts(df.reset_index(names=dates)), dates
    if _index_holds_data(df.index):  # (store, date) levels, or dates as text (read_csv's index_col=0)
        names = [str(n) if n is not None else ("time" if df.index.nlevels == 1 else f"level_{k}")
                 for k, n in enumerate(df.index.names)]
        clash = [n for n in names if n in df.columns]
        if clash:
            raise err(name, f"the index and a column are both named {clash[0]!r}; reset the index or rename one")
        df = df.reset_index(names=names)
    return _period_starts(df), None


def _period_starts(df):
    """``df`` with every column of periods (a PeriodIndex reset, a level of periods) as their start dates, as a
    PeriodIndex is read."""
    import pandas as pd

    for c in df.columns:
        if isinstance(df[c].dtype, pd.PeriodDtype):
            df[c] = df[c].dt.to_timestamp()
    return df


def as_frame(source, target: str | list[str] | None = None, time: str | None = None):
    """A DataFrame (and its name for messages) from a path, DataFrame, Series or 1-D array.

    A pandas Series becomes a frame with its name as the value column (and
    its index as the time column when ``time`` is not given and the index
    holds dates or is named); a 1-D array becomes the column ``target`` (or
    ``"value"``).
    """
    import pandas as pd

    if isinstance(source, (str, Path)):
        df = read_table(source)
        return df, str(source), time
    if isinstance(source, pd.DataFrame):
        if len(source) == 0:
            raise _err(source.attrs.get("source", "DataFrame"), f"no data rows (columns {list(source.columns)})")
        name = str(source.attrs.get("source", "DataFrame"))
        df, dates = index_as_columns(source, name, time)
        return df, name, time or dates
    if isinstance(source, pd.Series):
        name = str(source.name) if source.name is not None else (target if isinstance(target, str) and target else "value")
        if isinstance(source.index, pd.MultiIndex):  # (store, date) levels: a long table of one value column
            return as_frame(source.rename(name).to_frame(), target, time)
        idx = source.index.to_timestamp() if isinstance(source.index, pd.PeriodIndex) else source.index
        if time is None and (isinstance(idx, pd.DatetimeIndex) or idx.name is not None):
            time = str(idx.name or "time")
            df = pd.DataFrame({time: idx, name: source.to_numpy()})
        elif time is None and _index_holds_data(idx):  # unnamed text, dates perhaps: the time column finder decides
            df = pd.DataFrame({("index" if name == "time" else "time"): idx, name: source.to_numpy()})
        else:
            df = pd.DataFrame({name: source.to_numpy()})
        if len(df) == 0:
            raise _err("Series", "no values")
        if pd.isna(source).all():  # (the empty column would be dropped, then 'name the value column' asked for)
            raise _err("Series", f"every one of its {len(source)} values is missing")
        return df, "Series", time
    arr = np.asarray(source)
    if arr.ndim == 2 and arr.shape[1] == 1:  # one column: one series
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"load_series: expected a DataFrame, a Series, a 1-D array (or one column) or a file path, "
                         f"got an array of shape {arr.shape}")
    if len(arr) == 0:
        raise _err("array", "no values")
    if pd.isna(arr).all():
        raise _err("array", f"every one of its {len(arr)} values is missing")
    name = target if isinstance(target, str) and target else "value"
    return pd.DataFrame({name: arr}), "array", time


def load_series(
    path,
    target: str | list[str] | None = None,
    time: str | None = None,
    id: str | None = None,
    layout: str = "long",
    past_covariates: list[str] | None = None,
    future_covariates: list[str] | None = None,
    freq: str | int | None = None,
    missing: str = "interpolate",
    max_gap: int = 12,
    min_length: int = 2,
    source: str | None = None,
    find_time: bool = True,
    aggregate: str = "mean",
    anchor=None,
) -> SeriesSet:
    """Check ``path`` (a DataFrame, Series, 1-D array or a file) and return regular, gap-filled series.

    See the module doc for the checks and the stated fixes.

    Args:
        path: a DataFrame (long or wide), a pandas Series or 1-D array (one
            series), or a CSV/Parquet file, which is read into a DataFrame first (a ``.tsf`` file of the
            Monash archive: :func:`lstmkit.data.tsf.read_tsf`, which names the id, time and value columns).
        target: the value column (long); the series columns (wide, default all numeric).
        time: the time column; ``None``: the one column that is not numbers and reads as dates
            (:func:`find_time_column`), else the row order as integer steps.
        id: the series-id column (long layout); ``None`` means one series.
        layout: ``"long"`` or ``"wide"``.
        past_covariates: columns observed only up to the forecast origin.
        future_covariates: columns known ahead (calendar features are added by the task).
        freq: pandas frequency (``"MS"``), opening hours (``"30min 09:30-16:00 Mon-Fri"``,
            :mod:`lstmkit.data.sessions`) or integer step; default inferred.
        missing: ``"interpolate"`` (gaps up to ``max_gap``) or ``"error"``.
        max_gap: longest run of missing targets that is interpolated.
        min_length: fewer observed values than this is an error.
        source: the name used in messages and reports (default: the file path, or ``DataFrame``).
        aggregate: where ``freq`` is given and times fall between its grid points (a log of events, readings at
            odd moments), how the values of each period become one: ``mean``, ``sum`` (counts, amounts),
            ``last``, ``max`` or ``min`` (:func:`_aggregate`).
        find_time: with no ``time``, look for the one column of dates (``False``: the row order, as a model
            fitted on the row order reads new data).
        anchor: a time on the grid of a fitted model (new data for it): the ``freq`` grid of fixed steps is laid
            from it, so that 3-hourly readings at 01:00, 04:00, ... stay where they are instead of moving to the
            clock's 00:00, 03:00, ... (default: from the first day's midnight, as pandas' ``resample``); or a
            dict of them by series id, ``""`` for the series it does not name.
    """
    import pandas as pd

    asked = dict(target=target, time=time, id=id)  # as the caller named them (the finders below replace them)
    if layout not in ("long", "wide"):
        raise ValueError(f"load_series: expected layout 'long' or 'wide', got {layout!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"load_series: expected aggregate one of {list(AGGREGATES)}, got {aggregate!r}")
    if missing not in ("interpolate", "error"):
        raise ValueError(f"load_series: expected missing 'interpolate' or 'error', got {missing!r}")
    past_covariates = list(past_covariates or [])
    future_covariates = list(future_covariates or [])
    df, name, time = as_frame(path, target, time)
    if df.attrs.get("id_column"):  # a file that names its columns (.tsf): those, where the user named none
        id = id or df.attrs["id_column"]
        time = time or df.attrs.get("time_column")
        target = target or df.attrs["target_column"]
        freq = freq or df.attrs.get("freq")
    if isinstance(target, str) and "," in target and target not in df.columns:  # --target a,b as --id store,item
        target = [c.strip() for c in target.split(",") if c.strip()]
    given = set(df.columns)  # the columns as the data hold them (the finders below may add joined ones)
    src = source or name
    row_text = _row_text(bool(df.attrs.get("file_rows")), df.attrs.get("header_lines", 1), df.attrs.get("row_positions"))
    notes: list[str] = list(df.attrs.get("read_notes", []))
    freq = _frequency_word(freq, notes)
    named = [target] if isinstance(target, str) else list(target or [])
    drop_empty_columns(df, notes, {*named, time, *(id.split(",") if isinstance(id, str) else id or []),
                                   *past_covariates, *future_covariates})
    id = join_id_columns(df, id, src, notes)
    drop_row_counter(df, {*named, time, id, *past_covariates, *future_covariates}, notes)
    if layout == "long" and len(named) > 1 and not (id or past_covariates or future_covariates):
        layout = "wide"  # several value columns and nothing else: what the wide layout reads
        notes.append(f"{len(named)} target columns: each is read as a series of its own (layout wide)")
    if layout == "long" and not (time or target or past_covariates or future_covariates) and find_time:
        rows = dates_across(df, id, src, notes)  # one row per series, the dates across the header
        if rows is not None:
            df, id, time, target = rows
    if not time and find_time:
        time = find_time_column(df, {*named, id, *past_covariates, *future_covariates}, src, notes)
    if time and time in df.columns:  # rows with no field at all at the end (a spreadsheet's last lines)
        filled = np.flatnonzero(df.notna().any(axis=1).to_numpy())
        last = int(filled[-1]) + 1 if len(filled) else 0
        if 0 < last < len(df):
            notes.append(f"{len(df) - last} empty row(s) at the end skipped (from {where_row(df, last)})")
            attrs = dict(df.attrs)
            df = df.iloc[:last]
            df.attrs.update(attrs)
    if layout == "long" and time and not id and find_time and time in df.columns:
        id = find_id_column(df, time, {target if isinstance(target, str) else None, *past_covariates,
                                       *future_covariates}, src, notes)

    if layout == "wide":
        if id or past_covariates or future_covariates:
            raise _err(src, "the wide layout takes no id column and no covariates; use the long layout for those")
        cols = [target] if isinstance(target, str) else list(target or [])
        if time:
            _need(df, src, [time], "time")
        if not cols:
            cols = [c for c in df.columns if c != time and reads_as_numbers(df[c])]
            if not cols:
                raise _err(src, f"no numeric series columns besides the time column; the columns are {list(df.columns)}")
            text = [c for c in df.columns if c not in (time, "__row__", *cols)]
            if text:
                notes.append(f"column(s) {text[:5]}{' ...' if len(text) > 5 else ''} do not hold numbers: left out "
                             "(target= names the series columns)")
        _need(df, src, cols, "series")
        for c in cols:  # checked here, while the rows are still the file's
            check_finite(numeric_column(df, c, src).to_numpy(), df, c, src)
        keep = ([time] if time else []) + cols
        attrs = dict(df.attrs)  # file rows and header lines, for the messages about the melted rows
        long = df[keep].reset_index(drop=True).melt(id_vars=[time] if time else None, value_vars=cols,
                                                    var_name="__id__", value_name="__y__", ignore_index=False)
        long["__row__"] = long.index.to_numpy()
        df = long.reset_index(drop=True)
        df.attrs.update(attrs)
        id_col, target_col, target_name = "__id__", "__y__", "value"
    else:
        if isinstance(target, (list, tuple)):
            if len(target) != 1:
                raise _err(src, f"the long layout takes one target column, got {list(target)} (several are read as "
                                f"series of their own with no id column and no covariates, in the wide layout)")
            target = target[0]
        if not target:
            others = [c for c in df.columns if c not in (time, id, *past_covariates, *future_covariates)]
            numeric = [c for c in others if reads_as_numbers(df[c])]
            if not numeric and len(others) == 1:  # one column left, not read as numbers: its check names the row
                numeric = others
            if len(numeric) != 1:
                panel = bool(time) and not id and time in df.columns and df[time].duplicated().mean() >= 0.1
                wide = (" or layout='wide' (--data.layout wide) to forecast each of them as a series"
                        if len(numeric) > 1 and not id and not panel and not any(UNIX_NAME.search(str(c)) for c in numeric)
                        else "")
                raise _err(src, "expected the value column to be named: target= (--target on the command line)"
                           f"{wide}; numeric columns: {numeric}" + (id_hint(df, time, set()) if panel else ""))
            target = numeric[0]
        _need(df, src, [target], "target")
        if time:
            _need(df, src, [time], "time")
        if id:
            _need(df, src, [id], "id")
        _need(df, src, past_covariates, "past-covariate")
        _need(df, src, future_covariates, "future-covariate")
        unused = [c for c in df.columns if c not in (target, time, id, "__row__", *past_covariates, *future_covariates)
                  and reads_as_numbers(df[c])]
        if unused:  # said, so that a time or id column written as numbers (Unix seconds, store numbers) is not lost
            notes.append(f"numeric column(s) {unused[:5]}{' ...' if len(unused) > 5 else ''} not used (time=, id=, "
                         "past_covariates= or future_covariates= name them; --time, --id, --data.past_covariates or "
                         "--data.future_covariates on the command line)")
        df = df.reset_index(drop=True)
        if "__row__" not in df.columns:  # (dates across the header: the melted rows keep their file rows)
            df["__row__"] = np.arange(len(df))
        id_col, target_col, target_name = id, target, target

    y_all = numeric_column(df, target_col, src, notes=notes)
    covs = {c: numeric_column(df, c, src, notes=notes) for c in past_covariates + future_covariates}
    if layout == "long":
        check_finite(y_all.to_numpy(), df, target_col, src)
        for c, v in covs.items():
            check_finite(v.to_numpy(), df, c, src)
    if id_col and layout == "long":
        _read_ids(df, [id_col], src, notes)
    ids = df[id_col].astype(str).to_numpy() if id_col else np.array([target_name] * len(df))  # one series: named after its column
    if time:
        t_all, is_dt, tz, tz_utc = parse_time(df, time, src, ids if id_col else None, notes)
    else:
        t_all, is_dt, tz, tz_utc = None, False, None, False
    form = OutputForm(tz=tz, tz_utc=tz_utc)
    if id_col and layout == "long" and df.attrs.get("id_parts"):  # several id columns: the results name each
        form.id_columns, form.id_values = df.attrs["id_parts"]
    elif id_col and layout == "long":
        first = df[id_col].drop_duplicates()
        if not all(isinstance(v, str) for v in first):  # ids given as numbers (or other values) go back as such
            form.id_values = {str(v): (v.item() if isinstance(v, np.generic) else v) for v in first}
    row_all = df["__row__"].to_numpy()

    out: list[Series] = []
    common = None  # the step most series show, found where one series is too short to show its own

    def others_step(sid: str, n: int) -> str | None:
        nonlocal common
        if common is None:
            common = _common_freq(t_all, ids) or ""
        if common:
            notes.append(f"series {sid!r}: too few timestamps ({n}) to show their step; the {common!r} of the "
                         "other series taken")
        return common or None

    session = sessions.parse(freq)  # opening hours the user named ("h 10:00-18:00 daily"), or found below
    if session is not None:
        freq = None  # (no pandas frequency: the grid is the session's)
    by_id = _positions(ids)
    tod = t_all.astype("datetime64[ns]").astype("int64") % sessions.DAY if is_dt and len(t_all) else None
    if tod is not None and not freq and session is None and (
            np.ptp(tod) > 0 and sessions.closed_stretch(tod)[0] > sessions.MIN_CLOSED
            or not tod.any() and sessions.weekdays_uneven(t_all)):
        # (times of day that vary, but not round the clock; or dates at midnight, some weekdays rare in them:
        # only then per series)
        session = sessions.find([np.unique(t_all[sel]) for sel in by_id.values()])
        if session is not None and session.daily:
            notes.append(f"the readings fall on the same weekdays each week ({session.describe()}): the other days are "
                         f"closed, not missing; the series steps from one open day to the next (freq "
                         f"{session.freq!r}), and forecasts continue on open days")
        elif session is not None:
            notes.append(f"the readings fall in the same slots of each open day ({session.describe()}): the hours "
                         f"between are closed, not missing; the series steps from one open slot to the next (freq "
                         f"{session.freq!r}), and forecasts continue on those slots")
    if tod is not None and not freq and session is None and not tod.any():
        session = _restarting(t_all, by_id)
        if session is not None:
            notes.append(f"the dates step by {session.step} days from the first day of each {session.period} "
                         f"({session.describe()}), which no pandas frequency describes: read on that calendar (freq "
                         f"{session.freq!r}), and forecasts continue on it")
    closed_days: dict[str, int] = {}  # series -> open weekdays without a reading, left out as closed
    extra_days: dict[str, int] = {}  # series -> days of the weekdays mostly closed that hold readings, kept
    jitter: dict[str, list] = {}  # step -> [series, timestamps moved, largest offset in seconds]
    periodic: dict[tuple, list] = {}  # (period, its words) -> [series read once a period, periods read twice]
    before_series = len(notes)  # where the rounding note goes: after the notes on columns, before the series'
    scant: list[str] = []  # series with fewer than min_length observed values, where there are others
    steps_of: dict = {}  # each series' own frequency (or integer step) -> the series on it
    repeats: list[str] = []  # series whose local clock repeated an hour (its values averaged)
    backwards, shuffled = [], []  # series whose rows run newest first (price exports), or in no time order
    for sid in map(str, dict.fromkeys(ids)):  # file order; plain str, not numpy str, in ids and messages
        sel = by_id[sid]
        rows = row_all[sel]
        y = y_all.to_numpy()[sel]
        own = None  # the period of readings taken once a period at varying moments (:func:`once_a_period`)
        if t_all is None:
            t = np.arange(len(sel), dtype="int64")
        else:
            t = t_all[sel]
            order = np.argsort(t, kind="stable")
            if len(order) > 1 and (order[1:] < order[:-1]).any():
                (backwards if (order[1:] < order[:-1]).all() else shuffled).append(sid)
            t, y, rows, sel = t[order], y[order], rows[order], sel[order]
            if is_dt and t[1:].size and not (t[1:] == t[:-1]).any() and session is None:
                t, step, worst, moved = snap_jitter(t, freq)
                if moved:
                    jitter.setdefault(step, [0, 0, 0.0])
                    jitter[step][0] += 1
                    jitter[step][1] += moved
                    jitter[step][2] = max(jitter[step][2], worst)
            if (is_dt and not freq and session is None and len(t) >= 8 and not (t[1:] == t[:-1]).any()
                    and (np.diff(t) != t[1] - t[0]).any() and infer_freq(pd.DatetimeIndex(t)) is None):
                found = once_a_period(t)
                if found:
                    own, words, twice = found
                    t, y, rows, sel = _aggregate(_periods(t, own), y, rows, sel, "mean")
                    periodic.setdefault((own, words), [0, 0])
                    periodic[(own, words)][0] += 1
                    periodic[(own, words)][1] += twice
            if is_dt and freq:  # a grid the user gave: times between its points are grouped into its periods
                slots = _periods(t, freq, anchor.get(sid, anchor.get("")) if isinstance(anchor, dict) else anchor)
                if slots is not None and (slots != t).any():
                    most = int(np.max(np.unique(slots, return_counts=True)[1]))
                    moved = int((slots != t).sum())
                    t, y, rows, sel = _aggregate(slots, y, rows, sel, aggregate)
                    notes.append(f"series {sid!r}: {moved} time(s) between the points of the {freq!r} grid: " + (
                        "each dated by its period" if most == 1 else f"the values of each period "
                        f"{AGGREGATES[aggregate]} (up to {most} a period; data.aggregate: {', '.join(AGGREGATES)})"))
            dup = t[1:] == t[:-1]
            if dup.any() and is_dt and is_clock_repeat(t, t[1:][dup]):
                # the hour a local clock repeats when summer time ends: one slot on the grid, its values averaged
                t, y, rows, sel = _aggregate(t, y, rows, sel, "mean")
                repeats.append(sid)
                dup = t[1:] == t[:-1]
            if dup.any():
                i = int(np.flatnonzero(dup)[0])
                a, b = sorted((rows[i], rows[i + 1]))
                hint = clock_repeat_hint(t, t[1:][dup]) if is_dt else ""
                if not hint and not id_col:
                    hint = id_hint(df, time, {target_col, *past_covariates, *future_covariates})
                raise _err(src, f"series {sid!r}, column {time!r}: duplicate timestamp {pd.Timestamp(t[i]) if is_dt else t[i]} "
                           f"at {row_text(a)} and {row_text(b).split(' ')[-1]} ({int(dup.sum())} duplicate(s))"
                           .replace("at row ", "at rows ").replace("at position ", "at positions ") + hint)
        if session is not None and is_dt:
            grid, f, closed, extra = _session_grid(session, t, src, time, sid, rows, row_text)
            if closed:
                closed_days[sid] = closed
            if extra:
                extra_days[sid] = extra
        else:
            grid, f = _grid(t, is_dt, freq or own, src, time or "(row order)", sid, rows, row_text,
                            default=lambda: others_step(sid, len(t)))  # called here, in this step of the loop
        n = len(grid)
        pos = grid.get_indexer(pd.DatetimeIndex(t) if is_dt else pd.Index(t))
        yy = np.full(n, np.nan)
        yy[pos] = y
        rr = np.full(n, -1, dtype="int64")
        rr[pos] = rows
        if n > len(t):
            inserted = np.ones(n, dtype=bool)
            inserted[pos] = False
            hint = clock_skip_hint(t, np.asarray(grid)[inserted]) if is_dt else ""
            notes.append(f"series {sid!r}: {n - len(t)} timestamp(s) missing from the {f!r} grid inserted as missing "
                         f"values{hint}")
        cv = np.full((n, len(covs)), np.nan)
        for j, c in enumerate(covs):
            cv[pos, j] = covs[c].to_numpy()[sel]
        observed = np.flatnonzero(~np.isnan(yy))
        if len(observed) < min_length:
            if len(by_id) == 1:
                raise _err(src, f"series {sid!r}: expected at least {min_length} observed values of {target_name!r}, "
                           f"got {len(observed)}")
            scant.append(sid)  # one of many (a country with no data in a World Bank file): left out, said below
            continue
        first, last = int(observed[0]), int(observed[-1])
        if first > 0:
            notes.append(f"series {sid!r}: {first} leading missing value(s) dropped")
        n_future = 0
        if last < n - 1:
            tail_future = cv[last + 1:, len(past_covariates):]
            if future_covariates and not np.isnan(tail_future).any():
                n_future = n - 1 - last
                notes.append(f"series {sid!r}: {n_future} trailing row(s) with known-future covariates kept as the future")
            else:
                notes.append(f"series {sid!r}: {n - 1 - last} trailing missing value(s) dropped")
        first += _cut_at_long_gap(yy[first:last + 1], rr[first:last + 1], sid, target_name, missing, max_gap,
                                  min_length, notes, row_text)
        values = _fill_target(yy[first:last + 1], rr[first:last + 1], sid, src, target_name, missing, max_gap, notes,
                              row_text)
        past = _fill_covariate(cv[first:last + 1, :len(past_covariates)], past_covariates, sid, notes)
        fut = _fill_covariate(cv[first:last + 1 + n_future, len(past_covariates):], future_covariates, sid, notes)
        out.append(Series(id=str(sid), time=grid[first:last + 1], values=values, past=past, future=fut,
                          rows=rr[first:last + 1]))
        steps_of.setdefault(f, []).append(str(sid))
    if not out:
        raise _err(src, "no series found" if not scant else f"no series has {min_length} observed values of "
                   f"{target_name!r} ({len(scant)} series)")
    if repeats:
        shown = ", ".join(map(repr, repeats[:10])) + (" ..." if len(repeats) > 10 else "")
        notes.append(f"the hour a local clock repeats when summer time ends (times without a zone, twice in the "
                     f"small hours of an autumn day) holds one value on the grid: each repeated time's values "
                     f"averaged{' in series ' + shown if len(by_id) > 1 else ''} (times with their UTC offset, or in "
                     "UTC, keep both)")
    for which, how in ((backwards, "run newest first"), (shuffled, "are not in time order")):
        if which:
            shown = ", ".join(map(repr, which[:10])) + (" ..." if len(which) > 10 else "")
            notes.append(f"the rows {how}{' in ' + str(len(which)) + ' series (' + shown + ')' if len(by_id) > 1 else ''}"
                         ": read in time order")
    if scant:
        shown = ", ".join(map(repr, scant[:10])) + (" ..." if len(scant) > 10 else "")
        notes.append(f"{len(scant)} series with " + ("no observed value" if min_length == 1 else
                                                    f"fewer than {min_length} observed values")
                     + f" of {target_name!r} left out "
                     f"(nothing to forecast them from): {shown}")
    notes[before_series:] = gather_series_notes(notes[before_series:])
    for step, (k, moved, worst) in jitter.items():
        notes.insert(before_series, f"{moved} timestamp(s) a little off the {step!r} grid (at most {worst:g} s) rounded to it"
                     + (f" in {k} series" if len(out) > 1 else "") + " (a logger's clock that runs late or early)")
    if extra_days:
        notes.insert(before_series, f"{sum(extra_days.values())} day(s) of weekdays mostly closed hold readings: kept "
                     "in the history (forecasts are for the open weekdays)"
                     + (f", in {len(extra_days)} series" if len(out) > 1 else ""))
    if closed_days:
        notes.insert(before_series, f"{sum(closed_days.values())} open day(s) without a reading (holidays?) left out"
                     " as closed" + (f", in {len(closed_days)} series" if len(out) > 1 else ""))
    def read_on(grid: str, why: str) -> SeriesSet:
        """The same data read again on the one ``grid`` (as a given ``freq``), ``why`` its first note."""
        again = load_series(path, **asked, layout=layout, past_covariates=past_covariates,
                            future_covariates=future_covariates, freq=grid, missing=missing, max_gap=max_gap,
                            min_length=min_length, source=source, find_time=find_time, aggregate=aggregate)
        again.notes.insert(0, why)
        return again

    weekly = [per for per, _ in periodic if per.startswith("W-")]
    if len(weekly) > 1:  # series read once a week that settled on weeks starting on different days: one for all
        common = max(weekly, key=lambda p: periodic[(p, "week")][0])
        return read_on(common, f"the series read once a week settled on weeks starting on different days "
                               f"({', '.join(weekly)}): all read on the {common!r} weeks of the most")
    if len(steps_of) > 1 and not freq and session is None:
        ranked = sorted(steps_of, key=lambda f: -len(steps_of[f]))
        listed = "; ".join(f"{f!r}: {len(steps_of[f])} series ({', '.join(map(repr, steps_of[f][:3]))}"
                           f"{' ...' if len(steps_of[f]) > 3 else ''})" for f in ranked)
        if not is_dt or len({round(mean_step_days(f), 2) for f in ranked}) > 1:
            raise _err(src, f"the series step at different frequencies ({listed}), which one model cannot forecast "
                            "together: forecast each frequency in a run of its own, or give freq= (--data.freq) to "
                            "read them all on one grid (values within each period averaged; data.aggregate sum adds)")
        # one step length, anchored differently (month starts and month ends, weeks from Sundays and from
        # Mondays): each series' values taken into the periods of the most common grid, as a given freq would
        return read_on(ranked[0], f"the series are dated on grids of one step anchored differently ({listed}): all "
                                  f"read on the {ranked[0]!r} grid of the most, each value in the period it falls in "
                                  "(freq= gives another)")
    for (per, words), (k, twice) in periodic.items():
        notes.insert(before_series, ("one reading each " if k == 1 else f"{k} series read once each ") + f"{words} at varying "
                     f"moments, which no regular step describes: each {words}'s reading is taken as its value, dated "
                     f"the {words}'s start (freq {per!r}; freq= gives another)"
                     + (f"; {twice} {words}s hold two readings or more: those averaged" if twice else ""))
    return SeriesSet(series=out, source=src, target=target_name, freq=out and (f if is_dt else int(f)),
                     time_column=time if time in given else None, calendar=None if is_dt else df.attrs.get("calendar"),
                     past_names=past_covariates, future_names=future_covariates, notes=notes, form=form)


#: per-series notes of one kind shown one by one up to this many series; beyond it, these and a count
SERIES_NOTES_SHOWN = 3


def gather_series_notes(notes: list[str]) -> list[str]:
    """``notes`` with the per-series ones (``series 'A': 8 leading missing value(s) dropped``) of one kind (the same
    words, numbers aside) gathered into one note where more than :data:`SERIES_NOTES_SHOWN` series have it: the
    first few as they are, and how many more. A World Bank file of 266 countries would otherwise print 500 notes."""
    def kind(note: str) -> str | None:  # the words after 'series <id>:', numbers aside
        m = re.match(r"series (['\"]).*?\1: (.*)$", note)
        return re.sub(r"\d+(\.\d+)?", "#", m.group(2)) if m else None

    kinds: dict[str, list[int]] = {}
    for k, n in enumerate(notes):
        if kind(n) is not None:
            kinds.setdefault(kind(n), []).append(k)
    out, gathered = [], set()
    for k, n in enumerate(notes):
        if k in gathered:
            continue
        same = kinds.get(kind(n), []) if kind(n) is not None else []
        if len(same) > SERIES_NOTES_SHOWN:
            gathered.update(same)
            out.append("; ".join(notes[j] for j in same[:SERIES_NOTES_SHOWN])
                       + f" (and {len(same) - SERIES_NOTES_SHOWN} more series alike: {len(same)} in all)")
        else:
            out.append(n)
    return out


def future_index(series: Series, freq, steps: int):
    """The ``steps`` timestamps after the end of ``series``."""
    import pandas as pd

    last = series.time[-1]
    session = sessions.parse(freq)
    if session is not None:
        return session.after(last, steps)
    if isinstance(freq, str):
        return pd.date_range(last, periods=steps + 1, freq=freq)[1:]
    return pd.Index(np.arange(1, steps + 1) * int(freq) + int(last))


__all__ = ["Series", "SeriesSet", "OutputForm", "load_series", "read_table", "as_frame", "check_finite", "future_index",
           "table_dialect", "MAX_ABS"]
