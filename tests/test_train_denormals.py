"""Training flushes denormal floats to zero (``TrainConfig.flush_denormals``,
``lstmkit.train.denormals_flushed``): gradients fading back through long
sequences turn denormal and put every product on the processor's slow path."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.kernels.cpu._build import load_extension
from lstmkit.train import TrainConfig, denormals_flushed, fit

TINY = 1e-39  # below float32's smallest normal number, 1.18e-38


def _flushed_share(n: int = 1 << 20) -> float:
    """Share of a product on denormals that came out zero (every thread of torch's team takes a part)."""
    x = torch.full((n,), TINY)
    return float(((x * 1.0) == 0).float().mean())


def test_outside_training_denormals_are_kept():
    assert _flushed_share() == 0.0
    assert torch.tensor(TINY).item() != 0.0


@pytest.mark.parametrize("threads", [1, 2])
def test_the_block_flushes_on_every_thread_and_puts_the_setting_back(threads):
    if threads > 1 and load_extension() is None:
        pytest.skip("the compiled engine sets the other threads; it is not built here")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with denormals_flushed():
            assert _flushed_share() == 1.0  # every thread's part, not the calling thread's alone
        assert _flushed_share() == 0.0
        with denormals_flushed(False):
            assert _flushed_share() == 0.0
    finally:
        torch.set_num_threads(before)


def test_a_setting_made_before_the_block_survives_it():
    ext = load_extension()
    if ext is None:
        pytest.skip("reading the previous setting needs the compiled engine")
    assert ext.flush_denormals(True) is False
    try:
        with denormals_flushed():
            assert _flushed_share() == 1.0
        assert _flushed_share() == 1.0  # still the user's setting
    finally:
        ext.flush_denormals(False)
    assert _flushed_share() == 0.0


@pytest.mark.parametrize("flush", [True, False])
def test_fit_trains_flushed_unless_told_not_to(flush):
    seen = []

    def step(model, batch):
        x, y = batch
        seen.append(bool((torch.tensor([TINY]) * 1.0 == 0).item()))
        return {"loss": torch.nn.functional.mse_loss(model(x), y)}

    torch.manual_seed(0)
    data = TensorDataset(torch.randn(32, 3), torch.randn(32, 1))
    fit(torch.nn.Linear(3, 1), step, DataLoader(data, batch_size=16), None,
        TrainConfig(epochs=2, batch_size=16, progress_bar=False, flush_denormals=flush))
    assert len(seen) == 4 and all(s == flush for s in seen)
    assert _flushed_share() == 0.0  # put back after the run


def test_a_run_off_the_cpu_does_not_build_the_engine_for_the_flags(tmp_path):
    """``build=False`` (what :func:`fit` passes when Lightning trains on a GPU):
    with nothing in the cache, the block flushes the calling thread through
    torch and compiles nothing; the cache folder stays empty."""
    import os
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from lstmkit.kernels.cpu import _build\n"
        "from lstmkit.train import denormals_flushed\n"
        "torch.set_num_threads(1)\n"
        "assert not _build._built()\n"
        "with denormals_flushed(build=False):\n"
        "    assert (torch.tensor([1e-39]) * 1.0).item() == 0.0\n"
        "assert (torch.tensor([1e-39]) * 1.0).item() != 0.0\n"
        "assert _build._module is None and not _build._tried\n"
    )
    env = dict(os.environ, LSTMKIT_CACHE=str(tmp_path))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert not any(tmp_path.rglob("*.so"))


def test_fit_builds_the_engine_for_the_flags_only_for_cpu_training(monkeypatch):
    from lstmkit.train import trainer

    assert trainer._trains_on_cpu(TrainConfig(accelerator="cpu"))
    assert not trainer._trains_on_cpu(TrainConfig(accelerator="gpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not trainer._trains_on_cpu(TrainConfig(accelerator="auto"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert trainer._trains_on_cpu(TrainConfig(accelerator="auto"))
