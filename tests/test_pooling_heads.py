"""Sequence pooling over valid steps, and the output head."""

from __future__ import annotations

import pytest
import torch

import lstmkit
from lstmkit.nn import Head, SequencePool, pool_last, pool_max, pool_mean


def test_pooling_against_explicit_loops():
    out = torch.randn(6, 3, 4)
    lengths = [6, 2, 4]
    last = pool_last(out, lengths)
    mean = pool_mean(out, lengths)
    mx = pool_max(out, lengths)
    for b, n in enumerate(lengths):
        torch.testing.assert_close(last[b], out[n - 1, b])
        torch.testing.assert_close(mean[b], out[:n, b].mean(0))
        torch.testing.assert_close(mx[b], out[:n, b].max(0).values)


def test_max_ignores_large_padding_values():
    out = torch.zeros(4, 1, 2)
    out[3] = 100.0
    assert torch.all(pool_max(out, [3]) == 0)


def test_last_pooling_of_a_bidirectional_layer_uses_both_full_views():
    layer = lstmkit.LSTM(3, 5, bidirectional=True, backend="reference")
    x = torch.randn(6, 2, 3)
    out, (h, _) = layer(x, lengths=[6, 3])
    pooled = SequencePool("last", num_directions=2)(out, [6, 3])
    # the final states are exactly the forward state at the last valid step and
    # the backward state after reading the whole sequence
    torch.testing.assert_close(pooled, torch.cat([h[0], h[1]], -1))


def test_batch_first_pooling():
    out = torch.randn(2, 5, 3)
    torch.testing.assert_close(SequencePool("mean", batch_first=True)(out), out.mean(1))


def test_pool_and_head_errors():
    with pytest.raises(ValueError, match="SequencePool: expected mode in"):
        SequencePool("median")
    with pytest.raises(ValueError, match=r"Head: expected input of shape \(\*, 4\), got \(2, 3\)"):
        Head(4, 2)(torch.randn(2, 3))
    with pytest.raises(ValueError, match="expected activation"):
        Head(4, 2, activation="relu")


def test_head_softmax_and_log_softmax():
    x = torch.randn(3, 4)
    head = Head(4, 5, activation="softmax")
    p = head(x)
    torch.testing.assert_close(p.sum(-1), torch.ones(3))
    log_head = Head(4, 5, activation="log_softmax")
    log_head.load_state_dict(head.state_dict())
    torch.testing.assert_close(log_head(x).exp(), p)
