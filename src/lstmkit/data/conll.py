"""Read and write CoNLL-style column files: one token a line, blank lines between sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

DOCSTART = "-DOCSTART-"


@dataclass
class Sentence:
    """One sentence of a CoNLL file.

    Attributes:
        tokens: the words (first column).
        tags: the labels (last column), e.g. ``B-PER``, ``I-ORG``, ``O``.
        pos: part-of-speech tags (second column) when the file has three
            columns or more, else ``None``.
        columns: every column, in file order (``columns[0] is tokens``).
        line: 1-based line number of the sentence's first token in the file.
        lines: 1-based line number of every token (for errors that name the place).
        source: the file the sentence was read from (``''`` when built in memory).
    """

    tokens: list[str]
    tags: list[str]
    pos: list[str] | None = None
    columns: list[list[str]] = field(default_factory=list, repr=False)
    line: int = 0
    lines: list[int] = field(default_factory=list, repr=False)
    source: str = field(default="", repr=False)

    def place(self, token: int) -> str:
        """Where token ``token`` is: ``file:line`` for a sentence read from a file, else ``token i``."""
        if self.source and token < len(self.lines):
            return f"{self.source}:{self.lines[token]}"
        return f"token {token}"

    def __len__(self) -> int:
        return len(self.tokens)


def iter_conll(path: str | Path, num_columns: int | None = None, encoding: str = "utf-8") -> Iterator[Sentence]:
    """Yield the sentences of a CoNLL file one by one.

    Format: one token a line, columns separated by whitespace (``token POS
    tag`` for the CoNLL-2003 copy in ``../shared/data``; the original four-column
    ``token POS chunk tag`` reads too); a blank line ends a sentence;
    ``-DOCSTART-`` lines (document boundaries) are skipped and never start a
    sentence.

    Args:
        path: the file.
        num_columns: columns every token line must have. ``None`` (default)
            takes the first token line's count, which must be at least 2.
        encoding: text encoding. Default ``'utf-8'``.

    Raises:
        ValueError: a line with another number of columns, naming the file
            and the 1-based line number; a file that is not text in
            ``encoding`` (latin-1 read as UTF-8, binary), naming the file.
    """
    path = Path(path)
    expected = num_columns
    if expected is not None and expected < 2:
        raise ValueError(f"read_conll: expected num_columns >= 2 (token and tag), got {expected}")
    rows: list[list[str]] = []
    lines: list[int] = []
    for lineno, raw in enumerate(read_lines(path, encoding, "CoNLL data"), start=1):
        fields = raw.split()
        if not fields:
            if rows:
                yield _sentence(rows, lines, str(path))
                rows, lines = [], []
            continue
        if fields[0] == DOCSTART:
            continue
        if expected is None:
            if len(fields) < 2:
                raise ValueError(
                    f"read_conll: {path}:{lineno}: expected at least 2 columns (token ... tag), "
                    f"got {len(fields)}: {raw.rstrip()!r}"
                )
            expected = len(fields)
        if len(fields) != expected:
            raise ValueError(
                f"read_conll: {path}:{lineno}: expected {expected} columns, got {len(fields)}: {raw.rstrip()!r}"
            )
        rows.append(fields)
        lines.append(lineno)
    if rows:
        yield _sentence(rows, lines, str(path))


def read_lines(path: str | Path, encoding: str = "utf-8", what: str = "text") -> list[str]:
    """The lines of a text file; a file that is not text in ``encoding`` raises ``ValueError`` naming it."""
    path = Path(path)
    if encoding.lower().replace("-", "") in ("utf8", "utf8sig"):
        from .text_input import read_data_text

        text = read_data_text(path, what)
    else:
        if not path.is_file():
            raise FileNotFoundError(f"{what} not found: {path}")
        try:
            text = path.read_bytes().decode(encoding)
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: expected {encoding} text ({what}), got byte 0x{e.object[e.start]:02x} at offset "
                             f"{e.start}") from None
    return text.split("\n")


def _sentence(rows: list[list[str]], lines: list[int], source: str) -> Sentence:
    columns = [list(c) for c in zip(*rows)]
    pos = columns[1] if len(columns) >= 3 else None
    return Sentence(tokens=columns[0], tags=columns[-1], pos=pos, columns=columns, line=lines[0], lines=list(lines),
                    source=source)


def read_conll(path: str | Path, num_columns: int | None = None, encoding: str = "utf-8") -> list[Sentence]:
    """All sentences of a CoNLL file as a list; see :func:`iter_conll`.

    Example::

        >>> sents = read_conll("../shared/data/conll2003/train.txt")  # doctest: +SKIP
        >>> sents[0].tokens[:3], sents[0].tags[:3]                      # doctest: +SKIP
        (['EU', 'rejects', 'German'], ['B-ORG', 'O', 'B-MISC'])
    """
    return list(iter_conll(path, num_columns=num_columns, encoding=encoding))


def write_conll(path: str | Path, sentences: list[Sentence], predictions: list[list[str]] | None = None) -> None:
    """Write sentences back as a CoNLL file, optionally with a column of predicted tags.

    Each token line holds the sentence's columns (``token POS tag``) and, when
    ``predictions`` is given, the predicted tag last: the layout conlleval
    reads (gold second to last, prediction last). Sentences are separated by
    a blank line, so :func:`read_conll` reads the file back.

    Raises:
        ValueError: a prediction list whose length differs from its sentence's.
    """
    if predictions is not None and len(predictions) != len(sentences):
        raise ValueError(f"write_conll: expected {len(sentences)} prediction lists, got {len(predictions)}")
    lines: list[str] = []
    for i, sent in enumerate(sentences):
        columns = sent.columns or [sent.tokens] + ([sent.pos] if sent.pos is not None else []) + [sent.tags]
        if predictions is not None:
            if len(predictions[i]) != len(sent):
                raise ValueError(f"write_conll: expected {len(sent)} predicted tags for sentence {i}, got {len(predictions[i])}")
            columns = columns + [list(predictions[i])]
        lines.extend(" ".join(row) for row in zip(*columns))
        lines.append("")
    Path(path).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
