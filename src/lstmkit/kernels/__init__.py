"""Engines that run a whole recurrence: one entry point and a registry.

``recurrence(x, state, cells, spec, lengths=None, backend="auto")`` runs a
stack of cells over a time-major sequence. Backends are found by name in a
registry and imported lazily:

* ``reference``: the cells' own ``step`` in a Python loop (any cell, device, dtype);
* ``torch``: torch's own kernels (oneDNN/cuDNN) for plain LSTM/GRU/RNN;
* others (``cpu``, ``triton``) register themselves when they exist.

``auto`` takes the first backend in the device's preference order that can
run the configuration and logs its choice at debug level.
"""

from __future__ import annotations

import logging
from typing import Sequence

import torch
from torch import Tensor

from ..cells.base import Cell
from .base import Backend, reverse_padded, run_stack, step_mask
from . import registry as _registry
from .registry import (
    BackendUnavailable,
    auto_order,
    available_backends,
    backend_status,
    check_backend_name,
    load_backend,
    register_backend,
)
from .spec import LayerRegularisers, RecurrenceSpec

log = logging.getLogger("lstmkit.kernels")

__all__ = [
    "recurrence",
    "recurrence_step",
    "select_backend",
    "auto_inputs",
    "auto_inputs_reader",
    "decomposed_backend",
    "preload",
    "RecurrenceSpec",
    "LayerRegularisers",
    "Backend",
    "BackendUnavailable",
    "register_backend",
    "available_backends",
    "check_backend_name",
    "backend_status",
    "reverse_padded",
    "run_stack",
    "step_mask",
]


def select_backend(
    x: Tensor, spec: RecurrenceSpec, cells: Sequence[Cell], lengths: Tensor | None, backend: str = "auto"
) -> Backend:
    """The backend that will run this call.

    A backend named explicitly that cannot run the configuration raises
    :class:`BackendUnavailable` with its reason; ``auto`` tries the device's
    preference order and never changes the math.

    Under ``torch.compile`` and ``torch.export`` the choice is traced as
    plain look-ups (the layers :func:`preload` their backends when built, so
    no import, build or logging happens in traced code) and ``auto`` passes
    over backends that fail there (:meth:`Backend.traced_declines`). Inside
    ``torch.onnx.export`` and ``torch.jit.trace`` the cell's own equations are
    recorded (see :func:`decomposed_backend`), so the file runs without lstmkit.
    """
    if torch.onnx.is_in_onnx_export() or torch.jit.is_tracing():
        return load_backend(decomposed_backend(x, spec, cells, lengths))
    return load_backend(_choose(x, spec, cells, lengths, backend, tracing=torch.compiler.is_compiling()))


def auto_inputs(device_type: str) -> tuple:
    """What ``auto``'s choice on this device reads besides the call itself
    (:meth:`Backend.auto_inputs` of each backend in its order), for a layer
    that keeps its choice between calls: compared by identity."""
    return auto_inputs_reader(device_type)()


def auto_inputs_reader(device_type: str):
    """A callable with no arguments that returns :func:`auto_inputs`
    ``(device_type)``: the backends of the device's order that load, found
    once per device type (until a backend is registered) and asked at each
    call. Every call through ``auto`` compares these: after a stream
    step at B=1 H=256 two layers, the lookup through the order and the
    registry ran cold at 14-16 us, the bound call at 6."""
    reader = _registry.auto_readers.get(device_type)
    if reader is None:
        reader = _registry.auto_readers[device_type] = _bind_auto_inputs(device_type)
    return reader


def _bind_auto_inputs(device_type: str):
    backends = []
    for name in auto_order(device_type):
        try:
            backends.append(load_backend(name))
        except BackendUnavailable:
            continue
    if len(backends) == 1:
        only = backends[0]
        return lambda: only.auto_inputs()
    return lambda: tuple(part for b in backends for part in b.auto_inputs())


def preload(backend: str = "auto", device_type: str = "cpu") -> None:
    """Import (and build) the backends a layer may use, ahead of time.

    The layers call this when they are built, so that a later
    ``torch.compile`` traces only dictionary look-ups here: no import, no
    build, no file access inside the traced code (a graph break each)."""
    for name in auto_order(device_type) if backend == "auto" else (backend,):
        try:
            load_backend(name).warm()
        except BackendUnavailable:
            pass


def decomposed_backend(x: Tensor, spec: RecurrenceSpec, cells: Sequence[Cell], lengths: Tensor | None) -> str:
    """The backend an export target that cannot express lstmkit's operators
    gets (the ONNX exporters, TorchScript tracing): ``torch`` where torch.nn's own RNN operator
    runs the configuration (ONNX has it), else ``reference``, whose graph is
    the cell's equations step by step. Never a graph of a different model."""
    torch_backend = load_backend("torch")
    # (torch 2.13's ONNX exporter loses the dynamic batch of a bidirectional
    # GRU/RNN operator: those get the equations too)
    if spec.bidirectional and spec.kind != "lstm":
        return "reference"
    if lengths is None and torch_backend.why_not(x, spec, cells, lengths) is None:
        return "torch"
    return "reference"


def _choose(x, spec, cells, lengths, backend: str, tracing: bool = False) -> str:
    if backend != "auto":
        chosen = load_backend(backend)
        reason = chosen.why_not(x, spec, cells, lengths)
        if reason:
            raise BackendUnavailable(f"backend {backend!r} cannot run this configuration: {reason}")
        return backend
    reasons = []
    for name in auto_order(x.device.type):
        try:
            candidate = load_backend(name)
        except BackendUnavailable as exc:
            reasons.append(str(exc))
            continue
        reason = candidate.why_not(x, spec, cells, lengths) or candidate.auto_declines(x, spec, cells, lengths)
        if reason is None and tracing:
            reason = candidate.traced_declines(x, spec, cells, lengths)
        if reason is None:
            if not tracing and log.isEnabledFor(logging.DEBUG):  # (logging inside a traced graph is a graph break)
                log.debug("auto backend: %s (skipped: %s)", name, "; ".join(reasons) or "none")
            return name
        reasons.append(f"{name}: {reason}")
    raise BackendUnavailable("no backend can run this configuration: " + "; ".join(reasons))


def recurrence(
    x: Tensor,
    state: tuple[Tensor, ...],
    cells: Sequence[Cell],
    spec: RecurrenceSpec,
    lengths: Tensor | None = None,
    backend: str = "auto",
):
    """Run a stack of recurrent cells over ``x``.

    Args:
        x: ``(T, B, I)`` time-major input.
        state: one ``(L*D, B, n)`` tensor per state component (``(h, c)`` for
            LSTMs, ``(h,)`` otherwise), torch's layout.
        cells: ``L*D`` cells, index ``layer * D + direction``.
        spec: the configuration (:class:`RecurrenceSpec`).
        lengths: ``(B,)`` int64 valid steps per sequence, or ``None``.
        backend: a registered backend name or ``"auto"``.

    Returns:
        ``(output, final_state, gates)``: output ``(T, B, D*Hout)`` with zeros
        at padded steps, final state in the layout of ``state``, and ``None``
        or a list of per-layer-and-direction dicts of ``(T, B, n)`` traces.
    """
    return select_backend(x, spec, cells, lengths, backend).run(x, state, cells, spec, lengths)


def recurrence_step(
    x_t: Tensor, state: tuple[Tensor, ...], cells: Sequence[Cell], spec: RecurrenceSpec, backend: str = "auto"
):
    """One step of a unidirectional stack: ``x_t`` ``(B, I)`` -> ``(h_top, state)``."""
    chosen = select_backend(x_t.unsqueeze(0), spec, cells, None, backend)
    return chosen.step(x_t, state, cells, spec)
