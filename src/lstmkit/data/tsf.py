"""The Monash forecasting archive's ``.tsf`` files, read into a long table.

A ``.tsf`` file (Godahewa et al. 2021, forecastingdata.org) holds a header of
``@`` lines and one line a series::

    # comments
    @relation tourism_monthly
    @attribute series_name string
    @attribute start_timestamp date
    @frequency monthly
    @horizon 24
    @missing false
    @equallength false
    @data
    T1:1979-01-01 00-00-00:1149.87,1053.8,1388.88,...

Each data line gives its attributes in the order declared, then the values,
``?`` for a missing one. :func:`read_tsf` returns the long table the loaders
read (the series' name, its times where the file has a start and a
frequency, the value), and in its ``attrs`` the columns to take, the pandas
frequency and the file's horizon, which the forecaster states.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: the archive's frequency words -> pandas frequencies (weeks are anchored on each file's first weekday)
FREQUENCIES = {"4_seconds": "4s", "secondly": "s", "minutely": "min", "10_minutes": "10min", "15_minutes": "15min",
               "half_hourly": "30min", "hourly": "h", "daily": "D", "weekly": "W", "monthly": "MS",
               "quarterly": "QS", "yearly": "YS"}
_TIME_FORMAT = "%Y-%m-%d %H-%M-%S"


def _err(path, msg: str) -> ValueError:
    return ValueError(f"load_series: {path}: {msg}")


def read_tsf(path: str | Path):
    """The long table of a ``.tsf`` file: one row a value, columns ``series_name`` (the first attribute; the
    others are left out, with a note), ``time`` (where the series have a start and the file a frequency) and
    ``value``; ``attrs``: ``id_column``, ``time_column``, ``target_column``, ``freq``, ``horizon``,
    ``read_notes``, ``header_lines``."""
    import pandas as pd

    path = Path(path)
    attributes: list[tuple[str, str]] = []
    meta: dict[str, str] = {}
    names: list[list[str]] = []
    starts: list[str] = []
    values: list[np.ndarray] = []
    data_line = 0
    date_at = None  # the position of the start_timestamp among a data line's attributes
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not data_line:
                if line.lower() == "@data":
                    data_line = number
                    if not attributes:
                        raise _err(path, f"line {number}: @data before any @attribute line")
                    kinds = [k for _, k in attributes]
                    date_at = kinds.index("date") if "date" in kinds else None
                    continue
                if not line.startswith("@"):
                    raise _err(path, f"line {number}: expected an @ line of the header or @data, got {line[:40]!r}")
                key, _, rest = line[1:].partition(" ")
                if key.lower() == "attribute":
                    name, _, kind = rest.strip().partition(" ")
                    attributes.append((name, kind.strip().lower()))
                else:
                    meta[key.lower()] = rest.strip()
                continue
            parts = line.split(":", len(attributes))
            if len(parts) != len(attributes) + 1:
                raise _err(path, f"line {number}: expected {len(attributes)} attribute(s) and the values, separated "
                                 f"by ':', got {line[:60]!r}")
            fields, text = parts[:-1], parts[-1]
            try:
                v = np.array(text.replace("?", "nan").split(","), dtype="float64")
            except ValueError:
                bad = next(x for x in text.split(",") if x != "?" and not _is_float(x))
                raise _err(path, f"line {number}: expected numbers or '?', got {bad[:20]!r}") from None
            names.append(fields)
            values.append(v)
            if date_at is not None:
                starts.append(fields[date_at])
    if not data_line:
        raise _err(path, "no @data line: expected a .tsf file of the Monash forecasting archive")
    if not values:
        raise _err(path, "no series after @data")
    notes: list[str] = []
    first = next((i for i, (_, k) in enumerate(attributes) if k == "string"), 0)
    id_name = attributes[first][0]
    left = [n for i, (n, k) in enumerate(attributes) if i != first and k != "date"]
    if left:
        notes.append(f"the .tsf attributes {', '.join(left)} left out; {id_name!r} names the series")
    lengths = np.array([len(v) for v in values])
    out = pd.DataFrame({id_name: np.repeat([f[first] for f in names], lengths)})
    word = meta.get("frequency", "").lower()
    freq = FREQUENCIES.get(word)
    if word and freq is None:
        notes.append(f"the .tsf frequency {word!r} is not one lstmkit knows: the times are inferred, or steps")
    time_col = None
    if starts and freq:
        try:
            first_times = pd.to_datetime(pd.Series(starts), format=_TIME_FORMAT)
        except ValueError:
            first_times = pd.to_datetime(pd.Series(starts), errors="coerce")
        if first_times.isna().any():
            bad = starts[int(np.flatnonzero(first_times.isna().to_numpy())[0])]
            raise _err(path, f"a start_timestamp that is not a date: {bad!r}")
        if freq == "W":
            freq = f"W-{first_times.iloc[0].day_name()[:3].upper()}"
        elif freq in ("MS", "QS", "YS"):  # the period's start (some files start a monthly series on its last day)
            first_times = first_times.dt.to_period(freq[0]).dt.start_time
        times = [pd.date_range(t0, periods=n, freq=freq).to_numpy() for t0, n in zip(first_times, lengths)]
        out["time"] = np.concatenate(times)
        time_col = "time"
    elif freq:  # a frequency but no starts: steps, whose season the frequency still gives
        out.attrs["calendar"] = freq
        notes.append(f"the .tsf series have no start_timestamp: their values are steps; the season is the "
                     f"{word} frequency's")
    out["value"] = np.concatenate(values)
    horizon = meta.get("horizon", "")
    if horizon.isdigit():
        notes.append(f"the .tsf file gives a horizon of {horizon} (horizon=, --horizon, sets the one forecast)")
    out.attrs.update(id_column=id_name, time_column=time_col, target_column="value",
                     freq=freq if time_col else None, read_notes=notes, header_lines=data_line,
                     horizon=int(horizon) if horizon.isdigit() else None, file_rows=False)
    return out


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


__all__ = ["read_tsf", "FREQUENCIES"]
