"""Settings derived from the data before anything is trained, each with the reason the report prints.

Given the series, the training part (``ends``) and the configuration, a
:class:`Plan` fixes:

- the **season**: the user's, the calendar's, or one detected in the training
  values (:func:`.seasonality.resolve_season`);
- the **validation origins** of the inner model choice: the last ``V``
  origins of each series' training part, ``V`` = the longest of the horizon,
  the season (one cycle of errors) and a tenth of the history (fewer origins
  make a noisier choice) up to :data:`MAX_VAL_ORIGINS` horizons (a year of
  5-minute values held out 36 days, 10,512 origins), split across series
  when there are several, at most a fifth of the typical history; more than :data:`MAX_VAL_ORIGINS`
  of them are thinned to every ``s``-th (the last kept, ``s`` at most the
  horizon, so every value of the span is still forecast);
- the LSTM's **input window**: ``max(2 * season, 2 * horizon)`` (at least one
  full season, two where the history allows), shortened until the shortest
  training part that matters still yields :data:`MIN_WINDOWS` training windows
  (split across series when there are several),
  never below one season when a season exists and the history has it;
- the **transform** of the LSTM set-ups: log when every value is positive,
  else per-series standard scaling; ``lstm-level`` also reads each series
  with its own seasonal indices taken out (when its season is significant);
- the network's **size** and the **ensemble** size (64 units and 2 networks
  above :data:`BIG_DATA` training windows, else 32 and 3), and the **candidates** (AutoARIMA left out above
  ``select.max_arima_series`` series; the statsforecast models left out with a
  note when statsforecast is not installed; the LSTM set-ups left out when no
  series is long enough for even the shortest window);
- the LSTM's **passes**: early stopping on the ``V`` origins just before the
  validation origins (inside the training part), at most ``train.epochs``;
- which series are **too short** for the LSTM's window: they are forecast by
  the best classical candidate instead, and listed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .classical import LABELS, statsforecast_available
from .config import ForecastConfig
from .lstm_fit import LSTMSetup
from .seasonality import resolve_season

#: fewest training windows an LSTM set-up needs from a typical series (single series: in all)
MIN_WINDOWS = 20
#: shortest input window
MIN_INPUT = 3
#: above this many training windows: 64 units instead of 32, 2 networks per set-up instead of 3
BIG_DATA = 20_000
#: most validation origins per series before they are thinned (every s-th, s <= horizon). Origins one step
#: apart share H - 1 of their targets, so the thinned ones tell the candidates apart almost as well, and a
#: classical model moved forward to each origin pays per origin: MSTL + ETS at season 288 took 0.42 s an
#: origin, 170 s for the 404 origins of a tenth of a 2-week 5-minute series
MAX_VAL_ORIGINS = 60
#: the validation origins of one series span at most this share of its training part
MAX_VAL_SHARE = 0.2


@dataclass
class Plan:
    """What was derived from the data (see the module doc); ``reasons`` are the report's lines."""

    horizon: int
    season: int
    season_reason: str
    input_size: int
    val_windows: int  # the span: the last val_windows origins of each training part
    ensemble: int
    log: bool
    candidates: list[str]
    lstm_setups: dict[str, LSTMSetup] = field(default_factory=dict)
    short: list[str] = field(default_factory=list)  # series the LSTM cannot read: forecast by the fallback
    reasons: list[str] = field(default_factory=list)
    val_stride: int = 1  # every val_stride-th origin of the span is forecast (the last one always)

    def val_origins(self, first: int) -> np.ndarray:
        """The validation origins of a series whose span starts at ``first``."""
        V, s = self.val_windows, self.val_stride
        return np.arange(first + (V - 1) % s, first + V, s)

    def to_dict(self) -> dict:
        return {"horizon": self.horizon, "season": self.season, "season_reason": self.season_reason,
                "input_size": self.input_size, "val_windows": self.val_windows, "val_stride": self.val_stride,
                "ensemble": self.ensemble, "log": self.log, "candidates": list(self.candidates),
                "short_series": list(self.short),
                "lstm_setups": {k: v.describe() for k, v in self.lstm_setups.items()}, "reasons": list(self.reasons)}


def spaced_stride(count: int, most: int, horizon: int) -> int:
    """Steps between origins so that ``count`` consecutive ones leave about ``most``: 1 up to ``most``, else
    ``ceil(count / most)``, never more than ``horizon`` (so every value of the span is still forecast). The
    validation origins (:data:`MAX_VAL_ORIGINS`) and the backtest's (``backtest.MAX_ORIGINS``) are spaced by it."""
    return 1 if count <= most else max(1, min(horizon, -(-count // most)))


def ordinal(k: int) -> str:
    """``2`` -> ``"2nd"``, for the plan's and the report's sentences."""
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def _window(season: int, horizon: int, n_typ: int, given: int, n_series: int = 1) -> tuple[int, str]:
    """The input window for a typical training length ``n_typ`` (values before the validation origins).

    The typical series must yield ``ceil(MIN_WINDOWS / n_series)`` training windows (all series pool theirs).
    """
    if given:
        return given, f"input window {given} (given)"
    need = max(1, math.ceil(MIN_WINDOWS / max(1, n_series)))
    want = max(2 * season, 2 * horizon, MIN_INPUT) if season > 1 else max(2 * horizon, MIN_INPUT)
    room = n_typ - horizon - need + 1  # the longest window that still leaves `need` windows
    if want <= room:
        why = "two seasons" if season > 1 and want == 2 * season else "twice the horizon"
        return want, f"input window {want} ({why})"
    if season > 1 and season <= room:
        return room, f"input window {room} (history of {n_typ} values: at least one season, {need} window(s) each)"
    if season > 1 and season + horizon < n_typ:
        return season, (f"input window {season} (one season; the history of {n_typ} values leaves fewer than "
                        f"{need} training window(s))")
    w = max(MIN_INPUT, min(want, room))
    return w, f"input window {w} (shortened: history of {n_typ} values)"


def make_plan(cfg: ForecastConfig, data, ends: list[int]) -> Plan:
    """Derive the plan for training on ``values[:ends[k]]`` of each series of ``data``."""
    H = cfg.horizon
    n = len(data.series)
    ends = [int(e) for e in ends]
    reasons: list[str] = []
    season, season_why = resolve_season(cfg.season, data.calendar or data.freq,
                                        [s.values[:e] for s, e in zip(data.series, ends)])
    reasons.append(f"season {season} ({season_why})")

    n_typ = int(np.median(ends))
    if cfg.select.windows:
        V = cfg.select.windows
        reasons.append(f"{V} validation origin(s) per series (given)")
    else:
        V = max(1, math.ceil(max(H, season, min(0.1 * n_typ, MAX_VAL_ORIGINS * H)) / n))
        V = max(1, min(V, int(MAX_VAL_SHARE * n_typ)))
        reasons.append(f"{V} validation origin(s) per series at the end of each training part "
                       f"(a season, a horizon or a tenth of the history up to {MAX_VAL_ORIGINS} horizons, "
                       f"whichever is longest"
                       f"{', shared across ' + str(n) + ' series' if n > 1 else ''}; at most a fifth of the history); "
                       "the model is chosen on them, never on test windows")
    stride = spaced_stride(V, MAX_VAL_ORIGINS, H)
    if stride > 1:
        reasons.append(f"every {ordinal(stride)} of those origins forecast ({-(-V // stride)} of {V}; origins a step "
                       "apart share most targets, and each costs a classical model a forecast)")
    inner = n_typ - H - V + 1  # typical values before the first validation origin
    L, why = _window(season, H, inner, cfg.model.input_size, n)
    reasons.append(why)

    log_ok = all(np.all(s.values[:e] > 0) for s, e in zip(data.series, ends))
    if cfg.data.transform == "log" and not log_ok:
        raise ValueError(f"forecast: {data.source}: data.transform log needs positive values; some series have "
                         "values <= 0 (use transform auto or none)")
    log = cfg.data.transform == "log" or (cfg.data.transform == "auto" and log_ok)
    windows = sum(max(0, e - H - V + 1 - L - H + 1) for e in ends)  # training windows before the validation
    big = windows > BIG_DATA
    ensemble = cfg.model.ensemble or (2 if big else 3)
    hidden = cfg.model.hidden_size or (64 if big else 32)
    if not cfg.model.ensemble:
        reasons.append(f"{ensemble} networks per LSTM set-up (seeds {cfg.train.seed}..{cfg.train.seed + ensemble - 1}), "
                       "averaged" + (f" ({windows} training windows > {BIG_DATA})" if big else ""))
    if not cfg.model.hidden_size:
        reasons.append(f"{hidden} LSTM units ({windows} training windows"
                       + (f" > {BIG_DATA})" if big else f" <= {BIG_DATA})"))

    if cfg.select.model == "auto":
        candidates = list(cfg.select.candidates)
    elif cfg.select.model == "combination":  # its members are chosen among the other candidates
        candidates = list(dict.fromkeys([*cfg.select.candidates, "combination"]))
    else:
        candidates = [cfg.select.model]
    if "arima" in candidates and n > cfg.select.max_arima_series and cfg.select.model != "arima":
        candidates.remove("arima")
        reasons.append(f"AutoARIMA left out of the candidates: {n} series > select.max_arima_series="
                       f"{cfg.select.max_arima_series} (its search costs seconds a series)")
    if not statsforecast_available():
        gone = [c for c in candidates if c in ("ets", "arima", "theta")]
        if gone and cfg.select.model in gone:
            raise ImportError(f"forecast: select.model {cfg.select.model} needs the statsforecast package: "
                              "pip install 'lstmkit[tasks]'")
        if gone:
            candidates = [c for c in candidates if c not in gone]
            reasons.append(f"{', '.join(LABELS[c] for c in gone)} left out: statsforecast is not installed "
                           "(pip install 'lstmkit[tasks]')")

    m_net = min(season, L) if season > 1 else 1
    common = dict(input_size=L, hidden_size=hidden, num_layers=cfg.model.num_layers,
                  dropout=cfg.model.dropout, cell=cfg.model.cell, output=cfg.model.output, loss=cfg.model.loss,
                  quantiles=list(cfg.model.quantiles), instance_norm=cfg.model.instance_norm,
                  norm_window=min(cfg.model.norm_window, L), calendar=cfg.model.calendar, backend=cfg.model.backend,
                  season=m_net, ensemble=ensemble, decoder=cfg.model.decoder)
    ds = cfg.model.deseasonalise
    setups = {}
    if "lstm" in candidates:
        setups["lstm"] = LSTMSetup(name="lstm", anchor="seasonal", log=log, deseasonalise=ds == "all" and season > 1,
                                   scaling=cfg.data.scaling if cfg.data.scaling != "auto" else ("none" if log else "standard"),
                                   **common)
    if "lstm-level" in candidates:
        setups["lstm-level"] = LSTMSetup(name="lstm-level", anchor="level", log=log,
                                         deseasonalise=ds in ("auto", "all") and season > 1,
                                         scaling=cfg.data.scaling if cfg.data.scaling != "auto" else ("none" if log else "standard"),
                                         **common)
    short = [s.id for s, e in zip(data.series, ends) if e < L + H]
    if setups and len(short) == n:
        for k in setups:
            candidates.remove(k)
        if "combination" in candidates:
            candidates.remove("combination")
        reasons.append(f"LSTM set-ups left out: no series has the {L + H} values one training window needs "
                       f"(input window {L} + horizon {H})")
        setups, short = {}, []
    elif short:
        reasons.append(f"{len(short)} series shorter than input window + horizon ({L + H} values) are forecast by the "
                       f"best classical candidate instead: {', '.join(map(repr, short[:10]))}"
                       + (" ..." if len(short) > 10 else ""))
    if not candidates:
        raise ValueError(f"forecast: {data.source}: no candidate left to choose from (asked for {cfg.select.candidates})")
    if setups:
        reasons.append("LSTM set-ups: " + "; ".join(f"{k}: {v.describe()}" for k, v in setups.items()))
        es = cfg.train.early_stopping
        reasons.append(f"LSTM training: at most {cfg.train.epochs} passes"
                       + (f", stopped after {es} passes without a better loss on the {V} origin(s) before the "
                          "validation origins (where the history leaves enough windows), the best pass kept"
                          if es else " (no early stopping)"))
    return Plan(horizon=H, season=season, season_reason=season_why, input_size=L, val_windows=V, ensemble=ensemble,
                log=log, candidates=candidates, lstm_setups=setups, short=short, reasons=reasons, val_stride=stride)
