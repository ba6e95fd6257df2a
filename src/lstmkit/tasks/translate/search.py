"""Greedy and batched beam search over any model with ``encode``, ``start`` and ``step``.

A model for these functions (:class:`~lstmkit.tasks.translate.seq2seq.Seq2SeqNet`,
:class:`~lstmkit.tasks.translate.transformer.TransformerNet`) provides::

    memory = model.encode(src, src_len)              # dict of tensors, batch first
    state = model.start(memory)                      # dict of tensors, batch first
    logits, state, weights = model.step(memory, state, prev_ids)   # one target position

so a beam reorders memory and state with ``index_select(0, ...)`` alone.

Decoding never produces ``<pad>``, ``<unk>`` or ``<bos>``; a sentence ends at
``<eos>`` or at its length limit (``<eos>`` is forced there). Beam search keeps
``beam`` live hypotheses per sentence; a hypothesis that ends is set aside with
its score divided by the length penalty ``((5 + n) / 6) ** alpha`` (Wu et al.
2016; ``n`` counts ``<eos>``) and a sentence is finished once ``beam``
hypotheses have ended. As in fairseq, only an ``<eos>`` among the ``beam``
best continuations ends a hypothesis, so ``beam=1`` is exactly greedy search.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID

BANNED = (PAD_ID, UNK_ID, BOS_ID)


@dataclass
class Hypothesis:
    """One translation: target ids (without ``<eos>``), the summed log-probability and the normalised score."""

    ids: list[int]
    logprob: float
    score: float


def length_penalty(n: Tensor | int, alpha: float):
    """``((5 + n) / 6) ** alpha`` (Wu et al. 2016); 1 for ``alpha = 0``."""
    return ((5.0 + n) / 6.0) ** alpha


def default_limits(src_len: Tensor, max_length: int = 0) -> Tensor:
    """Most target tokens (``<eos>`` included) per sentence: ``max_length``, or ``2 * source tokens + 10``."""
    if max_length:
        return torch.full_like(src_len, max_length)
    return 2 * src_len + 10


def _log_probs(logits: Tensor, t: int, limits: Tensor) -> Tensor:
    """Log-probabilities of the next token with the banned ids removed and ``<eos>`` forced at the limit."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    logp[:, list(BANNED)] = float("-inf")
    at_limit = (t + 1) >= limits
    if bool(at_limit.any()):
        eos = logp[:, EOS_ID].clone()
        logp[at_limit] = float("-inf")
        logp[at_limit, EOS_ID] = torch.where(torch.isfinite(eos[at_limit]), eos[at_limit], torch.zeros_like(eos[at_limit]))
    return logp


@torch.no_grad()
def greedy_search(model, src: Tensor, src_len: Tensor, limits: Tensor | None = None,
                  alpha: float = 0.0) -> list[Hypothesis]:
    """The most likely next token at every step, for a batch of sentences at once."""
    limits = default_limits(src_len) if limits is None else limits
    memory = model.encode(src, src_len)
    state = model.start(memory)
    B = src.shape[0]
    prev = torch.full((B,), BOS_ID, dtype=torch.int64, device=src.device)
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    logprob = torch.zeros(B, dtype=torch.float32, device=src.device)
    steps = []
    for t in range(int(limits.max())):
        logits, state, _ = model.step(memory, state, prev)
        logp = _log_probs(logits, t, limits)
        best, tok = logp.max(-1)
        tok = torch.where(done, torch.full_like(tok, PAD_ID), tok)
        logprob = logprob + torch.where(done, torch.zeros_like(best), best)
        steps.append(tok)
        done = done | (tok == EOS_ID)
        prev = torch.where(tok == PAD_ID, torch.full_like(tok, EOS_ID), tok)
        if bool(done.all()):
            break
    ids = torch.stack(steps, 1).tolist()
    out = []
    for b in range(B):
        seq = [i for i in ids[b] if i != PAD_ID]
        n = len(seq)  # <eos> included
        if seq and seq[-1] == EOS_ID:
            seq = seq[:-1]
        lp = float(logprob[b])
        out.append(Hypothesis(seq, lp, lp / float(length_penalty(n, alpha))))
    return out


@torch.no_grad()
def beam_search(model, src: Tensor, src_len: Tensor, beam: int, limits: Tensor | None = None,
                alpha: float = 0.6) -> list[Hypothesis]:
    """Batched beam search (see the module docstring); the best hypothesis per sentence by normalised score."""
    if beam < 1:
        raise ValueError(f"beam_search: expected beam >= 1, got {beam}")
    limits = default_limits(src_len) if limits is None else limits
    B, K = src.shape[0], beam
    device = src.device
    memory = {k: v.repeat_interleave(K, 0) for k, v in model.encode(src, src_len).items()}
    state = model.start(memory)
    limits_k = limits.repeat_interleave(K)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis per sentence at the start
    tokens = torch.zeros(B * K, 0, dtype=torch.int64, device=device)
    prev = torch.full((B * K,), BOS_ID, dtype=torch.int64, device=device)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    base = (torch.arange(B, device=device) * K).unsqueeze(1)  # (B, 1)
    for t in range(int(limits.max())):
        logits, state, _ = model.step(memory, state, prev)
        logp = _log_probs(logits, t, limits_k)  # (B*K, V)
        V = logp.shape[1]
        cand = (scores.view(B * K, 1) + logp).view(B, K * V)
        top, idx = cand.topk(min(2 * K, K * V), dim=1)  # (B, 2K)
        origin, tok = idx // V, idx % V
        is_eos = tok == EOS_ID
        # hypotheses that end: an <eos> among the K best candidates, with a finite score
        ending = (is_eos[:, :K] & torch.isfinite(top[:, :K])).nonzero().tolist()
        if ending:
            rows = (base + origin).view(-1)
            flat_tokens = tokens.index_select(0, rows).tolist() if tokens.shape[1] else [[] for _ in range(rows.numel())]
            top_list = top.tolist()
            for b, j in ending:
                if done[b]:
                    continue
                lp = top_list[b][j]
                finished[b].append(Hypothesis(flat_tokens[b * top.shape[1] + j], lp,
                                              lp / float(length_penalty(t + 1, alpha))))
        for b in range(B):
            if not done[b] and len(finished[b]) >= K:
                done[b] = True
        if all(done):
            break
        # the K best continuations that do not end carry on
        order = torch.sort(is_eos.to(torch.int8), dim=1, stable=True).indices[:, :K]  # non-<eos> first, by score
        keep_score = top.gather(1, order)
        keep_score = torch.where(is_eos.gather(1, order), torch.full_like(keep_score, float("-inf")), keep_score)
        if any(done):
            keep_score[torch.tensor(done, device=device)] = float("-inf")
        rows = (base + origin.gather(1, order)).view(-1)  # (B*K,)
        next_tok = tok.gather(1, order).view(-1)
        state = {k: v.index_select(0, rows) for k, v in state.items()}
        tokens = torch.cat([tokens.index_select(0, rows), next_tok.unsqueeze(1)], dim=1)
        scores = keep_score
        prev = next_tok
    out = []
    for b in range(B):
        if not finished[b]:  # cannot happen with <eos> forced at the limit; kept as a guard
            raise RuntimeError("beam_search: a sentence ended without any finished hypothesis")
        out.append(max(finished[b], key=lambda h: h.score))
    return out


def search(model, src: Tensor, src_len: Tensor, beam: int, limits: Tensor | None = None,
           alpha: float = 0.6) -> list[Hypothesis]:
    """:func:`greedy_search` for ``beam == 1``, else :func:`beam_search`."""
    if beam == 1:
        return greedy_search(model, src, src_len, limits, alpha)
    return beam_search(model, src, src_len, beam, limits, alpha)


__all__ = ["Hypothesis", "greedy_search", "beam_search", "search", "length_penalty", "default_limits", "BANNED"]
