"""Choosing a series classifier on its own training data: stratified k-fold cross-validation over a small grid.

The candidates (:func:`candidates`) start from the data's defaults
(:mod:`.defaults`) and change one setting at a time, only among the settings
the user left at ``auto``:

- the base network: bidirectional LSTM, last pooling, about 24 frames,
  global scaling, first differences;
- mean pooling instead of last;
- frames twice as long (about 12 LSTM steps);
- LSTM-FCN's convolutional branch beside the LSTM;
- each series z-normalised instead of global scaling (only when the series
  are not z-normalised already, as UCR sets are);
- and, for every network, the epochs: one training run per fold is scored
  after a quarter, a half and all of the epochs (the learning-rate schedule
  spans all of them, and the final model stops where the chosen one did);
- 1-NN Euclidean and 1-NN DTW (``select.neighbours``), on the raw series;
- the best network and each 1-NN classifier together: their class
  probabilities averaged (the 1-NN probabilities are a softmax over each
  class's nearest distance, :mod:`.neighbours`, with the temperature of the
  lowest cross-validated log loss).

Each fold trains one network per candidate (seed ``train.seed``); the final
model is then an ensemble of ``model.ensemble`` networks of the chosen
settings, so the cross-validation measures single networks and is, if
anything, pessimistic about the network. The choice is the network with the
best cross-validated accuracy (ties: the lower log loss), unless a 1-NN
classifier, alone or blended in, is strictly more accurate: then the most
accurate of those (ties: the lower log loss), and the run says so.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ...config import replace
from .config import ClassifyConfig
from .data import Examples
from .defaults import SERIES_FRAMES, frame_for, is_z_normalised, median_length
from .neighbours import NN_METRICS, class_distances, distances, dtw_plan, soft_probabilities

#: temperatures tried for the 1-NN class probabilities, as multiples of the median nearest-neighbour distance
TEMPERATURES = (0.05, 0.1, 0.2, 0.5, 1.0)
#: a blend's share of the 1-NN probabilities (the network has the rest)
BLEND_WEIGHT = 0.5


@dataclass
class Candidate:
    """One model the cross-validation scores: a network (``settings`` change the base) or a 1-NN metric."""

    name: str
    kind: str  # "network", "euclidean", "dtw" or "blend"
    settings: dict = field(default_factory=dict)


@dataclass
class Scored:
    """A candidate's cross-validated result (one row of the selection table)."""

    name: str
    kind: str
    settings: dict
    epochs: int | None
    accuracy: float
    log_loss: float
    seconds: float
    temperature: float | None = None  # 1-NN probabilities' temperature
    neighbour: str | None = None  # a blend's 1-NN metric
    window: int | None = None  # DTW's band (None: the full window)

    def as_dict(self) -> dict:
        extra = {k: getattr(self, k) for k in ("temperature", "neighbour", "window") if getattr(self, k)}
        return {"name": self.name, "kind": self.kind, "settings": self.settings, "epochs": self.epochs,
                "cv_accuracy": round(self.accuracy, 6), "cv_log_loss": round(self.log_loss, 6),
                "seconds": round(self.seconds, 2), **extra}

    @classmethod
    def from_dict(cls, d: dict) -> "Scored":
        return cls(d["name"], d["kind"], d["settings"], d["epochs"], d["cv_accuracy"], d["cv_log_loss"], d["seconds"],
                   d.get("temperature"), d.get("neighbour"), d.get("window"))


@dataclass
class Selection:
    """What the cross-validation found and chose."""

    folds: int
    rows: list[Scored]
    chosen: Scored
    best_network: Scored | None
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def fell_back(self) -> bool:
        """Whether a 1-NN classifier alone was chosen over every network."""
        return self.chosen.kind in NN_METRICS

    def summary(self) -> str:
        c = self.chosen
        line = (f"cross-validation ({self.folds} folds, {len(self.rows)} candidates, {self.seconds:.0f} s): chose "
                f"{label(c)}, CV accuracy {c.accuracy:.4f}")
        if self.fell_back and self.best_network is not None:
            line += (f"; it beats the best network ({label(self.best_network)}, {self.best_network.accuracy:.4f}), "
                     f"so the model is the nearest-neighbour classifier")
        elif c.kind == "blend":
            line += "; the model averages the networks' and the nearest neighbour's class probabilities"
        return line

    def as_dict(self) -> dict:
        return {"folds": self.folds, "seconds": round(self.seconds, 1), "chosen": self.chosen.as_dict(),
                "fell_back_to_neighbours": self.fell_back, "candidates": [r.as_dict() for r in self.rows],
                "notes": self.notes}


def label(row: Scored) -> str:
    """A row's name with its epochs (a blend's name holds them already)."""
    return row.name if row.epochs is None or row.kind == "blend" else f"{row.name}, {row.epochs} epochs"


def candidates(user: ClassifyConfig, base: ClassifyConfig, examples: Examples) -> list[Candidate]:
    """The network variants (one setting changed at a time, only where ``user`` left ``auto``) and the 1-NN metrics."""
    d, m = base.data, base.model

    def name(pooling: str, frame: int, branch: str, normalize: str) -> str:
        net = "LSTM-FCN" if branch == "on" else "LSTM"
        scaling = {"global": "global scaling", "series": "per-series scaling", "none": "no scaling"}[normalize]
        return f"{net}, {pooling} pooling, frame {frame}, {scaling}"

    out = [Candidate(name(m.pooling, d.frame, m.conv_branch, d.normalize), "network", {})]
    if user.model.pooling == "auto":
        out.append(Candidate(name("mean", d.frame, m.conv_branch, d.normalize), "network", {"model.pooling": "mean"}))
    if user.data.frame == 0:
        coarse = frame_for(median_length(examples), SERIES_FRAMES // 2)
        if coarse != d.frame:
            out.append(Candidate(name(m.pooling, coarse, m.conv_branch, d.normalize), "network", {"data.frame": coarse}))
    if user.model.conv_branch == "auto" and not user.model.conv_channels:
        out.append(Candidate(name(m.pooling, d.frame, "on", d.normalize), "network", {"model.conv_branch": "on"}))
    if user.data.normalize == "auto" and not is_z_normalised(examples):
        out.append(Candidate(name(m.pooling, d.frame, m.conv_branch, "series"), "network", {"data.normalize": "series"}))
    if base.select.neighbours:
        out += [Candidate(NN_METRICS[k], k) for k in NN_METRICS]
    return out


def stratified_folds(labels: list, folds: int, seed: int) -> np.ndarray:
    """Fold index of every example: each class spread over the folds in a seeded random order."""
    labels = np.asarray([str(v) for v in labels])
    rng = np.random.default_rng(seed)
    out = np.zeros(len(labels), dtype=int)
    offset = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        out[idx] = (np.arange(len(idx)) + offset) % folds  # rotate so that small classes do not all start in fold 0
        offset += len(idx)
    return out


def fold_count(cfg: ClassifyConfig, n: int) -> int:
    k = cfg.select.folds or (5 if n < 200 else 3)
    return max(2, min(k, n // 2))


def _scores(probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    acc = float((probs.argmax(1) == y).mean())
    p_true = probs[np.arange(len(y)), y]
    return acc, float(-np.log(np.clip(p_true, 1e-12, 1.0)).mean()) + 0.0  # + 0.0: no -0.0


def cross_validate(user: ClassifyConfig, base: ClassifyConfig, examples: Examples, y: np.ndarray, num_classes: int,
                   epochs: int, say: Callable[[str], None]) -> Selection:
    """Score every candidate by stratified k-fold cross-validation on ``examples`` (class indices ``y``)."""
    from .encoding import SequenceEncoder
    from .training import fit_for_selection

    t_start = time.perf_counter()
    k = fold_count(base, len(examples))
    fold = stratified_folds(examples.labels, k, base.train.seed)
    snap = sorted({max(1, round(epochs * f)) for f in (0.25, 0.5, 1.0)}) if user.train.epochs == 0 else [epochs]
    rows: list[Scored] = []
    notes: list[str] = []
    oof: dict[int, np.ndarray] = {}  # out-of-fold probabilities of each row
    cands = candidates(user, base, examples)
    say(f"cross-validation: {k} folds x {sum(c.kind == 'network' for c in cands)} network settings "
        f"(scored after {', '.join(map(str, snap))} epochs) and {sum(c.kind != 'network' for c in cands)} 1-NN classifiers "
        f"on {len(examples)} series")
    for cand in cands:
        t0 = time.perf_counter()
        if cand.kind != "network":
            window = None
            if cand.kind == "dtw":
                ok, window, note = dtw_plan(examples.items, examples.items, base.select.dtw_max_cells)
                if note:
                    notes.append(f"cross-validation: {note}")
                if not ok:
                    continue
            probs, temperature = _neighbour_cv(cand.kind, examples, y, fold, num_classes, window)
            acc, loss = _scores(probs, y)
            oof[len(rows)] = probs
            name = cand.name if window is None else f"{cand.name} (band {window})"
            rows.append(Scored(name, cand.kind, {}, None, acc, loss, time.perf_counter() - t0, temperature, window=window))
            say(f"  {cand.name}: CV accuracy {acc:.4f}")
            continue
        cfg = replace(base, **{**cand.settings, "model.ensemble": 1})
        probs = {e: np.zeros((len(examples), num_classes)) for e in snap}
        for f in range(k):
            tr, va = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            ex_tr, ex_va = examples.subset(tr), examples.subset(va)
            encoder = SequenceEncoder.fit(ex_tr, cfg.data)
            x_tr, _ = encoder.encode(ex_tr)
            x_va, _ = encoder.encode(ex_va)
            train_cfg = replace(cfg.train.resolved(epochs, cfg.train.batch_size, cfg.train.lr, cfg.train.schedule),
                                checkpoint_every=epochs)
            store = fit_for_selection(cfg, encoder, x_tr, y[tr].tolist(), num_classes, train_cfg, snap, x_va)
            for e in snap:
                probs[e][va] = store[e]
        seconds = time.perf_counter() - t0
        for e in snap:
            acc, loss = _scores(probs[e], y)
            oof[len(rows)] = probs[e]
            rows.append(Scored(cand.name, "network", cand.settings, e, acc, loss, seconds / len(snap)))
        say(f"  {cand.name}: CV accuracy " + ", ".join(f"{_scores(probs[e], y)[0]:.4f} after {e} epochs" for e in snap)
            + f" ({seconds:.0f} s)")
    nets = [i for i, r in enumerate(rows) if r.kind == "network"]
    nn = [i for i, r in enumerate(rows) if r.kind in NN_METRICS]
    if nets:  # the best network and each 1-NN classifier, probabilities averaged
        b = min(nets, key=lambda i: (-rows[i].accuracy, rows[i].log_loss))
        for i in nn:
            acc, loss = _scores(BLEND_WEIGHT * oof[i] + (1 - BLEND_WEIGHT) * oof[b], y)
            rows.append(Scored(f"{label(rows[b])} + {rows[i].name}", "blend", rows[b].settings, rows[b].epochs, acc, loss,
                               0.0, rows[i].temperature, rows[i].kind, rows[i].window))
    def rank(r: Scored) -> tuple:
        return -r.accuracy, r.log_loss

    best_net = min((r for r in rows if r.kind == "network"), key=rank, default=None)
    # the nearest neighbour, alone or blended in, only when it is more accurate than the networks alone
    better = [r for r in rows if r.kind != "network" and (best_net is None or r.accuracy > best_net.accuracy)]
    chosen = min(better, key=rank) if better else best_net
    return Selection(k, rows, chosen, best_net, time.perf_counter() - t_start, notes)


def _neighbour_cv(metric: str, examples: Examples, y: np.ndarray, fold: np.ndarray, num_classes: int,
                  window: int | None = None) -> tuple[np.ndarray, float]:
    """Out-of-fold 1-NN class probabilities, with the temperature of the lowest cross-validated log loss."""
    dist = distances(metric, examples.items, examples.items, window)
    per_class = np.zeros((len(examples), num_classes))
    for f in np.unique(fold):
        va, tr = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        per_class[va] = class_distances(dist[np.ix_(va, tr)], y[tr], num_classes)
    scale = nearest_scale(dist)
    best = None
    for mult in TEMPERATURES:
        probs = soft_probabilities(per_class, scale * mult)
        loss = _scores(probs, y)[1]
        if best is None or loss < best[0]:
            best = (loss, probs, scale * mult)
    return best[1], float(best[2])


def nearest_scale(dist: np.ndarray) -> float:
    """The median distance of a series to its nearest other series (``dist`` square, series x series)."""
    d = dist.astype(float).copy()
    np.fill_diagonal(d, np.inf)
    nearest = d.min(axis=1)
    nearest = nearest[np.isfinite(nearest)]
    scale = float(np.median(nearest)) if len(nearest) else 1.0
    return scale if scale > 0 and math.isfinite(scale) else 1.0
