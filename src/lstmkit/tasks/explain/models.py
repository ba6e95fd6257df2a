"""Load any lstmkit model folder for explaining, and trace its recurrent layer on one input.

Each task feeds its LSTM differently (token embeddings, scaled windows,
word features). Rather than rebuild each task's input pipeline, the task's
own prediction code runs on the input while a
:class:`~lstmkit.explain.traces.LayerInputRecorder` notes what the LSTM was
called with; the LSTM then runs once more on exactly that with
``return_gates=True``. The labels of the steps come from the task's own
tokenisation (characters or words) or are the time steps of a series.

=======================  ===========  ==========================================
kind                     input        steps
=======================  ===========  ==========================================
``lm-lstm``              text         the tokenizer's tokens (characters, words)
``classify-lstm``        text/series  words, or the series' steps
``tag-bilstm-crf``       text         whitespace-separated words (both directions)
``forecast-lstm``        series       the last ``input_size`` values (first ensemble member)
``anomaly-prediction``   series       every row (also ``anomaly-reconstruction``: its encoder)
=======================  ===========  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ...explain.traces import LayerInputRecorder, Traces, gates_to_traces
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

    @property
    def cell_names(self) -> tuple[str, ...]:
        return tuple(getattr(self.layer, "gate_names", None) or ())

    def trace(self, data) -> Traces:
        """Gate traces of the layer on ``data`` (the task's own preprocessing)."""
        if self.input_kind == "text" and not isinstance(data, str):
            raise ValueError(f"Explainable: a {self.kind} model reads text, got {type(data).__name__}")
        if self.input_kind == "text" and not data.strip():
            raise ValueError(f"Explainable: expected some text, got {data!r}")
        labels, predict = self.run(data)
        rec = LayerInputRecorder(self.layer)
        self.model.eval()
        with rec, torch.no_grad():
            predict()
        if rec.args is None:
            raise RuntimeError(f"Explainable: the {self.kind} model never called its recurrent layer")
        pinned = getattr(self.layer, "backend", None)
        try:  # a layer pinned to torch's kernels (no gate traces there) runs on the engine auto picks
            if pinned == "torch":
                self.layer.backend = "auto"
            with torch.no_grad():
                res = self.layer(*rec.args, **{**rec.kwargs, "return_gates": True})
        finally:
            if pinned is not None:
                self.layer.backend = pinned
        gates = res[-1]
        T = next(iter(gates[0][0].values())).shape[1 if self.layer.batch_first else 0]
        labels = list(labels)[-T:] if len(labels) >= T else list(labels) + [str(t) for t in range(len(labels), T)]
        return gates_to_traces(gates, labels, self.layer.batch_first, 0,
                               meta={"kind": self.kind, "model": self.directory, "input": self.input_kind})


# ------------------------------------------------------------------ per task
def _lm(directory: Path) -> Explainable:
    from ..lm.api import load_lm

    model, tok = load_lm(directory)

    def run(text: str):
        ids = tok.encode(text)
        if not ids:
            raise ValueError("Explainable: the text gives no tokens")
        # characters keep their own spelling (an unseen one is <unk> to the model, not on the page)
        labels = list(text) if getattr(tok, "kind", "") == "char" and len(ids) == len(text) else [tok.decode([i]) for i in ids]
        return labels, lambda: model(torch.tensor([ids]))

    ex = Explainable("lm-lstm", model, model.lstm, "text", run, str(directory))
    ex.tokenizer = tok
    return ex


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
    from ..forecast.api import Forecaster

    fc = Forecaster.load(directory)

    def run(data):
        import pandas as pd

        from ...data.series import SeriesSet

        if is_file(data):
            dc = fc.data_config(path=str(data))
            from ..forecast.dataset import load_data

            ss = load_data(dc)
        else:
            values, _ = read_series(data)
            name = sorted(fc.transform.scaler.loc)[0]  # numbers are read as the (first) series it was trained on
            frame = pd.DataFrame({name: values[:, 0]})
            path = Path(directory) / ".explain_input.csv"
            frame.to_csv(path, index=False)
            try:
                from ..forecast.dataset import load_data

                ss = load_data(fc.data_config(path=str(path), target=name, time="", id="", layout="long"))
            finally:
                path.unlink(missing_ok=True)
        s = ss.series[0]
        if len(s) < fc.input_size:
            raise ValueError(f"Explainable: the forecaster reads {fc.input_size} values, got a series of {len(s)}")
        times = [str(t) for t in s.time][-fc.input_size:]
        return times, lambda: fc.predict(SeriesSet([s], ss.source, ss.target, ss.freq, ss.past_names, ss.future_names))

    return Explainable("forecast-lstm", fc.model, fc.model.first.encoder, "series", run, str(directory))


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


LOADERS = {
    "lm-lstm": _lm,
    "classify-lstm": _classify,
    "classify-lstm-ensemble": _classify,
    "classify-nn": _classify,  # refused with a message: a 1-NN model has no gates
    "tag-bilstm-crf": _tag,
    "forecast-lstm": _forecast,
    "anomaly-prediction": _anomaly,
    "anomaly-reconstruction": _anomaly,
}


def load_explainable(directory: str | Path) -> Explainable:
    """:class:`Explainable` for the model saved in ``directory`` (any task's model folder)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"load_explainable: expected a model folder, {directory} does not exist")
    meta = read_model_config(directory)
    kind = meta["kind"]
    if kind not in LOADERS:
        raise ValueError(f"load_explainable: expected a model of kind {tuple(LOADERS)}, got {kind!r} in {directory}")
    return LOADERS[kind](directory)
