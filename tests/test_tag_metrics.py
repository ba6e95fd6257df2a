"""Entity-level precision/recall/F1 on hand-computed cases (conlleval and seqeval conventions)."""

from __future__ import annotations

import pytest

from lstmkit.data.conll import read_conll
from lstmkit.tasks.tag.metrics import entity_f1, entity_scores

GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC"],  # PER[0,2) LOC[3,4)
    ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER"],  # ORG[0,3) PER[4,5)
]
PRED = [
    ["B-PER", "I-PER", "O", "B-ORG"],  # PER[0,2) right; ORG[3,4) wrong type
    ["B-ORG", "I-ORG", "O", "O", "I-PER"],  # ORG[0,2) wrong end; PER[4,5) right only when I- may start an entity
]


def test_lenient_hand_computed():
    r = entity_scores(GOLD, PRED)
    # gold: PER 2, LOC 1, ORG 1; predicted: PER 2, ORG 2; correct: PER 2
    assert (r.micro.correct, r.micro.predicted, r.micro.gold) == (2, 4, 4)
    assert r.micro.precision == pytest.approx(0.5) and r.micro.recall == pytest.approx(0.5) and r.micro.f1 == pytest.approx(0.5)
    assert list(r.per_type) == ["LOC", "ORG", "PER"]
    assert (r.per_type["PER"].precision, r.per_type["PER"].recall, r.per_type["PER"].f1) == (1.0, 1.0, 1.0)
    assert (r.per_type["LOC"].precision, r.per_type["LOC"].recall, r.per_type["LOC"].f1) == (0.0, 0.0, 0.0)
    assert (r.per_type["ORG"].predicted, r.per_type["ORG"].gold, r.per_type["ORG"].f1) == (2, 1, 0.0)
    assert r.macro_f1 == pytest.approx(1 / 3) and r.macro_precision == pytest.approx(1 / 3)
    assert r.token_accuracy == pytest.approx(6 / 9)  # 3 of 4 and 3 of 5 tags equal
    assert entity_f1(GOLD, PRED) == pytest.approx(0.5)


def test_strict_drops_entity_without_b():
    r = entity_scores(GOLD, PRED, strict=True)
    # the stray I-PER is no entity: predicted PER 1, ORG 2; correct 1
    assert (r.micro.correct, r.micro.predicted, r.micro.gold) == (1, 3, 4)
    p, rc = 1 / 3, 1 / 4
    assert r.micro.f1 == pytest.approx(2 * p * rc / (p + rc))  # = 2/7


def test_i_without_b_matches_b_start_leniently():
    # conlleval: "I-PER I-PER" is the same entity as "B-PER I-PER"
    assert entity_f1([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]]) == 1.0
    assert entity_f1([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]], strict=True) == 0.0


def test_boundaries_and_types_must_match_exactly():
    gold = [["B-PER", "I-PER", "I-PER"]]
    assert entity_f1(gold, [["B-PER", "I-PER", "O"]]) == 0.0  # end differs
    assert entity_f1(gold, [["O", "B-PER", "I-PER"]]) == 0.0  # start differs
    assert entity_f1(gold, [["B-LOC", "I-LOC", "I-LOC"]]) == 0.0  # type differs
    # two adjacent entities are not one long entity
    r = entity_scores([["B-PER", "B-PER"]], [["B-PER", "I-PER"]])
    assert (r.micro.correct, r.micro.predicted, r.micro.gold) == (0, 1, 2)


def test_bioes():
    r = entity_scores([["B-PER", "E-PER", "S-LOC", "O"]], [["B-PER", "E-PER", "S-ORG", "S-LOC"]], scheme="BIOES")
    assert (r.micro.correct, r.micro.predicted, r.micro.gold) == (1, 3, 2)
    assert r.micro.precision == pytest.approx(1 / 3) and r.micro.recall == pytest.approx(1 / 2)
    assert r.micro.f1 == pytest.approx(0.4)  # 2 * (1/3) * (1/2) / (5/6)


def test_zero_denominators_give_zero():
    r = entity_scores([["O", "O"]], [["O", "O"]])
    assert (r.micro.precision, r.micro.recall, r.micro.f1, r.macro_f1) == (0.0, 0.0, 0.0, 0.0)
    assert r.per_type == {} and r.token_accuracy == 1.0
    r = entity_scores([["B-PER"]], [["O"]])
    assert (r.micro.precision, r.micro.recall) == (0.0, 0.0)


def test_as_dict_is_plain_numbers():
    d = entity_scores(GOLD, PRED).as_dict()
    assert d["micro"]["f1"] == pytest.approx(0.5) and d["per_type"]["PER"]["gold"] == 2
    assert d["macro"]["recall"] == pytest.approx(1 / 3)


def test_length_mismatch_errors():
    with pytest.raises(ValueError, match="expected sentence 1 to have 5 predicted tags, got 4"):
        entity_scores(GOLD, [PRED[0], PRED[1][:4]])
    with pytest.raises(ValueError, match="expected as many predicted sentences as gold ones \\(2\\), got 1"):
        entity_scores(GOLD, PRED[:1])


def test_shared_conll2003_gold_against_itself_and_all_o(shared_data):
    gold = [s.tags for s in read_conll(shared_data / "conll2003" / "test.txt")]
    assert entity_f1(gold, gold) == 1.0
    all_o = [["O"] * len(t) for t in gold]
    r = entity_scores(gold, all_o)
    n_entities = sum(t.startswith("B-") for tags in gold for t in tags)
    assert r.micro.gold == n_entities and r.micro.f1 == 0.0
    o_tokens = sum(t == "O" for tags in gold for t in tags)
    assert r.token_accuracy == pytest.approx(o_tokens / sum(map(len, gold)))
