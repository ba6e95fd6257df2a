"""Sequence tagging: features, readers and bad input, a short real BiLSTM-CRF run, scheme round trips and scores."""

from __future__ import annotations

import json

import pytest
import torch

from lstmkit.config import replace
from lstmkit.data.conll import read_conll, write_conll
from lstmkit.tasks.tag import api
from lstmkit.tasks.tag.config import TagConfig
from lstmkit.tasks.tag.estimator import SequenceTagger
from lstmkit.tasks.tag.data import read_sentences
from lstmkit.tasks.tag.features import TagEncoder, collate, word_shape
from lstmkit.tasks.tag.metrics import entity_scores
from lstmkit.tasks.tag.schemes import validate

QUIET = {"train.progress_bar": False, "train.num_threads": 1}


def test_word_shapes():
    cases = {"the": "lower", "EU": "upper", "German": "title", "iPhone": "mixed", "1996": "number", "3,000.5": "number",
             "3-D": "has_digit", ",": "punct", "--": "punct", "Zürich": "title"}
    assert {w: word_shape(w) for w in cases} == cases


def test_encoder_unknown_words_and_characters_map_to_unk():
    enc = TagEncoder.fit([["EU", "rejects", "German", "call"]], [["S-ORG", "O", "S-MISC", "O"]])
    x = enc.encode(["eu", "Zebra", "1997"])
    assert x["words"].tolist()[0] == enc.words.token_to_id("eu")  # lower-cased vocabulary
    assert x["words"].tolist()[1] == enc.words.unk_id
    assert enc.chars.unk_id in x["chars"][1].tolist()  # 'Z', 'b' never seen
    assert x["chars"].shape == (3, 5)
    with pytest.raises(ValueError, match=r"expected tags seen in training .*got \['B-PER'\]"):
        enc.encode(["Peter"], ["B-PER"])
    b = collate([enc.encode(["EU"], ["S-ORG"]), enc.encode(["EU", "call"], ["S-ORG", "O"])])
    assert b["words"].shape == (2, 2) and b["lengths"].tolist() == [1, 2] and b["words"][0, 1] == 0


def test_tokens_only_files_and_malformed_lines(tmp_path):
    p = tmp_path / "tokens.txt"
    p.write_text("-DOCSTART-\n\nEU\nrejects\n\n\nPeter\n")
    sents, gold = read_sentences(p)
    assert not gold and [s.tokens for s in sents] == [["EU", "rejects"], ["Peter"]] and sents[1].line == 7
    p.write_text("EU\nrejects VBZ\n")
    with pytest.raises(ValueError, match=r"tokens.txt:2: expected 1 column"):
        read_sentences(p)
    q = tmp_path / "bad.txt"
    q.write_text("EU NNP B-ORG\nrejects VBZ O\n\nPeter B-PER\n")
    with pytest.raises(ValueError, match=r"bad.txt:4: expected 3 columns, got 2"):
        api.train(replace(TagConfig(), **QUIET), q, None, tmp_path / "r")


def test_mixed_schemes_and_bad_tags_are_errors(tmp_path):
    p = tmp_path / "mixed.txt"
    p.write_text("EU NNP I-ORG\nrejects VBZ O\n\nPeter NNP B-PER\nsaid VBD O\n")
    with pytest.raises(ValueError, match=r"detect_scheme: expected one scheme, got a mix of IOB1 .* at \S*mixed.txt:1 "
                                         r"\('I-ORG' after '<start>'\) and IOB2 .* at \S*mixed.txt:4 \('B-PER'"):
        api.train(replace(TagConfig(), **QUIET), p, None, tmp_path / "r", say=lambda s: None)
    p.write_text("EU NNP X-ORG\n")
    with pytest.raises(ValueError, match=r"mixed.txt:1: split_tag: expected 'O' or a tag like 'B-PER'"):
        api.train(replace(TagConfig(), **QUIET), p, None, tmp_path / "r", say=lambda s: None)


def test_a_bad_tag_is_reported_at_its_own_line(tmp_path):
    """Issue 14: the line of the bad tag, not of its sentence's first token (was: line 6 reported as line 1)."""
    p = tmp_path / "bad_tag.txt"
    p.write_text("EU NNP B-ORG\nrejects VBZ O\nGerman JJ B-MISC\ncall NN O\nto TO O\nboycott VB B-\n\nPeter NNP B-PER\n")
    with pytest.raises(ValueError, match=r"bad_tag.txt:6: split_tag: expected 'O' or a tag like 'B-PER' .*, got 'B-'"):
        api.train(replace(TagConfig(), **QUIET), p, None, tmp_path / "r", say=lambda s: None)
    lines = ["-DOCSTART- -X- O", ""] + [f"w{i} NN O" for i in range(297)] + ["bad NN Z-LOC"]  # the bad tag on line 300
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"bad_tag.txt:300: split_tag: .*got 'Z-LOC'"):
        api.train(replace(TagConfig(), **QUIET), p, None, tmp_path / "r", say=lambda s: None)
    p.write_text("EU NNP S-ORG\nsays VBZ O\n\nPeter NNP B-PER\nBlackburn NNP I-PER\nsaid VBD O\n")  # BIOES: I-PER never ends
    with pytest.raises(ValueError, match=r"bad_tag.txt:6 is not valid BIOES: .*got 'O' after 'I-PER'"):
        api.train(replace(TagConfig(), **QUIET), p, None, tmp_path / "r", say=lambda s: None)
    # in memory the places are sentence and token
    from lstmkit import SequenceTagger

    with pytest.raises(ValueError, match=r"SequenceTagger.fit: sentence 1, token 1: split_tag: .*got 'Q-PER'"):
        SequenceTagger(progress_bar=False).fit([["EU"], ["Peter", "Blackburn"]], [["B-ORG"], ["B-PER", "Q-PER"]])


@pytest.fixture(scope="module")
def conll_run(tmp_path_factory):
    from pathlib import Path

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "conll2003"
    if not shared.is_dir():
        pytest.skip("shared CoNLL-2003 data not found")
    root = tmp_path_factory.mktemp("conll")
    write_conll(root / "train.txt", read_conll(shared / "train.txt")[:250])
    dev = read_conll(shared / "dev.txt")[:120]
    write_conll(root / "dev.txt", dev)
    cfg = replace(TagConfig(), **{**QUIET, "train.epochs": 4, "model.hidden_size": 48, "model.word_dim": 32,
                                  "model.char_features": 16, "train.lr": 1e-2, "train.batch_size": 16, "data.max_length": 30})
    run = api.train(cfg, root / "train.txt", root / "dev.txt", root / "run", test_path=root / "dev.txt", say=lambda s: None)
    return run, root


def test_conll_slice_loss_falls_and_dev_f1_is_logged(conll_run):
    run, _ = conll_run
    losses = [h["train_loss"] for h in run.history]
    assert len(losses) == 4 and losses[-1] < 0.7 * losses[0]
    assert all(0 <= h["val_f1"] <= 1 and h["val_error"] == pytest.approx(1 - h["val_f1"]) for h in run.history)
    for name in ("model/model.safetensors", "metrics.json", "predictions.conll", "predictions.jsonl", "plots/training.png", "report.html"):
        assert (run.out / name).is_file(), name


def test_predictions_are_well_formed_iob2_and_scores_match_them(conll_run):
    run, root = conll_run
    sents = read_conll(run.out / "predictions.conll")  # token POS gold pred
    gold = [s.columns[-2] for s in sents]
    pred = [s.columns[-1] for s in sents]
    for p in pred:
        validate(p, "IOB2")  # the constrained BIOES CRF, converted back to the file's scheme
    again = entity_scores(gold, pred, "IOB2")
    m = run.metrics["test"]
    assert m["micro"]["f1"] == pytest.approx(again.micro.f1) and m["micro"]["gold"] == again.micro.gold
    assert set(m["per_type"]) <= {"PER", "ORG", "LOC", "MISC"} and m["scheme"] == "IOB2"
    # dev F1 logged during training is the corpus-level score of the restored best weights
    assert max(h["val_f1"] for h in run.history) == pytest.approx(run.metrics["dev"]["micro"]["f1"], abs=1e-6)
    rows = [json.loads(x) for x in (run.out / "predictions.jsonl").read_text().splitlines()]
    assert rows[0]["tokens"] == sents[0].tokens and rows[0]["tags"] == pred[0]
    for r in rows:
        for e in r["entities"]:
            assert r["tags"][e["start"]].startswith("B-") and e["text"] == " ".join(r["tokens"][e["start"] : e["end"]])


def test_overlong_sentences_are_tagged_in_pieces(conll_run, task_log):
    run, _ = conll_run
    tagger = run.estimator
    long = ["Peter", "Blackburn", "went", "to", "Paris", "."] * 12  # 72 tokens, data.max_length = 30
    tags = tagger.predict([long, ["EU"]])
    assert len(tags[0]) == 72 and len(tags[1]) == 1
    assert "1 sentence(s) longer than data.max_length=30 tagged in pieces" in task_log.text


def test_hand_computed_scores_through_the_saved_model(conll_run, tmp_path):
    """Evaluate a saved model on a file whose predicted tags we fix by hand, then check P/R/F1 by counting."""
    run, _ = conll_run
    tagger = SequenceTagger.load(run.model_dir)
    p = tmp_path / "tiny.txt"
    p.write_text("Peter NNP B-PER\nBlackburn NNP I-PER\nin IN O\nParis NNP B-LOC\n\nEU NNP B-ORG\nsaid VBD O\n")
    sents = read_conll(p)
    fixed = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    tagger._tag = lambda sentences, batch_size=128: (fixed, 0)  # the scorer sees exactly these predictions
    m = tagger.evaluate(sents)
    # gold: PER(0,2) LOC(3,4) | ORG(0,1); predicted: PER(0,2) ORG(3,4) | ORG(0,1): 2 correct of 3 and 3
    assert (m["micro"]["correct"], m["micro"]["predicted"], m["micro"]["gold"]) == (2, 3, 3)
    assert m["micro"]["f1"] == pytest.approx(2 / 3)
    assert m["per_type"]["LOC"]["recall"] == 0 and m["per_type"]["ORG"]["precision"] == pytest.approx(0.5)
    assert m["token_accuracy"] == pytest.approx(5 / 6)


def test_unseen_entity_types_are_scored_as_missed(conll_run, tmp_path, task_log):
    run, _ = conll_run
    p = tmp_path / "new_type.txt"
    p.write_text("Olympics NNP B-EVENT\nbegin VBP O\n")
    m = api.evaluate(run.model_dir, p, tmp_path / "e")
    assert m["unseen_types"] == ["EVENT"] and m["per_type"]["EVENT"]["recall"] == 0
    assert "entity types never seen in training: ['EVENT']" in task_log.text


def test_bioes_training_files_round_trip(conll_run, tmp_path):
    from lstmkit.tasks.tag.schemes import convert

    run, root = conll_run
    sents = read_conll(root / "dev.txt")[:40]
    for s in sents:
        s.columns[-1] = convert(s.tags, "IOB2", "BIOES")
        s.tags = s.columns[-1]
    write_conll(tmp_path / "bioes.txt", sents)
    cfg = replace(TagConfig(), **{**QUIET, "train.epochs": 1, "model.hidden_size": 8, "model.word_dim": 8,
                                  "model.char_encoder": "lstm", "model.char_features": 8, "data.model_scheme": "IOB2"})
    r = api.train(cfg, tmp_path / "bioes.txt", None, tmp_path / "r", test_path=tmp_path / "bioes.txt", say=lambda s: None)
    assert r.metrics["test"]["scheme"] == "BIOES"
    for s in read_conll(tmp_path / "r" / "predictions.conll"):
        validate(s.columns[-1], "BIOES")
    assert torch.is_tensor(r.estimator.model_.crf.allowed_transitions)
