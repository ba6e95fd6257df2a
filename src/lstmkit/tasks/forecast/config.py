"""Configuration of a forecasting run: data, model, training, backtest, outputs.

Every field has a default and a help line; ``lstmkit forecast train --help``
lists them all, ``--config run.yaml`` sets them from YAML with the same nesting,
and ``--model.hidden_size 64`` overrides one. The defaults are the recipe that
reaches the airline-passengers quality bar (see ``benchmarks/RESULTS_forecast.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import option, section
from ...train.config import TrainConfig

CELLS = ("lstm", "peephole", "layernorm")


@dataclass
class DataConfig:
    """Where the series are and how to read them."""

    path: str = option("", "CSV or Parquet file; empty: the built-in airline-passengers series")
    target: str = option("", "value column (long layout) or comma-separated series columns (wide); empty: the only numeric column")
    time: str = option("", "time column (dates, or integer steps such as years); empty: row order")
    id: str = option("", "series-id column for many series in long layout; empty: one series")
    layout: str = option("long", "long (one row per id and time) or wide (one column per series)")
    past_covariates: list[str] = option([], "columns known only up to the forecast origin (comma-separated)")
    future_covariates: list[str] = option([], "columns known in advance, for the forecast horizon too (comma-separated)")
    freq: str = option("", "pandas frequency (MS, D, h, ...) or integer step; empty: inferred")
    missing: str = option("interpolate", "missing targets: interpolate (runs up to max_gap) or error")
    max_gap: int = option(12, "longest run of missing values that is interpolated")
    transform: str = option("auto", "auto (log when every value is positive), log or none")
    scaling: str = option("auto", "per-series scaling after the transform: auto (none after a log transform, "
                                  "standard otherwise), standard, minmax, mean or none")

    def __post_init__(self):
        if self.layout not in ("long", "wide"):
            raise ValueError(f"DataConfig: expected layout 'long' or 'wide', got {self.layout!r}")
        if self.missing not in ("interpolate", "error"):
            raise ValueError(f"DataConfig: expected missing 'interpolate' or 'error', got {self.missing!r}")
        if self.max_gap < 0:
            raise ValueError(f"DataConfig: expected max_gap >= 0, got {self.max_gap}")
        if self.transform not in ("auto", "log", "none"):
            raise ValueError(f"DataConfig: expected transform 'auto', 'log' or 'none', got {self.transform!r}")
        if self.scaling not in ("auto", "standard", "minmax", "mean", "none"):
            raise ValueError(f"DataConfig: expected scaling auto, standard, minmax, mean or none, got {self.scaling!r}")
        if self.layout == "wide" and (self.id or self.past_covariates or self.future_covariates):
            raise ValueError("DataConfig: the wide layout takes no id column and no covariates")


@dataclass
class ModelConfig:
    """The LSTM forecaster."""

    input_size: int = option(24, "input window: past steps the model reads at each origin")
    hidden_size: int = option(32, "LSTM units per layer")
    num_layers: int = option(1, "stacked LSTM layers")
    dropout: float = option(0.0, "dropout between layers and before the head")
    cell: str = option("lstm", "LSTM cell: lstm, peephole or layernorm")
    decoder: str = option("direct", "direct (one head emits the whole horizon) or autoregressive (one step fed back)")
    output: str = option("point", "point, gaussian (mean and std) or quantile")
    loss: str = option("mse", "point loss: mse or mae (gaussian uses NLL, quantile the pinball loss)")
    quantiles: list[float] = option([0.025, 0.1, 0.5, 0.9, 0.975],
                                    "quantile levels predicted (quantile output) or reported (gaussian output)")
    instance_norm: str = option("mean", "reversible instance normalisation of each window: mean, meanstd or none")
    norm_window: int = option(0, "instance normalisation statistics over the last N input steps (0: all of them)")
    calendar: bool = option(True, "add season-phase and calendar features as known-future inputs")
    ensemble: int = option(5, "models trained from different seeds and averaged")
    backend: str = option("auto", "recurrence engine for the LSTM: auto (the fastest measured for the configuration), "
                                  "cpu, torch, reference, triton")

    def __post_init__(self):
        if self.input_size < 1 or self.hidden_size < 1 or self.num_layers < 1:
            raise ValueError(f"ModelConfig: expected input_size, hidden_size, num_layers >= 1, got "
                             f"{self.input_size}, {self.hidden_size}, {self.num_layers}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"ModelConfig: expected 0 <= dropout < 1, got {self.dropout}")
        if self.cell not in CELLS:
            raise ValueError(f"ModelConfig: expected cell in {CELLS}, got {self.cell!r}")
        if self.decoder not in ("direct", "autoregressive"):
            raise ValueError(f"ModelConfig: expected decoder 'direct' or 'autoregressive', got {self.decoder!r}")
        if self.output not in ("point", "gaussian", "quantile"):
            raise ValueError(f"ModelConfig: expected output 'point', 'gaussian' or 'quantile', got {self.output!r}")
        if self.loss not in ("mse", "mae"):
            raise ValueError(f"ModelConfig: expected loss 'mse' or 'mae', got {self.loss!r}")
        if not self.quantiles or any(not 0 < q < 1 for q in self.quantiles) or sorted(set(self.quantiles)) != list(self.quantiles):
            raise ValueError(f"ModelConfig: expected increasing quantile levels strictly between 0 and 1, got {self.quantiles}")
        if self.output == "quantile" and 0.5 not in self.quantiles:
            raise ValueError(f"ModelConfig: quantile output needs the median 0.5 among quantiles, got {self.quantiles}")
        if self.instance_norm not in ("mean", "meanstd", "none"):
            raise ValueError(f"ModelConfig: expected instance_norm mean, meanstd or none, got {self.instance_norm!r}")
        if not 0 <= self.norm_window <= self.input_size:
            raise ValueError(f"ModelConfig: expected 0 <= norm_window <= input_size, got {self.norm_window}")
        if self.ensemble < 1:
            raise ValueError(f"ModelConfig: expected ensemble >= 1, got {self.ensemble}")


@dataclass
class BacktestConfig:
    """Rolling-origin evaluation."""

    start: str = option("auto", "first forecast origin: a date (1959-01), a time value, -N (the last N steps), "
                                "or auto (the last two seasons, or 20% of the series)")
    stride: int = option(1, "steps between forecast origins")
    refit: int = option(0, "refit the model every N origins on all data before them (0: fit once before the first origin)")
    final_fit: str = option("finetune", "the saved model: finetune (the backtest models trained on, for final_epochs "
                                        "on the whole series), full (trained afresh on the whole series) or none "
                                        "(the backtest models as they are)")
    final_epochs: int = option(100, "epochs of the finetune on the whole series (learning rate train.lr / 3)")

    def __post_init__(self):
        if self.stride < 1:
            raise ValueError(f"BacktestConfig: expected stride >= 1, got {self.stride}")
        if self.refit < 0:
            raise ValueError(f"BacktestConfig: expected refit >= 0, got {self.refit}")
        if self.final_fit not in ("finetune", "full", "none"):
            raise ValueError(f"BacktestConfig: expected final_fit finetune, full or none, got {self.final_fit!r}")
        if self.final_epochs < 1:
            raise ValueError(f"BacktestConfig: expected final_epochs >= 1, got {self.final_epochs}")


def _train_defaults() -> TrainConfig:
    return TrainConfig(epochs=500, batch_size=32, lr=3e-3, schedule="cosine", grad_clip=1.0, num_threads=1,
                       checkpoint_every=25)


@dataclass
class ForecastConfig:
    """A forecasting run."""

    horizon: int = option(6, "steps to forecast from each origin")
    season: int = option(0, "season length (12 for monthly data with a yearly cycle); 0: from the frequency, 1: none")
    val_size: int = option(0, "last N training origins held out for validation, early stopping and the best checkpoint")
    out_dir: str = option("", "output folder; empty: runs/forecast-<data name>")
    plot_series: int = option(6, "series plotted in the report (the first N)")
    data: DataConfig = section(DataConfig)
    model: ModelConfig = section(ModelConfig)
    train: TrainConfig = field(default_factory=_train_defaults, metadata={"help": "how to fit"})
    backtest: BacktestConfig = section(BacktestConfig)

    def __post_init__(self):
        if self.horizon < 1:
            raise ValueError(f"ForecastConfig: expected horizon >= 1, got {self.horizon}")
        if self.season < 0:
            raise ValueError(f"ForecastConfig: expected season >= 0, got {self.season}")
        if self.val_size < 0:
            raise ValueError(f"ForecastConfig: expected val_size >= 0, got {self.val_size}")
        if self.plot_series < 0:
            raise ValueError(f"ForecastConfig: expected plot_series >= 0, got {self.plot_series}")
