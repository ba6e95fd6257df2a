"""``fit``: one call that trains any model with Lightning, the same way for every task.

Example::

    from lstmkit.train import TrainConfig, fit

    def step(model, batch):
        x, y = batch
        return {"loss": torch.nn.functional.mse_loss(model(x), y)}

    result = fit(model, step, train_loader, val_loader, TrainConfig(epochs=20), out_dir="runs/demo")
    result.history[-1]["train_loss"], result.best_path

What it does: seeds (``config.seed``), progress bar, gradient clipping, the
learning-rate schedule, early stopping on ``config.monitor``, a CSV log of one
row per epoch (and TensorBoard if asked) under ``out_dir/logs``, a resumable
checkpoint ``out_dir/checkpoints/last.safetensors`` every ``checkpoint_every``
epochs (``resume=True`` continues from it, exactly: see
:class:`~lstmkit.train.callbacks.ResumePoint`), ``best.safetensors`` when
there is validation data, whose weights are put back into ``model`` at the
end, and any number of devices or nodes through Lightning's strategies (DDP).
A non-finite loss, gradient or weight stops the run with
:class:`~lstmkit.train.TrainingDiverged` before anything non-finite is saved.
On a CPU the run treats values below float32's normal range (1.2e-38) as
zero (``config.flush_denormals``, see :func:`denormals_flushed`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .callbacks import BestCheckpoint, EpochLog, ResumePoint, SafetensorsCheckpointIO, resume_path
from .config import TrainConfig
from .diverged import TrainingDiverged
from .module import StepFn, TaskModule
from .seed import seed_everything
from .state_file import read_state

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    """What :func:`fit` reports back."""

    epochs: int  # epochs completed (including those before a resume)
    seconds: float  # training time of the whole run, across resumes (work redone after a kill counted once)
    history: list[dict[str, float]] = field(default_factory=list)  # per-epoch logged metrics, the whole run
    best_score: float | None = None  # best value of config.monitor, if validated
    best_path: str | None = None  # best.safetensors, if validated
    last_path: str | None = None  # last.safetensors (the resume point)
    resumed_from: str | None = None
    call_seconds: float = 0.0  # wall time of this call alone


@contextmanager
def denormals_flushed(on: bool = True, build: bool = True):
    """Within the block, CPU arithmetic treats denormal floats (below 1.2e-38
    in float32) as zero and flushes such results to zero (x86 FTZ/DAZ).

    Gradients that fade back through a long sequence end up denormal, and
    every product that reads them then runs on the processor's slow path: a
    forecaster's training step on windows of 576 steps (5-minute data with a
    daily season, B=32, H=32, one thread) took 52 ms with them and 12 ms
    flushed, on torch.nn's kernels and on lstmkit's alike, and its whole
    LSTM fit went from 85 to 38 s (``benchmarks/RESULTS_forecast_long.md``).
    A flushed value was below any learning rate's reach: the weights differ
    from an unflushed run only by what those values would have added.

    The setting is made on every thread of torch's CPU team through lstmkit's
    compiled engine and put back as it was at the end; where the engine is not
    built, ``torch.set_flush_denormal`` sets it on the calling thread (the one
    that runs single-threaded work) and turns it off at the end. With
    ``build=False`` the engine is used only if it is already loaded or built:
    a run whose arithmetic is on a GPU (:func:`fit` says so) must not spend a
    first-time compile on the CPU's flags.
    """
    if not on:
        yield
        return
    from ..kernels.cpu._build import load_extension

    ext = load_extension(build=build)
    if ext is not None and hasattr(ext, "flush_denormals"):
        before = ext.flush_denormals(True)
        try:
            yield
        finally:
            ext.flush_denormals(before)
        return
    set_here = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if set_here:
            torch.set_flush_denormal(False)


def _trains_on_cpu(config: TrainConfig) -> bool:
    """Whether Lightning will run this training on the CPU (``accelerator``
    ``cpu``, or ``auto`` with no GPU), where flushing denormals pays."""
    acc = str(config.accelerator).lower()
    return acc == "cpu" or (acc == "auto" and not torch.cuda.is_available()
                            and not torch.backends.mps.is_available())


def _quiet_lightning() -> None:
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda",
                 "lightning.fabric.utilities.seed", "lightning.pytorch.trainer.connectors.signal_connector"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not empty.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
    warnings.filterwarnings("ignore", message=".*Experiment logs directory .* exists and is not empty.*")
    warnings.filterwarnings("ignore", message=".*GPU available but not used.*")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=".*`validation_step` but have no `val_dataloader`.*")
    warnings.filterwarnings("ignore", message=".*which may be a bottleneck.*")


def fit(
    model: torch.nn.Module,
    step: StepFn,
    train_loader,
    val_loader=None,
    config: TrainConfig | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    val_step: StepFn | None = None,
    callbacks: list | None = None,
) -> FitResult:
    """Train ``model`` with ``step`` (see :class:`TaskModule`) and return a :class:`FitResult`.

    ``out_dir=None`` (the default) writes nothing that outlives the call:
    checkpoints go to a temporary folder that is removed at the end and no
    logs are kept (``history`` still holds every epoch's metrics). With an
    ``out_dir``, the CSV log and the resumable checkpoints are kept there.

    Seed before building the model (:func:`seed_everything`) for repeatable
    initial weights; ``fit`` seeds again before the first batch.
    ``resume=True`` continues from ``out_dir/checkpoints/last.safetensors``
    (weights, optimiser, schedule, epoch, early-stopping state, random
    generators, the loaders' data order, the epoch log and the time so far)
    and raises ``FileNotFoundError`` if there is none. Built the same way,
    a resumed run ends with the same weights as an uninterrupted one (bit
    for bit on CPU), whenever it was killed.

    Raises :class:`~lstmkit.train.TrainingDiverged` (a ``RuntimeError``)
    when the loss, a gradient or a weight stops being finite; its message
    is one line (where, which value, what became of the checkpoints), and
    ``last.safetensors`` keeps the last good state. ``model`` is then left
    as it was at the failing step: do not use it.
    """
    config = config or TrainConfig()
    if out_dir is None:
        if resume:
            raise ValueError("fit: resume=True needs the out_dir of the interrupted run")
        import tempfile

        with tempfile.TemporaryDirectory(prefix="lstmkit-fit-") as tmp:
            result = _fit(model, step, train_loader, val_loader, config, Path(tmp), False, val_step, callbacks,
                          keep_files=False)
        result.best_path = result.last_path = None
        return result
    return _fit(model, step, train_loader, val_loader, config, Path(out_dir), resume, val_step, callbacks,
                keep_files=True)


def _fit(model, step, train_loader, val_loader, config: TrainConfig, out_dir: Path, resume: bool, val_step,
         callbacks, keep_files: bool) -> FitResult:
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping

    _quiet_lightning()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    ckpt_dir = out_dir / "checkpoints"
    ckpt_path = None
    if resume:
        ckpt_path = resume_path(ckpt_dir)
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"fit: resume asked for, but there is no checkpoint at {ckpt_path}")
    seed_everything(config.seed, config.deterministic)

    validate = val_loader is not None
    if not validate and config.schedule == "plateau" and config.monitor != "train_loss":
        # no validation data to watch (a short series, a run without a dev part): Lightning would stop at the first
        # epoch's end asking for a metric nobody logs, so the plateau follows the training loss instead
        log.info("fit: no validation data: the plateau schedule follows train_loss instead of %s", config.monitor)
        config = dataclasses.replace(config, monitor="train_loss")
    monitor = config.monitor if validate else None
    checkpoint = None
    if validate:
        checkpoint = BestCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode="min", save_top_k=1,
                                    save_last=False, enable_version_counter=False)
    resume_point = ResumePoint(ckpt_dir, config.checkpoint_every, loaders={"train": train_loader, "val": val_loader})
    history = EpochLog(out_dir / "logs" / "csv" / "metrics.csv" if keep_files else None, clock=resume_point.seconds)
    cbs: list = [history, *(callbacks or [])] + ([checkpoint] if checkpoint else [])
    if validate and config.early_stopping:
        cbs.append(EarlyStopping(monitor=config.monitor, patience=config.early_stopping, mode="min"))
    cbs.append(resume_point)  # last, after every state it records is updated
    loggers: list = []
    if config.tensorboard and keep_files:
        import importlib.util

        from lightning.pytorch.loggers import TensorBoardLogger

        if not (importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX")):
            raise ValueError("TrainConfig: tensorboard=true needs the tensorboard package (pip install tensorboard); "
                             "the CSV logs under logs/csv are always written")

        loggers.append(TensorBoardLogger(save_dir=str(out_dir), name="logs", version="tensorboard"))

    trainer = L.Trainer(
        max_epochs=config.epochs,
        accelerator=config.accelerator,
        devices=config.lightning_devices(),
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=config.precision,
        gradient_clip_val=config.grad_clip or None,
        deterministic="warn" if config.deterministic else False,  # warn, not fail, where an op has no deterministic kernel
        callbacks=cbs,
        logger=loggers or False,
        plugins=[SafetensorsCheckpointIO()],
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        enable_checkpointing=True,  # ResumePoint (and BestCheckpoint) are the checkpoint callbacks
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        default_root_dir=str(out_dir),
    )
    module = TaskModule(model, step, config, val_step=val_step)
    t0 = time.perf_counter()
    resume_point.start_clock()
    try:
        with denormals_flushed(config.flush_denormals, build=_trains_on_cpu(config)):
            trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader,
                        ckpt_path=str(ckpt_path) if ckpt_path else None, weights_only=True)
    except TrainingDiverged as e:
        raise _with_checkpoint_note(e, resume_point, config, keep_files) from None
    call_seconds = time.perf_counter() - t0

    best_path = (checkpoint.best_model_path or None) if checkpoint else None
    best_score = float(checkpoint.best_model_score) if checkpoint and checkpoint.best_model_score is not None else None
    if validate and best_path and Path(best_path).is_file():
        state = read_state(best_path)["state_dict"]
        module.load_state_dict(state)
        log.info("fit: restored the best weights (%s = %.6g) from %s", config.monitor, best_score or float("nan"), best_path)
    last = resume_path(ckpt_dir)
    return FitResult(
        epochs=trainer.current_epoch,
        seconds=resume_point.seconds_before + call_seconds,
        call_seconds=call_seconds,
        history=history.rows,
        best_score=best_score,
        best_path=best_path,
        last_path=str(last) if last.is_file() else None,
        resumed_from=str(ckpt_path) if ckpt_path else None,
    )


def _with_checkpoint_note(e: TrainingDiverged, resume_point: ResumePoint, config: TrainConfig,
                          keep_files: bool) -> TrainingDiverged:
    """``e`` with what became of the checkpoints and what to try, still one line."""
    hint = (f"lower train.lr (now {config.lr:g})"
            + (f" or train.grad_clip (now {config.grad_clip:g})" if config.grad_clip else ", set train.grad_clip")
            + ", or look for extreme values in the data")
    path = resume_point.path
    if not keep_files:
        return e.extended(f"nothing was saved (no out_dir); {hint}")
    if path.is_file() and resume_point.saved_epochs:
        return e.extended(f"the last good checkpoint (after epoch {resume_point.saved_epochs}) is kept at {path}; {hint}",
                          checkpoint=str(path))
    return e.extended(f"no checkpoint was written before it; {hint}")
