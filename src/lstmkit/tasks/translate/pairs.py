"""Sentence pairs in, split by source sentence, references grouped by source.

A pair file has one ``source<TAB>target`` pair a line (a ``.csv`` file:
``source,target`` with CSV quoting), no header unless asked; columns after the
second (Tatoeba's attribution) are ignored. A line with one column or an
empty side is malformed: an error naming the file and the line, or, with
``skip_bad=True``, skipped and counted. Blank lines are skipped and counted.

The split puts every pair of one source sentence in the same part, so no
test sentence is ever seen in training with another translation; which part
a source falls in depends only on the sentence and the split seed (a hash),
not on the order of the file or on the other sentences.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

PARTS = ("train", "dev", "test")


@dataclass
class PairSet:
    """Pairs read from a file or given in memory, with what was skipped."""

    sources: list[str]
    targets: list[str]
    origin: str = "(in memory)"
    skipped_bad: int = 0  # malformed lines skipped (skip_bad=True)
    skipped_blank: int = 0
    bad_examples: list[str] = field(default_factory=list)  # "file:line: why" for the first few skipped

    def __len__(self) -> int:
        return len(self.sources)

    def pairs(self) -> list[tuple[str, str]]:
        return list(zip(self.sources, self.targets))

    def subset(self, idx: Sequence[int]) -> "PairSet":
        return PairSet([self.sources[i] for i in idx], [self.targets[i] for i in idx], self.origin)

    def summary(self) -> dict:
        return {"origin": self.origin, "pairs": len(self), "sources": len({source_key(s) for s in self.sources}),
                "skipped_malformed": self.skipped_bad, "skipped_blank": self.skipped_blank}


def _delimiter(path: Path, delimiter: str) -> str:
    if delimiter == "auto":
        return "," if path.suffix.lower() == ".csv" else "\t"
    return {"tab": "\t", "comma": ","}[delimiter]


def read_pairs(path: str | Path, delimiter: str = "auto", header: bool = False, skip_bad: bool = False,
               max_pairs: int = 0) -> PairSet:
    """Read a pair file (see the module docstring); non-UTF-8 bytes are an error naming the file and line."""
    from ...io.files import read_text

    path = Path(path)
    text = read_text(path, "sentence pairs")
    sep = _delimiter(path, delimiter)
    out = PairSet([], [], str(path))
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=csv.QUOTE_MINIMAL if sep == "," else csv.QUOTE_NONE)
    expected = "source<TAB>target" if sep == "\t" else "source,target"
    try:
        for row in rows:
            lineno = rows.line_num
            if header and lineno == 1:
                continue
            if not row or all(not c.strip() for c in row):
                out.skipped_blank += 1
                continue
            why = None
            if len(row) < 2:
                why = f"expected two columns ({expected}), got one"
            elif not row[0].strip() or not row[1].strip():
                why = f"expected a non-empty {'source' if not row[0].strip() else 'target'}, got an empty one"
            if why:
                if not skip_bad:
                    raise ValueError(f"{path}: line {lineno}: {why} (data.skip_bad_lines skips such lines)")
                out.skipped_bad += 1
                if len(out.bad_examples) < 5:
                    out.bad_examples.append(f"{path}: line {lineno}: {why}")
                continue
            out.sources.append(row[0].strip())
            out.targets.append(row[1].strip())
            if max_pairs and len(out) >= max_pairs:
                break
    except csv.Error as e:
        raise ValueError(f"{path}: line {rows.line_num}: not readable as {'CSV' if sep == ',' else 'TSV'}: {e}") from None
    if not len(out):
        raise ValueError(f"{path}: expected at least one sentence pair ({expected}), got none")
    return out


def pairs_from(data, what: str = "data", **read_options) -> PairSet:
    """A :class:`PairSet` from a path, a list of ``(source, target)`` pairs, a :class:`PairSet` or a two-column DataFrame."""
    if isinstance(data, PairSet):
        return data
    if isinstance(data, (str, Path)):
        return read_pairs(data, **read_options)
    if hasattr(data, "iloc") and hasattr(data, "columns"):  # a DataFrame: the first two columns
        if data.shape[1] < 2:
            raise ValueError(f"{what}: expected a DataFrame with two columns (source, target), got {data.shape[1]}")
        data = list(zip(data.iloc[:, 0].tolist(), data.iloc[:, 1].tolist()))
    if not isinstance(data, Iterable):
        raise ValueError(f"{what}: expected a file path, a list of (source, target) pairs or a DataFrame, "
                         f"got {type(data).__name__}")
    out = PairSet([], [], "(in memory)")
    for i, item in enumerate(data):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"{what}: item {i}: expected a (source, target) pair, got {item!r}"[:200])
        src, tgt = item
        if not isinstance(src, str) or not isinstance(tgt, str):
            raise ValueError(f"{what}: item {i}: expected two strings, got {type(src).__name__} and {type(tgt).__name__}")
        if not src.strip() or not tgt.strip():
            side = "source" if not src.strip() else "target"
            if read_options.get("skip_bad"):
                out.skipped_bad += 1
                continue
            raise ValueError(f"{what}: item {i}: expected a non-empty {side}, got {src if side == 'source' else tgt!r}")
        out.sources.append(src.strip())
        out.targets.append(tgt.strip())
    if not len(out):
        raise ValueError(f"{what}: expected at least one (source, target) pair, got none")
    return out


# ------------------------------------------------------------------ split by source
def source_key(sentence: str) -> str:
    """What makes two source sentences the same one: the text with runs of whitespace made one space."""
    return " ".join(sentence.split())


def part_of(sentence: str, dev_fraction: float, test_fraction: float, seed: int = 0) -> str:
    """``'train'``, ``'dev'`` or ``'test'`` for a source sentence: ``u = sha256(f"{seed}:{sentence}")`` read as a
    number in [0, 1); test if ``u < test_fraction``, dev if ``u < test_fraction + dev_fraction``, else train."""
    digest = hashlib.sha256(f"{seed}:{source_key(sentence)}".encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0 ** 64
    if u < test_fraction:
        return "test"
    if u < test_fraction + dev_fraction:
        return "dev"
    return "train"


SPLIT_RULE = ("each distinct source sentence (whitespace collapsed) goes to one part by the first 8 bytes of "
              "sha256('<seed>:<sentence>') read as u in [0, 1): test if u < test_fraction, dev if u < test_fraction "
              "+ dev_fraction, else train; all translations of a sentence share its part")


def split_by_source(pairs: PairSet, dev_fraction: float, test_fraction: float, seed: int = 0) -> dict[str, PairSet]:
    """``{"train", "dev", "test"}`` parts of ``pairs``; no source sentence is in two parts."""
    idx: dict[str, list[int]] = {p: [] for p in PARTS}
    memo: dict[str, str] = {}
    for i, s in enumerate(pairs.sources):
        key = source_key(s)
        part = memo.get(key)
        if part is None:
            part = memo[key] = part_of(key, dev_fraction, test_fraction, seed)
        idx[part].append(i)
    return {p: pairs.subset(idx[p]) for p in PARTS}


def group_references(pairs: PairSet) -> tuple[list[str], list[list[str]]]:
    """``(distinct sources in first-seen order, references of each)``: every target given for a source."""
    refs: dict[str, list[str]] = {}
    first: dict[str, str] = {}
    for s, t in zip(pairs.sources, pairs.targets):
        key = source_key(s)
        if key not in refs:
            refs[key], first[key] = [], s
        if t not in refs[key]:
            refs[key].append(t)
    return [first[k] for k in refs], list(refs.values())


__all__ = ["PairSet", "read_pairs", "pairs_from", "split_by_source", "part_of", "group_references", "source_key",
           "SPLIT_RULE", "PARTS"]
