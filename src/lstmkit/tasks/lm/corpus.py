"""The text of a run: read it, split it like nanoGPT, train a tokeniser on the training part.

Handling of awkward input (documented here once, used everywhere):

- A file that is missing, not UTF-8, or empty (after ``max_chars``) is an
  error that names it.
- Empty lines are ordinary text: in a stream they are newline characters,
  which a character model learns like any other (Tiny Shakespeare separates
  speeches with them); a word tokeniser splits on whitespace, so they vanish.
  Scoring line by line (:func:`lstmkit.tasks.lm.metrics.score_lines`) skips
  empty lines and says how many.
- Characters or words never seen in the training part become ``<unk>``
  (see :mod:`lstmkit.data.tokenize`); evaluations count them and generation
  never emits ``<unk>``.
- There is no maximum length: streams and long lines are cut into
  ``bptt.length`` chunks and the LSTM state carries across them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import DataConfig

#: the default corpus, relative to the repository root (not shipped with the package)
DEFAULT_DATA = Path("..") / "shared" / "data" / "tinyshakespeare" / "input.txt"


def repo_root() -> Path:
    return Path(__file__).resolve().parents[4]


def resolve_data_path(path: str | Path | None) -> Path:
    """``path``, or the Tiny Shakespeare file beside the repository when empty."""
    if path:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"lm: text file not found: {p}")
        return p
    for base in (Path.cwd(), repo_root()):
        p = (base / DEFAULT_DATA).resolve()
        if p.is_file():
            return p
    raise FileNotFoundError(
        f"lm: no --data given and the default corpus {DEFAULT_DATA} (Tiny Shakespeare) was not found relative to "
        f"the current folder or the repository root {repo_root()}; it is not shipped with the package: pass "
        "--data FILE, or download input.txt from karpathy/char-rnn's data/tinyshakespeare there"
    )


def read_text(path: str | Path, max_chars: int = 0) -> str:
    """The whole file as text (UTF-8), at most ``max_chars`` characters when > 0.

    Errors name the file: missing, not UTF-8 (a latin-1 or binary file: the
    line and byte, from :func:`lstmkit.io.files.read_text`), holding NUL
    characters (a binary file that happens to decode), or holding no text.
    """
    from ...io.files import read_text as read_utf8

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"lm: text file not found: {path}")
    text = read_utf8(path, "text for a language model")
    nul = text.find("\x00")
    if nul >= 0:
        raise ValueError(f"{path}: line {text.count(chr(10), 0, nul) + 1}: expected text, got a NUL character at "
                         f"character {nul} (a binary file?)")
    if max_chars:
        text = text[:max_chars]
    if not text.strip():
        raise ValueError(f"lm: {path} holds no text (expected some non-whitespace characters, got {len(text)} characters)")
    return text


def join_text(text, who: str = "lm") -> str:
    """A string as it is; an iterable of strings (lines or documents) joined, with a newline after each
    piece that does not already end in one (so ``open(path)``'s lines come back as the file)."""
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray)):
        raise ValueError(f"{who}: expected text as str or an iterable of str, got bytes (decode it first)")
    try:
        pieces = iter(text)
    except TypeError:
        raise ValueError(f"{who}: expected text as str or an iterable of str, got {type(text).__name__}") from None
    out = []
    for k, piece in enumerate(pieces):
        if not isinstance(piece, str):
            raise ValueError(f"{who}: expected every item of the text to be a str, got {type(piece).__name__} at "
                             f"index {k}")
        out.append(piece if piece.endswith("\n") else piece + "\n")
    return "".join(out)


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    """nanoGPT's split: the first ``1 - val_fraction`` of the characters train, the rest validate."""
    n = int(len(text) * (1 - val_fraction))
    if n < 2 or len(text) - n < 2:
        raise ValueError(f"lm: expected at least 2 characters in both the training and the validation part, got "
                         f"{n} and {len(text) - n} from {len(text)} characters with val_fraction {val_fraction}")
    return text[:n], text[n:]


def train_tokenizer(text: str, cfg: DataConfig):
    """A char, word or BPE tokeniser (with ``<unk>``) fitted on ``text``."""
    from ...data.tokenize import CharTokenizer, SubwordTokenizer, WordTokenizer

    if cfg.tokenizer == "char":
        return CharTokenizer.train([text], min_freq=1)
    if cfg.tokenizer == "word":
        return WordTokenizer.train([text], min_freq=cfg.min_freq, max_size=cfg.vocab_size or None, lowercase=cfg.lowercase)
    return SubwordTokenizer.train(text.splitlines(keepends=True), vocab_size=cfg.vocab_size or 2000,
                                  min_freq=max(cfg.min_freq, 2), lowercase=cfg.lowercase)


@dataclass
class Corpus:
    """A text file split into training and validation text, with its tokeniser and ids."""

    source: str
    train_text: str
    val_text: str
    tokenizer: object
    train_ids: list[int]
    val_ids: list[int]

    @property
    def val_unknown(self) -> int:
        """Validation tokens that became ``<unk>``."""
        unk = self.tokenizer.unk_id
        return 0 if unk is None else sum(1 for i in self.val_ids if i == unk)


def make_corpus(text: str, cfg: DataConfig, val_text: str | None = None, source: str = "") -> Corpus:
    """Split (unless ``val_text`` is given) and tokenise ``text``; the tokeniser learns the training part only.

    ``cfg.max_chars`` keeps the first characters of ``text`` (not of
    ``val_text``); without ``val_text`` the last ``cfg.val_fraction`` of the
    characters validate.
    """
    where = source or "the text"
    if cfg.max_chars:
        text = text[: cfg.max_chars]
    if not text.strip():
        raise ValueError(f"lm: {where} holds no text (expected some non-whitespace characters, got {len(text)} "
                         "characters)")
    if val_text is None:
        train_text, val_text = split_text(text, cfg.val_fraction)
    else:
        train_text = text
        if len(val_text) < 2 or len(train_text) < 2:
            raise ValueError(f"lm: expected at least 2 characters of training and of validation text, got "
                             f"{len(train_text)} and {len(val_text)}")
    tok = train_tokenizer(train_text, cfg)
    train_ids, val_ids = tok.encode(train_text), tok.encode(val_text)
    for part, ids in (("training", train_ids), ("validation", val_ids)):
        if len(ids) < 2:
            raise ValueError(f"lm: the {part} part of {where} gives {len(ids)} token(s) with the {cfg.tokenizer} "
                             "tokenizer; expected at least 2")
    return Corpus(source, train_text, val_text, tok, train_ids, val_ids)


def load_corpus(cfg: DataConfig) -> Corpus:
    """Read, split and tokenise the configured file (``cfg.path``, or Tiny Shakespeare when empty)."""
    path = resolve_data_path(cfg.path)
    return make_corpus(read_text(path), cfg, source=str(path))


def text_part(text: str, part: str, val_fraction: float) -> str:
    """``all`` of ``text``, or its ``train`` or ``val`` part as :func:`split_text` cuts it."""
    if part not in ("all", "train", "val"):
        raise ValueError(f"lm: expected part all, train or val, got {part!r}")
    if part == "all":
        return text
    train, val = split_text(text, val_fraction)
    return val if part == "val" else train


def start_context(tokenizer, train_ids: list[int] | None = None) -> list[int]:
    """The ids a text is assumed to follow when nothing precedes it.

    Character models: a newline (a text starts as if on a fresh line), when
    the vocabulary has one. Otherwise the first training token. Stored with
    the model so evaluation and generation agree.
    """
    if getattr(tokenizer, "kind", "") == "char":
        ids = tokenizer.encode("\n")
        if ids and ids[0] != tokenizer.unk_id:
            return ids
    if train_ids:
        return [int(train_ids[0])]
    return [tokenizer.unk_id if tokenizer.unk_id is not None else 0]
