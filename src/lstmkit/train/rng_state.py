"""The random state of a training run, as tensors and plain values, so a checkpoint can hold it without pickle.

Two kinds of state decide what a resumed run computes:

- the process-wide generators: Python's :mod:`random` (length-bucketed
  batches draw from it), NumPy's legacy global generator, torch's CPU
  generator (dropout, ``DataLoader`` shuffling without a generator of its
  own, the seed a ``DataLoader`` iterator draws) and, where CUDA is in use,
  every device's generator: :func:`global_rng_state` / :func:`set_global_rng_state`;
- the data order of the loaders: generators held by a ``DataLoader``, its
  sampler or batch sampler (``DataLoader(shuffle=True, generator=g)``), and
  any loader or sampler with ``state_dict()`` / ``load_state_dict()`` (such as
  :class:`lstmkit.train.batches.TensorBatches`):
  :func:`loader_state` / :func:`set_loader_state`.

Restored together at the point where they were captured, the run draws the
same numbers in the same order as one that was never interrupted.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Iterator

import numpy as np
import torch

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ process-wide generators
def global_rng_state() -> dict[str, Any]:
    """Python, NumPy, torch CPU (and initialised CUDA) generator states."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64), "gauss_next": gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_global_rng_state(state: dict[str, Any]) -> None:
    """Put back what :func:`global_rng_state` returned."""
    py = state["python"]
    random.setstate((int(py["version"]), tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), int(npy["pos"]), int(npy["has_gauss"]),
                         float(npy["cached_gaussian"])))
    torch.set_rng_state(state["torch"].to(torch.uint8).cpu())
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.to(torch.uint8).cpu() for s in cuda])
        else:
            log.warning("resume: the checkpoint holds random states for %d CUDA devices, this machine has %d; "
                        "the resumed run will not repeat the uninterrupted one exactly", len(cuda), torch.cuda.device_count())


# ------------------------------------------------------------------ data order of the loaders
_PARTS = ("generator", "sampler", "batch_sampler", "dataset")  # where a DataLoader keeps what decides the order
_RNGS = (torch.Generator, random.Random, np.random.Generator, np.random.RandomState)


def _is_stateful(obj: Any) -> bool:
    if isinstance(obj, (torch.Tensor, torch.nn.Module, torch.utils.data.DataLoader)):
        return False
    return callable(getattr(obj, "state_dict", None)) and callable(getattr(obj, "load_state_dict", None))


def _random_sources(obj: Any, name: str, seen: set[int], depth: int = 0) -> Iterator[tuple[str, Any]]:
    """``(name, source)`` for every generator or stateful object under ``obj`` that shapes the data order.

    Looks at ``obj`` itself, the generators among its attributes, and (a few
    levels down) its ``generator``, ``sampler``, ``batch_sampler`` and
    ``dataset``; lists and dicts only at the top (several loaders), never
    inside a dataset.
    """
    if obj is None or id(obj) in seen or depth > 3:
        return
    seen.add(id(obj))
    if isinstance(obj, _RNGS):
        yield name, obj
        return
    if isinstance(obj, (list, tuple, dict)):
        if depth == 0:
            items = obj.items() if isinstance(obj, dict) else enumerate(obj)
            for k, v in items:
                yield from _random_sources(v, f"{name}[{k!r}]", seen, depth + 1)
        return
    if _is_stateful(obj):
        yield name, obj  # it says itself what its state is (TensorBatches, StreamChunks, stateful samplers)
        return
    attrs = getattr(obj, "__dict__", None)
    if isinstance(obj, (torch.Tensor, torch.nn.Module)) or not isinstance(attrs, dict):
        return
    for key, value in attrs.items():
        if isinstance(value, _RNGS):
            yield from _random_sources(value, f"{name}.{key}", seen, depth + 1)
    for key in _PARTS:
        if key in attrs:
            yield from _random_sources(attrs[key], f"{name}.{key}", seen, depth + 1)


def _source_state(src: Any) -> Any:
    if isinstance(src, torch.Generator):
        return {"torch_generator": src.get_state()}
    if isinstance(src, random.Random):
        version, internal, gauss = src.getstate()
        return {"python_random": {"version": version, "state": torch.tensor(internal, dtype=torch.int64),
                                  "gauss_next": gauss}}
    if isinstance(src, np.random.Generator):
        return {"numpy_generator": src.bit_generator.state}
    if isinstance(src, np.random.RandomState):
        kind, keys, pos, has_gauss, cached = src.get_state(legacy=True)
        return {"numpy_random_state": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}
    return {"state_dict": src.state_dict()}


def _set_source_state(src: Any, state: dict[str, Any]) -> None:
    if "torch_generator" in state:
        src.set_state(state["torch_generator"].to(torch.uint8).cpu())
    elif "python_random" in state:
        py = state["python_random"]
        src.setstate((int(py["version"]), tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    elif "numpy_generator" in state:
        src.bit_generator.state = state["numpy_generator"]
    elif "numpy_random_state" in state:
        s = state["numpy_random_state"]
        src.set_state((s["kind"], s["keys"].numpy().astype(np.uint32), int(s["pos"]), int(s["has_gauss"]),
                       float(s["cached_gaussian"])))
    else:
        src.load_state_dict(state["state_dict"])


def loader_state(loaders: dict[str, Any]) -> dict[str, Any]:
    """The data-order state of ``{"train": loader, "val": loader, ...}`` (any nesting of lists and dicts)."""
    seen: set[int] = set()
    return {name: _source_state(src) for key, obj in loaders.items() for name, src in _random_sources(obj, key, seen)}


def set_loader_state(loaders: dict[str, Any], state: dict[str, Any]) -> None:
    """Put back what :func:`loader_state` returned into loaders built the same way; mismatches are logged."""
    seen: set[int] = set()
    sources = dict(src for key, obj in loaders.items() for src in _random_sources(obj, key, seen))
    for name, src in sources.items():
        if name in state:
            try:
                _set_source_state(src, state[name])
            except (ValueError, KeyError, RuntimeError) as e:
                log.warning("resume: cannot restore the data order of %s (%s); it starts afresh", name, e)
    missing, extra = sorted(set(sources) - set(state)), sorted(set(state) - set(sources))
    if missing or extra:
        log.warning("resume: the data loaders differ from the checkpoint's (not in the checkpoint: %s; only in the "
                    "checkpoint: %s); the data order after the resume may differ from an uninterrupted run",
                    missing or "none", extra or "none")
