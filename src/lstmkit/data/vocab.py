"""A vocabulary: tokens (characters, words, tags) to integer ids and back, saved as JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

PAD = "<pad>"
UNK = "<unk>"
FORMAT = "lstmkit.vocab"
VERSION = 1
ORDERS = ("frequency", "sorted", "first")


class Vocab:
    """Token <-> id mapping with a padding token and an unknown-token policy.

    Ids: ``0`` is ``<pad>``; the next is ``<unk>`` when ``unk=True``; then
    the extra ``specials`` (e.g. ``<bos>``, ``<eos>``) in the order given;
    then the tokens. A label vocabulary (e.g. the tags a CRF scores, where
    padding is handled by lengths) can leave out both: ``pad=False,
    unk=False`` numbers the labels from ``0``.

    Unknown-token policy:

    - ``unk=True`` (default): a token not in the vocabulary (never seen in
      training, or seen fewer than ``min_freq`` times) encodes to
      ``unk_id``, and ``unk_id`` decodes to ``'<unk>'``.
    - ``unk=False``: encoding a token not in the vocabulary raises
      ``ValueError`` naming it (for closed sets: characters of a fixed
      corpus, tag sets). ``min_freq > 1`` then makes no sense and is refused.

    Args:
        tokens: the ordinary tokens, in id order (no duplicates, none equal to
            a special token).
        specials: extra special tokens after ``<pad>`` and ``<unk>``.
        unk: whether the vocabulary has ``<unk>``. Default ``True``.
        pad: whether the vocabulary has ``<pad>`` (id ``0``). Default ``True``.

    Example::

        >>> v = Vocab.build([["the", "cat"], ["the", "dog"]], specials=["<bos>"])
        >>> v.tokens
        ['<pad>', '<unk>', '<bos>', 'the', 'cat', 'dog']
        >>> v.encode(["the", "bird"])
        [3, 1]
        >>> v.decode([3, 1, 0])
        ['the', '<unk>']
    """

    def __init__(self, tokens: Sequence[str], specials: Sequence[str] = (), unk: bool = True, pad: bool = True) -> None:
        head = ([PAD] if pad else []) + ([UNK] if unk else []) + list(specials)
        self.tokens: list[str] = head + list(tokens)
        self.specials: list[str] = list(specials)
        self.index: dict[str, int] = {}
        for i, tok in enumerate(self.tokens):
            if not isinstance(tok, str):
                raise ValueError(f"Vocab: expected str tokens, got {tok!r} ({type(tok).__name__})")
            if tok in self.index:
                raise ValueError(f"Vocab: expected unique tokens, got {tok!r} twice (ids {self.index[tok]} and {i})")
            self.index[tok] = i
        self.pad_id: int | None = 0 if pad else None
        self.unk_id: int | None = int(pad) if unk else None

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        sequences: Iterable[Iterable[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = (),
        unk: bool = True,
        order: str = "frequency",
        pad: bool = True,
    ) -> "Vocab":
        """Count tokens over ``sequences`` and keep the frequent ones.

        Args:
            sequences: token sequences (a string counts as a sequence of
                characters).
            min_freq: keep tokens seen at least this often. Default ``1``.
            max_size: keep at most this many ordinary tokens (the most
                frequent). Default ``None``, no limit.
            specials: extra special tokens, see :class:`Vocab`.
            unk, pad: see :class:`Vocab`.
            order: ``'frequency'`` (default; most frequent first, ties by
                token), ``'sorted'`` (by token, as character-level models
                often do) or ``'first'`` (order of first appearance).
        """
        if min_freq < 1:
            raise ValueError(f"Vocab: expected min_freq >= 1, got {min_freq}")
        if max_size is not None and max_size < 0:
            raise ValueError(f"Vocab: expected max_size >= 0 or None, got {max_size}")
        if not unk and (min_freq > 1 or max_size is not None):
            raise ValueError(
                f"Vocab: expected unk=True when tokens are dropped (min_freq={min_freq}, max_size={max_size}), got unk=False"
            )
        if order not in ORDERS:
            raise ValueError(f"Vocab: expected order in {ORDERS}, got {order!r}")
        counts: Counter[str] = Counter()
        for seq in sequences:
            counts.update(seq)
        reserved = ({PAD} if pad else set()) | ({UNK} if unk else set()) | set(specials)
        kept = [t for t, c in counts.items() if c >= min_freq and t not in reserved]  # Counter keeps first-seen order
        by_freq = sorted(kept, key=lambda t: (-counts[t], t))
        if max_size is not None:
            by_freq = by_freq[:max_size]
        if order == "frequency":
            tokens = by_freq
        else:
            chosen = set(by_freq)
            tokens = sorted(chosen) if order == "sorted" else [t for t in kept if t in chosen]
        return cls(tokens, specials=specials, unk=unk, pad=pad)

    # ------------------------------------------------------------------ lookup
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, unk={self.unk_id is not None}, specials={self.specials})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.to_dict() == other.to_dict()

    def token_to_id(self, token: str) -> int:
        """The id of ``token``, following the unknown-token policy."""
        i = self.index.get(token)
        if i is not None:
            return i
        if self.unk_id is None:
            raise ValueError(f"Vocab: expected a token in the vocabulary (unk=False), got {token!r}")
        return self.unk_id

    def id_to_token(self, i: int) -> str:
        if not 0 <= i < len(self.tokens):
            raise ValueError(f"Vocab: expected an id in 0..{len(self.tokens) - 1}, got {i}")
        return self.tokens[i]

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; unknown ones per the policy (``unk_id`` or ``ValueError``)."""
        get, unk = self.index.get, self.unk_id
        out = []
        for pos, tok in enumerate(tokens):
            i = get(tok, unk)
            if i is None:
                raise ValueError(f"Vocab: expected tokens in the vocabulary (unk=False), got {tok!r} at position {pos}")
            out.append(i)
        return out

    def decode(self, ids: Iterable[int], skip_pad: bool = True) -> list[str]:
        """Tokens of ``ids``; ``<pad>`` ids are dropped unless ``skip_pad=False``."""
        pad = self.pad_id if skip_pad else None
        return [self.id_to_token(int(i)) for i in ids if pad is None or int(i) != pad]

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        return dict(
            format=FORMAT,
            version=VERSION,
            pad=self.pad_id is not None,
            unk=self.unk_id is not None,
            specials=self.specials,
            tokens=self.tokens,
        )

    @classmethod
    def from_dict(cls, d: dict, where: str = "Vocab.from_dict") -> "Vocab":
        if d.get("format") != FORMAT or d.get("version") != VERSION:
            raise ValueError(
                f"{where}: expected format {FORMAT!r} version {VERSION}, got {d.get('format')!r} version {d.get('version')!r}"
            )
        pad, unk, specials, tokens = bool(d.get("pad", True)), bool(d["unk"]), list(d["specials"]), list(d["tokens"])
        head = ([PAD] if pad else []) + ([UNK] if unk else []) + specials
        if tokens[: len(head)] != head:
            raise ValueError(f"{where}: expected the tokens to begin with {head}, got {tokens[: len(head)]}")
        return cls(tokens[len(head) :], specials=specials, unk=unk, pad=pad)

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON (UTF-8, one token list in id order)."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), where=f"Vocab.load: {path}")
