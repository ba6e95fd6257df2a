"""Autograd functions that run a whole layer with the Triton kernels.

Each function covers the recurrence only: it takes the input projection
``gx`` (``(T, B, G*H)``, computed outside by one large matrix product, with
its biases and, for the layer-norm LSTM, its layer norm, so autograd
differentiates those parts), the initial state and the recurrent parameters.
It returns the carried hidden states ``hs`` ``(T, B, H)`` (at a padded step
the state of the last valid one) and, for LSTMs, the final cell state.

Forward, by path (:func:`choose_path`): one persistent launch for the whole
sequence (:mod:`.persistent`, when ``W_hh`` fits one program), one cooperative
launch or one tiled launch per step (:mod:`.cooperative`, plain and peephole
LSTMs), or per step the recurrent product ``h W_hh^T`` (torch) then a fused
gate kernel (:mod:`.step_kernels`). Backward mirrors it: the gate-derivative
kernels give ``dG``/``dGh`` per step and ``dh_{t-1} = dGh_t W_hh`` (inside the
kernel, or a torch product per step); after the loop the weight gradient
``dW_hh = dGh^T H_prev`` and the vector-parameter gradients are single large
reductions over all ``T*B`` rows.

Everything inside runs in the compute dtype (float32, or float64), except
that for half-precision inputs the weight gradient ``dW_hh`` is a
half-precision GEMM (``wgrad_dtype``).
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from . import cooperative, graphs, persistent, step_kernels
from .tiles import block_shared_memory


def _blocks(B: int, H: int, whole_rows: bool, like: Tensor):
    """Tile sizes, grid and launch options (none in the interpreter) of the per-step kernels."""
    bb, bh, grid, opts = step_kernels.blocks(B, H, whole_rows)
    return bb, bh, grid, (opts if like.is_cuda else {})


PATHS = ("step", "persistent", "tile", "cooperative")


def path_problem(path: str, kind: str, B: int, H: int, dtype: torch.dtype, device: torch.device) -> str | None:
    """Why ``path`` cannot run this layer, or None."""
    G = {"gru": 3, "rnn_tanh": 1, "rnn_relu": 1}.get(kind, 4)
    if path == "persistent":
        if not persistent.fits(G, B, H, dtype):
            return f"the persistent kernel holds W_hh on chip only up to {persistent.MAX_HELD} float32 weights per program (G*HP^2; got H={H})"
        have = block_shared_memory(device) if device.type == "cuda" else None
        if have is not None and have < persistent.FMA_SHARED:
            return (f"the persistent kernels take up to {persistent.FMA_SHARED} bytes of shared memory a block; "
                    f"this GPU gives {have}")
    elif path in ("tile", "cooperative"):
        if kind not in ("lstm", "peephole"):
            return f"the tiled kernels cover the plain and peephole LSTMs, not {kind!r}"
        if path == "cooperative":
            return cooperative.cooperative_fits(B, H, device)
        return cooperative.tile_problem(B, H)
    elif path != "step":
        return f"unknown path {path!r}; expected one of {PATHS}"
    return None


#: above this hidden size the per-step path replayed from CUDA graphs beats the
#: cooperative kernel: on an H200 the layer-norm LSTM on that path (the same step
#: plus two layer norms) took 0.12-0.73x the cooperative plain LSTM's time at
#: H = 256 and 512 (RESULTS.md, GPU section, run 5); at H = 128 it did not (0.64-4.7x)
COOPERATIVE_MAX_H = 128


def choose_path(kind: str, B: int, H: int, dtype: torch.dtype, device: torch.device, cooperative_ok: bool,
                graphed: bool = False) -> str:
    """``persistent`` where W_hh fits one program, else ``cooperative`` where
    allowed, the grid fits the GPU and (with ``graphed``: the per-step path
    replays CUDA graphs) H <= :data:`COOPERATIVE_MAX_H`, else ``step``."""
    if path_problem("persistent", kind, B, H, dtype, device) is None:
        return "persistent"
    if (cooperative_ok and device.type == "cuda" and not (graphed and H > COOPERATIVE_MAX_H)
            and path_problem("cooperative", kind, B, H, dtype, device) is None):
        return "cooperative"
    return "step"


def _fall_back(exc: Exception) -> str:
    """A cooperative launch whose barrier timed out: say so, and run the step path instead
    (it rewrites every output the void launch wrote)."""
    warnings.warn(f"{exc}; this layer ran the per-step path instead (LSTMKIT_TRITON_COOPERATIVE=0 "
                  "skips the cooperative kernel)", RuntimeWarning, stacklevel=3)
    return "step"


def _weight_grad(d_pre: Tensor, h_prev: Tensor, dtype: torch.dtype | None) -> Tensor:
    """``dW_hh = d_pre^T h_prev`` over all ``T*B`` rows: one large product.

    With ``dtype`` (bfloat16/float16 inputs) it runs as a half-precision GEMM
    (float32 accumulation in the BLAS, result rounded to ``dtype``), as cuDNN
    and autocast compute weight gradients; the recurrence stays float32.
    """
    if dtype is None:
        return d_pre.t() @ h_prev
    return (d_pre.to(dtype).t() @ h_prev.to(dtype)).to(d_pre.dtype)


def _prev(seq: Tensor, first: Tensor) -> Tensor:
    """``(T, B, n)`` values at ``t-1``: ``first`` then ``seq[:-1]``."""
    return torch.cat([first.unsqueeze(0), seq[:-1]], 0)


def _lens_arg(lens: Tensor | None, like: Tensor) -> tuple[Tensor, bool]:
    if lens is None:
        return torch.zeros(1, dtype=torch.int32, device=like.device), False
    return lens, True


# --------------------------------------------------------------------- LSTMs
class LSTMSequence(torch.autograd.Function):
    """Plain, peephole and layer-norm LSTM over a sequence.

    Inputs: ``gx`` (T, B, 4H); ``h0``, ``c0`` (B, H); ``w_hh`` (4H, H);
    ``peep``: ``(p_i, p_f, p_o)`` or Nones; ``ln``: ``(ln_hh_w, ln_hh_b,
    ln_c_w, ln_c_b)`` or Nones; ``lens`` int32 (B,) or None; ``eps``;
    ``path``: ``"step"``, ``"persistent"``, ``"tile"`` or ``"cooperative"``
    (:func:`choose_path`; the caller checks it with :func:`path_problem`).
    """

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, p_i, p_f, p_o, ln_w, ln_b, lnc_w, lnc_b, lens, eps, path, wgrad_dtype=None):
        T, B, G = gx.shape
        H = G // 4
        peep = p_i is not None
        ln = ln_w is not None
        gx, h0, c0, w_hh = gx.contiguous(), h0.contiguous(), c0.contiguous(), w_hh.contiguous()
        dummy = gx.new_zeros(1)
        lens_t, has_len = _lens_arg(lens, gx)
        hs = gx.new_empty(T, B, H)
        cs = gx.new_empty(T, B, H)
        gates = gx.new_empty(T, B, 4 * H)
        ghn = gx.new_empty(T, B, 4 * H) if ln else dummy
        stats = gx.new_zeros(T, B, 4) if ln else dummy
        args_p = tuple(p.contiguous() if p is not None else dummy for p in (p_i, p_f, p_o))
        args_ln = tuple(p.contiguous() if p is not None else dummy for p in (ln_w, ln_b, lnc_w, lnc_b))
        if path in ("tile", "cooperative"):
            try:
                cooperative.lstm_forward(gx, h0, c0, w_hh, lens_t, has_len, args_p, peep, hs, cs, gates,
                                         sync=path == "cooperative")
            except cooperative.BarrierTimeout as exc:
                path = _fall_back(exc)
        if path == "persistent":
            persistent.lstm_forward(gx, h0, c0, w_hh, lens_t, has_len, args_p, args_ln, eps,
                                    hs, cs, gates, ghn, stats, peep, ln)
        elif path == "step":
            def chunk(s, e, carry):
                ins = (gx[s:e], _at(hs, s - 1, h0), _at(cs, s - 1, c0), w_hh, _rel(lens_t, s, has_len), *args_p, *args_ln)
                return ins, (hs[s:e], cs[s:e], gates[s:e], ghn[s:e] if ln else ghn, stats[s:e] if ln else stats)

            _loop(_lstm_fwd_steps, T, gx, chunk, False, eps=eps, peep=peep, ln=ln, has_len=has_len)
        ctx.save_for_backward(h0, c0, w_hh, hs, cs, gates, ghn, stats, lens_t, *args_p, *args_ln)
        ctx.flags = (peep, ln, has_len, path)
        ctx.wgrad_dtype = wgrad_dtype
        return hs, cs[-1].clone()

    @staticmethod
    def backward(ctx, d_hs, d_cT):
        h0, c0, w_hh, hs, cs, gates, ghn, stats, lens_t, p_i, p_f, p_o, ln_w, ln_b, lnc_w, lnc_b = ctx.saved_tensors
        peep, ln, has_len, path = ctx.flags
        T, B, H = hs.shape
        d_hs = torch.zeros_like(hs) if d_hs is None else d_hs.contiguous()
        dc = torch.zeros_like(c0) if d_cT is None else d_cT.contiguous().clone()
        dG = hs.new_empty(T, B, 4 * H)
        dGh = hs.new_empty(T, B, 4 * H) if ln else dG
        dcn = hs.new_zeros(T, B, H) if ln else hs.new_zeros(1)
        if path in ("tile", "cooperative"):
            try:
                dh, dc = cooperative.lstm_backward(d_hs, dc, w_hh, gates, cs, c0, lens_t, has_len,
                                                   (p_i, p_f, p_o), peep, dG, sync=path == "cooperative")
            except cooperative.BarrierTimeout as exc:  # dc is untouched (the kernel works on a copy)
                path = _fall_back(exc)
        if path == "persistent":
            dh, dc = persistent.lstm_backward(d_hs, dc, w_hh, gates, cs, c0, lens_t, has_len,
                                              (p_i, p_f, p_o), (ln_w, ghn, stats, lnc_w, lnc_b),
                                              dG, dGh, dcn, peep, ln)
        elif path == "step":
            def chunk(s, e, carry):
                dh_in, dc_in = carry or (torch.zeros_like(h0), dc)
                ins = (d_hs[s:e], dh_in, dc_in, gates[s:e], cs[s:e], _at(cs, s - 1, c0), w_hh, _rel(lens_t, s, has_len),
                       p_i, p_f, p_o, ln_w, ghn[s:e] if ln else ghn, stats[s:e] if ln else stats, lnc_w, lnc_b)
                return ins, (dG[s:e], dGh[s:e], dcn[s:e] if ln else dcn)

            dh, dc = _loop(_lstm_bwd_steps, T, hs, chunk, True, peep=peep, ln=ln, has_len=has_len)
        # the weight and vector-parameter gradients: one large product / reduction each
        h_prev = _prev(hs, h0).reshape(T * B, H)
        d_w_hh = _weight_grad(dGh.reshape(T * B, 4 * H), h_prev, ctx.wgrad_dtype)
        grads_p = [None, None, None]
        if peep:
            c_prev = _prev(cs, c0)
            grads_p = [
                (dG[..., :H] * c_prev).sum((0, 1)),
                (dG[..., H : 2 * H] * c_prev).sum((0, 1)),
                (dG[..., 3 * H :] * cs).sum((0, 1)),
            ]
        grads_ln = [None, None, None, None]
        if ln:
            chat = (cs - stats[..., 1:2]) * stats[..., 2:3]
            grads_ln = [(dG * ghn).sum((0, 1)), dG.sum((0, 1)), (dcn * chat).sum((0, 1)), dcn.sum((0, 1))]
        return (dG, dh, dc, d_w_hh, *grads_p, *grads_ln, None, None, None, None)


# ----------------------------------------------------------------------- GRU
class GRUSequence(torch.autograd.Function):
    """GRU over a sequence: ``gx`` (T, B, 3H) with ``b_ih``; ``b_hh`` (3H) or None."""

    @staticmethod
    def forward(ctx, gx, h0, w_hh, b_hh, lens, path, wgrad_dtype=None):
        T, B, G = gx.shape
        H = G // 3
        gx, h0, w_hh = gx.contiguous(), h0.contiguous(), w_hh.contiguous()
        b = b_hh.contiguous() if b_hh is not None else gx.new_zeros(G)
        lens_t, has_len = _lens_arg(lens, gx)
        hs = gx.new_empty(T, B, H)
        gates = gx.new_empty(T, B, 4 * H)
        persist = path == "persistent"
        if persist:
            persistent.gru_forward(gx, h0, w_hh, b, lens_t, has_len, hs, gates)
        else:
            def chunk(s, e, carry):
                return (gx[s:e], _at(hs, s - 1, h0), w_hh, b, _rel(lens_t, s, has_len)), (hs[s:e], gates[s:e])

            _loop(_gru_fwd_steps, T, gx, chunk, False, has_len=has_len)
        ctx.save_for_backward(h0, w_hh, hs, gates, lens_t)
        ctx.flags = (has_len, persist, b_hh is not None)
        ctx.wgrad_dtype = wgrad_dtype
        return hs

    @staticmethod
    def backward(ctx, d_hs):
        h0, w_hh, hs, gates, lens_t = ctx.saved_tensors
        has_len, persist, has_bias = ctx.flags
        T, B, H = hs.shape
        d_hs = d_hs.contiguous()
        dG = hs.new_empty(T, B, 3 * H)
        dGh = hs.new_empty(T, B, 3 * H)
        if persist:
            dh = persistent.gru_backward(d_hs, w_hh, hs, h0, gates, lens_t, has_len, dG, dGh)
        else:
            def chunk(s, e, carry):
                dh_in = torch.zeros_like(h0) if carry is None else carry
                ins = (d_hs[s:e], dh_in, gates[s:e], hs[s:e], _at(hs, s - 1, h0), w_hh, _rel(lens_t, s, has_len))
                return ins, (dG[s:e], dGh[s:e])

            dh = _loop(_gru_bwd_steps, T, hs, chunk, True, has_len=has_len)
        d_w_hh = _weight_grad(dGh.reshape(T * B, 3 * H), _prev(hs, h0).reshape(T * B, H), ctx.wgrad_dtype)
        d_b = dGh.sum((0, 1)) if has_bias else None
        return dG, dh, d_w_hh, d_b, None, None, None


# ----------------------------------------------------------------------- RNN
class RNNSequence(torch.autograd.Function):
    """Elman RNN over a sequence: ``gx`` (T, B, H) with both biases."""

    @staticmethod
    def forward(ctx, gx, h0, w_hh, lens, relu, path, wgrad_dtype=None):
        T, B, H = gx.shape
        gx, h0, w_hh = gx.contiguous(), h0.contiguous(), w_hh.contiguous()
        lens_t, has_len = _lens_arg(lens, gx)
        hs = gx.new_empty(T, B, H)
        persist = path == "persistent"
        if persist:
            persistent.rnn_forward(gx, h0, w_hh, lens_t, has_len, relu, hs)
        else:
            def chunk(s, e, carry):
                return (gx[s:e], _at(hs, s - 1, h0), w_hh, _rel(lens_t, s, has_len)), (hs[s:e],)

            _loop(_rnn_fwd_steps, T, gx, chunk, False, relu=relu, has_len=has_len)
        ctx.save_for_backward(h0, w_hh, hs, lens_t)
        ctx.flags = (has_len, relu, persist)
        ctx.wgrad_dtype = wgrad_dtype
        return hs

    @staticmethod
    def backward(ctx, d_hs):
        h0, w_hh, hs, lens_t = ctx.saved_tensors
        has_len, relu, persist = ctx.flags
        T, B, H = hs.shape
        d_hs = d_hs.contiguous()
        dG = hs.new_empty(T, B, H)
        if persist:
            dh = persistent.rnn_backward(d_hs, w_hh, hs, lens_t, has_len, relu, dG)
        else:
            def chunk(s, e, carry):
                dh_in = torch.zeros_like(h0) if carry is None else carry
                return (d_hs[s:e], dh_in, hs[s:e], w_hh, _rel(lens_t, s, has_len)), (dG[s:e],)

            dh = _loop(_rnn_bwd_steps, T, hs, chunk, True, relu=relu, has_len=has_len)
        d_w_hh = _weight_grad(dG.reshape(T * B, H), _prev(hs, h0).reshape(T * B, H), ctx.wgrad_dtype)
        return dG, dh, d_w_hh, None, None, None, None


# ------------------------------------------------- the per-step path's loops
#: on a GPU the per-step loops run in chunks of these lengths (largest first),
#: each chunk replayed from a CUDA graph recorded once per shape (graphs.py),
#: so that every sequence length replays the same few recordings; a remainder
#: shorter than the last is launched step by step
GRAPH_CHUNKS = (64, 32, 16, 8)


def _spans(T: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the chunks covering steps ``0..T`` in order."""
    spans, s = [], 0
    for k in GRAPH_CHUNKS:
        while T - s >= k:
            spans.append((s, s + k))
            s += k
    if s < T:
        spans.append((s, T))
    return spans


def _at(seq: Tensor, t: int, before: Tensor) -> Tensor:
    """``seq[t]``, or ``before`` for ``t = -1`` (the state before the first step)."""
    return seq[t] if t >= 0 else before


def _rel(lens_t: Tensor, s: int, has_len: bool) -> Tensor:
    """Lengths counted from step ``s``: a chunk's kernels number their steps from 0."""
    return lens_t - s if has_len and s else lens_t


def _direct(fn, inputs, outputs, **consts):
    return fn(*inputs, *outputs, **consts)


def _loop(fn, T: int, like: Tensor, chunk, reverse: bool, **consts):
    """Run the loop ``fn`` over all ``T`` steps: in one go, or where CUDA graphs
    are on (:func:`graphs.enabled` for ``like``) chunk by chunk, in reverse order
    for a backward loop. ``chunk(start, stop, carry)`` gives a chunk's
    ``(inputs, outputs)``; ``carry`` is what the previous chunk returned (None
    for the first). Returns the last chunk's result."""
    graphed = graphs.enabled(like)
    spans = _spans(T) if graphed else [(0, T)]
    carry = None
    for s, e in reversed(spans) if reverse else spans:
        inputs, outputs = chunk(s, e, carry)
        carry = (graphs.run if graphed and e - s >= GRAPH_CHUNKS[-1] else _direct)(fn, inputs, outputs, **consts)
    return carry


# Each loop reads only its tensor arguments and writes only its outputs, so that
# graphs.run can record it once and replay it (graphs.py: the contract); its
# steps are numbered from 0 (the caller shifts the lengths), the state before
# its first step comes in as an argument, and a backward loop takes the
# gradients carried in from the step after it and returns those it carries out.
def _lstm_fwd_steps(gx, h_before, c_before, w_hh, lens_t, p_i, p_f, p_o, ln_w, ln_b, lnc_w, lnc_b,
                    hs, cs, gates, ghn, stats, *, eps, peep, ln, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, ln, h_before)
    h, c = h_before, c_before
    for t in range(T):
        gh = h @ w_hh.t()  # (B, 4H) the recurrent product
        step_kernels.lstm_fwd_step[grid](
            gx[t], gh, h, c, lens_t, t, p_i, p_f, p_o, ln_w, ln_b, lnc_w, lnc_b,
            hs[t], cs[t], gates[t], ghn[t] if ln else ghn, stats[t] if ln else stats, B, H, eps,
            PEEP=peep, LN=ln, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts,
        )
        h, c = hs[t], cs[t]


def _lstm_bwd_steps(d_hs, dh, dc, gates, cs, c_before, w_hh, lens_t, p_i, p_f, p_o, ln_w, ghn, stats, lnc_w, lnc_b,
                    dG, dGh, dcn, *, peep, ln, has_len):
    """Returns the gradients of the state before the first step; ``dc`` is used as scratch."""
    T, B, H = cs.shape
    bb, bh, grid, opts = _blocks(B, H, ln, dh)
    dc_next = torch.empty_like(dc)
    dh_pass = torch.empty_like(dh)
    for t in range(T - 1, -1, -1):
        step_kernels.lstm_bwd_step[grid](
            d_hs[t], dh, dc, gates[t], cs[t], _at(cs, t - 1, c_before), lens_t, t,
            p_i, p_f, p_o, ln_w, ghn[t] if ln else ghn, stats[t] if ln else stats, lnc_w, lnc_b,
            dG[t], dGh[t], dc_next, dh_pass, dcn[t] if ln else dcn,
            B, H, PEEP=peep, LN=ln, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts,
        )
        dh = torch.addmm(dh_pass, dGh[t], w_hh)  # (B, H) gradient of h_{t-1}
        dc, dc_next = dc_next, dc
    return dh, dc


def _gru_fwd_steps(gx, h_before, w_hh, b, lens_t, hs, gates, *, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, False, h_before)
    h = h_before
    for t in range(T):
        gh = torch.addmm(b, h, w_hh.t())  # (B, 3H)
        step_kernels.gru_fwd_step[grid](gx[t], gh, h, lens_t, t, hs[t], gates[t], B, H,
                                        HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts)
        h = hs[t]


def _gru_bwd_steps(d_hs, dh, gates, hs, h_before, w_hh, lens_t, dG, dGh, *, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, False, dh)
    dh_pass = torch.empty_like(dh)
    for t in range(T - 1, -1, -1):
        step_kernels.gru_bwd_step[grid](d_hs[t], dh, gates[t], _at(hs, t - 1, h_before), lens_t, t, dG[t], dGh[t],
                                        dh_pass, B, H, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts)
        dh = torch.addmm(dh_pass, dGh[t], w_hh)
    return dh


def _rnn_fwd_steps(gx, h_before, w_hh, lens_t, hs, *, relu, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, False, h_before)
    h = h_before
    for t in range(T):
        step_kernels.rnn_fwd_step[grid](gx[t], h @ w_hh.t(), h, lens_t, t, hs[t], B, H,
                                        RELU=relu, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts)
        h = hs[t]


def _rnn_bwd_steps(d_hs, dh, hs, w_hh, lens_t, dG, *, relu, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, False, dh)
    dh_pass = torch.empty_like(dh)
    for t in range(T - 1, -1, -1):
        step_kernels.rnn_bwd_step[grid](d_hs[t], dh, hs[t], lens_t, t, dG[t], dh_pass, B, H,
                                        RELU=relu, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts)
        dh = torch.addmm(dh_pass, dG[t], w_hh)
    return dh
