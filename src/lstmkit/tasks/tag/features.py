"""Sentences -> tensors for the tagger: word ids, character ids, word shapes and tag ids.

- Words are normalised for the word embedding (lower-cased, digits to ``0``,
  both configurable); a word never seen in training (or rarer than
  ``min_freq``) becomes ``<unk>``. Its characters and shape still reach the
  model, so unseen words are tagged from their spelling.
- Characters keep their case; a character never seen in training becomes the
  character ``<unk>``. Words longer than ``max_word_length`` give their first
  characters only.
- The shape is one of :data:`SHAPES` (capitalisation, digits, punctuation).
- Tags are numbered in the model's scheme (IOB2 or BIOES) from ``0``; a tag
  the training data never had cannot be encoded (``ValueError``), but is
  fine in files that are only scored.
"""

from __future__ import annotations

import re

import torch

from ...data.vocab import Vocab

SHAPES = ("<pad>", "lower", "upper", "title", "mixed", "number", "has_digit", "punct", "other")
_DIGIT = re.compile(r"\d")


def word_shape(word: str) -> str:
    """The capitalisation/digit/punctuation class of a word (one of :data:`SHAPES`).

    Example::

        >>> [word_shape(w) for w in ["the", "EU", "German", "iPhone", "1996", "3-D", ",", "é"]]
        ['lower', 'upper', 'title', 'mixed', 'number', 'has_digit', 'punct', 'lower']
    """
    if word.replace(",", "").replace(".", "").isdigit():
        return "number"
    if any(c.isdigit() for c in word):
        return "has_digit"
    letters = [c for c in word if c.isalpha()]
    if not letters:
        return "punct" if all(not c.isalnum() for c in word) else "other"
    if all(c.islower() for c in letters):
        return "lower"
    if all(c.isupper() for c in letters):
        return "upper"
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return "title"
    return "mixed"


class TagEncoder:
    """Vocabularies of words, characters and tags, fitted on the training sentences and saved with the model."""

    def __init__(self, words: Vocab, chars: Vocab, tags: Vocab, lowercase: bool, digits_to_zero: bool,
                 max_word_length: int) -> None:
        self.words, self.chars, self.tags = words, chars, tags
        self.lowercase, self.digits_to_zero, self.max_word_length = lowercase, digits_to_zero, max_word_length
        self.shape_index = {s: i for i, s in enumerate(SHAPES)}

    def normalise(self, word: str) -> str:
        if self.lowercase:
            word = word.lower()
        if self.digits_to_zero:
            word = _DIGIT.sub("0", word)
        return word

    @classmethod
    def fit(cls, tokens: list[list[str]], tags: list[list[str]], lowercase: bool = True, digits_to_zero: bool = True,
            min_freq: int = 1, max_word_length: int = 30) -> "TagEncoder":
        probe = cls(Vocab([]), Vocab([]), Vocab([], unk=False, pad=False), lowercase, digits_to_zero, max_word_length)
        words = Vocab.build(([probe.normalise(w) for w in s] for s in tokens), min_freq=min_freq)
        chars = Vocab.build((c for s in tokens for c in s), order="sorted")
        tag_vocab = Vocab.build(tags, unk=False, pad=False, order="sorted")
        return cls(words, chars, tag_vocab, lowercase, digits_to_zero, max_word_length)

    @property
    def tag_names(self) -> list[str]:
        return list(self.tags.tokens)

    def encode(self, tokens: list[str], tags: list[str] | None = None) -> dict[str, torch.Tensor]:
        """One sentence: ``words (T,)``, ``chars (T, L)``, ``shapes (T,)`` and, given tags, ``tags (T,)``."""
        L = max(1, min(self.max_word_length, max(len(w) for w in tokens)))
        chars = torch.zeros(len(tokens), L, dtype=torch.int64)
        for i, w in enumerate(tokens):
            ids = self.chars.encode(w[:L])
            chars[i, : len(ids)] = torch.tensor(ids, dtype=torch.int64)
        out = {
            "words": torch.tensor(self.words.encode(self.normalise(w) for w in tokens), dtype=torch.int64),
            "chars": chars,
            "shapes": torch.tensor([self.shape_index[word_shape(w)] for w in tokens], dtype=torch.int64),
        }
        if tags is not None:
            try:
                out["tags"] = torch.tensor(self.tags.encode(tags), dtype=torch.int64)
            except ValueError:
                unknown = sorted(set(tags) - set(self.tags.tokens))
                raise ValueError(f"TagEncoder: expected tags seen in training ({self.tag_names}), got {unknown}") from None
        return out

    def to_dict(self) -> dict:
        return dict(words=self.words.to_dict(), chars=self.chars.to_dict(), tags=self.tags.to_dict(), lowercase=self.lowercase,
                    digits_to_zero=self.digits_to_zero, max_word_length=self.max_word_length)

    @classmethod
    def from_dict(cls, d: dict) -> "TagEncoder":
        return cls(Vocab.from_dict(d["words"]), Vocab.from_dict(d["chars"]), Vocab.from_dict(d["tags"]), d["lowercase"],
                   d["digits_to_zero"], d["max_word_length"])


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Pad a list of encoded sentences into a batch (batch first); ``lengths (B,)``."""
    B = len(items)
    T = max(len(it["words"]) for it in items)
    L = max(it["chars"].shape[1] for it in items)
    batch = {
        "words": torch.zeros(B, T, dtype=torch.int64),
        "chars": torch.zeros(B, T, L, dtype=torch.int64),
        "shapes": torch.zeros(B, T, dtype=torch.int64),
        "lengths": torch.tensor([len(it["words"]) for it in items], dtype=torch.int64),
    }
    if "tags" in items[0]:
        batch["tags"] = torch.zeros(B, T, dtype=torch.int64)
    for b, it in enumerate(items):
        n, l = it["chars"].shape
        batch["words"][b, :n] = it["words"]
        batch["chars"][b, :n, :l] = it["chars"]
        batch["shapes"][b, :n] = it["shapes"]
        if "tags" in batch:
            batch["tags"][b, :n] = it["tags"]
    return batch
