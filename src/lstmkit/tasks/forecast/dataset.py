"""From a SeriesSet to model inputs: season, known-future features, scaling, windows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...data import builtin_path
from ...data.calendar import time_features
from ...data.scaling import SeriesScaler
from ...data.series import Series, SeriesSet, future_index, load_series
from ...data.windows import Windows, make_windows, origins_for
from .config import DataConfig

#: the series `lstmkit forecast train` uses when no --data is given
BUILTIN_DATA = {"path": "airline.csv", "target": "Passengers", "time": "Date", "name": "airline"}

_SEASONS = {"MS": 12, "M": 12, "ME": 12, "BMS": 12, "BM": 12, "BME": 12, "QS": 4, "Q": 4, "QE": 4, "BQS": 4,
            "W": 52, "D": 7, "B": 5, "H": 24, "h": 24, "T": 60, "min": 60}


def data_name(cfg: DataConfig) -> str:
    if not cfg.path:
        return BUILTIN_DATA["name"]
    from pathlib import Path

    return Path(cfg.path).stem


def load_data(cfg: DataConfig) -> SeriesSet:
    """Load the configured data (the built-in airline series when ``cfg.path`` is empty)."""
    if not cfg.path:
        target, time, path, source = BUILTIN_DATA["target"], BUILTIN_DATA["time"], builtin_path(BUILTIN_DATA["path"]), "builtin:airline"
    else:
        target, time, path, source = cfg.target, cfg.time, cfg.path, None
    targets: str | list[str] | None = target or None
    if cfg.layout == "wide" and target:
        targets = [t.strip() for t in target.split(",") if t.strip()]
    freq: str | int | None = cfg.freq or None
    if isinstance(freq, str) and freq.lstrip("-").isdigit():
        freq = int(freq)
    return load_series(path, target=targets, time=time or None, id=cfg.id or None, layout=cfg.layout,
                       past_covariates=cfg.past_covariates, future_covariates=cfg.future_covariates, freq=freq,
                       missing=cfg.missing, max_gap=cfg.max_gap, source=source)


def resolve_season(season: int, freq) -> int:
    """``season`` if given, else a default from the frequency (12 for monthly, 1 for integer steps)."""
    if season:
        return season
    if isinstance(freq, str):
        import pandas as pd

        name = pd.tseries.frequencies.to_offset(freq).rule_code.split("-")[0]
        return _SEASONS.get(name, _SEASONS.get(name.upper(), 1))
    return 1


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

    def to_dict(self) -> dict:
        return {"scaler": self.scaler.to_dict(), "season": self.season, "calendar": self.calendar,
                "freq": self.freq, "past_loc": self.past_loc, "past_scale": self.past_scale,
                "fut_loc": self.fut_loc, "fut_scale": self.fut_scale, "calendar_names": self.calendar_names}

    @classmethod
    def from_dict(cls, d: dict) -> "Transform":
        return cls(scaler=SeriesScaler.from_dict(d["scaler"]), season=int(d["season"]), calendar=bool(d["calendar"]),
                   freq=d["freq"], past_loc=list(d["past_loc"]), past_scale=list(d["past_scale"]),
                   fut_loc=list(d["fut_loc"]), fut_scale=list(d["fut_scale"]),
                   calendar_names=list(d["calendar_names"]))

    @classmethod
    def fit(cls, data: SeriesSet, ends: list[int], cfg: DataConfig, season: int, calendar: bool) -> "Transform":
        log = resolve_transform(cfg.transform, data)
        method = cfg.scaling if cfg.scaling != "auto" else ("none" if log else "standard")
        scaler = SeriesScaler(method=method, log=log)
        scaler.fit({s.id: s.values[:e] for s, e in zip(data.series, ends)})

        def stats(arrays):
            if not arrays or arrays[0].shape[1] == 0:
                return [], []
            a = np.concatenate(arrays)
            return a.mean(0).tolist(), np.where(a.std(0) > 1e-12, a.std(0), 1.0).tolist()

        past_loc, past_scale = stats([s.past[:e] for s, e in zip(data.series, ends)])
        fut_loc, fut_scale = stats([s.future[:e] for s, e in zip(data.series, ends)])
        s0 = data.series[0]
        _, names = time_features(s0.time[:1], data.freq, season) if calendar else (None, [])
        return cls(scaler, season, calendar, data.freq, past_loc, past_scale, fut_loc, fut_scale, names)

    @property
    def n_future(self) -> int:
        return len(self.calendar_names) + len(self.fut_loc)

    @property
    def n_past(self) -> int:
        return len(self.past_loc)

    def series_arrays(self, s: Series, steps_after: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scaled values (T,), scaled past (T, P), known-future features (T + steps_after or fewer, K))."""
        values = self.scaler.transform(s.id, s.values) if s.id in self.scaler.loc else None
        if values is None:
            raise ValueError(f"Forecaster: series {s.id!r} was not in the training data; "
                             f"known series: {sorted(self.scaler.loc)[:10]}")
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


def windows_for(data: SeriesSet, tr: Transform, origins: list[np.ndarray], input_size: int, horizon: int,
                steps_after: int = 0) -> Windows:
    arrays = [tr.series_arrays(s, steps_after) for s in data.series]
    return make_windows([a[0] for a in arrays], [a[1] for a in arrays], [a[2] for a in arrays], origins,
                        input_size, horizon)


def training_origins(data: SeriesSet, ends: list[int], input_size: int, horizon: int) -> list[np.ndarray]:
    """Origins whose whole target lies before ``ends[k]`` in each series."""
    return [origins_for(len(s), input_size, horizon, stop=e - horizon + 1) for s, e in zip(data.series, ends)]
