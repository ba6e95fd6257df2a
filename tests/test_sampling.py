"""Next-token sampling: top-k support, the nucleus definition, greedy limit, and the empirical distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstmkit.tasks.lm.sampling import filter_logits, next_token_probs, sample_next

# chi-square critical values at significance 0.001 (statistical tables)
CHI2_999 = {2: 13.816, 4: 18.467, 7: 24.322}


def _chi2(samples: torch.Tensor, expected_probs, n_bins: int) -> tuple[float, int]:
    counts = np.bincount(samples.numpy().ravel(), minlength=n_bins).astype(float)
    expected = np.asarray(expected_probs, dtype=float) * counts.sum()
    support = expected > 0
    assert counts[~support].sum() == 0  # nothing drawn where the probability is zero
    return float(((counts[support] - expected[support]) ** 2 / expected[support]).sum()), int(support.sum()) - 1


def _softmax(x) -> np.ndarray:
    e = np.exp(np.asarray(x, dtype=float) - np.max(x))
    return e / e.sum()


def test_empirical_distribution_matches_softmax_over_temperature():
    logits = torch.tensor([1.5, 0.2, -0.3, 0.9, -2.0])
    g = torch.Generator().manual_seed(1234)
    for T in (0.5, 1.0, 2.0):
        draws = sample_next(logits.expand(100_000, 5), temperature=T, generator=g)
        stat, dof = _chi2(draws, _softmax(logits.numpy() / T), 5)
        assert dof == 4 and stat < CHI2_999[4], (T, stat)
    # and a wrong temperature is detected by the same test
    draws = sample_next(logits.expand(100_000, 5), temperature=1.0, generator=g)
    assert _chi2(draws, _softmax(logits.numpy() / 1.3), 5)[0] > CHI2_999[4]


def test_top_k_never_samples_outside_the_k_best():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 20, generator=g)
    best = np.argsort(-logits.numpy(), axis=1)[:, :5]  # the 5 best of each row
    for _ in range(20):
        draws = sample_next(logits, temperature=1.5, top_k=5, generator=g).numpy()
        assert all(d in row for d, row in zip(draws, best))
    # the kept tokens keep their relative probabilities
    probs = next_token_probs(logits, top_k=5)
    row = logits[0].numpy()
    expected = np.zeros(20)
    expected[best[0]] = _softmax(row[best[0]])
    np.testing.assert_allclose(probs[0].numpy(), expected, rtol=1e-5, atol=1e-7)
    assert (filter_logits(logits, top_k=100) == logits).all()  # k beyond the vocabulary keeps all
    kept = filter_logits(logits, top_k=5)
    assert (torch.isfinite(kept).sum(-1) == 5).all() and (kept[torch.isfinite(kept)] == logits[torch.isfinite(kept)]).all()


def test_top_k_distribution():
    logits = torch.tensor([0.0, 1.0, 2.0, -1.0, 0.5])
    g = torch.Generator().manual_seed(7)
    draws = sample_next(logits.expand(60_000, 5), top_k=3, generator=g)
    expected = np.zeros(5)
    expected[[2, 1, 4]] = _softmax([2.0, 1.0, 0.5])
    stat, dof = _chi2(draws, expected, 5)
    assert dof == 2 and stat < CHI2_999[2]


def test_top_p_keeps_the_smallest_set_with_mass_at_least_p():
    g = torch.Generator().manual_seed(3)
    for trial in range(200):
        logits = torch.randn(12, generator=g, dtype=torch.float64) * 2
        p = float(torch.rand((), generator=g, dtype=torch.float64)) * 0.98 + 0.01
        kept = np.flatnonzero(next_token_probs(logits, top_p=p).numpy() > 0)
        full = _softmax(logits.numpy())
        ranked = np.argsort(-full)
        # the kept set is a prefix of the tokens by probability...
        assert set(kept) == set(ranked[: len(kept)]), trial
        # ... whose mass reaches p, and which would not reach it without its least likely member
        assert full[kept].sum() >= p - 1e-12
        assert full[kept].sum() - full[kept].min() < p


def test_top_p_hand_case_and_sampling():
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    logits = torch.tensor(np.log(probs))
    assert (next_token_probs(logits, top_p=0.7) > 0).tolist() == [True, True, False, False]
    assert (next_token_probs(logits, top_p=0.85) > 0).tolist() == [True, True, True, False]
    assert (next_token_probs(logits, top_p=0.4) > 0).tolist() == [True, False, False, False]
    assert (next_token_probs(logits, top_p=1.0) > 0).all()
    g = torch.Generator().manual_seed(11)
    draws = sample_next(logits.expand(50_000, 4), top_p=0.85, generator=g)
    stat, dof = _chi2(draws, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0.0], 4)
    assert dof == 2 and stat < CHI2_999[2]


def test_temperature_zero_is_argmax_and_small_temperature_tends_to_it():
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(3, 7, 50, generator=g)
    argmax = logits.argmax(-1)
    assert torch.equal(sample_next(logits, temperature=0), argmax)
    assert torch.equal(sample_next(logits, temperature=0, top_k=1, top_p=0.1), argmax)
    assert torch.equal(sample_next(logits, temperature=1e-4, generator=g), argmax)
    assert torch.equal(sample_next(logits, top_k=1, generator=g), argmax)
    assert torch.equal(next_token_probs(logits, temperature=0).argmax(-1), argmax)
    assert (next_token_probs(logits, temperature=0).sum(-1) == 1).all()


def test_generator_makes_draws_reproducible_and_shapes():
    logits = torch.randn(4, 6, 30)
    a = sample_next(logits, top_p=0.9, generator=torch.Generator().manual_seed(42))
    b = sample_next(logits, top_p=0.9, generator=torch.Generator().manual_seed(42))
    c = sample_next(logits.expand(50, 4, 6, 30), generator=torch.Generator().manual_seed(43))
    assert a.shape == (4, 6) and a.dtype == torch.int64 and torch.equal(a, b)
    assert c.shape == (50, 4, 6) and len({tuple(x.tolist()) for x in c.reshape(50, -1)}) > 1
    assert sample_next(torch.tensor([0.3, 0.1])).shape == ()


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"temperature": -1.0}, "expected a finite temperature >= 0, got -1.0"),
        ({"temperature": math.inf}, "expected a finite temperature"),
        ({"top_k": 0}, "expected top_k an int >= 1 or None, got 0"),
        ({"top_k": 2.5}, "expected top_k an int"),
        ({"top_p": 0.0}, "expected top_p in (0, 1] or None, got 0.0"),
        ({"top_p": 1.5}, "expected top_p in (0, 1]"),
    ],
)
def test_bad_arguments(kw, message):
    with pytest.raises(ValueError, match="sample_next: ") as info:
        sample_next(torch.randn(5), **kw)
    assert message in str(info.value)
    with pytest.raises(ValueError, match="expected floating-point logits"):
        sample_next(torch.tensor([1, 2]))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_generator_and_support():
    logits = torch.randn(8, 40, device="cuda")
    g = torch.Generator(device="cuda").manual_seed(0)
    a = sample_next(logits, top_k=3, generator=g)
    b = sample_next(logits, top_k=3, generator=torch.Generator(device="cuda").manual_seed(0))
    assert a.device.type == "cuda" and torch.equal(a, b)
    best = logits.topk(3, dim=-1).indices
    assert (best == a.unsqueeze(-1)).any(-1).all()
    assert torch.equal(sample_next(logits, temperature=0), logits.argmax(-1))
