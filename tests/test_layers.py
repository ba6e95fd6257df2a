"""Layer behaviour: lengths, streaming, traces, regularisers, interop, packing."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import lstmkit
from lstmkit.cells import GRUCell, PeepholeLSTMCell
from lstmkit.nn import Recurrent

F64 = torch.float64


def make_layer(kind, **kw):
    kw.setdefault("dtype", F64)
    kw.setdefault("backend", "reference")
    if kind in ("lstm", "peephole", "layernorm"):
        return lstmkit.LSTM(3, 4, cell=kind, **kw)
    if kind == "gru":
        return lstmkit.GRU(3, 4, **kw)
    return lstmkit.RNN(3, 4, **kw)


KINDS = ["lstm", "peephole", "layernorm", "gru", "rnn"]


def _parts(state):
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_batch_equals_each_sequence_alone(kind, bidirectional):
    layer = make_layer(kind, num_layers=2, bidirectional=bidirectional)
    T, lengths = 6, [6, 2, 4]
    x = torch.randn(T, 3, 3, dtype=F64, requires_grad=True)
    out, state = layer(x, lengths=lengths)
    (out.sum() + sum(s.sum() for s in _parts(state))).backward()
    for b, n in enumerate(lengths):
        xb = x.detach()[:n, b : b + 1].clone().requires_grad_()
        ob, sb = layer(xb)
        torch.testing.assert_close(out[:n, b : b + 1], ob, rtol=1e-12, atol=1e-12)
        assert torch.all(out[n:, b] == 0), "padding leaked into the output"
        for s_full, s_alone in zip(_parts(state), _parts(sb)):
            torch.testing.assert_close(s_full[:, b : b + 1], s_alone, rtol=1e-12, atol=1e-12)
        (ob.sum() + sum(s.sum() for s in _parts(sb))).backward()
        torch.testing.assert_close(x.grad[:n, b : b + 1], xb.grad, rtol=1e-12, atol=1e-12)
        assert torch.all(x.grad[n:, b] == 0), "padding received a gradient"


@pytest.mark.parametrize("kind", KINDS)
def test_streaming_step_equals_whole_run(kind):
    layer = make_layer(kind, num_layers=3, zoneout=0.2 if kind != "rnn" else 0.0).eval()
    x = torch.randn(5, 2, 3, dtype=F64)
    out, final = layer(x)
    state = None
    for t in range(5):
        h, state = layer.step(x[t], state)
        torch.testing.assert_close(h, out[t], rtol=1e-12, atol=1e-12)
    for a, b in zip(_parts(state), _parts(final)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_step_rejects_bidirectional():
    with pytest.raises(ValueError, match="unidirectional"):
        make_layer("lstm", bidirectional=True).step(torch.randn(2, 3, dtype=F64))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_packed_sequence_round_trip_matches_torch(kind):
    ours = make_layer(kind, num_layers=2, bidirectional=True)
    theirs = (nn.LSTM if kind == "lstm" else nn.GRU)(3, 4, num_layers=2, bidirectional=True, dtype=F64)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(5, 3, 3, dtype=F64)
    packed = pack_padded_sequence(x, torch.tensor([3, 5, 2]), enforce_sorted=False)
    o1, s1 = ours(packed)
    o2, s2 = theirs(packed)
    assert isinstance(o1, nn.utils.rnn.PackedSequence)
    torch.testing.assert_close(o1.data, o2.data, rtol=1e-10, atol=1e-10)
    assert torch.equal(o1.batch_sizes, o2.batch_sizes)
    for a, b in zip(_parts(s1), _parts(s2)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    padded, lens = pad_packed_sequence(o1)
    assert lens.tolist() == [3, 5, 2] and padded.shape == (5, 3, 8)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_interop_round_trip(kind):
    layer = make_layer(kind, num_layers=2, bidirectional=True, batch_first=True)
    module = layer.to_torch()
    back = lstmkit.nn.from_torch(module, backend="reference")
    x = torch.randn(2, 4, 3, dtype=F64)
    o1, _ = layer(x)
    o2, _ = module(x)
    o3, _ = back(x)
    torch.testing.assert_close(o1, o2, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(o1, o3, rtol=0, atol=0)
    assert type(back) is type(layer) and back.batch_first


def test_to_torch_refuses_a_variant_cell():
    with pytest.raises(ValueError, match="peephole"):
        make_layer("peephole").to_torch()


def test_from_torch_rejects_other_modules():
    with pytest.raises(TypeError, match="expected torch.nn.LSTM, GRU, RNN, LSTMCell, GRUCell or RNNCell"):
        lstmkit.nn.from_torch(nn.Linear(2, 2))


@pytest.mark.parametrize("kind", KINDS)
def test_gate_traces(kind):
    layer = make_layer(kind, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(3, 5, 3, dtype=F64)
    out, _, gates = layer(x, lengths=[5, 2, 4], return_gates=True)
    cell = layer.cells[0]
    assert len(gates) == 2 and all(len(row) == 2 for row in gates)
    for layer_i, row in enumerate(gates):
        for d, g in enumerate(row):
            assert set(g) == set(cell.gate_names)
            for v in g.values():
                assert v.shape == (3, 5, 4)
                assert torch.all(v[1, 2:] == 0), "padding must be zero in the traces"
    top_h = torch.cat([gates[1][0]["h"], gates[1][1]["h"]], -1)
    torch.testing.assert_close(top_h, out)


def test_dropout_variants_train_vs_eval():
    layer = make_layer("lstm", num_layers=2, dropout=0.5, input_dropout=0.3, hidden_dropout=0.3, zoneout=0.2, zoneout_cell=0.1)
    x = torch.randn(6, 4, 3, dtype=F64)
    layer.train()
    torch.manual_seed(1)
    a, _ = layer(x)
    torch.manual_seed(1)
    b, _ = layer(x)
    torch.manual_seed(2)
    c, _ = layer(x)
    torch.testing.assert_close(a, b)  # masks come from torch's RNG: reproducible
    assert not torch.allclose(a, c)
    layer.eval()
    e1, _ = layer(x)
    e2, _ = layer(x)
    torch.testing.assert_close(e1, e2)  # deterministic in evaluation


def test_variational_hidden_mask_is_shared_by_all_steps():
    layer = make_layer("rnn", hidden_dropout=0.5)
    with torch.no_grad():
        layer.cells[0].weight_hh.copy_(torch.eye(4, dtype=F64))
        layer.cells[0].weight_ih.zero_()
        layer.cells[0].bias_ih.zero_()
        layer.cells[0].bias_hh.zero_()
    layer.train()
    h0 = torch.full((1, 8, 4), 0.5, dtype=F64)
    out, _ = layer(torch.zeros(5, 8, 3, dtype=F64), h0)
    dropped = out[0] == 0
    assert dropped.any() and (~dropped).any()
    for t in range(1, 5):  # one mask for the whole sequence
        assert torch.equal(out[t] == 0, dropped)


def test_zoneout_keeps_previous_values_in_training():
    layer = make_layer("gru", zoneout=0.999999)
    layer.train()
    h0 = torch.randn(1, 2, 4, dtype=F64)
    out, h = layer(torch.randn(3, 2, 3, dtype=F64), h0)
    torch.testing.assert_close(h, h0)


def test_generic_recurrent_with_a_cell():
    layer = Recurrent(PeepholeLSTMCell(3, 4, proj_size=2), num_layers=2, bidirectional=True)
    assert layer.cell_at(1, 0).input_size == 4 and layer.output_size == 4
    out, (h, c) = layer(torch.randn(5, 2, 3))
    assert out.shape == (5, 2, 4) and h.shape == (4, 2, 2) and c.shape == (4, 2, 4)
    names = list(layer.state_dict())
    assert "weight_ci_l1_reverse" in names and "weight_hr_l0" in names
    clone = Recurrent(PeepholeLSTMCell(3, 4, proj_size=2), num_layers=2, bidirectional=True)
    clone.load_state_dict(layer.state_dict())
    torch.testing.assert_close(clone(torch.ones(2, 1, 3))[0], layer(torch.ones(2, 1, 3))[0])


def test_unbatched_input_like_torch():
    layer = make_layer("gru", num_layers=2)
    x = torch.randn(5, 3, dtype=F64)
    out, h = layer(x)
    assert out.shape == (5, 4) and h.shape == (2, 4)
    out_b, h_b = layer(x.unsqueeze(1))
    torch.testing.assert_close(out, out_b.squeeze(1))


def test_auto_uses_torch_for_plain_and_reference_for_variants():
    from lstmkit.kernels import RecurrenceSpec, select_backend

    plain = make_layer("lstm", backend="auto")
    x = torch.randn(2, 1, 3, dtype=F64)
    chosen = select_backend(x, plain.spec(), list(plain.cells), None)
    assert chosen.name in ("cpu", "torch")
    peep = make_layer("peephole", backend="auto")
    chosen = select_backend(x, peep.spec(), list(peep.cells), None)
    assert chosen.name != "torch"
    assert select_backend(x, RecurrenceSpec(kind="lstm", return_gates=True), list(plain.cells), None).name != "torch"


def test_backend_by_name_that_cannot_run_says_why():
    from lstmkit.kernels import BackendUnavailable

    layer = make_layer("peephole", backend="torch")
    with pytest.raises(BackendUnavailable, match="torch has no kernel for the 'peephole' cell"):
        layer(torch.randn(2, 1, 3, dtype=F64))
    with pytest.raises(BackendUnavailable, match="unknown backend 'nope'"):
        make_layer("lstm", backend="nope")(torch.randn(2, 1, 3, dtype=F64))


def test_torch_backend_equals_reference_with_lengths():
    ref = make_layer("lstm", num_layers=2, bidirectional=True, proj_size=2)
    fast = make_layer("lstm", num_layers=2, bidirectional=True, proj_size=2, backend="torch")
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(6, 3, 3, dtype=F64)
    o1, s1 = ref(x, lengths=[6, 1, 4])
    o2, s2 = fast(x, lengths=[6, 1, 4])
    torch.testing.assert_close(o1, o2, rtol=1e-10, atol=1e-10)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_state_is_differentiable_and_carried():
    layer = make_layer("lstm")
    x = torch.randn(8, 2, 3, dtype=F64)
    out_full, s_full = layer(x)
    out_a, s_a = layer(x[:3])
    out_b, s_b = layer(x[3:], s_a)
    torch.testing.assert_close(torch.cat([out_a, out_b]), out_full)
    torch.testing.assert_close(s_b[1], s_full[1])
    assert isinstance(GRUCell(2, 2), lstmkit.cells.Cell)


class _ChoiceSpy:
    """Counts the layers' calls of ``kernels.select_backend``."""

    def __init__(self, monkeypatch):
        from lstmkit import kernels

        self.calls = 0
        real = kernels.select_backend

        def counted(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(kernels, "select_backend", counted)


def test_a_layer_keeps_its_backend_choice_for_calls_of_the_same_signature(monkeypatch):
    """``auto`` chooses once per call signature: a second call of the same
    input signature reuses the choice (and its checks); anything the choice
    depends on makes the layer choose again, and the outputs never change."""
    import copy

    import lstmkit.kernels.cpu as cpu_pkg

    torch.manual_seed(0)
    layer = lstmkit.LSTM(4, 8, num_layers=2)
    x = torch.randn(6, 3, 4)
    spy = _ChoiceSpy(monkeypatch)
    want = layer(x)[0]
    assert spy.calls == 1
    torch.testing.assert_close(layer(x)[0], want, rtol=0, atol=0)
    assert spy.calls == 1  # the same signature: the kept choice
    layer(torch.randn(7, 3, 4))  # another shape
    assert spy.calls == 2
    layer(x)
    assert spy.calls == 3  # one signature is kept: the last one
    with torch.no_grad():
        layer(x)  # grad mode
    assert spy.calls == 4
    layer.eval()
    layer(x)  # mode
    assert spy.calls == 5
    layer.train()
    layer(x)
    for p in layer.cells[1].parameters():  # frozen: auto may see an inference call now
        p.requires_grad_(False)
    layer(x)
    assert spy.calls == 7
    threads = torch.get_num_threads()
    torch.set_num_threads(2 if threads == 1 else 1)
    try:
        layer(x)  # the thread count picks the table's column
    finally:
        torch.set_num_threads(threads)
    assert spy.calls == 8
    layer(x)
    assert spy.calls == 9
    monkeypatch.setattr(cpu_pkg, "_ratios", {})  # another table: choose again
    layer(x)
    assert spy.calls == 10
    layer.double()  # parameters converted: their data pointers change
    layer(x.double())
    assert spy.calls == 11
    # a backend's own inputs to the choice (a setting): equal strings keep it, another one does not
    from lstmkit.kernels import registry

    cpu_backend = registry.load_backend("cpu")
    monkeypatch.setattr(type(cpu_backend), "auto_inputs", lambda self: ("".join(["a", "b"]),))
    layer(x.double())
    assert spy.calls == 12  # the inputs changed from the tables to a string
    layer(x.double())
    assert spy.calls == 12  # an equal string (another object)
    monkeypatch.setattr(type(cpu_backend), "auto_inputs", lambda self: ("ac",))
    layer(x.double())
    assert spy.calls == 13
    # a copy (or a pickle) never carries the kept choice
    assert "_call_cache" in layer.__dict__ and "_call_cache" not in copy.deepcopy(layer).__dict__


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_kept_call_on_torch_nn_reuses_its_zero_state_and_never_writes_it(kind):
    """A call kept on torch.nn's kernels (backend torch) reuses the zero state of the first call of its
    signature: the kernels read the state and write nothing into it. Outputs and gradients equal those
    of a call given explicit zeros; the kept state is still zeros after training steps; a first call
    under inference mode does not leave inference tensors to a later call that records a graph."""
    torch.manual_seed(5)
    layer = getattr(lstmkit, kind)(4, 8, num_layers=2, backend="torch")
    x = torch.randn(5, 3, 4)
    with torch.inference_mode():
        layer(x)
    first = layer(x)  # grad enabled: another signature than the inference call
    kept = layer.__dict__["_call_cache"][2]
    zeros = kept[2] if isinstance(kept, tuple) and len(kept) > 2 else None
    assert zeros is not None and all(not z.is_inference() for z in zeros)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(3):
        out, _ = layer(x)
        assert layer.__dict__["_call_cache"][2][2] is zeros  # the same tensors, reused
        opt.zero_grad()
        out.square().sum().backward()
        opt.step()
    assert all(torch.equal(z, torch.zeros_like(z)) for z in zeros)
    explicit = tuple(torch.zeros_like(z) for z in zeros)
    hx = explicit if kind == "LSTM" else explicit[0]
    a, b = layer(x)[0], layer(x, hx)[0]
    assert torch.equal(a, b) and not torch.equal(a, first[0])  # (the steps changed the weights)
    ga = torch.autograd.grad(a.sum(), list(layer.parameters()))
    gb = torch.autograd.grad(b.sum(), list(layer.parameters()))
    assert all(torch.equal(u, v) for u, v in zip(ga, gb))
    # other engines may write their state buffers: they keep none
    eng = getattr(lstmkit, kind)(4, 8, backend="reference")
    eng(x)
    eng(x)
    assert eng.__dict__["_call_cache"][2][2] is None


def test_a_kept_choice_still_checks_finite_inputs_and_is_not_kept_for_lengths(monkeypatch):
    layer = lstmkit.LSTM(4, 8, check_finite=True)
    x = torch.randn(5, 2, 4)
    layer(x)
    layer(x)
    bad = x.clone()
    bad[2, 1, 0] = float("inf")
    with pytest.raises(ValueError, match="finite"):
        layer(bad)
    with pytest.raises(TypeError, match="expected input to be a torch.Tensor, got list"):
        layer(x.tolist())  # after a kept call: still the full check's error
    spy = _ChoiceSpy(monkeypatch)
    lengths = torch.tensor([5, 3])
    layer(x, lengths=lengths)
    layer(x, lengths=lengths)
    assert spy.calls == 2  # calls with lengths, packed input or gate traces choose every time
