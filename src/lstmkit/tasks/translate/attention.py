"""Attention of a decoder state over the encoder's outputs: additive (Bahdanau) and multiplicative (Luong) scores."""

from __future__ import annotations

import torch
from torch import Tensor, nn

SCORES = ("additive", "multiplicative")


class Attention(nn.Module):
    r"""Scores of a query (the decoder state ``h_t``) against every encoder output ``\bar h_s``, a softmax over the
    source steps that are not padding, and the context vector.

    .. math::
        \mathrm{score}(h_t, \bar h_s) =
        \begin{cases}
        v^\top \tanh(W_k \bar h_s + W_q h_t) & \text{additive (Bahdanau et al. 2015)} \\
        h_t^\top W_a \bar h_s & \text{multiplicative, Luong et al. 2015's ``general''}
        \end{cases}
        \qquad
        a_{ts} = \frac{\exp \mathrm{score}(h_t, \bar h_s)}{\sum_{s' < S_b} \exp \mathrm{score}(h_t, \bar h_{s'})},
        \qquad
        c_t = \sum_s a_{ts} \bar h_s

    The parts that depend on the encoder alone (``W_k \bar h_s``, ``W_a \bar h_s``) are computed once per
    sentence by :meth:`keys`; padded source steps get weight exactly 0.

    Args:
        score: ``'additive'`` or ``'multiplicative'``.
        query_size: size of ``h_t``.
        memory_size: size of ``\bar h_s``.
        attn_size: size of the additive score's hidden layer. Default: ``query_size``.

    Shapes:
        ==========  ======================================
        memory      ``(B, S, memory_size)``
        mask        ``(B, S)`` bool, true at real steps
        query       ``(B, query_size)`` or ``(B, T, query_size)``
        weights     ``(B, S)`` or ``(B, T, S)``
        context     ``(B, memory_size)`` or ``(B, T, memory_size)``
        ==========  ======================================

    Example::

        >>> att = Attention("additive", 8, 6)
        >>> mem, mask = torch.randn(2, 5, 6), torch.tensor([[1, 1, 1, 0, 0], [1] * 5]).bool()
        >>> ctx, w = att(torch.randn(2, 8), att.keys(mem), mem, mask)
        >>> ctx.shape, float(w[0, 3:].sum())
        (torch.Size([2, 6]), 0.0)
    """

    def __init__(self, score: str, query_size: int, memory_size: int, attn_size: int | None = None) -> None:
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"Attention: expected score in {SCORES}, got {score!r}")
        self.score = score
        if score == "additive":
            a = attn_size or query_size
            self.key = nn.Linear(memory_size, a, bias=False)
            self.query = nn.Linear(query_size, a, bias=True)
            self.v = nn.Linear(a, 1, bias=False)
        else:
            self.key = nn.Linear(memory_size, query_size, bias=False)  # W_a, applied to the memory side once

    def keys(self, memory: Tensor) -> Tensor:
        """The encoder-side part of the score: ``(B, S, A)`` (additive) or ``(B, S, query_size)``."""
        return self.key(memory)

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``(context, weights)`` for one step (``query (B, Q)``) or all steps at once (``query (B, T, Q)``)."""
        single = query.dim() == 2
        q = query.unsqueeze(1) if single else query  # (B, T, Q)
        if self.score == "additive":
            e = self.v(torch.tanh(keys.unsqueeze(1) + self.query(q).unsqueeze(2))).squeeze(-1)  # (B, T, S)
        else:
            e = torch.bmm(q, keys.transpose(1, 2))  # (B, T, S)
        e = e.masked_fill(~mask.unsqueeze(1), float("-inf"))
        w = torch.softmax(e, dim=-1)  # (B, T, S)
        ctx = torch.bmm(w, memory)  # (B, T, M)
        if single:
            return ctx.squeeze(1), w.squeeze(1)
        return ctx, w
