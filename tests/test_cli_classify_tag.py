"""``lstmkit classify`` and ``lstmkit tag`` end to end: train, predict, evaluate, in-process and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lstmkit.cli.main import main
from lstmkit.data.conll import read_conll, write_conll

FAST = ["--quiet", "--train.num_threads", "1"]


def test_classify_train_predict_evaluate(shared_data, tmp_path, capsys):
    lines = (shared_data / "sst2" / "train.tsv").read_text().splitlines()
    (tmp_path / "train.tsv").write_text("\n".join(lines[:301]) + "\n")
    (tmp_path / "test.tsv").write_text("\n".join(lines[:1] + lines[301:361]) + "\n")
    out = tmp_path / "run"
    rc = main(["classify", "train", "--data", str(tmp_path / "train.tsv"), "--test", str(tmp_path / "test.tsv"),
               "--out", str(out), "--train.epochs", "2", "--model.hidden_size", "16", "--model.embedding_dim", "16",
               "--model.pooling", "last", *FAST])
    assert rc == 0
    text = capsys.readouterr().out
    assert "test: accuracy" in text and (out / "plots" / "confusion.png").is_file()
    assert (out / "plots" / "training.png").is_file()
    assert main(["classify", "predict", "--model", str(out / "model"), "--data", str(tmp_path / "test.tsv"),
                 "--output", str(tmp_path / "p.jsonl")]) == 0
    rows = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(rows) == 60 and {"id", "text", "label", "predicted", "probability"} <= set(rows[0])
    capsys.readouterr()
    assert main(["classify", "predict", "--model", str(out / "model"), "--data", str(tmp_path / "test.tsv")]) == 0
    csv_text = capsys.readouterr().out.splitlines()
    assert csv_text[0] == "id,text,label,predicted,probability,p_0,p_1" and len(csv_text) == 61
    assert main(["classify", "evaluate", "--model", str(out / "model"), "--data", str(tmp_path / "test.tsv"),
                 "--out", str(tmp_path / "eval")]) == 0
    m = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    saved = json.loads((out / "metrics.json").read_text())["test"]
    assert m["accuracy"] == pytest.approx(saved["accuracy"]) and m["examples"] == 60


def test_tag_train_predict_evaluate(shared_data, tmp_path, capsys):
    write_conll(tmp_path / "train.txt", read_conll(shared_data / "conll2003" / "train.txt")[:80])
    write_conll(tmp_path / "dev.txt", read_conll(shared_data / "conll2003" / "dev.txt")[:40])
    out = tmp_path / "run"
    rc = main(["tag", "train", "--data", str(tmp_path / "train.txt"), "--dev", str(tmp_path / "dev.txt"), "--out", str(out),
               "--train.epochs", "1", "--model.hidden_size", "16", "--model.word_dim", "16", *FAST])
    assert rc == 0
    assert "dev: entity F1" in capsys.readouterr().out
    (tmp_path / "tokens.txt").write_text("EU\nrejects\nGerman\ncall\n\nPeter\nBlackburn\n")
    assert main(["tag", "predict", "--model", str(out / "model"), "--data", str(tmp_path / "tokens.txt"),
                 "--output", str(tmp_path / "tagged.conll")]) == 0
    sents = read_conll(tmp_path / "tagged.conll")
    assert [s.tokens for s in sents] == [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"]]
    assert main(["tag", "evaluate", "--model", str(out / "model"), "--data", str(tmp_path / "dev.txt"),
                 "--out", str(tmp_path / "eval")]) == 0
    m = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert m["sentences"] == 40 and "per_type" in m and (tmp_path / "eval" / "predictions.conll").is_file()


def test_bad_input_exits_2_with_a_message_as_a_subprocess(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("EU NNP B-ORG\nrejects O\n")
    r = subprocess.run([sys.executable, "-m", "lstmkit", "tag", "train", "--data", str(bad), "--out", str(tmp_path / "r")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "lstmkit tag: error:" in r.stderr and "bad.txt:2: expected 3 columns, got 2" in r.stderr


def test_unknown_config_key_and_bad_value_in_process(tmp_path, capsys):
    (tmp_path / "t.tsv").write_text("sentence\tlabel\na\t1\nb\t0\n")
    assert main(["classify", "train", "--data", str(tmp_path / "t.tsv"), "--model.pooling", "median"]) == 2
    assert "ClassifyModelConfig: expected pooling in" in capsys.readouterr().err
    (tmp_path / "c.yaml").write_text("model:\n  hiden_size: 3\n")
    assert main(["classify", "train", "--data", str(tmp_path / "t.tsv"), "--config", str(tmp_path / "c.yaml")]) == 2
    assert "unknown key(s) ['hiden_size']" in capsys.readouterr().err
