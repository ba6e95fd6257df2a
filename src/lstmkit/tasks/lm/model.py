"""The network of a language model: embedding -> lstmkit.LSTM stack -> decoder tied to the embedding.

:class:`LMNet` is the ``nn.Module``; the estimator users train, sample from and save is
:class:`lstmkit.LanguageModel` (:mod:`lstmkit.tasks.lm.estimator`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...nn import LSTM
from ...train.checkpoint import register_model
from .config import ModelConfig

KIND = "lm-lstm"


class LMNet(nn.Module):
    r"""Next-token language model on an LSTM stack.

    .. math::
        e_t = E[x_t], \qquad h_t = \mathrm{LSTM}(e_t, h_{t-1}), \qquad
        p(x_{t+1} \mid x_{\le t}) = \mathrm{softmax}(W h_t + b)

    With ``tie_weights`` the decoder's ``W`` *is* the embedding matrix ``E``
    (Press & Wolf 2017; Inan et al. 2017), so the embedding size must equal
    the LSTM output size (``proj_size`` when set, otherwise ``hidden_size``).

    Args:
        vocab_size: tokens in the vocabulary ``V``.
        config: :class:`~lstmkit.tasks.lm.config.ModelConfig` (cell, sizes,
            tying, the dropout variants of :class:`lstmkit.LSTM`, backend).

    Shapes:
        ==========  =====================================================
        input       ``(B, T)`` int64 token ids
        state       ``(h, c)`` as :class:`lstmkit.LSTM` (``(L, B, P or H)``, ``(L, B, H)``)
        output      logits ``(B, T, V)``
        ==========  =====================================================

    Example::

        >>> m = LMNet(65, ModelConfig(hidden_size=32, num_layers=1, dropout=0))
        >>> logits, state = m(torch.randint(0, 65, (4, 10)))
        >>> logits.shape
        torch.Size([4, 10, 65])
        >>> _, _, gates = m(torch.randint(0, 65, (1, 10)), return_gates=True)
        >>> sorted(gates[0][0])[:3], gates[0][0]["f"].shape
        (['c', 'f', 'g'], torch.Size([1, 10, 32]))
    """

    def __init__(self, vocab_size: int, config: ModelConfig) -> None:
        super().__init__()
        if vocab_size < 2:
            raise ValueError(f"LMNet: expected vocab_size >= 2, got {vocab_size}")
        c = config
        self.vocab_size = vocab_size
        self.config = c
        self.embedding = nn.Embedding(vocab_size, c.embedding_dim)
        self.embedding_dropout = nn.Dropout(c.embedding_dropout)
        self.lstm = LSTM(
            c.embedding_dim, c.hidden_size, num_layers=c.num_layers, batch_first=True,
            dropout=c.dropout if c.num_layers > 1 else 0.0, proj_size=c.proj_size, cell=c.cell,
            input_dropout=c.input_dropout, hidden_dropout=c.hidden_dropout, zoneout=c.zoneout,
            zoneout_cell=c.zoneout, forget_bias=c.forget_bias, backend=c.backend,
        )
        self.output_dropout = nn.Dropout(c.output_dropout)
        self.decoder = nn.Linear(c.output_size, vocab_size)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if c.tie_weights:
            self.decoder.weight = self.embedding.weight
        else:
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    @property
    def tied(self) -> bool:
        return self.decoder.weight is self.embedding.weight

    def num_parameters(self) -> int:
        """Trainable parameters, a tied matrix counted once."""
        return sum(p.numel() for p in self.parameters())

    def init_state(self, batch: int) -> tuple[Tensor, Tensor]:
        return self.lstm.init_state(batch)

    def forward(self, ids: Tensor, state=None, return_gates: bool = False):
        """``ids`` ``(B, T)`` -> ``(logits (B, T, V), state)``, plus the gate traces when
        ``return_gates`` (``gates[layer][0]`` a dict of ``(B, T, n)`` tensors: i, f, g, o, c, h)."""
        self._check_ids(ids, 2, "token ids of shape (B, T)")
        x = self.embedding_dropout(self.embedding(ids))  # (B, T, E)
        res = self.lstm(x, state, return_gates=return_gates)
        out = self.output_dropout(res[0])  # (B, T, P or H)
        logits = self.decoder(out)  # (B, T, V)
        return (logits, *res[1:])

    def _check_ids(self, ids: Tensor, dim: int, what: str) -> None:
        if ids.dim() != dim or ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"LMNet: expected {what} and an integer dtype, "
                             f"got shape {tuple(ids.shape)} and {ids.dtype}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
            raise ValueError(f"LMNet: expected token ids in [0, {self.vocab_size}), "
                             f"got values in [{int(ids.min())}, {int(ids.max())}]")

    def step(self, ids: Tensor, state=None):
        """One token per row: ``ids`` ``(B,)`` -> ``(logits (B, V), state)``,
        what :meth:`forward` gives for ``ids[:, None]`` (in evaluation mode),
        through :meth:`lstmkit.LSTM.step`: on the CPU engine one fused call
        for the whole stack that reads the weights where they are, where a
        sequence of length one pays a whole call's set-up (text generation:
        106 against 400-830 us a token at the default 2 x 256, 65 tokens)."""
        self._check_ids(ids, 1, "one token id per row, shape (B,),")
        h, state = self.lstm.step(self.embedding_dropout(self.embedding(ids)), state)
        return self.decoder(self.output_dropout(h)), state


def model_config_dict(vocab_size: int, config: ModelConfig) -> dict:
    from ...config import to_dict

    return {"vocab_size": vocab_size, "model": to_dict(config)}


@register_model(KIND)
def build(config: dict) -> LMNet:
    from ...config import from_dict

    return LMNet(int(config["vocab_size"]), from_dict(ModelConfig, config["model"]))
