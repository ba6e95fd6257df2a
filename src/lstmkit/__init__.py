"""lstmkit: Long Short-Term Memory networks from the gates up.

Cells (:mod:`lstmkit.cells`) are the reference equations; layers
(:mod:`lstmkit.nn`) are drop-in replacements for ``torch.nn.LSTM``/``GRU``/
``RNN``; engines (:mod:`lstmkit.kernels`) run them fast. Task modules are
imported on demand so that ``import lstmkit`` stays light.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import cells, kernels, nn  # noqa: E402
from .nn import GRU, LSTM, RNN, Recurrent  # noqa: E402

__all__ = ["cells", "kernels", "nn", "LSTM", "GRU", "RNN", "Recurrent", "__version__"]
