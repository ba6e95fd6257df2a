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


_CUDNN_MODES = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN_TANH", "rnn_relu": "RNN_RELU"}


def keep_cudnn_flat(weights: list[Tensor], cells: Sequence[Cell], spec: RecurrenceSpec, x: Tensor) -> bool:
    """Make the weights views into one buffer in cuDNN's layout, as
    ``torch.nn.LSTM.flatten_parameters`` does, when they are not already.

    cuDNN takes one weight buffer: handed separate tensors, torch copies them
    into a new buffer on every call and copies the gradients back (on an H200
    that made a T=512, H=64 float32 call 1.3-1.8x slower than ``nn.LSTM``).
    The parameters stay the same objects (their storage moves), as in
    torch.nn; checkpoints copy each tensor, so sharing a buffer is invisible
    there. Returns whether it flattened now.
    """
    if not (x.is_cuda and torch.backends.cudnn.enabled and torch._use_cudnn_rnn_flatten_weight()):
        return False
    if torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.is_inference_mode_enabled():
        return False  # (a buffer made in inference mode could not be trained later: the next call makes it)
    if not all(isinstance(w, torch.nn.Parameter) for w in weights):
        return False  # substituted tensors (torch.func.functional_call, replicas): not the layer's own to move
    first = weights[0]
    if any(w.dtype != x.dtype or w.device != x.device for w in weights):
        return False  # cuDNN will not run these as they are: nothing to keep
    storage = first.untyped_storage().data_ptr()
    if all(w.untyped_storage().data_ptr() == storage for w in weights):
        return False
    if len({w.data_ptr() for w in weights}) != len(weights):
        return False  # tied weights: one buffer would untie them (torch.nn declines too)
    from torch.backends.cudnn.rnn import get_cudnn_mode

    cell = cells[0]
    proj = getattr(cell, "proj_size", 0) or 0
    per_cell = (4 if cell.bias else 2) + (1 if proj else 0)
    with torch.no_grad():
        torch._cudnn_rnn_flatten_weight(weights, per_cell, cell.input_size, get_cudnn_mode(_CUDNN_MODES[spec.kind]),
                                        cell.hidden_size, proj, spec.num_layers, False, spec.bidirectional)
    return True


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
        keep_cudnn_flat(weights, cells, spec, x)
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
