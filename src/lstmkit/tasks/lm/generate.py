"""Text generation: read a priming text, then sample one token at a time with the state carried.

The priming text goes through the model in ``bptt`` chunks (any length),
then each new token is drawn by :func:`lstmkit.tasks.lm.sampling.sample_next`
(temperature, top-k, top-p; greedy at temperature 0) and fed back in one
step, so the cost per token is one LSTM step. ``<pad>`` and ``<unk>`` are
never drawn. Each piece of text is handed to ``on_text`` as soon as its
token is drawn (:func:`generate`), or yielded (:func:`generate_pieces`):
streamed output.

The one-token steps go through the network's :meth:`~.model.LMNet.step`
(:meth:`lstmkit.LSTM.step`) on the model's own engine: on the CPU one fused
call for the whole stack that reads the weights where they are. A sequence
of length one through the forward pays a whole call's set-up instead (the
weights re-laid out, or torch.nn's call): measured on a 2-core Xeon, 2
threads, LSTM and decoder per token, 2 x 256 units and 65 tokens: 106 us by
``step`` against 400 us for the forward on ``reference`` (the former default
here), 790-830 on ``cpu``/``auto`` and 730 on ``torch``; 2 x 512 units and
10,000 tokens (the decoder's 20 MB dominate): 960 against 1,370 us.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Generator, Sequence

import torch

from .sampling import sample_next


@dataclass
class Generation:
    prime: str
    text: str  # the generated continuation (without the prime)
    ids: list[int] = field(default_factory=list)
    prime_unknown: int = 0  # prime tokens that were <unk>
    seed: int | None = None


class _Detokenizer:
    """Turns a growing list of ids into text pieces, whatever the tokeniser.

    Subwords are decoded in a short window, not from the start: ``prefix``
    marks the first id of the window and ``read`` the ids whose text was
    already emitted. The new piece is ``decode(ids[prefix:])`` minus
    ``decode(ids[prefix:read])``, so a decoder that treats the first token of
    a slice specially cancels out, and the cost per token stays constant
    instead of growing with the text. A piece that ends in an unfinished
    character (``'\ufffd'``) waits for the next token.
    """

    def __init__(self, tokenizer) -> None:
        self.tok = tokenizer
        self.ids: list[int] = []
        self.text = ""
        self.prefix = 0
        self.read = 0

    def push(self, token: int) -> str:
        kind = getattr(self.tok, "kind", "")
        self.ids.append(token)
        if kind == "char":
            piece = self.tok.decode([token])
        elif kind == "word":
            piece = ("" if len(self.ids) == 1 else " ") + self.tok.decode([token])
        else:
            piece = self._window_piece()
            if piece.endswith("\ufffd") or not piece:
                return ""  # not a whole new character yet
            self.prefix, self.read = self.read, len(self.ids)
        self.text += piece
        return piece

    def _window_piece(self) -> str:
        """The text the ids after ``read`` add to the window that starts at ``prefix``."""
        before = self.tok.decode(self.ids[self.prefix : self.read])
        return self.tok.decode(self.ids[self.prefix :])[len(before) :]

    def flush(self) -> str:
        """What the last tokens still hold back (subwords only); empty for whole pieces."""
        if getattr(self.tok, "kind", "") in ("char", "word") or self.read == len(self.ids):
            return ""
        piece = self._window_piece()
        self.read = len(self.ids)
        self.text += piece
        return piece


def _real(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def check_generate_args(length: int, temperature: float, top_k: int | None, top_p: float | None,
                        who: str = "generate") -> None:
    """The checks :func:`generate` makes before reading anything (so a lazy stream fails at once, too)."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ValueError(f"{who}: expected length >= 0 (an int), got {length!r}")
    if isinstance(temperature, bool) or not (_real(temperature) and temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"{who}: expected a finite temperature >= 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"{who}: expected top_k an int >= 1 or None, got {top_k!r}")
    if top_p is not None and not (_real(top_p) and 0 < top_p <= 1):
        raise ValueError(f"{who}: expected top_p in (0, 1] or None, got {top_p!r}")


def generate_pieces(
    model,
    tokenizer,
    prime: str,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    context: Sequence[int] = (),
    bptt: int = 256,
    step_backend: str | None = None,
) -> Generator[str, None, Generation]:
    """Continue ``prime`` by ``length`` tokens, yielding each new piece of text as it is drawn.

    The arguments are those of :func:`generate`. The generator's return
    value (``StopIteration.value``, or ``yield from``) is the whole
    :class:`Generation`. Nothing runs until the first ``next()``.
    """
    check_generate_args(length, temperature, top_k, top_p)
    ids = [int(i) for i in context] + tokenizer.encode(prime)
    if not ids:
        raise ValueError("generate: expected a priming text or a start context, got neither")
    unk = tokenizer.unk_id
    prime_unknown = 0 if unk is None else tokenizer.encode(prime).count(unk)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device=device)
    if seed is not None:
        gen.manual_seed(int(seed))
    else:
        gen.seed()
    banned = [i for i in (tokenizer.pad_id, unk) if i is not None]
    detok = _Detokenizer(tokenizer)
    out: list[int] = []
    lstm = getattr(model, "lstm", None)
    own = getattr(lstm, "backend", None)
    stepper = getattr(model, "step", None)  # LMNet's one-token step (other networks: the forward)
    try:
        with torch.no_grad():
            x = torch.tensor([ids], dtype=torch.int64, device=device)
            state = None
            for i in range(0, x.shape[1], bptt):
                logits, state = model(x[:, i : i + bptt], state)
            last = logits[0, -1]
        if step_backend is not None and own is not None:
            lstm.backend = step_backend
        for _ in range(length):
            with torch.no_grad():
                last = last.float().clone()
                last[banned] = float("-inf")
                token = int(sample_next(last, temperature, top_k, top_p, generator=gen))
            out.append(token)
            piece = detok.push(token)
            if piece:
                yield piece
            with torch.no_grad():
                if stepper is not None:
                    logits, state = stepper(torch.tensor([token], device=device), state)
                    last = logits[0]
                else:
                    logits, state = model(torch.tensor([[token]], device=device), state)
                    last = logits[0, -1]
        piece = detok.flush()
        if piece:
            yield piece
    finally:  # also when the caller stops reading early
        if own is not None:
            lstm.backend = own
        model.train(was_training)
    return Generation(prime, detok.text, out, prime_unknown, seed)


def generate(
    model,
    tokenizer,
    prime: str,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    context: Sequence[int] = (),
    bptt: int = 256,
    on_text: Callable[[str], None] | None = None,
    step_backend: str | None = None,
) -> Generation:
    """Continue ``prime`` by ``length`` tokens.

    Args:
        model: a :class:`~lstmkit.tasks.lm.model.LMNet` (in eval mode while it runs).
        tokenizer: its tokeniser.
        prime: the priming text; empty means start after ``context`` only.
        length: tokens to generate (``>= 0``).
        temperature, top_k, top_p: see :func:`~lstmkit.tasks.lm.sampling.sample_next`.
        seed: seeds a private ``torch.Generator`` (same seed, same text).
        context: ids read before the prime (the model's start context).
        bptt: chunk length for reading the prime.
        on_text: called with each new piece of text as it is drawn.
        step_backend: engine for the one-token steps (``None``: the model's own).
    """
    pieces = generate_pieces(model, tokenizer, prime, length, temperature, top_k, top_p, seed, context, bptt,
                             step_backend)
    while True:
        try:
            piece = next(pieces)
        except StopIteration as stop:
            return stop.value
        if on_text is not None:
            on_text(piece)
