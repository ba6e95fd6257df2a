r"""Forgetting at the full stop: is the forget gate lower at sentence boundaries than elsewhere?

A sentence boundary step is a step whose input is a ``.``, ``!`` or ``?``
followed by whitespace or the end of the text (the step on which the model
has just read the end of a sentence and computes ``f_t``). For every step the
*forgetting* is ``1 - mean_u f_t[u]`` over the chosen layer's units. The
statistic compares boundary steps with all other steps:

- the two means of the forget gate and their difference (boundary - elsewhere);
- Welch's ``t`` and Cohen's ``d`` of that difference;
- a two-sided permutation ``p`` (labels shuffled ``permutations`` times);
- per unit: the difference of means, and the units that forget most at a boundary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...io.figures import pyplot, save_figure
from ..traces import Traces

SENTENCE_END = ".!?"


def boundary_mask(tokens: list[str]) -> np.ndarray:
    """True on steps that read the end of a sentence (``.!?`` then whitespace or the end)."""
    mask = np.zeros(len(tokens), bool)
    for t, tok in enumerate(tokens):
        s = tok.rstrip()
        if s and s[-1] in SENTENCE_END:
            nxt = tokens[t + 1] if t + 1 < len(tokens) else ""
            mask[t] = tok != s or not nxt or nxt[:1].isspace()
    return mask


@dataclass
class FullStopResult:
    layer: int
    boundary_steps: int
    other_steps: int
    f_boundary: float
    f_other: float
    difference: float  # f_boundary - f_other (negative: more forgetting at the boundary)
    welch_t: float
    cohens_d: float
    p_permutation: float
    units_lower_at_boundary: int  # units whose mean f is lower at boundaries
    units: int
    top_units: list[dict]  # the units with the most negative difference

    def to_dict(self) -> dict:
        return asdict(self)


def forget_gate_at_boundaries(traces: Traces, layer: int = 0, permutations: int = 2000, seed: int = 0,
                              top: int = 10, mask: np.ndarray | None = None) -> FullStopResult:
    """The statistic above for ``traces`` (labels are the tokens) of an LSTM layer."""
    f = traces.values(layer, "f")  # (T, H)
    mask = boundary_mask(traces.labels) if mask is None else np.asarray(mask, bool)
    if mask.shape != (f.shape[0],):
        raise ValueError(f"forget_gate_at_boundaries: expected a mask of {f.shape[0]} steps, got {mask.shape}")
    nb, no = int(mask.sum()), int((~mask).sum())
    if nb < 2 or no < 2:
        raise ValueError(f"forget_gate_at_boundaries: expected at least 2 sentence-boundary steps and 2 others, "
                         f"got {nb} and {no}")
    per_step = f.mean(1).astype(float)
    a, b = per_step[mask], per_step[~mask]
    diff = a.mean() - b.mean()
    va, vb = a.var(ddof=1), b.var(ddof=1)
    se = np.sqrt(va / nb + vb / no)
    t = diff / se if se > 0 else float("inf") * np.sign(diff)
    pooled = np.sqrt(((nb - 1) * va + (no - 1) * vb) / (nb + no - 2))
    d = diff / pooled if pooled > 0 else float("inf") * np.sign(diff)
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(permutations):
        perm = rng.permutation(per_step)
        hits += abs(perm[:nb].mean() - perm[nb:].mean()) >= abs(diff) - 1e-15
    p = (hits + 1) / (permutations + 1)
    unit_diff = f[mask].mean(0) - f[~mask].mean(0)  # (H,)
    order = np.argsort(unit_diff)[:top]
    tops = [{"unit": int(u), "f_boundary": float(f[mask, u].mean()), "f_other": float(f[~mask, u].mean()),
             "difference": float(unit_diff[u])} for u in order]
    return FullStopResult(layer, nb, no, float(a.mean()), float(b.mean()), float(diff), float(t), float(d), float(p),
                          int((unit_diff < 0).sum()), int(f.shape[1]), tops)


def plot_full_stop(traces: Traces, result: FullStopResult, path, mask: np.ndarray | None = None) -> Path:
    """Left: histograms of the per-step mean forget gate, boundary vs elsewhere. Right: per-unit differences."""
    plt = pyplot()

    f = traces.values(result.layer, "f")
    mask = boundary_mask(traces.labels) if mask is None else mask
    per_step = f.mean(1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    bins = np.linspace(per_step.min(), per_step.max() + 1e-9, 40)
    a1.hist(per_step[~mask], bins=bins, density=True, alpha=0.6, label=f"elsewhere ({result.other_steps})")
    a1.hist(per_step[mask], bins=bins, density=True, alpha=0.6, label=f"after . ! ? ({result.boundary_steps})")
    a1.set_xlabel("mean forget gate over units")
    a1.set_title(f"difference {result.difference:+.4f}, t={result.welch_t:.2f}, p={result.p_permutation:.3g}", fontsize=9)
    a1.legend(fontsize=8)
    unit_diff = np.sort(f[mask].mean(0) - f[~mask].mean(0))
    a2.bar(np.arange(len(unit_diff)), unit_diff, color=np.where(unit_diff < 0, "tab:red", "tab:grey"))
    a2.set_xlabel("units, sorted")
    a2.set_ylabel("mean f at boundary - elsewhere")
    a2.set_title(f"{result.units_lower_at_boundary} of {result.units} units forget more at a boundary", fontsize=9)
    fig.suptitle(f"Forget gate at sentence boundaries (layer {result.layer})", fontsize=10)
    return save_figure(fig, path, dpi=100)
