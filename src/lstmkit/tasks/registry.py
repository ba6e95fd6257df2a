"""Which estimator opens a model folder: a table in code, filled in by the task packages.

``lstmkit.load(path)`` reads the folder's ``kind`` and looks it up here; the
module it imports comes from this table, never from the folder, and a kind
that is not in the table is refused with one line. A task package that adds
a model kind adds its row here (or calls :func:`register_estimator` from code).
"""

from __future__ import annotations

import importlib
from pathlib import Path

#: model-folder kind -> "module:EstimatorClass"
_ESTIMATORS: dict[str, str] = {
    "forecast-lstm": "lstmkit.tasks.forecast.estimator:Forecaster",
    "anomaly-prediction": "lstmkit.tasks.anomaly.estimator:AnomalyDetector",
    "anomaly-reconstruction": "lstmkit.tasks.anomaly.estimator:AnomalyDetector",
    "classify-lstm": "lstmkit.tasks.classify.estimator:SequenceClassifier",
    "classify-lstm-ensemble": "lstmkit.tasks.classify.estimator:SequenceClassifier",
    "classify-nn": "lstmkit.tasks.classify.estimator:SequenceClassifier",
    "tag-bilstm-crf": "lstmkit.tasks.tag.estimator:SequenceTagger",
    "lm-lstm": "lstmkit.tasks.lm.estimator:LanguageModel",
    "translate-seq2seq": "lstmkit.tasks.translate.estimator:Translator",
}


def register_estimator(kind: str, target: str) -> None:
    """Map model-folder ``kind`` to ``"module:Class"`` (from code; never from a file)."""
    _ESTIMATORS[kind] = target


def known_kinds() -> list[str]:
    return sorted(_ESTIMATORS)


def estimator_module(kind: str) -> str:
    """The module that holds the estimator of ``kind`` (from the table; nothing is imported)."""
    from ..train.checkpoint import ModelFolderError

    target = _ESTIMATORS.get(kind)
    if target is None:
        raise ModelFolderError(f"lstmkit.load: unknown model kind {kind!r}; expected one of {known_kinds()}")
    return target.partition(":")[0]


def estimator_class(kind: str) -> type:
    """The estimator class that saves and loads folders of ``kind``; ``ValueError`` for an unknown kind."""
    from ..train.checkpoint import ModelFolderError

    target = _ESTIMATORS.get(kind)
    if target is None:
        raise ModelFolderError(f"lstmkit.load: unknown model kind {kind!r}; expected one of {known_kinds()}")
    module_name, _, name = target.partition(":")
    return getattr(importlib.import_module(module_name), name)


def load(path: str | Path):
    """Open any lstmkit model folder as its estimator (``Forecaster``, ``SequenceClassifier``, ...)."""
    from ..train.checkpoint import model_folder, read_model_config

    path = model_folder(path)  # a run folder stands for its model/
    meta = read_model_config(path)
    return estimator_class(meta["kind"]).load(path)
