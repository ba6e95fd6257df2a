"""A small generic training run for the kill-and-resume tests: ``python resume_train_script.py OUT [--resume]``.

An LSTM with dropout regresses a noisy sum over synthetic sequences through
:func:`lstmkit.train.fit`, with validation, a cosine schedule and one of the
loaders the tasks use (``--loader``): ``dataloader`` (``DataLoader`` with
shuffle), ``generator`` (the same with its own generator), ``tensor``
(:class:`~lstmkit.train.batches.TensorBatches`) or ``bucket``
(:class:`~lstmkit.data.batching.BucketBatchSampler` on variable lengths).
Writes ``OUT/model.safetensors`` at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        from lstmkit.nn import LSTM

        self.lstm = LSTM(2, 12, batch_first=True, backend="reference")  # no engine to compile on first use
        self.drop = torch.nn.Dropout(0.2)
        self.head = torch.nn.Linear(12, 1)

    def forward(self, x, lengths=None):
        _, (h, _) = self.lstm(x, lengths=lengths) if lengths is not None else self.lstm(x)
        return self.head(self.drop(h[-1]))


def step(model, batch):
    x, lengths, y = batch
    return {"loss": torch.nn.functional.mse_loss(model(x, lengths), y)}


def data(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 13, (n,), generator=g)
    x = torch.randn(n, 12, 2, generator=g)
    x = x * (torch.arange(12)[None, :, None] < lengths[:, None, None])
    y = x.sum(dim=(1, 2)).unsqueeze(1) * 0.2 + 0.05 * torch.randn(n, 1, generator=g)
    return x, lengths, y


def loader(kind: str, x, lengths, y, seed: int):
    from torch.utils.data import DataLoader, TensorDataset

    if kind == "tensor":
        from lstmkit.train.batches import TensorBatches

        return TensorBatches(x, lengths, y, batch_size=16, seed=seed)
    if kind == "bucket":
        from lstmkit.data.batching import BucketBatchSampler

        items = list(zip(x, lengths, y))
        collate = lambda b: tuple(torch.stack(t) for t in zip(*b))  # noqa: E731
        return DataLoader(items, batch_sampler=BucketBatchSampler(lengths.tolist(), 16, pool=2), collate_fn=collate)
    g = torch.Generator().manual_seed(seed) if kind == "generator" else None
    return DataLoader(TensorDataset(x, lengths, y), batch_size=16, shuffle=True, generator=g)


def main(argv=None) -> int:
    from safetensors.torch import save_file

    from lstmkit.train import TrainConfig, fit, seed_everything

    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--loader", default="dataloader", choices=["dataloader", "generator", "tensor", "bucket"])
    p.add_argument("--epochs", type=int, default=8)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    seed_everything(3)
    model = Net()
    train, val = data(96, 1), data(32, 2)
    cfg = TrainConfig(epochs=a.epochs, batch_size=16, lr=0.02, schedule="cosine", progress_bar=False, seed=3)
    fit(model, step, loader(a.loader, *train, seed=3), loader("tensor", *val, seed=0), cfg, out_dir=a.out,
        resume=a.resume)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(Path(a.out) / "model.safetensors"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
