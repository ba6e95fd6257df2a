"""Saving and loading an estimator whose trained state is one registered model plus JSON-able extras.

The classification and tagging estimators (and any other that keeps a network
and its encoders) store the same things in a model folder
(:mod:`lstmkit.train.checkpoint`): the module's weights and config under its
kind, the estimator's configuration as the user gave it (``config``) and as
it was resolved from the data (``run_config``), and task extras (encoders,
class names, schemes). These two functions are that part, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import from_dict, to_dict


def save_estimator(estimator, directory: str | Path, model, kind: str, extra: dict[str, Any]) -> Path:
    """Write ``model`` (kind ``kind``) with ``extra`` and the estimator's configurations into ``directory``."""
    from ..train.checkpoint import save_model

    resolved = getattr(estimator, "config_", None) or estimator.config
    return save_model(directory, model, kind, model.config,
                      extra={**extra, "config": to_dict(estimator.config), "run_config": to_dict(resolved)})


def load_estimator(cls, directory: str | Path):
    """``(estimator, model, extra)`` from a folder written by :func:`save_estimator` (kinds ``cls.kinds``).

    The estimator gets its configuration back (``config`` as the user gave it,
    ``config_`` as the run resolved it); the caller sets the rest of its state
    from ``model`` and ``extra``. Folders written before ``config`` was kept
    use ``run_config`` for both.
    """
    from ..train.checkpoint import ModelFolderError, load_model

    model, meta = load_model(directory, kinds=cls.kinds, who=f"{cls.__name__}.load")
    extra = meta["extra"]
    if not isinstance(extra.get("run_config"), dict):
        raise ModelFolderError(f"{cls.__name__}.load: {Path(directory) / 'config.json'}: field 'extra.run_config': "
                               f"expected an object, got {type(extra.get('run_config')).__name__}")
    try:
        resolved = from_dict(cls.config_class, extra["run_config"])
        given = from_dict(cls.config_class, extra.get("config") or extra["run_config"])
    except ValueError as e:
        raise ModelFolderError(f"{cls.__name__}.load: {Path(directory) / 'config.json'}: field 'extra': {e}") from None
    estimator = cls(config=given)
    estimator.config_ = resolved
    return estimator, model, extra
