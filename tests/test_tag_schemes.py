"""Tag schemes: splitting, validation, entity spans (lenient and strict), detection, conversion."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmkit.data.conll import read_conll
from lstmkit.tasks.tag.schemes import (
    Span,
    allowed_transitions,
    convert,
    detect_scheme,
    entities,
    spans_to_tags,
    split_tag,
    validate,
)


def test_split_tag():
    assert split_tag("O") == ("O", None)
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("I-geo-nam") == ("I", "geo-nam")  # types may contain '-'
    for bad in ("PER", "X-PER", "B-", "B_PER", ""):
        with pytest.raises(ValueError, match="split_tag: expected 'O' or a tag like"):
            split_tag(bad)


@pytest.mark.parametrize(
    "tags, scheme",
    [
        (["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"], "IOB2"),
        (["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC"], "IOB1"),
        (["B-PER", "E-PER", "O", "S-LOC", "B-LOC", "I-LOC", "E-LOC"], "BIOES"),
        ([], "IOB2"),
        (["O", "O"], "BIOES"),
    ],
)
def test_valid_sequences_pass(tags, scheme):
    assert validate(tags, scheme) is None


@pytest.mark.parametrize(
    "tags, scheme, where",
    [
        (["O", "I-PER"], "IOB2", "'I-PER' after 'O' at token 1"),
        (["I-PER"], "IOB2", "'I-PER' after '<start>' at token 0"),
        (["B-PER", "I-LOC"], "IOB2", "'I-LOC' after 'B-PER' at token 1"),
        (["O", "B-PER"], "IOB1", "'B-PER' after 'O' at token 1"),
        (["I-LOC", "B-PER"], "IOB1", "'B-PER' after 'I-LOC' at token 1"),
        (["B-PER", "O"], "BIOES", "'O' after 'B-PER' at token 1"),
        (["B-PER", "S-PER"], "BIOES", "'S-PER' after 'B-PER' at token 1"),
        (["O", "E-PER"], "BIOES", "'E-PER' after 'O' at token 1"),
        (["B-PER", "I-PER"], "BIOES", "ending in 'I-PER'"),
        (["S-PER"], "IOB2", "expected IOB2 prefixes B/I/O, got 'S-PER' at token 0"),
    ],
)
def test_invalid_sequences_name_the_place(tags, scheme, where):
    with pytest.raises(ValueError, match="validate: expected") as info:
        validate(tags, scheme)
    assert where in str(info.value)


def test_unknown_scheme():
    with pytest.raises(ValueError, match=r"entities: expected scheme in \('IOB1', 'IOB2', 'BIOES', 'IO'\), got 'BILOU'"):
        entities(["O"], "BILOU")


# Lenient decoding follows conlleval; seqeval's default mode gives the same entities
# (it reports inclusive ends; ours are exclusive).
@pytest.mark.parametrize(
    "tags, expected",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["I-PER", "I-PER"], [("PER", 0, 2)]),  # I- without B- starts an entity
        (["O", "I-PER", "I-PER", "O"], [("PER", 1, 3)]),
        (["B-PER", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 2)]),  # a type change starts a new entity
        (["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["O", "I-PER", "B-PER"], [("PER", 1, 2), ("PER", 2, 3)]),
        (["B-PER", "I-PER", "I-PER"], [("PER", 0, 3)]),  # runs to the end of the sentence
        (["O", "O"], []),
        ([], []),
    ],
)
def test_lenient_iob_entities(tags, expected):
    assert entities(tags, "IOB2") == [Span(*e) for e in expected]
    assert entities(tags, "IOB1") == [Span(*e) for e in expected]  # conlleval reads IOB1 the same way


@pytest.mark.parametrize(
    "tags, expected",
    [
        (["B-PER", "E-PER", "S-LOC"], [("PER", 0, 2), ("LOC", 2, 3)]),
        (["B-PER", "I-PER", "E-PER", "O"], [("PER", 0, 3)]),
        (["S-PER", "S-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["B-PER", "I-PER", "O"], [("PER", 0, 2)]),  # no E-: lenient keeps it
        (["O", "E-PER"], [("PER", 1, 2)]),
        (["E-PER", "E-PER"], [("PER", 0, 1), ("PER", 1, 2)]),  # after E- a new entity begins
        (["B-PER", "E-LOC"], [("PER", 0, 1), ("LOC", 1, 2)]),
    ],
)
def test_lenient_bioes_entities(tags, expected):
    assert entities(tags, "BIOES") == [Span(*e) for e in expected]


@pytest.mark.parametrize(
    "tags, scheme, expected",
    [
        (["I-PER", "I-PER"], "IOB2", []),  # seqeval strict: no B-, no entity
        (["B-PER", "I-PER", "O", "I-LOC"], "IOB2", [("PER", 0, 2)]),
        (["B-PER", "I-PER", "I-LOC", "B-LOC"], "IOB2", [("PER", 0, 2), ("LOC", 3, 4)]),
        (["B-PER", "I-PER", "O"], "BIOES", []),  # never closed by E-
        (["B-PER", "B-PER", "E-PER", "S-LOC"], "BIOES", [("PER", 1, 3), ("LOC", 3, 4)]),
        (["B-PER", "E-LOC", "S-ORG"], "BIOES", [("ORG", 2, 3)]),
        (["B-PER", "I-PER", "E-PER"], "BIOES", [("PER", 0, 3)]),
    ],
)
def test_strict_entities(tags, scheme, expected):
    assert entities(tags, scheme, strict=True) == [Span(*e) for e in expected]


def test_strict_iob1_is_refused():
    with pytest.raises(ValueError, match="convert to IOB2 first"):
        entities(["I-PER"], "IOB1", strict=True)


def test_convert_hand_cases():
    iob2 = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-ORG"]
    iob1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-ORG"]
    bioes = ["B-PER", "E-PER", "O", "S-LOC", "B-LOC", "E-LOC", "S-ORG"]
    for (a, ta), (b, tb) in itertools.permutations([("IOB1", iob1), ("IOB2", iob2), ("BIOES", bioes)], 2):
        assert convert(ta, a, b) == tb, (a, b)
    with pytest.raises(ValueError, match="validate: expected a valid IOB2"):
        convert(["O", "I-PER"], "IOB2", "BIOES")
    assert convert(["O", "I-PER", "I-PER"], "IOB2", "BIOES", repair=True) == ["O", "B-PER", "E-PER"]


@st.composite
def _spans(draw):
    """Random non-overlapping spans over a sentence, some adjacent and of equal type."""
    length = draw(st.integers(0, 12))
    spans, i = [], 0
    while i < length:
        if draw(st.booleans()):
            n = draw(st.integers(1, min(4, length - i)))
            spans.append(Span(draw(st.sampled_from(["PER", "LOC"])), i, i + n))
            i += n
        else:
            i += draw(st.integers(1, 2))
    return [sp for sp in spans if sp.end <= length], length


@settings(max_examples=200, deadline=None)
@given(_spans())
def test_spans_round_trip_through_every_scheme(case):
    spans, length = case
    written = {s: spans_to_tags(spans, length, s) for s in ("IOB1", "IOB2", "BIOES")}
    for scheme, tags in written.items():
        validate(tags, scheme)  # what we write is well formed
        assert entities(tags, scheme) == spans
        if scheme != "IOB1":
            assert entities(tags, scheme, strict=True) == spans
        for other in written:
            assert convert(tags, scheme, other) == written[other]


def test_detect_scheme():
    assert detect_scheme([["B-PER", "I-PER"], ["O", "B-LOC", "B-LOC"]]) == "IOB2"
    assert detect_scheme([["I-PER", "I-PER"], ["O", "I-LOC", "B-LOC"]]) == "IOB1"
    assert detect_scheme([["B-PER", "E-PER"], ["S-LOC", "O"]]) == "BIOES"
    assert detect_scheme([["O"], []]) == "IOB2"  # no evidence: the default


def test_detect_scheme_mixed_corpus():
    with pytest.raises(ValueError, match="got a mix of IOB1") as info:
        detect_scheme([["B-PER", "I-PER"], ["O"], ["O", "I-LOC"]])
    message = str(info.value)
    assert "sentence 2 token 1 ('I-LOC' after 'O')" in message and "sentence 0 token 0 ('B-PER' after '<start>')" in message
    with pytest.raises(ValueError, match="E-/S- tags \\(BIOES\\).*sentence 1 is not valid BIOES"):
        detect_scheme([["S-PER"], ["B-LOC", "I-LOC", "O"]])


def test_allowed_transitions_iob2_and_bioes():
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    a, start, end = allowed_transitions(names, "IOB2")
    assert start == [True, True, False, True, False] and end == [True] * 5
    assert a[0] == [True, True, False, True, False]  # O -> I-X forbidden
    assert a[1] == [True, True, True, True, False]  # B-PER -> I-LOC forbidden
    names = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    a, start, end = allowed_transitions(names, "BIOES")
    assert start == [True, True, False, False, True] and end == [True, False, False, True, True]
    assert a[1] == [False, False, True, True, False]  # B-PER -> I-PER or E-PER only
    assert a[3] == [True, True, False, False, True]  # after E-PER: O, B- or S-
    # a sequence is valid exactly when its every move is allowed
    for seq in itertools.product(range(len(names)), repeat=3):
        ok = start[seq[0]] and end[seq[-1]] and all(a[i][j] for i, j in zip(seq, seq[1:]))
        try:
            validate([names[i] for i in seq], "BIOES")
            valid = True
        except ValueError:
            valid = False
        assert ok == valid, [names[i] for i in seq]


def test_shared_conll2003_is_valid_iob2_and_converts_losslessly(shared_data):
    sents = [s.tags for s in read_conll(shared_data / "conll2003" / "dev.txt")]
    assert detect_scheme(sents) == "IOB2"
    n_b = sum(t.startswith("B-") for tags in sents for t in tags)
    assert sum(len(entities(tags)) for tags in sents) == n_b  # in valid IOB2 every entity opens with B-
    for tags in sents:
        assert convert(convert(tags, "IOB2", "BIOES"), "BIOES", "IOB2") == tags
        assert convert(convert(tags, "IOB2", "IOB1"), "IOB1", "IOB2") == tags


def test_io_tags_have_no_prefix_and_a_run_is_one_entity():
    tags = ["PER", "O", "LOC", "LOC", "PER", "ORG"]
    assert detect_scheme([tags, ["O"]]) == "IO"
    assert entities(tags, "IO") == [Span("PER", 0, 1), Span("LOC", 2, 4), Span("PER", 4, 5), Span("ORG", 5, 6)]
    assert entities(tags, "IO", strict=True) == entities(tags, "IO")
    assert convert(tags, "IO", "BIOES") == ["S-PER", "O", "B-LOC", "E-LOC", "S-PER", "S-ORG"]
    assert convert(["S-PER", "O", "B-LOC", "E-LOC"], "BIOES", "IO") == ["PER", "O", "LOC", "LOC"]
    validate(tags, "IO")  # any order is well formed
    pos = ["DT", "NN", "NN", "-LRB-", "PRP$"]  # part-of-speech tags read as IO (Penn's brackets included)
    assert detect_scheme([pos]) == "IO" and convert(pos, "IO", "IOB2")[1:3] == ["B-NN", "I-NN"]


def test_a_mix_of_bare_and_prefixed_tags_is_an_error_naming_both():
    with pytest.raises(ValueError, match=r"tags without a prefix \(IO\) such as 'NN' at sentence 1 token 0 and "
                                         r"prefixed tags such as 'B-PER' at sentence 0 token 0"):
        detect_scheme([["B-PER", "O"], ["NN"]])
    # a one-letter prefix that is not B, I, E or S is a malformed prefixed tag, not an IO type
    with pytest.raises(ValueError, match="split_tag: expected 'O' or a tag like"):
        detect_scheme([["X-ORG"]])
