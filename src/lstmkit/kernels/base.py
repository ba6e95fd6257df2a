"""The backend contract and the stack driver every backend can reuse.

A backend runs a whole stack of recurrent layers over a sequence. Most only
need to run *one layer in one direction* (:meth:`Backend.run_layer`): the
driver here handles layers, directions, reversal of padded sequences, the
dropout masks and the final-state bookkeeping identically for all of them, so
two backends given the same random seed draw the same masks.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ..cells.base import Cell, State
from .spec import LayerRegularisers, RecurrenceSpec

Gates = dict[str, Tensor]
LayerResult = tuple[Tensor, State, Gates | None]


class Backend:
    """Base class: subclasses set ``name`` and implement :meth:`run_layer`
    (or override :meth:`run` for a whole stack)."""

    name = "base"

    def unavailable_reason(self) -> str | None:
        """Why this backend cannot run at all on this machine, or ``None``."""
        return None

    def warm(self) -> None:
        """Prepare everything a call needs (build an extension, ...), so that
        traced code only looks it up."""

    def why_not(self, x: Tensor, spec: RecurrenceSpec, cells: Sequence[Cell], lengths: Tensor | None) -> str | None:
        """Why this backend cannot run this configuration, or ``None`` if it can."""
        return None

    def auto_declines(self, x: Tensor, spec: RecurrenceSpec, cells: Sequence[Cell], lengths: Tensor | None) -> str | None:
        """Why ``auto`` should pass over this backend although it *can* run the
        configuration (another one is faster there), or ``None``. Asking for the
        backend by name ignores this."""
        return None

    def traced_declines(self, x: Tensor, spec: RecurrenceSpec, cells: Sequence[Cell], lengths: Tensor | None) -> str | None:
        """Why ``auto`` should pass over this backend inside ``torch.compile`` /
        ``torch.export`` (it fails there), or ``None``."""
        return None

    def auto_inputs(self) -> tuple:
        """What :meth:`why_not` and :meth:`auto_declines` read besides the call
        (tables of measurements, settings from the environment): a layer that
        keeps its choice for a call's signature keeps it only while these are
        the very same objects (strings and numbers: equal)."""
        return ()

    # -------------------------------------------------------------- per layer
    def run_layer(
        self,
        x: Tensor,
        state: State,
        cell: Cell,
        lengths: Tensor | None,
        reg: LayerRegularisers,
        return_gates: bool,
    ) -> LayerResult:
        """One layer, one direction, forward in time: ``x`` ``(T, B, I)``.

        Returns the outputs ``(T, B, Hout)`` (zero at padded steps), the final
        state (the state at each sequence's last valid step) and, if asked, a
        dict of ``(T, B, n)`` traces named by ``cell.gate_names``.
        """
        raise NotImplementedError

    # ------------------------------------------------------------ whole stack
    def run(
        self,
        x: Tensor,
        state: tuple[Tensor, ...],
        cells: Sequence[Cell],
        spec: RecurrenceSpec,
        lengths: Tensor | None,
    ) -> tuple[Tensor, tuple[Tensor, ...], list[Gates] | None]:
        return run_stack(self, x, state, cells, spec, lengths)

    def streamer(self, x_t: Tensor, cells: Sequence[Cell], spec: RecurrenceSpec):
        """A callable ``(x_t, state) -> (h_top, state)`` specialised to one
        stream of steps of this stack (built once, then called per step; it
        returns ``None`` for a call it cannot take, and the caller then uses
        :meth:`step`), or ``None`` if this backend has none. ``state`` is a
        tuple of ``(L, B, n)`` tensors or ``None`` for zeros. The callable must
        read the cells' parameters as they are at each call (in-place updates
        included); :meth:`lstmkit.nn.Recurrent.step` builds a new one when a
        parameter is replaced. It may also offer ``try_call(x_t, h, c, rows)``
        (``c`` ``None`` for one-part states): the step with all of its checks
        done by the callable itself, returning ``[h_top, h, c]`` or ``None``
        for any call unlike the stream's first; then a kept stream's later
        steps go straight to it."""
        return None

    def step(
        self, x_t: Tensor, state: tuple[Tensor, ...], cells: Sequence[Cell], spec: RecurrenceSpec
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One streaming step of a unidirectional stack: ``x_t`` ``(B, I)``."""
        out, final, _ = self.run(x_t.unsqueeze(0), state, cells, spec, None)
        return out[0], final


def parameter_signature(cells) -> tuple[tuple[int, bool], ...]:
    """:func:`parameter_pointers` with each parameter's ``requires_grad``
    (which decides whether ``auto`` sees a training call)."""
    return tuple((p.data_ptr(), p.requires_grad) for c in cells for p in c._parameters.values() if p is not None)


def parameter_pointers(cells) -> tuple[int, ...]:
    """Where every parameter of ``cells`` keeps its data: changes when one is
    replaced, converted (``.to``, ``.double()``) or swapped, not on in-place
    updates. A fused step built for a stack stays valid while this does."""
    return tuple(p.data_ptr() for c in cells for p in c._parameters.values() if p is not None)


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of ``x`` ``(T, B, ...)`` within its own length.

    Padded steps stay where they are, so running a layer forward over the
    result and reversing its output again gives the backward direction.
    """
    if lengths is None:
        return x.flip(0)
    T = x.shape[0]
    t = torch.arange(T, device=x.device).unsqueeze(1)  # (T, 1)
    lens = lengths.to(x.device).unsqueeze(0)  # (1, B)
    idx = torch.where(t < lens, lens - 1 - t, t)  # (T, B)
    idx = idx.view(T, -1, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, idx)


def step_mask(lengths: Tensor | None, T: int, device, dtype=torch.bool) -> Tensor | None:
    """``(T, B, 1)`` true where step ``t`` is inside sequence ``b``."""
    if lengths is None:
        return None
    t = torch.arange(T, device=device).unsqueeze(1)
    return (t < lengths.to(device).unsqueeze(0)).unsqueeze(-1).to(dtype)


def _bernoulli_keep(shape, p: float, like: Tensor) -> Tensor:
    """Dropout mask scaled by 1/(1-p)."""
    return torch.empty(shape, device=like.device, dtype=like.dtype).bernoulli_(1 - p) / (1 - p)


def draw_regularisers(spec: RecurrenceSpec, cell: Cell, T: int, B: int, like: Tensor) -> LayerRegularisers:
    """The masks of one layer and direction for this call."""
    reg = LayerRegularisers()
    hout = cell.output_size
    if spec.training and spec.hidden_dropout > 0:
        reg.hidden_mask = _bernoulli_keep((B, hout), spec.hidden_dropout, like)
    for attr, p, n in (("zoneout_h", spec.zoneout, hout), ("zoneout_c", spec.zoneout_cell, cell.hidden_size)):
        if p > 0:
            if attr == "zoneout_c" and len(cell.state_sizes) < 2:
                continue
            if spec.training:
                setattr(reg, attr, torch.empty(T, B, n, device=like.device, dtype=like.dtype).bernoulli_(p))
            else:
                setattr(reg, attr, p)
    return reg


def run_stack(
    backend: Backend,
    x: Tensor,
    state: tuple[Tensor, ...],
    cells: Sequence[Cell],
    spec: RecurrenceSpec,
    lengths: Tensor | None,
) -> tuple[Tensor, tuple[Tensor, ...], list[Gates] | None]:
    """Run ``spec.num_layers`` layers (and directions) with ``backend.run_layer``.

    ``x`` is ``(T, B, I)``; ``state`` holds one ``(L*D, B, n)`` tensor per state
    component (torch's layout). Returns the top layer's output
    ``(T, B, D*Hout)``, the final states in the same layout, and (if
    ``spec.return_gates``) a list of trace dicts indexed ``layer * D + direction``.
    """
    T, B = x.shape[0], x.shape[1]
    D = spec.num_directions
    if lengths is not None:
        # padding never reaches the math: whatever the padded steps hold (NaN,
        # inf, 1e300), the layers see zeros there. Masking the state updates
        # alone is not enough: 0 * NaN is NaN, and a NaN pre-activation at a
        # padded step poisons the recurrent product's gradient of every
        # earlier step.
        x = torch.where(step_mask(lengths, T, x.device), x, x.new_zeros(()))
    finals: list[list[Tensor]] = [[] for _ in state]
    traces: list[Gates] | None = [] if spec.return_gates else None
    layer_in = x
    for layer in range(spec.num_layers):
        if spec.training and layer > 0 and spec.dropout > 0:
            layer_in = layer_in * _bernoulli_keep(layer_in.shape, spec.dropout, layer_in)
        if spec.training and spec.input_dropout > 0:
            layer_in = layer_in * _bernoulli_keep((1, B, layer_in.shape[-1]), spec.input_dropout, layer_in)
        outs = []
        for direction in range(D):
            k = layer * D + direction
            cell = cells[k]
            s0 = tuple(s[k] for s in state)
            reg = draw_regularisers(spec, cell, T, B, layer_in)
            xin = layer_in if direction == 0 else reverse_padded(layer_in, lengths)
            out, s_n, gates = backend.run_layer(xin, s0, cell, lengths, reg, spec.return_gates)
            if direction == 1:
                out = reverse_padded(out, lengths)
                if gates is not None:
                    gates = {name: reverse_padded(v, lengths) for name, v in gates.items()}
            outs.append(out)
            for i, s in enumerate(s_n):
                finals[i].append(s)
            if traces is not None:
                traces.append(gates or {})
        layer_in = outs[0] if D == 1 else torch.cat(outs, dim=-1)
    return layer_in, tuple(torch.stack(f, 0) for f in finals), traces
