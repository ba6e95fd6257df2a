"""Exact resume: a run killed at any point and resumed ends with the weights of the uninterrupted run, bit for bit.

In-process (an exception as the kill) for every kind of loader the tasks
use, then for real: a subprocess killed with SIGKILL after a random
checkpoint (:mod:`resume_helpers`), the generic script here and, marked
slow, every task's ``train`` command line (anomaly, classify, forecast, lm,
tag, translate).
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

import pytest
import torch

import resume_train_script as script
from resume_helpers import check_exact_resume

from lstmkit.train import TrainConfig, fit, seed_everything
from lstmkit.train.batches import TensorBatches

HERE = Path(__file__).resolve().parent
KINDS = ["dataloader", "generator", "tensor", "bucket"]


class _Kill(Exception):
    pass


def _killer(at_epoch: int):
    from lightning.pytorch.callbacks import Callback

    class Killer(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.current_epoch == at_epoch and batch_idx == 1:  # mid-epoch, after the checkpoint before it
                raise _Kill(f"killed in epoch {at_epoch}")

    return Killer()


def _cfg(epochs: int, **kw) -> TrainConfig:
    return TrainConfig(**{"epochs": epochs, "batch_size": 16, "lr": 0.02, "schedule": "cosine", "progress_bar": False, "seed": 3,
                           **kw})


def _script_run(kind: str, out: Path, epochs: int, kill_at: int | None = None, resume: bool = False, **cfg):
    seed_everything(3)
    model = script.Net()
    train, val = script.data(96, 1), script.data(32, 2)
    cbs = [_killer(kill_at)] if kill_at is not None else None
    res = fit(model, script.step, script.loader(kind, *train, seed=3), script.loader("tensor", *val, seed=0),
              _cfg(epochs, **cfg), out_dir=out, resume=resume, callbacks=cbs)
    return model, res


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    differ = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not differ, f"{len(differ)} of {len(sa)} tensors differ after the resume: {differ}"


@pytest.mark.parametrize("kind", KINDS)
def test_killed_mid_epoch_and_resumed_gives_bit_identical_weights(kind, tmp_path):
    epochs, kill_at = 5, 2 + KINDS.index(kind) % 2  # killed in epoch 2 or 3, one batch in
    straight, rs = _script_run(kind, tmp_path / "straight", epochs)
    with pytest.raises(_Kill):
        _script_run(kind, tmp_path / "resumed", epochs, kill_at=kill_at)
    before = _csv(tmp_path / "resumed" / "logs" / "csv" / "metrics.csv")
    assert [r["epoch"] for r in before] == [str(e) for e in range(kill_at)]
    resumed, rr = _script_run(kind, tmp_path / "resumed", epochs, resume=True)
    _assert_same_weights(straight, resumed)
    assert rr.epochs == rs.epochs == epochs and rr.best_score == rs.best_score  # the best-checkpoint record too
    # the history and the CSV log continue: every epoch once, with the uninterrupted run's values
    assert [r["epoch"] for r in rr.history] == list(range(epochs))
    assert rr.history == rs.history
    want, got = _csv(tmp_path / "straight" / "logs" / "csv" / "metrics.csv"), _csv(tmp_path / "resumed" / "logs" / "csv" / "metrics.csv")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(got) == strip(want) and got[: kill_at] == before
    # the time counts the whole run: the part before the checkpoint plus this call
    assert rr.seconds > rr.call_seconds >= 0 and rr.seconds >= float(before[-1]["seconds"])
    assert float(got[-1]["seconds"]) > float(got[kill_at - 1]["seconds"])


def test_plateau_schedule_resumes_with_the_step_taken_after_the_checkpoint(tmp_path):
    """ReduceLROnPlateau steps after the epoch-end checkpoint is written; a resume must still take that step."""
    from lstmkit.train.state_file import read_state

    plateau = dict(schedule="plateau", early_stopping=2, lr=0.05)  # patience 1: the rate drops within a few epochs
    straight, rs = _script_run("tensor", tmp_path / "straight", 7, **plateau)
    with pytest.raises(_Kill):
        _script_run("tensor", tmp_path / "resumed", 7, kill_at=4, **plateau)
    resumed, rr = _script_run("tensor", tmp_path / "resumed", 7, resume=True, **plateau)
    a = read_state(tmp_path / "straight" / "checkpoints" / "last.safetensors")["lr_schedulers"][0]
    b = read_state(tmp_path / "resumed" / "checkpoints" / "last.safetensors")["lr_schedulers"][0]
    assert (b["last_epoch"], b["num_bad_epochs"], b["best"]) == (a["last_epoch"], a["num_bad_epochs"], a["best"])
    assert a["_last_lr"] == b["_last_lr"] and rr.history == rs.history
    _assert_same_weights(straight, resumed)


def test_language_model_streams_resume_with_the_same_offsets(tmp_path):
    from explain_models import TEXT, char_lm
    from lstmkit.tasks.lm.streams import StreamChunks, TBPTTStep

    def run(out, kill_at=None, resume=False):
        model, tok = char_lm(hidden=8, seed=0)
        model.train()
        ids = tok.encode(TEXT * 4)
        chunks = StreamChunks(ids, 4, 7, random_offset=True, seed=5)
        cbs = [_killer(kill_at)] if kill_at is not None else None
        res = fit(model, TBPTTStep(), chunks, StreamChunks(ids[:60], 2, 7), _cfg(5, batch_size=4, early_stopping=2),
                  out_dir=out, resume=resume, val_step=TBPTTStep(), callbacks=cbs)
        return model, res

    assert len({StreamChunks(list(range(400)), 4, 7, random_offset=True, seed=5).offset(e) for e in range(4)}) > 1
    straight, rs = run(tmp_path / "straight")
    with pytest.raises(_Kill):
        run(tmp_path / "resumed", kill_at=2)
    resumed, rr = run(tmp_path / "resumed", resume=True)
    _assert_same_weights(straight, resumed)  # the restored best weights, the same epoch's
    # validation is not monotone here, so the early-stopping count and the best record must have survived the kill
    assert min(r["val_loss"] for r in rs.history) < rs.history[-1]["val_loss"]
    assert (rr.epochs, rr.best_score, rr.history) == (rs.epochs, rs.best_score, rs.history)


def test_killed_after_early_stopping_wrote_its_last_checkpoint_stays_stopped(tmp_path):
    """Early stopping sets trainer.should_stop, which Lightning does not keep: a resume must not train on."""
    from lightning.pytorch.callbacks import Callback

    class KillAtEnd(Callback):  # after the last checkpoint, where a task writes its reports
        def on_train_end(self, trainer, pl_module):
            raise _Kill("killed after training")

    def run(out, callbacks=None, resume=False):
        seed_everything(3)
        model = script.Net()
        train, val = script.data(96, 1), script.data(32, 2)
        res = fit(model, script.step, script.loader("tensor", *train, seed=3), script.loader("tensor", *val, seed=0),
                  _cfg(12, lr=0.2, early_stopping=1), out_dir=out, resume=resume, callbacks=callbacks)
        return model, res

    straight, rs = run(tmp_path / "straight")
    assert rs.epochs < 12  # early stopping ended it
    with pytest.raises(_Kill):
        run(tmp_path / "resumed", callbacks=[KillAtEnd()])
    resumed, rr = run(tmp_path / "resumed", resume=True)
    assert rr.epochs == rs.epochs and rr.history == rs.history
    _assert_same_weights(straight, resumed)


def test_tensor_batches_resume_mid_epoch_and_between_epochs():
    x = torch.arange(23.0)
    a = TensorBatches(x, batch_size=4, seed=9)
    list(a)  # epoch 0
    it = iter(a)
    first = [next(it)[0] for _ in range(2)]  # two batches of epoch 1 handed out
    state = a.state_dict()
    rest = [b[0] for b in it]
    following = [b[0] for b in a]  # epoch 2

    b = TensorBatches(x, batch_size=4, seed=0)  # another seed: everything comes from the state
    b.load_state_dict(state)
    assert [t.tolist() for (t,) in b] == [t.tolist() for t in rest]  # the rest of epoch 1
    assert [t.tolist() for (t,) in b] == [t.tolist() for t in following]
    assert sorted(torch.cat(first + rest).tolist()) == x.tolist()

    c = TensorBatches(x, batch_size=4, seed=0)
    c.load_state_dict(a.state_dict())  # between epochs: the next epoch as the original would draw it
    assert [t.tolist() for (t,) in c] == [t.tolist() for (t,) in a]
    with pytest.raises(ValueError, match="6 batches per epoch, this one has 3"):
        TensorBatches(x, batch_size=8).load_state_dict(state)


def test_loader_state_finds_every_generator_and_stateful_part():
    from torch.utils.data import DataLoader, TensorDataset

    from lstmkit.train.rng_state import loader_state, set_loader_state

    g = torch.Generator().manual_seed(4)
    dl = DataLoader(TensorDataset(torch.arange(10.0)), batch_size=3, shuffle=True, generator=g)
    tb = TensorBatches(torch.arange(10.0), batch_size=3, seed=1)
    state = loader_state({"train": dl, "val": [tb, None]})
    assert set(state) == {"train.generator", "val[0]"}  # the loader's generator (its sampler shares it), TensorBatches
    order = [b[0].tolist() for b in dl]
    list(tb)
    set_loader_state({"train": dl, "val": [tb, None]}, state)
    assert [b[0].tolist() for b in dl] == order  # the generator went back


def test_killed_subprocess_resumes_bit_identical(tmp_path):
    """SIGKILL after a random checkpoint of a real run, resume, compare every tensor with the uninterrupted run."""
    epochs = 6
    kill_after = random.randrange(1, epochs - 1)
    kind = random.choice(KINDS)

    def command(out: Path) -> list[str]:
        return [sys.executable, str(HERE / "resume_train_script.py"), str(out), "--loader", kind, "--epochs", str(epochs)]

    check = check_exact_resume(command, ["--resume"], tmp_path, weights="model.safetensors", kill_after=kill_after,
                               kill_delay=random.uniform(0.0, 0.05))
    assert (check.tensors, check.states, check.csv_files) == (6, 1, 1), (kind, kill_after)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_killed_subprocess_resumes_bit_identical_every_loader(kind, tmp_path):
    def command(out: Path) -> list[str]:
        return [sys.executable, str(HERE / "resume_train_script.py"), str(out), "--loader", kind, "--epochs", "8"]

    for kill_after in (1, 4):
        check_exact_resume(command, ["--resume"], tmp_path / str(kill_after), weights="model.safetensors",
                           kill_after=kill_after)


# Every task's command line, tiny: (argv(data folder, out), weights file, how many checkpoint writes the kill may
# come after at most). Each command trains with the options a user would give (seeded, one thread); the ones that fit
# several networks in one run (forecast: ensemble members of the validation and the final fits, in the backtest and
# the final model; classify: cross-validated set-ups; translate: the LSTM and both baselines) are killed somewhere in
# that sequence, and every fit's final state is compared (see resume_helpers).
_COMMON = ["--train.num_threads", "1", "--quiet"]
TASK_COMMANDS = {
    "anomaly": (lambda data, out: ["anomaly", "train", "--data", str(data / "ecg.csv"), "--data.label", "label",
                                   "--out", str(out), "--detector.hidden_size", "8", "--detector.dropout", "0.2",
                                   "--train.epochs", "6", *_COMMON],
                "model/model.safetensors", 5),
    "classify": (lambda data, out: ["classify", "train", "--data", str(data / "train.tsv"), "--out", str(out),
                                    "--train.epochs", "6", "--model.hidden_size", "8", "--model.embedding_dim", "8",
                                    "--model.dropout", "0.2", "--train.batch_size", "16", *_COMMON],
                 "model/model.safetensors", 4),
    # series: cross-validation (in temporary folders, done again after a kill), then an ensemble of two networks
    # (member 0 in training/, member 1 in training/member-1/): a kill during member 0 leaves member 1 unstarted
    "classify-series": (lambda data, out: ["classify", "train", "--data", str(data / "italy.ts"), "--out", str(out),
                                           "--model.ensemble", "2", "--model.hidden_size", "8", "--train.epochs", "4",
                                           "--select.folds", "2", "--select.neighbours", "false",
                                           "--select.baselines", "false", *_COMMON],
                        "model/model.safetensors", 7),
    # the LSTM forced (no statsforecast peers): the automatic choice may otherwise pick a model that does not train;
    # two members, a checkpoint every second pass (a kill between them redoes a pass)
    "forecast": (lambda data, out: ["forecast", "train", "--out", str(out), "--select.model", "lstm",
                                    "--select.peers", "", "--train.epochs", "4", "--train.checkpoint_every", "2",
                                    "--model.ensemble", "2", "--model.hidden_size", "8", "--model.num_layers", "2",
                                    "--model.dropout", "0.2", "--train.batch_size", "8", "--plot_series", "1", *_COMMON],
                 "model/model.safetensors", 10),
    "lm": (lambda data, out: ["lm", "train", "--data", str(data / "text.txt"), "--out", str(out),
                              "--model.hidden_size", "16", "--model.embedding_size", "16", "--model.dropout", "0.2",
                              "--train.epochs", "6", "--run.sample_length", "20", *_COMMON],
           "model/model.safetensors", 5),
    "tag": (lambda data, out: ["tag", "train", "--data", str(data / "train.conll"), "--dev", str(data / "dev.conll"),
                               "--out", str(out), "--model.hidden_size", "8", "--model.word_dim", "8",
                               "--model.char_dim", "8", "--train.epochs", "6", "--train.batch_size", "16", *_COMMON],
            "model/model.safetensors", 5),
    # the LSTM and both baselines (no attention, a Transformer), each resumed from its own checkpoint
    "translate": (lambda data, out: ["translate", "train", "--data", str(data / "pairs.tsv"), "--out", str(out),
                                     "--data.tokenizer", "word", "--model.hidden_size", "16",
                                     "--model.embedding_size", "16", "--model.encoder_layers", "1",
                                     "--transformer.layers", "1", "--train.epochs", "4", "--train.batch_size", "32",
                                     "--decode.beam", "2", "--run.alignments", "1", *_COMMON],
                  "model/model.safetensors", 11),
}


def _blocks(path: Path, n: int) -> str:
    """The first ``n`` blank-line-separated sentences of a CoNLL file."""
    return "\n\n".join(path.read_text().strip().split("\n\n")[:n]) + "\n\n"


def _task_data(data: Path, shared: Path) -> None:
    """Small slices of the shared data sets, written into ``data`` (forecast uses its built-in series)."""
    data.mkdir()
    sst = (shared / "sst2" / "train.tsv").read_text().splitlines()
    (data / "train.tsv").write_text("\n".join(sst[:161]) + "\n")
    (data / "italy.ts").write_bytes((shared / "ucr" / "ItalyPowerDemand_TRAIN.ts").read_bytes())
    ecg = (shared / "anomaly" / "mitdb.csv").read_text().splitlines()
    (data / "ecg.csv").write_text("\n".join(ecg[:1501]) + "\n")
    (data / "text.txt").write_text((shared / "tinyshakespeare" / "input.txt").read_text()[:20000])
    (data / "train.conll").write_text(_blocks(shared / "conll2003" / "train.txt", 120))
    (data / "dev.conll").write_text(_blocks(shared / "conll2003" / "dev.txt", 40))
    pairs = (shared / "translation" / "eng-fra.tsv").read_text().splitlines()
    (data / "pairs.tsv").write_text("\n".join(pairs[:400]) + "\n")


def test_every_task_command_has_a_resume_case():
    from lstmkit.cli.main import build_parser

    parser = build_parser()
    tasks = {"anomaly", "classify", "forecast", "lm", "tag", "translate"}
    assert {name.split("-")[0] for name in TASK_COMMANDS} == tasks
    for task in sorted(tasks):  # each task's train command takes --resume
        args = parser.parse_args([task, "train", "--data", "x", "--dev", "y", "--resume"] if task == "tag" else
                                 [task, "train", "--data", "x", "--resume"])
        assert args.resume is True, task


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(TASK_COMMANDS))
def test_task_command_killed_and_resumed_bit_identical(task, tmp_path, shared_data):
    """Each task's train command: SIGKILL after a random checkpoint (a little into the next epoch), --resume, compare."""
    argv, weights, most = TASK_COMMANDS[task]
    data = tmp_path / "data"
    _task_data(data, shared_data)

    def command(out: Path) -> list[str]:
        return [sys.executable, "-m", "lstmkit", *argv(data, out)]

    kill_after = random.randrange(1, most + 1)
    check = check_exact_resume(command, ["--resume"], tmp_path / "runs", weights=weights, kill_after=kill_after,
                               kill_delay=random.uniform(0.0, 0.1))
    assert check.tensors > 0 and check.states >= 1 and check.csv_files == check.states, (task, kill_after, check)
