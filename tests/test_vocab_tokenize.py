"""Vocabularies and tokenisers: ids, the <unk> policy, min frequency, JSON round trips, real corpora."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lstmkit.data.tokenize import CharTokenizer, SubwordTokenizer, WordTokenizer, load_tokenizer
from lstmkit.data.vocab import Vocab

SEQS = [["b", "a", "c", "a"], ["c", "a", "d"]]  # a:3 c:2 b:1 d:1


def test_build_orders_and_specials():
    assert Vocab.build(SEQS).tokens == ["<pad>", "<unk>", "a", "c", "b", "d"]  # frequency, ties by token
    assert Vocab.build(SEQS, order="sorted").tokens[2:] == ["a", "b", "c", "d"]
    assert Vocab.build(SEQS, order="first").tokens[2:] == ["b", "a", "c", "d"]
    v = Vocab.build(SEQS, specials=["<bos>", "<eos>"])
    assert v.tokens[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"] and v.pad_id == 0 and v.unk_id == 1
    assert v.token_to_id("a") == 4 and "a" in v and "z" not in v and len(v) == 8


def test_min_freq_and_max_size_send_the_rest_to_unk():
    v = Vocab.build(SEQS, min_freq=2)
    assert v.tokens == ["<pad>", "<unk>", "a", "c"]
    assert v.encode(["a", "b", "c", "d", "zzz"]) == [2, 1, 3, 1, 1]
    assert Vocab.build(SEQS, max_size=1).tokens == ["<pad>", "<unk>", "a"]
    assert Vocab.build(SEQS, max_size=2, order="sorted").tokens[2:] == ["a", "c"]  # the 2 most frequent, then sorted


def test_closed_vocabulary_raises_on_unknown():
    v = Vocab.build(SEQS, unk=False)
    assert v.unk_id is None and v.tokens[:2] == ["<pad>", "a"]
    assert v.encode(["a", "d"]) == [1, 4]
    with pytest.raises(ValueError, match="Vocab: expected tokens in the vocabulary \\(unk=False\\), got 'z' at position 1"):
        v.encode(["a", "z"])
    with pytest.raises(ValueError, match="expected unk=True when tokens are dropped"):
        Vocab.build(SEQS, unk=False, min_freq=2)


def test_decode_skips_padding_and_shows_unk():
    v = Vocab.build(SEQS)
    assert v.decode([2, 0, 1, 3, 0]) == ["a", "<unk>", "c"]
    assert v.decode([2, 0], skip_pad=False) == ["a", "<pad>"]
    with pytest.raises(ValueError, match="expected an id in 0..5, got 6"):
        v.decode([6])


def test_bad_vocab_inputs():
    with pytest.raises(ValueError, match="Vocab: expected unique tokens, got 'a' twice"):
        Vocab(["a", "b", "a"])
    with pytest.raises(ValueError, match="got '<unk>' twice"):
        Vocab(["<unk>"])
    with pytest.raises(ValueError, match="expected order in"):
        Vocab.build(SEQS, order="random")
    # a literal "<unk>" in the data is the unknown token, not a new word
    assert Vocab.build([["<unk>", "x"]]).tokens == ["<pad>", "<unk>", "x"]


def test_vocab_save_load(tmp_path):
    v = Vocab.build(SEQS, specials=["<bos>"], min_freq=1)
    v.save(tmp_path / "v.json")
    d = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert d["format"] == "lstmkit.vocab" and d["tokens"] == v.tokens
    w = Vocab.load(tmp_path / "v.json")
    assert w == v and w.encode(["a", "q"]) == v.encode(["a", "q"])
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="Vocab.load: .*bad.json: expected format 'lstmkit.vocab' version 1"):
        Vocab.load(tmp_path / "bad.json")


def test_char_tokenizer_on_tiny_shakespeare(shared_data, tmp_path):
    text = (shared_data / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    tok = CharTokenizer.train([text])
    chars = sorted(set(text))
    assert len(chars) == 65  # the well-known 65 characters of the corpus
    assert tok.vocab_size == 65 + 2 and tok.vocab.tokens[2:] == chars
    sample = text[:5000]
    ids = tok.encode(sample)
    assert len(ids) == len(sample) and tok.unk_id not in ids and tok.decode(ids) == sample
    assert tok.encode("A{") == [tok.vocab.token_to_id("A"), tok.unk_id]  # '{' never occurs
    assert tok.decode(tok.encode("A{")) == "A<unk>"
    tok.save(tmp_path / "char.json")
    again = load_tokenizer(tmp_path / "char.json")
    assert isinstance(again, CharTokenizer) and again.encode(sample) == ids
    closed = CharTokenizer.train([text], unk=False)
    with pytest.raises(ValueError, match="got '\\{' at position 1"):
        closed.encode("A{")


def test_word_tokenizer_on_sst2(shared_data, tmp_path):
    lines = (shared_data / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:2001]
    sentences = [line.split("\t")[0] for line in lines]
    tok = WordTokenizer.train(sentences, min_freq=2, lowercase=True)
    counts = Counter(w for s in sentences for w in s.lower().split())
    frequent = {w for w, c in counts.items() if c >= 2}
    assert set(tok.vocab.tokens[2:]) == frequent and tok.vocab_size == len(frequent) + 2
    rare = next(w for w, c in counts.items() if c == 1)
    ids = tok.encode(f"the {rare} film")
    assert ids[1] == tok.unk_id and tok.unk_id not in (ids[0], ids[2])
    assert tok.decode(ids) == "the <unk> film"
    tok.save(tmp_path / "word.json")
    again = WordTokenizer.load(tmp_path / "word.json")
    assert again.lowercase and again.encode_batch(sentences[:50]) == tok.encode_batch(sentences[:50])


def test_word_split_modes():
    words = WordTokenizer.train(["x"], split="words")
    assert words.tokenize("Don't stop -- it's 9.5!") == ["Don't", "stop", "-", "-", "it's", "9", ".", "5", "!"]
    assert WordTokenizer.train(["x"]).tokenize(" a  b\tc\n") == ["a", "b", "c"]
    with pytest.raises(ValueError, match="WordTokenizer: expected split in"):
        WordTokenizer.train(["x"], split="bpe")


def test_subword_tokenizer(shared_data, tmp_path):
    text = (shared_data / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    train, held_out = text[:200_000], text[200_000:210_000]
    tok = SubwordTokenizer.train([train], vocab_size=400)
    assert tok.vocab_size <= 400 and tok.tokenizer.token_to_id("<pad>") == 0 and tok.unk_id == 1
    ids = tok.encode(held_out)
    assert set(held_out) <= set(train)  # so nothing should be unknown
    assert tok.unk_id not in ids and tok.decode(ids) == held_out  # lossless, spaces and newlines included
    assert len(ids) < 0.6 * len(held_out)  # merges actually compress
    assert max(len(t.replace("▁", "")) for t in tok.tokenize(held_out)) > 1
    assert tok.encode("Ω") == [tok.unk_id] and tok.decode(tok.encode("to Ω be")) == "to <unk> be"
    assert tok.decode([0] + ids[:5] + [0]) == tok.decode(ids[:5])  # padding dropped
    tok.save(tmp_path / "bpe.json")
    again = load_tokenizer(tmp_path / "bpe.json")
    assert isinstance(again, SubwordTokenizer) and again.encode(held_out) == ids
    with pytest.raises(ValueError, match="CharTokenizer.load: .*bpe.json: expected a 'char' tokenizer, got 'bpe'"):
        CharTokenizer.load(tmp_path / "bpe.json")


def test_load_tokenizer_rejects_other_json(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps({"format": "lstmkit.tokenizer", "version": 1, "kind": "sentencepiece"}))
    with pytest.raises(ValueError, match="expected kind in \\('char', 'word', 'bpe'\\), got 'sentencepiece'"):
        load_tokenizer(tmp_path / "t.json")
    (tmp_path / "u.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected format 'lstmkit.tokenizer' version 1"):
        load_tokenizer(tmp_path / "u.json")


def test_label_vocabulary_without_pad_or_unk(tmp_path):
    tags = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    v = Vocab.build(tags, pad=False, unk=False, order="sorted")
    assert v.tokens == ["B-LOC", "B-PER", "I-PER", "O"] and v.pad_id is None and v.unk_id is None
    assert v.encode(["O", "B-LOC"]) == [3, 0] and v.decode([0, 3]) == ["B-LOC", "O"]  # id 0 is a label, not padding
    v.save(tmp_path / "tags.json")
    assert Vocab.load(tmp_path / "tags.json") == v
    with pytest.raises(ValueError, match="got 'I-LOC' at position 0"):
        v.encode(["I-LOC"])
    # with pad but no unk, <unk> is an ordinary token
    assert Vocab.build([["<unk>"]], unk=False).tokens == ["<pad>", "<unk>"]
    assert Vocab.build([["a"]], pad=False).tokens == ["<unk>", "a"] and Vocab.build([["a"]], pad=False).unk_id == 0
