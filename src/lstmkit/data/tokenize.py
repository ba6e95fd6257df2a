"""Text to ids and back: character, word and subword (BPE) tokenisers, saved as JSON.

All three share one interface: ``train(texts, ...)`` (a classmethod),
``tokenize(text) -> list[str]``, ``encode(text) -> list[int]``,
``decode(ids) -> str``, ``vocab_size``, ``pad_id`` (always ``0``),
``unk_id`` (``1``, or ``None`` for a closed vocabulary), ``save(path)`` and
``load(path)``; :func:`load_tokenizer` reads any of them.

Unknown-token policy:

- :class:`CharTokenizer` and :class:`WordTokenizer`: a character or word not
  in the vocabulary (unseen in training, or rarer than ``min_freq``) encodes
  to ``<unk>`` (id ``1``); trained with ``unk=False``, encoding one raises
  ``ValueError`` naming it instead.
- :class:`SubwordTokenizer`: every word splits into known subwords down to
  single characters, so only a *character* never seen in training becomes
  ``<unk>``.
- ``decode`` drops ``<pad>`` and writes ``<unk>`` as the text ``'<unk>'``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

from .vocab import PAD, UNK, Vocab

FORMAT = "lstmkit.tokenizer"
VERSION = 1
WORD_SPLITS = ("whitespace", "words")
_WORD_RE = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


class _Tokenizer:
    """What the three tokenisers share: batch encoding and JSON files."""

    kind = ""

    def encode(self, text: str) -> list[int]:  # pragma: no cover - overridden
        raise NotImplementedError

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def to_dict(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def save(self, path: str | Path) -> None:
        """Write the tokeniser as one JSON file (UTF-8)."""
        d = dict(format=FORMAT, version=VERSION, kind=self.kind, **self.to_dict())
        Path(path).write_text(json.dumps(d, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path):
        tok = load_tokenizer(path)
        if not isinstance(tok, cls):
            raise ValueError(f"{cls.__name__}.load: {path}: expected a {cls.kind!r} tokenizer, got {tok.kind!r}")
        return tok


class _VocabTokenizer(_Tokenizer):
    """A tokeniser whose ids come from a :class:`Vocab`."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def pad_id(self) -> int:
        return self.vocab.pad_id

    @property
    def unk_id(self) -> int | None:
        return self.vocab.unk_id


class CharTokenizer(_VocabTokenizer):
    """One token per character (a Unicode code point).

    Args:
        vocab: the character vocabulary.

    Example::

        >>> tok = CharTokenizer.train(["hello world"])
        >>> tok.decode(tok.encode("hello, world"))
        'hello<unk> world'
    """

    kind = "char"

    @classmethod
    def train(
        cls, texts: Iterable[str], min_freq: int = 1, unk: bool = True, specials: tuple[str, ...] = (), order: str = "sorted"
    ) -> "CharTokenizer":
        """Build the vocabulary of the characters of ``texts`` (sorted by default); see :meth:`Vocab.build`."""
        return cls(Vocab.build(texts, min_freq=min_freq, specials=specials, unk=unk, order=order))

    def tokenize(self, text: str) -> list[str]:
        return list(text)

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.vocab.decode(ids))

    def to_dict(self) -> dict:
        return dict(vocab=self.vocab.to_dict())


class WordTokenizer(_VocabTokenizer):
    """One token per word.

    Args:
        vocab: the word vocabulary.
        lowercase: lower-case text before splitting. Default ``False``.
        split: ``'whitespace'`` (default; for pre-tokenised text such as
            SST-2 and CoNLL) or ``'words'`` (runs of letters/digits, with
            inner apostrophes as in ``don't``, and each punctuation mark alone).

    ``decode`` joins words with single spaces.

    Example::

        >>> tok = WordTokenizer.train(["the cat sat", "the dog sat"], min_freq=2)
        >>> tok.tokenize("the cat sat"), tok.encode("the cat sat")
        (['the', 'cat', 'sat'], [3, 1, 2])
        >>> WordTokenizer.train(["Don't stop!"], split="words", lowercase=True).tokenize("Don't stop!")
        ["don't", 'stop', '!']
    """

    kind = "word"

    def __init__(self, vocab: Vocab, lowercase: bool = False, split: str = "whitespace") -> None:
        if split not in WORD_SPLITS:
            raise ValueError(f"WordTokenizer: expected split in {WORD_SPLITS}, got {split!r}")
        super().__init__(vocab)
        self.lowercase, self.split = lowercase, split

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        min_freq: int = 1,
        max_size: int | None = None,
        lowercase: bool = False,
        split: str = "whitespace",
        unk: bool = True,
        specials: tuple[str, ...] = (),
    ) -> "WordTokenizer":
        """Build the word vocabulary (most frequent first); see :meth:`Vocab.build`."""
        probe = cls(Vocab([]), lowercase=lowercase, split=split)
        vocab = Vocab.build(
            (probe.tokenize(t) for t in texts), min_freq=min_freq, max_size=max_size, specials=specials, unk=unk
        )
        return cls(vocab, lowercase=lowercase, split=split)

    def tokenize(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return text.split() if self.split == "whitespace" else _WORD_RE.findall(text)

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode(self.tokenize(text))

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.vocab.decode(ids))

    def to_dict(self) -> dict:
        return dict(vocab=self.vocab.to_dict(), lowercase=self.lowercase, split=self.split)


class SubwordTokenizer(_Tokenizer):
    """Byte-pair-encoding subwords, trained with the ``tokenizers`` library.

    Spaces become part of the following subword (``'▁'``, as SentencePiece
    writes it) and no space is added at the start, so ``decode(encode(text))``
    gives ``text`` back whenever every character of ``text`` was seen in
    training (unseen characters come back as ``'<unk>'``).

    Args:
        tokenizer: a trained ``tokenizers.Tokenizer`` whose ids ``0`` and
            ``1`` are ``<pad>`` and ``<unk>``; build one with :meth:`train`.

    Example::

        >>> tok = SubwordTokenizer.train(["the cat sat on the mat"] * 10, vocab_size=40)
        >>> tok.decode(tok.encode("the mat sat"))
        'the mat sat'
    """

    kind = "bpe"

    def __init__(self, tokenizer) -> None:
        if tokenizer.token_to_id(PAD) != 0 or tokenizer.token_to_id(UNK) != 1:
            raise ValueError(
                f"SubwordTokenizer: expected ids 0 and 1 to be {PAD} and {UNK}, "
                f"got {tokenizer.token_to_id(PAD)} and {tokenizer.token_to_id(UNK)}"
            )
        self.tokenizer = tokenizer

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int = 1000,
        min_freq: int = 2,
        lowercase: bool = False,
        specials: tuple[str, ...] = (),
    ) -> "SubwordTokenizer":
        """Learn BPE merges on ``texts``.

        Args:
            vocab_size: the largest vocabulary, specials and single characters
                included. Default ``1000``.
            min_freq: a pair must occur this often to be merged. Default ``2``.
            lowercase: lower-case text first. Default ``False``.
            specials: extra special tokens after ``<pad>`` and ``<unk>``.
        """
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

        if vocab_size < 2 + len(specials):
            raise ValueError(f"SubwordTokenizer: expected vocab_size >= {2 + len(specials)}, got {vocab_size}")
        tok = Tokenizer(models.BPE(unk_token=UNK))
        if lowercase:
            tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never")
        tok.decoder = decoders.Metaspace(prepend_scheme="never")
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_freq, special_tokens=[PAD, UNK, *specials], show_progress=False
        )
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    def tokenize(self, text: str) -> list[str]:
        return self.tokenizer.encode(text, add_special_tokens=False).tokens

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode([int(i) for i in ids if int(i) != 0], skip_special_tokens=False)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    pad_id = 0
    unk_id = 1

    def to_dict(self) -> dict:
        return dict(tokenizer=json.loads(self.tokenizer.to_str()))


_KINDS = {c.kind: c for c in (CharTokenizer, WordTokenizer, SubwordTokenizer)}


def load_tokenizer(path: str | Path) -> CharTokenizer | WordTokenizer | SubwordTokenizer:
    """Read a tokeniser written by any ``save``; the file says which kind."""
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("version") != VERSION:
        got = (d.get("format"), d.get("version")) if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"load_tokenizer: {path}: expected format {FORMAT!r} version {VERSION}, got {got}")
    kind = d.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"load_tokenizer: {path}: expected kind in {tuple(_KINDS)}, got {kind!r}")
    if kind == "bpe":
        from tokenizers import Tokenizer

        return SubwordTokenizer(Tokenizer.from_str(json.dumps(d["tokenizer"])))
    vocab = Vocab.from_dict(d["vocab"], where=f"load_tokenizer: {path}")
    if kind == "char":
        return CharTokenizer(vocab)
    return WordTokenizer(vocab, lowercase=d["lowercase"], split=d["split"])
