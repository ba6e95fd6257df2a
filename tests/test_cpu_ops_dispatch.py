"""How the cpu engine's operators are entered (kernels/cpu/ops.py).

In plain eager work a layer calls each operator's implementation directly,
past the dispatcher (``_direct_ok``); whatever must see the operators keeps
the dispatcher. Checked here: both ways give the same bits, forward and
backward, for every cell; a dispatch mode, a function mode and the profiler
each see the ``lstmkit::`` operators; and ``torch.library.opcheck`` passes for
the products and the fused loops (fake kernels, strides, no aliasing), which
the direct path no longer checks on every call.
"""

from __future__ import annotations

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

import lstmkit
from lstmkit.kernels.cpu import _build, ops

pytestmark = pytest.mark.skipif(
    _build.load_extension() is None, reason=f"cpu extension unavailable: {_build.build_error()}"
)

KINDS = ["lstm", "peephole", "layernorm", "gru", "rnn_tanh"]


def make(kind):
    torch.manual_seed(0)
    if kind in ("lstm", "peephole", "layernorm"):
        return lstmkit.LSTM(8, 16, num_layers=2, cell=kind, backend="cpu")
    if kind == "gru":
        return lstmkit.GRU(8, 16, num_layers=2, backend="cpu")
    return lstmkit.RNN(8, 16, num_layers=2, nonlinearity="tanh", backend="cpu")


def train_step(layer, x):
    for p in layer.parameters():
        p.grad = None
    out, state = layer(x)
    state = state if isinstance(state, tuple) else (state,)
    (out.pow(2).sum() + sum(s.sum() for s in state)).backward()
    return [out.detach(), *(s.detach() for s in state), *(p.grad.clone() for p in layer.parameters())]


class _SeesOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.names = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(str(func))
        return func(*args, **(kwargs or {}))


class _PassThrough(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def test_plain_eager_calls_take_the_direct_path_and_modes_do_not(monkeypatch):
    calls = []
    real = ops._direct_ok

    def spy(args):
        ok = real(args)
        calls.append(ok)
        return ok

    monkeypatch.setattr(ops, "_direct_ok", spy)
    layer, x = make("lstm"), torch.randn(5, 3, 8)
    train_step(layer, x)
    assert calls and all(calls), "plain eager training should call every operator directly"
    calls.clear()
    with _SeesOps():
        train_step(layer, x)
    assert calls and not any(calls)


@pytest.mark.parametrize("kind", KINDS)
def test_direct_and_dispatched_calls_give_the_same_bits(kind):
    layer, x = make(kind), torch.randn(6, 4, 8)
    direct = train_step(layer, x)
    with _PassThrough():  # a function mode sends every call through the dispatcher
        dispatched = train_step(layer, x)
    assert len(direct) == len(dispatched)
    for a, b in zip(direct, dispatched):
        assert torch.equal(a, b)


def test_a_dispatch_mode_and_the_profiler_still_see_the_operators():
    layer, x = make("lstm"), torch.randn(5, 3, 8)
    with _SeesOps() as mode:
        train_step(layer, x)
    seen = {n for n in mode.names if n.startswith("lstmkit.")}
    assert any("lstm_fused_seq" in n for n in seen), mode.names
    assert any("mm_tn" in n for n in seen), mode.names
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        train_step(layer, x)
    names = {e.key for e in prof.key_averages()}
    assert any(n.startswith("lstmkit::lstm_fused_seq") for n in names), names


def _opcheck(op, args):
    torch.library.opcheck(op, args, test_utils=("test_schema", "test_faketensor", "test_autograd_registration"))


def test_opcheck_products():
    a, w, b = torch.randn(7, 5), torch.randn(6, 5), torch.randn(6)
    _opcheck(ops.linear, (a, w, b))
    _opcheck(ops.mm_tn, (torch.randn(9, 6), torch.randn(9, 4)))
    _opcheck(ops.project_in_op, (torch.randn(12, 5), w, b))


def _plain_fused_args(T, B, I, H):
    L = ops.lane_width(torch.float32)
    Hp = (H + L - 1) // L * L
    x = torch.randn(T, B, I)
    w_ih, bias = torch.randn(4 * Hp, I) * 0.3, torch.randn(4 * Hp) * 0.1
    h0, c0, w_hh = torch.randn(B, H), torch.randn(B, H), torch.randn(4 * H, H) * 0.3
    return x, w_ih, bias, h0, c0, w_hh, torch.randn(T, B, 4 * Hp)


@pytest.mark.parametrize("save", [False, True])
def test_opcheck_plain_fused_loops_off_the_lane_width(save):
    """A hidden size the loop pads: out leaves it padded, h_T and c_T at H."""
    x, w_ih, bias, h0, c0, w_hh, xp = _plain_fused_args(4, 3, 5, 21)
    out, hT, cT = ops.lstm_fused_seq_x(x, w_ih, bias, h0, c0, w_hh, None, save)[:3]
    assert out.shape[-1] > 21 and hT.shape == cT.shape == (3, 21)
    _opcheck(ops.lstm_fused_seq_x, (x, w_ih, bias, h0, c0, w_hh, None, save))
    _opcheck(ops.lstm_fused_seq, (xp, h0, c0, w_hh, None, save))


@pytest.mark.parametrize("H", [16, 21])
@pytest.mark.parametrize("save", [False, True])
def test_opcheck_peephole_fused_loops(H, save):
    """The optional peephole weights (3, H) of both plain loops, and the
    backward operator's gradient of them (3, H) at the layer's width."""
    x, w_ih, bias, h0, c0, w_hh, xp = _plain_fused_args(4, 3, 5, H)
    peep = torch.randn(3, H) * 0.5
    _opcheck(ops.lstm_fused_seq_x, (x, w_ih, bias, h0, c0, w_hh, None, save, peep))
    _opcheck(ops.lstm_fused_seq, (xp, h0, c0, w_hh, None, save, peep))
    plain = ops.lstm_fused_seq(xp, h0, c0, w_hh, None, True)
    out, hT, cT, gates, cseq = ops.lstm_fused_seq(xp, h0, c0, w_hh, None, True, peep)
    assert not torch.allclose(out, plain[0])  # the peepholes change the loop
    dout = torch.randn_like(out)
    z = torch.zeros_like(cseq[0])
    res = ops.lstm_fused_seq_bwd(dout, z, z, gates, cseq, w_hh, None, True, True, peep)
    assert res[4].shape == (3, H)
    _opcheck(ops.lstm_fused_seq_bwd, (dout, z, z, gates, cseq, w_hh, None, True, True, peep))


@pytest.mark.parametrize("save", [False, True])
def test_opcheck_fused_loops(save):
    T, B, I, H = 4, 3, 5, 16
    x, w_ih, bias, h0, c0, w_hh, xp = _plain_fused_args(T, B, I, H)
    _opcheck(ops.lstm_fused_seq_x, (x, w_ih, bias, h0, c0, w_hh, None, save))
    _opcheck(ops.lstm_fused_seq, (xp, h0, c0, w_hh, None, save))
    # the layer-norm loop (H a multiple of the lanes), both projection paths
    ln = (1 + 0.2 * torch.randn(4 * H), 1 + 0.2 * torch.randn(4 * H), 0.1 * torch.randn(4 * H),
          1 + 0.2 * torch.randn(H), 0.1 * torch.randn(H))
    _opcheck(ops.lstm_ln_fused_seq_x, (x, torch.randn(4 * H, I) * 0.3, h0, c0, w_hh, *ln, None, 1e-5, save))
    _opcheck(ops.lstm_ln_fused_seq, (torch.randn(T, B, 4 * H), h0, c0, w_hh, *ln, None, 1e-5, save))
