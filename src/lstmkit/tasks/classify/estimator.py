"""``lstmkit.SequenceClassifier``: classify texts or time series with (bi)LSTM networks, on in-memory data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..estimator import Estimator
from .config import ClassifyConfig
from .data import Examples, as_examples

#: the model-folder kinds a SequenceClassifier saves and loads
KINDS = ("classify-lstm", "classify-lstm-ensemble", "classify-nn")


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _sorted_classes(labels: list) -> list:
    try:
        return sorted(set(labels))
    except TypeError:  # labels of mixed types: order them by their text
        return sorted(set(labels), key=lambda v: (str(v), type(v).__name__))


class SequenceClassifier(Estimator):
    r"""Sequence classification of texts or time series, with the model chosen on the training data.

    Texts are split into words and read by a bidirectional LSTM over learned
    embeddings. Series (one or more channels, equal or variable lengths) are
    scaled, given their first differences and cut into frames read by a
    bidirectional LSTM, optionally beside LSTM-FCN's convolutional branch
    (Karim et al. 2017). The pooled features go through a linear layer:

    .. math::
        p(k \mid x) = \operatorname{softmax}\big(W\, \operatorname{pool}(\mathrm{LSTM}(x)) + b\big)_k

    On a small series training set (``select.mode`` ``auto``: at most
    ``select.max_examples`` series and no validation data) the settings left
    at ``auto`` (pooling, frame, the convolutional branch, scaling, epochs)
    are chosen by stratified cross-validation on the training data
    (:mod:`lstmkit.tasks.classify.selection`), with 1-NN Euclidean and 1-NN
    DTW among the candidates: when one of them is more accurate in the
    cross-validation the model *is* that nearest-neighbour classifier, and
    :attr:`selection_` says so. Either way 1-NN Euclidean and 1-NN DTW are
    scored beside the model by :meth:`evaluate` (``metrics["baselines"]``).

    Args:
        config: a :class:`~lstmkit.tasks.classify.config.ClassifyConfig` or
            nested dict (default: every setting from the data).
        **params: configuration fields by name: ``hidden_size=64``,
            ``pooling="mean"``, ``epochs=50``, ``frame=10``, ``mode="off"``
            (``select.mode``), ``seed=1``, ... (see :meth:`get_params`).

    Inputs (``X``):

    ===================================  ==========================================
    a list of strings                    texts
    an array ``(N, T)``                  ``N`` univariate series (trailing NaN: shorter)
    an array ``(N, T, C)``               ``N`` series of ``C`` channels, time first
    a list of ``(T_i,)``/``(T_i, C)``    series of any lengths
    a pandas DataFrame                   text column, or series wide/long (``data.*``)
    ===================================  ==========================================

    Attributes (after :meth:`fit` or :meth:`load`):
        classes_: the class labels, in the column order of :meth:`predict_proba`.
        config_: the configuration with every ``auto`` resolved (and the chosen settings).
        model_: the network (:class:`~lstmkit.tasks.classify.model.ClassifierNet`,
            an ensemble of them) or the chosen
            :class:`~lstmkit.tasks.classify.neighbours.NearestNeighbourClassifier`.
        selection_: the cross-validation table and choice (a dict), or ``None``.
        history_: per-epoch training metrics of the (first) network.
        scores_: the metrics of each :meth:`evaluate` call by name (``'validation'``
            after a fit with validation data).

    Example::

        >>> import numpy as np, lstmkit
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(40, 30)) + np.repeat([0.0, 2.0], 20)[:, None]   # 40 series of 30 steps
        >>> y = np.repeat(["low", "high"], 20)
        >>> clf = lstmkit.SequenceClassifier(epochs=5, mode="off", progress_bar=False).fit(X, y)
        >>> clf.predict(X[:2]).tolist(), clf.predict_proba(X[:2]).shape
        (['low', 'low'], (2, 2))
    """

    config_class = ClassifyConfig
    kinds = KINDS
    task = "classify"

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, X_val: Any = None, y_val: Any = None, *, out_dir: str | Path | None = None,
            resume: bool = False, callbacks: list | None = None) -> "SequenceClassifier":
        """Train on ``X`` with labels ``y`` (or the DataFrame's ``data.label_column``).

        Args:
            X_val, y_val: validation data: early stopping on it (no
                cross-validation then). Default: none; a share of the training
                data is held out only when large enough (``data.min_validation``).
            out_dir: keep the networks' training logs and resumable checkpoints
                there (and the cross-validation's result, for ``resume``).
            resume: continue an interrupted fit from ``out_dir``.
            callbacks: extra Lightning callbacks for the networks' training.
        """
        import torch

        threads = torch.get_num_threads()
        try:
            return self._fit(X, y, X_val, y_val, out_dir, resume, callbacks)
        finally:
            torch.set_num_threads(threads)  # the fit may have set its own; the process keeps its setting

    def _fit(self, X, y, X_val, y_val, out_dir, resume, callbacks) -> "SequenceClassifier":
        from ...config import replace
        from .defaults import plan
        from .encoding import SequenceEncoder
        from .training import train_networks

        t_start = time.perf_counter()
        cpu_start = time.process_time()
        data = as_examples(X, y, self.config.data, who="SequenceClassifier.fit")
        if data.labels is None:
            raise ValueError(f"SequenceClassifier.fit: expected labels (y, or a {self.config.data.label_column!r} column), got none")
        for note in data.notes:
            self.log.info(f"note: {note}")
        classes = _sorted_classes(data.labels)
        if len(classes) < 2:
            raise ValueError(f"SequenceClassifier.fit: expected at least 2 classes, got {classes}")
        index = {c: i for i, c in enumerate(classes)}
        val = None
        if X_val is not None:
            val = as_examples(X_val, y_val, self.config.data, kind=data.kind, who="SequenceClassifier.fit (validation)")
            if val.labels is None:
                raise ValueError("SequenceClassifier.fit: expected labels for the validation data, got none")
            keep = [i for i, v in enumerate(val.labels) if v in index]
            if len(keep) < len(val):
                self.log.info(f"note: {len(val) - len(keep)} validation example(s) with labels not in the training data left out")
            val = val.subset(keep)
        p = plan(self.config, data, has_validation=val is not None)
        if val is None and not p.cross_validate:
            data, val = self._hold_out(data, p.base)
        self.log.info(f"{len(data)} training {data.kind} examples, {len(classes)} classes"
                      + (f", {len(val)} for validation" if val is not None else ", no validation") + f" ({p.reason})")
        y_idx = np.array([index[v] for v in data.labels])
        selection = None
        cfg, stop_after = p.base, None
        if p.cross_validate:
            selection = self._selection(p, data, y_idx, len(classes), out_dir, resume)
            self.log.info(selection.summary())
            chosen = selection.chosen
            if chosen.kind in ("network", "blend"):
                cfg = replace(p.base, **chosen.settings)
                stop_after = chosen.epochs if chosen.epochs < p.epochs else None
        self.classes_ = classes
        self.selection_ = selection.as_dict() if selection else None
        self.blend_ = None
        if selection is not None and selection.chosen.kind == "blend":
            from .selection import BLEND_WEIGHT

            self.blend_ = {"metric": selection.chosen.neighbour, "temperature": selection.chosen.temperature,
                           "weight": BLEND_WEIGHT, "window": selection.chosen.window}
        self.neighbours_ = self._reference(data, y_idx, len(classes), p.base)
        self.history_, results, max_steps = [], [], 0
        if selection is not None and selection.fell_back:
            from .neighbours import NearestNeighbourClassifier

            self.model_ = NearestNeighbourClassifier.from_series(data.items, y_idx, len(classes), selection.chosen.kind,
                                                                 selection.chosen.temperature or 1.0, selection.chosen.window)
            self.encoder_ = None
        else:
            self.encoder_ = SequenceEncoder.fit(data, cfg.data)
            x, cut = self.encoder_.encode(data)
            if cut:
                self.log.info(f"note: {cut} training sequence(s) longer than data.max_length={cfg.data.max_length} cut to their first steps")
            val_t = None
            if val is not None:
                val_t = (self.encoder_.encode(val)[0], [index[v] for v in val.labels])
            train_cfg = cfg.train.resolved(p.epochs, cfg.train.batch_size, cfg.train.lr, cfg.train.schedule)
            if out_dir is None:
                train_cfg = replace(train_cfg, checkpoint_every=train_cfg.epochs)  # nothing is kept: write no checkpoints
            self.model_, results, _ = train_networks(cfg, self.encoder_, x, y_idx.tolist(), len(classes), train_cfg, val=val_t,
                                                     out_dir=None if out_dir is None else Path(out_dir) / "training",
                                                     resume=resume, stop_after=stop_after, callbacks=callbacks,
                                                     say=self.log.info)
            self.history_ = results[0].history
            max_steps = max(len(t) for t in x)
        self.config_ = cfg
        self.fit_info_ = {
            "train_seconds": round(sum(r.seconds for r in results), 2),
            "epochs": results[0].epochs if results else 0,
            "parameters": int(sum(p_.numel() for p_ in self.model_.parameters())),
            "model": self.model_name,
            "training_examples": len(data),
            "validation_examples": len(val) if val is not None else 0,
            "plan": p.reason,
            "fit_seconds": round(time.perf_counter() - t_start, 1),
            "fit_cpu_seconds": round(time.process_time() - cpu_start, 1),
            "threads": cfg.train.num_threads or torch_threads(),
            "max_steps": max_steps,  # the longest encoded training sequence: the default length of an export
        }
        if len(results) > 1:
            self.fit_info_["members"] = [{"seed": cfg.train.seed + k, "epochs": r.epochs, "train_seconds": round(r.seconds, 2),
                                          "best_" + cfg.train.monitor: r.best_score} for k, r in enumerate(results)]
        self.scores_ = {}
        self.validation_data_ = val
        if val is not None:
            self.evaluate(val, name="validation")
        return self

    def _hold_out(self, data: Examples, base: ClassifyConfig) -> tuple[Examples, Examples | None]:
        """Hold out ``data.validation_fraction`` of each class when that makes at least ``data.min_validation`` examples."""
        fraction, least = base.data.validation_fraction, base.data.min_validation
        if fraction <= 0:
            return data, None
        rng = np.random.default_rng(base.train.seed)
        labels = np.asarray([str(v) for v in data.labels])
        val = []
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            if len(idx) >= 2:
                val.extend(rng.permutation(idx)[: max(1, int(round(fraction * len(idx))))].tolist())
        if len(val) < max(least, 1):
            self.log.info(f"note: no validation share held out: {len(val)} example(s) < data.min_validation={least} "
                          f"(too few to stop early on); training runs its full epochs")
            return data, None
        keep = sorted(set(range(len(data))) - set(val))
        return data.subset(keep), data.subset(sorted(val))

    def _selection(self, p, data: Examples, y_idx: np.ndarray, num_classes: int, out_dir, resume: bool):
        import json

        from .selection import Scored, Selection, cross_validate

        saved = None if out_dir is None else Path(out_dir) / "training" / "selection.json"
        if resume and saved is not None and saved.is_file():
            d = json.loads(saved.read_text(encoding="utf-8"))
            rows = [Scored.from_dict(r) for r in d["candidates"]]
            chosen = next(r for r in rows if r.name == d["chosen"]["name"] and r.epochs == d["chosen"]["epochs"])
            nets = [r for r in rows if r.kind == "network"]
            self.log.info(f"resume: cross-validation result read from {saved}")
            return Selection(d["folds"], rows, chosen, min(nets, key=lambda r: (-r.accuracy, r.log_loss)) if nets else None,
                             d["seconds"], d.get("notes", []))
        selection = cross_validate(self.config, p.base, data, y_idx, num_classes, p.epochs, self.log.info)
        if saved is not None:
            from ...io.files import atomic_write_json

            atomic_write_json(saved, selection.as_dict())
        return selection

    def _reference(self, data: Examples, y_idx: np.ndarray, num_classes: int, base: ClassifyConfig):
        """The training series as a 1-NN classifier, for the baselines beside the model (series only)."""
        if data.kind != "series" or not (base.select.baselines or self.blend_):
            return None
        from .neighbours import NearestNeighbourClassifier

        return NearestNeighbourClassifier.from_series(data.items, y_idx, num_classes, "euclidean")

    @property
    def model_name(self) -> str:
        """What the model is, in words (``'1-NN DTW'``, ``'LSTM-FCN, last pooling, ... (ensemble of 5)'``)."""
        self._require_fitted("model_name")
        from .neighbours import NN_METRICS

        if self.encoder_ is None:
            return NN_METRICS[self.model_.metric]
        c = self.config_
        net = "LSTM-FCN" if c.model.conv_branch == "on" else ("BiLSTM" if c.model.bidirectional else "LSTM")
        text = f"{net} ({c.model.hidden_size} units, {c.model.pooling} pooling"
        if self.encoder_.kind == "series":
            text += f", frame {c.data.frame}, {c.data.normalize} scaling"
        n = int(getattr(self.model_, "config", {}).get("members", 1))
        text += ")" + (f", ensemble of {n}" if n > 1 else "")
        if getattr(self, "blend_", None):
            text += f" + {NN_METRICS[self.blend_['metric']]}, probabilities averaged"
        return text

    def explain_target(self):
        """What ``lstmkit explain`` traces: the network, its LSTM and how a text or a series reaches it.

        Returns a :class:`lstmkit.explain.traces.TraceTarget` whose ``prepare(x)``
        takes one text (labels: its words, or the decoded tokens) or one
        series (numbers, rows or a CSV path; labels: its steps) and runs
        :meth:`predict_proba` on it. A 1-NN model (chosen by the
        cross-validation over the networks) has no gates: ``ValueError``.
        """
        from ...explain.traces import TraceTarget
        from ..explain.models import read_series

        self._require_fitted("explain_target")
        enc = self.encoder_
        if enc is None:
            raise ValueError(f"SequenceClassifier.explain_target: the model holds a {self.model_name} classifier (the "
                             "cross-validation chose it over the networks): it has no LSTM gates to show")

        def prepare(data):
            if enc.kind == "text":
                ids = enc.tokenizer.encode(data)
                words = enc.tokenizer.tokenize(data) if hasattr(enc.tokenizer, "tokenize") else []
                labels = words if len(words) == len(ids) else [enc.tokenizer.decode([i]) for i in ids]
                item = data
            else:
                item, labels = read_series(data)
            one = Examples(enc.kind, [item], None, ["input"], "input")
            return labels, lambda: self.predict_proba(one)

        return TraceTarget(self.model_, self.model_.lstm, enc.kind, prepare)

    # ------------------------------------------------------------------ predict
    def _examples(self, X: Any, y: Any = None, who: str = "predict") -> Examples:
        kind = self.encoder_.kind if self.encoder_ is not None else "series"
        return as_examples(X, y, self.config_.data, kind=kind, who=f"SequenceClassifier.{who}")

    def _proba(self, examples: Examples) -> tuple[np.ndarray, int]:
        """Class probabilities of ``examples`` and how many were cut to ``data.max_length``."""
        if self.encoder_ is None:  # the chosen 1-NN classifier reads the raw series
            return self.model_.predict_proba(examples.items), 0
        from .training import predict_proba

        tensors, cut = self.encoder_.encode(examples)
        if cut:
            self.log.info(f"note: {cut} sequence(s) longer than data.max_length={self.encoder_.max_length} were cut to their first steps")
        probs = predict_proba(self.model_, tensors)
        if getattr(self, "blend_", None):  # the chosen blend: the networks' and the nearest neighbour's probabilities
            b = self.blend_
            near = self.neighbours_.predict_proba(examples.items, b["metric"], b["temperature"], b.get("window"))
            probs = (1 - b["weight"]) * probs + b["weight"] * near
        return probs, cut

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, K)``, columns in the order of :attr:`classes_`."""
        self._require_fitted("predict_proba")
        return self._proba(self._examples(X, who="predict_proba"))[0]

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each example, ``(N,)``."""
        self._require_fitted("predict")
        probs = self._proba(self._examples(X, who="predict"))[0]
        out = np.empty(len(probs), dtype=object)
        out[:] = [self.classes_[k] for k in probs.argmax(1)]
        # labels of one plain kind come back in its array dtype (int64, float64, bool, str); mixed ones as objects
        kinds = {type(c) for c in self.classes_}
        if len(kinds) == 1 and kinds.pop() in (str, int, float, bool):
            return np.asarray(out.tolist())
        return out

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, X: Any, y: Any = None, *, unseen_labels: str | None = None, name: str = "evaluation",
                 return_probabilities: bool = False):
        """Accuracy, macro-F1, per-class F1, log loss and the confusion matrix on labelled data, with the 1-NN baselines.

        Labels training never saw: ``data.unseen_labels`` (or ``unseen_labels``):
        ``'error'`` raises ``ValueError`` naming them, ``'skip'`` leaves them out
        (``skipped_unseen`` counts them). For series, ``metrics["baselines"]``
        holds the accuracy of 1-NN Euclidean and 1-NN DTW on the same data, and
        ``metrics["beaten_by"]`` the baselines that are more accurate than the
        model. The result is also kept in ``scores_[name]`` for :meth:`report`.

        Returns:
            the metrics dict, or ``(metrics, examples, probabilities)`` with
            ``return_probabilities`` (what the command line writes out).
        """
        self._require_fitted("evaluate")
        from .metrics import accuracy, confusion_matrix, f1_per_class, macro_f1

        examples = self._examples(X, y, who="evaluate")
        if examples.labels is None:
            raise ValueError(f"SequenceClassifier.evaluate: {examples.source} has no labels "
                             f"(y, or a {self.config_.data.label_column!r} column) to evaluate against")
        policy = unseen_labels or self.config_.data.unseen_labels
        known = set(self.classes_)
        unseen = _sorted_classes([v for v in examples.labels if v not in known])
        skipped = 0
        if unseen:
            if policy == "error":
                raise ValueError(f"SequenceClassifier.evaluate: {examples.source} has labels training never saw: {unseen[:10]} "
                                 f"(the model knows {self.classes_[:10]}); set data.unseen_labels skip to leave them out")
            keep = [i for i, v in enumerate(examples.labels) if v in known]
            skipped = len(examples) - len(keep)
            self.log.info(f"note: {skipped} example(s) with labels unseen in training ({unseen[:10]}) left out of the metrics")
            examples = examples.subset(keep)
            if not len(examples):
                raise ValueError(f"SequenceClassifier.evaluate: no example of {examples.source} has a label the model knows")
        probs, cut = self._proba(examples)
        truth = np.empty(len(examples), dtype=object)
        truth[:] = examples.labels
        pred = np.empty(len(probs), dtype=object)
        pred[:] = [self.classes_[k] for k in probs.argmax(1)]
        labels = np.empty(len(self.classes_), dtype=object)
        labels[:] = self.classes_
        index = {c: k for k, c in enumerate(self.classes_)}
        p_true = probs[np.arange(len(pred)), [index[v] for v in examples.labels]]
        metrics = {
            "examples": len(examples), "model": self.model_name, "accuracy": accuracy(truth, pred),
            "log_loss": float(-np.log(np.clip(p_true, 1e-12, 1.0)).mean()) + 0.0,  # + 0.0: no -0.0
            "macro_f1": macro_f1(truth, pred, labels=labels),
            "per_class_f1": {str(c): f for c, f in zip(self.classes_, f1_per_class(truth, pred, labels=labels).tolist())},
            "classes": list(self.classes_), "confusion_matrix": confusion_matrix(truth, pred, labels=labels).tolist(),
            "truncated": cut, "skipped_unseen": skipped,
        }
        if self.neighbours_ is not None and examples.kind == "series":
            metrics["baselines"] = self._baselines(examples, truth)
            metrics["beaten_by"] = [k for k, b in metrics["baselines"].items()
                                    if b.get("accuracy") is not None and b["accuracy"] > metrics["accuracy"]]
        self.scores_ = getattr(self, "scores_", {}) or {}
        self.scores_[name] = metrics
        return (metrics, examples, probs) if return_probabilities else metrics

    def _baselines(self, examples: Examples, truth: np.ndarray) -> dict:
        """1-NN Euclidean and 1-NN DTW against the training series, on ``examples``.

        DTW uses the full window, or a 10 % Sakoe-Chiba band (``window`` in the
        result) when the full tables would exceed ``select.dtw_max_cells``, or
        is skipped (``skipped`` says why) when even that would.
        """
        from .metrics import accuracy, macro_f1
        from .neighbours import NN_METRICS, distances, dtw_plan

        refs = self.neighbours_.references()
        ref_labels = np.empty(len(refs), dtype=object)
        ref_labels[:] = [self.classes_[k] for k in self.neighbours_.labels.tolist()]
        labels = np.empty(len(self.classes_), dtype=object)
        labels[:] = self.classes_
        out = {}
        for metric, title in NN_METRICS.items():
            window = None
            if metric == "dtw":
                ok, window, note = dtw_plan(examples.items, refs, self.config_.select.dtw_max_cells)
                if not ok:
                    out[title] = {"accuracy": None, "skipped": note}
                    continue
            t0 = time.perf_counter()
            pred = ref_labels[distances(metric, examples.items, refs, window).argmin(axis=1)]
            out[title] = {"accuracy": accuracy(truth, pred), "macro_f1": macro_f1(truth, pred, labels=labels),
                          "seconds": round(time.perf_counter() - t0, 2), **({"window": window} if window else {})}
        return out

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """Write the model folder (weights, encoder, classes, configuration; the training series for the baselines)."""
        self._require_fitted("save")
        from ..model_folder import save_estimator
        from .model import KIND, KIND_ENSEMBLE, EnsembleClassifier
        from .neighbours import KIND_NN

        path = Path(path)
        if self.encoder_ is None:
            kind = KIND_NN
        else:
            kind = KIND_ENSEMBLE if isinstance(self.model_, EnsembleClassifier) else KIND
        extra = {"encoder": None if self.encoder_ is None else self.encoder_.to_dict(), "classes": list(self.classes_),
                 "selection": self.selection_, "fit": getattr(self, "fit_info_", {}), "blend": getattr(self, "blend_", None)}
        save_estimator(self, path, self.model_, kind, extra)
        if self.neighbours_ is not None and self.encoder_ is not None:
            from ...train.checkpoint import save_model

            save_model(path / "neighbours", self.neighbours_, KIND_NN, self.neighbours_.config)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SequenceClassifier":
        """Open a model folder written by :meth:`save` (or by ``lstmkit classify train``)."""
        from ...train.checkpoint import load_model
        from ..model_folder import load_estimator
        from . import model as _networks  # noqa: F401  (registers the network kinds)
        from . import neighbours as _neighbours  # noqa: F401  (registers classify-nn)
        from .encoding import SequenceEncoder

        est, model, extra = load_estimator(cls, path)
        est.model_ = model
        est.encoder_ = SequenceEncoder.from_dict(extra["encoder"]) if extra.get("encoder") else None
        # JSON keeps tuples as lists; a list was never a label (labels are hashable), so it was a tuple
        est.classes_ = [tuple(c) if isinstance(c, list) else c for c in extra["classes"]]
        est.selection_ = extra.get("selection")
        est.blend_ = extra.get("blend")
        est.fit_info_ = extra.get("fit", {})
        est.history_ = []
        est.scores_ = {}
        est.neighbours_ = None
        if est.encoder_ is None:
            est.neighbours_ = model
        elif (Path(path) / "neighbours").is_dir():
            est.neighbours_, _ = load_model(Path(path) / "neighbours", kinds=("classify-nn",), who="SequenceClassifier.load")
        if est.blend_ and est.neighbours_ is None:
            from ...train.checkpoint import ModelFolderError

            raise ModelFolderError(f"SequenceClassifier.load: {Path(path)}: the model blends in 1-NN, but the folder "
                                   f"'neighbours' with the training series is missing")
        return est

    def _export_kind(self) -> str:
        from .model import KIND, KIND_ENSEMBLE, EnsembleClassifier
        from .neighbours import KIND_NN

        return KIND_NN if self.encoder_ is None else KIND_ENSEMBLE if isinstance(self.model_, EnsembleClassifier) else KIND

    def _export_graphs(self, steps: int | None) -> list:
        """``export``: the network (an ensemble: the log of its mean probabilities) on encoded sequences padded
        to ``steps`` (default: the longest training sequence), ``(x (B, T) ids or (B, T, F), lengths (B,)) ->
        scores (B, K)``; tokenising or the series encoding stays outside (its parameters, and the class names,
        are in the file's metadata: ``lstmkit.encoder``, ``lstmkit.classes``). A blend with 1-NN exports its
        network part (the file says so); a 1-NN model has no network: a ``ValueError``."""
        from .onnx_graphs import graphs

        return graphs(self, steps)

    def report(self, path: str | Path, plots: dict[str, Path] | None = None) -> Path:
        """Write the HTML report of the last fit and the evaluations since (``scores_``) to ``path``."""
        self._require_fitted("report")
        from .report import write_report

        return write_report(self, Path(path), plots or {})
