"""Activation functions shared by every Triton kernel of the backend.

Written with ``tl.exp`` only, so they run the same way compiled on a GPU and
in the Triton interpreter on a CPU, and in float32 or float64.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def sigmoid(x):
    return 1.0 / (1.0 + tl.exp(-x))


@triton.jit
def tanh(x):
    # tanh(x) = 2 sigmoid(2x) - 1: saturates to -1 / 1 without overflow trouble
    # (exp -> inf gives 2/inf = 0). Absolute error ~1 ulp of 1, like the
    # select-based form, whose compare/select pattern also crashed LLVM's SLP
    # vectorizer (triton 3.9, sm_90) in the plain LSTM kernels (aot_check).
    return 2.0 / (1.0 + tl.exp(-2.0 * x)) - 1.0
