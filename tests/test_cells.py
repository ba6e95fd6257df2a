"""The cells themselves: peephole and layer-norm variants, gradcheck, traces."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lstmkit.cells import GRUCell, LayerNormLSTMCell, LSTMCell, PeepholeLSTMCell, RNNCell


def _copy_common(src, dst):
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"):
        if getattr(src, name, None) is not None:
            getattr(dst, name).data.copy_(getattr(src, name).data)


@pytest.mark.parametrize("proj", [0, 3])
def test_zero_peepholes_give_the_plain_lstm(proj):
    plain = LSTMCell(4, 5, proj_size=proj).double()
    peep = PeepholeLSTMCell(4, 5, proj_size=proj).double()
    _copy_common(plain, peep)
    for p in (peep.weight_ci, peep.weight_cf, peep.weight_co):
        p.data.zero_()
    x = torch.randn(3, 4, dtype=torch.float64)
    state = (torch.randn(3, proj or 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64))
    # the same math to float64 rounding: the two cells may reach the products
    # by different library paths (bit-identical on AVX-512 Xeons, 5.6e-17
    # apart on an AVX2 EPYC), while a wrong gate order or a nonzero peephole
    # term moves the result by ~1e-1
    for a, b in zip(plain.step(x, state), peep.step(x, state)):
        torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-15)


def test_nonzero_peepholes_change_the_result_and_see_the_right_cell():
    peep = PeepholeLSTMCell(2, 3).double()
    x = torch.randn(1, 2, dtype=torch.float64)
    h0, c0 = torch.zeros(1, 3, dtype=torch.float64), torch.randn(1, 3, dtype=torch.float64)
    trace = {}
    h, c = peep.step(x, (h0, c0), trace)
    gx = x @ peep.weight_ih.t() + peep.bias_ih + peep.bias_hh  # h0 = 0
    i_pre, f_pre, g_pre, o_pre = gx.chunk(4, 1)
    i = torch.sigmoid(i_pre + peep.weight_ci * c0)
    f = torch.sigmoid(f_pre + peep.weight_cf * c0)
    c_new = f * c0 + i * torch.tanh(g_pre)
    o = torch.sigmoid(o_pre + peep.weight_co * c_new)  # output gate sees c_t, not c_{t-1}
    torch.testing.assert_close(c, c_new)
    torch.testing.assert_close(trace["o"], o)
    torch.testing.assert_close(h, o * torch.tanh(c_new))


def _plain_layernorm_step(cell, x, h, c, eps=1e-5):
    """A second, independent layer-norm LSTM written from the paper's equations."""

    def ln(a, gain, bias):
        mu = a.mean(-1, keepdim=True)
        var = ((a - mu) ** 2).mean(-1, keepdim=True)
        return gain * (a - mu) / torch.sqrt(var + eps) + bias

    pre = (
        ln(x @ cell.weight_ih.t(), cell.ln_ih_weight, cell.ln_ih_bias)
        + ln(h @ cell.weight_hh.t(), cell.ln_hh_weight, cell.ln_hh_bias)
        + cell.bias_ih
        + cell.bias_hh
    )
    H = cell.hidden_size
    i, f, g, o = (pre[:, k * H : (k + 1) * H] for k in range(4))
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(ln(c_new, cell.ln_c_weight, cell.ln_c_bias))
    return h_new, c_new


def test_layernorm_cell_matches_an_independent_implementation():
    cell = LayerNormLSTMCell(4, 6).double()
    with torch.no_grad():  # move the LN parameters off their trivial init
        for p in (cell.ln_ih_weight, cell.ln_ih_bias, cell.ln_hh_weight, cell.ln_hh_bias, cell.ln_c_weight, cell.ln_c_bias):
            p.add_(torch.randn_like(p) * 0.3)
    x = torch.randn(5, 4, dtype=torch.float64)
    h, c = torch.randn(5, 6, dtype=torch.float64), torch.randn(5, 6, dtype=torch.float64)
    for a, b in zip(cell.step(x, (h, c)), _plain_layernorm_step(cell, x, h, c)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: PeepholeLSTMCell(3, 4),
        lambda: PeepholeLSTMCell(3, 4, proj_size=2),
        lambda: LayerNormLSTMCell(3, 4),
        lambda: LayerNormLSTMCell(3, 4, proj_size=2, bias=False),
        lambda: LSTMCell(3, 4),
        lambda: GRUCell(3, 4),
        lambda: RNNCell(3, 4, nonlinearity="tanh"),
    ],
)
def test_gradcheck_over_a_short_sequence(make):
    cell = make().double()
    params = list(cell.parameters())
    x = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    state0 = tuple(s.clone().normal_().requires_grad_() for s in cell.init_state(2))

    def run(x, *inputs):
        state = tuple(inputs[: len(state0)])
        for t in range(x.shape[0]):
            state = cell.step(x[t], state)
        return state

    assert torch.autograd.gradcheck(run, (x, *state0), eps=1e-6, atol=1e-7)
    # parameters too: make them explicit inputs through functional_call
    names = [n for n, _ in cell.named_parameters()]

    def run_params(*ps):
        with torch.nn.utils.stateless._reparametrize_module(cell, dict(zip(names, ps))):
            return run(x.detach(), *state0)

    assert torch.autograd.gradcheck(run_params, tuple(p.detach().clone().requires_grad_() for p in params), eps=1e-6, atol=1e-7)


def test_trace_names_and_values():
    cell = LSTMCell(3, 4)
    trace = {}
    h, c = cell.step(torch.randn(2, 3), cell.init_state(2), trace)
    assert set(trace) == set(LSTMCell.gate_names)
    for name in ("i", "f", "o"):
        assert trace[name].min() >= 0 and trace[name].max() <= 1
    assert trace["g"].abs().max() <= 1
    torch.testing.assert_close(trace["h"], h)
    torch.testing.assert_close(trace["c"], c)
    torch.testing.assert_close(h, trace["o"] * torch.tanh(c))


def test_clone_changes_only_what_is_asked():
    cell = LayerNormLSTMCell(3, 5, proj_size=2, forget_bias=1.0, eps=1e-3)
    other = cell.clone(input_size=7)
    assert (other.input_size, other.hidden_size, other.proj_size, other.forget_bias, other.eps) == (7, 5, 2, 1.0, 1e-3)
    assert other.weight_ih.shape == (20, 7)


def test_rnn_relu_step():
    cell = RNNCell(2, 3, nonlinearity="relu")
    x = torch.randn(4, 2)
    (h,) = cell.step(x, cell.init_state(4))
    torch.testing.assert_close(h, F.relu(x @ cell.weight_ih.t() + cell.bias_ih + cell.bias_hh))


# ------------------------------------------------------- torch.nn drop-ins
@pytest.mark.parametrize("cls", [torch.nn.LSTMCell, torch.nn.GRUCell, torch.nn.RNNCell])
def test_cells_are_torch_drop_ins(cls):
    """from_torch copies the weights, forward(input, hx=None) is torch's call
    (batched, unbatched, default state), and the state_dict goes both ways."""
    import lstmkit

    torch.manual_seed(0)
    ref = cls(4, 6).double()
    ours = lstmkit.nn.from_torch(ref)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    x = torch.randn(3, 4, dtype=torch.float64)
    for args in ((x,), (x[0],)):
        want, got = ref(*args), ours(*args)
        for a, b in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
            torch.testing.assert_close(a, b)
    hx = ref(x)
    torch.testing.assert_close(ours(x, hx), ref(x, hx))
    back = ours.to_torch()
    assert type(back) is cls
    torch.testing.assert_close(back(x, hx), ref(x, hx))


def test_peephole_and_layernorm_cells_take_torch_calls():
    cell = PeepholeLSTMCell(4, 6)
    h, c = cell(torch.randn(2, 4))
    h2, c2 = cell.step(torch.randn(2, 4) * 0, cell.init_state(2))
    assert h.shape == (2, 6) and c.shape == (2, 6) and h2.shape == (2, 6)
    ln = LayerNormLSTMCell(4, 6)
    x, state = torch.randn(2, 4), (torch.randn(2, 6), torch.randn(2, 6))
    for a, b in zip(ln(x, state), ln.step(x, state)):
        torch.testing.assert_close(a, b)
    with pytest.raises(RuntimeError, match="inconsistent input_size"):
        ln(torch.randn(2, 5))
