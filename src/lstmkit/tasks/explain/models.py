"""Load any lstmkit model folder for explaining, and trace its recurrent layer on one input.

A folder is opened by its ``kind``, through the registry that
``lstmkit.load(path)`` uses (:mod:`lstmkit.tasks.registry`): the estimator
class comes from that table in code, never from the folder. An estimator
that can be explained has a method ``explain_target()`` returning a
:class:`~lstmkit.explain.traces.TraceTarget`:

- ``network``: the trained ``nn.Module`` the task predicts with;
- ``layer``: the recurrent layer inside it whose gates are traced (an
  lstmkit LSTM/GRU/RNN; for an encoder-decoder, the encoder);
- ``input_kind``: ``"text"`` or ``"series"`` (what ``--text``/``--series`` give);
- ``prepare(data)``: the raw input -> ``(labels, run)``, one label per step
  (characters, words, times) and a call that runs the network on that input
  the way the task does (its tokenising, scaling, windowing).

Each task feeds its LSTM differently, so rather than rebuild each input
pipeline, the task's own code runs on the input while a
:class:`~lstmkit.explain.traces.LayerInputRecorder` notes what the layer was
called with; the layer then runs once more on exactly that with
``return_gates=True`` (:func:`~lstmkit.explain.traces.trace_target`).

=======================  ===========  ==========================================
kind                     input        steps
=======================  ===========  ==========================================
``lm-lstm``              text         the tokenizer's tokens (characters, words)
``classify-lstm``        text/series  words, or the series' steps
``tag-bilstm-crf``       text         whitespace-separated words (both directions)
``forecast-lstm``        series       the last ``input_size`` values (first ensemble member)
``anomaly-prediction``   series       every row (also ``anomaly-reconstruction``: its encoder)
``translate-seq2seq``    text         the source tokens, through the encoder (once its
                                      estimator has ``explain_target``)
=======================  ===========  ==========================================

Kinds whose estimator has no ``explain_target`` yet (forecast, anomaly,
classify and tag, while they move to estimators) are opened by the adapters
in :data:`LEGACY_LOADERS`, written against those tasks' current classes; an
adapter goes once its task's estimator provides ``explain_target``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
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
    estimator: object = None  # the fitted estimator, when the folder was opened through the registry

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
                            meta={"kind": self.kind, "model": self.directory, "input": self.input_kind})


# ------------------------------------------------------------------ per task
def _classify(directory: Path) -> Explainable:
    from ..classify.data import Examples
    from ..classify.estimator import SequenceClassifier

    clf = SequenceClassifier.load(directory)
    enc = clf.encoder_
    if enc is None:
        raise ValueError(f"explain: {directory} holds a {clf.model_name} classifier (the cross-validation chose it over "
                         f"the networks): it has no LSTM gates to show")

    def run(data):
        if enc.kind == "text":
            ids = enc.tokenizer.encode(data)
            words = enc.tokenizer.tokenize(data) if hasattr(enc.tokenizer, "tokenize") else []
            labels = words if len(words) == len(ids) else [enc.tokenizer.decode([i]) for i in ids]
            item = data
        else:
            values, labels = read_series(data)
            item = values
        ex = Examples(enc.kind, [item], None, ["input"], "input")
        return labels, lambda: clf.predict_proba(ex)

    return Explainable("classify-lstm", clf.model_, clf.model_.lstm, enc.kind, run, str(directory))


def _tag(directory: Path) -> Explainable:
    from ..tag.estimator import SequenceTagger

    tagger = SequenceTagger.load(directory)

    def run(text: str):
        words = text.split()
        return words, lambda: tagger.predict([words])

    return Explainable("tag-bilstm-crf", tagger.model_, tagger.model_.lstm, "text", run, str(directory))


def _forecast(directory: Path) -> Explainable:
    from ..forecast.estimator import Forecaster
    from ..forecast.lstm_fit import predict_windows
    from ..forecast.selection import label

    fc = Forecaster.load(directory)
    lstm = fc.lstm_
    if lstm is None:
        raise ValueError(f"Explainable: {directory}: this forecaster chose {label(fc.core_.chosen)}, not an LSTM; "
                         "there are no gates to show (force one with --select.model lstm)")
    n = lstm.setup.input_size

    def run(data):
        import numpy as np
        import pandas as pd

        if is_file(data):
            ss = fc.read(str(data))
        else:
            values, _ = read_series(data)
            name = sorted(lstm.transform.scaler.loc)[0]  # numbers are read as the (first) series it was trained on
            ss = fc.read(pd.DataFrame({name: values[:, 0]}), target=name, time="", id="", layout="long",
                         past_covariates=[], future_covariates=[], freq="")
        s = ss.series[0]
        if len(s) < n:
            raise ValueError(f"Explainable: the forecaster reads {n} values, got a series of {len(s)}")
        times = [str(t) for t in s.time][-n:]
        from ...data.series import SeriesSet

        one = SeriesSet([s], ss.source, ss.target, ss.freq, ss.past_names, ss.future_names)
        return times, lambda: predict_windows(lstm.model, lstm.transform, one, [np.array([len(s)])], lstm.horizon, n)

    return Explainable("forecast-lstm", lstm.model, lstm.model.first.encoder, "series", run, str(directory))


def _anomaly(directory: Path) -> Explainable:
    from ..anomaly.detector import LSTMDetector

    det, _ = LSTMDetector.load(directory)
    net = det.model
    layer = net.lstm if hasattr(net, "lstm") else net.encoder  # prediction: lstm; reconstruction: its encoder

    def run(data):
        values, labels = read_series(data)
        if values.shape[1] != det.channels:
            raise ValueError(f"Explainable: the detector reads {det.channels} channels, got {values.shape[1]}")
        x = torch.as_tensor(det.scaler.transform(values), dtype=torch.float32)[None]  # (1, T, C)
        return labels, lambda: net(x)

    return Explainable(f"anomaly-{det.kind}", net, layer, "series", run, str(directory))


#: kind -> adapter for the tasks whose estimator has no ``explain_target`` yet (see the module docstring)
LEGACY_LOADERS = {
    "classify-lstm": _classify,
    "classify-lstm-ensemble": _classify,
    "classify-nn": _classify,  # refused with a message: a 1-NN model has no gates
    "tag-bilstm-crf": _tag,
    "forecast-lstm": _forecast,
    "anomaly-prediction": _anomaly,
    "anomaly-reconstruction": _anomaly,
}


def _explainable_estimator(kind: str):
    """The registry's estimator class for ``kind`` if it can be explained (has ``explain_target``), else ``None``.

    A kind the registry does not know raises :class:`~lstmkit.train.checkpoint.ModelFolderError`;
    an estimator module that does not exist yet (a task still moving to its
    estimator) gives ``None``, so the legacy adapter opens the folder.
    """
    from ..registry import estimator_class, estimator_module

    module = estimator_module(kind)
    try:
        cls = estimator_class(kind)
    except ModuleNotFoundError as e:
        if e.name is not None and module.startswith(e.name):  # the estimator's own module is missing, not a dependency
            return None
        raise
    return cls if callable(getattr(cls, "explain_target", None)) else None


def explainable(est, kind: str, directory: str | Path = "") -> Explainable:
    """:class:`Explainable` from a fitted estimator that has ``explain_target()``."""
    t = est.explain_target()
    if t.input_kind not in ("text", "series"):
        raise ValueError(f"explain: {type(est).__name__}.explain_target: expected input_kind 'text' or 'series', "
                         f"got {t.input_kind!r}")
    return Explainable(kind, t.network, t.layer, t.input_kind, t.prepare, str(directory), est)


def load_explainable(directory: str | Path) -> Explainable:
    """:class:`Explainable` for the model saved in ``directory`` (any task's model folder).

    The folder's kind picks the estimator through the registry
    (``lstmkit.load``'s table); one without ``explain_target`` yet is opened
    by its legacy adapter. An unknown kind is refused in one line.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"load_explainable: expected a model folder, {directory} does not exist")
    meta = read_model_config(directory)
    kind = meta["kind"]
    cls = _explainable_estimator(kind)
    if cls is not None:
        return explainable(cls.load(directory), kind, directory)
    if kind in LEGACY_LOADERS:
        return LEGACY_LOADERS[kind](directory)
    raise ValueError(f"load_explainable: {directory}: a {kind!r} model cannot be traced yet (its estimator has no "
                     f"explain_target()); expected one of {sorted(LEGACY_LOADERS)} or an estimator with explain_target")
