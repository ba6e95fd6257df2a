"""Truncated backpropagation through time: parallel streams, consecutive chunks, a carried state.

The token sequence is cut into ``B`` equal contiguous streams laid side by
side, ``(B, L)``; an epoch walks them left to right in chunks of ``bptt``
steps. Row ``b`` of chunk ``k + 1`` continues row ``b`` of chunk ``k``, so
the LSTM state at the end of one chunk is the right initial state for the
next: :class:`TBPTTStep` keeps it between calls and detaches it, so
gradients flow back at most ``bptt`` steps while the memory carries on::

    ids 0 1 2 3 4 5 6 7 8 9 10 11, B=2  ->  stream 0: 0 1 2 3 4 5
                                           stream 1: 6 7 8 9 10 11
    bptt=2: chunk 0 inputs [[0 1] [6 7]]   targets [[1 2] [7 8]]
            chunk 1 inputs [[2 3] [8 9]]   targets [[3 4] [9 10]]
            chunk 2 inputs [[4] [10]]      targets [[5] [11]]      (the last chunk is shorter)

Each batch is ``(inputs, targets, first)`` with ``first`` true on an epoch's
first chunk, where the carried state is reset to zeros. Tokens beyond
``B * L`` (fewer than ``B``) are left out of training. With
``random_offset`` each epoch starts ``s`` tokens later (``0 <= s < bptt``,
drawn per epoch), so the chunk borders (where gradients are cut) move from
epoch to epoch; every epoch then has the same number of full-length chunks
(Lightning needs a fixed length) and the tail after the last full chunk
(fewer than ``2 * bptt`` tokens per stream) is skipped in that epoch.
:class:`StreamChunks` keeps the epoch count in its ``state_dict``, so a
resumed run draws the same offsets as an uninterrupted one.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE = -100  # cross_entropy's ignore_index: targets that are not scored


def batchify(ids: Sequence[int] | Tensor, streams: int, who: str = "batchify") -> Tensor:
    """``ids`` ``(N,)`` -> ``(streams, N // streams)``: contiguous streams side by side (``who``: the
    caller named in errors)."""
    ids = torch.as_tensor(ids, dtype=torch.int64)
    if streams < 1:
        raise ValueError(f"{who}: expected streams >= 1, got {streams}")
    length = ids.numel() // streams
    if length < 2:
        raise ValueError(f"{who}: expected at least 2 tokens per stream, got {ids.numel()} tokens for {streams} "
                         f"streams ({length} each); use a smaller batch_size or more text")
    return ids[: streams * length].view(streams, length)


class StreamChunks:
    """The consecutive ``(inputs, targets, first)`` chunks of an epoch (an iterable Lightning accepts).

    Args:
        ids: the token ids of the text.
        streams: parallel streams ``B`` (the batch size).
        bptt: steps per chunk.
        random_offset: start each epoch at a random offset in ``[0, bptt)``
            (the same for all streams), drawn from ``seed`` and the epoch number.
        seed: for the offsets.
        who: the caller named in errors about too little text.
    """

    def __init__(self, ids: Sequence[int] | Tensor, streams: int, bptt: int, random_offset: bool = False, seed: int = 0,
                 who: str = "batchify"):
        if bptt < 1:
            raise ValueError(f"StreamChunks: expected bptt >= 1, got {bptt}")
        self.data = batchify(ids, streams, who)  # (B, L)
        self.bptt = bptt
        n = self.data.shape[1] - 1  # predicted positions per stream
        self.random_offset = bool(random_offset) and n >= 2 * bptt - 1
        # with offsets: the full chunks that fit after the largest offset; else all, the last one ragged
        self._len = (n - bptt + 1) // bptt if self.random_offset else (n + bptt - 1) // bptt
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return self._len

    def offset(self, epoch: int) -> int:
        if not self.random_offset:
            return 0
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return int(torch.randint(0, self.bptt, (1,), generator=g))

    def state_dict(self) -> dict:
        """The epoch counter the offsets are drawn from (a resumed run continues with the same offsets)."""
        return {"epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])

    def __iter__(self):
        start = self.offset(self.epoch)
        self.epoch += 1
        L = self.data.shape[1]
        for k in range(self._len):
            i = start + k * self.bptt
            n = min(self.bptt, L - 1 - i)
            yield self.data[:, i : i + n], self.data[:, i + 1 : i + 1 + n], torch.tensor(k == 0)


def detach_state(state):
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


class TBPTTStep:
    """``step(model, batch)`` for :func:`lstmkit.train.fit` that carries the LSTM state between chunks.

    Use one instance for training and another for validation (each stream
    of batches carries its own state). The loss is the mean cross-entropy
    in nats per scored target token; ``IGNORE`` targets are skipped.
    """

    def __init__(self) -> None:
        self.state = None

    def reset(self) -> None:
        self.state = None

    def __call__(self, model, batch) -> dict[str, Tensor]:
        x, y, first = batch
        if bool(first) or self.state is None or self.state[0].shape[1] != x.shape[0]:
            self.state = None
        logits, state = model(x, self.state)
        self.state = detach_state(state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE)
        return {"loss": loss}
