"""Rolling-origin backtest: forecast from each origin with only the past, beside the peers on the same windows.

For every series, origins run from ``start`` to the last one with a full
horizon, every ``stride`` steps (``0``, the default: every step, or every
``s``-th, ``s`` at most the horizon, where a series would have more than
:data:`MAX_ORIGINS` origins; each origin costs every statsforecast peer a
forecast). With ``refit=0`` the forecaster is fitted
once on the data before each series' first origin, model choice included
(:func:`.selection.fit_core`: the test windows are never used for any choice);
it then forecasts from every origin reading the actual values up to that
origin, never after. With ``refit=N`` everything is refitted every ``N``
origins on all data before them. The peers (naive, seasonal naive and the
statsforecast models) are fitted on exactly the same training part and
forecast from exactly the same origins. MASE divides by the in-sample
seasonal-naive error of each series before its first origin.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from ...data.series import SeriesSet
from . import metrics as M
from .classical import STATISTICAL, statsforecast_available
from .config import ForecastConfig
from .plan import spaced_stride
from .selection import CoreFit, fit_core, label, scale_basis, scale_note, subset


#: most origins a series gets from ``stride=0`` before they are spaced out (MSTL + ETS at season 288 takes
#: 0.42 s an origin: the 565 origins of two days of 5-minute data cost each such peer 4 minutes)
MAX_ORIGINS = 100


def auto_stride(counts: list[int], horizon: int) -> int:
    """The stride ``stride=0`` picks for series with ``counts`` origins at stride 1."""
    return spaced_stride(max(counts, default=0), MAX_ORIGINS, horizon)


@dataclass
class BacktestResult:
    frame: object  # pandas DataFrame: one row per (series, origin, step)
    metrics: dict  # {"model": {...}, "naive": {...}, ..., "per_series": [...], "per_step": [...], "winner": ...}
    starts: list[int]  # first origin index per series
    cores: list[CoreFit] = field(default_factory=list)  # the fit of each block (refit=0: one)
    peers: list[str] = field(default_factory=list)  # forecaster columns besides "forecast"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


#: a ``start`` between 0 and 1 written with a decimal point: the share of each series before its first origin
_FRACTION = re.compile(r"0?\.[0-9]+")


def resolve_start(start: str, data: SeriesSet, horizon: int, season: int) -> list[int]:
    """Index of the first origin in each series for a ``start`` setting (see :class:`BacktestConfig`)."""
    import pandas as pd

    out = []
    for s in data.series:
        T = len(s)
        if horizon >= T:
            raise ValueError(f"backtest: {data.source}: series {s.id!r}: the horizon {horizon} is longer than the "
                             f"history ({T} values); shorten the horizon or give more data")
        text = str(start).strip()
        if text == "auto":
            # two seasons (or a fifth of the series), and two horizons: a horizon longer than the season would
            # otherwise leave one origin, one forecast, whose error says little
            n = max(2 * season if season > 1 else int(round(0.2 * T)), 2 * horizon)
            idx = T - max(min(n, T // 3), horizon)  # at most a third of the series, at least one horizon
        elif text.startswith("-") and text[1:].isdigit():
            idx = T - int(text[1:])
        elif _FRACTION.fullmatch(text) and 0 < float(text) < 1:  # as Darts' start=0.8: that share of the series before
            idx = int(round(float(text) * T))
        elif data.datetime:
            try:
                ts = pd.Timestamp(text)
            except ValueError:
                raise ValueError(f"backtest: expected start as a date, -N, a fraction such as 0.8 or auto, "
                                 f"got {start!r}") from None
            idx = int(np.searchsorted(pd.DatetimeIndex(s.time).to_numpy(), ts.to_datetime64()))
        else:
            try:
                v = int(float(text))
            except ValueError:
                raise ValueError(f"backtest: expected start as a time value, -N, a fraction such as 0.8 or auto, "
                                 f"got {start!r}") from None
            idx = int(np.searchsorted(np.asarray(s.time), v))
        if idx < 2 or idx > T - horizon:
            raise ValueError(f"backtest: {data.source}: series {s.id!r}: start {start!r} leaves no full horizon of "
                             f"{horizon} after it and at least 2 values before it (the series has {T} values)")
        out.append(idx)
    return out


def _time_text(t) -> str:
    """A timestamp as text, without a midnight time part."""
    import pandas as pd

    if isinstance(t, pd.Timestamp) and t == t.normalize():
        return str(t.date())
    return str(t)


def peer_names(cfg: ForecastConfig, n_series: int, notes: list[str] | None = None) -> list[str]:
    """The forecasters shown beside the model: naive, seasonal naive and the configured statsforecast peers."""
    peers = ["naive", "seasonal_naive"]
    for p in cfg.select.peers:
        if p not in STATISTICAL:
            continue
        if not statsforecast_available():
            if notes is not None and "statsforecast" not in " ".join(notes):
                notes.append("statsforecast is not installed: ETS, ARIMA and Theta peers left out "
                             "(pip install 'lstmkit[tasks]')")
            continue
        if p == "arima" and n_series > cfg.select.max_arima_series:
            if notes is not None:
                notes.append(f"AutoARIMA peer left out: {n_series} series > select.max_arima_series="
                             f"{cfg.select.max_arima_series}")
            continue
        peers.append(p)
    return peers


def forecaster_metrics(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> dict:
    """MAE, RMSE, MAPE (NaN when an actual is 0), sMAPE and MASE of pooled points."""
    return M.point_metrics(actual, forecast, scale)


def summarise(frame, names: list[str], season: int) -> dict:
    """Metrics of every forecaster column of a backtest (or evaluation) frame, overall, per series and per step."""
    a = frame["actual"].to_numpy()
    sc = frame["_scale"].to_numpy()
    out: dict = {"forecasters": {}}
    for name in names:
        out["forecasters"][name] = forecaster_metrics(a, frame[name].to_numpy(), sc)
    qcols = {float(c[1:]): frame[c].to_numpy() for c in frame.columns if c.startswith("q")}
    if qcols:
        out["forecasters"]["forecast"]["quantile_loss"] = M.quantile_loss(a, qcols)
        for lo, hi, level in M.interval_pairs(sorted(qcols)):
            out["forecasters"]["forecast"][f"coverage_{level:g}"] = M.coverage(a, qcols[lo], qcols[hi])
    per_series = []
    for sid, g in frame.groupby("id", sort=False):
        entry = {"id": sid}
        ga, gs = g["actual"].to_numpy(), g["_scale"].to_numpy()
        for name in names:
            entry.update({f"{name}_{k}": v for k, v in
                          forecaster_metrics(ga, g[name].to_numpy(), gs).items() if k in ("mae", "smape", "mase")})
        per_series.append(entry)
    out["per_series"] = per_series
    out["per_step"] = [{"step": int(h), **{f"{name}_mae": M.mae(g["actual"], g[name]) for name in names}}
                       for h, g in frame.groupby("step")]
    return out


def verdict(forecasters: dict, chosen: str | None, metric: str = "mase", title: str | None = None) -> dict:
    """Who did best on ``metric``, and the report's first line about it.

    ``forecasters`` maps ``"forecast"`` (the model) and each peer to its
    metrics. When the automatic choice *is* a peer (``chosen``), that peer's
    column holds the same forecasts, so the model is compared with the others;
    unless the column scores otherwise (the model read a history with outliers
    replaced, ``data.outliers replace``, and the peer the values as given).
    """
    vals = {k: v.get(metric) for k, v in forecasters.items()
            if v.get(metric) is not None and np.isfinite(v.get(metric))}
    name = metric.upper()
    if "forecast" not in vals:
        return {"best": None, "peer_wins": False, "text": f"{name} is undefined on these windows"}
    model = vals.pop("forecast")
    who = f"the model ({title or label(chosen)})" if chosen else "the model"
    others = {k: v for k, v in vals.items() if k != chosen or v != model}
    if not others:
        return {"best": "forecast", "peer_wins": False, "text": f"{who}: {name} {model:.3f}"}
    best = min(others, key=others.get)
    if others[best] < model:
        return {"best": best, "peer_wins": True,
                "text": f"a peer wins: {label(best)} has {name} {others[best]:.3f}, {who} {model:.3f}"}
    return {"best": "forecast", "peer_wins": False,
            "text": f"{who} has the lowest {name} ({model:.3f}); the best other forecaster is {label(best)} "
                    f"({others[best]:.3f})"}


def run_backtest(cfg: ForecastConfig, data: SeriesSet, progress=None, log_dir=None,
                 resume: bool = False) -> BacktestResult:
    """Backtest ``cfg`` on ``data`` (see the module doc); ``progress`` gets one line per stage.

    ``log_dir``/``resume``: keep (and continue) the LSTM trainings' checkpoints under ``log_dir/block-<b>``.
    """
    from pathlib import Path

    import pandas as pd

    t0 = time.perf_counter()
    say = progress or (lambda s: None)
    H = cfg.horizon
    notes: list[str] = []
    # a series needs 2 values before its first origin and a full horizon after it; shorter ones are left out
    # (and named), as fit and predict forecast them by a fallback rather than stop
    too_short = [k for k, s in enumerate(data.series) if len(s) < H + 2]
    if too_short:
        if len(too_short) == len(data.series):
            raise ValueError(f"backtest: {data.source}: no series is long enough for a backtest of horizon {H} (it "
                             f"needs {H + 2} values: 2 before the first origin and the horizon after it; the longest "
                             f"has {max(len(s) for s in data.series)}); shorten the horizon or give more data")
        ids = [data.series[k].id for k in too_short]
        notes.append(f"{len(ids)} series shorter than {H + 2} values (horizon {H} + 2) left out of the backtest: "
                     + ", ".join(map(repr, ids[:10])) + (" ..." if len(ids) > 10 else ""))
        data = subset(data, [k for k in range(len(data.series)) if k not in set(too_short)])
    starts = resolve_start(cfg.backtest.start, data, H, _detected_season(cfg, data))
    stride = cfg.backtest.stride or auto_stride([len(s) - H + 1 - st for s, st in zip(data.series, starts)], H)
    if stride > 1 and not cfg.backtest.stride:
        notes.append(f"every {stride} steps an origin (backtest.stride 0: more than {MAX_ORIGINS} origins a series "
                     f"at stride 1; 1 forecasts from every step)")
    all_origins = [np.arange(st, len(s) - H + 1, stride, dtype="int64") for s, st in zip(data.series, starts)]
    refit = cfg.backtest.refit
    n_blocks = max(int(np.ceil(len(o) / refit)) for o in all_origins) if refit else 1
    peers = peer_names(cfg, len(data.series), notes)
    cols: dict[str, list[np.ndarray]] = {}
    cores: list[CoreFit] = []
    for b in range(n_blocks):
        if refit:
            block = [o[b * refit:(b + 1) * refit] for o in all_origins]
            ends = [int(o[0]) if len(o) else len(s) for o, s in zip(block, data.series)]
            say(f"backtest block {b + 1}/{n_blocks}: fitting on the data before each block's first origin")
        else:
            block, ends = all_origins, starts
            say(f"backtest: fitting on the data before the first origin ({sum(len(o) for o in block)} origins follow)")
        core = fit_core(cfg, data, ends, progress=progress, resume=resume,
                        log_dir=None if log_dir is None else Path(log_dir) / f"block-{b}")
        cores.append(core)
        say(f"  chosen: {core.choice_text() if core.runner_up and core.chosen in core.scores else core.title()}")
        fc = core.forecast(data, block, cfg.select.jobs)
        cols.setdefault("forecast", []).extend(fc.point)
        for q, arrs in fc.quantiles.items():
            cols.setdefault(f"q{q:g}", []).extend(arrs)
        for p in peers:
            # the chosen model's own column, unless its models read cleaned values (then the peer reads the values
            # as given: the cache, keyed by the values, still makes it once where nothing was replaced)
            if p == core.chosen and not core.plan.short and not core.clean_season:
                cols.setdefault(p, []).extend(fc.point)
                continue
            say(f"  peer {label(p)}")  # a combination member's forecasts are reused, not made twice
            point, pnotes = core.classical(p, data, ends, block, cfg.select.jobs)
            cols.setdefault(p, []).extend(point)
            notes.extend(n for n in pnotes if n not in notes)
        for n_ in core.notes:
            if n_ not in notes:
                notes.append(n_)
    season = cores[0].plan.season
    # ---- one row per (series, origin, step), built per series with arrays
    blocks_origins = []
    for b in range(n_blocks):
        blocks_origins.extend([o[b * refit:(b + 1) * refit] for o in all_origins] if refit else all_origins)
    based = [scale_basis(s.values[:st], season) for s, st in zip(data.series, starts)]
    scales = [scale for scale, _ in based]
    odd_scale = scale_note({s.id: basis for s, (_, basis) in zip(data.series, based)})
    if odd_scale and odd_scale not in notes:
        notes.append(odd_scale)
    parts = []
    for j, origins in enumerate(blocks_origins):
        k = j % len(data.series)
        if not len(origins):
            continue
        s = data.series[k]
        n = len(origins)
        t_idx = origins[:, None] + np.arange(H)[None, :]  # (n, H)
        part = {"id": np.repeat(s.id, n * H), "origin": np.repeat(np.asarray(s.time[origins]), H),
                "step": np.tile(np.arange(1, H + 1), n), "time": np.asarray(s.time[t_idx.ravel()]),
                "actual": s.values[t_idx].ravel()}
        for name, arrs in cols.items():
            part[name] = np.asarray(arrs[j], dtype="float64").ravel()
        part["_scale"] = np.full(n * H, scales[k])
        parts.append(pd.DataFrame(part))
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[["id", "origin", "step", "time", "actual", "forecast"] + [c for c in frame.columns if c.startswith("q")]
                  + peers + ["_scale"]]
    names = ["forecast"] + peers
    summary = summarise(frame, names, season)
    chosen = cores[0].chosen if len(cores) == 1 else None
    forecasters = summary["forecasters"]
    metrics = {
        "model": forecasters["forecast"], **{p: forecasters[p] for p in peers},
        "verdict": verdict(forecasters, chosen, title=cores[0].title() if chosen else None),
        "origins": int(frame.groupby(["id", "origin"]).ngroups),
        "points": int(len(frame)),
        "first_origin": _time_text(data.series[0].time[starts[0]]),
        "horizon": H, "stride": stride, "refit": refit, "season": season, "peers": peers,
        "choice": [c.summary() for c in cores],
        "per_series": summary["per_series"], "per_step": summary["per_step"], "notes": notes,
    }
    frame = frame.drop(columns="_scale")
    return BacktestResult(frame=frame, metrics=metrics, starts=starts, cores=cores, peers=peers,
                          seconds=time.perf_counter() - t0, notes=notes)


def _detected_season(cfg: ForecastConfig, data: SeriesSet) -> int:
    """The season ``start=auto`` uses: given, from the calendar, or detected on the first 80 % of each series."""
    from .seasonality import resolve_season

    m, _ = resolve_season(cfg.season, data.calendar or data.freq, [s.values[: int(0.8 * len(s))] for s in data.series])
    return m
