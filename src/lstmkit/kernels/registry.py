"""Backends by name, imported only when first asked for."""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from ..backend_names import BUILTIN, check_backend_name  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from .base import Backend

log = logging.getLogger("lstmkit.kernels")

#: name -> "module:Class", imported lazily.
_BACKENDS: dict[str, str] = dict(BUILTIN)
#: preference order of ``auto`` per device type; a name missing from
#: ``_BACKENDS`` is skipped.
_AUTO_ORDER: dict[str, tuple[str, ...]] = {
    "cpu": ("cpu", "torch", "reference"),
    "cuda": ("triton", "torch", "reference"),
}
_DEFAULT_ORDER = ("torch", "reference")

_loaded: dict[str, "Backend"] = {}
_failed: dict[str, str] = {}
#: per device type, the reader of ``auto``'s inputs (``kernels.auto_inputs_reader``),
#: bound to the backends as registered: cleared whenever a backend is registered
auto_readers: dict[str, object] = {}


class BackendUnavailable(RuntimeError):
    """A backend asked for by name cannot run this configuration here."""


def register_backend(name: str, target: str, auto_before: str | None = None) -> None:
    """Register ``"module:Class"`` under ``name``.

    ``auto_before``: put it in every ``auto`` order just before that backend.
    """
    _BACKENDS[name] = target
    _loaded.pop(name, None)
    _failed.pop(name, None)
    auto_readers.clear()
    if auto_before is not None:
        for dev, order in list(_AUTO_ORDER.items()):
            if name not in order and auto_before in order:
                i = order.index(auto_before)
                _AUTO_ORDER[dev] = order[:i] + (name,) + order[i:]


def available_backends() -> list[str]:
    return list(_BACKENDS)


def load_backend(name: str) -> "Backend":
    """The backend instance, or :class:`BackendUnavailable` saying why not."""
    if name in _loaded:
        return _loaded[name]
    if name not in _BACKENDS:
        raise BackendUnavailable(
            f"unknown backend {name!r}; expected one of {sorted(_BACKENDS) + ['auto']}"
        )
    if name in _failed:
        raise BackendUnavailable(f"backend {name!r} is unavailable: {_failed[name]}")
    module_name, cls_name = _BACKENDS[name].split(":")
    try:
        backend = getattr(importlib.import_module(module_name), cls_name)()
    except Exception as exc:  # an optional engine failed to import: say why, once
        _failed[name] = f"{type(exc).__name__}: {exc}"
        raise BackendUnavailable(f"backend {name!r} is unavailable: {_failed[name]}") from exc
    unavailable = backend.unavailable_reason()
    if unavailable:
        _failed[name] = unavailable
        raise BackendUnavailable(f"backend {name!r} is unavailable: {unavailable}")
    _loaded[name] = backend
    return backend


def backend_status() -> dict[str, str]:
    """For ``lstmkit env``: each backend's availability, with the reason if not."""
    status = {}
    for name in _BACKENDS:
        try:
            load_backend(name)
            status[name] = "available"
        except BackendUnavailable as exc:
            status[name] = str(exc)
    return status


def auto_order(device_type: str) -> tuple[str, ...]:
    return tuple(n for n in _AUTO_ORDER.get(device_type, _DEFAULT_ORDER) if n in _BACKENDS)
