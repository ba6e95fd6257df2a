"""The season length: from the calendar when the timestamps give one, else detected in the data.

A calendar frequency names the cycle people expect (12 for monthly data, 4
for quarterly, 7 for daily, 52 for weekly, one day of steps for hourly or
half-hourly data). Yearly data and plain integer steps have none, yet they
often cycle (sunspots every ~11 years, business cycles, a phase index): for
them the season is the lag with the strongest peak of the autocorrelation of
the training values around their straight-line trend, kept only when that
peak is clearly above noise (see :func:`detect_season`).

Data finer than 5 minutes have several calendar cycles and none is sure: a
day of 10-second steps is too long a season (8,640), and the minute a
10-second sensor would get from the calendar alone is seldom a cycle it
has. Their season is the calendar cycle (the minute, the hour, the day) at
which the values' autocorrelation peaks, among those short enough to model
(:data:`MAX_FINE_SEASON`), and the first that fits where none peaks (see
:func:`fine_season`).
"""

from __future__ import annotations

import numpy as np

#: minimum autocorrelation (around the trend line) at the detected lag
MIN_ACF = 0.25
#: the peak must also clear ``NOISE_Z / sqrt(n)``: white noise stays below it at about 100 lags at once
NOISE_Z = 3.3
#: shortest detected season (a lag-2 "cycle" is more often noise than a season)
MIN_DETECTED = 3
#: most steps in a calendar season (5-minute data a day); finer data take the hour (or minute) as season
MAX_DAILY_STEPS = 288
#: longest calendar cycle that data finer than 5 minutes may take when their values show it (twice a day of
#: 5-minute steps: the input window, two seasons, stays within twice the longest calendar one's)
MAX_FINE_SEASON = 2 * MAX_DAILY_STEPS
_MINUTE, _HOUR, _DAY = 60 * 10**9, 3600 * 10**9, 86400 * 10**9


def season_from_freq(freq) -> int:
    """Season implied by a pandas frequency (0 when the calendar implies none, e.g. yearly or integer steps); of
    opening hours (:mod:`lstmkit.data.sessions`), the open day's slots."""
    day = _open_day(freq)
    if day is not None:  # the open day's slots; of dates on open weekdays, the open week
        return day[0] if day[0] > 1 else day[1] if day[1] > 1 else 0
    from ...data import sessions

    restarting = sessions.parse(freq)
    if restarting is not None:  # dekads, 8-day composites: their slots in a year
        return restarting.per_year
    offset = _offset(freq)
    if offset is None:
        return 0
    code = offset.rule_code.split("-")[0].upper()
    n = max(1, int(getattr(offset, "n", 1)))
    per_year = None
    if code in ("MS", "M", "ME", "BMS", "BM", "BME", "CBMS", "CBME", "WOM", "LWOM"):  # WOM: a weekday of the month
        per_year = 12
    elif code in ("SMS", "SM", "SME"):
        per_year = 24
    elif code in ("QS", "Q", "QE", "BQS", "BQ", "BQE"):
        per_year = 4
    elif code in ("YS", "Y", "YE", "A", "AS", "BYS", "BY", "BA", "BAS"):
        return 0
    elif code == "W":
        per_year = 52
    if per_year is not None:
        return per_year // n if per_year % n == 0 and per_year // n > 1 else 0
    if code in ("B", "C"):
        return 5 if n == 1 else 0
    nanos = _step_nanos(freq)
    if not nanos:
        return 0
    if nanos == _DAY:
        return 7
    for cycle in (_DAY, _HOUR, _MINUTE):  # the day, else the hour, else the minute
        if nanos < cycle and cycle % nanos == 0 and cycle // nanos <= MAX_DAILY_STEPS:
            return int(cycle // nanos)
    return 0


def _open_day(freq) -> tuple[int, int] | None:
    """Of opening hours (a session of :mod:`lstmkit.data.sessions`, or pandas' business hours ``bh``, 09:00 to
    17:00 on weekdays): the steps of an open day and of an open week; ``None`` for any other frequency."""
    from ...data import sessions

    session = sessions.parse(freq) or sessions.business_hours(freq)
    if session is None or isinstance(session, sessions.Restarting):
        return None
    return session.slots, session.slots * len(session.days)


def calendar_cycles(freq) -> list[int]:
    """The minute, hour and day in steps of ``freq`` when the day is longer than :data:`MAX_DAILY_STEPS` steps
    (data finer than 5 minutes), those of at least :data:`MIN_DETECTED` and at most :data:`MAX_FINE_SEASON`
    steps; the open day and week of opening hours (:func:`_open_day`; a weekly effect, quiet Fridays, shows in
    the week); ``[]`` for any other frequency (its calendar season is sure, or it has none)."""
    day = _open_day(freq)
    if day is not None:
        return [c for c in day if MIN_DETECTED <= c <= MAX_FINE_SEASON] if day[0] > 1 else []
    nanos = _step_nanos(freq)
    if not nanos or _DAY // nanos <= MAX_DAILY_STEPS:
        return []
    return [c // nanos for c in (_MINUTE, _HOUR, _DAY)
            if c % nanos == 0 and MIN_DETECTED <= c // nanos <= MAX_FINE_SEASON]


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation at lags 0..max_lag (biased estimator, as in textbooks)."""
    x = np.asarray(x, dtype="float64")
    x = x - x.mean()
    den = float(np.dot(x, x))
    if den <= 0:
        return np.zeros(max_lag + 1)
    n = len(x)
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(x, nfft)
    r = np.fft.irfft(f * np.conj(f), nfft)[: max_lag + 1]
    return r / den


def detect_season(series: list[np.ndarray], max_lag: int | None = None) -> tuple[int, float]:
    """The lag of the strongest autocorrelation peak of the values around their trend line, and its height.

    For each series (at most 200, evenly spaced), the autocorrelation of the
    values minus their least-squares straight line is averaged across series
    (weighted by length). On 200 generated noisy cycles of periods 5-14 this
    finds the exact period 194 times (the differenced series, tried first:
    112), and it flags 5 of 400 random walks and noisy trends. The
    season is the lag ``m >= 3`` (at most a third of the typical length, so
    at least three cycles are seen) whose value is a local maximum and the
    largest such; it is kept when it exceeds both :data:`MIN_ACF` and
    ``NOISE_Z / sqrt(n)``, a band white noise stays under even when about a
    hundred lags are looked at. Returns ``(1, peak)`` when no lag qualifies.
    """
    acf, bar = _trend_acf(series, max_lag)
    if acf is None:
        return 1, 0.0
    max_lag = len(acf) - 1
    peaks = [m for m in range(MIN_DETECTED, max_lag) if acf[m] > acf[m - 1] and acf[m] >= acf[m + 1]]
    if not peaks:
        return 1, 0.0
    m = max(peaks, key=lambda k: acf[k])
    height = float(acf[m])
    if height < bar:
        return 1, height
    return int(m), height


def _trend_acf(series: list[np.ndarray], max_lag: int | None = None) -> tuple[np.ndarray | None, float]:
    """The autocorrelation around each series' straight-line trend, averaged over (at most 200) series weighted
    by length, at lags up to ``max_lag`` and a third of the typical length; and the height a peak must clear
    (:data:`MIN_ACF` and the noise band). ``(None, 0)`` when the series are too short or flat."""
    picked = [np.asarray(s, dtype="float64") for s in series if len(s) >= 12]
    if not picked:
        return None, 0.0
    if len(picked) > 200:
        picked = [picked[i] for i in np.linspace(0, len(picked) - 1, 200).astype(int)]
    n_typ = int(np.median([len(s) for s in picked]))
    cap = max(2, (n_typ - 1) // 3)
    max_lag = min(max_lag or cap, cap)
    if max_lag < 2:
        return None, 0.0
    total = np.zeros(max_lag + 1)
    weight = 0.0
    for s in picked:
        t = np.arange(len(s))
        d = s - np.polyval(np.polyfit(t, s, 1), t)  # the cycle around a straight-line trend
        if len(d) <= max_lag or np.std(d) == 0:
            continue
        total += len(d) * _acf(d, max_lag)
        weight += len(d)
    if weight == 0:
        return None, 0.0
    return total / weight, max(MIN_ACF, NOISE_Z / np.sqrt(n_typ * len(picked)))


def fine_season(cycles: list[int], series: list[np.ndarray]) -> tuple[int, float]:
    """The calendar cycle among ``cycles`` (steps) at which the values' autocorrelation around the trend peaks
    highest, and that height; ``(0, 0)`` when none does.

    A cycle counts when the autocorrelation within a tenth of it either side is highest inside that band (a
    peak, not a slope) and clears the bar of :func:`detect_season`: a slow hourly wave keeps a 10-second
    series' autocorrelation high at the minute's 6 steps too, but falling there, not peaking. The band allows
    for the estimator's shrinking with the lag and for a cycle that is not exactly the calendar's.
    """
    acf, bar = _trend_acf(series, max(cycles, default=0) + max(cycles, default=0) // 10 + 1)
    if acf is None:
        return 0, 0.0
    best, height = 0, 0.0
    for m in cycles:
        d = max(1, m // 10)
        if m + d >= len(acf):
            continue
        near = acf[m - d: m + d + 1]
        j = int(np.argmax(near))
        if 0 < j < 2 * d and near[j] >= bar and near[j] > height:  # a peak inside the band, not a slope
            best, height = m, float(near[j])
    return best, height


def resolve_season(season: int, freq, series: list[np.ndarray] | None = None) -> tuple[int, str]:
    """``(season, reason)``: the user's, the calendar's, or one detected in ``series`` (see the module doc)."""
    if season:
        return season, "given" if season > 1 else "given: none"
    cal = season_from_freq(freq)
    cycles = calendar_cycles(freq) if series is not None else []
    if cycles:
        m, peak = fine_season(cycles, series)
        if m > 1:
            return m, (f"the {freq!r} frequency's {_cycle_name(m, freq)}: the autocorrelation around the trend "
                       f"line peaks there ({peak:.2f})")
        if cal > 1:
            return cal, (f"from the {freq!r} frequency: no calendar cycle of at most {MAX_FINE_SEASON} steps "
                         "peaks in the values")
    if cal > 1:
        return cal, f"from the {freq!r} frequency"
    if series is None:
        return 1, "no calendar season"
    m, peak = detect_season(series)
    if m > 1:
        return m, f"detected: the autocorrelation around the trend line peaks at lag {m} ({peak:.2f})"
    return 1, "none: no calendar season and no clear autocorrelation peak"


def _offset(freq):
    """The pandas offset of a frequency string (``'MS'``, ``'10s'``), ``None`` for anything else."""
    if not isinstance(freq, str):
        return None
    import warnings

    import pandas as pd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None


def _step_nanos(freq) -> int:
    """The step of a fixed pandas frequency in nanoseconds; 0 for calendar ones (months, weeks, business days)."""
    offset = _offset(freq)
    try:
        return max(0, int(offset.nanos)) if offset is not None else 0
    except ValueError:
        return 0


def _cycle_name(steps: int, freq) -> str:
    """'minute', 'hour' or 'day' for a cycle of ``steps`` steps of ``freq``; 'open day' or 'open week' of
    opening hours."""
    day = _open_day(freq)
    if day is not None:
        return {day[0]: "open day", day[1]: "open week"}.get(steps, f"{steps}-step cycle")
    return {_MINUTE: "minute", _HOUR: "hour", _DAY: "day"}.get(steps * _step_nanos(freq), f"{steps}-step cycle")
