"""Language-model runs on slices of Tiny Shakespeare: the loss falls, the files are right, every command works,
and the command line gives what the ``lstmkit.LanguageModel`` estimator gives."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from lstmkit import LanguageModel
from lstmkit.cli.main import main
from lstmkit.config import replace
from lstmkit.tasks.lm.config import LMConfig
from lstmkit.tasks.lm.corpus import make_corpus, read_text, split_text
from lstmkit.tasks.lm.run_folder import train_run


def _cfg(shared_data, out, **over) -> LMConfig:
    base = {
        "data.path": str(shared_data / "tinyshakespeare" / "input.txt"), "data.max_chars": 30000,
        "model.hidden_size": 48, "model.num_layers": 1, "model.dropout": 0.0, "model.output_dropout": 0.0,
        "bptt.length": 32, "train.batch_size": 16, "train.epochs": 3, "train.lr": 1e-2, "train.progress_bar": False,
        "train.num_threads": 1, "train.early_stopping": 0, "run.sample_length": 40, "run.out_dir": str(out),
    }
    base.update(over)
    return replace(LMConfig(), **base)


@pytest.fixture(scope="module")
def char_run(tmp_path_factory):
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    out = tmp_path_factory.mktemp("lm") / "char"
    return train_run(_cfg(SHARED_DATA, out))


def test_nanogpt_split(shared_data):
    text = read_text(shared_data / "tinyshakespeare" / "input.txt")
    train, val = split_text(text, 0.1)
    assert len(text) == 1115394 and len(train) == int(len(text) * 0.9) and train + val == text


def test_char_run_loss_falls_and_metrics_agree(char_run):
    hist = char_run.metrics["history"]
    assert len(hist) == 3
    losses = [r["train_loss"] for r in hist]
    assert losses[0] > losses[1] > losses[2]
    V = char_run.estimator.tokenizer_.vocab_size
    val = char_run.metrics["val"]
    assert val["loss"] < math.log(V) - 1.0  # far below a uniform guess (ln V nats)
    assert hist[-1]["val_loss"] < hist[0]["val_loss"]
    assert val["perplexity"] == pytest.approx(math.exp(val["loss"]))
    assert val["bpc"] == pytest.approx(val["loss"] / math.log(2))  # a char model: one token per character
    assert val["tokens"] == val["chars"] == 3000  # the last 10% of 30000 characters, every one scored
    assert val["nats"] == pytest.approx(val["loss"] * val["tokens"])


def test_char_run_folder(char_run):
    out = char_run.out
    for name in ("model/model.safetensors", "model/config.json", "model/tokenizer.json", "metrics.json",
                 "plots/training.png", "report.html", "sample.txt", "config.yaml"):
        assert (out / name).is_file(), name
    assert (out / "plots/training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["parameters"] == char_run.estimator.model_.num_parameters()
    assert "Language model report" in (out / "report.html").read_text()
    sample = (out / "sample.txt").read_text()
    assert len(sample) == 40 and sample == char_run.estimator.generate("", 40, temperature=0.8, seed=0)
    # evaluate on the same split gives the same numbers as training reported
    assert main(["lm", "evaluate", "--model", str(out / "model"), "--metrics", str(out / "eval.json")]) == 0
    res = json.loads((out / "eval.json").read_text())
    assert res["part"] == "val" and res["loss"] == pytest.approx(metrics["val"]["loss"], rel=1e-9)
    assert res["tokens"] == metrics["val"]["tokens"]


@pytest.mark.parametrize("kind,extra", [("word", {"vocab_size": 500}), ("bpe", {"vocab_size": 300})])
def test_word_and_bpe_models_fit_in_memory(shared_data, tmp_path, kind, extra):
    text = read_text(shared_data / "tinyshakespeare" / "input.txt", 30000)
    lm = LanguageModel(tokenizer=kind, hidden_size=48, num_layers=1, dropout=0.0, output_dropout=0.0, length=16,
                       batch_size=8, epochs=1, lr=1e-2, progress_bar=False, num_threads=1, **extra).fit(text)
    corpus = make_corpus(text, lm.config.data)
    val = lm.metrics_["val"]
    assert val["chars"] == len(corpus.val_text) and val["tokens"] == len(corpus.val_ids)
    assert val["bpc"] == pytest.approx(val["nats"] / (len(corpus.val_text) * math.log(2)))
    assert val["loss"] < math.log(lm.tokenizer_.vocab_size)
    assert lm.evaluate(corpus.val_text) == pytest.approx(val, rel=1e-9)  # fit scores its validation text so
    if kind == "word":
        assert val["unknown_tokens"] > 0  # 500 words cannot cover Shakespeare: the rest are <unk>
    lm.save(tmp_path / "model")
    again = LanguageModel.load(tmp_path / "model")
    assert again.tokenizer_.kind == kind and again.model_.vocab_size == lm.tokenizer_.vocab_size
    assert again.generate("First Citizen:", 12, seed=4) == lm.generate("First Citizen:", 12, seed=4)


def test_cli_generate_and_evaluate(char_run, tmp_path, capsys):
    model = str(char_run.out / "model")
    assert main(["lm", "generate", "--model", model, "--prime", "ROMEO:", "--length", "30", "--seed", "3",
                 "--top-k", "10", "--top-p", "0.9", "--temperature", "0.7", "--num-samples", "2",
                 "--output", str(tmp_path / "s.jsonl")]) == 0
    printed = capsys.readouterr().out
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert [r["seed"] for r in rows] == [3, 4] and all(len(r["text"]) == 30 for r in rows)
    assert all("ROMEO:" + r["text"] in printed for r in rows)  # streamed to stdout
    assert main(["lm", "generate", "--model", model, "--length", "20", "--seed", "3", "--output", str(tmp_path / "s.csv"),
                 "--no-stream"]) == 0
    assert len(pd.read_csv(tmp_path / "s.csv")) == 1
    capsys.readouterr()
    assert main(["lm", "evaluate", "--model", model, "--output", str(tmp_path / "lines.csv"),
                 "--metrics", str(tmp_path / "m.json")]) == 0
    lines = pd.read_csv(tmp_path / "lines.csv")
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["lines_scored"] == len(lines) and m["lines_skipped_empty"] > 0
    assert (lines["tokens"] == lines["text"].str.len()).all()
    assert lines["bpc"].to_numpy() == pytest.approx((lines["nats"] / (lines["chars"] * math.log(2))).to_numpy())


def test_cli_train_and_the_same_api_call_give_the_same_metrics(shared_data, tmp_path, capsys, monkeypatch):
    path = shared_data / "tinyshakespeare" / "input.txt"
    out = tmp_path / "cli"
    code = main(["lm", "train", "--data", str(path), "--out", str(out), "--quiet",
                 "--data.max_chars", "8000", "--model.hidden_size", "16", "--model.num_layers", "1", "--train.epochs", "2",
                 "--train.batch_size", "4", "--bptt.length", "16", "--run.sample_length", "10", "--train.num_threads", "1",
                 "--train.seed", "3"])
    assert code == 0
    assert "validation: loss" in capsys.readouterr().out
    assert (out / "report.html").is_file() and (out / "model" / "tokenizer.json").is_file()
    cli = json.loads((out / "metrics.json").read_text())
    monkeypatch.chdir(tmp_path)  # the estimator writes nothing unless asked
    before = set(tmp_path.rglob("*"))
    lm = LanguageModel(max_chars=8000, hidden_size=16, num_layers=1, epochs=2, batch_size=4, length=16,
                       num_threads=1, seed=3, progress_bar=False).fit(read_text(path))
    assert set(tmp_path.rglob("*")) == before
    assert lm.metrics_["val"] == cli["val"]  # the same numbers, to the last bit
    assert [r["train_loss"] for r in lm.history_] == [r["train_loss"] for r in cli["history"]]
    assert lm.generate("", 10, temperature=0.8, seed=3) == (out / "sample.txt").read_text()


def test_cli_subprocess_generate(char_run):
    proc = subprocess.run([sys.executable, "-m", "lstmkit", "lm", "generate", "--model", str(char_run.out / "model"),
                           "--prime", "KING", "--length", "15", "--seed", "0", "--temperature", "0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("KING") and len(proc.stdout.rstrip("\n")) >= 4 + 1


def test_cli_bad_input(tmp_path, capsys, char_run):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n   \n")
    assert main(["lm", "train", "--data", str(empty), "--out", str(tmp_path / "x")]) == 2
    assert "holds no text" in capsys.readouterr().err
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00abc")
    assert main(["lm", "train", "--data", str(binary), "--out", str(tmp_path / "x")]) == 2
    assert f"{binary}: line 1: expected UTF-8 text, got byte 0xff" in capsys.readouterr().err
    assert main(["lm", "train", "--data", str(tmp_path / "missing.txt")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["lm", "train", "--data", str(empty), "--model.embedding_size", "7"]) == 2
    assert "tie_weights" in capsys.readouterr().err
    model = str(char_run.out / "model")
    assert main(["lm", "generate", "--model", model, "--output", str(tmp_path / "s.txt")]) == 2
    assert "expected --output ending in .csv, .jsonl or .json" in capsys.readouterr().err
    assert main(["lm", "generate", "--model", model, "--length", "-3"]) == 2
    assert "length >= 0" in capsys.readouterr().err
    assert main(["lm", "evaluate", "--model", model, "--data", str(empty), "--output", str(tmp_path / "l.csv")]) == 2
    assert "holds no text" in capsys.readouterr().err
    assert main(["lm", "evaluate", "--model", str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err


def test_unseen_characters_become_unk_in_evaluation(char_run, tmp_path, capsys):
    odd = tmp_path / "odd.txt"
    odd.write_text("ROMEO: ¡hola! ñ\n\nJULIET: 你好\n", encoding="utf-8")
    assert main(["lm", "evaluate", "--model", str(char_run.out / "model"), "--data", str(odd), "--output",
                 str(tmp_path / "l.jsonl"), "--metrics", str(tmp_path / "m.json")]) == 0
    res = json.loads((tmp_path / "m.json").read_text())
    text = odd.read_text(encoding="utf-8")
    unseen = [ch for ch in text if ch not in char_run.estimator.tokenizer_.vocab.index]
    assert {"¡", "ñ", "你", "好"} <= set(unseen)  # never in Shakespeare's 65 characters
    assert res["unknown_tokens"] == len(unseen)
    assert res["lines_scored"] == 2 and res["lines_skipped_empty"] == 1
    assert res["tokens"] == len(text)
    assert f"({len(unseen)} <unk>)" in capsys.readouterr().out


def test_time_budget_stops_between_epochs_and_anneals(shared_data, tmp_path):
    from lstmkit.train.time_budget import cosine_fraction

    assert cosine_fraction(0, 10) == pytest.approx(1.0)
    assert cosine_fraction(5, 10, floor=0.0) == pytest.approx(0.5)
    assert cosine_fraction(10, 10, floor=0.01) == pytest.approx(0.01)
    assert cosine_fraction(20, 10, floor=0.01) == pytest.approx(0.01)
    cfg = _cfg(shared_data, tmp_path / "budget", **{"data.max_chars": 8000, "model.hidden_size": 16, "train.epochs": 500,
                                                     "train.batch_size": 4, "bptt.length": 16, "run.max_minutes": 0.05,
                                                     "run.anneal_over_time": True, "train.schedule": "none",
                                                     "run.sample_length": 0})
    lm = LanguageModel(config=cfg).fit(read_text(cfg.data.path))
    assert lm.metrics_["run"]["stopped_by_time_limit"] is True
    assert 1 <= lm.metrics_["run"]["epochs"] < 500
    assert lm.metrics_["run"]["train_seconds"] < 3 * 60 * 0.05 + 30
    with pytest.raises(ValueError, match="expected train.schedule none"):
        replace(cfg, **{"train.schedule": "cosine"})
    with pytest.raises(ValueError, match="needs a time budget"):
        replace(cfg, **{"run.max_minutes": 0})


def test_time_budget_sets_the_learning_rate_from_the_clock():
    import time
    from types import SimpleNamespace

    import torch

    from lstmkit.train.time_budget import TimeBudget

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    trainer = SimpleNamespace(optimizers=[opt], should_stop=False)
    cb = TimeBudget(minutes=1.0, anneal=True, floor=0.0)
    cb.on_train_start(trainer, None)
    cb.start = time.perf_counter() - 30.0  # half the budget spent
    cb.on_train_batch_start(trainer, None, None, 0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05, rel=1e-3)
    cb.on_train_batch_end(trainer, None, None, None, 0)
    assert trainer.should_stop is False
    cb.epoch_start = time.perf_counter() - 40.0  # an epoch takes 40 s: the next would end after the budget
    cb.on_train_epoch_end(trainer, None)
    assert trainer.should_stop is True and cb.stopped


def test_time_budget_continues_from_its_checkpoint_on_resume():
    """A resumed run counts the time before its checkpoint and anneals from the peak rate, not the annealed one."""
    import time
    from types import SimpleNamespace

    import torch

    from lstmkit.train.time_budget import TimeBudget

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    trainer = SimpleNamespace(optimizers=[opt], should_stop=False)
    cb = TimeBudget(minutes=1.0, anneal=True, floor=0.0)
    cb.on_train_start(trainer, None)
    cb.start = time.perf_counter() - 20.0
    cb.slowest_epoch = 5.0
    state = cb.state_dict()  # what the checkpoint keeps, 20 s in
    opt.param_groups[0]["lr"] = 0.07  # the annealed rate the checkpoint's optimiser holds
    resumed = TimeBudget(minutes=1.0, anneal=True, floor=0.0)
    resumed.load_state_dict(state)
    resumed.on_train_start(trainer, None)
    assert resumed.base_lrs == [0.1] and resumed.elapsed() >= 20.0
    resumed.start = time.perf_counter() - 10.0  # 10 s more: half the budget in all
    resumed.on_train_batch_start(trainer, None, None, 0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05, rel=1e-3)
    resumed.epoch_start = time.perf_counter() - 1.0
    resumed.start = time.perf_counter() - 36.0  # 56 s in all; the slowest epoch (5 s, kept) would overrun
    resumed.on_train_epoch_end(trainer, None)
    assert trainer.should_stop is True


def test_missing_default_corpus_says_so(monkeypatch, capsys):
    from lstmkit.tasks.lm import corpus

    monkeypatch.setattr(corpus, "DEFAULT_DATA", corpus.Path("no") / "such" / "input.txt")
    with pytest.raises(FileNotFoundError, match="not shipped with the package: pass --data FILE"):
        corpus.resolve_data_path("")
    assert main(["lm", "train", "--quiet"]) == 2
    assert "Tiny Shakespeare" in capsys.readouterr().err
