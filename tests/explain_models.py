"""Small hand-made model folders for the explain tests (no training: instant and exact)."""

from __future__ import annotations

from pathlib import Path

import torch

from lstmkit import LanguageModel
from lstmkit.data.tokenize import CharTokenizer
from lstmkit.tasks.lm.config import ModelConfig
from lstmkit.tasks.lm.model import LMNet

TEXT = 'First Citizen:\nBefore we proceed any further, hear me speak. "Speak, speak." (All) Bob is nice! Dan is evil?\n'


def char_lm(hidden: int = 8, seed: int = 0) -> tuple[LMNet, CharTokenizer]:
    torch.manual_seed(seed)
    tok = CharTokenizer.train([TEXT])
    cfg = ModelConfig(hidden_size=hidden, num_layers=2, dropout=0.0, output_dropout=0.0, backend="auto")
    return LMNet(tok.vocab_size, cfg).eval(), tok


def save_char_lm(directory: Path, hidden: int = 8) -> Path:
    model, tok = char_lm(hidden)
    return LanguageModel.from_network(model, tok, tok.encode("\n")).save(directory)


def full_stop_lm(directory: Path | None = None) -> LanguageModel:
    """One layer of 4 units whose forget gate is wired to the full stop: f ~ 0 after '.', ~1 elsewhere."""
    tok = CharTokenizer.train([TEXT])
    H = 4
    cfg = ModelConfig(hidden_size=H, num_layers=1, embedding_size=H, tie_weights=False, dropout=0.0, output_dropout=0.0)
    model = LMNet(tok.vocab_size, cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.embedding.weight[tok.encode(".")[0], 0] = 1.0
        w_ih, b_ih = model.lstm.weight_ih_l0, model.lstm.bias_ih_l0  # gate rows i, f, g, o
        w_ih[H : 2 * H, 0] = -20.0
        b_ih[H : 2 * H] = 5.0
    lm = LanguageModel.from_network(model, tok, tok.encode("\n"))
    if directory is not None:
        lm.save(directory)
    return lm
