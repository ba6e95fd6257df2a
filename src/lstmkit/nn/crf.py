"""A linear-chain conditional random field over per-step tag scores."""

from __future__ import annotations

import torch
from torch import Tensor, nn

REDUCTIONS = ("mean", "sum", "token_mean", "none")


class CRF(nn.Module):
    r"""Linear-chain CRF: a distribution over whole tag sequences.

    For emissions :math:`e_t \in \mathbb{R}^K` (one score per tag at step
    :math:`t`, usually the output of a tagger's linear head) and a tag
    sequence :math:`y_0 \dots y_{L-1}` of a sequence of length :math:`L`:

    .. math::
        s(y) = \pi^{start}_{y_0} + \sum_{t=0}^{L-1} e_{t, y_t}
               + \sum_{t=1}^{L-1} A_{y_{t-1}, y_t} + \pi^{end}_{y_{L-1}}

        \log p(y \mid e) = s(y) - \log Z, \qquad
        \log Z = \log \sum_{y'} \exp s(y')

    :math:`A` is ``transitions[from, to]``, :math:`\pi^{start}` and
    :math:`\pi^{end}` are ``start`` and ``end``. :math:`\log Z` is computed by
    the forward algorithm in log space, and the best sequence
    :math:`\arg\max_y s(y)` by Viterbi; both are batched over sequences of
    different lengths, and steps past a sequence's length are ignored.

    Args:
        num_tags: number of tags :math:`K`.
        batch_first: emissions are ``(B, T, K)`` and tags ``(B, T)`` instead of
            ``(T, B, K)`` and ``(T, B)``. Default ``False``, as in
            :class:`lstmkit.nn.LSTM`.

    Lengths are given either as ``lengths`` (``(B,)`` ints, each in
    ``1..T``) or as a boolean ``mask`` (``True`` on valid steps; it must be a
    prefix of each sequence, as padding at the end). Neither means every
    sequence has length ``T``.

    Constraints: :meth:`set_constraints` forbids transitions (e.g. ``O ->
    I-PER`` in IOB2); forbidden moves score :math:`-\infty`, so they never
    appear in :meth:`decode` and a gold path that uses one has
    log-likelihood :math:`-\infty`.

    Shapes (time-major; swap the first two dims when ``batch_first``):
        ======================= ====================================
        emissions               ``(T, B, K)``
        tags                    ``(T, B)`` int64 (padding: any value)
        lengths / mask          ``(B,)`` / ``(T, B)`` bool
        :meth:`forward`         scalar, or ``(B,)`` for ``'none'``
        :meth:`log_likelihood`  ``(B,)``
        :meth:`decode`          ``(T, B)`` int64 (``-1`` on padding), ``(B,)``
        ======================= ====================================

    Example::

        >>> crf = CRF(5)
        >>> emissions = torch.randn(7, 2, 5)            # (T, B, K)
        >>> tags = torch.randint(5, (7, 2))
        >>> loss = crf(emissions, tags, lengths=[7, 4])  # mean negative log-likelihood
        >>> best, score = crf.decode(emissions, lengths=[7, 4])
        >>> best[:, 1].tolist()[4:]
        [-1, -1, -1]
    """

    def __init__(self, num_tags: int, batch_first: bool = False) -> None:
        super().__init__()
        if not isinstance(num_tags, int) or num_tags < 1:
            raise ValueError(f"CRF: expected num_tags a positive int, got {num_tags!r}")
        self.num_tags = num_tags
        self.batch_first = batch_first
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))  # (K from, K to)
        self.start = nn.Parameter(torch.empty(num_tags))
        self.end = nn.Parameter(torch.empty(num_tags))
        # allowed moves; all True means unconstrained
        self.register_buffer("allowed_transitions", torch.ones(num_tags, num_tags, dtype=torch.bool))
        self.register_buffer("allowed_start", torch.ones(num_tags, dtype=torch.bool))
        self.register_buffer("allowed_end", torch.ones(num_tags, dtype=torch.bool))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw transition, start and end scores from ``U(-0.1, 0.1)``."""
        for p in (self.transitions, self.start, self.end):
            nn.init.uniform_(p, -0.1, 0.1)

    def set_constraints(self, transitions: Tensor | None = None, start: Tensor | None = None, end: Tensor | None = None) -> None:
        """Forbid moves: ``transitions[i, j]`` False forbids tag ``i`` followed by ``j``;
        ``start[j]`` / ``end[j]`` False forbid a sequence starting / ending with ``j``.

        ``None`` leaves that part unconstrained. Every tag must be reachable by
        some allowed path, or :math:`\\log Z` would be :math:`-\\infty`.
        """
        K = self.num_tags
        for name, value, shape in (("transitions", transitions, (K, K)), ("start", start, (K,)), ("end", end, (K,))):
            value = torch.ones(shape, dtype=torch.bool) if value is None else torch.as_tensor(value, dtype=torch.bool)
            if tuple(value.shape) != shape:
                raise ValueError(f"CRF: expected {name} constraint of shape {shape}, got {tuple(value.shape)}")
            getattr(self, f"allowed_{name}").copy_(value)
        if not self.allowed_start.any() or not self.allowed_end.any():
            raise ValueError("CRF: expected at least one allowed start tag and one allowed end tag, got none")

    # ------------------------------------------------------------------ scores
    def _scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """Transition, start and end scores with forbidden moves at -inf."""
        ninf = float("-inf")
        return (
            self.transitions.masked_fill(~self.allowed_transitions, ninf),
            self.start.masked_fill(~self.allowed_start, ninf),
            self.end.masked_fill(~self.allowed_end, ninf),
        )

    def _prepare(self, emissions: Tensor, tags: Tensor | None, lengths, mask) -> tuple[Tensor, Tensor | None, Tensor, Tensor]:
        """Check shapes; return time-major emissions, tags, mask (T, B) and lengths (B,)."""
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_tags:
            layout = "(B, T, K)" if self.batch_first else "(T, B, K)"
            raise ValueError(
                f"CRF: expected emissions of shape {layout} with K={self.num_tags}, got {tuple(emissions.shape)}"
            )
        if self.batch_first:
            emissions = emissions.transpose(0, 1)
            tags = None if tags is None else tags.transpose(0, 1)
            mask = None if mask is None else torch.as_tensor(mask).transpose(0, 1)
        T, B, _ = emissions.shape
        if T == 0:
            raise ValueError("CRF: expected at least one time step, got T=0")
        if tags is not None:
            if tuple(tags.shape) != (T, B):
                raise ValueError(f"CRF: expected tags of shape {(T, B)} (time-major), got {tuple(tags.shape)}")
        steps = torch.arange(T, device=emissions.device).unsqueeze(1)  # (T, 1)
        if lengths is not None and mask is not None:
            raise ValueError("CRF: expected lengths or mask, got both")
        if mask is not None:
            mask = torch.as_tensor(mask, device=emissions.device)
            if tuple(mask.shape) != (T, B):
                raise ValueError(f"CRF: expected mask of shape {(T, B)} (time-major), got {tuple(mask.shape)}")
            mask = mask.bool()
            lens = mask.sum(0)
            if not torch.equal(mask, steps < lens.unsqueeze(0)):
                raise ValueError("CRF: expected mask to be True on a prefix of each sequence (padding at the end), got gaps")
        else:
            if lengths is None:
                lens = torch.full((B,), T, dtype=torch.int64, device=emissions.device)
            else:
                lens = torch.as_tensor(lengths, dtype=torch.int64, device=emissions.device)
                if tuple(lens.shape) != (B,):
                    raise ValueError(f"CRF: expected lengths of shape ({B},), got {tuple(lens.shape)}")
            mask = steps < lens.unsqueeze(0)  # (T, B)
        if B and (lens.min() < 1 or lens.max() > T):
            raise ValueError(f"CRF: expected every length in 1..{T}, got {lens.tolist()}")
        if tags is not None:
            tags = tags.long()
            valid = tags[mask]
            if valid.numel() and (valid.min() < 0 or valid.max() >= self.num_tags):
                raise ValueError(
                    f"CRF: expected tags in 0..{self.num_tags - 1} on valid steps, "
                    f"got values from {int(valid.min())} to {int(valid.max())}"
                )
            tags = tags.masked_fill(~mask, 0)  # padding may hold any value (e.g. -100)
        return emissions, tags, mask, lens

    def _path_score(self, emissions: Tensor, tags: Tensor, mask: Tensor, lens: Tensor) -> Tensor:
        transitions, start, end = self._scores()
        mask_f = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (T, B)
        score = start[tags[0]] + (emit * mask_f).sum(0)  # (B,)
        if tags.shape[0] > 1:
            move = transitions[tags[:-1], tags[1:]]  # (T-1, B)
            score = score + move.masked_fill(~mask[1:], 0.0).sum(0)
        last = tags.gather(0, (lens - 1).unsqueeze(0)).squeeze(0)  # (B,)
        return score + end[last]

    def _log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        transitions, start, end = self._scores()
        alpha = start + emissions[0]  # (B, K): log-sum of all paths ending in each tag
        for t in range(1, emissions.shape[0]):
            # alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + A[i, j]) + e_t[j]
            nxt = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[t]  # (B, K)
            alpha = torch.where(mask[t].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + end, dim=1)  # (B,)

    # ------------------------------------------------------------------ public
    def log_partition(self, emissions: Tensor, lengths=None, mask: Tensor | None = None) -> Tensor:
        """:math:`\\log Z` of each sequence, ``(B,)``."""
        emissions, _, mask, _ = self._prepare(emissions, None, lengths, mask)
        return self._log_partition(emissions, mask)

    def score(self, emissions: Tensor, tags: Tensor, lengths=None, mask: Tensor | None = None) -> Tensor:
        """Unnormalised score :math:`s(y)` of the given tag sequences, ``(B,)``."""
        emissions, tags, mask, lens = self._prepare(emissions, tags, lengths, mask)
        return self._path_score(emissions, tags, mask, lens)

    def log_likelihood(self, emissions: Tensor, tags: Tensor, lengths=None, mask: Tensor | None = None) -> Tensor:
        """:math:`\\log p(y \\mid e)` of each sequence, ``(B,)``."""
        emissions, tags, mask, lens = self._prepare(emissions, tags, lengths, mask)
        return self._path_score(emissions, tags, mask, lens) - self._log_partition(emissions, mask)

    def forward(
        self, emissions: Tensor, tags: Tensor, lengths=None, mask: Tensor | None = None, reduction: str = "mean"
    ) -> Tensor:
        """Negative log-likelihood, the training loss.

        Args:
            reduction: ``'mean'`` over sequences (default), ``'sum'``,
                ``'token_mean'`` (sum divided by the number of valid steps) or
                ``'none'`` for ``(B,)``.
        """
        if reduction not in REDUCTIONS:
            raise ValueError(f"CRF: expected reduction in {REDUCTIONS}, got {reduction!r}")
        emissions, tags, mask, lens = self._prepare(emissions, tags, lengths, mask)
        nll = self._log_partition(emissions, mask) - self._path_score(emissions, tags, mask, lens)
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        if reduction == "token_mean":
            return nll.sum() / lens.sum().to(nll.dtype)
        return nll.mean()

    @torch.no_grad()
    def decode(self, emissions: Tensor, lengths=None, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Viterbi: the highest-scoring tag sequence of each sequence and its score.

        Returns:
            ``(tags, score)``: tags ``(T, B)`` (``(B, T)`` when ``batch_first``)
            with ``-1`` past each length, and :math:`s(y^*)` ``(B,)``.
        """
        emissions, _, mask, lens = self._prepare(emissions, None, lengths, mask)
        transitions, start, end = self._scores()
        T, B, K = emissions.shape
        delta = start + emissions[0]  # (B, K): best score of a path ending in each tag
        backpointers = []  # backpointers[t - 1][b, j]: best tag at t - 1 given tag j at t
        for t in range(1, T):
            best, arg = (delta.unsqueeze(2) + transitions).max(dim=1)  # (B, K) over the previous tag
            backpointers.append(arg)
            delta = torch.where(mask[t].unsqueeze(1), best + emissions[t], delta)
        score, last = (delta + end).max(dim=1)  # (B,)
        path = torch.full((T, B), -1, dtype=torch.int64, device=emissions.device)
        cur = last
        for t in range(T - 1, -1, -1):
            cur = torch.where(lens - 1 == t, last, cur)  # each sequence starts back-tracking at its own end
            path[t] = torch.where(t < lens, cur, path[t])
            if t > 0:
                prev = backpointers[t - 1].gather(1, cur.unsqueeze(1)).squeeze(1)
                cur = torch.where(t < lens, prev, cur)
        if self.batch_first:
            path = path.transpose(0, 1)
        return path, score

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}, batch_first={self.batch_first}"
