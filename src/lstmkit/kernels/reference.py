"""The reference engine: the cell's own ``step`` in a Python loop.

Slow and obviously right: autograd differentiates through it, it runs on any
device and dtype, and it is what every other backend is tested against.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..cells.base import Cell, State
from .base import Backend, LayerResult, step_mask
from .spec import LayerRegularisers, zoneout_mix


class ReferenceBackend(Backend):
    name = "reference"

    def run_layer(
        self,
        x: Tensor,
        state: State,
        cell: Cell,
        lengths: Tensor | None,
        reg: LayerRegularisers,
        return_gates: bool,
    ) -> LayerResult:
        T = x.shape[0]
        valid = step_mask(lengths, T, x.device)  # (T, B, 1) or None
        outputs = []
        traces: list[dict[str, Tensor]] = []
        for t in range(T):
            # variational dropout touches only the h that enters the product
            h_in = state[0] if reg.hidden_mask is None else state[0] * reg.hidden_mask
            trace: dict[str, Tensor] | None = {} if return_gates else None
            new = cell.step(x[t], (h_in,) + tuple(state[1:]), trace)
            new = (zoneout_mix(reg.zoneout_h, t, state[0], new[0]),) + tuple(
                zoneout_mix(reg.zoneout_c, t, old, s) for old, s in zip(state[1:], new[1:])
            )
            if valid is not None:  # padded steps keep the state and emit zeros
                new = tuple(torch.where(valid[t], s, old) for s, old in zip(new, state))
            state = new
            h_out = state[0] if valid is None else torch.where(valid[t], state[0], torch.zeros_like(state[0]))
            outputs.append(h_out)
            if trace is not None:
                trace["h"] = state[0]
                if "c" in trace:
                    trace["c"] = state[1]
                if valid is not None:
                    trace = {k: torch.where(valid[t], v, torch.zeros_like(v)) for k, v in trace.items()}
                traces.append(trace)
        out = torch.stack(outputs, 0)
        gates = {k: torch.stack([tr[k] for tr in traces], 0) for k in cell.gate_names} if return_gates else None
        return out, state, gates
