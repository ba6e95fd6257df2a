"""Per-series scaling that can be undone: optional log, then standard, min-max or mean scaling.

Fitted on training values only, stored as plain numbers (so a saved model's
JSON config carries it), and monotone, so quantiles and prediction intervals
map back through :meth:`SeriesScaler.inverse` unchanged in meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("none", "standard", "minmax", "mean")


@dataclass
class SeriesScaler:
    """``z = (f(y) - loc) / scale`` per series, ``f`` = log or identity.

    Example::

        >>> s = SeriesScaler(method="standard", log=True).fit({"a": np.array([1.0, 10.0, 100.0])})
        >>> np.allclose(s.inverse("a", s.transform("a", np.array([5.0]))), 5.0)
        True
    """

    method: str = "standard"
    log: bool = False
    loc: dict[str, float] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"SeriesScaler: expected method in {METHODS}, got {self.method!r}")

    def _f(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype="float64")
        return np.log(y) if self.log else y

    def fit(self, values: dict[str, np.ndarray]) -> "SeriesScaler":
        for sid, y in values.items():
            y = np.asarray(y, dtype="float64")
            if self.log and np.any(y <= 0):
                i = int(np.flatnonzero(y <= 0)[0])
                raise ValueError(f"SeriesScaler: log scaling needs positive values; series {sid!r} has {y[i]} "
                                 f"at position {i}; set --data.log false")
            z = self._f(y)
            if self.method == "none":
                loc, scale = 0.0, 1.0
            elif self.method == "standard":
                loc, scale = float(z.mean()), float(z.std())
            elif self.method == "minmax":
                loc, scale = float(z.min()), float(z.max() - z.min())
            else:
                loc, scale = 0.0, float(np.abs(z).mean())
            self.loc[sid], self.scale[sid] = loc, (scale if scale > 1e-12 else 1.0)
        return self

    def transform(self, sid: str, y: np.ndarray) -> np.ndarray:
        return (self._f(y) - self.loc[sid]) / self.scale[sid]

    def inverse(self, sid: str, z: np.ndarray) -> np.ndarray:
        v = np.asarray(z, dtype="float64") * self.scale[sid] + self.loc[sid]
        return np.exp(np.clip(v, -700, 700)) if self.log else v

    def to_dict(self) -> dict:
        return {"method": self.method, "log": self.log, "loc": self.loc, "scale": self.scale}

    @classmethod
    def from_dict(cls, d: dict) -> "SeriesScaler":
        return cls(method=d["method"], log=bool(d["log"]), loc=dict(d["loc"]), scale=dict(d["scale"]))
