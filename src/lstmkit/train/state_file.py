"""Nested training state (weights, optimiser, loops, callbacks) in one safetensors file.

A Lightning checkpoint is a tree of dicts and lists whose leaves are tensors
and plain values. :func:`write_state` stores the tensors as safetensors and the
rest of the tree as JSON in the file's metadata, so nothing is ever unpickled
on load; :func:`read_state` rebuilds the tree. Every write goes to a temporary
file in the same folder and is moved into place with ``os.replace``, so a run
killed mid-write leaves the previous file whole.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from ..io.files import atomic_write_bytes

_TREE_KEY = "lstmkit.tree"


def _encode(obj: Any, tensors: dict[str, torch.Tensor], path: str) -> Any:
    if isinstance(obj, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": name}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and "__tensor__" not in obj and "__items__" not in obj:
            return {k: _encode(v, tensors, f"{path}.{k}") for k, v in obj.items()}
        return {"__items__": [[_encode(k, tensors, path), _encode(v, tensors, f"{path}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, tensors, f"{path}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, tensors, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item) and getattr(obj, "shape", None) == ():
        return _encode(item(), tensors, path)
    raise TypeError(f"write_state: cannot store {type(obj).__name__} at {path or 'root'}; "
                    "expected tensors, dicts, lists, tuples and plain values")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__items__" in obj:
            return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["__items__"]}
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
        return {k: _decode(v, tensors) for k, v in obj.items()}
    return obj


def write_state(path: str | Path, state: dict[str, Any], metadata: dict[str, str] | None = None) -> None:
    """Store a nested state tree at ``path`` (safetensors, atomically)."""
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    tree = _encode(state, tensors, "")
    meta = dict(metadata or {})
    meta[_TREE_KEY] = json.dumps(tree)
    atomic_write_bytes(path, save(tensors, metadata=meta))


def read_state(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """The tree written by :func:`write_state`; tensors on ``map_location``."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_state: no checkpoint at {path}")
    device = str(map_location) if isinstance(map_location, (str, torch.device)) else "cpu"
    with safe_open(str(path), framework="pt", device=device) as f:
        meta = f.metadata() or {}
        if _TREE_KEY not in meta:
            raise ValueError(f"read_state: {path} is a safetensors file but not an lstmkit training state")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return _decode(json.loads(meta[_TREE_KEY]), tensors)
