"""lstmkit.train: pickle-free state files, model folders, resume and seeding."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.train import ModelFolderError, TrainConfig, fit, load_model, register_model, save_model, seed_everything
from lstmkit.train.state_file import read_state, write_state


def test_state_file_round_trip(tmp_path):
    state = {
        "epoch": 3,
        "weights": {"a": torch.arange(6.0).view(2, 3), "b": torch.tensor(2.5)},
        "optimizer_states": [{"state": {0: {"step": torch.tensor(4.0)}}, "param_groups": [{"lr": 0.1, "params": [0]}]}],
        "best": float("inf"),
        "pair": (1, "x"),
        "none": None,
    }
    path = tmp_path / "s.safetensors"
    write_state(path, state)
    back = read_state(path)
    assert back["epoch"] == 3 and back["pair"] == (1, "x") and back["none"] is None
    assert math.isinf(back["best"])
    assert torch.equal(back["weights"]["a"], state["weights"]["a"])
    assert 0 in back["optimizer_states"][0]["state"]  # integer keys survive
    assert back["optimizer_states"][0]["state"][0]["step"].item() == 4.0
    # the file is plain safetensors: no pickle anywhere
    assert path.read_bytes()[:8] != b"\x80\x04\x95"


def test_state_file_rejects_objects(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store object at .x"):
        write_state(tmp_path / "s.safetensors", {"x": object()})


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "s.safetensors"
    write_state(path, {"v": torch.ones(2)})

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_state(path, {"v": torch.zeros(2)})
    monkeypatch.undo()
    assert torch.equal(read_state(path)["v"], torch.ones(2))  # the old file is whole
    assert [p.name for p in tmp_path.iterdir()] == ["s.safetensors"]  # no temporary left behind


@register_model("test-linear")
def _build_linear(config: dict) -> torch.nn.Module:
    return torch.nn.Linear(config["n_in"], config["n_out"])


def test_model_folder_round_trip(tmp_path):
    model = torch.nn.Linear(4, 2)
    x = torch.randn(5, 4)
    save_model(tmp_path / "m", model, "test-linear", {"n_in": 4, "n_out": 2}, extra={"note": "hi"})
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["kind"] == "test-linear" and meta["extra"] == {"note": "hi"}
    loaded, meta = load_model(tmp_path / "m")
    assert torch.equal(loaded(x), model(x))


def test_model_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"kind": "nope", "config": {}}))
    with pytest.raises(ModelFolderError, match="unknown model kind 'nope'"):
        load_model(tmp_path)


def _saved_linear(tmp_path):
    model = torch.nn.Linear(4, 2)
    folder = save_model(tmp_path / "m", model, "test-linear", {"n_in": 4, "n_out": 2})
    return model, folder


def test_model_folder_naming_a_module_is_refused(tmp_path):
    _, folder = _saved_linear(tmp_path)
    meta = json.loads((folder / "config.json").read_text())
    meta["module"] = "os"
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFolderError, match=r"config.json: field 'module' is not allowed"):
        load_model(folder)


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_damaged_weights_are_one_line_errors(tmp_path, damage):
    _, folder = _saved_linear(tmp_path)
    w = folder / "model.safetensors"
    blob = w.read_bytes()
    w.write_bytes({"empty": b"", "truncated": blob[: len(blob) // 2], "garbage": b"\x00" * 40}[damage])
    with pytest.raises(ModelFolderError, match=r"model.safetensors: ") as info:
        load_model(folder)
    assert "\n" not in str(info.value)


def test_damaged_weights_without_a_recorded_digest_still_fail_cleanly(tmp_path):
    _, folder = _saved_linear(tmp_path)
    meta = json.loads((folder / "config.json").read_text())
    del meta["weights_sha256"]
    (folder / "config.json").write_text(json.dumps(meta))
    w = folder / "model.safetensors"
    w.write_bytes(w.read_bytes()[:30])
    with pytest.raises(ModelFolderError, match="not a readable safetensors file"):
        load_model(folder)


def test_edited_config_is_caught(tmp_path):
    _, folder = _saved_linear(tmp_path)
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["n_out"] = 3
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFolderError, match=r"field 'config' differs from the configuration the weights were saved"):
        load_model(folder)


def test_shape_mismatch_names_the_tensor(tmp_path):
    from lstmkit.train.checkpoint import load_state_checked

    model = torch.nn.Linear(4, 2)
    with pytest.raises(ModelFolderError, match=r"tensor 'weight': expected shape \(3, 4\) from the config, got \(2, 4\)"):
        load_state_checked(torch.nn.Linear(4, 3), model.state_dict(), "w.safetensors")
    with pytest.raises(ModelFolderError, match=r"missing \['bias'\]"):
        load_state_checked(torch.nn.Linear(4, 2), {"weight": model.weight}, "w.safetensors")


def test_invalid_json_names_the_file(tmp_path):
    _, folder = _saved_linear(tmp_path)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelFolderError, match=r"config.json: invalid JSON at line 1"):
        load_model(folder)


def test_kind_of_another_estimator_is_refused(tmp_path):
    _, folder = _saved_linear(tmp_path)
    with pytest.raises(ModelFolderError, match=r"Forecaster: .*field 'kind': expected 'forecast-lstm', got 'test-linear'"):
        load_model(folder, kinds=["forecast-lstm"], who="Forecaster")


def _problem():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1
    return TensorDataset(x, y)


def _step(model, batch):
    x, y = batch
    return {"loss": torch.nn.functional.mse_loss(model(x), y)}


def _cfg(epochs, **kw):
    return TrainConfig(epochs=epochs, batch_size=16, lr=0.05, progress_bar=False, schedule="cosine", **kw)


def _train(tmp_path, name, epochs, seed=0, resume=False, model=None):
    seed_everything(seed)
    model = model or torch.nn.Linear(3, 1)
    loader = DataLoader(_problem(), batch_size=16, shuffle=False)
    res = fit(model, _step, loader, None, _cfg(epochs, seed=seed), out_dir=tmp_path / name, resume=resume)
    return model, res


def test_loss_falls_and_logs_written(tmp_path):
    model, res = _train(tmp_path, "a", 8)
    losses = [r["train_loss"] for r in res.history]
    assert len(losses) == 8 and losses[-1] < 0.5 * losses[0]
    assert (tmp_path / "a" / "logs" / "csv" / "metrics.csv").is_file()
    assert res.last_path and res.last_path.endswith("last.safetensors")


def test_same_seed_same_result_other_seed_differs(tmp_path):
    m1, _ = _train(tmp_path, "s1", 3, seed=7)
    m2, _ = _train(tmp_path, "s2", 3, seed=7)
    m3, _ = _train(tmp_path, "s3", 3, seed=8)
    assert torch.equal(m1.weight, m2.weight) and torch.equal(m1.bias, m2.bias)
    assert not torch.equal(m1.weight, m3.weight)


class _Kill(Exception):
    pass


def _killer(at_epoch):
    from lightning.pytorch.callbacks import Callback

    class Killer(Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            if trainer.current_epoch == at_epoch:
                raise _Kill(f"killed at epoch {at_epoch}")

    return Killer()


def test_killed_run_resumes_exactly(tmp_path):
    straight, _ = _train(tmp_path, "straight", 6)
    # the same 6-epoch run, killed as epoch 3 starts (after the epoch-2 checkpoint)
    seed_everything(0)
    loader = DataLoader(_problem(), batch_size=16, shuffle=False)
    with pytest.raises(_Kill):
        fit(torch.nn.Linear(3, 1), _step, loader, None, _cfg(6), out_dir=tmp_path / "resumed", callbacks=[_killer(3)])
    seed_everything(0)
    fresh = torch.nn.Linear(3, 1)  # resume must overwrite these weights from the checkpoint
    res = fit(fresh, _step, loader, None, _cfg(6), out_dir=tmp_path / "resumed", resume=True)
    assert res.resumed_from and res.epochs == 6
    assert [r["epoch"] for r in res.history] == [0, 1, 2, 3, 4, 5]  # the whole run: no epoch twice, none lost
    torch.testing.assert_close(fresh.weight, straight.weight)
    torch.testing.assert_close(fresh.bias, straight.bias)


def test_resume_without_checkpoint_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        _train(tmp_path, "none", 2, resume=True)


def test_validation_restores_best_weights(tmp_path):
    seed_everything(0)
    model = torch.nn.Linear(3, 1)
    loader = DataLoader(_problem(), batch_size=16)
    res = fit(model, _step, loader, loader, _cfg(4, early_stopping=2), out_dir=tmp_path / "v")
    assert res.best_path and res.best_path.endswith("best.safetensors")
    best = min(r["val_loss"] for r in res.history)
    assert res.best_score == pytest.approx(best)
    with torch.no_grad():
        x, y = _problem().tensors
        assert torch.nn.functional.mse_loss(model(x), y).item() == pytest.approx(best, rel=1e-5)


def test_tensor_batches_cover_every_example_once_and_repeat_by_seed():
    from lstmkit.train.batches import TensorBatches

    x = torch.arange(10.0)
    y = x * 2
    batches = TensorBatches(x, y, batch_size=4, seed=3)
    assert len(batches) == 3
    epoch1 = list(batches)
    assert [len(b[0]) for b in epoch1] == [4, 4, 2]
    seen = torch.cat([b[0] for b in epoch1])
    assert sorted(seen.tolist()) == x.tolist()
    assert all(torch.equal(b[1], b[0] * 2) for b in epoch1)  # rows stay aligned
    epoch2 = torch.cat([b[0] for b in batches])
    assert not torch.equal(seen, epoch2)  # reshuffled each epoch
    again = torch.cat([b[0] for b in TensorBatches(x, y, batch_size=4, seed=3)])
    assert torch.equal(again, seen)  # the same seed, the same order
    with pytest.raises(ValueError, match="same first dimension"):
        TensorBatches(x, y[:5], batch_size=2)


def test_lstmkit_load_refuses_unknown_kinds_and_imports_nothing_named_in_a_file(tmp_path):
    import lstmkit

    _, folder = _saved_linear(tmp_path)
    meta = json.loads((folder / "config.json").read_text())
    meta["kind"] = "evil"
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFolderError, match=r"lstmkit.load: unknown model kind 'evil'; expected one of \["):
        lstmkit.load(folder)


def test_fit_without_out_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seed_everything(0)
    model = torch.nn.Linear(3, 1)
    loader = DataLoader(_problem(), batch_size=16, shuffle=False)
    res = fit(model, _step, loader, loader, _cfg(2))
    assert len(res.history) == 2 and res.best_path is None and res.last_path is None
    assert list(tmp_path.iterdir()) == []  # no lightning_logs/, no runs/, no checkpoints


def test_atomic_writes_fsync_unless_told_not_and_the_epoch_log_does_not(tmp_path, monkeypatch):
    """Outputs are flushed to disk before they replace the old file; the
    metrics CSV, rewritten every epoch and rebuilt from the checkpoint on
    resume, is replaced atomically without the fsync."""
    import os

    from lstmkit.io import files
    from lstmkit.train.callbacks import EpochLog

    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    files.atomic_write_text(tmp_path / "a.json", "{}")
    assert len(synced) == 1 and (tmp_path / "a.json").read_text() == "{}"
    files.atomic_write_text(tmp_path / "a.json", "[]", durable=False)
    assert len(synced) == 1 and (tmp_path / "a.json").read_text() == "[]"
    log = EpochLog(tmp_path / "metrics.csv")
    log.rows, log.extra = [{"epoch": 0, "loss": 1.5}], [{"step": 3, "seconds": 0.1}]
    log._write()
    assert len(synced) == 1
    assert (tmp_path / "metrics.csv").read_text().splitlines() == ["epoch,step,seconds,loss", "0,3,0.1,1.5"]
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"


def test_plateau_schedule_without_validation_follows_the_training_loss(tmp_path):
    # a target the model cannot fit: the training loss levels off and the plateau schedule must see it (before the
    # fix Lightning stopped at the first epoch's end, asking for val_loss, which nobody logs without validation data)
    from lightning.pytorch.callbacks import Callback

    rates = []

    class Rates(Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            rates.append(trainer.optimizers[0].param_groups[0]["lr"])

    g = torch.Generator().manual_seed(3)
    data = TensorDataset(torch.randn(64, 3, generator=g), torch.randn(64, 1, generator=g))
    seed_everything(0)
    res = fit(torch.nn.Linear(3, 1), _step, DataLoader(data, batch_size=16), None,
              TrainConfig(epochs=25, batch_size=16, lr=0.05, progress_bar=False, schedule="plateau", early_stopping=2),
              out_dir=tmp_path / "p", callbacks=[Rates()])
    assert res.epochs == 25 and len(rates) == 25
    assert rates[0] == 0.05 and min(rates) < 0.05  # the rate was cut once the training loss stopped improving
