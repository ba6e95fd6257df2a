"""Built-in properties a unit may track, one value per step (Karpathy, Johnson & Fei-Fei 2015).

Text properties take the per-step tokens (characters, or words) and return a
float array of the same length; series properties take the number of steps.

======================  =====================================================
``inside_quotes``       1 between an opening and a closing ``"`` (the quotes included), else 0
``line_position``       characters since the last newline (0 at the first character of a line)
``sentence_boundary``   1 on a ``.``, ``!`` or ``?`` ending a sentence and on the step after it
``bracket_depth``       how many ``(``, ``[``, ``{`` are open (the closing one still counts)
``seasonal_phase``      series: ``cos(2 pi t / period)``; ``seasonal_phase_sin`` the sine
======================  =====================================================
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

SENTENCE_END = ".!?"


def inside_quotes(tokens: Sequence[str]) -> np.ndarray:
    out, inside = np.zeros(len(tokens)), False
    for t, tok in enumerate(tokens):
        n = tok.count('"')
        if n:
            out[t] = 1.0  # the quote characters themselves belong to the quotation
            inside = inside ^ bool(n % 2)
        else:
            out[t] = float(inside)
    return out


def line_position(tokens: Sequence[str]) -> np.ndarray:
    out, pos = np.zeros(len(tokens)), 0
    for t, tok in enumerate(tokens):
        out[t] = pos
        pos = 0 if tok.endswith("\n") else pos + len(tok)
    return out


def sentence_boundary(tokens: Sequence[str]) -> np.ndarray:
    out = np.zeros(len(tokens))
    for t, tok in enumerate(tokens):
        if tok.strip() and tok.strip()[-1] in SENTENCE_END:
            out[t] = 1.0
            if t + 1 < len(tokens):
                out[t + 1] = 1.0
    return out


def bracket_depth(tokens: Sequence[str]) -> np.ndarray:
    out, depth = np.zeros(len(tokens)), 0
    for t, tok in enumerate(tokens):
        opened = sum(tok.count(c) for c in "([{")
        depth += opened
        out[t] = depth
        depth = max(0, depth - sum(tok.count(c) for c in ")]}"))
    return out


def seasonal_phase(n: int, period: int, sine: bool = False) -> np.ndarray:
    if period < 2:
        raise ValueError(f"seasonal_phase: expected period >= 2, got {period}")
    a = 2 * np.pi * np.arange(n) / period
    return np.sin(a) if sine else np.cos(a)


TEXT_PROPERTIES: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
    "inside_quotes": inside_quotes,
    "line_position": line_position,
    "sentence_boundary": sentence_boundary,
    "bracket_depth": bracket_depth,
}

SERIES_PROPERTIES = ("seasonal_phase", "seasonal_phase_sin")


def property_values(name: str, tokens: Sequence[str], period: int = 0) -> np.ndarray:
    """Values of the built-in property ``name`` for these steps (series ones need ``period``)."""
    if name in TEXT_PROPERTIES:
        return TEXT_PROPERTIES[name](tokens)
    if name in SERIES_PROPERTIES:
        if not period:
            raise ValueError(f"property_values: {name} needs a period (steps per season), got none")
        return seasonal_phase(len(tokens), period, sine=name.endswith("_sin"))
    raise ValueError(f"property_values: expected a property in {(*TEXT_PROPERTIES, *SERIES_PROPERTIES)}, got {name!r}")
