"""Rolling-origin backtest: forecast from each origin with only the past, score beside baselines.

For every series, origins run from ``start`` to the last one with a full
horizon, every ``stride`` steps. With ``refit=0`` one model is trained on the
windows whose targets end before each series' first origin (and its scaler is
fitted on that history only); it then forecasts from every origin reading the
actual values up to that origin, never after. With ``refit=N`` the model is
refitted every ``N`` origins on everything before them. Naive and
seasonal-naive forecasts are made from the very same origins, and MASE uses
the in-sample seasonal-naive error of the history before the first origin.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ...data.series import SeriesSet
from . import metrics as M
from .baselines import baseline_windows
from .config import ForecastConfig
from .fitting import FitInfo, fit_ensemble, predict_windows
from .model import ForecastEnsemble
from .dataset import Transform


@dataclass
class BacktestResult:
    frame: object  # pandas DataFrame: one row per (series, origin, step)
    metrics: dict  # {"model": {...}, "naive": {...}, "seasonal_naive": {...}, "per_series": [...], "per_step": [...]}
    starts: list[int]  # first origin index per series
    fit: FitInfo = field(default_factory=FitInfo)
    model: ForecastEnsemble | None = None  # the last model fitted (refit=0: the only one)
    transform: Transform | None = None
    seconds: float = 0.0


def resolve_start(start: str, data: SeriesSet, horizon: int, season: int) -> list[int]:
    """Index of the first origin in each series for a ``start`` setting (see :class:`BacktestConfig`)."""
    import pandas as pd

    out = []
    for s in data.series:
        T = len(s)
        if horizon >= T:
            raise ValueError(f"backtest: {data.source}: series {s.id!r}: the horizon {horizon} is longer than the "
                             f"history ({T} values); shorten --horizon or give more data")
        text = str(start).strip()
        if text == "auto":
            n = 2 * season if season > 1 else max(horizon, int(round(0.2 * T)))
            idx = T - max(n, horizon)
        elif text.startswith("-") and text[1:].isdigit():
            idx = T - int(text[1:])
        elif data.datetime:
            try:
                ts = pd.Timestamp(text)
            except ValueError:
                raise ValueError(f"backtest: expected start as a date, -N or auto, got {start!r}") from None
            idx = int(np.searchsorted(pd.DatetimeIndex(s.time).to_numpy(), ts.to_datetime64()))
        else:
            try:
                v = int(float(text))
            except ValueError:
                raise ValueError(f"backtest: expected start as a time value, -N or auto, got {start!r}") from None
            idx = int(np.searchsorted(np.asarray(s.time), v))
        if idx < 1 or idx > T - horizon:
            raise ValueError(f"backtest: series {s.id!r}: start {start!r} leaves no full horizon of {horizon} "
                             f"after it (the series has {T} values)")
        out.append(idx)
    return out


def _time_text(t) -> str:
    """A timestamp as text, without a midnight time part."""
    import pandas as pd

    if isinstance(t, pd.Timestamp) and t == t.normalize():
        return str(t.date())
    return str(t)


def _pooled(actual, forecast, scale) -> dict:
    return M.point_metrics(actual, forecast, scale)


def run_backtest(cfg: ForecastConfig, data: SeriesSet, out_dir: Path, resume: bool = False,
                 say: Callable[[str], None] = print) -> BacktestResult:
    import pandas as pd

    t0 = time.perf_counter()
    H, L = cfg.horizon, cfg.model.input_size
    starts = resolve_start(cfg.backtest.start, data, H, cfg.season)
    stride = cfg.backtest.stride
    all_origins = [np.arange(st, len(s) - H + 1, stride, dtype="int64") for s, st in zip(data.series, starts)]
    n_blocks = 1
    if cfg.backtest.refit:
        n_blocks = max(int(np.ceil(len(o) / cfg.backtest.refit)) for o in all_origins)
    preds = []
    info = FitInfo()
    model = tr = None
    for b in range(n_blocks):
        if cfg.backtest.refit:
            block = [o[b * cfg.backtest.refit:(b + 1) * cfg.backtest.refit] for o in all_origins]
            ends = [int(o[0]) if len(o) else len(s) for o, s in zip(block, data.series)]
            say(f"backtest block {b + 1}/{n_blocks}: training on the data before each block's first origin")
        else:
            block, ends = all_origins, starts
            say(f"backtest: training on the data before the first origin ({sum(len(o) for o in block)} origins follow)")
        model, tr, fi = fit_ensemble(cfg, data, ends, out_dir / (f"block-{b}" if cfg.backtest.refit else "fit"),
                                     resume=resume, say=say)
        info.seconds += fi.seconds
        info.windows += fi.windows
        info.epochs += fi.epochs
        info.history += fi.history
        preds.append(predict_windows(model, tr, data, block, H, L))

    # assemble rows
    rows = []
    season = cfg.season
    scales = [M.mase_scale(s.values[:st], season) for s, st in zip(data.series, starts)]
    for p in preds:
        for n, (k, t) in enumerate(zip(p["series"], p["origin"])):
            s = data.series[k]
            base = baseline_windows(s.values, np.array([t]), H, season)
            for h in range(H):
                row = {"id": s.id, "origin": s.time[t], "step": h + 1, "time": s.time[t + h],
                       "actual": s.values[t + h], "forecast": p["point"][n, h],
                       "naive": base["naive"][0, h], "seasonal_naive": base["seasonal_naive"][0, h],
                       "_scale": scales[k]}
                for q, arr in p["quantiles"].items():
                    row[f"q{q:g}"] = arr[n, h]
                rows.append(row)
    frame = pd.DataFrame(rows)
    res = {}
    for name in ("forecast", "naive", "seasonal_naive"):
        res["model" if name == "forecast" else name] = _pooled(frame["actual"], frame[name], frame["_scale"])
    qcols = {float(c[1:]): frame[c].to_numpy() for c in frame.columns if c.startswith("q")}
    if qcols:
        res["model"]["quantile_loss"] = M.quantile_loss(frame["actual"], qcols)
        for lo, hi, level in M.interval_pairs(sorted(qcols)):
            res["model"][f"coverage_{level:g}"] = M.coverage(frame["actual"], qcols[lo], qcols[hi])
    per_series = []
    for sid, g in frame.groupby("id", sort=False):
        entry = {"id": sid}
        for name in ("forecast", "naive", "seasonal_naive"):
            m = _pooled(g["actual"], g[name], g["_scale"])
            entry.update({f"{'model' if name == 'forecast' else name}_{k}": v for k, v in m.items()})
        per_series.append(entry)
    per_step = []
    for h, g in frame.groupby("step"):
        per_step.append({"step": int(h), "model_mae": M.mae(g["actual"], g["forecast"]),
                         "seasonal_naive_mae": M.mae(g["actual"], g["seasonal_naive"]),
                         "model_mape": M.mape(g["actual"], g["forecast"])})
    metrics = {
        **res,
        "origins": int(frame.groupby(["id", "origin"]).ngroups) if len(frame) else 0,
        "points": int(len(frame)),
        "first_origin": _time_text(data.series[0].time[starts[0]]),
        "horizon": H, "stride": stride, "refit": cfg.backtest.refit, "season": season,
        "per_series": per_series, "per_step": per_step,
    }
    frame = frame.drop(columns="_scale")
    return BacktestResult(frame=frame, metrics=metrics, starts=starts, fit=info, model=model, transform=tr,
                          seconds=time.perf_counter() - t0)
