"""Opening hours: series read only in the same clock slots of each open day, or only on open weekdays.

A shop's till from 10:00 to 18:00, a market's half hours from 09:30 to 16:00
on weekdays, a call centre's quarter hours from 08:00 to 20:00 Monday to
Saturday, a shop closed for lunch (09:00 to 12:00 and 14:00 to 19:00), a bar
from 18:00 to 02:00 or night shifts from 22:00 to 06:00 (a slot after
midnight belongs to the evening's session and its weekday): between the
sessions nothing is measured, and nothing is missing.
A regular grid of hours would insert the closed hours as missing values and
fill them by interpolation (half the series made up) or stop at the first
night longer than ``max_gap``. Such a series steps instead from one open slot
to the next; its frequency is written as a string that says so,
``"h 10:00-18:00 daily"``, ``"30min 09:30-16:00 Mon-Fri"`` or
``"h 09:00-12:00,14:00-19:00 Mon-Sat"`` (the step as pandas writes it, each
open stretch from its first slot's start to its last slot's end, the open
weekdays), which :func:`parse` reads back, so a saved model forecasts on the
same slots. Open days without any reading (a holiday) are left out of the
history, as closed days, and days of a mostly closed weekday that hold
readings (a Saturday opened once) are kept in it; forecasts continue on the
open weekdays.

Dates on the same weekdays each week, the others closed (a shop shut on
Sundays), are the same thing a day at a time: ``"D Mon-Sat"``; a regular
daily grid would make up every Sunday by interpolation. Steps that start
again on the first day of each month or year (dekads, the 8- and 16-day
composites of satellite products) are :class:`Restarting`:
``"10D each month"``, ``"16D each year"``.

pandas' own ``bh`` (hours from 09:00 to 17:00, Monday to Friday) and ``B``
(Monday to Friday) are left to pandas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

DAY = 86400 * 10**9
_HOUR = 3600 * 10**9
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAYS = r"(daily|[A-Z][a-z]{2}(?:[-,][A-Z][a-z]{2})*)"
_FORM = re.compile(r"^(\d*[A-Za-z]+) (\d\d:\d\d-\d\d:\d\d(?:,\d\d:\d\d-\d\d:\d\d)*) " + _DAYS + "$")
_DAY_FORM = re.compile(r"^D " + _DAYS + "$")
#: the least time a day that must hold no reading for the rest to be a session: less is a day with a gap
MIN_CLOSED = 2 * _HOUR
#: the least share of the open slots (on the days with readings) that must hold one
MIN_COVER = 0.9
#: the least share of a weekday's dates in the span that must hold readings for the weekday to be open
MIN_DAY_SHARE = 0.5


def _step_name(step: int) -> str:
    import pandas as pd

    return pd.tseries.frequencies.to_offset(pd.Timedelta(step, "ns")).freqstr


def _days_text(days: tuple[int, ...]) -> str:
    if len(days) == 7:
        return "daily"
    if days == tuple(range(days[0], days[-1] + 1)) and len(days) > 2:
        return f"{DAY_NAMES[days[0]]}-{DAY_NAMES[days[-1]]}"
    return ",".join(DAY_NAMES[d] for d in days)


def _span_words(ns: int) -> str:
    for unit, name in ((_HOUR, "hour"), (60 * 10**9, "minute"), (10**9, "second")):
        if ns % unit == 0:
            n = ns // unit
            return f"{n} {name}" + ("s" if n != 1 else "")
    return f"{ns} ns"


def _clock(ns: int) -> str:
    """``HH:MM`` of ``ns`` after a midnight; past the next midnight, on the next day's clock (``26:00`` is
    ``02:00``); the next midnight itself is ``24:00``."""
    if ns != DAY:
        ns %= DAY
    return f"{ns // _HOUR:02d}:{ns % _HOUR // (60 * 10**9):02d}"


@dataclass(frozen=True)
class Session:
    """The open slots of a day, ``offsets`` ns after midnight (steps of ``step`` ns, in one run or several: a
    lunch break between two), on ``days`` (0 = Monday)."""

    step: int
    offsets: tuple[int, ...]
    days: tuple[int, ...]

    @property
    def slots(self) -> int:
        return len(self.offsets)

    @property
    def open(self) -> int:
        return self.offsets[0]

    @property
    def daily(self) -> bool:
        """One reading an open day (dates on open weekdays), not slots within it."""
        return self.step == DAY

    def runs(self) -> list[tuple[int, int]]:
        """The open stretches of the day: ``(start, end)`` in ns after midnight, the end after the last slot."""
        out: list[tuple[int, int]] = []
        for o in self.offsets:
            if out and o == out[-1][1]:
                out[-1] = (out[-1][0], o + self.step)
            else:
                out.append((o, o + self.step))
        return out

    @property
    def freq(self) -> str:
        """The frequency string (``"30min 09:30-16:00 Mon-Fri"``, ``"h 09:00-12:00,14:00-18:00 Mon-Sat"``,
        ``"D Mon-Sat"``) :func:`parse` reads."""
        if self.daily:
            return f"D {_days_text(self.days)}"
        hours = ",".join(f"{_clock(a)}-{_clock(b)}" for a, b in self.runs())
        return f"{_step_name(self.step)} {hours} {_days_text(self.days)}"

    def describe(self) -> str:
        """Words for notes: ``8 slots of 1 hour from 10:00 to 18:00, every day``; of dates, ``Mon-Sat``."""
        days = {"daily": "every day"}.get(_days_text(self.days), _days_text(self.days))
        if self.daily:
            return days
        hours = " and ".join(f"{_clock(a)} to {_clock(b)}" for a, b in self.runs())
        return f"{self.slots} slots of {_span_words(self.step)} from {hours}, {days}"

    def _offsets(self) -> np.ndarray:
        return np.asarray(self.offsets, dtype="int64")

    def session_days(self, times) -> np.ndarray:
        """The day (datetime64[D]) whose session each time belongs to: its own, or the day before for a slot after
        midnight of a session that opened the evening before (``18:00-02:00``)."""
        t = np.asarray(times, dtype="datetime64[ns]").astype("int64")
        return ((t - self.open) // DAY * DAY).astype("datetime64[ns]").astype("datetime64[D]")

    def on_days(self, days) -> np.ndarray:
        """Every slot of the sessions of the days ``days`` (their midnights), in time order."""
        d = np.asarray(days, dtype="datetime64[D]").astype("datetime64[ns]").astype("int64")
        return (d[:, None] + self._offsets()[None, :]).ravel().astype("datetime64[ns]")

    def open_days(self, first, last) -> np.ndarray:
        """The days of the open weekdays from ``first``'s session to ``last``'s."""
        import pandas as pd

        a, b = self.session_days([pd.Timestamp(first), pd.Timestamp(last)])
        days = pd.date_range(pd.Timestamp(a), pd.Timestamp(b), freq="D")
        return days[np.isin(days.dayofweek, self.days)].to_numpy()

    def grid(self, first, last):
        """The open slots from ``first`` to ``last`` (both included), as a DatetimeIndex."""
        import pandas as pd

        t = self.on_days(self.open_days(first, last))
        lo, hi = np.datetime64(pd.Timestamp(first)), np.datetime64(pd.Timestamp(last))
        return pd.DatetimeIndex(t[(t >= lo) & (t <= hi)])

    def after(self, last, steps: int):
        """The ``steps`` open slots after ``last``."""
        import pandas as pd

        last = pd.Timestamp(last)
        days = int(np.ceil(steps / self.slots * 7 / len(self.days))) + 8
        t = self.grid(last, last.normalize() + pd.Timedelta(days=days))
        return t[t > last][:steps]

    def position(self, times) -> np.ndarray:
        """The slot of each time within its session (0 for the first)."""
        t = np.asarray(times, dtype="datetime64[ns]").astype("int64")
        return np.searchsorted(self._offsets(), (t - self.open) % DAY + self.open)

    def steps_from_epoch(self, times) -> np.ndarray:
        """Open slots since 1970-01-01 (a Thursday): open days before each time's session day, times slots, plus
        its slot."""
        t = np.asarray(times, dtype="datetime64[ns]")
        mask = [d in self.days for d in range(7)]
        before = np.busday_count(np.datetime64("1970-01-01"), self.session_days(t), weekmask=mask)
        return before * self.slots + self.position(t)


@dataclass(frozen=True)
class Restarting:
    """Steps of ``step`` days that start again on the first day of each month or year (``period``: ``"month"``
    or ``"year"``), the last one of a period running to its end: dekads (``10D each month``: the 1st, 11th and
    21st), pentads, or the 8- and 16-day composites of satellite products (``8D each year``: days 1, 9, ...,
    361 of each year). The same methods as :class:`Session`, so the loaders, the calendar features and the
    forecasts read either."""

    step: int  # days
    period: str

    #: the last first day of a slot every period has (February's 28 days; a year's 365)
    _LAST = {"month": 27, "year": 364}

    @property
    def slots(self) -> int:
        return self._LAST[self.period] // self.step + 1

    @property
    def per_year(self) -> int:
        return self.slots * (12 if self.period == "month" else 1)

    @property
    def days(self) -> tuple[int, ...]:
        return ()  # (no weekday pattern)

    daily = False

    @property
    def freq(self) -> str:
        return f"{self.step}D each {self.period}"

    def describe(self) -> str:
        return (f"steps of {self.step} days from the first day of each {self.period}, {self.slots} a {self.period}, "
                f"the last running to the {self.period}'s end")

    def _starts(self, first, last) -> np.ndarray:
        import pandas as pd

        code = "MS" if self.period == "month" else "YS"
        lo = pd.Timestamp(first).to_period(code[0]).start_time
        return pd.date_range(lo, pd.Timestamp(last), freq=code).to_numpy()

    def grid(self, first, last):
        import pandas as pd

        offsets = (np.arange(self.slots) * self.step).astype("timedelta64[D]").astype("timedelta64[ns]")
        t = (self._starts(first, last)[:, None] + offsets[None, :]).ravel()
        lo, hi = np.datetime64(pd.Timestamp(first)), np.datetime64(pd.Timestamp(last))
        return pd.DatetimeIndex(t[(t >= lo) & (t <= hi)])

    def after(self, last, steps: int):
        import pandas as pd

        last = pd.Timestamp(last)
        t = self.grid(last, last + pd.Timedelta(days=(steps + 2) * self.step + 62))
        return t[t > last][:steps]

    def _in_period(self, times) -> np.ndarray:
        import pandas as pd

        idx = pd.DatetimeIndex(times)
        return np.asarray((idx.day if self.period == "month" else idx.dayofyear) - 1)

    def position(self, times) -> np.ndarray:
        """The slot of each time within its month or year (0 for the first)."""
        return np.minimum(self._in_period(times) // self.step, self.slots - 1)

    def on_grid(self, times) -> np.ndarray:
        """Whether each time is the first day of a slot, at midnight."""
        import pandas as pd

        idx = pd.DatetimeIndex(times)
        d = self._in_period(idx)
        return np.asarray((idx == idx.normalize()) & (d % self.step == 0) & (d // self.step < self.slots))

    def steps_from_epoch(self, times) -> np.ndarray:
        import pandas as pd

        idx = pd.DatetimeIndex(times)
        period = (idx.year - 1970) * 12 + idx.month - 1 if self.period == "month" else idx.year - 1970
        return np.asarray(period) * self.slots + self.position(idx)


_RESTART_FORM = re.compile(r"^(\d+)D each (month|year)$")


def find_restarting(times: np.ndarray) -> Restarting | None:
    """Dates (sorted datetime64[ns], at midnight, of one series) in steps of 2-31 days that start again each
    month or year (:class:`Restarting`); ``None`` unless every date is a slot's first day, a step other than
    the most common one falls only where a month or year begins (or skips whole slots within one), at least one
    new period starts them again off the step, and the dates fill 90 % of the slots from the first to the
    last."""
    import pandas as pd

    if len(times) < 8:
        return None
    idx = pd.DatetimeIndex(times)
    if (idx != idx.normalize()).any():
        return None
    gaps = np.diff(idx.asi8) // DAY
    kinds, counts = np.unique(gaps, return_counts=True)
    k = int(kinds[counts.argmax()])
    if not 2 <= k <= 31 or (gaps == k).all():
        return None
    for period in ("year", "month"):
        r = Restarting(k, period)
        if r.slots < 2 or not r.on_grid(idx).all():
            continue
        new = np.asarray((idx.dayofyear == 1) if period == "year" else (idx.day == 1))[1:]
        key = np.asarray(idx.year * 12 + idx.month if period == "month" else idx.year)
        missed = (gaps % k == 0) & (key[1:] == key[:-1])  # slots absent within a period
        if not (new | missed)[gaps != k].all() or not (new & (gaps % k != 0)).any():
            continue  # an odd step where no period begins, or no new period seen to start the steps again
        if len(idx) >= MIN_COVER * len(r.grid(idx[0], idx[-1])):
            return r
    return None


def parse(freq) -> Session | Restarting | None:
    """The session a frequency string names (:attr:`Session.freq`, :attr:`Restarting.freq`), else ``None``
    (pandas frequencies, integer steps)."""
    if not isinstance(freq, str):
        return None
    m = _RESTART_FORM.match(freq.strip())
    if m:
        r = Restarting(int(m.group(1)), m.group(2))
        return r if 1 <= r.step <= 31 and r.slots >= 2 else None
    m = _DAY_FORM.match(freq.strip())
    if m:
        days = _read_days(m.group(1))
        return Session(DAY, (0,), days) if days else None
    m = _FORM.match(freq.strip())
    if not m:
        return None
    import pandas as pd

    try:
        step = int(pd.tseries.frequencies.to_offset(m.group(1)).nanos)
    except ValueError:
        return None
    if step <= 0:
        return None
    offsets: list[int] = []
    for run in m.group(2).split(","):
        a, b = ((int(x[:2]) * 60 + int(x[3:])) * 60 * 10**9 for x in run.split("-"))
        if a >= DAY or b > DAY:
            return None
        if offsets and a < offsets[-1]:  # a stretch after midnight of a session that opened the evening before
            a += DAY
            b += DAY
        if b <= a:  # '18:00-02:00': the end on the next day
            b += DAY
        first = offsets[0] if offsets else a
        if (b - a) % step or (offsets and a < offsets[-1] + step) or b - first > DAY:
            return None  # (a session is at most a day long)
        offsets += range(a, b, step)
    days = _read_days(m.group(3))
    return Session(step, tuple(offsets), days) if days else None


def business_hours(freq) -> Session | None:
    """pandas' business hours (``bh``, or a ``CustomBusinessHour``) as the :class:`Session` they are: steps of
    ``n`` hours over each working day's stretches, on its weekdays (Monday to Friday unless a weekmask says
    otherwise); ``None`` for any other frequency, or where the stretches are not whole steps."""
    import pandas as pd

    if not isinstance(freq, str):
        return None
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    if not isinstance(offset, pd.offsets.BusinessHour | pd.offsets.CustomBusinessHour):
        return None
    step = max(1, int(offset.n)) * _HOUR
    offsets: list[int] = []
    for a, b in zip(offset.start, offset.end):
        lo, hi = (a.hour * 60 + a.minute) * 60 * 10**9, (b.hour * 60 + b.minute) * 60 * 10**9
        if hi <= lo:
            hi += DAY  # a working day past midnight
        if (hi - lo) % step:
            return None
        offsets += range(lo, hi, step)
    mask = getattr(offset, "weekmask", None) or "Mon Tue Wed Thu Fri"
    return Session(step, tuple(offsets), tuple(DAY_NAMES.index(d) for d in mask.split()))


def _read_days(text: str) -> tuple[int, ...] | None:
    """``daily``, ``Mon-Sat`` or ``Mon,Wed,Fri`` as weekday numbers; ``None`` for a name that is not a day."""
    try:
        if text == "daily":
            return tuple(range(7))
        if "-" in text:
            lo, hi = (DAY_NAMES.index(x) for x in text.split("-"))
            return tuple(range(lo, hi + 1)) if lo < hi else None
        return tuple(sorted(set(DAY_NAMES.index(x) for x in text.split(","))))
    except ValueError:
        return None


def _weekdays_open(dates: np.ndarray) -> tuple[int, ...]:
    """The weekdays (0 = Monday) that hold readings on at least :data:`MIN_DAY_SHARE` of their dates from the
    first of ``dates`` (days since 1970-01-01) to the last; ``()`` where the others hold readings on more than
    half the share of the least open one (gaps at random, not days closed each week)."""
    weekday = (dates + 3) % 7  # 1970-01-01 was a Thursday
    span = (np.arange(dates[0], dates[-1] + 1) + 3) % 7
    share = np.bincount(weekday, minlength=7) / np.maximum(np.bincount(span, minlength=7), 1)
    days = tuple(d for d in range(7) if share[d] > 0 and share[d] >= MIN_DAY_SHARE)
    closed = [share[d] for d in range(7) if d not in days]
    if days and closed and max(closed) > 0.5 * min(share[d] for d in days):
        return ()
    return days


def weekdays_uneven(times: np.ndarray) -> bool:
    """Whether some weekday holds fewer than half the times the commonest one holds (a quick look across all
    series before :func:`find` looks at each: daily, weekly and monthly data hold every weekday alike, or one)."""
    counts = np.bincount((np.asarray(times, dtype="datetime64[D]").astype("int64") + 3) % 7, minlength=7)
    return bool(counts.min() < 0.5 * counts.max()) and np.count_nonzero(counts) > 1


#: the least weeks of dates from which open weekdays are told from closed ones
MIN_WEEKS = 4


def _open_weekdays(times: list[np.ndarray], every: np.ndarray) -> Session | None:
    """Dates (at midnight) on the same weekdays each week, the others closed: a shop shut on Sundays, a market
    open Tuesday to Saturday. ``None`` where every weekday is open (daily data, with gaps or not), or where the
    open ones are Monday to Friday with no reading on another day (pandas' business days, ``B``)."""
    dates = np.unique(every // DAY)
    if dates[-1] - dates[0] < 7 * MIN_WEEKS:
        return None
    days = _weekdays_open(dates)
    if len(days) in (0, 7):
        return None
    if days == tuple(range(5)) and ((dates + 3) % 7 < 5).all():
        return None  # business days: pandas' own
    return Session(DAY, (0,), days)


def closed_stretch(tod: np.ndarray) -> tuple[int, int]:
    """The longest stretch of the day, round the clock, between two times of day read (``tod``: ns after
    midnight), less one reading's step at most: ``(its length from one reading to the next, the time of day the
    next reading opens)``; a day read at one time only is ``(DAY, that time)``."""
    u = np.unique(np.asarray(tod, dtype="int64"))
    gaps = np.diff(np.r_[u, u[0] + DAY])
    k = int(np.argmax(gaps))
    return int(gaps[k]), int(u[(k + 1) % len(u)])


def find(series_times: list[np.ndarray]) -> Session | None:
    """The session of series read only in the same clock slots of each open day, from each series' sorted
    datetime64[ns] times; ``None`` unless all of these hold: one step, the most common between readings and
    shorter than a day, lays every reading on a lattice from the earliest time of day (the slots are the times
    of day read, so a lunch break between two stretches is closed too); at least
    :data:`MIN_CLOSED` of each day holds no reading; readings fall on at least three days; and the readings
    fill at least :data:`MIN_COVER` of the slots of the days they fall on. The open weekdays (those forecast)
    are those that hold readings on :data:`MIN_DAY_SHARE` of their dates; a day of another weekday with
    readings (a Saturday opened once) stays in the history. Hours from 09:00 to 17:00 on weekdays are pandas'
    ``bh``: ``None``. Dates at midnight, a day apart for the most part, are read by :func:`_open_weekdays`."""
    times = [np.asarray(t, dtype="datetime64[ns]").astype("int64") for t in series_times if len(t)]
    if not times:
        return None
    every = np.concatenate(times)
    tod = every % DAY
    lo, hi = int(tod.min()), int(tod.max())
    closed, start = closed_stretch(tod)  # the session opens after the day's longest closed stretch (18:00 for a bar)
    if hi > 0 and closed <= MIN_CLOSED:
        return None  # readings all round the clock: not a session
    steps = np.concatenate([np.diff(t) for t in times])
    steps = steps[steps > 0]
    if not len(steps):
        return None
    kinds, counts = np.unique(steps, return_counts=True)
    step = int(kinds[counts.argmax()])
    if step == DAY and hi == 0:
        return _open_weekdays(times, every)
    if step >= DAY or counts.max() < 0.5 * len(steps) or ((tod - lo) % step).any():
        return None
    shifted = (tod - start) % DAY + start
    offsets = tuple(int(o) for o in np.unique(shifted))  # the slots: the times of day read (a lunch break between)
    slots = len(offsets)
    if slots < 2 or DAY - slots * step < MIN_CLOSED:
        return None
    dates = np.unique((every - start) // DAY)  # each reading's session day
    if len(dates) < 3:
        return None
    days = _weekdays_open(dates)
    if not days:
        return None
    s = Session(step, offsets, days)
    if s.freq == "h 09:00-17:00 Mon-Fri":
        return None  # pandas' business hours
    open_slots = sum(len(np.unique((t - start) // DAY)) for t in times) * slots
    if len(every) < MIN_COVER * open_slots:
        return None
    return s


__all__ = ["Session", "Restarting", "parse", "business_hours", "find", "find_restarting"]
