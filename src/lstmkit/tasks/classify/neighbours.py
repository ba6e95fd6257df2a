"""The 1-nearest-neighbour classifiers of series classification, as a model that can be saved and chosen.

Every series run computes 1-NN Euclidean and 1-NN DTW beside the network
(the baselines of the UCR/UEA archives), and the cross-validation may choose
one of them as the model itself. :class:`NearestNeighbourClassifier` holds
the training series as buffers, so it saves and loads like a network (model
kind ``classify-nn``) and gives class probabilities: a softmax over each
class's nearest distance, whose argmax is exactly the 1-NN prediction.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ...train.checkpoint import register_model
from .metrics import dtw_distances, euclidean_distances

KIND_NN = "classify-nn"
NN_METRICS = {"euclidean": "1-NN Euclidean", "dtw": "1-NN DTW"}


#: the Sakoe-Chiba band DTW falls back to when the full window is too much work: this share of the series length
DTW_BAND = 0.1


def distances(metric: str, queries: list[np.ndarray], references: list[np.ndarray], window: int | None = None) -> np.ndarray:
    """``(M, N)`` distances between ``(T_i, C)`` series: Euclidean, or the square root of DTW (``window``: its band)."""
    q = [np.asarray(s, dtype=np.float64).T for s in queries]
    r = [np.asarray(s, dtype=np.float64).T for s in references]
    if metric == "euclidean":
        return euclidean_distances(q, r)
    if metric == "dtw":
        return np.sqrt(dtw_distances(q, r, window))
    raise ValueError(f"distances: expected metric in {list(NN_METRICS)}, got {metric!r}")


def dtw_plan(queries: list[np.ndarray], references: list[np.ndarray], limit: float) -> tuple[bool, int | None, str]:
    """Whether DTW between these series fits in ``limit`` cells of its tables, and with which band.

    Returns ``(ok, window, note)``: the full window (``window=None``) when it
    fits; else a Sakoe-Chiba band of :data:`DTW_BAND` of the longest series
    (the UCR archive's usual band) when that fits; else ``ok=False``. The note
    says what was done, for the run's messages.
    """
    nq, nr = len(queries), len(references)
    tq, tr = float(np.mean([len(s) for s in queries])), float(np.mean([len(s) for s in references]))
    full = nq * nr * tq * tr
    if full <= limit:
        return True, None, ""
    window = max(1, round(DTW_BAND * max(max(len(s) for s in queries), max(len(s) for s in references))))
    banded = nq * nr * max(tq, tr) * (2 * window + 1)
    if banded <= limit:
        return True, window, (f"DTW with a Sakoe-Chiba band of {window} steps ({DTW_BAND:.0%}): the full window would "
                              f"fill {full:.3g} cells > select.dtw_max_cells={limit:.3g}")
    return False, None, (f"DTW skipped: {banded:.3g} cells even with a {DTW_BAND:.0%} band > "
                         f"select.dtw_max_cells={limit:.3g}")


def class_distances(dist: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``(M, K)``: each query's distance to the nearest reference of each class (``inf`` for a class with none)."""
    out = np.full((dist.shape[0], num_classes), np.inf)
    for k in range(num_classes):
        cols = labels == k
        if cols.any():
            out[:, k] = dist[:, cols].min(axis=1)
    return out


def soft_probabilities(per_class: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(-d / temperature)`` over classes; ties and the argmax are those of 1-NN."""
    z = -(per_class - per_class.min(axis=1, keepdims=True)) / temperature
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


class NearestNeighbourClassifier(nn.Module):
    r"""1-nearest-neighbour classification of series, with class probabilities.

    For a query :math:`x`, :math:`d_k` is its distance to the nearest training
    series of class :math:`k` (Euclidean, or :math:`\sqrt{\mathrm{DTW}}`), and

    .. math::
        p_k = \frac{\exp(-d_k / \tau)}{\sum_j \exp(-d_j / \tau)}

    so the most probable class is the class of the nearest training series (on
    an exact tie between classes, the first of them) and :math:`\tau`
    (``temperature``, chosen on the training data) only sets how sure the
    probabilities are.

    Args (one ``config`` dict, as saved in ``config.json``):
        metric: ``'euclidean'`` (series of unequal lengths are resampled to a
            common length first) or ``'dtw'``.
        window: DTW's Sakoe-Chiba band in steps, or ``None`` (optional; full window).
        channels: values per step.
        count: training series held; max_length: the longest of them.
        num_classes: outputs.
        temperature: :math:`\tau` (> 0).

    Buffers: ``series`` ``(count, max_length, channels)`` (zero after each
    series' end), ``lengths`` ``(count,)``, ``labels`` ``(count,)`` class indices.

    Shapes: :meth:`forward` takes raw series (not an encoder's output), ``x``
    ``(B, T, channels)`` batch first and ``lengths`` ``(B,)``, and returns
    log-probabilities ``(B, num_classes)``.

    Example::

        >>> nn1 = NearestNeighbourClassifier.from_series([np.zeros((3, 1)), np.ones((3, 1))], [0, 1], 2, "euclidean")
        >>> nn1.predict_proba([np.full((3, 1), 0.9)]).argmax(1)
        array([1])
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        c = dict(config)
        if c["metric"] not in NN_METRICS:
            raise ValueError(f"NearestNeighbourClassifier: expected metric in {list(NN_METRICS)}, got {c['metric']!r}")
        if not float(c["temperature"]) > 0:
            raise ValueError(f"NearestNeighbourClassifier: expected temperature > 0, got {c['temperature']}")
        self.config = c
        self.register_buffer("series", torch.zeros(int(c["count"]), int(c["max_length"]), int(c["channels"]), dtype=torch.float64))
        self.register_buffer("lengths", torch.ones(int(c["count"]), dtype=torch.int64))
        self.register_buffer("labels", torch.zeros(int(c["count"]), dtype=torch.int64))

    @classmethod
    def from_series(cls, series: list[np.ndarray], labels, num_classes: int, metric: str,
                    temperature: float = 1.0, window: int | None = None) -> "NearestNeighbourClassifier":
        """Hold ``series`` (``(T_i, C)`` arrays) with class indices ``labels``."""
        lengths = [len(s) for s in series]
        model = cls(dict(metric=metric, channels=int(series[0].shape[1]), count=len(series), max_length=max(lengths),
                         num_classes=int(num_classes), temperature=float(temperature), window=window))
        for i, s in enumerate(series):
            model.series[i, : len(s)] = torch.from_numpy(np.asarray(s, dtype=np.float64))
        model.lengths.copy_(torch.tensor(lengths))
        model.labels.copy_(torch.as_tensor(np.asarray(labels), dtype=torch.int64))
        return model

    @property
    def metric(self) -> str:
        return self.config["metric"]

    def references(self) -> list[np.ndarray]:
        """The training series as ``(T_i, C)`` arrays."""
        return [self.series[i, : int(n)].numpy() for i, n in enumerate(self.lengths)]

    def predict_proba(self, series: list[np.ndarray], metric: str | None = None, temperature: float | None = None,
                      window: int | None = None) -> np.ndarray:
        """Class probabilities ``(M, K)`` of ``(T_i, C)`` series, by this model's metric, temperature and DTW band or others."""
        if metric is None:
            metric, window = self.metric, self.config.get("window")
        dist = distances(metric, series, self.references(), window)
        per_class = class_distances(dist, self.labels.numpy(), int(self.config["num_classes"]))
        return soft_probabilities(per_class, float(temperature or self.config["temperature"]))

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        series = [x[i, : int(n)].detach().cpu().double().numpy() for i, n in enumerate(lengths)]
        return torch.from_numpy(np.log(np.clip(self.predict_proba(series), 1e-300, None))).to(x.dtype)


@register_model(KIND_NN)
def build_nn(config: dict) -> NearestNeighbourClassifier:
    return NearestNeighbourClassifier(config)
