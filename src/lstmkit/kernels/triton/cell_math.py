"""The pointwise equations of each cell, forward and backward, as ``@triton.jit`` helpers.

Written once here and used by every kernel (per-step, persistent, tiled and
cooperative), which differ only in where the gate pre-activations come from
and where the results go. Gate order and names follow :mod:`lstmkit.cells`:
LSTM ``i, f, g, o`` (with peepholes ``w_ci, w_cf, w_co`` and the cell's layer
norm ``LN_c``), GRU ``r, z, n``, Elman RNN ``tanh`` or ``relu``.

The backward helpers take ``valid`` (:func:`.tiles.valid_at`): at a padded
step the gate derivatives are zero and the gradients of the state pass
through unchanged (``dh_pass``, ``dc_prev``).
"""

from __future__ import annotations

import triton
import triton.language as tl

from .activations import sigmoid, tanh
from .layer_norm import (
    layer_norm_cell_bwd,
    layer_norm_cell_fwd,
    layer_norm_cell_restore,
)
from .tiles import row_vector


# --------------------------------------------------------------------- LSTMs
@triton.jit
def peephole_weights(p_i, p_f, p_o, cols, cmask, PEEP: tl.constexpr):
    """The peephole rows ``w_ci, w_cf, w_co`` of the units ``cols`` (zeros, never read, without ``PEEP``)."""
    if PEEP:
        v_i = row_vector(p_i, 0, cols, cmask)
        v_f = row_vector(p_f, 0, cols, cmask)
        v_o = row_vector(p_o, 0, cols, cmask)
    else:
        v_i = 0.0
        v_f = 0.0
        v_o = 0.0
    return v_i, v_f, v_o


@triton.jit
def lstm_gates(pre_i, pre_f, pre_g, pre_o, c_prev, w_ci, w_cf, w_co, PEEP: tl.constexpr):
    """The gates and the new cell state from the gate pre-activations:
    ``i = sigmoid(. + w_ci c_{t-1})``, ``f = sigmoid(. + w_cf c_{t-1})``,
    ``g = tanh(.)``, ``c_t = f c_{t-1} + i g``, ``o = sigmoid(. + w_co c_t)``
    (the peephole terms only with ``PEEP``). Returns ``i, f, g, o, c_t``."""
    if PEEP:  # the input and forget gates look at c_{t-1}
        pre_i += w_ci * c_prev
        pre_f += w_cf * c_prev
    i = sigmoid(pre_i)
    f = sigmoid(pre_f)
    g = tanh(pre_g)
    c = f * c_prev + i * g
    if PEEP:  # the output gate looks at c_t
        pre_o += w_co * c
    o = sigmoid(pre_o)
    return i, f, g, o, c


@triton.jit
def lstm_hidden(c, o, m, H, eps, lnc_w, lnc_b, cols, cmask, stats, rows, rmask, LN: tl.constexpr):
    """``h_t = o tanh(LN_c(c_t))`` (``LN_c`` only with ``LN``; its statistics go to ``stats``)."""
    if LN:
        cn = layer_norm_cell_fwd(c, m, H, eps, lnc_w, lnc_b, cols, cmask, stats, rows, rmask)
    else:
        cn = c
    return o * tanh(cn)


@triton.jit
def lstm_hidden_bwd(dh, o, c, valid, m, H, lnc_w, lnc_b, cols, cmask, stats, rows, rmask, dcn_out, o_h,
                    LN: tl.constexpr):
    """Back through ``h_t = o tanh(LN_c(c_t))``: ``(d pre_o without the peephole,
    the gradient of c_t through h_t)``. With ``LN`` it also stores the gradient
    at the output of ``LN_c`` in ``dcn_out`` (for the norm's weight gradients)."""
    if LN:
        chat, rstd_c, w_c, cn = layer_norm_cell_restore(c, m, lnc_w, lnc_b, cols, cmask, stats, rows, rmask)
    else:
        cn = c
    tc = tanh(cn)
    dpo = dh * tc * o * (1.0 - o)
    dcn = tl.where(valid, dh * o * (1.0 - tc * tc), 0.0)
    if LN:
        tl.store(dcn_out + o_h, dcn, mask=m)
        dcn = layer_norm_cell_bwd(dcn, chat, rstd_c, w_c, H)
    return dpo, dcn


@triton.jit
def lstm_gates_bwd(dh, dc_in, dcn, dpo, i, f, g, c_prev, valid, w_ci, w_cf, w_co, PEEP: tl.constexpr):
    """Back through :func:`lstm_gates`, given the gradients reaching ``h_t``
    (``dh``) and ``c_t`` from step ``t+1`` (``dc_in``) and through ``h_t``
    (``dcn``, ``dpo`` from :func:`lstm_hidden_bwd`). Returns the gate
    derivatives ``d pre_i, d pre_f, d pre_g, d pre_o`` and the gradients
    ``dc_prev`` of ``c_{t-1}`` and ``dh_pass`` of ``h_{t-1}`` not through ``W_hh``."""
    dc = dc_in + dcn
    if PEEP:
        dc += dpo * w_co
    dpi = dc * g * i * (1.0 - i)
    dpf = dc * c_prev * f * (1.0 - f)
    dpg = dc * i * (1.0 - g * g)
    dcp = dc * f
    if PEEP:
        dcp += dpi * w_ci + dpf * w_cf
    return (
        tl.where(valid, dpi, 0.0),
        tl.where(valid, dpf, 0.0),
        tl.where(valid, dpg, 0.0),
        tl.where(valid, dpo, 0.0),
        tl.where(valid, dcp, dc_in),  # a padded step passes c through
        tl.where(valid, 0.0, dh),  # ... and h
    )


# ----------------------------------------------------------------------- GRU
@triton.jit
def gru_cell(pre_r, pre_z, x_n, hn, h_prev):
    """``r = sigmoid(.)``, ``z = sigmoid(.)``, ``n = tanh(x_n + r hn)``,
    ``h_t = (1 - z) n + z h_{t-1}`` (``hn``: the recurrent part of the
    candidate with ``b_hn``). Returns ``r, z, n, h_t``."""
    r = sigmoid(pre_r)
    z = sigmoid(pre_z)
    n = tanh(x_n + r * hn)
    return r, z, n, (1.0 - z) * n + z * h_prev


@triton.jit
def gru_cell_bwd(dh, r, z, n, hn, h_prev, valid):
    """Back through :func:`gru_cell`: ``d pre_r, d pre_z, d pre_n`` (the input
    projection's), ``d hn`` (the recurrent candidate's) and ``dh_pass`` (the
    gradient of ``h_{t-1}`` not through ``W_hh``: ``z dh``, or ``dh`` at a padded step)."""
    dpn = dh * (1.0 - z) * (1.0 - n * n)
    dpr = tl.where(valid, dpn * hn * r * (1.0 - r), 0.0)
    dpz = tl.where(valid, dh * (h_prev - n) * z * (1.0 - z), 0.0)
    dpn = tl.where(valid, dpn, 0.0)
    return dpr, dpz, dpn, dpn * r, tl.where(valid, dh * z, dh)


# ----------------------------------------------------------------------- RNN
@triton.jit
def rnn_cell(pre, RELU: tl.constexpr):
    """``h_t = relu(.)`` or ``tanh(.)`` of the pre-activation."""
    if RELU:
        h = tl.maximum(pre, 0.0)
    else:
        h = tanh(pre)
    return h


@triton.jit
def rnn_cell_bwd(dh, h, valid, RELU: tl.constexpr):
    """Back through :func:`rnn_cell` from ``h_t``: ``(d pre, dh_pass)``."""
    if RELU:
        d = tl.where(h > 0, dh, 0.0)
    else:
        d = dh * (1.0 - h * h)
    return tl.where(valid, d, 0.0), tl.where(valid, 0.0, dh)
