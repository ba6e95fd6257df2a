r"""One layer's time loop on the CPU engine, forward and backward.

The loops run as the operators of :mod:`.ops` (``torch.ops.lstmkit.*``), whose
autograd formulas are written out here. Each function takes the input projection of all steps ``xp`` ``(T, B, G)``
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

Gate traces (``return_gates``) are returned detached (no gradient flows
through a trace).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from . import ops


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


def _save(cfg: LoopConfig, *tensors) -> bool:
    """Whether the forward must keep every step's activations: for a
    backward, or for the gate traces."""
    if cfg.return_gates:
        return True
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def lstm_loop(xp, h0, c0, w_hh, w_hr, peep, ln_ih, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b, cfg: LoopConfig):
    """The LSTM family: ``lstm``, ``peephole`` (``peep`` ``(3, H)``),
    ``layernorm`` (``ln_ih`` ``(3, 4H)``: gain, bias and the summed
    ``b_ih + b_hh`` of the input side's norm, ``xp`` then being the raw
    projection; ``ln_hh_*`` on the recurrent product, ``ln_c_*`` on the cell),
    with optional projection ``w_hr``.

    Returns ``out`` ``(T, B, P)``, ``h_T``, ``c_T`` and, with
    ``cfg.return_gates``, the activations ``(T, B, 4H)`` (i, f, g, o) and
    the cell states ``(T+1, B, H)``.
    """
    save = _save(cfg, xp, h0, c0, w_hh, w_hr, peep, ln_ih, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b)
    res = ops.LSTMSeq.apply(
        xp, h0, c0, w_hh, w_hr, cfg.valid, cfg.hmask, cfg.zh, cfg.zh_p, cfg.zc, cfg.zc_p, peep,
        ln_hh_w, ln_hh_b, ln_c_w, ln_c_b, ln_ih, cfg.eps, save,
    )
    if cfg.return_gates:
        return res[0], res[1], res[2], res[3].detach(), res[4].detach()
    return res[0], res[1], res[2]


def gru_loop(xp, h0, w_hh, b_hn, cfg: LoopConfig):
    """The GRU: ``xp`` holds ``b_ih`` and the r, z slices of ``b_hh``;
    ``b_hn`` ``(H,)`` (or ``None``) stays inside the reset gate's product.

    Returns ``out``, ``h_T`` and, with ``cfg.return_gates``, r, z, n ``(T, B, 3H)``.
    """
    save = _save(cfg, xp, h0, w_hh, b_hn)
    res = ops.GRUSeq.apply(xp, h0, w_hh, b_hn, cfg.valid, cfg.hmask, cfg.zh, cfg.zh_p, save)
    if cfg.return_gates:
        return res[0], res[1], res[2].detach()
    return res[0], res[1]


def rnn_loop(xp, h0, w_hh, relu: bool, cfg: LoopConfig):
    """The Elman RNN (``relu`` or tanh); ``xp`` holds both biases. Returns ``out, h_T``."""
    save = _save(cfg, xp, h0, w_hh)
    res = ops.RNNSeq.apply(xp, h0, w_hh, relu, cfg.valid, cfg.hmask, cfg.zh, cfg.zh_p, save)
    return res[0], res[1]
