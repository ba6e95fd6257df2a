"""The torch backend keeps a layer's weights in one cuDNN buffer on a GPU (as torch.nn does)."""

from __future__ import annotations

import pytest
import torch

import lstmkit
from lstmkit.kernels.torch_backend import flat_weights, keep_cudnn_flat

needs_cudnn = pytest.mark.skipif(
    not (torch.cuda.is_available() and torch.backends.cudnn.is_available()), reason="needs a CUDA device with cuDNN"
)


def test_tensors_that_are_not_the_layers_parameters_are_never_moved():
    layer = lstmkit.LSTM(4, 5, backend="torch")
    weights = [w.detach().clone() for w in flat_weights(list(layer.cells))]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    weights = [w.to(device) for w in weights]
    before = [w.data_ptr() for w in weights]
    assert keep_cudnn_flat(weights, list(layer.cells), layer.spec(), torch.randn(3, 2, 4, device=device)) is False
    assert [w.data_ptr() for w in weights] == before


def test_nothing_is_flattened_on_the_cpu():
    layer = lstmkit.LSTM(4, 5, num_layers=2, backend="torch")
    weights = flat_weights(list(layer.cells))
    before = [w.data_ptr() for w in weights]
    assert keep_cudnn_flat(weights, list(layer.cells), layer.spec(), torch.randn(3, 2, 4)) is False
    assert [w.data_ptr() for w in weights] == before


@needs_cudnn
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_weights_share_one_buffer_and_the_numbers_match_torch_nn(kind, tmp_path):
    torch.manual_seed(0)
    make = lstmkit.LSTM if kind == "lstm" else lstmkit.GRU
    ref = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(6, 8, num_layers=2, bidirectional=True).cuda()
    layer = make(6, 8, num_layers=2, bidirectional=True, backend="torch").cuda()
    with torch.no_grad():  # the same weights, by name
        for cell_weights, ref_weight in zip(flat_weights(list(layer.cells)), ref._flat_weights):
            cell_weights.copy_(ref_weight)
    params = list(layer.parameters())
    x = torch.randn(7, 3, 6, device="cuda")
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, _ = layer(xa)
    want, _ = ref(xb)
    weights = flat_weights(list(layer.cells))
    assert len({w.untyped_storage().data_ptr() for w in weights}) == 1  # one buffer
    assert list(layer.parameters()) == params  # the same Parameter objects
    torch.testing.assert_close(out, want)
    out.square().sum().backward()
    want.square().sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    for w, r in zip(weights, ref._flat_weights):
        torch.testing.assert_close(w.grad, r.grad)
    # a second call finds the buffer as it is; checkpoints copy each tensor
    assert keep_cudnn_flat(weights, list(layer.cells), layer.spec(), x) is False
    from lstmkit.train.checkpoint import read_weights, read_model_config, save_model

    folder = save_model(tmp_path / "m", layer, "test", {})
    saved = read_weights(folder, read_model_config(folder), "cpu")
    for name, p in layer.state_dict().items():
        assert torch.equal(saved[name], p.cpu()), name


@needs_cudnn
def test_a_first_call_in_inference_mode_leaves_the_weights_trainable():
    layer = lstmkit.LSTM(6, 8, backend="torch").cuda()
    x = torch.randn(5, 2, 6, device="cuda")
    with torch.inference_mode():
        layer(x)
    weights = flat_weights(list(layer.cells))
    assert len({w.untyped_storage().data_ptr() for w in weights}) == len(weights)  # not flattened there
    out, _ = layer(x)  # an ordinary call flattens, and trains
    out.sum().backward()
    assert len({w.untyped_storage().data_ptr() for w in weights}) == 1
    assert all(w.grad is not None and torch.isfinite(w.grad).all() for w in weights)
