"""The fit loop every task shares: Lightning underneath, safetensors checkpoints, dataclass config.

- :func:`fit` / :class:`FitResult` / :class:`TaskModule`: train any model with a ``step(model, batch)`` function.
- :class:`TrainConfig`: optimiser, schedule, early stopping, devices, seeding.
- :func:`save_model`, :func:`load_model`, :func:`register_model`: model folders (safetensors + JSON).
- :func:`seed_everything`.
"""

from .checkpoint import load_model, read_model_config, register_model, save_model
from .config import TrainConfig
from .seed import seed_everything

__all__ = ["fit", "FitResult", "TaskModule", "TrainConfig", "save_model", "load_model", "read_model_config",
           "register_model", "seed_everything"]


def __getattr__(name):  # Lightning loads only when the fit loop is used
    if name in ("fit", "FitResult"):
        from . import trainer

        return getattr(trainer, name)
    if name == "TaskModule":
        from .module import TaskModule

        return TaskModule
    raise AttributeError(f"module 'lstmkit.train' has no attribute {name!r}")
