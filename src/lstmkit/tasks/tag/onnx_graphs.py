"""What ``SequenceTagger.export`` writes: the BiLSTM's emission scores; CRF decoding stays outside."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..export import ExportGraph, device_of


class EmissionGraph(nn.Module):
    """``(words (B, T), lengths (B,)[, chars (B, T, L)][, shapes (B, T)]) -> emissions (B, T, K)``: the
    tagger's network with the inputs it does not read left out of the graph."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.uses_chars, self.uses_shapes = net.chars is not None, net.shapes is not None

    def forward(self, words: Tensor, lengths: Tensor, first: Tensor | None = None, second: Tensor | None = None):
        rest = [t for t in (first, second) if t is not None]
        chars = rest.pop(0) if self.uses_chars else words.new_zeros(*words.shape, 1)
        shapes = rest.pop(0) if self.uses_shapes else torch.zeros_like(words)
        return self.net(words, chars, shapes, lengths)


def graphs(est, steps: int | None) -> list[ExportGraph]:
    net, enc = est.model_, est.encoder_
    info = getattr(est, "fit_info_", None) or {}
    T = steps or int(info.get("max_tokens") or 0) or est.config_.data.max_length
    L = int(info.get("max_chars") or 0) or enc.max_word_length
    dev = device_of(net)
    B = 2
    graph = EmissionGraph(net)
    inputs = [torch.ones(B, T, dtype=torch.int64, device=dev), torch.full((B,), T, dtype=torch.int64, device=dev)]
    names, dims = ["words", "lengths"], {"words": 0, "lengths": 0}
    parts = [f"words int64 (B, {T}) word ids padded with 0", "lengths int64 (B,) tokens per sentence"]
    if graph.uses_chars:
        inputs.append(torch.ones(B, T, L, dtype=torch.int64, device=dev))
        names.append("chars")
        dims["chars"] = 0
        parts.append(f"chars int64 (B, {T}, {L}) character ids of each word (its first {L}), padded with 0")
    if graph.uses_shapes:
        inputs.append(torch.ones(B, T, dtype=torch.int64, device=dev))
        names.append("shapes")
        dims["shapes"] = 0
        parts.append(f"shapes int64 (B, {T}) word-shape ids")
    K = len(enc.tag_names)
    crf = net.crf
    computes = (f"The tagger's emission scores: ({', '.join(parts)}) -> emissions (B, {T}, {K}), one score per token "
                "and tag (columns in the order of lstmkit.tags). "
                + ("CRF Viterbi decoding stays outside the graph: the best path maximises the emissions plus "
                   "lstmkit.crf's start, transition (from, to) and end scores over the allowed transitions. "
                   if crf is not None else "The tag of a token is the argmax of its emissions. ")
                + "Word normalisation and vocabularies (lstmkit.encoder) stay outside too.")
    meta = {"tags": list(enc.tag_names), "model_scheme": est.config_.data.model_scheme, "file_scheme": est.scheme_,
            "encoder": enc.to_dict(), "steps": T, "word_chars": L}
    if crf is not None:
        meta["crf"] = {"transitions": crf.transitions.tolist(), "start": crf.start.tolist(), "end": crf.end.tolist(),
                       "allowed_transitions": crf.allowed_transitions.tolist(), "allowed_start": crf.allowed_start.tolist(),
                       "allowed_end": crf.allowed_end.tolist()}
    return [ExportGraph(graph, tuple(inputs), names, ["emissions"], dims, computes, metadata=meta)]
