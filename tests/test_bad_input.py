"""Every bad input named by the core issue gets a ValueError/TypeError that names the class."""

from __future__ import annotations

import pytest
import torch

import lstmkit
from lstmkit.cells import LSTMCell


@pytest.fixture
def lstm():
    return lstmkit.LSTM(4, 6, num_layers=2, backend="reference")


def test_wrong_rank(lstm):
    with pytest.raises(ValueError, match=r"LSTM: expected input of shape \(T, B, I\).*got 4-D"):
        lstm(torch.randn(2, 3, 4, 1))
    with pytest.raises(ValueError, match="got 1-D"):
        lstm(torch.randn(4))


def test_wrong_feature_size(lstm):
    with pytest.raises(ValueError, match=r"LSTM: expected input of shape \(5, 3, 4\), got \(5, 3, 2\)"):
        lstm(torch.randn(5, 3, 2))


def test_state_of_wrong_shape(lstm):
    h, c = torch.zeros(2, 3, 6), torch.zeros(2, 3, 6)
    with pytest.raises(ValueError, match=r"expected state h of shape \(2, 3, 6\), got \(1, 3, 6\)"):
        lstm(torch.randn(5, 3, 4), (h[:1], c))
    with pytest.raises(ValueError, match=r"expected state c of shape \(2, 3, 6\), got \(2, 3, 5\)"):
        lstm(torch.randn(5, 3, 4), (h, c[..., :5]))
    with pytest.raises(ValueError, match=r"expected the state as 2 tensor"):
        lstm(torch.randn(5, 3, 4), h)


def test_lengths_out_of_range_or_zero(lstm):
    x = torch.randn(5, 3, 4)
    with pytest.raises(ValueError, match=r"every length in \[1, 5\].*min 0"):
        lstm(x, lengths=[5, 0, 2])
    with pytest.raises(ValueError, match=r"every length in \[1, 5\].*max 6"):
        lstm(x, lengths=[6, 1, 2])
    with pytest.raises(ValueError, match=r"lengths of shape \(3,\), got \(2,\)"):
        lstm(x, lengths=[5, 1])
    with pytest.raises(TypeError, match="integer dtype"):
        lstm(x, lengths=torch.tensor([5.0, 1.0, 2.0]))


def test_non_floating_input(lstm):
    with pytest.raises(TypeError, match="LSTM: expected input to be a floating-point tensor, got dtype torch.int64"):
        lstm(torch.ones(5, 3, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="expected input to be a torch.Tensor, got list"):
        lstm([[1.0]])


def test_dtype_mismatch(lstm):
    with pytest.raises(TypeError, match="expected input of dtype torch.float32"):
        lstm(torch.randn(5, 3, 4, dtype=torch.float64))


def test_tensors_on_different_devices(lstm):
    meta = torch.randn(5, 3, 4, device="meta")
    with pytest.raises(ValueError, match="LSTM: expected input on cpu"):
        lstm(meta)
    h = torch.zeros(2, 3, 6, device="meta")
    with pytest.raises(ValueError, match="expected state h on cpu"):
        lstm(torch.randn(5, 3, 4), (h, torch.zeros(2, 3, 6)))


def test_nan_and_inf_behind_an_option():
    x = torch.randn(5, 3, 4)
    x[2, 1, 0] = float("nan")
    quiet = lstmkit.LSTM(4, 6)
    assert torch.isnan(quiet(x)[0]).any()  # by default NaN propagates, as in torch
    strict = lstmkit.LSTM(4, 6, check_finite=True)
    with pytest.raises(ValueError, match=r"LSTM: expected finite values in input, got NaN or Inf \(first at index \(2, 1, 0\)\)"):
        strict(x)
    x[2, 1, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or Inf"):
        strict(x)
    x[2, 1, 0] = float("-inf")
    x[0, 0, 0] = float("inf")  # an Inf and a -Inf: their sum is NaN, still caught, the first one named
    with pytest.raises(ValueError, match=r"first at index \(0, 0, 0\)"):
        strict(x)
    big = torch.full((5, 3, 4), 3e38)  # finite values whose float32 sum overflows: accepted
    assert torch.isfinite(strict(big)[0]).all()


def test_empty_sequence(lstm):
    with pytest.raises(ValueError, match="at least one time step"):
        lstm(torch.randn(0, 3, 4))


@pytest.mark.parametrize(
    "kwargs,exc,pattern",
    [
        (dict(input_size=0, hidden_size=3), ValueError, "LSTMCell: expected input_size to be a positive int, got 0"),
        (dict(input_size=2, hidden_size=-1), ValueError, "expected hidden_size to be a positive int, got -1"),
        (dict(input_size=2, hidden_size=3, num_layers=0), ValueError, "LSTM: expected num_layers to be a positive int, got 0"),
        (dict(input_size=2, hidden_size=3, dropout=1.5), ValueError, r"expected dropout to be a number in \[0, 1\), got 1.5"),
        (dict(input_size=2, hidden_size=3, zoneout=-0.1), ValueError, "expected zoneout"),
        (dict(input_size=2, hidden_size=3, proj_size=3), ValueError, "expected proj_size < hidden_size"),
        (dict(input_size=2, hidden_size=3, proj_size=-1), ValueError, "expected proj_size to be an int >= 0"),
        (dict(input_size=2, hidden_size=3, cell="conv"), ValueError, "expected cell to be one of"),
        (dict(input_size=2, hidden_size=3, bidirectional="yes"), TypeError, "expected bidirectional to be a bool"),
        (dict(input_size=2.5, hidden_size=3), ValueError, "expected input_size to be a positive int, got 2.5"),
        (dict(input_size=2, hidden_size=3, bias=False, forget_bias=1.0), ValueError, "needs bias=True"),
    ],
)
def test_invalid_constructor_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        lstmkit.LSTM(**kwargs)


def test_invalid_rnn_nonlinearity_and_recurrent_cell():
    with pytest.raises(ValueError, match="RNNCell: expected nonlinearity 'tanh' or 'relu', got 'sigmoid'"):
        lstmkit.RNN(2, 3, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="Recurrent: expected cell to be an lstmkit.cells.Cell, got Linear"):
        lstmkit.Recurrent(torch.nn.Linear(2, 3))


def test_step_bad_input(lstm):
    with pytest.raises(ValueError, match=r"expected x_t of shape \(B, 4\)"):
        lstm.step(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"expected state h of shape \(2, 2, 6\)"):
        lstm.step(torch.randn(2, 4), (torch.zeros(2, 1, 6), torch.zeros(2, 2, 6)))


def test_lengths_with_packed_sequence(lstm):
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(3, 2, 4), [3, 2])
    with pytest.raises(ValueError, match="lengths must not be given with a PackedSequence"):
        lstm(packed, lengths=[3, 2])


def test_cell_bias_type():
    with pytest.raises(TypeError, match="LSTMCell: expected bias to be a bool, got int"):
        LSTMCell(2, 3, bias=1)
