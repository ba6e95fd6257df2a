"""The cpu engine's straight path for a plain LSTM stack's call
(``CPUBackend._plain_stack``), with and without autograd: the same layer
function on the same inputs as the general path, so the same bits and the
same gradients; taken only where it applies."""

from __future__ import annotations

import pytest
import torch

import lstmkit
from lstmkit import kernels
from lstmkit.kernels.cpu import _build
from lstmkit.kernels.cpu.fused import tile_projection

pytestmark = pytest.mark.skipif(
    _build.load_extension() is None, reason=f"cpu extension unavailable: {_build.build_error()}"
)


def general(layer, *args, **kw):
    """The same call on the general path (the stack driver, ``run_layer``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(kernels.load_backend("cpu")), "_plain_stack", lambda self, *a: None)
        return layer(*args, **kw)


def plan(layer, x):
    cells = list(layer.cells)
    xb = x.transpose(0, 1) if layer.batch_first else x
    state = layer.init_state(xb.shape[1], dtype=x.dtype)
    with torch.no_grad():
        return kernels.load_backend("cpu")._plain_stack(xb, state, cells, layer.spec())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("L,T,B,I,H,batch_first", [
    (1, 12, 8, 8, 32, False), (2, 7, 5, 3, 16, True), (3, 20, 16, 64, 64, False),
    (1, 9, 4, 8, 20, False),  # a hidden size that is no multiple of the lanes (padded units)
    (1, 9, 1, 512, 64, False),  # one row and a wide input: the input projection as one product
])
def test_same_bits_as_the_general_path(L, T, B, I, H, batch_first, dtype):
    torch.manual_seed(0)
    layer = lstmkit.LSTM(I, H, num_layers=L, batch_first=batch_first, backend="cpu", dtype=dtype).eval()
    x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=dtype)
    if I == 512:
        assert not tile_projection(B, I, H, dtype)
    assert plan(layer, x) is not None, "the straight path should apply"
    hx = tuple(torch.randn(L, B, H, dtype=dtype) for _ in range(2))
    for state in (None, hx):
        with torch.no_grad():
            out, (h, c) = layer(x, state)
            out_g, (h_g, c_g) = general(layer, x, state)
        assert torch.equal(out, out_g) and torch.equal(h, h_g) and torch.equal(c, c_g)
    ref = lstmkit.LSTM(I, H, num_layers=L, batch_first=batch_first, backend="reference", dtype=dtype).eval()
    ref.load_state_dict(layer.state_dict())
    with torch.no_grad():
        tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else dict(rtol=2e-5, atol=2e-6)
        torch.testing.assert_close(layer(x, hx)[0], ref(x, hx)[0], **tol)


@pytest.mark.parametrize("cell", ["lstm", "peephole", "layernorm"])
@pytest.mark.parametrize("L,T,B,I,H", [(1, 12, 8, 8, 32), (2, 7, 5, 3, 16), (3, 9, 6, 16, 16)])
def test_training_calls_give_the_general_paths_outputs_and_gradients(L, T, B, I, H, cell):
    torch.manual_seed(2)
    layer = lstmkit.LSTM(I, H, num_layers=L, cell=cell, backend="cpu", dtype=torch.float64).train()  # no dropout
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    hx = tuple(torch.randn(L, B, H, dtype=torch.float64, requires_grad=True) for _ in range(2))
    taken = []
    backend = kernels.load_backend("cpu")
    straight = type(backend)._plain_stack

    def spy(self, *a):
        taken.append(1)
        return straight(self, *a)

    results = []
    for run in (lambda: general(layer, x, hx), lambda: layer(x, hx)):
        for t in (x, *hx, *layer.parameters()):
            t.grad = None
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(type(backend), "_plain_stack", spy)
            out, (h, c) = run()
        (out.square().sum() + h.sum() + 2 * c.sum()).backward()
        results.append([out, h, c] + [t.grad.clone() for t in (x, *hx, *layer.parameters())])
    assert taken == [1], "the straight path should take the training call"
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)


def test_in_place_updates_and_replaced_parameters_are_read_at_every_call():
    torch.manual_seed(1)
    layer = lstmkit.LSTM(8, 32, num_layers=2, backend="cpu").eval()
    ref = lstmkit.LSTM(8, 32, num_layers=2, backend="reference").eval()
    x = torch.randn(10, 8, 8)
    with torch.no_grad():
        layer(x)
        for p in layer.parameters():  # an optimiser step, and a write past autograd's version counter
            p.mul_(0.9).add_(0.01)
        layer.cells[1].weight_hh.data.mul_(1.5)
        layer.cells[0].bias_hh = torch.nn.Parameter(torch.randn(128))
        ref.load_state_dict(layer.state_dict())
        torch.testing.assert_close(layer(x)[0], ref(x)[0], rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("make, why", [
    (lambda: lstmkit.LSTM(8, 32, bidirectional=True), "bidirectional"),
    (lambda: lstmkit.LSTM(8, 20, cell="layernorm"), "a layer-norm size off the lane width"),
    (lambda: lstmkit.LSTM(8, 32, proj_size=8), "a projection"),
    (lambda: lstmkit.LSTM(8, 32, cell="peephole", proj_size=8), "peepholes with a projection"),
    (lambda: lstmkit.LSTM(8, 32, zoneout=0.1), "zoneout"),
    (lambda: lstmkit.LSTM(8, 32, num_layers=2, dropout=0.5).train(), "dropout between layers in training"),
    (lambda: lstmkit.GRU(8, 32), "another cell"),
])
def test_the_general_path_keeps_what_the_straight_one_does_not_do(make, why):
    layer = make()
    layer.backend = "cpu"
    assert plan(layer, torch.randn(6, 4, 8)) is None, why


def test_calls_with_lengths_take_the_general_path(monkeypatch):
    layer = lstmkit.LSTM(8, 32, backend="cpu").eval()
    x = torch.randn(6, 4, 8)
    backend = kernels.load_backend("cpu")
    taken = []
    monkeypatch.setattr(type(backend), "_plain_stack",
                        lambda self, *a: taken.append(1) or None)
    with torch.no_grad():
        layer(x, lengths=torch.tensor([6, 3, 2, 1]))
    layer(x, lengths=torch.tensor([6, 3, 2, 1]))[0].sum().backward()
    assert not taken
    with torch.no_grad():
        layer(x)
    layer(x)[0].sum().backward()
    assert taken == [1, 1]
