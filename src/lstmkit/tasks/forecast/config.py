"""Configuration of a forecaster: data, the LSTM set-ups, training, model choice, backtest.

Every field has a default and a help line; ``lstmkit forecast train --help``
lists them all, ``--config run.yaml`` sets them from YAML with the same nesting,
``--model.hidden_size 64`` overrides one, and ``lstmkit.Forecaster(hidden_size=64)``
takes the same names. Fields whose default is ``0`` or ``auto`` are derived
from the data when the forecaster is fitted (season, input window, transform,
validation windows, ensemble size), and the report says what was chosen and why.
None of the defaults was picked on a particular series.
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
    time: str = option("", "time column (dates, or integer steps such as years); empty: the one column of dates, "
                                "else row order")
    id: str = option("", "series-id column for many series in long layout ('store,item': several columns that "
                         "together name each series); empty: one series, or the one column found to split repeated "
                         "times")
    layout: str = option("long", "long (one row per id and time) or wide (one column per series)")
    past_covariates: list[str] = option([], "columns known only up to the forecast origin (comma-separated)")
    future_covariates: list[str] = option([], "columns known in advance, for the forecast horizon too (comma-separated)")
    freq: str = option("", "pandas frequency (MS, D, h, ...) or a word (monthly, daily, hourly, ...), opening "
                           "hours ('30min 09:30-16:00 Mon-Fri') or integer step; empty: inferred. Times between its "
                           "points (a log of events) are grouped into its periods (see aggregate)")
    aggregate: str = option("mean", "where freq is given and times fall between its points: how each period's values "
                                    "become one: mean, sum (counts, amounts), last, max or min")
    missing: str = option("interpolate", "missing targets: interpolate (runs up to max_gap) or error")
    max_gap: int = option(12, "longest run of missing values that is interpolated")
    outliers: str = option("keep", "values far off the series' course (more than 5 robust deviations from a seasonal "
                                   "prediction made from the values before them, and not the start of a lasting "
                                   "shift): keep, or replace them in the history the models read (the peers and the "
                                   "scores read the values as given; for data known to carry glitches: on M3 the "
                                   "values it replaces are more often real turns, benchmarks/RESULTS_forecast_long.md)")
    transform: str = option("auto", "auto (log when every value is positive), log or none")
    scaling: str = option("auto", "per-series scaling after the transform: auto (none after a log transform, "
                                  "standard otherwise), standard, minmax, mean or none")

    def __post_init__(self):
        if self.layout not in ("long", "wide"):
            raise ValueError(f"DataConfig: expected layout 'long' or 'wide', got {self.layout!r}")
        if self.missing not in ("interpolate", "error"):
            raise ValueError(f"DataConfig: expected missing 'interpolate' or 'error', got {self.missing!r}")
        if self.aggregate not in ("mean", "sum", "last", "max", "min"):  # data.series.AGGREGATES (not imported: numpy)
            raise ValueError(f"DataConfig: expected aggregate mean, sum, last, max or min, got {self.aggregate!r}")
        if self.max_gap < 0:
            raise ValueError(f"DataConfig: expected max_gap >= 0, got {self.max_gap}")
        if self.outliers not in ("replace", "keep"):
            raise ValueError(f"DataConfig: expected outliers 'replace' or 'keep', got {self.outliers!r}")
        if self.transform not in ("auto", "log", "none"):
            raise ValueError(f"DataConfig: expected transform 'auto', 'log' or 'none', got {self.transform!r}")
        if self.scaling not in ("auto", "standard", "minmax", "mean", "none"):
            raise ValueError(f"DataConfig: expected scaling auto, standard, minmax, mean or none, got {self.scaling!r}")
        if self.layout == "wide" and (self.id or self.past_covariates or self.future_covariates):
            raise ValueError("DataConfig: the wide layout takes no id column and no covariates")


@dataclass
class ModelConfig:
    """The LSTM forecaster."""

    input_size: int = option(0, "input window: past steps the LSTM reads at each origin; 0: from the season and the "
                                "history (two seasons where the history allows, at least one)")
    hidden_size: int = option(0, "LSTM units per layer; 0: auto (32, or 64 when there are more than 20,000 "
                                 "training windows: a global model over many series has the data for more units)")
    num_layers: int = option(1, "stacked LSTM layers")
    dropout: float = option(0.0, "dropout between layers and before the head")
    cell: str = option("lstm", "LSTM cell: lstm, peephole or layernorm")
    decoder: str = option("direct", "direct (one head emits the whole horizon) or autoregressive (one step fed back)")
    output: str = option("point", "point, gaussian (mean and std) or quantile")
    loss: str = option("mae", "point loss: mae or mse (gaussian uses NLL, quantile the pinball loss)")
    quantiles: list[float] = option([0.025, 0.1, 0.5, 0.9, 0.975],
                                    "quantile levels predicted (quantile output, which adds the median) or "
                                    "reported (point and gaussian output; empty for no intervals: quantiles=[], "
                                    "--model.quantiles ''), in any order")
    intervals: str = option("model", "where a chosen statistical model's prediction band comes from: model (its own "
                                     "intervals, statsforecast's level), validation (the chosen candidate's errors on "
                                     "the validation origins, as every other candidate's band) or wider (the wider "
                                     "of the two); benchmarks/RESULTS_intervals.md compares them")
    instance_norm: str = option("mean", "reversible instance normalisation of each window: mean, meanstd or none")
    norm_window: int = option(0, "instance normalisation statistics over the last N input steps (0: all of them)")
    calendar: bool = option(True, "add season-phase and calendar features as known-future inputs")
    deseasonalise: str = option("auto", "take each series' own seasonal indices (classical decomposition of its "
                                        "training part, when its season is significant) out of the values the LSTM "
                                        "reads and add them back to its forecasts, as ES-RNN's per-series "
                                        "seasonality: auto (the lstm-level set-up), all (both set-ups) or none")
    ensemble: int = option(0, "networks trained from consecutive seeds and averaged; 0: auto (3, or 2 when there "
                              "are more than 20,000 training windows, whose networks are larger and slower)")
    backend: str = option("auto", "recurrence engine for the LSTM: auto (the fastest measured for the configuration), "
                                  "cpu, torch, reference, triton")

    def __post_init__(self):
        from lstmkit.backend_names import check_backend_name

        check_backend_name("ModelConfig", self.backend)
        if self.hidden_size < 0 or self.num_layers < 1:
            raise ValueError(f"ModelConfig: expected hidden_size >= 0 (0: auto) and num_layers >= 1, got "
                             f"{self.hidden_size}, {self.num_layers}")
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
        try:
            levels = sorted({float(q) for q in self.quantiles})
        except (TypeError, ValueError):
            levels = [-1.0]
        if any(not 0 < q < 1 for q in levels):
            raise ValueError(f"ModelConfig: expected quantile levels strictly between 0 and 1 (none: no intervals), "
                             f"got {self.quantiles}")
        if self.output == "quantile" and 0.5 not in levels:  # the point forecast is the median the head learns
            levels = sorted([*levels, 0.5])
        self.quantiles = levels  # in any order, repeated levels once
        if self.intervals not in ("model", "validation", "wider"):
            raise ValueError(f"ModelConfig: expected intervals model, validation or wider, got {self.intervals!r}")
        if self.instance_norm not in ("mean", "meanstd", "none"):
            raise ValueError(f"ModelConfig: expected instance_norm mean, meanstd or none, got {self.instance_norm!r}")
        if self.input_size < 0:
            raise ValueError(f"ModelConfig: expected input_size >= 0 (0: auto), got {self.input_size}")
        if self.norm_window < 0 or (self.input_size and self.norm_window > self.input_size):
            raise ValueError(f"ModelConfig: expected 0 <= norm_window <= input_size, got {self.norm_window}")
        if self.ensemble < 0:
            raise ValueError(f"ModelConfig: expected ensemble >= 0 (0: auto), got {self.ensemble}")
        if self.deseasonalise not in ("auto", "all", "none"):
            raise ValueError(f"ModelConfig: expected deseasonalise auto, all or none, got {self.deseasonalise!r}")


#: every candidate the inner validation can choose
CANDIDATES = ("lstm", "lstm-level", "ets", "arima", "theta", "seasonal_naive", "naive", "combination")
PEERS = ("ets", "arima", "theta")
METRICS = ("mase", "smape", "mae")


@dataclass
class SelectConfig:
    """Model choice by rolling-origin validation inside the training part, and the peers every table shows."""

    model: str = option("auto", "auto: the candidate with the best validation score on the training part; or one "
                                "candidate forced by name")
    candidates: list[str] = option(list(CANDIDATES), "candidates of the automatic choice: lstm (seasonal-naive "
                                   "anchor), lstm-level (level anchor, deseasonalised), ets, arima, theta, "
                                   "seasonal_naive, naive, combination (the mean of the best LSTM set-up and "
                                   "every one of ets/arima/theta that runs)")
    rule: str = option("best", "how the automatic choice uses the validation: best (the candidate with the lowest "
                               "score) or pool (the mean of every candidate within one standard error of the best "
                               "on the paired per-origin errors); benchmarks/RESULTS_selection.md compares them")
    windows: int = option(0, "validation origins per series at the end of the training part; 0: auto "
                             "(horizon or season, whichever is longer, at most a fifth of the history; one for many series)")
    metric: str = option("mase", "validation score: mase, smape or mae (mean over series and origins)")
    peers: list[str] = option(list(PEERS), "statsforecast peers computed beside the LSTM in every backtest table "
                                           "(ets, arima, theta); empty: none")
    max_arima_series: int = option(1000, "AutoARIMA (a candidate and a peer) only when there are at most this many "
                                         "series: its search costs up to seconds a series")
    jobs: int = option(1, "worker processes for the classical models when there are many series")

    def __post_init__(self):
        if self.model != "auto" and self.model not in CANDIDATES:
            raise ValueError(f"SelectConfig: expected model 'auto' or one of {CANDIDATES}, got {self.model!r}")
        bad = [c for c in self.candidates if c not in CANDIDATES]
        if bad or not self.candidates:
            raise ValueError(f"SelectConfig: expected candidates among {CANDIDATES}, got {self.candidates}")
        if self.model == "combination" or (self.model == "auto" and "combination" in self.candidates):
            nets = [c for c in self.candidates if c in ("lstm", "lstm-level")]
            stats = [c for c in self.candidates if c in PEERS]
            if not nets or not stats:
                raise ValueError(f"SelectConfig: the combination is the mean of the best LSTM set-up and the "
                                 f"statistical models among the candidates, so they need lstm or lstm-level and one "
                                 f"of ets, arima, theta beside it; got candidates {self.candidates}")
        bad = [c for c in self.peers if c not in PEERS]
        if bad:
            raise ValueError(f"SelectConfig: expected peers among {PEERS}, got {self.peers}")
        if self.rule not in ("best", "pool"):
            raise ValueError(f"SelectConfig: expected rule 'best' or 'pool', got {self.rule!r}")
        if self.windows < 0:
            raise ValueError(f"SelectConfig: expected windows >= 0 (0: auto), got {self.windows}")
        if self.metric not in METRICS:
            raise ValueError(f"SelectConfig: expected metric in {METRICS}, got {self.metric!r}")
        if self.max_arima_series < 0 or self.jobs < 1:
            raise ValueError(f"SelectConfig: expected max_arima_series >= 0 and jobs >= 1, got "
                             f"{self.max_arima_series}, {self.jobs}")


@dataclass
class BacktestConfig:
    """Rolling-origin evaluation."""

    start: str = option("auto", "first forecast origin: a date (1959-01), a time value, -N (the last N steps), a "
                                "fraction (0.8: after the first 80% of each series), "
                                "or auto (the last two seasons, or 20% of the series, and at least two horizons; at most a third of it, "
                                "at least one horizon)")
    stride: int = option(0, "steps between forecast origins (0: auto: 1, or wider, up to the horizon, where a series "
                            "would have more than 100 origins)")
    refit: int = option(0, "refit (model choice included) every N origins on all data before them (0: once, "
                           "before the first origin)")

    def __post_init__(self):
        if self.stride < 0:
            raise ValueError(f"BacktestConfig: expected stride >= 0 (0: auto), got {self.stride}")
        if self.refit < 0:
            raise ValueError(f"BacktestConfig: expected refit >= 0, got {self.refit}")


def _train_defaults() -> TrainConfig:
    return TrainConfig(epochs=40, batch_size=32, lr=3e-3, schedule="cosine", grad_clip=1.0, num_threads=1,
                       checkpoint_every=10, early_stopping=5)


@dataclass
class ForecastConfig:
    """A forecasting run."""

    horizon: int = option(6, "steps to forecast from each origin")
    season: int = option(0, "season length (12 for monthly data with a yearly cycle); 0: from the frequency, else "
                            "detected in the data; 1: none")
    out_dir: str = option("", "output folder of the command line; empty: runs/forecast-<data name>")
    plot_series: int = option(6, "series plotted in the report (the first N)")
    data: DataConfig = section(DataConfig)
    model: ModelConfig = section(ModelConfig)
    train: TrainConfig = field(default_factory=_train_defaults, metadata={
        "help": "how to fit each network (epochs: the most passes over the sampled windows, each every window once "
                "on average, at least 10 and at most 100 batches; batch_size grows up to 8x for large data sets; "
                "early_stopping: passes without a better loss on origins held out at the end of the training part)"})
    select: SelectConfig = section(SelectConfig)
    backtest: BacktestConfig = section(BacktestConfig)

    def __post_init__(self):
        if self.horizon < 1:
            raise ValueError(f"ForecastConfig: expected horizon >= 1, got {self.horizon}")
        if self.season < 0:
            raise ValueError(f"ForecastConfig: expected season >= 0, got {self.season}")
        if self.plot_series < 0:
            raise ValueError(f"ForecastConfig: expected plot_series >= 0, got {self.plot_series}")
