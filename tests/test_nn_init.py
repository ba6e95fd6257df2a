"""chrono_init_: which biases it sets, to what, and that the memory it gives lasts longer."""

from __future__ import annotations

import math

import pytest
import torch

from lstmkit.cells import LayerNormLSTMCell, PeepholeLSTMCell
from lstmkit.nn import GRU, LSTM, RNN, Recurrent, chrono_init_


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_forget_and_input_biases_of_every_cell(bidirectional):
    H, lag = 8, 200
    layer = chrono_init_(LSTM(3, H, num_layers=2, bidirectional=bidirectional), lag, generator=_gen())
    sd = layer.state_dict()
    names = [k for k in sd if k.startswith("bias_ih")]
    assert len(names) == 2 * (2 if bidirectional else 1)
    for name in names:
        b_ih, b_hh = sd[name], sd[name.replace("bias_ih", "bias_hh")]
        f = b_ih[H : 2 * H]
        assert ((f >= 0) & (f <= math.log(lag - 1) + 1e-6)).all()
        torch.testing.assert_close(b_ih[:H], -f)  # input gate mirrors the forget gate
        assert (b_hh[: 2 * H] == 0).all()
        assert f.std() > 0.3  # spread over time scales, not one value


def test_gru_update_gate_and_variant_cells():
    H = 6
    gru = chrono_init_(GRU(2, H), 50, generator=_gen())
    z = gru.bias_ih_l0[H : 2 * H]
    assert ((z >= 0) & (z <= math.log(49) + 1e-6)).all() and (gru.bias_hh_l0[H : 2 * H] == 0).all()
    before_r = gru.bias_ih_l0[:H].clone()
    chrono_init_(gru, 50, generator=_gen(1))
    torch.testing.assert_close(gru.bias_ih_l0[:H], before_r)  # the reset gate is not touched
    for cell in (PeepholeLSTMCell(2, H), LayerNormLSTMCell(2, H)):
        chrono_init_(Recurrent(cell), 30, generator=_gen())
        torch.testing.assert_close(cell.bias_ih[:H], -cell.bias_ih[H : 2 * H])


def test_the_same_generator_gives_the_same_biases():
    a = chrono_init_(LSTM(2, 5), 100, generator=_gen(3))
    b = chrono_init_(LSTM(2, 5), 100, generator=_gen(3))
    torch.testing.assert_close(a.bias_ih_l0[:10], b.bias_ih_l0[:10])  # input and forget slices
    c = chrono_init_(LSTM(2, 5), 100, generator=_gen(4))
    assert not torch.allclose(a.bias_ih_l0[5:10], c.bias_ih_l0[5:10])


def test_bad_input_is_refused_plainly():
    with pytest.raises(ValueError, match="max_lag > 2"):
        chrono_init_(LSTM(2, 4), 2)
    with pytest.raises(ValueError, match="max_lag > 2"):
        chrono_init_(LSTM(2, 4), float("nan"))
    with pytest.raises(ValueError, match="no LSTM or GRU cell"):
        chrono_init_(RNN(2, 4), 100)
    with pytest.raises(ValueError, match="bias=False"):
        chrono_init_(LSTM(2, 4, bias=False), 100)
    with pytest.raises(TypeError, match="lstmkit cell"):
        chrono_init_(torch.nn.LSTM(2, 4), 100)


def test_chrono_memory_outlasts_forget_bias_one():
    """With zero input, what the cell state held at step 0 is kept far longer under chrono init."""
    torch.manual_seed(0)
    plain = LSTM(1, 32, forget_bias=1.0)
    chrono = LSTM(1, 32)
    chrono.load_state_dict(plain.state_dict())
    chrono_init_(chrono, 1000, generator=_gen())
    x = torch.zeros(100, 1, 1)
    h0 = torch.zeros(1, 1, 32)
    kept = {}
    for name, layer in (("plain", plain), ("chrono", chrono)):
        with torch.no_grad():
            _, (_, c_one) = layer(x, (h0, torch.ones(1, 1, 32)))
            _, (_, c_zero) = layer(x, (h0, torch.zeros(1, 1, 32)))
        kept[name] = float((c_one - c_zero).abs().mean())  # the part of c_100 that remembers c_0
    assert kept["plain"] < 1e-6  # forget gate near sigmoid(1) = 0.73: 0.73^100
    assert kept["chrono"] > 0.05
