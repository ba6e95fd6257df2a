"""Persistent kernels: the whole time loop inside one launch.

One program owns a tile of ``BLOCK_B`` sequences and *all* ``H`` units. It
loads the recurrent weights ``W_hh`` once, before the loop, and keeps them on
chip (registers) for every step; the state ``h, c`` stays in registers too, so
a step costs no launch and no global-memory round trip of the state: per step
it reads the precomputed input projection ``gx[t]``, computes the recurrent
product with ``tl.dot`` (one per gate), does the fused gate math (peepholes,
both recurrent layer norms, masking of padded steps) and writes ``h_t``,
``c_t`` and the gate activations for the backward pass.

The backward kernel runs the reverse loop the same way: it keeps ``W_hh`` and
the carried gradients ``dh, dc`` on chip, computes the gate derivatives and
``dh_{t-1} = dGh_t W_hh`` with ``tl.dot``, and writes ``dG``/``dGh`` per step
for the large weight-gradient products that follow (in :mod:`.sequence`).

Limits: a program must hold ``G * HP * HP`` weights (``HP`` = H rounded up to
a power of two, at least 16): ``H <= 64`` for every cell (:data:`MAX_HELD`,
:data:`MAX_HP`; compiled for sm_90, a 128x128 RNN tile already spills, see
:mod:`.aot_check`). Larger layers use the tiled or per-step paths. Programs are independent (no grid-wide synchronisation), which is also
what lets the Triton interpreter run them one after another on a CPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from .activations import sigmoid, tanh

BLOCK_B = 16  # tl.dot needs at least 16 rows
#: launch options on a GPU: more threads share the held weights (fewer
#: registers each); no software pipelining of the time loop (it would
#: multiply the shared memory the dot operands are staged in)
LAUNCH_OPTS = dict(num_warps=8, num_stages=1)
#: most weights one program keeps on chip (float32 elements): 64 KiB
MAX_HELD = 16384


def _hp(H: int) -> int:
    return max(16, triton.next_power_of_2(H))


def fits(G: int, B: int, H: int, dtype: torch.dtype) -> bool:
    # float64 only in the interpreter (for gradcheck): compiled, it takes the per-step path
    ok_dtype = dtype == torch.float32 or (dtype == torch.float64 and _interpreted())
    # H <= 64 also for the RNN: at H = 128 ptxas spills its 128x128 tile (aot_check)
    return ok_dtype and G * _hp(H) ** 2 <= MAX_HELD and _hp(H) <= MAX_HP


#: largest (padded) hidden size a program holds
MAX_HP = 64


def _interpreted() -> bool:
    return type(lstm_fwd).__name__ == "InterpretedFunction"


def lstm_fits(B: int, H: int, dtype: torch.dtype) -> bool:
    return fits(4, B, H, dtype)


def gru_fits(B: int, H: int, dtype: torch.dtype) -> bool:
    return fits(3, B, H, dtype)


def rnn_fits(B: int, H: int, dtype: torch.dtype) -> bool:
    return fits(1, B, H, dtype)


@triton.jit
def _load_wt(w, g, H, HP: tl.constexpr):
    """Gate ``g`` of ``W_hh`` (G*H, H), transposed: ``(HP_k, HP_j) = W[g*H + j, k]``."""
    k = tl.arange(0, HP)
    j = tl.arange(0, HP)
    mask = (k < H)[:, None] & (j < H)[None, :]
    return tl.load(w + (g * H + j)[None, :] * H + k[:, None], mask=mask, other=0.0)


@triton.jit
def _load_w(w, g, H, HP: tl.constexpr):
    """Gate ``g`` of ``W_hh`` as stored: ``(HP_j, HP_k) = W[g*H + j, k]``."""
    j = tl.arange(0, HP)
    k = tl.arange(0, HP)
    mask = (j < H)[:, None] & (k < H)[None, :]
    return tl.load(w + (g * H + j)[:, None] * H + k[None, :], mask=mask, other=0.0)


@triton.jit
def _vec(p, off, cols, cmask):
    return tl.load(p + off + cols, mask=cmask, other=0.0)[None, :]


# --------------------------------------------------------------------- LSTMs
@triton.jit
def lstm_fwd(
    gx, h0, c0, w, lens,
    p_i, p_f, p_o, ln_w, ln_b, lnc_w, lnc_b,
    hs, cs, gates, ghn, stats,
    T, B, H, eps,
    PEEP: tl.constexpr, LN: tl.constexpr, HAS_LEN: tl.constexpr,
    BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.arange(0, HP)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    o_g = rows[:, None] * (4 * H) + cols[None, :]
    # the recurrent weights: loaded once, on chip for the whole sequence
    w_i = _load_wt(w, 0, H, HP)
    w_f = _load_wt(w, 1, H, HP)
    w_g = _load_wt(w, 2, H, HP)
    w_o = _load_wt(w, 3, H, HP)
    h = tl.load(h0 + o_h, mask=m, other=0.0)
    c = tl.load(c0 + o_h, mask=m, other=0.0)
    if HAS_LEN:
        n_valid = tl.load(lens + rows, mask=rmask, other=0)
    for t in range(T):
        sg = t * B * 4 * H
        sh = t * B * H
        if LN:
            a_i = tl.dot(h, w_i, input_precision=PREC)
            a_f = tl.dot(h, w_f, input_precision=PREC)
            a_g = tl.dot(h, w_g, input_precision=PREC)
            a_o = tl.dot(h, w_o, input_precision=PREC)
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
            tl.store(ghn + sg + o_g, n_i, mask=m)
            tl.store(ghn + sg + o_g + H, n_f, mask=m)
            tl.store(ghn + sg + o_g + 2 * H, n_g, mask=m)
            tl.store(ghn + sg + o_g + 3 * H, n_o, mask=m)
            a_i = n_i * _vec(ln_w, 0, cols, cmask) + _vec(ln_b, 0, cols, cmask)
            a_f = n_f * _vec(ln_w, H, cols, cmask) + _vec(ln_b, H, cols, cmask)
            a_g = n_g * _vec(ln_w, 2 * H, cols, cmask) + _vec(ln_b, 2 * H, cols, cmask)
            a_o = n_o * _vec(ln_w, 3 * H, cols, cmask) + _vec(ln_b, 3 * H, cols, cmask)
            tl.store(stats + t * B * 4 + rows * 4, rstd, mask=rmask)
            pre_i = tl.load(gx + sg + o_g, mask=m, other=0.0) + a_i
            pre_f = tl.load(gx + sg + o_g + H, mask=m, other=0.0) + a_f
            pre_g = tl.load(gx + sg + o_g + 2 * H, mask=m, other=0.0) + a_g
            pre_o = tl.load(gx + sg + o_g + 3 * H, mask=m, other=0.0) + a_o
        else:  # the input projection is the accumulator the recurrent product adds to
            pre_i = tl.dot(h, w_i, tl.load(gx + sg + o_g, mask=m, other=0.0), input_precision=PREC)
            pre_f = tl.dot(h, w_f, tl.load(gx + sg + o_g + H, mask=m, other=0.0), input_precision=PREC)
            pre_g = tl.dot(h, w_g, tl.load(gx + sg + o_g + 2 * H, mask=m, other=0.0), input_precision=PREC)
            pre_o = tl.dot(h, w_o, tl.load(gx + sg + o_g + 3 * H, mask=m, other=0.0), input_precision=PREC)
        if PEEP:
            pre_i += _vec(p_i, 0, cols, cmask) * c
            pre_f += _vec(p_f, 0, cols, cmask) * c
        i = sigmoid(pre_i)
        f = sigmoid(pre_f)
        g = tanh(pre_g)
        c_new = f * c + i * g
        if PEEP:
            pre_o += _vec(p_o, 0, cols, cmask) * c_new
        o = sigmoid(pre_o)
        if LN:
            mu_c = tl.sum(tl.where(m, c_new, 0.0), 1) / H
            dcc = tl.where(m, c_new - mu_c[:, None], 0.0)
            rstd_c = 1.0 / tl.sqrt(tl.sum(dcc * dcc, 1) / H + eps)
            cn = dcc * rstd_c[:, None] * _vec(lnc_w, 0, cols, cmask) + _vec(lnc_b, 0, cols, cmask)
            tl.store(stats + t * B * 4 + rows * 4 + 1, mu_c, mask=rmask)
            tl.store(stats + t * B * 4 + rows * 4 + 2, rstd_c, mask=rmask)
        else:
            cn = c_new
        h_new = o * tanh(cn)
        if HAS_LEN:
            valid = (t < n_valid)[:, None]
            h_new = tl.where(valid, h_new, h)
            c_new = tl.where(valid, c_new, c)
        h = tl.where(m, h_new, 0.0)
        c = tl.where(m, c_new, 0.0)
        tl.store(hs + sh + o_h, h, mask=m)
        tl.store(cs + sh + o_h, c, mask=m)
        tl.store(gates + sg + o_g, i, mask=m)
        tl.store(gates + sg + o_g + H, f, mask=m)
        tl.store(gates + sg + o_g + 2 * H, g, mask=m)
        tl.store(gates + sg + o_g + 3 * H, o, mask=m)


@triton.jit
def lstm_bwd(
    d_hs, dc_T, w, gates, cs, c0, lens,
    p_i, p_f, p_o, ln_w, ghn, stats, lnc_w, lnc_b,
    dG, dGh, dcn_out, dh0, dc0,
    T, B, H,
    PEEP: tl.constexpr, LN: tl.constexpr, HAS_LEN: tl.constexpr,
    BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.arange(0, HP)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    o_g = rows[:, None] * (4 * H) + cols[None, :]
    w_i = _load_w(w, 0, H, HP)
    w_f = _load_w(w, 1, H, HP)
    w_g = _load_w(w, 2, H, HP)
    w_o = _load_w(w, 3, H, HP)
    dh_carry = tl.zeros((BLOCK_B, HP), dtype=w_i.dtype)
    dc_in = tl.load(dc_T + o_h, mask=m, other=0.0)
    if HAS_LEN:
        n_valid = tl.load(lens + rows, mask=rmask, other=0)
    for tt in range(T):
        t = T - 1 - tt
        sg = t * B * 4 * H
        sh = t * B * H
        dh = tl.load(d_hs + sh + o_h, mask=m, other=0.0) + dh_carry
        i = tl.load(gates + sg + o_g, mask=m, other=0.0)
        f = tl.load(gates + sg + o_g + H, mask=m, other=0.0)
        g = tl.load(gates + sg + o_g + 2 * H, mask=m, other=0.0)
        o = tl.load(gates + sg + o_g + 3 * H, mask=m, other=0.0)
        c = tl.load(cs + sh + o_h, mask=m, other=0.0)
        later = m & ((rows * 0 + t) > 0)[:, None]  # a (B, H) mask: this is not the first step
        cp = tl.load(cs + sh - B * H + o_h, mask=later, other=0.0) + tl.load(c0 + o_h, mask=m & ~later, other=0.0)
        if HAS_LEN:
            valid = (t < n_valid)[:, None] & m
        else:
            valid = m
        if LN:
            mu_c = tl.load(stats + t * B * 4 + rows * 4 + 1, mask=rmask, other=0.0)
            rstd_c = tl.load(stats + t * B * 4 + rows * 4 + 2, mask=rmask, other=0.0)
            chat = tl.where(m, (c - mu_c[:, None]) * rstd_c[:, None], 0.0)
            wc = _vec(lnc_w, 0, cols, cmask)
            cn = chat * wc + _vec(lnc_b, 0, cols, cmask)
        else:
            cn = c
        tc = tanh(cn)
        dpo = dh * tc * o * (1.0 - o)
        dcn = tl.where(valid, dh * o * (1.0 - tc * tc), 0.0)
        if LN:
            tl.store(dcn_out + sh + o_h, dcn, mask=m)
            dchat = dcn * wc
            mean1 = tl.sum(dchat, 1) / H
            mean2 = tl.sum(dchat * chat, 1) / H
            dcn = rstd_c[:, None] * (dchat - mean1[:, None] - chat * mean2[:, None])
        dc = dc_in + dcn
        if PEEP:
            dc += dpo * _vec(p_o, 0, cols, cmask)
        dpi = dc * g * i * (1.0 - i)
        dpf = dc * cp * f * (1.0 - f)
        dpg = dc * i * (1.0 - g * g)
        dcp = dc * f
        if PEEP:
            dcp += dpi * _vec(p_i, 0, cols, cmask) + dpf * _vec(p_f, 0, cols, cmask)
        dpi = tl.where(valid, dpi, 0.0)
        dpf = tl.where(valid, dpf, 0.0)
        dpg = tl.where(valid, dpg, 0.0)
        dpo = tl.where(valid, dpo, 0.0)
        tl.store(dG + sg + o_g, dpi, mask=m)
        tl.store(dG + sg + o_g + H, dpf, mask=m)
        tl.store(dG + sg + o_g + 2 * H, dpg, mask=m)
        tl.store(dG + sg + o_g + 3 * H, dpo, mask=m)
        if LN:
            n_i = tl.load(ghn + sg + o_g, mask=m, other=0.0)
            n_f = tl.load(ghn + sg + o_g + H, mask=m, other=0.0)
            n_g = tl.load(ghn + sg + o_g + 2 * H, mask=m, other=0.0)
            n_o = tl.load(ghn + sg + o_g + 3 * H, mask=m, other=0.0)
            e_i = dpi * _vec(ln_w, 0, cols, cmask)
            e_f = dpf * _vec(ln_w, H, cols, cmask)
            e_g = dpg * _vec(ln_w, 2 * H, cols, cmask)
            e_o = dpo * _vec(ln_w, 3 * H, cols, cmask)
            mean1 = (tl.sum(e_i, 1) + tl.sum(e_f, 1) + tl.sum(e_g, 1) + tl.sum(e_o, 1)) / (4 * H)
            mean2 = (tl.sum(e_i * n_i, 1) + tl.sum(e_f * n_f, 1) + tl.sum(e_g * n_g, 1) + tl.sum(e_o * n_o, 1)) / (4 * H)
            rstd = tl.load(stats + t * B * 4 + rows * 4, mask=rmask, other=0.0)[:, None]
            dpi = tl.where(m, rstd * (e_i - mean1[:, None] - n_i * mean2[:, None]), 0.0)
            dpf = tl.where(m, rstd * (e_f - mean1[:, None] - n_f * mean2[:, None]), 0.0)
            dpg = tl.where(m, rstd * (e_g - mean1[:, None] - n_g * mean2[:, None]), 0.0)
            dpo = tl.where(m, rstd * (e_o - mean1[:, None] - n_o * mean2[:, None]), 0.0)
            tl.store(dGh + sg + o_g, dpi, mask=m)
            tl.store(dGh + sg + o_g + H, dpf, mask=m)
            tl.store(dGh + sg + o_g + 2 * H, dpg, mask=m)
            tl.store(dGh + sg + o_g + 3 * H, dpo, mask=m)
        # dh_{t-1}: through W_hh (on chip), or straight through at a padded step
        dh_carry = tl.where(valid, 0.0, dh)
        dh_carry += tl.dot(dpi, w_i, input_precision=PREC)
        dh_carry += tl.dot(dpf, w_f, input_precision=PREC)
        dh_carry += tl.dot(dpg, w_g, input_precision=PREC)
        dh_carry += tl.dot(dpo, w_o, input_precision=PREC)
        dc_in = tl.where(valid, dcp, dc_in)
    tl.store(dh0 + o_h, dh_carry, mask=m)
    tl.store(dc0 + o_h, dc_in, mask=m)


# ----------------------------------------------------------------------- GRU
@triton.jit
def gru_fwd(
    gx, h0, w, b, lens, hs, gates,
    T, B, H,
    HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.arange(0, HP)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    o_3 = rows[:, None] * (3 * H) + cols[None, :]
    o_4 = rows[:, None] * (4 * H) + cols[None, :]
    w_r = _load_wt(w, 0, H, HP)
    w_z = _load_wt(w, 1, H, HP)
    w_n = _load_wt(w, 2, H, HP)
    b_r = _vec(b, 0, cols, cmask)
    b_z = _vec(b, H, cols, cmask)
    b_n = _vec(b, 2 * H, cols, cmask)
    h = tl.load(h0 + o_h, mask=m, other=0.0)
    if HAS_LEN:
        n_valid = tl.load(lens + rows, mask=rmask, other=0)
    for t in range(T):
        s3 = t * B * 3 * H
        s4 = t * B * 4 * H
        hn = tl.dot(h, w_n, input_precision=PREC) + b_n
        r = sigmoid(tl.load(gx + s3 + o_3, mask=m, other=0.0) + tl.dot(h, w_r, input_precision=PREC) + b_r)
        z = sigmoid(tl.load(gx + s3 + o_3 + H, mask=m, other=0.0) + tl.dot(h, w_z, input_precision=PREC) + b_z)
        n = tanh(tl.load(gx + s3 + o_3 + 2 * H, mask=m, other=0.0) + r * hn)
        h_new = (1.0 - z) * n + z * h
        if HAS_LEN:
            h_new = tl.where((t < n_valid)[:, None], h_new, h)
        h = tl.where(m, h_new, 0.0)
        tl.store(hs + t * B * H + o_h, h, mask=m)
        tl.store(gates + s4 + o_4, r, mask=m)
        tl.store(gates + s4 + o_4 + H, z, mask=m)
        tl.store(gates + s4 + o_4 + 2 * H, n, mask=m)
        tl.store(gates + s4 + o_4 + 3 * H, hn, mask=m)


@triton.jit
def gru_bwd(
    d_hs, w, hs, h0, gates, lens, dG, dGh, dh0,
    T, B, H,
    HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.arange(0, HP)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    o_3 = rows[:, None] * (3 * H) + cols[None, :]
    o_4 = rows[:, None] * (4 * H) + cols[None, :]
    w_r = _load_w(w, 0, H, HP)
    w_z = _load_w(w, 1, H, HP)
    w_n = _load_w(w, 2, H, HP)
    dh_carry = tl.zeros((BLOCK_B, HP), dtype=w_r.dtype)
    if HAS_LEN:
        n_valid = tl.load(lens + rows, mask=rmask, other=0)
    for tt in range(T):
        t = T - 1 - tt
        s3 = t * B * 3 * H
        s4 = t * B * 4 * H
        sh = t * B * H
        dh = tl.load(d_hs + sh + o_h, mask=m, other=0.0) + dh_carry
        r = tl.load(gates + s4 + o_4, mask=m, other=0.0)
        z = tl.load(gates + s4 + o_4 + H, mask=m, other=0.0)
        n = tl.load(gates + s4 + o_4 + 2 * H, mask=m, other=0.0)
        hn = tl.load(gates + s4 + o_4 + 3 * H, mask=m, other=0.0)
        later = m & ((rows * 0 + t) > 0)[:, None]
        hp = tl.load(hs + sh - B * H + o_h, mask=later, other=0.0) + tl.load(h0 + o_h, mask=m & ~later, other=0.0)
        if HAS_LEN:
            valid = (t < n_valid)[:, None] & m
        else:
            valid = m
        dpn = dh * (1.0 - z) * (1.0 - n * n)
        dpr = tl.where(valid, dpn * hn * r * (1.0 - r), 0.0)
        dpz = tl.where(valid, dh * (hp - n) * z * (1.0 - z), 0.0)
        dpn = tl.where(valid, dpn, 0.0)
        dhn = dpn * r
        tl.store(dG + s3 + o_3, dpr, mask=m)
        tl.store(dG + s3 + o_3 + H, dpz, mask=m)
        tl.store(dG + s3 + o_3 + 2 * H, dpn, mask=m)
        tl.store(dGh + s3 + o_3, dpr, mask=m)
        tl.store(dGh + s3 + o_3 + H, dpz, mask=m)
        tl.store(dGh + s3 + o_3 + 2 * H, dhn, mask=m)
        dh_carry = tl.where(valid, dh * z, dh)
        dh_carry += tl.dot(dpr, w_r, input_precision=PREC)
        dh_carry += tl.dot(dpz, w_z, input_precision=PREC)
        dh_carry += tl.dot(dhn, w_n, input_precision=PREC)
    tl.store(dh0 + o_h, dh_carry, mask=m)


# ----------------------------------------------------------------------- RNN
@triton.jit
def rnn_fwd(
    gx, h0, w, lens, hs,
    T, B, H,
    RELU: tl.constexpr, HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.arange(0, HP)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    w_t = _load_wt(w, 0, H, HP)
    h = tl.load(h0 + o_h, mask=m, other=0.0)
    if HAS_LEN:
        n_valid = tl.load(lens + rows, mask=rmask, other=0)
    for t in range(T):
        pre = tl.load(gx + t * B * H + o_h, mask=m, other=0.0) + tl.dot(h, w_t, input_precision=PREC)
        if RELU:
            h_new = tl.maximum(pre, 0.0)
        else:
            h_new = tanh(pre)
        if HAS_LEN:
            h_new = tl.where((t < n_valid)[:, None], h_new, h)
        h = tl.where(m, h_new, 0.0)
        tl.store(hs + t * B * H + o_h, h, mask=m)


@triton.jit
def rnn_bwd(
    d_hs, w, hs, lens, dG, dh0,
    T, B, H,
    RELU: tl.constexpr, HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.arange(0, HP)
    rmask = rows < B
    cmask = cols < H
    m = rmask[:, None] & cmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    w_s = _load_w(w, 0, H, HP)
    dh_carry = tl.zeros((BLOCK_B, HP), dtype=w_s.dtype)
    if HAS_LEN:
        n_valid = tl.load(lens + rows, mask=rmask, other=0)
    for tt in range(T):
        t = T - 1 - tt
        dh = tl.load(d_hs + t * B * H + o_h, mask=m, other=0.0) + dh_carry
        h = tl.load(hs + t * B * H + o_h, mask=m, other=0.0)
        if HAS_LEN:
            valid = (t < n_valid)[:, None] & m
        else:
            valid = m
        if RELU:
            d = tl.where(h > 0, dh, 0.0)
        else:
            d = dh * (1.0 - h * h)
        d = tl.where(valid, d, 0.0)
        tl.store(dG + t * B * H + o_h, d, mask=m)
        dh_carry = tl.where(valid, 0.0, dh) + tl.dot(d, w_s, input_precision=PREC)
    tl.store(dh0 + o_h, dh_carry, mask=m)


# ------------------------------------------------------------ host launchers
def _launch_args(B: int, H: int, dtype: torch.dtype):
    grid = (triton.cdiv(B, BLOCK_B),)
    prec = "ieee"  # float32 products as float32, not TF32
    kw = dict(BLOCK_B=BLOCK_B, HP=_hp(H), PREC=prec)
    if torch.cuda.is_available() and not _interpreted():
        kw.update(LAUNCH_OPTS)
    return grid, kw


def lstm_forward(gx, h0, c0, w_hh, lens_t, has_len, args_p, args_ln, eps, hs, cs, gates, ghn, stats, peep, ln):
    T, B, _ = gx.shape
    H = h0.shape[1]
    grid, kw = _launch_args(B, H, gx.dtype)
    lstm_fwd[grid](gx, h0, c0, w_hh, lens_t, *args_p, *args_ln, hs, cs, gates, ghn, stats,
                   T, B, H, eps, PEEP=peep, LN=ln, HAS_LEN=has_len, **kw)


def lstm_backward(d_hs, dc_T, w_hh, gates, cs, c0, lens_t, has_len, args_p, args_ln, dG, dGh, dcn, peep, ln):
    T, B, H = cs.shape
    grid, kw = _launch_args(B, H, cs.dtype)
    dummy = cs.new_zeros(1)
    p_i, p_f, p_o = (p if p is not None else dummy for p in args_p)
    ln_w, ghn, stats, lnc_w, lnc_b = (p if p is not None else dummy for p in args_ln)
    dh0 = torch.empty_like(c0)
    dc0 = torch.empty_like(c0)
    lstm_bwd[grid](d_hs, dc_T, w_hh, gates, cs, c0, lens_t, p_i, p_f, p_o, ln_w, ghn, stats, lnc_w, lnc_b,
                   dG, dGh, dcn, dh0, dc0, T, B, H, PEEP=peep, LN=ln, HAS_LEN=has_len, **kw)
    return dh0, dc0


def gru_forward(gx, h0, w_hh, b, lens_t, has_len, hs, gates):
    T, B, _ = gx.shape
    H = h0.shape[1]
    grid, kw = _launch_args(B, H, gx.dtype)
    gru_fwd[grid](gx, h0, w_hh, b, lens_t, hs, gates, T, B, H, HAS_LEN=has_len, **kw)


def gru_backward(d_hs, w_hh, hs, h0, gates, lens_t, has_len, dG, dGh):
    T, B, H = hs.shape
    grid, kw = _launch_args(B, H, hs.dtype)
    dh0 = torch.empty_like(h0)
    gru_bwd[grid](d_hs, w_hh, hs, h0, gates, lens_t, dG, dGh, dh0, T, B, H, HAS_LEN=has_len, **kw)
    return dh0


def rnn_forward(gx, h0, w_hh, lens_t, has_len, relu, hs):
    T, B, H = gx.shape
    grid, kw = _launch_args(B, H, gx.dtype)
    rnn_fwd[grid](gx, h0, w_hh, lens_t, hs, T, B, H, RELU=relu, HAS_LEN=has_len, **kw)


def rnn_backward(d_hs, w_hh, hs, lens_t, has_len, relu, dG):
    T, B, H = hs.shape
    grid, kw = _launch_args(B, H, hs.dtype)
    dh0 = torch.empty(B, H, dtype=hs.dtype, device=hs.device)
    rnn_bwd[grid](d_hs, w_hh, hs, lens_t, dG, dh0, T, B, H, RELU=relu, HAS_LEN=has_len, **kw)
    return dh0
