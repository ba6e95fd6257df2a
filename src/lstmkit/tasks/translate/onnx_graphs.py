"""What ``Translator.export`` writes: the encoder (with the bridge to the decoder's first state) and one
decoder step, as two graphs; the search (greedy or beam) runs outside and calls the step graph."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..export import ExportGraph, device_of, tokenizer_metadata


class EncoderGraph(nn.Module):
    """``(src (B, S), src_len (B,)) -> (enc, mask, h0, c0[, keys][, feed0])``: ``encode`` then ``start``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, src: Tensor, src_len: Tensor):
        memory = self.net.encode(src, src_len)
        state = self.net.start(memory)
        out = [memory["enc"], memory["mask"], state["h"], state["c"]]
        if self.net.attends:
            out.append(memory["keys"])
        if self.net.feeds:
            out.append(state["feed"])
        return tuple(out)


class DecoderStepGraph(nn.Module):
    """``(prev (B,), h, c[, enc, mask, keys][, feed]) -> (logits (B, V), h, c[, feed][, attention (B, S)])``:
    :meth:`Seq2SeqNet.step`, one target position."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, prev: Tensor, h: Tensor, c: Tensor, enc: Tensor | None = None, mask: Tensor | None = None,
                keys: Tensor | None = None, feed: Tensor | None = None):
        memory = {} if enc is None else {"enc": enc, "mask": mask, "keys": keys}
        state = {"h": h, "c": c, **({"feed": feed} if feed is not None else {})}
        logits, new, weights = self.net.step(memory, state, prev)
        out = [logits, new["h"], new["c"]]
        if self.net.feeds:
            out.append(new["feed"])
        if weights is not None:
            out.append(weights)
        return tuple(out)


def graphs(est, steps: int | None) -> list[ExportGraph]:
    from .tokens import BOS_ID, EOS_ID, PAD_ID

    net = est.model_
    split = getattr(est, "split_", None) or {}
    S = steps or int(split.get("max_source_tokens") or 0) or est.config.data.max_length
    if not S:
        raise ValueError("Translator.export: the source length of the graphs is not known (data.max_length is 0 "
                         "and the model folder does not record its longest source); give steps=")
    dev = device_of(net)
    B = 2
    src = torch.full((B, S), 4, dtype=torch.int64, device=dev)
    src_len = torch.full((B,), S, dtype=torch.int64, device=dev)
    with torch.no_grad():
        was = net.training
        net.eval()
        example = EncoderGraph(net)(src, src_len)
        net.train(was)
    enc_out = ["enc", "mask", "h0", "c0"] + (["keys"] if net.attends else []) + (["feed0"] if net.feeds else [])
    step_in = ["prev", "h", "c"] + (["enc", "mask", "keys"] if net.attends else []) + (["feed"] if net.feeds else [])
    step_out = ["logits", "h_next", "c_next"] + (["feed_next"] if net.feeds else []) + (["attention"] if net.attends else [])
    by_name = dict(zip(enc_out, example))
    step_args = [torch.full((B,), BOS_ID, dtype=torch.int64, device=dev), by_name["h0"], by_name["c0"]]
    if net.attends:
        step_args += [by_name["enc"], by_name["mask"], by_name["keys"]]
    if net.feeds:
        step_args.append(by_name["feed0"])
    H, L, V = net.config.hidden_size, net.config.decoder_layers, net.tgt_vocab
    computes_enc = (f"The translator's encoder: (src int64 (B, {S}) source token ids padded with {PAD_ID}, src_len int64 "
                    f"(B,) 1..{S}) -> ({', '.join(enc_out)}): the encoder states enc (B, {S}, {H}), the padding mask, "
                    f"the decoder's first state h0, c0 (B, {L}, {H})"
                    + (", the attention keys" if net.attends else "") + (", the zero input feed" if net.feeds else "")
                    + ". Run it once per batch, then the step graph once per target position.")
    computes_step = (f"One decoder step of the translator: ({', '.join(step_in)}) -> ({', '.join(step_out)}): the "
                     f"next-token logits (B, {V}) after the previous token prev (start with <bos> = {BOS_ID}) and the "
                     f"new state; feed it back until <eos> = {EOS_ID}. The search (greedy or beam, length penalty) and "
                     "tokenising stay outside the graphs (lstmkit.source_tokenizer, lstmkit.target_tokenizer).")
    meta = {"source_tokenizer": tokenizer_metadata(est.source_tokenizer_),
            "target_tokenizer": tokenizer_metadata(est.target_tokenizer_),
            "bos_id": BOS_ID, "eos_id": EOS_ID, "pad_id": PAD_ID, "steps": S,
            "length_penalty": est.config.decode.length_penalty, "beam": est.config.decode.beam}
    step_dims = {"prev": 0, "h": 0, "c": 0, "enc": 0, "mask": 0, "keys": 0, "feed": 0}
    return [
        ExportGraph(EncoderGraph(net), (src, src_len), ["src", "src_len"], enc_out, {"src": 0, "src_len": 0},
                    computes_enc, metadata=meta),
        ExportGraph(DecoderStepGraph(net), tuple(step_args), step_in, step_out,
                    {k: v for k, v in step_dims.items() if k in step_in}, computes_step, suffix=".step", metadata=meta),
    ]
