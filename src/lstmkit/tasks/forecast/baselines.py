"""Naive and seasonal-naive forecasts: the bar every model must clear, on the same windows."""

from __future__ import annotations

import numpy as np


def naive(history: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last observed value: ``y_hat[t+h] = y[t-1]`` for ``h = 0..H-1``."""
    history = np.asarray(history, dtype="float64")
    if len(history) < 1:
        raise ValueError("naive: expected at least 1 past value, got 0")
    return np.full(horizon, history[-1])


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Repeat the last full season: ``y_hat[t+h] = y[t + h - m * (1 + h // m)]``.

    With ``season <= 1`` this is :func:`naive`.
    """
    history = np.asarray(history, dtype="float64")
    if season <= 1:
        return naive(history, horizon)
    if len(history) < season:
        raise ValueError(f"seasonal_naive: expected at least season={season} past values, got {len(history)}")
    last = history[-season:]
    return np.array([last[h % season] for h in range(horizon)])


def baseline_windows(values: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    """``{"naive": (N, H), "seasonal_naive": (N, H)}`` for each origin of one series."""
    return {
        "naive": np.stack([naive(values[:t], horizon) for t in origins]) if len(origins) else np.zeros((0, horizon)),
        "seasonal_naive": np.stack([seasonal_naive(values[:t], horizon, season) for t in origins])
        if len(origins) else np.zeros((0, horizon)),
    }
