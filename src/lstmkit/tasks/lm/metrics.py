r"""Perplexity and bits per character, computed exactly by carrying the state over a whole text.

For scored tokens :math:`x_1 \dots x_N` of a text of :math:`C` characters:

.. math::
    \text{loss} = \frac{1}{N} \sum_t -\ln p(x_t \mid x_{<t}) \;\text{(nats per token)}, \qquad
    \text{perplexity} = e^{\text{loss}}, \qquad
    \text{bpc} = \frac{\sum_t -\ln p(x_t \mid x_{<t})}{C \ln 2}

For a character model :math:`C = N`, so bpc is the loss divided by
:math:`\ln 2`. For word and subword models the total is divided by the
number of characters of the text, which makes their bpc comparable with a
character model's.

How a text is scored (:func:`score_text`): it is cut into ``B`` contiguous
segments of nearly equal length (every token is kept; none is dropped);
each segment follows the model's *start context* (a newline for character
models, see :func:`~lstmkit.tasks.lm.corpus.start_context`), so every token
of the text is predicted, and the segments run side by side in ``bptt``
chunks with the state carried across chunks. With ``B = 1`` that is the text
read once from start to end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from .streams import IGNORE


@dataclass
class LMScore:
    """Summed negative log-likelihood and what it was summed over."""

    nats: float  # total -ln p over the scored tokens
    tokens: int  # scored tokens N
    chars: int  # characters C of the scored text
    unknown: int = 0  # scored tokens that were <unk>

    @property
    def loss(self) -> float:
        """Mean nats per token."""
        return self.nats / self.tokens if self.tokens else float("nan")

    @property
    def perplexity(self) -> float:
        return math.exp(self.loss) if self.tokens else float("nan")

    @property
    def bits_per_token(self) -> float:
        return self.loss / math.log(2)

    @property
    def bpc(self) -> float:
        """Bits per character: total nats / (characters * ln 2)."""
        return self.nats / (self.chars * math.log(2)) if self.chars else float("nan")

    def to_dict(self) -> dict:
        return {"loss": self.loss, "perplexity": self.perplexity, "bpc": self.bpc, "bits_per_token": self.bits_per_token,
                "nats": self.nats, "tokens": self.tokens, "chars": self.chars, "unknown_tokens": self.unknown}


def split_segments(ids: Sequence[int], parts: int) -> list[list[int]]:
    """``ids`` cut into at most ``parts`` contiguous, nearly equal, non-empty segments (all tokens kept)."""
    ids = list(ids)
    parts = max(1, min(parts, len(ids)))
    base, extra = divmod(len(ids), parts)
    out, i = [], 0
    for k in range(parts):
        n = base + (1 if k < extra else 0)
        out.append(ids[i : i + n])
        i += n
    return out


@torch.no_grad()
def segment_nats(model, segments: Sequence[Sequence[int]], context: Sequence[int], bptt: int = 256,
                 batch_size: int = 32) -> list[float]:
    """Total ``-ln p`` of every token of each segment, each read after ``context`` from a zero state.

    Segments run ``batch_size`` at a time (longest first, so rows of a batch
    have similar lengths), in ``bptt`` chunks with the state carried; rows that
    have ended are padded and not scored. Returns one total per segment, in
    the order given. The model is put in evaluation mode (and back).
    """
    if not context:
        raise ValueError("segment_nats: expected a non-empty start context")
    if bptt < 1 or batch_size < 1:
        raise ValueError(f"segment_nats: expected bptt >= 1 and batch_size >= 1, got {bptt}, {batch_size}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ctx = [int(i) for i in context]
    c = len(ctx)
    order = sorted(range(len(segments)), key=lambda k: -len(segments[k]))
    totals = [0.0] * len(segments)
    try:
        for b0 in range(0, len(order), batch_size):
            rows = order[b0 : b0 + batch_size]
            width = c - 1 + max(len(segments[k]) for k in rows)
            inputs = torch.zeros(len(rows), width, dtype=torch.int64)
            targets = torch.full((len(rows), width), IGNORE, dtype=torch.int64)
            for r, k in enumerate(rows):
                seg = [int(i) for i in segments[k]]
                if not seg:
                    continue
                seq = ctx + seg
                inputs[r, : len(seq) - 1] = torch.tensor(seq[:-1])
                targets[r, c - 1 : c - 1 + len(seg)] = torch.tensor(seg)
            inputs, targets = inputs.to(device), targets.to(device)
            state = None
            row_nats = torch.zeros(len(rows), dtype=torch.float64, device=device)
            for i in range(0, width, bptt):
                logits, state = model(inputs[:, i : i + bptt], state)
                y = targets[:, i : i + bptt]
                logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
                nll = F.cross_entropy(logits.transpose(1, 2), y, ignore_index=IGNORE, reduction="none")
                row_nats += nll.double().sum(1)
            for r, k in enumerate(rows):
                totals[k] = float(row_nats[r])
    finally:
        model.train(was_training)
    return totals


def score_text(model, tokenizer, text: str, context: Sequence[int], bptt: int = 256, batch_size: int = 32) -> LMScore:
    """Loss, perplexity and bpc of ``text`` (see the module docstring for how it is read)."""
    ids = tokenizer.encode(text)
    if not ids:
        raise ValueError(f"score_text: the text gives no tokens (got {len(text)} characters)")
    segs = split_segments(ids, batch_size)
    nats = sum(segment_nats(model, segs, context, bptt, batch_size))
    unk = tokenizer.unk_id
    return LMScore(nats, len(ids), len(ids) if tokenizer.kind == "char" else len(text),
                   0 if unk is None else sum(1 for i in ids if i == unk))


@dataclass
class LineScore:
    line: int  # 1-based line number in the file
    text: str
    score: LMScore


def score_lines(model, tokenizer, text: str, context: Sequence[int], bptt: int = 256,
                batch_size: int = 32) -> tuple[list[LineScore], int]:
    """Score every non-empty line of ``text`` on its own (after the start context, from a zero state).

    Returns ``(scores, skipped)``: empty or whitespace-only lines are not
    scored and are counted in ``skipped``; lines of any length are scored
    (in ``bptt`` chunks). A character model's line score covers the line's
    characters (not its newline).
    """
    lines = text.splitlines()
    keep = [(n + 1, line) for n, line in enumerate(lines) if line.strip()]
    if not keep:
        raise ValueError(f"score_lines: expected at least one non-empty line, got {len(lines)} empty line(s)")
    encoded = [tokenizer.encode(line) for _, line in keep]
    totals = segment_nats(model, encoded, context, bptt, batch_size)
    unk = tokenizer.unk_id
    out = []
    for (n, line), ids, nats in zip(keep, encoded, totals):
        chars = len(ids) if tokenizer.kind == "char" else len(line)
        out.append(LineScore(n, line, LMScore(nats, len(ids), chars, 0 if unk is None else ids.count(unk))))
    return out, len(lines) - len(keep)
