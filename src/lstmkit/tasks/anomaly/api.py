"""Anomaly detection runs: train, score and evaluate, with their files.

A run folder holds::

    scores.csv      time, values, score, threshold, flag (and label)
    events.json     anomalies as events: start, end (row and time), peak, peak score
    metrics.json    with labels: every metric for the LSTM detector and both baselines
    plots/*.png     the series with its scores and flagged regions
    report.html     all of it on one page
    model/          model.safetensors + config.json (for ``lstmkit anomaly score``)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ...config import to_dict, to_yaml
from ...io.figures import pyplot, save_figure
from ...train.memory import peak_memory_mb
from .config import AnomalyConfig, parse_segment
from .data import AnomalyData, load_anomaly_data
from .detector import LSTMDetector
from .events import Event, events_from_flags
from . import baselines, metrics, thresholds


@dataclass
class Detection:
    """Scores with their threshold, flags and events."""

    scores: np.ndarray
    threshold: np.ndarray  # per row (a constant unless dynamic)
    flags: np.ndarray
    events: list[Event]


def decide(scores: np.ndarray, cfg: AnomalyConfig, n: int) -> Detection:
    """Apply the configured threshold to ``scores`` and group flags into events."""
    t = cfg.threshold
    finite = np.isfinite(scores)
    if not finite.any():
        raise ValueError("anomaly: no finite scores (is the series shorter than the detector's warm-up?)")
    if t.method == "false_alarm":
        v0, v1 = parse_segment(cfg.split.validation, n, "split.validation")
        val = scores[v0:v1]
        level = thresholds.from_false_alarm_rate(val[np.isfinite(val)] if np.isfinite(val).any() else scores[finite], t.false_alarm_rate)
        thr = np.full(n, level)
    elif t.method == "contamination":
        thr = np.full(n, thresholds.from_contamination(scores[finite], t.contamination))
    else:
        filled = np.where(finite, scores, np.nanmin(scores))
        thr = thresholds.dynamic(filled, window=t.dynamic_window or None, smoothing=1)
    flags = np.where(finite, scores > thr, False)
    return Detection(scores, thr, flags, events_from_flags(flags, scores, min_gap=t.min_gap))


def baseline_scores(data: AnomalyData, cfg: AnomalyConfig) -> dict[str, np.ndarray]:
    """The rolling z-score and the isolation forest, pooled like the LSTM's scores."""
    d = cfg.detector
    n = data.values.shape[0]
    t0, t1 = parse_segment(cfg.split.train, n, "split.train")
    window = min(d.window, n - 1)
    z = baselines.rolling_zscore(data.values, window=window)
    iso_w = min(32, t1 - t0)
    iso = baselines.isolation_forest_scores(data.values, window=iso_w, seed=cfg.train.seed, fit_on=data.values[t0:t1])
    # the isolation-forest score is already in (0, 1]; -log(1 - s) spreads it like a distance
    iso = -np.log1p(-np.minimum(iso, 1 - 1e-12))
    return {name: thresholds.smooth_log(s, d.smooth) for name, s in (("rolling z-score", z), ("isolation forest", iso))}


def evaluate_scores(labels: np.ndarray, named: dict[str, Detection], warmup: int) -> dict:
    """Every metric for every detector, on the rows where all of them have a score."""
    rows = np.ones(labels.size, dtype=bool)
    rows[:warmup] = False
    for det in named.values():
        rows &= np.isfinite(det.scores)
    if labels[rows].min() == labels[rows].max():
        raise ValueError("anomaly evaluate: the scored rows hold only one class of label; metrics need both")
    out = {"rows_scored": int(rows.sum()), "first_row_scored": int(np.flatnonzero(rows)[0])}
    for name, det in named.items():
        y, s, f = labels[rows], det.scores[rows], det.flags[rows]
        out[name] = {
            "point": metrics.point_prf(y, f),
            "point_adjusted": metrics.point_adjusted_prf(y, f),
            "event": metrics.event_prf(y, f),
            "roc_auc": metrics.roc_auc(y, s),
            "pr_auc": metrics.pr_auc(y, s),
            "ucr_hit": metrics.ucr_hit(y, s),
            "events_flagged": len(det.events),
        }
    return out


# ------------------------------------------------------------------ outputs
def _write_scores(out: Path, data: AnomalyData, det: Detection) -> Path:
    import pandas as pd

    frame = pd.DataFrame({"time": data.time})
    for i, c in enumerate(data.columns):
        frame[c] = data.values[:, i]
    frame["score"] = det.scores
    frame["threshold"] = det.threshold
    frame["anomaly"] = det.flags.astype(int)
    if data.labels is not None:
        frame["label"] = data.labels
    path = out / "scores.csv"
    frame.to_csv(path, index=False)
    return path


def _events_json(data: AnomalyData, events: list[Event]) -> list[dict]:
    def t(i):
        v = data.time[i]
        return v.item() if hasattr(v, "item") else str(v)

    return [{**e.to_dict(), "start_time": t(e.start), "end_time": t(e.end), "peak_time": t(e.peak)} for e in events]


def plot_scores(path: Path, data: AnomalyData, named: dict[str, Detection], focus: Detection) -> Path:
    plt = pyplot()

    n = data.values.shape[0]
    x = np.arange(n)
    fig, axes = plt.subplots(1 + len(named), 1, figsize=(12, 2.4 * (1 + len(named))), sharex=True, squeeze=False)
    ax = axes[0, 0]
    for i, c in enumerate(data.columns[:6]):
        ax.plot(x, data.values[:, i], lw=0.6, label=c)
    lo, hi = np.min(data.values), np.max(data.values)
    if data.labels is not None:
        ax.fill_between(x, lo, hi, where=data.labels == 1, color="tab:orange", alpha=0.25, label="labelled anomaly")
    for e in focus.events:
        ax.axvspan(e.start, e.end + 1, color="tab:red", alpha=0.25)
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


def write_report(out: Path, cfg: AnomalyConfig, data: AnomalyData, named: dict[str, Detection],
                 evaluation: dict | None, run: dict) -> Path:
    from ...io.html_report import HtmlReport
    from ...io.files import atomic_write_text

    lstm = named["LSTM"]
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    fig = plot_scores(plots / "scores.png", data, named, lstm)
    d = cfg.detector
    page = HtmlReport(
        "Anomaly report",
        f"Data {data.source}: {data.values.shape[0]} rows, channels {data.columns}. Detector: {d.kind} "
        f"({'next ' + str(d.horizon) + ' values predicted at each step, Malhotra et al. 2015' if d.kind == 'prediction' else 'LSTM encoder-decoder reconstruction, Malhotra et al. 2016'}), "
        f"{d.num_layers} x {d.hidden_size} {d.cell} units, trained on rows {cfg.split.train}, error model and threshold from rows {cfg.split.validation}.",
    )
    page.heading("Anomalies found")
    page.paragraph(f"Threshold: {cfg.threshold.method}; {len(lstm.events)} event(s), {int(lstm.flags.sum())} flagged rows.")
    page.table(["start", "end", "peak", "peak score"], [[e.start, e.end, e.peak, e.peak_score] for e in lstm.events[:50]])
    page.image(fig, "series, scores and thresholds")
    if evaluation:
        page.heading("Evaluation against the labels")
        page.paragraph(
            f"All detectors scored on the same {evaluation['rows_scored']} rows (from row {evaluation['first_row_scored']}, "
            f"where every detector has a score). Scores of all three are pooled the same way: trailing mean of log(1 + score) "
            f"over {d.smooth} rows. Point-adjusted figures credit a whole labelled event once any of its rows is flagged "
            "(Xu et al. 2018); they flatter every detector and are shown beside, not instead of, the point-wise ones. "
            "Event-wise: a labelled event counts as found if one flagged row falls in it; a flagged event is correct if it "
            "overlaps a labelled one. UCR: the top-scoring row lies within a labelled anomaly +-100 rows."
        )
        header = ["detector", "PR-AUC", "ROC-AUC", "point P", "point R", "point F1", "adjusted F1", "event P", "event R", "event F1", "UCR hit"]
        rows = []
        for name in named:
            m = evaluation[name]
            rows.append([name, m["pr_auc"], m["roc_auc"], m["point"]["precision"], m["point"]["recall"], m["point"]["f1"],
                         m["point_adjusted"]["f1"], m["event"]["precision"], m["event"]["recall"], m["event"]["f1"], m["ucr_hit"]])
        page.table(header, rows)
    page.heading("Run")
    page.bullets([f"{k}: {v}" for k, v in run.items()])
    page.heading("Data handling")
    page.bullets(data.notes or ["no missing values: nothing was changed"])
    page.heading("Files")
    page.bullets(["scores.csv: per-row score, threshold, flag (and label)", "events.json: anomalies as events",
                  "metrics.json (with labels)", "plots/scores.png", "model/: the detector, for `lstmkit anomaly score --model`"])
    page.heading("Configuration")
    page.code(to_dict(cfg))
    path = out / "report.html"
    atomic_write_text(path, page.render())
    return path


@dataclass
class AnomalyRun:
    out: Path
    detection: Detection
    evaluation: dict | None
    report: Path
    detector: LSTMDetector


def _finish(out: Path, cfg: AnomalyConfig, data: AnomalyData, det: LSTMDetector, run: dict, with_baselines: bool,
            say: Callable[[str], None]) -> AnomalyRun:
    from ...io.files import atomic_write_text

    n = data.values.shape[0]
    t = time.perf_counter()
    lstm = decide(det.score(data.values), cfg, n)
    run["score_seconds"] = round(time.perf_counter() - t, 2)
    named = {"LSTM": lstm}
    if with_baselines:
        for name, s in baseline_scores(data, cfg).items():
            named[name] = decide(s, cfg, n)
    evaluation = None
    if data.labels is not None:
        evaluation = evaluate_scores(data.labels, named, det.warmup())
        atomic_write_text(out / "metrics.json", json.dumps({"evaluation": evaluation, "run": run}, indent=2))
        for name in named:
            m = evaluation[name]
            say(f"  {name:18s} PR-AUC {m['pr_auc']:.3f}  ROC-AUC {m['roc_auc']:.3f}  event F1 {m['event']['f1']:.3f}  UCR hit {m['ucr_hit']}")
    _write_scores(out, data, lstm)
    atomic_write_text(out / "events.json", json.dumps(_events_json(data, lstm.events), indent=2, default=str))
    run["peak_memory_mb"] = round(peak_memory_mb(), 1)
    report = write_report(out, cfg, data, named, evaluation, run)
    say(f"{len(lstm.events)} anomalous event(s); report: {report}")
    return AnomalyRun(out, lstm, evaluation, report, det)


def train(cfg: AnomalyConfig, data_path: str | Path, out: str | Path = "runs/anomaly", resume: bool = False,
          say: Callable[[str], None] = print) -> AnomalyRun:
    """Load data, train the detector, score every row, write the run folder."""
    from ...io.files import atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_anomaly_data(data_path, cfg.data)
    say(f"loaded {data.source}: {data.values.shape[0]} rows x {data.values.shape[1]} channel(s)")
    det = LSTMDetector(cfg)
    t = time.perf_counter()
    det.fit(data.values, out_dir=out / "training", resume=resume)
    run = {"train_seconds": round(time.perf_counter() - t, 2), "epochs": det.fit_result.epochs}
    det.save(out / "model")
    atomic_write_text(out / "config.yaml", to_yaml(cfg))
    return _finish(out, cfg, data, det, run, with_baselines=data.labels is not None, say=say)


def score(model_dir: str | Path, data_path: str | Path, out: str | Path, say: Callable[[str], None] = print,
          evaluate: bool = False) -> AnomalyRun:
    """Score a new series with a saved detector (and evaluate it when ``evaluate`` and labels exist)."""
    det, _ = LSTMDetector.load(model_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_anomaly_data(data_path, det.config.data)
    if data.values.shape[1] != det.channels:
        raise ValueError(f"anomaly score: the model expects {det.channels} channel(s), {data.source} has "
                         f"{data.values.shape[1]} ({data.columns})")
    return _finish(out, det.config, data, det, {"model": str(model_dir)}, with_baselines=evaluate and data.labels is not None, say=say)
