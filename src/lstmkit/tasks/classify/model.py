"""The classifier network: embedding (text) or raw features (series) -> (bi)LSTM -> pooling -> linear.

:class:`EnsembleClassifier` averages the class probabilities of several such
networks (``model.ensemble``); it is saved and loaded like one network.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ...nn import LSTM, AttentionPool, SequencePool
from ...train.checkpoint import register_model

KIND = "classify-lstm"
KIND_ENSEMBLE = "classify-lstm-ensemble"


class ConvBranch(nn.Module):
    """LSTM-FCN's fully convolutional branch (Karim et al. 2017), over the series at its own time resolution.

    The encoder may have stacked ``frame`` steps into one input vector; the
    branch undoes that (``(B, T, frame * C)`` -> ``(B, T * frame, C)``), then
    runs blocks of Conv1d (zero-padded to keep the length) -> BatchNorm -> ReLU and averages
    each filter over the valid steps of each series (padding is zeroed
    before every block and left out of the average).
    """

    def __init__(self, channels: int, frame: int, widths: list[int], kernels: list[int]) -> None:
        super().__init__()
        self.channels, self.frame = channels, frame
        blocks, c_in = [], channels
        for w, k in zip(widths, kernels):
            pad = nn.ConstantPad1d(((k - 1) // 2, k // 2), 0.0)  # 'same' length for odd and even kernels alike
            blocks.append(nn.Sequential(pad, nn.Conv1d(c_in, w, k), nn.BatchNorm1d(w), nn.ReLU()))
            c_in = w
        self.blocks = nn.ModuleList(blocks)
        self.out_features = c_in

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        B, T, F = x.shape
        z = x.reshape(B, T * self.frame, self.channels).transpose(1, 2)  # (B, C, L)
        steps = lengths.to(z.device) * self.frame
        mask = (torch.arange(T * self.frame, device=z.device)[None, :] < steps[:, None]).to(z.dtype)[:, None]  # (B, 1, L)
        for block in self.blocks:
            z = block(z * mask)
        return (z * mask).sum(-1) / steps.clamp(min=1)[:, None].to(z.dtype)


class ClassifierNet(nn.Module):
    """Class scores for a batch of sequences: the network inside :class:`~lstmkit.SequenceClassifier`.

    Args (one ``config`` dict, as saved in ``config.json``):
        kind: ``'text'`` (``x`` holds word ids, ``0`` is padding) or
            ``'series'`` (``x`` holds ``input_size`` features per step).
        vocab_size, unk_id, embedding_dim, embedding_dropout, word_dropout: text only.
        input_size: series only.
        hidden_size, num_layers, bidirectional, cell, dropout: the LSTM.
        pooling: ``'last'``, ``'mean'``, ``'max'`` or ``'attention'``.
        conv_channels, conv_kernels, frame: series only, optional: a
            :class:`ConvBranch` whose features join the pooled LSTM output.
        num_classes: outputs.

    Shapes: ``x`` ``(B, T)`` or ``(B, T, F)`` (batch first), ``lengths``
    ``(B,)`` -> logits ``(B, num_classes)``.
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        c = dict(config)
        self.config = c
        self.kind = c["kind"]
        if self.kind == "text":
            self.embedding = nn.Embedding(c["vocab_size"], c["embedding_dim"], padding_idx=0)
            self.embedding_dropout = nn.Dropout(c.get("embedding_dropout", 0.0))
            in_size = c["embedding_dim"]
        else:
            in_size = c["input_size"]
        self.word_dropout = float(c.get("word_dropout", 0.0))
        self.unk_id = c.get("unk_id", 1)
        layers = c["num_layers"]
        self.lstm = LSTM(in_size, c["hidden_size"], num_layers=layers, batch_first=True, bidirectional=c["bidirectional"],
                         dropout=c["dropout"] if layers > 1 else 0.0, cell=c.get("cell", "lstm"),
                         backend=c.get("backend", "auto"))
        D = 2 if c["bidirectional"] else 1
        feat = D * c["hidden_size"]
        if c["pooling"] == "attention":
            self.pool = AttentionPool(feat, batch_first=True)
        else:
            self.pool = SequencePool(c["pooling"], num_directions=D, batch_first=True)
        self.conv = None
        if c.get("conv_channels"):
            if self.kind != "series":
                raise ValueError("ClassifierNet: conv_channels is for series, not text")
            frame = int(c.get("frame", 1))
            self.conv = ConvBranch(c["input_size"] // frame, frame, list(c["conv_channels"]), list(c["conv_kernels"]))
            feat += self.conv.out_features
        self.dropout = nn.Dropout(c["dropout"])
        self.out = nn.Linear(feat, c["num_classes"])

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if self.kind == "text":
            if self.training and self.word_dropout:
                drop = (torch.rand(x.shape, device=x.device) < self.word_dropout) & (x != 0)
                x = x.masked_fill(drop, self.unk_id)
            x = self.embedding_dropout(self.embedding(x))
        out, _ = self.lstm(x, lengths=lengths)
        features = self.pool(out, lengths)
        if self.conv is not None:
            features = torch.cat([features, self.conv(x, lengths)], -1)
        return self.out(self.dropout(features))


@register_model(KIND)
def build(config: dict) -> ClassifierNet:
    return ClassifierNet(config)


class EnsembleClassifier(nn.Module):
    """The mean of the members' class probabilities, returned as its logarithm.

    ``softmax(forward(x))`` is therefore the average of the members' softmax
    outputs, and ``cross_entropy`` on the output is the ensemble's log loss.

    Args:
        config: ``members`` (how many) and ``member`` (the
            :class:`ClassifierNet` config every member shares).
        networks: trained members to hold as they are; default: fresh ones
            built from ``config`` (what loading a saved ensemble does).
    """

    def __init__(self, config: dict, networks: list[ClassifierNet] | None = None) -> None:
        super().__init__()
        self.config = dict(config)
        n = int(self.config["members"])
        if n < 1:
            raise ValueError(f"EnsembleClassifier: expected members >= 1, got {n}")
        if networks is not None and len(networks) != n:
            raise ValueError(f"EnsembleClassifier: expected {n} networks, got {len(networks)}")
        self.members = nn.ModuleList(networks or (ClassifierNet(self.config["member"]) for _ in range(n)))
        self.kind = self.members[0].kind

    @property
    def lstm(self) -> nn.Module:
        """The first member's LSTM (what ``lstmkit explain`` traces)."""
        return self.members[0].lstm

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        logp = torch.stack([torch.log_softmax(m(x, lengths), -1) for m in self.members])  # (N, B, K)
        return torch.logsumexp(logp, 0) - math.log(len(self.members))


@register_model(KIND_ENSEMBLE)
def build_ensemble(config: dict) -> EnsembleClassifier:
    return EnsembleClassifier(config)
