"""Synthetic anomaly series of the kinds outsiders will bring, to check that the automatic choices generalise.

None of these is used to pick a default: they are the "unseen" check beside MIT-BIH. Each function returns
``(frame, train_end)``: a DataFrame with ``value`` and ``label`` (1 = anomalous row) and the row where the
normal training prefix ends (what a user would pass as ``--split.train 0:<train_end>``).

* :func:`traffic`: hourly web traffic with an upward trend, daily and weekly seasonality and isolated
  point anomalies (spikes and dips), in the manner of the Yahoo S5 / NAB benchmarks.
* :func:`periodic_shape`: a long quasi-periodic signal (heartbeat-like waves with jittered period and
  amplitude) with one subtle shape anomaly after a normal prefix, in the manner of the UCR anomaly archive.
* :func:`level_shift`: a seasonal series whose level shifts for a while, then returns.
* :func:`noise_burst`: a smooth seasonal signal with a short burst of extra noise (variance change).
"""

from __future__ import annotations

import numpy as np


def _frame(x: np.ndarray, y: np.ndarray):
    import pandas as pd

    return pd.DataFrame({"value": np.round(x, 5), "label": y.astype(int)})


def traffic(seed: int = 0, n: int = 1680, anomalies: int = 8):
    """Ten weeks of hourly traffic: trend, daily and weekly cycles, multiplicative noise, point anomalies."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = 200 + 0.12 * t  # upward trend: the scored part lies above the training range
    daily = 1 + 0.35 * np.sin(2 * np.pi * (t % 24) / 24 - 1.2) + 0.1 * np.sin(4 * np.pi * (t % 24) / 24)
    weekly = np.where((t // 24) % 7 >= 5, 0.8, 1.0)
    x = level * daily * weekly
    x = x * (1 + 0.03 * rng.normal(size=n))
    y = np.zeros(n, dtype=int)
    train_end = n // 2
    spots = np.sort(rng.choice(np.arange(train_end + 24, n - 5), size=anomalies, replace=False))
    for i in spots:
        sign = rng.choice([-1.0, 1.0], p=[0.3, 0.7])
        x[i] = x[i] * (1 + sign * rng.uniform(0.25, 0.6))
        y[i] = 1
    return _frame(x, y), train_end


def _beat(phase: np.ndarray, widths=(0.03, 0.012, 0.05), centres=(0.2, 0.35, 0.6), heights=(0.15, 1.0, 0.3)):
    out = np.zeros_like(phase)
    for w, c, h in zip(widths, centres, heights):
        out += h * np.exp(-0.5 * ((phase - c) / w) ** 2)
    out -= 0.25 * np.exp(-0.5 * ((phase - 0.4) / 0.015) ** 2)
    return out


def periodic_shape(seed: int = 0, n: int = 12000, train_end: int = 4000):
    """Heartbeat-like waves (period about 120 rows, jittered); one beat after the prefix loses its last wave."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    y = np.zeros(n, dtype=int)
    start = 0
    beats = []
    while start < n:
        period = int(rng.integers(110, 131))
        beats.append((start, period))
        start += period
    target = next(i for i, (s, _) in enumerate(beats) if s > train_end + (n - train_end) // 2 + int(rng.integers(0, 1500)))
    for i, (s, period) in enumerate(beats):
        phase = np.arange(period) / period
        amp = 1 + 0.05 * rng.normal()
        wave = amp * _beat(phase)
        if i == target:  # subtle: the slow wave (the "T wave") is missing and the spike is a little wider
            wave = amp * _beat(phase, widths=(0.03, 0.018, 0.05), heights=(0.15, 0.95, 0.0))
            y[s : s + period] = 1
        e = min(n, s + period)
        x[s:e] = wave[: e - s]
    x += 0.02 * rng.normal(size=n) + 0.05 * np.sin(2 * np.pi * np.arange(n) / 2900)  # noise and baseline wander
    y = y[:n]
    return _frame(x, y), train_end


def level_shift(seed: int = 0, n: int = 4000, train_end: int = 2000):
    """A seasonal series (period 50) whose level rises by about one seasonal amplitude for 150 rows."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.sin(2 * np.pi * t / 50) + 0.3 * np.sin(2 * np.pi * t / 17) + 0.15 * rng.normal(size=n)
    y = np.zeros(n, dtype=int)
    s = int(rng.integers(train_end + 500, n - 400))
    x[s : s + 150] += 0.8
    y[s : s + 150] = 1
    return _frame(x, y), train_end


def noise_burst(seed: int = 0, n: int = 4000, train_end: int = 2000):
    """A smooth two-tone signal with 80 rows of tripled noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.sin(2 * np.pi * t / 40) + 0.5 * np.sin(2 * np.pi * t / 130)
    noise = 0.05 * rng.normal(size=n)
    y = np.zeros(n, dtype=int)
    s = int(rng.integers(train_end + 500, n - 300))
    noise[s : s + 80] *= 4
    y[s : s + 80] = 1
    return _frame(x + noise, y), train_end


SERIES = {"traffic": traffic, "periodic_shape": periodic_shape, "level_shift": level_shift, "noise_burst": noise_burst}
