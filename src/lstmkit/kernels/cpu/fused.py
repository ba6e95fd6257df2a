r"""The plain LSTM layer on the fused loop (``csrc/lstm_fused.cpp``).

A plain or peephole LSTM layer (no projection, hidden-state dropout or
zoneout, no gate traces) runs as

1. the input projection, with the rows of ``W_ih`` and the bias taken in
   the loop's *interleaved* gate order: unit block ``u``, gate (i, f, g, o),
   lane ``l``, i.e. position ``u*4L + gate*L + l`` holds torch's row
   ``gate*H + u*L + l``. ``L`` is the build's vector width (16 float32 lanes
   with AVX-512, 8 with AVX2) and ``H`` is padded to ``Hp``, a multiple of
   ``L``, with zero rows (their units stay exactly zero). The reordering is an
   ``index_select`` on the parameters, so autograd maps the gradients back.
   Where the batch is large enough to share the weights (:func:`tile_projection`)
   the loop's tile computes it (``lstmkit::lstm_fused_seq_x``): it adds
   ``x_t W_ih^T`` to the bias in its registers, so no ``(T, B, 4Hp)`` tensor
   is written and read back, and the product runs at the tile's rate. Else
   it is one product over all steps (``lstmkit::project_in``) that the loop
   (``lstmkit::lstm_fused_seq``) reads;
2. the loop: per step, one register tile holds all four gates'
   pre-activations of ``L`` units for a few batch rows, adds
   ``h_{t-1} W_hh^T`` to them and applies the cell update before anything is
   stored;
3. its backward (``lstmkit::lstm_fused_seq_bwd``), the same tile shape with
   the pointwise derivatives fused, then ``dW_hh`` as one product over all
   steps, mapped back to torch's row order.

The loop returns ``h_1 .. h_T`` ``(T, B, Hp)`` (padded steps keep the
state), ``h_T`` and ``c_T`` ``(B, H)`` as separate tensors, so their gradients
reach the backward loop without being assembled into one ``(T+1)``-step
buffer (and, for a hidden size off the lane width, without two narrowing
nodes in the graph); the layer's output is the first ``H`` units with padded
steps set to zero.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import ops
from .functions import LoopConfig, _save
from .ops import lane_width, project_in


def fused_applies(cell, cfg: LoopConfig, kind: str | tuple[str, ...] = ("lstm", "peephole")) -> bool:
    """Whether the fused loop computes this layer: a plain or peephole LSTM
    cell (or one of ``kind``) without projection, with no hidden-state mask,
    zoneout or gate traces."""
    return (
        cell.kind in ((kind,) if isinstance(kind, str) else kind)
        and getattr(cell, "weight_hr", None) is None
        and cfg.hmask is None
        and cfg.zh is None
        and cfg.zh_p == 0.0
        and cfg.zc is None
        and cfg.zc_p == 0.0
        and not cfg.return_gates
    )


def tile_projection(B: int, I: int, H: int, dtype: torch.dtype) -> bool:
    """Whether the loop's tile computes the input projection. Per step the
    tile streams ``W_ih``'s panel for the batch's rows; the product over all
    steps at once reuses it over ``T*B`` rows but writes and reads a
    ``(T, B, 4Hp)`` tensor. Measured on a 2-core Xeon (AVX-512, 2 MB L2, one
    thread; ``benchmarks/RESULTS.md``): the tile wins by 5-25 % when ``I <=
    8 B``, or when both weights fit in half the L2 and ``B >= 4``; with few
    rows and a large ``I`` the single product is up to 2x faster. On an AVX2
    EPYC (8 float32 lanes, 3-row tiles, 512 KB L2) the same rule moved the
    engine against torch.nn, over five shapes, training and inference, from
    0.81-1.28x to 0.86-1.48x on 1 thread and from 0.80-1.20x to 0.77-1.49x on
    2; the one loss was T256 B32 I64 H512 inference on 2 threads, 0.85x ->
    0.77x (``benchmarks/RESULTS.md``, 2026-12-02)."""
    L = lane_width(dtype)
    Hp = (H + L - 1) // L * L
    weights = (I + Hp) * 4 * Hp * torch.finfo(dtype).bits // 8
    return I <= 8 * B or (B >= 4 and weights <= 1 << 20)


def fused_lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Tensor | None,
                     cfg: LoopConfig, bias_hh: Tensor | None = None,
                     peep: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """One plain LSTM layer and direction: ``x`` ``(T, B, I)`` to ``out``
    ``(T, B, H)``, ``h_T``, ``c_T``. The layer's bias is ``bias`` (``b_ih``,
    or already ``b_ih + b_hh``) plus ``bias_hh`` when given; ``None`` for
    none. ``peep`` ``(3, H)``: the peephole LSTM's weights on the cell
    (``w_ci``, ``w_cf``, ``w_co``; three multiply-adds a unit and step in the
    same tile), ``None`` for the plain LSTM. Where the tile computes the
    projection, the weights enter the operator's Function in torch's row
    order (:data:`.ops.LSTMFusedLayerX` interleaves them below autograd)."""
    H = w_hh.shape[1]
    L = lane_width(x.dtype)
    padded = H % L != 0
    _, B, I = x.shape
    if tile_projection(B, I, H, x.dtype):
        save = _save(cfg, x, w_ih, bias, bias_hh, h0, c0, w_hh, peep)
        args = (x, w_ih, bias, bias_hh, h0, c0, w_hh, cfg.valid, save) + (() if peep is None else (peep,))
        out, hT, cT = ops.LSTMFusedLayerX.apply(*args)[:3]
    else:
        if bias_hh is not None:
            bias = bias_hh if bias is None else bias + bias_hh
        wi = ops.interleaved_rows(w_ih, H)
        bi = None if bias is None else ops.interleaved_rows(bias, H)
        xp = project_in(x, wi, bi)
        save = _save(cfg, xp, h0, c0, w_hh, peep)
        args = (xp, h0, c0, w_hh, cfg.valid, save) + (() if peep is None else (peep,))
        out, hT, cT = ops.LSTMFusedSeq.apply(*args)[:3]
    if padded:  # (h_T and c_T leave the loop at width H)
        out = out[..., :H]
    if cfg.valid is not None:
        out = out * cfg.valid.unsqueeze(-1)
    return out, hT, cT
