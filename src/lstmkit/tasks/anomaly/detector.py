"""LSTM anomaly detectors: train on normal behaviour, score every point.

:class:`LSTMDetector` wraps one of the networks of :mod:`.model` with its
scaling, training windows and model of normal errors (:class:`GaussianErrors`).
:class:`StreamingDetector` scores one new observation at a time, carrying the
LSTM state, and gives the same scores as the batch path.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...config import from_dict, to_dict
from .config import AnomalyConfig, parse_segment
from .errors import GaussianErrors
from .model import EncoderDecoder, NextStepPredictor
from .thresholds import smooth_log


@dataclass
class Scaler:
    """Per-channel affine scaling fitted on the training segment."""

    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, method: str) -> "Scaler":
        if method == "robust":
            center = np.median(values, axis=0)
            q75, q25 = np.percentile(values, [75, 25], axis=0)
            scale = (q75 - q25) / 1.349  # IQR of a standard normal
        else:
            center, scale = values.mean(axis=0), values.std(axis=0)
        flat = np.flatnonzero(~(scale > 1e-12))
        if flat.size:
            raise ValueError(
                f"LSTMDetector: channel(s) {flat.tolist()} are constant on the training segment; "
                "a constant series has no normal behaviour to learn (drop the channel or choose another segment)"
            )
        return cls(center.astype(float), scale.astype(float))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.center) / self.scale

    def to_dict(self) -> dict:
        return {"center": self.center.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaler":
        return cls(np.asarray(d["center"], dtype=float), np.asarray(d["scale"], dtype=float))


def sliding(values: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``(N, window, C)`` starting every ``stride`` rows, the last one flush with the end."""
    n = values.shape[0]
    starts = list(range(0, n - window + 1, stride))
    if starts and starts[-1] != n - window:
        starts.append(n - window)
    starts = np.asarray(starts, dtype=int)
    idx = starts[:, None] + np.arange(window)[None, :]
    return starts, values[idx]


def _trimmed_mean(per_window: torch.Tensor, trim: float) -> torch.Tensor:
    """Mean of the per-window losses without the worst ``trim`` share (robust training)."""
    if trim <= 0 or per_window.numel() < 2:
        return per_window.mean()
    keep = max(1, int(math.ceil(per_window.numel() * (1 - trim))))
    return per_window.sort().values[:keep].mean()


class LSTMDetector:
    """An LSTM detector with everything it needs to score new data.

    Example::

        det = LSTMDetector(AnomalyConfig())
        det.fit(values)                  # (T, C) float array
        scores = det.score(values)       # (T,), NaN where no score exists yet
    """

    def __init__(self, config: AnomalyConfig) -> None:
        self.config = config
        self.model: torch.nn.Module | None = None
        self.scaler: Scaler | None = None
        self.errors_model: GaussianErrors | None = None
        self.channels: int | None = None
        self.fit_result = None

    # ------------------------------------------------------------ building
    @property
    def kind(self) -> str:
        return self.config.detector.kind

    def model_kwargs(self) -> dict:
        d = self.config.detector
        kw = dict(channels=self.channels, hidden_size=d.hidden_size, num_layers=d.num_layers, cell=d.cell, dropout=d.dropout)
        if self.kind == "prediction":
            kw["horizon"] = d.horizon
        return kw

    def _build(self) -> torch.nn.Module:
        cls = NextStepPredictor if self.kind == "prediction" else EncoderDecoder
        return cls(**self.model_kwargs())

    def warmup(self) -> int:
        """Rows at the start that cannot get a score (prediction: the horizon)."""
        return self.config.detector.horizon if self.kind == "prediction" else 0

    # ------------------------------------------------------------ training
    def _check_length(self, n: int, what: str) -> None:
        d = self.config.detector
        need = d.window + (d.horizon if self.kind == "prediction" else 0)
        if n < need:
            raise ValueError(
                f"LSTMDetector: the {what} has {n} rows, shorter than one window "
                f"(detector.window={d.window}{' + horizon=' + str(d.horizon) if self.kind == 'prediction' else ''}); "
                "use a longer series or a smaller window"
            )

    def _windows(self, scaled: np.ndarray) -> torch.Tensor:
        d = self.config.detector
        length = d.window + (d.horizon if self.kind == "prediction" else 0)
        _, w = sliding(scaled, length, max(1, d.window // 16))
        return torch.as_tensor(w, dtype=torch.float32)

    def _step(self, trim: float):
        kind = self.kind

        def step(model, batch):
            (x,) = batch
            if kind == "prediction":
                pred, target = model.targets(x)
                per_window = ((pred - target) ** 2).mean(dim=(1, 2, 3))
            else:
                per_window = ((model(x) - x) ** 2).mean(dim=(1, 2))
            return {"loss": _trimmed_mean(per_window, trim), "mse": per_window.mean()}

        return step

    def fit(self, values: np.ndarray, out_dir: str | Path = "runs/anomaly", resume: bool = False):
        """Train on the configured segment, then fit the error model on the validation segment."""
        from torch.utils.data import DataLoader, TensorDataset

        from ...train import fit, seed_everything

        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        n = values.shape[0]
        self.channels = values.shape[1]
        split = self.config.split
        t0, t1 = parse_segment(split.train, n, "split.train")
        v0, v1 = parse_segment(split.validation, n, "split.validation")
        self._check_length(t1 - t0, f"training segment (rows {t0}:{t1})")
        self.scaler = Scaler.fit(values[t0:t1], self.config.detector.scaling)
        scaled = self.scaler.transform(values)

        seed_everything(self.config.train.seed)
        self.model = self._build()
        train_w = self._windows(scaled[t0:t1])
        tc = self.config.train
        g = torch.Generator().manual_seed(tc.seed)
        train_loader = DataLoader(TensorDataset(train_w), batch_size=tc.batch_size, shuffle=True, generator=g)
        val_loader = None
        try:
            self._check_length(v1 - v0, "validation segment")
            val_loader = DataLoader(TensorDataset(self._windows(scaled[v0:v1])), batch_size=256)
        except ValueError:
            val_loader = None  # too short to validate windows: train without early stopping
        step = self._step(split.trim)
        self.fit_result = fit(self.model, step, train_loader, val_loader, tc, out_dir=out_dir, resume=resume,
                              val_step=self._step(0.0))
        self.model.eval()
        self.errors_model = GaussianErrors().fit(self._error_rows(scaled, v0, v1))
        return self.fit_result

    # ------------------------------------------------------------- scoring
    @torch.no_grad()
    def prediction_errors(self, scaled: np.ndarray) -> np.ndarray:
        """``(T, horizon * C)``: for each row, the errors of the predictions made for it
        1, 2, ..., horizon steps earlier (NaN where no such prediction exists)."""
        x = torch.as_tensor(scaled, dtype=torch.float32).unsqueeze(0)
        pred, _ = self.model(x)
        pred = pred[0].double().numpy()  # (T, horizon, C)
        T, l, C = pred.shape
        err = np.full((T, l, C), np.nan)
        for k in range(l):
            err[k + 1 :, k] = scaled[k + 1 :] - pred[: T - k - 1, k]
        return err.reshape(T, l * C)

    @torch.no_grad()
    def reconstruction_errors(self, scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Window starts and per-point reconstruction errors ``(N_windows, window, C)``."""
        d = self.config.detector
        starts, windows = sliding(scaled, d.window, d.stride)
        x = torch.as_tensor(windows, dtype=torch.float32)
        recon = torch.cat([self.model(chunk) for chunk in x.split(256)]).double().numpy()
        return starts, windows - recon

    def _error_rows(self, scaled: np.ndarray, v0: int, v1: int) -> np.ndarray:
        """Error vectors of the validation rows, to fit the model of normal errors."""
        if self.kind == "prediction":
            return self.prediction_errors(scaled)[v0:v1]
        starts, errs = self.reconstruction_errors(scaled)
        inside = (starts >= v0) & (starts + self.config.detector.window <= v1)
        if not inside.any():
            inside = np.ones_like(starts, dtype=bool)
        return errs[inside].reshape(-1, errs.shape[-1])

    def score(self, values: np.ndarray) -> np.ndarray:
        """One anomaly score per row: the Mahalanobis distance of its errors, pooled by
        :func:`smooth_log` over ``detector.smooth`` rows; NaN in the warm-up."""
        return smooth_log(self.raw_score(values), self.config.detector.smooth)

    def raw_score(self, values: np.ndarray) -> np.ndarray:
        """Per-row Mahalanobis distance of the errors, before pooling."""
        if self.model is None:
            raise RuntimeError("LSTMDetector: fit() or load() first")
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        if values.shape[1] != self.channels:
            raise ValueError(f"LSTMDetector: expected {self.channels} channel(s), got {values.shape[1]}")
        scaled = self.scaler.transform(values)
        if self.kind == "prediction":
            return self.errors_model.score(self.prediction_errors(scaled))
        self._check_length(values.shape[0], "series")
        starts, errs = self.reconstruction_errors(scaled)
        W, C = errs.shape[1], errs.shape[2]
        per_point = self.errors_model.score(errs.reshape(-1, C)).reshape(-1, W)
        total = np.zeros(values.shape[0])
        count = np.zeros(values.shape[0])
        for s, row in zip(starts, per_point):
            total[s : s + W] += row
            count[s : s + W] += 1
        return total / count

    # --------------------------------------------------------- persistence
    def save(self, directory: str | Path, extra: dict | None = None) -> Path:
        from ...train import save_model

        meta = {
            "scaler": self.scaler.to_dict(),
            "errors": self.errors_model.to_dict(),
            "run_config": to_dict(self.config),
            **(extra or {}),
        }
        return save_model(directory, self.model, f"anomaly-{self.kind}", self.model_kwargs(), extra=meta)

    @classmethod
    def load(cls, directory: str | Path) -> tuple["LSTMDetector", dict]:
        from ...train import load_model

        from . import model as _  # noqa: F401  (registers the builders)

        net, meta = load_model(directory)
        extra = meta["extra"]
        det = cls(from_dict(AnomalyConfig, extra["run_config"]))
        det.model, det.channels = net, meta["config"]["channels"]
        det.scaler = Scaler.from_dict(extra["scaler"])
        det.errors_model = GaussianErrors.from_dict(extra["errors"])
        return det, extra

    def streaming(self) -> "StreamingDetector":
        return StreamingDetector(self)


class StreamingDetector:
    """Score one observation at a time, carrying the LSTM state (prediction detector).

    ``update(x)`` takes the newest observation (``C`` values) and returns its
    score, computed from the predictions the detector made for it at the
    previous ``horizon`` steps (NaN during the warm-up). The scores equal
    :meth:`LSTMDetector.score` on the whole series.
    """

    def __init__(self, detector: LSTMDetector) -> None:
        if detector.kind != "prediction":
            raise ValueError("StreamingDetector: needs the prediction detector (reconstruction scores whole windows)")
        self.det = detector
        self.model = detector.model
        self.horizon = detector.config.detector.horizon
        self.recent: deque[np.ndarray] = deque(maxlen=self.horizon)  # newest first: (horizon, C) predictions
        self.logs: deque[float | None] = deque(maxlen=max(1, detector.config.detector.smooth))  # None: no score
        self.log_sum, self.log_count = 0.0, 0  # running sum and count of the finite logs in the window
        self.state = None

    @torch.no_grad()
    def update(self, x) -> float:
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape[0] != self.det.channels:
            raise ValueError(f"StreamingDetector: expected {self.det.channels} value(s), got {x.shape[0]}")
        xs = self.det.scaler.transform(x)
        score = float("nan")
        if len(self.recent) == self.horizon:
            err = np.stack([xs - self.recent[k][k] for k in range(self.horizon)])  # (horizon, C)
            score = float(self.det.errors_model.score(err.reshape(1, -1))[0])
        if self.logs.maxlen > 1:  # trailing mean of log1p(score), as smooth_log computes it
            value = math.log1p(max(score, 0.0)) if math.isfinite(score) else None
            if len(self.logs) == self.logs.maxlen:
                old = self.logs[0]
                if old is not None:
                    self.log_sum -= old
                    self.log_count -= 1
            self.logs.append(value)
            if value is not None:
                self.log_sum += value
                self.log_count += 1
            score = self.log_sum / self.log_count if value is not None else float("nan")
        h, self.state = self.model.lstm.step(torch.as_tensor(xs, dtype=torch.float32).unsqueeze(0), self.state)
        pred = self.model.head(h).view(self.horizon, -1).double().numpy()
        self.recent.appendleft(pred)
        return score
