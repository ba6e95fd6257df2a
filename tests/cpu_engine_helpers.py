"""Checks shared by the cpu engine's test files (imported, not collected).

``forced_hand_over`` runs a layer twice on a two-thread team, the second time
forcing the fused loops' hand-over to thread 0 at a chosen step;
``check_compiled_step`` compares a compiled training step with eager ones;
``check_per_sample_grads`` compares torch.func's per-sample gradients with
one eager backward per sample.
"""

from __future__ import annotations

import contextlib
import copy

import torch


@contextlib.contextmanager
def backoff_off(ext):
    """The engine's thread back-off rule off (and its state cleared before
    and after): a team of two stays a team of two, however small the steps."""
    ext.thread_backoff_reset()
    was_on = ext.thread_backoff_enable(False)
    try:
        yield
    finally:
        ext.thread_backoff_enable(was_on)
        ext.thread_backoff_reset()


@contextlib.contextmanager
def streamed(ext):
    """Every value a forward saves for the backward written past the caches
    (``stream_saved`` in csrc/fused_tile.h; by the rule only calls whose
    saved values outgrow half the L3 stream them, far larger than a test's)."""
    was = ext.force_stream_saved(0)
    try:
        yield
    finally:
        ext.force_stream_saved(was)


def forced_hand_over(ext, run, step: int):
    """``run()`` on 2 threads, then again with the hand-over forced after
    ``step``; returns both results and how many teams handed over.

    The timing rule is off meanwhile: steps this small can make a team wait
    for real and back off to one thread by itself (then there is no team and
    nothing to hand over), so only the forced hand-over is tested."""
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with backoff_off(ext):
            a = run()
            solos = ext.thread_solo_count()
            ext.thread_solo_at(step)
            try:
                b = run()
            finally:
                ext.thread_solo_at(-1)
            return a, b, ext.thread_solo_count() - solos
    finally:
        torch.set_num_threads(n)


def check_compiled_step(layer, input_size: int, lengths=None, compiler: str = "inductor", steps: int = 3,
                        label: str = "") -> None:
    """SGD training steps of ``layer`` through ``torch.compile`` against the
    same steps eager on a copy: equal losses at every step and equal weights after."""
    eager = copy.deepcopy(layer)
    opt_c = torch.optim.SGD(layer.parameters(), lr=0.1)
    opt_e = torch.optim.SGD(eager.parameters(), lr=0.1)

    def step(model, opt, x):
        opt.zero_grad()
        out, _ = model(x, lengths=lengths)
        loss = out.pow(2).mean()
        loss.backward()
        opt.step()
        return loss

    compiled = torch.compile(step, backend=compiler)
    for i in range(steps):
        x = torch.randn(6, 3, input_size, generator=torch.Generator().manual_seed(i))
        torch.testing.assert_close(compiled(layer, opt_c, x), step(eager, opt_e, x), rtol=1e-4, atol=1e-5)
    for (n, a), (_, b) in zip(layer.named_parameters(), eager.named_parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=lambda m: f"{label} {n}: {m}")


def check_per_sample_grads(layer, xs, label: str = "", **tol) -> None:
    """``vmap(grad(loss))`` over the samples ``xs`` ``(N, T, B, I)`` against
    one eager backward per sample, for every parameter of ``layer``; the loss
    is the summed squared output. ``tol``: ``assert_close``'s tolerances."""
    params = {k: v.detach() for k, v in layer.named_parameters()}

    def loss(p, x):
        out, _ = torch.func.functional_call(layer, p, (x,))
        return out.pow(2).sum()

    per_sample = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0))(params, xs)
    for i in range(xs.shape[0]):
        layer.zero_grad()
        loss(dict(layer.named_parameters()), xs[i]).backward()
        for k, p in layer.named_parameters():
            torch.testing.assert_close(per_sample[k][i], p.grad, msg=lambda m: f"{label} {k}: {m}", **tol)


def check_exported_operator(layer, x, want: str, not_want: str) -> None:
    """``torch.export`` of ``layer`` (eval, with its state as inputs) calls an
    operator whose name contains ``want`` and none containing ``not_want``,
    and the exported program gives the layer's outputs."""
    from lstmkit.nn.export import SequenceGraph

    st = tuple(torch.randn(s.shape) for s in layer.init_state(x.shape[1]))
    ep = torch.export.export(SequenceGraph(layer), (x, *st))
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    assert any(want in t for t in targets), targets
    assert not any(not_want in t for t in targets), targets
    for got, expected in zip(ep.module()(x, *st), SequenceGraph(layer)(x, *st)):
        torch.testing.assert_close(got, expected)
