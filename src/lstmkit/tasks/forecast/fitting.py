"""Fit an ensemble of forecasters on the windows before given ends, with the shared trainer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ...data.series import SeriesSet
from .config import ForecastConfig
from .dataset import Transform, training_origins, windows_for
from .model import ForecastEnsemble, ForecastNet, gaussian_nll, net_kwargs, pinball_loss, point_loss

log = logging.getLogger(__name__)


@dataclass
class FitInfo:
    seconds: float = 0.0
    windows: int = 0
    val_windows: int = 0
    epochs: list[int] = field(default_factory=list)
    history: list[list[dict]] = field(default_factory=list)  # per member, per epoch


def net_config(cfg: ForecastConfig, tr: Transform) -> dict:
    m = cfg.model
    return {"horizon": cfg.horizon, "input_size": m.input_size, "n_past": tr.n_past, "n_future": tr.n_future,
            "hidden_size": m.hidden_size, "num_layers": m.num_layers, "dropout": m.dropout, "cell": m.cell,
            "output": m.output, "quantiles": list(m.quantiles), "instance_norm": m.instance_norm,
            "decoder": m.decoder, "ensemble": m.ensemble, "backend": m.backend,
            "norm_window": m.norm_window}


def make_step(net_cfg: dict, loss: str):
    def step(model, batch):
        y, past, fut, target = batch
        out = model(y, past, fut)
        if net_cfg["output"] == "point":
            value = point_loss(out, target, loss)
        elif net_cfg["output"] == "gaussian":
            value = gaussian_nll(out, target)
        else:
            value = pinball_loss(out, target, net_cfg["quantiles"])
        metrics = {"loss": value}
        if net_cfg["output"] != "point":
            metrics["mae"] = (model.point(out) - target).abs().mean()
        return metrics

    return step


def check_lengths(data: SeriesSet, ends: list[int], cfg: ForecastConfig) -> None:
    need = cfg.model.input_size + cfg.horizon
    for s, e in zip(data.series, ends):
        if e < need:
            raise ValueError(
                f"forecast: {data.source}: series {s.id!r} has {e} training values, fewer than "
                f"model.input_size + horizon = {cfg.model.input_size} + {cfg.horizon} = {need}; "
                "the horizon (or input window) is too long for this history: shorten them or give more data")


def fit_ensemble(cfg: ForecastConfig, data: SeriesSet, ends: list[int], out_dir: Path, resume: bool = False,
                 say: Callable[[str], None] = print, init: ForecastEnsemble | None = None,
                 train_cfg=None) -> tuple[ForecastEnsemble, Transform, FitInfo]:
    """Train ``cfg.model.ensemble`` members on windows whose targets end before ``ends[k]``.

    ``init`` starts each member from the weights of a previous ensemble (a
    finetune); ``train_cfg`` replaces ``cfg.train``.

    Each member ``k`` is seeded with ``cfg.train.seed + k`` and trained by
    :func:`lstmkit.train.fit` in ``out_dir/member-k`` (its checkpoints and
    logs); with ``resume`` a member continues from its last checkpoint.
    """
    from ...config import replace
    from ...train import fit, seed_everything
    from ...train.batches import TensorBatches

    check_lengths(data, ends, cfg)
    tr = Transform.fit(data, ends, cfg.data, cfg.season, cfg.model.calendar)
    origins = training_origins(data, ends, cfg.model.input_size, cfg.horizon)
    val_origins = None
    if cfg.val_size:
        val_origins = [o[-cfg.val_size:] for o in origins]
        origins = [o[:-cfg.val_size] for o in origins]
    win = windows_for(data, tr, origins, cfg.model.input_size, cfg.horizon)
    if len(win) == 0:
        raise ValueError(f"forecast: {data.source}: no training windows: each series needs more than "
                         f"input_size + horizon + val_size values before the first forecast origin")
    nc = net_config(cfg, tr)
    info = FitInfo(windows=len(win))
    train_tensors = win.tensors()
    val_loader = None
    if val_origins is not None:
        vwin = windows_for(data, tr, val_origins, cfg.model.input_size, cfg.horizon)
        info.val_windows = len(vwin)
        val_loader = TensorBatches(*vwin.tensors(), batch_size=max(1, len(vwin)), shuffle=False)
    step = make_step(nc, cfg.model.loss)
    members = []
    for k in range(cfg.model.ensemble):
        seed = cfg.train.seed + k
        seed_everything(seed, cfg.train.deterministic)
        net = ForecastNet(**net_kwargs(nc))
        if init is not None:
            net.load_state_dict(init.members[k].state_dict())
        loader = TensorBatches(*train_tensors, batch_size=cfg.train.batch_size, shuffle=True, seed=seed)
        member_dir = out_dir / f"member-{k}"
        can_resume = resume and (member_dir / "checkpoints" / "last.safetensors").is_file()
        say(f"  member {k + 1}/{cfg.model.ensemble}: {len(win)} windows, seed {seed}"
            + (" (resuming)" if can_resume else ""))
        result = fit(net, step, loader, val_loader, replace(train_cfg or cfg.train, seed=seed), out_dir=member_dir,
                     resume=can_resume)
        info.seconds += result.seconds
        info.epochs.append(result.epochs)
        info.history.append(result.history)
        members.append(net.eval())
    return ForecastEnsemble(members).eval(), tr, info


def predict_windows(model: ForecastEnsemble, tr: Transform, data: SeriesSet, origins: list[np.ndarray],
                    horizon: int, input_size: int, steps_after: int = 0) -> dict:
    """Forecasts in the data's units at the given origins.

    Returns ``{"point": (N, H), "quantiles": {q: (N, H)}, "series": (N,), "origin": (N,)}``;
    quantiles are empty for point models.
    """
    import statistics

    import torch

    win = windows_for(data, tr, origins, input_size, horizon, steps_after=steps_after)
    first = model.first
    y, past, fut, _ = win.tensors()
    with torch.no_grad():
        out = model(y, past, fut).double().numpy() if len(win) else np.zeros((0, horizon, first.n_out))
    ids = [data.series[k].id for k in win.series]
    inv = lambda z: np.stack([tr.scaler.inverse(sid, row) for sid, row in zip(ids, z)]) if len(z) else z  # noqa: E731
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
    return {"point": point, "quantiles": quantiles, "series": win.series, "origin": win.origin}
