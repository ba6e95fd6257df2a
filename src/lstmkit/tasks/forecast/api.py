"""Forecasting in a few lines: train (with backtest, report and forecast), predict, backtest.

Example::

    from lstmkit.tasks.forecast import ForecastConfig, train, Forecaster

    cfg = ForecastConfig(horizon=6)                   # the built-in airline series
    result = train(cfg)                               # writes runs/forecast-airline/
    result.metrics["backtest"]["model"]["mape"], result.report

    f = Forecaster.load("runs/forecast-airline/model")
    f.predict("airline.csv")                          # a DataFrame of forecasts
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ...config import to_dict, to_yaml
from ...data.series import SeriesSet, future_index
from ...train.memory import peak_memory_mb
from ...io.files import atomic_write_text
from .backtest import BacktestResult, run_backtest
from .config import DataConfig, ForecastConfig
from .dataset import Transform, data_name, load_data, resolve_season
from .fitting import fit_ensemble, net_config, predict_windows
from .model import KIND, ForecastEnsemble

MODEL_DIR = "model"


def default_out_dir(cfg: ForecastConfig) -> Path:
    return Path(cfg.out_dir or f"runs/forecast-{data_name(cfg.data)}")


def prepare(cfg: ForecastConfig) -> tuple[ForecastConfig, SeriesSet]:
    """Load the data and fill in settings that depend on it (the season)."""
    from ...config import replace

    data = load_data(cfg.data)
    season = resolve_season(cfg.season, data.freq)
    if season != cfg.season:
        cfg = replace(cfg, season=season)
    return cfg, data


def forecast_frame(pred: dict, data: SeriesSet, horizon: int):
    """The future forecasts as a long DataFrame: id, time, step, forecast, q<level>..."""
    import pandas as pd

    rows = []
    for n, k in enumerate(pred["series"]):
        s = data.series[k]
        times = future_index(s, data.freq, horizon)
        for h in range(horizon):
            row = {"id": s.id, "time": times[h], "step": h + 1, "forecast": pred["point"][n, h]}
            for q, arr in pred["quantiles"].items():
                row[f"q{q:g}"] = arr[n, h]
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class TrainResult:
    out_dir: Path
    config: ForecastConfig
    metrics: dict
    forecast: object  # DataFrame
    backtest: BacktestResult
    report: Path
    model_dir: Path


class Forecaster:
    """A trained forecaster: the ensemble plus the scaling and features it was trained with."""

    def __init__(self, model: ForecastEnsemble, transform: Transform, meta: dict):
        self.model, self.transform, self.meta = model, transform, meta
        self.horizon = int(meta["config"]["horizon"])
        self.input_size = int(meta["config"]["input_size"])

    @classmethod
    def load(cls, directory: str | Path) -> "Forecaster":
        from ...train import load_model

        model, meta = load_model(directory)
        if meta["kind"] != KIND:
            raise ValueError(f"Forecaster.load: expected a {KIND!r} model in {directory}, got {meta['kind']!r}")
        return cls(model, Transform.from_dict(meta["extra"]["transform"]), meta)

    def save(self, directory: str | Path, extra: dict | None = None) -> Path:
        from ...train import save_model

        return save_model(directory, self.model, KIND, self.meta["config"],
                          extra={**self.meta.get("extra", {}), "transform": self.transform.to_dict(), **(extra or {})})

    def data_config(self, **overrides) -> DataConfig:
        from ...config import from_dict

        d = dict(self.meta["extra"].get("data", {}))
        d.update({k: v for k, v in overrides.items() if v not in (None, "")})
        return from_dict(DataConfig, d)

    def predict(self, data: str | Path | SeriesSet | None = None, **data_overrides):
        """Forecast ``horizon`` steps after the end of every series in ``data`` (a path or a SeriesSet).

        Column names default to those of the training data; override with
        ``target=``, ``time=``, ``id=`` and so on (see :class:`DataConfig`).
        """
        if not isinstance(data, SeriesSet):
            dc = self.data_config(**({"path": str(data)} if data is not None else {}), **data_overrides)
            data = load_data(dc)
        short = [s.id for s in data.series if len(s) < self.input_size]
        if short:
            raise ValueError(f"Forecaster.predict: {data.source}: series {short[:5]} have fewer than "
                             f"input_size={self.input_size} values")
        origins = [np.array([len(s)]) for s in data.series]
        pred = predict_windows(self.model, self.transform, data, origins, self.horizon, self.input_size,
                               steps_after=self.horizon)
        rq = self.meta.get("extra", {}).get("residual_quantiles")
        if rq and not pred["quantiles"]:
            pred["quantiles"] = apply_residual_quantiles(pred["point"], rq, self.transform.scaler.log)
        return forecast_frame(pred, data, self.horizon)


def residual_quantiles(frame, levels: list[float], log: bool) -> dict[str, list[float]]:
    """Per-step quantiles of backtest errors, ``f(actual) - f(forecast)`` with ``f`` = log or identity.

    Used to put empirical prediction intervals around a point model's
    forecasts: ``f^-1(f(forecast) + quantile)``. They come from the backtest's
    own errors, so the backtest cannot check their coverage honestly; the
    report says so.
    """
    f = np.log if log else (lambda v: v)
    out: dict[str, list[float]] = {}
    for q in levels:
        if abs(q - 0.5) < 1e-9:
            continue
        out[f"{q:g}"] = [float(np.quantile(f(g["actual"].to_numpy()) - f(g["forecast"].to_numpy()), q))
                         for _, g in frame.groupby("step")]
    return out


def apply_residual_quantiles(point: np.ndarray, rq: dict[str, list[float]], log: bool) -> dict[float, np.ndarray]:
    out = {}
    for level, per_step in rq.items():
        r = np.asarray(per_step)[None, : point.shape[1]]
        out[float(level)] = np.exp(np.log(point) + r) if log else point + r
    return out


def _write_outputs(out: Path, cfg: ForecastConfig, data: SeriesSet, bt: BacktestResult, forecast, metrics: dict,
                   history: list) -> Path:
    from .report import write_report

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.yaml", to_yaml(cfg))
    forecast.to_csv(out / "forecast.csv", index=False)
    bt.frame.to_csv(out / "backtest.csv", index=False)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    return write_report(out, cfg, data, bt, forecast, metrics, history)


def train(cfg: ForecastConfig | None = None, resume: bool = False, say: Callable[[str], None] = print) -> TrainResult:
    """Backtest, fit the final model, forecast the future, and write model, CSVs, metrics, plots and report."""
    cfg = cfg or ForecastConfig()
    t_all = time.perf_counter()
    cfg, data = prepare(cfg)
    out = default_out_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    say(f"data: {data.source}: {len(data)} series, {sum(len(s) for s in data.series)} values, "
        f"frequency {data.freq}, season {cfg.season}")
    for note in data.notes:
        say(f"  note: {note}")

    bt = run_backtest(cfg, data, out / "fits" / "backtest", resume=resume, say=say)
    m = bt.metrics
    say(f"backtest ({m['origins']} origins from {m['first_origin']}, horizon {cfg.horizon}): "
        f"MAPE model {m['model']['mape']:.2f}% | naive {m['naive']['mape']:.2f}% | "
        f"seasonal naive {m['seasonal_naive']['mape']:.2f}%; "
        f"MASE model {m['model']['mase']:.3f} | seasonal naive {m['seasonal_naive']['mase']:.3f}")

    history = bt.fit.history
    final_seconds = 0.0
    ends = [len(s) for s in data.series]
    if cfg.backtest.final_fit == "full":
        say("final model: training on the whole history")
        model, tr, fi = fit_ensemble(cfg, data, ends, out / "fits" / "final", resume=resume, say=say)
        final_seconds = fi.seconds
        history = fi.history
    elif cfg.backtest.final_fit == "finetune":
        say(f"final model: the backtest models trained on for {cfg.backtest.final_epochs} epochs on the whole history")
        from ...config import replace

        tune = replace(cfg.train, epochs=cfg.backtest.final_epochs, lr=cfg.train.lr / 3)
        model, tr, fi = fit_ensemble(cfg, data, ends, out / "fits" / "final", resume=resume, say=say, init=bt.model,
                                     train_cfg=tune)
        final_seconds = fi.seconds
    else:
        model, tr = bt.model, bt.transform
    meta = {"config": net_config(cfg, tr), "extra": {"data": to_dict(cfg.data), "forecast_config": to_dict(cfg)}}
    if cfg.model.output == "point" and len(bt.frame):
        # empirical intervals for a point model, from its own backtest errors
        meta["extra"]["residual_quantiles"] = residual_quantiles(bt.frame, list(cfg.model.quantiles), tr.scaler.log)
    forecaster = Forecaster(model, tr, meta)
    model_dir = forecaster.save(out / MODEL_DIR)
    missing_future = [s.id for s in data.series if data.future_names and len(s.future) < len(s) + cfg.horizon]
    if missing_future:
        import pandas as pd

        note = (f"no forecast after the end of series {missing_future[:5]}: the known-future covariates "
                f"{data.future_names} need {cfg.horizon} rows after the last target value; add them (with an empty "
                f"target) and run `lstmkit forecast predict`")
        data.notes.append(note)
        say(f"  note: {note}")
        forecast = pd.DataFrame(columns=["id", "time", "step", "forecast"])
    else:
        forecast = forecaster.predict(data)

    metrics = {
        "data": {"source": data.source, "series": len(data), "values": int(sum(len(s) for s in data.series)),
                 "freq": str(data.freq), "season": cfg.season, "target": data.target, "notes": data.notes},
        "backtest": m,
        "run": {"backtest_train_seconds": round(bt.fit.seconds, 3), "final_train_seconds": round(final_seconds, 3),
                "total_seconds": round(time.perf_counter() - t_all, 3), "peak_memory_mb": round(peak_memory_mb(), 1),
                "ensemble": cfg.model.ensemble, "epochs": cfg.train.epochs},
    }
    report = _write_outputs(out, cfg, data, bt, forecast, metrics, history)
    say(f"report: {report}")
    return TrainResult(out, cfg, metrics, forecast, bt, report, model_dir)


def backtest(cfg: ForecastConfig | None = None, resume: bool = False, say: Callable[[str], None] = print) -> BacktestResult:
    """Only the rolling-origin backtest (writes backtest.csv and metrics.json into the output folder)."""
    cfg = cfg or ForecastConfig()
    cfg, data = prepare(cfg)
    out = default_out_dir(cfg)
    bt = run_backtest(cfg, data, out / "fits" / "backtest", resume=resume, say=say)
    out.mkdir(parents=True, exist_ok=True)
    bt.frame.to_csv(out / "backtest.csv", index=False)
    (out / "metrics.json").write_text(json.dumps({"backtest": bt.metrics, "run": {
        "train_seconds": round(bt.fit.seconds, 3), "peak_memory_mb": round(peak_memory_mb(), 1)}}, indent=2, default=str))
    return bt
