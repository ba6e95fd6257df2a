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
from .baselines import as_2d
from .config import AnomalyConfig, parse_segment
from .errors import GaussianErrors
from .model import EncoderDecoder, NextStepPredictor


@dataclass
class Scaler:
    """Per-channel affine scaling fitted on the training rows, after differencing when asked.

    ``transform(values)`` is what the network reads: ``(x - center) / scale``,
    or, with ``difference``, ``(x[t] - x[t-1] - center) / scale`` (the first
    row's difference is taken as 0); with ``log``, ``x`` is first replaced by
    ``log(max(x, floor))`` where ``floor`` is half the smallest training value.
    """

    center: np.ndarray
    scale: np.ndarray
    difference: bool = False
    log_floor: np.ndarray | None = None  # per channel; None: no log

    @classmethod
    def fit(cls, values: np.ndarray, method: str, difference: bool = False, log: bool = False) -> "Scaler":
        floor = values.min(axis=0) / 2 if log else None
        if log and not (floor > 0).all():
            raise ValueError("LSTMDetector: detector.log needs positive values on the training segment")
        v = np.log(values) if log else values
        v = np.diff(v, axis=0) if difference else v
        if method == "robust":
            center = np.median(v, axis=0)
            q75, q25 = np.percentile(v, [75, 25], axis=0)
            scale = (q75 - q25) / 1.349  # IQR of a standard normal
        else:
            center, scale = v.mean(axis=0), v.std(axis=0)
        flat = np.flatnonzero(~(scale > 1e-12))
        if flat.size:
            raise ValueError(
                f"LSTMDetector: channel(s) {flat.tolist()} are constant on the training segment; "
                "a constant series has no normal behaviour to learn (drop the channel or choose another segment)"
            )
        return cls(center.astype(float), scale.astype(float), bool(difference), floor)

    def level(self, values: np.ndarray) -> np.ndarray:
        """The values the differences are taken of: ``log(max(x, floor))`` with log, else ``x``."""
        return np.log(np.maximum(values, self.log_floor)) if self.log_floor is not None else values

    def transform(self, values: np.ndarray) -> np.ndarray:
        v = self.level(values)
        if self.difference:
            v = np.diff(v, axis=0, prepend=v[:1])
        return (v - self.center) / self.scale

    def to_dict(self) -> dict:
        return {"center": self.center.tolist(), "scale": self.scale.tolist(), "difference": self.difference,
                "log_floor": None if self.log_floor is None else self.log_floor.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaler":
        floor = d.get("log_floor")
        return cls(np.asarray(d["center"], dtype=float), np.asarray(d["scale"], dtype=float), bool(d.get("difference", False)),
                   None if floor is None else np.asarray(floor, dtype=float))


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


@dataclass
class Segments:
    """Rows of the series given to :meth:`LSTMDetector.fit`: network training, validation, all normal rows.

    ``validation`` is ``None`` when the validation rows came as a separate array.
    """

    n: int
    train: tuple[int, int]  # rows the network trains on
    validation: tuple[int, int] | None
    normal: tuple[int, int]  # training segment as named (network + validation when inside it)
    digest: str = ""  # SHA-256 of the fitted values: scoring the same series skips the fitted rows

    def to_dict(self) -> dict:
        return {"n": self.n, "train": list(self.train), "validation": list(self.validation) if self.validation else None,
                "normal": list(self.normal), "digest": self.digest}

    @classmethod
    def from_dict(cls, d: dict) -> "Segments":
        v = d.get("validation")
        return cls(int(d["n"]), tuple(d["train"]), tuple(v) if v else None, tuple(d["normal"]), str(d.get("digest", "")))


def digest(values: np.ndarray) -> str:
    """SHA-256 of a float64 array's bytes (identifies the fitted series)."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def segments(n: int, split, has_validation_array: bool, min_rows: int) -> Segments:
    """Resolve ``split.train``/``split.validation`` on a series of ``n`` rows (see :class:`SplitConfig`)."""
    t0, t1 = parse_segment(split.train, n, "split.train") if split.train else (0, n)
    if split.validation:
        v0, v1 = parse_segment(split.validation, n, "split.validation")
        tail = t0 < v0 < t1 and v1 == t1  # the user named the tail of the training rows
        if v0 < t1 and t0 < v1 and not tail:
            raise ValueError(f"split.validation: rows {v0}:{v1} overlap the training rows {t0}:{t1}; name separate "
                             "segments, or leave split.validation empty to hold out the end of the training rows")
        if tail:
            return Segments(n, (t0, v0), (v0, v1), (t0, t1))
        return Segments(n, (t0, t1), (v0, v1), (t0, t1))
    if has_validation_array:
        return Segments(n, (t0, t1), None, (t0, t1))
    rows = t1 - t0
    held = max(rows // 4, min(rows // 2, min_rows))
    return Segments(n, (t0, t1 - held), (t1 - held, t1), (t0, t1))


class LSTMDetector:
    """An LSTM detector with everything it needs to give per-row scores on new data.

    The engine under :class:`lstmkit.AnomalyDetector`, which adds the pooling,
    thresholds, events, baselines and reports. Per-row score of the prediction
    detector: for each horizon ``k`` the Mahalanobis distance (over channels)
    of the error of the value predicted ``k`` rows earlier, under a Gaussian
    fitted on validation errors; the row's score is the smallest of the
    ``horizon`` distances. A genuine anomaly is missed by every earlier
    prediction; the rows just after a spike are not (the predictions made
    before the spike still fit them), so one spike gives one high row.

    Example::

        det = LSTMDetector(AnomalyConfig())
        det.fit(values)                  # (T, C) float array of normal rows
        scores = det.raw_score(values)   # (T,), NaN in the warm-up rows
    """

    def __init__(self, config: AnomalyConfig) -> None:
        self.config = config
        self.model: torch.nn.Module | None = None
        self.scaler: Scaler | None = None
        self.errors_model: list[GaussianErrors] | None = None
        self.channels: int | None = None
        self.fit_result = None
        self.choices: dict = {}
        self.segments: Segments | None = None
        self.validation_scores: np.ndarray | None = None

    # ------------------------------------------------------------ building
    @property
    def kind(self) -> str:
        return self.config.detector.kind

    @property
    def window(self) -> int:
        return self.choices.get("window") or self.config.detector.window or 128

    @property
    def difference(self) -> bool:
        return bool(self.scaler.difference) if self.scaler is not None else self.config.detector.difference == "difference"

    def model_kwargs(self) -> dict:
        d = self.config.detector
        kw = dict(channels=self.channels, hidden_size=d.hidden_size, num_layers=d.num_layers, cell=d.cell, dropout=d.dropout,
                  backend=d.backend)
        if self.kind == "prediction":
            kw["horizon"] = d.horizon
        return kw

    def _build(self) -> torch.nn.Module:
        cls = NextStepPredictor if self.kind == "prediction" else EncoderDecoder
        return cls(**self.model_kwargs())

    def warmup(self) -> int:
        """Rows at the start of a scored series without a score: the prediction detector's state is
        cold there (``max(horizon, min(window, 64))`` rows); the reconstruction detector needs none."""
        if self.kind != "prediction":
            return 0
        return max(self.config.detector.horizon, min(self.window, 64))

    # ------------------------------------------------------------ training
    def _need(self) -> int:
        return self.window + (self.config.detector.horizon if self.kind == "prediction" else 0)

    def _check_length(self, n: int, what: str) -> None:
        d = self.config.detector
        if n < self._need():
            raise ValueError(
                f"LSTMDetector: the {what} has {n} rows, shorter than one window "
                f"(window={self.window}{' + horizon=' + str(d.horizon) if self.kind == 'prediction' else ''}); "
                "use a longer series or a smaller detector.window"
            )

    def _windows(self, scaled: np.ndarray) -> torch.Tensor:
        _, w = sliding(scaled, self._need(), max(1, self.window // 16))
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

    def fit(self, values: np.ndarray, out_dir: str | Path | None = None, resume: bool = False,
            validation: np.ndarray | None = None) -> "LSTMDetector":
        """Train on the normal rows of ``values`` and fit the model of normal errors on the validation rows.

        Rows: ``split.train`` of ``values`` (default: all); validation rows
        ``split.validation``, else the array ``validation``, else the last
        quarter of the training rows (the network then trains on the rest).
        Automatic choices (``detector.window`` 0, ``detector.difference``
        auto) are made from the normal rows and kept in :attr:`choices`.
        """
        from torch.utils.data import DataLoader, TensorDataset

        from ...train import fit, seed_everything
        from . import choices as auto

        values = as_2d(values, "LSTMDetector.fit")
        n = values.shape[0]
        self.channels = values.shape[1]
        d, split = self.config.detector, self.config.split
        if validation is not None:
            validation = as_2d(validation, "LSTMDetector.fit(validation=)")
            if validation.shape[1] != self.channels:
                raise ValueError(f"LSTMDetector.fit: validation has {validation.shape[1]} channel(s), the training "
                                 f"rows {self.channels}")
        seg = segments(n, split, validation is not None, min_rows=256)
        seg.digest = digest(values)
        n0, n1 = seg.normal
        normal = values[n0:n1]
        period = auto.season(normal)
        trend = auto.monotone_trend(normal)
        diff = trend if d.difference == "auto" else d.difference == "difference"
        log = auto.multiplicative(normal) if d.log == "auto" else d.log == "log"
        window = d.window or auto.training_window(period, seg.train[1] - seg.train[0])
        self.choices = {"season": period, "trend": trend, "difference": diff, "log": log, "window": window}
        self.segments = seg
        t0, t1 = seg.train
        self._check_length(t1 - t0, f"training segment (rows {t0}:{t1})")
        self.scaler = Scaler.fit(values[t0:t1], d.scaling, diff, log)

        seed_everything(self.config.train.seed)
        self.model = self._build()
        tc = self.config.train
        train_w = self._windows(self.scaler.transform(values[t0:t1]))
        g = torch.Generator().manual_seed(tc.seed)
        train_loader = DataLoader(TensorDataset(train_w), batch_size=tc.batch_size, shuffle=True, generator=g)
        if seg.validation is not None:
            v0, v1 = seg.validation
            val_values = values[v0:v1]
        else:
            val_values = validation
        val_loader = None
        if val_values.shape[0] >= self._need():
            val_loader = DataLoader(TensorDataset(self._windows(self.scaler.transform(val_values))), batch_size=256)
        self.fit_result = fit(self.model, self._step(split.trim), train_loader, val_loader, tc, out_dir=out_dir,
                              resume=resume, val_step=self._step(0.0))
        self.model.eval()
        self._fit_errors(values, val_values, seg)
        return self

    def _fit_errors(self, values: np.ndarray, val_values: np.ndarray, seg: Segments) -> None:
        """The Gaussian(s) of normal errors and the per-row scores of the validation rows."""
        if seg.validation is not None:  # score the validation rows in context: the series from its start
            v0, v1 = seg.validation
            errs = self.errors(values[:v1])[v0:v1]
        else:
            errs = self.errors(val_values)
            errs[: self.warmup()] = np.nan
        if self.kind == "prediction":
            self.errors_model = [GaussianErrors().fit(errs[:, k]) for k in range(errs.shape[1])]
        else:
            self.errors_model = [GaussianErrors().fit(errs)]
        self.validation_scores = self._combine(errs)

    # ------------------------------------------------------------- scoring
    @torch.no_grad()
    def prediction_errors(self, scaled: np.ndarray) -> np.ndarray:
        """``(T, horizon, C)``: for each row, the errors of the values predicted for it 1, 2, ...,
        horizon rows earlier, in scaled units (NaN where no such prediction exists). With
        differencing, level errors: the predicted differences summed onto the value seen when the
        prediction was made."""
        x = torch.as_tensor(scaled, dtype=torch.float32).unsqueeze(0)
        pred, _ = self.model(x)
        pred = pred[0].double().numpy()  # (T, horizon, C): pred[s, j-1] aims at row s + j
        T, h, C = pred.shape
        err = np.full((T, h, C), np.nan)
        cum = np.zeros((T, C))
        for k in range(1, h + 1):
            resid = np.full((T, C), np.nan)
            resid[: T - k] = scaled[k:] - pred[: T - k, k - 1]  # residual at row s + k of the prediction made at s
            cum = cum + resid if self.difference else resid
            err[k:, k - 1] = cum[: T - k]
        return err

    @torch.no_grad()
    def reconstruction_errors(self, scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Window starts and per-point reconstruction errors ``(N_windows, window, C)``."""
        starts, windows = sliding(scaled, self.window, self.config.detector.stride)
        x = torch.as_tensor(windows, dtype=torch.float32)
        recon = torch.cat([self.model(chunk) for chunk in x.split(256)]).double().numpy()
        return starts, windows - recon

    def errors(self, values: np.ndarray) -> np.ndarray:
        """Per-row error vectors: ``(T, horizon, C)`` (prediction) or ``(T, C)`` (reconstruction: each
        point's error averaged over the windows that cover it)."""
        scaled = self.scaler.transform(values)
        if self.kind == "prediction":
            return self.prediction_errors(scaled)
        self._check_length(values.shape[0], "series")
        starts, errs = self.reconstruction_errors(scaled)
        W = errs.shape[1]
        total = np.zeros((values.shape[0], errs.shape[2]))
        count = np.zeros((values.shape[0], 1))
        for s, e in zip(starts, errs):
            total[s : s + W] += e
            count[s : s + W] += 1
        return total / count

    def _combine(self, errs: np.ndarray) -> np.ndarray:
        """Per-row score from error vectors: the smallest per-horizon Mahalanobis distance (prediction)."""
        if self.kind == "prediction":
            per_k = np.stack([g.score(errs[:, k]) for k, g in enumerate(self.errors_model)], axis=1)  # (T, horizon)
            out = per_k.min(axis=1)
            out[~np.isfinite(per_k).all(axis=1)] = np.nan
            return out
        return self.errors_model[0].score(errs)

    def raw_score(self, values: np.ndarray) -> np.ndarray:
        """Per-row score (before pooling); NaN in the first :meth:`warmup` rows."""
        if self.model is None:
            raise RuntimeError("LSTMDetector: fit() or load() first")
        values = as_2d(values, "LSTMDetector.raw_score")
        if values.shape[1] != self.channels:
            raise ValueError(f"LSTMDetector: expected {self.channels} channel(s), got {values.shape[1]}")
        out = self._combine(self.errors(values))
        out[: self.warmup()] = np.nan
        return out

    # --------------------------------------------------------- persistence
    def state(self) -> dict:
        """Everything but the weights, as JSON-ready values (saved in the model folder's ``extra``)."""
        return {"scaler": self.scaler.to_dict(), "errors": [g.to_dict() for g in self.errors_model],
                "choices": self.choices, "segments": self.segments.to_dict() if self.segments else None}

    def save(self, directory: str | Path, extra: dict | None = None) -> Path:
        from ...train import save_model

        meta = {**self.state(), "run_config": to_dict(self.config), **(extra or {})}
        return save_model(directory, self.model, f"anomaly-{self.kind}", self.model_kwargs(), extra=meta)

    @classmethod
    def load(cls, directory: str | Path, who: str = "LSTMDetector.load") -> tuple["LSTMDetector", dict]:
        from ...train import load_model
        from ...train.checkpoint import ModelFolderError

        from . import model as _  # noqa: F401  (registers the builders)

        net, meta = load_model(directory, kinds=("anomaly-prediction", "anomaly-reconstruction"), who=who)
        extra = meta["extra"]
        try:
            det = cls(from_dict(AnomalyConfig, extra["run_config"]))
            det.model, det.channels = net, int(meta["config"]["channels"])
            det.scaler = Scaler.from_dict(extra["scaler"])
            errs = extra["errors"]
            det.errors_model = [GaussianErrors.from_dict(e) for e in (errs if isinstance(errs, list) else [errs])]
            det.choices = dict(extra.get("choices") or {})
            det.segments = Segments.from_dict(extra["segments"]) if extra.get("segments") else None
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFolderError(f"{who}: {Path(directory) / 'config.json'}: field 'extra' is not an anomaly "
                                   f"detector's state ({type(e).__name__}: {e})") from None
        return det, extra


class StreamingDetector:
    """Score one observation at a time, carrying the LSTM state (prediction detector).

    ``update(x)`` takes the newest observation (``C`` values) and returns the
    final score of the row :attr:`delay` rows back (``nan`` while that row is
    in the warm-up or not yet reached): centred pooling needs that many later
    rows. With per-row pooling the delay is 0 and the score is the newest
    row's. The scores equal :meth:`lstmkit.AnomalyDetector.score` on the whole
    series, shifted by :attr:`delay`.
    """

    def __init__(self, detector: LSTMDetector, pooling) -> None:
        if detector.kind != "prediction":
            raise ValueError("StreamingDetector: needs the prediction detector (reconstruction scores whole windows)")
        self.det = detector
        self.model = detector.model
        self.pooling = pooling
        self.horizon = detector.config.detector.horizon
        self.delay = pooling.delay
        self.warmup = detector.warmup()
        self.recent: deque[np.ndarray] = deque(maxlen=self.horizon)  # newest first: (horizon, C) predictions
        self.sums: deque[np.ndarray] = deque(maxlen=self.horizon)  # their residual sums so far (differencing)
        span = max(pooling.spans)
        self.logs: deque[float] = deque(maxlen=span + self.delay + 1)  # per-row log scores, newest last
        self.seen = 0  # rows received
        self.previous: np.ndarray | None = None
        self.state = None

    def _row_score(self, xs: np.ndarray) -> float:
        if len(self.recent) < self.horizon or self.seen < self.det.warmup():
            return float("nan")
        errs = np.empty((self.horizon, xs.shape[0]))
        for m in range(1, self.horizon + 1):  # the prediction made m rows ago aims at this row with pred[m-1]
            resid = xs - self.recent[m - 1][m - 1]
            if self.det.difference:
                self.sums[m - 1] = self.sums[m - 1] + resid
                errs[m - 1] = self.sums[m - 1]
            else:
                errs[m - 1] = resid
        return float(min(g.score(errs[k][None])[0] for k, g in enumerate(self.det.errors_model)))

    def _update_sums_only(self, xs: np.ndarray) -> None:
        for m in range(1, len(self.recent) + 1):
            self.sums[m - 1] = self.sums[m - 1] + (xs - self.recent[m - 1][m - 1])

    @torch.no_grad()
    def update(self, x) -> float:
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape[0] != self.det.channels:
            raise ValueError(f"StreamingDetector: expected {self.det.channels} value(s), got {x.shape[0]}")
        if not np.isfinite(x).all():
            raise ValueError(f"StreamingDetector: expected finite values, got {x.tolist()} at row {self.seen}")
        sc = self.det.scaler
        lv = sc.level(x)
        step_in = (lv - self.previous) if (sc.difference and self.previous is not None) else (lv * 0 if sc.difference else lv)
        self.previous = lv
        xs = (step_in - sc.center) / sc.scale
        if len(self.recent) == self.horizon and self.seen >= self.det.warmup():
            score = self._row_score(xs)
        else:
            score = float("nan")
            if self.det.difference:
                self._update_sums_only(xs)
        self.logs.append(math.log1p(max(score, 0.0)) if math.isfinite(score) else float("nan"))
        self.seen += 1
        h, self.state = self.model.lstm.step(torch.as_tensor(xs, dtype=torch.float32).unsqueeze(0), self.state)
        pred = self.model.head(h).view(self.horizon, -1).double().numpy()
        self.recent.appendleft(pred)
        self.sums.appendleft(np.zeros_like(xs))
        return self._pooled()

    def _pooled(self) -> float:
        from .pooling import TRIM

        row = self.seen - 1 - self.delay  # the row whose score is complete now
        if row < 0:
            return float("nan")
        logs = np.asarray(self.logs)  # the last len(logs) rows, ending at row seen - 1
        first = self.seen - logs.size  # row number of logs[0]
        if not math.isfinite(logs[row - first]):
            return float("nan")
        best = -math.inf
        for p, med, spread in zip(self.pooling.spans, self.pooling.median, self.pooling.spread):
            lo, hi = max(0, row - p // 2), min(self.seen, row + p - p // 2)
            seg = logs[lo - first : hi - first]
            seg = np.sort(seg[np.isfinite(seg)])
            trim = TRIM if p > TRIM + 1 else 0
            if seg.size > trim:
                seg = seg[: seg.size - trim]
            if seg.size:
                best = max(best, (float(seg.mean()) - med) / spread)
        return best if best > -math.inf else float("nan")
