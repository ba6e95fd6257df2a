"""Per-step fused kernels: the gate math of one time step, forward and backward.

The per-step path runs one time step as two launches: the recurrent product
``h_{t-1} W_hh^T`` (a torch matrix product) and one of these kernels, which
reads that product and the precomputed input projection of step ``t`` and does
everything else of the cell in one pass: the gate nonlinearities, the cell
update, the peepholes, the layer norms of the recurrent product (over all 4H)
and of the cell (over H), and the masking of padded steps. It stores the new
state and what the backward pass needs (the gate activations).

The backward kernels take the gradient arriving at ``h_t`` (from the output and
from step ``t+1``) and at ``c_t`` and give the gradient of the gate
pre-activations (``dG``, which is also the gradient of the input projection),
of the recurrent product (``dGh``; equal to ``dG`` except for the layer-norm
and GRU cells), of ``c_{t-1}`` and the part of the gradient of ``h_{t-1}``
that does not go through ``W_hh`` (a padded step passes it through; the GRU
adds ``z dh``).

Tensors are contiguous, time slices are passed as separate pointers; every
kernel runs in float32 or float64 (the state and accumulation type), compiled
on a GPU or in the Triton interpreter.
"""

from __future__ import annotations

import triton
import triton.language as tl

from .activations import sigmoid, tanh


def blocks(B: int, H: int, whole_rows: bool) -> tuple[int, int, tuple[int, int], dict]:
    """``(BLOCK_B, BLOCK_H, grid, launch options)`` of the per-step kernels.

    ``whole_rows``: the layer norms reduce over a row, so one block holds all
    H units of a few rows (sized so that ptxas does not spill at H = 1024,
    see :mod:`.aot_check`).
    """
    hp = triton.next_power_of_2(H)
    if whole_rows:
        bh = hp
        bb = max(1, min(triton.next_power_of_2(B), 1024 // hp))
        opts = dict(num_warps=4 if hp <= 256 else 8)
    else:
        bh = min(hp, 128)
        bb = min(triton.next_power_of_2(B), 16)
        opts = dict(num_warps=4)
    return bb, bh, (triton.cdiv(B, bb), triton.cdiv(H, bh)), opts


# --------------------------------------------------------------------- LSTMs
@triton.jit
def lstm_fwd_step(
    gx, gh, h_prev, c_prev, lens, t,
    p_i, p_f, p_o, ln_w, ln_b, lnc_w, lnc_b,
    h_out, c_out, gates, ghn_out, stats,
    B, H, eps,
    PEEP: tl.constexpr, LN: tl.constexpr, HAS_LEN: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    """One LSTM step for a (BLOCK_B, BLOCK_H) tile of units and all 4 gates.

    ``gx``: (B, 4H) input projection with biases (and LN_ih for LN);
    ``gh``: (B, 4H) recurrent product without bias. With ``LN`` one block
    must hold all H units (the norms reduce over whole rows).
    """
    pid_b = tl.program_id(0)
    pid_h = tl.program_id(1)
    rows = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]  # (B, H) layout
    o_g = rows[:, None] * (4 * H) + cols[None, :]  # (B, 4H) layout, gate i

    a_i = tl.load(gh + o_g, mask=m, other=0.0)
    a_f = tl.load(gh + o_g + H, mask=m, other=0.0)
    a_g = tl.load(gh + o_g + 2 * H, mask=m, other=0.0)
    a_o = tl.load(gh + o_g + 3 * H, mask=m, other=0.0)
    if LN:  # LN_hh over all 4H pre-activations of a row
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
        tl.store(ghn_out + o_g, n_i, mask=m)
        tl.store(ghn_out + o_g + H, n_f, mask=m)
        tl.store(ghn_out + o_g + 2 * H, n_g, mask=m)
        tl.store(ghn_out + o_g + 3 * H, n_o, mask=m)
        a_i = n_i * tl.load(ln_w + cols, mask=cmask, other=0.0)[None, :] + tl.load(ln_b + cols, mask=cmask, other=0.0)[None, :]
        a_f = n_f * tl.load(ln_w + H + cols, mask=cmask, other=0.0)[None, :] + tl.load(ln_b + H + cols, mask=cmask, other=0.0)[None, :]
        a_g = n_g * tl.load(ln_w + 2 * H + cols, mask=cmask, other=0.0)[None, :] + tl.load(ln_b + 2 * H + cols, mask=cmask, other=0.0)[None, :]
        a_o = n_o * tl.load(ln_w + 3 * H + cols, mask=cmask, other=0.0)[None, :] + tl.load(ln_b + 3 * H + cols, mask=cmask, other=0.0)[None, :]
        tl.store(stats + rows * 4, rstd, mask=rmask)

    pre_i = tl.load(gx + o_g, mask=m, other=0.0) + a_i
    pre_f = tl.load(gx + o_g + H, mask=m, other=0.0) + a_f
    pre_g = tl.load(gx + o_g + 2 * H, mask=m, other=0.0) + a_g
    pre_o = tl.load(gx + o_g + 3 * H, mask=m, other=0.0) + a_o
    cp = tl.load(c_prev + o_h, mask=m, other=0.0)
    if PEEP:  # the input and forget gates look at c_{t-1}
        pre_i += tl.load(p_i + cols, mask=cmask, other=0.0)[None, :] * cp
        pre_f += tl.load(p_f + cols, mask=cmask, other=0.0)[None, :] * cp
    i = sigmoid(pre_i)
    f = sigmoid(pre_f)
    g = tanh(pre_g)
    c = f * cp + i * g
    if PEEP:  # the output gate looks at c_t
        pre_o += tl.load(p_o + cols, mask=cmask, other=0.0)[None, :] * c
    o = sigmoid(pre_o)
    if LN:  # LN_c over the H units of a row
        mu_c = tl.sum(tl.where(m, c, 0.0), 1) / H
        dc = tl.where(m, c - mu_c[:, None], 0.0)
        rstd_c = 1.0 / tl.sqrt(tl.sum(dc * dc, 1) / H + eps)
        cn = dc * rstd_c[:, None] * tl.load(lnc_w + cols, mask=cmask, other=0.0)[None, :] + tl.load(lnc_b + cols, mask=cmask, other=0.0)[None, :]
        tl.store(stats + rows * 4 + 1, mu_c, mask=rmask)
        tl.store(stats + rows * 4 + 2, rstd_c, mask=rmask)
    else:
        cn = c
    h = o * tanh(cn)
    if HAS_LEN:  # padded steps keep the state
        valid = (t < tl.load(lens + rows, mask=rmask, other=0))[:, None]
        h = tl.where(valid, h, tl.load(h_prev + o_h, mask=m, other=0.0))
        c = tl.where(valid, c, cp)
    tl.store(h_out + o_h, h, mask=m)
    tl.store(c_out + o_h, c, mask=m)
    tl.store(gates + o_g, i, mask=m)
    tl.store(gates + o_g + H, f, mask=m)
    tl.store(gates + o_g + 2 * H, g, mask=m)
    tl.store(gates + o_g + 3 * H, o, mask=m)


@triton.jit
def lstm_bwd_step(
    dh_out, dh_carry, dc_carry, gates, c_cur, c_prev, lens, t,
    p_i, p_f, p_o, ln_w, ghn, stats, lnc_w, lnc_b,
    dG, dGh, dc_prev, dh_pass, dcn_out,
    B, H,
    PEEP: tl.constexpr, LN: tl.constexpr, HAS_LEN: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    """Backward of one LSTM step (see :func:`lstm_fwd_step`)."""
    pid_b = tl.program_id(0)
    pid_h = tl.program_id(1)
    rows = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    o_g = rows[:, None] * (4 * H) + cols[None, :]

    dh = tl.load(dh_out + o_h, mask=m, other=0.0) + tl.load(dh_carry + o_h, mask=m, other=0.0)
    dc_in = tl.load(dc_carry + o_h, mask=m, other=0.0)
    i = tl.load(gates + o_g, mask=m, other=0.0)
    f = tl.load(gates + o_g + H, mask=m, other=0.0)
    g = tl.load(gates + o_g + 2 * H, mask=m, other=0.0)
    o = tl.load(gates + o_g + 3 * H, mask=m, other=0.0)
    c = tl.load(c_cur + o_h, mask=m, other=0.0)
    cp = tl.load(c_prev + o_h, mask=m, other=0.0)
    if HAS_LEN:
        valid = (t < tl.load(lens + rows, mask=rmask, other=0))[:, None] & m
    else:
        valid = m
    if LN:
        mu_c = tl.load(stats + rows * 4 + 1, mask=rmask, other=0.0)
        rstd_c = tl.load(stats + rows * 4 + 2, mask=rmask, other=0.0)
        chat = tl.where(m, (c - mu_c[:, None]) * rstd_c[:, None], 0.0)
        wc = tl.load(lnc_w + cols, mask=cmask, other=0.0)[None, :]
        cn = chat * wc + tl.load(lnc_b + cols, mask=cmask, other=0.0)[None, :]
    else:
        cn = c
    tc = tanh(cn)
    dpo = dh * tc * o * (1.0 - o)
    dcn = tl.where(valid, dh * o * (1.0 - tc * tc), 0.0)
    if LN:
        tl.store(dcn_out + o_h, dcn, mask=m)
        dchat = dcn * wc
        mean1 = tl.sum(dchat, 1) / H
        mean2 = tl.sum(dchat * chat, 1) / H
        dcn = rstd_c[:, None] * (dchat - mean1[:, None] - chat * mean2[:, None])
    dc = dc_in + dcn
    if PEEP:
        dc += dpo * tl.load(p_o + cols, mask=cmask, other=0.0)[None, :]
    dpi = dc * g * i * (1.0 - i)
    dpf = dc * cp * f * (1.0 - f)
    dpg = dc * i * (1.0 - g * g)
    dcp = dc * f
    if PEEP:
        dcp += dpi * tl.load(p_i + cols, mask=cmask, other=0.0)[None, :]
        dcp += dpf * tl.load(p_f + cols, mask=cmask, other=0.0)[None, :]
    dpi = tl.where(valid, dpi, 0.0)
    dpf = tl.where(valid, dpf, 0.0)
    dpg = tl.where(valid, dpg, 0.0)
    dpo = tl.where(valid, dpo, 0.0)
    tl.store(dc_prev + o_h, tl.where(valid, dcp, dc_in), mask=m)  # a padded step passes c through
    tl.store(dh_pass + o_h, tl.where(valid, 0.0, dh), mask=m)  # ... and h
    tl.store(dG + o_g, dpi, mask=m)
    tl.store(dG + o_g + H, dpf, mask=m)
    tl.store(dG + o_g + 2 * H, dpg, mask=m)
    tl.store(dG + o_g + 3 * H, dpo, mask=m)
    if LN:  # back through LN_hh to the raw recurrent product
        n_i = tl.load(ghn + o_g, mask=m, other=0.0)
        n_f = tl.load(ghn + o_g + H, mask=m, other=0.0)
        n_g = tl.load(ghn + o_g + 2 * H, mask=m, other=0.0)
        n_o = tl.load(ghn + o_g + 3 * H, mask=m, other=0.0)
        e_i = dpi * tl.load(ln_w + cols, mask=cmask, other=0.0)[None, :]
        e_f = dpf * tl.load(ln_w + H + cols, mask=cmask, other=0.0)[None, :]
        e_g = dpg * tl.load(ln_w + 2 * H + cols, mask=cmask, other=0.0)[None, :]
        e_o = dpo * tl.load(ln_w + 3 * H + cols, mask=cmask, other=0.0)[None, :]
        mean1 = (tl.sum(e_i, 1) + tl.sum(e_f, 1) + tl.sum(e_g, 1) + tl.sum(e_o, 1)) / (4 * H)
        mean2 = (tl.sum(e_i * n_i, 1) + tl.sum(e_f * n_f, 1) + tl.sum(e_g * n_g, 1) + tl.sum(e_o * n_o, 1)) / (4 * H)
        rstd = tl.load(stats + rows * 4, mask=rmask, other=0.0)[:, None]
        tl.store(dGh + o_g, rstd * (e_i - mean1[:, None] - n_i * mean2[:, None]), mask=m)
        tl.store(dGh + o_g + H, rstd * (e_f - mean1[:, None] - n_f * mean2[:, None]), mask=m)
        tl.store(dGh + o_g + 2 * H, rstd * (e_g - mean1[:, None] - n_g * mean2[:, None]), mask=m)
        tl.store(dGh + o_g + 3 * H, rstd * (e_o - mean1[:, None] - n_o * mean2[:, None]), mask=m)


# ----------------------------------------------------------------------- GRU
@triton.jit
def gru_fwd_step(
    gx, gh, h_prev, lens, t, h_out, gates,
    B, H,
    HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    """One GRU step. ``gx``: (B, 3H) with b_ih; ``gh``: (B, 3H) with b_hh.
    Saves r, z, n and the recurrent candidate term ``hn`` as (B, 4H)."""
    pid_b = tl.program_id(0)
    pid_h = tl.program_id(1)
    rows = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    o_3 = rows[:, None] * (3 * H) + cols[None, :]
    o_4 = rows[:, None] * (4 * H) + cols[None, :]
    hn = tl.load(gh + o_3 + 2 * H, mask=m, other=0.0)
    r = sigmoid(tl.load(gx + o_3, mask=m, other=0.0) + tl.load(gh + o_3, mask=m, other=0.0))
    z = sigmoid(tl.load(gx + o_3 + H, mask=m, other=0.0) + tl.load(gh + o_3 + H, mask=m, other=0.0))
    n = tanh(tl.load(gx + o_3 + 2 * H, mask=m, other=0.0) + r * hn)
    hp = tl.load(h_prev + o_h, mask=m, other=0.0)
    h = (1.0 - z) * n + z * hp
    if HAS_LEN:
        valid = (t < tl.load(lens + rows, mask=rmask, other=0))[:, None]
        h = tl.where(valid, h, hp)
    tl.store(h_out + o_h, h, mask=m)
    tl.store(gates + o_4, r, mask=m)
    tl.store(gates + o_4 + H, z, mask=m)
    tl.store(gates + o_4 + 2 * H, n, mask=m)
    tl.store(gates + o_4 + 3 * H, hn, mask=m)


@triton.jit
def gru_bwd_step(
    dh_out, dh_carry, gates, h_prev, lens, t, dG, dGh, dh_pass,
    B, H,
    HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    """Backward of one GRU step: ``dG`` (B, 3H) for the input projection,
    ``dGh`` (B, 3H) for the recurrent product, ``dh_pass = z dh`` (or ``dh``
    at a padded step)."""
    pid_b = tl.program_id(0)
    pid_h = tl.program_id(1)
    rows = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    o_3 = rows[:, None] * (3 * H) + cols[None, :]
    o_4 = rows[:, None] * (4 * H) + cols[None, :]
    dh = tl.load(dh_out + o_h, mask=m, other=0.0) + tl.load(dh_carry + o_h, mask=m, other=0.0)
    r = tl.load(gates + o_4, mask=m, other=0.0)
    z = tl.load(gates + o_4 + H, mask=m, other=0.0)
    n = tl.load(gates + o_4 + 2 * H, mask=m, other=0.0)
    hn = tl.load(gates + o_4 + 3 * H, mask=m, other=0.0)
    hp = tl.load(h_prev + o_h, mask=m, other=0.0)
    if HAS_LEN:
        valid = (t < tl.load(lens + rows, mask=rmask, other=0))[:, None] & m
    else:
        valid = m
    dpn = dh * (1.0 - z) * (1.0 - n * n)
    dpr = tl.where(valid, dpn * hn * r * (1.0 - r), 0.0)
    dpz = tl.where(valid, dh * (hp - n) * z * (1.0 - z), 0.0)
    dpn = tl.where(valid, dpn, 0.0)
    tl.store(dG + o_3, dpr, mask=m)
    tl.store(dG + o_3 + H, dpz, mask=m)
    tl.store(dG + o_3 + 2 * H, dpn, mask=m)
    tl.store(dGh + o_3, dpr, mask=m)
    tl.store(dGh + o_3 + H, dpz, mask=m)
    tl.store(dGh + o_3 + 2 * H, dpn * r, mask=m)
    tl.store(dh_pass + o_h, tl.where(valid, dh * z, dh), mask=m)


# ----------------------------------------------------------------------- RNN
@triton.jit
def rnn_fwd_step(
    gx, gh, h_prev, lens, t, h_out,
    B, H,
    RELU: tl.constexpr, HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    pid_b = tl.program_id(0)
    pid_h = tl.program_id(1)
    rows = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    pre = tl.load(gx + o_h, mask=m, other=0.0) + tl.load(gh + o_h, mask=m, other=0.0)
    if RELU:
        h = tl.maximum(pre, 0.0)
    else:
        h = tanh(pre)
    if HAS_LEN:
        valid = (t < tl.load(lens + rows, mask=rmask, other=0))[:, None]
        h = tl.where(valid, h, tl.load(h_prev + o_h, mask=m, other=0.0))
    tl.store(h_out + o_h, h, mask=m)


@triton.jit
def rnn_bwd_step(
    dh_out, dh_carry, h_cur, lens, t, dG, dh_pass,
    B, H,
    RELU: tl.constexpr, HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    pid_b = tl.program_id(0)
    pid_h = tl.program_id(1)
    rows = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    dh = tl.load(dh_out + o_h, mask=m, other=0.0) + tl.load(dh_carry + o_h, mask=m, other=0.0)
    h = tl.load(h_cur + o_h, mask=m, other=0.0)
    if HAS_LEN:
        valid = (t < tl.load(lens + rows, mask=rmask, other=0))[:, None] & m
    else:
        valid = m
    if RELU:
        d = tl.where(h > 0, dh, 0.0)
    else:
        d = dh * (1.0 - h * h)
    tl.store(dG + o_h, tl.where(valid, d, 0.0), mask=m)
    tl.store(dh_pass + o_h, tl.where(valid, 0.0, dh), mask=m)
