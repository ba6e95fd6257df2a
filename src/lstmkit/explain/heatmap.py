"""Gate heatmaps aligned with the input: one row per (gate, unit), one column per step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.figures import pyplot, save_figure
from .traces import GATE_TITLES, Traces

#: value ranges for a shared colour scale: gates in (0, 1), the rest in (-1, 1).
_RANGES = {"i": (0, 1), "f": (0, 1), "o": (0, 1), "r": (0, 1), "z": (0, 1)}


def _label(s: str) -> str:
    return {"\n": "\\n", " ": "\u2423", "\t": "\\t"}.get(s, s)


def plot_heatmap(traces: Traces, path: str | Path, layer: int = 0, units=None, names=None, direction: int = 0,
                 max_steps: int = 400, title: str = "") -> Path:
    """Write a PNG: one panel per gate, units down, steps across, tick labels from ``traces.labels``.

    Long inputs are cut to ``max_steps`` columns (the title says so).
    """
    plt = pyplot()

    names = list(names or traces.names)
    units = traces.check_units(units, layer)
    T = min(len(traces.labels), max_steps)
    labels = [_label(s) for s in traces.labels[:T]]
    width = min(40.0, max(6.0, 0.16 * T + 2))
    height = sum(0.9 + 0.18 * len(units) for _ in names) + 0.6
    fig, axes = plt.subplots(len(names), 1, figsize=(width, height), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        v = traces.values(layer, name, direction)[:T, units].T  # (U, T)
        lo, hi = _RANGES.get(name, (-1, 1))
        if name == "c":
            m = float(np.abs(v).max()) or 1.0
            lo, hi = -m, m
        im = ax.imshow(v, aspect="auto", cmap="viridis" if name in _RANGES else "RdBu_r", vmin=lo, vmax=hi,
                       interpolation="nearest")
        ax.set_ylabel(f"{name}: {GATE_TITLES.get(name, name)}", fontsize=8)
        ax.set_yticks(range(len(units)))
        ax.set_yticklabels([str(u) for u in units], fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.015, pad=0.01)
        step = max(1, T // 120)
        ax.set_xticks(range(0, T, step))
        ax.set_xticklabels(labels[::step], fontsize=6, rotation=0 if step == 1 and max(map(len, labels)) <= 1 else 90)
    cut = f" (first {T} of {len(traces.labels)} steps)" if T < len(traces.labels) else ""
    axes[0, 0].set_title((title or f"layer {layer} gate traces") + cut, fontsize=10)
    return save_figure(fig, path, dpi=90)


def plot_unit_lines(traces: Traces, path: str | Path, layer: int, unit: int, names=None, direction: int = 0,
                    prop: np.ndarray | None = None, prop_name: str = "", max_steps: int = 400, title: str = "") -> Path:
    """Line plot of one unit's gates over the steps, with a property's values beside them when given."""
    plt = pyplot()

    names = list(names or traces.names)
    T = min(len(traces.labels), max_steps)
    fig, ax = plt.subplots(figsize=(min(16.0, max(6.0, 0.05 * T + 2)), 3.2))
    for name in names:
        ax.plot(traces.values(layer, name, direction)[:T, unit], label=f"{name} ({GATE_TITLES.get(name, name)})", lw=1)
    ax.set_xlabel("step")
    ax.legend(fontsize=7, ncol=4, loc="upper left")
    if prop is not None:  # on its own axis: the property's units are not the gate's
        ax2 = ax.twinx()
        ax2.plot(np.asarray(prop, float)[:T], "k--", lw=0.8)
        ax2.set_ylabel(prop_name or "property", fontsize=8)
    ax.set_title(title or f"layer {layer}, unit {unit}", fontsize=10)
    return save_figure(fig, path, dpi=90)
