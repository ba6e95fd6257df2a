r"""The CPU engine as PyTorch operators: ``torch.ops.lstmkit.*``.

Every entry into the C++ loops and the oneDNN products is a custom operator
registered with :mod:`torch.library`, with

* a fake (meta) kernel, so ``torch.export``, ``torch.compile`` and the
  dynamo ONNX exporter see one operator per layer and direction, with shapes;
* an autograd formula (:func:`torch.library.register_autograd`), so
  ``torch.func.grad`` and compiled training steps differentiate it; the
  backward itself runs on operators of this module, so AOTAutograd traces
  it too;
* a ``vmap`` rule (one call per vmapped slice), so per-sample gradients
  ``vmap(grad(...))`` work.

Double backward is not implemented: the backward operators raise a clear
error if a gradient of a gradient is asked for (the ``reference`` backend
differentiates any number of times).

The operators never alias their inputs, so they need no functionalization
rules; optional outputs that a configuration does not have are returned as
empty tensors (shape ``(0,)``). Weight packing for oneDNN happens inside the
operators, so no opaque (``mkldnn``) tensor ever crosses an operator boundary.

Operators (``T`` steps, ``B`` rows, ``G`` gate width, ``P`` output size):

================================  =========================================================
``lstmkit::linear``               ``a @ w.T (+ b)``, no autograd (used inside formulas)
``lstmkit::mm_tn``                ``a.T @ b``: a weight gradient over all steps at once
``lstmkit::project_in``           ``x @ w.T + b`` with autograd: the input projection
``lstmkit::lstm_seq``             one LSTM-family layer over a sequence (and its ``_bwd``)
``lstmkit::lstm_fused_seq``       one plain or peephole LSTM layer on the fused loop (and its ``_bwd``)
``lstmkit::lstm_fused_seq_x``     the same with the input projection in the loop's tile
``lstmkit::lstm_ln_fused_seq``    one layer-norm LSTM layer on the fused loop (and its ``_bwd``)
``lstmkit::lstm_ln_fused_seq_x``  the same with the input projection in the loop's tile
``lstmkit::gru_seq``              one GRU layer (and its ``_bwd``)
``lstmkit::rnn_seq``              one Elman RNN layer (and its ``_bwd``)
================================  =========================================================
"""

from __future__ import annotations

import functools
import sys
from typing import Optional

import torch
from torch import Tensor
from torch._functorch import utils as _functorch_utils

from . import _build
from .matmul import linear as _linear_eager
from .matmul import mm_tn as _mm_tn_eager
from .matmul import prepare_weight

_DOUBLE_BACKWARD = (
    "lstmkit cpu engine: double backward (a gradient of a gradient) is not supported by {op}; "
    "run the layer with backend='reference' for higher-order gradients"
)


def _ext():
    ext = _build.load_extension()
    if ext is None:
        raise RuntimeError(f"lstmkit cpu engine: the C++ extension is unavailable ({_build.build_error()})")
    return ext


def _empty(like: Tensor) -> Tensor:
    return like.new_empty((0,))


def _or_empty(t: Tensor | None, like: Tensor) -> Tensor:
    return _empty(like) if t is None else t


def _c(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.contiguous()


class _NoAutocast:
    """Run an operator's body in the dtype it was given: torch's CPU autocast
    would otherwise turn the products inside it into bfloat16."""

    def __enter__(self):
        self.on = torch.is_autocast_enabled("cpu")
        if self.on:
            self.ctx = torch.autocast("cpu", enabled=False)
            self.ctx.__enter__()

    def __exit__(self, *exc):
        if self.on:
            self.ctx.__exit__(*exc)


def _vmap_by_slices(op):
    """A vmap rule that runs ``op`` once per vmapped slice and stacks the results."""

    def rule(info, in_dims, *args):
        outs = []
        for i in range(info.batch_size):
            sliced = [
                a if d is None or not isinstance(a, Tensor) else a.select(d, i) for a, d in zip(args, in_dims)
            ]
            outs.append(op(*sliced))
        if isinstance(outs[0], Tensor):
            return torch.stack(outs), 0
        stacked = tuple(torch.stack(parts) for parts in zip(*outs))
        return stacked, (0,) * len(stacked)

    return rule


def _register(op, fake, autograd=None):
    if fake is not None:
        op.register_fake(fake)
    torch.library.register_vmap(op, _vmap_by_slices(op))
    if autograd is not None:
        op.register_autograd(autograd[1], setup_context=autograd[0])


def _tracing() -> bool:
    """Whether a tracer is running (torch.compile / export, or a dispatch
    mode such as fake tensors): what it sees must be operators, and tensors
    made now may be its own. The compile check comes first: dynamo cannot
    trace the dispatch-stack query."""
    return torch.compiler.is_compiling() or bool(torch._C._len_torch_dispatch_stack())


def _direct_ok(args) -> bool:
    """Whether an operator call may run its implementation directly, past the
    dispatcher: plain eager CPU work, where the custom operator's layers
    (autograd key, redispatch, the implementation's alias checks and its
    dynamo guard) add ~10-20 us a call and decide nothing. Anything that
    must see the operator keeps the dispatcher: torch.compile and export,
    torch.func transforms, dispatch and function modes (fake tensors, flop
    counters), the profiler, autocast, and tensor subclasses other than
    ``nn.Parameter``."""
    if _tracing():
        return False
    if (torch._C._is_torch_function_mode_enabled() or torch.autograd._profiler_enabled()
            or torch._C._are_functorch_transforms_active() or torch.is_autocast_enabled("cpu")):
        return False
    return all(type(a) in _PLAIN or not isinstance(a, Tensor) for a in args)


_PLAIN = (Tensor, torch.nn.Parameter)


def _caller(op):
    """``op(*args)``: its implementation directly where :func:`_direct_ok`,
    else through ``torch.ops``."""
    impl = op._init_fn
    opname = op._name.split("::")[-1]

    def call(*args):
        if _direct_ok(args):
            return impl(*args)
        return getattr(torch.ops.lstmkit, opname)(*args)

    return call


def _first_order(name: str, op):
    """``op`` as an autograd.Function whose own backward raises: the operators
    that compute gradients are used by the formulas below, and a gradient of
    one of them (double backward) is not implemented."""

    run = _caller(op)

    def forward(*args):
        with torch._C._AutoDispatchBelowAutograd():
            return run(*args)

    def setup_context(ctx, inputs, output):
        pass

    def backward(ctx, *grads):
        raise RuntimeError(_DOUBLE_BACKWARD.format(op=f"lstmkit::{name}"))

    fn = type(name, (torch.autograd.Function,), {
        "generate_vmap_rule": True,
        "forward": staticmethod(forward),
        "setup_context": staticmethod(setup_context),
        "backward": staticmethod(backward),
    })

    def call(*args):
        # the operator without a Function: in traced backward graphs (not
        # differentiated again; run goes through torch.ops there), and in a
        # backward without create_graph (nothing to record; see _function)
        if torch.compiler.is_compiling() or (
                not torch.is_grad_enabled() and not torch._C._are_functorch_transforms_active()):
            return run(*args)
        return fn.apply(*args)

    return call


def _no_zero_grads(ctx) -> None:
    """The loop operators return their saved activations as outputs, which
    never get a gradient: without this, autograd fills a zero tensor the size
    of each of them (for a layer-norm LSTM seven of up to (T, B, 4H)) on every
    backward, only for the formula to ignore it. The formulas take ``None``
    for the outputs that are used (the final states, the output)."""
    ctx.set_materialize_grads(False)


# ================================================================== products
@torch.library.custom_op("lstmkit::linear", mutates_args=())
def linear(a: Tensor, w: Tensor, bias: Optional[Tensor]) -> Tensor:
    """``a @ w.T (+ bias)``: oneDNN for large float32 products, else ``addmm``."""
    with _NoAutocast():
        return _linear_eager(a.contiguous(), w.contiguous(), bias)


def _linear_fake(a, w, bias):
    return a.new_empty((a.shape[0], w.shape[0]))


@torch.library.custom_op("lstmkit::mm_tn", mutates_args=())
def mm_tn(a: Tensor, b: Tensor) -> Tensor:
    """``a.T @ b`` for ``a`` ``(N, M)``, ``b`` ``(N, K)``."""
    with _NoAutocast():
        return _mm_tn_eager(a.contiguous(), b.contiguous(), _ext().transposed)


def _mm_tn_fake(a, b):
    return a.new_empty((a.shape[1], b.shape[1]))


_register(linear, _linear_fake)
_register(mm_tn, _mm_tn_fake)
_linear_g = _first_order("linear", linear)
_mm_tn_g = _first_order("mm_tn", mm_tn)


@torch.library.custom_op("lstmkit::project_in", mutates_args=())
def project_in_op(x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:
    """``x @ w.T + b`` for ``x`` ``(N, I)``: every step's input projection at once."""
    with _NoAutocast():
        return _linear_eager(x.contiguous(), w.detach().contiguous(), b)


def _project_in_setup(ctx, inputs, output):
    x, w, b = inputs
    ctx.save_for_backward(x, w)
    ctx.has_bias = b is not None


def _project_in_backward(ctx, dy):
    x, w = ctx.saved_tensors
    need = ctx.needs_input_grad
    dx = _linear_g(dy, w.t(), None) if need[0] else None
    dw = _mm_tn_g(dy, x) if need[1] else None
    db = dy.sum(0) if ctx.has_bias and need[2] else None
    return dx, dw, db


_register(project_in_op, _linear_fake, (_project_in_setup, _project_in_backward))


def project_in(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """``(T, B, I) -> (T, B, G)``."""
    T, B, I = x.shape
    return ProjectIn.apply(x.reshape(T * B, I), w, b).view(T, B, w.shape[0])


# ============================================================= LSTM family
@torch.library.custom_op("lstmkit::lstm_seq", mutates_args=())
def lstm_seq(
    xp: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, w_hr: Optional[Tensor],
    valid: Optional[Tensor], hmask: Optional[Tensor], zh: Optional[Tensor], zh_p: float,
    zc: Optional[Tensor], zc_p: float, peep: Optional[Tensor],
    ln_hh_w: Optional[Tensor], ln_hh_b: Optional[Tensor], ln_c_w: Optional[Tensor], ln_c_b: Optional[Tensor],
    ln_ih: Optional[Tensor], eps: float, save: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
           Tensor, Tensor, Tensor]:
    """One LSTM-family layer over ``xp`` ``(T, B, 4H)``.

    Returns ``out, h_T, c_T`` and the activations the backward needs
    (``gates, cseq, cn, th, hin, hf, rhat, rstd_hh, yhat, rstd_c, xhat,
    rstd_ih``; with ``save=False`` only one step's worth, reused)."""
    B = xp.shape[1]
    with _NoAutocast():
        res = _ext().lstm_forward(
            xp.contiguous(), h0.contiguous(), c0.contiguous(), prepare_weight(w_hh, B),
            None if w_hr is None else prepare_weight(w_hr, B),
            _c(valid), _c(hmask), _c(zh), zh_p, _c(zc), zc_p, _c(peep), _c(ln_hh_w), _c(ln_hh_b), _c(ln_c_w),
            _c(ln_c_b), _c(ln_ih), eps, save,
        )
    return tuple(_or_empty(t, xp) for t in res)


@lstm_seq.register_fake
def _lstm_seq_fake(xp, h0, c0, w_hh, w_hr, valid, hmask, zh, zh_p, zc, zc_p, peep, ln_hh_w, ln_hh_b, ln_c_w,
                   ln_c_b, ln_ih, eps, save):
    T, B, G = xp.shape
    H, P = G // 4, h0.shape[-1]
    TS = T if save else 1
    e = lambda *s: xp.new_empty(s)  # noqa: E731
    return (
        e(T, B, P), e(B, P), e(B, H), e(TS, B, G), e(T + 1 if save else 2, B, H), e(TS, B, H), e(TS, B, H),
        e(TS, B, P),
        e(TS, B, H) if w_hr is not None else e(0),
        e(TS, B, G) if ln_hh_w is not None else e(0), e(TS, B) if ln_hh_w is not None else e(0),
        e(TS, B, H) if ln_c_w is not None else e(0), e(TS, B) if ln_c_w is not None else e(0),
        e(TS, B, G) if ln_ih is not None else e(0), e(TS, B) if ln_ih is not None else e(0),
    )


@torch.library.custom_op("lstmkit::lstm_seq_bwd", mutates_args=())
def lstm_seq_bwd(
    dout: Optional[Tensor], dhT: Tensor, dcT: Tensor, gates: Tensor, cseq: Tensor, cn: Tensor, th: Tensor,
    w_hh: Tensor, w_hr: Optional[Tensor], valid: Optional[Tensor], hmask: Optional[Tensor],
    zh: Optional[Tensor], zh_p: float, zc: Optional[Tensor], zc_p: float, peep: Optional[Tensor],
    ln_hh_w: Optional[Tensor], rhat: Optional[Tensor], rstd_hh: Optional[Tensor], ln_c_w: Optional[Tensor],
    yhat: Optional[Tensor], rstd_c: Optional[Tensor], ln_ih: Optional[Tensor], xhat: Optional[Tensor],
    rstd_ih: Optional[Tensor],
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The reverse loop: ``dA, dR, dhn, dy, dh0, dc0, dX`` (see :mod:`.functions`)."""
    B = gates.shape[1]
    with _NoAutocast():
        res = _ext().lstm_backward(
            _c(dout), dhT.contiguous(), dcT.contiguous(), gates, cseq, cn, th, prepare_weight(w_hh.t(), B),
            None if w_hr is None else prepare_weight(w_hr.t(), B),
            _c(valid), _c(hmask), _c(zh), zh_p, _c(zc), zc_p, _c(peep), _c(ln_hh_w), _c(rhat), _c(rstd_hh),
            _c(ln_c_w), _c(yhat), _c(rstd_c), _c(ln_ih), _c(xhat), _c(rstd_ih),
        )
    return tuple(_or_empty(t, gates) for t in res)


@lstm_seq_bwd.register_fake
def _lstm_seq_bwd_fake(dout, dhT, dcT, gates, cseq, cn, th, w_hh, w_hr, valid, hmask, zh, zh_p, zc, zc_p, peep,
                       ln_hh_w, rhat, rstd_hh, ln_c_w, yhat, rstd_c, ln_ih, xhat, rstd_ih):
    T, B, G = gates.shape
    H, P = G // 4, dhT.shape[-1]
    e = lambda *s: gates.new_empty(s)  # noqa: E731
    return (
        e(T, B, G),
        e(T, B, G) if ln_hh_w is not None else e(0),
        e(T, B, P) if w_hr is not None else e(0),
        e(T, B, H) if ln_c_w is not None else e(0),
        e(B, P), e(B, H),
        e(T, B, G) if ln_ih is not None else e(0),
    )


def _lstm_setup(ctx, inputs, output):
    (xp, h0, c0, w_hh, w_hr, valid, hmask, zh, zh_p, zc, zc_p, peep, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b, ln_ih,
     eps, save) = inputs
    (out, hT, cT, gates, cseq, cn, th, hin, hf, rhat, rstd_hh, yhat, rstd_c, xhat, rstd_ih) = output
    _no_zero_grads(ctx)
    ctx.p = (zh_p, zc_p, save)
    ctx.has = (w_hr is not None, ln_hh_w is not None, ln_c_w is not None, ln_ih is not None)
    ctx.save_for_backward(w_hh, w_hr, valid, hmask, zh, zc, peep, ln_hh_w, ln_c_w, ln_ih, gates, cseq, cn, th, hin,
                          hf, rhat, rstd_hh, yhat, rstd_c, xhat, rstd_ih)


def _lstm_backward(ctx, dout, dhT, dcT, *_):
    (w_hh, w_hr, valid, hmask, zh, zc, peep, ln_hh_w, ln_c_w, ln_ih, gates, cseq, cn, th, hin, hf, rhat, rstd_hh,
     yhat, rstd_c, xhat, rstd_ih) = ctx.saved_tensors
    zh_p, zc_p, save = ctx.p
    if not save:
        raise RuntimeError("lstmkit::lstm_seq: backward through a call that saved no activations (save=False)")
    proj, lnhh, lnc, lnx = ctx.has
    T, B, G = gates.shape
    H, P = G // 4, hin.shape[-1]
    dhT = torch.zeros_like(hin[0]) if dhT is None else dhT
    dcT = torch.zeros_like(cseq[0]) if dcT is None else dcT
    dA, dR, dhn, dy, dh0, dc0, dX = _lstm_seq_bwd_g(
        dout, dhT, dcT, gates, cseq, cn, th, w_hh, w_hr, valid, hmask, zh, zh_p, zc, zc_p, peep,
        ln_hh_w, rhat if lnhh else None, rstd_hh if lnhh else None, ln_c_w, yhat if lnc else None,
        rstd_c if lnc else None, ln_ih, xhat if lnx else None, rstd_ih if lnx else None,
    )
    need = ctx.needs_input_grad
    dR_ = dR if lnhh else dA
    d_whh = _mm_tn_g(dR_.reshape(T * B, G), hin.reshape(T * B, P)) if need[3] else None
    d_whr = _mm_tn_g(dhn.reshape(T * B, P), hf.reshape(T * B, H)) if proj and need[4] else None
    d_peep = None
    if peep is not None and need[11]:
        cprev = cseq[:-1]
        d_peep = torch.stack((
            (dA[..., :H] * cprev).sum((0, 1)),
            (dA[..., H: 2 * H] * cprev).sum((0, 1)),
            (dA[..., 3 * H:] * cn).sum((0, 1)),
        ))
    d_lnih = None
    if lnx and need[16]:
        db = dA.sum((0, 1))
        d_lnih = torch.stack(((dA * xhat).sum((0, 1)), db, db))
    d_lnhh_w = d_lnhh_b = d_lnc_w = d_lnc_b = None
    if lnhh:
        d_lnhh_w = (dA * rhat).sum((0, 1)) if need[12] else None
        d_lnhh_b = dA.sum((0, 1)) if need[13] else None
    if lnc:
        d_lnc_w = (dy * yhat).sum((0, 1)) if need[14] else None
        d_lnc_b = dy.sum((0, 1)) if need[15] else None
    dxp = dX if lnx else dA
    return (dxp, dh0, dc0, d_whh, d_whr, None, None, None, None, None, None, d_peep, d_lnhh_w, d_lnhh_b, d_lnc_w,
            d_lnc_b, d_lnih, None, None)


_register(lstm_seq, _lstm_seq_fake, (_lstm_setup, _lstm_backward))
_register(lstm_seq_bwd, None)
_lstm_seq_bwd_g = _first_order("lstm_seq_bwd", lstm_seq_bwd)


# ================================================ plain LSTM, fused loop
# The plain LSTM (no projection, masks or zoneout) runs the loop of
# csrc/lstm_fused.cpp: the recurrent product and the gates in one register
# tile, gates laid out "interleaved" (unit block, gate, lane); see
# :mod:`.fused` for the layout and the layer built on these operators.
@torch.library.custom_op("lstmkit::lstm_fused_seq", mutates_args=())
def lstm_fused_seq(
    xp: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, valid: Optional[Tensor], save: bool,
    peep: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``xp`` ``(T, B, 4Hp)`` interleaved, biases included; ``w_hh`` ``(4H, H)``
    in torch's order; ``peep`` ``(3, H)`` (the peephole LSTM's ``w_ci``,
    ``w_cf``, ``w_co``) or ``None`` for the plain LSTM. Returns ``out``
    ``(T, B, Hp)`` (``h_1 .. h_T``, padded steps keeping the state), ``h_T``,
    ``c_T`` ``(B, H)`` and, with ``save``, the activations ``(T, B, 4Hp)``
    and the cell states ``(T+1, B, Hp)``."""
    with _NoAutocast():
        out, hT, cT, gates, cseq = _ext().lstm_fused_forward(
            xp.contiguous(), h0.contiguous(), c0.contiguous(), w_hh.detach().contiguous(), _c(valid), save,
            _peep_padded(peep, xp.shape[2] // 4),
        )
    return out, hT, cT, _or_empty(gates if save else None, xp), _or_empty(cseq if save else None, xp)


def _fused_outputs_fake(like: Tensor, T: int, B: int, G: int, H: int, save: bool):
    """The outputs of both plain fused loops: out (padded to ``Hp``), h_T,
    c_T (the layer's ``H``) and, with save, the activations and the cell
    states (else empty)."""
    Hp = G // 4
    e = lambda *s: like.new_empty(s)  # noqa: E731
    return e(T, B, Hp), e(B, H), e(B, H), e(T, B, G) if save else e(0), e(T + 1, B, Hp) if save else e(0)


def _peep_padded(peep: Tensor | None, Hp: int) -> Tensor | None:
    """The peephole weights ``(3, H)`` as the loop reads them: ``(3, Hp)``, zero past ``H``."""
    return None if peep is None else _pad_units(peep.detach(), Hp).contiguous()


def _lstm_fused_seq_fake(xp, h0, c0, w_hh, valid, save, peep=None):
    return _fused_outputs_fake(xp, *xp.shape, w_hh.shape[1], save)


@torch.library.custom_op("lstmkit::lstm_fused_seq_bwd", mutates_args=())
def lstm_fused_seq_bwd(
    dout: Tensor, dhT: Tensor, dcT: Tensor, gates: Tensor, cseq: Tensor, w_hh: Tensor, valid: Optional[Tensor],
    need_dh0: bool, need_db: bool, peep: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The reverse loop: ``dA`` ``(T, B, 4Hp)`` interleaved (the gradient of
    ``xp``), ``dh_0`` (zeros unless ``need_dh0``) and ``dc_0``, ``(B, Hp)``;
    with ``need_db`` the bias gradient ``(4Hp,)`` interleaved, summed inside
    the loop (else empty); with ``peep`` (the forward's, ``(3, H)``) the
    peephole weights' gradient ``(3, H)``, summed inside the loop (else empty)."""
    with _NoAutocast():
        dA, dh0, dc0, db, dp = _ext().lstm_fused_backward(
            dout.contiguous(), dhT.contiguous(), dcT.contiguous(), gates, cseq, w_hh.detach().contiguous(), _c(valid),
            need_dh0, need_db, _peep_padded(peep, gates.shape[2] // 4),
        )
    if peep is not None and dp.shape[1] != peep.shape[1]:
        dp = dp[:, :peep.shape[1]].contiguous()
    return dA, dh0, dc0, db, dp


@lstm_fused_seq_bwd.register_fake
def _lstm_fused_seq_bwd_fake(dout, dhT, dcT, gates, cseq, w_hh, valid, need_dh0, need_db, peep=None):
    T, B, G = gates.shape
    return (gates.new_empty((T, B, G)), gates.new_empty((B, G // 4)), gates.new_empty((B, G // 4)),
            gates.new_empty((G,) if need_db else (0,)), gates.new_empty(tuple(peep.shape) if peep is not None else (0,)))


def _pad_units(t: Tensor, Hp: int) -> Tensor:
    """``t`` ``(B, H)`` with zero units up to ``Hp``."""
    return t if t.shape[-1] == Hp else torch.nn.functional.pad(t, (0, Hp - t.shape[-1]))


def _lstm_fused_setup(ctx, inputs, output):
    xp, h0, c0, w_hh, valid, save, *peep = inputs
    out, hT, cT, gates, cseq = output
    _no_zero_grads(ctx)
    ctx.save_flag = save
    ctx.save_for_backward(h0, w_hh, valid, gates, cseq, out, peep[0] if peep else None)


def _lstm_fused_grads(ctx, saved, dout, dhT, dcT, need_h0, need_c0, need_whh, need_db=False, x=None):
    """The shared part of both fused operators' backward: ``dA`` (the
    gradient of the pre-activations, interleaved), ``dh_0``, ``dc_0``,
    ``dW_hh`` (torch's row order), the bias gradient (interleaved, or
    ``None`` unless ``need_db``), given the input ``x`` (with
    ``need_whh``), ``dW_ih`` (interleaved) from the same product, else
    ``None``, and the peephole weights' gradient ``(3, H)`` (``None`` for
    the plain LSTM)."""
    h0, w_hh, valid, gates, cseq, out, peep = saved
    if not ctx.save_flag:
        raise RuntimeError("lstmkit::lstm_fused_seq: backward through a call that saved no activations (save=False)")
    T, B, G = gates.shape
    Hp, H = G // 4, w_hh.shape[1]
    dout = torch.zeros_like(out) if dout is None else dout
    # h_T and c_T left the loop at the layer's width: their gradients enter it padded
    dhT = torch.zeros_like(cseq[0]) if dhT is None else _pad_units(dhT, Hp)
    dcT = torch.zeros_like(cseq[0]) if dcT is None else _pad_units(dcT, Hp)
    dA, dh0, dc0, db, d_peep = _lstm_fused_seq_bwd_g(dout, dhT, dcT, gates, cseq, w_hh, valid, need_h0, need_db,
                                                     peep)
    d_whh = d_wih = None
    if need_whh and x is not None:  # both weight gradients as one product: dA^T [x_t, h_{t-1}]
        I = x.shape[2]
        dw = _mm_tn_g(dA.reshape(T * B, G), _inputs_and_previous_states(x, h0, out, H).reshape(T * B, I + H))
        d_wih, d_whh = dw[:, :I], dw[:, I:]
    elif need_whh:  # sum_t dA_t^T h_{t-1}: h_0 is an input, h_1 .. h_{T-1} the output
        d_whh = _mm_tn_g(dA[0], h0)
        if T > 1:
            hin = out[:-1].reshape((T - 1) * B, Hp)[:, :H]
            d_whh = d_whh + _mm_tn_g(dA[1:].reshape((T - 1) * B, G), hin)
    if d_whh is not None:
        d_whh = d_whh.index_select(0, interleave_index(H, lane_width(gates.dtype))[1])
    return (dA, dh0[:, :H] if need_h0 else None, dc0[:, :H] if need_c0 else None, d_whh,
            db if need_db else None, d_wih, d_peep if peep is not None else None)


def _inputs_and_previous_states(x: Tensor, h0: Tensor, out: Tensor, H: int) -> Tensor:
    """``[x_t, h_{t-1}]`` ``(T, B, I + H)`` for ``t = 1 .. T``: written once
    into place (two concatenations, the states' and then this one, moved
    the states twice: 4.0 against 1.8 ms at T256 B32 I64 H512)."""
    T, B, I = x.shape
    z = x.new_empty((T, B, I + H))
    z[:, :, :I].copy_(x)
    z[0, :, I:].copy_(h0)
    z[1:, :, I:].copy_(out[:-1, :, :H])
    return z


def _lstm_fused_backward(ctx, dout, dhT, dcT, *_):
    need = ctx.needs_input_grad  # xp, h0, c0, w_hh, valid, save[, peep]
    dA, dh0, dc0, d_whh, _, _, d_peep = _lstm_fused_grads(ctx, ctx.saved_tensors, dout, dhT, dcT, need[1], need[2],
                                                          need[3])
    return (dA, dh0, dc0, d_whh, None, None) + ((d_peep,) if len(need) > 6 else ())


@torch.library.custom_op("lstmkit::lstm_fused_seq_x", mutates_args=())
def lstm_fused_seq_x(
    x: Tensor, w_ih: Tensor, b: Optional[Tensor], h0: Tensor, c0: Tensor, w_hh: Tensor, valid: Optional[Tensor],
    save: bool, peep: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """:func:`lstm_fused_seq` with the input projection computed in the tile:
    ``x`` ``(T, B, I)``; ``w_ih`` ``(4Hp, I)`` and ``b`` ``(4Hp,)`` (``b_ih +
    b_hh``) in the interleaved order. No ``(T, B, 4Hp)`` projection is
    written or read. The same outputs."""
    with _NoAutocast():
        out, hT, cT, gates, cseq = _ext().lstm_fused_forward_x(
            x.contiguous(), w_ih.detach().contiguous(), None if b is None else b.detach().contiguous(),
            h0.contiguous(), c0.contiguous(), w_hh.detach().contiguous(), _c(valid), save,
            _peep_padded(peep, w_ih.shape[0] // 4),
        )
    return out, hT, cT, _or_empty(gates if save else None, x), _or_empty(cseq if save else None, x)


def _lstm_fused_seq_x_fake(x, w_ih, b, h0, c0, w_hh, valid, save, peep=None):
    return _fused_outputs_fake(x, x.shape[0], x.shape[1], w_ih.shape[0], w_hh.shape[1], save)


def _x_setup(ctx, output, x, w_ih, has_bias: bool, h0, w_hh, valid, save, peep) -> None:
    """What both operators with the projection in the tile keep for :func:`_x_grads`."""
    out, hT, cT, gates, cseq = output
    _no_zero_grads(ctx)
    ctx.save_flag = save
    ctx.has_bias = has_bias
    ctx.save_for_backward(h0, w_hh, valid, gates, cseq, out, peep, x, w_ih)


def _lstm_fused_x_setup(ctx, inputs, output):
    x, w_ih, b, h0, c0, w_hh, valid, save, *peep = inputs
    _x_setup(ctx, output, x, w_ih, b is not None, h0, w_hh, valid, save, peep[0] if peep else None)


def _projection_grads(dA: Tensor, x: Tensor, wi: Tensor | None, need_x: bool, need_w: bool):
    """``(dx, dW)`` of an input projection ``x W^T`` computed in a loop's tile,
    from the gradient ``dA`` ``(T, B, G)`` of its output: ``dA W`` and ``dA^T
    x`` over all steps at once; ``wi`` (the weight as the loop took it) is
    read only for ``dx``. ``None`` where not needed."""
    T, B, I = x.shape
    dA2 = dA.reshape(T * B, dA.shape[2])
    dx = _linear_g(dA2, wi.t(), None).view(T, B, I) if need_x else None
    dw = _mm_tn_g(dA2, x.reshape(T * B, I)) if need_w else None
    return dx, dw


def _x_grads(ctx, saved_all, wi: Tensor, dout, dhT, dcT, need_x, need_wi, need_db, need_h0, need_c0, need_whh):
    """The shared backward of the operators with the projection in the tile:
    ``(dx, dW_ih, db, dh_0, dc_0, dW_hh, d_peep)``, ``W_ih`` and the bias in
    the interleaved order (``wi`` the interleaved ``W_ih``); ``None`` where
    not needed."""
    *saved, x, _ = saved_all
    both = need_wi and need_whh
    dA, dh0, dc0, d_whh, db, d_wi, d_peep = _lstm_fused_grads(ctx, saved, dout, dhT, dcT, need_h0, need_c0,
                                                              need_whh, ctx.has_bias and need_db, x if both else None)
    dx, d_wi_alone = _projection_grads(dA, x, wi, need_x, need_wi and not both)
    return dx, d_wi if both else d_wi_alone, db, dh0, dc0, d_whh, d_peep


def _lstm_fused_x_backward(ctx, dout, dhT, dcT, *_):
    need = ctx.needs_input_grad  # x, w_ih, b, h0, c0, w_hh, valid, save[, peep]
    saved = ctx.saved_tensors
    dx, d_wih, db, dh0, dc0, d_whh, d_peep = _x_grads(ctx, saved, saved[-1], dout, dhT, dcT, need[0], need[1],
                                                      need[2], need[3], need[4], need[5])
    return (dx, d_wih, db, dh0, dc0, d_whh, None, None) + ((d_peep,) if len(need) > 8 else ())


def interleaved_rows(w: Tensor, H: int) -> Tensor:
    """``w`` ``(4H, ...)`` with its rows in the loop's interleaved order,
    padded with zero rows to ``4Hp``."""
    fwd, _ = interleave_index(H, lane_width(w.dtype))
    if H % lane_width(w.dtype):  # one zero row at the end, where fwd points the padding
        w = torch.nn.functional.pad(w, (0, 0) * (w.dim() - 1) + (0, 1))
    return w.index_select(0, fwd)


def _interleave_layer_x(x, w_ih, b_ih, b_hh, h0, c0, w_hh, valid, save, peep=None):
    """:data:`LSTMFusedLayerX`'s arguments, torch's row order and two biases,
    as :func:`lstm_fused_seq_x` takes them (interleaved, one bias)."""
    H = w_hh.shape[1]
    bias = b_ih if b_hh is None else (b_hh if b_ih is None else b_ih + b_hh)
    return (x, interleaved_rows(w_ih, H), None if bias is None else interleaved_rows(bias, H), h0, c0, w_hh,
            valid, save, peep)


def _lstm_layer_x_setup(ctx, inputs, output):
    x, w_ih, b_ih, b_hh, h0, c0, w_hh, valid, save, *peep = inputs
    _x_setup(ctx, output, x, w_ih, b_ih is not None or b_hh is not None, h0, w_hh, valid, save,
             peep[0] if peep else None)


def _lstm_layer_x_backward(ctx, dout, dhT, dcT, *_):
    """:func:`_lstm_fused_x_backward` for weights in torch's row order: the
    gradients of ``W_ih`` and of both biases gathered back from the
    interleaved ones here, where the interleaving outside the operator cost
    three graph nodes (two ``index_select`` and the biases' sum) and their
    backward (zeros and ``index_add``), ~20 us of a 0.4 ms training call."""
    need = ctx.needs_input_grad  # x, w_ih, b_ih, b_hh, h0, c0, w_hh, valid, save[, peep]
    saved = ctx.saved_tensors
    w_ih, H = saved[-1], saved[1].shape[1]
    wi = interleaved_rows(w_ih.detach(), H) if need[0] else None
    dx, d_wi, db, dh0, dc0, d_whh, d_peep = _x_grads(ctx, saved, wi, dout, dhT, dcT, need[0], need[1],
                                                     need[2] or need[3], need[4], need[5], need[6])
    inv = interleave_index(H, lane_width(w_ih.dtype))[1]
    d_wih = d_wi.index_select(0, inv) if d_wi is not None else None
    d_b = db.index_select(0, inv) if db is not None else None
    return ((dx, d_wih, d_b if need[2] else None, d_b if need[3] else None, dh0, dc0, d_whh, None, None)
            + ((d_peep,) if len(need) > 9 else ()))


# ========================================== layer-norm LSTM, fused loop
# The layer-norm LSTM with H a multiple of the lane width runs the loop of
# csrc/lstm_ln_fused.cpp on the plain loop's tiles, same interleaved layout;
# see :mod:`.fused_ln` for the layer built on these operators.
@torch.library.custom_op("lstmkit::lstm_ln_fused_seq", mutates_args=())
def lstm_ln_fused_seq(
    xp: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, ln_ih_w: Tensor, ln_hh_w: Tensor, beta: Tensor,
    ln_c_w: Tensor, ln_c_b: Tensor, valid: Optional[Tensor], eps: float, save: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``xp`` ``(T, B, 4H)`` interleaved, the raw input projection; ``w_hh``
    ``(4H, H)`` in torch's order; ``ln_ih_w``, ``ln_hh_w`` ``(4H,)``
    interleaved; ``beta`` ``(4H,)`` interleaved, both norms' biases and
    ``b_ih + b_hh`` summed; ``ln_c_*`` ``(H,)``. Returns ``out`` ``(T, B, H)``
    (``h_1 .. h_T``, padded steps keeping the state), ``h_T``, ``c_T`` and,
    with ``save``, the activations ``(T, B, 4H)``, the cell states
    ``(T+1, B, H)``, the normalised recurrent products ``(T, B, 4H)`` and per
    row ``1/std`` of the product, mean and ``1/std`` of ``c_t`` and of
    ``xp_t`` ``(T, B, 5)``."""
    with _NoAutocast():
        res = _ext().lstm_ln_fused_forward(
            xp.contiguous(), h0.contiguous(), c0.contiguous(), w_hh.detach().contiguous(),
            ln_ih_w.detach().contiguous(), ln_hh_w.detach().contiguous(), beta.detach().contiguous(),
            ln_c_w.detach().contiguous(), ln_c_b.detach().contiguous(), _c(valid), eps, save,
        )
    return tuple(res[:3]) + tuple(_or_empty(t if save else None, xp) for t in res[3:7])


def _lstm_ln_fused_seq_fake(xp, h0, c0, w_hh, ln_ih_w, ln_hh_w, beta, ln_c_w, ln_c_b, valid, eps, save):
    T, B, G = xp.shape
    H = G // 4
    e = lambda *s: xp.new_empty(s)  # noqa: E731
    if not save:
        return e(T, B, H), e(B, H), e(B, H), e(0), e(0), e(0), e(0)
    return e(T, B, H), e(B, H), e(B, H), e(T, B, G), e(T + 1, B, H), e(T, B, G), e(T, B, 5)


@torch.library.custom_op("lstmkit::lstm_ln_fused_seq_bwd", mutates_args=())
def lstm_ln_fused_seq_bwd(
    dout: Tensor, dhT: Tensor, dcT: Tensor, xp: Tensor, gates: Tensor, cseq: Tensor, rn: Tensor, stats: Tensor,
    w_hh: Tensor, ln_ih_w: Tensor, ln_hh_w: Tensor, ln_c_w: Tensor, ln_c_b: Tensor, valid: Optional[Tensor],
    need_dh0: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The reverse loop: ``dX`` ``(T, B, 4H)`` interleaved (the gradient of
    ``xp``), ``dR`` (of the raw recurrent product, for ``dW_hh``), ``dh_0``
    (zeros unless ``need_dh0``), ``dc_0``, and the gradients of ``ln_ih_w``,
    ``ln_hh_w``, ``beta`` (interleaved), ``ln_c_w`` and ``ln_c_b``."""
    with _NoAutocast():
        res = _ext().lstm_ln_fused_backward(
            dout.contiguous(), dhT.contiguous(), dcT.contiguous(), xp.contiguous(), gates, cseq, rn, stats,
            w_hh.detach().contiguous(), ln_ih_w.detach().contiguous(), ln_hh_w.detach().contiguous(),
            ln_c_w.detach().contiguous(), ln_c_b.detach().contiguous(), _c(valid), need_dh0,
        )
    return tuple(res)


@lstm_ln_fused_seq_bwd.register_fake
def _lstm_ln_fused_seq_bwd_fake(dout, dhT, dcT, xp, gates, cseq, rn, stats, w_hh, ln_ih_w, ln_hh_w, ln_c_w, ln_c_b,
                                valid, need_dh0):
    T, B, G = gates.shape
    H = G // 4
    e = lambda *s: gates.new_empty(s)  # noqa: E731
    return e(T, B, G), e(T, B, G), e(B, H), e(B, H), e(G), e(G), e(G), e(H), e(H)


def _lstm_ln_fused_setup(ctx, inputs, output):
    xp, h0, c0, w_hh, ln_ih_w, ln_hh_w, beta, ln_c_w, ln_c_b, valid, eps, save = inputs
    out, hT, cT, gates, cseq, rn, stats = output
    _no_zero_grads(ctx)
    ctx.save_flag = save
    ctx.save_for_backward(xp, h0, w_hh, ln_ih_w, ln_hh_w, ln_c_w, ln_c_b, valid, gates, cseq, rn, stats, out)


def _lstm_ln_fused_grads(ctx, saved, dout, dhT, dcT, need):
    """The shared part of both layer-norm operators' backward: the gradients
    of ``(xp, h0, c0, w_hh, ln_ih_w, ln_hh_w, beta, ln_c_w, ln_c_b)`` where
    ``need`` (nine flags, in that order) asks for them, else ``None``."""
    xp, h0, w_hh, ln_ih_w, ln_hh_w, ln_c_w, ln_c_b, valid, gates, cseq, rn, stats, out = saved
    if not ctx.save_flag:
        raise RuntimeError(
            "lstmkit::lstm_ln_fused_seq: backward through a call that saved no activations (save=False)"
        )
    T, B, G = gates.shape
    H = G // 4
    dout = torch.zeros_like(out) if dout is None else dout
    dhT = torch.zeros_like(cseq[0]) if dhT is None else dhT
    dcT = torch.zeros_like(cseq[0]) if dcT is None else dcT
    dX, dR, dh0, dc0, d_gih, d_ghh, d_beta, d_gc, d_bc = _lstm_ln_fused_seq_bwd_g(
        dout, dhT, dcT, xp, gates, cseq, rn, stats, w_hh, ln_ih_w, ln_hh_w, ln_c_w, ln_c_b, valid, need[1],
    )
    d_whh = None
    if need[3]:  # sum_t dR_t^T h_{t-1}: h_0 is an input, h_1 .. h_{T-1} the output
        d_whh = _mm_tn_g(dR[0], h0)
        if T > 1:
            d_whh = d_whh + _mm_tn_g(dR[1:].reshape((T - 1) * B, G), out[:-1].reshape((T - 1) * B, H))
        d_whh = d_whh.index_select(0, interleave_index(H, lane_width(gates.dtype))[1])
    keep = lambda g, i: g if need[i] else None  # noqa: E731
    return (dX if need[0] else None, keep(dh0, 1), keep(dc0, 2), d_whh, keep(d_gih, 4), keep(d_ghh, 5),
            keep(d_beta, 6), keep(d_gc, 7), keep(d_bc, 8))


def _lstm_ln_fused_backward(ctx, dout, dhT, dcT, *_):
    return _lstm_ln_fused_grads(ctx, ctx.saved_tensors, dout, dhT, dcT, ctx.needs_input_grad[:9]) + (None,) * 3


@torch.library.custom_op("lstmkit::lstm_ln_fused_seq_x", mutates_args=())
def lstm_ln_fused_seq_x(
    x: Tensor, w_ih: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, ln_ih_w: Tensor, ln_hh_w: Tensor, beta: Tensor,
    ln_c_w: Tensor, ln_c_b: Tensor, valid: Optional[Tensor], eps: float, save: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """:func:`lstm_ln_fused_seq` with the input projection computed in the
    loop's tile: ``x`` ``(T, B, I)``, ``w_ih`` ``(4H, I)`` in the interleaved
    order; each step's ``x_t W_ih^T`` is a second product of the tile's rows
    (kept apart from the recurrent one: each side has its own norm), so no
    ``(T, B, 4H)`` projection is written and read when nothing is saved. The
    same outputs and, with ``save``, the raw input projection ``(T, B, 4H)``
    that the backward reads."""
    with _NoAutocast():
        res = _ext().lstm_ln_fused_forward_x(
            x.contiguous(), w_ih.detach().contiguous(), h0.contiguous(), c0.contiguous(), w_hh.detach().contiguous(),
            ln_ih_w.detach().contiguous(), ln_hh_w.detach().contiguous(), beta.detach().contiguous(),
            ln_c_w.detach().contiguous(), ln_c_b.detach().contiguous(), _c(valid), eps, save,
        )
    return tuple(res[:3]) + tuple(_or_empty(t if save else None, x) for t in res[3:])


def _lstm_ln_fused_seq_x_fake(x, w_ih, h0, c0, w_hh, ln_ih_w, ln_hh_w, beta, ln_c_w, ln_c_b, valid, eps, save):
    T, B, _ = x.shape
    G = w_ih.shape[0]
    like = x.new_empty((T, B, G))
    e = x.new_empty
    return _lstm_ln_fused_seq_fake(like, h0, c0, w_hh, ln_ih_w, ln_hh_w, beta, ln_c_w, ln_c_b, valid, eps, save) + (
        e((T, B, G) if save else (0,)),)


def _lstm_ln_fused_x_setup(ctx, inputs, output):
    x, w_ih, h0, c0, w_hh, ln_ih_w, ln_hh_w, beta, ln_c_w, ln_c_b, valid, eps, save = inputs
    out, hT, cT, gates, cseq, rn, stats, xp = output
    _no_zero_grads(ctx)
    ctx.save_flag = save
    ctx.save_for_backward(xp, h0, w_hh, ln_ih_w, ln_hh_w, ln_c_w, ln_c_b, valid, gates, cseq, rn, stats, out, x, w_ih)


def _lstm_ln_fused_x_backward(ctx, dout, dhT, dcT, *_):
    *saved, x, w_ih = ctx.saved_tensors
    need = ctx.needs_input_grad
    need_dx = need[0] or need[1]
    grads = _lstm_ln_fused_grads(ctx, saved, dout, dhT, dcT, (need_dx,) + tuple(need[2:10]))
    dx, d_wih = _projection_grads(grads[0], x, w_ih, need[0], need[1])
    return (dx, d_wih) + grads[1:] + (None,) * 3


def _interleave_ln_layer_x(x, w_ih, h0, c0, w_hh, ln_ih_w, ln_hh_w, ln_ih_b, ln_hh_b, b_ih, b_hh, ln_c_w, ln_c_b,
                           valid, eps, save):
    """:data:`LSTMLnFusedLayerX`'s arguments, the cell's parameters in torch's
    row order, as :func:`lstm_ln_fused_seq_x` takes them: ``W_ih`` and the two
    gains interleaved, the four biases summed into ``beta`` (interleaved)."""
    fwd = interleave_index(w_hh.shape[1], lane_width(x.dtype))[0]
    beta = ln_ih_b + ln_hh_b
    for b in (b_ih, b_hh):
        if b is not None:
            beta = beta + b
    return (x, w_ih.index_select(0, fwd), h0, c0, w_hh, ln_ih_w.index_select(0, fwd), ln_hh_w.index_select(0, fwd),
            beta.index_select(0, fwd), ln_c_w, ln_c_b, valid, eps, save)


def _ln_layer_x_setup(ctx, inputs, output):
    (x, w_ih, h0, c0, w_hh, ln_ih_w, ln_hh_w, ln_ih_b, ln_hh_b, b_ih, b_hh, ln_c_w, ln_c_b, valid, eps,
     save) = inputs
    out, hT, cT, gates, cseq, rn, stats, xp = output
    _no_zero_grads(ctx)
    ctx.save_flag = save
    ctx.save_for_backward(xp, h0, w_hh, ln_ih_w, ln_hh_w, ln_c_w, ln_c_b, valid, gates, cseq, rn, stats, out, x, w_ih)


def _ln_layer_x_backward(ctx, dout, dhT, dcT, *_):
    """:func:`_lstm_ln_fused_x_backward` for parameters in torch's row order:
    the gains are interleaved again here for the loop, and the gradients of
    ``W_ih``, both gains and the four biases (one sum in the loop: each
    bias's gradient is that sum) gathered back, where the interleaving and
    the biases' sum outside the operator cost seven graph nodes a layer and
    their backward."""
    xp, h0, w_hh, ln_ih_w, ln_hh_w, ln_c_w, ln_c_b, valid, gates, cseq, rn, stats, out, x, w_ih = ctx.saved_tensors
    # x, w_ih, h0, c0, w_hh, ln_ih_w, ln_hh_w, ln_ih_b, ln_hh_b, b_ih, b_hh, ln_c_w, ln_c_b, valid, eps, save
    need = ctx.needs_input_grad
    fwd, inv = interleave_index(w_hh.shape[1], lane_width(x.dtype))
    gih, ghh = ln_ih_w.detach().index_select(0, fwd), ln_hh_w.detach().index_select(0, fwd)
    need_beta = any(need[7:11])
    saved = (xp, h0, w_hh, gih, ghh, ln_c_w, ln_c_b, valid, gates, cseq, rn, stats, out)
    dX, dh0, dc0, d_whh, d_gih, d_ghh, d_beta, d_gc, d_bc = _lstm_ln_fused_grads(
        ctx, saved, dout, dhT, dcT, (need[0] or need[1], need[2], need[3], need[4], need[5], need[6], need_beta,
                                     need[11], need[12]))
    wi = w_ih.detach().index_select(0, fwd) if need[0] else None
    dx, d_wi = _projection_grads(dX, x, wi, need[0], need[1])
    back = lambda g: None if g is None else g.index_select(0, inv)  # noqa: E731
    d_b = back(d_beta)
    return (dx, back(d_wi), dh0, dc0, d_whh, back(d_gih), back(d_ghh)) + tuple(d_b if need[i] else None
                                                                          for i in range(7, 11)) + (
        d_gc, d_bc, None, None, None)


def _mark_constant(fn):
    """``torch.compiler.assume_constant_result`` without importing
    ``torch._dynamo``: the public decorator imports it (1.3-1.6 s, the most of
    a first use of the engine, measured on 2026-12-03) to set one attribute
    that dynamo reads when it traces the function, so a user who never
    compiles paid for the compiler. Where dynamo is loaded already, the public
    decorator; ``tests/test_toolchain.py`` checks that the two mark a function
    alike."""
    if "torch._dynamo" in sys.modules:
        return torch.compiler.assume_constant_result(fn)
    return _constant_mark(fn)


def _constant_mark(fn):
    """The mark ``torch.compiler.assume_constant_result`` sets (so in torch 2.13; a test compares the two)."""
    fn._dynamo_marked_constant = True
    return fn


@_mark_constant
def lane_width(dtype: torch.dtype) -> int:
    """Lanes per vector of the fused loop for ``dtype`` (16 floats with
    AVX-512, 8 with AVX2): the unit block of the interleaved layout. A
    constant to ``torch.compile`` (else its first call, a call into the
    extension, would break the graph)."""
    key = dtype == torch.float64
    if key not in _LANES:
        _LANES[key] = int(_ext().lane_width(key))
    return _LANES[key]


_LANES: dict[bool, int] = {}


def tile_rows() -> int:
    """The most batch rows one register tile of the fused loops takes (6 with
    AVX-512, 3 with AVX2): a batch of more rows has several row blocks, which
    the threads may share by rows instead of by weight panels."""
    return int(_ext().tile_rows())


def interleave_index(H: int, L: int) -> tuple[Tensor, Tensor]:
    """Index maps between torch's gate order (4H rows: i, f, g, o blocks) and
    the interleaved order (unit block u, gate, lane l) of width 4Hp:
    ``fwd[p]`` is the torch row at interleaved position ``p`` (``4H`` for a
    padding position: a zero row appended by the caller); ``inv[r]`` the
    position of torch row ``r``. Cached in plain eager work only: under
    ``torch.inference_mode`` the tensors would be inference tensors, which a
    later training step's ``index_select`` may not save for its backward, and
    under compile or export tracing (a dispatch mode such as fake tensors)
    they would be the tracer's."""
    if _tracing() or torch.is_inference_mode_enabled():
        return _interleave_index(H, L)
    return _interleave_index_cached(H, L)


def _interleave_index(H: int, L: int) -> tuple[Tensor, Tensor]:
    Hp = (H + L - 1) // L * L
    p = torch.arange(4 * Hp)
    u, gate, lane = p // (4 * L), (p // L) % 4, p % L
    unit = u * L + lane
    fwd = torch.where(unit < H, gate * H + unit, torch.full_like(p, 4 * H))
    r = torch.arange(4 * H)  # arithmetic, not a boolean index: torch.compile keeps one graph
    gate, unit = r // H, r % H
    inv = (unit // L) * (4 * L) + gate * L + unit % L
    return fwd, inv


_interleave_index_cached = functools.lru_cache(maxsize=64)(_interleave_index)


# ======================================================================== GRU
@torch.library.custom_op("lstmkit::gru_seq", mutates_args=())
def gru_seq(
    xp: Tensor, h0: Tensor, w_hh: Tensor, b_hn: Optional[Tensor], valid: Optional[Tensor],
    hmask: Optional[Tensor], zh: Optional[Tensor], zh_p: float, save: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """One GRU layer: ``out, h_T, gates (r, z, n), rn, hin``."""
    B = xp.shape[1]
    with _NoAutocast():
        res = _ext().gru_forward(
            xp.contiguous(), h0.contiguous(), prepare_weight(w_hh, B), _c(b_hn), _c(valid), _c(hmask), _c(zh), zh_p,
            save,
        )
    return tuple(res)


def _gru_seq_fake(xp, h0, w_hh, b_hn, valid, hmask, zh, zh_p, save):
    T, B, G = xp.shape
    H = G // 3
    TS = T if save else 1
    e = lambda *s: xp.new_empty(s)  # noqa: E731
    return e(T, B, H), e(B, H), e(TS, B, G), e(TS, B, H), e(TS, B, H)


@torch.library.custom_op("lstmkit::gru_seq_bwd", mutates_args=())
def gru_seq_bwd(
    dout: Optional[Tensor], dhT: Tensor, gates: Tensor, rn: Tensor, hin: Tensor, w_hh: Tensor,
    valid: Optional[Tensor], hmask: Optional[Tensor], zh: Optional[Tensor], zh_p: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """The GRU's reverse loop: ``dxp, dR, dh0``."""
    B = gates.shape[1]
    with _NoAutocast():
        res = _ext().gru_backward(
            _c(dout), dhT.contiguous(), gates, rn, hin, prepare_weight(w_hh.t(), B), _c(valid), _c(hmask), _c(zh),
            zh_p,
        )
    return tuple(res)


@gru_seq_bwd.register_fake
def _gru_seq_bwd_fake(dout, dhT, gates, rn, hin, w_hh, valid, hmask, zh, zh_p):
    return torch.empty_like(gates), torch.empty_like(gates), torch.empty_like(dhT)


def _gru_setup(ctx, inputs, output):
    xp, h0, w_hh, b_hn, valid, hmask, zh, zh_p, save = inputs
    out, hT, gates, rn, hin = output
    _no_zero_grads(ctx)
    ctx.p = (zh_p, save, b_hn is not None)
    ctx.save_for_backward(w_hh, valid, hmask, zh, gates, rn, hin)


def _gru_backward(ctx, dout, dhT, *_):
    w_hh, valid, hmask, zh, gates, rn, hin = ctx.saved_tensors
    zh_p, save, has_bias = ctx.p
    if not save:
        raise RuntimeError("lstmkit::gru_seq: backward through a call that saved no activations (save=False)")
    T, B, G = gates.shape
    H = G // 3
    dhT = torch.zeros_like(hin[0]) if dhT is None else dhT
    dxp, dR, dh0 = _gru_seq_bwd_g(dout, dhT, gates, rn, hin, w_hh, valid, hmask, zh, zh_p)
    need = ctx.needs_input_grad
    d_whh = _mm_tn_g(dR.reshape(T * B, G), hin.reshape(T * B, H)) if need[2] else None
    d_bhn = dR[..., 2 * H:].sum((0, 1)) if has_bias and need[3] else None
    return dxp, dh0, d_whh, d_bhn, None, None, None, None, None


_register(lstm_fused_seq, _lstm_fused_seq_fake, (_lstm_fused_setup, _lstm_fused_backward))
_register(lstm_fused_seq_x, _lstm_fused_seq_x_fake, (_lstm_fused_x_setup, _lstm_fused_x_backward))
_register(lstm_fused_seq_bwd, None)
_lstm_fused_seq_bwd_g = _first_order("lstm_fused_seq_bwd", lstm_fused_seq_bwd)
_register(lstm_ln_fused_seq, _lstm_ln_fused_seq_fake, (_lstm_ln_fused_setup, _lstm_ln_fused_backward))
_register(lstm_ln_fused_seq_x, _lstm_ln_fused_seq_x_fake, (_lstm_ln_fused_x_setup, _lstm_ln_fused_x_backward))
_register(lstm_ln_fused_seq_bwd, None)
_lstm_ln_fused_seq_bwd_g = _first_order("lstm_ln_fused_seq_bwd", lstm_ln_fused_seq_bwd)
_register(gru_seq, _gru_seq_fake, (_gru_setup, _gru_backward))
_register(gru_seq_bwd, None)
_gru_seq_bwd_g = _first_order("gru_seq_bwd", gru_seq_bwd)


# ======================================================================== RNN
@torch.library.custom_op("lstmkit::rnn_seq", mutates_args=())
def rnn_seq(
    xp: Tensor, h0: Tensor, w_hh: Tensor, relu: bool, valid: Optional[Tensor], hmask: Optional[Tensor],
    zh: Optional[Tensor], zh_p: float, save: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One Elman RNN layer: ``out, h_T, hn, hin``."""
    B = xp.shape[1]
    with _NoAutocast():
        res = _ext().rnn_forward(
            xp.contiguous(), h0.contiguous(), prepare_weight(w_hh, B), relu, _c(valid), _c(hmask), _c(zh), zh_p, save,
        )
    return tuple(res)


def _rnn_seq_fake(xp, h0, w_hh, relu, valid, hmask, zh, zh_p, save):
    T, B, H = xp.shape
    TS = T if save else 1
    e = lambda *s: xp.new_empty(s)  # noqa: E731
    return e(T, B, H), e(B, H), e(TS, B, H), e(TS, B, H)


@torch.library.custom_op("lstmkit::rnn_seq_bwd", mutates_args=())
def rnn_seq_bwd(
    dout: Optional[Tensor], dhT: Tensor, hn: Tensor, w_hh: Tensor, relu: bool, valid: Optional[Tensor],
    hmask: Optional[Tensor], zh: Optional[Tensor], zh_p: float,
) -> tuple[Tensor, Tensor]:
    """The RNN's reverse loop: ``dA, dh0``."""
    B = hn.shape[1]
    with _NoAutocast():
        res = _ext().rnn_backward(
            _c(dout), dhT.contiguous(), hn, prepare_weight(w_hh.t(), B), relu, _c(valid), _c(hmask), _c(zh), zh_p,
        )
    return tuple(res)


@rnn_seq_bwd.register_fake
def _rnn_seq_bwd_fake(dout, dhT, hn, w_hh, relu, valid, hmask, zh, zh_p):
    return torch.empty_like(hn), torch.empty_like(dhT)


def _rnn_setup(ctx, inputs, output):
    xp, h0, w_hh, relu, valid, hmask, zh, zh_p, save = inputs
    out, hT, hn, hin = output
    _no_zero_grads(ctx)
    ctx.p = (relu, zh_p, save)
    ctx.save_for_backward(w_hh, valid, hmask, zh, hn, hin)


def _rnn_backward(ctx, dout, dhT, *_):
    w_hh, valid, hmask, zh, hn, hin = ctx.saved_tensors
    relu, zh_p, save = ctx.p
    if not save:
        raise RuntimeError("lstmkit::rnn_seq: backward through a call that saved no activations (save=False)")
    T, B, H = hn.shape
    dhT = torch.zeros_like(hin[0]) if dhT is None else dhT
    dA, dh0 = _rnn_seq_bwd_g(dout, dhT, hn, w_hh, relu, valid, hmask, zh, zh_p)
    d_whh = _mm_tn_g(dA.reshape(T * B, H), hin.reshape(T * B, H)) if ctx.needs_input_grad[2] else None
    return dA, dh0, d_whh, None, None, None, None, None, None


_register(rnn_seq, _rnn_seq_fake, (_rnn_setup, _rnn_backward))
_register(rnn_seq_bwd, None)
_rnn_seq_bwd_g = _first_order("rnn_seq_bwd", rnn_seq_bwd)


# ============================================== autograd.Function entry points
# torch 2.13's register_autograd builds an autograd.Function without a
# separate setup_context, which torch.func refuses (pytorch/pytorch#170834).
# The layers therefore enter the operators through these functions: the same
# formulas, in the form torch.func accepts (vmap through the operators' own
# vmap rules). Eager autograd, torch.compile and torch.export see the same
# operators either way.
def _function(name: str, op, setup, backward, prepare=None):
    """An autograd.Function around ``op`` (its formula ``setup``/``backward``).
    ``prepare`` maps the Function's arguments to the operator's, below
    autograd (work that would otherwise add graph nodes of its own)."""
    run = _caller(op)
    if prepare is not None:
        op_run = run

        def run(*args):
            return op_run(*prepare(*args))

    def forward(*args):
        if torch.compiler.is_compiling():  # traced below autograd already
            return run(*args)
        with torch._C._AutoDispatchBelowAutograd():  # the formula is this Function's, not the operator's
            return run(*args)

    cls = type(
        name,
        (torch.autograd.Function,),
        {
            "generate_vmap_rule": True,
            "forward": staticmethod(forward),
            "setup_context": staticmethod(setup),
            "backward": staticmethod(backward),
        },
    )
    through_function = cls.apply
    record = super(torch.autograd.Function, cls).apply  # the graph node, below Function.apply's argument binding

    def apply(*args):
        # Function.apply binds its arguments by inspect.signature on every
        # call (~50 us, a tenth of a small layer's inference, a fifth of a
        # tiny training step's Python) before it records the node; forward
        # takes *args, so that binding is the identity and is skipped here.
        # Without a gradient to record, the operator itself; under compile
        # and torch.func, Function.apply as it is.
        if torch.compiler.is_compiling() or torch._C._are_functorch_transforms_active():
            return through_function(*args)
        if torch.is_grad_enabled():
            return record(*_functorch_utils.unwrap_dead_wrappers(args))
        return run(*args)

    cls.apply = staticmethod(apply)
    return cls


ProjectIn = _function("ProjectIn", project_in_op, _project_in_setup, _project_in_backward)
LSTMSeq = _function("LSTMSeq", lstm_seq, _lstm_setup, _lstm_backward)
LSTMFusedSeq = _function("LSTMFusedSeq", lstm_fused_seq, _lstm_fused_setup, _lstm_fused_backward)
LSTMFusedLayerX = _function("LSTMFusedLayerX", lstm_fused_seq_x, _lstm_layer_x_setup, _lstm_layer_x_backward,
                            prepare=_interleave_layer_x)
LSTMLnFusedSeq = _function("LSTMLnFusedSeq", lstm_ln_fused_seq, _lstm_ln_fused_setup, _lstm_ln_fused_backward)
LSTMLnFusedLayerX = _function("LSTMLnFusedLayerX", lstm_ln_fused_seq_x, _ln_layer_x_setup, _ln_layer_x_backward,
                              prepare=_interleave_ln_layer_x)
GRUSeq = _function("GRUSeq", gru_seq, _gru_setup, _gru_backward)
RNNSeq = _function("RNNSeq", rnn_seq, _rnn_setup, _rnn_backward)
