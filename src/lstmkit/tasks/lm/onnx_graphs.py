"""What ``LanguageModel.export`` writes: the network over ``steps`` tokens with the LSTM state in and out."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..export import ExportGraph, device_of, tokenizer_metadata


class LMStateGraph(nn.Module):
    """``(ids (B, T), h0, c0) -> (logits (B, T, V), h_n, c_n)``: :class:`~lstmkit.tasks.lm.model.LMNet`
    in eval mode without its input checks (which read the ids' values, so they cannot be traced)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, ids: Tensor, h0: Tensor, c0: Tensor):
        net = self.net
        out, (h, c) = net.lstm(net.embedding_dropout(net.embedding(ids)), (h0, c0))
        return net.decoder(net.output_dropout(out)), h, c


def graphs(est, steps: int | None) -> list[ExportGraph]:
    net = est.model_
    T = steps or 1
    dev = device_of(net)
    B = 2
    ids = torch.zeros(B, T, dtype=torch.int64, device=dev)
    h0, c0 = net.lstm.init_state(B)
    computes = (f"The language model's next-token logits for {T} token id(s) per sequence, carrying the LSTM state: "
                f"(ids int64 (B, {T}), h0, c0 (layers, B, n)) -> (logits (B, {T}, vocab), h_n, c_n). "
                "Start from zero states; feed h_n, c_n back as the next call's h0, c0. Tokenising, softmax, "
                "temperature and sampling stay outside (lstmkit.tokenizer holds the vocabulary).")
    return [ExportGraph(LMStateGraph(net), (ids, h0, c0), ["ids", "h0", "c0"], ["logits", "h_n", "c_n"],
                        {"ids": 0, "h0": 1, "c0": 1}, computes,
                        metadata={"tokenizer": tokenizer_metadata(est.tokenizer_), "context": list(est.context_),
                                  "steps": T})]
