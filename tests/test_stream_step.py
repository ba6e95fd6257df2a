"""The streaming step (``Recurrent.step`` on the cpu engine's fused ``StreamStep``)
against the reference cell loop: outputs and states for every cell the fused
step runs, and that what ``step`` keeps per stream (its checks, its backend
choice, the C++ object holding the parameters) never serves stale weights,
dtypes or shapes.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import lstmkit
from lstmkit import kernels
from lstmkit.kernels.cpu import _build

pytestmark = pytest.mark.skipif(
    _build.load_extension() is None, reason=f"cpu extension unavailable: {_build.build_error()}"
)

TOL = {torch.float64: dict(rtol=1e-10, atol=1e-12), torch.float32: dict(rtol=2e-5, atol=2e-6)}
#: every configuration the fused step runs (layernorm runs as a sequence of length 1)
FUSED = ["lstm", "peephole", "lstm_proj", "gru", "rnn_tanh", "rnn_relu"]
I, H = 5, 6


def make(kind, L=2, dtype=torch.float64, I=I, H=H, **kw):
    if kind in ("lstm", "peephole", "layernorm", "lstm_proj"):
        cell = "lstm" if kind == "lstm_proj" else kind
        proj = 3 if kind == "lstm_proj" else 0
        layer = lstmkit.LSTM(I, H, num_layers=L, cell=cell, proj_size=proj, dtype=dtype, **kw)
    elif kind == "gru":
        layer = lstmkit.GRU(I, H, num_layers=L, dtype=dtype, **kw)
    else:
        layer = lstmkit.RNN(I, H, num_layers=L, nonlinearity=kind.split("_")[1], dtype=dtype, **kw)
    with torch.no_grad():  # biases and peepholes away from zero, so that every parameter matters
        for p in layer.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return layer.eval()


def reference_of(layer):
    ref = copy.deepcopy(layer)
    ref.backend = "reference"
    return ref


def parts(state):
    return state if isinstance(state, tuple) else (state,)


def assert_same_steps(layer, ref, xs, state=None, ref_state=None, tol=None):
    """Step both layers through ``xs`` and compare every output and state."""
    tol = tol or TOL[xs.dtype]
    for x in xs:
        h, state = layer.step(x, state)
        h_ref, ref_state = ref.step(x, ref_state)
        torch.testing.assert_close(h, h_ref, **tol)
        for a, b in zip(parts(state), parts(ref_state), strict=True):
            torch.testing.assert_close(a, b, **tol)
    return state, ref_state


def fused_plan(layer):
    kept = layer.__dict__.get("_step_cache")  # (signature, auto's inputs, the plan)
    return None if kept is None else kept[2].streamer


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("kind", FUSED)
def test_fused_step_equals_reference_steps_and_whole_sequence(kind, B, dtype):
    layer = make(kind, L=3, dtype=dtype, backend="cpu", zoneout=0.2, **({"zoneout_cell": 0.3} if "lstm" in kind or kind == "peephole" else {}))
    ref = reference_of(layer)
    xs = torch.randn(6, B, I, dtype=dtype)
    with torch.no_grad():
        state, _ = assert_same_steps(layer, ref, xs)
        assert fused_plan(layer) is not None, "the fused step did not run"
        out, final = ref(xs)
        torch.testing.assert_close(layer.step(xs[0])[0], out[0], **TOL[dtype])
    for a, b in zip(parts(state), parts(final)):
        torch.testing.assert_close(a, b, **TOL[dtype])


def test_threaded_fused_step_equals_reference():
    """Units split over two threads (a layer large enough to be split)."""
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for kind in ("lstm", "gru", "rnn_tanh"):
            layer = make(kind, L=2, I=96, H=128, backend="cpu")
            with torch.no_grad():
                assert_same_steps(layer, reference_of(layer), torch.randn(3, 1, 96, dtype=torch.float64))
    finally:
        torch.set_num_threads(n)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("kind", FUSED)
def test_split_walk_equals_reference(kind, B, threads):
    """The walk for stacks larger than L2 (it turns at every call, and the
    layers above the first take their products in two passes), forced on at
    a small size, over steps of both directions."""
    n = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        layer = make(kind, L=3, I=40, H=48, backend="cpu", zoneout=0.2)
        ref = reference_of(layer)
        xs = torch.randn(5, B, 40, dtype=torch.float64)
        with torch.no_grad():
            state, ref_state = assert_same_steps(layer, ref, xs[:1])
            op = fused_plan(layer)._op
            assert op.split_layers == -1  # the rule decides by default
            op.split_layers = 1
            assert_same_steps(layer, ref, xs[1:], state, ref_state)
            assert fused_plan(layer)._op is op and op.split_layers == 1
    finally:
        torch.set_num_threads(n)


@pytest.mark.parametrize("kind", FUSED)
def test_in_place_weight_update_is_seen_by_the_next_step(kind):
    layer = make(kind, backend="cpu")
    ref = reference_of(layer)
    xs = torch.randn(4, 1, I, dtype=torch.float64)
    with torch.no_grad():
        state, ref_state = assert_same_steps(layer, ref, xs[:2])
        plan = fused_plan(layer)
        for p in layer.parameters():  # what an optimiser step does
            p.mul_(0.9).add_(0.05)
        ref.load_state_dict(layer.state_dict())
        assert_same_steps(layer, ref, xs[2:], state, ref_state)
    assert fused_plan(layer) is plan, "an in-place update should not need a new plan"


def test_replaced_loaded_and_converted_parameters_are_used():
    layer = make("lstm", backend="cpu")
    xs = torch.randn(2, 1, I, dtype=torch.float64)
    with torch.no_grad():
        layer.step(xs[0])
        # a parameter replaced by a new object
        layer.cells[1].weight_hh = nn.Parameter(torch.randn_like(layer.cells[1].weight_hh))
        assert_same_steps(layer, reference_of(layer), xs)
        # a parameter's data replaced (same object, new storage)
        layer.cells[0].bias_ih.data = torch.randn_like(layer.cells[0].bias_ih)
        assert_same_steps(layer, reference_of(layer), xs)
        # load_state_dict with assign=True (new tensors) and by copy
        other = make("lstm", backend="cpu")
        layer.load_state_dict(other.state_dict(), assign=True)
        assert_same_steps(layer, reference_of(other), xs)
        layer.load_state_dict(make("lstm").state_dict())
        assert_same_steps(layer, reference_of(layer), xs)
        # dtype conversion: float32 input now expected
        layer.float()
        assert_same_steps(layer, reference_of(layer), xs.float())
        with pytest.raises(TypeError, match="expected input of dtype torch.float32"):
            layer.step(xs[0])


def test_settings_changed_mid_stream_are_applied():
    layer = make("lstm", backend="cpu")
    xs = torch.randn(2, 1, I, dtype=torch.float64)
    with torch.no_grad():
        layer.step(xs[0])
        layer.zoneout = 0.5
        assert_same_steps(layer, reference_of(layer), xs)
        layer.backend = "reference"
        assert layer.step(xs[0])[0].shape == (1, H)
        assert fused_plan(layer) is None


def test_state_forms_and_checks_after_the_stream_began():
    layer = make("lstm", backend="cpu")
    ref = reference_of(layer)
    x = torch.randn(1, I, dtype=torch.float64)
    with torch.no_grad():
        h, (hs, cs) = layer.step(x)
        zeros = layer.init_state(1)
        torch.testing.assert_close(layer.step(x, zeros)[0], h, rtol=0, atol=0)
        # a list, a non-contiguous state, an unbatched input and state
        as_list = layer.step(x, [hs, cs])
        torch.testing.assert_close(as_list[0], ref.step(x, (hs, cs))[0], **TOL[torch.float64])
        wide = torch.randn(2, 2, H, dtype=torch.float64)[:, :1]
        assert not wide.is_contiguous()
        torch.testing.assert_close(layer.step(x, (wide, cs))[0], ref.step(x, (wide, cs))[0], **TOL[torch.float64])
        h1, (h1s, c1s) = layer.step(x[0], (hs[:, 0], cs[:, 0]))
        assert h1.shape == (H,) and h1s.shape == (2, H)
        torch.testing.assert_close(h1, ref.step(x[0], (hs[:, 0], cs[:, 0]))[0], **TOL[torch.float64])
        # the cached plan must not skip the state's checks
        with pytest.raises(ValueError, match=r"expected state h of shape \(2, 1, 6\)"):
            layer.step(x, (torch.zeros(2, 2, H, dtype=torch.float64), cs))
        with pytest.raises(TypeError, match="expected state c of dtype torch.float64"):
            layer.step(x, (hs, cs.float()))
        with pytest.raises(ValueError, match="expected the state as 2 tensor"):
            layer.step(x, hs)


@pytest.mark.parametrize("kind", ["gru", "rnn_relu"])
def test_one_part_state_batched_and_unbatched(kind):
    layer = make(kind, backend="cpu")
    ref = reference_of(layer)
    xs = torch.randn(3, I, dtype=torch.float64)
    with torch.no_grad():
        h, state = layer.step(xs[0])  # unbatched, from zeros
        assert h.shape == (H,) and state.shape == (2, H)
        h_ref, ref_state = ref.step(xs[0])
        for x in xs[1:]:  # the state passed back as one tensor
            h, state = layer.step(x, state)
            h_ref, ref_state = ref.step(x, ref_state)
            torch.testing.assert_close(h, h_ref, **TOL[torch.float64])
            torch.testing.assert_close(state, ref_state, **TOL[torch.float64])
        hb, sb = layer.step(xs[:1], state.unsqueeze(1))  # batched, the same step
        torch.testing.assert_close(hb[0], layer.step(xs[0], state)[0], rtol=0, atol=0)
        assert sb.shape == (2, 1, H)


def test_more_than_eight_rows_and_layernorm_run_as_a_sequence_of_one():
    with torch.no_grad():
        layer = make("lstm", backend="cpu")
        assert_same_steps(layer, reference_of(layer), torch.randn(2, 9, I, dtype=torch.float64))
        assert fused_plan(layer) is None
        layer = make("layernorm", backend="cpu")
        assert_same_steps(layer, reference_of(layer), torch.randn(2, 1, I, dtype=torch.float64))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_step_with_autograd_takes_the_differentiable_path(kind):
    layer = make(kind, backend="cpu")
    ref = reference_of(layer)
    x = torch.randn(1, I, dtype=torch.float64)
    h, _ = layer.step(x)  # grad mode, parameters require grad
    h_ref, _ = ref.step(x)
    assert h.requires_grad
    h.sum().backward()
    h_ref.sum().backward()
    for (name, p), q in zip(layer.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, **TOL[torch.float64], msg=name)
    with torch.no_grad():
        assert not layer.step(x)[0].requires_grad


def test_backend_step_called_directly_sees_updates_and_replacements():
    layer = make("gru", backend="cpu")
    backend = kernels.registry.load_backend("cpu")
    spec, x = layer.spec(), torch.randn(1, I, dtype=torch.float64)
    st = layer.init_state(1)
    with torch.no_grad():
        for change in (lambda: None,
                       lambda: layer.cells[0].weight_ih.add_(0.1),
                       lambda: setattr(layer.cells[1], "bias_hh", nn.Parameter(torch.randn(3 * H, dtype=torch.float64)))):
            change()
            h, _ = backend.step(x, st, list(layer.cells), spec)
            torch.testing.assert_close(h, reference_of(layer).step(x, st[0])[0], **TOL[torch.float64])


def test_a_stepped_layer_copies_and_pickles_without_its_plan():
    import io
    import pickle

    layer = make("lstm", backend="cpu")
    x = torch.randn(1, I, dtype=torch.float64)
    with torch.no_grad():
        h, _ = layer.step(x)
        for twin in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
            assert "_step_cache" not in twin.__dict__
            torch.testing.assert_close(twin.step(x)[0], h, rtol=0, atol=0)
        buf = io.BytesIO()
        torch.save(layer, buf)
        assert "_step_cache" in layer.__dict__, "saving must not drop the original's plan"


def counting_fast_path(layer):
    """Count the kept stream's steps that ``try_call`` ran (``None`` answers
    not counted)."""
    fast = layer.__dict__["_step_fast"]
    inner, ran = fast.try_call, []

    def counted(*args):
        out = inner(*args)
        if out is not None:
            ran.append(1)
        return out

    fast.try_call = counted
    return ran


@pytest.mark.parametrize("kind", FUSED)
def test_a_kept_streams_steps_take_the_checked_fast_path_with_the_same_bits(kind):
    layer = make(kind, L=2, dtype=torch.float32, backend="cpu")
    twin = copy.deepcopy(layer)
    xs = torch.randn(4, 2, I)
    with torch.no_grad():
        state = twin_state = None
        h, state = layer.step(xs[0], state)
        ran = counting_fast_path(layer)
        h_twin, twin_state = twin.step(xs[0], twin_state)
        for x in xs[1:]:
            h, state = layer.step(x, state)
            # the same stream through the fused step's own checked call
            h_twin, twin_state = fused_plan(twin)(x, parts(twin_state))
            twin_state = twin_state if len(twin_state) > 1 else twin_state[0]
            assert torch.equal(h, h_twin)
            for a, b in zip(parts(state), parts(twin_state), strict=True):
                assert torch.equal(a, b)
    assert len(ran) == 3, "the kept stream's steps should run through try_call"


def test_the_fast_path_declines_what_the_stream_did_not_begin_with():
    layer = make("lstm", backend="cpu")
    ref = reference_of(layer)
    xs = torch.randn(3, 1, I, dtype=torch.float64)
    n = torch.get_num_threads()
    with torch.no_grad():
        state, ref_state = assert_same_steps(layer, ref, xs[:1])
        ran = counting_fast_path(layer)
        state, ref_state = assert_same_steps(layer, ref, xs[1:2], state, ref_state)
        assert len(ran) == 1
        # another thread count: declined in C++, planned again (a new fast path)
        torch.set_num_threads(n + 1)
        try:
            fast = layer.__dict__["_step_fast"]
            assert_same_steps(layer, ref, xs[2:], state, ref_state)
            assert layer.__dict__["_step_fast"] is not fast
        finally:
            torch.set_num_threads(n)
        ran = counting_fast_path(layer)
        # more rows, a wrong state: the layer's own checks answer
        wide = torch.randn(1, 3, I, dtype=torch.float64)
        assert_same_steps(layer, ref, wide, tuple(s.expand(-1, 3, -1).contiguous() for s in state),
                          tuple(s.expand(-1, 3, -1).contiguous() for s in ref_state))
        with pytest.raises(ValueError, match=r"expected state h of shape \(2, 3, 6\)"):
            layer.step(wide[0], (torch.zeros(2, 1, H, dtype=torch.float64), state[1].expand(-1, 3, -1)))
        assert not ran
    # autograd: the differentiable path, whose output carries a graph
    h, _ = layer.step(xs[0], state)
    assert h.requires_grad


def test_try_call_answers_none_for_each_difference():
    layer = make("lstm", L=2, backend="cpu")
    x = torch.randn(1, I, dtype=torch.float64)
    h0, c0 = (s.contiguous() for s in layer.init_state(1))
    with torch.no_grad():
        layer.step(x, (h0, c0))
        try_call = fused_plan(layer).try_call
        top, h, c = try_call(x, h0, c0, 1)
        want, (wh, wc) = reference_of(layer).step(x, (h0, c0))
        torch.testing.assert_close(top, want, **TOL[torch.float64])
        declined = {
            "rows": try_call(x.expand(2, -1).contiguous(), h0.expand(-1, 2, -1).contiguous(),
                             c0.expand(-1, 2, -1).contiguous(), 1),
            "dtype": try_call(x.float(), h0.float(), c0.float(), 1),
            "no state": try_call(x, None, None, 1),
            "state shape": try_call(x, h0[:1], c0, 1),
            "state layout": try_call(x, torch.zeros(2, 2, H, dtype=torch.float64)[:, :1], c0, 1),
            "unbatched": try_call(x[0], h0, c0, 1),
        }
        assert all(v is None for v in declined.values()), declined
        n = torch.get_num_threads()
        torch.set_num_threads(n + 1)
        try:
            assert try_call(x, h0, c0, 1) is None, "another thread count"
        finally:
            torch.set_num_threads(n)
        layer.cells[1].weight_hh.data = layer.cells[1].weight_hh.data.clone()
        assert try_call(x, h0, c0, 1) is None, "a parameter's data moved"
    assert try_call(x, h0, c0, 1) is None, "parameters that need autograd"


def test_auto_streams_see_a_new_table_through_the_fast_path(monkeypatch):
    from lstmkit.kernels import cpu as cpu_pkg

    for device in ("cpu", "cuda", "mps"):
        assert kernels.auto_inputs_reader(device)() == kernels.auto_inputs(device)
    layer = make("lstm")  # backend auto
    ref = reference_of(layer)
    xs = torch.randn(3, 1, I, dtype=torch.float64)
    with torch.no_grad():
        state, ref_state = assert_same_steps(layer, ref, xs[:2])
        fast = layer.__dict__["_step_fast"]
        monkeypatch.setattr(cpu_pkg, "_ratios", {})  # another table: the stream plans again
        assert_same_steps(layer, ref, xs[2:], state, ref_state)
        assert layer.__dict__["_step_fast"] is not fast
