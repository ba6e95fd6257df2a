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
    load_gates,
    load_gates3,
    offsets,
    sequence_lengths,
    store_gates,
    store_gates3,
    tile,
    valid_at,
)


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
    rows, cols, rmask, cmask, m = tile(tl.program_id(0), tl.program_id(1), B, H, BLOCK_B, BLOCK_H)
    o_h = offsets(rows, cols, H)  # (B, H) layout
    o_g = offsets(rows, cols, 4 * H)  # (B, 4H) layout, gate i
    a_i, a_f, a_g, a_o = load_gates(gh, o_g, H, m, "")
    if LN:  # LN_hh over all 4H pre-activations of a row
        a_i, a_f, a_g, a_o = layer_norm_gates_fwd(a_i, a_f, a_g, a_o, m, H, eps, ln_w, ln_b, cols, cmask,
                                                  ghn_out, o_g, stats, rows, rmask)
    x_i, x_f, x_g, x_o = load_gates(gx, o_g, H, m, "")
    cp = tl.load(c_prev + o_h, mask=m, other=0.0)
    v_i, v_f, v_o = peephole_weights(p_i, p_f, p_o, cols, cmask, PEEP)
    i, f, g, o, c = lstm_gates(x_i + a_i, x_f + a_f, x_g + a_g, x_o + a_o, cp, v_i, v_f, v_o, PEEP)
    h = lstm_hidden(c, o, m, H, eps, lnc_w, lnc_b, cols, cmask, stats, rows, rmask, LN)
    if HAS_LEN:  # padded steps keep the state
        valid = valid_at(t, sequence_lengths(lens, rows, rmask, HAS_LEN), m, HAS_LEN)
        h = tl.where(valid, h, tl.load(h_prev + o_h, mask=m, other=0.0))
        c = tl.where(valid, c, cp)
    tl.store(h_out + o_h, h, mask=m)
    tl.store(c_out + o_h, c, mask=m)
    store_gates(gates, o_g, H, m, i, f, g, o)


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
    rows, cols, rmask, cmask, m = tile(tl.program_id(0), tl.program_id(1), B, H, BLOCK_B, BLOCK_H)
    o_h = offsets(rows, cols, H)
    o_g = offsets(rows, cols, 4 * H)
    dh = tl.load(dh_out + o_h, mask=m, other=0.0) + tl.load(dh_carry + o_h, mask=m, other=0.0)
    dc_in = tl.load(dc_carry + o_h, mask=m, other=0.0)
    i, f, g, o = load_gates(gates, o_g, H, m, "")
    c = tl.load(c_cur + o_h, mask=m, other=0.0)
    cp = tl.load(c_prev + o_h, mask=m, other=0.0)
    valid = valid_at(t, sequence_lengths(lens, rows, rmask, HAS_LEN), m, HAS_LEN)
    v_i, v_f, v_o = peephole_weights(p_i, p_f, p_o, cols, cmask, PEEP)
    dpo, dcn = lstm_hidden_bwd(dh, o, c, valid, m, H, lnc_w, lnc_b, cols, cmask, stats, rows, rmask, dcn_out, o_h, LN)
    dpi, dpf, dpg, dpo, dcp, dh_p = lstm_gates_bwd(dh, dc_in, dcn, dpo, i, f, g, cp, valid, v_i, v_f, v_o, PEEP)
    tl.store(dc_prev + o_h, dcp, mask=m)
    tl.store(dh_pass + o_h, dh_p, mask=m)
    store_gates(dG, o_g, H, m, dpi, dpf, dpg, dpo)
    if LN:  # back through LN_hh to the raw recurrent product
        dpi, dpf, dpg, dpo = layer_norm_gates_bwd(dpi, dpf, dpg, dpo, m, H, ln_w, cols, cmask, ghn, o_g, stats, rows, rmask)
        store_gates(dGh, o_g, H, m, dpi, dpf, dpg, dpo)


# ----------------------------------------------------------------------- GRU
@triton.jit
def gru_fwd_step(
    gx, gh, h_prev, lens, t, h_out, gates,
    B, H,
    HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    """One GRU step. ``gx``: (B, 3H) with b_ih; ``gh``: (B, 3H) with b_hh.
    Saves r, z, n and the recurrent candidate term ``hn`` as (B, 4H)."""
    rows, cols, rmask, _, m = tile(tl.program_id(0), tl.program_id(1), B, H, BLOCK_B, BLOCK_H)
    o_h = offsets(rows, cols, H)
    o_3 = offsets(rows, cols, 3 * H)
    x_r, x_z, x_n = load_gates3(gx, o_3, H, m)
    a_r, a_z, hn = load_gates3(gh, o_3, H, m)
    hp = tl.load(h_prev + o_h, mask=m, other=0.0)
    r, z, n, h = gru_cell(x_r + a_r, x_z + a_z, x_n, hn, hp)
    if HAS_LEN:
        h = tl.where(valid_at(t, sequence_lengths(lens, rows, rmask, HAS_LEN), m, HAS_LEN), h, hp)
    tl.store(h_out + o_h, h, mask=m)
    store_gates(gates, offsets(rows, cols, 4 * H), H, m, r, z, n, hn)


@triton.jit
def gru_bwd_step(
    dh_out, dh_carry, gates, h_prev, lens, t, dG, dGh, dh_pass,
    B, H,
    HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    """Backward of one GRU step: ``dG`` (B, 3H) for the input projection,
    ``dGh`` (B, 3H) for the recurrent product, ``dh_pass = z dh`` (or ``dh``
    at a padded step)."""
    rows, cols, rmask, _, m = tile(tl.program_id(0), tl.program_id(1), B, H, BLOCK_B, BLOCK_H)
    o_h = offsets(rows, cols, H)
    o_3 = offsets(rows, cols, 3 * H)
    dh = tl.load(dh_out + o_h, mask=m, other=0.0) + tl.load(dh_carry + o_h, mask=m, other=0.0)
    r, z, n, hn = load_gates(gates, offsets(rows, cols, 4 * H), H, m, "")
    hp = tl.load(h_prev + o_h, mask=m, other=0.0)
    valid = valid_at(t, sequence_lengths(lens, rows, rmask, HAS_LEN), m, HAS_LEN)
    dpr, dpz, dpn, dhn, dh_p = gru_cell_bwd(dh, r, z, n, hn, hp, valid)
    tl.store(dh_pass + o_h, dh_p, mask=m)
    store_gates3(dG, o_3, H, m, dpr, dpz, dpn)
    store_gates3(dGh, o_3, H, m, dpr, dpz, dhn)


# ----------------------------------------------------------------------- RNN
@triton.jit
def rnn_fwd_step(
    gx, gh, h_prev, lens, t, h_out,
    B, H,
    RELU: tl.constexpr, HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    rows, cols, rmask, _, m = tile(tl.program_id(0), tl.program_id(1), B, H, BLOCK_B, BLOCK_H)
    o_h = offsets(rows, cols, H)
    h = rnn_cell(tl.load(gx + o_h, mask=m, other=0.0) + tl.load(gh + o_h, mask=m, other=0.0), RELU)
    if HAS_LEN:
        valid = valid_at(t, sequence_lengths(lens, rows, rmask, HAS_LEN), m, HAS_LEN)
        h = tl.where(valid, h, tl.load(h_prev + o_h, mask=m, other=0.0))
    tl.store(h_out + o_h, h, mask=m)


@triton.jit
def rnn_bwd_step(
    dh_out, dh_carry, h_cur, lens, t, dG, dh_pass,
    B, H,
    RELU: tl.constexpr, HAS_LEN: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr,
):
    rows, cols, rmask, _, m = tile(tl.program_id(0), tl.program_id(1), B, H, BLOCK_B, BLOCK_H)
    o_h = offsets(rows, cols, H)
    dh = tl.load(dh_out + o_h, mask=m, other=0.0) + tl.load(dh_carry + o_h, mask=m, other=0.0)
    valid = valid_at(t, sequence_lengths(lens, rows, rmask, HAS_LEN), m, HAS_LEN)
    d, dh_p = rnn_cell_bwd(dh, tl.load(h_cur + o_h, mask=m, other=0.0), valid, RELU)
    tl.store(dG + o_h, d, mask=m)
    tl.store(dh_pass + o_h, dh_p, mask=m)
