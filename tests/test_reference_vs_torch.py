"""The reference engine against torch.nn with copied weights, in float64."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import lstmkit

TOL = dict(rtol=1e-10, atol=1e-10)

CONFIGS = [
    # (kind, num_layers, bidirectional, batch_first, proj_size)
    *[("lstm", L, bi, bf, 0) for L, bi, bf in itertools.product((1, 2, 3), (False, True), (False, True))],
    ("lstm", 2, True, False, 3),
    ("lstm", 1, False, True, 2),
    *[("gru", L, bi, bf, 0) for L, bi, bf in itertools.product((1, 3), (False, True), (False, True))],
    ("rnn_tanh", 2, True, False, 0),
    ("rnn_relu", 2, False, True, 0),
]


def make_pair(kind, L, bi, bf, proj, I=5, H=6):
    common = dict(num_layers=L, bidirectional=bi, batch_first=bf, dtype=torch.float64)
    if kind == "lstm":
        ours = lstmkit.LSTM(I, H, proj_size=proj, backend="reference", **common)
        theirs = nn.LSTM(I, H, proj_size=proj, **common)
    elif kind == "gru":
        ours = lstmkit.GRU(I, H, backend="reference", **common)
        theirs = nn.GRU(I, H, **common)
    else:
        nl = kind.split("_")[1]
        ours = lstmkit.RNN(I, H, nonlinearity=nl, backend="reference", **common)
        theirs = nn.RNN(I, H, nonlinearity=nl, **common)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def _as_tuple(s):
    return s if isinstance(s, tuple) else (s,)


@pytest.mark.parametrize("kind,L,bi,bf,proj", CONFIGS)
@pytest.mark.parametrize("variable", [False, True], ids=["full", "lengths"])
def test_forward_and_gradients_match_torch(kind, L, bi, bf, proj, variable):
    ours, theirs = make_pair(kind, L, bi, bf, proj)
    T, B = 7, 4
    x = torch.randn(B, T, 5, dtype=torch.float64) if bf else torch.randn(T, B, 5, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 5, 1]) if variable else None
    D, n = (2 if bi else 1), L * (2 if bi else 1)
    hsize = proj or 6
    hx = [torch.randn(n, B, hsize, dtype=torch.float64)]
    if kind == "lstm":
        hx.append(torch.randn(n, B, 6, dtype=torch.float64))
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    h1 = [h.clone().requires_grad_() for h in hx]
    h2 = [h.clone().requires_grad_() for h in hx]

    hx_ours = tuple(h1) if kind == "lstm" else h1[0]
    hx_theirs = tuple(h2) if kind == "lstm" else h2[0]
    out1, s1 = ours(x1, hx_ours, lengths=lengths)
    if variable:
        packed = nn.utils.rnn.pack_padded_sequence(x2, lengths, batch_first=bf, enforce_sorted=False)
        out2, s2 = theirs(packed, hx_theirs)
        out2, _ = nn.utils.rnn.pad_packed_sequence(out2, batch_first=bf, total_length=T)
    else:
        out2, s2 = theirs(x2, hx_theirs)
    torch.testing.assert_close(out1, out2, **TOL)
    for a, b in zip(_as_tuple(s1), _as_tuple(s2)):
        torch.testing.assert_close(a, b, **TOL)

    # one loss that touches the output and every final state
    w = torch.randn_like(out1)
    ws = [torch.randn_like(s) for s in _as_tuple(s1)]
    loss1 = (out1 * w).sum() + sum((s * v).sum() for s, v in zip(_as_tuple(s1), ws))
    loss2 = (out2 * w).sum() + sum((s * v).sum() for s, v in zip(_as_tuple(s2), ws))
    loss1.backward()
    loss2.backward()
    torch.testing.assert_close(x1.grad, x2.grad, **TOL)
    for a, b in zip(h1, h2):
        torch.testing.assert_close(a.grad, b.grad, **TOL)
    g_ours = {k: p.grad for k, p in zip(ours.state_dict().keys(), ours.parameters())}
    for name, p in theirs.named_parameters():
        torch.testing.assert_close(g_ours[name], p.grad, **TOL, msg=f"gradient of {name}")
    assert D in (1, 2)


def test_parameters_and_state_dict_order_matches_torch():
    ours = lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    theirs = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, p), q in zip(theirs.named_parameters(), ours.parameters()):
        assert p.shape == q.shape, name
    assert ours.weight_hh_l1_reverse is ours.cell_at(1, 1).weight_hh


def test_default_init_matches_torch_range():
    layer = lstmkit.LSTM(3, 25)
    bound = 1 / 25**0.5
    for p in layer.parameters():
        assert float(p.detach().abs().max()) <= bound
        assert float(p.detach().abs().max()) > bound * 0.8  # actually spread over the range


def test_forget_bias_option():
    layer = lstmkit.LSTM(3, 4, num_layers=2, forget_bias=1.0)
    for cell in layer.cells:
        assert torch.all(cell.bias_ih[4:8] == 1.0) and torch.all(cell.bias_hh[4:8] == 0.0)
        assert not torch.all(cell.bias_ih[:4] == 1.0)
