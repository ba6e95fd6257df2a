"""Initialisations for long memory.

:func:`chrono_init_` is the chrono initialisation of Tallec & Ollivier (2018,
"Can recurrent neural networks warp time?"). A gated unit whose forget gate
sits at ``sigmoid(b)`` keeps a fraction ``sigmoid(b)`` of its memory per
step, so it forgets on a time scale of about ``1 + exp(b)`` steps. Drawing
``b = log(u)`` with ``u`` uniform in ``[1, max_lag - 1]`` spreads the units'
time scales over the lags the data is expected to have, instead of putting
every unit at the same short one (torch's init: ``b`` near 0, a time scale of
about 2 steps; ``forget_bias=1``: about 3.7 steps).

- LSTM cells (plain, peephole, layer-norm): the forget-gate bias gets ``b``
  and the input-gate bias ``-b``, so a unit that keeps long also writes
  little. The recurrent biases of those gates are set to 0 (the sum is what
  the cell sees).
- GRU cells (torch's form ``h' = (1 - z) * n + z * h``): the update-gate bias
  gets ``b``, so ``z`` starts near 1 (keep) for long time scales.

Example::

    >>> import torch
    >>> from lstmkit.nn import LSTM
    >>> layer = chrono_init_(LSTM(2, 8), max_lag=100, generator=torch.Generator().manual_seed(0))
    >>> bool((layer.bias_ih_l0[8:16] >= 0).all() and (layer.bias_ih_l0[8:16] <= 4.6).all())
    True
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..cells.base import Cell

#: cell kinds whose gate order is (i, f, g, o) with the forget gate second
_LSTM_KINDS = ("lstm", "peephole", "layernorm")


def _cells(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, Cell):
        return [module]
    cells = [m for m in module.modules() if isinstance(m, Cell)]
    if cells:
        return cells
    raise TypeError(f"chrono_init_: expected an lstmkit cell or a module holding lstmkit cells "
                    f"(LSTM, GRU, Recurrent), got {type(module).__name__}")


def chrono_init_(module: nn.Module, max_lag: float, generator: torch.Generator | None = None) -> nn.Module:
    """Set the gate biases of every LSTM or GRU cell in ``module`` by the chrono rule; returns ``module``.

    Args:
        module: an lstmkit cell, layer (``LSTM``, ``GRU``, ``Recurrent``) or
            any module holding them. Elman ``RNN`` cells have no gate and are
            left alone; a module holding no LSTM or GRU cell is an error.
        max_lag: the longest time lag expected in the data, in steps (> 2).
            For a task whose answer depends on step 10 of 1,000, use 1000.
        generator: a ``torch.Generator`` for the draws (default: the global one).
    """
    if not math.isfinite(max_lag) or max_lag <= 2:
        raise ValueError(f"chrono_init_: expected max_lag > 2 (steps), got {max_lag}")
    done = 0
    for cell in _cells(module):
        kind = getattr(cell, "kind", None)
        if kind not in _LSTM_KINDS and kind != "gru":
            continue
        if cell.bias_ih is None:
            raise ValueError(f"chrono_init_: the {kind} cell has no biases (bias=False); chrono init sets biases")
        h = cell.hidden_size
        u = torch.rand(h, generator=generator, dtype=torch.float64) * (max_lag - 2) + 1
        b = torch.log(u).to(cell.bias_ih.dtype).to(cell.bias_ih.device)
        with torch.no_grad():
            cell.bias_ih[h : 2 * h].copy_(b)  # forget gate (LSTM) or update gate (GRU): second slice in both
            cell.bias_hh[h : 2 * h].zero_()
            if kind in _LSTM_KINDS:
                cell.bias_ih[:h].copy_(-b)  # input gate
                cell.bias_hh[:h].zero_()
        done += 1
    if not done:
        raise ValueError("chrono_init_: the module holds no LSTM or GRU cell (an Elman RNN has no gate to set)")
    return module
