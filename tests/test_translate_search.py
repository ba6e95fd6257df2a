"""Greedy and beam search: beam=1 is greedy, beam finds the best hypothesis, limits and banned tokens hold."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from lstmkit.tasks.translate.config import ModelConfig
from lstmkit.tasks.translate.search import beam_search, greedy_search, length_penalty
from lstmkit.tasks.translate.seq2seq import Seq2SeqNet
from lstmkit.tasks.translate.tokens import BOS_ID, EOS_ID

EXTRA = (4, 5)  # the toy vocabulary's ordinary tokens: ids 0-3 are <pad>, <unk>, <bos>, <eos>


class MarkovToy(torch.nn.Module):
    """p(next | previous token) from a fixed table: a model whose best translation can be found exhaustively."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table  # (V, V) probabilities, rows indexed by the previous token

    def encode(self, src, src_len):
        return {"src": src}

    def start(self, memory):
        return {"dummy": torch.zeros(memory["src"].shape[0], 1)}

    def step(self, memory, state, prev, trace=None):
        return self.table[prev].log(), state, None


def _table(rows: dict[int, dict[int, float]], V: int = 6) -> torch.Tensor:
    t = torch.full((V, V), 1e-9)
    for prev, nxt in rows.items():
        for tok, p in nxt.items():
            t[prev, tok] = p
    return t / t.sum(1, keepdim=True)


def _exhaustive_best(table: torch.Tensor, limit: int, alpha: float) -> tuple[list[int], float]:
    best, best_score = None, -math.inf
    logt = table.log()
    for n in range(1, limit + 1):  # n tokens, the last is <eos>
        for body in itertools.product(EXTRA, repeat=n - 1):
            seq = [BOS_ID, *body, EOS_ID]
            lp = sum(float(logt[a, b]) for a, b in zip(seq, seq[1:]))
            s = lp / float(length_penalty(n, alpha))
            if s > best_score:
                best, best_score = list(body), s
    return best, best_score


def test_beam_beats_greedy_on_a_trap():
    # greedy takes A (0.6) and then never finds a good ending; "B <eos>" has probability 0.4 * 0.95
    table = _table({BOS_ID: {4: 0.6, 5: 0.4}, 4: {4: 0.36, 5: 0.34, EOS_ID: 0.30}, 5: {EOS_ID: 0.95, 4: 0.05}})
    toy, src, limits = MarkovToy(table), torch.ones(1, 3, dtype=torch.int64), torch.tensor([6])
    g = greedy_search(toy, src, torch.tensor([3]), limits, alpha=0.0)[0]
    b = beam_search(toy, src, torch.tensor([3]), beam=2, limits=limits, alpha=0.0)[0]
    assert b.ids == [5] and b.logprob == pytest.approx(math.log(0.4 * 0.95), rel=1e-4)
    assert g.ids[0] == 4 and g.logprob < b.logprob


@pytest.mark.parametrize("seed, alpha", [(0, 0.0), (1, 0.6), (2, 1.0), (3, 0.6)])
def test_a_wide_beam_returns_the_best_scoring_hypothesis(seed, alpha):
    g = torch.Generator().manual_seed(seed)
    table = torch.rand(6, 6, generator=g) ** 3 + 1e-3
    table[:, :3] = 1e-9  # <pad>, <unk>, <bos> are never produced anyway
    table = table / table.sum(1, keepdim=True)
    limit = 5
    best, best_score = _exhaustive_best(table, limit, alpha)
    hyp = beam_search(MarkovToy(table), torch.ones(2, 2, dtype=torch.int64), torch.tensor([2, 2]), beam=64,
                      limits=torch.tensor([limit, limit]), alpha=alpha)
    for h in hyp:  # both sentences of the batch get the same answer
        assert h.ids == best and h.score == pytest.approx(best_score, rel=1e-4, abs=1e-5)


def _random_net(attention="multiplicative", feed=True, seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(embedding_size=16, hidden_size=16, encoder_layers=1, decoder_layers=2, attention=attention,
                      input_feeding=feed, dropout=0.0)
    net = Seq2SeqNet(30, 25, cfg).eval()
    with torch.no_grad():  # sharper distributions than the initial near-uniform ones
        net.out.bias.copy_(torch.randn(25) * 2)
    return net


@pytest.mark.parametrize("attention", ["additive", "multiplicative", "none"])
def test_beam_of_one_is_greedy_search(attention):
    net = _random_net(attention)
    src = torch.randint(4, 30, (6, 7))
    src_len = torch.tensor([7, 5, 3, 1, 6, 2])
    limits = torch.tensor([9, 9, 4, 3, 12, 6])
    g = greedy_search(net, src, src_len, limits, alpha=0.6)
    b = beam_search(net, src, src_len, beam=1, limits=limits, alpha=0.6)
    assert [h.ids for h in g] == [h.ids for h in b]
    assert [h.logprob for h in g] == pytest.approx([h.logprob for h in b], abs=1e-4)


def test_limits_and_banned_tokens_hold():
    net = _random_net()
    with torch.no_grad():
        net.out.bias[EOS_ID] = -50.0  # the model never wants to stop
        net.out.bias[1] = 50.0  # and loves <unk>
    src, src_len = torch.randint(4, 30, (3, 5)), torch.tensor([5, 4, 2])
    limits = torch.tensor([4, 2, 7])
    for hyps in (greedy_search(net, src, src_len, limits), beam_search(net, src, src_len, 3, limits)):
        for h, lim in zip(hyps, limits.tolist()):
            assert len(h.ids) == lim - 1  # <eos> forced as token number `lim`
            assert not set(h.ids) & {0, 1, BOS_ID, EOS_ID}

