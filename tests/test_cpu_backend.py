"""The cpu engine against the reference: outputs, states, gate traces and every gradient.

A parametrised grid of cells x layers x directions x lengths x batch_first x
dtype, plus projections, the recurrent regularisers (same seed, so both
backends draw the same masks), streaming, gradcheck of every custom autograd
function, the fallback when the C++ build fails, and what ``auto`` picks.
"""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch

import lstmkit
from lstmkit import kernels
from lstmkit.kernels.cpu import AUTO_TABLES, CPUBackend, _build
from lstmkit.kernels.cpu import ops
from lstmkit.kernels.cpu.functions import LoopConfig, gru_loop, lstm_loop, rnn_loop

pytestmark = pytest.mark.skipif(
    _build.load_extension() is None, reason=f"cpu extension unavailable: {_build.build_error()}"
)



@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny shapes: one thread is faster and immune to a busy machine's
    thread-pool waits (one test below runs the threaded path)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


TOL = {torch.float64: dict(rtol=1e-9, atol=1e-10), torch.float32: dict(rtol=2e-4, atol=2e-5)}
KINDS = ["lstm", "peephole", "layernorm", "gru", "rnn_tanh", "rnn_relu"]
I, H = 5, 6


def make(kind, L=1, bi=False, bf=False, proj=0, dtype=torch.float64, **kw):
    common = dict(num_layers=L, bidirectional=bi, batch_first=bf, dtype=dtype, **kw)
    if kind in ("lstm", "peephole", "layernorm"):
        return lstmkit.LSTM(I, H, proj_size=proj, cell=kind, **common)
    if kind == "gru":
        return lstmkit.GRU(I, H, **common)
    return lstmkit.RNN(I, H, nonlinearity=kind.split("_")[1], **common)


def _tuple(s):
    return s if isinstance(s, tuple) else (s,)


def run(layer, backend, x, hx, lengths, seed=0, return_gates=False):
    """Forward and backward of one loss touching the output and every final
    state; returns everything that must agree between backends."""
    layer.backend = backend
    layer.zero_grad()
    x = x.clone().requires_grad_()
    hx = tuple(h.clone().requires_grad_() for h in hx)
    torch.manual_seed(seed)  # the same dropout / zoneout masks in both runs
    res = layer(x, hx if len(hx) > 1 else hx[0], lengths=lengths, return_gates=return_gates)
    out, state = res[0], _tuple(res[1])
    g = torch.Generator().manual_seed(1)
    loss = (out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum()
    for s in state:
        loss = loss + (s * torch.randn(s.shape, generator=g, dtype=s.dtype)).sum()
    loss.backward()
    named = {"out": out, **{f"state{i}": s for i, s in enumerate(state)}, "dx": x.grad}
    named.update({f"dh0_{i}": h.grad for i, h in enumerate(hx)})
    named.update({f"d{n}": p.grad.clone() for n, p in layer.named_parameters()})
    if return_gates:
        for l, row in enumerate(res[2]):
            for d, traces in enumerate(row):
                named.update({f"gate_{l}{d}_{k}": v for k, v in traces.items()})
    return named


def check_same(layer, x, hx, lengths, dtype, return_gates=False):
    ref = run(layer, "reference", x, hx, lengths, return_gates=return_gates)
    got = run(layer, "cpu", x, hx, lengths, return_gates=return_gates)
    assert ref.keys() == got.keys()
    for k in ref:
        assert ref[k] is not None, k
        tol = dict(TOL[dtype])
        if dtype == torch.float32:
            # a float32 sum over T*B terms carries rounding of the size of its
            # largest terms, not of its result: an entry near zero in a
            # gradient whose entries reach 10-30 (the layer-norm stacks) may
            # differ by ~1e-6 of that scale, depending on the machine's order
            tol["atol"] *= max(1.0, float(ref[k].abs().max()))
        torch.testing.assert_close(got[k], ref[k], **tol, msg=lambda m: f"{k}: {m}")
    return ref, got


def inputs(layer, T, B, bf, dtype):
    x = torch.randn(B, T, I, dtype=dtype) if bf else torch.randn(T, B, I, dtype=dtype)
    hx = tuple(torch.randn(s.shape, dtype=dtype) for s in layer.init_state(B))
    return x, hx


GRID = list(itertools.product(KINDS, (1, 2), (False, True), (False, True), (torch.float32, torch.float64)))


@pytest.mark.parametrize("kind,L,bi,bf,dtype", GRID, ids=lambda v: str(v).replace("torch.", ""))
@pytest.mark.parametrize("variable", [False, True], ids=["full", "lengths"])
def test_matches_reference(kind, L, bi, bf, dtype, variable):
    layer = make(kind, L, bi, bf, dtype=dtype)
    x, hx = inputs(layer, 7, 4, bf, dtype)
    lengths = torch.tensor([7, 3, 5, 1]) if variable else None
    check_same(layer, x, hx, lengths, dtype)


@pytest.mark.parametrize("kind", ["lstm", "peephole", "layernorm"])
@pytest.mark.parametrize("bi", [False, True])
def test_projection(kind, bi):
    layer = make(kind, 2, bi, proj=3)
    x, hx = inputs(layer, 6, 3, False, torch.float64)
    check_same(layer, x, hx, torch.tensor([6, 2, 4]), torch.float64)


@pytest.mark.parametrize("kind", KINDS)
def test_without_bias(kind):
    layer = make(kind, 2, True, bf=True, bias=False)
    x, hx = inputs(layer, 6, 3, True, torch.float64)
    check_same(layer, x, hx, torch.tensor([6, 2, 5]), torch.float64)


def test_double_backward_raises_instead_of_being_wrong():
    layer = make("gru", 1, False)
    layer.backend = "cpu"
    x = torch.randn(4, 2, I, dtype=torch.float64, requires_grad=True)
    out, _ = layer(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


REGS = [
    dict(hidden_dropout=0.3),
    dict(zoneout=0.25),
    dict(zoneout=0.2, zoneout_cell=0.4),
    dict(hidden_dropout=0.2, zoneout=0.3, zoneout_cell=0.1, input_dropout=0.2, dropout=0.3),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reg", REGS, ids=lambda r: "+".join(r))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_regularisers(kind, reg, training):
    layer = make(kind, 2, True, proj=0, **reg)
    layer.train(training)
    x, hx = inputs(layer, 6, 3, False, torch.float64)
    check_same(layer, x, hx, torch.tensor([6, 2, 5]), torch.float64)


def test_regularisers_with_projection_and_float32():
    layer = make("peephole", 2, False, proj=4, dtype=torch.float32, hidden_dropout=0.3, zoneout=0.2, zoneout_cell=0.2)
    x, hx = inputs(layer, 8, 5, False, torch.float32)
    check_same(layer, x, hx, torch.tensor([8, 1, 4, 7, 2]), torch.float32)


@pytest.mark.parametrize("kind", KINDS)
def test_gate_traces(kind):
    layer = make(kind, 2, True, bf=True)
    x, hx = inputs(layer, 6, 3, True, torch.float64)
    ref, got = check_same(layer, x, hx, torch.tensor([6, 2, 4]), torch.float64, return_gates=True)
    traces = [k for k in ref if k.startswith("gate_00_")]
    cell = layer.cells[0]
    assert sorted(k.rsplit("_", 1)[1] for k in traces) == sorted(cell.gate_names)
    # padded steps of the traces are zero (sequence 1 has 2 valid steps; batch_first)
    assert torch.all(got["gate_01_h"][1, 2:] == 0)


@pytest.mark.parametrize("threads", [1, 2])
def test_no_grad_inference_and_bigger_shapes_float32(threads):
    """Forward without autograd (the loops save nothing), at sizes where the
    pointwise work is split over threads."""
    layer = lstmkit.LSTM(16, 96, num_layers=2, cell="peephole")
    x = torch.randn(9, 40, 16)
    lengths = torch.randint(1, 10, (40,))
    lengths[0] = 9
    torch.set_num_threads(threads)
    with torch.no_grad():
        layer.backend = "reference"
        o1, (h1, c1) = layer(x, lengths=lengths)
        layer.backend = "cpu"
        o2, (h2, c2) = layer(x, lengths=lengths)
    for a, b in ((o1, o2), (h1, h2), (c1, c2)):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    torch.set_num_threads(1)


def test_padding_gets_no_gradient_and_outputs_zero():
    layer = make("layernorm", 1, True, dtype=torch.float64)
    layer.backend = "cpu"
    x = torch.randn(5, 2, I, dtype=torch.float64, requires_grad=True)
    out, _ = layer(x, lengths=torch.tensor([5, 2]))
    out.sum().backward()
    assert torch.all(out[2:, 1] == 0)
    assert torch.all(x.grad[2:, 1] == 0)
    assert torch.all(x.grad[:2, 1] != 0)


@pytest.mark.parametrize("kind", KINDS)
def test_streaming_step_matches_whole_sequence(kind):
    layer = make(kind, 2, False, dtype=torch.float32, zoneout=0.2).eval()
    layer.backend = "cpu"
    x = torch.randn(5, 1, I)
    with torch.no_grad():
        out, final = layer(x)
        state = None
        for t in range(5):
            h, state = layer.step(x[t], state)
            torch.testing.assert_close(h, out[t], rtol=1e-5, atol=1e-6)
    for a, b in zip(_tuple(state), _tuple(final)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS + ["lstm_proj"])
@pytest.mark.parametrize("part", ["output", "final_state"])
def test_gradients_of_a_loss_on_one_part_only(kind, part):
    """Outputs that get no gradient reach the formulas as None (autograd does
    not fill zeros for them): a loss on the output alone or on the final
    state alone gives the reference's gradients."""
    layer = make("lstm" if kind == "lstm_proj" else kind, 2, False, proj=2 if kind == "lstm_proj" else 0)
    x = torch.randn(4, 3, I, dtype=torch.float64)
    grads = {}
    for backend in ("reference", "cpu"):
        layer.backend = backend
        layer.zero_grad()
        xg = x.clone().requires_grad_()
        out, state = layer(xg)
        loss = out.pow(2).sum() if part == "output" else sum(s.pow(2).sum() for s in _tuple(state))
        loss.backward()
        grads[backend] = [xg.grad] + [p.grad.clone() for p in layer.parameters()]
    for a, b in zip(grads["cpu"], grads["reference"], strict=True):
        torch.testing.assert_close(a, b, **TOL[torch.float64])


# ------------------------------------------------------------------ gradcheck
def _cfg(T, B, P, H, lengths=True, hmask=True, zone=True, zc=True):
    g = torch.Generator().manual_seed(3)
    d = torch.float64
    valid = (torch.arange(T).unsqueeze(1) < torch.tensor([T, 2, T - 1][:B])).to(d) if lengths else None
    return LoopConfig(
        valid=valid,
        hmask=(torch.rand(B, P, generator=g, dtype=d) > 0.3).to(d) / 0.7 if hmask else None,
        zh=(torch.rand(T, B, P, generator=g, dtype=d) < 0.3).to(d) if zone else None,
        zh_p=-1.0 if zone else 0.0,
        zc=(torch.rand(T, B, H, generator=g, dtype=d) < 0.3).to(d) if zc else None,
        zc_p=-1.0 if zc else 0.0,
    )


def _r(*shape, scale=0.5):
    return (torch.randn(*shape, dtype=torch.float64) * scale).requires_grad_()


@pytest.mark.parametrize(
    "variant",
    ["lstm", "lstm_proj", "peephole", "layernorm", "layernorm_proj_peep", "lstm_masks", "lstm_eval_zoneout"],
)
def test_gradcheck_lstm_loop(variant):
    T, B, H = 4, 3, 3
    P = 2 if "proj" in variant else H
    cfg = _cfg(T, B, P, H) if variant == "lstm_masks" else LoopConfig(valid=_cfg(T, B, P, H).valid)
    if variant == "lstm_eval_zoneout":
        cfg = LoopConfig(zh_p=0.3, zc_p=0.2)
    xp, h0, c0, w_hh = _r(T, B, 4 * H), _r(B, P), _r(B, H), _r(4 * H, P)
    w_hr = _r(P, H) if "proj" in variant else None
    peep = _r(3, H) if ("peep" in variant) else None
    ln = (None,) * 5
    if variant.startswith("layernorm"):
        ln_ih = torch.stack((1 + 0.3 * torch.randn(4 * H), 0.3 * torch.randn(4 * H), 0.3 * torch.randn(4 * H)))
        ln_ih = ln_ih.double().requires_grad_()
        ln = (ln_ih, _r(4 * H, scale=1.0), _r(4 * H), _r(H, scale=1.0), _r(H))
    fn = lambda *a: lstm_loop(*a, cfg)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (xp, h0, c0, w_hh, w_hr, peep, *ln), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("masks", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_gradcheck_gru_loop(masks, bias):
    T, B, H = 4, 3, 3
    cfg = _cfg(T, B, H, H, zc=False) if masks else LoopConfig()
    args = (_r(T, B, 3 * H), _r(B, H), _r(3 * H, H), _r(H) if bias else None)
    assert torch.autograd.gradcheck(lambda *a: gru_loop(*a, cfg), args, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("masks", [False, True])
def test_gradcheck_rnn_loop(relu, masks):
    T, B, H = 4, 3, 3
    cfg = _cfg(T, B, H, H, zc=False) if masks else LoopConfig()
    args = (_r(T, B, H), _r(B, H), _r(H, H))
    assert torch.autograd.gradcheck(lambda *a: rnn_loop(*a, relu, cfg), args, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("bias", [False, True])
def test_gradcheck_project_in(bias):
    args = (_r(7, 4), _r(5, 4), _r(5) if bias else None)
    assert torch.autograd.gradcheck(ops.project_in_op, args, eps=1e-6, atol=1e-7)


def test_project_in_float32_matches_matmul():
    x, w, b = torch.randn(50, 16), torch.randn(32, 16), torch.randn(32)
    torch.testing.assert_close(ops.project_in_op(x, w, b), x @ w.t() + b, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------ choice, errors
def test_why_not():
    backend = CPUBackend()
    spec = kernels.RecurrenceSpec(kind="lstm")
    cells = [lstmkit.cells.LSTMCell(3, 4)]
    assert backend.why_not(torch.randn(2, 1, 3), spec, cells, None) is None
    assert "float16" in backend.why_not(torch.randn(2, 1, 3).half(), spec, cells, None)

    class Odd(lstmkit.cells.LSTMCell):
        def step(self, x_t, state, trace=None):
            return state

    assert "overrides step" in backend.why_not(torch.randn(2, 1, 3), spec, [Odd(3, 4)], None)


def test_auto_picks_cpu_for_variants(monkeypatch):
    # the peephole cell has no torch.nn twin; the GRU's table won every
    # measured shape, from 96 rows up (T*B: the smallest measured shape)
    import lstmkit.kernels.cpu as cpu_pkg
    from conftest import SUITE_AUTO_TABLE

    monkeypatch.setenv("LSTMKIT_AUTO_TABLE", str(SUITE_AUTO_TABLE))
    monkeypatch.setattr(cpu_pkg, "_ratios", None)
    x = torch.randn(12, 8, 3)
    for kind, cell in (("peephole", lstmkit.cells.PeepholeLSTMCell(3, 4)), ("gru", lstmkit.cells.GRUCell(3, 4))):
        spec = kernels.RecurrenceSpec(kind=kind)
        assert kernels.select_backend(x, spec, [cell], None).name == "cpu"
    # fewer rows than any measured shape: no evidence, torch.nn
    assert kernels.select_backend(torch.randn(4, 2, 3), kernels.RecurrenceSpec(kind="gru"),
                                  [lstmkit.cells.GRUCell(3, 4)], None).name == "torch"


@pytest.fixture
def measured(monkeypatch):
    """Stand-in measurements for auto (the shipped table is machine-specific)."""
    import lstmkit.kernels.cpu as cpu_pkg

    table = {"1": {"lstm train": [[0.0, 0.8]], "lstm infer": [[0.0, 0.6]], "gru train": [[0.0, 1.3]],
                   "rnn_tanh train": [[0.0, 0.7]], "rnn_relu train": [[0.0, 1.02]]}}
    monkeypatch.setattr(cpu_pkg, "_ratios", table)
    monkeypatch.setattr(cpu_pkg, "_narrow", {})
    return table


def test_auto_follows_the_measured_table(measured):
    x = torch.randn(4, 2, 3)
    cells = [lstmkit.cells.LSTMCell(3, 4)]
    spec = kernels.RecurrenceSpec(kind="lstm")
    assert kernels.select_backend(x, spec, cells, None).name == "torch"  # measured slower: torch.nn
    assert kernels.select_backend(x, spec, cells, torch.tensor([4, 2])).name == "cpu"  # lengths: masking wins
    gates = kernels.RecurrenceSpec(kind="lstm", return_gates=True)
    assert kernels.select_backend(x, gates, cells, None).name == "cpu"  # torch cannot
    gru = [lstmkit.cells.GRUCell(3, 4)]
    assert kernels.select_backend(x, kernels.RecurrenceSpec(kind="gru"), gru, None).name == "cpu"  # measured faster
    rnn = [lstmkit.cells.RNNCell(3, 4)]
    assert kernels.select_backend(x, kernels.RecurrenceSpec(kind="rnn_tanh"), rnn, None).name == "torch"
    relu = [lstmkit.cells.RNNCell(3, 4, nonlinearity="relu")]
    # 1.02x in the worst shape is within the run-to-run noise: not enough to leave torch.nn
    assert kernels.select_backend(x, kernels.RecurrenceSpec(kind="rnn_relu"), relu, None).name == "torch"
    with torch.no_grad():  # not measured for inference: the engine keeps it
        assert kernels.select_backend(x, kernels.RecurrenceSpec(kind="rnn_tanh"), rnn, None).name == "cpu"


def test_auto_judges_a_call_by_the_measured_shapes_around_its_size(monkeypatch, tmp_path):
    import lstmkit.kernels.cpu as cpu_pkg

    # the engine lost the smallest shape (its fixed cost per call) and won every larger one
    points = [[1e3, 0.9], [1e5, 1.1], [1e7, 1.2]]
    monkeypatch.setattr(cpu_pkg, "_ratios", {"1": {"lstm train": points}})
    spec = kernels.RecurrenceSpec(kind="lstm")
    cells = [lstmkit.cells.LSTMCell(4, 8)]  # 4 * 8 * (4 + 8) = 384 multiply-adds per row and step
    assert cpu_pkg.call_work("lstm", 10, 3, cells) == 10 * 3 * 384
    tiny, large = torch.randn(2, 1, 4), torch.randn(100, 64, 4)  # 768 (below every point) and 2.5e6
    assert kernels.select_backend(tiny, spec, cells, None).name == "torch"  # judged by all: 0.9
    assert kernels.select_backend(large, spec, cells, None).name == "cpu"  # from 1e5 up: 1.1
    assert cpu_pkg.auto_ratio("lstm train", 2.5e6) == (1.1, 1e5, 0.0, 0.0)  # these points name no rows
    mid = torch.randn(10, 3, 4)  # 11,520: between the 1e3 point (the loss) and the 1e5 one
    assert kernels.select_backend(mid, spec, cells, None).name == "torch"
    assert cpu_pkg.auto_ratio("lstm train", 11520) == (0.9, 1e3, 0.0, 0.0)
    assert cpu_pkg.auto_ratio("lstm train", 1e9) == (1.2, 1e7, 0.0, 0.0)  # above them all: the largest alone
    assert cpu_pkg.auto_ratio("lstm train", 1e3) == (0.9, 1e3, 0.0, 0.0)  # a measured size: that shape alone
    assert cpu_pkg.auto_ratio("lstm train", 1e5) == (1.1, 1e5, 0.0, 0.0)
    # a loss at a large shape keeps the calls around it on torch.nn, not the
    # smaller ones, which their own neighbours judge (the ratios are not
    # monotone in size: the tanh RNN's training dips at one mid-size shape)
    monkeypatch.setattr(cpu_pkg, "_ratios", {"1": {"lstm train": [[1e3, 1.2], [1e5, 1.2], [1e7, 0.95]]}})
    assert kernels.select_backend(large, spec, cells, None).name == "torch"
    assert kernels.select_backend(mid, spec, cells, None).name == "cpu"
    why = kernels.load_backend("cpu").auto_declines(large, spec, cells, None)
    assert why is not None and "0.95x" in why and "around this size" in why
    # the table's plain numbers (a ratio for every size) still read
    old_style = tmp_path / "auto_table.json"
    old_style.write_text('{"threads": {"1": {"lstm train": 1.3}}}')
    monkeypatch.setenv("LSTMKIT_AUTO_TABLE", str(old_style))
    monkeypatch.setattr(cpu_pkg, "_ratios", None)
    assert cpu_pkg.auto_ratio("lstm train", 5.0) == (1.3, 0.0, 0.0, 0.0)


def test_auto_takes_the_engine_only_for_calls_with_as_many_rows_as_its_evidence(monkeypatch):
    """A shape won with many rows (T*B) says nothing of a call of the same
    work with few: the engine's fixed cost per call (its weight packing above
    all) is spread over the call's rows. Off the table's grid, one row with
    H=512 ran at half torch.nn's speed where the work alone chose the engine."""
    import lstmkit.kernels.cpu as cpu_pkg

    points = [[1e3, 0.9, 8], [1e5, 1.2, 96], [1e7, 1.2, 6400]]  # [work, ratio, rows]
    monkeypatch.setattr(cpu_pkg, "_ratios", {"1": {"lstm train": points}})
    spec = kernels.RecurrenceSpec(kind="lstm")
    wide = [lstmkit.cells.LSTMCell(8, 64)]  # 4 * 64 * 72 = 18,432 multiply-adds per row and step
    few = torch.randn(4, 2, 8)  # 8 rows, 147,456 multiply-adds: judged from the 1e5 point (96 rows)
    many = torch.randn(12, 8, 8)  # 96 rows
    # the steps come from the measured shape of 96 rows (T12 B8): these points name no steps
    assert cpu_pkg.auto_ratio("lstm train", cpu_pkg.call_work("lstm", 4, 2, wide)) == (1.2, 1e5, 96, 12)
    backend = kernels.select_backend(few, spec, wide, None)
    assert backend.name == "torch"
    why = kernels.load_backend("cpu").auto_declines(few, spec, wide, None)
    assert why is not None and "8 rows" in why and "96 rows" in why
    assert kernels.select_backend(many, spec, wide, None).name == "cpu"
    assert cpu_pkg.auto_covers(cpu_pkg.AutoEvidence(1.2, 1e5, 96), 96)
    assert not cpu_pkg.auto_covers(cpu_pkg.AutoEvidence(1.2, 1e5, 96), 95)


def test_auto_takes_the_engine_only_for_calls_with_as_many_steps_as_its_evidence(monkeypatch):
    """A shape won with many steps says nothing of a call with few steps and
    many rows: the engine's lead is in each step's work around the recurrent
    product, and a call of three steps is mostly torch.nn's large products
    (held-out set h of bench_auto_check.py: T3 B53 I1 H46 ran at 0.67-0.71x
    in tanh RNN training where the T12 B8 shape's rows let the engine take it)."""
    import lstmkit.kernels.cpu as cpu_pkg
    from lstmkit.kernels.cpu import calibrate

    points = [[1e3, 0.9, 8, 1], [1e5, 1.2, 96, 12], [1e7, 1.2, 6400, 100]]  # [work, ratio, rows, steps]
    monkeypatch.setattr(cpu_pkg, "_ratios", {"1": {"lstm train": points}})
    spec = kernels.RecurrenceSpec(kind="lstm")
    cells = [lstmkit.cells.LSTMCell(1, 46)]  # 4 * 46 * 47 = 8,648 multiply-adds per row and step
    short = torch.randn(3, 53, 1)  # 159 rows, 1.4e6 multiply-adds: judged from the 1e5 point (T12, 96 rows)
    long = torch.randn(12, 14, 1)  # 168 rows over 12 steps, about the same work
    assert cpu_pkg.auto_ratio("lstm train", cpu_pkg.call_work("lstm", 3, 53, cells)) == (1.2, 1e5, 96, 12)
    assert kernels.select_backend(short, spec, cells, None).name == "torch"
    why = kernels.load_backend("cpu").auto_declines(short, spec, cells, None)
    assert why is not None and "3 steps" in why and "12 steps" in why
    assert kernels.select_backend(long, spec, cells, None).name == "cpu"
    evidence = cpu_pkg.AutoEvidence(1.2, 1e5, 96, 12)
    assert cpu_pkg.auto_covers(evidence, 159) and not cpu_pkg.auto_covers(evidence, 159, 3)
    assert cpu_pkg.auto_covers(evidence, 96, 12) and not cpu_pkg.auto_covers(evidence, 95, 12)
    # tables measured before points carried their steps: the measured shape of those rows says them
    for s in (*calibrate.SHAPES.values(), *calibrate.SMALL_SHAPES.values()):
        assert cpu_pkg.point_steps([1e5, 1.2, s["T"] * s["B"]]) == s["T"]
    assert cpu_pkg.point_steps([1e5, 1.2, 7]) == 0 and cpu_pkg.point_steps([1e5, 1.2]) == 0


def test_auto_reads_the_grid_of_long_narrow_calls(monkeypatch):
    """Calls with few rows per step and many steps, which the table's shapes
    (32 or more rows per step) do not speak for, are judged by the grid of
    such calls: the engine where every corner of the call's grid cell, for
    every layer, was 8 % ahead; outside the grid, as before."""
    import lstmkit.kernels.cpu as cpu_pkg

    monkeypatch.setattr(cpu_pkg, "_ratios", {"1": {"lstm train": [[0.0, 0.8, 6400]]}})  # the table: torch.nn
    grid = [[100, 1, 32, 1.5], [100, 2, 32, 1.5], [400, 1, 32, 2.0], [400, 2, 32, 1.8],
            [100, 1, 128, 1.2], [100, 2, 128, 1.1], [400, 1, 128, 1.3], [400, 2, 128, 1.04]]  # [T, B, H, ratio]
    monkeypatch.setattr(cpu_pkg, "_narrow", {"1": {"lstm train": grid}})
    spec = kernels.RecurrenceSpec(kind="lstm")
    mid = [lstmkit.cells.LSTMCell(32, 64)]

    def chosen(T, B, cells=mid, layers_spec=spec):
        return kernels.select_backend(torch.randn(T, B, cells[0].input_size), layers_spec, cells, None).name

    assert cpu_pkg.narrow_ratio("lstm train", 200, 1, [(32, 64)]) == 1.2  # corners T100/400, B1, H32/128
    assert chosen(200, 1) == "cpu"
    assert cpu_pkg.narrow_ratio("lstm train", 200, 2, [(32, 64)]) == 1.04  # the corner T400 B2 H128
    assert chosen(200, 2) == "torch"
    assert cpu_pkg.narrow_ratio("lstm train", 1000, 1, [(16, 32)]) == 2.0  # longer than the grid: its longest
    assert chosen(1000, 1, [lstmkit.cells.LSTMCell(16, 32)]) == "cpu"
    assert cpu_pkg.narrow_ratio("lstm train", 50, 1, [(32, 64)]) is None  # shorter than the grid
    assert chosen(50, 1) == "torch"
    assert cpu_pkg.narrow_ratio("lstm train", 200, 3, [(32, 64)]) is None  # more rows per step than the grid
    assert cpu_pkg.narrow_ratio("lstm train", 200, 1, [(16, 256)]) is None  # a hidden size beyond the grid
    assert cpu_pkg.narrow_ratio("lstm train", 200, 1, [(100, 64)]) is None  # wider input than the grid's I = H
    assert chosen(200, 1, [lstmkit.cells.LSTMCell(100, 64)]) == "torch"
    # every layer is judged: a second layer of H=64 brings the corners of H=128 in (1.3; 1.04 for two rows per step)
    two = [lstmkit.cells.LSTMCell(16, 32), lstmkit.cells.LSTMCell(32, 64)]
    assert cpu_pkg.narrow_ratio("lstm train", 400, 1, [(16, 32), (32, 64)]) == 1.3
    assert chosen(400, 1, two, kernels.RecurrenceSpec(kind="lstm", num_layers=2)) == "cpu"
    assert cpu_pkg.narrow_ratio("lstm train", 400, 2, [(16, 32), (32, 64)]) == 1.04
    # a corner never measured: no evidence
    monkeypatch.setattr(cpu_pkg, "_narrow", {"1": {"lstm train": grid[:-1]}})
    assert cpu_pkg.narrow_ratio("lstm train", 200, 2, [(32, 64)]) is None
    assert cpu_pkg.narrow_ratio("gru train", 200, 1, [(32, 64)]) is None  # a key the grid lacks


def test_the_grid_judges_a_narrow_input_by_both_planes(monkeypatch):
    """A layer whose input is under half its hidden size lies between the
    grid's ``I = H`` plane and its narrow-input plane: it is judged by the
    worst corner of both; a wide input (at least half the hidden size) by
    the ``I = H`` plane alone; a table without the narrow plane does not
    speak for a narrow input."""
    import lstmkit.kernels.cpu as cpu_pkg

    spec = kernels.RecurrenceSpec(kind="lstm")

    def chosen(T, B, I, H):
        return kernels.select_backend(torch.randn(T, B, I), spec, [lstmkit.cells.LSTMCell(I, H)], None).name

    chosen(2, 1, 4, 8)  # the backends are built, and read their table, before the stand-ins are set
    monkeypatch.setattr(cpu_pkg, "_ratios", {"1": {"lstm infer": [[0.0, 0.8, 6400]]}})  # the table: torch.nn
    full = [[t, b, h, 1.5] for t in (100, 400) for b in (1, 8) for h in (128, 512)]
    thin = [[t, b, h, 1.5, 8] for t in (100, 400) for b in (1, 8) for h in (128, 512)]
    thin[-1][3] = 0.9  # T400 B8 H512 with I = 8: the engine slower
    monkeypatch.setattr(cpu_pkg, "_narrow", {"1": {"lstm infer": full + thin}})
    assert cpu_pkg.narrow_ratio("lstm infer", 160, 7, [(64, 448)]) == 0.9  # I < H/2: both planes
    with torch.no_grad():
        assert chosen(160, 7, 64, 448) == "torch"
    assert cpu_pkg.narrow_ratio("lstm infer", 160, 7, [(300, 448)]) == 1.5  # I >= H/2: the I = H plane
    with torch.no_grad():
        assert chosen(160, 7, 300, 448) == "cpu"
    assert cpu_pkg.narrow_ratio("lstm infer", 160, 7, [(4, 128)]) == 1.5  # H = 128: the slow corner is not its
    monkeypatch.setattr(cpu_pkg, "_narrow", {"1": {"lstm infer": full + thin[:-2]}})
    assert cpu_pkg.narrow_ratio("lstm infer", 160, 7, [(64, 448)]) is None  # a narrow corner never measured
    monkeypatch.setattr(cpu_pkg, "_narrow", {"1": {"lstm infer": full}})  # an older table: one plane
    assert cpu_pkg.narrow_ratio("lstm infer", 160, 7, [(64, 448)]) is None  # says nothing of a narrow input
    assert cpu_pkg.narrow_ratio("lstm infer", 160, 7, [(300, 448)]) == 1.5


def test_building_a_layer_keeps_the_table_it_has(monkeypatch):
    """The table is read once: a layer built later does not read it again
    (that was most of a small layer's construction time), so a stand-in
    table set before a layer is built stays in force."""
    import lstmkit.kernels.cpu as cpu_pkg

    lstmkit.LSTM(3, 4)  # the backend exists (its construction reads the table)
    table = {"1": {"lstm train": [[0.0, 2.0, 1.0]]}}
    monkeypatch.setattr(cpu_pkg, "_ratios", table)
    monkeypatch.setattr(cpu_pkg, "_narrow", {})
    lstmkit.LSTM(3, 4)
    assert cpu_pkg._ratios is table and cpu_pkg._narrow == {}
    monkeypatch.setattr(cpu_pkg, "_ratios", None)  # never read: the first layer reads it
    lstmkit.LSTM(3, 4)
    assert cpu_pkg._ratios is not None and cpu_pkg._ratios is not table


@pytest.mark.parametrize("path", sorted(AUTO_TABLES.glob("*.json")), ids=lambda p: p.stem)
def test_the_shipped_tables_cover_every_plain_cell_and_mode(path):
    import json

    import lstmkit.kernels.cpu as cpu_pkg
    from lstmkit.kernels.cpu import calibrate, machine

    table = json.loads(path.read_text())
    # each table names the machine it was measured on, and its file is named after that machine
    assert set(machine.MATCHED) <= set(table["machine"]) and calibrate.shipped_table(table["machine"]) == path
    assert sorted(table["threads"]) == ["1", "2"] and sorted(table["narrow"]) == ["1", "2"]
    for threads, ratios in table["threads"].items():
        for kind in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
            for mode in ("train", "infer"):
                points = ratios[f"{kind} {mode}"]
                assert len(points) >= 3, (threads, kind, mode)
                # [work, ratio, rows] or, since 2026-12-03, [work, ratio, rows, steps]: auto_covers
                # needs every point's rows and steps (those of older points from their shape's rows)
                assert all(len(p) in (3, 4) and min(p) > 0 for p in points), (threads, kind, mode)
                assert all(cpu_pkg.point_steps(p) > 0 for p in points), (threads, kind, mode)
    # the grid of long, narrow calls: every point of the grid, [T, B, H, ratio] with I = H and, in
    # tables measured since the narrow-input plane, [T, B, H, ratio, I] at each of the same corners
    for threads, grids in table["narrow"].items():
        for kind in ("lstm", "gru", "rnn_tanh"):
            for mode in ("train", "infer"):
                points = grids[f"{kind} {mode}"]
                assert len(points) >= 8 and all(len(p) in (4, 5) and min(p) > 0 for p in points), (threads, kind, mode)
                corners = {tuple(p[:3]) for p in points if len(p) == 4}
                axes = [sorted({c[i] for c in corners}) for i in range(3)]
                assert len(corners) == len(axes[0]) * len(axes[1]) * len(axes[2]), (threads, kind, mode)
                thin = [p for p in points if len(p) == 5]
                if thin:
                    assert {tuple(p[:3]) for p in thin} == corners and len({p[4] for p in thin}) == 1
                    assert all(p[4] < p[2] for p in thin), (threads, kind, mode)  # a narrower input than H


def test_auto_streams_a_plain_lstm_on_cpu_without_grad(measured):
    cells = [lstmkit.cells.LSTMCell(3, 4)]
    spec = kernels.RecurrenceSpec(kind="lstm")
    one_step = torch.randn(1, 1, 3)
    assert kernels.select_backend(one_step, spec, cells, None).name == "torch"  # training a step: torch
    with torch.no_grad():
        assert kernels.select_backend(one_step, spec, cells, None).name == "cpu"  # online inference: fused step
        assert kernels.select_backend(torch.randn(5, 1, 3), spec, cells, None).name == "torch"  # a whole sequence


def test_auto_keeps_projected_lstms_on_cpu():
    # torch has no oneDNN kernel for LSTMP and falls back to its generic loop (7x+ slower here)
    cells = [lstmkit.cells.LSTMCell(3, 4, proj_size=2)]
    assert kernels.select_backend(torch.randn(5, 2, 3), kernels.RecurrenceSpec(kind="lstm"), cells, None).name == "cpu"


def test_streaming_step_with_projection_and_peephole_matches_reference():
    for kw in (dict(proj_size=3), dict(cell="peephole")):
        layer = lstmkit.LSTM(I, H, num_layers=2, zoneout=0.3, zoneout_cell=0.2, **kw).eval()
        x = torch.randn(4, 1, I)
        with torch.no_grad():
            layer.backend = "reference"
            out, _ = layer(x)
            layer.backend = "cpu"
            state = None
            for t in range(4):
                h, state = layer.step(x[t], state)
                torch.testing.assert_close(h, out[t], rtol=1e-5, atol=1e-6)


def test_build_failure_falls_back_to_reference_with_warning(monkeypatch):
    layer = make("peephole", 1, False)
    x, hx = inputs(layer, 4, 2, False, torch.float64)
    layer.backend = "reference"
    expected, _ = layer(x, hx)
    monkeypatch.setattr(_build, "_module", None)
    monkeypatch.setattr(_build, "_error", "CalledProcessError: no compiler")
    monkeypatch.setattr(_build, "_tried", True)
    backend = CPUBackend()
    monkeypatch.setattr("lstmkit.kernels.registry._loaded", {**kernels.registry._loaded, "cpu": backend})
    layer.backend = "cpu"
    with pytest.warns(RuntimeWarning, match="no compiler"):
        got, _ = layer(x, hx)
    torch.testing.assert_close(got, expected)
    assert "no compiler" in backend.auto_declines(x, kernels.RecurrenceSpec(kind="peephole"), layer.cells, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x, hx)  # warns once only


def test_each_torch_installation_builds_the_engine_in_its_own_folder(monkeypatch, tmp_path):
    """The build names torch's headers and libraries by path: two environments
    with the same torch release sharing a folder rebuilt it in turn (a minute
    each time). One folder per installation; the same one for the same path,
    and the user-cache table of ``lstmkit calibrate`` stays per machine."""
    monkeypatch.setenv("LSTMKIT_CACHE", str(tmp_path))
    here = _build._sources()[2]
    assert here == _build._sources()[2]
    table = _build.cache_dir()
    monkeypatch.setattr(_build.torch, "__file__", str(tmp_path / "other-venv" / "torch" / "__init__.py"))
    there = _build._sources()[2]
    assert there != here and there.parent == here.parent
    assert _build.cache_dir() == table
