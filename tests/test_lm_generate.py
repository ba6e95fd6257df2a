"""Generation: priming, seeds, greedy decoding, streaming, and tokens that are never drawn."""

from __future__ import annotations

import pytest
import torch

from lstmkit.data.tokenize import CharTokenizer, SubwordTokenizer, WordTokenizer
from lstmkit.tasks.lm.config import ModelConfig
from lstmkit.tasks.lm.generate import generate
from lstmkit.tasks.lm.model import LMNet

TEXT = "the quick brown fox jumps over the lazy dog\n" * 3


def _model(tok, seed=0):
    torch.manual_seed(seed)
    return LMNet(tok.vocab_size, ModelConfig(hidden_size=16, num_layers=2, dropout=0.0)).eval()


def test_same_seed_same_text_and_streaming_gives_the_text():
    tok = CharTokenizer.train([TEXT])
    m = _model(tok)
    pieces = []
    a = generate(m, tok, "the ", 40, temperature=1.0, seed=5, context=tok.encode("\n"), on_text=pieces.append)
    b = generate(m, tok, "the ", 40, temperature=1.0, seed=5, context=tok.encode("\n"))
    c = generate(m, tok, "the ", 40, temperature=1.0, seed=6, context=tok.encode("\n"))
    assert a.text == b.text and len(a.ids) == 40
    assert "".join(pieces) == a.text == tok.decode(a.ids)
    assert a.text != c.text


def test_greedy_is_the_argmax_rollout():
    tok = CharTokenizer.train([TEXT])
    m = _model(tok)
    ctx = tok.encode("\n")
    g = generate(m, tok, "lazy", 15, temperature=0, context=ctx)
    ids = ctx + tok.encode("lazy")
    with torch.no_grad():
        for _ in range(15):
            logits, _ = m(torch.tensor([ids]))
            step = logits[0, -1].clone()
            step[[tok.pad_id, tok.unk_id]] = float("-inf")
            ids.append(int(step.argmax()))
    assert g.ids == ids[-15:]
    # a prime longer than bptt is read in chunks with the state carried: the same continuation
    assert generate(m, tok, "lazy", 15, temperature=0, context=ctx, bptt=2).ids == g.ids


def test_top_k_one_is_greedy_and_pad_unk_are_never_drawn():
    tok = CharTokenizer.train([TEXT])
    m = _model(tok)
    ctx = tok.encode("\n")
    assert generate(m, tok, "dog", 20, top_k=1, seed=0, context=ctx).ids == generate(m, tok, "dog", 20, temperature=0, context=ctx).ids
    with torch.no_grad():  # make <unk> and <pad> overwhelmingly likely
        m.decoder.bias[tok.unk_id] = 50.0
        m.decoder.bias[tok.pad_id] = 50.0
    g = generate(m, tok, "dog", 50, seed=1, context=ctx)
    assert tok.unk_id not in g.ids and tok.pad_id not in g.ids


def test_unseen_prime_characters_are_counted_as_unk():
    tok = CharTokenizer.train([TEXT])
    g = generate(_model(tok), tok, "Zebra!", 5, seed=0, context=tok.encode("\n"))
    assert g.prime_unknown == 2  # "Z" and "!" never occur in TEXT
    assert len(g.ids) == 5


def test_word_and_bpe_streams_join_into_the_decoded_text():
    word = WordTokenizer.train([TEXT])
    pieces = []
    g = generate(_model(word), word, "the", 12, seed=0, context=[word.encode("the")[0]], on_text=pieces.append)
    assert "".join(pieces) == g.text == word.decode(g.ids)
    bpe = SubwordTokenizer.train([TEXT] * 5, vocab_size=40)
    pieces = []
    g = generate(_model(bpe), bpe, "the", 25, seed=0, context=[bpe.encode("the")[0]], on_text=pieces.append)
    assert "".join(pieces) == g.text == bpe.decode(g.ids)


def test_bad_arguments():
    tok = CharTokenizer.train([TEXT])
    m = _model(tok)
    with pytest.raises(ValueError, match="length >= 0"):
        generate(m, tok, "a", -1)
    with pytest.raises(ValueError, match="priming text or a start context"):
        generate(m, tok, "", 3)
    with pytest.raises(ValueError, match="temperature"):
        generate(m, tok, "a", 3, temperature=-1)


class _ByteTokenizer:
    """A subword-like tokeniser over UTF-8 bytes whose decoder drops a leading space (as some do)."""

    kind = "bpe"

    def __init__(self):
        self.longest = 0

    def decode(self, ids):
        ids = list(ids)
        self.longest = max(self.longest, len(ids))
        return bytes(ids).decode("utf-8", errors="replace").removeprefix(" ")


def test_subword_stream_decodes_a_short_window_and_waits_for_whole_characters():
    from lstmkit.tasks.lm.generate import _Detokenizer

    text = "so, café — naïve ünïcode text " * 20
    ids = list(text.encode("utf-8"))
    tok = _ByteTokenizer()
    d = _Detokenizer(tok)
    pieces = [d.push(i) for i in ids] + [d.flush()]
    assert "".join(pieces) == d.text == text.removeprefix(" ")  # the whole decode, piece by piece
    assert all("\ufffd" not in p for p in pieces)  # a multi-byte character comes out whole, once complete
    assert tok.longest <= 4  # the window stays short: constant cost per token, not the whole text


@pytest.mark.parametrize("cfg", [dict(), dict(proj_size=8, tie_weights=False), dict(cell="layernorm")])
def test_one_token_step_equals_the_forward_and_generation_takes_it(cfg, monkeypatch):
    tok = CharTokenizer.train([TEXT])
    torch.manual_seed(1)
    m = LMNet(tok.vocab_size, ModelConfig(hidden_size=16, num_layers=2, dropout=0.0, **cfg)).eval()
    ids = torch.tensor(tok.encode("the lazy dog"))
    with torch.no_grad():
        _, s_fwd = m(ids[None, :3])
        s_step = s_fwd
        for t in range(3, len(ids)):
            a, s_fwd = m(ids[None, t : t + 1], s_fwd)
            b, s_step = m.step(ids[t : t + 1], s_step)
            torch.testing.assert_close(b, a[:, 0], rtol=1e-5, atol=1e-6)
            for x, y in zip(s_step, s_fwd):
                torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="one token id per row"):
        m.step(ids[None, :2])
    with pytest.raises(ValueError, match="token ids in"):
        m.step(torch.tensor([tok.vocab_size]))
    calls = []
    inner = LMNet.step
    monkeypatch.setattr(LMNet, "step", lambda self, i, s=None: calls.append(1) or inner(self, i, s))
    g = generate(m, tok, "the ", 6, temperature=0, context=tok.encode("\n"))
    assert len(calls) == 6 and len(g.ids) == 6
