"""Language-modelling runs: train, evaluate and generate, with their files.

A training run folder holds::

    model/          model.safetensors + config.json + tokenizer.json (load_lm)
    metrics.json    validation loss, perplexity, bits per character; run facts
    plots/training.png
    sample.txt      a sample from the trained model
    report.html     all of it on one page
    config.yaml     the full configuration
    training/       Lightning's CSV logs and resumable checkpoints

Example::

    from lstmkit.tasks.lm import api, LMConfig
    res = api.train(LMConfig(), "runs/lm")          # Tiny Shakespeare by default
    model, tok = api.load_lm("runs/lm/model")
    api.generate_text(model, tok, "ROMEO:", 200, temperature=0.8, seed=0).text
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ...config import to_dict, to_yaml
from .config import LMConfig
from .corpus import Corpus, load_corpus, read_text, resolve_data_path, split_text, start_context
from .generate import Generation, generate
from .metrics import LMScore, score_lines, score_text
from .model import KIND, LanguageModel, model_config_dict

TOKENIZER_FILE = "tokenizer.json"


def default_out_dir(cfg: LMConfig) -> Path:
    name = Path(cfg.data.path).stem if cfg.data.path else "tinyshakespeare"
    return Path(cfg.run.out_dir or f"runs/lm-{name}")


# ------------------------------------------------------------------ saving and loading
def save_lm(directory: str | Path, model: LanguageModel, tokenizer, context: list[int], extra: dict | None = None) -> Path:
    """Model folder: weights and config (:func:`lstmkit.train.save_model`) plus ``tokenizer.json``."""
    from ...train import save_model

    directory = Path(directory)
    save_model(directory, model, KIND, model_config_dict(model.vocab_size, model.config),
               extra={"tokenizer": TOKENIZER_FILE, "context": list(context), **(extra or {})})
    tokenizer.save(directory / TOKENIZER_FILE)
    return directory


def load_lm(directory: str | Path, map_location: str = "cpu", backend: str = "auto") -> tuple[LanguageModel, object]:
    """``(model in eval mode, tokenizer)`` from a model folder; ``model.context`` holds the start context.

    ``backend`` is the recurrence engine from now on (the one used in
    training is a training-time choice; ``auto`` can also return gate traces).
    For gate traces of a text: :func:`gate_traces`, or
    ``model(torch.tensor([tok.encode(text)]), return_gates=True)``.
    """
    from ...data.tokenize import load_tokenizer
    from ...train import load_model

    directory = Path(directory)
    model, meta = load_model(directory, map_location)
    if meta["kind"] != KIND:
        raise ValueError(f"load_lm: expected a {KIND!r} model in {directory}, got {meta['kind']!r}")
    tok_path = directory / meta["extra"].get("tokenizer", TOKENIZER_FILE)
    if not tok_path.is_file():
        raise FileNotFoundError(f"load_lm: expected {tok_path.name} in {directory}, found none")
    tok = load_tokenizer(tok_path)
    if tok.vocab_size != model.vocab_size:
        raise ValueError(f"load_lm: {tok_path} has {tok.vocab_size} tokens but the model expects {model.vocab_size}")
    model.lstm.backend = backend
    model.context = list(meta["extra"].get("context") or start_context(tok))
    model.meta = meta
    return model, tok


def gate_traces(model: LanguageModel, tokenizer, text: str) -> tuple[list[str], list]:
    """``(tokens, gates)`` for ``text``: ``gates[layer][0][name]`` is ``(T, n)`` per token (i, f, g, o, c, h)."""
    ids = tokenizer.encode(text)
    if not ids:
        raise ValueError("gate_traces: the text gives no tokens")
    model.eval()
    with torch.no_grad():
        _, _, gates = model(torch.tensor([ids]), return_gates=True)
    tokens = [tokenizer.decode([i]) for i in ids]
    return tokens, [[{k: v[0] for k, v in d.items()} for d in layer] for layer in gates]


# ------------------------------------------------------------------ train
@dataclass
class LMRun:
    out: Path
    metrics: dict
    model: LanguageModel
    tokenizer: object
    report: Path | None = None


def train(cfg: LMConfig, out: str | Path | None = None, resume: bool = False,
          say: Callable[[str], None] = print) -> LMRun:
    """Read and split the text, fit the model with TBPTT, score the validation text, write the run folder."""
    from ...train import fit, seed_everything
    from ...io.files import atomic_write_text
    from .report import plot_training, write_report
    from .streams import StreamChunks, TBPTTStep

    out = Path(out) if out else default_out_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    corpus = load_corpus(cfg.data)
    tok = corpus.tokenizer
    say(f"loaded {corpus.source}: {len(corpus.train_text)} training and {len(corpus.val_text)} validation characters; "
        f"{cfg.data.tokenizer} tokenizer, {tok.vocab_size} tokens; {len(corpus.train_ids)} training tokens")
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    seed_everything(cfg.train.seed, cfg.train.deterministic)
    model = LanguageModel(tok.vocab_size, cfg.model)
    n_params = model.num_parameters()
    say(f"model: {cfg.model.num_layers} x {cfg.model.hidden_size} {cfg.model.cell}, embedding {cfg.model.embedding_dim}, "
        f"{'tied' if model.tied else 'untied'} decoder, {n_params:,} parameters")
    B, T = cfg.train.batch_size, cfg.bptt.length
    train_chunks = StreamChunks(corpus.train_ids, B, T, random_offset=cfg.bptt.random_offset, seed=cfg.train.seed)
    val_streams = max(1, min(cfg.bptt.eval_batch_size, len(corpus.val_ids) // 2))
    val_chunks = StreamChunks(corpus.val_ids, val_streams, T)
    callbacks = []
    limit = None
    if cfg.run.max_minutes:
        from .time_budget import TimeBudget

        limit = TimeBudget(cfg.run.max_minutes, anneal=cfg.run.anneal_over_time)
        callbacks.append(limit)
    t_fit = time.perf_counter()
    result = fit(model, TBPTTStep(), train_chunks, val_chunks, cfg.train, out_dir=out / "training", resume=resume,
                 val_step=TBPTTStep(), callbacks=callbacks)
    train_seconds = time.perf_counter() - t_fit
    model.eval()
    context = start_context(tok, corpus.train_ids)
    t_eval = time.perf_counter()
    val = score_text(model, tok, corpus.val_text, context, bptt=max(T, 256), batch_size=cfg.bptt.eval_batch_size)
    eval_seconds = time.perf_counter() - t_eval
    say(f"validation: loss {val.loss:.4f} nats/token, perplexity {val.perplexity:.3f}, {val.bpc:.4f} bits/char "
        f"({val.tokens} tokens, {val.unknown} <unk>)")
    save_lm(out / "model", model, tok, context,
                        extra={"data": corpus.source, "val_fraction": cfg.data.val_fraction, "max_chars": cfg.data.max_chars})
    sample = None
    if cfg.run.sample_length:
        sample = generate(model, tok, "", cfg.run.sample_length, temperature=cfg.run.temperature,
                          seed=cfg.train.seed, context=context).text
        atomic_write_text(out / "sample.txt", sample)
    steps = len(train_chunks)
    run = {
        "data": corpus.source, "tokenizer": cfg.data.tokenizer, "vocab_size": tok.vocab_size,
        "train_tokens": len(corpus.train_ids), "val_tokens": len(corpus.val_ids),
        "parameters": n_params, "epochs": result.epochs, "steps_per_epoch": steps,
        "train_seconds": round(train_seconds, 1), "eval_seconds": round(eval_seconds, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "stopped_by_time_limit": bool(limit and limit.stopped),
        "torch_threads": torch.get_num_threads(), "best_val_loss_per_chunk": result.best_score,
        "final_train_loss": next((r["train_loss"] for r in reversed(result.history) if "train_loss" in r), None),
    }
    metrics = {"val": val.to_dict(), "run": run, "history": result.history}
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, allow_nan=True))
    atomic_write_text(out / "config.yaml", to_yaml(cfg))
    plot = plot_training(out / "plots" / "training.png", result.history, cfg.data.tokenizer)
    intro = (f"{cfg.model.num_layers}-layer {cfg.model.cell} language model ({cfg.model.hidden_size} units, "
             f"{n_params:,} parameters, {cfg.data.tokenizer} tokens) on {corpus.source}: first "
             f"{1 - cfg.data.val_fraction:.0%} of the characters for training, the rest for validation; truncated BPTT "
             f"over {B} streams in chunks of {T}.")
    report = write_report(out, "Language model report", intro, metrics, run, sample, plot, to_dict(cfg))
    say(f"done in {run['total_seconds']:.0f} s; report: {report}")
    return LMRun(out, metrics, model, tok, report)


# ------------------------------------------------------------------ evaluate
def evaluate(model_dir: str | Path, data: str | Path | None = None, part: str | None = None,
             per_line: str | Path | None = None, bptt: int = 256, batch_size: int = 32,
             say: Callable[[str], None] = print) -> dict:
    """Loss, perplexity and bpc of a saved model on a text.

    ``data`` defaults to the file the model was trained on; ``part`` is
    ``all``, ``train`` or ``val`` (the same split as training; default ``val``
    when ``data`` is not given, else ``all``). With ``per_line`` (a ``.csv``,
    ``.jsonl`` or ``.json`` path), every non-empty line is also scored on its
    own and written there.
    """
    model, tok = load_lm(model_dir)
    extra = model.meta["extra"]
    if part is None:
        part = "all" if data else "val"
    if part not in ("all", "train", "val"):
        raise ValueError(f"lm evaluate: expected part all, train or val, got {part!r}")
    path = Path(data) if data else resolve_data_path(extra.get("data"))
    text = read_text(path, int(extra.get("max_chars", 0)) if not data else 0)
    if part != "all":
        tr, va = split_text(text, float(extra.get("val_fraction", 0.1)))
        text = va if part == "val" else tr
    score = score_text(model, tok, text, model.context, bptt=bptt, batch_size=batch_size)
    result = {"data": str(path), "part": part, **score.to_dict()}
    say(f"{path} ({part}): loss {score.loss:.4f} nats/token, perplexity {score.perplexity:.3f}, "
        f"{score.bpc:.4f} bits/char over {score.tokens} tokens ({score.unknown} <unk>)")
    if per_line:
        lines, skipped = score_lines(model, tok, text, model.context, bptt=bptt, batch_size=batch_size)
        rows = [{"line": s.line, "text": s.text, "tokens": s.score.tokens, "chars": s.score.chars,
                 "nats": s.score.nats, "loss": s.score.loss, "perplexity": s.score.perplexity, "bpc": s.score.bpc,
                 "unknown_tokens": s.score.unknown} for s in lines]
        write_rows(per_line, rows)
        result["lines_scored"], result["lines_skipped_empty"] = len(rows), skipped
        say(f"per-line scores: {per_line} ({len(rows)} lines, {skipped} empty line(s) skipped)")
    return result


def write_rows(path: str | Path, rows: list[dict]) -> Path:
    """Rows as CSV (``.csv``) or JSON lines (``.jsonl``/``.json``), chosen by the extension."""
    from ...io.files import atomic_write_text

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        import pandas as pd

        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(path, index=False)
    elif suffix in (".jsonl", ".json"):
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    else:
        raise ValueError(f"lm: expected an output file ending in .csv, .jsonl or .json, got {path.name!r}")
    return path


# ------------------------------------------------------------------ generate
def generate_text(model: LanguageModel, tokenizer, prime: str = "", length: int = 500, temperature: float = 1.0,
                  top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
                  on_text: Callable[[str], None] | None = None) -> Generation:
    """:func:`~lstmkit.tasks.lm.generate.generate` with the model's stored start context."""
    context = getattr(model, "context", None) or start_context(tokenizer)
    return generate(model, tokenizer, prime, length, temperature, top_k, top_p, seed, context=context, on_text=on_text)




__all__ = ["train", "evaluate", "generate_text", "load_lm", "save_lm", "gate_traces", "write_rows", "LMRun",
           "LMScore", "Corpus", "default_out_dir"]
