"""Choose the forecaster on the training part alone, then fit the chosen one on all of it.

:func:`fit_core` is what ``Forecaster.fit`` runs (and what every backtest
block runs on the data before its first origin):

1. derive the :class:`~.plan.Plan` (season, window, validation origins, candidates);
2. *inner rolling-origin validation*: every candidate is fitted on each
   series' values before its last ``V + H - 1`` steps and forecasts the last
   ``V`` origins of the training part; its score is the mean over series of
   the chosen metric (MASE by default);
3. the best candidate is refitted on the whole training part (an LSTM set-up,
   whose passes were set by early stopping on origins held out before the
   validation origins, is trained on from its validated networks for a
   quarter of those passes, at a lower learning rate, with the newest
   windows), the runner-up is recorded, and per-step
   quantiles of the chosen candidate's validation errors become its
   prediction intervals.

Series too short for the LSTM's window are forecast by the best classical
candidate (the *fallback*) and listed in the notes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from ...data.series import SeriesSet
from . import metrics as M
from .classical import CLASSICAL, LABELS, classical_forecasts
from .config import ForecastConfig
from .lstm_fit import FittedLSTM, fit_lstm, predict_windows
from .plan import Plan, make_plan

log = logging.getLogger("lstmkit.tasks.forecast")

LSTM_LABELS = {"lstm": "LSTM", "lstm-level": "LSTM (level anchor)",
               "combination": "combination (mean of the best LSTM and the statistical models)"}
STATS = ("ets", "arima", "theta")
#: the chosen LSTM's final training: this share of its (early-stopped) passes more, on the whole training part,
#: from the validated networks, at this share of the learning rate
FINETUNE = 0.25
FINETUNE_LR = 0.3


def label(name: str) -> str:
    """The name a table shows for a candidate or peer."""
    return LSTM_LABELS.get(name) or LABELS.get(name, name)


def series_scale(history: np.ndarray, season: int) -> float:
    """MASE scale of one series: in-sample seasonal-naive MAE (naive when too short), never zero."""
    h = np.asarray(history, dtype="float64")
    if len(h) < 2:
        return max(float(np.abs(h).mean()) if len(h) else 1.0, 1e-12)
    s = M.mase_scale(h, season)
    if s <= 0:
        s = float(np.abs(h).mean()) * 1e-3
    return max(s, 1e-12)


def score(metric: str, actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """One series' validation score: ``actual`` and ``forecast`` are ``(origins, H)``."""
    if metric == "mase":
        return float(np.mean(np.abs(actual - forecast)) / scale)
    if metric == "smape":
        return M.smape(actual, forecast)
    return M.mae(actual, forecast)


def subset(data: SeriesSet, keep: list[int]) -> SeriesSet:
    return SeriesSet([data.series[k] for k in keep], data.source, data.target, data.freq, data.past_names,
                     data.future_names, data.notes)


@dataclass
class Forecasts:
    """Forecasts from given origins: ``point[k]`` is ``(len(origins[k]), H)`` for series ``k``; same for quantiles."""

    point: list[np.ndarray]
    quantiles: dict[float, list[np.ndarray]] = field(default_factory=dict)


@dataclass
class CoreFit:
    """A fitted forecaster (chosen candidate, refitted) and the record of how it was chosen."""

    plan: Plan
    ends: list[int]
    chosen: str
    runner_up: str | None
    scores: dict[str, float]  # validation score per candidate (lower is better)
    metric: str
    lstm: FittedLSTM | None = None
    fallback: str = "seasonal_naive"
    residuals: dict[str, list[float]] = field(default_factory=dict)  # level -> per-step quantile of scaled errors
    interval_log: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    val_count: int = 0  # validation forecasts per candidate (series x origins)
    members: list[str] = field(default_factory=list)  # the combination's: [LSTM set-up, statistical models...]
    #: classical forecasts from the end of the training part, kept once made (the peers of evaluate() reuse them)
    future_classical: dict = field(default_factory=dict, repr=False)

    def summary(self) -> dict:
        return {"chosen": self.chosen, "runner_up": self.runner_up, "metric": self.metric, "members": self.members,
                "validation": {k: round(v, 6) for k, v in self.scores.items()}, "fallback": self.fallback,
                "validation_forecasts": self.val_count, "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
                "plan": self.plan.to_dict(), "notes": list(self.notes)}

    # ------------------------------------------------------------------ forecasting
    def forecast(self, data: SeriesSet, origins: list[np.ndarray], jobs: int = 1,
                 ends: list[int] | None = None) -> Forecasts:
        """Forecasts of the chosen model from ``origins[k]`` of each series (series too short: the fallback).

        ``ends``: the training part the classical models are fitted on (default: the one of the fit; new
        data passes its own lengths).
        """
        H, season = self.plan.horizon, self.plan.season
        ends = self.ends if ends is None else ends
        n = len(data.series)
        point: list[np.ndarray] = [np.zeros((len(o), H)) for o in origins]
        quant: dict[float, list[np.ndarray]] = {}
        if self.chosen in CLASSICAL:
            point = self._classical(self.chosen, data, ends, origins, jobs)
        elif self.chosen == "combination":
            lstm_part = CoreFit(plan=self.plan, ends=self.ends, chosen=self.members[0], runner_up=None, scores={},
                                metric=self.metric, lstm=self.lstm, fallback=self.members[1], notes=self.notes)
            a = lstm_part.forecast(data, origins, jobs, ends).point
            parts = [a]
            for name in self.members[1:]:
                parts.append(self._classical(name, data, ends, origins, jobs))
            point = [np.mean(arrs, axis=0) for arrs in zip(*parts)]
        else:
            L = self.lstm.setup.input_size
            short = set(self.plan.short)
            can = [k for k in range(n) if len(origins[k]) and int(np.min(origins[k])) >= L
                   and data.series[k].id not in short]
            rest = [k for k in range(n) if k not in can and len(origins[k])]
            if can:
                sub = subset(data, can)
                p = predict_windows(self.lstm.model, self.lstm.transform, sub, [origins[k] for k in can], H, L)
                for j, k in enumerate(can):
                    sel = p["series"] == j
                    point[k] = p["point"][sel]
                    for q, arr in p["quantiles"].items():
                        quant.setdefault(q, [np.zeros((len(o), H)) for o in origins])[k] = arr[sel]
            if rest:
                sub = subset(data, rest)
                cf = classical_forecasts(self.fallback, sub, [ends[k] for k in rest], [origins[k] for k in rest],
                                         H, season, jobs)
                for j, k in enumerate(rest):
                    point[k] = cf.point[j]
                note = (f"{len(rest)} series too short for the LSTM's input window of {L} forecast by "
                        f"{label(self.fallback)}: {', '.join(repr(data.series[k].id) for k in rest[:10])}"
                        + (" ..." if len(rest) > 10 else ""))
                if note not in self.notes:
                    self.notes.append(note)
        if not quant and self.residuals:
            quant = self.intervals(data, point, ends)
        return Forecasts(point, quant)

    def _classical(self, name: str, data: SeriesSet, ends: list[int], origins: list[np.ndarray],
                   jobs: int) -> list[np.ndarray]:
        """``name``'s forecasts; those from the end of the training data itself are kept for reuse."""
        future = list(ends) == list(self.ends) and all(len(o) == 1 and int(o[0]) == e for o, e in zip(origins, ends))
        key = (name, tuple(s.id for s in data.series))
        if future and key in self.future_classical:
            return self.future_classical[key]
        cf = classical_forecasts(name, data, ends, origins, self.plan.horizon, self.plan.season, jobs)
        self.notes.extend(n_ for n_ in cf.notes() if n_ not in self.notes)
        if future:
            self.future_classical[key] = cf.point
        return cf.point

    def intervals(self, data: SeriesSet, point: list[np.ndarray], ends: list[int]) -> dict[float, list[np.ndarray]]:
        """Empirical quantiles: the forecast moved by per-step quantiles of the validation errors."""
        out: dict[float, list[np.ndarray]] = {}
        for level, per_step in self.residuals.items():
            r = np.asarray(per_step)[None, :]
            arrs = []
            for k, p in enumerate(point):
                if self.interval_log and np.all(p > 0):
                    arrs.append(np.exp(np.log(p) + r[:, :p.shape[1]]))
                else:
                    scale = series_scale(data.series[k].values[:ends[k]], self.plan.season)
                    arrs.append(p + r[:, :p.shape[1]] * scale)
            out[float(level)] = arrs
        if 0.5 in out:
            del out[0.5]
        return out


def _candidate_forecasts(name: str, plan: Plan, cfg: ForecastConfig, data: SeriesSet, ends: list[int],
                         origins: list[np.ndarray], epochs: int | None = None, batches: int | None = None,
                         progress=None, out_dir=None, resume: bool = False
                         ) -> tuple[list[np.ndarray], FittedLSTM | None, list[str]]:
    """Fit ``name`` on ``values[:ends]`` and forecast ``origins`` (per series); an LSTM also returns its fit."""
    H = plan.horizon
    if name in CLASSICAL:
        cf = classical_forecasts(name, data, ends, origins, H, plan.season, cfg.select.jobs)
        return cf.point, None, cf.notes()
    setup = plan.lstm_setups[name]
    f = fit_lstm(setup, data, ends, H, cfg.train, epochs=epochs or cfg.train.epochs, batches=batches,
                 progress=progress, out_dir=out_dir, resume=resume,
                 validate=plan.val_windows if cfg.train.early_stopping else 0)
    p = predict_windows(f.model, f.transform, data, origins, H, setup.input_size)
    point = [p["point"][p["series"] == k] for k in range(len(data.series))]
    return point, f, []


def fit_core(cfg: ForecastConfig, data: SeriesSet, ends: list[int] | None = None, progress=None,
             log_dir=None, resume: bool = False) -> CoreFit:
    """Plan, choose by inner validation, and fit the chosen candidate on ``values[:ends[k]]`` (default: all).

    ``log_dir``: keep each LSTM training's checkpoints and logs under it (``validate-<name>``,
    ``final-<name>``); ``resume``: continue those trainings from their checkpoints.
    """
    from pathlib import Path
    t_all = time.perf_counter()
    say = progress or (lambda s: None)
    ends = [len(s) for s in data.series] if ends is None else [int(e) for e in ends]
    plan = make_plan(cfg, data, ends)
    H, V, m = plan.horizon, plan.val_windows, plan.season
    metric = cfg.select.metric
    notes: list[str] = []
    seconds: dict[str, float] = {}

    # ---- inner validation: the last V origins of each training part
    vends = [e - H - V + 1 for e in ends]
    usable = [k for k, ve in enumerate(vends) if ve >= 2]
    L = plan.input_size
    if plan.lstm_setups:
        lstm_ok = [k for k in usable if vends[k] >= L + H]
        if lstm_ok:
            usable = lstm_ok
        else:
            for name in list(plan.lstm_setups):
                plan.candidates.remove(name)
            notes.append(f"LSTM set-ups left out of the choice: no training part leaves {L + H} values before its "
                         f"validation origins")
            plan.lstm_setups = {}
    scores: dict[str, float] = {}
    errors: dict[str, np.ndarray] = {}
    inner_fits: dict[str, FittedLSTM] = {}
    to_validate = [c for c in plan.candidates if c != "combination"]
    val_fc: dict[str, list[np.ndarray]] = {}
    members: list[str] = []
    if usable:
        sub = subset(data, usable)
        sub_ends = [vends[k] for k in usable]
        origins = [np.arange(vends[k], vends[k] + V) for k in usable]
        actual = [np.stack([data.series[k].values[t:t + H] for t in o]) for k, o in zip(usable, origins)]
        scales = [series_scale(data.series[k].values[:vends[k]], m) for k in usable]
        for name in to_validate:
            t0 = time.perf_counter()
            say(f"validating {label(name)} on {sum(len(o) for o in origins)} origins of the training part")
            fc, fit, cnotes = _candidate_forecasts(
                name, plan, cfg, sub, sub_ends, origins, progress=progress, resume=resume,
                out_dir=None if log_dir is None else Path(log_dir) / f"validate-{name}")
            for n_ in cnotes:
                if n_ not in notes:
                    notes.append(n_)
            if fit is not None:
                inner_fits[name] = fit
            val_fc[name] = fc
            seconds[f"validate {name}"] = time.perf_counter() - t0
        if "combination" in plan.candidates:
            best_lstm = min((k for k in val_fc if k in plan.lstm_setups), default=None,
                            key=lambda k: np.mean([score(metric, a, f, s) for a, f, s in zip(actual, val_fc[k], scales)]))
            stats = [k for k in STATS if k in val_fc]
            if best_lstm and stats:
                members = [best_lstm, *stats]
                val_fc["combination"] = [np.mean(arrs, axis=0) for arrs in zip(*(val_fc[k] for k in members))]
            else:
                plan.candidates.remove("combination")
                notes.append("combination left out: it needs an LSTM set-up and one of ETS, ARIMA, Theta")
        for name, fc in val_fc.items():
            scores[name] = float(np.mean([score(metric, a, f, s) for a, f, s in zip(actual, fc, scales)]))
            if plan.log:
                errors[name] = np.concatenate([np.log(np.maximum(a, 1e-300)) - np.log(np.maximum(f, 1e-300))
                                               for a, f in zip(actual, fc)])
            else:
                errors[name] = np.concatenate([(a - f) / s for a, f, s in zip(actual, fc, scales)])
        val_count = sum(len(o) for o in origins)
    else:
        val_count = 0
        notes.append("no series is long enough for validation origins: the first candidate is used as it is")
    ranked = sorted(scores, key=lambda k: (scores[k], plan.candidates.index(k))) if scores else list(plan.candidates)
    chosen = cfg.select.model if cfg.select.model != "auto" else ranked[0]
    if chosen not in plan.candidates:  # forced, but impossible (e.g. an LSTM with no series long enough)
        raise ValueError(f"forecast: {data.source}: select.model {chosen!r} cannot run on this data: "
                         f"{'; '.join(plan.reasons[-1:])}")
    runner_up = next((k for k in ranked if k != chosen), None)
    classical_ranked = [k for k in ranked if k in CLASSICAL]
    fallback = classical_ranked[0] if classical_ranked else "seasonal_naive"
    if chosen == "combination":
        if not members:
            raise ValueError(f"forecast: {data.source}: select.model combination needs an LSTM set-up and one of "
                             f"ETS, ARIMA, Theta among the candidates that could run")
        fallback = min(members[1:], key=lambda k: scores.get(k, np.inf))

    residuals: dict[str, list[float]] = {}
    if chosen in errors and len(errors[chosen]):
        e = errors[chosen]
        for q in cfg.model.quantiles:
            residuals[f"{q:g}"] = [float(np.quantile(e[:, h], q)) for h in range(H)]

    core = CoreFit(plan=plan, ends=ends, chosen=chosen, runner_up=runner_up, scores=scores, metric=metric,
                   fallback=fallback, residuals=residuals, interval_log=plan.log, notes=notes,
                   seconds=seconds, val_count=val_count, members=members if chosen == "combination" else [])
    # ---- the chosen candidate on the whole training part
    net_name = members[0] if chosen == "combination" else chosen
    if net_name in plan.lstm_setups:
        t0 = time.perf_counter()
        inner = inner_fits.get(net_name)
        final_dir = None if log_dir is None else Path(log_dir) / f"final-{net_name}"
        if inner is not None:  # warm start: the validated networks, trained on with the newest windows
            epochs = max(1, round(inner.epochs * FINETUNE))
            say(f"training {label(net_name)} on for {epochs} passes on the whole training part (warm start)")
            from ...config import replace

            tune = replace(cfg.train, epochs=epochs, lr=cfg.train.lr * FINETUNE_LR)
            core.lstm = fit_lstm(plan.lstm_setups[net_name], data, ends, H, tune, batches=inner.batches,
                                 progress=progress, resume=resume, out_dir=final_dir, init=inner.model)
            core.lstm.epochs += inner.epochs
            core.lstm.seconds += inner.seconds
        else:
            say(f"training {label(net_name)} on the whole training part")
            core.lstm = fit_lstm(plan.lstm_setups[net_name], data, ends, H, cfg.train, epochs=cfg.train.epochs,
                                 progress=progress, resume=resume, out_dir=final_dir)
        if plan.lstm_setups[net_name].output != "point" and chosen == net_name:
            core.residuals = {}
        seconds["final fit"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_all
    return core
