"""Known-future features made from the time index alone: season phase and calendar cycles.

Each cycle becomes a (sin, cos) pair, so December sits next to January.
"""

from __future__ import annotations

import numpy as np


def _cycle(pos: np.ndarray, period: float) -> list[np.ndarray]:
    a = 2 * np.pi * np.asarray(pos, dtype="float64") / period
    return [np.sin(a), np.cos(a)]


def time_features(index, freq, season: int, step0: int = 0) -> tuple[np.ndarray, list[str]]:
    """Features for every timestamp of ``index``: ``(T, K)`` array and the K names.

    - ``season > 1``: the phase within the season (position modulo ``season``);
      for datetimes this uses the calendar (month of year for monthly data
      with season 12), for integer steps the step number;
    - daily or finer datetimes add day of week; hourly or finer, hour of day.
    """
    import pandas as pd

    cols: list[np.ndarray] = []
    names: list[str] = []
    n = len(index)
    from . import sessions

    session = sessions.parse(freq) or sessions.business_hours(freq)
    if session is not None:  # opening hours, pandas' business hours among them: the slot, and the weekday
        idx = pd.DatetimeIndex(index)
        if season > 1:
            pos = session.steps_from_epoch(idx)  # modulo the open day's slots: the slot of the day
            cols += _cycle(pos, season)
            names += ["season_sin", "season_cos"]
        if len(session.days) > 1:
            cols += _cycle(idx.dayofweek.to_numpy(), 7)
            names += ["dow_sin", "dow_cos"]
    elif isinstance(freq, str):
        idx = pd.DatetimeIndex(index)
        offset = pd.tseries.frequencies.to_offset(freq)
        name = getattr(offset, "rule_code", None) or str(freq)
        code = name.split("-")[0].upper()
        if season > 1:
            if code in ("MS", "M", "ME", "BM", "BMS", "SM", "SMS") and season == 12:
                pos = idx.month.to_numpy() - 1
            elif code in ("QS", "Q", "QE", "BQ", "BQS") and season == 4:
                pos = idx.quarter.to_numpy() - 1
            elif code in ("D", "B") and season == 7 or code == "B" and season == 5:  # weekdays: Monday is 0
                pos = idx.dayofweek.to_numpy()
            elif code in ("H",) and season == 24:
                pos = idx.hour.to_numpy()
            else:  # steps since the epoch, modulo the season
                steps = ((idx - pd.Timestamp("1970-01-01")) / pd.Timedelta(1, unit="ns")).to_numpy()
                try:
                    delta = offset.nanos if not code.startswith(("M", "Q", "Y", "A", "B", "S", "W")) else None
                except ValueError:  # a non-fixed frequency (weeks anchored on a day, ...)
                    delta = None
                if delta is None and code.startswith("W"):  # weeks: the phase within the calendar year
                    pos = (idx.dayofyear.to_numpy() - 1) / 7.0 * season / (365.25 / 7)
                if delta:
                    pos = steps // delta
                elif not code.startswith("W"):
                    pos = idx.year.to_numpy() * 12 + idx.month.to_numpy()
            cols += _cycle(pos, season)
            names += ["season_sin", "season_cos"]
        try:
            nanos = offset.nanos
        except ValueError:
            nanos = None
        if nanos is not None and nanos <= 86400 * 10**9 and season != 7:
            cols += _cycle(idx.dayofweek.to_numpy(), 7)
            names += ["dow_sin", "dow_cos"]
        if nanos is not None and nanos <= 3600 * 10**9 and season != 24:
            cols += _cycle(idx.hour.to_numpy(), 24)
            names += ["hour_sin", "hour_cos"]
    elif season > 1:
        pos = np.asarray(index, dtype="int64") - step0
        cols += _cycle(pos, season)
        names += ["season_sin", "season_cos"]
    if not cols:
        return np.zeros((n, 0)), []
    return np.stack(cols, axis=-1), names
