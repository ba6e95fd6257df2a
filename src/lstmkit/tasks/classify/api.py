"""Run folders of ``lstmkit classify``: files in, :class:`~lstmkit.SequenceClassifier` in the middle, files out.

Everything that learns or scores is the estimator's; these helpers only read
the files, call it and write what the command line promises. A training run
folder (see :mod:`lstmkit.tasks.run_folder`) holds::

    model/              model.safetensors + config.json (weights, encoder, classes, configuration);
                        model/neighbours/: the training series, for the 1-NN baselines
    config.yaml         the configuration as resolved from the data (and the cross-validation's choice)
    metrics.json        the model selection, validation (and --test) accuracy, macro-F1, per-class F1, log loss,
                        confusion matrix, the 1-NN baselines beside them, timings
    predictions.csv     predictions on the --test file (or the validation data)
    plots/training.png  loss and validation-error curves
    plots/confusion.png confusion matrix of the evaluated data
    report.html         all of it on one page, saying plainly when a baseline beats the model
    training/           Lightning logs and resumable checkpoints; selection.json (reused by --resume)

Labels at evaluate time that training never saw: ``data.unseen_labels``
``'error'`` (default) raises ``ValueError`` naming them; ``'skip'`` leaves
those examples out of the metrics and counts them (``skipped_unseen``).
``predict`` needs no labels. Overlong sequences are cut to
``data.max_length`` steps and the run says how many.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from .config import ClassifyConfig
from .data import Examples, read_examples
from .estimator import SequenceClassifier


# ------------------------------------------------------------------ outputs
def prediction_rows(clf: SequenceClassifier, examples: Examples, probs: np.ndarray) -> list[dict]:
    rows = []
    for i in range(len(examples)):
        row = {"id": examples.ids[i]}
        if examples.kind == "text":
            row["text"] = examples.items[i]
        if examples.labels is not None:
            row["label"] = examples.labels[i]
        k = int(probs[i].argmax())
        row["predicted"] = clf.classes_[k]
        row["probability"] = round(float(probs[i, k]), 6)
        row["probabilities"] = {str(c): round(float(p), 6) for c, p in zip(clf.classes_, probs[i])}
        rows.append(row)
    return rows


def write_predictions(path: str | Path, rows: list[dict]) -> Path:
    """CSV (``p_<class>`` columns) or JSON lines (``.jsonl``/``.json``), by the file's suffix."""
    from ..run_folder import write_json_lines

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jsonl", ".json"):
        return write_json_lines(path, rows)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"classify: expected a predictions file ending in .csv or .jsonl, got {path.name!r}")
    import pandas as pd

    flat = [{**{k: v for k, v in r.items() if k != "probabilities"}, **{f"p_{c}": p for c, p in r["probabilities"].items()}}
            for r in rows]
    pd.DataFrame(flat).to_csv(path, index=False)
    return path


def _plot_confusion(out: Path, name: str, metrics: dict) -> Path:
    from ...explain.training_plots import plot_confusion

    path = out / "plots" / "confusion.png"
    plot_confusion(path, metrics["confusion_matrix"], [str(c) for c in metrics["classes"]],
                   f"{name}: accuracy {metrics['accuracy']:.4f}")
    return path


# ------------------------------------------------------------------ runs
def train(cfg: ClassifyConfig, train_path: str | Path, out: str | Path, val_path: str | Path | None = None,
          test_path: str | Path | None = None, resume: bool = False, say: Callable[[str], None] = print,
          callbacks: list | None = None):
    """Read the files, fit a :class:`~lstmkit.SequenceClassifier` on ``train_path`` and write the run folder ``out``.

    Returns a :class:`~lstmkit.tasks.run_folder.TrainingRun` (``out``, ``metrics``, ``estimator``).
    ``callbacks``: extra Lightning callbacks for :func:`lstmkit.train.fit` (e.g. a time budget).
    """
    from ..run_folder import run_clock, write_run_folder

    started = run_clock()
    examples = read_examples(train_path, cfg.data)
    if examples.labels is None:
        raise ValueError(f"classify train: {train_path} has no label column {cfg.data.label_column!r}")
    val = read_examples(val_path, cfg.data, kind=examples.kind) if val_path else None
    say(f"loaded {train_path}: {len(examples)} {examples.kind} examples, {len(set(examples.labels))} classes"
        + (f"; validation: {val_path} ({len(val)})" if val is not None else ""))
    if test_path and cfg.data.unseen_labels == "error":  # before training, not after it
        test_labels = read_examples(test_path, cfg.data, kind=examples.kind).labels or []
        known = set(examples.labels)
        unseen = sorted({str(v) for v in test_labels if v not in known})
        if unseen:
            raise ValueError(f"classify train: {test_path} has labels the training data never has: {unseen[:10]}; "
                             "set data.unseen_labels skip to leave them out of the test metrics")
    clf = SequenceClassifier(config=cfg).fit(examples, None, val, None, out_dir=out, resume=resume, callbacks=callbacks)
    metrics = {**clf.fit_info_, "selection": clf.selection_}
    shown, plots = None, {}
    if "validation" in clf.scores_:
        metrics["validation"] = clf.scores_["validation"]
        shown = ("validation", clf.validation_data_, clf.predict_proba(clf.validation_data_))
    if test_path:
        metrics["test"], test_ex, probs = clf.evaluate(clf_read(clf, test_path), name="test", return_probabilities=True)
        shown = ("test", test_ex, probs)
    out = Path(out)
    if shown:
        name, shown_ex, probs = shown
        write_predictions(out / "predictions.csv", prediction_rows(clf, shown_ex, probs))
        plots["confusion"] = _plot_confusion(out, name, metrics[name])
    return write_run_folder(out, clf, metrics, train_path, started, plots)


def clf_read(clf: SequenceClassifier, path: str | Path) -> Examples:
    """Read a file the way the classifier's training data was read (same kind and columns)."""
    kind = clf.encoder_.kind if clf.encoder_ is not None else "series"
    return read_examples(path, clf.config_.data, kind=kind)


def evaluate(model_dir: str | Path, data_path: str | Path, out: str | Path, say: Callable[[str], None] = print,
             unseen_labels: str | None = None) -> dict:
    """Metrics of a saved classifier on a labelled file: metrics.json, predictions.csv, plots/confusion.png in ``out``."""
    from ...io.files import atomic_write_json

    clf = SequenceClassifier.load(model_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics, examples, probs = clf.evaluate(clf_read(clf, data_path), unseen_labels=unseen_labels, name=Path(data_path).name,
                                            return_probabilities=True)
    write_predictions(out / "predictions.csv", prediction_rows(clf, examples, probs))
    _plot_confusion(out, Path(data_path).name, metrics)
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def predict(model_dir: str | Path, data_path: str | Path, output: str | Path | None = None,
            say: Callable[[str], None] = print) -> list[dict]:
    """Predict every example of ``data_path`` (labels not needed); write CSV or JSON lines to ``output`` if given."""
    clf = SequenceClassifier.load(model_dir)
    examples = clf_read(clf, data_path)
    probs = clf.predict_proba(examples)
    rows = prediction_rows(clf, examples, probs)
    if output:
        write_predictions(output, rows)
    return rows
