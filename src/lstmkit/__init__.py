"""lstmkit: Long Short-Term Memory networks from the gates up.

Cells (:mod:`lstmkit.cells`) are the reference equations; layers
(:mod:`lstmkit.nn`) are drop-in replacements for ``torch.nn.LSTM``/``GRU``/
``RNN``; engines (:mod:`lstmkit.kernels`) run them fast. The tasks are
estimators on in-memory data (:class:`Forecaster`, :class:`AnomalyDetector`,
:class:`SequenceClassifier`, :class:`SequenceTagger`, :class:`LanguageModel`,
:class:`Translator`), each with ``fit``, ``predict``, ``evaluate``, ``save`` and
``load``; :func:`load` opens any saved model folder.

Everything is imported on first use, so ``import lstmkit`` (and ``lstmkit
--help``) loads neither torch nor pandas.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

#: public name -> "module:attribute" (or "module" for a sub-package), imported on first access
_LAZY = {
    "cells": "lstmkit.cells",
    "kernels": "lstmkit.kernels",
    "nn": "lstmkit.nn",
    "LSTM": "lstmkit.nn:LSTM",
    "GRU": "lstmkit.nn:GRU",
    "RNN": "lstmkit.nn:RNN",
    "Recurrent": "lstmkit.nn:Recurrent",
    "Forecaster": "lstmkit.tasks.forecast.estimator:Forecaster",
    "AnomalyDetector": "lstmkit.tasks.anomaly.estimator:AnomalyDetector",
    "SequenceClassifier": "lstmkit.tasks.classify.estimator:SequenceClassifier",
    "SequenceTagger": "lstmkit.tasks.tag.estimator:SequenceTagger",
    "LanguageModel": "lstmkit.tasks.lm.estimator:LanguageModel",
    "Translator": "lstmkit.tasks.translate.estimator:Translator",
    "load": "lstmkit.tasks.registry:load",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'lstmkit' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = importlib.import_module(module_name)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
