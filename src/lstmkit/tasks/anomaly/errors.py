"""The model of normal errors: a multivariate Gaussian, scored by Mahalanobis distance.

Both LSTM detectors turn each point into an error vector (the ``horizon``
prediction errors for it, or its reconstruction error per channel). On normal
validation data we fit a mean and covariance; a point's anomaly score is
``(e - mu)^T Sigma^{-1} (e - mu)``, which orders points as ``-log p(e)`` does.
"""

from __future__ import annotations

import numpy as np


class GaussianErrors:
    """Mean and (shrunk) covariance of normal error vectors.

    Args:
        shrinkage: weight of the diagonal in ``(1 - a) * Sigma + a * diag(Sigma)``,
            which keeps the inverse stable with few or correlated errors. Default ``0.05``.
    """

    def __init__(self, shrinkage: float = 0.05) -> None:
        if not 0 <= shrinkage <= 1:
            raise ValueError(f"GaussianErrors: expected shrinkage in [0, 1], got {shrinkage}")
        self.shrinkage = shrinkage
        self.mean: np.ndarray | None = None
        self.precision: np.ndarray | None = None

    def fit(self, errors: np.ndarray) -> "GaussianErrors":
        e = np.asarray(errors, dtype=float)
        e = e[np.isfinite(e).all(axis=1)]
        if e.shape[0] < 2:
            raise ValueError(f"GaussianErrors: expected at least 2 complete error vectors to fit, got {e.shape[0]}")
        self.mean = e.mean(axis=0)
        cov = np.atleast_2d(np.cov(e, rowvar=False))
        cov = (1 - self.shrinkage) * cov + self.shrinkage * np.diag(np.diag(cov))
        cov += np.eye(cov.shape[0]) * max(1e-12, 1e-9 * float(np.trace(cov)) / cov.shape[0])
        self.precision = np.linalg.inv(cov)
        return self

    def score(self, errors: np.ndarray) -> np.ndarray:
        """Mahalanobis distance squared per row; NaN where the error vector is incomplete."""
        if self.mean is None:
            raise RuntimeError("GaussianErrors: call fit() before score()")
        e = np.asarray(errors, dtype=float)
        d = e - self.mean
        if not np.isfinite(d).all():  # (nan_to_num is slow on the streaming detector's one-row calls)
            d = np.nan_to_num(d)
        out = np.einsum("ni,ij,nj->n", d, self.precision, d)
        out[~np.isfinite(e).all(axis=1)] = np.nan
        return out

    def to_dict(self) -> dict:
        return {"shrinkage": self.shrinkage, "mean": self.mean.tolist(), "precision": self.precision.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "GaussianErrors":
        g = cls(d["shrinkage"])
        g.mean = np.asarray(d["mean"], dtype=float)
        g.precision = np.asarray(d["precision"], dtype=float)
        return g
