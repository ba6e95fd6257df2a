"""Length-bucketed batches and padding (data/batching.py), and the task plots' input checks."""

from __future__ import annotations

import random

import pytest
import torch

from lstmkit.data.batching import BucketBatchSampler, length_tensor, pad_sequences


def test_every_index_once_per_epoch_and_similar_lengths_together():
    lengths = [(i * 37) % 61 + 1 for i in range(500)]
    sampler = BucketBatchSampler(lengths, 16, pool=10)
    random.seed(0)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(500)) and len(batches) == len(sampler) == 32
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 10  # random batches of 16 from 1..61 would spread about 50
    random.seed(1)
    assert list(sampler) != batches  # a new order each epoch
    random.seed(0)
    assert list(sampler) == batches  # ... that a seed repeats


def test_evaluation_order_is_by_length():
    batches = list(BucketBatchSampler([5, 1, 4, 2, 3], 2, shuffle=False))
    assert batches == [[1, 3], [4, 2], [0]]
    with pytest.raises(ValueError, match="BucketBatchSampler: expected batch_size >= 1"):
        BucketBatchSampler([1], 0)


def test_padding():
    out = pad_sequences([torch.tensor([1, 2, 3]), torch.tensor([4])])
    assert out.tolist() == [[1, 2, 3], [4, 0, 0]]
    feats = pad_sequences([torch.ones(2, 3), torch.ones(1, 3)], value=-1.0)
    assert feats.shape == (2, 2, 3) and torch.all(feats[1, 1] == -1)
    assert length_tensor([[1, 2], [3]]).tolist() == [2, 1]


def test_confusion_plot_checks_its_shape(tmp_path):
    from lstmkit.explain.training_plots import plot_confusion, plot_history

    with pytest.raises(ValueError, match=r"plot_confusion: expected a \(3, 3\) matrix for 3 labels, got \(2, 2\)"):
        plot_confusion(tmp_path / "c.png", [[1, 0], [0, 1]], ["a", "b", "c"])
    path = plot_history(tmp_path / "h.png", [{"epoch": 0, "train_loss": 1.0, "val_loss": 1.2, "val_f1": 0.3, "val_error": 0.7},
                                             {"epoch": 1, "train_loss": 0.5, "val_loss": 0.9, "val_f1": 0.5, "val_error": 0.5}])
    assert path.is_file() and path.stat().st_size > 1000
