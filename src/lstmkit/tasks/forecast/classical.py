"""The classical forecasters every LSTM is measured against (and may lose to): naive, seasonal naive, ETS, ARIMA, Theta.

ETS, ARIMA and Theta are statsforecast's ``AutoETS``, ``AutoARIMA`` and
``AutoTheta`` (an optional dependency, in lstmkit's ``tasks`` extra, imported
only when used). For each series a model is fitted once on the training part
and then *moved forward* (``forward``: the fitted parameters, the actual
history up to the origin) to every forecast origin: the same protocol as the
LSTM, which is trained once and reads the history up to each origin.

Stated limits (they keep a run on long or fine-grained data to seconds):

- the fit uses at most the last ``max(10 seasons, 300)`` values of a series
  (moved forward, a model reads from the first of them to the origin);
- seasons longer than 24 steps (half-hourly data with a daily cycle, ...)
  are handled by STL: the series is seasonally adjusted (statsforecast's
  ``MSTL``) and the trend is forecast by ETS or ARIMA (ETS and seasonal ARIMA
  searches are refused or take minutes there); seasonal ARIMA is searched only
  for seasons up to 12; the decomposition's trend and low-pass smoothers are
  evaluated at every tenth of their span and interpolated between, as R's
  ``stl()`` does by default (:func:`stl_jumps`; statsmodels evaluates every
  point, which at a season of 360 made each decomposition 30x slower);
- a model that fails on a series (too short, constant, numerical trouble) or
  returns non-finite values is replaced for that series by seasonal naive
  (naive when the series is shorter than a season), and a note says so.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass, field

import numpy as np

#: every classical forecaster, in table order
CLASSICAL = ("naive", "seasonal_naive", "ets", "arima", "theta")
#: the statsforecast ones
STATISTICAL = ("ets", "arima", "theta")
LABELS = {"naive": "naive", "seasonal_naive": "seasonal naive", "ets": "AutoETS", "arima": "AutoARIMA",
          "theta": "AutoTheta"}
#: longest season ETS and ARIMA are fitted with directly (above it: STL adjustment first)
MAX_DIRECT_SEASON = 24
MAX_SEASONAL_ARIMA = 12


def statsforecast_available() -> bool:
    return importlib.util.find_spec("statsforecast") is not None


def stl_jumps(season: int, seasonal: int = 11) -> dict[str, int]:
    """STL's jumps for the trend and low-pass smoothers at ``season``: ``ceil(window / 10)``, R's ``stl()`` defaults
    (Cleveland et al. 1990 suggest them; the LOESS is fitted every ``jump`` points and interpolated between).

    The windows are statsmodels' defaults, which MSTL uses: the trend's the smallest odd integer above
    ``1.5 season / (1 - 1.5 / seasonal)``, the low-pass filter's the smallest odd integer above the season.
    ``seasonal`` is MSTL's seasonal window for one season (11). The seasonal smoother, cheap, keeps every point.
    """
    def above(x: float) -> int:
        k = int(np.floor(x)) + 1
        return k + (k % 2 == 0)

    trend = above(1.5 * season / (1 - 1.5 / seasonal))
    low = above(season)
    return {"trend_jump": -(-trend // 10), "low_pass_jump": -(-low // 10)}


def fit_length(season: int) -> int:
    """Most values a classical model is fitted on (the last ones)."""
    return max(10 * max(season, 1), 300)


def describe(name: str, season: int) -> str:
    """One line saying which statsforecast model runs for ``name`` at this season."""
    if name == "naive":
        return "naive: the last value repeated"
    if name == "seasonal_naive":
        return f"seasonal naive: the last {season} values repeated" if season > 1 else "seasonal naive = naive (no season)"
    if name == "theta":
        return f"AutoTheta(season_length={season})"
    jumps = "STL's trend and low-pass smoothers fitted every {trend_jump} and {low_pass_jump} points, as R's stl()"
    jumps = jumps.format(**stl_jumps(season))
    if season > MAX_DIRECT_SEASON:
        inner = "AutoETS(model='ZZN')" if name == "ets" else "AutoARIMA()"
        return (f"MSTL(season_length={season}, trend_forecaster={inner}) (STL adjustment: season > {MAX_DIRECT_SEASON}; "
                f"{jumps})")
    if name == "ets":
        return f"AutoETS(season_length={season})"
    if season > MAX_SEASONAL_ARIMA:
        return (f"MSTL(season_length={season}, trend_forecaster=AutoARIMA()) (seasonal ARIMA only up to "
                f"{MAX_SEASONAL_ARIMA}; {jumps})")
    return f"AutoARIMA(season_length={season})"


def _model(name: str, season: int, n: int):
    from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta

    m = max(1, int(season))
    if name == "theta":
        return AutoTheta(season_length=m)
    stl = m > MAX_DIRECT_SEASON or (name == "arima" and m > MAX_SEASONAL_ARIMA)
    if stl and n >= 2 * m + 1:
        trend = AutoETS(model="ZZN") if name == "ets" else AutoARIMA()
        return MSTL(season_length=m, trend_forecaster=trend, stl_kwargs=stl_jumps(m))
    if stl:  # too short to adjust: no seasonality
        return AutoETS(model="ZZN") if name == "ets" else AutoARIMA()
    return AutoETS(season_length=m) if name == "ets" else AutoARIMA(season_length=m)


def naive_forecast(history: np.ndarray, horizon: int) -> np.ndarray:
    """The last value repeated."""
    return np.full(horizon, float(history[-1]))


def seasonal_naive_forecast(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The last season repeated (naive when the history is shorter than a season or ``season <= 1``)."""
    if season <= 1 or len(history) < season:
        return naive_forecast(history, horizon)
    last = np.asarray(history[-season:], dtype="float64")
    return last[np.arange(horizon) % season]


def band_levels(quantiles) -> dict[float, float]:
    """Quantile level -> the statsforecast interval level (%) whose bound it is (0.025 and 0.975: 95); the median
    has none."""
    return {float(q): round(100 * abs(1 - 2 * float(q)), 6) for q in quantiles if float(q) != 0.5}


def unit_factor(y: np.ndarray) -> float:
    """What to multiply a series by before a statistical model sees it: a power of ten that brings a mean
    absolute value below 1 to between 100 and 1000 (else 1). AutoTheta's optimiser stops on absolute
    tolerances: on airline's values times 1e-4 its forecasts were 5.5 % off its forecasts of the values
    themselves, times 1e6 0.03 %; AutoETS and AutoARIMA did not move."""
    level = float(np.mean(np.abs(y))) if len(y) else 0.0
    if not 0 < level < 1 or not np.isfinite(level):
        return 1.0
    return float(10.0 ** np.ceil(2 - np.log10(level)))


def _series_forecasts(name: str, values: np.ndarray, end: int, origins: np.ndarray, horizon: int,
                      season: int, quantiles=()) -> tuple[np.ndarray, str | None, dict[float, np.ndarray]]:
    """Forecasts ``(len(origins), H)`` of one series, a note if a fallback was used, and (a statistical model,
    ``quantiles`` given, no fallback) the model's own interval bounds per quantile level, ``(len(origins), H)``."""
    out = np.zeros((len(origins), horizon))
    if name in ("naive", "seasonal_naive"):
        for i, t in enumerate(origins):
            out[i] = naive_forecast(values[:t], horizon) if name == "naive" else \
                seasonal_naive_forecast(values[:t], horizon, season)
        return out, None, {}
    levels = band_levels(quantiles)
    asked = sorted(set(levels.values()))
    bands = {q: np.zeros((len(origins), horizon)) for q in levels}
    cap = fit_length(season)
    start = max(0, end - cap)
    y = np.asarray(values[start:end], dtype="float64")
    factor = unit_factor(y)
    y = y * factor
    note = None
    try:
        if len(y) < 3:
            raise ValueError(f"{len(y)} values")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            model = _model(name, season, len(y)).fit(y)
            kw = {"level": asked} if asked else {}
            for i, t in enumerate(origins):
                # from the fit's own first value: a model moved forward runs its filter from the states it
                # fitted there, so a window that slid with the origin would shift a seasonal model's phase
                # by as much as the origin moved (ETS forecast the same values from every origin)
                hist = np.asarray(values[start:t], dtype="float64") * factor
                f = model.predict(horizon, **kw) if t == end else model.forward(y=hist, h=horizon, **kw)
                out[i] = np.asarray(f["mean"], dtype="float64")[:horizon] / factor
                for q, lv in levels.items():
                    bands[q][i] = np.asarray(f[f"{'lo' if q < 0.5 else 'hi'}-{lv}"], dtype="float64")[:horizon] / factor
        if not np.all(np.isfinite(out)) or np.any(np.abs(out) > 1e100):
            raise FloatingPointError("non-finite forecasts")
        if any(not np.all(np.isfinite(b)) for b in bands.values()):
            bands = {}  # no usable band of its own: the caller's validation errors give this series' band
    except Exception as e:  # noqa: BLE001 - any failure of a peer on one series becomes a stated fallback
        for i, t in enumerate(origins):
            out[i] = seasonal_naive_forecast(values[:t], horizon, season)
        note = f"{type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''}".rstrip(": ")
        bands = {}
    return out, note, bands


def _chunk(name, values_list, ends, origins_list, horizon, season, quantiles=()):
    return [_series_forecasts(name, v, e, o, horizon, season, quantiles)
            for v, e, o in zip(values_list, ends, origins_list)]


@dataclass
class ClassicalForecasts:
    """Forecasts of one classical model: ``point[k]`` is ``(len(origins[k]), H)``."""

    name: str
    point: list[np.ndarray]
    fallbacks: dict[str, str] = field(default_factory=dict)  # series id -> why seasonal naive was used
    seconds: float = 0.0
    #: the model's own interval bounds when asked for: quantile level -> per series ``(len(origins[k]), H)``,
    #: ``None`` for a series without them (a fallback, a non-finite band)
    bands: dict[float, list[np.ndarray | None]] = field(default_factory=dict)

    def notes(self) -> list[str]:
        if not self.fallbacks:
            return []
        ids = list(self.fallbacks)
        first = self.fallbacks[ids[0]]
        return [f"{LABELS[self.name]}: seasonal naive used instead on {len(ids)} series ({', '.join(map(repr, ids[:5]))}"
                f"{' ...' if len(ids) > 5 else ''}; first reason: {first})"]


def never_negative(values: np.ndarray, end: int | None = None) -> bool:
    """Whether a series never went below zero in its training part ``values[:end]`` (counts, sales, rainfall)."""
    v = values if end is None else values[:end]
    return bool(len(v)) and bool(np.min(v) >= 0)


def floor_at_zero(point: list[np.ndarray], values: list[np.ndarray], ends: list[int]) -> list[np.ndarray]:
    """Point forecasts at or above zero for each series that never went below it in training: a negative forecast
    of such a series (ARIMA's or an LSTM's near a run of zeros) is further from any value the series can take
    than zero is. Every forecaster, ours and the peers, obeys it, and the bands are floored alike."""
    return [np.maximum(p, 0.0) if never_negative(v, e) else p for p, v, e in zip(point, values, ends)]


#: the shortest run of one value that :func:`held_runs` reads as a new regime (longer where the horizon is): integer
#: counts at a steady level repeat a value three times in a row by chance now and then, five hardly ever
HELD_MIN = 5


def held_runs(values: np.ndarray, horizon: int) -> np.ndarray:
    """For each origin ``t`` (0..len), whether ``values[:t]`` ends in a new regime of one value held: a run of
    equal values at least ``max(HELD_MIN, horizon)`` steps long and more than twice as long as any earlier run of
    that value (a product taken off sale, a sensor stuck at one reading). Runs that the series has had before (the
    zeros of intermittent counts) do not count; neither does a whole history of one value, which every
    forecaster already forecasts as that value."""
    v = np.asarray(values, dtype="float64")
    out = np.zeros(len(v) + 1, dtype=bool)
    longest: dict[float, int] = {}  # value -> longest run of it that ended before the current run
    run = 0
    for t in range(len(v)):
        if t and v[t] == v[t - 1]:
            run += 1
        else:
            if t:
                longest[v[t - 1]] = max(longest.get(v[t - 1], 0), run)
            run = 1
        if run < t + 1:  # something else came before the run
            out[t + 1] = run >= max(HELD_MIN, horizon) and run > 2 * longest.get(v[t], 0)
    return out


def held_rows(values: list[np.ndarray], origins: list[np.ndarray], horizon: int) -> dict[int, list[int]]:
    """Per series with any, the rows of ``origins[k]`` that follow a new run of one held value (:func:`held_runs`),
    read on the values before the series' last origin only."""
    rows = {}
    for k, (v, o) in enumerate(zip(values, origins)):
        if len(o):
            held = held_runs(v[:int(np.max(o))], horizon)
            at = [i for i, t in enumerate(o) if held[int(t)]]
            if at:
                rows[k] = at
    return rows


def hold_runs(point: list[np.ndarray], values: list[np.ndarray], origins: list[np.ndarray],
              rows: dict[int, list[int]]) -> list[np.ndarray]:
    """Forecasts from an origin after a new run of one held value (``rows``, :func:`held_rows`) are that value: a
    model reads the run as noise around the old level (AutoARIMA forecast 5-9 a week for a product that sold 30 a
    week and then nothing for eight weeks). New arrays where changed; ``point`` is left as it was."""
    out = list(point)
    for k, at in rows.items():
        p = np.array(point[k], dtype="float64", copy=True)
        for i in at:
            p[i] = values[k][int(origins[k][i]) - 1]
        out[k] = p
    return out


def classical_forecasts(name: str, data, ends: list[int], origins: list[np.ndarray], horizon: int, season: int,
                        jobs: int = 1, quantiles=()) -> ClassicalForecasts:
    """Fit ``name`` on ``values[:ends[k]]`` of each series and forecast from every ``origins[k]``.

    ``data`` is a :class:`~lstmkit.data.series.SeriesSet` (only the values are
    used). With ``jobs > 1`` and many series the series are split across
    that many worker processes. ``quantiles``: levels whose bounds a statistical
    model also gives from its own intervals (statsforecast's ``level``; naive and
    seasonal naive give none).
    """
    import time

    if name not in CLASSICAL:
        raise ValueError(f"classical_forecasts: expected one of {CLASSICAL}, got {name!r}")
    if name in STATISTICAL and not statsforecast_available():
        raise ImportError(f"{LABELS[name]} needs the statsforecast package: pip install 'lstmkit[tasks]' "
                          "(or pip install statsforecast)")
    t0 = time.perf_counter()
    values = [s.values for s in data.series]
    origins = [np.asarray(o, dtype="int64") for o in origins]
    n = len(values)
    if jobs > 1 and name in STATISTICAL and n >= 8 * jobs:
        from concurrent.futures import ProcessPoolExecutor
        import multiprocessing as mp

        bounds = np.linspace(0, n, 4 * jobs + 1).astype(int)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_chunk, name, values[a:b], ends[a:b], origins[a:b], horizon, season, quantiles)
                       for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
            results = [r for f in futures for r in f.result()]
    else:
        results = _chunk(name, values, ends, origins, horizon, season, quantiles)
    fallbacks = {data.series[k].id: note for k, (_, note, _b) in enumerate(results) if note}
    bands = {q: [r[2].get(q) for r in results] for q in band_levels(quantiles)} \
        if any(r[2] for r in results) else {}
    point = floor_at_zero([r[0] for r in results], values, ends)
    return ClassicalForecasts(name, point, fallbacks, time.perf_counter() - t0, bands)


__all__ = ["CLASSICAL", "STATISTICAL", "LABELS", "ClassicalForecasts", "band_levels", "classical_forecasts", "describe",
           "floor_at_zero", "held_rows", "held_runs", "hold_runs", "naive_forecast", "never_negative", "seasonal_naive_forecast",
           "statsforecast_available", "fit_length"]
