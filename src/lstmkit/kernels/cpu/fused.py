r"""The plain LSTM layer on the fused loop (``csrc/lstm_fused.cpp``).

A plain LSTM layer (no projection, hidden-state dropout or zoneout, no gate
traces) runs as

1. the input projection of all steps as one product
   (``lstmkit::project_in``), with the rows of ``W_ih`` and the bias taken in
   the loop's *interleaved* gate order: unit block ``u``, gate (i, f, g, o),
   lane ``l``, i.e. position ``u*4L + gate*L + l`` holds torch's row
   ``gate*H + u*L + l``. ``L`` is the build's vector width (16 float32 lanes
   with AVX-512, 8 with AVX2) and ``H`` is padded to ``Hp``, a multiple of
   ``L``, with zero rows (their units stay exactly zero). The reordering is an
   ``index_select`` on the parameters, so autograd maps the gradients back;
2. the loop (``lstmkit::lstm_fused_seq``): per step, one register tile holds
   all four gates' pre-activations of ``L`` units for a few batch rows, adds
   ``h_{t-1} W_hh^T`` to them and applies the cell update before anything is
   stored;
3. its backward (``lstmkit::lstm_fused_seq_bwd``), the same tile shape with
   the pointwise derivatives fused, then ``dW_hh`` as one product over all
   steps, mapped back to torch's row order.

The loop returns ``h_1 .. h_T`` ``(T, B, Hp)`` (padded steps keep the
state), ``h_T`` and ``c_T`` as separate tensors, so their gradients reach the
backward loop without being assembled into one ``(T+1)``-step buffer; the
layer's output is the first ``H`` units with padded steps set to zero.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import ops
from .functions import LoopConfig, _save
from .ops import interleave_index, lane_width, project_in


def fused_applies(cell, cfg: LoopConfig, kind: str = "lstm") -> bool:
    """Whether the fused loop computes this layer: a plain ``lstm`` cell (or
    ``kind``) without projection, with no hidden-state mask, zoneout or gate
    traces."""
    return (
        cell.kind == kind
        and getattr(cell, "weight_hr", None) is None
        and cfg.hmask is None
        and cfg.zh is None
        and cfg.zh_p == 0.0
        and cfg.zc is None
        and cfg.zc_p == 0.0
        and not cfg.return_gates
    )


def _interleaved(w: Tensor, fwd: Tensor, padded: bool) -> Tensor:
    """``w`` (``(4H, ...)``) with its rows in interleaved order (zero rows for padding)."""
    if padded:
        w = torch.cat((w, w.new_zeros((1, *w.shape[1:]))))
    return w.index_select(0, fwd)


def fused_lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Tensor | None,
                     cfg: LoopConfig) -> tuple[Tensor, Tensor, Tensor]:
    """One plain LSTM layer and direction: ``x`` ``(T, B, I)`` to ``out``
    ``(T, B, H)``, ``h_T``, ``c_T``; ``bias`` is ``b_ih + b_hh`` or ``None``."""
    H = w_hh.shape[1]
    L = lane_width(x.dtype)
    fwd, _ = interleave_index(H, L)
    padded = H % L != 0
    xp = project_in(x, _interleaved(w_ih, fwd, padded), None if bias is None else _interleaved(bias, fwd, padded))
    save = _save(cfg, xp, h0, c0, w_hh)
    out, hT, cT = ops.LSTMFusedSeq.apply(xp, h0, c0, w_hh, cfg.valid, save)[:3]
    if padded:
        out, hT, cT = out[..., :H], hT[:, :H], cT[:, :H]
    if cfg.valid is not None:
        out = out * cfg.valid.unsqueeze(-1)
    return out, hT, cT
