r"""The layer-norm LSTM layer on the fused loop (``csrc/lstm_ln_fused.cpp``).

A layer-norm LSTM layer (no projection, hidden-state dropout, zoneout or
gate traces) whose hidden size is a multiple of the lane width ``L``
(:func:`~.ops.lane_width`: 16 float32 lanes with AVX-512) runs as

1. the input projection in the interleaved gate order of :mod:`.fused`
   (``W_ih`` permuted by ``index_select``, so autograd maps the gradients
   back): where the batch shares the weights (:func:`.fused.tile_projection`,
   the plain loop's rule) the loop's tile computes it step by step
   (``lstmkit::lstm_ln_fused_seq_x``), as a second product beside the
   recurrent one, since each side has its own norm; else as one product
   over all steps beforehand;
2. the loop (``lstmkit::lstm_ln_fused_seq``): per step the raw recurrent
   product in the plain loop's register tiles, then per batch row the three
   norms (the input side's too: the statistics over a row do not depend on
   the order of its entries, and with ``H`` a multiple of ``L`` the
   interleaved row has no padding), the gates and the state update;
3. its backward (``lstmkit::lstm_ln_fused_seq_bwd``): the same two phases in
   reverse, the norms' gain and bias gradients summed inside the loop, then
   ``dW_hh`` as one product.

The norms' gains and the summed bias ``beta_ih + beta_hh + b_ih + b_hh``
enter the loop permuted to the interleaved order (``index_select`` again).
Other hidden sizes keep the general loop (``lstmkit::lstm_seq``).
"""

from __future__ import annotations

from torch import Tensor

from . import ops
from .functions import LoopConfig, _save
from .fused import fused_applies, tile_projection
from .ops import interleave_index, lane_width, project_in


def fused_ln_applies(cell, cfg: LoopConfig, dtype) -> bool:
    """Whether the fused layer-norm loop computes this layer: a ``layernorm``
    cell under the same conditions as the plain fused loop, with a hidden
    size that fills the vector lanes exactly."""
    return fused_applies(cell, cfg, kind="layernorm") and cell.hidden_size % lane_width(dtype) == 0


def fused_ln_lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, cell, bias: Tensor | None,
                        cfg: LoopConfig, bias_hh: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """One layer-norm LSTM layer and direction: ``x`` ``(T, B, I)`` to ``out``
    ``(T, B, H)``, ``h_T``, ``c_T``; the layer's bias is ``bias`` (``b_ih``, or
    already ``b_ih + b_hh``) plus ``bias_hh`` when given, ``None`` for none.
    Where the tile computes the projection, the parameters enter the
    operator's Function in torch's row order (:data:`.ops.LSTMLnFusedLayerX`
    interleaves them and sums the biases below autograd: seven graph nodes a
    layer fewer, 0.4-3 % of a training call on a Zen 4, the most at T24 B32 H32)."""
    H = cell.hidden_size
    _, B, I = x.shape
    gc, bc = cell.ln_c_weight, cell.ln_c_bias
    if tile_projection(B, I, H, x.dtype):
        params = (cell.weight_hh, cell.ln_ih_weight, cell.ln_hh_weight, cell.ln_ih_bias, cell.ln_hh_bias, bias,
                  bias_hh, gc, bc)
        save = _save(cfg, x, cell.weight_ih, h0, c0, *params)
        return _masked(ops.LSTMLnFusedLayerX.apply(x, cell.weight_ih, h0, c0, *params, cfg.valid, cfg.eps, save), cfg)
    if bias_hh is not None:
        bias = bias_hh if bias is None else bias + bias_hh
    fwd, _ = interleave_index(H, lane_width(x.dtype))
    wi = cell.weight_ih.index_select(0, fwd)
    beta = cell.ln_ih_bias + cell.ln_hh_bias
    if bias is not None:
        beta = beta + bias
    gih, ghh, beta = (p.index_select(0, fwd) for p in (cell.ln_ih_weight, cell.ln_hh_weight, beta))
    norms = (gih, ghh, beta, gc, bc)
    xp = project_in(x, wi, None)
    save = _save(cfg, xp, h0, c0, cell.weight_hh, *norms)
    return _masked(ops.LSTMLnFusedSeq.apply(xp, h0, c0, cell.weight_hh, *norms, cfg.valid, cfg.eps, save), cfg)


def _masked(res, cfg: LoopConfig) -> tuple[Tensor, Tensor, Tensor]:
    """``(out, h_T, c_T)`` of a loop's outputs, padded steps of ``out`` zero."""
    out, hT, cT = res[:3]
    if cfg.valid is not None:
        out = out * cfg.valid.unsqueeze(-1)
    return out, hT, cT
