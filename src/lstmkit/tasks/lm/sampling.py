"""Choose the next token from a language model's logits: temperature, top-k, top-p, greedy."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _check(logits: Tensor, temperature: float, top_k: int | None, top_p: float | None, who: str) -> None:
    if logits.dim() < 1 or logits.shape[-1] < 1:
        raise ValueError(f"{who}: expected logits of shape (*, V) with V >= 1, got {tuple(logits.shape)}")
    if not logits.is_floating_point():
        raise ValueError(f"{who}: expected floating-point logits, got {logits.dtype}")
    if not (temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"{who}: expected a finite temperature >= 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"{who}: expected top_k an int >= 1 or None, got {top_k!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"{who}: expected top_p in (0, 1] or None, got {top_p!r}")


def filter_logits(logits: Tensor, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    r"""Set to :math:`-\infty` every logit outside the top-k and the nucleus (top-p) set.

    - ``top_k``: keep the ``k`` largest logits (exactly ``k``; ties at the
      boundary are broken by ``torch.topk``). ``k`` larger than the vocabulary keeps
      everything.
    - ``top_p``: keep the smallest set of most likely tokens whose
      probability :math:`\mathrm{softmax}(\text{logits})` sums to at least
      ``p`` (Holtzman et al. 2020); the most likely token is always kept.
      Applied after ``top_k``, on the renormalised distribution.

    Shapes: ``(*, V)`` -> ``(*, V)``.
    """
    _check(logits, 1.0, top_k, top_p, "filter_logits")
    return _filter(logits, top_k, top_p)


def _filter(logits: Tensor, top_k: int | None, top_p: float | None) -> Tensor:
    ninf = float("-inf")
    V = logits.shape[-1]
    if top_k is not None and top_k < V:
        keep = torch.zeros_like(logits, dtype=torch.bool)
        keep.scatter_(-1, logits.topk(top_k, dim=-1).indices, True)
        logits = logits.masked_fill(~keep, ninf)
    if top_p is not None and top_p < 1:
        ordered, order = logits.sort(dim=-1, descending=True)
        probs = torch.softmax(ordered.double(), dim=-1)
        before = probs.cumsum(-1) - probs  # mass of the more likely tokens
        drop = before >= top_p  # the set is already complete without this token
        drop[..., 0] = False
        logits = logits.scatter(-1, order, ordered.masked_fill(drop, ninf))
    return logits


def next_token_probs(
    logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Tensor:
    r"""The distribution :func:`sample_next` draws from, ``(*, V)``.

    .. math:: p = \mathrm{softmax}(\mathrm{filter}(\text{logits} / T))

    At ``temperature`` 0, one-hot on the argmax (greedy decoding).
    """
    _check(logits, temperature, top_k, top_p, "next_token_probs")
    if temperature == 0:
        return torch.zeros_like(logits).scatter_(-1, logits.argmax(-1, keepdim=True), 1.0)
    return torch.softmax(_filter(logits / temperature, top_k, top_p), dim=-1)


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Draw the next token id from ``logits``.

    The logits are divided by ``temperature`` (lower is more conservative, 1
    leaves the model's distribution as it is), then filtered by ``top_k`` and
    ``top_p`` (see :func:`filter_logits`), and one token is drawn from the
    softmax. ``temperature=0`` is greedy decoding: the argmax, no randomness.

    Args:
        logits: unnormalised scores ``(*, V)`` (e.g. the last step of a
            language model's output).
        temperature: ``>= 0``. Default ``1.0``.
        top_k: keep only the ``k`` most likely tokens. Default ``None``.
        top_p: keep only the nucleus of probability mass ``p``. Default ``None``.
        generator: a ``torch.Generator`` on the logits' device, for
            reproducible draws. Default ``None`` (the global generator).

    Shapes: ``(*, V)`` -> ``(*)`` int64.

    Example::

        >>> g = torch.Generator().manual_seed(0)
        >>> logits = torch.tensor([[2.0, 1.0, 0.1, -1.0]])
        >>> sample_next(logits, temperature=0)
        tensor([0])
        >>> int(sample_next(logits, top_k=2, generator=g)) in (0, 1)
        True
    """
    _check(logits, temperature, top_k, top_p, "sample_next")
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(_filter(logits / temperature, top_k, top_p), dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    return torch.multinomial(flat, 1, generator=generator).reshape(probs.shape[:-1])
