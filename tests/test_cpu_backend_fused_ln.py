"""The layer-norm LSTM's fused loop (csrc/lstm_ln_fused.cpp) on the cpu engine.

Against the reference backend with the same weights (the layer norms' gains
and biases randomised, a non-zero initial state): outputs, final states and
every gradient, for hidden sizes that fill the vector lanes, batch sizes that
leave partial row blocks, one and two layers, both directions, unsorted
lengths, one and two threads, float32 and float64, with the input projection
in the loop's tile (``lstm_ln_fused_seq_x``) and as one product beforehand;
gradcheck of the layer;
that the engine takes this path (and the general loop where the hidden size
does not fill the lanes); torch.export, torch.compile, torch.func, autocast
and the double-backward error on the new operator.
"""

from __future__ import annotations

import types

import pytest
import torch
from cpu_engine_helpers import (backoff_off, check_compiled_step, check_exported_operator, check_per_sample_grads,
                                forced_hand_over, streamed)

import lstmkit
from lstmkit.kernels.cpu import _build, fused_ln, ops
from lstmkit.kernels.cpu.functions import LoopConfig
from lstmkit.kernels.cpu.fused_ln import fused_ln_lstm_layer

pytestmark = pytest.mark.skipif(
    _build.load_extension() is None, reason=f"cpu extension unavailable: {_build.build_error()}"
)

TOL = {torch.float64: dict(rtol=1e-9, atol=1e-10), torch.float32: dict(rtol=1e-4, atol=2e-5)}
I = 5


@pytest.fixture(autouse=True)
def _threads():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(params=["tile", "product"])
def projection(request, monkeypatch):
    """Where the input projection is computed: in the loop's tile or as one
    product before the loop (the rule of ``tile_projection`` overridden)."""
    monkeypatch.setattr(fused_ln, "tile_projection", lambda *a: request.param == "tile")
    return request.param


def lanes(dtype) -> int:
    return ops.lane_width(dtype)


def make(H, layers=1, bi=False, dtype=torch.float32, seed=0, **kw):
    """A layer-norm LSTM with every parameter randomised (gains around 1, not 1)."""
    torch.manual_seed(seed)
    layer = lstmkit.LSTM(I, H, num_layers=layers, bidirectional=bi, cell="layernorm", dtype=dtype, **kw)
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.endswith(("ln_ih_weight", "ln_hh_weight", "ln_c_weight")):
                p.copy_(1 + 0.4 * torch.randn_like(p))
            elif "ln_" in name:
                p.copy_(0.3 * torch.randn_like(p))
            else:
                p.mul_(2.0)
    return layer


def run(layer, backend, x, hx, lengths=None, threads=1):
    """Forward and backward of one loss on the output and both final states."""
    layer.backend = backend
    layer.zero_grad()
    x = x.clone().requires_grad_()
    hx = tuple(h.clone().requires_grad_() for h in hx)
    torch.set_num_threads(threads)
    out, (h, c) = layer(x, hx, lengths=lengths)
    g = torch.Generator().manual_seed(1)
    # loss weights drawn in float32 whatever the dtype: a float64 run of the same layer sees the same loss
    loss = sum((t * torch.randn(t.shape, generator=g).to(t.dtype)).sum() for t in (out, h, c))
    loss.backward()
    torch.set_num_threads(1)
    res = {"out": out, "h_T": h, "c_T": c, "dx": x.grad, "dh0": hx[0].grad, "dc0": hx[1].grad}
    res.update({f"d{n}": p.grad.clone() for n, p in layer.named_parameters()})
    return res


def check_same(layer, T, B, dtype, lengths=None, threads=1):
    x = torch.randn(T, B, I, dtype=dtype)
    hx = tuple(torch.randn(s.shape, dtype=dtype) for s in layer.init_state(B))
    want = run(layer, "reference", x, hx, lengths)
    got = run(layer, "cpu", x, hx, lengths, threads)
    assert got.keys() == want.keys()
    # every parameter got a gradient: x, h0, c0, W_ih, W_hh, both biases, six LN tensors per layer/direction
    assert sum(k.endswith(("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias", "ln_c_weight", "ln_c_bias"))
               for k in got) == 6 * len(layer.cells)
    for k in want:
        assert want[k] is not None and got[k] is not None, k
        close(got[k], want[k], dtype, k)
    return got


def close(got, want, dtype, what=""):
    """Within TOL, the absolute part scaled by the tensor's largest entry
    (float32 gradients summed over many steps reach magnitudes of ~10)."""
    scale = max(1.0, float(want.detach().abs().max()))
    tol = TOL[dtype]
    torch.testing.assert_close(got, want, rtol=tol["rtol"], atol=tol["atol"] * scale, msg=lambda m: f"{what}: {m}")


class Spy:
    """Counts the calls into the extension's fused layer-norm loops
    (forward on either projection path, backward) and the general LSTM loop;
    ``forwards`` names the forward entry points called."""

    WATCH = {"lstm_ln_fused_forward": "fwd", "lstm_ln_fused_forward_x": "fwd", "lstm_ln_fused_backward": "bwd",
             "lstm_forward": "general"}

    def __init__(self, monkeypatch):
        self.calls = {"fwd": 0, "bwd": 0, "general": 0}
        self.forwards = set()
        self.real = ops._ext()
        monkeypatch.setattr(ops, "_ext", lambda: self)

    def __getattr__(self, name):
        attr = getattr(self.real, name)
        key = self.WATCH.get(name)
        if key is None:
            return attr

        def counted(*args):
            self.calls[key] += 1
            if key == "fwd":
                self.forwards.add(name)
            return attr(*args)

        return counted


FORWARD = {"tile": "lstm_ln_fused_forward_x", "product": "lstm_ln_fused_forward"}


CASES = [(H, torch.float32) for H in (16, 32, 48)] + [(H, torch.float64) for H in (8, 16)]


@pytest.mark.parametrize("H,dtype", CASES, ids=lambda v: str(v).replace("torch.", ""))
@pytest.mark.parametrize("B", [1, 5, 7, 13])
def test_one_layer_matches_reference(H, dtype, B, projection, monkeypatch):
    if H % lanes(dtype):
        pytest.skip(f"H={H} does not fill {lanes(dtype)} lanes in this build")
    spy = Spy(monkeypatch)
    check_same(make(H, dtype=dtype), 6, B, dtype)
    assert spy.calls == {"fwd": 1, "bwd": 1, "general": 0}
    assert spy.forwards == {FORWARD[projection]}


@pytest.mark.parametrize("H,dtype", CASES, ids=lambda v: str(v).replace("torch.", ""))
@pytest.mark.parametrize("threads", [1, 2])
def test_two_layers_bidirectional_lengths_threads(H, dtype, threads, projection, monkeypatch):
    if H % lanes(dtype):
        pytest.skip(f"H={H} does not fill {lanes(dtype)} lanes in this build")
    spy = Spy(monkeypatch)
    lengths = torch.tensor([4, 9, 1, 7, 9, 2, 5])  # unsorted, with the longest in the middle
    got = check_same(make(H, 2, True, dtype=dtype, seed=1), 9, 7, dtype, lengths=lengths, threads=threads)
    assert spy.calls == {"fwd": 4, "bwd": 4, "general": 0}
    assert spy.forwards == {FORWARD[projection]}
    out = got["out"]
    assert torch.all(out[4:, 0] == 0) and torch.all(out[1:, 2] == 0) and torch.all(out[2:, 5] == 0)


@pytest.mark.parametrize("threads", [1, 2])
def test_larger_layer_float32_threads_and_no_bias(threads):
    layer = make(64, 1, False, bias=False, seed=2)
    check_same(layer, 12, 29, torch.float32, lengths=torch.randint(1, 13, (29,)), threads=threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_streamed_saved_values_give_the_same_gradients(threads, projection, monkeypatch):
    """Where rn, the raw input projection and the activations a forward saves
    outgrow half the L3, the row phase writes them past the caches
    (``stream_saved``; forced here for a small call), on either projection
    path, fenced before the backward (another thread's rows) reads them."""
    ext = _build.load_extension()
    spy = Spy(monkeypatch)
    lengths = torch.tensor([8, 3, 8, 1, 6, 8, 2, 5, 7])
    with streamed(ext):
        check_same(make(32, 2, True, dtype=torch.float64, seed=3), 8, 9, torch.float64, lengths=lengths,
                   threads=threads)
    assert spy.calls == {"fwd": 4, "bwd": 4, "general": 0}
    assert spy.forwards == {FORWARD[projection]}


@pytest.mark.parametrize("H,dtype", [(80, torch.float32), (64, torch.float64)])
def test_few_rows_two_threads_share_the_product_by_panels(H, dtype, projection, monkeypatch):
    # one row block (B <= 6) and at least two backward panels: the team
    # shares each step by panels, with barriers, rather than by rows
    if H % lanes(dtype):
        pytest.skip(f"H={H} does not fill {lanes(dtype)} lanes in this build")
    spy = Spy(monkeypatch)
    check_same(make(H, 1, True, dtype=dtype, seed=8), 7, 4, dtype, lengths=torch.tensor([7, 2, 5, 6]), threads=2)
    assert spy.calls == {"fwd": 2, "bwd": 2, "general": 0}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_statistics_gathered_by_the_tiles_equal_the_row_pass(dtype, projection):
    """One thread gathers the rows' statistics as the tiles store them; two
    threads sharing the product by panels (one row block) read them in a
    pass over each row afterwards. Same values, shift and order: the same
    bits, forward and final states."""
    H = 4 * lanes(dtype)
    layer = make(H, 2, False, dtype=dtype, seed=3).eval()
    x = torch.randn(6, 4, I, dtype=dtype) * 3 + 5  # an offset: the shift matters
    outs = []
    try:
        with backoff_off(_build.load_extension()):  # two threads really share the product
            for threads in (1, 2):
                torch.set_num_threads(threads)
                with torch.no_grad():
                    out, (h, c) = layer(x)
                outs.append((out, h, c))
    finally:
        torch.set_num_threads(1)
    for a, b in zip(*outs):
        assert torch.equal(a, b)


@pytest.mark.parametrize("H,dtype", [(20, torch.float32), (10, torch.float64)])  # off 16/8 and 8/4 lanes
def test_hidden_size_off_the_lanes_keeps_the_general_loop(H, dtype, monkeypatch):
    assert H % lanes(dtype) != 0
    spy = Spy(monkeypatch)
    check_same(make(H, 2, True, dtype=dtype), 6, 5, dtype, lengths=torch.tensor([6, 2, 5, 1, 3]))
    assert spy.calls["fwd"] == 0 and spy.calls["bwd"] == 0 and spy.calls["general"] == 4


def test_rows_with_a_large_common_offset():
    # input projections around 75 with a spread of ~1 across the row: the
    # one-pass statistics must not lose the variance to cancellation. The
    # problem is ill-conditioned in float32 (the norm amplifies the rounding
    # of xp), so both float32 engines are held to the float64 result: ours
    # within 3x the reference's own float32 error (or 1e-5 of the scale)
    import copy

    H = 2 * lanes(torch.float32)
    layer = make(H, seed=9)
    with torch.no_grad():
        w = layer.cells[0].weight_ih
        w.copy_(5 + 0.1 * torch.randn_like(w))
    torch.manual_seed(10)
    x = 3 + 0.1 * torch.randn(6, 5, I)
    hx = tuple(torch.randn(s.shape) for s in layer.init_state(5))
    ref32 = run(layer, "reference", x, hx)
    got = run(layer, "cpu", x, hx)
    exact = run(copy.deepcopy(layer).double(), "reference", x.double(), tuple(h.double() for h in hx))
    for k in exact:
        scale = float(exact[k].abs().max())
        err_ref = float((ref32[k].double() - exact[k]).abs().max()) / scale
        err_got = float((got[k].double() - exact[k]).abs().max()) / scale
        assert err_got <= max(3 * err_ref, 1e-5), (k, err_got, err_ref)
    got64 = run(copy.deepcopy(layer).double(), "cpu", x.double(), tuple(h.double() for h in hx))
    for k in exact:
        close(got64[k], exact[k], torch.float64, k)


@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck_fused_ln_layer(masked, projection):
    torch.manual_seed(3)
    T, B = 4, 3
    H = lanes(torch.float64)
    r = lambda *s, m=0.0: (m + 0.5 * torch.randn(*s, dtype=torch.float64)).requires_grad_()  # noqa: E731
    valid = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0]], dtype=torch.float64) if masked else None
    cfg = LoopConfig(valid=valid)
    names = ("weight_ih", "weight_hh", "ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias", "ln_c_weight",
             "ln_c_bias")

    def fn(x, h0, c0, bias, *params):
        cell = types.SimpleNamespace(hidden_size=H, **dict(zip(names, params)))
        return fused_ln_lstm_layer(x, h0, c0, cell, bias, cfg)

    params = (r(4 * H, 2), r(4 * H, H), r(4 * H, m=1.0), r(4 * H), r(4 * H, m=1.0), r(4 * H), r(H, m=1.0), r(H))
    args = (r(T, B, 2), r(B, H), r(B, H), r(4 * H), *params)
    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("save", [False, True])
def test_the_tile_projection_equals_the_product_beforehand(masked, save):
    """``lstm_ln_fused_seq_x`` (x and W_ih into the tile) against
    ``project_in`` then ``lstm_ln_fused_seq`` on the same interleaved
    weights, float64, over more rows than one row block: every output, the
    saved activations and statistics included, and with ``save`` the input
    projection it returns for the backward."""
    torch.manual_seed(12)
    T, B, I_, H = 7, 9, 13, 2 * lanes(torch.float64)
    fwd, _ = ops.interleave_index(H, lanes(torch.float64))
    r = lambda *s: 0.4 * torch.randn(*s, dtype=torch.float64)  # noqa: E731
    wi, w_hh = r(4 * H, I_).index_select(0, fwd), r(4 * H, H)
    ln = (1 + r(4 * H), 1 + r(4 * H), r(4 * H), 1 + r(H), r(H))
    x, h0, c0 = r(T, B, I_), r(B, H), r(B, H)
    valid = (torch.arange(T)[:, None] < torch.randint(1, T + 1, (B,))).double() if masked else None
    a = ops.lstm_ln_fused_seq_x(x, wi, h0, c0, w_hh, *ln, valid, 1e-5, save)
    xp = ops.project_in(x, wi, None)
    b = ops.lstm_ln_fused_seq(xp, h0, c0, w_hh, *ln, valid, 1e-5, save)
    assert len(a) == len(b) + 1 and (a[3].numel() > 0) == save
    keep = valid.bool() if masked else torch.ones(T, B, dtype=torch.bool)
    for i, (got, want) in enumerate(zip(a, b + (xp if save else xp.new_empty(0),))):
        if save and i in (3, 5, 6, 7):  # activations, rn, statistics, saved input: not written at padded steps
            got, want = got[keep], want[keep]
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13, msg=lambda m, i=i: f"output {i}: {m}")


def test_inference_saves_nothing_and_matches_the_training_call():
    torch.manual_seed(4)
    H = lanes(torch.float32)
    w_hh = torch.randn(4 * H, H) * 0.3
    xp, h0, c0 = torch.randn(3, 2, 4 * H), torch.randn(2, H), torch.randn(2, H)
    g4 = lambda m: m + 0.3 * torch.randn(4 * H)  # noqa: E731
    ln = (g4(1), g4(1), g4(0), 1 + 0.3 * torch.randn(H), 0.3 * torch.randn(H))  # gains ih, hh; beta; LN_c
    lean = ops.lstm_ln_fused_seq(xp, h0, c0, w_hh, *ln, None, 1e-5, False)
    full = ops.lstm_ln_fused_seq(xp, h0, c0, w_hh, *ln, None, 1e-5, True)
    assert all(t.numel() == 0 for t in lean[3:])
    assert full[3].shape == (3, 2, 4 * H) and full[4].shape == (4, 2, H) and full[5].shape == (3, 2, 4 * H)
    assert full[6].shape == (3, 2, 5)
    for a, b in zip(lean[:3], full[:3]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(full[1], full[0][-1], rtol=0, atol=0)
    # the saved rows are normalised: mean 0 and 1/std as recorded
    rn = full[5]
    torch.testing.assert_close(rn.mean(-1), torch.zeros(3, 2), rtol=0, atol=1e-5)
    torch.testing.assert_close(rn.var(-1, unbiased=False), torch.ones(3, 2), rtol=1e-3, atol=1e-3)


def test_no_grad_inference_matches_reference_two_threads(monkeypatch):
    layer = make(32, 2, True, seed=5).eval()
    x = torch.randn(8, 6, I)
    lengths = torch.tensor([3, 8, 8, 1, 5, 7])
    with torch.no_grad():
        layer.backend = "reference"
        want = layer(x, lengths=lengths)
        layer.backend = "cpu"
        spy = Spy(monkeypatch)
        torch.set_num_threads(2)
        got = layer(x, lengths=lengths)
    assert spy.calls == {"fwd": 4, "bwd": 0, "general": 0}
    for a, b in zip((got[0], *got[1]), (want[0], *want[1])):
        torch.testing.assert_close(a, b, **TOL[torch.float32])


def test_torch_export_sees_the_operator(projection):
    layer = make(16).eval()
    layer.backend = "cpu"
    want = "lstm_ln_fused_seq_x" if projection == "tile" else "lstm_ln_fused_seq."
    check_exported_operator(layer, torch.randn(5, 3, I), want, "lstmkit.lstm_seq")


def test_compiled_training_step_matches_eager(projection):
    import torch._dynamo

    torch._dynamo.reset()
    layer = make(16, 2, seed=6)
    layer.backend = "cpu"
    check_compiled_step(layer, I, torch.tensor([6, 5, 3]), compiler="aot_eager", steps=2)


def test_per_sample_gradients_with_vmap(projection):
    H = lanes(torch.float64)
    layer = make(H, dtype=torch.float64, seed=7)
    layer.backend = "cpu"
    check_per_sample_grads(layer, torch.randn(3, 5, 1, I, dtype=torch.float64))


def test_double_backward_raises_and_autocast_keeps_float32():
    layer = make(16)
    layer.backend = "cpu"
    x = torch.randn(4, 2, I, requires_grad=True)
    (g,) = torch.autograd.grad(layer(x)[0].pow(2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward .* backend=.reference."):
        g.sum().backward()
    with torch.no_grad():
        want = layer(x)[0]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = layer(x)[0]
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("step", [0, 3])
@pytest.mark.parametrize("B", ["one block", 13])
def test_handing_over_to_one_thread_mid_sequence_gives_the_same_numbers(B, step, projection):
    """With few rows (one tile's: the product shared by panels, barriers) the team
    goes on with thread 0 alone when forced at a chosen step, forward and
    backward: bit-identical outputs, input and weight gradients; the norms'
    gain and bias gradients are sums kept per thread, so thread 0 taking
    over the other's rows regroups them (equal up to rounding). With enough
    rows (B=13) the team shares by rows, has no meetings and never hands over."""
    B = ops.tile_rows() if B == "one block" else B  # 6 rows with AVX-512 tiles, 3 with AVX2
    layer = make(64, dtype=torch.float64, seed=11)
    layer.backend = "cpu"
    x = torch.randn(9, B, I, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([9, 3, 7, 9, 1, 5, 9, 2, 8, 6, 4, 9, 7][:B])

    def run_once():
        x.grad = None
        layer.zero_grad()
        out, (h, c) = layer(x, lengths=lens)
        (out.square().sum() + h.sum() + c.sum()).backward()
        return {"out": out.detach().clone(), "dx": x.grad.clone(),
                **{n: p.grad.clone() for n, p in layer.named_parameters()}}

    a, b, handed_over = forced_hand_over(ops._ext(), run_once, step)
    assert handed_over == (2 if B <= ops.tile_rows() else 0)
    for k in a:
        summed = "ln_" in k or "bias" in k
        tol = dict(rtol=1e-13, atol=1e-14) if summed else dict(rtol=0, atol=0)
        torch.testing.assert_close(b[k], a[k], **tol, msg=lambda m: f"{k}: {m}")


@pytest.mark.parametrize("biases", [0, 1, 2])
def test_gradcheck_fused_ln_layer_with_torch_order_parameters_and_both_biases(biases, projection):
    """Where the tile computes the projection, the cell's parameters enter
    ``ops.LSTMLnFusedLayerX`` in torch's order and are interleaved (and the
    four biases summed) below autograd: the gradient of each, with none, one
    or two of the cell's own biases; the product path sums them before."""
    torch.manual_seed(4)
    T, B = 4, 3
    H = lanes(torch.float64)
    r = lambda *s, m=0.0: (m + 0.5 * torch.randn(*s, dtype=torch.float64)).requires_grad_()  # noqa: E731
    names = ("weight_ih", "weight_hh", "ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias", "ln_c_weight",
             "ln_c_bias")

    def fn(x, h0, c0, *rest):
        params, b = rest[:len(names)], list(rest[len(names):]) + [None] * (2 - biases)
        cell = types.SimpleNamespace(hidden_size=H, **dict(zip(names, params)))
        return fused_ln_lstm_layer(x, h0, c0, cell, b[0], LoopConfig(), b[1])

    params = (r(4 * H, 2), r(4 * H, H), r(4 * H, m=1.0), r(4 * H), r(4 * H, m=1.0), r(4 * H), r(H, m=1.0), r(H))
    args = (r(T, B, 2), r(B, H), r(B, H), *params, *(r(4 * H) for _ in range(biases)))
    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-7)
