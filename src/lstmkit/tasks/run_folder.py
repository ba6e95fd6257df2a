"""What a training command writes, and its one-page report, once for the estimators that train networks.

A run folder (``lstmkit classify train``, ``lstmkit tag train``)::

    model/              the estimator's model folder (estimator.save)
    config.yaml         the configuration as the run resolved it from the data
    metrics.json        the task's metrics (training, validation, test)
    plots/training.png  training curves (when the network logged any)
    report.html         all of it on one page (write_report)
    training/           Lightning logs and resumable checkpoints (--resume)

The tasks add their own files (predictions, a confusion matrix) and say what
goes into the report's sections; the layout and the writing live here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainingRun:
    """What a training command wrote (``out``, ``metrics``) and the estimator it trained."""

    out: Path
    metrics: dict[str, Any]
    estimator: Any

    @property
    def model_dir(self) -> Path:
        return self.out / "model"

    @property
    def history(self) -> list[dict]:
        return self.estimator.history_

    @property
    def train_seconds(self) -> float:
        return float(self.metrics.get("train_seconds", 0.0))


@dataclass
class Section:
    """One part of a report: a heading, an optional table and paragraphs under it."""

    heading: str
    header: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)


def write_report(path: str | Path, title: str, intro: str, sections: list[Section], images: list[tuple[Path, str]],
                 config: dict[str, Any]) -> Path:
    """An :class:`~lstmkit.io.html_report.HtmlReport`: intro, sections, the images that exist, the configuration."""
    from ..io.files import atomic_write_text
    from ..io.html_report import HtmlReport

    page = HtmlReport(title, intro)
    for s in sections:
        page.heading(s.heading)
        for text in s.paragraphs[:1]:  # the first paragraph leads in to the table, the others follow it
            if text:
                page.paragraph(text)
        if s.header:
            page.table(s.header, s.rows)
        for text in s.paragraphs[1:]:
            if text:
                page.paragraph(text)
    for image, caption in images:
        if Path(image).is_file():
            page.image(Path(image), caption)
    page.heading("Configuration")
    page.code(config)
    path = Path(path)
    atomic_write_text(path, page.render())
    return path


def run_clock() -> tuple[float, float]:
    """``(wall, CPU)`` readings at the start of a command, for :func:`write_run_folder`."""
    import time

    return time.perf_counter(), time.process_time()


def write_run_folder(out: str | Path, estimator, metrics: dict[str, Any], train_path: str | Path,
                     started: tuple[float, float], plots: dict[str, Path] | None = None) -> TrainingRun:
    """Finish a training command's run folder ``out``: the model, ``config.yaml``, ``metrics.json``, plots, report.

    Saves the fitted ``estimator`` under ``model/``, plots its ``history_``
    (``plots/training.png``), adds ``total_seconds`` and ``total_cpu_seconds``
    since ``started`` (:func:`run_clock`) to ``metrics`` and writes the report
    through ``estimator.report`` with ``plots`` (the task's own PNGs) beside
    the training curves.
    """
    import time

    from ..config import to_yaml
    from ..io.files import atomic_write_json, atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    estimator.fit_info_["train_name"] = Path(train_path).name
    estimator.save(out / "model")
    atomic_write_text(out / "config.yaml", to_yaml(getattr(estimator, "config_", None) or estimator.config))
    plots = dict(plots or {})
    if estimator.history_:
        from ..explain.training_plots import plot_history

        plots["training"] = plot_history(out / "plots" / "training.png", estimator.history_,
                                         f"{estimator.task}: {Path(train_path).name}")
    metrics["total_seconds"] = round(time.perf_counter() - started[0], 1)
    metrics["total_cpu_seconds"] = round(time.process_time() - started[1], 1)
    atomic_write_json(out / "metrics.json", metrics)
    estimator.report(out / "report.html", plots)
    return TrainingRun(out, metrics, estimator)


def write_json_lines(path: str | Path, rows: list[dict]) -> Path:
    """One JSON object a line (UTF-8, written atomically)."""
    from ..io.files import atomic_write_text

    path = Path(path)
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def fit_intro(what: str, train_name: str, info: dict[str, Any]) -> str:
    """``"<what> trained on <file>: 12 epochs in 34 s, 56,789 parameters."``"""
    return (f"{what} trained on {train_name}: {info.get('epochs', 0)} epochs in {info.get('train_seconds', 0):.0f} s, "
            f"{info.get('parameters', 0):,} parameters.")
