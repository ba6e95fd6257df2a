r"""Autograd functions of the CPU engine: one layer's time loop, forward and backward.

Each function takes the input projection of all steps ``xp`` ``(T, B, G)``
(computed outside as one product) and runs the recurrence in the C++ loops of
``csrc/recurrence.cpp``. The backward loop walks the steps in reverse and only
does what must be sequential: the pointwise derivatives and one product per
step, ``dh_{t-1} = dR_t W_hh``. Parameter gradients are sums over all steps
and are taken afterwards as single large products or reductions:

.. math::
    \partial W_{hh} = \sum_t dR_t^\top h^{in}_{t-1}, \qquad
    \partial W_{hr} = \sum_t d\tilde h_t^\top h^{full}_t, \qquad
    \partial p_i = \sum_{t,b} dA_{i,t} \odot c_{t-1}, \ \dots

Notation (per step, symbols as in :mod:`lstmkit.cells`): ``A`` the gate
pre-activations, ``R = h^{in}_{t-1} W_{hh}^\top`` the recurrent product (its
gradient ``dR`` differs from ``dA`` only through the layer norm of
``LayerNormLSTMCell``), ``h^{in} = h \odot`` the hidden-dropout mask. Padded
steps keep the state and emit zeros, so their gradients pass straight through
to the previous step; zoneout mixes the previous and the new value with the
given weight.

Gate traces (``return_gates``) are returned as outputs without gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .matmul import mm_tn, prepare_weight


@dataclass
class LoopConfig:
    """The non-parameter inputs of one layer's loop.

    ``valid`` ``(T, B)`` 1/0 (``None``: no padding); ``hmask`` ``(B, P)``;
    ``zh``/``zc`` ``(T, B, n)`` tensors with ``zh_p``/``zc_p`` = -1, or
    ``None`` with ``zh_p``/``zc_p`` the constant weight (evaluation; 0 = none).
    """

    valid: Tensor | None = None
    hmask: Tensor | None = None
    zh: Tensor | None = None
    zh_p: float = 0.0
    zc: Tensor | None = None
    zc_p: float = 0.0
    eps: float = 1e-5
    return_gates: bool = False


def _ext():
    from ._build import load_extension

    return load_extension()


def _zero_if_none(g: Tensor | None, like: Tensor) -> Tensor:
    return torch.zeros_like(like) if g is None else g.contiguous()


class LSTMLoop(torch.autograd.Function):
    """The LSTM family: ``lstm``, ``peephole`` (``peep`` ``(3, H)``),
    ``layernorm`` (``ln_ih`` ``(3, 4H)``: gain, bias and the summed
    ``b_ih + b_hh`` of the input side's norm, ``xp`` then being the raw
    projection; ``ln_hh_*`` on the recurrent product, ``ln_c_*`` on the cell),
    with optional projection ``w_hr``.

    Returns ``out`` ``(T, B, P)``, ``h_T``, ``c_T`` and, with
    ``cfg.return_gates``, the activations ``(T, B, 4H)`` (i, f, g, o) and
    the cell states ``(T+1, B, H)``.
    """

    @staticmethod
    def forward(ctx, xp, h0, c0, w_hh, w_hr, peep, ln_ih, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b, cfg: LoopConfig):
        B = xp.shape[1]
        save = any(ctx.needs_input_grad) or cfg.return_gates
        (out, hT, cT, gates, cseq, cn, th, hin, hf, rhat, rstd_hh, yhat, rstd_c, xhat, rstd_ih) = _ext().lstm_forward(
            xp.contiguous(), h0.contiguous(), c0.contiguous(), prepare_weight(w_hh, B),
            None if w_hr is None else prepare_weight(w_hr, B),
            cfg.valid, cfg.hmask, cfg.zh, cfg.zh_p, cfg.zc, cfg.zc_p,
            peep, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b, None if ln_ih is None else ln_ih.contiguous(), cfg.eps, save,
        )
        ctx.cfg = cfg
        ctx.has = (w_hr is not None, peep is not None, ln_hh_w is not None, ln_c_w is not None)
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(w_hh, w_hr, peep, ln_hh_w, ln_c_w, gates, cseq, cn, th, hin, hf, rhat, rstd_hh,
                                  yhat, rstd_c, ln_ih, xhat, rstd_ih)
        if cfg.return_gates:
            ctx.mark_non_differentiable(gates, cseq)
            return out, hT, cT, gates, cseq
        return out, hT, cT

    @staticmethod
    @once_differentiable
    def backward(ctx, dout, dhT, dcT, *_):
        (w_hh, w_hr, peep, ln_hh_w, ln_c_w, gates, cseq, cn, th, hin, hf, rhat, rstd_hh, yhat,
         rstd_c, ln_ih, xhat, rstd_ih) = ctx.saved_tensors
        cfg = ctx.cfg
        T, B, G = gates.shape
        H, P = G // 4, hin.shape[-1]
        dA, dR, dhn, dy, dh0, dc0, dX = _ext().lstm_backward(
            None if dout is None else dout.contiguous(),
            _zero_if_none(dhT, hin[0]), _zero_if_none(dcT, cseq[0]),
            gates, cseq, cn, th, prepare_weight(w_hh.t(), B),
            None if w_hr is None else prepare_weight(w_hr.t(), B),
            cfg.valid, cfg.hmask, cfg.zh, cfg.zh_p, cfg.zc, cfg.zc_p,
            peep, ln_hh_w, rhat, rstd_hh, ln_c_w, yhat, rstd_c,
            None if ln_ih is None else ln_ih.contiguous(), xhat, rstd_ih,
        )
        need = ctx.needs_input_grad
        dR_ = dA if dR is None else dR
        d_whh = mm_tn(dR_.view(T * B, G), hin.view(T * B, P)) if need[3] else None
        d_whr = mm_tn(dhn.view(T * B, P), hf.view(T * B, H)) if w_hr is not None and need[4] else None
        d_peep = None
        if peep is not None and need[5]:
            cprev = cseq[:-1]
            d_peep = torch.stack((
                (dA[..., :H] * cprev).sum((0, 1)),
                (dA[..., H : 2 * H] * cprev).sum((0, 1)),
                (dA[..., 3 * H :] * cn).sum((0, 1)),
            ))
        d_lnih = None
        if ln_ih is not None and need[6]:
            db = dA.sum((0, 1))
            d_lnih = torch.stack(((dA * xhat).sum((0, 1)), db, db))
        d_lnhh_w = d_lnhh_b = d_lnc_w = d_lnc_b = None
        if ln_hh_w is not None:
            d_lnhh_w = (dA * rhat).sum((0, 1))
            d_lnhh_b = dA.sum((0, 1))
        if ln_c_w is not None:
            d_lnc_w = (dy * yhat).sum((0, 1))
            d_lnc_b = dy.sum((0, 1))
        dxp = dA if ln_ih is None else dX
        return dxp, dh0, dc0, d_whh, d_whr, d_peep, d_lnih, d_lnhh_w, d_lnhh_b, d_lnc_w, d_lnc_b, None


class GRULoop(torch.autograd.Function):
    """The GRU: ``xp`` holds ``b_ih`` and the r, z slices of ``b_hh``;
    ``b_hn`` ``(H,)`` (or ``None``) stays inside the reset gate's product.

    Returns ``out``, ``h_T`` and, with ``cfg.return_gates``, r, z, n ``(T, B, 3H)``.
    """

    @staticmethod
    def forward(ctx, xp, h0, w_hh, b_hn, cfg: LoopConfig):
        B = xp.shape[1]
        save = any(ctx.needs_input_grad) or cfg.return_gates
        out, hT, gates, rn, hin = _ext().gru_forward(
            xp.contiguous(), h0.contiguous(), prepare_weight(w_hh, B), b_hn, cfg.valid, cfg.hmask, cfg.zh,
            cfg.zh_p, save,
        )
        ctx.cfg = cfg
        ctx.has_bias = b_hn is not None
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(w_hh, gates, rn, hin)
        if cfg.return_gates:
            ctx.mark_non_differentiable(gates)
            return out, hT, gates
        return out, hT

    @staticmethod
    @once_differentiable
    def backward(ctx, dout, dhT, *_):
        w_hh, gates, rn, hin = ctx.saved_tensors
        cfg = ctx.cfg
        T, B, G = gates.shape
        H = G // 3
        dxp, dR, dh0 = _ext().gru_backward(
            None if dout is None else dout.contiguous(), _zero_if_none(dhT, hin[0]), gates, rn, hin,
            prepare_weight(w_hh.t(), B), cfg.valid, cfg.hmask, cfg.zh, cfg.zh_p,
        )
        need = ctx.needs_input_grad
        d_whh = mm_tn(dR.view(T * B, G), hin.view(T * B, H)) if need[2] else None
        d_bhn = dR[..., 2 * H :].sum((0, 1)) if ctx.has_bias and need[3] else None
        return dxp, dh0, d_whh, d_bhn, None


class RNNLoop(torch.autograd.Function):
    """The Elman RNN (``relu`` or tanh); ``xp`` holds both biases."""

    @staticmethod
    def forward(ctx, xp, h0, w_hh, relu: bool, cfg: LoopConfig):
        B = xp.shape[1]
        save = any(ctx.needs_input_grad) or cfg.return_gates
        out, hT, hn, hin = _ext().rnn_forward(
            xp.contiguous(), h0.contiguous(), prepare_weight(w_hh, B), relu, cfg.valid, cfg.hmask, cfg.zh,
            cfg.zh_p, save,
        )
        ctx.cfg, ctx.relu = cfg, relu
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(w_hh, hn, hin)
        return out, hT

    @staticmethod
    @once_differentiable
    def backward(ctx, dout, dhT):
        w_hh, hn, hin = ctx.saved_tensors
        cfg = ctx.cfg
        T, B, H = hn.shape
        dA, dh0 = _ext().rnn_backward(
            None if dout is None else dout.contiguous(), _zero_if_none(dhT, hin[0]), hn,
            prepare_weight(w_hh.t(), B), ctx.relu, cfg.valid, cfg.hmask, cfg.zh, cfg.zh_p,
        )
        d_whh = mm_tn(dA.view(T * B, H), hin.view(T * B, H)) if ctx.needs_input_grad[2] else None
        return dA, dh0, d_whh, None, None
