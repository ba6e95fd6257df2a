"""Tiled LSTM step kernels that also run as a cooperative persistent kernel.

For layers too large for one program to hold ``W_hh`` (:mod:`.persistent`),
the work of a step is split by hidden units: program ``(p, q)`` owns the
units ``j`` in ``[p*BLOCK_H, (p+1)*BLOCK_H)`` of all four gates for the batch
rows of tile ``q``. It computes its slice of the recurrent product with
``tl.dot`` from the *whole* previous ``h`` (read from global memory, written
by all programs at the previous step) and its own ``4*BLOCK_H`` rows of
``W_hh``, then does the fused gate math for its units: one launch per step
does the recurrent product and the cell (the ``tile`` path).

With ``SYNC`` the same program loops over all steps inside one launch
(``cooperative`` path): it loads its slice of ``W_hh`` once and keeps it on
chip, and after each step every program meets the others at a grid-wide
barrier (an atomic arrival counter per barrier, waited on with
``tl.atomic_poll`` where triton has it, else by re-reading it). This
needs every program of the grid resident at once, so the grid must not exceed
the number of SMs (:func:`cooperative_fits`); the poll has a timeout and a
flag, so a grid that cannot be co-resident fails loudly instead of hanging.

The backward pass is tiled the same way in two phases per step: phase A,
per unit slice, gives the gate derivatives ``dG`` of its units and the
carried ``dc``; phase B, per slice ``k`` of ``h``, gives
``dh_{t-1}[:, k] = dh_pass + sum_g dG_g W_g[:, k]`` from all of ``dG``
(its own ``W_hh`` columns on chip). Without ``SYNC`` they are two launches
per step; with it, one launch and two barriers per step.

Plain and peephole LSTMs only (the layer norms reduce over whole rows).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from .cell_math import (
    lstm_gates,
    lstm_gates_bwd,
    lstm_hidden,
    lstm_hidden_bwd,
    peephole_weights,
)
from .tiles import (
    block_shared_memory,
    gate_products,
    kernel_config,
    load_gates,
    offsets,
    previous_step,
    sequence_lengths,
    store_gates,
    tile,
    valid_at,
    w_hh_tile,
    w_hh_tile_t,
)

BLOCK_B = 16  # rows per program (tl.dot needs 16); the whole previous h of them is one tile
#: weights one program may hold on chip in the cooperative kernel (float32
#: elements, 128 KiB): a 16-unit slice of all four gates up to H = 512
MAX_HELD = 32768
#: launch options on a GPU (see persistent.LAUNCH_OPTS)
LAUNCH_OPTS = dict(num_warps=8, num_stages=1)
#: how long a program waits at a grid barrier before it gives up (ns)
SYNC_TIMEOUT_NS = 2_000_000_000


def tiles(B: int, H: int) -> tuple[int, int, int, tuple[int, int]]:
    """``(BLOCK_B, BLOCK_H, HPK, grid)`` of the tiled kernels."""
    hpk = max(16, triton.next_power_of_2(H))
    bb = BLOCK_B
    bh = 16
    while 4 * bh * hpk < MAX_HELD // 4 and bh < hpk and triton.cdiv(H, bh * 2) >= 8:
        bh *= 2  # wider slices while the grid keeps at least 8 unit slices
    return bb, bh, hpk, (triton.cdiv(H, bh), triton.cdiv(B, bb))


def shared_bytes(B: int, H: int, split: bool) -> int:
    """Shared memory one program of the tiled kernels takes: its slice of ``W_hh`` (twice with split
    tf32x3 operands) and the rows' previous ``h`` (as ptxas reported for sm_90: 40 KiB at H = 128,
    160 KiB at H = 512, 144 KiB at H = 256 split, 288 KiB at H = 512 split)."""
    bb, bh, hpk, _ = tiles(B, H)
    return (2 if split else 1) * 4 * 4 * bh * hpk + 4 * bb * hpk


def tile_problem(B: int, H: int) -> str | None:
    """Why the tiled kernels cannot run this size, or None."""
    bb, bh, hpk, grid = tiles(B, H)
    if 4 * bh * hpk > MAX_HELD:
        return f"a unit slice of W_hh ({4 * bh}x{hpk}) is too large to hold on chip (H <= 512)"
    return None


def cooperative_fits(B: int, H: int, device: torch.device) -> str | None:
    """Why the cooperative kernel cannot run this size on ``device``, or None."""
    problem = tile_problem(B, H)
    if problem:
        return problem
    bb, bh, hpk, grid = tiles(B, H)
    n_prog = grid[0] * grid[1]
    if device.type == "cuda":
        sms = torch.cuda.get_device_properties(device).multi_processor_count
        if n_prog > sms:
            return f"the grid ({n_prog} programs) exceeds the {sms} SMs that can hold it at once"
        need, have = shared_bytes(B, H, split=False), block_shared_memory(device)
        if need > have:
            return f"a program needs {need} bytes of shared memory at H={H}; this GPU gives a block {have}"
    elif n_prog > 1:
        return f"the Triton interpreter runs programs one after another, so a grid of {n_prog} cannot meet at a barrier"
    return None


#: whether this triton has ``tl.atomic_poll`` (3.9 on): a spin wait timed by the
#: GPU's clock. Older releases wait by re-reading the counter (:func:`_wait_for`).
POLL = tl.constexpr(hasattr(tl, "atomic_poll"))
#: without ``atomic_poll``, the timeout in re-reads: one per this many ns of it
#: (an acquire read of a contended L2 line takes about 0.5-1 us on a GPU)
SPIN_NS = tl.constexpr(500)


@triton.jit
def _wait_for(ptr, expected, TIMEOUT: tl.constexpr):
    """Whether ``*ptr`` came to equal ``expected`` before the timeout (acquire)."""
    if POLL:
        ok = tl.atomic_poll(ptr, expected, sem="acquire", scope="gpu", timeout_ns=TIMEOUT)
    else:
        seen = tl.atomic_add(ptr, 0, sem="acquire", scope="gpu")
        tries = 1
        while (seen != expected) & (tries < TIMEOUT // SPIN_NS):
            seen = tl.atomic_add(ptr, 0, sem="acquire", scope="gpu")
            tries += 1
        ok = seen == expected
    return ok


@triton.jit
def _grid_barrier(sync, k, n_prog, err, TIMEOUT: tl.constexpr):
    """All ``n_prog`` programs meet at barrier ``k`` (its own counter ``sync[k]``)."""
    tl.debug_barrier()  # this program's stores are done
    tl.atomic_add(sync + k, 1, sem="release", scope="gpu")
    # once one barrier has timed out the results are void: stop waiting at the others
    if tl.atomic_add(err, 0, sem="acquire", scope="gpu") == 0:
        ok = _wait_for(sync + k, n_prog, TIMEOUT)
        tl.atomic_max(err, tl.where(ok, 0, 1))
    tl.debug_barrier()


@triton.jit
def lstm_tile_fwd(
    gx, h0, c0, w, lens, p_i, p_f, p_o,
    hs, cs, gates, sync, err,
    t_start, n_steps, B, H, n_prog,
    PEEP: tl.constexpr, HAS_LEN: tl.constexpr, SYNC: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr, HPK: tl.constexpr, PREC: tl.constexpr,
    CM: tl.constexpr, TIMEOUT: tl.constexpr,
):
    rows, cols, rmask, cmask, m = tile(tl.program_id(1), tl.program_id(0), B, H, BLOCK_B, BLOCK_H)
    _, ks, _, kmask, mk = tile(tl.program_id(1), 0, B, H, BLOCK_B, HPK)  # the whole previous h of these rows
    o_h = offsets(rows, cols, H)
    o_k = offsets(rows, ks, H)
    o_g = offsets(rows, cols, 4 * H)
    # this program's rows of W_hh, transposed: (HPK, BLOCK_H) per gate
    w_i = w_hh_tile_t(w, 0, H, cols, cmask, ks, kmask)
    w_f = w_hh_tile_t(w, 1, H, cols, cmask, ks, kmask)
    w_g = w_hh_tile_t(w, 2, H, cols, cmask, ks, kmask)
    w_o = w_hh_tile_t(w, 3, H, cols, cmask, ks, kmask)
    v_i, v_f, v_o = peephole_weights(p_i, p_f, p_o, cols, cmask, PEEP)
    n_valid = sequence_lengths(lens, rows, rmask, HAS_LEN)
    for s in range(n_steps):
        t = t_start + s
        # the state of step t-1, written by all programs (h0, c0 at the first step)
        h_full = previous_step(hs, h0, t, B, H, o_k, mk, rows, CM)
        hp = previous_step(hs, h0, t, B, H, o_h, m, rows, CM)
        cp = previous_step(cs, c0, t, B, H, o_h, m, rows, CM)
        sg = t * B * 4 * H
        x_i, x_f, x_g, x_o = load_gates(gx + sg, o_g, H, m, "")
        a_i, a_f, a_g, a_o = gate_products(h_full, w_i, w_f, w_g, w_o, PREC)
        i, f, g, o, c = lstm_gates(x_i + a_i, x_f + a_f, x_g + a_g, x_o + a_o, cp, v_i, v_f, v_o, PEEP)
        h = lstm_hidden(c, o, m, H, 0.0, 0, 0, cols, cmask, 0, rows, rmask, False)
        if HAS_LEN:
            valid = valid_at(t, n_valid, m, HAS_LEN)
            h = tl.where(valid, h, hp)
            c = tl.where(valid, c, cp)
        tl.store(hs + t * B * H + o_h, h, mask=m)
        tl.store(cs + t * B * H + o_h, c, mask=m)
        store_gates(gates + sg, o_g, H, m, i, f, g, o)
        if SYNC:
            _grid_barrier(sync, s, n_prog, err, TIMEOUT)


@triton.jit
def lstm_tile_bwd(
    d_hs, w, gates, cs, c0, lens, p_i, p_f, p_o,
    dG, dc_buf, dh_buf, dh_pass, sync, err,
    t_start, n_steps, B, H, n_prog,
    PEEP: tl.constexpr, HAS_LEN: tl.constexpr, SYNC: tl.constexpr, PHASE: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr, HPK: tl.constexpr, PREC: tl.constexpr,
    CM: tl.constexpr, TIMEOUT: tl.constexpr,
):
    """Steps ``t_start, t_start-1, ...`` (``n_steps`` of them) backwards.

    ``PHASE`` 1: gate derivatives of this program's units; 2: this program's
    slice of ``dh_{t-1}``; 3: both, with grid barriers (``SYNC``).
    ``dh_buf`` holds the gradient reaching ``h_t`` through ``W_hh`` (zero at
    the start), ``dc_buf`` the one reaching ``c_t`` (``dc_T`` at the start).
    """
    # cols: the units (phase 1) and the columns of h (phase 2) of this program
    rows, cols, rmask, cmask, m = tile(tl.program_id(1), tl.program_id(0), B, H, BLOCK_B, BLOCK_H)
    _, js, _, jmask, mj = tile(tl.program_id(1), 0, B, H, BLOCK_B, HPK)  # all units of these rows
    o_h = offsets(rows, cols, H)
    o_g = offsets(rows, cols, 4 * H)
    o_j = offsets(rows, js, 4 * H)
    if PHASE != 1:  # columns `cols` of W_hh for all units j: (HPK, BLOCK_H) per gate
        w_i = w_hh_tile(w, 0, H, js, jmask, cols, cmask)
        w_f = w_hh_tile(w, 1, H, js, jmask, cols, cmask)
        w_g = w_hh_tile(w, 2, H, js, jmask, cols, cmask)
        w_o = w_hh_tile(w, 3, H, js, jmask, cols, cmask)
    v_i, v_f, v_o = peephole_weights(p_i, p_f, p_o, cols, cmask, PEEP)
    n_valid = sequence_lengths(lens, rows, rmask, HAS_LEN)
    for s in range(n_steps):
        t = t_start - s
        sg = t * B * 4 * H
        sh = t * B * H
        if PHASE != 2:
            valid = valid_at(t, n_valid, m, HAS_LEN)
            dh = tl.load(d_hs + sh + o_h, mask=m, other=0.0) + tl.load(dh_buf + o_h, mask=m, other=0.0, cache_modifier=CM)
            dc_in = tl.load(dc_buf + o_h, mask=m, other=0.0)
            i, f, g, o = load_gates(gates + sg, o_g, H, m, "")
            c = tl.load(cs + sh + o_h, mask=m, other=0.0)
            # c_{t-1} written out, not tiles.previous_step: its address form
            # (t-1)*B*H spills 8 bytes here on sm_90 (tests/test_triton_compile.py)
            later = ((rows * 0 + t) > 0)[:, None]
            cp = tl.load(cs + sh - B * H + o_h, mask=m & later, other=0.0) + tl.load(c0 + o_h, mask=m & ~later, other=0.0)
            dpo, dcn = lstm_hidden_bwd(dh, o, c, valid, m, H, 0, 0, cols, cmask, 0, rows, rmask, 0, o_h, False)
            dpi, dpf, dpg, dpo, dcp, dh_p = lstm_gates_bwd(dh, dc_in, dcn, dpo, i, f, g, cp, valid, v_i, v_f, v_o, PEEP)
            store_gates(dG + sg, o_g, H, m, dpi, dpf, dpg, dpo)
            tl.store(dc_buf + o_h, dcp, mask=m)
            tl.store(dh_pass + o_h, dh_p, mask=m)
        if SYNC:
            _grid_barrier(sync, 2 * s, n_prog, err, TIMEOUT)
        if PHASE != 1:  # dh_{t-1}[:, cols] from all units' dG (each gate's tile read just before its product)
            acc = tl.load(dh_pass + o_h, mask=m, other=0.0, cache_modifier=CM)
            acc += tl.dot(tl.load(dG + sg + o_j, mask=mj, other=0.0, cache_modifier=CM), w_i, input_precision=PREC)
            acc += tl.dot(tl.load(dG + sg + o_j + H, mask=mj, other=0.0, cache_modifier=CM), w_f, input_precision=PREC)
            acc += tl.dot(tl.load(dG + sg + o_j + 2 * H, mask=mj, other=0.0, cache_modifier=CM), w_g, input_precision=PREC)
            acc += tl.dot(tl.load(dG + sg + o_j + 3 * H, mask=mj, other=0.0, cache_modifier=CM), w_o, input_precision=PREC)
            tl.store(dh_buf + o_h, acc, mask=m)
        if SYNC:
            _grid_barrier(sync, 2 * s + 1, n_prog, err, TIMEOUT)


# ------------------------------------------------------------ host launchers
def _common(B, H, sync: bool, like: torch.Tensor):
    bb, bh, hpk, grid = tiles(B, H)
    n_prog = grid[0] * grid[1]
    # split operands (tf32x3) hold W_hh's slice twice: at H = 512 that is more
    # shared memory than an H100/H200 block has (294912 > 232448 bytes)
    split_fits = like.is_cuda and shared_bytes(B, H, split=True) <= block_shared_memory(like.device)
    prec, opts = kernel_config(like, LAUNCH_OPTS, split_fits=split_fits)
    kw = dict(BLOCK_B=bb, BLOCK_H=bh, HPK=hpk, PREC=prec, CM=".cg" if sync else "", TIMEOUT=SYNC_TIMEOUT_NS)
    if like.device.type == "cuda":
        kw.update(opts)
    return grid, n_prog, kw


class BarrierTimeout(RuntimeError):
    """A grid barrier of the cooperative kernel timed out: its results are void."""


def _check(err: torch.Tensor) -> None:
    if int(err.item()) != 0:
        raise BarrierTimeout(
            "triton cooperative LSTM kernel: a grid barrier timed out (the programs were not all "
            "resident at once, e.g. other work held some of the GPU's SMs)"
        )


def lstm_forward(gx, h0, c0, w_hh, lens_t, has_len, args_p, peep, hs, cs, gates, sync: bool):
    T, B, _ = gx.shape
    H = h0.shape[1]
    grid, n_prog, kw = _common(B, H, sync, gx)
    err = torch.zeros(1, dtype=torch.int32, device=gx.device)
    if sync:
        counters = torch.zeros(T, dtype=torch.int32, device=gx.device)
        lstm_tile_fwd[grid](gx, h0, c0, w_hh, lens_t, *args_p, hs, cs, gates, counters, err,
                            0, T, B, H, n_prog, PEEP=peep, HAS_LEN=has_len, SYNC=True, **kw)
        _check(err)
    else:
        for t in range(T):
            lstm_tile_fwd[grid](gx, h0, c0, w_hh, lens_t, *args_p, hs, cs, gates, err, err,
                                t, 1, B, H, n_prog, PEEP=peep, HAS_LEN=has_len, SYNC=False, **kw)


def lstm_backward(d_hs, dc_T, w_hh, gates, cs, c0, lens_t, has_len, args_p, peep, dG, sync: bool):
    T, B, H = cs.shape
    grid, n_prog, kw = _common(B, H, sync, cs)
    err = torch.zeros(1, dtype=torch.int32, device=cs.device)
    dc_buf = dc_T.clone()
    dh_buf = torch.zeros_like(dc_T)
    dh_pass = torch.empty_like(dc_T)
    args = (d_hs, w_hh, gates, cs, c0, lens_t, *args_p, dG, dc_buf, dh_buf, dh_pass)
    if sync:
        counters = torch.zeros(2 * T, dtype=torch.int32, device=cs.device)
        lstm_tile_bwd[grid](*args, counters, err, T - 1, T, B, H, n_prog,
                            PEEP=peep, HAS_LEN=has_len, SYNC=True, PHASE=3, **kw)
        _check(err)
    else:
        for t in range(T - 1, -1, -1):
            for phase in (1, 2):
                lstm_tile_bwd[grid](*args, err, err, t, 1, B, H, n_prog,
                                    PEEP=peep, HAS_LEN=has_len, SYNC=False, PHASE=phase, **kw)
    return dh_buf, dc_buf
