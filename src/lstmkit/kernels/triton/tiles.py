"""Tile layout, loads and stores shared by every Triton kernel of the backend.

A kernel works on a tile of ``BLOCK_B`` sequences (rows) by ``BLOCK_H`` hidden
units (columns) of row-major ``(B, width)`` matrices: the state is ``(B, H)``,
the gate pre-activations and activations ``(B, G*H)`` with gate ``k`` in the
columns ``[k*H, (k+1)*H)``, and ``W_hh`` is ``(G*H, H)`` in torch's layout.
These helpers set up the indices and masks of such a tile and move its gate
tiles, weight tiles and per-unit vectors between global memory and the chip.
Masked-off elements load as zero, so that reductions and products over a
padded tile see only the real ones.

Every helper is a ``@triton.jit`` function: inlined into the kernels when
compiled, called as Python in the Triton interpreter.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl


#: ``num_warps`` of the one-launch kernels when their products run on the
#: tensor cores (``tf32x3``): 4 was as fast or faster than 8 on an H200 there
#: (RESULTS.md, GPU section); FMA products keep the launchers' own default
SPLIT_WARPS = 4


def block_shared_memory(device: torch.device) -> int:
    """Bytes of shared memory one block of this GPU may take (the opt-in limit: 227 KiB on an
    H100/H200, 163 KiB on an A100, 99 KiB on the sm_86/sm_89 parts)."""
    props = torch.cuda.get_device_properties(device)
    optin = getattr(props, "shared_memory_per_block_optin", None)
    if optin:
        return int(optin)
    return int(getattr(props, "shared_memory_per_multiprocessor", 49152 + 1024)) - 1024


def kernel_config(like: torch.Tensor, default_opts: dict, split_fits: bool = True) -> tuple[str, dict]:
    """``(input_precision, launch options)`` of the recurrent products.

    Float32 on a GPU with TF32 tensor cores (sm_80 on), where the kernel's
    tiles fit this GPU's shared memory with the operands split (``split_fits``,
    the caller's reckoning): ``"tf32x3"``, each
    float32 operand split into a TF32 high and low part and three tensor-core
    products summed, which gives float32-level error (measured against
    float64 on an H200: 3.0e-7 relative on the outputs, FMA 3.6e-7) at up to
    5x the FMA speed. Otherwise ``"ieee"``: float32 (or float64) FMA
    arithmetic, and in the interpreter. For measurements,
    ``LSTMKIT_TRITON_PREC`` (``ieee``, ``tf32x3``, ``tf32``) and
    ``LSTMKIT_TRITON_WARPS`` override the choice.
    """
    opts = dict(default_opts)
    if like.dtype != torch.float32 or not like.is_cuda:
        return "ieee", opts
    prec = os.environ.get("LSTMKIT_TRITON_PREC")
    if prec is None:
        split = split_fits and torch.cuda.get_device_capability(like.device) >= (8, 0)
        prec = "tf32x3" if split else "ieee"
    if prec != "ieee":
        opts["num_warps"] = SPLIT_WARPS
    warps = os.environ.get("LSTMKIT_TRITON_WARPS")
    if warps:
        opts["num_warps"] = int(warps)
    return prec, opts


@triton.jit
def tile(pid_b, pid_h, B, H, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr):
    """Rows ``pid_b*BLOCK_B + [0, BLOCK_B)`` and columns ``pid_h*BLOCK_H +
    [0, BLOCK_H)`` of a ``(B, H)`` matrix: ``rows, cols, rmask, cmask`` and the
    ``(BLOCK_B, BLOCK_H)`` mask of the tile."""
    rows = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)
    rmask = rows < B
    cmask = cols < H
    return rows, cols, rmask, cmask, rmask[:, None] & cmask[None, :]


@triton.jit
def offsets(rows, cols, width):
    """Element offsets of the tile ``rows x cols`` in a row-major ``(B, width)`` matrix."""
    return rows[:, None] * width + cols[None, :]


@triton.jit
def row_vector(p, off, cols, cmask):
    """Per-unit parameters ``p[off + cols]`` as a ``(1, BLOCK_H)`` row."""
    return tl.load(p + off + cols, mask=cmask, other=0.0)[None, :]


@triton.jit
def load_gates(p, o, H, m, CM: tl.constexpr):
    """The four gate tiles ``p[o + k*H]``, ``k = 0..3`` (cache modifier ``CM``)."""
    a = tl.load(p + o, mask=m, other=0.0, cache_modifier=CM)
    b = tl.load(p + o + H, mask=m, other=0.0, cache_modifier=CM)
    c = tl.load(p + o + 2 * H, mask=m, other=0.0, cache_modifier=CM)
    d = tl.load(p + o + 3 * H, mask=m, other=0.0, cache_modifier=CM)
    return a, b, c, d


@triton.jit
def load_gates3(p, o, H, m):
    """The three gate tiles ``p[o + k*H]``, ``k = 0..2`` (the GRU's r, z, n)."""
    return tl.load(p + o, mask=m, other=0.0), tl.load(p + o + H, mask=m, other=0.0), tl.load(p + o + 2 * H, mask=m, other=0.0)


@triton.jit
def store_gates(p, o, H, m, a, b, c, d):
    """Store four gate tiles at ``p[o + k*H]``, ``k = 0..3``."""
    tl.store(p + o, a, mask=m)
    tl.store(p + o + H, b, mask=m)
    tl.store(p + o + 2 * H, c, mask=m)
    tl.store(p + o + 3 * H, d, mask=m)


@triton.jit
def store_gates3(p, o, H, m, a, b, c):
    """Store three gate tiles at ``p[o + k*H]``, ``k = 0..2``."""
    tl.store(p + o, a, mask=m)
    tl.store(p + o + H, b, mask=m)
    tl.store(p + o + 2 * H, c, mask=m)


@triton.jit
def w_hh_tile(w, g, H, js, jmask, ks, kmask):
    """Gate ``g`` of ``W_hh`` ``(G*H, H)`` as stored: the ``(J, K)`` tile ``W[g*H + j, k]``."""
    return tl.load(w + (g * H + js)[:, None] * H + ks[None, :], mask=jmask[:, None] & kmask[None, :], other=0.0)


@triton.jit
def w_hh_tile_t(w, g, H, js, jmask, ks, kmask):
    """Gate ``g`` of ``W_hh``, transposed: the ``(K, J)`` tile ``W[g*H + j, k]``
    (the right operand of ``h W_g^T`` for the units ``js``)."""
    return tl.load(w + (g * H + js)[None, :] * H + ks[:, None], mask=kmask[:, None] & jmask[None, :], other=0.0)


@triton.jit
def gate_products(h, w_i, w_f, w_g, w_o, PREC: tl.constexpr):
    """The recurrent product of each gate, ``h W_k^T`` (``w_k`` from :func:`w_hh_tile_t`)."""
    return (
        tl.dot(h, w_i, input_precision=PREC),
        tl.dot(h, w_f, input_precision=PREC),
        tl.dot(h, w_g, input_precision=PREC),
        tl.dot(h, w_o, input_precision=PREC),
    )


@triton.jit
def add_gate_products(acc, d_i, d_f, d_g, d_o, w_i, w_f, w_g, w_o, PREC: tl.constexpr):
    """``acc + sum_k d_k W_k``: the gradient reaching ``h_{t-1}`` through
    ``W_hh`` (``w_k`` from :func:`w_hh_tile`), added gate by gate in order."""
    acc += tl.dot(d_i, w_i, input_precision=PREC)
    acc += tl.dot(d_f, w_f, input_precision=PREC)
    acc += tl.dot(d_g, w_g, input_precision=PREC)
    acc += tl.dot(d_o, w_o, input_precision=PREC)
    return acc


@triton.jit
def previous_step(seq, first, t, B, H, o, m, rows, CM: tl.constexpr):
    """The ``(B, H)`` tile of step ``t-1`` of ``seq`` ``(T, B, H)``, or of ``first`` at ``t = 0``."""
    later = ((rows * 0 + t) > 0)[:, None]  # a row mask: this is not the first step
    return tl.load(seq + (t - 1) * B * H + o, mask=m & later, other=0.0, cache_modifier=CM) + tl.load(
        first + o, mask=m & ~later, other=0.0
    )


# ------------------------------------------------------------ the length mask
@triton.jit
def sequence_lengths(lens, rows, rmask, HAS_LEN: tl.constexpr):
    """The length of each row's sequence (only read with ``HAS_LEN``)."""
    if HAS_LEN:
        n = tl.load(lens + rows, mask=rmask, other=0)
    else:
        n = rows
    return n


@triton.jit
def valid_at(t, n_valid, m, HAS_LEN: tl.constexpr):
    """Where step ``t`` lies inside its sequence, within the tile mask ``m``
    (a padded step keeps the state and passes the gradients through)."""
    if HAS_LEN:
        v = (t < n_valid)[:, None] & m
    else:
        v = m
    return v
