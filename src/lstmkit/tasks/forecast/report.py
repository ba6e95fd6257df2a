"""PNG plots and one self-contained HTML report of a forecaster: verdict first, then backtest, choice, forecast, data.

The first lines say who won: when a peer (seasonal naive, AutoETS, ...) has
a lower MASE than the model on the backtest (or on the evaluation data), the
report says so before anything else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...config import to_dict
from ...io.figures import pyplot, save_figure
from ...io.files import atomic_write_text
from ...io.html_report import HtmlReport
from .classical import STATISTICAL
from .plan import ordinal


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


def plot_backtest(path: Path, data, frame, n_series: int, horizon: int, target: str, best_peer: str | None,
                  model_label: str) -> Path:
    from .selection import label

    plt = pyplot()
    ids = list(dict.fromkeys(frame["id"]))[:max(1, n_series)]
    fig, axes = plt.subplots(len(ids), 1, figsize=(10, 3.2 * len(ids)), squeeze=False)
    by_id = {s.id: s for s in data.series}
    for ax, sid in zip(axes[:, 0], ids):
        g = frame[frame["id"] == sid]
        s = by_id[sid]
        first = g["time"].min()
        pos = int(pd_index(s.time).get_indexer([first])[0])
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
            ax.plot(p["time"], p["forecast"], color="tab:blue", lw=1.6, label=model_label if i == 0 else None)
            ax.plot(p["time"], p["seasonal_naive"], color="tab:orange", lw=1, ls="--",
                    label="seasonal naive" if i == 0 else None)
            if best_peer and best_peer in p:
                ax.plot(p["time"], p[best_peer], color="tab:green", lw=1, ls=":",
                        label=label(best_peer) if i == 0 else None)
        ax.axvline(first, color="grey", lw=0.8, ls=":")
        ax.set_title(f"{sid}: backtest forecasts from every {horizon}th origin")
        ax.set_ylabel(target)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=110)


def pd_index(times):
    import pandas as pd

    return pd.Index(times)


def plot_per_step(path: Path, per_step: list[dict], names: list[str]) -> Path:
    from .selection import label

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    steps = [r["step"] for r in per_step]
    for name in names:
        ax.plot(steps, [r[f"{name}_mae"] for r in per_step], marker="o" if name == "forecast" else ".",
                lw=2 if name == "forecast" else 1, ls="-" if name == "forecast" else "--",
                label="model" if name == "forecast" else label(name))
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("MAE")
    ax.set_title("backtest error by horizon")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=110)


def plot_training(path: Path, history: list[list[dict]]) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for k, rows in enumerate(history):
        ep = [r["epoch"] for r in rows if "train_loss" in r]
        ax.plot(ep, [r["train_loss"] for r in rows if "train_loss" in r], lw=1, label=f"network {k} train")
    ax.set_yscale("log")
    ax.set_xlabel("pass over the sampled windows")
    ax.set_ylabel("loss (scaled units)")
    ax.set_title("training loss of the final LSTM")
    ax.grid(alpha=0.3)
    if len(history) <= 6:
        ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=110)


def _fmt_metric(key: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not np.isfinite(value):
        return "undefined" if key == "mape" else "nan"
    return f"{value:.4g}"


def metrics_table(page: HtmlReport, m: dict, chosen_label: str) -> None:
    """One row per forecaster (the model first), MAPE shown as undefined when an actual is 0."""
    from .selection import label

    names = ["model", *m.get("peers", [])]
    keys = [k for k in m["model"]]
    rows = []
    for name in names:
        v = m[name]
        lab = f"model ({chosen_label})" if name == "model" else label(name)
        rows.append([lab, *(_fmt_metric(k, v.get(k)) for k in keys)])
    page.table(["forecaster", *keys], rows)


def write_report(out: Path, f, title: str = "Forecast report") -> Path:
    """Write plots under ``out/plots`` and ``out/report.html`` for the :class:`Forecaster` ``f``."""
    from .selection import label

    out.mkdir(parents=True, exist_ok=True)
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    cfg = f.config
    bt = getattr(f, "backtest_", None)
    ev = getattr(f, "evaluation_", None)
    core = getattr(f, "core_", None)
    data = getattr(f, "data_", None) or getattr(f, "backtest_data_", None)
    n_plot = cfg.plot_series

    # ---- first lines: the verdict
    lines = []
    if bt is not None:
        lines.append(f"Backtest ({bt.metrics['origins']} origins, horizon {bt.metrics['horizon']}): "
                     f"{bt.metrics['verdict']['text']}.")
    if ev is not None:
        lines.append(f"Evaluation on the data that followed {ev.get('after', 'the training data')} "
                     f"({ev['points']} points): {ev['verdict']['text']}.")
    if core is not None:
        lines.append(f"Model chosen on the training data: {core.choice_text()}.")
    page = HtmlReport(title, "")
    for line in lines:
        page.raw(f"<p><b>{_esc(line)}</b></p>")
    if data is not None:
        page.paragraph(f"Data {data.source}: {len(data)} series, target {data.target}, frequency {data.freq}.")

    # ---- backtest
    if bt is not None:
        m = bt.metrics
        bcore = bt.cores[0]
        chosen_label = bcore.title() if len(bt.cores) == 1 else "chosen per block"
        page.heading("Backtest")
        refit = (f"refitted (model choice included) every {m['refit']} origins" if m["refit"]
                 else "fitted once on the data before the first origin (model choice included)")
        page.paragraph(
            f"Rolling origin: {m['origins']} forecast origins from {m['first_origin']}, every {m['stride']} step(s), "
            f"horizon {m['horizon']}; the forecaster was {refit}, then read the actual history up to each origin. "
            f"{m['points']} forecast points. The peers were fitted on the same data and forecast from the very same "
            f"origins. MASE divides by each series' in-sample seasonal-naive error (season {m['season']}) before its "
            "first origin; MAPE and sMAPE are in percent (MAPE is undefined when an actual value is 0); coverage is "
            "the share of actuals inside each interval.")
        metrics_table(page, m, chosen_label)
        best = m["verdict"].get("best")
        best_peer = best if best not in (None, "forecast", "seasonal_naive") else None
        page.image(plot_backtest(plots / "backtest.png", f.backtest_data_, bt.frame, n_plot, m["horizon"],
                                 f.backtest_data_.target, best_peer, f"model ({chosen_label})"))
        page.image(plot_per_step(plots / "backtest_by_step.png", m["per_step"], ["forecast", *m["peers"]]))
        if len(bt.cores) == 1:
            page.heading("Model choice inside the backtest's training part", 3)
            _choice(page, bcore)
    if ev is not None:
        page.heading("Evaluation")
        page.paragraph(f"The forecasts from the end of {ev.get('after', 'the training data')} and the peers fitted "
                       "on the same data, "
                       f"against {ev['points']} actual values of {ev['series']} series.")
        metrics_table(page, ev, core.title() if core else "model")

    # ---- the fitted forecaster
    if core is not None:
        page.heading("Model choice on the whole training data")
        _choice(page, core)
        fc = f.forecast_
        page.heading("Forecast")
        if not cfg.model.quantiles:
            page.paragraph("No prediction intervals: none were asked for (model.quantiles is empty).")
        elif core.chosen in STATISTICAL and core.intervals != "validation":
            page.paragraph(f"Intervals are {core.title()}'s own (statsforecast's prediction intervals, from the "
                           f"fitted model's error variance)" + (", widened where the errors on the validation "
                           "origins give a wider band" if core.intervals == "wider" else "") +
                           "; a series on which the model failed keeps the band of its validation errors. In "
                           "benchmarks/RESULTS_intervals.md such bands covered 91 % (95 % band) and 80 % (80 % "
                           "band) of held-out values on the eight series where a statistical model was chosen.")
        elif core.lstm is None or core.lstm.setup.output == "point":
            page.paragraph("Intervals are empirical: per-step quantiles of the chosen model's errors on the "
                           "validation origins (on the log scale for positive data, else in units of each series' "
                           "MASE scale), added to the forecast. They often cover less than their level says "
                           "(benchmarks/RESULTS_intervals.md: the 95 % band covered 74 % of held-out values on "
                           "the nine series where no statistical model was chosen).")
        else:
            page.paragraph(f"Intervals come from the LSTM's {core.lstm.setup.output} output.")
        if data is not None and f.data_ is not None and len(fc):
            page.image(plot_forecast(plots / "forecast.png", f.data_, fc, n_plot, core.plan.season, f.data_.target))
        table_html = fc.head(60).to_html(index=False, float_format=lambda v: f"{v:.4g}")
        page.raw(f"<details><summary>forecast values (first 60 rows)</summary>{table_html}</details>")
        if core.lstm is not None and core.lstm.history and any(core.lstm.history):
            page.image(plot_training(plots / "training.png", core.lstm.history))

    # ---- data handling
    page.heading("Data handling")
    notes = list(data.notes) if data is not None else []
    for more in (bt.notes if bt is not None else [], ev.get("notes", []) if ev is not None else [],
                 core.notes if core is not None else []):
        notes += [n for n in more if n not in notes]
    if core is not None:
        short = list(core.plan.short)
        if short and not any("too short" in n or "shorter than" in n for n in notes):
            by = (f"forecast by {label(core.fallback)} instead" if core.lstm is not None
                  else f"forecast by the chosen {label(core.chosen)} as the others")
            notes.append(f"{len(short)} series too short for the LSTM's input window of {core.plan.input_size} "
                         f"(+ horizon {core.plan.horizon}), {by}: "
                         + ", ".join(map(repr, short[:10])) + (" ..." if len(short) > 10 else ""))
    page.bullets(notes or ["no missing values, gaps, irregular timestamps or too-short series: nothing was changed"])
    page.heading("Configuration")
    page.code(to_dict(cfg))
    path = out / "report.html"
    atomic_write_text(path, page.render())
    return path


def _choice(page: HtmlReport, core) -> None:
    from .classical import describe
    from .selection import label

    plan = core.plan
    page.paragraph(f"Derived from the data: {'; '.join(plan.reasons)}.")
    if core.scores:
        ranked = sorted(core.scores, key=core.scores.get)
        rows = []
        for k in ranked:
            if k in plan.lstm_setups:
                what = plan.lstm_setups[k].describe()
            elif k == "pool":
                what = f"the mean of {', '.join(label(m) for m in core.members)}"
            elif k == "combination":
                what = "the mean of the best LSTM set-up, AutoETS, AutoARIMA and AutoTheta (those that ran)"
            else:
                what = describe(k, plan.season)
            rows.append([label(k), f"{core.scores[k]:.4g}", what, "chosen" if k == core.chosen else
                         ("runner-up" if k == core.runner_up else "")])
        every = f" (every {ordinal(plan.val_stride)} forecast)" if plan.val_stride > 1 else ""
        page.paragraph(f"Inner rolling-origin validation: each candidate fitted before the last {plan.val_windows} "
                       f"origin(s){every} of the training part of each series, scored on them by {core.metric.upper()} "
                       f"({core.val_count} forecasts each)."
                       + (f" Relative {core.metric.upper()}: each series' score divided by the median candidate's on "
                          f"that series, or by the panel's typical one where that is larger, then the mean over "
                          f"series (1: as good as the median candidate on a typical series), so that no series weighs "
                          f"more than a typical one and one that no candidate could forecast does not decide for all."
                          if core.relative else ""))
        page.table(["candidate", f"validation {core.score_name()}", "set-up", ""], rows)
    if core.lstm is not None:
        page.paragraph(f"Final LSTM: {core.lstm.setup.describe()}; {core.lstm.epochs} passes of {core.lstm.batches} "
                       f"batches of {core.lstm.batch_size} windows (of {core.lstm.windows}), "
                       f"{core.lstm.seconds:.1f} s of training.")
    elif core.chosen:
        page.paragraph(f"{core.title()} was chosen: no LSTM is part of the final model.")


def _esc(text: str) -> str:
    import html

    return html.escape(text)
