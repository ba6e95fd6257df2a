"""``lstmkit.LanguageModel`` on text in memory: fit, generate, score, gates, save and load, and what it refuses."""

from __future__ import annotations

import json
import math
import warnings

import pytest

import lstmkit
from lstmkit import LanguageModel
from lstmkit.cli.main import main
from lstmkit.tasks.estimator import NotFittedError
from lstmkit.tasks.lm.estimator import VocabularyWarning
from lstmkit.tasks.lm.model import LMNet

SMALL = dict(hidden_size=24, num_layers=1, dropout=0.0, output_dropout=0.0, length=32, batch_size=8, epochs=2,
             lr=1e-2, progress_bar=False, num_threads=1, early_stopping=0)


@pytest.fixture(scope="module")
def text():
    from conftest import SHARED_DATA

    path = SHARED_DATA / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        pytest.skip(f"Tiny Shakespeare not found at {path}")
    return path.read_text(encoding="utf-8")[:12000]


@pytest.fixture(scope="module")
def lm(text, tmp_path_factory):
    return LanguageModel(**SMALL).fit(text)


def test_keyword_arguments_mirror_the_config():
    lm = LanguageModel(hidden_size=64, tokenizer="word", length=50, train__seed=4)
    assert (lm.config.model.hidden_size, lm.config.data.tokenizer, lm.config.bptt.length) == (64, "word", 50)
    assert lm.get_params()["seed"] == 4 and lm.config.train.seed == 4
    assert repr(lm) == "LanguageModel(tokenizer='word', hidden_size=64, length=50, seed=4)"
    with pytest.raises(ValueError, match="hidden"):
        LanguageModel(hidden=3)
    with pytest.raises(ValueError, match="expected tokenizer in"):
        LanguageModel(tokenizer="bytes")
    assert not lm.is_fitted
    for call in (lambda: lm.generate("a", 3), lambda: lm.perplexity("abc"), lambda: lm.evaluate("abc"),
                 lambda: lm.gate_traces("abc"), lambda: lm.save("never")):
        with pytest.raises(NotFittedError, match="call fit"):
            call()


def test_fit_in_memory_scores_its_validation_text(lm, text):
    assert isinstance(lm.model_, LMNet) and lm.is_fitted
    val = lm.metrics_["val"]
    assert val["tokens"] == len(text) - int(len(text) * 0.9)  # nanoGPT's split: the last 10% validate
    assert val["loss"] < math.log(lm.tokenizer_.vocab_size) - 0.5  # well below a uniform guess
    assert lm.metrics_["run"]["data"] == "(text in memory)" and len(lm.history_) == 2
    assert lm.evaluate(text[int(len(text) * 0.9):]) == pytest.approx(val, rel=1e-12)
    snippet = "To be, or not to be"
    scores = lm.evaluate(snippet)
    assert lm.perplexity(snippet) == pytest.approx(math.exp(scores["loss"]))
    assert lm.bits_per_char(snippet) == pytest.approx(scores["loss"] / math.log(2))  # a char model: 1 token a char
    assert scores["tokens"] == scores["chars"] == len(snippet)


def test_lines_iterables_and_a_separate_validation_text(text):
    lines = text[:6000].splitlines()  # no newlines: put back between the lines
    a = LanguageModel(**{**SMALL, "epochs": 1}).fit(lines, val_text=text[6000:7000])
    b = LanguageModel(**{**SMALL, "epochs": 1}).fit("\n".join(lines) + "\n", val_text=text[6000:7000])
    assert a.metrics_["val"] == b.metrics_["val"] and a.metrics_["val"]["tokens"] == 1000
    assert a.metrics_["run"]["val_given"] is True
    with pytest.raises(ValueError, match="expected every item of the text to be a str, got int at index 1"):
        LanguageModel(**SMALL).fit(["ab", 3])
    with pytest.raises(ValueError, match="got bytes"):
        LanguageModel(**SMALL).fit(b"abc")
    with pytest.raises(ValueError, match="holds no text"):
        LanguageModel(**SMALL).fit("   \n  ")


def test_generate_seeds_stream_and_sampling_options(lm):
    a = lm.generate("ROMEO:", 40, temperature=0.8, top_k=10, top_p=0.9, seed=7)
    assert len(a) == 40 and a == lm.generate("ROMEO:", 40, temperature=0.8, top_k=10, top_p=0.9, seed=7)
    assert a != lm.generate("ROMEO:", 40, temperature=0.8, top_k=10, top_p=0.9, seed=8)
    pieces = lm.generate("ROMEO:", 40, temperature=0.8, top_k=10, top_p=0.9, seed=7, stream=True)
    assert not isinstance(pieces, str)
    pieces = list(pieces)
    assert len(pieces) == 40 and "".join(pieces) == a  # one piece per character, as it is drawn
    greedy = lm.generate("ROMEO", 15, temperature=0)
    assert greedy == lm.generate("ROMEO", 15, temperature=0, seed=123)  # greedy draws nothing at random
    assert lm.generate("", 5, seed=0) and lm.generate("x", 0) == ""
    for bad, match in [(dict(length=-1), "length >= 0"), (dict(temperature=-1.0), "temperature >= 0"),
                       (dict(top_k=0), "top_k an int >= 1"), (dict(top_p=1.5), r"top_p in \(0, 1\]")]:
        with pytest.raises(ValueError, match=match):
            lm.generate("a", **{"length": 5, **bad}, stream=True)  # refused at once, not at the first next()
    with pytest.raises(ValueError, match="expected prime as a str"):
        lm.generate(["ROMEO"], 3)


def test_an_unknown_prime_character_is_read_as_unk_and_said(lm, text, capsys, tmp_path):
    assert "ñ" not in text and "你" not in text
    with pytest.warns(VocabularyWarning, match=r"2 character\(s\) of the prime are not in the model's vocabulary "
                                               r"and are read as <unk>: 'ñ', '你'"):
        out = lm.generate("Señor 你 ñ", 20, seed=1)
    assert len(out) == 20 and "<unk>" not in out  # <unk> is read, never written
    assert lm.unknown_pieces("Señor 你 ñ") == ["ñ", "你"] and lm.unknown_pieces("ROMEO") == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lm.generate("ROMEO", 5, seed=1)  # nothing to say about a known prime
    lm.save(tmp_path / "model")
    assert main(["lm", "generate", "--model", str(tmp_path / "model"), "--prime", "Señor", "--length", "10",
                 "--seed", "1"]) == 0
    cap = capsys.readouterr()
    assert cap.out.startswith("Señor") and "<unk>" not in cap.out
    assert "note: LanguageModel.generate: 1 character(s) of the prime are not in the model's vocabulary and are " \
           "read as <unk>: 'ñ'" in cap.err


def test_gate_traces_label_every_character(lm):
    tr = lm.gate_traces("To be~")  # '~' is unseen: <unk> to the model, still its own label
    assert tr.labels == list("To be~") and tr.num_layers == 1
    assert tr.values(0, "f").shape == (6, 24) and set("ifgoch") <= set(tr.names)
    assert ((tr.values(0, "f") > 0) & (tr.values(0, "f") < 1)).all()
    assert lm.model_.training is False


def test_save_load_and_lstmkit_load_give_the_same_model(lm, tmp_path):
    path = lm.save(tmp_path / "model")
    assert {p.name for p in path.iterdir()} == {"model.safetensors", "config.json", "tokenizer.json"}
    for again in (LanguageModel.load(path), lstmkit.load(path)):
        assert type(again) is LanguageModel and again.get_params() == lm.get_params()
        assert again.evaluate("To be, or not to be") == lm.evaluate("To be, or not to be")
        assert again.generate("ROMEO:", 30, seed=2) == lm.generate("ROMEO:", 30, seed=2)
        assert again.context_ == lm.context_
    with pytest.raises(ValueError, match="expected a model fitted in this session"):
        LanguageModel.load(path).report(tmp_path / "r")
    # a folder fitted in memory records no data file: evaluating "its training text" says what to pass
    assert main(["lm", "evaluate", "--model", str(path)]) == 2


def test_load_refuses_damaged_or_foreign_folders(lm, tmp_path):
    from lstmkit.train.checkpoint import ModelFolderError

    path = lm.save(tmp_path / "model")
    (path / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="expected tokenizer.json in"):
        LanguageModel.load(path)
    path = lm.save(tmp_path / "model2")
    meta = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**meta, "kind": "tag-bilstm-crf"}))
    with pytest.raises(ModelFolderError, match="LanguageModel.load: .*field 'kind': expected 'lm-lstm'"):
        LanguageModel.load(path)
    path = lm.save(tmp_path / "model3")
    meta = json.loads((path / "config.json").read_text())
    meta["extra"]["settings"]["model"]["hidden_size"] = 7  # the network's own config wins; a bad one is refused
    meta["extra"]["settings"]["bptt"]["length"] = 0
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFolderError, match="field 'extra.settings' is not an LMConfig"):
        LanguageModel.load(path)


def test_latin1_and_binary_files_are_refused_naming_the_file(lm, tmp_path, capsys):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("First line\nCafé au lait\n".encode("latin-1"))
    nul = tmp_path / "nul.bin"
    nul.write_bytes(b"abc\ndef\x00\x01\x02ghi")
    model = lm.save(tmp_path / "model")
    for bad, message in ((latin1, f"{latin1}: line 2: expected UTF-8 text, got byte 0xe9"),
                         (nul, f"{nul}: line 2: expected text, got a NUL character")):
        assert main(["lm", "train", "--data", str(bad), "--out", str(tmp_path / "x"), "--quiet"]) == 2
        assert message in capsys.readouterr().err
        assert main(["lm", "evaluate", "--model", str(model), "--data", str(bad)]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_predict_says_which_verbs_a_language_model_has():
    with pytest.raises(TypeError, match=r"LanguageModel.predict: .*generate\(prime\)"):
        LanguageModel().predict("To be")


def test_score_lines_takes_a_list_and_short_text_is_named_by_fit():
    with pytest.raises(ValueError, match=r"^LanguageModel.fit: expected at least 2 tokens per stream"):
        LanguageModel(epochs=1, batch_size=32, progress_bar=False).fit("abc def ghi " * 3)
    lm = LanguageModel(epochs=1, batch_size=2, hidden_size=16, embedding_size=16, progress_bar=False)
    lm.fit("to be or not to be\n" * 30)
    as_list = lm.score_lines(["to be", "or not"])[0]
    as_text = lm.score_lines("to be\nor not")[0]
    assert [r["nats"] for r in as_list] == [r["nats"] for r in as_text] and len(as_list) == 2
    with pytest.raises(TypeError, match="LanguageModel.score_lines: expected text"):
        lm.score_lines(5)
