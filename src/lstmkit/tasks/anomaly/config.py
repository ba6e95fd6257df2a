"""Configuration of an anomaly-detection run (YAML keys and ``--section.field`` options)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import option, section
from ...train.config import TrainConfig

DETECTORS = ("prediction", "reconstruction")
DIFFERENCES = ("auto", "none", "difference")
LOGS = ("auto", "none", "log")
SCALINGS = ("standard", "robust")
THRESHOLDS = ("false_alarm", "contamination", "dynamic")


def parse_segment(text: str, n: int, what: str) -> tuple[int, int]:
    """``"START:END"`` as row numbers or fractions of ``n`` -> ``(start, end)`` rows, end exclusive."""
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"{what}: expected START:END (rows or fractions), got {text!r}")
    bounds = []
    for p, default in zip(parts, (0, n)):
        p = p.strip()
        try:
            if not p:
                bounds.append(default)
            elif "." in p:  # a fraction of the series
                frac = float(p)
                if not 0 <= frac <= 1:
                    raise ValueError
                bounds.append(int(round(frac * n)))
            else:  # a row number
                bounds.append(int(p))
        except ValueError:
            raise ValueError(f"{what}: expected START:END as row numbers or fractions in [0, 1], got {text!r}") from None
    start, end = bounds
    if not 0 <= start < end <= n:
        raise ValueError(f"{what}: expected 0 <= start < end <= {n} (the series length), got {start}:{end} from {text!r}")
    return start, end


@dataclass
class DataConfig:
    """Which columns hold the series and its labels."""

    columns: list[str] = option([], "value columns (channels); empty: every numeric column except label and time")
    label: str = option("label", "0/1 anomaly label column, used only for evaluation ('' : none)")
    time: str = option("", "time column, copied into the outputs ('' : row numbers)")
    max_gap: int = option(5, "interpolate inner runs of missing values up to this many rows; longer runs are an error")

    def __post_init__(self):
        if self.max_gap < 0:
            raise ValueError(f"DataConfig: expected max_gap >= 0, got {self.max_gap}")


@dataclass
class DetectorConfig:
    """The LSTM detector."""

    kind: str = option("prediction", "prediction (forecast errors, Malhotra 2015) or reconstruction (EncDec-AD, Malhotra 2016)")
    window: int = option(0, "rows per training window (reconstruction: the window it reconstructs); 0: two seasons of the training rows, 32 to 256 (128 without a season)")
    horizon: int = option(4, "prediction: values predicted ahead at each step (a point's error vector has this many per channel)")
    stride: int = option(8, "reconstruction: rows between the starts of scored windows (each point averages its windows)")
    hidden_size: int = option(64, "LSTM units per layer")
    num_layers: int = option(2, "stacked LSTM layers")
    cell: str = option("lstm", "LSTM variant: lstm, peephole or layernorm")
    backend: str = option("auto", "recurrence engine: auto (the fastest measured for the configuration), cpu, torch, reference or triton")
    dropout: float = option(0.0, "dropout between LSTM layers")
    smooth: int = option(0, "pooling of log(1 + per-row score): 0 chooses from the data (per-row, and with a season also a centred mean over one season without its 2 largest values, each in units of its spread on the validation rows; the larger counts); 1: per-row; N: that trimmed centred mean over N rows; baselines get the same")
    difference: str = option("auto", "model x[t] - x[t-1] instead of x[t]: auto (when the normal rows have a monotone trend), none or difference")
    log: str = option("auto", "model log(x) (before differencing): auto (when the rows are positive and their spread grows with their level), none or log")
    scaling: str = option("standard", "per-channel scaling fitted on the training segment: standard (mean/std) or robust (median/IQR)")

    def __post_init__(self):
        if self.kind not in DETECTORS:
            raise ValueError(f"DetectorConfig: expected kind in {DETECTORS}, got {self.kind!r}")
        if self.difference not in DIFFERENCES:
            raise ValueError(f"DetectorConfig: expected difference in {DIFFERENCES}, got {self.difference!r}")
        if self.log not in LOGS:
            raise ValueError(f"DetectorConfig: expected log in {LOGS}, got {self.log!r}")
        if self.scaling not in SCALINGS:
            raise ValueError(f"DetectorConfig: expected scaling in {SCALINGS}, got {self.scaling!r}")
        if self.cell not in ("lstm", "peephole", "layernorm"):
            raise ValueError(f"DetectorConfig: expected cell lstm, peephole or layernorm, got {self.cell!r}")
        from lstmkit.kernels.registry import check_backend_name

        check_backend_name("DetectorConfig", self.backend)
        for name in ("horizon", "stride", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"DetectorConfig: expected {name} >= 1, got {getattr(self, name)}")
        if self.window != 0 and self.window < 2:
            raise ValueError(f"DetectorConfig: expected window 0 (automatic) or >= 2, got {self.window}")
        if self.smooth < 0:
            raise ValueError(f"DetectorConfig: expected smooth 0 (automatic) or >= 1, got {self.smooth}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"DetectorConfig: expected dropout in [0, 1), got {self.dropout}")


@dataclass
class SplitConfig:
    """Which rows are normal (train the network, fit the error model) and which are scored.

    Segments are ``START:END`` as row numbers or fractions of the series. In
    Python, ``fit(x)`` takes ``x`` as normal data (every row, unless ``train``
    names a segment); the command line reads a whole file and, when
    ``train`` is empty, trains on its first half.
    """

    train: str = option("", "normal training rows START:END (row numbers, or fractions like 0.5); empty: every row given to fit() (the command line: the first half of the file)")
    validation: str = option("", "normal rows for the error model, the score pooling and the false-alarm threshold; empty: the last quarter of the training rows (the network trains on the rest)")
    score: str = option("", "rows to score START:END; empty: every row outside the training and validation rows when they are part of the series scored, else every row")
    trim: float = option(0.0, "robust training on data that may hold anomalies: ignore this fraction of the worst windows in each batch")

    def __post_init__(self):
        if not 0 <= self.trim < 0.5:
            raise ValueError(f"SplitConfig: expected trim in [0, 0.5), got {self.trim}")
        for name in ("train", "validation", "score"):
            text = getattr(self, name)
            if text and len(text.split(":")) != 2:
                raise ValueError(f"SplitConfig: expected {name} as START:END (rows or fractions) or empty, got {text!r}")


@dataclass
class ThresholdConfig:
    """How scores become flags and events."""

    method: str = option("false_alarm", "false_alarm (rate on validation scores), contamination (share of all points) or dynamic (Hundman et al. 2018)")
    false_alarm_rate: float = option(0.001, "false_alarm: share of normal validation points allowed above the threshold")
    contamination: float = option(0.05, "contamination: expected share of anomalous points")
    dynamic_window: int = option(0, "dynamic: rows per thresholding window (0: the whole series)")
    min_gap: int = option(20, "merge events separated by at most this many normal rows")

    def __post_init__(self):
        if self.method not in THRESHOLDS:
            raise ValueError(f"ThresholdConfig: expected method in {THRESHOLDS}, got {self.method!r}")
        if not 0 <= self.false_alarm_rate < 1:
            raise ValueError(f"ThresholdConfig: expected false_alarm_rate in [0, 1), got {self.false_alarm_rate}")
        if not 0 < self.contamination < 1:
            raise ValueError(f"ThresholdConfig: expected contamination in (0, 1), got {self.contamination}")
        if self.dynamic_window < 0 or self.min_gap < 0:
            raise ValueError("ThresholdConfig: expected dynamic_window >= 0 and min_gap >= 0")


def _default_train() -> TrainConfig:
    return TrainConfig(epochs=30, batch_size=32, lr=3e-3, early_stopping=5)


@dataclass
class AnomalyConfig:
    """An anomaly-detection run."""

    data: DataConfig = section(DataConfig)
    detector: DetectorConfig = section(DetectorConfig)
    split: SplitConfig = section(SplitConfig)
    threshold: ThresholdConfig = section(ThresholdConfig)
    train: TrainConfig = field(default_factory=_default_train, metadata={"help": "the fit loop"})
