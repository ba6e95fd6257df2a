"""From a SeriesSet to the LSTM's inputs: per-series transform and scaling, known-future features."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...data.calendar import time_features
from ...data.scaling import SeriesScaler
from ...data import sessions
from ...data.series import Series, SeriesSet, future_index
from .config import DataConfig


def resolve_transform(transform: str, data: SeriesSet) -> bool:
    """Whether to log-transform: ``auto`` means yes when every value is positive."""
    if transform == "log":
        return True
    if transform == "none":
        return False
    return all(np.all(s.values > 0) for s in data.series)


@dataclass
class Transform:
    """Everything fitted on training data that the model's inputs depend on (saved with the model)."""

    scaler: SeriesScaler
    season: int
    calendar: bool
    freq: object
    past_loc: list[float] = field(default_factory=list)
    past_scale: list[float] = field(default_factory=list)
    fut_loc: list[float] = field(default_factory=list)
    fut_scale: list[float] = field(default_factory=list)
    calendar_names: list[str] = field(default_factory=list)
    #: per-series seasonal indices in the scaled units (ES-RNN-style deseasonalisation), by series id
    seasonal: dict[str, list[float]] | None = None
    #: the time of the value each series' first index belongs to (text for dates, an integer step), so that
    #: a history starting elsewhere (``predict(history=...)``) reads the indices in the same phase
    seasonal_t0: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"scaler": self.scaler.to_dict(), "season": self.season, "calendar": self.calendar,
                "freq": self.freq, "past_loc": self.past_loc, "past_scale": self.past_scale,
                "fut_loc": self.fut_loc, "fut_scale": self.fut_scale, "calendar_names": self.calendar_names,
                "seasonal": self.seasonal, "seasonal_t0": self.seasonal_t0}

    @classmethod
    def from_dict(cls, d: dict) -> "Transform":
        return cls(scaler=SeriesScaler.from_dict(d["scaler"]), season=int(d["season"]), calendar=bool(d["calendar"]),
                   freq=d["freq"], past_loc=list(d["past_loc"]), past_scale=list(d["past_scale"]),
                   fut_loc=list(d["fut_loc"]), fut_scale=list(d["fut_scale"]),
                   calendar_names=list(d["calendar_names"]), seasonal=d.get("seasonal"),
                   seasonal_t0=dict(d.get("seasonal_t0") or {}))

    @classmethod
    def fit(cls, data: SeriesSet, ends: list[int], cfg: DataConfig | None, season: int, calendar: bool,
            log: bool | None = None, scaling: str | None = None, deseasonalise: bool = False) -> "Transform":
        """Fit on ``values[:ends[k]]`` of each series; ``log``/``scaling`` override ``cfg.transform``/``cfg.scaling``.

        ``deseasonalise``: also estimate each series' seasonal indices (:func:`seasonal_indices`) and
        take them out of the values the network reads (they are added back to its forecasts).
        """
        if log is None:
            log = resolve_transform(cfg.transform if cfg else "auto", data)
        if scaling is None:
            scaling = cfg.scaling if cfg else "auto"
        method = scaling if scaling != "auto" else ("none" if log else "standard")
        scaler = SeriesScaler(method=method, log=log)
        scaler.fit({s.id: s.values[:max(1, e)] for s, e in zip(data.series, ends)})

        def stats(arrays):
            if not arrays or arrays[0].shape[1] == 0:
                return [], []
            a = np.concatenate(arrays)
            return a.mean(0).tolist(), np.where(a.std(0) > 1e-12, a.std(0), 1.0).tolist()

        past_loc, past_scale = stats([s.past[:e] for s, e in zip(data.series, ends)])
        fut_loc, fut_scale = stats([s.future[:e] for s, e in zip(data.series, ends)])
        s0 = data.series[0]
        _, names = time_features(s0.time[:1], data.freq, season) if calendar else (None, [])
        tr = cls(scaler, season, calendar, data.freq, past_loc, past_scale, fut_loc, fut_scale, names)
        if deseasonalise and season > 1:
            tr.seasonal = {s.id: seasonal_indices(scaler.transform(s.id, s.values[:max(1, e)]), season).tolist()
                           for s, e in zip(data.series, ends)}
            tr.seasonal_t0 = {s.id: _time_key(s.time[0]) for s in data.series}
        return tr

    def phase_shift(self, s: Series) -> int:
        """Steps from the time of series ``s``'s first seasonal index to its first value (0 where the indices
        were estimated on a history starting where ``s`` starts, or were saved without their time)."""
        import pandas as pd

        t0 = self.seasonal_t0.get(s.id)
        if t0 is None or not len(s.time):
            return 0
        first = s.time[0]
        if isinstance(self.freq, str):
            t0, first = pd.Timestamp(t0), pd.Timestamp(first)
            if first == t0:
                return 0
            lo, hi = (t0, first) if first > t0 else (first, t0)
            session = sessions.parse(self.freq)
            n = len(session.grid(lo, hi) if session else pd.date_range(lo, hi, freq=self.freq)) - 1
            return n if first > t0 else -n
        step = int(self.freq) if self.freq else 1
        return int((int(first) - int(t0)) // max(step, 1))

    def season_terms(self, sid: str, positions: np.ndarray, shift: int = 0) -> np.ndarray:
        """The seasonal indices of series ``sid`` at ``positions`` of a history whose first value is ``shift``
        steps after the first index's time (:meth:`phase_shift`); 0 without deseasonalisation."""
        if not self.seasonal:
            return np.zeros(len(positions))
        idx = np.asarray(self.seasonal[sid])
        return idx[(np.asarray(positions) + shift) % len(idx)]

    @property
    def n_future(self) -> int:
        return len(self.calendar_names) + len(self.fut_loc)

    @property
    def n_past(self) -> int:
        return len(self.past_loc)

    def series_arrays(self, s: Series, steps_after: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scaled values (T,), scaled past (T, P), known-future features (T + steps_after or fewer, K))."""
        if s.id not in self.scaler.loc:  # a series not seen in training: scaled on its own values
            self.scaler.fit({s.id: s.values})
        values = self.scaler.transform(s.id, s.values)
        if self.seasonal is not None:
            if s.id not in self.seasonal:  # a series not seen in training: its own indices, from its first value
                self.seasonal[s.id] = seasonal_indices(values, self.season).tolist()
                self.seasonal_t0[s.id] = _time_key(s.time[0])
            values = values - self.season_terms(s.id, np.arange(len(values)), self.phase_shift(s))
        past = (s.past - np.asarray(self.past_loc)) / np.asarray(self.past_scale) if self.n_past else s.past[:, :0]
        n = len(s.values) + steps_after
        parts = []
        if self.calendar and self.calendar_names:
            idx = s.time.append(future_index(s, self.freq, steps_after)) if steps_after else s.time
            cal, _ = time_features(idx, self.freq, self.season)
            parts.append(cal)
        if self.fut_loc:
            user = (s.future - np.asarray(self.fut_loc)) / np.asarray(self.fut_scale)
            n = min(n, len(user))
            parts.append(user)
        fut = np.concatenate([p[:n] for p in parts], axis=1) if parts else np.zeros((n, 0))
        return values, past, fut


def _time_key(t):
    """A time value as JSON keeps it: text for a date, an integer for a step."""
    return int(t) if isinstance(t, (int, np.integer)) else str(t)


def seasonal_indices(z: np.ndarray, season: int) -> np.ndarray:
    """Additive seasonal indices of ``z`` (already in log or scaled units) by classical decomposition.

    The trend is the centred moving average over one season (``2 x m`` for even
    ``m``); each index is the mean of ``z - trend`` at that position modulo
    ``m``, centred to sum to zero. Zeros when ``z`` has fewer than two seasons,
    or when the season is not significant (the autocorrelation of ``z - trend``
    at lag ``m`` below the 90 % band used by the Theta method).
    """
    z = np.asarray(z, dtype="float64")
    m = int(season)
    n = len(z)
    out = np.zeros(m)
    if m <= 1 or n < 2 * m + 1:
        return out
    if m % 2:
        w = np.ones(m) / m
    else:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    trend = np.convolve(z, w, mode="valid")
    half = (len(w) - 1) // 2
    detr = z[half:half + len(trend)] - trend
    pos = (np.arange(len(detr)) + half) % m
    # seasonality test on the raw values (as Theta's): acf at lag m against 1.645 * its standard error
    x = z - z.mean()
    den = float(np.dot(x, x))
    if den <= 0:
        return out
    acf = [float(np.dot(x[k:], x[:-k]) / den) for k in range(1, m + 1)]
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(np.square(acf[:-1]))) / n)
    if abs(acf[-1]) <= limit:
        return out
    for p in range(m):
        sel = detr[pos == p]
        out[p] = sel.mean() if len(sel) else 0.0
    return out - out.mean()
