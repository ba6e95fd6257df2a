"""The Transformer baseline: ``torch.nn.Transformer`` (pre-norm) sized to the LSTM model's parameter count."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .config import TransformerConfig
from .tokens import PAD_ID


class SinusoidalPositions(nn.Module):
    """Adds the fixed sine/cosine position code of Vaswani et al. (2017) to ``(B, T, d)`` inputs."""

    def __init__(self, d_model: int, max_len: int = 1024) -> None:
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)[:, : d_model // 2]
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] > self.pe.shape[0]:
            raise ValueError(f"SinusoidalPositions: expected at most {self.pe.shape[0]} positions, got {x.shape[1]}")
        return x + self.pe[: x.shape[1]].unsqueeze(0)


class TransformerNet(nn.Module):
    r"""Encoder-decoder Transformer (Vaswani et al. 2017) on ``torch.nn.Transformer``, the pre-norm variant
    (layer norm before each block, which trains stably without a long warm-up; Xiong et al. 2020), with
    scaled embeddings, sinusoidal positions and the target embedding tied to the output layer.

    It has the same decoding interface as :class:`~lstmkit.tasks.translate.seq2seq.Seq2SeqNet`
    (``encode``, ``start``, ``step``), so greedy and beam search treat both alike; a step re-reads the whole
    target prefix (sentences are short).

    Args:
        src_vocab, tgt_vocab: vocabulary sizes.
        d_model: model width (a multiple of ``config.heads``).
        config: :class:`~lstmkit.tasks.translate.config.TransformerConfig` (heads, layers, ffn_ratio, dropout).

    Shapes: as :class:`~lstmkit.tasks.translate.seq2seq.Seq2SeqNet`.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, d_model: int, config: TransformerConfig) -> None:
        super().__init__()
        c = config
        if d_model < 1 or d_model % c.heads:
            raise ValueError(f"TransformerNet: expected d_model a positive multiple of heads ({c.heads}), got {d_model}")
        self.config, self.d_model, self.src_vocab, self.tgt_vocab = c, d_model, src_vocab, tgt_vocab
        self.src_emb = nn.Embedding(src_vocab, d_model, padding_idx=PAD_ID)
        self.tgt_emb = nn.Embedding(tgt_vocab, d_model, padding_idx=PAD_ID)
        self.positions = SinusoidalPositions(d_model)
        self.drop = nn.Dropout(c.dropout)
        ff = c.ffn_ratio * d_model
        enc_layer = nn.TransformerEncoderLayer(d_model, c.heads, ff, c.dropout, batch_first=True, norm_first=True)
        dec_layer = nn.TransformerDecoderLayer(d_model, c.heads, ff, c.dropout, batch_first=True, norm_first=True)
        encoder = nn.TransformerEncoder(enc_layer, c.layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        decoder = nn.TransformerDecoder(dec_layer, c.layers, norm=nn.LayerNorm(d_model))
        self.transformer = nn.Transformer(d_model, c.heads, batch_first=True, custom_encoder=encoder,
                                          custom_decoder=decoder)
        self.out = nn.Linear(d_model, tgt_vocab)
        nn.init.normal_(self.src_emb.weight, 0, d_model ** -0.5)
        nn.init.normal_(self.tgt_emb.weight, 0, d_model ** -0.5)
        with torch.no_grad():
            self.src_emb.weight[PAD_ID].zero_()
            self.tgt_emb.weight[PAD_ID].zero_()
        nn.init.zeros_(self.out.bias)
        self.out.weight = self.tgt_emb.weight

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _embed(self, emb: nn.Embedding, ids: Tensor) -> Tensor:
        return self.drop(self.positions(emb(ids) * math.sqrt(self.d_model)))

    def encode(self, src: Tensor, src_len: Tensor) -> dict[str, Tensor]:
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < src_len.to(src.device).unsqueeze(1)
        enc = self.transformer.encoder(self._embed(self.src_emb, src), src_key_padding_mask=~mask)
        return {"enc": enc, "mask": mask}

    def _decode(self, memory: dict[str, Tensor], tgt_in: Tensor) -> Tensor:
        T = tgt_in.shape[1]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool, device=tgt_in.device), diagonal=1)
        out = self.transformer.decoder(self._embed(self.tgt_emb, tgt_in), memory["enc"], tgt_mask=causal,
                                       memory_key_padding_mask=~memory["mask"], tgt_is_causal=True)
        return self.out(out)  # (B, T, V)

    def start(self, memory: dict[str, Tensor]) -> dict[str, Tensor]:
        """Empty caches: for each decoder layer, its normalised inputs at the positions decoded so far."""
        B, d = memory["enc"].shape[0], self.d_model
        empty = memory["enc"].new_zeros(B, 0, d)
        return {f"layer{i}": empty for i in range(len(self.transformer.decoder.layers))}

    def step(self, memory, state, prev: Tensor, trace=None):
        """One target position, computed for the new position only (incremental decoding): each layer's
        self-attention reads the cached, normalised inputs of the earlier positions. Equal to running the
        decoder over the whole prefix and keeping its last position."""
        t = state["layer0"].shape[1]
        x = self.tgt_emb(prev).unsqueeze(1) * math.sqrt(self.d_model) + self.positions.pe[t].view(1, 1, -1)
        x = self.drop(x)  # (B, 1, d)
        pad = ~memory["mask"]
        new = {}
        for i, layer in enumerate(self.transformer.decoder.layers):
            h = torch.cat([state[f"layer{i}"], layer.norm1(x)], dim=1)  # (B, t + 1, d)
            new[f"layer{i}"] = h
            x = x + layer.dropout1(layer.self_attn(h[:, -1:], h, h, need_weights=False)[0])
            q = layer.norm2(x)
            x = x + layer.dropout2(layer.multihead_attn(q, memory["enc"], memory["enc"], key_padding_mask=pad,
                                                        need_weights=False)[0])
            f = layer.linear2(layer.dropout(layer.activation(layer.linear1(layer.norm3(x)))))
            x = x + layer.dropout3(f)
        x = self.transformer.decoder.norm(x)
        return self.out(x[:, 0]), new, None

    def forward(self, src: Tensor, src_len: Tensor, tgt_in: Tensor, teacher_forcing: float = 1.0,
                return_attention: bool = False):
        logits = self._decode(self.encode(src, src_len), tgt_in)
        return (logits, None) if return_attention else logits


def count_parameters(src_vocab: int, tgt_vocab: int, d_model: int, config: TransformerConfig) -> int:
    """Parameters of a :class:`TransformerNet` of width ``d_model`` (by formula: nothing is allocated)."""
    d, ff, L = d_model, config.ffn_ratio * d_model, config.layers
    attn = 4 * d * d + 4 * d  # q, k, v, out projections with biases
    ffn = 2 * d * ff + ff + d
    enc = L * (attn + ffn + 2 * 2 * d) + 2 * d  # two layer norms per layer, one at the end
    dec = L * (2 * attn + ffn + 3 * 2 * d) + 2 * d
    return (src_vocab + tgt_vocab) * d + enc + dec + tgt_vocab  # embeddings (output tied) + output bias


def width_for(params: int, src_vocab: int, tgt_vocab: int, config: TransformerConfig) -> int:
    """The multiple of ``8 * heads`` whose :func:`count_parameters` is closest to ``params``."""
    step = 8 * config.heads
    widths = range(step, 4096 + step, step)
    return min(widths, key=lambda d: abs(count_parameters(src_vocab, tgt_vocab, d, config) - params))
