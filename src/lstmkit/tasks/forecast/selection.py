"""Choose the forecaster on the training part alone, then fit the chosen one on all of it.

:func:`fit_core` is what ``Forecaster.fit`` runs (and what every backtest
block runs on the data before its first origin):

1. derive the :class:`~.plan.Plan` (season, window, validation origins, candidates);
2. *inner rolling-origin validation*: every candidate is fitted on each
   series' values before its last ``V + H - 1`` steps and forecasts the last
   ``V`` origins of the training part; its score is the chosen metric (MASE
   by default), on a panel averaged over series with the score of a series
   harder than the typical one divided by its median candidate's
   (:func:`series_refs`), so that one series no candidate could forecast does
   not decide for all;
3. the best candidate is refitted on the whole training part (an LSTM set-up,
   whose passes were set by early stopping on origins held out before the
   validation origins, is trained on from its validated networks for a
   quarter of those passes, at a lower learning rate, with the newest
   windows), the runner-up is recorded, and per-step
   quantiles of the chosen candidate's validation errors become its
   prediction intervals (a chosen ETS, ARIMA or Theta gives its own instead,
   ``ModelConfig.intervals``).

Series too short for the LSTM's window are forecast by the best classical
candidate (the *fallback*) and listed in the notes.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ...data.series import SeriesSet
from . import metrics as M
from .classical import (CLASSICAL, LABELS, classical_forecasts, floor_at_zero, held_rows, hold_runs,
                        never_negative)
from .classical import STATISTICAL as STATS  # the statsforecast models
from .config import ForecastConfig
from .lstm_fit import FittedLSTM, fit_lstm, predict_windows
from .plan import Plan, make_plan

log = logging.getLogger("lstmkit.tasks.forecast")

LSTM_LABELS = {"lstm": "LSTM", "lstm-level": "LSTM (level anchor)",
               "combination": "combination (mean of the best LSTM and the statistical models)",
               "pool": "pool (mean of the candidates the validation cannot tell from the best)"}
LSTM_SETUPS = ("lstm", "lstm-level")
#: the chosen LSTM's final training: this share of its (early-stopped) passes more, on the whole training part,
#: from the validated networks, at this share of the learning rate
FINETUNE = 0.25
FINETUNE_LR = 0.3
#: equal validation scores go to the simpler candidate: a statistical model that fell back to seasonal naive on every
#: series scores exactly as seasonal naive, and choosing it named a model whose own forecasts were never validated
SIMPLEST_FIRST = ("naive", "seasonal_naive", "theta", "ets", "arima", "lstm", "lstm-level", "combination", "pool")


def simpler(name: str) -> int:
    """Rank of ``name`` when validation scores tie (lower: preferred)."""
    return SIMPLEST_FIRST.index(name) if name in SIMPLEST_FIRST else len(SIMPLEST_FIRST)


def label(name: str) -> str:
    """The name a table shows for a candidate or peer."""
    return LSTM_LABELS.get(name) or LABELS.get(name, name)


#: what a MASE scale rests on, where it is not the in-sample seasonal-naive (or, without a season, naive) error
SCALE_FALLBACKS = {"naive, season repeated": "by the naive forecast's error (the seasonal naive repeats their history "
                                             "exactly)",
                   "mean level": "by their mean absolute value (their history is constant)",
                   "unit": "by 1 (their history is all zeros)"}


def scale_basis(history: np.ndarray, season: int) -> tuple[float, str]:
    """One series' MASE scale and what it rests on: the in-sample MAE of the seasonal-naive forecast (``"seasonal
    naive"``; ``"naive"`` where the season is 1 or longer than the history). Never zero: a history that forecast
    repeats without error (a constant, an item with no sales, one season copied over) falls back
    (:data:`SCALE_FALLBACKS`) to the naive MAE (``"naive, season repeated"``), then to its mean absolute value
    (``"mean level"``), then to 1 (``"unit"``: nothing but zeros). A near-zero divisor would let that one series
    decide the choice among candidates, by errors a billion times the others', and widen every series' interval,
    which pools the scaled errors."""
    h = np.asarray(history, dtype="float64")
    basis = "seasonal naive" if season > 1 and len(h) > season else "naive"
    level = float(np.abs(h).mean()) if len(h) else 0.0
    tiny = 1e-9 * level  # a season repeated in floating point leaves differences of its last bits, not zero
    s = M.mase_scale(h, season) if len(h) >= 2 else 0.0
    if s <= tiny and basis == "seasonal naive":
        s, basis = M.mase_scale(h, 1), "naive, season repeated"
    if s <= tiny and len(h):
        s, basis = level, "mean level"
    if not s > 0:
        s, basis = 1.0, "unit"
    return float(s), basis


def series_scale(history: np.ndarray, season: int) -> float:
    """MASE scale of one series (:func:`scale_basis`), never zero."""
    return scale_basis(history, season)[0]


def scale_note(bases: dict) -> str | None:
    """The note a table of MASE values needs when some series' scale is a fallback (:data:`SCALE_FALLBACKS`);
    ``bases`` maps each series' id to what its scale rests on (:func:`scale_basis`)."""
    odd: dict[str, list] = {}
    for sid, basis in bases.items():
        if basis in SCALE_FALLBACKS:
            odd.setdefault(basis, []).append(sid)
    if not odd:
        return None
    parts = [f"{len(ids)} series {SCALE_FALLBACKS[b]}: {', '.join(repr(i) for i in ids[:10])}"
             f"{' ...' if len(ids) > 10 else ''}" for b, ids in odd.items()]
    return "MASE scaled otherwise where the seasonal naive has no in-sample error to scale by: " + "; ".join(parts)


def score(metric: str, actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """One series' validation score: ``actual`` and ``forecast`` are ``(origins, H)``."""
    if metric == "mase":
        return float(np.mean(np.abs(actual - forecast)) / scale)
    if metric == "smape":
        return M.smape(actual, forecast)
    return M.mae(actual, forecast)


def series_refs(metric: str, actual: list[np.ndarray], forecasts: dict[str, list[np.ndarray]],
                scales: list[float]) -> list[float]:
    """What each series' validation scores are divided by before a panel's are averaged, so that no series
    weighs more than a typical one: the median candidate's score on that series where it is above the panel's
    typical median (the median over series), else that typical median.

    Without it one series on which every candidate failed (a product launched just before the validation
    origins: MASE 10 and more for all but the naive forecast) outweighs a panel of ordinary ones and decides the
    one choice for all of them. Series easier than the typical one keep their plain scores (divided by one
    number), so a series every candidate forecasts almost exactly does not weigh more than one it forecasts
    roughly (dividing by its own tiny median would blow its small differences up). A lone series keeps its plain
    scores (1), which rank its candidates the same way."""
    if len(actual) < 2:
        return [1.0] * len(actual)
    p = np.array([[score(metric, a, f, s) for a, f, s in zip(actual, fc, scales)] for fc in forecasts.values()])
    p[~np.isfinite(p)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a series with no finite score: all NaN
        med = np.nanmedian(p, axis=0)
    positive = med[np.isfinite(med) & (med > 0)]
    typical = float(np.median(positive)) if len(positive) else 1.0
    return [float(max(m, typical)) if np.isfinite(m) else typical for m in med]


def subset(data: SeriesSet, keep: list[int]) -> SeriesSet:
    return SeriesSet([data.series[k] for k in keep], data.source, data.target, data.freq, data.past_names,
                     data.future_names, data.notes, form=data.form, calendar=data.calendar)


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
    #: the scores are relative to each series' reference (a panel's, :func:`series_refs`), not plain
    relative: bool = False
    fallback: str = "seasonal_naive"
    residuals: dict[str, list[float]] = field(default_factory=dict)  # level -> per-step quantile of scaled errors
    interval_log: bool = False
    #: where a chosen statistical model's band comes from (``ModelConfig.intervals``): validation, model or wider
    intervals: str = "validation"
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    val_count: int = 0  # validation forecasts per candidate (series x origins)
    #: the chosen candidate's validation errors (forecasts x H, scaled or log as ``interval_log``), where the
    #: residuals came from; kept in memory only (benchmarks/study_intervals.py reads them)
    val_errors: object = None
    members: list[str] = field(default_factory=list)  # the combination's: [LSTM set-up, statistical models...]
    #: classical forecasts once made, by (model, series, training ends, origins): the combination's members and the
    #: chosen classical model are the backtest's and evaluate()'s peers too, and are not forecast twice (MSTL + ETS
    #: at season 288: 0.42 s an origin)
    #: (point, notes, the model's own bands or None where they were not asked for)
    classical_cache: dict = field(default_factory=dict, repr=False)
    #: the combination this fit forecasts the LSTM part of ("": the chosen model itself), for the notes
    part_of: str = field(default="", repr=False)
    #: the season outliers are judged with (:mod:`.outliers`; 0: the models read the values as given)
    clean_season: int = 0

    def title(self) -> str:
        """The chosen model as a table names it: a mean names its members."""
        if self.chosen == "pool":
            return f"pool (mean of {', '.join(label(k) for k in self.members)})"
        return label(self.chosen)

    def score_name(self) -> str:
        """What the validation scores are, as tables head them: ``MASE`` or, on a panel, ``relative MASE``."""
        return f"relative {self.metric.upper()}" if self.relative else self.metric.upper()

    def choice_text(self) -> str:
        """One line: the chosen model, its validation score and the runner-up's."""
        text = self.title()
        if self.chosen in self.scores:
            text += f" (validation {self.score_name()} {self.scores[self.chosen]:.3f}"
            if self.runner_up in self.scores:
                text += f"; runner-up {label(self.runner_up)} {self.scores[self.runner_up]:.3f}"
            text += ")"
        return text

    def summary(self) -> dict:
        return {"chosen": self.chosen, "runner_up": self.runner_up, "metric": self.metric,
                "relative": self.relative, "members": self.members,
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
        data = self.model_view(data, ends)
        n = len(data.series)
        point: list[np.ndarray] = [np.zeros((len(o), H)) for o in origins]
        quant: dict[float, list[np.ndarray]] = {}
        own: dict[float, list[np.ndarray | None]] = {}
        if self.chosen in STATS and self.intervals != "validation" and self.residuals:
            point, own = self._classical(self.chosen, data, ends, origins, jobs, bands=True)
        elif self.chosen in CLASSICAL:
            point = self._classical(self.chosen, data, ends, origins, jobs)
        elif self.members:  # the combination or a pool: the mean of its members (an LSTM set-up first, if any)
            parts = []
            for name in self.members:
                if name in CLASSICAL:
                    parts.append(self._classical(name, data, ends, origins, jobs))
                    continue
                # (``data`` is already the models' view: the part does not clean it again)
                lstm_part = CoreFit(plan=self.plan, ends=self.ends, chosen=name, runner_up=None, scores={},
                                    metric=self.metric, lstm=self.lstm, fallback=self.fallback, notes=self.notes,
                                    part_of=self.title())
                parts.append(lstm_part.forecast(data, origins, jobs, ends).point)
            point = [np.mean(arrs, axis=0) for arrs in zip(*parts)]
        else:
            L = self.lstm.setup.input_size
            short = set(self.plan.short)
            fits = [k for k in range(n) if len(origins[k]) and int(np.min(origins[k])) >= L
                    and data.series[k].id not in short]
            too_short = sorted({k for k in range(n) if len(origins[k])} - set(fits))
            unreadable = []
            if self.lstm.transform.scaler.log:  # values <= 0 after training (a later origin, a new history)
                unreadable = [k for k in fits if np.any(
                    data.series[k].values[int(np.min(origins[k])) - L:int(np.max(origins[k]))] <= 0)]
            can = sorted(set(fits) - set(unreadable))
            rest = sorted(too_short + unreadable)
            if can:
                sub = subset(data, can)
                p = predict_windows(self.lstm.model, self.lstm.transform, sub, [origins[k] for k in can], H, L)
                for j, k in enumerate(can):
                    sel = p["series"] == j
                    point[k] = p["point"][sel]
                    for q, arr in p["quantiles"].items():
                        # series the LSTM does not forecast (the fallback's) have no quantiles: NaN, not 0
                        quant.setdefault(q, [np.full((len(o), H), np.nan) for o in origins])[k] = arr[sel]
            if rest:
                sub = subset(data, rest)
                cf = classical_forecasts(self.fallback, sub, [ends[k] for k in rest], [origins[k] for k in rest],
                                         H, season, jobs)
                for j, k in enumerate(rest):
                    point[k] = cf.point[j]
            for ks, why in ((unreadable, "with values <= 0 in the windows to forecast from, which the LSTM's log "
                                         "transform (chosen on positive training data) cannot read,"),
                            (too_short, f"too short for the LSTM's input window of {L}")):
                if not ks:
                    continue
                place = f" in the LSTM's place in the {self.part_of}" if self.part_of else ""
                note = (f"{len(ks)} series {why} forecast by {label(self.fallback)}{place}: "
                        f"{', '.join(repr(data.series[k].id) for k in ks[:10])}" + (" ..." if len(ks) > 10 else ""))
                if note not in self.notes:
                    self.notes.append(note)
        values = [s.values for s in data.series]
        point = floor_at_zero(point, values, ends)
        if not self.part_of:  # (a combination's LSTM part: the combination holds its mean)
            held = held_rows(values, origins, H)
            point = hold_runs(point, values, origins, held)
            for k, rows in held.items():  # a quantile head's bands: the value held, as the point
                for arr in quant.values():
                    arr[k][rows] = point[k][rows]
            if held:
                note = (f"{len(held)} series ended in a new run of one value (at least max(5, horizon) steps, more "
                        f"than twice any earlier run of it: taken off sale, a sensor stuck) and "
                        f"{'is' if len(held) == 1 else 'are'} forecast as that "
                        f"value from there: {', '.join(repr(data.series[k].id) for k in list(held)[:10])}"
                        + (" ..." if len(held) > 10 else ""))
                if note not in self.notes:
                    self.notes.append(note)
        if not quant and self.residuals:
            quant = self.interval_bands(data, point, ends)
            if own:
                quant = _own_bands(quant, own, self.intervals)
        return Forecasts(point, _tidy_quantiles(quant, point, data, ends))

    def model_view(self, data: SeriesSet, ends: list[int]) -> SeriesSet:
        """``data`` as the models read it: outliers replaced (:mod:`.outliers`) where this fit judges them."""
        if not self.clean_season:
            return data
        from .outliers import clean_set

        return clean_set(data, self.clean_season, ends)[0]

    def classical(self, name: str, data: SeriesSet, ends: list[int], origins: list[np.ndarray],
                  jobs: int = 1, bands: bool = False) -> tuple:
        """``name``'s forecasts from ``origins`` fitted on ``values[:ends[k]]`` and their notes, made once; with
        ``bands``, also the model's own interval bounds (made with the forecasts and kept), as a third item.
        The values are part of the key: the models' cleaned history and the peers' given one differ only where
        outliers were replaced."""
        import hashlib

        digest = hashlib.sha1()
        for o, s in zip(origins, data.series):
            digest.update(np.asarray(o, dtype="int64").tobytes() + b"|")
            digest.update(np.ascontiguousarray(s.values[:int(np.max(o)) if len(o) else 0]).tobytes() + b"|")
        key = (name, tuple(s.id for s in data.series), tuple(int(e) for e in ends), digest.hexdigest())
        made = self.classical_cache.get(key)
        if made is None or (bands and made[2] is None):
            levels = [float(q) for q in self.residuals] if bands else ()
            cf = classical_forecasts(name, data, ends, origins, self.plan.horizon, self.plan.season, jobs,
                                     quantiles=levels)
            made = self.classical_cache[key] = (cf.point, cf.notes(), cf.bands if bands else None)
        return made if bands else made[:2]

    def _classical(self, name: str, data: SeriesSet, ends: list[int], origins: list[np.ndarray],
                   jobs: int, bands: bool = False):
        """:meth:`classical`, its notes added to the model's (with ``bands``: the point and the bands)."""
        made = self.classical(name, data, ends, origins, jobs, bands=bands)
        self.notes.extend(n_ for n_ in made[1] if n_ not in self.notes)
        return (made[0], made[2]) if bands else made[0]

    def interval_bands(self, data: SeriesSet, point: list[np.ndarray], ends: list[int]) -> dict[float, list[np.ndarray]]:
        """The band from the validation errors: the forecast moved by their per-step offsets (:func:`interval_offsets`)."""
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


def rank_quantile(x: np.ndarray, level: float) -> float:
    """The split-conformal quantile of the sample ``x`` at ``level``: the ``ceil((n + 1) level)``-th smallest
    value for a level above 1/2, the ``floor((n + 1) level)``-th for one below (the median as numpy's), clipped to
    the sample. Plain empirical quantiles of n errors reach past only a fraction n/(n+1) of new ones."""
    if level == 0.5:
        return float(np.quantile(x, 0.5))
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    k = math.ceil((n + 1) * level) if level > 0.5 else math.floor((n + 1) * level)
    return float(x[min(max(k, 1), n) - 1])


def interval_offsets(errors: np.ndarray, levels) -> dict[float, np.ndarray]:
    """Per quantile level, the ``H`` per-step offsets of the forecast's band from validation ``errors``
    ``(n, H)``: each step's errors standardised by that step's mean and deviation and pooled over all steps
    (``H`` times as many errors for the tails as one step has), their split-conformal quantile
    (:func:`rank_quantile`), scaled back per step. Measured against per-step empirical quantiles on the 17
    cases of ``eval_forecast.py`` (``benchmarks/study_intervals.py``): the 95 % band covered 70.1 % of the
    backtests' actual values instead of 63.7 %, the 80 % band 59.4 % instead of 50.8 %, no case lower, the
    bands 14 % wider. Both still cover less than they say: few validation errors, and errors that grow
    past the validation origins (benchmarks/RESULTS_intervals.md)."""
    e = np.asarray(errors, dtype=float)
    mu = e.mean(axis=0)
    sd = np.maximum(e.std(axis=0), 1e-12)
    z = ((e - mu) / sd).ravel()
    return {float(q): mu + sd * rank_quantile(z, float(q)) for q in levels}


def _own_bands(quant: dict[float, list[np.ndarray]], own: dict[float, list[np.ndarray | None]],
               rule: str) -> dict[float, list[np.ndarray]]:
    """The validation band ``quant`` replaced (``model``) or widened (``wider``: the lower of the two lower
    bounds, the higher of the two upper ones) by a statistical model's own band ``own``, series by series; a
    series the model gave no band keeps the validation band."""
    out: dict[float, list[np.ndarray]] = {}
    for q, arrs in quant.items():
        mine = own.get(q)
        row = []
        for k, a in enumerate(arrs):
            b = None if mine is None else mine[k]
            if b is None:
                row.append(a)
            elif rule == "model":
                row.append(b)
            else:
                row.append(np.minimum(a, b) if q < 0.5 else np.maximum(a, b))
        out[q] = row
    return out


def _tidy_quantiles(quant: dict[float, list[np.ndarray]], point: list[np.ndarray], data: SeriesSet,
                    ends: list[int]) -> dict[float, list[np.ndarray]]:
    """Quantile forecasts that read as a band around the point forecast: in the order of their levels
    (no crossing), the levels below 1/2 at or under the point and those above at or over it (errors
    measured on few origins can all fall on one side), and at or above zero for a series that never went
    below it in training."""
    if not quant:
        return quant
    levels = sorted(quant)
    out: dict[float, list[np.ndarray]] = {q: [] for q in levels}
    for k, p in enumerate(point):
        stack = np.sort(np.stack([np.asarray(quant[q][k], dtype=float) for q in levels]), axis=0)
        nonneg = never_negative(data.series[k].values, ends[k] if k < len(ends) else None)
        for i, q in enumerate(levels):
            band = np.minimum(stack[i], p) if q < 0.5 else (np.maximum(stack[i], p) if q > 0.5 else stack[i])
            out[q].append(np.maximum(band, 0.0) if nonneg else band)
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
    return floor_at_zero(point, [s.values for s in data.series], ends), f, []


@dataclass
class Validation:
    """Every candidate's forecasts of the last validation origins of each training part (inner validation)."""

    plan: Plan
    usable: list[int]  # series with validation origins
    origins: list[np.ndarray]  # per usable series
    actual: list[np.ndarray]  # per usable series, (origins, H)
    scales: list[float]  # per usable series: its MASE scale on the values before its validation origins
    refs: list[float]  # per usable series: what its scores are divided by (:func:`series_refs`)
    forecasts: dict[str, list[np.ndarray]]  # candidate -> per usable series, (origins, H)
    inner_fits: dict[str, FittedLSTM]
    members: list[str]  # the combination's, when it could be formed
    notes: list[str]
    seconds: dict[str, float]

    @property
    def count(self) -> int:
        return sum(len(o) for o in self.origins)

    @property
    def relative(self) -> bool:
        """Whether the scores are relative to each series' reference (a panel) or plain (one series)."""
        return len(self.actual) > 1

    def score_of(self, metric: str, fc: list[np.ndarray]) -> float:
        """Mean over series of the validation score of forecasts ``fc`` (per usable series), each divided by its
        series' reference (:func:`series_refs`)."""
        return panel_score(metric, self.actual, fc, self.scales, self.refs)

    def scores(self, metric: str) -> dict[str, float]:
        """Each candidate's :meth:`score_of`."""
        return {name: self.score_of(metric, fc) for name, fc in self.forecasts.items()}

    def errors(self, fc: list[np.ndarray], log: bool) -> np.ndarray:
        """``(forecasts, H)`` validation errors of ``fc`` as the intervals read them: log ratios when the plan
        models logs, else errors in units of each series' MASE scale."""
        if log:
            return np.concatenate([np.log(np.maximum(a, 1e-300)) - np.log(np.maximum(f, 1e-300))
                                   for a, f in zip(self.actual, fc)])
        return np.concatenate([(a - f) / s for a, f, s in zip(self.actual, fc, self.scales)])


def panel_score(metric: str, actual: list[np.ndarray], forecasts: list[np.ndarray], scales: list[float],
                refs: list[float]) -> float:
    """Mean over series of each one's score divided by its reference (:func:`series_refs`)."""
    return float(np.mean([score(metric, a, f, s) / r for a, f, s, r in zip(actual, forecasts, scales, refs)]))


def origin_errors(metric: str, actual: list[np.ndarray], forecasts: list[np.ndarray],
                  scales: list[float], refs: list[float] | None = None) -> list[np.ndarray]:
    """Per series, one error per origin: the ``metric`` of that origin's ``H`` forecasts (divided by the series'
    reference, where ``refs`` are given)."""
    refs = [1.0] * len(actual) if refs is None else refs
    return [np.array([score(metric, a[i:i + 1], f[i:i + 1], s) / r for i in range(len(a))], dtype="float64")
            for a, f, s, r in zip(actual, forecasts, scales, refs)]


def mean_and_se(d: list[np.ndarray], horizon: int) -> tuple[float, float]:
    """Mean of per-origin differences ``d`` (per series) and its standard error.

    Origins one step apart share ``H - 1`` of their targets, so their errors are correlated: the variance
    is the long-run one of the Diebold-Mariano test (autocovariances up to lag ``H - 1``, Bartlett weights),
    per series, around the overall mean; series are independent.
    """
    allv = np.concatenate(d)
    n, mu = len(allv), float(np.mean(allv))
    total = 0.0
    for x in d:
        x = x - mu
        m = len(x)
        lrv = float(np.dot(x, x)) / m
        for k in range(1, min(horizon, m)):
            lrv += 2 * (1 - k / horizon) * float(np.dot(x[k:], x[:-k])) / m
        total += m * max(lrv, 0.0)
    return mu, float(np.sqrt(total / (n * max(n - 1, 1))))


def choose(rule: str, forecasts: dict[str, list[np.ndarray]], actual: list[np.ndarray], scales: list[float],
           members: list[str], metric: str = "mase", order: list[str] | None = None,
           stride: int = 1, refs: list[float] | None = None) -> tuple[str, list[str]]:
    """Turn the inner validation into a model: ``(chosen, members)``; ``members`` is non-empty for a mean.

    ``rule``:

    * ``"best"``: the candidate with the lowest mean validation error (ties: the simpler, :data:`SIMPLEST_FIRST`);
    * ``"pool"``: the mean of every candidate the validation cannot tell from the best (a *forecast pool*,
      after Kourentzes, Barrow & Petropoulos 2019): a candidate joins when its mean per-origin error is above
      the best's by no more than one standard error of the paired differences (Breiman's one-SE rule; the
      error of the mean allows for overlapping origins as the Diebold-Mariano test does, :func:`mean_and_se`). The
      fixed ``combination`` joins with its members. The pool keeps at most one LSTM set-up (the better one,
      so that one network is trained). A pool of one is that candidate.

    ``stride``: the origins are that many steps apart (they share ``H - stride`` targets, not ``H - 1``).
    ``refs``: each series' errors are divided by its reference first (:func:`series_refs`; default 1).
    """
    names = [k for k in (order or list(forecasts)) if k in forecasts]
    errs = {k: origin_errors(metric, actual, forecasts[k], scales, refs) for k in names}
    mean = {k: float(np.mean(np.concatenate(v))) for k, v in errs.items()}
    best = min(names, key=lambda k: (mean[k], simpler(k), names.index(k)))
    horizon = -(-actual[0].shape[1] // max(1, stride))  # the lags at which origins share targets, in origins
    if rule == "best" or sum(len(v) for v in errs[best]) < 2:
        return best, (list(members) if best == "combination" else [])
    if rule != "pool":
        raise ValueError(f"choose: expected rule 'best' or 'pool', got {rule!r}")
    pool = []
    for k in names:
        mu, se = mean_and_se([a - b for a, b in zip(errs[k], errs[best])], horizon)
        if k == best or mu <= se:
            pool.append(k)
    bases: list[str] = []
    for k in sorted(pool, key=lambda k: (mean[k], simpler(k), names.index(k))):
        for b in (members if k == "combination" else [k]):
            if b not in bases:
                bases.append(b)
    lstms = [b for b in bases if b in LSTM_SETUPS]
    bases = [b for b in bases if b not in lstms[1:]]
    if len(bases) == 1:
        return bases[0], []
    bases.sort(key=lambda b: (b not in LSTM_SETUPS, mean.get(b, np.inf)))  # the LSTM first, then by score
    return "pool", bases


def validate(cfg: ForecastConfig, data: SeriesSet, ends: list[int], progress=None, log_dir=None,
             resume: bool = False) -> Validation:
    """Plan, then fit every candidate on each series' values before its last ``V + H - 1`` training steps and
    forecast the last ``V`` origins of its training part (the combination is the mean of its members' forecasts)."""
    from pathlib import Path
    say = progress or (lambda s: None)
    plan = make_plan(cfg, data, ends)
    H, V, m = plan.horizon, plan.val_windows, plan.season
    metric = cfg.select.metric
    notes: list[str] = []
    seconds: dict[str, float] = {}
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
    inner_fits: dict[str, FittedLSTM] = {}
    val_fc: dict[str, list[np.ndarray]] = {}
    members: list[str] = []
    origins: list[np.ndarray] = []
    actual: list[np.ndarray] = []
    scales: list[float] = []
    refs: list[float] = []
    if usable:
        sub = subset(data, usable)
        sub_ends = [vends[k] for k in usable]
        origins = [plan.val_origins(vends[k]) for k in usable]
        actual = [np.stack([data.series[k].values[t:t + H] for t in o]) for k, o in zip(usable, origins)]
        scales = [series_scale(data.series[k].values[:vends[k]], m) for k in usable]
        values = [data.series[k].values for k in usable]
        held = held_rows(values, origins, H)  # (the same for every candidate)
        for name in [c for c in plan.candidates if c != "combination"]:
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
            val_fc[name] = hold_runs(fc, values, origins, held)
            seconds[f"validate {name}"] = time.perf_counter() - t0
        refs = series_refs(metric, actual, val_fc, scales)
        if "combination" in plan.candidates:
            best_lstm = min((k for k in val_fc if k in plan.lstm_setups), default=None,
                            key=lambda k: panel_score(metric, actual, val_fc[k], scales, refs))
            stats = [k for k in STATS if k in val_fc]
            if best_lstm and stats:
                members = [best_lstm, *stats]
                val_fc["combination"] = [np.mean(arrs, axis=0) for arrs in zip(*(val_fc[k] for k in members))]
            else:
                plan.candidates.remove("combination")
                notes.append("combination left out: it needs an LSTM set-up and one of ETS, ARIMA, Theta")
    else:
        notes.append("no series is long enough for validation origins: the first candidate is used as it is")
    return Validation(plan=plan, usable=usable, origins=origins, actual=actual, scales=scales, refs=refs,
                      forecasts=val_fc,
                      inner_fits=inner_fits, members=members, notes=notes, seconds=seconds)


def fit_final_lstm(cfg: ForecastConfig, plan: Plan, data: SeriesSet, ends: list[int], name: str,
                   inner: FittedLSTM | None, progress=None, out_dir=None, resume: bool = False) -> FittedLSTM:
    """The LSTM set-up ``name`` on the whole training part: from its validated networks (``inner``) for a
    quarter of their early-stopped passes at a lower learning rate, with the newest windows; from scratch
    when there was no validation."""
    say = progress or (lambda s: None)
    H = plan.horizon
    if inner is None:
        say(f"training {label(name)} on the whole training part")
        return fit_lstm(plan.lstm_setups[name], data, ends, H, cfg.train, epochs=cfg.train.epochs,
                        progress=progress, resume=resume, out_dir=out_dir)
    epochs = max(1, round(inner.epochs * FINETUNE))
    say(f"continuing to train {label(name)} for {epochs} more pass{'es' if epochs != 1 else ''} on the whole "
        f"training part (warm start)")
    from ...config import replace

    tune = replace(cfg.train, epochs=epochs, lr=cfg.train.lr * FINETUNE_LR)
    fit = fit_lstm(plan.lstm_setups[name], data, ends, H, tune, batches=inner.batches,
                   progress=progress, resume=resume, out_dir=out_dir, init=inner.model)
    fit.epochs += inner.epochs
    fit.seconds += inner.seconds
    return fit


def fit_core(cfg: ForecastConfig, data: SeriesSet, ends: list[int] | None = None, progress=None,
             log_dir=None, resume: bool = False) -> CoreFit:
    """Plan, choose by inner validation, and fit the chosen candidate on ``values[:ends[k]]`` (default: all).

    ``log_dir``: keep each LSTM training's checkpoints and logs under it (``validate-<name>``,
    ``final-<name>``); ``resume``: continue those trainings from their checkpoints.
    """
    from pathlib import Path
    t_all = time.perf_counter()
    ends = [len(s) for s in data.series] if ends is None else [int(e) for e in ends]
    clean_season, clean_note = 0, ""
    if cfg.data.outliers == "replace":
        from .outliers import clean_set, note
        from .seasonality import resolve_season

        clean_season, _ = resolve_season(cfg.season, data.calendar or data.freq,
                                         [s.values[:e] for s, e in zip(data.series, ends)])
        clean_season = max(1, clean_season)
        view, found = clean_set(data, clean_season, ends)
        clean_note = note(data, found, before=ends)
        data = view
    val = validate(cfg, data, ends, progress=progress, log_dir=log_dir, resume=resume)
    if clean_note:
        val.notes.insert(0, clean_note)
    plan, notes, seconds, members = val.plan, val.notes, val.seconds, val.members
    H = plan.horizon
    metric = cfg.select.metric
    scores = val.scores(metric)
    forecasts = dict(val.forecasts)
    val_count = val.count
    ranked = (sorted(scores, key=lambda k: (scores[k], simpler(k), plan.candidates.index(k))) if scores
              else list(plan.candidates))
    if cfg.select.model != "auto":
        chosen, chosen_members = cfg.select.model, (members if cfg.select.model == "combination" else [])
    elif scores:
        chosen, chosen_members = choose(cfg.select.rule, val.forecasts, val.actual, val.scales, members, metric,
                                        order=plan.candidates, stride=plan.val_stride, refs=val.refs)
    else:
        chosen, chosen_members = ranked[0], []
    if chosen == "pool":  # its validation forecasts and score, beside the candidates'
        forecasts["pool"] = [np.mean(arrs, axis=0) for arrs in zip(*(val.forecasts[k] for k in chosen_members))]
        scores["pool"] = val.score_of(metric, forecasts["pool"])
        notes.append(f"pool: the validation cannot tell {', '.join(label(k) for k in chosen_members)} apart (each "
                     f"within one standard error of the best); their mean is the forecast")
    elif chosen not in plan.candidates:  # forced, but impossible (e.g. an LSTM with no series long enough)
        raise ValueError(f"forecast: {data.source}: select.model {chosen!r} cannot run on this data: "
                         f"{'; '.join(plan.reasons[-1:])}")
    runner_up = next((k for k in ranked if k != chosen), None)
    classical_ranked = [k for k in ranked if k in CLASSICAL]
    fallback = classical_ranked[0] if classical_ranked else "seasonal_naive"
    if chosen == "combination" and not chosen_members:
        raise ValueError(f"forecast: {data.source}: select.model combination needs an LSTM set-up and one of "
                         f"ETS, ARIMA, Theta among the candidates that could run")
    if any(k in CLASSICAL for k in chosen_members):
        fallback = min((k for k in chosen_members if k in CLASSICAL), key=lambda k: scores.get(k, np.inf))

    residuals: dict[str, list[float]] = {}
    e = val.errors(forecasts[chosen], plan.log) if forecasts.get(chosen) else None
    if e is not None and len(e):
        offsets = interval_offsets(e, cfg.model.quantiles)
        for q in cfg.model.quantiles:
            residuals[f"{q:g}"] = [float(v) for v in offsets[q]]
    elif cfg.model.quantiles:
        notes.append("no prediction intervals (the quantile columns are empty): the training data leave no "
                     f"validation origin whose {H} following values are known, so there are no errors to take them "
                     "from; a shorter horizon or a longer history gives them")

    core = CoreFit(plan=plan, ends=ends, chosen=chosen, runner_up=runner_up, scores=scores, metric=metric,
                   relative=val.relative, fallback=fallback, residuals=residuals, interval_log=plan.log,
                   intervals=cfg.model.intervals, notes=notes,
                   seconds=seconds, val_count=val_count, members=chosen_members, val_errors=e,
                   clean_season=clean_season)
    # ---- the chosen candidate (or the mean's LSTM member) on the whole training part
    net_name = chosen_members[0] if chosen_members else chosen
    if net_name in plan.lstm_setups:
        t0 = time.perf_counter()
        core.lstm = fit_final_lstm(cfg, plan, data, ends, net_name, val.inner_fits.get(net_name), progress=progress,
                                   resume=resume,
                                   out_dir=None if log_dir is None else Path(log_dir) / f"final-{net_name}")
        if plan.lstm_setups[net_name].output != "point" and chosen == net_name:
            core.residuals = {}
        seconds["final fit"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_all
    return core
