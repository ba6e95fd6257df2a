"""PyTorch's tools on every cell and engine: torch.export, ONNX (both
exporters, checked with onnxruntime), torch.jit, torch.compile, torch.func,
bf16 autocast and double backward.

The default run takes one representative per row (mostly the C++ engine,
which ``auto`` picks for every GRU/RNN and every LSTM variant); the whole
grid of cells x engines runs with ``--runslow``.
"""

from __future__ import annotations

import io
import warnings

import pytest
import torch
from cpu_engine_helpers import check_compiled_step, check_per_sample_grads

import lstmkit
from lstmkit.nn.export import SequenceGraph

KINDS = ["lstm", "peephole", "layernorm", "gru", "rnn_tanh", "rnn_relu"]
ENGINES = ["cpu", "reference", "auto"]


def make(kind, backend="auto", **kw):
    torch.manual_seed(0)
    if kind in ("lstm", "peephole", "layernorm"):
        return lstmkit.LSTM(4, 8, cell=kind, backend=backend, **kw)
    if kind == "gru":
        return lstmkit.GRU(4, 8, backend=backend, **kw)
    return lstmkit.RNN(4, 8, nonlinearity=kind.split("_")[1], backend=backend, **kw)


def _state(layer, B, dtype=torch.float32):
    g = torch.Generator().manual_seed(1)
    return tuple(torch.randn(s.shape, generator=g, dtype=dtype) for s in layer.init_state(B))


def _flat(res):
    out, st = res[0], res[1]
    return [out, *(st if isinstance(st, tuple) else (st,))]


# ------------------------------------------------------------ torch.export
def check_export(kind, backend):
    layer = make(kind, backend).eval()
    x = torch.randn(5, 3, 4)
    ep = torch.export.export(SequenceGraph(layer), (x, *_state(layer, 3)))
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    if backend == "cpu":  # one operator per layer, not a loop
        assert any(t.startswith("lstmkit.") and "_seq" in t for t in targets), targets
    x2 = torch.randn(5, 3, 4)
    st = _state(layer, 3)
    for a, b in zip(ep.module()(x2, *st), SequenceGraph(layer)(x2, *st)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("kind", ["peephole", "gru"])
def test_torch_export_sees_one_operator(kind):
    check_export(kind, "cpu")


# ------------------------------------------------------------------- ONNX
def check_onnx(kind, backend, *, bidirectional=False, lengths=False, step=True, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    layer = make(kind, backend, bidirectional=bidirectional, num_layers=2 if bidirectional else 1).eval()
    paths = layer.export(tmp_path / f"{kind}.onnx", example=torch.randn(4, 2, 4), step=step and not bidirectional)
    x = torch.randn(4, 5, 4)  # another batch size: the batch is dynamic
    st = _state(layer, 5)
    with torch.no_grad():
        want = _flat(layer(x, st if len(st) > 1 else st[0]))
    sess = ort.InferenceSession(str(paths[0]))
    got = sess.run(None, dict(zip([i.name for i in sess.get_inputs()], [x.numpy(), *[s.numpy() for s in st]])))
    for a, b in zip(got, want):
        torch.testing.assert_close(torch.from_numpy(a), b, rtol=1e-5, atol=2e-6)
    if len(paths) > 1:  # the streaming graph, step by step
        sess = ort.InferenceSession(str(paths[1]))
        names = [i.name for i in sess.get_inputs()]
        s = [a.numpy() for a in st]
        for t in range(x.shape[0]):
            y, *s = sess.run(None, dict(zip(names, [x[t].numpy(), *s])))
            torch.testing.assert_close(torch.from_numpy(y), want[0][t], rtol=1e-5, atol=2e-6)


def test_onnx_export_with_state_and_streaming_step_runs_in_onnxruntime(tmp_path):
    check_onnx("peephole", "cpu", tmp_path=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_onnx_export_every_cell(kind, bidirectional, tmp_path):
    check_onnx(kind, "auto", bidirectional=bidirectional, tmp_path=tmp_path)


@pytest.mark.parametrize("kind", ["peephole", "gru"])
def test_legacy_onnx_exporter_exports_the_equations(kind):
    """The TorchScript-based exporter records the decomposed graph (it used
    to record constants only: a silently wrong model)."""
    ort = pytest.importorskip("onnxruntime")
    layer = make(kind, "cpu").eval()
    x, st = torch.randn(5, 3, 4), _state(layer, 3)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(SequenceGraph(layer), (x, *st), f, dynamo=False)
    sess = ort.InferenceSession(f.getvalue())
    got = sess.run(None, dict(zip([i.name for i in sess.get_inputs()], [x.numpy(), *[s.numpy() for s in st]])))
    with torch.no_grad():
        want = _flat(layer(x, st if len(st) > 1 else st[0]))
    for a, b in zip(got, want):
        torch.testing.assert_close(torch.from_numpy(a), b, rtol=1e-5, atol=2e-6)


# -------------------------------------------------------------- torch.jit
def test_jit_trace_saves_and_loads_every_engine():
    layer = make("gru", "cpu").eval()
    x, st = torch.randn(5, 3, 4), _state(layer, 3)
    traced = torch.jit.trace(SequenceGraph(layer), (x, *st))
    buf = io.BytesIO()
    torch.jit.save(traced, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    x2 = torch.randn(5, 3, 4)
    for a, b in zip(loaded(x2, *st), SequenceGraph(layer)(x2, *st)):
        torch.testing.assert_close(a, b)


def test_jit_script_raises_and_says_what_works():
    for kind in ("gru", "peephole"):
        with pytest.raises(TypeError, match="torch.jit.script is not supported; use torch.jit.trace"):
            torch.jit.script(make(kind))


# ---------------------------------------------------------- torch.compile
def check_compile(kind, backend, lengths=None, compiler="inductor"):
    # repeatedly (3 steps): the second call is where torch's own RNN kernel fails
    check_compiled_step(make(kind, backend, num_layers=2), 4, lengths, compiler, steps=3, label=f"{kind}/{backend}")


def test_compile_training_step_runs_repeatedly_without_graph_breaks():
    import torch._dynamo

    torch._dynamo.reset()
    layer = make("gru", num_layers=2)
    lengths = torch.tensor([6, 4, 2])

    def f(x):
        out, _ = layer(x, lengths=lengths)
        return out.sum()

    explained = torch._dynamo.explain(f)(torch.randn(6, 3, 4))
    assert explained.graph_break_count == 0, explained.break_reasons
    # plain LSTM: auto passes over oneDNN's RNN while compiling; aot_eager
    # traces forward and backward through the fake kernels without inductor's
    # code generation (the slow grid below compiles with inductor)
    check_compile("lstm", "auto", compiler="aot_eager")


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", ENGINES)
def test_compile_training_step_every_cell(kind, backend):
    import torch._dynamo

    torch._dynamo.reset()
    check_compile(kind, backend, lengths=torch.tensor([6, 5, 3]))


# -------------------------------------------------------------- torch.func
def check_func(kind, backend):
    layer = make(kind, backend).double()
    xs = torch.randn(3, 5, 1, 4, dtype=torch.float64)  # 3 samples of (T=5, B=1, I=4)
    check_per_sample_grads(layer, xs, label=f"{kind}/{backend}")


@pytest.mark.parametrize("kind,backend", [("layernorm", "cpu"), ("gru", "cpu"), ("lstm", "auto")])
def test_func_grad_and_per_sample_vmap_grad(kind, backend):
    # (auto passes over torch's fused RNN kernels inside torch.func: they have no vmap rule)
    check_func(kind, backend)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", ENGINES)
def test_func_every_cell(kind, backend):
    check_func(kind, backend)


# ------------------------------------------------------ autocast, grad-grad
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_bf16_autocast_runs_with_float32_state(kind, backend):
    layer = make(kind, backend)
    x = torch.randn(6, 3, 4)
    with torch.no_grad():
        want = _flat(layer(x))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = _flat(layer(x))
    for a, b in zip(got, want):
        assert a.dtype == torch.float32  # the state stays float32
        torch.testing.assert_close(a, b, rtol=0.05, atol=0.03)  # bf16 products at most
    if backend == "cpu":  # the engine falls back to float32: exactly the float32 result
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)


def test_double_backward_raises_clearly_on_the_engine_and_works_on_the_reference():
    x = torch.randn(4, 2, 4, dtype=torch.float64, requires_grad=True)
    layer = make("gru", "cpu").double()
    (g,) = torch.autograd.grad(layer(x)[0].pow(2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward .* backend='reference'"):
        g.sum().backward()
    ref = make("gru", "reference").double()
    assert torch.autograd.gradgradcheck(lambda inp: ref(inp)[0], (x,))


def test_the_engine_marks_its_constants_without_loading_the_compiler():
    """``lane_width`` is a constant to ``torch.compile`` (else each call into the
    extension breaks the graph), marked without importing ``torch._dynamo``
    (1.3-1.6 s of a first use of the engine): the mark must be the one the
    public decorator sets, and a graph compiled after the engine ran
    uncompiled, with dynamo loaded only then, must have no breaks."""
    import subprocess
    import sys

    from lstmkit.kernels.cpu.ops import _constant_mark

    def a():
        return 1

    def b():
        return 1

    assert vars(_constant_mark(b)) == vars(torch.compiler.assume_constant_result(a)) != {}
    code = (
        "import sys, torch, lstmkit\n"
        "layer = lstmkit.LSTM(5, 16, num_layers=2, backend='cpu')\n"
        "layer(torch.randn(6, 3, 5))[0].sum().backward()\n"
        "print('loaded before compiling:', 'torch._dynamo' in sys.modules)\n"
        "import torch._dynamo\n"
        "explained = torch._dynamo.explain(lambda x: layer(x)[0].sum())(torch.randn(6, 3, 5))\n"
        "print('graph breaks:', explained.graph_break_count)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "loaded before compiling: False" in out.stdout, out.stdout
    assert "graph breaks: 0" in out.stdout, out.stdout
