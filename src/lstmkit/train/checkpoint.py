"""Saved models: weights in safetensors plus a JSON config, rebuilt through a registry.

A saved model is a folder::

    model.safetensors   the weights (state_dict of the model)
    config.json         {"kind": ..., "module": ..., "config": {...}, "extra": {...}, "lstmkit_version": ...}

``kind`` names a *builder* registered with :func:`register_model` (``module`` is
where it is registered, imported on load if it is part of lstmkit); loading calls
that builder with the stored config and loads the weights into what it
returns. Nothing is unpickled, so a model folder from anyone is safe to load.
Both files are written atomically (temporary file, then ``os.replace``), the
weights first, so a folder never holds a config that points at missing weights.

Example::

    @register_model("my-task")
    def build(config: dict) -> torch.nn.Module: ...

    save_model("runs/x/model", model, "my-task", config={"hidden": 8}, extra={"scaler": [...]})
    model, meta = load_model("runs/x/model")
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Callable

import torch

from .state_file import atomic_write_bytes, atomic_write_text

WEIGHTS = "model.safetensors"
CONFIG = "config.json"

#: kind -> builder(config: dict) -> nn.Module
_BUILDERS: dict[str, Callable[[dict], torch.nn.Module]] = {}
#: kind -> module that registers it (imported on demand by load_model)
_KNOWN_KINDS = {
    "forecast-lstm": "lstmkit.tasks.forecast.model",
    "lm-lstm": "lstmkit.tasks.lm.model",
    "classify-lstm": "lstmkit.tasks.classify.model",
    "classify-lstm-ensemble": "lstmkit.tasks.classify.model",
    "tag-bilstm-crf": "lstmkit.tasks.tag.model",
}


def register_model(kind: str) -> Callable:
    """Decorator: register ``builder(config) -> nn.Module`` under ``kind``."""

    def deco(builder: Callable[[dict], torch.nn.Module]):
        _BUILDERS[kind] = builder
        _KNOWN_KINDS.setdefault(kind, builder.__module__)
        return builder

    return deco


def builder_for(kind: str, module: str | None = None) -> Callable[[dict], torch.nn.Module]:
    """The builder registered as ``kind``, importing the lstmkit module that registers it if needed.

    ``module`` (as recorded by :func:`save_model`) is imported only when it is
    inside the ``lstmkit`` package: a model folder cannot make us import anything else.
    """
    if kind not in _BUILDERS:
        name = _KNOWN_KINDS.get(kind) or module
        if name and (name == "lstmkit" or name.startswith("lstmkit.")):
            importlib.import_module(name)
    if kind not in _BUILDERS:
        raise ValueError(f"load_model: expected a registered model kind (one of {sorted(set(_BUILDERS) | set(_KNOWN_KINDS))}), "
                         f"got {kind!r}; import the module that registers it first")
    return _BUILDERS[kind]


def save_model(directory: str | Path, model: torch.nn.Module, kind: str, config: dict[str, Any],
               extra: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s weights and its JSON config into ``directory``; returns the folder."""
    from safetensors.torch import save

    from lstmkit import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write_bytes(directory / WEIGHTS, save(tensors, metadata={"kind": kind}))
    meta = {"kind": kind, "module": _KNOWN_KINDS.get(kind), "config": config, "extra": extra or {},
            "lstmkit_version": __version__}
    atomic_write_text(directory / CONFIG, json.dumps(meta, indent=2, allow_nan=True))
    return directory


def read_model_config(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"load_model: expected {CONFIG} in {directory}, found none (is this a model folder?)")
    meta = json.loads(path.read_text())
    if not isinstance(meta, dict) or "kind" not in meta or "config" not in meta:
        raise ValueError(f"load_model: {path} is not an lstmkit model config (expected keys 'kind' and 'config')")
    return meta


def load_model(directory: str | Path, map_location: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model saved in ``directory``; returns ``(model in eval mode, meta)``."""
    from safetensors.torch import load_file

    meta = read_model_config(directory)
    model = builder_for(meta["kind"], meta.get("module"))(meta["config"])
    weights = Path(directory) / WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"load_model: expected {WEIGHTS} in {directory}, found none")
    state = load_file(str(weights), device=str(map_location))
    model.load_state_dict(state)
    model.to(map_location).eval()
    return model, meta
