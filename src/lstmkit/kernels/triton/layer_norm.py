"""The layer norms of the layer-norm LSTM, forward and backward, as ``@triton.jit`` helpers.

The cell (:class:`lstmkit.cells.LayerNormLSTMCell`) normalises the recurrent
product over all ``4H`` pre-activations of a row (``LN_hh``) and the cell
state over its ``H`` units (``LN_c``); ``LN_ih`` of the input projection runs
outside the time loop in torch. A kernel that uses these helpers holds whole
rows (all ``H`` units of its sequences). Per step and row the forward pass
saves, for the backward pass, ``stats[row] = (1/std of LN_hh, mean of LN_c,
1/std of LN_c, unused)`` and the normalised recurrent product ``ghn``.

Both norms share the backward formula :func:`layer_norm_grad`.
"""

from __future__ import annotations

import triton
import triton.language as tl

from .tiles import load_gates, row_vector, store_gates


@triton.jit
def layer_norm_grad(e, xhat, mean1, mean2, rstd):
    """Gradient at the input of a layer norm ``y = xhat * w + b``, ``xhat =
    (x - mean) * rstd``: ``rstd (e - mean(e) - xhat mean(e xhat))`` with
    ``e = dL/dy * w`` and its two row means given. Off the tile mask the
    result is not zero: a kernel that feeds it to a product zeroes it there
    (zeroing it here costs the per-step backward registers)."""
    return rstd * (e - mean1[:, None] - xhat * mean2[:, None])


@triton.jit
def layer_norm_gates_fwd(a_i, a_f, a_g, a_o, m, H, eps, ln_w, ln_b, cols, cmask, ghn, o_g, stats, rows, rmask):
    """``LN_hh`` of the recurrent product (its four gate tiles ``a_k``, whole
    rows): stores the normalised tiles in ``ghn`` and ``1/std`` in
    ``stats[row, 0]``, returns the scaled and shifted tiles."""
    mean = (tl.sum(a_i, 1) + tl.sum(a_f, 1) + tl.sum(a_g, 1) + tl.sum(a_o, 1)) / (4 * H)
    d_i = tl.where(m, a_i - mean[:, None], 0.0)
    d_f = tl.where(m, a_f - mean[:, None], 0.0)
    d_g = tl.where(m, a_g - mean[:, None], 0.0)
    d_o = tl.where(m, a_o - mean[:, None], 0.0)
    var = (tl.sum(d_i * d_i, 1) + tl.sum(d_f * d_f, 1) + tl.sum(d_g * d_g, 1) + tl.sum(d_o * d_o, 1)) / (4 * H)
    rstd = 1.0 / tl.sqrt(var + eps)
    n_i = d_i * rstd[:, None]
    n_f = d_f * rstd[:, None]
    n_g = d_g * rstd[:, None]
    n_o = d_o * rstd[:, None]
    store_gates(ghn, o_g, H, m, n_i, n_f, n_g, n_o)
    # the statistics are stored after the outputs are formed, as the kernels
    # did before these helpers (storing first costs the persistent forward 4 registers)
    y_i = n_i * row_vector(ln_w, 0, cols, cmask) + row_vector(ln_b, 0, cols, cmask)
    y_f = n_f * row_vector(ln_w, H, cols, cmask) + row_vector(ln_b, H, cols, cmask)
    y_g = n_g * row_vector(ln_w, 2 * H, cols, cmask) + row_vector(ln_b, 2 * H, cols, cmask)
    y_o = n_o * row_vector(ln_w, 3 * H, cols, cmask) + row_vector(ln_b, 3 * H, cols, cmask)
    tl.store(stats + rows * 4, rstd, mask=rmask)
    return y_i, y_f, y_g, y_o


@triton.jit
def layer_norm_gates_bwd(d_i, d_f, d_g, d_o, m, H, ln_w, cols, cmask, ghn, o_g, stats, rows, rmask):
    """Back through ``LN_hh``: from the gradients ``d_k`` of its four output
    tiles to those of the raw recurrent product (``ghn``, ``stats`` as saved
    by :func:`layer_norm_gates_fwd`)."""
    n_i, n_f, n_g, n_o = load_gates(ghn, o_g, H, m, "")
    e_i = d_i * row_vector(ln_w, 0, cols, cmask)
    e_f = d_f * row_vector(ln_w, H, cols, cmask)
    e_g = d_g * row_vector(ln_w, 2 * H, cols, cmask)
    e_o = d_o * row_vector(ln_w, 3 * H, cols, cmask)
    mean1 = (tl.sum(e_i, 1) + tl.sum(e_f, 1) + tl.sum(e_g, 1) + tl.sum(e_o, 1)) / (4 * H)
    mean2 = (tl.sum(e_i * n_i, 1) + tl.sum(e_f * n_f, 1) + tl.sum(e_g * n_g, 1) + tl.sum(e_o * n_o, 1)) / (4 * H)
    rstd = tl.load(stats + rows * 4, mask=rmask, other=0.0)[:, None]
    return (
        layer_norm_grad(e_i, n_i, mean1, mean2, rstd),
        layer_norm_grad(e_f, n_f, mean1, mean2, rstd),
        layer_norm_grad(e_g, n_g, mean1, mean2, rstd),
        layer_norm_grad(e_o, n_o, mean1, mean2, rstd),
    )


@triton.jit
def layer_norm_cell_fwd(c, m, H, eps, lnc_w, lnc_b, cols, cmask, stats, rows, rmask):
    """``LN_c`` of the cell state over the ``H`` units of each row: stores its
    mean and ``1/std`` in ``stats[row, 1:3]``, returns the normalised, scaled
    and shifted cell."""
    mu = tl.sum(tl.where(m, c, 0.0), 1) / H
    d = tl.where(m, c - mu[:, None], 0.0)
    rstd = 1.0 / tl.sqrt(tl.sum(d * d, 1) / H + eps)
    y = d * rstd[:, None] * row_vector(lnc_w, 0, cols, cmask) + row_vector(lnc_b, 0, cols, cmask)
    tl.store(stats + rows * 4 + 1, mu, mask=rmask)
    tl.store(stats + rows * 4 + 2, rstd, mask=rmask)
    return y


@triton.jit
def layer_norm_cell_restore(c, m, lnc_w, lnc_b, cols, cmask, stats, rows, rmask):
    """``LN_c`` again from the saved statistics: ``(chat, rstd, w, cn)``, the
    normalised cell, ``1/std``, the weight row and the output."""
    mu = tl.load(stats + rows * 4 + 1, mask=rmask, other=0.0)
    rstd = tl.load(stats + rows * 4 + 2, mask=rmask, other=0.0)
    chat = tl.where(m, (c - mu[:, None]) * rstd[:, None], 0.0)
    w = row_vector(lnc_w, 0, cols, cmask)
    return chat, rstd, w, chat * w + row_vector(lnc_b, 0, cols, cmask)


@triton.jit
def layer_norm_cell_bwd(dcn, chat, rstd, w, H):
    """Back through ``LN_c``: from the gradient of its output ``dcn`` to that of the cell state."""
    e = dcn * w
    mean1 = tl.sum(e, 1) / H
    mean2 = tl.sum(e * chat, 1) / H
    return layer_norm_grad(e, chat, mean1, mean2, rstd[:, None])
