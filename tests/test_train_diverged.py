"""A non-finite loss, gradient or weight stops training with one line, and never reaches a checkpoint."""

from __future__ import annotations

import math

import pytest
import torch

from lstmkit.train import TrainConfig, TrainingDiverged, fit, seed_everything
from lstmkit.train.batches import TensorBatches
from lstmkit.train.state_file import read_state


def _data():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(96, 3, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 8)
        self.b = torch.nn.Linear(8, 1)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


def _step(model, batch):
    x, y = batch
    return {"loss": torch.nn.functional.mse_loss(model(x), y)}


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 6, "batch_size": 16, "lr": 0.05, "schedule": "none", "progress_bar": False, **kw})


def _fit(step, out=None, **kw):
    seed_everything(0)
    model = _Net()
    return model, fit(model, step, TensorBatches(*_data(), batch_size=16), None, _cfg(**kw), out_dir=out)


def _nan_loss_after(n_steps: int):
    calls = [0]

    def step(model, batch):
        calls[0] += 1
        out = _step(model, batch)
        if calls[0] > n_steps:
            out["loss"] = out["loss"] * float("nan")
        return out

    return step


def test_nan_loss_stops_with_one_line_and_keeps_the_last_good_checkpoint(tmp_path):
    clean, _ = _fit(_step, tmp_path / "clean", epochs=2)  # what the first two epochs give
    with pytest.raises(TrainingDiverged) as info:
        _fit(_nan_loss_after(12), tmp_path / "run")  # 6 batches per epoch: the 13th is epoch 3's first
    e = info.value
    msg = str(e)
    assert "\n" not in msg and isinstance(e, RuntimeError)
    assert msg.startswith("training diverged at epoch 3 of 6, batch 1 of 6, optimizer step 13: the loss is nan; ")
    last = tmp_path / "run" / "checkpoints" / "last.safetensors"
    assert f"the last good checkpoint (after epoch 2) is kept at {last}" in msg and "train.lr (now 0.05)" in msg
    assert (e.epoch, e.batch, e.step, e.quantity, e.checkpoint) == (3, 1, 13, "loss", str(last))
    state = read_state(last)["state_dict"]
    for k, v in clean.state_dict().items():  # the epoch-2 weights, untouched by the failing epoch
        assert torch.isfinite(state[f"model.{k}"]).all() and torch.equal(state[f"model.{k}"], v), k
    rows = (tmp_path / "run" / "logs" / "csv" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1"]


def test_nan_gradient_with_a_finite_loss_is_caught_before_the_update(tmp_path):
    def step(model, batch):
        out = _step(model, batch)
        out["loss"] = out["loss"] + 0.0 * torch.sqrt(model.a.weight[0, 0] * 0)  # finite value, NaN gradient
        return out

    seed_everything(0)
    model = _Net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match=r"at epoch 1 of 2, batch 1 of 6, optimizer step 1: the gradient of "
                                               r"a\.weight holds 1 of 24 values non-finite \(nan\); no checkpoint was "
                                               r"written before it") as info:
        fit(model, step, TensorBatches(*_data(), batch_size=16), None, _cfg(epochs=2), out_dir=tmp_path / "g")
    assert info.value.quantity == "gradient" and info.value.name == "a.weight"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # no update was made


def test_overflowing_update_is_caught_as_a_weight(tmp_path):
    def step(model, batch):  # finite loss and gradients, too large for float32 once multiplied by the learning rate
        return {"loss": _step(model, batch)["loss"] * 1e6}

    with pytest.raises(TrainingDiverged, match=r"optimizer step 1: after the update, weight \S+ holds \d+ of \d+ "
                                               r"values non-finite \(.*inf.*\)") as info:
        _fit(step, tmp_path / "w", optimizer="sgd", lr=1e37, grad_clip=0.0, epochs=2)
    assert info.value.quantity == "weight" and "set train.grad_clip" in str(info.value)


def test_without_out_dir_the_message_says_nothing_was_saved():
    with pytest.raises(TrainingDiverged, match=r"the loss is nan; nothing was saved \(no out_dir\)"):
        _fit(_nan_loss_after(3))


def test_healthy_training_is_not_stopped():
    _, res = _fit(_step, epochs=3)
    assert res.epochs == 3 and all(math.isfinite(r["train_loss"]) for r in res.history)


def test_command_line_prints_one_line_and_exits_1(tmp_path, capsys):
    from lstmkit.cli.main import main

    out = tmp_path / "run"
    rc = main(["forecast", "train", "--out", str(out), "--train.epochs", "2", "--select.model", "lstm",
               "--model.ensemble", "1", "--model.hidden_size", "4", "--train.optimizer", "sgd", "--train.lr", "1e38",
               "--train.grad_clip", "0", "--train.schedule", "none", "--quiet", "--plot_series", "1"])
    err = capsys.readouterr().err.strip()
    assert rc == 1, err
    assert len(err.splitlines()) == 1 and err.startswith("lstmkit forecast: error: training diverged at epoch 1 of 2")
    assert not (out / "model" / "model.safetensors").exists()  # no model with non-finite weights


def test_the_check_flags_nan_and_inf_but_not_huge_finite_values():
    from lstmkit.train.module import _first_nonfinite

    assert _first_nonfinite([("w", torch.tensor([1e20, 1.0])), ("b", torch.zeros(3))]) is None  # its norm overflows
    assert _first_nonfinite([("w", torch.ones(2)), ("b", torch.tensor([0.0, float("inf")]))])[0] == "b"
    assert _first_nonfinite([("w", torch.tensor([float("nan")]))])[0] == "w"
    assert _first_nonfinite([]) is None
