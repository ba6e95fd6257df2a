"""The LSTM encoder-decoder: a bidirectional lstmkit encoder, an LSTM decoder with attention and input feeding."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...nn import LSTM
from ...train.checkpoint import register_model
from .attention import Attention
from .config import ModelConfig
from .tokens import BOS_ID, PAD_ID

KIND = "translate-seq2seq"


class Seq2SeqNet(nn.Module):
    r"""Sequence-to-sequence translation model (Sutskever et al. 2014) with attention (Bahdanau et al. 2015;
    Luong et al. 2015).

    .. math::
        \begin{aligned}
        \bar h_{1..S} &= \mathrm{BiLSTM}(E_x[x_{1..S}]) && \text{(lengths: padding never enters)} \\
        h_0 &= \tanh(W_h [\overrightarrow{h}_S; \overleftarrow{h}_1]), \quad c_0 = W_c [\overrightarrow{c}_S; \overleftarrow{c}_1] \\
        h_t &= \mathrm{LSTM}([E_y[y_{t-1}]; \tilde h_{t-1}], h_{t-1}) && \text{(input feeding)} \\
        c_t &= \textstyle\sum_s a_{ts} \bar h_s, \quad a_t = \mathrm{softmax}_s\, \mathrm{score}(h_t, \bar h_s) \\
        \tilde h_t &= \tanh(W_c' [c_t; h_t]), \quad p(y_t \mid y_{<t}, x) = \mathrm{softmax}(W_o \tilde h_t + b_o)
        \end{aligned}

    With ``attention='none'`` it is the plain encoder-decoder: :math:`\tilde h_t = h_t` and the encoder reaches
    the decoder only through :math:`h_0, c_0`. With ``tie_embeddings`` :math:`W_o` is :math:`E_y`.

    The encoder is an :class:`lstmkit.LSTM` run with ``lengths=`` (any LSTM cell, any engine). The decoder is an
    :class:`lstmkit.LSTM` too; it is stepped through its cells' own ``step`` (the reference equations), one
    target position at a time, since input feeding makes each step depend on the last; without input
    feeding and with full teacher forcing, training runs it over the whole target at once.

    Args:
        src_vocab: source vocabulary size.
        tgt_vocab: target vocabulary size (``<pad>``, ``<unk>``, ``<bos>``, ``<eos>`` are ids 0-3).
        config: :class:`~lstmkit.tasks.translate.config.ModelConfig`.

    Shapes:
        ===========  ==============================================
        ``src``      ``(B, S)`` int64 ids, padded with 0
        ``src_len``  ``(B,)`` valid source tokens per sentence
        ``tgt_in``   ``(B, T)`` ``<bos> y_1 .. y_{T-1}``
        output       logits ``(B, T, tgt_vocab)``
        ===========  ==============================================

    Example::

        >>> from lstmkit.tasks.translate.config import ModelConfig
        >>> net = Seq2SeqNet(50, 60, ModelConfig(hidden_size=16, embedding_size=16, encoder_layers=1))
        >>> src, src_len = torch.randint(1, 50, (3, 7)), torch.tensor([7, 4, 2])
        >>> net(src, src_len, torch.randint(1, 60, (3, 5))).shape
        torch.Size([3, 5, 60])
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, config: ModelConfig) -> None:
        super().__init__()
        if src_vocab < 2 or tgt_vocab < 5:
            raise ValueError(f"Seq2SeqNet: expected src_vocab >= 2 and tgt_vocab >= 5, got {src_vocab}, {tgt_vocab}")
        c = config
        self.config, self.src_vocab, self.tgt_vocab = c, src_vocab, tgt_vocab
        E, H = c.embedding_size, c.hidden_size
        self.src_emb = nn.Embedding(src_vocab, E, padding_idx=PAD_ID)
        self.tgt_emb = nn.Embedding(tgt_vocab, E, padding_idx=PAD_ID)
        self.drop = nn.Dropout(c.dropout)
        self.encoder = LSTM(E, H // 2, num_layers=c.encoder_layers, bidirectional=True, batch_first=True,
                            dropout=c.dropout if c.encoder_layers > 1 else 0.0, cell=c.cell, backend=c.backend)
        self.bridge_h = nn.Linear(H, H)
        self.bridge_c = nn.Linear(H, H)
        self.attends = c.attention != "none"
        self.feeds = self.attends and c.input_feeding
        self.decoder = LSTM(E + (H if self.feeds else 0), H, num_layers=c.decoder_layers, batch_first=True,
                            dropout=c.dropout if c.decoder_layers > 1 else 0.0, cell=c.cell, backend=c.backend)
        if self.attends:
            self.attention = Attention(c.attention, H, H)
            self.combine = nn.Linear(2 * H, H, bias=False)
        self.out = nn.Linear(H, tgt_vocab)
        nn.init.uniform_(self.src_emb.weight, -0.1, 0.1)
        nn.init.uniform_(self.tgt_emb.weight, -0.1, 0.1)
        with torch.no_grad():
            self.src_emb.weight[PAD_ID].zero_()
            self.tgt_emb.weight[PAD_ID].zero_()
        nn.init.zeros_(self.out.bias)
        if c.tie_embeddings:
            self.out.weight = self.tgt_emb.weight

    def num_parameters(self) -> int:
        """Trainable parameters (a tied matrix counted once)."""
        return sum(p.numel() for p in self.parameters())

    def _embed(self, table: nn.Embedding, ids: Tensor) -> Tensor:
        """Dropped-out embeddings of a whole sentence batch ``(B, L, E)``; in training, word dropout also zeroes
        the whole vector of a ``word_dropout`` share of the tokens (not rescaled: the model learns to read a
        missing word, and at inference every word is there)."""
        x = self.drop(table(ids))
        p = self.config.word_dropout
        if self.training and p > 0:
            keep = torch.rand(ids.shape, device=ids.device) >= p
            x = x * keep.unsqueeze(-1).to(x.dtype)
        return x

    # ------------------------------------------------------------ encoder
    def encode(self, src: Tensor, src_len: Tensor) -> dict[str, Tensor]:
        """The memory the decoder reads: ``enc (B, S, H)``, ``mask (B, S)``, ``keys`` and the bridge input."""
        if src.dim() != 2 or src_len.shape != (src.shape[0],):
            raise ValueError(f"Seq2SeqNet: expected src (B, S) and src_len (B,), got {tuple(src.shape)} and "
                             f"{tuple(src_len.shape)}")
        x = self._embed(self.src_emb, src)  # (B, S, E)
        enc, (h, c) = self.encoder(x, lengths=src_len)  # (B, S, H); h, c: (L*2, B, H/2)
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < src_len.to(src.device).unsqueeze(1)
        memory = {"enc": enc, "mask": mask,
                  "h": torch.cat([h[-2], h[-1]], dim=-1), "c": torch.cat([c[-2], c[-1]], dim=-1)}  # top layer, both ways
        if self.attends:
            memory["keys"] = self.attention.keys(enc)
        return memory

    def start(self, memory: dict[str, Tensor]) -> dict[str, Tensor]:
        """The decoder's first state from the encoder's last (every tensor batch-first, for beam reordering)."""
        L = self.config.decoder_layers
        h0 = torch.tanh(self.bridge_h(memory["h"]))  # (B, H)
        c0 = self.bridge_c(memory["c"])
        state = {"h": h0.unsqueeze(1).expand(-1, L, -1).contiguous(), "c": c0.unsqueeze(1).expand(-1, L, -1).contiguous()}
        if self.feeds:
            state["feed"] = torch.zeros_like(h0)
        return state

    # ------------------------------------------------------------ decoder
    def _output(self, top: Tensor, memory: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        """``(attentional vector h~, weights)`` from the top decoder output ``(B, H)`` or ``(B, T, H)``."""
        if not self.attends:
            return top, None
        ctx, w = self.attention(top, memory["keys"], memory["enc"], memory["mask"])
        return torch.tanh(self.combine(torch.cat([ctx, top], dim=-1))), w

    def decoder_input(self, emb: Tensor, state: dict[str, Tensor]) -> Tensor:
        """What the first decoder layer reads at a step: the previous token's embedding ``(B, E)``, with input
        feeding followed by the last attentional vector ``(B, E + H)``."""
        return torch.cat([emb, state["feed"]], dim=-1) if self.feeds else emb

    def _advance(self, memory: dict[str, Tensor], state: dict[str, Tensor], x: Tensor,
                 trace: list[dict[str, Tensor]] | None = None) -> tuple[Tensor, dict[str, Tensor], Tensor | None]:
        """One decoder step from the (dropped-out) embedding ``x (B, E)`` of the previous token:
        ``(attentional vector h~ (B, H), new state, attention weights (B, S) or None)``."""
        x = self.decoder_input(x, state)
        hs, cs = [], []
        L = self.config.decoder_layers
        for layer in range(L):
            cell = self.decoder.cells[layer]
            h, c = cell.step(x, (state["h"][:, layer], state["c"][:, layer]), None if trace is None else trace[layer])
            hs.append(h)
            cs.append(c)
            x = self.drop(h) if layer < L - 1 else h
        ht, w = self._output(x, memory)
        new = {"h": torch.stack(hs, 1), "c": torch.stack(cs, 1)}
        if self.feeds:
            new["feed"] = ht
        return ht, new, w

    def step(self, memory: dict[str, Tensor], state: dict[str, Tensor], prev: Tensor,
             trace: list[dict[str, Tensor]] | None = None) -> tuple[Tensor, dict[str, Tensor], Tensor | None]:
        """One target position: ``prev (B,)`` ids -> ``(logits (B, V), new state, attention weights (B, S) or None)``.

        ``trace``: a list with one dict per decoder layer, filled with that layer's gates at this step.
        """
        ht, new, w = self._advance(memory, state, self.drop(self.tgt_emb(prev)), trace)
        return self.out(self.drop(ht)), new, w

    def forward(self, src: Tensor, src_len: Tensor, tgt_in: Tensor, teacher_forcing: float = 1.0,
                return_attention: bool = False):
        """Logits ``(B, T, V)`` for every target position given the reference prefix (teacher forcing);
        with ``teacher_forcing < 1`` (training), each later position is fed the model's own greedy token with
        probability ``1 - teacher_forcing``. ``return_attention``: also the weights ``(B, T, S)``."""
        memory = self.encode(src, src_len)
        state = self.start(memory)
        sampling = self.training and teacher_forcing < 1
        if not self.feeds and not sampling:  # the decoder runs over the whole target at once
            x = self._embed(self.tgt_emb, tgt_in)  # (B, T, E)
            tgt_len = (tgt_in != PAD_ID).sum(1).clamp(min=1)
            h0 = state["h"].transpose(0, 1).contiguous()  # (L, B, H)
            c0 = state["c"].transpose(0, 1).contiguous()
            top, _ = self.decoder(x, (h0, c0), lengths=tgt_len)  # (B, T, H)
            ht, w = self._output(top, memory)
            logits = self.out(self.drop(ht))
            return (logits, w) if return_attention else logits
        T = tgt_in.shape[1]
        emb = self._embed(self.tgt_emb, tgt_in)  # (B, T, E), looked up once
        outs, weights = [], []
        x = emb[:, 0]
        for t in range(T):
            ht, state, w = self._advance(memory, state, x)
            outs.append(ht)
            if w is not None:
                weights.append(w)
            if t + 1 < T:
                x = emb[:, t + 1]
                if sampling:  # scheduled sampling: some steps read the model's own choice
                    own = self.out(ht.detach()).argmax(-1)
                    use_own = (torch.rand(own.shape, device=own.device) >= teacher_forcing) & (tgt_in[:, t + 1] != PAD_ID)
                    x = torch.where(use_own.unsqueeze(1), self.drop(self.tgt_emb(own)), x)
        logits = self.out(self.drop(torch.stack(outs, 1)))  # (B, T, V): one product for all steps
        if return_attention:
            return logits, (torch.stack(weights, 1) if weights else None)
        return logits


def model_config_dict(src_vocab: int, tgt_vocab: int, config: ModelConfig) -> dict:
    from ...config import to_dict

    return {"src_vocab": src_vocab, "tgt_vocab": tgt_vocab, "model": to_dict(config), "bos_id": BOS_ID}


@register_model(KIND)
def build(config: dict) -> Seq2SeqNet:
    from ...config import from_dict

    return Seq2SeqNet(int(config["src_vocab"]), int(config["tgt_vocab"]), from_dict(ModelConfig, config["model"]))
