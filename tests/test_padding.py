"""Padding never reaches an output, a final state or a gradient, on every backend.

The padded steps of a batch hold NaN, inf or a huge value; every output,
final state and gradient must be finite and equal to those of the same batch
with zeros in the padding. (Before the fix, the ``cpu`` engine turned the
whole row's final state and gradients into NaN, and the ``reference``
backend's input gradients at valid steps.) The Triton kernels get the same
check under the interpreter in ``test_triton_backend.py``.
"""

from __future__ import annotations

import math

import pytest
import torch

import lstmkit
from lstmkit.kernels import BackendUnavailable, select_backend

KINDS = ["lstm", "peephole", "layernorm", "gru", "rnn_tanh", "rnn_relu"]
BACKENDS = ["reference", "cpu", "torch"]
POISON = [math.nan, math.inf, 1e30]
LENGTHS = [6, 5, 3, 2]


def make(kind, dtype, bidirectional=True):
    kw = dict(num_layers=2, bidirectional=bidirectional, dtype=dtype)
    if kind in ("lstm", "peephole", "layernorm"):
        return lstmkit.LSTM(8, 16, cell=kind, **kw)
    if kind == "gru":
        return lstmkit.GRU(8, 16, **kw)
    return lstmkit.RNN(8, 16, nonlinearity=kind.split("_")[1], **kw)


def run(layer, x):
    x = x.clone().requires_grad_()
    layer.zero_grad()
    out, state = layer(x, lengths=LENGTHS)
    state = state if isinstance(state, tuple) else (state,)
    loss = out.sum() + sum((s * s).sum() for s in state)
    loss.backward()
    got = {"out": out.detach(), "dx": x.grad}
    got.update({f"state{i}": s.detach() for i, s in enumerate(state)})
    got.update({f"d{n}": p.grad for n, p in layer.named_parameters()})
    return got


@pytest.mark.parametrize("poison", POISON, ids=["nan", "inf", "huge"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
def test_padding_never_reaches_outputs_states_or_gradients(kind, backend, poison):
    dtype = torch.float64
    layer = make(kind, dtype)
    layer.backend = backend
    x = torch.randn(6, 4, 8, dtype=dtype)
    for b, n in enumerate(LENGTHS):
        x[n:, b] = 0.0
    try:
        select_backend(x, layer.spec(), list(layer.cells), torch.tensor(LENGTHS), backend)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    clean = run(layer, x)
    bad = x.clone()
    for b, n in enumerate(LENGTHS):
        bad[n:, b] = poison
    poisoned = run(layer, bad)
    for name, want in clean.items():
        got = poisoned[name]
        assert torch.isfinite(got).all(), f"{kind}/{backend}: {name} is not finite with {poison} in the padding"
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12, msg=lambda m: f"{kind}/{backend} {name}: {m}")
    # and the padded input steps get exactly zero gradient
    for b, n in enumerate(LENGTHS):
        assert torch.all(poisoned["dx"][n:, b] == 0)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_issue_case_float32_cpu(kind):
    """The reported case: LSTM(8, 16, backend="cpu"), NaN at a padded step of the row of length 3."""
    layer = make(kind, torch.float32, bidirectional=False)
    layer.backend = "cpu"
    x = torch.randn(6, 4, 8)
    for b, n in enumerate(LENGTHS):
        x[n:, b] = 0.0
    clean = run(layer, x)
    x[4, 2] = math.nan
    got = run(layer, x)
    for name, want in clean.items():
        assert torch.isfinite(got[name]).all(), name
        torch.testing.assert_close(got[name], want, rtol=1e-6, atol=1e-6)
