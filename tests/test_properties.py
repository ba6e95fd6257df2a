"""Property-based tests over shapes and argument combinations (hypothesis)."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import lstmkit

F64 = torch.float64
SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def configs(draw):
    kind = draw(st.sampled_from(["lstm", "gru", "rnn_tanh", "rnn_relu"]))
    H = draw(st.integers(2, 6))
    return dict(
        kind=kind,
        I=draw(st.integers(1, 5)),
        H=H,
        L=draw(st.integers(1, 3)),
        bi=draw(st.booleans()),
        bf=draw(st.booleans()),
        bias=draw(st.booleans()),
        proj=draw(st.integers(0, H - 1)) if kind == "lstm" else 0,
        T=draw(st.integers(1, 6)),
        B=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 2**16)),
        variable=draw(st.booleans()),
    )


@SETTINGS
@given(configs())
def test_reference_matches_torch_on_random_configurations(cfg):
    torch.manual_seed(cfg["seed"])
    common = dict(num_layers=cfg["L"], bidirectional=cfg["bi"], batch_first=cfg["bf"], bias=cfg["bias"], dtype=F64)
    if cfg["kind"] == "lstm":
        ours = lstmkit.LSTM(cfg["I"], cfg["H"], proj_size=cfg["proj"], backend="reference", **common)
        theirs = nn.LSTM(cfg["I"], cfg["H"], proj_size=cfg["proj"], **common)
    elif cfg["kind"] == "gru":
        ours, theirs = lstmkit.GRU(cfg["I"], cfg["H"], backend="reference", **common), nn.GRU(cfg["I"], cfg["H"], **common)
    else:
        nl = cfg["kind"][4:]
        ours = lstmkit.RNN(cfg["I"], cfg["H"], nonlinearity=nl, backend="reference", **common)
        theirs = nn.RNN(cfg["I"], cfg["H"], nonlinearity=nl, **common)
    theirs.load_state_dict(ours.state_dict())
    T, B = cfg["T"], cfg["B"]
    x = torch.randn((B, T, cfg["I"]) if cfg["bf"] else (T, B, cfg["I"]), dtype=F64)
    if cfg["variable"]:
        lengths = torch.randint(1, T + 1, (B,))
        out1, s1 = ours(x, lengths=lengths)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=cfg["bf"], enforce_sorted=False)
        out2, s2 = theirs(packed)
        out2, _ = nn.utils.rnn.pad_packed_sequence(out2, batch_first=cfg["bf"], total_length=T)
    else:
        out1, s1 = ours(x)
        out2, s2 = theirs(x)
    torch.testing.assert_close(out1, out2, rtol=1e-10, atol=1e-10)
    s1 = s1 if isinstance(s1, tuple) else (s1,)
    s2 = s2 if isinstance(s2, tuple) else (s2,)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@SETTINGS
@given(
    cell=st.sampled_from(["peephole", "layernorm", "lstm"]),
    L=st.integers(1, 2),
    bi=st.booleans(),
    lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
)
def test_variant_cells_ignore_padding(cell, L, bi, lengths, seed):
    torch.manual_seed(seed)
    layer = lstmkit.LSTM(2, 3, num_layers=L, bidirectional=bi, cell=cell, dtype=F64, backend="reference")
    T = max(lengths)
    x = torch.randn(T, len(lengths), 2, dtype=F64)
    out, (h, c) = layer(x, lengths=lengths)
    garbage = x.clone()
    for b, n in enumerate(lengths):
        garbage[n:, b] = 1e3  # whatever is in the padding must not matter
    out2, (h2, c2) = layer(garbage, lengths=lengths)
    torch.testing.assert_close(out, out2, rtol=0, atol=0)
    torch.testing.assert_close(h, h2, rtol=0, atol=0)
    torch.testing.assert_close(c, c2, rtol=0, atol=0)


@SETTINGS
@given(T=st.integers(1, 6), L=st.integers(1, 3), cell=st.sampled_from(["lstm", "peephole", "layernorm"]), seed=st.integers(0, 999))
def test_step_equals_whole_sequence(T, L, cell, seed):
    torch.manual_seed(seed)
    layer = lstmkit.LSTM(3, 4, num_layers=L, cell=cell, dtype=F64, backend="reference").eval()
    x = torch.randn(T, 2, 3, dtype=F64)
    out, (h, c) = layer(x)
    state = None
    for t in range(T):
        y, state = layer.step(x[t], state)
        torch.testing.assert_close(y, out[t], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state[0], h, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state[1], c, rtol=1e-12, atol=1e-12)
