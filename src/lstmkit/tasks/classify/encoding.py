"""Examples -> tensors: the word vocabulary for text, the scaling and framing of series.

The encoder is fitted on the training examples and saved with the model, so
``predict`` encodes new data exactly as training did.

- Text: a :class:`lstmkit.data.tokenize.WordTokenizer` (whitespace split,
  optional lower-casing). Words never seen in training, or rarer than
  ``min_freq``, become ``<unk>`` (the tokeniser's policy).
- Series: optional first differences as extra channels, then scaling
  (``global``: the training set's per-channel mean and std; ``series``:
  each series z-normalised; ``none``), then ``frame`` consecutive steps
  stacked into one input vector (a last partial frame is padded by repeating
  the series' final step).
- Overlong sequences (more than ``max_length`` steps after framing, words for
  text) are cut to their first ``max_length`` steps; :meth:`encode` returns
  how many were cut so the caller can say so.
"""

from __future__ import annotations

import numpy as np
import torch

from .config import ClassifyDataConfig
from .data import Examples


def scale_of(x: np.ndarray) -> np.ndarray:
    """Per column, the standard deviation to divide by: floored at 1e-12 of
    the column's magnitude (RMS), so that a constant column (rounding noise
    at most) divides by the floor, while series of any scale, 1e-10 as well
    as 1e10, are scaled alike (an absolute floor flattened tiny-valued series)."""
    rms = np.sqrt(np.mean(np.square(x), axis=0))
    return np.maximum(x.std(0), np.maximum(1e-12 * rms, np.finfo(np.float64).tiny))


class SequenceEncoder:
    def __init__(self, kind: str, max_length: int, tokenizer=None, normalize: str = "none", mean=None, std=None,
                 frame: int = 1, diff: bool = False, channels: int = 0) -> None:
        self.kind, self.max_length, self.tokenizer = kind, max_length, tokenizer
        self.normalize, self.frame, self.diff, self.channels = normalize, frame, diff, channels
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(cls, train: Examples, cfg: ClassifyDataConfig) -> "SequenceEncoder":
        if train.kind == "text":
            from ...data.tokenize import WordTokenizer

            tok = WordTokenizer.train(train.items, min_freq=cfg.min_freq, max_size=cfg.max_vocab or None,
                                      lowercase=cfg.lowercase)
            return cls("text", cfg.max_length, tokenizer=tok)
        channels = {s.shape[1] for s in train.items}
        if len(channels) != 1:
            raise ValueError(f"SequenceEncoder: expected every training series to have the same channels, got {sorted(channels)}")
        enc = cls("series", cfg.max_length, normalize=cfg.normalize, frame=cfg.frame, diff=cfg.diff, channels=channels.pop())
        if cfg.normalize == "global":
            allsteps = np.concatenate([enc._features(s) for s in train.items], axis=0)
            enc.mean, enc.std = allsteps.mean(0), scale_of(allsteps)
        return enc

    # ------------------------------------------------------------------ encode
    @property
    def input_size(self) -> int:
        return self.channels * (2 if self.diff else 1) * self.frame

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size if self.tokenizer is not None else 0

    def _features(self, s: np.ndarray) -> np.ndarray:
        if self.diff:
            s = np.concatenate([s, np.diff(s, axis=0, prepend=s[:1])], axis=1)
        return s

    def _series(self, s: np.ndarray, where: str) -> np.ndarray:
        if s.shape[1] != self.channels:
            raise ValueError(f"SequenceEncoder: expected series with {self.channels} channel(s), got {s.shape[1]} ({where})")
        s = self._features(s)
        if self.normalize == "global":
            s = (s - self.mean) / self.std
        elif self.normalize == "series":
            s = (s - s.mean(0)) / scale_of(s)
        if self.frame > 1:
            pad = (-len(s)) % self.frame
            if pad:
                s = np.concatenate([s, np.repeat(s[-1:], pad, axis=0)], axis=0)
            s = s.reshape(len(s) // self.frame, self.frame * s.shape[1])
        return s

    def encode(self, examples: Examples) -> tuple[list[torch.Tensor], int]:
        """One tensor per example (``(T,)`` ids or ``(T, F)`` floats) and the number cut to ``max_length``."""
        if examples.kind != self.kind:
            raise ValueError(f"SequenceEncoder: expected {self.kind} data (as in training), got {examples.kind} from {examples.source}")
        out, cut = [], 0
        for item, where in zip(examples.items, examples.ids):
            if self.kind == "text":
                ids = self.tokenizer.encode(item)
                if not ids:
                    raise ValueError(f"SequenceEncoder: expected at least one word, got none ({examples.source} {where})")
                t = torch.tensor(ids, dtype=torch.int64)
            else:
                t = torch.from_numpy(self._series(item, f"{examples.source} {where}")).float()
            if self.max_length and len(t) > self.max_length:
                t, cut = t[: self.max_length], cut + 1
            out.append(t)
        return out, cut

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        d = dict(kind=self.kind, max_length=self.max_length, normalize=self.normalize, frame=self.frame, diff=self.diff,
                 channels=self.channels,
                 mean=None if self.mean is None else self.mean.tolist(), std=None if self.std is None else self.std.tolist())
        if self.tokenizer is not None:
            d["tokenizer"] = dict(kind=self.tokenizer.kind, **self.tokenizer.to_dict())
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SequenceEncoder":
        tok = None
        if d.get("tokenizer"):
            from ...data.tokenize import WordTokenizer
            from ...data.vocab import Vocab

            t = d["tokenizer"]
            tok = WordTokenizer(Vocab.from_dict(t["vocab"]), lowercase=t["lowercase"], split=t["split"])
        return cls(d["kind"], d["max_length"], tokenizer=tok, normalize=d["normalize"], mean=d["mean"], std=d["std"],
                   frame=d["frame"], diff=d["diff"], channels=d["channels"])
