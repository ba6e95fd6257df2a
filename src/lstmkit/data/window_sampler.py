"""Training windows drawn from series on the fly: memory grows with the data, never with the windows.

A window at origin ``t`` of series ``k`` is the ``L`` values before ``t``
(plus covariates) and the ``H`` values from ``t``. Materialising every
window costs ``(L + H)`` numbers per window, which for thousands of long
series is far more than the series themselves. :class:`WindowSampler` keeps
only the series (concatenated, with offsets) and the count of valid origins
per series, and cuts each batch with one vectorised gather.

Every batch is drawn uniformly over all valid windows of all series by a
generator seeded once, so a run repeats exactly. Under data-parallel training
(``torch.distributed`` initialised with ``W`` processes) every process draws
the same *global* batch and keeps the rows ``rank, rank + W, ...``: two
processes with global batch ``B`` see exactly the windows one process sees
with batch ``B``.
"""

from __future__ import annotations

import numpy as np


def _rank_world() -> tuple[int, int]:
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    except ImportError:  # pragma: no cover - torch always has it
        pass
    return 0, 1


class WindowSampler:
    """Iterate over batches ``(y, past, future, target[, series])`` cut from series at sampled origins.

    Args:
        values: one ``(T_k,)`` array per series (the model's units).
        past: one ``(T_k, P)`` array per series (past covariates), or ``None``.
        future: one ``(>= T_k, K)`` array per series (known-future features), or ``None``.
        input_size: ``L``, steps before the origin.
        horizon: ``H``, steps from the origin.
        lo: first allowed origin per series (at least ``L``).
        hi: last allowed origin per series, inclusive (``t + H`` must stay within the values).
        batch_size: windows per global batch.
        batches: batches per pass (an "epoch"); default: enough to draw every window once on average.
        seed: seed of the generator. Default ``0``.
        with_series: also yield the series number of each window (for per-series terms).

    Each yielded tensor is float32 except the series numbers (int64):
    ``y (B, L)``, ``past (B, L, P)``, ``future (B, L + H, K)``, ``target (B, H)``.
    """

    def __init__(self, values: list[np.ndarray], past: list[np.ndarray] | None, future: list[np.ndarray] | None,
                 input_size: int, horizon: int, lo: np.ndarray, hi: np.ndarray, batch_size: int,
                 batches: int | None = None, seed: int = 0, with_series: bool = False):
        if batch_size < 1:
            raise ValueError(f"WindowSampler: expected batch_size >= 1, got {batch_size}")
        self.L, self.H = int(input_size), int(horizon)
        lo = np.asarray(lo, dtype="int64")
        hi = np.asarray(hi, dtype="int64")
        if len(lo) != len(values) or len(hi) != len(values):
            raise ValueError(f"WindowSampler: expected lo and hi with one entry per series ({len(values)}), got "
                             f"{len(lo)} and {len(hi)}")
        lens = np.array([len(v) for v in values], dtype="int64")
        self.counts = np.maximum(hi - lo + 1, 0)
        used = self.counts > 0
        if np.any(lo[used] < self.L):
            raise ValueError(f"WindowSampler: expected every first origin >= input_size={self.L}, got {int(lo[used].min())}")
        if np.any(hi[used] + self.H > lens[used]):
            raise ValueError("WindowSampler: expected every last origin to leave a full horizon inside its series")
        self.total = int(self.counts.sum())
        if self.total == 0:
            raise ValueError("WindowSampler: no valid window in any series")
        self.cum = np.cumsum(self.counts)
        self.lo = lo
        self.v_off = np.concatenate([[0], np.cumsum(lens)])[:-1]
        self.values = np.concatenate([np.asarray(v, dtype="float32") for v in values])
        n = len(values)
        P = past[0].shape[1] if past is not None and n else 0
        self.past = np.concatenate([np.asarray(p, dtype="float32") for p in past]) if P else None
        self.P = P
        K = future[0].shape[1] if future is not None and n else 0
        self.K = K
        if K:
            flen = np.array([len(f) for f in future], dtype="int64")
            self.f_off = np.concatenate([[0], np.cumsum(flen)])[:-1]
            self.future = np.concatenate([np.asarray(f, dtype="float32") for f in future])
        else:
            self.future = None
        self.batch_size = int(batch_size)
        self.batches = int(batches) if batches else max(1, -(-self.total // self.batch_size))
        self.with_series = with_series
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.batches

    def locate(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat window numbers -> (series, origin)."""
        k = np.searchsorted(self.cum, flat, side="right")
        start = self.cum[k] - self.counts[k]
        return k, self.lo[k] + (flat - start)

    def gather(self, k: np.ndarray, t: np.ndarray):
        """Tensors for the windows at origins ``t`` of series ``k`` (arrays of the same length)."""
        import torch

        L, H = self.L, self.H
        steps = np.arange(-L, H)
        vi = (self.v_off[k] + t)[:, None] + steps[None, :]  # (B, L + H)
        yy = self.values[vi]
        y = torch.from_numpy(np.ascontiguousarray(yy[:, :L]))
        target = torch.from_numpy(np.ascontiguousarray(yy[:, L:]))
        if self.P:
            past = torch.from_numpy(self.past[vi[:, :L]])
        else:
            past = torch.zeros(len(k), L, 0)
        if self.K:
            fi = (self.f_off[k] + t)[:, None] + steps[None, :]
            future = torch.from_numpy(self.future[fi])
        else:
            future = torch.zeros(len(k), L + H, 0)
        out = (y, past, future, target)
        if self.with_series:
            out = out + (torch.from_numpy(np.asarray(k, dtype="int64")),)
        return out

    def __iter__(self):
        rank, world = _rank_world()
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        for _ in range(self.batches):
            flat = rng.integers(0, self.total, size=self.batch_size)
            k, t = self.locate(flat[rank::world])
            yield self.gather(k, t)

    def state_dict(self) -> dict:
        """What a resumed run needs to draw the same batches (the pass counter)."""
        return {"epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])


class FixedWindows:
    """Every window at the given origins, in order, in batches (for validation and prediction).

    Same arrays and tensors as :class:`WindowSampler`; ``origins[k]`` lists the
    origins of series ``k`` (each needs ``t >= L`` and ``t + H`` within its values
    and future rows; targets past the end of the values are NaN).
    """

    def __init__(self, values: list[np.ndarray], past: list[np.ndarray] | None, future: list[np.ndarray] | None,
                 input_size: int, horizon: int, origins: list[np.ndarray], batch_size: int = 1024,
                 with_series: bool = False):
        self.L, self.H = int(input_size), int(horizon)
        self.batch_size = batch_size
        self.with_series = with_series
        ks, ts = [], []
        for k, o in enumerate(origins):
            o = np.asarray(o, dtype="int64")
            ks.append(np.full(len(o), k, dtype="int64"))
            ts.append(o)
        self.series = np.concatenate(ks) if ks else np.zeros(0, "int64")
        self.origin = np.concatenate(ts) if ts else np.zeros(0, "int64")
        # pad each series with NaN targets (and its own last future rows) so the horizon can run past the data
        padded = [np.concatenate([np.asarray(v, "float32"), np.full(self.H, np.nan, "float32")]) for v in values]
        n = len(values)
        P = past[0].shape[1] if past is not None and n else 0
        pp = [np.concatenate([np.asarray(p, "float32"), np.zeros((self.H, P), "float32")]) for p in past] if P else None
        K = future[0].shape[1] if future is not None and n else 0
        for k, t in zip(self.series, self.origin):
            if t < self.L:
                raise ValueError(f"FixedWindows: origin {t} of series {k} leaves fewer than input_size={self.L} "
                                 f"values before it")
            if K and t + self.H > len(future[k]):
                raise ValueError(f"FixedWindows: series {k} needs known-future covariates up to step {t + self.H}, "
                                 f"got {len(future[k])} rows; add the future rows to the data")
            if t > len(values[k]):
                raise ValueError(f"FixedWindows: origin {t} of series {k} is past its end ({len(values[k])} values)")
        self._inner = WindowSampler.__new__(WindowSampler)
        s = self._inner
        s.L, s.H, s.P, s.K, s.with_series = self.L, self.H, P, K, with_series
        lens = np.array([len(v) for v in padded], dtype="int64")
        s.v_off = np.concatenate([[0], np.cumsum(lens)])[:-1]
        s.values = np.concatenate(padded) if padded else np.zeros(0, "float32")
        s.past = np.concatenate(pp) if P else None
        if K:
            fut = [np.asarray(f, "float32") for f in future]
            flen = np.array([len(f) for f in fut], dtype="int64")
            s.f_off = np.concatenate([[0], np.cumsum(flen)])[:-1]
            s.future = np.concatenate(fut)
        else:
            s.future = None

    def __len__(self) -> int:
        return -(-len(self.series) // self.batch_size)

    def __iter__(self):
        for a in range(0, len(self.series), self.batch_size):
            yield self._inner.gather(self.series[a:a + self.batch_size], self.origin[a:a + self.batch_size])


__all__ = ["WindowSampler", "FixedWindows"]
