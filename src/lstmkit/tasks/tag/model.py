"""The tagger network: word + character + shape features -> BiLSTM -> linear emissions -> CRF."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...nn import CRF, LSTM
from ...train.checkpoint import register_model

KIND = "tag-bilstm-crf"


class CharCNN(nn.Module):
    """Character features of each word: embed, convolve (width 3), max over the word's characters (Ma & Hovy 2016)."""

    def __init__(self, num_chars: int, char_dim: int, features: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.conv = nn.Conv1d(char_dim, features, kernel_size=3, padding=1)

    def forward(self, chars: Tensor) -> Tensor:  # (B, T, L) -> (B, T, F)
        B, T, L = chars.shape
        x = self.embedding(chars.view(B * T, L)).transpose(1, 2)  # (BT, C, L)
        h = self.conv(x).masked_fill((chars.view(B * T, 1, L) == 0), float("-inf"))  # (BT, F, L)
        h = h.amax(-1)
        return h.masked_fill(torch.isinf(h), 0.0).view(B, T, -1)  # padded words: zeros


class CharLSTM(nn.Module):
    """Character features of each word: the final states of a BiLSTM read both ways (Lample et al. 2016)."""

    def __init__(self, num_chars: int, char_dim: int, features: int, backend: str = "auto") -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.lstm = LSTM(char_dim, max(1, features // 2), batch_first=True, bidirectional=True, backend=backend)

    def forward(self, chars: Tensor) -> Tensor:
        B, T, L = chars.shape
        flat = chars.view(B * T, L)
        lens = (flat != 0).sum(1).clamp(min=1)
        _, (h, _) = self.lstm(self.embedding(flat), lengths=lens)  # h: (2, BT, H)
        return torch.cat([h[0], h[1]], -1).view(B, T, -1)


class BiLSTMCRFTagger(nn.Module):
    """Emission scores per token and tag, and a CRF over whole tag sequences.

    Args (one ``config`` dict, as saved in ``config.json``): ``num_words``,
    ``num_chars``, ``num_shapes``, ``num_tags``, ``unk_id``, ``word_dim``,
    ``char_encoder`` (``cnn``/``lstm``/``none``), ``char_dim``,
    ``char_features``, ``shape_dim``, ``hidden_size``, ``num_layers``,
    ``cell``, ``dropout``, ``word_dropout``, ``crf`` (bool).

    Shapes: ``words``, ``shapes`` ``(B, T)``, ``chars`` ``(B, T, L)``,
    ``lengths`` ``(B,)`` -> emissions ``(B, T, num_tags)``.
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        c = dict(config)
        self.config = c
        self.unk_id = c.get("unk_id", 1)
        self.word_dropout = float(c["word_dropout"])
        self.words = nn.Embedding(c["num_words"], c["word_dim"], padding_idx=0)
        size = c["word_dim"]
        self.chars = None
        if c["char_encoder"] != "none":
            backend = c.get("backend", "auto")
            if c["char_encoder"] == "cnn":
                self.chars = CharCNN(c["num_chars"], c["char_dim"], c["char_features"])
            else:
                self.chars = CharLSTM(c["num_chars"], c["char_dim"], c["char_features"], backend)
            size += c["char_features"] if c["char_encoder"] == "cnn" else 2 * max(1, c["char_features"] // 2)
        self.shapes = None
        if c["shape_dim"]:
            self.shapes = nn.Embedding(c["num_shapes"], c["shape_dim"], padding_idx=0)
            size += c["shape_dim"]
        self.dropout = nn.Dropout(c["dropout"])
        layers = c["num_layers"]
        self.lstm = LSTM(size, c["hidden_size"], num_layers=layers, batch_first=True, bidirectional=True,
                         dropout=c["dropout"] if layers > 1 else 0.0, cell=c.get("cell", "lstm"),
                         backend=c.get("backend", "auto"))
        self.emit = nn.Linear(2 * c["hidden_size"], c["num_tags"])
        self.crf = CRF(c["num_tags"], batch_first=True) if c["crf"] else None

    def forward(self, words: Tensor, chars: Tensor, shapes: Tensor, lengths: Tensor) -> Tensor:
        if self.training and self.word_dropout:
            drop = (torch.rand(words.shape, device=words.device) < self.word_dropout) & (words != 0)
            words = words.masked_fill(drop, self.unk_id)
        parts = [self.words(words)]
        if self.chars is not None:
            parts.append(self.chars(chars))
        if self.shapes is not None:
            parts.append(self.shapes(shapes))
        out, _ = self.lstm(self.dropout(torch.cat(parts, -1)), lengths=lengths)
        return self.emit(self.dropout(out))

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        """Mean negative log-likelihood per sentence (CRF), or mean token cross-entropy without a CRF."""
        em = self(batch["words"], batch["chars"], batch["shapes"], batch["lengths"])
        if self.crf is not None:
            return self.crf(em, batch["tags"], lengths=batch["lengths"])
        valid = torch.arange(em.shape[1]).unsqueeze(0) < batch["lengths"].unsqueeze(1)
        return nn.functional.cross_entropy(em[valid], batch["tags"][valid])

    @torch.no_grad()
    def decode(self, batch: dict[str, Tensor]) -> list[list[int]]:
        """Best tag ids of each sentence (Viterbi under the constraints, or per-token argmax)."""
        em = self(batch["words"], batch["chars"], batch["shapes"], batch["lengths"])
        if self.crf is not None:
            path, _ = self.crf.decode(em, lengths=batch["lengths"])
        else:
            path = em.argmax(-1)
        return [path[b, :n].tolist() for b, n in enumerate(batch["lengths"].tolist())]


@register_model(KIND)
def build(config: dict) -> BiLSTMCRFTagger:
    return BiLSTMCRFTagger(config)
