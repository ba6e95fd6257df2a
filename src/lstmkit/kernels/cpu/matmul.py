"""The matrix products of the CPU engine, on the fastest kernels torch has.
On the AMD EPYC machine the engine was first measured on, oneDNN's linear
(``torch.ops.mkldnn._linear_pointwise``) ran float32 products 2-2.5x faster
than ``torch.mm`` (MKL), more so with the weight packed once into oneDNN's
blocked layout. On the Intel Xeon (Sapphire Rapids) machine measured since,
MKL is level or ahead: for the weight gradients ``a.T @ b`` it is ahead at
every shape measured (``benchmarks/RESULTS.md``: 147 against 123 GFLOP/s at
6400x1024 by 6400x256), since it reads both operands transposed in place;
for ``a @ w.T`` the two trade places by shape. MKL picks its kernels by the
CPU's vendor, which is what separated the two machines, so :func:`mm_tn`
takes MKL on Intel CPUs and oneDNN elsewhere; the other products stay on
oneDNN. The choice is fixed per machine: the same machine always sums in
the same order. It has no autograd and no float64, so everything here is
used inside the operators of :mod:`.ops`, and other dtypes go to ``torch.mm``.

Packed weights are not cached across calls: packing costs a copy of the
weight (tens of microseconds), far less than a sequence, and a cache keyed on
a parameter's identity could go stale when its data is replaced behind
autograd's back (``p.data.copy_``).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

_HAS_MKLDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _onednn(dtype: torch.dtype) -> bool:
    return _HAS_MKLDNN and dtype == torch.float32


#: multiply-adds per call below which ``torch.mm`` beats oneDNN's linear
#: (its per-call overhead; measured: (32x64)x(64x256) 15 us with mm, 25 us with
#: oneDNN; (64x256)x(256x1024) 360 us with mm, 170 us with oneDNN packed).
SMALL_PRODUCT = 1 << 21


def prepare_weight(w: Tensor, batch: int) -> Tensor:
    """``w`` ``(N, K)`` in the form the C++ loops read fastest for ``batch``
    rows per product: oneDNN-packed for float32 products above
    :data:`SMALL_PRODUCT`, else plain and contiguous (``torch.mm``)."""
    w = w.detach().contiguous()
    if _onednn(w.dtype) and batch * w.shape[0] * w.shape[1] >= SMALL_PRODUCT:
        return torch.ops.mkldnn._reorder_linear_weight(w, batch)
    return w


def linear(a: Tensor, w: Tensor, bias: Tensor | None = None) -> Tensor:
    """``a @ w.T (+ bias)`` for ``a`` ``(M, K)`` and a plain ``w`` ``(N, K)``,
    for one-off products (packing would not pay): oneDNN for large float32
    products, ``torch.mm`` otherwise. No autograd."""
    if _onednn(a.dtype) and a.shape[0] * w.shape[0] * w.shape[1] >= SMALL_PRODUCT:
        return torch.ops.mkldnn._linear_pointwise(a, w, bias, "none", [], "")
    return torch.addmm(bias, a, w.t()) if bias is not None else a @ w.t()


@functools.lru_cache(maxsize=1)
def intel_cpu() -> bool:
    """Whether the CPU's vendor is Intel (``/proc/cpuinfo``; False where it
    cannot be read): where MKL runs its own fastest kernels."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return "GenuineIntel" in line
    except OSError:
        pass
    return False


def _t_contiguous(r: Tensor) -> Tensor:
    return r.t().contiguous()


def mm_tn(a: Tensor, b: Tensor, transpose=_t_contiguous) -> Tensor:
    """``a.T @ b`` for ``a`` ``(N, M)``, ``b`` ``(N, K)``: the weight gradients,
    a sum over all ``N = T*B`` steps and rows in one product.

    ``a`` is the wide gate gradient, ``b`` the narrower input. Transposing
    ``a`` by a copy would cost as much as the product (a strided copy of tens
    of MB), so ``(b.T @ a).T`` is taken instead: oneDNN reads ``a.T`` as a
    strided weight and reorders it on the fly; only ``b`` and the small result
    are transposed. On Intel CPUs MKL takes the same ``(b.T @ a).T``
    reading both transposes in place (see the module's note); its ``(K, M)``
    result is transposed by a copy (the weight gradients are small), so the
    result is contiguous on every machine. (Returned as a transposed view,
    with a fake kernel that said so, inductor's compiled backward of the
    peephole LSTM still expected it contiguous and failed its stride check;
    and autograd copies a gradient into its parameter's layout anyway.)
    ``transpose`` makes that copy: the engine passes its blocked transpose
    (torch's strided copy ran at 3 GB/s, 1.5 ms of a T256 B32 H512 training
    call); the same values either way."""
    if intel_cpu():
        return transpose(b.t() @ a)
    if _onednn(a.dtype) and a.numel() * b.shape[1] >= SMALL_PRODUCT:
        r = torch.ops.mkldnn._linear_pointwise(b.t().contiguous(), a.t(), None, "none", [], "")  # (K, M)
        return transpose(r)
    return a.t() @ b
