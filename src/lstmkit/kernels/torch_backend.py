"""Hands plain configurations to torch's own fused kernels (oneDNN, cuDNN).

Only what ``torch.nn.LSTM``/``GRU``/``RNN`` compute: no peepholes, layer norm,
gate traces or recurrent regularisers. Variable lengths go through packing,
exactly as torch.nn does.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, _VF
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..cells.base import Cell
from .base import Backend
from .spec import RecurrenceSpec

_FUNCS = {"lstm": _VF.lstm, "gru": _VF.gru, "rnn_tanh": _VF.rnn_tanh, "rnn_relu": _VF.rnn_relu}


def flat_weights(cells: Sequence[Cell]) -> list[Tensor]:
    """torch.nn's ``_flat_weights`` order: per layer and direction
    ``w_ih, w_hh, [b_ih, b_hh], [w_hr]``."""
    out: list[Tensor] = []
    for cell in cells:
        p = cell._parameters  # (past nn.Module.__getattr__: this runs on every call)
        out += [p["weight_ih"], p["weight_hh"]]
        if cell.bias:
            out += [p["bias_ih"], p["bias_hh"]]
        if p.get("weight_hr") is not None:
            out.append(p["weight_hr"])
    return out


class TorchBackend(Backend):
    name = "torch"

    def why_not(self, x, spec: RecurrenceSpec, cells, lengths) -> str | None:
        if spec.kind not in _FUNCS:
            return f"torch has no kernel for the {spec.kind!r} cell"
        if spec.return_gates:
            return "torch's kernels cannot return gate traces"
        if spec.uses_recurrent_regularisers:
            return "torch's kernels have no variational dropout or zoneout"
        return None

    def auto_declines(self, x, spec, cells, lengths) -> str | None:
        if torch._C._functorch.peek_interpreter_stack() is not None:
            return "torch's fused RNN kernels have no vmap rule (inside a torch.func transform)"
        return None

    def traced_declines(self, x, spec, cells, lengths) -> str | None:
        if x.device.type == "cpu" and torch.is_grad_enabled():
            # torch 2.13: a compiled training step through aten.mkldnn_rnn_layer
            # fails on its second call (TypeError: expected Tensor())
            return "torch.compile of oneDNN's RNN training kernel fails on repeated calls"
        if lengths is not None:
            return "packing needs the lengths' values at trace time"
        return None

    def run(self, x, state, cells, spec: RecurrenceSpec, lengths):
        func = _FUNCS[spec.kind]
        weights = flat_weights(cells)
        bias = cells[0].bias
        hx = state if spec.kind == "lstm" else state[0]
        args = (bias, spec.num_layers, spec.dropout, spec.training, spec.bidirectional)
        if lengths is None:
            out, *final = func(x, hx, weights, *args, False)
            return out, tuple(final), None
        packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        order, unorder = packed.sorted_indices, packed.unsorted_indices
        if spec.kind == "lstm":
            hx = tuple(s.index_select(1, order) for s in hx)
        else:
            hx = hx.index_select(1, order)
        out, *final = func(packed.data, packed.batch_sizes, hx, weights, *args)
        packed_out = torch.nn.utils.rnn.PackedSequence(out, packed.batch_sizes, order, unorder)
        out, _ = pad_packed_sequence(packed_out, total_length=x.shape[0])
        return out, tuple(s.index_select(1, unorder) for s in final), None
