"""lstmkit translate train|translate|evaluate, in-process and as a subprocess, and the same metrics as the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from translate_toy import TINY, write_toy_tsv

from lstmkit.cli.main import main

ROOT = Path(__file__).resolve().parents[1]

#: TINY as command-line options
OPTIONS = ["--model.hidden_size", "32", "--model.embedding_size", "32", "--model.encoder_layers", "1",
           "--data.tokenizer", "word", "--data.min_freq", "1", "--train.epochs", "20", "--train.batch_size", "32",
           "--train.early_stopping", "0", "--run.baselines", "", "--decode.beam", "3", "--run.alignments", "2",
           "--train.lr", "0.01", "--split.dev_fraction", "0.15", "--split.test_fraction", "0.15", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("translate-cli")
    data = write_toy_tsv(tmp / "toy.tsv")
    out = tmp / "run"
    assert main(["translate", "train", "--data", str(data), "--out", str(out), "--show", "The big cat runs .",
                 *OPTIONS]) == 0
    return data, out


def test_train_writes_the_run_folder(run_dir):
    _, out = run_dir
    for name in ("model/config.json", "model/model.safetensors", "model/source_tokenizer.json", "metrics.json",
                 "config.yaml", "report.html", "alignments.json", "test_translations.tsv", "plots/training.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["results"]["lstm"]["beam"]["bleu"] > 50
    assert json.loads((out / "alignments.json").read_text())[0]["source"] == "The big cat runs ."
    rows = (out / "test_translations.tsv").read_text().splitlines()
    assert len(rows) == metrics["split"]["test_sources"] and all(len(r.split("\t")) == 3 for r in rows)


def test_a_cli_run_and_the_api_with_the_same_seed_give_the_same_metrics(run_dir):
    from lstmkit.tasks.translate import Translator

    data, out = run_dir
    api = Translator(**TINY).fit(data)
    cli = json.loads((out / "metrics.json").read_text())["results"]["lstm"]
    for part in ("greedy", "beam"):
        assert api.results_["lstm"][part]["bleu"] == cli[part]["bleu"]
        assert api.results_["lstm"][part]["chrf"] == cli[part]["chrf"]
    assert api.results_["lstm"]["best_val_loss"] == pytest.approx(cli["best_val_loss"], rel=1e-6)


def test_translate_arguments_file_and_alignments(run_dir, tmp_path, capsys):
    _, out = run_dir
    model = str(out / "model")
    assert main(["translate", "translate", "--model", model, "The big cat runs .", "Two red birds ."]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(lines)
    src = tmp_path / "in.txt"
    src.write_text("The dog sleeps .\n\nThe zebra runs .\n", encoding="utf-8")
    dst, al = tmp_path / "out.txt", tmp_path / "al.json"
    assert main(["translate", "translate", "--model", model, "--input", str(src), "--output", str(dst),
                 "--beam", "1", "--alignments", str(al)]) == 0
    captured = capsys.readouterr()
    written = dst.read_text(encoding="utf-8").split("\n")
    assert len(written) == 4 and written[1] == "" and written[0]  # the blank line stays blank
    assert "1 source token(s) in 1 sentence(s) are unknown" in captured.err
    assert [a["source"] for a in json.loads(al.read_text())] == ["The dog sleeps .", "The zebra runs ."]


def test_evaluate_defaults_to_the_test_part_of_the_training_file(run_dir, tmp_path, capsys):
    _, out = run_dir
    metrics = tmp_path / "m.json"
    hyps = tmp_path / "h.tsv"
    assert main(["translate", "evaluate", "--model", str(out / "model"), "--metrics", str(metrics),
                 "--output", str(hyps)]) == 0
    res = json.loads(metrics.read_text())
    trained = json.loads((out / "metrics.json").read_text())["results"]["lstm"]["beam"]
    assert res["part"] == "test" and res["bleu"] == trained["bleu"] and "BLEU" in capsys.readouterr().out
    assert len(hyps.read_text().splitlines()) == res["sentences"]


def test_bad_input_is_an_error_naming_the_place(tmp_path, capsys):
    bad = write_toy_tsv(tmp_path / "bad.tsv", 100, extra_lines=["Hello .\t"])
    assert main(["translate", "train", "--data", str(bad), "--out", str(tmp_path / "o"), *OPTIONS]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: line 6: expected a non-empty target" in err and err.count("\n") == 1
    assert main(["translate", "translate", "--model", str(tmp_path / "nowhere"), "hi"]) == 2
    assert "model folder not found" in capsys.readouterr().err


def test_skip_bad_lines_counts_them(tmp_path):
    bad = write_toy_tsv(tmp_path / "bad.tsv", 100, extra_lines=["one column", "\tempty source"])
    out = tmp_path / "o"
    opts = [o if o != "20" else "1" for o in OPTIONS]  # one epoch is enough here
    assert main(["translate", "train", "--data", str(bad), "--out", str(out), "--skip-bad-lines", *opts]) == 0
    assert json.loads((out / "metrics.json").read_text())["split"]["data"]["skipped_malformed"] == 2
    assert "2 malformed" in (out / "report.html").read_text()


def test_translate_streams_standard_input_as_a_subprocess(run_dir):
    _, out = run_dir
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    res = subprocess.run([sys.executable, "-m", "lstmkit", "translate", "translate", "--model", str(out / "model"),
                          "--beam", "2"], input="The big cat runs .\nA small dog eats .\n", capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert len(res.stdout.strip().splitlines()) == 2
