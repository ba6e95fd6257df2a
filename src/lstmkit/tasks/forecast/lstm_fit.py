"""Train an LSTM set-up on windows streamed from the training part of every series, and forecast with it.

One network (or a few, from consecutive seeds) is trained across all series
at once: a *global* model. Each series is transformed on its own training
values (log and/or standard scaling, :class:`~.dataset.Transform`), each
window is normalised by its own level inside the network, and batches are
drawn across series by :class:`lstmkit.data.window_sampler.WindowSampler`
(memory is the series, never the windows). Early stopping watches the last
origins of each series' training part, which the training windows never
reach; the final fit on a whole training part reuses the number of steps
found there (see :func:`fit_lstm`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...data.series import SeriesSet
from .dataset import Transform
from .model import ForecastEnsemble, ForecastNet, gaussian_nll, net_kwargs, pinball_loss, point_loss

log = logging.getLogger(__name__)

#: fewest batches per pass: tiny data sets still get enough steps between validation checks
MIN_BATCHES = 10
#: fewest training windows left after holding the early-stopping origins out (else no early stopping)
MIN_ES_WINDOWS = 20
#: most batches per pass; larger data sets first grow the batch (up to MAX_GROWTH x train.batch_size)
MAX_BATCHES = 100
MAX_GROWTH = 8
#: the batch grows only while it holds at most this many input steps (windows x window length): 256 windows of
#: 104 steps (two years of weeks, the longest calendar window of the tables). A longer window (two seasons of
#: 288 5-minute steps) grows it less: a pass's cost is its steps, and 8x the windows of 576 steps made one pass
#: of a year of 5-minute data cost 20 s
MAX_BATCH_STEPS = 256 * 104
#: the early-stopping origins are thinned (evenly, the last of each series kept) to about this many input steps
#: each pass reads: a tenth of a year of 5-minute data held 10,512 origins of 576 steps, 6 million steps a pass
MAX_ES_STEPS = 2 ** 20


def batch_plan(n_windows: int, batch_size: int, window: int = 1) -> tuple[int, int]:
    """(batch size, batches per pass) for ``n_windows`` training windows of ``window`` steps (see
    :data:`MAX_BATCHES`, :data:`MAX_BATCH_STEPS`)."""
    batch = batch_size
    while (batch < MAX_GROWTH * batch_size and math.ceil(n_windows / batch) > MAX_BATCHES
           and 2 * batch * window <= MAX_BATCH_STEPS):
        batch *= 2
    return batch, min(MAX_BATCHES, max(MIN_BATCHES, math.ceil(n_windows / batch)))


def thin_es_origins(origins: list[np.ndarray], window: int) -> list[np.ndarray]:
    """Every k-th early-stopping origin of each series, counted back from its last, so that all of them read
    about :data:`MAX_ES_STEPS` input steps (k = 1 below it)."""
    total = sum(len(o) for o in origins) * window
    k = max(1, -(-total // MAX_ES_STEPS))
    return origins if k == 1 else [o[::-1][::k][::-1] for o in origins]


@dataclass
class LSTMSetup:
    """One LSTM candidate: architecture, window and transform (all resolved, no "auto" left)."""

    name: str = "lstm"
    input_size: int = 24
    decoder: str = "direct"
    anchor: str = "seasonal"
    log: bool = False
    scaling: str = "standard"
    hidden_size: int = 32
    num_layers: int = 1
    dropout: float = 0.0
    cell: str = "lstm"
    output: str = "point"
    loss: str = "mae"
    quantiles: list[float] = field(default_factory=lambda: [0.025, 0.1, 0.5, 0.9, 0.975])
    instance_norm: str = "mean"
    norm_window: int = 0
    calendar: bool = True
    backend: str = "auto"
    season: int = 1
    ensemble: int = 1
    deseasonalise: bool = False

    def describe(self) -> str:
        parts = [f"window {self.input_size}", f"{self.decoder} decoder",
                 "seasonal-naive anchor" if self.anchor == "seasonal" else "level anchor",
                 "log" if self.log else ("scaled" if self.scaling != "none" else "raw"),
                 *(["deseasonalised per series"] if self.deseasonalise else []),
                 f"{self.hidden_size} units" + (f" x {self.num_layers} layers" if self.num_layers > 1 else "")]
        if self.ensemble > 1:
            parts.append(f"{self.ensemble} seeds")
        return ", ".join(parts)


def net_config(setup: LSTMSetup, tr: Transform, horizon: int) -> dict:
    """The JSON config a saved forecaster is rebuilt from (see :func:`.model.build`)."""
    s = setup
    return {"horizon": horizon, "input_size": s.input_size, "n_past": tr.n_past, "n_future": tr.n_future,
            "hidden_size": s.hidden_size, "num_layers": s.num_layers, "dropout": s.dropout, "cell": s.cell,
            "output": s.output, "quantiles": list(s.quantiles), "instance_norm": s.instance_norm,
            "decoder": s.decoder, "ensemble": s.ensemble, "backend": s.backend, "norm_window": s.norm_window,
            "anchor": s.anchor, "season": min(s.season, s.input_size)}


class ForecastStep:
    """``step(model, batch)``: the loss of one batch (a class, so data-parallel workers can pickle it)."""

    def __init__(self, output: str, loss: str, quantiles: list[float]):
        self.output, self.loss, self.quantiles = output, loss, list(quantiles)

    def __call__(self, model, batch):
        y, past, fut, target = batch[:4]
        out = model(y, past, fut)
        if self.output == "point":
            value = point_loss(out, target, self.loss)
        elif self.output == "gaussian":
            value = gaussian_nll(out, target)
        else:
            value = pinball_loss(out, target, self.quantiles)
        return {"loss": value}


def _epoch_callback(sampler):
    """Lightning callback: the sampler draws pass ``e``'s batches from ``(seed, e)``, so a resumed run draws the same."""
    from lightning.pytorch.callbacks import Callback

    class SamplerEpoch(Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            sampler.epoch = trainer.current_epoch

    return SamplerEpoch()


@dataclass
class FittedLSTM:
    """A trained LSTM set-up: the networks, the transform they read, and how they were trained."""

    setup: LSTMSetup
    model: ForecastEnsemble
    transform: Transform
    horizon: int
    epochs: int = 0  # passes trained (the best one when validated)
    batches: int = 0  # batches per pass
    batch_size: int = 0
    seconds: float = 0.0
    windows: int = 0
    history: list = field(default_factory=list)  # per member, per epoch
    early_stopped: bool = False  # trained with early stopping on held-out origins

    def net_config(self) -> dict:
        return net_config(self.setup, self.transform, self.horizon)

    def forecast(self, data: SeriesSet, origins: list[np.ndarray]) -> dict:
        """Forecasts in the data's units from ``origins[k]`` of each series (see :func:`predict_windows`)."""
        return predict_windows(self.model, self.transform, data, origins, self.horizon, self.setup.input_size)


def series_arrays(data: SeriesSet, tr: Transform, steps_after: int = 0):
    """Per series: (values, past, future) in the model's units."""
    arrays = [tr.series_arrays(s, steps_after) for s in data.series]
    return [a[0] for a in arrays], [a[1] for a in arrays], [a[2] for a in arrays]


def fit_lstm(setup: LSTMSetup, data: SeriesSet, ends: list[int], horizon: int, train_cfg, *,
             validate: int = 0, epochs: int | None = None, batches: int | None = None,
             out_dir: str | Path | None = None, resume: bool = False, progress=None,
             init: ForecastEnsemble | None = None) -> FittedLSTM:
    """Train ``setup`` on each series' values before ``ends[k]`` (series with no full window are skipped).

    Args:
        setup: the candidate.
        data: the series.
        ends: training part of each series (``values[:ends[k]]``).
        horizon: steps to forecast.
        train_cfg: :class:`lstmkit.train.TrainConfig` (optimiser, batch size, seed, devices, ...).
        validate: hold out the last ``validate`` origins of each training part for early
            stopping on ``train_cfg.early_stopping`` passes without a better validation loss (the
            training windows end before them, the best pass's weights are kept); skipped when
            fewer than :data:`MIN_ES_WINDOWS` training windows would be left; 0: train ``epochs`` passes.
        epochs: passes to train (default ``train_cfg.epochs``; the maximum when validating).
        batches: batches per pass (default: every window once on average, at least :data:`MIN_BATCHES`,
            at most :data:`MAX_BATCHES` after growing the batch; see :func:`batch_plan`).
        out_dir: where the trainer keeps checkpoints and logs (``None``: a temporary folder).
        resume: continue from the checkpoints in ``out_dir``.
        progress: ``callable(str)`` for one line per member.
        init: start each network from the weights of this ensemble's member (a warm start).
    """
    from ...config import replace
    from ...data.window_sampler import FixedWindows, WindowSampler
    from ...train import fit, seed_everything

    L, H = setup.input_size, horizon
    tr = Transform.fit(data, ends, None, setup.season, setup.calendar, log=setup.log, scaling=setup.scaling,
                       deseasonalise=setup.deseasonalise)
    values, past, future = series_arrays(data, tr)
    ends = np.asarray(ends, dtype="int64")
    hi = ends - H  # last origin whose target stays inside the training part
    val_origins = None
    lo = np.full(len(values), L, dtype="int64")
    if validate:
        first_val = np.maximum(hi - validate + 1, L)
        hi_es = np.minimum(hi, first_val - H)
        if int(np.maximum(hi_es - lo + 1, 0).sum()) >= MIN_ES_WINDOWS:
            val_origins = [np.arange(a, b + 1) if b >= a else np.zeros(0, "int64") for a, b in zip(first_val, hi)]
            hi = hi_es
        elif progress:
            progress(f"  {setup.name}: too few windows to hold {validate} origin(s) out for early stopping; "
                     f"{epochs or train_cfg.epochs} passes without it")
    hi = np.where(hi >= lo, hi, lo - 1)  # no window: count 0
    n_windows = int(np.maximum(hi - lo + 1, 0).sum())
    if n_windows == 0:
        raise ValueError(f"forecast: {data.source}: no series has {L + H} values before its forecast origins "
                         f"(input window {L} + horizon {H}); a shorter window is needed")
    batch_size, auto_batches = batch_plan(n_windows, train_cfg.batch_size, L)
    if batches is None:
        batches = auto_batches
    n_epochs = int(epochs or train_cfg.epochs)
    val_loader = None
    if val_origins is not None and sum(len(o) for o in val_origins):
        val_loader = FixedWindows(values, past, future, L, H, thin_es_origins(val_origins, L), batch_size=4096)
    cfg = replace(train_cfg, epochs=n_epochs, batch_size=batch_size)
    if val_loader is None:
        cfg = replace(cfg, early_stopping=0)
    nc = net_config(setup, tr, H)
    step = ForecastStep(setup.output, setup.loss, setup.quantiles)
    members, history = [], []
    best_epochs, seconds = [], 0.0
    for k in range(setup.ensemble):
        seed = train_cfg.seed + k
        seed_everything(seed, train_cfg.deterministic)
        net = ForecastNet(**net_kwargs(nc))
        if init is not None:
            net.load_state_dict(init.members[k].state_dict())
        sampler = WindowSampler(values, past, future, L, H, lo, hi, batch_size, batches, seed=seed)
        member_dir = None if out_dir is None else Path(out_dir) / f"member-{k}"
        can_resume = bool(resume and member_dir is not None
                          and (member_dir / "checkpoints" / "last.safetensors").is_file())
        if progress:
            progress(f"  {setup.name} member {k + 1}/{setup.ensemble}: {n_windows} windows, {batches} batches a pass, "
                     f"seed {seed}" + (" (resuming)" if can_resume else ""))
        result = fit(net, step, sampler, val_loader, replace(cfg, seed=seed), out_dir=member_dir, resume=can_resume,
                     callbacks=[_epoch_callback(sampler)])
        seconds += result.seconds
        history.append(result.history)
        best = result.epochs
        if val_loader is not None and result.history:
            vals = [(r["val_loss"], r["epoch"]) for r in result.history if "val_loss" in r]
            if vals:
                best = min(vals)[1] + 1
        best_epochs.append(best)
        members.append(net.eval())
    model = ForecastEnsemble(members).eval()
    return FittedLSTM(setup, model, tr, H, epochs=int(round(float(np.median(best_epochs)))), batches=batches,
                      batch_size=batch_size, seconds=seconds, windows=n_windows, history=history,
                      early_stopped=val_loader is not None and cfg.early_stopping > 0)


def check_finite_forecasts(point: np.ndarray, data: SeriesSet, series: np.ndarray, who: str) -> None:
    """A forecast that is NaN, infinite or beyond :data:`~lstmkit.data.series.MAX_ABS` is an error naming the series."""
    from ...data.series import MAX_ABS

    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(point) | (np.abs(point) > MAX_ABS)
    if bad.any():
        n = int(np.flatnonzero(bad.any(axis=1))[0]) if point.ndim == 2 else int(np.flatnonzero(bad)[0])
        sid = data.series[int(series[n])].id
        raise FloatingPointError(f"{who}: non-finite forecasts ({int(bad.sum())} values; first for series {sid!r}); "
                                 f"the model or the data overflowed: check the series' scale or use transform none")


def predict_windows(model: ForecastEnsemble, tr: Transform, data: SeriesSet, origins: list[np.ndarray],
                    horizon: int, input_size: int) -> dict:
    """Forecasts in the data's units from the given origins (after the end of a series too).

    Returns ``{"point": (N, H), "quantiles": {q: (N, H)}, "series": (N,), "origin": (N,)}``;
    quantiles are empty for point models.
    """
    import statistics

    import torch

    from ...data.window_sampler import FixedWindows

    steps_after = max([int(np.max(o)) + horizon - len(s) for o, s in zip(origins, data.series) if len(o)] + [0])
    values, past, future = series_arrays(data, tr, max(0, steps_after))
    win = FixedWindows(values, past, future, input_size, horizon, origins)
    first = model.first
    outs = []
    with torch.no_grad():
        for y, p, f, _ in win:
            outs.append(model(y, p, f).double().numpy())
    out = np.concatenate(outs) if outs else np.zeros((0, horizon, first.n_out))
    ids = [data.series[k].id for k in win.series]
    shift_of = {k: tr.phase_shift(data.series[k]) for k in set(win.series)}
    shifts = [shift_of[k] for k in win.series]
    steps = np.arange(horizon)

    def inv(z):
        if not len(z):
            return z
        return np.stack([tr.scaler.inverse(sid, row + tr.season_terms(sid, t + steps, shift))
                         for sid, t, shift, row in zip(ids, win.origin, shifts, z)])

    quantiles: dict[float, np.ndarray] = {}
    if first.output == "point":
        point = inv(out[..., 0])
    elif first.output == "gaussian":
        mean, std = out[..., 0], out[..., 1]
        point = inv(mean)
        for q in first.quantiles:
            quantiles[q] = inv(mean + std * statistics.NormalDist().inv_cdf(q))
    else:
        for j, q in enumerate(first.quantiles):
            quantiles[q] = inv(out[..., j])
        point = quantiles[min(first.quantiles, key=lambda q: abs(q - 0.5))]
    check_finite_forecasts(point, data, win.series, "Forecaster")
    flat = _flat_before(data, win.series, win.origin)
    if flat.any():
        held = np.array([data.series[int(k)].values[0] for k in np.asarray(win.series)[flat]], dtype="float64")
        for arr in (point, *quantiles.values()):
            arr[flat] = held[:, None]
    return {"point": point, "quantiles": quantiles, "series": win.series, "origin": win.origin}


def _flat_before(data: SeriesSet, series: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Rows whose series held one value all the way to the origin (an item that never sold, a sensor stuck at
    one reading): the network, which reads each window less its level, has nothing to go on there and
    forecast its own bias (0.007 for a series of zeros, 200 % sMAPE against the classical models' exact 0);
    those rows forecast the value held, as every classical forecaster does."""
    first_change = {}
    for k in set(int(k) for k in series):
        v = data.series[k].values
        moved = np.flatnonzero(v != v[0]) if len(v) else np.array([], dtype=int)
        first_change[k] = int(moved[0]) if len(moved) else len(v)
    return np.array([1 <= int(o) <= first_change[int(k)] for k, o in zip(series, origin)], dtype=bool)
