"""Attention pooling: padding gets zero weight, weights sum to one, the output is their weighted sum."""

from __future__ import annotations

import pytest
import torch

from lstmkit.nn import AttentionPool


def test_padding_gets_zero_weight_and_weights_sum_to_one():
    pool = AttentionPool(4)
    out = torch.randn(6, 3, 4)
    alpha = pool.weights(out, [6, 2, 4])  # (T, B)
    assert torch.all(alpha[2:, 1] == 0) and torch.all(alpha[4:, 2] == 0)
    torch.testing.assert_close(alpha.sum(0), torch.ones(3))
    assert torch.all(alpha[:2, 1] > 0)


def test_padding_values_do_not_change_the_result():
    pool = AttentionPool(4)
    out = torch.randn(5, 2, 4)
    noisy = out.clone()
    noisy[3:, 1] = 1e4  # padding of the second sequence
    a, b = pool(out, [5, 3]), pool(noisy, [5, 3])
    torch.testing.assert_close(a, b)
    assert torch.all(pool.last_weights[1, 3:] == 0)


def test_output_is_the_weighted_sum_of_valid_steps():
    pool = AttentionPool(3, attention_size=5)
    out = torch.randn(4, 2, 3)
    y = pool(out, [4, 2])
    alpha = pool.weights(out, [4, 2])
    for b in range(2):
        torch.testing.assert_close(y[b], (alpha[:, b, None] * out[:, b]).sum(0))
    # a one-step sequence pools to that step exactly
    torch.testing.assert_close(pool(out, [1, 1]), out[0])


def test_batch_first_and_gradients():
    pool = AttentionPool(4, batch_first=True)
    out = torch.randn(2, 5, 4, requires_grad=True)
    pool(out, [5, 2]).sum().backward()
    assert torch.all(out.grad[1, 2:] == 0)  # no gradient reaches padding
    assert pool.query.grad is not None and pool.query.grad.abs().sum() > 0


def test_bad_inputs_name_the_class():
    pool = AttentionPool(4)
    with pytest.raises(ValueError, match=r"AttentionPool: expected output of shape \(T, B, 4\)"):
        pool(torch.randn(3, 2, 5))
    with pytest.raises(ValueError, match="AttentionPool: expected every length in 1..3"):
        pool(torch.randn(3, 2, 4), [4, 1])
