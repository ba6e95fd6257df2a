"""The cpu engine's thread back-off (csrc/threads.h).

The time loops synchronise their threads at every step. When the threads
stood waiting for more than half of a window of loop time (a core taken by
another process, or steps too small to share), the loops run on one thread
for a while and then try again. These tests drive the rule with reported
measurements (a loaded machine cannot be made on demand) and check that a
run on one thread after a back-off gives the same numbers as before it.
"""

from __future__ import annotations

import pytest
import torch
from cpu_engine_helpers import forced_hand_over

import lstmkit
from lstmkit.kernels.cpu import _build, ops

ext = _build.load_extension()
pytestmark = pytest.mark.skipif(ext is None, reason=f"cpu extension unavailable: {_build.build_error()}")

MS = 1_000_000


@pytest.fixture
def two_threads():
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    ext.thread_backoff_reset()
    yield
    ext.thread_backoff_reset()
    torch.set_num_threads(n)


def test_waiting_for_more_than_half_the_window_drops_to_one_thread(two_threads):
    before = ext.thread_backoff_state()[0]
    assert ext.thread_backoff_state()[1:] == (False, 2)
    ext.thread_backoff_report(1 * MS, 900_000)  # under the 2 ms window: nothing judged yet
    assert ext.thread_backoff_state()[1:] == (False, 2)
    ext.thread_backoff_report(2 * MS, 1_500_000)  # window 3 ms, 2.4 ms of it waiting
    count, dropped, threads = ext.thread_backoff_state()
    assert (count, dropped, threads) == (before + 1, True, 1)
    ext.thread_backoff_reset()
    assert ext.thread_backoff_state()[1:] == (False, 2)


def test_a_window_with_little_waiting_keeps_the_threads(two_threads):
    before = ext.thread_backoff_state()[0]
    for _ in range(5):
        ext.thread_backoff_report(2 * MS, 400_000)  # a fifth of the time waiting
    assert ext.thread_backoff_state() == (before, False, 2)


def test_the_back_off_ends_by_itself(two_threads):
    import time

    ext.thread_backoff_report(4 * MS, 3 * MS)
    assert ext.thread_backoff_state()[1]
    time.sleep(0.3)  # the first back-off lasts a quarter second
    assert ext.thread_backoff_state()[1:] == (False, 2)


@pytest.mark.parametrize("cell", ["lstm", "gru", "layernorm"])
def test_a_layer_gives_the_same_numbers_on_two_threads_and_backed_off_to_one(two_threads, cell):
    torch.manual_seed(0)
    layer = lstmkit.LSTM(12, 32, cell=cell, backend="cpu") if cell != "gru" else lstmkit.GRU(12, 32, backend="cpu")
    x = torch.randn(9, 13, 12, dtype=torch.float64, requires_grad=True)
    layer = layer.double()

    def run():
        x.grad = None
        layer.zero_grad()
        out, _ = layer(x)
        out.square().sum().backward()
        return out.detach().clone(), x.grad.clone(), [p.grad.clone() for p in layer.parameters()]

    a = run()
    ext.thread_backoff_report(4 * MS, 3 * MS)
    assert ext.thread_backoff_state()[2] == 1
    b = run()
    torch.testing.assert_close(a[0], b[0], rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(a[1], b[1], rtol=1e-12, atol=1e-13)
    for ga, gb in zip(a[2], b[2]):
        torch.testing.assert_close(ga, gb, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("step", [0, 3, 8])
@pytest.mark.parametrize("lengths", [False, True])
@pytest.mark.parametrize("B,H", [(13, 48), ("one block", 48), (13, 192)])
def test_a_fused_loop_handing_over_to_one_thread_mid_sequence_gives_the_same_numbers(two_threads, step, lengths, B, H):
    """The team of the plain LSTM's fused loop goes on with thread 0 alone
    after a step when its members mostly wait; forced here at a chosen step,
    the outputs and gradients equal a run without it. A team meets at every
    step only when it shares the steps by weight panels: with one block of
    rows (as many rows as a tile takes: 6 with AVX-512, 3 with AVX2), or with
    panels over half the L2 (H=192 in float64, 1.2 MB). With 13 rows and
    small panels both loops split the rows between the threads and never
    meet, so nothing is handed over."""
    B = ops.tile_rows() if B == "one block" else B
    torch.manual_seed(1)
    layer = lstmkit.LSTM(12, H, backend="cpu").double()
    x = torch.randn(9, B, 12, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([9, 3, 7, 9, 1, 5, 9, 2, 8, 6, 4, 9, 7])[:B] if lengths else None

    def run():
        x.grad = None
        layer.zero_grad()
        out, (h, c) = layer(x, lengths=lens)
        (out.square().sum() + h.sum() + c.sum()).backward()
        return [out.detach().clone(), x.grad.clone(), *(p.grad.clone() for p in layer.parameters())]

    a, b, handed_over = forced_hand_over(ext, run, step)
    assert handed_over == (0 if B > ops.tile_rows() and H == 48 else 2)  # both teams, when they meet
    for ta, tb in zip(a, b):
        torch.testing.assert_close(ta, tb, rtol=0, atol=0)


@pytest.mark.parametrize("H", [48, 256, 512])
def test_the_loops_split_by_rows_give_the_numbers_of_one_thread(two_threads, H):
    """Two threads share the plain LSTM's loops by batch rows when their
    weight panels fit in half the L2 (H=48 both loops; H=256 in float32 the
    backward, whose 1 MB of panels fit, but not the forward, which adds W_ih)
    and by panels otherwise (H=512); either way the forward's outputs and
    saved activations, and dA, dh_0 and dc_0, are bit for bit those of one
    thread (each tile's arithmetic is the same), and the bias gradient,
    summed per row group or thread, agrees to rounding."""
    from lstmkit.kernels.cpu import ops

    torch.manual_seed(2)
    L = ops.lane_width(torch.float32)
    T, B, I = 5, 24, 8
    Hp = (H + L - 1) // L * L
    x, w_ih = torch.randn(T, B, I), torch.randn(4 * Hp, I) * 0.2
    w_hh, bias = torch.randn(4 * H, H) * (1.0 / H ** 0.5), torch.randn(4 * Hp) * 0.1
    h0, c0 = torch.randn(B, H), torch.randn(B, H)
    fwd = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        fwd.append(ops.lstm_fused_seq_x(x, w_ih, bias, h0, c0, w_hh, None, True))
    for a, b in zip(*fwd):
        assert torch.equal(a, b)
    out, _, _, gates, cseq = fwd[0]
    dout, dhT, dcT = torch.randn_like(out), torch.randn(B, Hp), torch.randn(B, Hp)
    grads = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        grads.append(ops.lstm_fused_seq_bwd(dout, dhT, dcT, gates, cseq, w_hh, None, True, True))
    one, two = grads
    for a, b in zip(one[:3], two[:3]):
        assert torch.equal(a, b)
    torch.testing.assert_close(one[3], two[3], rtol=1e-5, atol=1e-5)
