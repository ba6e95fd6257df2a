"""Tagging data: CoNLL files (``token ... tag``) or tokens alone, one a line; in-memory sentences.

- Blank lines end sentences (several in a row are fine); ``-DOCSTART-``
  lines are skipped.
- A line with another number of columns than the file's first token line is
  an error naming the file and line number (:func:`lstmkit.data.conll.iter_conll`).
- A file whose first token line has a single column is read as tokens only
  (for ``predict``); then every token line must have one column.
- A file that is not UTF-8 text (latin-1, binary) is an error naming the file.
- Every sentence remembers the line of each token, so an error about a tag
  names the line that holds it.

In memory (:func:`as_sentences`, what :class:`~lstmkit.SequenceTagger`
takes): a list of token lists (and a parallel list of tag lists), or the
:class:`~lstmkit.data.conll.Sentence` objects :func:`read_sentences` returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...data.conll import DOCSTART, Sentence, read_conll, read_lines


def _first_fields(lines: list[str]) -> list[str]:
    for raw in lines:
        fields = raw.split()
        if fields and fields[0] != DOCSTART:
            return fields
    return []


def read_sentences(path: str | Path) -> tuple[list[Sentence], bool]:
    """The sentences of ``path`` and whether they carry tags (CoNLL with 2+ columns)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tag: data file not found: {path}")
    lines = read_lines(path, what="CoNLL or token data")
    first = _first_fields(lines)
    if not first:
        raise ValueError(f"tag: {path} holds no tokens")
    if len(first) >= 2:
        return read_conll(path), True
    sentences: list[Sentence] = []
    tokens: list[str] = []
    where: list[int] = []
    for lineno, raw in enumerate(lines, start=1):
        fields = raw.split()
        if not fields:
            if tokens:
                sentences.append(Sentence(tokens=tokens, tags=[], columns=[tokens], line=where[0], lines=where, source=str(path)))
                tokens, where = [], []
            continue
        if fields[0] == DOCSTART:
            continue
        if len(fields) != 1:
            raise ValueError(f"tag: {path}:{lineno}: expected 1 column (tokens only, as the first token line), "
                             f"got {len(fields)}: {raw.rstrip()!r}")
        tokens.append(fields[0])
        where.append(lineno)
    if tokens:
        sentences.append(Sentence(tokens=tokens, tags=[], columns=[tokens], line=where[0], lines=where, source=str(path)))
    return sentences, False


def as_sentences(sentences: Any, tags: Any = None, who: str = "SequenceTagger", need_tags: bool = False) -> list[Sentence]:
    """Token lists (with ``tags``) or :class:`Sentence` objects -> sentences, checked.

    Each sentence needs at least one token, every token a non-empty string;
    with tags, one tag per token.
    """
    if isinstance(sentences, str) or not hasattr(sentences, "__iter__"):
        raise TypeError(f"{who}: expected a list of sentences (lists of tokens), got {type(sentences).__name__}")
    items = list(sentences)
    if tags is not None:
        tags = list(tags)
        if len(tags) != len(items):
            raise ValueError(f"{who}: expected {len(items)} tag lists (one per sentence), got {len(tags)}")
    out = []
    for s, item in enumerate(items):
        if isinstance(item, Sentence):
            sent = item if tags is None else Sentence(tokens=item.tokens, tags=list(tags[s]), pos=item.pos,
                                                      columns=item.columns, line=item.line, lines=item.lines, source=item.source)
        else:
            if isinstance(item, str):
                raise TypeError(f"{who}: expected sentence {s} as a list of tokens, got a string (split it into tokens)")
            sent = Sentence(tokens=list(item), tags=[] if tags is None else list(tags[s]))
        if not sent.tokens:
            raise ValueError(f"{who}: expected at least one token in sentence {s}, got none")
        for i, tok in enumerate(sent.tokens):
            if not isinstance(tok, str) or not tok.strip():
                raise ValueError(f"{who}: {place(sent, s, i)}: expected a token (a non-empty string), got {tok!r}")
        if sent.tags and len(sent.tags) != len(sent.tokens):
            raise ValueError(f"{who}: sentence {s}: expected {len(sent.tokens)} tags (one per token), got {len(sent.tags)}")
        if need_tags and not sent.tags:
            raise ValueError(f"{who}: sentence {s} ({place(sent, s, 0)}) has no tags; expected one tag per token")
        out.append(sent)
    if not out:
        raise ValueError(f"{who}: expected at least one sentence, got none")
    return out


def place(sent: Sentence, s: int, token: int) -> str:
    """Where token ``token`` of sentence ``s`` is: ``file:line`` from a file, ``sentence s, token i`` in memory."""
    return sent.place(token) if sent.source else f"sentence {s}, token {token}"
