"""CoNLL reader: sentences, -DOCSTART-, blank lines, malformed lines with file and line number."""

from __future__ import annotations

import pytest

from lstmkit.data.conll import iter_conll, read_conll


def _write(tmp_path, text: str, name: str = "toy.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_sentences_docstart_and_blank_lines(tmp_path):
    path = _write(
        tmp_path,
        "-DOCSTART- -X- O\n\nEU NNP B-ORG\nrejects VBZ O\n\n\n\nPeter NNP B-PER\nBlackburn NNP I-PER\n"
        "-DOCSTART- -X- O\n\nBRUSSELS NNP B-LOC",  # no blank line at the end of the file
    )
    sents = read_conll(path)
    assert [s.tokens for s in sents] == [["EU", "rejects"], ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert [s.tags for s in sents] == [["B-ORG", "O"], ["B-PER", "I-PER"], ["B-LOC"]]
    assert sents[0].pos == ["NNP", "VBZ"]
    assert [s.line for s in sents] == [3, 8, 12]
    assert len(sents[1]) == 2


def test_windows_line_endings_and_four_columns(tmp_path):
    path = _write(tmp_path, "EU NNP B-NP B-ORG\r\nrejects VBZ B-VP O\r\n\r\n")
    (sent,) = read_conll(path)
    assert sent.tags == ["B-ORG", "O"] and sent.pos == ["NNP", "VBZ"]
    assert sent.columns[2] == ["B-NP", "B-VP"]


def test_two_columns_have_no_pos(tmp_path):
    (sent,) = read_conll(_write(tmp_path, "EU B-ORG\nrejects O\n"))
    assert sent.tokens == ["EU", "rejects"] and sent.tags == ["B-ORG", "O"] and sent.pos is None


@pytest.mark.parametrize(
    "text, lineno, expected",
    [
        ("EU NNP B-ORG\nrejects O\n", 2, "expected 3 columns, got 2"),
        ("EU NNP B-ORG\n\nPeter NNP B-PER extra\n", 3, "expected 3 columns, got 4"),
        ("EU\n", 1, "expected at least 2 columns"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, text, lineno, expected):
    path = _write(tmp_path, text, "bad.conll")
    with pytest.raises(ValueError) as info:
        read_conll(path)
    message = str(info.value)
    assert f"{path}:{lineno}:" in message and expected in message


def test_num_columns_is_enforced(tmp_path):
    with pytest.raises(ValueError, match=r":1: expected 4 columns, got 3"):
        read_conll(_write(tmp_path, "EU NNP B-ORG\n"), num_columns=4)


def test_iter_is_lazy(tmp_path):
    # the malformed line is after the first sentence: the first sentence still comes out
    it = iter_conll(_write(tmp_path, "EU NNP B-ORG\n\nbad\n"))
    assert next(it).tokens == ["EU"]
    with pytest.raises(ValueError, match=":3:"):
        next(it)


def test_shared_conll2003(shared_data):
    root = shared_data / "conll2003"
    sizes = {name: len(read_conll(root / f"{name}.txt")) for name in ("train", "dev", "test")}
    assert sizes == {"train": 14041, "dev": 3250, "test": 3453}  # the README's counts
    first = read_conll(root / "train.txt")[0]
    assert first.tokens[:3] == ["EU", "rejects", "German"]
    assert first.tags[:3] == ["B-ORG", "O", "B-MISC"] and first.pos[:3] == ["NNP", "VBZ", "JJ"]


def test_write_conll_round_trip_and_prediction_column(tmp_path, shared_data):
    from lstmkit.data.conll import Sentence, write_conll

    sents = read_conll(shared_data / "conll2003" / "dev.txt")[:20]
    write_conll(tmp_path / "copy.txt", sents)
    again = read_conll(tmp_path / "copy.txt")
    assert [(s.tokens, s.pos, s.tags) for s in again] == [(s.tokens, s.pos, s.tags) for s in sents]
    preds = [["O"] * len(s) for s in sents]
    write_conll(tmp_path / "pred.txt", sents, preds)
    with_pred = read_conll(tmp_path / "pred.txt")
    assert all(s.tags == p for s, p in zip(with_pred, preds)) and with_pred[0].columns[2] == sents[0].tags
    first_line = (tmp_path / "pred.txt").read_text().splitlines()[0]
    assert first_line == f"{sents[0].tokens[0]} {sents[0].pos[0]} {sents[0].tags[0]} O"
    # a sentence built by hand, without columns
    write_conll(tmp_path / "hand.txt", [Sentence(tokens=["a", "b"], tags=["B-X", "O"])])
    assert (tmp_path / "hand.txt").read_text() == "a B-X\nb O\n\n"
    with pytest.raises(ValueError, match="write_conll: expected 2 predicted tags for sentence 0, got 1"):
        write_conll(tmp_path / "bad.txt", [Sentence(tokens=["a", "b"], tags=["B-X", "O"])], [["O"]])
