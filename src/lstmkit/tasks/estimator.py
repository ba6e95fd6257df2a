"""The shape every task shares: an estimator on in-memory data.

Each task (:class:`~lstmkit.Forecaster`, :class:`~lstmkit.AnomalyDetector`,
:class:`~lstmkit.SequenceClassifier`, :class:`~lstmkit.SequenceTagger`,
:class:`~lstmkit.LanguageModel`, :class:`~lstmkit.Translator`) is a subclass of
:class:`Estimator`:

- constructed from keyword arguments that name fields of the task's
  configuration dataclass, flat where the name is unique
  (``hidden_size=64``, ``epochs=20``, ``horizon=12``) and ``section__field``
  otherwise (``train__seed=1``), or from a whole ``config=``; unknown names
  are refused with a suggestion;
- ``fit(...)`` on DataFrames, arrays or lists of strings returns ``self``;
  ``predict``, ``evaluate`` (a dict of metrics) and the task's own verbs;
- ``save(path)`` writes a model folder (:mod:`lstmkit.train.checkpoint`) and
  the classmethod ``load(path)`` reads it back; ``lstmkit.load(path)`` opens
  any folder through :mod:`lstmkit.tasks.registry`;
- nothing is written to disk unless asked: ``save``, ``report`` or an explicit
  ``log_dir`` to ``fit``;
- progress lines go to the ``lstmkit.tasks`` logger (the command line prints
  them; a library user sees them after ``logging.basicConfig(level="INFO")``),
  progress bars follow ``train.progress_bar``.

The command line (:mod:`lstmkit.cli`) only reads files, makes run folders and
prints; everything else happens in the estimators.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..config import config_with_params, iter_fields, leaf_names, to_dict

E = TypeVar("E", bound="Estimator")


class NotFittedError(ValueError, AttributeError):
    """An estimator method that needs a trained model was called before ``fit`` or ``load``."""


def task_logger(task: str) -> logging.Logger:
    """The logger a task reports its progress lines on (``lstmkit.tasks.<task>``)."""
    return logging.getLogger(f"lstmkit.tasks.{task}")


class Estimator:
    """Base class of the task estimators (see the module docstring for the shared contract).

    Subclasses set :attr:`config_class` (the task's configuration dataclass),
    :attr:`kinds` (the model-folder kinds they save and load) and
    :attr:`task` (the logger name), and implement ``fit``, ``predict``,
    ``evaluate``, ``save`` and ``load``.

    Args:
        config: a configuration instance or nested dict to start from
            (default: the task's defaults).
        **params: configuration fields by name (see :meth:`get_params`).
    """

    config_class: ClassVar[type]
    kinds: ClassVar[tuple[str, ...]] = ()
    task: ClassVar[str] = "task"

    def __init__(self, config: Any = None, **params: Any) -> None:
        self.config = config_with_params(self.config_class, config, params, type(self).__name__)
        self.log = task_logger(self.task)

    # ------------------------------------------------------------ parameters
    @classmethod
    def param_names(cls) -> dict[str, str]:
        """``{keyword: dotted field}`` for every configuration field: flat where unique, ``a__b`` where not."""
        leaves = leaf_names(cls.config_class)
        out = {}
        for dotted, _, _, _ in iter_fields(cls.config_class):
            short = dotted.rsplit(".", 1)[-1]
            out[short if len(leaves[short]) == 1 else dotted.replace(".", "__")] = dotted
        return out

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every configuration field by its keyword name (what the constructor takes)."""
        flat = to_dict(self.config)
        out = {}
        for key, dotted in self.param_names().items():
            node: Any = flat
            for part in dotted.split("."):
                node = node[part]
            out[key] = node
        return out

    def set_params(self: E, **params: Any) -> E:
        """Change configuration fields by keyword name (validated); returns ``self``."""
        self.config = config_with_params(self.config_class, self.config, params, type(self).__name__)
        return self

    def __repr__(self) -> str:
        default = type(self)(config=None).get_params()
        changed = {k: v for k, v in self.get_params().items() if default.get(k) != v}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------ state
    @property
    def is_fitted(self) -> bool:
        """Whether a trained model is held (after ``fit`` or ``load``)."""
        return getattr(self, "model_", None) is not None

    def _require_fitted(self, method: str) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__}.{method}: no trained model yet; call fit() or "
                                 f"{type(self).__name__}.load(path) first")

    # ------------------------------------------------------------ the verbs every task has
    def fit(self: E, *args: Any, **kwargs: Any) -> E:
        raise NotImplementedError

    #: what to call instead where a task has no ``predict`` (its own verbs)
    _instead_of_predict = ""

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        if self._instead_of_predict:
            raise TypeError(f"{type(self).__name__}.predict: this task has no single prediction; "
                            f"{self._instead_of_predict}")
        raise NotImplementedError

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        raise NotImplementedError

    @classmethod
    def load(cls: type[E], path: str | Path) -> E:
        raise NotImplementedError

    # ------------------------------------------------------------ export
    def export(self, path: str | Path, format: str = "onnx", *, opset: int | None = None,
               steps: int | None = None) -> list[Path]:
        """Write the fitted network as an ONNX graph (or graphs) for use without lstmkit.

        The graph is the task's network on encoded inputs; scaling,
        tokenising and decoding stay outside, and what they need (scaling
        parameters, vocabularies, class and tag names, CRF scores) is written
        into the file's ``metadata_props`` under ``lstmkit.*``
        (:func:`lstmkit.tasks.export.read_metadata`); its ``doc_string`` says
        what the graph computes. The batch dimension is dynamic; every time
        axis has the length the graph was exported with (``steps``).

        ==================  ============================================================
        Forecaster          ``(y (B, L)[, past][, future]) -> forecast (B, H, Q)`` on scaled
                            windows (a classical model: ``ValueError``)
        AnomalyDetector     prediction: ``(x (B, T, C), h0, c0) -> (pred, h_n, c_n)``;
                            reconstruction: ``x (B, T, C) -> recon``, both on scaled rows
        SequenceClassifier  ``(x, lengths) -> scores (B, K)`` (a 1-NN model: ``ValueError``)
        SequenceTagger      ``(words, lengths[, chars][, shapes]) -> emissions (B, T, K)``;
                            CRF Viterbi decoding stays outside
        LanguageModel       ``(ids (B, T), h0, c0) -> (logits, h_n, c_n)``, ``T = steps`` (1)
        Translator          two graphs: the encoder ``(src, src_len) -> (enc, mask, h0, c0,
                            ...)`` and one decoder step (``<stem>.step.onnx``)
        ==================  ============================================================

        Args:
            path: the ``.onnx`` file; a task that exports two graphs writes
                the second beside it (``<stem>.step.onnx``).
            format: ``"onnx"`` (the only one).
            opset: ONNX opset; ``None`` for the exporter's default.
            steps: the graph's sequence length where the task lets you choose
                (``None``: the task's default, see its notes).

        Returns:
            The files written.

        Raises:
            NotFittedError: before ``fit``/``load``.
            ValueError: an unknown format, an unwritable ``path``, or a model with no network to export.
        """
        from .export import FORMATS, check_out_path, write_graphs

        who = f"{type(self).__name__}.export"
        if format not in FORMATS:
            raise ValueError(f"{who}: expected format one of {list(FORMATS)}, got {format!r}")
        if steps is not None and int(steps) < 1:
            raise ValueError(f"{who}: expected steps >= 1, got {steps}")
        self._require_fitted("export")
        check_out_path(path, who)
        graphs = self._export_graphs(None if steps is None else int(steps))
        kind = getattr(self, "kinds", ("",))[0]
        meta = {"task": self.task, "estimator": type(self).__name__, "kind": self._export_kind() or kind}
        from .. import __version__

        meta["version"] = __version__
        return write_graphs(who, graphs, path, opset=opset, metadata=meta)

    def _export_kind(self) -> str | None:
        """The model-folder kind of the fitted model (``None``: the first of :attr:`kinds`)."""
        return None

    def _export_graphs(self, steps: int | None) -> list:
        """The :class:`~lstmkit.tasks.export.ExportGraph` list of this task (overridden by each task)."""
        raise ValueError(f"{type(self).__name__}.export: this estimator has no ONNX export")


__all__ = ["Estimator", "NotFittedError", "task_logger"]
