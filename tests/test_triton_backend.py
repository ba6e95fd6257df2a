"""The triton backend against the reference, kernel by kernel.

On a machine with a CUDA device the kernels run compiled on the GPU. Without
one they run in the Triton interpreter on CPU tensors: ``TRITON_INTERPRET=1``
is set here before the kernels are defined (triton reads the flag when a
``@triton.jit`` function is created, so the backend's modules are reloaded if
something imported them earlier without it). Shapes are small because the
interpreter is slow.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest
import torch

ON_GPU = torch.cuda.is_available()
if not ON_GPU:  # before triton is imported: triton.language builds its own functions with the flag
    os.environ["TRITON_INTERPRET"] = "1"

triton = pytest.importorskip("triton", reason="triton is not installed (pip install 'lstmkit[gpu]')")

#: False when something imported triton in this process before the flag was
#: set: its library functions are then compiled-only, and the tests of this
#: file run in a fresh process instead (test_whole_file_in_a_fresh_process).
IN_PROCESS = ON_GPU or type(triton.language.standard.sum).__name__ == "InterpretedFunction"
FRESH_PROCESS_TEST = "test_whole_file_in_a_fresh_process"

import lstmkit  # noqa: E402
from lstmkit.cells import GRUCell, LayerNormLSTMCell, LSTMCell, PeepholeLSTMCell, RNNCell  # noqa: E402
from lstmkit.kernels import BackendUnavailable, RecurrenceSpec, register_backend, run_stack, select_backend  # noqa: E402
from lstmkit.kernels.reference import ReferenceBackend  # noqa: E402


def _load_triton_package():
    """The backend package, its kernels built for the interpreter when there is no GPU."""
    pkg = importlib.import_module("lstmkit.kernels.triton")
    if not ON_GPU and not pkg.INTERPRETED:  # imported earlier without the flag: rebuild the kernels
        for name in pkg.KERNEL_MODULES:
            importlib.reload(sys.modules[f"lstmkit.kernels.triton.{name}"])
        pkg = importlib.reload(pkg)
    return pkg


tk = _load_triton_package()


@pytest.fixture(autouse=True)
def _kernels_runnable_here(request):
    if not IN_PROCESS and request.node.originalname != FRESH_PROCESS_TEST:
        pytest.skip(f"triton was imported before TRITON_INTERPRET=1 was set; {FRESH_PROCESS_TEST} runs this test")


def test_whole_file_in_a_fresh_process():
    if IN_PROCESS:
        pytest.skip("not needed: the kernels run in this process")
    env = dict(os.environ, TRITON_INTERPRET="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
DEVICE = "cuda" if ON_GPU else "cpu"
MODE = "gpu" if ON_GPU else "interpreter"

#: per-dtype tolerance, relative to the size of the reference values
TOL = {torch.float32: 2e-5, torch.float16: 2e-3, torch.bfloat16: 1e-2, torch.float64: 1e-10}

KINDS = ["lstm", "peephole", "layernorm", "gru", "rnn_tanh", "rnn_relu"]


def make_cell(kind: str, I: int, H: int, dtype=torch.float32) -> torch.nn.Module:
    if kind == "lstm":
        cell = LSTMCell(I, H)
    elif kind == "peephole":
        cell = PeepholeLSTMCell(I, H)
    elif kind == "layernorm":
        cell = LayerNormLSTMCell(I, H)
        with torch.no_grad():  # move the norms away from their identity initialisation
            for name, p in cell.named_parameters():
                if name.startswith("ln"):
                    p.add_(0.3 * torch.randn_like(p))
    elif kind == "gru":
        cell = GRUCell(I, H)
    else:
        cell = RNNCell(I, H, nonlinearity=kind.split("_")[1])
    return cell.to(DEVICE, dtype)


def make_stack(kind, I, H, L, D, dtype):
    cells = []
    for layer in range(L):
        for _ in range(D):
            cells.append(make_cell(kind, I if layer == 0 else D * H, H, dtype))
    return cells


def run_with_grads(backend, cells, spec, x, state, lengths, weights):
    """Output, final state and the gradients of a loss touching all of them
    with respect to the input, the initial state and every parameter."""
    x = x.detach().clone().requires_grad_()
    state = tuple(s.detach().clone().requires_grad_() for s in state)
    out, final, _ = run_stack(backend, x, state, cells, spec, lengths)
    w_out, w_fin = weights
    loss = (out.double() * w_out).sum() + sum((f.double() * w).sum() for f, w in zip(final, w_fin))
    params = [p for c in cells for p in c.parameters()]
    grads = torch.autograd.grad(loss, [x, *state, *params])
    return out, final, grads


def assert_close(got, want, tol, what):
    got, want = got.double(), want.double()
    scale = 1.0 + want.abs().max().item()
    err = (got - want).abs().max().item()
    assert err <= tol * scale, f"{what}: max error {err:.3g} > {tol:g} * {scale:.3g} ({MODE})"


def compare(kind, dtype, *, L=2, bidirectional=True, lengths=True, T=5, B=3, I=4, H=8, path="auto"):
    D = 2 if bidirectional else 1
    cells = make_stack(kind, I, H, L, D, dtype)
    # the reference runs in float64 with the very same (rounded) parameters
    ref_cells = [type(c)(**c.constructor_kwargs()).to(DEVICE, torch.float64) for c in cells]
    for r, c in zip(ref_cells, cells):
        r.load_state_dict({k: v.double() for k, v in c.state_dict().items()})
    spec = RecurrenceSpec(kind=cells[0].kind, num_layers=L, bidirectional=bidirectional)
    x = torch.randn(T, B, I, device=DEVICE).to(dtype)
    state = tuple(torch.randn(L * D, B, n, device=DEVICE).to(dtype) for n in cells[0].state_sizes)
    lens = torch.tensor(([T, 2, T - 1] * B)[:B]) if lengths else None
    weights = (
        torch.randn(T, B, D * H, device=DEVICE, dtype=torch.float64),
        [torch.randn(L * D, B, n, device=DEVICE, dtype=torch.float64) for n in cells[0].state_sizes],
    )
    backend = tk.TritonBackend(path=path)
    assert backend.why_not(x, spec, cells, lens) is None
    got = run_with_grads(backend, cells, spec, x, state, lens, weights)
    want = run_with_grads(ReferenceBackend(), ref_cells, spec, x.double(), tuple(s.double() for s in state), lens, weights)
    tol = TOL[dtype]
    assert got[0].dtype == dtype and all(s.dtype == dtype for s in got[1])
    assert_close(got[0], want[0], tol, "output")
    if lens is not None:  # padded steps are exactly zero
        for b, n in enumerate(lens.tolist()):
            assert torch.all(got[0][n:, b] == 0)
    for i, (a, b) in enumerate(zip(got[1], want[1])):
        assert_close(a, b, tol, f"final state {i}")
    names = ["x"] + [f"state {i}" for i in range(len(state))]
    names += [f"cell {k}.{n}" for k, c in enumerate(cells) for n, _ in c.named_parameters()]
    for name, a, b in zip(names, got[2], want[2]):
        assert a is not None, f"no gradient for {name}"
        assert a.shape == b.shape
        assert_close(a, b, 4 * tol, f"gradient of {name}")


# ------------------------------------------------------------ the kernel grid
class _NoStepKernels:
    """Stands in for the per-step kernels where only another path may run."""

    def __getattr__(self, name):
        raise AssertionError(f"the per-step kernel {name} ran on another path")


PATH_CASES = [(k, "step") for k in KINDS] + [(k, "persistent") for k in KINDS]
PATH_CASES += [(k, p) for k in ("lstm", "peephole") for p in ("tile", "cooperative")]


@pytest.mark.parametrize("kind,path", PATH_CASES)
def test_float32_two_layers_bidirectional_with_lengths(kind, path, monkeypatch):
    if path != "step":
        monkeypatch.setattr(tk.sequence, "step_kernels", _NoStepKernels())
    compare(kind, torch.float32, path=path)


def test_auto_path_takes_the_persistent_kernel_where_it_fits(monkeypatch):
    be = tk.TritonBackend(path="auto")
    dev = torch.device(DEVICE)
    assert be.layer_path("layernorm", 3, 8, torch.float32, dev) == "persistent"
    assert be.layer_path("gru", 300, 64, torch.float32, dev) == "persistent"
    assert be.layer_path("lstm", 3, 65, torch.float32, dev) == ("cooperative" if ON_GPU else "step")
    assert be.layer_path("rnn_tanh", 3, 64, torch.float32, dev) == "persistent"
    assert be.layer_path("rnn_tanh", 3, 128, torch.float32, dev) == "step"
    # the cooperative kernel needs co-resident programs: a GPU, not the interpreter; above
    # H = 128 the per-step path with its CUDA graphs is faster, without them the cooperative kernel
    assert be.layer_path("lstm", 3, 128, torch.float32, dev) == ("cooperative" if ON_GPU else "step")
    assert be.layer_path("lstm", 3, 512, torch.float32, dev) == "step"
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d=None: _FakeGPU(232448))
    assert tk.sequence.choose_path("lstm", 3, 512, torch.float32, cuda, True, graphed=True) == "step"
    assert tk.sequence.choose_path("peephole", 3, 256, torch.float32, cuda, True, graphed=False) == "cooperative"
    assert tk.sequence.choose_path("peephole", 3, 128, torch.float32, cuda, True, graphed=True) == "cooperative"
    monkeypatch.setenv("LSTMKIT_TRITON_GRAPHS", "0")
    assert be.layer_path("lstm", 3, 512, torch.float32, dev) == ("cooperative" if ON_GPU else "step")
    monkeypatch.setenv("LSTMKIT_TRITON_COOPERATIVE", "0")
    assert be.layer_path("lstm", 3, 512, torch.float32, dev) == "step"
    monkeypatch.setenv("LSTMKIT_TRITON_PATH", "tile")
    assert tk.TritonBackend().layer_path("lstm", 3, 8, torch.float32, dev) == "tile"


@pytest.mark.parametrize("kind", ["lstm", "peephole"])
def test_tiled_kernels_with_several_unit_slices_and_batch_tiles(kind, monkeypatch):
    monkeypatch.setattr(tk.sequence, "step_kernels", _NoStepKernels())
    bb, bh, hpk, grid = tk.cooperative.tiles(20, 40)
    assert grid[0] >= 3 and grid[1] >= 2  # the test really spans programs in both directions
    compare(kind, torch.float32, L=1, bidirectional=False, T=4, B=20, H=40, path="tile")


def test_persistent_kernels_hold_small_layers_only():
    p = tk.persistent
    assert p.lstm_fits(64, 64, torch.float32) and not p.lstm_fits(64, 65, torch.float32)
    assert p.gru_fits(1, 64, torch.float32) and not p.gru_fits(1, 128, torch.float32)
    assert p.rnn_fits(256, 64, torch.float32) and not p.rnn_fits(256, 65, torch.float32)
    assert not p.lstm_fits(4, 16, torch.bfloat16)  # the compute dtype is float32 (or float64)


@pytest.mark.parametrize("kind", ["lstm", "peephole", "layernorm", "gru"])
def test_float32_one_direction_full_length(kind):
    compare(kind, torch.float32, L=1, bidirectional=False, lengths=False, H=5, B=2)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("kind", ["lstm", "layernorm", "gru", "rnn_tanh"])
def test_half_precision_inputs(kind, dtype):
    compare(kind, dtype, L=1, bidirectional=True)


@pytest.mark.parametrize("kind", ["lstm", "peephole", "layernorm"])
def test_long_sequence_and_odd_sizes(kind):
    # more steps than the other tests, sizes that are not powers of two, and a
    # sequence of length zero (its state passes straight through)
    cells = [make_cell(kind, 3, 7)]
    spec = RecurrenceSpec(kind=kind)
    x = torch.randn(16, 3, 3, device=DEVICE)
    state = tuple(torch.randn(1, 3, n, device=DEVICE) for n in cells[0].state_sizes)
    lens = torch.tensor([16, 0, 9])
    out, final, _ = run_stack(tk.TritonBackend(), x, state, cells, spec, lens)
    ref_out, ref_final, _ = run_stack(ReferenceBackend(), x, state, cells, spec, lens)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=2e-5)
    for a, b in zip(final, ref_final):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=2e-5)
    for s, f in zip(state, final):  # the empty sequence keeps its initial state
        assert torch.equal(f[0, 1], s[0, 1])


# ------------------------------------------------------------------ gradcheck
def _gradcheck_inputs(G, T=3, B=2, H=3, lens=(3, 1)):
    d = dict(dtype=torch.float64, device=DEVICE)
    gx = torch.randn(T, B, G * H, **d).requires_grad_()
    h0 = torch.randn(B, H, **d).requires_grad_()
    w = (0.5 * torch.randn(G * H, H, **d)).requires_grad_()
    lens_t = torch.tensor(lens, dtype=torch.int32, device=DEVICE)
    return gx, h0, w, lens_t


@pytest.mark.parametrize(
    "kind,path",
    [(k, p) for k in ("lstm", "peephole", "layernorm") for p in ("step", "persistent")]
    + [(k, p) for k in ("lstm", "peephole") for p in ("tile", "cooperative")],
)
def test_gradcheck_lstm_sequence(kind, path):
    gx, h0, w, lens = _gradcheck_inputs(4)
    H = h0.shape[1]
    c0 = torch.randn_like(h0).requires_grad_()
    vec = lambda n: torch.randn(n, dtype=torch.float64, device=DEVICE).requires_grad_()  # noqa: E731
    peep = (vec(H), vec(H), vec(H)) if kind == "peephole" else (None,) * 3
    ln = (vec(4 * H), vec(4 * H), vec(H), vec(H)) if kind == "layernorm" else (None,) * 4

    def f(gx, h0, c0, w, *rest):
        p, n = list(rest[:3]), list(rest[3:])
        return tk.sequence.LSTMSequence.apply(gx, h0, c0, w, *p, *n, lens, 1e-5, path)

    assert torch.autograd.gradcheck(f, (gx, h0, c0, w, *peep, *ln), eps=1e-6, atol=1e-6, fast_mode=True)


@pytest.mark.parametrize("path", ["step", "persistent"])
def test_gradcheck_gru_and_rnn_sequences(path):
    gx, h0, w, lens = _gradcheck_inputs(3)
    b = torch.randn(gx.shape[-1], dtype=torch.float64, device=DEVICE).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda gx, h0, w, b: tk.sequence.GRUSequence.apply(gx, h0, w, b, lens, path), (gx, h0, w, b), eps=1e-6, atol=1e-6, fast_mode=True
    )
    gx, h0, w, lens = _gradcheck_inputs(1)
    for relu in (False, True):
        assert torch.autograd.gradcheck(
            lambda gx, h0, w: tk.sequence.RNNSequence.apply(gx, h0, w, lens, relu, path), (gx, h0, w), eps=1e-6, atol=1e-6, fast_mode=True
        )


# ----------------------------------------------------- through the public API
def test_layer_with_backend_triton_matches_reference():
    register_backend("triton", "lstmkit.kernels.triton:TritonBackend")  # forget any earlier failure
    ours = lstmkit.LSTM(4, 6, num_layers=2, cell="peephole", backend="triton").to(DEVICE)
    ref = lstmkit.LSTM(4, 6, num_layers=2, cell="peephole", backend="reference").to(DEVICE)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(5, 2, 4, device=DEVICE)
    out, (h, c) = ours(x)
    ref_out, (rh, rc) = ref(x)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=2e-5)
    torch.testing.assert_close(c, rc, rtol=1e-5, atol=2e-5)


def test_why_not_names_what_is_missing():
    be = tk.TritonBackend()
    x = torch.randn(3, 2, 4, device=DEVICE)
    cells = [make_cell("lstm", 4, 6)]
    assert be.why_not(x, RecurrenceSpec(kind="lstm"), cells, None) is None
    assert "gate traces" in be.why_not(x, RecurrenceSpec(kind="lstm", return_gates=True), cells, None)
    assert "zoneout" in be.why_not(x, RecurrenceSpec(kind="lstm", zoneout=0.1), cells, None)
    assert "proj_size" in be.why_not(x, RecurrenceSpec(kind="lstm"), [LSTMCell(4, 6, proj_size=2)], None)
    assert "'custom'" in be.why_not(x, RecurrenceSpec(kind="custom"), cells, None)
    assert "int" in be.why_not(x.to(torch.int32), RecurrenceSpec(kind="lstm"), cells, None)
    big = [make_cell("lstm", 4, 100)]
    assert "persistent" in tk.TritonBackend(path="persistent").why_not(x, RecurrenceSpec(kind="lstm"), big, None)
    gru = [make_cell("gru", 4, 6)]
    assert "not 'gru'" in tk.TritonBackend(path="tile").why_not(x, RecurrenceSpec(kind="gru"), gru, None)
    if not ON_GPU:  # the interpreter cannot run a barrier between several programs
        wide = torch.randn(3, 20, 4)
        assert "one after another" in tk.TritonBackend(path="cooperative").why_not(wide, RecurrenceSpec(kind="lstm"), big, None)
    with pytest.raises(ValueError, match="path"):
        tk.TritonBackend(path="fast")
    register_backend("triton", "lstmkit.kernels.triton:TritonBackend")
    with pytest.raises(BackendUnavailable, match="gate traces"):
        select_backend(x, RecurrenceSpec(kind="lstm", return_gates=True), cells, None, "triton")


def test_device_mismatch_is_refused_with_a_reason(monkeypatch):
    be = tk.TritonBackend()
    spec = RecurrenceSpec(kind="lstm")
    cells = [LSTMCell(4, 6)]
    monkeypatch.setattr(tk, "INTERPRETED", False)
    reason = be.why_not(torch.randn(3, 2, 4), spec, cells, None)
    assert "CUDA tensors" in reason and "TRITON_INTERPRET=1" in reason
    if not ON_GPU:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        assert "no CUDA device" in be.unavailable_reason()
    monkeypatch.setattr(tk, "INTERPRETED", True)
    assert be.unavailable_reason() is None
    if ON_GPU:
        assert "interpreter" in be.why_not(torch.randn(3, 2, 4, device="cuda"), spec, cells, None)


def test_auto_leaves_plain_cells_to_cudnn_and_takes_the_others():
    be = tk.TritonBackend()
    x = torch.randn(3, 2, 4, device=DEVICE)
    assert "cuDNN" in be.auto_declines(x, RecurrenceSpec(kind="lstm"), [LSTMCell(4, 6)], None)
    assert be.auto_declines(x, RecurrenceSpec(kind="peephole"), [PeepholeLSTMCell(4, 6)], None) is None
    assert be.auto_declines(x, RecurrenceSpec(kind="layernorm"), [LayerNormLSTMCell(4, 6)], None) is None
    assert be.auto_declines(x, RecurrenceSpec(kind="gru"), [GRUCell(4, 6)], None) is not None
    assert be.auto_declines(x, RecurrenceSpec(kind="rnn_tanh"), [RNNCell(4, 6)], None) is not None


class _FakeGPU:
    """Device properties of a GPU that is not there: 132 SMs, ``optin`` bytes of shared memory a block."""

    def __init__(self, optin):
        self.multi_processor_count = 132
        self.shared_memory_per_multiprocessor = 233472
        if optin is not None:
            self.shared_memory_per_block_optin = optin


def test_the_cooperative_kernel_only_where_its_shared_memory_fits(monkeypatch):
    dev = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d=None: _FakeGPU(101376))  # sm_86/sm_89
    assert tk.cooperative.cooperative_fits(16, 128, dev) is None
    assert "shared memory" in tk.cooperative.cooperative_fits(16, 512, dev)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d=None: _FakeGPU(232448))  # H100/H200
    assert tk.cooperative.cooperative_fits(16, 512, dev) is None
    # without the opt-in field: the multiprocessor's less the 1 KiB the driver keeps
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d=None: _FakeGPU(None))
    assert tk.tiles.block_shared_memory(dev) == 232448
    # the persistent kernels want 84 KiB: on a 64 KiB GPU (sm_75) the LSTM takes the cooperative
    # kernel (20 KiB at H = 64), the GRU the per-step path
    be = tk.TritonBackend()
    assert be.layer_path("gru", 16, 64, torch.float32, dev) == "persistent"
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d=None: _FakeGPU(65536))
    assert be.layer_path("lstm", 16, 64, torch.float32, dev) == "cooperative"
    assert be.layer_path("gru", 16, 64, torch.float32, dev) == "step"
    assert "shared memory" in tk.sequence.path_problem("persistent", "gru", 16, 64, torch.float32, dev)
    # the split products take twice the weights' share: they fit an H200 block up to H = 256
    assert tk.cooperative.shared_bytes(64, 256, split=True) <= 232448 < tk.cooperative.shared_bytes(64, 512, split=True)


def test_env_says_what_auto_does_on_a_gpu_kind():
    said = tk.cuda_auto_status((9, 0))
    assert said.startswith("measured on sm_90: triton for bfloat16 LSTM H <= 128 batch <= 64; bfloat16 GRU H <= 64")
    assert "float32 GRU H 256-512 batch <= 16 T >= 256" in said
    other = tk.cuda_auto_status((8, 6))
    assert other.startswith("not measured on sm_86") and "cuDNN" in other


def test_auto_takes_plain_cells_only_where_measured_faster_than_cudnn():
    fast = tk.faster_in_measurements
    h200 = (9, 0)
    # bfloat16 LSTM up to H=128 and GRU up to H=64 by a one-launch kernel, batch <= 64, on an H200
    assert fast("lstm", torch.bfloat16, 64, 128, h200, "cooperative")
    assert fast("lstm", torch.bfloat16, 1, 64, h200, "persistent")
    assert fast("gru", torch.bfloat16, 16, 64, h200, "persistent")
    # float32 (cuDNN faster at every measured size), larger layers, batches or other GPUs: cuDNN
    assert not fast("lstm", torch.float32, 16, 64, h200, "persistent")
    assert not fast("lstm", torch.float16, 16, 64, h200, "persistent")
    assert not fast("lstm", torch.bfloat16, 16, 256, h200, "cooperative")
    assert not fast("lstm", torch.bfloat16, 65, 64, h200, "persistent")
    assert not fast("lstm", torch.bfloat16, 16, 64, (8, 0), "persistent")
    assert not fast("lstm", torch.bfloat16, 16, 128, h200, "step")  # LSTMKIT_TRITON_COOPERATIVE=0
    assert not fast("rnn_tanh", torch.bfloat16, 16, 64, h200, "persistent")
    # the GRU on the per-step path with CUDA graphs, H 256-512, long sequences only
    assert fast("gru", torch.bfloat16, 64, 256, h200, "step", T=512)
    assert fast("gru", torch.bfloat16, 16, 512, h200, "step", T=256)
    assert fast("gru", torch.float32, 1, 384, h200, "step", T=1000)
    assert not fast("gru", torch.bfloat16, 64, 512, h200, "step", T=512)  # 0.82-0.88x: inside the margin
    assert not fast("gru", torch.bfloat16, 16, 128, h200, "step", T=512)  # lost at B=16
    assert not fast("gru", torch.float32, 32, 256, h200, "step", T=512)
    assert not fast("gru", torch.bfloat16, 16, 256, h200, "step", T=100)  # shorter than measured
    assert not fast("gru", torch.bfloat16, 16, 256, h200, "step", T=512, graphed=False)  # launched: 5-14x slower
    assert not fast("lstm", torch.bfloat16, 16, 256, h200, "step", T=512)  # not measured on this path


# ------------------------------------------------------------- GPU-only checks
needs_gpu = pytest.mark.skipif(not ON_GPU, reason="needs a CUDA device (the interpreter runs programs one at a time)")


@needs_gpu
@pytest.mark.parametrize("kind", ["lstm", "peephole"])
def test_cooperative_kernel_with_many_programs_at_a_barrier(kind, monkeypatch):
    # the grid barrier between dozens of co-resident programs: only a GPU runs them at once
    monkeypatch.setattr(tk.sequence, "step_kernels", _NoStepKernels())
    bb, bh, hpk, grid = tk.cooperative.tiles(40, 200)
    assert grid[0] * grid[1] > 1
    assert tk.cooperative.cooperative_fits(40, 200, torch.device("cuda")) is None
    compare(kind, torch.float32, L=1, bidirectional=True, T=12, B=40, H=200, path="cooperative")


@needs_gpu
def test_auto_on_cuda_takes_triton_for_the_cells_cudnn_lacks():
    register_backend("triton", "lstmkit.kernels.triton:TritonBackend")
    x = torch.randn(4, 2, 3, device="cuda")
    chosen = select_backend(x, RecurrenceSpec(kind="peephole"), [make_cell("peephole", 3, 5)], None)
    assert chosen.name == "triton"
    chosen = select_backend(x, RecurrenceSpec(kind="lstm"), [make_cell("lstm", 3, 5)], None)
    assert chosen.name == "torch"
    # bfloat16 plain LSTM: triton where it measured faster than cuDNN (an H200), else cuDNN
    xb = x.to(torch.bfloat16)
    chosen = select_backend(xb, RecurrenceSpec(kind="lstm"), [make_cell("lstm", 3, 5, torch.bfloat16)], None)
    assert chosen.name == ("triton" if torch.cuda.get_device_capability() in tk.MEASURED_FASTER else "torch")


#: the two ways the grid barrier waits: triton's atomic_poll (3.9 on), or re-reading the counter (before)
WAITS = [
    pytest.param(True, id="atomic_poll", marks=pytest.mark.skipif(
        not hasattr(triton.language, "atomic_poll"), reason="this triton has no tl.atomic_poll (added in 3.9)")),
    pytest.param(False, id="re-read"),
]


def _barrier_waits_by(poll: bool, monkeypatch) -> None:
    if ON_GPU and bool(tk.cooperative.POLL) != poll:
        pytest.skip("compiled kernels cannot change a global they read; the GPU runs this triton's own way")
    monkeypatch.setattr(tk.cooperative, "POLL", triton.language.constexpr(poll))


@pytest.mark.parametrize("poll", WAITS)
@pytest.mark.parametrize("kind", ["lstm", "peephole"])
def test_cooperative_kernel_by_either_way_of_waiting(kind, poll, monkeypatch):
    # a triton without atomic_poll (before 3.9) waits at the barrier by
    # re-reading its counter: the same numbers either way
    _barrier_waits_by(poll, monkeypatch)
    monkeypatch.setattr(tk.sequence, "step_kernels", _NoStepKernels())
    compare(kind, torch.float32, L=1, bidirectional=False, T=4, B=5, H=12, path="cooperative")


@pytest.mark.skipif(ON_GPU, reason="on a GPU the programs are co-resident and the barrier does not time out")
@pytest.mark.parametrize("poll", WAITS)
def test_cooperative_barrier_that_cannot_be_met_fails_loudly(poll, monkeypatch):
    # in the interpreter programs run one after another, so two programs can
    # never meet: the barrier must time out, stop waiting, and raise
    _barrier_waits_by(poll, monkeypatch)
    # 2 ms: the re-read wait counts re-reads (one per 500 ns), each a slow interpreted atomic
    monkeypatch.setattr(tk.cooperative, "SYNC_TIMEOUT_NS", 2_000_000)
    T, B, H = 3, 20, 8
    assert tk.cooperative.tiles(B, H)[3][1] == 2
    gx = torch.randn(T, B, 4 * H)
    h0, c0 = torch.randn(B, H), torch.randn(B, H)
    w = torch.randn(4 * H, H)
    with pytest.warns(RuntimeWarning, match="timed out.*per-step path"):
        hs, c_n = tk.sequence.LSTMSequence.apply(gx, h0, c0, w, *(None,) * 7, None, 1e-5, "cooperative")
    # the void launch's outputs were all rewritten by the per-step path
    want_hs, want_c = tk.sequence.LSTMSequence.apply(gx, h0, c0, w, *(None,) * 7, None, 1e-5, "step")
    assert torch.equal(hs, want_hs) and torch.equal(c_n, want_c)


@pytest.mark.parametrize("kind", ["lstm", "peephole"])
def test_a_cooperative_backward_that_times_out_runs_the_per_step_backward(kind, monkeypatch):
    # forward by the cooperative kernel, backward by the per-step kernels: the
    # saved gates and cells are read the same way by both
    def times_out(*args, **kwargs):
        raise tk.cooperative.BarrierTimeout("a grid barrier timed out (simulated)")

    monkeypatch.setattr(tk.cooperative, "lstm_backward", times_out)
    with pytest.warns(RuntimeWarning, match="per-step path"):
        compare(kind, torch.float32, L=1, bidirectional=False, T=4, B=5, H=12, path="cooperative")


@pytest.mark.parametrize("kind", KINDS)
def test_padding_never_reaches_outputs_states_or_gradients(kind):
    """NaN, inf and huge values in the padded steps change nothing (issue 14)."""
    L, D, T, B, I, H = 2, 2, 5, 3, 4, 8
    cells = make_stack(kind, I, H, L, D, torch.float32)
    spec = RecurrenceSpec(kind=cells[0].kind, num_layers=L, bidirectional=True)
    lens = torch.tensor([5, 2, 3])
    x = torch.randn(T, B, I, device=DEVICE)
    for b, n in enumerate(lens.tolist()):
        x[n:, b] = 0.0
    state = tuple(torch.randn(L * D, B, n, device=DEVICE) for n in cells[0].state_sizes)
    weights = (
        torch.randn(T, B, D * H, device=DEVICE, dtype=torch.float64),
        [torch.randn(L * D, B, n, device=DEVICE, dtype=torch.float64) for n in cells[0].state_sizes],
    )
    backend = tk.TritonBackend()
    clean = run_with_grads(backend, cells, spec, x, state, lens, weights)
    for poison in (float("nan"), float("inf"), 1e30):
        bad = x.clone()
        for b, n in enumerate(lens.tolist()):
            bad[n:, b] = poison
        got = run_with_grads(backend, cells, spec, bad, state, lens, weights)
        flat_got = [got[0], *got[1], *got[2]]
        flat_want = [clean[0], *clean[1], *clean[2]]
        for a, w in zip(flat_got, flat_want):
            assert torch.isfinite(a).all(), f"{kind}: non-finite result with {poison} in the padding"
            torch.testing.assert_close(a, w, rtol=0, atol=0)


# ------------------------------------------- CUDA graphs of the per-step path
graphs = importlib.import_module("lstmkit.kernels.triton.graphs")


class _StandInGraph:
    """Records like a CUDA graph, without a GPU: what ``capture`` was given is
    called again on ``replay`` with the same (static) buffers, and its results
    are written into the tensors the capture returned, as a replay rewrites
    the same memory."""

    made: list = []

    def __init__(self, device):
        self.replays = 0
        _StandInGraph.made.append(self)

    def capture(self, call):
        self.call = call
        self.result = call()
        return self.result

    def replay(self):
        self.replays += 1
        new = self.call()
        old = self.result if isinstance(self.result, tuple) else (self.result,)
        new = new if isinstance(new, tuple) else (new,)
        for o, n in zip(old, new):
            if isinstance(o, torch.Tensor):
                o.copy_(n)


@pytest.fixture
def stand_in_graphs(monkeypatch):
    """graphs.run records and replays on CPU tensors, by the stand-in."""
    graphs.clear()
    _StandInGraph.made = []
    monkeypatch.setattr(graphs, "enabled", lambda like: True)
    monkeypatch.setattr(graphs, "RECORDER", _StandInGraph)
    yield _StandInGraph
    graphs.clear()


def _elman(x, h0, w, out, *, scale):
    """A loop that keeps the contract: reads its inputs, writes its output, returns its last state."""
    h = h0
    for t in range(x.shape[0]):
        h = torch.tanh(x[t] + scale * (h @ w))
        out[t] = h
    return h


def test_graphs_record_on_the_second_sighting_and_replay_new_inputs(stand_in_graphs):
    torch.manual_seed(0)
    for call in range(4):
        x, h0, w = torch.randn(6, 3, 5), torch.randn(3, 5), torch.randn(5, 5)
        out = torch.empty(6, 3, 5)
        last = graphs.run(_elman, (x, h0, w), (out,), scale=0.5)
        want_out = torch.empty(6, 3, 5)
        want_last = _elman(x, h0, w, want_out, scale=0.5)
        assert torch.equal(out, want_out) and torch.equal(last, want_last), f"call {call}"
        assert graphs.recorded() == (0 if call == 0 else 1)
    assert len(stand_in_graphs.made) == 1 and stand_in_graphs.made[0].replays == 2
    # another constant is another recording; the result is not a buffer the next call rewrites
    out2 = torch.empty(6, 3, 5)
    kept = graphs.run(_elman, (x, h0, w), (out2,), scale=0.25)
    graphs.run(_elman, (x, h0, w), (torch.empty(6, 3, 5),), scale=0.25)
    assert graphs.recorded() == 2
    before = kept.clone()
    graphs.run(_elman, (x + 1, h0, w), (torch.empty(6, 3, 5),), scale=0.25)
    assert torch.equal(kept, before)


def _double_into(x, a, b):
    a.copy_(x)
    b.mul_(2.0)


def test_graphs_keep_one_buffer_for_a_tensor_passed_twice(stand_in_graphs):
    for _ in range(3):
        x = torch.randn(4)
        same = torch.empty(4)
        graphs.run(_double_into, (x,), (same, same))
        assert torch.equal(same, 2 * x)  # distinct buffers would leave x (or garbage) here
    assert graphs.recorded() == 1


def test_graphs_keep_the_latest_and_skip_what_does_not_fit(stand_in_graphs, monkeypatch):
    monkeypatch.setattr(graphs, "MAX_GRAPHS", 2)
    for T in (2, 3, 4):
        for _ in range(2):
            graphs.run(_elman, (torch.randn(T, 1, 2), torch.zeros(1, 2), torch.eye(2)), (torch.empty(T, 1, 2),), scale=1.0)
    assert graphs.recorded() == 2
    assert len(stand_in_graphs.made) == 3
    graphs.clear()
    stand_in_graphs.made.clear()
    monkeypatch.setattr(graphs, "_fits", lambda nbytes, device: False)
    for _ in range(3):
        x = torch.randn(3, 1, 2)
        out, want = torch.empty(3, 1, 2), torch.empty(3, 1, 2)
        graphs.run(_elman, (x, torch.zeros(1, 2), torch.eye(2)), (out,), scale=1.0)
        _elman(x, torch.zeros(1, 2), torch.eye(2), want, scale=1.0)
        assert torch.equal(out, want)
    assert graphs.recorded() == 0 and not stand_in_graphs.made


def test_graphs_only_for_cuda_tensors_and_not_when_turned_off(monkeypatch):
    assert not graphs.enabled(torch.zeros(1))
    if ON_GPU:
        assert graphs.enabled(torch.zeros(1, device="cuda"))
        monkeypatch.setenv("LSTMKIT_TRITON_GRAPHS", "0")
        assert not graphs.enabled(torch.zeros(1, device="cuda"))


def _step_path_results(kind, x, state, cells, spec, lens, weights):
    return run_with_grads(tk.TritonBackend(path="step"), cells, spec, x, state, lens, weights)


@pytest.mark.parametrize("recorder", ["stand-in", pytest.param("cuda", marks=pytest.mark.skipif(not ON_GPU, reason="needs a CUDA GPU"))])
@pytest.mark.parametrize("kind", ["layernorm", "lstm", "gru", "rnn_tanh"])
def test_step_path_recorded_equals_the_step_path_launched(kind, recorder, monkeypatch):
    """The per-step loops, forward and backward, chunk by chunk replayed from
    recordings give what they give launched step by step, for new inputs on
    every call (two directions, lengths ending inside chunks; the directions
    share the recordings)."""
    graphs.clear()
    _StandInGraph.made = []
    if recorder == "stand-in":
        monkeypatch.setattr(graphs, "enabled", lambda like: True)
        monkeypatch.setattr(graphs, "RECORDER", _StandInGraph)
    seq = importlib.import_module("lstmkit.kernels.triton.sequence")
    monkeypatch.setattr(seq, "GRAPH_CHUNKS", (4, 2))  # T = 11: chunks of 4, 4, 2 recorded, the last step launched
    L, D, T, B, I, H = 1, 2, 11, 3, 4, 8
    cells = make_stack(kind, I, H, L, D, torch.float32)
    spec = RecurrenceSpec(kind=cells[0].kind, num_layers=L, bidirectional=True)
    lens = torch.tensor([11, 3, 7])  # ends inside the chunks
    for call in range(2):
        x = torch.randn(T, B, I, device=DEVICE)
        state = tuple(torch.randn(L * D, B, n, device=DEVICE) for n in cells[0].state_sizes)
        weights = (
            torch.randn(T, B, D * H, device=DEVICE, dtype=torch.float64),
            [torch.randn(L * D, B, n, device=DEVICE, dtype=torch.float64) for n in cells[0].state_sizes],
        )
        got = _step_path_results(kind, x, state, cells, spec, lens, weights)
        with monkeypatch.context() as m:
            m.setattr(graphs, "enabled", lambda like: False)
            want = _step_path_results(kind, x, state, cells, spec, lens, weights)
        for a, w in zip([got[0], *got[1], *got[2]], [want[0], *want[1], *want[2]]):
            torch.testing.assert_close(a, w, rtol=1e-6, atol=1e-6)
    assert graphs.recorded() == 4  # chunks of 4 and of 2, forward and backward
    if recorder == "stand-in":
        assert sum(g.replays for g in _StandInGraph.made) > 0
    graphs.clear()
