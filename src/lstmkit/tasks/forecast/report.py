"""PNG plots and one self-contained HTML report of a forecasting run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...config import to_dict
from ...io.figures import pyplot, save_figure
from ...io.html_report import HtmlReport
from ...io.files import atomic_write_text


def _interval_cols(frame) -> list[tuple[str, str, float]]:
    from .metrics import interval_pairs

    levels = sorted(float(c[1:]) for c in frame.columns if c.startswith("q"))
    return [(f"q{lo:g}", f"q{hi:g}", lvl) for lo, hi, lvl in interval_pairs(levels)]


def plot_forecast(path: Path, data, forecast, n_series: int, season: int, target: str) -> Path:
    plt = pyplot()
    series = data.series[:max(1, n_series)]
    fig, axes = plt.subplots(len(series), 1, figsize=(10, 3.2 * len(series)), squeeze=False)
    for ax, s in zip(axes[:, 0], series):
        keep = max(5 * max(season, 1), 60)
        ax.plot(s.time[-keep:], s.values[-keep:], color="black", lw=1.2, label="history")
        f = forecast[forecast["id"] == s.id]
        for lo, hi, lvl in _interval_cols(f):
            ax.fill_between(f["time"], f[lo], f[hi], alpha=0.18 if lvl > 90 else 0.3, color="tab:blue",
                            label=f"{lvl:g}% interval")
        ax.plot(f["time"], f["forecast"], color="tab:blue", lw=1.8, marker="o", ms=3, label="forecast")
        ax.set_title(f"{s.id}: history and forecast")
        ax.set_ylabel(target)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=110)


def plot_backtest(path: Path, data, frame, n_series: int, horizon: int, target: str) -> Path:
    plt = pyplot()
    ids = list(dict.fromkeys(frame["id"]))[:max(1, n_series)]
    fig, axes = plt.subplots(len(ids), 1, figsize=(10, 3.2 * len(ids)), squeeze=False)
    by_id = {s.id: s for s in data.series}
    for ax, sid in zip(axes[:, 0], ids):
        g = frame[frame["id"] == sid]
        s = by_id[sid]
        first = g["time"].min()
        pos = int(np.searchsorted(np.asarray(s.time), np.asarray([first]).astype(np.asarray(s.time).dtype))[0])
        lo = max(0, pos - 3 * horizon)
        ax.plot(s.time[lo:], s.values[lo:], color="black", lw=1.2, label="actual")
        origins = list(dict.fromkeys(g["origin"]))[::horizon]  # non-overlapping paths
        icols = _interval_cols(g)
        for i, o in enumerate(origins):
            p = g[g["origin"] == o]
            if icols:
                lo_c, hi_c, _ = icols[0]
                ax.fill_between(p["time"], p[lo_c], p[hi_c], color="tab:blue", alpha=0.15,
                                label=f"{icols[0][2]:g}% interval" if i == 0 else None)
            ax.plot(p["time"], p["forecast"], color="tab:blue", lw=1.6, label="LSTM" if i == 0 else None)
            ax.plot(p["time"], p["seasonal_naive"], color="tab:orange", lw=1, ls="--",
                    label="seasonal naive" if i == 0 else None)
        ax.axvline(first, color="grey", lw=0.8, ls=":")
        ax.set_title(f"{sid}: backtest forecasts from every {horizon}th origin")
        ax.set_ylabel(target)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=110)


def plot_training(path: Path, history: list[list[dict]]) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for k, rows in enumerate(history):
        ep = [r["epoch"] for r in rows if "train_loss" in r]
        ax.plot(ep, [r["train_loss"] for r in rows if "train_loss" in r], lw=1, label=f"member {k} train")
        if any("val_loss" in r for r in rows):
            ax.plot([r["epoch"] for r in rows if "val_loss" in r], [r["val_loss"] for r in rows if "val_loss" in r],
                    lw=1, ls="--", label=f"member {k} val")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (scaled units)")
    ax.set_title("training loss")
    ax.grid(alpha=0.3)
    if len(history) <= 6:
        ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=110)


def plot_per_step(path: Path, per_step: list[dict]) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    steps = [r["step"] for r in per_step]
    ax.plot(steps, [r["model_mae"] for r in per_step], marker="o", label="LSTM")
    ax.plot(steps, [r["seasonal_naive_mae"] for r in per_step], marker="s", ls="--", label="seasonal naive")
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("MAE")
    ax.set_title("backtest error by horizon")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=110)


def write_report(out: Path, cfg, data, bt, forecast, metrics: dict, history: list) -> Path:
    """Write plots under ``out/plots`` and ``out/report.html`` (images embedded); return the report path."""
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    n = cfg.plot_series
    figs = [
        plot_forecast(plots / "forecast.png", data, forecast, n, cfg.season, data.target),
        plot_backtest(plots / "backtest.png", data, bt.frame, n, cfg.horizon, data.target),
        plot_per_step(plots / "backtest_by_step.png", bt.metrics["per_step"]),
    ]
    if history and any(history):
        figs.append(plot_training(plots / "training.png", history))
    m = bt.metrics
    keys = [k for k in m["model"]]
    notes = data.notes or ["no missing values, gaps or irregular timestamps: nothing was changed"]
    run = metrics.get("run", {})
    final_text = {
        "finetune": f"The saved model is the backtest ensemble trained on for {cfg.backtest.final_epochs} more epochs "
                    f"on the whole series (learning rate {cfg.train.lr / 3:g}).",
        "full": "The saved model was trained afresh on the whole series with the same settings.",
        "none": "The saved model is the backtest ensemble, trained only on the data before the first origin.",
    }[cfg.backtest.final_fit]
    if cfg.model.output == "point":
        interval_note = ("Intervals around this point model's forecasts are empirical: per-step quantiles of its "
                         "backtest errors (on the log scale when the series was log-transformed). They come from the "
                         "backtest itself, so the backtest cannot measure their coverage; for calibrated intervals "
                         "use --model.output gaussian or quantile.")
    else:
        interval_note = (f"Intervals come from the model's {cfg.model.output} output; their backtest coverage is in "
                         "the table above.")
    page = HtmlReport(
        "Forecast report",
        f"Data {data.source}: {len(data)} series, target {data.target}, frequency {data.freq}, season {cfg.season}. "
        f"Horizon {cfg.horizon}, input window {cfg.model.input_size}, {cfg.model.ensemble}-member LSTM ensemble "
        f"({cfg.model.cell} cell, {cfg.model.decoder} decoder, {cfg.model.output} output).",
    )
    page.heading("Backtest")
    refit = (f"model refitted every {m['refit']} origins" if m["refit"]
             else "model trained once on the data before the first origin")
    page.paragraph(
        f"Rolling origin: {m['origins']} forecast origins from {m['first_origin']}, every {m['stride']} step(s), "
        f"{refit}; {m['points']} forecast points. The baselines forecast from the very same origins. MASE is scaled "
        "by the in-sample seasonal-naive error before the first origin. MAPE and sMAPE are in percent; coverage is "
        "the share of actuals inside each interval."
    )
    labels = (("model", "LSTM"), ("naive", "naive"), ("seasonal_naive", f"seasonal naive (season {cfg.season})"))
    page.table(["forecaster", *keys], [[label, *(m[name].get(k, "") for k in keys)] for name, label in labels])
    page.image(figs[1])
    page.image(figs[2])
    page.heading("Forecast")
    page.paragraph(interval_note)
    page.image(figs[0])
    table_html = forecast.head(60).to_html(index=False, float_format=lambda v: f"{v:.4g}")
    page.raw(f"<details><summary>forecast values (first 60 rows; all in forecast.csv)</summary>{table_html}</details>")
    page.heading("Training")
    page.paragraph(
        f"{final_text} Backtest model: {run.get('backtest_train_seconds', '?')} s of training; final model: "
        f"{run.get('final_train_seconds', '?')} s; whole run {run.get('total_seconds', '?')} s; peak memory "
        f"{run.get('peak_memory_mb', '?')} MiB."
    )
    if len(figs) > 3:
        page.image(figs[3])
    page.heading("Data handling")
    page.bullets(notes)
    page.heading("Files")
    page.bullets([
        "forecast.csv: forecasts (and quantiles) after the end of each series",
        "backtest.csv: every backtest forecast beside the actual, naive and seasonal naive",
        "metrics.json, plots/*.png, config.yaml (rerun with --config)",
        "model/: model.safetensors + config.json, for lstmkit forecast predict --model",
    ])
    page.heading("Configuration")
    page.code(to_dict(cfg))
    path = out / "report.html"
    atomic_write_text(path, page.render())
    return path
