"""Settings from the data: every ``auto`` (or ``0``) field of a classification configuration made concrete.

Text keeps the settings the SST-2 recipe grew from (max pooling, 128 units,
20 epochs of 64 sentences at 2e-3, early stopping on a validation share).
Series get what works for small UCR/UEA-sized sets: a small bidirectional
LSTM reading about 24 frames of the series with first differences, last
pooling, 16 series a batch at 5e-3 with a cosine schedule, about 1,000
optimiser steps (20-150 epochs), as :func:`series_epochs` says, and one CPU
thread (such networks gain nothing from a second one, and two threads
contending with other work on a 2-core machine ran a cross-validation 20 times
slower in one measurement). Whether the
cross-validation of :mod:`.selection` runs is decided here too
(:func:`plan`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...config import replace
from .config import ClassifyConfig
from .data import Examples

#: series: optimiser steps a network trains for (epochs = this / batches per epoch, within SERIES_EPOCHS)
SERIES_STEPS = 1000
SERIES_EPOCHS = (20, 150)
SERIES_BATCH = 16
#: series: the LSTM reads about this many frames (the cross-validation also tries half as many)
SERIES_FRAMES = 24


@dataclass
class Plan:
    """How a fit goes: the resolved base configuration and whether to cross-validate (and why)."""

    base: ClassifyConfig
    cross_validate: bool
    reason: str
    epochs: int  # the base configuration's epochs (the cap the cross-validation's snapshots divide)


def median_length(examples: Examples) -> int:
    return int(np.median([len(s) for s in examples.items]))


def frame_for(length: int, frames: int) -> int:
    """Steps per LSTM input so that a series of ``length`` steps makes about ``frames`` frames."""
    return max(1, round(length / frames))


def series_epochs(n: int, batch_size: int) -> int:
    """Epochs giving about :data:`SERIES_STEPS` optimiser steps on ``n`` series, within :data:`SERIES_EPOCHS`."""
    per_epoch = math.ceil(n / batch_size)
    lo, hi = SERIES_EPOCHS
    return int(min(hi, max(lo, math.ceil(SERIES_STEPS / per_epoch))))


def is_z_normalised(examples: Examples, tol: float = 0.05) -> bool:
    """Whether every series (each channel) already has mean 0 and standard deviation 1 (UCR style)."""
    for s in examples.items:
        if len(s) < 2:
            return False
        if np.abs(s.mean(0)).max() > tol or np.abs(s.std(0) - 1).max() > tol:
            return False
    return True


def plan(cfg: ClassifyConfig, examples: Examples, has_validation: bool) -> Plan:
    """Resolve ``cfg`` for ``examples`` (the training data) and decide on cross-validation.

    The cross-validation runs for series when ``select.mode`` is ``cv``, or
    ``auto`` with no validation data and at most ``select.max_examples``
    training series; otherwise the base configuration is trained as it is.
    """
    n = len(examples)
    s = cfg.select
    if examples.kind == "text":
        if s.mode == "cv":
            raise ValueError("SequenceClassifier: select.mode cv is for series; the data are text (use auto or off)")
        if cfg.model.conv_branch == "on":
            raise ValueError("SequenceClassifier: model.conv_branch on is for series; the data are text")
        cross, reason = False, "text: no cross-validation"
    elif s.mode == "off":
        cross, reason = False, "select.mode off"
    elif s.mode == "cv":
        cross, reason = True, "select.mode cv"
    elif has_validation:
        cross, reason = False, "validation data given: early stopping on it, no cross-validation"
    elif n > s.max_examples:
        cross, reason = False, f"{n} training series > select.max_examples={s.max_examples}: no cross-validation"
    else:
        cross, reason = True, f"{n} training series <= select.max_examples={s.max_examples}"
    if cross and n < 4:
        cross, reason = False, f"only {n} training series: too few to cross-validate"

    over: dict = {}
    d, m, t = cfg.data, cfg.model, cfg.train
    if examples.kind == "text":
        over.update({"model.pooling": "max" if m.pooling == "auto" else m.pooling,
                     "model.hidden_size": m.hidden_size or 128, "model.ensemble": m.ensemble or 1,
                     "model.conv_branch": "off", "data.normalize": "none" if d.normalize == "auto" else d.normalize,
                     "data.frame": d.frame or 1})
        train = t.resolved(20, 64, 2e-3, "none")
    else:
        batch = t.batch_size or SERIES_BATCH
        over.update({"model.pooling": "last" if m.pooling == "auto" else m.pooling,
                     "model.hidden_size": m.hidden_size or (32 if n <= s.max_examples else 64),
                     "model.ensemble": m.ensemble or (5 if cross else 1),
                     "model.conv_branch": ("on" if m.conv_channels else "off") if m.conv_branch == "auto" else m.conv_branch,
                     "data.normalize": "global" if d.normalize == "auto" else d.normalize,
                     "data.frame": d.frame or frame_for(median_length(examples), SERIES_FRAMES)})
        train = t.resolved(series_epochs(n, batch), batch, 5e-3, "cosine")
        over["train.num_threads"] = t.num_threads or 1
    over.update({f"train.{k}": getattr(train, k) for k in ("epochs", "batch_size", "lr", "schedule")})
    base = replace(cfg, **over)
    return Plan(base, cross, reason, train.epochs)
