"""Training and running classifier networks: batches, the loss step, one network or an ensemble, probabilities.

:func:`train_networks` fits the model a user gets, through
:func:`lstmkit.train.fit` (Lightning: checkpoints, resume, progress bars,
devices). :func:`fit_for_selection` fits the cross-validation's throwaway
networks with the same recipe (seeding, data order, optimiser, schedule,
gradient clipping: the optimiser and schedule come from the same
:class:`~lstmkit.train.TaskModule`) in a plain loop, because Lightning's
per-step bookkeeping about doubles the time of a step of the small networks
the cross-validation trains by the dozen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .config import ClassifyConfig
from .encoding import SequenceEncoder

#: the convolutional branch's filters when the branch is on and model.conv_channels is empty
DEFAULT_CONV_CHANNELS = [32, 64, 32]


def collate(batch):
    from ...data.batching import length_tensor, pad_sequences

    xs, ys = zip(*batch)
    return {"x": pad_sequences(list(xs)), "lengths": length_tensor(xs), "y": torch.tensor(ys, dtype=torch.int64)}


def loader(tensors: list[torch.Tensor], targets: list[int], batch_size: int, shuffle: bool):
    from torch.utils.data import DataLoader

    from ...data.batching import BucketBatchSampler

    pairs = list(zip(tensors, targets))
    return DataLoader(pairs, batch_sampler=BucketBatchSampler([len(t) for t in tensors], batch_size, shuffle=shuffle),
                      collate_fn=collate)


def step(model, batch):
    logits = model(batch["x"], batch["lengths"])
    loss = torch.nn.functional.cross_entropy(logits, batch["y"])
    acc = (logits.argmax(-1) == batch["y"]).float().mean()
    return {"loss": loss, "accuracy": acc.detach(), "error": 1 - acc.detach()}


def network_config(cfg: ClassifyConfig, encoder: SequenceEncoder, num_classes: int) -> dict:
    """The :class:`~.model.ClassifierNet` config of a resolved run configuration."""
    m = cfg.model
    out = dict(kind=encoder.kind, vocab_size=encoder.vocab_size, unk_id=1, input_size=encoder.input_size,
               embedding_dim=m.embedding_dim, embedding_dropout=m.embedding_dropout, word_dropout=m.word_dropout,
               hidden_size=m.hidden_size, num_layers=m.num_layers, bidirectional=m.bidirectional, cell=m.cell, backend=m.backend,
               dropout=m.dropout, pooling=m.pooling, num_classes=num_classes)
    if m.conv_branch == "on":
        if encoder.kind != "series":
            raise ValueError("SequenceClassifier: model.conv_branch on is for series; the data are text")
        channels = list(m.conv_channels) or DEFAULT_CONV_CHANNELS
        out.update(conv_channels=channels, conv_kernels=list(m.conv_kernels)[: len(channels)], frame=encoder.frame)
    return out


@torch.no_grad()
def predict_proba(model: torch.nn.Module, tensors: list[torch.Tensor], batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``(N, K)`` of encoded sequences, in their order (batched by length)."""
    was_training = model.training
    model.eval()
    probs = None
    order = sorted(range(len(tensors)), key=lambda i: len(tensors[i]))
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        batch = collate([(tensors[i], 0) for i in idx])
        p = torch.softmax(model(batch["x"], batch["lengths"]).float(), -1).numpy()
        if probs is None:
            probs = np.zeros((len(tensors), p.shape[1]))
        probs[idx] = p
    model.train(was_training)
    return probs


def _callbacks(snapshot_epochs: list[int], snapshot_tensors: list[torch.Tensor] | None, stop_after: int | None,
               store: dict) -> list:
    """Lightning callbacks: class probabilities of ``snapshot_tensors`` after the given epochs; stop after ``stop_after``."""
    from lightning.pytorch.callbacks import Callback

    class Snapshots(Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            epoch = trainer.current_epoch + 1
            if snapshot_tensors is not None and epoch in snapshot_epochs:
                store[epoch] = predict_proba(pl_module.model, snapshot_tensors)
            if stop_after is not None and epoch >= stop_after:
                trainer.should_stop = True

    return [Snapshots()]


def train_networks(cfg: ClassifyConfig, encoder: SequenceEncoder, x: list[torch.Tensor], y: list[int], num_classes: int,
                   train_cfg, val: tuple[list[torch.Tensor], list[int]] | None = None, out_dir: str | Path | None = None,
                   resume: bool = False, stop_after: int | None = None, snapshots: tuple[list[int], list[torch.Tensor]] | None = None,
                   callbacks: list | None = None, say: Callable[[str], None] | None = None):
    """Fit ``cfg.model.ensemble`` networks (seeds ``seed``, ``seed + 1``, ...) on encoded ``x`` with class indices ``y``.

    Args:
        cfg: the resolved run configuration (no ``auto`` left).
        train_cfg: the resolved :class:`~lstmkit.train.TrainConfig`.
        val: encoded validation data for early stopping (``None``: none).
        out_dir: where :func:`lstmkit.train.fit` keeps logs and resumable
            checkpoints (``member-k`` sub-folders for an ensemble); ``None``:
            nothing is kept.
        stop_after: stop every member after this many epochs (the schedule
            still spans ``train_cfg.epochs``), as the cross-validation measured.
        snapshots: ``(epochs, tensors)``: after each of those epochs, the first
            member's class probabilities of ``tensors`` (for the cross-validation).

    Returns:
        ``(model, results, snapshot_probs)``: a :class:`~.model.ClassifierNet`
        or :class:`~.model.EnsembleClassifier` in eval mode, the members'
        :class:`~lstmkit.train.FitResult`, ``{epoch: (N, K) probabilities}``.
    """
    from ...train import fit, seed_everything
    from ...train.callbacks import resume_path
    from .model import ClassifierNet, EnsembleClassifier

    model_cfg = network_config(cfg, encoder, num_classes)
    if train_cfg.num_threads:
        torch.set_num_threads(train_cfg.num_threads)
    val_loader = loader(val[0], val[1], 256, shuffle=False) if val is not None else None
    members, results, store = [], [], {}
    n = cfg.model.ensemble
    for k in range(n):  # member k: seed + k, its own early stopping and logs
        seed_everything(train_cfg.seed + k, train_cfg.deterministic)
        net = ClassifierNet(model_cfg)
        if n > 1 and say:
            say(f"ensemble member {k + 1} of {n} (seed {train_cfg.seed + k})")
        extra = list(callbacks or [])
        if stop_after is not None or (snapshots is not None and k == 0):
            epochs, tensors = snapshots if (snapshots is not None and k == 0) else ([], None)
            extra += _callbacks(list(epochs), tensors, stop_after, store)
        member_dir = None if out_dir is None else Path(out_dir) / (f"member-{k}" if k else "")
        # a member the interrupted run had not reached (or not checkpointed yet) trains from the start, as it would have
        can_resume = bool(resume and member_dir is not None and resume_path(member_dir / "checkpoints").is_file())
        results.append(fit(net, step, loader(x, y, train_cfg.batch_size, shuffle=True), val_loader, train_cfg,
                           out_dir=member_dir, resume=can_resume, callbacks=extra))
        members.append(net.eval())
    model = members[0] if n == 1 else EnsembleClassifier({"members": n, "member": model_cfg}, members)
    return model.eval(), results, store


def fit_for_selection(cfg: ClassifyConfig, encoder: SequenceEncoder, x: list[torch.Tensor], y: list[int], num_classes: int,
                      train_cfg, epochs: list[int], held_out: list[torch.Tensor]) -> dict[int, np.ndarray]:
    """Train one network (seed ``train_cfg.seed``) and return its class probabilities of ``held_out`` after each of ``epochs``.

    Training stops after the last of ``epochs``; the schedule spans
    ``train_cfg.epochs``, as in the final fit.
    """
    from ...train import seed_everything
    from ...train.module import TaskModule
    from .model import ClassifierNet

    if train_cfg.schedule in ("onecycle", "plateau"):  # schedules that need Lightning's trainer or validation
        seed_everything(train_cfg.seed, train_cfg.deterministic)
        _, _, store = train_networks(cfg, encoder, x, y, num_classes, train_cfg, stop_after=max(epochs),
                                     snapshots=(epochs, held_out))
        return store
    if train_cfg.num_threads:
        torch.set_num_threads(train_cfg.num_threads)
    seed_everything(train_cfg.seed, train_cfg.deterministic)
    net = ClassifierNet(network_config(cfg, encoder, num_classes))
    seed_everything(train_cfg.seed, train_cfg.deterministic)  # as lstmkit.train.fit does before the first batch
    optimizers = TaskModule(net, step, train_cfg).configure_optimizers()
    opt, sched = (optimizers, None) if not isinstance(optimizers, dict) else (optimizers["optimizer"],
                                                                               optimizers["lr_scheduler"]["scheduler"])
    batches = loader(x, y, train_cfg.batch_size, shuffle=True)
    store = {}
    for epoch in range(1, max(epochs) + 1):
        net.train()
        for batch in batches:
            loss = step(net, batch)["loss"]
            opt.zero_grad()
            loss.backward()
            if train_cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), train_cfg.grad_clip)
            opt.step()
        if sched is not None:
            sched.step()
        if epoch in epochs:
            store[epoch] = predict_proba(net, held_out)
    return store
