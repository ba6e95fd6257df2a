"""Both languages' tokenisers and the padded id tensors a model reads.

The source and the target each get their own tokeniser, trained on the
training part only: BPE subwords (:class:`~lstmkit.data.tokenize.SubwordTokenizer`)
or words (:class:`~lstmkit.data.tokenize.WordTokenizer`, runs of letters and
digits with each punctuation mark alone). The target vocabulary has ``<bos>``
(id 2) and ``<eos>`` (id 3) after ``<pad>`` (0) and ``<unk>`` (1).

Unknown tokens: with BPE an unseen word splits into known subwords down to
single characters, so only a character never seen in training becomes
``<unk>``; with words, every unseen word does. :func:`encode_sources` counts
them so the caller can say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

BOS, EOS = "<bos>", "<eos>"
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


def train_tokenizer(texts: Sequence[str], kind: str, vocab_size: int, min_freq: int, lowercase: bool,
                    specials: tuple[str, ...] = ()):
    """A BPE or word tokeniser trained on ``texts`` (see the module docstring)."""
    from ...data.tokenize import SubwordTokenizer, WordTokenizer

    if kind == "bpe":
        return SubwordTokenizer.train(texts, vocab_size=vocab_size or 8000, min_freq=min_freq, lowercase=lowercase,
                                      specials=specials)
    return WordTokenizer.train(texts, min_freq=min_freq, max_size=vocab_size or None, lowercase=lowercase,
                               split="words", specials=specials)


def check_target_tokenizer(tok, where: str) -> None:
    """The target side needs ``<bos>``/``<eos>`` at ids 2 and 3."""
    ids = [tok.tokenizer.token_to_id(t) for t in (BOS, EOS)] if hasattr(tok, "tokenizer") else \
        [tok.vocab.index.get(t) for t in (BOS, EOS)]
    if ids != [BOS_ID, EOS_ID]:
        raise ValueError(f"{where}: expected the target tokenizer to hold {BOS} and {EOS} at ids {BOS_ID} and "
                         f"{EOS_ID}, got {ids}")


@dataclass
class Encoded:
    """Source ids ``(N, S)`` and lengths; target input ``<bos> y`` and output ``y <eos>`` ``(N, T)`` and lengths."""

    src: torch.Tensor
    src_len: torch.Tensor
    tgt_in: torch.Tensor | None = None
    tgt_out: torch.Tensor | None = None
    tgt_len: torch.Tensor | None = None
    unknown: int = 0  # source tokens read as <unk>
    tokens: int = 0  # source tokens in all


def pad(seqs: Sequence[Sequence[int]], min_len: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids (N, max len) padded with 0, lengths (N,))``."""
    lens = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    width = max(int(lens.max()) if len(seqs) else 0, min_len)
    out = torch.zeros(len(seqs), width, dtype=torch.int64)
    for i, s in enumerate(seqs):
        if len(s):
            out[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.int64)
    return out, lens


def encode_sources(tok, sentences: Sequence[str]) -> Encoded:
    """Source ids of ``sentences``; a sentence that gives no token at all is encoded as one ``<unk>``."""
    if hasattr(tok, "tokenizer"):  # BPE: the tokenizers library encodes a batch at once
        ids = [e.ids for e in tok.tokenizer.encode_batch(list(sentences), add_special_tokens=False)]
    else:
        ids = [tok.encode(s) for s in sentences]
    ids = [list(s) or [UNK_ID] for s in ids]
    src, src_len = pad(ids)
    unknown = sum(sum(1 for i in s if i == UNK_ID) for s in ids)
    return Encoded(src, src_len, unknown=unknown, tokens=int(src_len.sum()))


def encode_pairs(src_tok, tgt_tok, sources: Sequence[str], targets: Sequence[str], max_length: int = 0) -> tuple[Encoded, int]:
    """Ids of the pairs (training form); pairs longer than ``max_length`` tokens on a side are dropped (count returned)."""
    enc = encode_sources(src_tok, sources)
    tgt_ids = [tgt_tok.encode(t) for t in targets]
    keep = list(range(len(tgt_ids)))
    if max_length:
        keep = [i for i in keep if len(tgt_ids[i]) + 1 <= max_length and int(enc.src_len[i]) <= max_length]
    dropped = len(tgt_ids) - len(keep)
    t_in, t_len = pad([[BOS_ID] + tgt_ids[i] for i in keep])
    t_out, _ = pad([tgt_ids[i] + [EOS_ID] for i in keep])
    k = torch.tensor(keep, dtype=torch.int64)
    src, src_len = enc.src[k], enc.src_len[k]
    src = src[:, : max(1, int(src_len.max()))] if len(keep) else src
    return Encoded(src, src_len, t_in, t_out, t_len, enc.unknown, enc.tokens), dropped


def decode_target(tok, ids: Sequence[int]) -> str:
    """Text of target ids, stopping at ``<eos>``; ``<bos>``/``<pad>`` are dropped."""
    out = []
    for i in ids:
        i = int(i)
        if i == EOS_ID:
            break
        if i not in (PAD_ID, BOS_ID):
            out.append(i)
    return tok.decode(out)


def target_pieces(tok, ids: Sequence[int]) -> list[str]:
    """One label per target id (for alignment plots): the subword or word, ``<eos>`` included."""
    labels = []
    for i in ids:
        i = int(i)
        if i == EOS_ID:
            labels.append(EOS)
            break
        labels.append(_piece(tok, i))
    return labels


def source_pieces(tok, sentence: str) -> list[str]:
    """One label per source token of ``sentence``."""
    return [_piece(tok, i) for i in (tok.encode(sentence) or [UNK_ID])]


def _piece(tok, i: int) -> str:
    if hasattr(tok, "tokenizer"):
        return tok.tokenizer.id_to_token(i) or "<unk>"
    return tok.vocab.id_to_token(i)


__all__ = ["train_tokenizer", "check_target_tokenizer", "Encoded", "encode_sources", "encode_pairs", "pad",
           "decode_target", "target_pieces", "source_pieces", "BOS", "EOS", "PAD_ID", "UNK_ID", "BOS_ID", "EOS_ID"]
