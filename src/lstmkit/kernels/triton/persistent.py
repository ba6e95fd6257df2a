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

from .cell_math import (
    gru_cell,
    gru_cell_bwd,
    lstm_gates,
    lstm_gates_bwd,
    lstm_hidden,
    lstm_hidden_bwd,
    peephole_weights,
    rnn_cell,
    rnn_cell_bwd,
)
from .layer_norm import layer_norm_gates_bwd, layer_norm_gates_fwd
from .tiles import (
    add_gate_products,
    block_shared_memory,
    gate_products,
    kernel_config,
    load_gates,
    offsets,
    previous_step,
    row_vector,
    sequence_lengths,
    store_gates,
    store_gates3,
    tile,
    valid_at,
    w_hh_tile,
    w_hh_tile_t,
)

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


# --------------------------------------------------------------------- LSTMs
@triton.jit
def _dot_onto(a, b, acc, PREC: tl.constexpr):
    """``acc + a @ b`` with ``acc`` as the product's accumulator, in ``acc``'s dtype
    (triton before 3.9 wants that dtype named when it is not float32: float64 here)."""
    return tl.dot(a, b, acc, input_precision=PREC, out_dtype=acc.dtype)


@triton.jit
def lstm_fwd(
    gx, h0, c0, w, lens,
    p_i, p_f, p_o, ln_w, ln_b, lnc_w, lnc_b,
    hs, cs, gates, ghn, stats,
    T, B, H, eps,
    PEEP: tl.constexpr, LN: tl.constexpr, HAS_LEN: tl.constexpr,
    BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    rows, cols, rmask, cmask, m = tile(tl.program_id(0), 0, B, H, BLOCK_B, HP)
    o_h = offsets(rows, cols, H)
    o_g = offsets(rows, cols, 4 * H)
    # the recurrent weights: loaded once, on chip for the whole sequence
    w_i = w_hh_tile_t(w, 0, H, cols, cmask, cols, cmask)
    w_f = w_hh_tile_t(w, 1, H, cols, cmask, cols, cmask)
    w_g = w_hh_tile_t(w, 2, H, cols, cmask, cols, cmask)
    w_o = w_hh_tile_t(w, 3, H, cols, cmask, cols, cmask)
    h = tl.load(h0 + o_h, mask=m, other=0.0)
    c = tl.load(c0 + o_h, mask=m, other=0.0)
    n_valid = sequence_lengths(lens, rows, rmask, HAS_LEN)
    for t in range(T):
        sg = t * B * 4 * H
        if LN:
            a_i, a_f, a_g, a_o = gate_products(h, w_i, w_f, w_g, w_o, PREC)
            a_i, a_f, a_g, a_o = layer_norm_gates_fwd(a_i, a_f, a_g, a_o, m, H, eps, ln_w, ln_b, cols, cmask,
                                                      ghn + sg, o_g, stats + t * B * 4, rows, rmask)
            x_i, x_f, x_g, x_o = load_gates(gx + sg, o_g, H, m, "")
            pre_i, pre_f, pre_g, pre_o = x_i + a_i, x_f + a_f, x_g + a_g, x_o + a_o
        else:  # the input projection is the accumulator the recurrent product adds to
            # (each gate's tile read just before its product: fewer live registers)
            pre_i = _dot_onto(h, w_i, tl.load(gx + sg + o_g, mask=m, other=0.0), PREC)
            pre_f = _dot_onto(h, w_f, tl.load(gx + sg + o_g + H, mask=m, other=0.0), PREC)
            pre_g = _dot_onto(h, w_g, tl.load(gx + sg + o_g + 2 * H, mask=m, other=0.0), PREC)
            pre_o = _dot_onto(h, w_o, tl.load(gx + sg + o_g + 3 * H, mask=m, other=0.0), PREC)
        # the peephole rows are re-read every step, after the products: held
        # across the loop (or loaded before the products) they take registers
        # from the weight tiles, which then spill (8 -> 16 bytes on sm_90, 16 -> 20 on sm_80)
        v_i, v_f, v_o = peephole_weights(p_i, p_f, p_o, cols, cmask, PEEP)
        i, f, g, o, c_new = lstm_gates(pre_i, pre_f, pre_g, pre_o, c, v_i, v_f, v_o, PEEP)
        h_new = lstm_hidden(c_new, o, m, H, eps, lnc_w, lnc_b, cols, cmask, stats + t * B * 4, rows, rmask, LN)
        if HAS_LEN:
            # not tiles.valid_at: its extra `& m` spills 8 more bytes here on sm_90 (172 -> 180)
            valid = (t < n_valid)[:, None]
            h_new = tl.where(valid, h_new, h)
            c_new = tl.where(valid, c_new, c)
        h = tl.where(m, h_new, 0.0)
        c = tl.where(m, c_new, 0.0)
        tl.store(hs + t * B * H + o_h, h, mask=m)
        tl.store(cs + t * B * H + o_h, c, mask=m)
        store_gates(gates + sg, o_g, H, m, i, f, g, o)


@triton.jit
def lstm_bwd(
    d_hs, dc_T, w, gates, cs, c0, lens,
    p_i, p_f, p_o, ln_w, ghn, stats, lnc_w, lnc_b,
    dG, dGh, dcn_out, dh0, dc0,
    T, B, H,
    PEEP: tl.constexpr, LN: tl.constexpr, HAS_LEN: tl.constexpr,
    BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    rows, cols, rmask, cmask, m = tile(tl.program_id(0), 0, B, H, BLOCK_B, HP)
    o_h = offsets(rows, cols, H)
    o_g = offsets(rows, cols, 4 * H)
    w_i = w_hh_tile(w, 0, H, cols, cmask, cols, cmask)
    w_f = w_hh_tile(w, 1, H, cols, cmask, cols, cmask)
    w_g = w_hh_tile(w, 2, H, cols, cmask, cols, cmask)
    w_o = w_hh_tile(w, 3, H, cols, cmask, cols, cmask)
    v_i, v_f, v_o = peephole_weights(p_i, p_f, p_o, cols, cmask, PEEP)
    dh_carry = tl.zeros((BLOCK_B, HP), dtype=w_i.dtype)
    dc_in = tl.load(dc_T + o_h, mask=m, other=0.0)
    n_valid = sequence_lengths(lens, rows, rmask, HAS_LEN)
    for tt in range(T):
        t = T - 1 - tt
        sg = t * B * 4 * H
        sh = t * B * H
        dh = tl.load(d_hs + sh + o_h, mask=m, other=0.0) + dh_carry
        i, f, g, o = load_gates(gates + sg, o_g, H, m, "")
        c = tl.load(cs + sh + o_h, mask=m, other=0.0)
        cp = previous_step(cs, c0, t, B, H, o_h, m, rows, "")
        valid = valid_at(t, n_valid, m, HAS_LEN)
        dpo, dcn = lstm_hidden_bwd(dh, o, c, valid, m, H, lnc_w, lnc_b, cols, cmask, stats + t * B * 4, rows, rmask,
                                   dcn_out + sh, o_h, LN)
        dpi, dpf, dpg, dpo, dc_in, dh_carry = lstm_gates_bwd(dh, dc_in, dcn, dpo, i, f, g, cp, valid, v_i, v_f, v_o, PEEP)
        store_gates(dG + sg, o_g, H, m, dpi, dpf, dpg, dpo)
        if LN:
            dpi, dpf, dpg, dpo = layer_norm_gates_bwd(dpi, dpf, dpg, dpo, m, H, ln_w, cols, cmask, ghn + sg, o_g,
                                                      stats + t * B * 4, rows, rmask)
            # zero off the tile for the products below (layer_norm_grad does not)
            dpi = tl.where(m, dpi, 0.0)
            dpf = tl.where(m, dpf, 0.0)
            dpg = tl.where(m, dpg, 0.0)
            dpo = tl.where(m, dpo, 0.0)
            store_gates(dGh + sg, o_g, H, m, dpi, dpf, dpg, dpo)
        # dh_{t-1}: through W_hh (on chip), or straight through at a padded step
        dh_carry = add_gate_products(dh_carry, dpi, dpf, dpg, dpo, w_i, w_f, w_g, w_o, PREC)
    tl.store(dh0 + o_h, dh_carry, mask=m)
    tl.store(dc0 + o_h, dc_in, mask=m)


# ----------------------------------------------------------------------- GRU
@triton.jit
def gru_fwd(
    gx, h0, w, b, lens, hs, gates,
    T, B, H,
    HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    rows, cols, rmask, cmask, m = tile(tl.program_id(0), 0, B, H, BLOCK_B, HP)
    o_h = offsets(rows, cols, H)
    o_3 = offsets(rows, cols, 3 * H)
    o_4 = offsets(rows, cols, 4 * H)
    w_r = w_hh_tile_t(w, 0, H, cols, cmask, cols, cmask)
    w_z = w_hh_tile_t(w, 1, H, cols, cmask, cols, cmask)
    w_n = w_hh_tile_t(w, 2, H, cols, cmask, cols, cmask)
    b_r = row_vector(b, 0, cols, cmask)
    b_z = row_vector(b, H, cols, cmask)
    b_n = row_vector(b, 2 * H, cols, cmask)
    h = tl.load(h0 + o_h, mask=m, other=0.0)
    n_valid = sequence_lengths(lens, rows, rmask, HAS_LEN)
    for t in range(T):
        s3 = t * B * 3 * H  # each gate's input tile read just before its product: fewer live registers
        hn = tl.dot(h, w_n, input_precision=PREC) + b_n
        pre_r = tl.load(gx + s3 + o_3, mask=m, other=0.0) + tl.dot(h, w_r, input_precision=PREC) + b_r
        pre_z = tl.load(gx + s3 + o_3 + H, mask=m, other=0.0) + tl.dot(h, w_z, input_precision=PREC) + b_z
        r, z, n, h_new = gru_cell(pre_r, pre_z, tl.load(gx + s3 + o_3 + 2 * H, mask=m, other=0.0), hn, h)
        if HAS_LEN:
            h_new = tl.where(valid_at(t, n_valid, m, HAS_LEN), h_new, h)
        h = tl.where(m, h_new, 0.0)
        tl.store(hs + t * B * H + o_h, h, mask=m)
        store_gates(gates + t * B * 4 * H, o_4, H, m, r, z, n, hn)


@triton.jit
def gru_bwd(
    d_hs, w, hs, h0, gates, lens, dG, dGh, dh0,
    T, B, H,
    HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, HP: tl.constexpr, PREC: tl.constexpr,
):
    rows, cols, rmask, cmask, m = tile(tl.program_id(0), 0, B, H, BLOCK_B, HP)
    o_h = offsets(rows, cols, H)
    o_3 = offsets(rows, cols, 3 * H)
    o_4 = offsets(rows, cols, 4 * H)
    w_r = w_hh_tile(w, 0, H, cols, cmask, cols, cmask)
    w_z = w_hh_tile(w, 1, H, cols, cmask, cols, cmask)
    w_n = w_hh_tile(w, 2, H, cols, cmask, cols, cmask)
    dh_carry = tl.zeros((BLOCK_B, HP), dtype=w_r.dtype)
    n_valid = sequence_lengths(lens, rows, rmask, HAS_LEN)
    for tt in range(T):
        t = T - 1 - tt
        s3 = t * B * 3 * H
        dh = tl.load(d_hs + t * B * H + o_h, mask=m, other=0.0) + dh_carry
        r, z, n, hn = load_gates(gates + t * B * 4 * H, o_4, H, m, "")
        hp = previous_step(hs, h0, t, B, H, o_h, m, rows, "")
        dpr, dpz, dpn, dhn, dh_carry = gru_cell_bwd(dh, r, z, n, hn, hp, valid_at(t, n_valid, m, HAS_LEN))
        store_gates3(dG + s3, o_3, H, m, dpr, dpz, dpn)
        store_gates3(dGh + s3, o_3, H, m, dpr, dpz, dhn)
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
    rows, cols, rmask, cmask, m = tile(tl.program_id(0), 0, B, H, BLOCK_B, HP)
    o_h = offsets(rows, cols, H)
    w_t = w_hh_tile_t(w, 0, H, cols, cmask, cols, cmask)
    h = tl.load(h0 + o_h, mask=m, other=0.0)
    n_valid = sequence_lengths(lens, rows, rmask, HAS_LEN)
    for t in range(T):
        h_new = rnn_cell(tl.load(gx + t * B * H + o_h, mask=m, other=0.0) + tl.dot(h, w_t, input_precision=PREC), RELU)
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
    rows, cols, rmask, cmask, m = tile(tl.program_id(0), 0, B, H, BLOCK_B, HP)
    o_h = offsets(rows, cols, H)
    w_s = w_hh_tile(w, 0, H, cols, cmask, cols, cmask)
    dh_carry = tl.zeros((BLOCK_B, HP), dtype=w_s.dtype)
    n_valid = sequence_lengths(lens, rows, rmask, HAS_LEN)
    for tt in range(T):
        t = T - 1 - tt
        dh = tl.load(d_hs + t * B * H + o_h, mask=m, other=0.0) + dh_carry
        h = tl.load(hs + t * B * H + o_h, mask=m, other=0.0)
        d, dh_p = rnn_cell_bwd(dh, h, valid_at(t, n_valid, m, HAS_LEN), RELU)
        tl.store(dG + t * B * H + o_h, d, mask=m)
        dh_carry = dh_p + tl.dot(d, w_s, input_precision=PREC)
    tl.store(dh0 + o_h, dh_carry, mask=m)


# ------------------------------------------------------------ host launchers
#: shared memory the persistent kernels take with split products (tf32x3), the most of them: the
#: LSTM's at H = 64 (ptxas through aot_check)
SPLIT_SHARED = 139264
#: the most the FMA kernels take (the LSTM backward at H = 64 with triton 3.6; 68 KiB with 3.9):
#: a GPU that gives a block less (sm_75: 64 KiB) runs the per-step path
FMA_SHARED = 86016


def _launch_args(B: int, H: int, like: torch.Tensor):
    grid = (triton.cdiv(B, BLOCK_B),)
    split_fits = like.is_cuda and block_shared_memory(like.device) >= SPLIT_SHARED
    prec, opts = kernel_config(like, LAUNCH_OPTS, split_fits=split_fits)
    kw = dict(BLOCK_B=BLOCK_B, HP=_hp(H), PREC=prec)
    if torch.cuda.is_available() and not _interpreted():
        kw.update(opts)
    return grid, kw


def lstm_forward(gx, h0, c0, w_hh, lens_t, has_len, args_p, args_ln, eps, hs, cs, gates, ghn, stats, peep, ln):
    T, B, _ = gx.shape
    H = h0.shape[1]
    grid, kw = _launch_args(B, H, gx)
    lstm_fwd[grid](gx, h0, c0, w_hh, lens_t, *args_p, *args_ln, hs, cs, gates, ghn, stats,
                   T, B, H, eps, PEEP=peep, LN=ln, HAS_LEN=has_len, **kw)


def lstm_backward(d_hs, dc_T, w_hh, gates, cs, c0, lens_t, has_len, args_p, args_ln, dG, dGh, dcn, peep, ln):
    T, B, H = cs.shape
    grid, kw = _launch_args(B, H, cs)
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
    grid, kw = _launch_args(B, H, gx)
    gru_fwd[grid](gx, h0, w_hh, b, lens_t, hs, gates, T, B, H, HAS_LEN=has_len, **kw)


def gru_backward(d_hs, w_hh, hs, h0, gates, lens_t, has_len, dG, dGh):
    T, B, H = hs.shape
    grid, kw = _launch_args(B, H, hs)
    dh0 = torch.empty_like(h0)
    gru_bwd[grid](d_hs, w_hh, hs, h0, gates, lens_t, dG, dGh, dh0, T, B, H, HAS_LEN=has_len, **kw)
    return dh0


def rnn_forward(gx, h0, w_hh, lens_t, has_len, relu, hs):
    T, B, H = gx.shape
    grid, kw = _launch_args(B, H, gx)
    rnn_fwd[grid](gx, h0, w_hh, lens_t, hs, T, B, H, RELU=relu, HAS_LEN=has_len, **kw)


def rnn_backward(d_hs, w_hh, hs, lens_t, has_len, relu, dG):
    T, B, H = hs.shape
    grid, kw = _launch_args(B, H, hs)
    dh0 = torch.empty(B, H, dtype=hs.dtype, device=hs.device)
    rnn_bwd[grid](d_hs, w_hh, hs, lens_t, dG, dh0, T, B, H, RELU=relu, HAS_LEN=has_len, **kw)
    return dh0
