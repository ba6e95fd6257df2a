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


def distances(metric: str, queries: list[np.ndarray], references: list[np.ndarray]) -> np.ndarray:
    """``(M, N)`` distances between ``(T_i, C)`` series: Euclidean, or the square root of (full-window) DTW."""
    q = [np.asarray(s, dtype=np.float64).T for s in queries]
    r = [np.asarray(s, dtype=np.float64).T for s in references]
    if metric == "euclidean":
        return euclidean_distances(q, r)
    if metric == "dtw":
        return np.sqrt(dtw_distances(q, r))
    raise ValueError(f"distances: expected metric in {list(NN_METRICS)}, got {metric!r}")


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
            common length first) or ``'dtw'`` (full window).
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
                    temperature: float = 1.0) -> "NearestNeighbourClassifier":
        """Hold ``series`` (``(T_i, C)`` arrays) with class indices ``labels``."""
        lengths = [len(s) for s in series]
        model = cls(dict(metric=metric, channels=int(series[0].shape[1]), count=len(series), max_length=max(lengths),
                         num_classes=int(num_classes), temperature=float(temperature)))
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

    def predict_proba(self, series: list[np.ndarray], metric: str | None = None, temperature: float | None = None) -> np.ndarray:
        """Class probabilities ``(M, K)`` of ``(T_i, C)`` series, by this model's metric and temperature or others."""
        dist = distances(metric or self.metric, series, self.references())
        per_class = class_distances(dist, self.labels.numpy(), int(self.config["num_classes"]))
        return soft_probabilities(per_class, float(temperature or self.config["temperature"]))

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        series = [x[i, : int(n)].detach().cpu().double().numpy() for i, n in enumerate(lengths)]
        return torch.from_numpy(np.log(np.clip(self.predict_proba(series), 1e-300, None))).to(x.dtype)


@register_model(KIND_NN)
def build_nn(config: dict) -> NearestNeighbourClassifier:
    return NearestNeighbourClassifier(config)
