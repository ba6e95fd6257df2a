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
barrier (an atomic arrival counter per barrier and ``tl.atomic_poll``). This
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

from .activations import sigmoid, tanh

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
    elif n_prog > 1:
        return f"the Triton interpreter runs programs one after another, so a grid of {n_prog} cannot meet at a barrier"
    return None


@triton.jit
def _grid_barrier(sync, k, n_prog, err, TIMEOUT: tl.constexpr):
    """All ``n_prog`` programs meet at barrier ``k`` (its own counter ``sync[k]``)."""
    tl.debug_barrier()  # this program's stores are done
    tl.atomic_add(sync + k, 1, sem="release", scope="gpu")
    # once one barrier has timed out the results are void: stop waiting at the others
    if tl.atomic_add(err, 0, sem="acquire", scope="gpu") == 0:
        ok = tl.atomic_poll(sync + k, n_prog, sem="acquire", scope="gpu", timeout_ns=TIMEOUT)
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
    ph = tl.program_id(0)
    pb = tl.program_id(1)
    rows = pb * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = ph * BLOCK_H + tl.arange(0, BLOCK_H)
    ks = tl.arange(0, HPK)
    rmask = rows < B
    cmask = cols < H
    kmask = ks < H
    m = rmask[:, None] & cmask[None, :]
    mk = rmask[:, None] & kmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    o_k = rows[:, None] * H + ks[None, :]
    o_g = rows[:, None] * (4 * H) + cols[None, :]
    # this program's rows of W_hh, transposed: (HPK, BLOCK_H) per gate
    wmask = kmask[:, None] & cmask[None, :]
    w_i = tl.load(w + cols[None, :] * H + ks[:, None], mask=wmask, other=0.0)
    w_f = tl.load(w + (H + cols)[None, :] * H + ks[:, None], mask=wmask, other=0.0)
    w_g = tl.load(w + (2 * H + cols)[None, :] * H + ks[:, None], mask=wmask, other=0.0)
    w_o = tl.load(w + (3 * H + cols)[None, :] * H + ks[:, None], mask=wmask, other=0.0)
    if PEEP:
        v_i = tl.load(p_i + cols, mask=cmask, other=0.0)[None, :]
        v_f = tl.load(p_f + cols, mask=cmask, other=0.0)[None, :]
        v_o = tl.load(p_o + cols, mask=cmask, other=0.0)[None, :]
    if HAS_LEN:
        n_valid = tl.load(lens + rows, mask=rmask, other=0)
    for s in range(n_steps):
        t = t_start + s
        later = ((rows * 0 + t) > 0)[:, None]  # not the first step: the state is in hs/cs
        prev = (t - 1) * B * H
        h_full = tl.load(hs + prev + o_k, mask=mk & later, other=0.0, cache_modifier=CM) + tl.load(
            h0 + o_k, mask=mk & ~later, other=0.0
        )
        hp = tl.load(hs + prev + o_h, mask=m & later, other=0.0, cache_modifier=CM) + tl.load(h0 + o_h, mask=m & ~later, other=0.0)
        cp = tl.load(cs + prev + o_h, mask=m & later, other=0.0, cache_modifier=CM) + tl.load(c0 + o_h, mask=m & ~later, other=0.0)
        sg = t * B * 4 * H
        pre_i = tl.load(gx + sg + o_g, mask=m, other=0.0) + tl.dot(h_full, w_i, input_precision=PREC)
        pre_f = tl.load(gx + sg + o_g + H, mask=m, other=0.0) + tl.dot(h_full, w_f, input_precision=PREC)
        pre_g = tl.load(gx + sg + o_g + 2 * H, mask=m, other=0.0) + tl.dot(h_full, w_g, input_precision=PREC)
        pre_o = tl.load(gx + sg + o_g + 3 * H, mask=m, other=0.0) + tl.dot(h_full, w_o, input_precision=PREC)
        if PEEP:
            pre_i += v_i * cp
            pre_f += v_f * cp
        i = sigmoid(pre_i)
        f = sigmoid(pre_f)
        g = tanh(pre_g)
        c = f * cp + i * g
        if PEEP:
            pre_o += v_o * c
        o = sigmoid(pre_o)
        h = o * tanh(c)
        if HAS_LEN:
            valid = (t < n_valid)[:, None]
            h = tl.where(valid, h, hp)
            c = tl.where(valid, c, cp)
        tl.store(hs + t * B * H + o_h, h, mask=m)
        tl.store(cs + t * B * H + o_h, c, mask=m)
        tl.store(gates + sg + o_g, i, mask=m)
        tl.store(gates + sg + o_g + H, f, mask=m)
        tl.store(gates + sg + o_g + 2 * H, g, mask=m)
        tl.store(gates + sg + o_g + 3 * H, o, mask=m)
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
    ph = tl.program_id(0)
    pb = tl.program_id(1)
    rows = pb * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = ph * BLOCK_H + tl.arange(0, BLOCK_H)  # units (phase 1) and columns of h (phase 2)
    js = tl.arange(0, HPK)
    rmask = rows < B
    cmask = cols < H
    jmask = js < H
    m = rmask[:, None] & cmask[None, :]
    mj = rmask[:, None] & jmask[None, :]
    o_h = rows[:, None] * H + cols[None, :]
    o_g = rows[:, None] * (4 * H) + cols[None, :]
    o_j = rows[:, None] * (4 * H) + js[None, :]
    if PHASE != 1:  # columns `cols` of W_hh for all units j: (HPK, BLOCK_H) per gate
        wmask = jmask[:, None] & cmask[None, :]
        w_i = tl.load(w + js[:, None] * H + cols[None, :], mask=wmask, other=0.0)
        w_f = tl.load(w + (H + js)[:, None] * H + cols[None, :], mask=wmask, other=0.0)
        w_g = tl.load(w + (2 * H + js)[:, None] * H + cols[None, :], mask=wmask, other=0.0)
        w_o = tl.load(w + (3 * H + js)[:, None] * H + cols[None, :], mask=wmask, other=0.0)
    if PEEP:
        v_i = tl.load(p_i + cols, mask=cmask, other=0.0)[None, :]
        v_f = tl.load(p_f + cols, mask=cmask, other=0.0)[None, :]
        v_o = tl.load(p_o + cols, mask=cmask, other=0.0)[None, :]
    if HAS_LEN:
        n_valid = tl.load(lens + rows, mask=rmask, other=0)
    for s in range(n_steps):
        t = t_start - s
        sg = t * B * 4 * H
        sh = t * B * H
        if HAS_LEN:
            valid = (t < n_valid)[:, None] & m
        else:
            valid = m
        if PHASE != 2:
            dh = tl.load(d_hs + sh + o_h, mask=m, other=0.0) + tl.load(dh_buf + o_h, mask=m, other=0.0, cache_modifier=CM)
            dc_in = tl.load(dc_buf + o_h, mask=m, other=0.0)
            i = tl.load(gates + sg + o_g, mask=m, other=0.0)
            f = tl.load(gates + sg + o_g + H, mask=m, other=0.0)
            g = tl.load(gates + sg + o_g + 2 * H, mask=m, other=0.0)
            o = tl.load(gates + sg + o_g + 3 * H, mask=m, other=0.0)
            c = tl.load(cs + sh + o_h, mask=m, other=0.0)
            later = ((rows * 0 + t) > 0)[:, None]
            cp = tl.load(cs + sh - B * H + o_h, mask=m & later, other=0.0) + tl.load(c0 + o_h, mask=m & ~later, other=0.0)
            tc = tanh(c)
            dpo = dh * tc * o * (1.0 - o)
            dc = dc_in + dh * o * (1.0 - tc * tc)
            if PEEP:
                dc += dpo * v_o
            dpi = dc * g * i * (1.0 - i)
            dpf = dc * cp * f * (1.0 - f)
            dpg = dc * i * (1.0 - g * g)
            dcp = dc * f
            if PEEP:
                dcp += dpi * v_i + dpf * v_f
            tl.store(dG + sg + o_g, tl.where(valid, dpi, 0.0), mask=m)
            tl.store(dG + sg + o_g + H, tl.where(valid, dpf, 0.0), mask=m)
            tl.store(dG + sg + o_g + 2 * H, tl.where(valid, dpg, 0.0), mask=m)
            tl.store(dG + sg + o_g + 3 * H, tl.where(valid, dpo, 0.0), mask=m)
            tl.store(dc_buf + o_h, tl.where(valid, dcp, dc_in), mask=m)
            tl.store(dh_pass + o_h, tl.where(valid, 0.0, dh), mask=m)
        if SYNC:
            _grid_barrier(sync, 2 * s, n_prog, err, TIMEOUT)
        if PHASE != 1:
            acc = tl.load(dh_pass + o_h, mask=m, other=0.0, cache_modifier=CM)
            acc += tl.dot(tl.load(dG + sg + o_j, mask=mj, other=0.0, cache_modifier=CM), w_i, input_precision=PREC)
            acc += tl.dot(tl.load(dG + sg + o_j + H, mask=mj, other=0.0, cache_modifier=CM), w_f, input_precision=PREC)
            acc += tl.dot(tl.load(dG + sg + o_j + 2 * H, mask=mj, other=0.0, cache_modifier=CM), w_g, input_precision=PREC)
            acc += tl.dot(tl.load(dG + sg + o_j + 3 * H, mask=mj, other=0.0, cache_modifier=CM), w_o, input_precision=PREC)
            tl.store(dh_buf + o_h, acc, mask=m)
        if SYNC:
            _grid_barrier(sync, 2 * s + 1, n_prog, err, TIMEOUT)


# ------------------------------------------------------------ host launchers
def _common(B, H, sync: bool, device):
    bb, bh, hpk, grid = tiles(B, H)
    n_prog = grid[0] * grid[1]
    kw = dict(BLOCK_B=bb, BLOCK_H=bh, HPK=hpk, PREC="ieee", CM=".cg" if sync else "", TIMEOUT=SYNC_TIMEOUT_NS)
    if device.type == "cuda":
        kw.update(LAUNCH_OPTS)
    return grid, n_prog, kw


def _check(err: torch.Tensor) -> None:
    if int(err.item()) != 0:
        raise RuntimeError(
            "triton cooperative LSTM kernel: a grid barrier timed out (the programs were not all "
            "resident at once); run with LSTMKIT_TRITON_COOPERATIVE=0"
        )


def lstm_forward(gx, h0, c0, w_hh, lens_t, has_len, args_p, peep, hs, cs, gates, sync: bool):
    T, B, _ = gx.shape
    H = h0.shape[1]
    grid, n_prog, kw = _common(B, H, sync, gx.device)
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
    grid, n_prog, kw = _common(B, H, sync, cs.device)
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
