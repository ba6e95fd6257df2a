"""Interpretable-unit search: rank units by how well their activity tracks a property.

The score of a unit is the Pearson correlation between its value at each step
and the property's value there; units are ranked by its absolute value (a
unit that is low inside quotes tracks them as well as one that is high).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .traces import Traces


@dataclass
class UnitScore:
    layer: int
    direction: int
    name: str
    unit: int
    r: float

    def to_dict(self) -> dict:
        return {"layer": self.layer, "direction": self.direction, "gate": self.name, "unit": self.unit,
                "r": round(self.r, 6), "abs_r": round(abs(self.r), 6)}


def correlations(values: np.ndarray, prop: np.ndarray) -> np.ndarray:
    """Pearson r of every column of ``values`` ``(T, H)`` with ``prop`` ``(T,)``; 0 where either is constant."""
    values = np.asarray(values, float)
    prop = np.asarray(prop, float)
    if values.ndim != 2 or prop.shape != (values.shape[0],):
        raise ValueError(f"correlations: expected values (T, H) and a property (T,), got {values.shape} and {prop.shape}")
    v = values - values.mean(0)
    p = prop - prop.mean()
    den = np.sqrt((v * v).sum(0) * (p * p).sum())
    num = (v * p[:, None]).sum(0)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 1e-12)


def rank_units(traces: Traces, prop: np.ndarray, names=("c", "h"), layers=None, top: int = 10) -> list[UnitScore]:
    """The ``top`` (layer, direction, gate, unit) by ``|r|`` with ``prop``, best first."""
    prop = np.asarray(prop, float)
    if prop.shape != (len(traces.labels),):
        raise ValueError(f"rank_units: expected one property value per step ({len(traces.labels)}), got {prop.shape}")
    if np.ptp(prop) == 0:
        raise ValueError("rank_units: the property is constant over this input, so nothing can track it; "
                         "expected an input where it changes")
    scores = []
    for l in (range(traces.num_layers) if layers is None else layers):
        for d in range(traces.num_directions):
            for name in names:
                r = correlations(traces.values(l, name, d), prop)
                scores += [UnitScore(l, d, name, u, float(r[u])) for u in range(len(r))]
    scores.sort(key=lambda s: -abs(s.r))
    return scores[:top]
