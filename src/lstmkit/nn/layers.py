"""Drop-in replacements for ``torch.nn.LSTM``, ``GRU`` and ``RNN``."""

from __future__ import annotations

from torch import nn

from ..cells import LSTM_CELLS, GRUCell, LSTMCell, RNNCell
from .recurrent import Recurrent

_REGULARISER_DOC = """
        input_dropout, hidden_dropout, zoneout, zoneout_cell, backend,
            check_finite: keyword-only, see :class:`Recurrent`."""


class _TorchCompatible(Recurrent):
    """Shared constructor plumbing and torch interop of LSTM, GRU and RNN."""

    _torch_cls: type[nn.RNNBase]

    def __init__(self, cell, num_layers, bias, batch_first, dropout, bidirectional, device, dtype, **kw):
        if device is not None or dtype is not None:
            cell = cell.to(device=device, dtype=dtype)
        super().__init__(
            cell, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, dropout=dropout, **kw
        )

    def _torch_kwargs(self) -> dict:
        c = self.cells[0]
        return dict(
            input_size=c.input_size,
            hidden_size=c.hidden_size,
            num_layers=self.num_layers,
            bias=c.bias,
            batch_first=self.batch_first,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        )

    def to_torch(self) -> nn.RNNBase:
        """An equivalent ``torch.nn`` module with copies of these weights."""
        if self.kind not in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
            raise ValueError(f"{type(self).__name__}: torch.nn has no {self.kind!r} cell; to_torch() needs a plain cell")
        ref = self.cells[0].weight_ih
        module = self._torch_cls(**self._torch_kwargs(), device=ref.device, dtype=ref.dtype)
        module.load_state_dict(self.state_dict())
        return module

    @classmethod
    def from_torch(cls, module: nn.RNNBase, **kwargs):
        """Build this layer from a ``torch.nn`` module, copying its weights.

        Extra keyword arguments (``backend``, regularisers, ...) are passed on.
        """
        if not isinstance(module, cls._torch_cls):
            raise TypeError(f"{cls.__name__}.from_torch: expected a torch.nn.{cls._torch_cls.__name__}, got {type(module).__name__}")
        args = dict(
            input_size=module.input_size,
            hidden_size=module.hidden_size,
            num_layers=module.num_layers,
            bias=module.bias,
            batch_first=module.batch_first,
            dropout=float(module.dropout),
            bidirectional=module.bidirectional,
        )
        if isinstance(module, nn.LSTM):
            args["proj_size"] = module.proj_size
        if type(module) is nn.RNN:
            args["nonlinearity"] = module.nonlinearity
        p = next(module.parameters())
        layer = cls(**args, device=p.device, dtype=p.dtype, **kwargs)
        layer.load_state_dict(module.state_dict())
        return layer


class LSTM(_TorchCompatible):
    r"""Multi-layer LSTM with torch.nn.LSTM's arguments, call and state_dict.

    Each layer computes, for every step (gate order i, f, g, o):

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) &
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) &
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t &
        h_t &= o_t \odot \tanh(c_t)
        \end{aligned}

    Args:
        input_size: features of the input.
        hidden_size: units ``H`` per layer and direction.
        num_layers: stacked layers. Default ``1``.
        bias: use ``bias_ih``/``bias_hh``. Default ``True``.
        batch_first: ``(B, T, F)`` input and output. Default ``False``.
        dropout: dropout between layers, in training. Default ``0``.
        bidirectional: Default ``False``.
        proj_size: LSTMP projection of ``h`` (``weight_hr``). Default ``0``.
        cell: ``'lstm'`` (default), ``'peephole'`` (Gers & Schmidhuber 2000) or
            ``'layernorm'`` (Ba et al. 2016).
        forget_bias: initialise the forget-gate bias to this value (``1.0``
            per Jozefowicz et al. 2015). Default ``None``: torch's init.""" + _REGULARISER_DOC + r"""

    Shapes: as :class:`Recurrent`; the state is ``(h, c)`` with ``h`` of
    ``(L*D, B, P or H)`` and ``c`` of ``(L*D, B, H)``.

    Example::

        >>> lstm = LSTM(10, 20, num_layers=2, cell="peephole")
        >>> out, (h, c) = lstm(torch.randn(5, 3, 10))
        >>> out.shape
        torch.Size([5, 3, 20])
    """

    _torch_cls = nn.LSTM

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        cell: str = "lstm",
        forget_bias: float | None = None,
        **kwargs,
    ) -> None:
        if cell not in LSTM_CELLS:
            raise ValueError(f"LSTM: expected cell to be one of {sorted(LSTM_CELLS)}, got {cell!r}")
        first = LSTM_CELLS[cell](input_size, hidden_size, bias=bias, proj_size=proj_size, forget_bias=forget_bias)
        super().__init__(first, num_layers, bias, batch_first, dropout, bidirectional, device, dtype, **kwargs)

    @property
    def proj_size(self) -> int:
        return self.cells[0].proj_size

    def _torch_kwargs(self) -> dict:
        return dict(super()._torch_kwargs(), proj_size=self.proj_size)


class GRU(_TorchCompatible):
    r"""Multi-layer GRU with torch.nn.GRU's arguments, call and state_dict.

    .. math::
        \begin{aligned}
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}

    Args: ``input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0, bidirectional=False`` as torch.nn.GRU.""" + _REGULARISER_DOC + r"""

    Shapes: as :class:`Recurrent`; the state is ``h`` ``(L*D, B, H)``.

    Example::

        >>> gru = GRU(10, 20, batch_first=True)
        >>> out, h = gru(torch.randn(3, 5, 10), lengths=[5, 3, 1])
    """

    _torch_cls = nn.GRU

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        **kwargs,
    ) -> None:
        first = GRUCell(input_size, hidden_size, bias=bias)
        super().__init__(first, num_layers, bias, batch_first, dropout, bidirectional, device, dtype, **kwargs)


class RNN(_TorchCompatible):
    r"""Multi-layer Elman RNN with torch.nn.RNN's arguments, call and state_dict.

    .. math::
        h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}), \quad \phi \in \{\tanh, \mathrm{ReLU}\}

    Args: ``input_size, hidden_size, num_layers=1, nonlinearity='tanh',
    bias=True, batch_first=False, dropout=0, bidirectional=False`` as
    torch.nn.RNN.""" + _REGULARISER_DOC + r"""

    Example::

        >>> rnn = RNN(10, 20, nonlinearity="relu")
        >>> out, h = rnn(torch.randn(5, 3, 10))
    """

    _torch_cls = nn.RNN

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        **kwargs,
    ) -> None:
        first = RNNCell(input_size, hidden_size, bias=bias, nonlinearity=nonlinearity)
        super().__init__(first, num_layers, bias, batch_first, dropout, bidirectional, device, dtype, **kwargs)

    @property
    def nonlinearity(self) -> str:
        return self.cells[0].nonlinearity

    def _torch_kwargs(self) -> dict:
        return dict(super()._torch_kwargs(), nonlinearity=self.nonlinearity)


def from_torch(module: nn.Module, **kwargs):
    """The lstmkit equivalent of a ``torch.nn.LSTM``/``GRU``/``RNN`` (a layer;
    keyword arguments go to it) or ``LSTMCell``/``GRUCell``/``RNNCell`` (a
    cell with torch's ``forward(input, hx=None)``), with a copy of its weights."""
    for cls in (LSTM, GRU, RNN):
        if type(module) is cls._torch_cls:
            return cls.from_torch(module, **kwargs)
    cells = {nn.LSTMCell: LSTMCell, nn.GRUCell: GRUCell, nn.RNNCell: RNNCell}
    if type(module) in cells:
        if kwargs:
            raise TypeError(f"from_torch: a cell takes no options, got {sorted(kwargs)}")
        return cells[type(module)].from_torch(module)
    raise TypeError(
        f"from_torch: expected torch.nn.LSTM, GRU, RNN, LSTMCell, GRUCell or RNNCell, got {type(module).__name__}"
    )


__all__ = ["LSTM", "GRU", "RNN", "from_torch"]
