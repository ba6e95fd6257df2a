"""CRF: forward algorithm and Viterbi against brute-force enumeration of all tag sequences."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from lstmkit.nn import CRF

K = 3
LENGTHS = [5, 3, 1, 4]
T = max(LENGTHS)


def _crf(seed: int = 0, batch_first: bool = False) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(K, batch_first=batch_first).double()
    with torch.no_grad():  # larger than the default init so that paths differ clearly
        for p in (crf.transitions, crf.start, crf.end):
            p.normal_(0.0, 1.0)
    return crf


def _brute_score(crf: CRF, em, path, allowed=None) -> float:
    """s(y) summed term by term in plain Python; em is a (L, K) nested list."""
    A, s, e = crf.transitions.tolist(), crf.start.tolist(), crf.end.tolist()
    if allowed is not None:
        a_ok, s_ok, e_ok = allowed
        if not s_ok[path[0]] or not e_ok[path[-1]] or any(not a_ok[i][j] for i, j in zip(path, path[1:])):
            return -math.inf
    total = s[path[0]] + e[path[-1]]
    total += sum(em[t][y] for t, y in enumerate(path))
    total += sum(A[i][j] for i, j in zip(path, path[1:]))
    return total


def _brute(crf: CRF, emissions, lengths, allowed=None):
    """Per sequence: log Z, the best path and its score, and every path's score."""
    out = []
    for b, L in enumerate(lengths):
        em = emissions[:L, b].tolist()
        scores = {p: _brute_score(crf, em, p, allowed) for p in itertools.product(range(K), repeat=L)}
        m = max(scores.values())
        log_z = m + math.log(sum(math.exp(v - m) for v in scores.values()))
        best = max(scores, key=scores.get)
        out.append((log_z, best, scores[best], scores))
    return out


def _data(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    emissions = torch.randn(T, len(LENGTHS), K, generator=g, dtype=torch.float64)
    tags = torch.randint(K, (T, len(LENGTHS)), generator=g)
    return emissions, tags


def test_log_partition_matches_enumeration():
    crf = _crf()
    emissions, _ = _data()
    got = crf.log_partition(emissions, lengths=LENGTHS)
    expected = [r[0] for r in _brute(crf, emissions, LENGTHS)]
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64), rtol=1e-10, atol=1e-10)


def test_log_likelihood_matches_enumeration():
    crf = _crf()
    emissions, tags = _data()
    got = crf.log_likelihood(emissions, tags, lengths=LENGTHS)
    brute = _brute(crf, emissions, LENGTHS)
    expected = [scores[tuple(tags[:L, b].tolist())] - log_z for b, (L, (log_z, _, _, scores)) in enumerate(zip(LENGTHS, brute))]
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64), rtol=1e-10, atol=1e-10)
    # probabilities of all paths of one sequence sum to one
    L = LENGTHS[0]
    paths = torch.tensor(list(itertools.product(range(K), repeat=L))).T  # (L, K^L)
    em = emissions[:L, :1].expand(L, paths.shape[1], K)
    assert crf.log_likelihood(em, paths).exp().sum().item() == pytest.approx(1.0, abs=1e-10)


def test_forward_is_negative_log_likelihood_with_reductions():
    crf = _crf()
    emissions, tags = _data()
    ll = torch.tensor(
        [s[tuple(tags[:L, b].tolist())] - z for b, (L, (z, _, _, s)) in enumerate(zip(LENGTHS, _brute(crf, emissions, LENGTHS)))],
        dtype=torch.float64,
    )
    torch.testing.assert_close(crf(emissions, tags, lengths=LENGTHS, reduction="none"), -ll)
    torch.testing.assert_close(crf(emissions, tags, lengths=LENGTHS), -ll.mean())
    torch.testing.assert_close(crf(emissions, tags, lengths=LENGTHS, reduction="sum"), -ll.sum())
    torch.testing.assert_close(crf(emissions, tags, lengths=LENGTHS, reduction="token_mean"), -ll.sum() / sum(LENGTHS))


def test_viterbi_matches_brute_force_argmax():
    for seed in range(5):
        crf = _crf(seed)
        emissions, _ = _data(seed + 10)
        path, score = crf.decode(emissions, lengths=LENGTHS)
        for b, (L, (_, best, best_score, _)) in enumerate(zip(LENGTHS, _brute(crf, emissions, LENGTHS))):
            assert tuple(path[:L, b].tolist()) == best
            assert (path[L:, b] == -1).all()
            assert score[b].item() == pytest.approx(best_score, abs=1e-10)


def test_masked_positions_are_ignored():
    crf = _crf()
    emissions, tags = _data()
    lengths = torch.tensor(LENGTHS)
    mask = torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)
    noisy_em = emissions.masked_fill(~mask.unsqueeze(-1), 1e6)  # huge values on padding
    noisy_tags = tags.masked_fill(~mask, -100)  # an ignore index on padding
    ll = crf.log_likelihood(emissions, tags, lengths=LENGTHS)
    torch.testing.assert_close(crf.log_likelihood(noisy_em, noisy_tags, mask=mask), ll)
    torch.testing.assert_close(crf.log_likelihood(noisy_em, noisy_tags, lengths=LENGTHS), ll)
    assert torch.equal(crf.decode(noisy_em, mask=mask)[0], crf.decode(emissions, lengths=LENGTHS)[0])
    # each sequence on its own, unpadded, gives the same values
    for b, L in enumerate(LENGTHS):
        alone = crf.log_likelihood(emissions[:L, b : b + 1], tags[:L, b : b + 1])
        assert alone.item() == pytest.approx(ll[b].item(), abs=1e-10)
    # padding receives no gradient
    em = noisy_em.clone().requires_grad_(True)
    crf(em, noisy_tags, mask=mask).backward()
    assert (em.grad[~mask] == 0).all()
    assert (em.grad[mask] != 0).any()


def test_gradients_finite_and_match_gradcheck():
    crf = _crf()
    emissions, tags = _data()
    em = emissions.clone().requires_grad_(True)
    loss = crf(em, tags, lengths=LENGTHS)
    loss.backward()
    for g in (em.grad, crf.transitions.grad, crf.start.grad, crf.end.grad):
        assert g is not None and torch.isfinite(g).all()
    assert torch.autograd.gradcheck(lambda e: crf.log_likelihood(e, tags, lengths=LENGTHS), (em.detach().requires_grad_(True),))
    # d log Z / d emissions are the tag marginals: each valid step sums to one
    em2 = emissions.clone().requires_grad_(True)
    crf.log_partition(em2, lengths=LENGTHS).sum().backward()
    mask = torch.arange(T).unsqueeze(1) < torch.tensor(LENGTHS).unsqueeze(0)
    torch.testing.assert_close(em2.grad.sum(-1)[mask], torch.ones(int(mask.sum()), dtype=torch.float64))


def test_batch_first_equals_time_major():
    crf_t, crf_b = _crf(), _crf(batch_first=True)
    emissions, tags = _data()
    torch.testing.assert_close(
        crf_b.log_likelihood(emissions.transpose(0, 1), tags.T, lengths=LENGTHS), crf_t.log_likelihood(emissions, tags, lengths=LENGTHS)
    )
    assert torch.equal(crf_b.decode(emissions.transpose(0, 1), lengths=LENGTHS)[0], crf_t.decode(emissions, lengths=LENGTHS)[0].T)


def test_constraints_match_enumeration_of_allowed_paths():
    crf = _crf()
    allowed_a = torch.ones(K, K, dtype=torch.bool)
    allowed_a[0, 2] = False  # tag 0 may not be followed by tag 2 (like O -> I-X)
    allowed_s = torch.tensor([True, True, False])  # nor start with tag 2
    allowed_e = torch.tensor([True, False, True])
    crf.set_constraints(allowed_a, allowed_s, allowed_e)
    emissions, _ = _data()
    brute = _brute(crf, emissions, LENGTHS, (allowed_a.tolist(), allowed_s.tolist(), allowed_e.tolist()))
    torch.testing.assert_close(crf.log_partition(emissions, lengths=LENGTHS), torch.tensor([r[0] for r in brute], dtype=torch.float64))
    path, _ = crf.decode(emissions, lengths=LENGTHS)
    for b, L in enumerate(LENGTHS):
        assert tuple(path[:L, b].tolist()) == brute[b][1]
    forbidden = torch.zeros(T, len(LENGTHS), dtype=torch.long)
    forbidden[0] = 2  # every sequence starts with a forbidden tag
    assert torch.isneginf(crf.log_likelihood(emissions, forbidden, lengths=LENGTHS)).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: c.log_partition(torch.randn(4, 2, K + 1)), "expected emissions of shape (T, B, K) with K=3"),
        (lambda c: c.log_partition(torch.randn(4, 2, K), lengths=[0, 4]), "expected every length in 1..4"),
        (lambda c: c.log_partition(torch.randn(4, 2, K), lengths=[5, 4]), "expected every length in 1..4"),
        (lambda c: c(torch.randn(4, 2, K), torch.full((4, 2), K)), "expected tags in 0..2"),
        (lambda c: c(torch.randn(4, 2, K), torch.zeros(2, 4, dtype=torch.long)), "expected tags of shape (4, 2)"),
        (lambda c: c(torch.randn(4, 2, K), torch.zeros(4, 2, dtype=torch.long), reduction="avg"), "expected reduction"),
        (lambda c: c.decode(torch.randn(3, 1, K), mask=torch.tensor([[True], [False], [True]])), "prefix"),
    ],
)
def test_bad_input_names_the_class(call, message):
    with pytest.raises(ValueError, match="CRF: ") as info:
        call(CRF(K))
    assert message in str(info.value)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    crf = _crf()
    crf.set_constraints(start=torch.tensor([True, True, False]))
    emissions, tags = _data()
    gpu = _crf()
    gpu.set_constraints(start=torch.tensor([True, True, False]))
    gpu = gpu.cuda()
    torch.testing.assert_close(gpu.log_likelihood(emissions.cuda(), tags.cuda(), lengths=LENGTHS).cpu(), crf.log_likelihood(emissions, tags, lengths=LENGTHS))
    assert torch.equal(gpu.decode(emissions.cuda(), lengths=LENGTHS)[0].cpu(), crf.decode(emissions, lengths=LENGTHS)[0])
