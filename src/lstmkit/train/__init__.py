"""The fit loop every task shares: Lightning underneath, safetensors checkpoints, dataclass config.

- :func:`fit` / :class:`FitResult` / :class:`TaskModule`: train any model with a ``step(model, batch)`` function.
- :class:`TrainConfig`: optimiser, schedule, early stopping, devices, seeding.
- :func:`save_model`, :func:`load_model`, :func:`register_model`, :class:`ModelFolderError`: model folders
  (safetensors + JSON), checked on load.
- :class:`TrainingDiverged`: what :func:`fit` raises when the loss, a gradient or a weight stops being
  finite (a ``RuntimeError`` whose message is one line, ready to print).
- :func:`seed_everything`; :func:`denormals_flushed` (what :func:`fit` runs in: denormal floats as zero).

Only :class:`TrainConfig` is imported eagerly (the command line builds its
options from it); torch and Lightning load on first use of the rest.
"""

from __future__ import annotations

import importlib

from .config import TrainConfig

_LAZY = {
    "fit": "trainer", "FitResult": "trainer", "TaskModule": "module",
    "save_model": "checkpoint", "load_model": "checkpoint", "read_model_config": "checkpoint",
    "register_model": "checkpoint", "ModelFolderError": "checkpoint", "seed_everything": "seed",
    "TrainingDiverged": "diverged", "denormals_flushed": "trainer",
}

__all__ = ["TrainConfig", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lstmkit.train' has no attribute {name!r}")
