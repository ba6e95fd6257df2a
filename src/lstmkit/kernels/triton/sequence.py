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


def choose_path(kind: str, B: int, H: int, dtype: torch.dtype, device: torch.device, cooperative_ok: bool) -> str:
    """``persistent`` where W_hh fits one program, else ``cooperative`` where
    allowed and the grid fits the GPU, else ``step``."""
    if path_problem("persistent", kind, B, H, dtype, device) is None:
        return "persistent"
    if cooperative_ok and device.type == "cuda" and path_problem("cooperative", kind, B, H, dtype, device) is None:
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
            graphs.run(_lstm_fwd_steps, (gx, h0, c0, w_hh, lens_t, *args_p, *args_ln), (hs, cs, gates, ghn, stats),
                       eps=eps, peep=peep, ln=ln, has_len=has_len)
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
            dh, dc = graphs.run(_lstm_bwd_steps, (d_hs, dc, gates, cs, c0, h0, w_hh, lens_t, p_i, p_f, p_o,
                                                  ln_w, ghn, stats, lnc_w, lnc_b), (dG, dGh, dcn),
                                peep=peep, ln=ln, has_len=has_len)
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
            graphs.run(_gru_fwd_steps, (gx, h0, w_hh, b, lens_t), (hs, gates), has_len=has_len)
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
            dh = graphs.run(_gru_bwd_steps, (d_hs, gates, hs, h0, w_hh, lens_t), (dG, dGh), has_len=has_len)
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
            graphs.run(_rnn_fwd_steps, (gx, h0, w_hh, lens_t), (hs,), relu=relu, has_len=has_len)
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
            dh = graphs.run(_rnn_bwd_steps, (d_hs, hs, h0, w_hh, lens_t), (dG,), relu=relu, has_len=has_len)
        d_w_hh = _weight_grad(dG.reshape(T * B, H), _prev(hs, h0).reshape(T * B, H), ctx.wgrad_dtype)
        return dG, dh, d_w_hh, None, None, None, None


# ------------------------------------------------- the per-step path's loops
# Each reads only its tensor arguments and writes only its outputs, so that
# graphs.run can record it once and replay it (graphs.py: the contract).
def _lstm_fwd_steps(gx, h0, c0, w_hh, lens_t, p_i, p_f, p_o, ln_w, ln_b, lnc_w, lnc_b,
                    hs, cs, gates, ghn, stats, *, eps, peep, ln, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, ln, h0)
    h, c = h0, c0
    for t in range(T):
        gh = h @ w_hh.t()  # (B, 4H) the recurrent product
        step_kernels.lstm_fwd_step[grid](
            gx[t], gh, h, c, lens_t, t, p_i, p_f, p_o, ln_w, ln_b, lnc_w, lnc_b,
            hs[t], cs[t], gates[t], ghn[t] if ln else ghn, stats[t] if ln else stats, B, H, eps,
            PEEP=peep, LN=ln, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts,
        )
        h, c = hs[t], cs[t]


def _lstm_bwd_steps(d_hs, dc, gates, cs, c0, h0, w_hh, lens_t, p_i, p_f, p_o, ln_w, ghn, stats, lnc_w, lnc_b,
                    dG, dGh, dcn, *, peep, ln, has_len):
    """Returns the gradients of ``h0`` and ``c0``; ``dc`` (the final cell state's) is used as scratch."""
    T, B, H = cs.shape
    bb, bh, grid, opts = _blocks(B, H, ln, h0)
    dh = torch.zeros_like(h0)
    dc_next = torch.empty_like(dc)
    dh_pass = torch.empty_like(dh)
    for t in range(T - 1, -1, -1):
        c_prev = cs[t - 1] if t > 0 else c0
        step_kernels.lstm_bwd_step[grid](
            d_hs[t], dh, dc, gates[t], cs[t], c_prev, lens_t, t,
            p_i, p_f, p_o, ln_w, ghn[t] if ln else ghn, stats[t] if ln else stats, lnc_w, lnc_b,
            dG[t], dGh[t], dc_next, dh_pass, dcn[t] if ln else dcn,
            B, H, PEEP=peep, LN=ln, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts,
        )
        dh = torch.addmm(dh_pass, dGh[t], w_hh)  # (B, H) gradient of h_{t-1}
        dc, dc_next = dc_next, dc
    return dh, dc


def _gru_fwd_steps(gx, h0, w_hh, b, lens_t, hs, gates, *, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, False, h0)
    h = h0
    for t in range(T):
        gh = torch.addmm(b, h, w_hh.t())  # (B, 3H)
        step_kernels.gru_fwd_step[grid](gx[t], gh, h, lens_t, t, hs[t], gates[t], B, H,
                                        HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts)
        h = hs[t]


def _gru_bwd_steps(d_hs, gates, hs, h0, w_hh, lens_t, dG, dGh, *, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, False, h0)
    dh = torch.zeros_like(h0)
    dh_pass = torch.empty_like(dh)
    for t in range(T - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else h0
        step_kernels.gru_bwd_step[grid](d_hs[t], dh, gates[t], h_prev, lens_t, t, dG[t], dGh[t], dh_pass,
                                        B, H, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts)
        dh = torch.addmm(dh_pass, dGh[t], w_hh)
    return dh


def _rnn_fwd_steps(gx, h0, w_hh, lens_t, hs, *, relu, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, False, h0)
    h = h0
    for t in range(T):
        step_kernels.rnn_fwd_step[grid](gx[t], h @ w_hh.t(), h, lens_t, t, hs[t], B, H,
                                        RELU=relu, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts)
        h = hs[t]


def _rnn_bwd_steps(d_hs, hs, h0, w_hh, lens_t, dG, *, relu, has_len):
    T, B, H = hs.shape
    bb, bh, grid, opts = _blocks(B, H, False, h0)
    dh = torch.zeros_like(h0)
    dh_pass = torch.empty_like(dh)
    for t in range(T - 1, -1, -1):
        step_kernels.rnn_bwd_step[grid](d_hs[t], dh, hs[t], lens_t, t, dG[t], dh_pass, B, H,
                                        RELU=relu, HAS_LEN=has_len, BLOCK_B=bb, BLOCK_H=bh, **opts)
        dh = torch.addmm(dh_pass, dG[t], w_hh)
    return dh
