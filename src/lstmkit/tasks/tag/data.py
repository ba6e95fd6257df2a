"""Reading tagging files: CoNLL columns (``token ... tag``) or tokens alone, one a line.

- Blank lines end sentences (several in a row are fine); ``-DOCSTART-``
  lines are skipped.
- A line with another number of columns than the file's first token line is
  an error naming the file and line number (:func:`lstmkit.data.conll.iter_conll`).
- A file whose first token line has a single column is read as tokens only
  (for ``predict``); then every token line must have one column.
"""

from __future__ import annotations

from pathlib import Path

from ...data.conll import DOCSTART, Sentence, read_conll


def _first_fields(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        for raw in f:
            fields = raw.split()
            if fields and fields[0] != DOCSTART:
                return fields
    return []


def read_sentences(path: str | Path) -> tuple[list[Sentence], bool]:
    """The sentences of ``path`` and whether they carry tags (CoNLL with 2+ columns)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tag: data file not found: {path}")
    first = _first_fields(path)
    if not first:
        raise ValueError(f"tag: {path} holds no tokens")
    if len(first) >= 2:
        return read_conll(path), True
    sentences, tokens, start = [], [], 0
    with path.open(encoding="utf-8") as f:
        for lineno, raw in enumerate(f, start=1):
            fields = raw.split()
            if not fields:
                if tokens:
                    sentences.append(Sentence(tokens=tokens, tags=[], columns=[tokens], line=start))
                    tokens = []
                continue
            if fields[0] == DOCSTART:
                continue
            if len(fields) != 1:
                raise ValueError(f"tag: {path}:{lineno}: expected 1 column (tokens only, as the first token line), "
                                 f"got {len(fields)}: {raw.rstrip()!r}")
            if not tokens:
                start = lineno
            tokens.append(fields[0])
    if tokens:
        sentences.append(Sentence(tokens=tokens, tags=[], columns=[tokens], line=start))
    return sentences, False
