"""The plain LSTM's fused loop (csrc/lstm_fused.cpp) on the cpu engine.

Against torch.nn.LSTM (same weights) and the reference backend: outputs,
final states and every gradient, with hidden sizes that fill the vector
lanes exactly and ones that need padding, lengths, both directions, two
layers, float32 and float64; gradcheck of the layer; the index maps of the
interleaved layout; and that the engine really takes this path. Each runs
with the input projection in the loop's tile (``lstm_fused_seq_x``) and as
one product beforehand (``lstm_fused_seq``): the shapes decide which in use.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lstmkit
from cpu_engine_helpers import (check_compiled_step, check_exported_operator, check_per_sample_grads,
                                forced_hand_over, streamed)
from lstmkit.kernels.cpu import _build, fused, ops
from lstmkit.kernels.cpu.functions import LoopConfig
from lstmkit.kernels.cpu.fused import fused_lstm_layer, tile_projection

pytestmark = pytest.mark.skipif(
    _build.load_extension() is None, reason=f"cpu extension unavailable: {_build.build_error()}"
)

TOL = {torch.float64: dict(rtol=1e-9, atol=1e-10), torch.float32: dict(rtol=2e-4, atol=2e-5)}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(params=["tile", "product"])
def projection(request, monkeypatch):
    """Where the input projection is computed: in the loop's tile or as one
    product before the loop (the rule of ``fused.tile_projection`` overridden)."""
    monkeypatch.setattr(fused, "tile_projection", lambda *a: request.param == "tile")
    return request.param


def _grads(out_state, inputs, params, seed=1):
    out, (h, c) = out_state
    g = torch.Generator().manual_seed(seed)
    loss = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum() for t in (out, h, c))
    return torch.autograd.grad(loss, [*inputs, *params])


@pytest.mark.parametrize("H", [16, 21, 40])
@pytest.mark.parametrize("layers,bi", [(1, False), (2, True)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_torch_nn_lstm(H, layers, bi, dtype, projection):
    torch.manual_seed(0)
    I, T, B = 7, 9, 11
    ref = nn.LSTM(I, H, num_layers=layers, bidirectional=bi, dtype=dtype)
    ours = lstmkit.LSTM.from_torch(ref, backend="cpu")
    D = 2 if bi else 1
    x = torch.randn(T, B, I, dtype=dtype, requires_grad=True)
    h0 = torch.randn(layers * D, B, H, dtype=dtype, requires_grad=True)
    c0 = torch.randn(layers * D, B, H, dtype=dtype, requires_grad=True)
    a = ref(x, (h0, c0))
    b = ours(x, (h0, c0))
    for got, want in zip((b[0], *b[1]), (a[0], *a[1])):
        torch.testing.assert_close(got, want, **TOL[dtype])
    ga = _grads(a, (x, h0, c0), list(ref.parameters()))
    gb = _grads(b, (x, h0, c0), list(ours.parameters()))
    assert len(ga) == len(gb)
    for got, want in zip(gb, ga):
        torch.testing.assert_close(got, want, **TOL[dtype])


def test_saved_values_stream_above_a_bounded_threshold():
    """The rule's threshold is positive and at most 24 MiB whatever L3 the
    system reports (a VM guest reports its host's); forcing one returns the
    one before, and -1 brings the rule back."""
    ext = _build.load_extension()
    rule = ext.stream_saved_above(1)
    assert 0 < rule <= 24 * 2**20
    assert ext.force_stream_saved(123) == -1
    assert ext.stream_saved_above(2) == 123
    assert ext.force_stream_saved(-1) == 123
    assert ext.stream_saved_above(1) == rule


@pytest.mark.parametrize("threads", [1, 2])
def test_streamed_saved_activations_match_torch_nn(threads):
    """Where the saved gate activations outgrow half the L3, the forward
    writes them past the caches (``stream_saved``, csrc/fused_tile.h; forced
    here for a small call): the backward that reads them must agree with
    torch.nn on every gradient, with the team's writes fenced before another
    thread reads them."""
    torch.manual_seed(0)
    T, B, I, H = 12, 24, 8, 128
    ext = _build.load_extension()
    ref = nn.LSTM(I, H, dtype=torch.float64)
    ours = lstmkit.LSTM.from_torch(ref, backend="cpu")
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = ref(x)
        with streamed(ext):
            b = ours(x)
        ga = _grads(a, (x,), list(ref.parameters()))
        gb = _grads(b, (x,), list(ours.parameters()))
    finally:
        torch.set_num_threads(before)
    assert ext.force_stream_saved(-1) == -1  # the rule is back
    for got, want in zip((b[0], *b[1], *gb), (a[0], *a[1], *ga)):
        torch.testing.assert_close(got, want, **TOL[torch.float64])


@pytest.mark.parametrize("H", [16, 5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lengths_match_reference(H, dtype, projection):
    torch.manual_seed(1)
    layer = lstmkit.LSTM(4, H, num_layers=2, bidirectional=True, dtype=dtype)
    x = torch.randn(6, 5, 4, dtype=dtype)
    lengths = torch.tensor([6, 1, 3, 6, 2])
    res = {}
    for backend in ("reference", "cpu"):
        layer.backend = backend
        xb = x.clone().requires_grad_()
        out_state = layer(xb, lengths=lengths)
        res[backend] = (out_state[0], *out_state[1], *_grads(out_state, (xb,), list(layer.parameters())))
    for got, want in zip(res["cpu"], res["reference"]):
        torch.testing.assert_close(got, want, **TOL[dtype])
    out = res["cpu"][0]
    assert torch.all(out[1:, 1] == 0) and torch.all(out[3:, 2] == 0)


@pytest.mark.parametrize("peephole", [False, True])
@pytest.mark.parametrize("H,masked", [(3, False), (3, True), (16, True)])
def test_gradcheck_fused_layer(H, masked, peephole, projection):
    """The plain and the peephole layer (its weights ``(3, H)`` the last argument)."""
    torch.manual_seed(2)
    T, B, I = 4, 3, 2
    r = lambda *s: (0.5 * torch.randn(*s, dtype=torch.float64)).requires_grad_()  # noqa: E731
    valid = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0]], dtype=torch.float64) if masked else None
    cfg = LoopConfig(valid=valid)

    def fn(x, h0, c0, w_ih, w_hh, b, *peep):
        return fused_lstm_layer(x, h0, c0, w_ih, w_hh, b, cfg, None, *peep)

    args = (r(T, B, I), r(B, H), r(B, H), r(4 * H, I), r(4 * H, H), r(4 * H)) + ((r(3, H),) if peephole else ())
    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("H", [3, 16])
@pytest.mark.parametrize("biases", [0, 1, 2])
def test_gradcheck_fused_layer_with_torch_order_weights_and_both_biases(H, biases):
    """The tile path takes ``W_ih`` and the two biases in torch's order and
    interleaves them below autograd (``ops.LSTMFusedLayerX``): its gradients
    for each of them, none, one or two biases."""
    torch.manual_seed(3)
    T, B, I = 4, 3, 2
    assert tile_projection(B, I, H, torch.float64)
    r = lambda *s: (0.5 * torch.randn(*s, dtype=torch.float64)).requires_grad_()  # noqa: E731
    bias = [r(4 * H) for _ in range(biases)]

    def fn(x, h0, c0, w_ih, w_hh, *b):
        b = list(b) + [None] * (2 - len(b))
        return fused_lstm_layer(x, h0, c0, w_ih, w_hh, b[0], LoopConfig(), b[1])

    assert torch.autograd.gradcheck(fn, (r(T, B, I), r(B, H), r(B, H), r(4 * H, I), r(4 * H, H), *bias),
                                    eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("H", [1, 8, 16, 17, 33])
def test_interleave_index_is_a_bijection_on_real_rows(H):
    L = ops.lane_width(torch.float32)
    fwd, inv = ops.interleave_index(H, L)
    Hp = (H + L - 1) // L * L
    assert fwd.shape == (4 * Hp,) and inv.shape == (4 * H,)
    assert torch.equal(fwd[inv], torch.arange(4 * H))
    assert int((fwd == 4 * H).sum()) == 4 * (Hp - H)
    # position u*4L + gate*L + l holds gate row gate*H + u*L + l
    if H > L:
        assert int(fwd[L]) == H and int(fwd[4 * L]) == L


def test_inference_mode_first_then_training(projection):
    """The interleaving index maps are cached: built first under
    inference_mode they must still serve a training step afterwards."""
    ops._interleave_index_cached.cache_clear()
    torch.manual_seed(9)
    layer = lstmkit.LSTM(5, 24, backend="cpu")
    x = torch.randn(6, 3, 5)
    with torch.inference_mode():
        first = layer(x)[0]
    out = layer(x)[0]
    out.sum().backward()
    assert torch.equal(out.detach(), first)
    assert all(p.grad is not None for p in layer.parameters())


@pytest.mark.parametrize("cell", ["lstm", "peephole"])
def test_plain_and_peephole_lstm_take_the_fused_operator(cell, projection):
    layer = (lstmkit.LSTM(4, 16) if cell == "lstm" else _peephole(4, 16, torch.float32)).eval()
    layer.backend = "cpu"
    want = "lstm_fused_seq_x" if projection == "tile" else "lstm_fused_seq."
    check_exported_operator(layer, torch.randn(5, 3, 4), want, "lstmkit.lstm_seq.")


def test_inference_saves_no_activations_and_matches_training_call():
    torch.manual_seed(3)
    w_hh = torch.randn(64, 16) * 0.3
    L = ops.lane_width(torch.float32)
    Hp = (16 + L - 1) // L * L
    xp, h0, c0 = torch.randn(3, 2, 4 * Hp), torch.zeros(2, 16), torch.zeros(2, 16)
    lean = ops.lstm_fused_seq(xp, h0, c0, w_hh, None, False)
    full = ops.lstm_fused_seq(xp, h0, c0, w_hh, None, True)
    assert lean[3].numel() == 0 and lean[4].numel() == 0
    assert full[0].shape == (3, 2, Hp) and full[3].shape == (3, 2, 4 * Hp) and full[4].shape == (4, 2, Hp)
    for a, b in zip(lean[:3], full[:3]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(full[1], full[0][-1], rtol=0, atol=0)  # h_T is the last output (no padding here)


def test_inference_calls_the_operator_without_the_autograd_function(monkeypatch):
    """Without a gradient to record, the layer calls ``torch.ops.lstmkit.*``
    directly (``Function.apply`` binds its arguments by signature on every
    call); the outputs are those of the Function path."""
    calls = []

    def counting(name, orig):
        def forward(*args):
            calls.append(name)
            return orig(*args)
        return staticmethod(forward)

    for cls in (ops.LSTMFusedSeq, ops.LSTMFusedLayerX, ops.ProjectIn):
        monkeypatch.setattr(cls, "forward", counting(cls.__name__, cls.forward))
    torch.manual_seed(0)
    # B = 3: the first layer (I = 6) projects in the tile, the second (I = 32) beforehand
    layer = lstmkit.LSTM(6, 32, num_layers=2, backend="cpu")
    x = torch.randn(7, 3, 6)
    with torch.no_grad():
        fast, (h_fast, c_fast) = layer(x)
    assert calls == []
    slow, (h_slow, c_slow) = layer(x)
    assert sorted(set(calls)) == ["LSTMFusedLayerX", "LSTMFusedSeq", "ProjectIn"]
    for a, b in ((fast, slow), (h_fast, h_slow), (c_fast, c_slow)):
        torch.testing.assert_close(a, b.detach(), rtol=0, atol=0)


def test_the_tile_projects_when_the_batch_shares_the_weights():
    f32 = torch.float32
    if ops.lane_width(f32) < 16:
        pytest.skip("the rule applies to AVX-512 builds; this build's tile projects nothing")
    assert fused.tile_projection(64, 128, 256, f32)  # I <= 8 B
    assert fused.tile_projection(1, 8, 512, f32)
    assert fused.tile_projection(4, 512, 128, f32) is False  # 1.3 MB of weights, few rows
    assert fused.tile_projection(4, 128, 128, f32)  # 512 KB: fits half the L2
    assert fused.tile_projection(2, 128, 128, f32) is False
    assert fused.tile_projection(16, 512, 512, f32) is False
    assert fused.tile_projection(64, 512, 512, f32)


@pytest.mark.parametrize("H,bias,masked", [(16, True, False), (21, True, True), (40, False, True)])
@pytest.mark.parametrize("save", [False, True])
def test_the_tile_projection_equals_the_product_beforehand(H, bias, masked, save):
    """``lstm_fused_seq_x`` (x and W_ih into the tile) against ``project_in``
    then ``lstm_fused_seq`` on the same interleaved weights, float64: every
    output, the saved activations included."""
    torch.manual_seed(4)
    T, B, I = 7, 9, 13
    L = ops.lane_width(torch.float64)
    Hp = (H + L - 1) // L * L
    fwd, _ = ops.interleave_index(H, L)
    r = lambda *s: 0.4 * torch.randn(*s, dtype=torch.float64)  # noqa: E731
    w_ih, w_hh, b = r(4 * H, I), r(4 * H, H), r(4 * H)
    wi = torch.cat((w_ih, w_ih.new_zeros(1, I))).index_select(0, fwd)
    bi = torch.cat((b, b.new_zeros(1))).index_select(0, fwd) if bias else None
    x, h0, c0 = r(T, B, I), r(B, H), r(B, H)
    valid = (torch.arange(T)[:, None] < torch.randint(1, T + 1, (B,))).double() if masked else None
    a = ops.lstm_fused_seq_x(x, wi, bi, h0, c0, w_hh, valid, save)
    b_ = ops.lstm_fused_seq(ops.project_in(x, wi, bi), h0, c0, w_hh, valid, save)
    assert a[0].shape == (T, B, Hp) and (a[3].numel() > 0) == save
    for got, want in zip(a, b_):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)


def test_compiled_training_step_matches_eager_on_both_paths(projection):
    import torch._dynamo

    torch._dynamo.reset()
    torch.manual_seed(5)
    layer = lstmkit.LSTM(5, 16, num_layers=2, backend="cpu")
    explained = torch._dynamo.explain(lambda x: layer(x)[0].sum())(torch.randn(6, 3, 5))
    assert explained.graph_break_count == 0, explained.break_reasons
    check_compiled_step(layer, 5, torch.tensor([6, 4, 2]), compiler="aot_eager", steps=2, label=projection)


def test_per_sample_gradients_with_vmap_on_both_paths(projection):
    torch.manual_seed(6)
    layer = lstmkit.LSTM(3, 16, backend="cpu").double()
    xs = torch.randn(4, 5, 1, 3, dtype=torch.float64)  # 4 samples of (T=5, B=1, I=3)
    check_per_sample_grads(layer, xs, label=projection, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("B,H", [(13, 48), ("one block", 48), (13, 192)])
def test_both_paths_hand_over_to_one_thread_with_the_same_numbers(projection, B, H):
    B = ops.tile_rows() if B == "one block" else B  # the rows of one tile: a team shared by panels
    torch.manual_seed(7)
    layer = lstmkit.LSTM(12, H, backend="cpu").double()
    x = torch.randn(9, B, 12, dtype=torch.float64, requires_grad=True)

    def run():
        x.grad = None
        layer.zero_grad()
        out, (h, c) = layer(x)
        (out.square().sum() + h.sum() + c.sum()).backward()
        return [out.detach().clone(), x.grad.clone(), *(p.grad.clone() for p in layer.parameters())]

    a, b, handed_over = forced_hand_over(_build.load_extension(), run, 4)
    assert handed_over == (0 if B > ops.tile_rows() and H == 48 else 2)  # 13 rows, small panels: split by rows
    for ta, tb in zip(a, b):
        torch.testing.assert_close(ta, tb, rtol=0, atol=0)


@pytest.mark.parametrize("frozen", ["weight_ih", "weight_hh", "bias_ih", None])
def test_weight_gradients_with_some_parameters_frozen(frozen, projection):
    """The tile path takes both weight gradients as one product when both are
    needed and each alone otherwise; either way they match torch.nn."""
    torch.manual_seed(8)
    ref = nn.LSTM(5, 16, dtype=torch.float64)
    ours = lstmkit.LSTM.from_torch(ref, backend="cpu")
    x = torch.randn(6, 4, 5, dtype=torch.float64)
    for m in (ref, ours):
        for n, p in m.named_parameters():
            p.requires_grad_(not (frozen and n.split(".")[-1].startswith(frozen)))
    ga = _grads(ref(x), (), [p for p in ref.parameters() if p.requires_grad])
    gb = _grads(ours(x), (), [p for p in ours.parameters() if p.requires_grad])
    assert len(ga) == len(gb) == (4 if frozen is None else 3)
    for got, want in zip(gb, ga):
        torch.testing.assert_close(got, want, **TOL[torch.float64])


@pytest.mark.parametrize("lanes", [16, 8])
def test_the_tile_projection_rule_on_avx512_and_avx2_tiles(monkeypatch, lanes):
    """The same rule on both builds (measured on each, RESULTS.md): the tile
    computes the projection for a narrow input or small weights with 4 or
    more rows, and leaves a wide input over few rows to one product."""
    monkeypatch.setattr(fused, "lane_width", lambda dtype: lanes if dtype == torch.float32 else lanes // 2)
    for dtype in (torch.float32, torch.float64):
        assert fused.tile_projection(64, 8, 256, dtype)  # I <= 8 B
        assert fused.tile_projection(4, 100, 64, dtype)  # small weights, 4 rows
        assert not fused.tile_projection(2, 512, 64, dtype)  # a wide input over 2 rows
        assert not fused.tile_projection(8, 512, 512, dtype)  # a wide input over 8 rows, 8 MB of weights or more


@pytest.mark.parametrize("cell", ["lstm", "layernorm"])
def test_an_empty_batch_runs_forward_and_backward(cell, projection):
    """B = 0 (an empty last batch): empty outputs and gradients, no crash (the
    fused loops' row blocks once divided by their count, zero here)."""
    layer = lstmkit.LSTM(3, 16, num_layers=2, bidirectional=True, cell=cell, backend="cpu")
    x = torch.randn(5, 0, 3, requires_grad=True)
    out, (h, c) = layer(x)
    assert out.shape == (5, 0, 32) and h.shape == (4, 0, 16) and c.shape == (4, 0, 16)
    (out.sum() + h.sum() + c.sum()).backward()
    assert x.grad.shape == (5, 0, 3)
    assert all(torch.count_nonzero(p.grad) == 0 for p in layer.parameters())


def _permuted_forward(w, L):  # the packs' definitions, as torch views (what the loops replaced)
    H = w.shape[1]
    Hp = (H + L - 1) // L * L
    w = nn.functional.pad(w.contiguous().view(4, H, H), (0, 0, 0, Hp - H))
    return w.view(4, Hp // L, L, H).permute(1, 3, 0, 2).contiguous()


def _permuted_backward(w, L):
    H = w.shape[1]
    Hp = (H + L - 1) // L * L
    NQ = (Hp // L + 3) // 4
    w = nn.functional.pad(w.contiguous().view(4, H, H), (0, NQ * 4 * L - H, 0, Hp - H))
    return w.view(4, Hp // L, L, NQ, 4, L).permute(3, 1, 0, 2, 4, 5).contiguous().view(NQ, 4 * Hp, 4, L)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weight_packs_and_transpose_equal_their_view_definitions(dtype, threads):
    """The loops that lay out W_hh, W_ih and the weight gradients (copies,
    so the same bits) against the permuted views they replaced, with hidden
    sizes on and off the lane width and more than one thread's chunk."""
    ext = ops._ext()
    L = ops.lane_width(dtype)
    torch.set_num_threads(threads)
    try:
        for H in (1, 5, L, 21, 40, 3 * L, 100, 256):
            w = torch.randn(4 * H, H, dtype=dtype)
            assert torch.equal(ext.pack_forward(w, L), _permuted_forward(w, L)), H
            assert torch.equal(ext.pack_backward(w, L), _permuted_backward(w, L)), H
            Hp = (H + L - 1) // L * L
            for I in (1, 3, 70):
                wi = torch.randn(4 * Hp, I, dtype=dtype)
                want = wi.view(Hp // L, 4, L, I).permute(0, 3, 1, 2).contiguous()
                assert torch.equal(ext.pack_input(wi, L), want), (H, I)
        for R, C in ((1, 1), (3, 70), (17, 33), (64, 48), (576, 2048)):
            a = torch.randn(R, C, dtype=dtype)
            assert torch.equal(ext.transposed(a), a.t().contiguous()), (R, C)
            assert torch.equal(ext.transposed(a.t()), a), (R, C)  # a non-contiguous input
    finally:
        torch.set_num_threads(1)


# ------------------------------------------------ the peephole LSTM on the same loop
def _peephole(I, H, dtype, **kw):
    layer = lstmkit.LSTM(I, H, cell="peephole", dtype=dtype, **kw)
    with torch.no_grad():  # peepholes far from zero, so that a term left out shows
        for cell in layer.cells:
            for name in ("weight_ci", "weight_cf", "weight_co"):
                getattr(cell, name).normal_(0.0, 0.7)
    return layer


@pytest.mark.parametrize("H", [16, 21, 40])
@pytest.mark.parametrize("layers,bi", [(1, False), (2, True)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_peephole_matches_reference(H, layers, bi, dtype, projection):
    """The peephole LSTM on the plain loop's tile (three multiply-adds a unit
    and step; the weights' gradient summed in the backward loop): outputs,
    final states and every gradient, the peephole weights' included, equal
    the reference's (the cell's own Python step), with lengths too."""
    torch.manual_seed(4)
    I, T, B = 7, 9, 11
    layer = _peephole(I, H, dtype, num_layers=layers, bidirectional=bi)
    D = 2 if bi else 1
    x = torch.randn(T, B, I, dtype=dtype)
    hx = tuple(torch.randn(layers * D, B, H, dtype=dtype) for _ in range(2))
    lengths = torch.randint(1, T + 1, (B,))
    lengths[0] = T
    for lens in (None, lengths):
        res = {}
        for backend in ("reference", "cpu"):
            layer.backend = backend
            inputs = tuple(t.clone().requires_grad_() for t in (x, *hx))
            out_state = layer(inputs[0], inputs[1:], lengths=lens)
            res[backend] = (out_state[0], *out_state[1], *_grads(out_state, inputs, list(layer.parameters())))
        assert len(res["cpu"]) == len(res["reference"])
        for got, want in zip(res["cpu"], res["reference"]):
            torch.testing.assert_close(got, want, **TOL[dtype])


@pytest.mark.parametrize("B", [32, 3])
def test_peephole_on_two_threads_matches_reference(B):
    """Two threads share the loop by rows (B 32) or by unit blocks (B 3), and
    the peephole weights' gradient is summed in per-item slots as the bias
    gradient is: every gradient equals the reference's."""
    torch.manual_seed(6)
    layer = _peephole(8, 64, torch.float64, num_layers=2)
    x = torch.randn(24, B, 8, dtype=torch.float64)
    res = {}
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for backend in ("reference", "cpu"):
            layer.backend = backend
            xb = x.clone().requires_grad_()
            out_state = layer(xb)
            res[backend] = (out_state[0], *_grads(out_state, (xb,), list(layer.parameters())))
    finally:
        torch.set_num_threads(before)
    for got, want in zip(res["cpu"], res["reference"]):
        torch.testing.assert_close(got, want, **TOL[torch.float64])
