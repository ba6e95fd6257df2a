"""Saved models: weights in safetensors plus a JSON config, rebuilt through a registry, checked on load.

A saved model is a folder::

    model.safetensors   the weights (state_dict of the model)
    config.json         {"kind": ..., "config": {...}, "extra": {...}, "weights_sha256": ..., "lstmkit_version": ...}

``kind`` names a *builder* registered with :func:`register_model` by the code
that owns the model (each task's model module); loading calls that builder
with the stored config and loads the weights into what it returns. This module
knows no task: a kind that nobody registered is refused, and nothing named in
a file is ever imported. Nothing is unpickled, so a model folder from anyone is
safe to open.

What loading checks, each failure one line naming the file (and the field),
raised as :class:`ModelFolderError` (a ``ValueError``):

- ``config.json`` is JSON with the keys above and names no module to import;
- ``model.safetensors`` is a whole safetensors file (not truncated, not empty)
  whose SHA-256 is the one recorded at save time;
- the config is the one the weights were saved with (its digest is stored in
  the weights' metadata), so an edited ``hidden_size`` or window length is
  caught instead of loading into a different model;
- every tensor has the shape the rebuilt model expects, and none is missing
  or left over.

Both files are written atomically (temporary file, then ``os.replace``), the
weights first, so a folder never holds a config that points at missing weights.

Example::

    @register_model("my-task")
    def build(config: dict) -> torch.nn.Module: ...

    save_model("runs/x/model", model, "my-task", config={"hidden": 8}, extra={"scaler": [...]})
    model, meta = load_model("runs/x/model")
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

from ..io.files import atomic_write_bytes, atomic_write_text

WEIGHTS = "model.safetensors"
CONFIG = "config.json"

#: kind -> builder(config: dict) -> nn.Module, filled in by the modules that own the models
_BUILDERS: dict[str, Callable[[dict], torch.nn.Module]] = {}


class ModelFolderError(ValueError):
    """A model folder that cannot be loaded as it is: damaged, edited, foreign or of another kind."""


def register_model(kind: str) -> Callable:
    """Decorator: register ``builder(config) -> nn.Module`` under ``kind``."""

    def deco(builder: Callable[[dict], torch.nn.Module]):
        _BUILDERS[kind] = builder
        return builder

    return deco


def registered_kinds() -> list[str]:
    return sorted(_BUILDERS)


def builder_for(kind: str) -> Callable[[dict], torch.nn.Module]:
    """The builder registered as ``kind``; :class:`ModelFolderError` if none is."""
    if kind not in _BUILDERS:
        raise ModelFolderError(f"load_model: unknown model kind {kind!r}; expected one of {registered_kinds()}")
    return _BUILDERS[kind]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _config_digest(config: Any) -> str:
    return _digest(json.dumps(config, sort_keys=True, allow_nan=True).encode())


def save_model(directory: str | Path, model: torch.nn.Module | dict[str, torch.Tensor], kind: str,
               config: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    """Write the weights of ``model`` (a module or a state dict) and its JSON config into ``directory``."""
    from safetensors.torch import save

    from lstmkit import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = model.state_dict() if isinstance(model, torch.nn.Module) else model
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    blob = save(tensors, metadata={"kind": kind, "config_sha256": _config_digest(config)})
    atomic_write_bytes(directory / WEIGHTS, blob)
    meta = {"kind": kind, "config": config, "extra": extra or {}, "weights_sha256": _digest(blob),
            "lstmkit_version": __version__}
    atomic_write_text(directory / CONFIG, json.dumps(meta, indent=2, allow_nan=True))
    return directory


def model_folder(path: str | Path) -> Path:
    """``path``, or its ``model/`` folder where ``path`` is a run folder (no
    ``config.json`` of its own, one in ``model/``): what a command's output
    folder holds and what users pass for it."""
    path = Path(path)
    if not (path / CONFIG).is_file() and (path / "model" / CONFIG).is_file():
        return path / "model"
    return path


def read_model_config(directory: str | Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a model folder, checked for shape; errors name the file."""
    directory = Path(directory)
    path = directory / CONFIG
    if not directory.is_dir():
        raise FileNotFoundError(f"load_model: model folder not found: {directory}")
    if not path.is_file():
        raise FileNotFoundError(f"load_model: expected {CONFIG} in {directory}, found none (is this a model folder?)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ModelFolderError(f"{path}: expected UTF-8 JSON, got binary data") from None
    except json.JSONDecodeError as e:
        raise ModelFolderError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("kind"), str) or not isinstance(meta.get("config"), dict):
        raise ModelFolderError(f"{path}: not an lstmkit model config (expected an object with 'kind' (a string) "
                               f"and 'config' (an object))")
    if "module" in meta:
        raise ModelFolderError(f"{path}: field 'module' is not allowed (a model folder never names code to import; "
                               f"the kind {meta['kind']!r} alone says which model it is)")
    if not isinstance(meta.get("extra", {}), dict):
        raise ModelFolderError(f"{path}: field 'extra': expected an object, got {type(meta['extra']).__name__}")
    return meta


def check_kind(meta: dict[str, Any], directory: str | Path, kinds: Iterable[str], who: str) -> None:
    """Refuse a folder whose kind is not one of ``kinds`` (``who`` is the class or command that asked)."""
    kinds = list(kinds)
    if meta["kind"] not in kinds:
        raise ModelFolderError(f"{who}: {Path(directory) / CONFIG}: field 'kind': expected {' or '.join(map(repr, kinds))}, "
                               f"got {meta['kind']!r} (lstmkit.load() opens any model folder)")


def read_weights(directory: str | Path, meta: dict[str, Any], map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of ``model.safetensors``, after checking the file against ``meta`` (see the module docstring)."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(directory) / WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"load_model: expected {WEIGHTS} in {directory}, found none")
    blob = path.read_bytes()
    if not blob:
        raise ModelFolderError(f"{path}: the file is empty (0 bytes); the model was not saved completely")
    recorded = meta.get("weights_sha256")
    if recorded is not None and recorded != _digest(blob):
        raise ModelFolderError(f"{path}: SHA-256 does not match 'weights_sha256' in {CONFIG}: the weights were "
                               f"truncated, damaged or replaced after saving")
    try:
        tensors = load(blob)
        header = _metadata(blob)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise ModelFolderError(f"{path}: not a readable safetensors file ({str(e).splitlines()[0][:120]})") from None
    if header.get("kind") not in (None, meta["kind"]):
        raise ModelFolderError(f"{path}: the weights are of kind {header.get('kind')!r} but {CONFIG} says "
                               f"{meta['kind']!r}")
    saved = header.get("config_sha256")
    if saved is not None and saved != _config_digest(meta["config"]):
        raise ModelFolderError(f"{Path(directory) / CONFIG}: field 'config' differs from the configuration the weights "
                               f"were saved with (edited after saving?); restore it or retrain")
    return {k: v.to(map_location) for k, v in tensors.items()}


def _metadata(blob: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors blob (the JSON header after its 8-byte length)."""
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8: 8 + n])
    return header.get("__metadata__") or {}


def load_state_checked(module: torch.nn.Module, state: dict[str, torch.Tensor], where: str | Path) -> None:
    """``module.load_state_dict(state)`` with one-line errors naming the field that does not fit."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = ([f"missing {missing[:3]}" + (" ..." if len(missing) > 3 else "")] if missing else []) + \
                ([f"unexpected {unexpected[:3]}" + (" ..." if len(unexpected) > 3 else "")] if unexpected else [])
        raise ModelFolderError(f"{where}: the weights do not fit the model the config describes: {'; '.join(parts)}")
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ModelFolderError(f"{where}: tensor {k!r}: expected shape {tuple(v.shape)} from the config, "
                                   f"got {tuple(state[k].shape)} in the weights")
    module.load_state_dict(state)


def load_model(directory: str | Path, map_location: str | torch.device = "cpu",
               kinds: Iterable[str] | None = None, who: str = "load_model") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model saved in ``directory``; returns ``(model in eval mode, meta)``.

    ``kinds``: the kinds the caller accepts (an estimator passes its own);
    anything else is refused before any weight is read.
    """
    meta = read_model_config(directory)
    if kinds is not None:
        check_kind(meta, directory, kinds, who)
    builder = builder_for(meta["kind"])
    try:
        model = builder(meta["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFolderError(f"{Path(directory) / CONFIG}: field 'config' cannot build a {meta['kind']!r} model: "
                               f"{type(e).__name__}: {e}") from None
    state = read_weights(directory, meta, map_location)
    load_state_checked(model, state, Path(directory) / WEIGHTS)
    model.to(map_location).eval()
    return model, meta
