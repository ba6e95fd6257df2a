"""Load any lstmkit model folder for explaining, and trace its recurrent layer on one input.

A folder is opened by its ``kind``, through the registry that
``lstmkit.load(path)`` uses (:mod:`lstmkit.tasks.registry`): the estimator
class comes from that table in code, never from the folder. An estimator
that can be explained has a method ``explain_target()`` returning a
:class:`~lstmkit.explain.traces.TraceTarget`:

- ``network``: the trained ``nn.Module`` the task predicts with;
- ``layer``: the recurrent layer inside it whose gates are traced (an
  lstmkit LSTM/GRU/RNN; for an encoder-decoder, the part asked for);
- ``input_kind``: ``"text"`` or ``"series"`` (what ``--text``/``--series`` give);
- ``prepare(data)``: the raw input -> ``(labels, run)``, one label per step
  (characters, words, times) and a call that runs the network on that input
  the way the task does (its tokenising, scaling, windowing).

Each task feeds its LSTM differently, so rather than rebuild each input
pipeline, the task's own code runs on the input while a
:class:`~lstmkit.explain.traces.LayerInputRecorder` notes what the layer was
called with; the layer then runs once more on exactly that with
``return_gates=True`` (:func:`~lstmkit.explain.traces.trace_target`). A
decoder stepped one position at a time (input feeding) hands over its
gathered input as a :class:`~lstmkit.explain.traces.LayerCall` instead.

An estimator with several recurrent parts names them in ``explain_parts``
and takes ``explain_target(part=...)``; ``lstmkit explain --part`` picks one.

=======================  ===========  ==========================================
kind                     input        steps
=======================  ===========  ==========================================
``lm-lstm``              text         the tokenizer's tokens (characters, words)
``classify-lstm``        text/series  words, or the series' steps
``tag-bilstm-crf``       text         whitespace-separated words (both directions)
``forecast-lstm``        series       the last ``input_size`` values (first ensemble member)
``anomaly-prediction``   series       every row (also ``anomaly-reconstruction``: its encoder)
``translate-seq2seq``    text         ``part="encoder"``: the source subwords (both
                                      directions); ``part="decoder"``: the target
                                      tokens of the model's greedy translation
=======================  ===========  ==========================================

A kind whose estimator has no ``explain_target``, a 1-NN classifier and a
forecaster that chose a classical model are refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from torch import nn

from ...explain.traces import TraceTarget, Traces, trace_target
from ...train.checkpoint import read_model_config


def read_series(source: str | Path | list | np.ndarray, column: str = "") -> tuple[np.ndarray, list[str]]:
    """``(values (T, C), labels)`` from a CSV path (numeric columns, or ``column``) or numbers."""
    if isinstance(source, (str, Path)) and not _looks_numeric(str(source)):
        import pandas as pd

        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"read_series: expected a CSV file, {path} does not exist")
        df = pd.read_csv(path)
        if column:
            if column not in df.columns:
                raise ValueError(f"read_series: expected a column {column!r} in {path}, the columns are {list(df.columns)}")
            cols = [column]
        else:
            cols = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and c.lower() not in ("label", "time")]
        if not cols:
            raise ValueError(f"read_series: expected numeric columns in {path}, got {list(df.columns)}")
        values = df[cols].to_numpy(float)
        tcol = next((c for c in df.columns if c.lower() in ("time", "date", "timestamp", "month")), None)
        labels = [str(v) for v in df[tcol]] if tcol else [str(i) for i in range(len(df))]
        return values, labels
    if isinstance(source, str):
        source = [float(v) for v in source.replace(",", " ").split()]
    values = np.asarray(source, float)
    values = values[:, None] if values.ndim == 1 else values
    if values.ndim != 2 or not len(values):
        raise ValueError(f"read_series: expected a non-empty list of numbers or rows, got shape {values.shape}")
    return values, [str(i) for i in range(len(values))]


def is_file(source) -> bool:
    """``True`` for a path to an existing file (numbers or an over-long string are not)."""
    try:
        return isinstance(source, (str, Path)) and Path(str(source)).is_file()
    except OSError:
        return False


def _looks_numeric(s: str) -> bool:
    try:
        [float(v) for v in s.replace(",", " ").split()]
        return bool(s.strip())
    except ValueError:
        return False


@dataclass
class Explainable:
    """A loaded model, the recurrent layer whose gates are traced, and how inputs reach it.

    ``input_kind`` is ``"text"`` or ``"series"``; ``trace`` takes a string for
    text models and a series (numbers, an array or a CSV path) for series models.
    """

    kind: str
    model: nn.Module
    layer: nn.Module
    input_kind: str
    run: Callable  # input -> (labels, run the task's prediction on it)
    directory: str = ""
    estimator: object = None  # the fitted estimator whose explain_target() gave the rest
    part: str = ""  # an encoder-decoder model's traced part ("encoder", "decoder"); "" for the others

    @property
    def title(self) -> str:
        """The kind, and the part where there is one (``"translate-seq2seq decoder"``)."""
        return f"{self.kind} {self.part}" if self.part else self.kind

    @property
    def cell_names(self) -> tuple[str, ...]:
        return tuple(getattr(self.layer, "gate_names", None) or ())

    def trace(self, data) -> Traces:
        """Gate traces of the layer on ``data`` (the task's own preprocessing)."""
        if self.input_kind == "text" and not isinstance(data, str):
            raise ValueError(f"Explainable: a {self.kind} model reads text, got {type(data).__name__}")
        if self.input_kind == "text" and not data.strip():
            raise ValueError(f"Explainable: expected some text, got {data!r}")
        return trace_target(TraceTarget(self.model, self.layer, self.input_kind, self.run), data,
                            meta={"kind": self.kind, "model": self.directory, "input": self.input_kind,
                                  **({"part": self.part} if self.part else {})})


def _explainable_estimator(kind: str, directory: Path) -> type:
    """The registry's estimator class for ``kind``; refused in one line when it has no ``explain_target``.

    A kind the registry does not know raises :class:`~lstmkit.train.checkpoint.ModelFolderError`.
    """
    from ..registry import estimator_class, estimator_module

    module = estimator_module(kind)
    try:
        cls = estimator_class(kind)
    except ModuleNotFoundError as e:
        if e.name is None or not module.startswith(e.name):  # a dependency is missing, not the estimator's module
            raise
        cls = None
    if cls is None or not callable(getattr(cls, "explain_target", None)):
        got = f"no module {module}" if cls is None else f"{cls.__module__}.{cls.__name__} without one"
        raise ValueError(f"load_explainable: {directory}: a {kind!r} model cannot be traced yet: expected an estimator "
                         f"with explain_target(), got {got}")
    return cls


def explainable(est, kind: str, directory: str | Path = "", part: str | None = None) -> Explainable:
    """:class:`Explainable` from a fitted estimator that has ``explain_target()``.

    ``part``: for an estimator with several recurrent parts (its
    ``explain_parts``, e.g. a translator's ``("encoder", "decoder")``), the one
    to trace (default: the first); ``None`` for the others.
    """
    who = f"explain: {directory}" if str(directory) else "explain"
    parts = tuple(getattr(est, "explain_parts", ()) or ())
    if part is not None and not parts:
        raise ValueError(f"{who}: a {kind} model has one recurrent network to trace; --part (got {part!r}) applies "
                         "to encoder-decoder models such as translate-seq2seq")
    if parts:
        part = parts[0] if part is None else part
        if part not in parts:
            raise ValueError(f"{who}: a {kind} model has the parts {', '.join(parts)}; expected --part one of "
                             f"them, got {part!r}")
    try:
        t = est.explain_target(part=part) if parts else est.explain_target()
    except ValueError as e:  # a model without gates (a 1-NN classifier, a classical forecaster)
        raise ValueError(f"{who}: {e}") from None
    if t.input_kind not in ("text", "series"):
        raise ValueError(f"{who}: {type(est).__name__}.explain_target: expected input_kind 'text' or 'series', "
                         f"got {t.input_kind!r}")
    return Explainable(kind, t.network, t.layer, t.input_kind, t.prepare, str(directory), est, part or "")


def load_explainable(directory: str | Path, part: str | None = None) -> Explainable:
    """:class:`Explainable` for the model saved in ``directory`` (any task's model folder).

    The folder's kind picks the estimator through the registry
    (``lstmkit.load``'s table), whose ``explain_target()`` says what to
    trace; ``part`` picks the encoder or the decoder of an encoder-decoder
    model (default: the encoder). An unknown kind, an estimator without
    ``explain_target`` or a model without gates (a 1-NN classifier, a
    classical forecaster) is refused in one line naming the folder.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"load_explainable: expected a model folder, {directory} does not exist")
    kind = read_model_config(directory)["kind"]
    cls = _explainable_estimator(kind, directory)
    return explainable(cls.load(directory), kind, directory, part)
