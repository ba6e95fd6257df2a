"""Synthetic series-classification sets for checking that the automatic choice generalises.

None of these is a shipped UCR/UEA set, and none was looked at while the
cross-validation grid of ``lstmkit.tasks.classify.selection`` was designed;
they only check it afterwards. Each generator draws a training and a test
set from one seeded random stream, so a set is the same on every machine.

- ``CBF-like``: Saito's cylinder-bell-funnel (3 classes, length 128, 30 train);
  a set where DTW is known to be strong.
- ``Control-like``: Alcock & Manolopoulos's synthetic control charts (6
  classes, length 60, 60 train): normal, cyclic, trends up and down, shifts.
- ``Shapes-warped``: 3 close smooth templates, strongly time-warped and noisy
  (length 200, 36 train), z-normalised like UCR sets.
- ``Frequency``: noisy oscillations whose class is a narrow frequency band,
  with random phase and amplitude drift (3 classes, length 150, 45 train).
- ``Pen-varlen``: multivariate (3 channels), variable length (30-70 steps)
  trajectories from 4 templates, warped and rescaled (80 train).
- ``Vowels-like``: the shape of a spoken-vowel set: 9 classes, 12 channels,
  short variable lengths (7-29 steps), 270 train, 370 test; close templates,
  so the classes overlap.
"""

from __future__ import annotations

import numpy as np


def cbf(n: int, rng: np.random.Generator, T: int = 128):
    X, y = [], []
    t = np.arange(T)
    for i in range(n):
        c = i % 3
        a = int(rng.integers(16, 33))
        b = min(a + int(rng.integers(32, 97)), T - 1)
        chi = ((t >= a) & (t <= b)).astype(float)
        amp = 6 + rng.normal()
        shape = [chi, chi * (t - a) / (b - a), chi * (b - t) / (b - a)][c]
        X.append((amp * shape + rng.normal(size=T))[:, None])
        y.append(["cylinder", "bell", "funnel"][c])
    return X, y


def control(n: int, rng: np.random.Generator, T: int = 60):
    X, y = [], []
    t = np.arange(T)
    names = ["normal", "cyclic", "up", "down", "shift_up", "shift_down"]
    for i in range(n):
        c = i % 6
        r = 30 + rng.normal(0, 2, T)
        if c == 1:
            r = r + rng.uniform(10, 15) * np.sin(2 * np.pi * t / rng.uniform(10, 15))
        elif c in (2, 3):
            r = r + (1 if c == 2 else -1) * rng.uniform(0.2, 0.5) * t
        elif c in (4, 5):
            r = r + (1 if c == 4 else -1) * (t >= rng.integers(T // 3, 2 * T // 3)) * rng.uniform(7.5, 20)
        X.append(r[:, None])
        y.append(names[c])
    return X, y


def _warp(T: int, rng: np.random.Generator, strength: float) -> np.ndarray:
    knots = np.cumsum(rng.uniform(1 - strength, 1 + strength, 6))
    knots = np.concatenate([[0.0], knots / knots[-1]])
    return np.interp(np.linspace(0, 1, T), np.linspace(0, 1, 7), knots)


def _fourier(rng: np.random.Generator, u: np.ndarray, terms: int, first: int = 1) -> np.ndarray:
    return sum(rng.normal() / (k + 1) * np.sin(2 * np.pi * (k + first) * u + rng.uniform(0, 6)) for k in range(terms))


def shapes(n: int, rng: np.random.Generator, T: int = 200, K: int = 3, noise: float = 0.8, warp: float = 0.5):
    trng = np.random.default_rng(7)  # the templates are fixed; the draws vary
    u = np.linspace(0, 1, 400)
    base = _fourier(trng, u, 6)
    templates = [base + 0.5 * _fourier(trng, u, 4, first=2) for _ in range(K)]
    X, y = [], []
    for i in range(n):
        c = i % K
        s = np.interp(_warp(T, rng, warp), u, templates[c]) + noise * rng.normal(size=T)
        X.append(((s - s.mean()) / s.std())[:, None])
        y.append(f"shape{c}")
    return X, y


def frequency(n: int, rng: np.random.Generator, T: int = 150):
    X, y = [], []
    t = np.arange(T)
    for i in range(n):
        c = i % 3
        f = [0.04, 0.05, 0.062][c] * rng.uniform(0.93, 1.07)
        amp = rng.uniform(0.5, 2) * (1 + 0.5 * np.sin(2 * np.pi * t / T * rng.uniform(0.5, 2)))
        X.append((amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) + rng.normal(0, 0.5, T))[:, None])
        y.append(["slow", "medium", "fast"][c])
    return X, y


def pen(n: int, rng: np.random.Generator, K: int = 4, C: int = 3, lo: int = 30, hi: int = 70):
    trng = np.random.default_rng(11)
    u = np.linspace(0, 1, 300)
    templates = [np.stack([_fourier(trng, u / 2, 4) for _ in range(C)], 1) for _ in range(K)]
    X, y = [], []
    for i in range(n):
        c = i % K
        T = int(rng.integers(lo, hi + 1))
        w = _warp(T, rng, 0.35)
        s = np.stack([np.interp(w, u, templates[c][:, ch]) for ch in range(C)], 1)
        X.append(s * rng.uniform(0.6, 1.6) + rng.normal(0, 0.4, s.shape) + rng.normal(0, 0.5, (1, C)))
        y.append(f"letter{c}")
    return X, y


def vowels(n: int, rng: np.random.Generator):
    trng = np.random.default_rng(13)
    u = np.linspace(0, 1, 200)
    shared = np.stack([_fourier(trng, u / 2, 3) for _ in range(12)], 1)
    templates = [shared + 0.25 * np.stack([_fourier(trng, u / 2, 3) for _ in range(12)], 1) for _ in range(9)]
    X, y = [], []
    for i in range(n):
        c = i % 9
        T = int(rng.integers(7, 30))
        w = _warp(T, rng, 0.3)
        s = np.stack([np.interp(w, u, templates[c][:, ch]) for ch in range(12)], 1)
        X.append(s * rng.uniform(0.8, 1.25) + rng.normal(0, 0.5, s.shape))
        y.append(f"speaker{c + 1}")
    return X, y


#: name -> (generator, training series, test series)
SETS = {"CBF-like": (cbf, 30, 300), "Control-like": (control, 60, 300), "Shapes-warped": (shapes, 36, 300),
        "Frequency": (frequency, 45, 300), "Pen-varlen": (pen, 80, 300), "Vowels-like": (vowels, 270, 370)}


def make(name: str, seed: int = 0):
    """``(X_train, y_train, X_test, y_test)``: lists of ``(T, C)`` arrays and label lists, training order shuffled."""
    gen, n_train, n_test = SETS[name]
    rng = np.random.default_rng(seed)
    X_tr, y_tr = gen(n_train, rng)
    X_te, y_te = gen(n_test, rng)
    order = rng.permutation(n_train)
    return [X_tr[i] for i in order], [y_tr[i] for i in order], X_te, y_te
