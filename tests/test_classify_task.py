"""Sequence classification: readers and their bad-input handling, encoding, short real runs, metrics and outputs."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from lstmkit.config import replace
from lstmkit.tasks.classify import api
from lstmkit.tasks.classify.config import ClassifyConfig, ClassifyDataConfig
from lstmkit.tasks.classify.data import read_examples
from lstmkit.tasks.classify.encoding import SequenceEncoder
from lstmkit.tasks.classify.estimator import SequenceClassifier
from lstmkit.tasks.classify.training import predict_proba

QUIET = {"train.progress_bar": False, "train.num_threads": 1}
#: one network as configured, a validation share however small: what these short runs check
FIXED = {"select.mode": "off", "data.min_validation": 0, "model.ensemble": 1}


def _cfg(**over) -> ClassifyConfig:
    return replace(ClassifyConfig(), **{**QUIET, **over})


# ------------------------------------------------------------------ readers
def test_tsv_blank_lines_skipped_and_bad_rows_named(tmp_path):
    p = tmp_path / "a.tsv"
    p.write_text("sentence\tlabel\ngood film \t1\n\n\nbad film\t0\n")
    ex = read_examples(p, ClassifyDataConfig())
    assert ex.kind == "text" and ex.items == ["good film", "bad film"] and ex.labels == ["1", "0"]
    assert ex.ids == ["line 2", "line 5"]
    p.write_text("sentence\tlabel\ngood film\t1\n \t0\n")
    with pytest.raises(ValueError, match=r"a.tsv:3: expected text in column 'sentence'"):
        read_examples(p, ClassifyDataConfig())
    p.write_text("sentence\tlabel\ngood film\t1\textra\n")
    with pytest.raises(ValueError, match=r"a.tsv:2: expected 2 fields"):
        read_examples(p, ClassifyDataConfig())
    p.write_text("text\tlabel\ngood\t1\n")
    with pytest.raises(ValueError, match="expected a text column 'sentence'"):
        read_examples(p, ClassifyDataConfig())


def test_csv_series_wide_and_long(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text("label,t0,t1,t2\na,1,2,3\nb,4,5,\n")
    ex = read_examples(wide, ClassifyDataConfig())
    assert ex.kind == "series" and ex.labels == ["a", "b"]
    assert ex.items[0].shape == (3, 1) and ex.items[1].shape == (2, 1)  # trailing gap = a shorter series
    long = tmp_path / "long.csv"
    long.write_text("id,t,x,y,label\ns1,1,0.5,1,a\ns1,0,0.1,2,a\ns2,0,3,4,b\n")
    ex = read_examples(long, ClassifyDataConfig(id_column="id", time_column="t"))
    assert ex.ids == ["s1", "s2"] and ex.labels == ["a", "b"]
    np.testing.assert_allclose(ex.items[0], [[0.1, 2], [0.5, 1]])  # sorted by t, channels x and y
    long.write_text("id,x,label\ns1,1,a\ns1,2,b\n")
    with pytest.raises(ValueError, match="expected one label per series, got"):
        read_examples(long, ClassifyDataConfig(id_column="id"))
    wide.write_text("label,t0,t1,t2\na,1,,3\n")
    with pytest.raises(ValueError, match=r"wide.csv: line 2, column 't1': expected a finite value .*got a missing "
                                         r"value \(NaN\) before the series' end"):
        read_examples(wide, ClassifyDataConfig())


def test_csv_series_with_a_row_number_column_leaves_it_out(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text(",label,t0,t1,t2\n0,a,1,2,3\n1,b,4,5,6\n")  # pandas' to_csv with its index
    ex = read_examples(wide, ClassifyDataConfig())
    np.testing.assert_allclose(ex.items[1][:, 0], [4, 5, 6])  # not the row number 1 as a first step
    assert any("numbers the rows" in n for n in ex.notes)


def test_ts_file_reads_as_series(shared_data):
    ex = read_examples(shared_data / "ucr" / "BasicMotions_TRAIN.ts", ClassifyDataConfig())
    assert ex.kind == "series" and len(ex) == 40 and ex.items[0].shape == (100, 6)
    assert set(ex.labels) == {"Standing", "Running", "Walking", "Badminton"}


# ------------------------------------------------------------------ encoding
def test_text_encoding_unknown_words_and_truncation(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("sentence\tlabel\nthe cat sat\t1\nthe dog\t0\n")
    cfg = ClassifyDataConfig(max_length=2)
    enc = SequenceEncoder.fit(read_examples(p, cfg), cfg)
    q = tmp_path / "q.tsv"
    q.write_text("sentence\tlabel\nthe zebra\t1\nthe cat sat on\t0\n")
    tensors, cut = enc.encode(read_examples(q, cfg))
    unk = enc.tokenizer.unk_id
    assert tensors[0].tolist() == [enc.tokenizer.encode("the")[0], unk]  # unseen word -> <unk>
    assert len(tensors[1]) == 2 and cut == 1  # overlong: first max_length words, counted


def test_series_encoding_frames_diff_and_scaling():
    from lstmkit.tasks.classify.data import Examples

    s = np.arange(10, dtype=float)[:, None]
    ex = Examples("series", [s, s * 2], ["a", "b"], ["0", "1"], "mem")
    cfg = ClassifyDataConfig(frame=4, diff=True, normalize="global", max_length=0)
    enc = SequenceEncoder.fit(ex, cfg)
    (t0, t1), cut = enc.encode(ex)
    assert enc.input_size == 8 and t0.shape == (3, 8) and cut == 0  # ceil(10 / 4) frames of 4 steps x 2 channels
    feats = np.concatenate([enc._features(s), enc._features(s * 2)])
    np.testing.assert_allclose(enc.mean, feats.mean(0))
    # the last partial frame repeats the final step
    assert torch.allclose(t0[2].view(4, 2)[2:], t0[2].view(4, 2)[1:2].expand(2, 2))
    with pytest.raises(ValueError, match="expected series with 1 channel"):
        enc.encode(Examples("series", [np.zeros((5, 2))], None, ["x"], "mem"))


# ------------------------------------------------------------------ short real runs
@pytest.fixture(scope="module")
def sst_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sst")
    from pathlib import Path

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sst2"
    if not shared.is_dir():
        pytest.skip("shared SST-2 data not found")
    lines = (shared / "train.tsv").read_text().splitlines()
    (root / "train.tsv").write_text("\n".join(lines[:601]) + "\n")
    (root / "val.tsv").write_text("\n".join(lines[:1] + lines[601:801]) + "\n")
    cfg = _cfg(**{"train.epochs": 4, "model.embedding_dim": 32, "model.hidden_size": 32, "train.lr": 5e-3,
                  "model.pooling": "attention"})
    return api.train(cfg, root / "train.tsv", root / "run", val_path=root / "val.tsv", test_path=shared / "test.tsv",
                     say=lambda s: None), shared


def test_sst2_slice_loss_falls_and_metrics_match_the_predictions(sst_run):
    run, shared = sst_run
    losses = [h["train_loss"] for h in run.history]
    assert len(losses) == 4 and losses[-1] < losses[0] - 0.05
    m = run.metrics["test"]
    assert m["examples"] == 872
    with open(run.out / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 872
    acc = np.mean([r["label"] == r["predicted"] for r in rows])
    assert m["accuracy"] == pytest.approx(acc)
    cm = np.array(m["confusion_matrix"])
    assert cm.sum() == 872 and np.trace(cm) == round(acc * 872)
    p_true = np.array([float(r["p_" + r["label"]]) for r in rows])  # rounded to 6 places in the file
    assert m["log_loss"] == pytest.approx(-np.log(np.clip(p_true, 1e-6, 1)).mean(), rel=2e-2)
    for r in rows[:20]:  # probabilities are a distribution and the prediction is its argmax
        p0, p1 = float(r["p_0"]), float(r["p_1"])
        assert p0 + p1 == pytest.approx(1, abs=1e-5) and r["predicted"] == ("1" if p1 > p0 else "0")
    for name in ("model/model.safetensors", "model/config.json", "metrics.json", "config.yaml",
                 "plots/training.png", "plots/confusion.png", "report.html"):
        assert (run.out / name).is_file(), name


def test_saved_model_predicts_the_same_and_writes_json_lines(sst_run, tmp_path):
    run, shared = sst_run
    rows = api.predict(run.model_dir, shared / "test.tsv", tmp_path / "p.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(lines) == 872 and lines[0]["predicted"] == rows[0]["predicted"]
    assert set(lines[0]["probabilities"]) == {"0", "1"}
    with open(run.out / "predictions.csv", newline="") as f:
        first = next(csv.DictReader(f))
    assert first["predicted"] == rows[0]["predicted"]


def test_unseen_labels_error_or_skip(sst_run, tmp_path):
    run, _ = sst_run
    p = tmp_path / "odd.tsv"
    p.write_text("sentence\tlabel\na great film\t1\na dull film\t0\nwho knows\tneutral\n")
    with pytest.raises(ValueError, match=r"labels training never saw: \['neutral'\]"):
        api.evaluate(run.model_dir, p, tmp_path / "e")
    m = api.evaluate(run.model_dir, p, tmp_path / "e", unseen_labels="skip", say=lambda s: None)
    assert m["examples"] == 2 and m["skipped_unseen"] == 1


def test_gunpoint_slice_learns(shared_data, tmp_path):
    cfg = _cfg(**{"train.epochs": 12, "model.hidden_size": 16, "data.frame": 10, "data.diff": True,
                  "model.pooling": "mean", "data.validation_fraction": 0.2, "train.batch_size": 8, **FIXED})
    run = api.train(cfg, shared_data / "ucr" / "GunPoint_TRAIN.ts", tmp_path / "gp", say=lambda s: None)
    losses = [h["train_loss"] for h in run.history]
    assert losses[-1] < losses[0]
    v = run.metrics["validation"]
    assert v["examples"] == 10 and 0 <= v["accuracy"] <= 1 and sum(map(sum, v["confusion_matrix"])) == 10


def test_ensemble_averages_its_members_and_saves_as_one_model(shared_data, tmp_path):
    from lstmkit.tasks.classify.model import EnsembleClassifier

    base = {"train.epochs": 3, "model.hidden_size": 8, "data.frame": 10, "model.pooling": "mean",
            "data.validation_fraction": 0.2, "train.batch_size": 8, **FIXED}
    data = shared_data / "ucr" / "GunPoint_TRAIN.ts"
    run = api.train(_cfg(**{**base, "model.ensemble": 3}), data, tmp_path / "ens", say=lambda s: None)
    clf = run.estimator
    assert isinstance(clf.model_, EnsembleClassifier) and len(clf.model_.members) == 3
    assert [m["seed"] for m in run.metrics["members"]] == [0, 1, 2]
    assert (tmp_path / "ens" / "training" / "member-2").is_dir()
    # member 0 is the single network of the same seed: the ensemble starts from the plain run
    single = api.train(_cfg(**base), data, tmp_path / "one", say=lambda s: None)
    for a, b in zip(single.estimator.model_.state_dict().values(), clf.model_.members[0].state_dict().values()):
        torch.testing.assert_close(a, b)
    ex = api.clf_read(clf, data)
    probs = clf.predict_proba(ex)
    tensors, _ = clf.encoder_.encode(ex)
    members = [predict_proba(m, tensors) for m in clf.model_.members]
    np.testing.assert_allclose(probs, np.mean(members, axis=0), atol=1e-6)
    assert not np.allclose(members[0], members[1])  # the seeds differ
    loaded = SequenceClassifier.load(run.model_dir)
    np.testing.assert_allclose(loaded.predict_proba(ex), probs, atol=1e-6)
    with pytest.raises(ValueError, match="ensemble >= 0"):
        _cfg(**{"model.ensemble": -1})


def test_conv_branch_unframes_ignores_padding_and_trains(shared_data, tmp_path):
    from lstmkit.tasks.classify.model import ClassifierNet, ConvBranch

    torch.manual_seed(0)
    branch = ConvBranch(channels=2, frame=3, widths=[4, 5], kernels=[3, 2]).eval()
    series = torch.randn(2, 12, 2)  # (B, steps, channels) at full resolution
    framed = series.reshape(2, 4, 6)  # what the encoder feeds with frame=3
    lengths = torch.tensor([4, 2])
    both = branch(framed, lengths)
    alone = branch(framed[1:, :2], lengths[1:])  # the short series without its padding
    torch.testing.assert_close(both[1:], alone)
    garbage = framed.clone()
    garbage[1, 2:] = 1e3  # padding holds anything
    torch.testing.assert_close(branch(garbage, lengths), both)
    cfg = dict(kind="series", input_size=6, hidden_size=4, num_layers=1, bidirectional=False, dropout=0.0,
               pooling="last", num_classes=3, conv_channels=[4, 5], conv_kernels=[3, 2], frame=3, vocab_size=0)
    net = ClassifierNet(cfg)
    assert net.out.in_features == 4 + 5 and net(framed, lengths).shape == (2, 3)
    with pytest.raises(ValueError, match="one conv_kernels entry"):
        _cfg(**{"model.conv_channels": [8, 8], "model.conv_kernels": [3]})
    run = api.train(_cfg(**{"train.epochs": 6, "model.hidden_size": 8, "data.frame": 10, "model.conv_channels": [8, 8],
                            "model.conv_kernels": [5, 3], "data.validation_fraction": 0.2, "train.batch_size": 8, **FIXED}),
                    shared_data / "ucr" / "GunPoint_TRAIN.ts", tmp_path / "fcn", say=lambda s: None)
    losses = [h["train_loss"] for h in run.history]
    assert losses[-1] < losses[0]
    assert run.estimator.model_.conv is not None  # conv_channels given: the branch is on
    loaded = SequenceClassifier.load(run.model_dir)
    ex = api.clf_read(loaded, shared_data / "ucr" / "GunPoint_TRAIN.ts")
    np.testing.assert_allclose(loaded.predict_proba(ex), run.estimator.predict_proba(ex), atol=1e-6)


def test_a_test_file_with_unseen_labels_is_refused_before_training(tmp_path):
    train = tmp_path / "train.tsv"
    train.write_text("sentence\tlabel\n" + "a great film\t1\na dull film\t0\n" * 4)
    test = tmp_path / "test.tsv"
    test.write_text("sentence\tlabel\na great film\t1\nwho knows\tneutral\n")
    with pytest.raises(ValueError, match=r"test.tsv has labels the training data never has: \['neutral'\]"):
        api.train(_cfg(), train, tmp_path / "run", test_path=test, say=lambda s: None)
    assert not (tmp_path / "run").exists()  # refused before any training


def test_semicolon_tables_with_decimal_commas_read_as_commas_do(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 5))
    rows = [";".join(["label"] + [f"t{i}" for i in range(5)])]
    rows += [";".join([str(k % 2)] + [f"{v:.6f}".replace(".", ",") for v in x]) for k, x in enumerate(X)]
    semi = tmp_path / "semi.csv"
    semi.write_text("\n".join(rows) + "\n")
    ex = read_examples(semi, ClassifyDataConfig())
    assert ex.kind == "series" and len(ex) == 6
    np.testing.assert_allclose(ex.items[2][:, 0], X[2], atol=1e-6)
    text = tmp_path / "text.csv"
    text.write_text("sentence;label\ngood film;1\nbad film;0\n")
    ex = read_examples(text, ClassifyDataConfig())
    assert ex.kind == "text" and ex.items == ["good film", "bad film"] and ex.labels == ["1", "0"]
