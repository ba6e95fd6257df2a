"""lstmkit.SequenceTagger on in-memory sentences: fit, predict, evaluate, save and load; bad input named; the command
line giving the same metrics as the API."""

from __future__ import annotations

import json

import pytest

import lstmkit
from lstmkit.cli.main import main
from lstmkit.data.conll import read_conll, write_conll

TINY = dict(epochs=2, hidden_size=8, word_dim=8, char_features=4, progress_bar=False, num_threads=1)
SENTS = [["EU", "rejects", "German", "call"], ["Peter", "Blackburn", "visits", "Paris"], ["BRUSSELS", "1996-08-22"]]
TAGS = [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O"]]


def test_fit_predict_evaluate_save_load_in_memory(tmp_path):
    tagger = lstmkit.SequenceTagger(**TINY).fit(SENTS * 3, TAGS * 3)
    pred = tagger.predict([["Peter", "visits", "Berlin"], ["EU"]])
    assert [len(p) for p in pred] == [3, 1] and all(t == "O" or t[:2] in ("B-", "I-") for p in pred for t in p)
    m = tagger.evaluate(SENTS, TAGS)
    assert m["sentences"] == 3 and m["tokens"] == 10 and m["scheme"] == "IOB2" and 0 <= m["micro"]["f1"] <= 1
    assert tagger.scores_["evaluation"] is m
    tagger.save(tmp_path / "t")
    loaded = lstmkit.load(tmp_path / "t")
    assert type(loaded) is lstmkit.SequenceTagger and loaded.scheme_ == "IOB2"
    assert loaded.predict(SENTS) == tagger.predict(SENTS)
    assert loaded.get_params()["hidden_size"] == 8
    assert tagger.entities(["B-PER", "I-PER", "O"], ["Peter", "Blackburn", "said"]) == [
        {"type": "PER", "start": 0, "end": 2, "text": "Peter Blackburn"}]


def test_in_memory_bad_input_is_named():
    with pytest.raises(ValueError, match="SequenceTagger.fit: expected 3 tag lists \\(one per sentence\\), got 2"):
        lstmkit.SequenceTagger(**TINY).fit(SENTS, TAGS[:2])
    with pytest.raises(ValueError, match="SequenceTagger.fit: sentence 1: expected 4 tags \\(one per token\\), got 3"):
        lstmkit.SequenceTagger(**TINY).fit(SENTS, [TAGS[0], TAGS[1][:3], TAGS[2]])
    with pytest.raises(TypeError, match="expected sentence 0 as a list of tokens, got a string"):
        lstmkit.SequenceTagger(**TINY).fit(["EU rejects"], [["B-ORG", "O"]])
    with pytest.raises(ValueError, match="SequenceTagger.fit: expected at least one token in sentence 1, got none"):
        lstmkit.SequenceTagger(**TINY).fit([["EU"], []], [["B-ORG"], []])
    with pytest.raises(ValueError, match=r"SequenceTagger.fit: sentence 0, token 1: expected a token \(a non-empty string\), got ''"):
        lstmkit.SequenceTagger(**TINY).fit([["EU", ""]], [["B-ORG", "O"]])


def test_latin1_and_binary_files_are_errors_naming_the_file(tmp_path, capsys):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 NN O\n".encode("latin-1"))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"EU NNP B-ORG\n\x00\x01\x02 x y\n")
    for path, what in ((latin, "expected UTF-8 text"), (binary, "expected UTF-8 text (CoNLL or token data), got binary data")):
        assert main(["tag", "train", "--data", str(path), "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert f"lstmkit tag: error: {path}: line " in err and what in err and "Traceback" not in err


def test_cli_and_api_give_the_same_metrics(shared_data, tmp_path):
    train = read_conll(shared_data / "conll2003" / "train.txt")[:60]
    dev = read_conll(shared_data / "conll2003" / "dev.txt")[:30]
    write_conll(tmp_path / "train.txt", train)
    write_conll(tmp_path / "dev.txt", dev)
    out = tmp_path / "run"
    assert main(["tag", "train", "--data", str(tmp_path / "train.txt"), "--dev", str(tmp_path / "dev.txt"),
                 "--test", str(tmp_path / "dev.txt"), "--out", str(out), "--train.epochs", "2", "--model.hidden_size", "8",
                 "--model.word_dim", "8", "--model.char_features", "4", "--train.seed", "5", "--quiet"]) == 0
    cli = json.loads((out / "metrics.json").read_text())
    tagger = lstmkit.SequenceTagger(**{**TINY, "seed": 5})
    tagger.fit([s.tokens for s in train], [s.tags for s in train], [s.tokens for s in dev], [s.tags for s in dev])
    got = tagger.evaluate([s.tokens for s in dev], [s.tags for s in dev])
    for key in ("micro", "macro", "per_type", "token_accuracy", "sentences"):
        assert got[key] == cli["test"][key], key
    assert tagger.scores_["dev"]["micro"] == cli["dev"]["micro"] and cli["epochs"] == tagger.fit_info_["epochs"]
    assert (out / "report.html").is_file() and "entity F1" in (out / "report.html").read_text()


def test_part_of_speech_tags_train_and_come_back_as_given(tmp_path):
    """Tags without prefixes (IO: part of speech here) are learned as one-token runs and predicted as given."""
    import random

    rng = random.Random(0)
    vocab = {"DT": ["the", "a"], "NN": ["dog", "cat", "tree"], "VB": ["runs", "sees"], "JJ": ["big", "old"]}
    sents = []
    for _ in range(120):
        tags = ["DT"] + (["JJ"] if rng.random() < 0.5 else []) + ["NN", "VB", "DT", "NN"]
        sents.append(([rng.choice(vocab[t]) for t in tags], tags))
    words, tags = [s[0] for s in sents], [s[1] for s in sents]
    tagger = lstmkit.SequenceTagger(epochs=4, progress_bar=False).fit(words[:100], tags[:100])
    assert tagger.scheme_ == "IO"
    pred = tagger.predict(words[100:])
    assert all(len(p) == len(w) for p, w in zip(pred, words[100:])) and {t for p in pred for t in p} <= set(vocab)
    m = tagger.evaluate(words[100:], tags[100:])
    assert m["scheme"] == "IO" and m["token_accuracy"] > 0.9
    tagger.save(tmp_path / "pos")
    assert lstmkit.load(tmp_path / "pos").predict(words[100:]) == pred


def test_an_empty_sentence_gets_no_tags():
    tagger = lstmkit.SequenceTagger(epochs=1, progress_bar=False).fit([["a", "b"]] * 5, [["B-X", "O"]] * 5)
    got = tagger.predict([["a"], [], ["b", "a"]])
    assert got[1] == [] and got[0] == tagger.predict([["a"]])[0] and got[2] == tagger.predict([["b", "a"]])[0]
    assert tagger.predict([[]]) == [[]]
