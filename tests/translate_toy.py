"""A made-up language pair for the translation tests: word-for-word, some words with two translations.

Small (a few hundred pairs), deterministic and learnable in seconds by a tiny model, so the task tests
do not depend on the shared data and stay fast.
"""

from __future__ import annotations

import random
from pathlib import Path

LEXICON = {
    "one": ["un"], "two": ["deux"], "three": ["trois"], "red": ["rouge"], "blue": ["bleu"], "green": ["vert"],
    "cat": ["chat", "matou"], "dog": ["chien"], "bird": ["oiseau"], "big": ["grand", "gros"], "small": ["petit"],
    "runs": ["court"], "sleeps": ["dort"], "eats": ["mange"], "the": ["le"], "a": ["un"],
}

#: the tiny configuration every test trains with (seconds on one core)
TINY = dict(hidden_size=32, embedding_size=32, encoder_layers=1, decoder_layers=1, tokenizer="word", min_freq=1,
            epochs=20, train__batch_size=32, early_stopping=0, baselines=[], progress_bar=False, beam=3, alignments=2,
            train__lr=0.01, dev_fraction=0.15, test_fraction=0.15)


def toy_pairs(n_sources: int = 400, seed: int = 0) -> list[tuple[str, str]]:
    """``n_sources`` distinct English word strings, each with every French rendering (1 to 4 of them)."""
    rng = random.Random(seed)
    words = sorted(LEXICON)
    seen, pairs = set(), []
    while len(seen) < n_sources:
        src = tuple(rng.choice(words) for _ in range(rng.randint(1, 4)))
        if src in seen:
            continue
        seen.add(src)
        targets = [[]]
        for w in src:
            targets = [t + [f] for t in targets for f in LEXICON[w]]
        for t in targets[:4]:
            pairs.append((" ".join(src).capitalize() + " .", " ".join(t).capitalize() + " ."))
    return pairs


def write_toy_tsv(path: Path, n_sources: int = 400, extra_lines: list[str] | None = None) -> Path:
    lines = [f"{s}\t{t}" for s, t in toy_pairs(n_sources)]
    if extra_lines:
        lines[5:5] = extra_lines
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
