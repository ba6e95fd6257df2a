"""The anomaly report: one HTML page with the series, the scores, the events and the metrics beside the baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...config import to_dict
from ...io.figures import pyplot, save_figure


def plot_scores(path: Path, result) -> Path:
    """The series (labelled and flagged rows shaded) above one panel of scores per detector."""
    plt = pyplot()
    data, named = result.data, result.named
    n = data.values.shape[0]
    x = np.arange(n)
    fig, axes = plt.subplots(1 + len(named), 1, figsize=(12, 2.4 * (1 + len(named))), sharex=True, squeeze=False)
    ax = axes[0, 0]
    for i, c in enumerate(data.columns[:6]):
        ax.plot(x, data.values[:, i], lw=0.6, label=c)
    lo, hi = np.min(data.values), np.max(data.values)
    if data.labels is not None:
        ax.fill_between(x, lo, hi, where=data.labels == 1, color="tab:orange", alpha=0.25, label="labelled anomaly")
    for e in result.lstm.events:
        ax.axvspan(e.start, e.end + 1, color="tab:red", alpha=0.25)
    unscored = ~np.isfinite(result.lstm.scores)
    ax.fill_between(x, lo, hi, where=unscored, color="0.85", alpha=0.5, label="not scored (fitted rows, warm-up)")
    ax.set_title("series; red: flagged by the LSTM detector" + ("; orange: labelled" if data.labels is not None else ""))
    ax.legend(loc="upper left", fontsize=7)
    for ax, (name, det) in zip(axes[1:, 0], named.items()):
        ax.plot(x, det.scores, lw=0.7, color="tab:blue")
        ax.plot(x, det.threshold, lw=0.8, color="tab:red", ls="--", label="threshold")
        ax.set_ylabel("score")
        ax.set_title(name, fontsize=9)
        ax.legend(loc="upper left", fontsize=7)
    axes[-1, 0].set_xlabel("row")
    return save_figure(fig, path, dpi=100)


def write_report(html: Path, estimator, result, run: dict) -> Path:
    """Write ``html`` (and ``plots/scores.png`` beside it) for ``result`` of ``estimator``."""
    from ...io.files import atomic_write_text
    from ...io.html_report import HtmlReport

    html = Path(html)
    plots = html.parent / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    fig = plot_scores(plots / "scores.png", result)
    cfg = estimator.config
    d = cfg.detector
    det = estimator.detector_
    ch = estimator.choices_
    data = result.data
    lstm = result.lstm
    kind = (f"next {d.horizon} values predicted at each step (Malhotra et al. 2015)" if d.kind == "prediction"
            else "LSTM encoder-decoder reconstruction (Malhotra et al. 2016)")
    page = HtmlReport(
        "Anomaly report",
        f"Data {data.source}: {data.values.shape[0]} rows, channels {data.columns}. Detector: {d.kind}, {kind}; "
        f"{d.num_layers} x {d.hidden_size} {d.cell} units.",
    )
    ev = result.evaluation
    if ev and "verdict" in ev:
        import html as _html

        page.raw(f"<p><b>{_html.escape(ev['verdict'])}</b></p>")
    page.heading("What was scored")
    seg = det.segments
    rows = []
    if seg is not None:
        rows.append(f"network trained on rows {seg.train[0]}:{seg.train[1]} of the fitted series ({seg.n} rows)")
        rows.append(f"error model, pooling and threshold fitted on rows {seg.validation[0]}:{seg.validation[1]}"
                    if seg.validation else "error model, pooling and threshold fitted on separate validation rows")
    rows += result.notes
    rows.append(f"{int(result.scored.sum())} rows scored; rows without a score are shaded grey in the plot and never flagged")
    page.bullets(rows)
    page.heading("Automatic choices (from the normal rows)")
    page.bullets([
        f"season: {ch.get('season') or 'none found'} rows",
        f"training window: {ch.get('window')} rows" + (" (asked for)" if d.window else " (two seasons, 32-256; 128 without a season)"),
        ("modelled: differences x[t] - x[t-1]" if ch.get("difference") else "modelled: the values")
        + (" (asked for)" if d.difference != "auto" else
           f" (the normal rows {'drift one way' if ch.get('trend') else 'have no monotone trend'})"),
        f"score: {ch.get('pooling')}" + (" (asked for)" if d.smooth else ""),
    ])
    page.heading("Anomalies found")
    page.paragraph(f"Threshold: {cfg.threshold.method}"
                   + (f" (level {estimator.threshold_:.3g}: {cfg.threshold.false_alarm_rate:g} of the normal "
                      "validation rows lie above it)" if cfg.threshold.method == "false_alarm" and estimator.threshold_ is not None else "")
                   + f"; {len(lstm.events)} event(s), {int(lstm.flags.sum())} flagged rows.")
    page.table(["start", "end", "peak", "peak score"], [[e.start, e.end, e.peak, e.peak_score] for e in lstm.events[:50]])
    page.image(fig, "series, scores and thresholds")
    if ev:
        page.heading("Evaluation against the labels")
        page.paragraph(
            f"All detectors scored on the same {ev['rows_scored']} rows ({ev['first_row_scored']}-{ev['last_row_scored']}, "
            f"{ev['labelled_rows']} labelled anomalous). Every detector's score is pooled the same way ({ch.get('pooling')}), "
            "each calibrated on its own normal rows. PR-AUC (average precision) and ROC-AUC rank the rows by score; "
            "point-adjusted figures credit a whole labelled event once any of its rows is flagged (Xu et al. 2018) and "
            "flatter every detector. Event-wise: recall is the share of labelled events with a flagged row; precision "
            "the mean share of each predicted event's rows that are labelled, so one giant event does not score 1. "
            "UCR: the top-scoring row lies within a labelled anomaly +-100 rows."
        )
        header = ["detector", "PR-AUC", "ROC-AUC", "point P", "point R", "point F1", "adjusted F1", "event P", "event R",
                  "event F1", "events", "flagged rows", "UCR hit"]
        table = []
        for name in result.named:
            m = ev[name]
            table.append([name, m["pr_auc"], m["roc_auc"], m["point"]["precision"], m["point"]["recall"], m["point"]["f1"],
                          m["point_adjusted"]["f1"], m["event"]["precision"], m["event"]["recall"], m["event"]["f1"],
                          m["predicted_events"], m["flagged_rows"], m["ucr_hit"]])
        page.table(header, table)
    else:
        page.heading("Baselines")
        page.paragraph("No labels: the rolling z-score and the isolation forest, pooled and thresholded the same way, flag "
                       + ", ".join(f"{len(det_.events)} event(s) ({int(det_.flags.sum())} rows) for the {name}"
                                   for name, det_ in result.named.items() if name != "LSTM") + ".")
    if run:
        page.heading("Run")
        page.bullets([f"{k}: {v}" for k, v in run.items()])
    page.heading("Data handling")
    page.bullets([n for n in data.notes] or ["no missing values: nothing was changed"])
    page.heading("Configuration")
    page.code(to_dict(cfg))
    atomic_write_text(html, page.render())
    return html
