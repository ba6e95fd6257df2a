"""Sequence classification runs: train, predict and evaluate, with their files.

A training run folder holds::

    model/              model.safetensors + config.json (weights, encoder, classes, run config)
    config.yaml         the full configuration of the run
    metrics.json        validation (and --test) accuracy, macro-F1, per-class F1, confusion matrix
    predictions.csv     predictions on the --test file (or the validation data)
    plots/training.png  loss and validation-error curves
    plots/confusion.png confusion matrix of the evaluated data
    report.html         all of it on one page
    training/           Lightning logs and resumable checkpoints

Labels at evaluate time that training never saw: ``data.unseen_labels``
``'error'`` (default) raises ``ValueError`` naming them; ``'skip'`` leaves
those examples out of the metrics and counts them (``skipped_unseen``).
``predict`` needs no labels. Overlong sequences are cut to
``data.max_length`` steps and the run says how many.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ...config import from_dict, to_dict, to_yaml
from .config import ClassifyConfig
from .data import Examples, read_examples
from .encoding import SequenceEncoder


def _collate(batch):
    xs, ys = zip(*batch)
    from ...data.batching import length_tensor, pad_sequences

    return {"x": pad_sequences(list(xs)), "lengths": length_tensor(xs), "y": torch.tensor(ys, dtype=torch.int64)}


def _loader(tensors: list[torch.Tensor], targets: list[int], batch_size: int, shuffle: bool):
    from torch.utils.data import DataLoader

    from ...data.batching import BucketBatchSampler

    pairs = list(zip(tensors, targets))
    return DataLoader(pairs, batch_sampler=BucketBatchSampler([len(t) for t in tensors], batch_size, shuffle=shuffle),
                      collate_fn=_collate)


def _step(model, batch):
    logits = model(batch["x"], batch["lengths"])
    loss = torch.nn.functional.cross_entropy(logits, batch["y"])
    acc = (logits.argmax(-1) == batch["y"]).float().mean()
    return {"loss": loss, "accuracy": acc.detach(), "error": 1 - acc.detach()}


class Classifier:
    """A trained classifier: the network, the encoder that feeds it and the class names.

    Example::

        clf = Classifier.load("runs/classify-sst2/model")
        probs = clf.predict_proba(read_examples("test.tsv", clf.config.data))   # (N, K)
        clf.classes[probs.argmax(1)]
    """

    def __init__(self, model: torch.nn.Module, encoder: SequenceEncoder, classes: list[str], config: ClassifyConfig) -> None:
        self.model, self.encoder, self.classes, self.config = model, encoder, list(classes), config

    def save(self, directory: str | Path) -> Path:
        from ...train.checkpoint import save_model
        from .model import KIND, KIND_ENSEMBLE, EnsembleClassifier

        kind = KIND_ENSEMBLE if isinstance(self.model, EnsembleClassifier) else KIND
        return save_model(directory, self.model, kind, self.model.config,
                          extra={"encoder": self.encoder.to_dict(), "classes": self.classes, "run_config": to_dict(self.config)})

    @classmethod
    def load(cls, directory: str | Path) -> "Classifier":
        from ...train.checkpoint import load_model

        model, meta = load_model(directory)
        extra = meta["extra"]
        return cls(model, SequenceEncoder.from_dict(extra["encoder"]), extra["classes"],
                   from_dict(ClassifyConfig, extra["run_config"]))

    def read(self, path: str | Path) -> Examples:
        """Read a file the way training read its data (same kind and columns)."""
        return read_examples(path, self.config.data, kind=self.encoder.kind)

    @torch.no_grad()
    def predict_proba(self, examples: Examples, batch_size: int = 256) -> tuple[np.ndarray, int]:
        """Class probabilities ``(N, K)`` in example order, and how many sequences were cut to ``max_length``."""
        tensors, cut = self.encoder.encode(examples)
        self.model.eval()
        probs = np.zeros((len(tensors), len(self.classes)))
        order = sorted(range(len(tensors)), key=lambda i: len(tensors[i]))
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            batch = _collate([(tensors[i], 0) for i in idx])
            probs[idx] = torch.softmax(self.model(batch["x"], batch["lengths"]), -1).numpy()
        return probs, cut


# ------------------------------------------------------------------ outputs
def prediction_rows(clf: Classifier, examples: Examples, probs: np.ndarray) -> list[dict]:
    rows = []
    for i in range(len(examples)):
        row = {"id": examples.ids[i]}
        if examples.kind == "text":
            row["text"] = examples.items[i]
        if examples.labels is not None:
            row["label"] = examples.labels[i]
        k = int(probs[i].argmax())
        row["predicted"] = clf.classes[k]
        row["probability"] = round(float(probs[i, k]), 6)
        row["probabilities"] = {c: round(float(p), 6) for c, p in zip(clf.classes, probs[i])}
        rows.append(row)
    return rows


def write_predictions(path: str | Path, rows: list[dict]) -> Path:
    """CSV (``p_<class>`` columns) or JSON lines (``.jsonl``/``.json``), by the file's suffix."""
    from ...io.files import atomic_write_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jsonl", ".json"):
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return path
    if path.suffix.lower() != ".csv":
        raise ValueError(f"classify: expected a predictions file ending in .csv or .jsonl, got {path.name!r}")
    import pandas as pd

    flat = [{**{k: v for k, v in r.items() if k != "probabilities"}, **{f"p_{c}": p for c, p in r["probabilities"].items()}}
            for r in rows]
    pd.DataFrame(flat).to_csv(path, index=False)
    return path


def score(clf: Classifier, examples: Examples, say: Callable[[str], None] = print) -> tuple[dict, list[dict]]:
    """Metrics of ``clf`` on labelled ``examples`` (unseen labels per ``data.unseen_labels``) and the prediction rows."""
    from .metrics import accuracy, confusion_matrix, f1_per_class, macro_f1

    if examples.labels is None:
        raise ValueError(f"classify evaluate: {examples.source} has no {clf.config.data.label_column!r} column to evaluate against")
    known = set(clf.classes)
    unseen = sorted({y for y in examples.labels if y not in known})
    skipped = 0
    if unseen:
        if clf.config.data.unseen_labels == "error":
            raise ValueError(f"classify evaluate: {examples.source} has labels training never saw: {unseen[:10]} "
                             f"(the model knows {clf.classes[:10]}); set data.unseen_labels skip to leave them out")
        keep = [i for i, y in enumerate(examples.labels) if y in known]
        skipped = len(examples) - len(keep)
        say(f"note: {skipped} example(s) with labels unseen in training ({unseen[:10]}) left out of the metrics")
        examples = examples.subset(keep)
        if not len(examples):
            raise ValueError(f"classify evaluate: no example of {examples.source} has a label the model knows")
    probs, cut = clf.predict_proba(examples)
    if cut:
        say(f"note: {cut} sequence(s) longer than data.max_length={clf.encoder.max_length} were cut to their first steps")
    pred = [clf.classes[k] for k in probs.argmax(1)]
    cm = confusion_matrix(examples.labels, pred, labels=clf.classes)
    index = {c: k for k, c in enumerate(clf.classes)}
    p_true = probs[np.arange(len(pred)), [index[y] for y in examples.labels]]
    metrics = {
        "examples": len(examples), "accuracy": accuracy(examples.labels, pred),
        "log_loss": float(-np.log(np.clip(p_true, 1e-12, 1.0)).mean()),
        "macro_f1": macro_f1(examples.labels, pred, labels=clf.classes),
        "per_class_f1": dict(zip(clf.classes, f1_per_class(examples.labels, pred, labels=clf.classes).tolist())),
        "classes": clf.classes, "confusion_matrix": cm.tolist(), "truncated": cut, "skipped_unseen": skipped,
    }
    return metrics, prediction_rows(clf, examples, probs)


# ------------------------------------------------------------------ runs
@dataclass
class ClassifyRun:
    out: Path
    model_dir: Path
    metrics: dict
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    classifier: Classifier | None = None


def _split(train: Examples, fraction: float, seed: int) -> tuple[Examples, Examples | None]:
    """Hold out ``fraction`` of each class (at least one example per class that has two) for validation."""
    if fraction <= 0:
        return train, None
    rng = np.random.default_rng(seed)
    labels = np.asarray(train.labels)
    val = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n = int(round(fraction * len(idx)))
        if len(idx) >= 2:
            val.extend(rng.permutation(idx)[: max(1, n)].tolist())
    keep = sorted(set(range(len(train))) - set(val))
    return train.subset(keep), train.subset(sorted(val))


def fit_examples(cfg: ClassifyConfig, tr: Examples, out: str | Path, va: Examples | None = None, resume: bool = False,
                 say: Callable[[str], None] = print, callbacks: list | None = None) -> ClassifyRun:
    """Fit a classifier on in-memory examples (early stopping on ``va``); only ``out/training`` is written."""
    from ...train import fit, seed_everything
    from .model import EnsembleClassifier, SequenceClassifier

    out = Path(out)
    if tr.labels is None:
        raise ValueError(f"classify train: {tr.source} has no label column {cfg.data.label_column!r}")
    classes = sorted(set(tr.labels))
    if len(classes) < 2:
        raise ValueError(f"classify train: expected at least 2 classes in {tr.source}, got {classes}")
    encoder = SequenceEncoder.fit(tr, cfg.data)
    x_tr, cut = encoder.encode(tr)
    if cut:
        say(f"note: {cut} training sequence(s) longer than data.max_length={cfg.data.max_length} cut to their first steps")
    index = {c: i for i, c in enumerate(classes)}
    m = cfg.model
    model_cfg = dict(kind=encoder.kind, vocab_size=encoder.vocab_size, unk_id=1, input_size=encoder.input_size,
                     embedding_dim=m.embedding_dim, embedding_dropout=m.embedding_dropout, word_dropout=m.word_dropout,
                     hidden_size=m.hidden_size, num_layers=m.num_layers, bidirectional=m.bidirectional, cell=m.cell,
                     dropout=m.dropout, pooling=m.pooling, num_classes=len(classes))
    if m.conv_channels:
        if encoder.kind != "series":
            raise ValueError(f"classify train: model.conv_channels is for series; {tr.source} is text")
        model_cfg.update(conv_channels=list(m.conv_channels), conv_kernels=list(m.conv_kernels), frame=encoder.frame)
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    y_tr = [index[y] for y in tr.labels]
    val_loader = None
    if va is not None:
        keep = [i for i, y in enumerate(va.labels) if y in index]
        if len(keep) < len(va):
            say(f"note: {len(va) - len(keep)} validation example(s) with labels not in the training data left out")
        va = va.subset(keep)
        x_va, _ = encoder.encode(va)
        val_loader = _loader(x_va, [index[y] for y in va.labels], 256, shuffle=False)
    members, results = [], []
    for k in range(m.ensemble):  # member k: seed + k, its own early stopping and logs
        seed_everything(cfg.train.seed + k, cfg.train.deterministic)
        net = SequenceClassifier(model_cfg)
        train_loader = _loader(x_tr, y_tr, cfg.train.batch_size, shuffle=True)
        if m.ensemble > 1:
            say(f"ensemble member {k + 1} of {m.ensemble} (seed {cfg.train.seed + k})")
        run_dir = out / "training" / (f"member-{k}" if k else "")
        results.append(fit(net, _step, train_loader, val_loader, cfg.train, out_dir=run_dir, resume=resume,
                           callbacks=callbacks))
        members.append(net.eval())
    if m.ensemble == 1:
        model = members[0]
    else:
        model = EnsembleClassifier({"members": m.ensemble, "member": model_cfg}, members)
    clf = Classifier(model.eval(), encoder, classes, cfg)
    result = results[0]
    seconds = sum(r.seconds for r in results)
    metrics = {"train_seconds": round(seconds, 2), "epochs": result.epochs,
               "parameters": sum(p.numel() for p in model.parameters())}
    if m.ensemble > 1:
        metrics["members"] = [{"seed": cfg.train.seed + k, "epochs": r.epochs, "train_seconds": round(r.seconds, 2),
                               "best_" + cfg.train.monitor: r.best_score} for k, r in enumerate(results)]
    return ClassifyRun(out, out / "model", metrics, result.history, seconds, clf)


def train(cfg: ClassifyConfig, train_path: str | Path, out: str | Path, val_path: str | Path | None = None,
          test_path: str | Path | None = None, resume: bool = False, say: Callable[[str], None] = print,
          callbacks: list | None = None) -> ClassifyRun:
    """Fit a classifier on ``train_path`` (early stopping on ``val_path`` or a held-out share) and write the run folder.

    ``callbacks``: extra Lightning callbacks for :func:`lstmkit.train.fit` (e.g. a time budget).
    """
    from ...explain.training_plots import plot_confusion, plot_history
    from ...io.files import atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    examples = read_examples(train_path, cfg.data)
    if examples.labels is None:
        raise ValueError(f"classify train: {train_path} has no label column {cfg.data.label_column!r}")
    if val_path:
        tr, va = examples, read_examples(val_path, cfg.data, kind=examples.kind)
    else:
        tr, va = _split(examples, cfg.data.validation_fraction, cfg.train.seed)
    say(f"loaded {train_path}: {len(tr)} training {examples.kind} examples, {len(set(tr.labels))} classes"
        + (f", {len(va)} for validation" if va is not None else ", no validation"))
    run = fit_examples(cfg, tr, out, va, resume=resume, say=say, callbacks=callbacks)
    clf, metrics = run.classifier, run.metrics
    clf.save(run.model_dir)
    atomic_write_text(out / "config.yaml", to_yaml(cfg))
    shown = None
    if va is not None:
        va = va.subset([i for i, y in enumerate(va.labels) if y in set(clf.classes)])
        metrics["validation"], rows = score(clf, va, say)
        shown = ("validation", metrics["validation"], rows)
    if test_path:
        test = clf.read(test_path)
        metrics["test"], rows = score(clf, test, say)
        shown = ("test", metrics["test"], rows)
    if shown:
        name, m_, rows = shown
        write_predictions(out / "predictions.csv", rows)
        plot_confusion(out / "plots" / "confusion.png", m_["confusion_matrix"], clf.classes,
                       f"{name}: accuracy {m_['accuracy']:.4f}")
    if run.history:
        plot_history(out / "plots" / "training.png", run.history, f"classify: {Path(train_path).name}")
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    from .report import write_report

    write_report(out, Path(train_path).name, metrics, to_dict(cfg))
    return run


def evaluate(model_dir: str | Path, data_path: str | Path, out: str | Path, say: Callable[[str], None] = print,
             unseen_labels: str | None = None) -> dict:
    """Metrics of a saved classifier on a labelled file: metrics.json, predictions.csv, plots/confusion.png in ``out``."""
    from ...explain.training_plots import plot_confusion
    from ...io.files import atomic_write_text

    clf = Classifier.load(model_dir)
    if unseen_labels:
        from ...config import replace

        clf.config = replace(clf.config, **{"data.unseen_labels": unseen_labels})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics, rows = score(clf, clf.read(data_path), say)
    write_predictions(out / "predictions.csv", rows)
    plot_confusion(out / "plots" / "confusion.png", metrics["confusion_matrix"], clf.classes,
                   f"{Path(data_path).name}: accuracy {metrics['accuracy']:.4f}")
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def predict(model_dir: str | Path, data_path: str | Path, output: str | Path | None = None,
            say: Callable[[str], None] = print) -> list[dict]:
    """Predict every example of ``data_path`` (labels not needed); write CSV or JSON lines to ``output`` if given."""
    clf = Classifier.load(model_dir)
    examples = clf.read(data_path)
    probs, cut = clf.predict_proba(examples)
    if cut:
        say(f"note: {cut} sequence(s) longer than data.max_length={clf.encoder.max_length} were cut to their first steps")
    rows = prediction_rows(clf, examples, probs)
    if output:
        write_predictions(output, rows)
    return rows
