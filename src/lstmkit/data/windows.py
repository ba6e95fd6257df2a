"""Sliding windows over series: the (input, target) pairs a sequence model learns from.

A window at origin ``t`` (the index of the first value to predict) holds the
``input_size`` values before ``t`` and the ``horizon`` values from ``t``, plus
covariates: past ones over the input span only, known-future ones over input
and horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Windows:
    """A batch of windows as arrays (float32 for the model)."""

    y: np.ndarray  # (N, L) input values
    past: np.ndarray  # (N, L, P) past covariates
    future: np.ndarray  # (N, L + H, K) known-future covariates
    target: np.ndarray  # (N, H) values to predict (NaN where beyond the data)
    series: np.ndarray  # (N,) series number
    origin: np.ndarray  # (N,) origin index within its series

    def __len__(self) -> int:
        return len(self.y)

    def tensors(self):
        import torch

        f = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
        return f(self.y), f(self.past), f(self.future), f(self.target)


def origins_for(length: int, input_size: int, horizon: int, start: int | None = None, stop: int | None = None,
                stride: int = 1, full: bool = True) -> np.ndarray:
    """Origins ``t`` with a full input window, from ``start`` to ``stop`` (exclusive) every ``stride``.

    ``full=True`` keeps only origins whose whole horizon lies inside the series.
    """
    lo = max(input_size, start if start is not None else input_size)
    hi = length - horizon + 1 if full else length + 1
    if stop is not None:
        hi = min(hi, stop)
    return np.arange(lo, hi, stride, dtype="int64")


def make_windows(values: list[np.ndarray], past: list[np.ndarray], future: list[np.ndarray],
                 origins: list[np.ndarray], input_size: int, horizon: int) -> Windows:
    """Cut windows from each series ``k`` at ``origins[k]``.

    ``values[k]`` is ``(T,)``, ``past[k]`` is ``(T, P)``, ``future[k]`` is
    ``(>= T, K)`` (rows beyond ``T`` are the known future). Targets beyond the
    series are NaN; future covariates beyond ``future[k]`` raise ``ValueError``.
    """
    L, H = input_size, horizon
    ys, ps, fs, ts, sn, on = [], [], [], [], [], []
    for k, (v, p, f, orig) in enumerate(zip(values, past, future, origins)):
        T = len(v)
        for t in np.asarray(orig, dtype="int64"):
            if t < L:
                raise ValueError(f"make_windows: origin {t} of series {k} leaves fewer than input_size={L} values before it")
            if t + H > len(f):
                raise ValueError(f"make_windows: series {k} needs known-future covariates up to step {t + H}, "
                                 f"got {len(f)} rows; add the future rows to the data")
            ys.append(v[t - L:t])
            ps.append(p[t - L:t])
            fs.append(f[t - L:t + H])
            tgt = np.full(H, np.nan)
            n = max(0, min(H, T - t))
            tgt[:n] = v[t:t + n]
            ts.append(tgt)
            sn.append(k)
            on.append(t)
    P = past[0].shape[1] if past else 0
    K = future[0].shape[1] if future else 0
    if not ys:
        return Windows(np.zeros((0, L)), np.zeros((0, L, P)), np.zeros((0, L + H, K)), np.zeros((0, H)),
                       np.zeros(0, "int64"), np.zeros(0, "int64"))
    return Windows(np.stack(ys), np.stack(ps), np.stack(fs), np.stack(ts), np.asarray(sn), np.asarray(on))
