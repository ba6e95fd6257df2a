"""Language-model metrics: loss, perplexity and bits per character, checked by hand."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lstmkit.data.tokenize import CharTokenizer, WordTokenizer
from lstmkit.tasks.lm.config import ModelConfig
from lstmkit.tasks.lm.metrics import LMScore, score_lines, score_text, segment_nats, split_segments
from lstmkit.tasks.lm.model import LMNet


class Bigram(nn.Module):
    """p(next | current) = softmax(table[current]); ignores the state (so its scores are easy to write down)."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table = nn.Parameter(table)

    def forward(self, ids, state=None):
        return self.table[ids], state


def bigram_nats(table, ids, context):
    """Sum of -ln p over ``ids`` read after ``context``, by hand."""
    seq = list(context) + list(ids)
    logp = torch.log_softmax(table.double(), -1)
    return -sum(float(logp[a, b]) for a, b in zip(seq[len(context) - 1 : -1], seq[len(context) :]))


def test_score_by_hand():
    # two tokens, each with probability 1/4: loss ln 4, perplexity 4, 2 bits each
    s = LMScore(nats=2 * math.log(4), tokens=2, chars=2)
    assert s.loss == pytest.approx(math.log(4))
    assert s.perplexity == pytest.approx(4.0)
    assert s.bpc == pytest.approx(2.0)
    assert s.bits_per_token == pytest.approx(2.0)
    # a word model: the same 4 bits over 8 characters is 0.5 bits per character
    w = LMScore(nats=2 * math.log(4), tokens=2, chars=8)
    assert w.bpc == pytest.approx(0.5)
    assert w.perplexity == pytest.approx(4.0)
    d = w.to_dict()
    assert d["tokens"] == 2 and d["chars"] == 8 and d["bpc"] == pytest.approx(0.5)


def test_uniform_model_scores_ln_v_per_token():
    tok = CharTokenizer.train(["abcdefg\n"])  # 2 specials + 8 characters
    V = tok.vocab_size
    model = Bigram(torch.zeros(V, V))
    text = "abba\ncafe\n" * 7
    s = score_text(model, tok, text, context=tok.encode("\n"), bptt=5, batch_size=3)
    assert s.tokens == len(text) and s.chars == len(text)
    assert s.loss == pytest.approx(math.log(V))
    assert s.perplexity == pytest.approx(V)
    assert s.bpc == pytest.approx(math.log2(V))


@pytest.mark.parametrize("bptt,batch", [(1, 1), (3, 2), (7, 5), (100, 64)])
def test_bigram_model_matches_hand_computation(bptt, batch):
    tok = CharTokenizer.train(["the cat sat\n"])
    V = tok.vocab_size
    table = torch.randn(V, V, generator=torch.Generator().manual_seed(1))
    model = Bigram(table)
    text = "the cat sat on the mat\nthe hat\n"
    ids = tok.encode(text)
    ctx = tok.encode("\n")
    segs = split_segments(ids, batch)
    expected = sum(bigram_nats(table, seg, ctx) for seg in segs)
    s = score_text(model, tok, text, ctx, bptt=bptt, batch_size=batch)
    assert s.nats == pytest.approx(expected, rel=1e-6)
    assert s.unknown == text.count("o") + text.count("n") + text.count("m")  # unseen in "the cat sat"
    assert s.loss == pytest.approx(expected / len(ids), rel=1e-6)


def test_split_segments_keeps_every_token():
    ids = list(range(10))
    segs = split_segments(ids, 3)
    assert segs == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert split_segments(ids, 50) == [[i] for i in ids]  # never an empty segment
    assert split_segments([1, 2], 1) == [[1, 2]]


def test_lstm_score_is_the_whole_sequence_cross_entropy():
    """The state carried across bptt chunks gives exactly the loss of one pass over the text."""
    torch.manual_seed(0)
    tok = CharTokenizer.train(["to be or not to be\n"])
    model = LMNet(tok.vocab_size, ModelConfig(hidden_size=16, num_layers=2, dropout=0.3, output_dropout=0.3)).double()
    text = "to be or not to be, that is the question\n"
    ids = tok.encode(text)
    ctx = tok.encode("\n")
    model.eval()
    with torch.no_grad():
        logits, _ = model(torch.tensor([ctx + ids[:-1]]))
    expected = float(F.cross_entropy(logits[0], torch.tensor(ids), reduction="sum"))
    for bptt in (1, 4, 1000):
        s = score_text(model, tok, text, ctx, bptt=bptt, batch_size=1)
        assert s.nats == pytest.approx(expected, rel=1e-9), bptt
    assert model.training is False
    model.train()
    score_text(model, tok, text, ctx, bptt=4, batch_size=1)
    assert model.training is True  # put back as it was


def test_word_model_bpc_counts_characters():
    tok = WordTokenizer.train(["the cat sat on the mat"])
    V = tok.vocab_size
    model = Bigram(torch.zeros(V, V))
    text = "the cat sat\nthe dog sat"  # "dog" is unseen: <unk>
    s = score_text(model, tok, text, context=[tok.encode("the")[0]], bptt=2, batch_size=2)
    assert s.tokens == 6 and s.chars == len(text) and s.unknown == 1
    assert s.bpc == pytest.approx(6 * math.log(V) / (len(text) * math.log(2)))


def test_score_lines_skips_empty_lines_and_scores_each_alone():
    tok = CharTokenizer.train(["abc\n"])
    V = tok.vocab_size
    table = torch.randn(V, V, generator=torch.Generator().manual_seed(2))
    model = Bigram(table)
    ctx = tok.encode("\n")
    text = "abc\n\n   \ncab" + "a" * 40 + "\n"
    rows, skipped = score_lines(model, tok, text, ctx, bptt=4, batch_size=2)
    assert skipped == 2
    assert [r.line for r in rows] == [1, 4]
    for r in rows:
        assert r.score.nats == pytest.approx(bigram_nats(table, tok.encode(r.text), ctx), rel=1e-6)
        assert r.score.tokens == len(r.text)
    with pytest.raises(ValueError, match="non-empty line"):
        score_lines(model, tok, "\n \n", ctx)


def test_segment_nats_checks_arguments():
    model = Bigram(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="start context"):
        segment_nats(model, [[1, 2]], [])
    with pytest.raises(ValueError, match="bptt >= 1"):
        segment_nats(model, [[1, 2]], [1], bptt=0)
