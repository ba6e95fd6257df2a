"""The translation report: scores beside the baselines, the split, training curves and attention heatmaps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence


def plot_alignment(path: Path, item: dict) -> Path:
    """Heatmap of one translation's attention: target tokens down, source tokens across."""
    import numpy as np

    from ...io.figures import pyplot, save_figure

    plt = pyplot()
    w = np.asarray(item["weights"], dtype=float)  # (T, S)
    src, tgt = item["source_tokens"], item["target_tokens"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * max(len(src), 3), 1.0 + 0.45 * max(len(tgt), 3)))
    im = ax.imshow(w, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src)), src, rotation=60, ha="right", fontsize=9)
    ax.set_yticks(range(len(tgt)), tgt, fontsize=9)
    ax.set_xlabel("source")
    ax.set_ylabel("translation")
    ax.set_title(item["source"][:60], fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04)
    return save_figure(fig, path)


def plot_curves(path: Path, histories: dict[str, list[dict]]) -> Path | None:
    """Dev loss (and training loss) per epoch for every model of the run."""
    from ...io.figures import pyplot, save_figure

    if not any(histories.values()):
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, rows) in enumerate(histories.items()):
        color = f"C{i}"
        for key, style in (("val_loss", "-"), ("train_loss", ":")):
            pts = [(r["epoch"] + 1, r[key]) for r in rows if key in r]
            if pts:
                ax.plot(*zip(*pts), style, color=color, label=f"{name} ({'dev' if key == 'val_loss' else 'train'})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats per token)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def _verdicts(results: dict) -> list[str]:
    """Plain sentences comparing the models on test BLEU (beam) and beam against greedy."""
    out = []
    main = results.get("lstm", {})
    if "beam" not in main:
        return ["No test part: no scores to compare."]
    b = main["beam"]["bleu"]
    for name in ("transformer", "no-attention"):
        if name in results and "beam" in results[name]:
            o = results[name]["beam"]["bleu"]
            word = "above" if b > o else ("equal to" if b == o else "below")
            out.append(f"LSTM with attention: test BLEU {b:.2f}, {word} the {results[name]['name']} baseline's {o:.2f}"
                       f"{'' if b > o else ' (the baseline wins or ties)'}.")
    for name, r in results.items():
        if "beam" in r and "greedy" in r:
            g, bb = r["greedy"]["bleu"], r["beam"]["bleu"]
            out.append(f"{r['name']}: beam {r['beam']['beam']} gives {bb:.2f} BLEU against greedy {g:.2f} "
                       f"({'better' if bb > g else 'not better'}).")
    return out


def write_report(est, path: Path, sentences: Sequence[str] | None = None) -> Path:
    """Write the report of a fitted (or loaded) :class:`~lstmkit.tasks.translate.estimator.Translator`."""
    from ...config import to_dict
    from ...io.files import atomic_write_json, atomic_write_text
    from ...io.html_report import HtmlReport

    cfg = est.config
    results = getattr(est, "results_", None) or {}
    split = getattr(est, "split_", None) or {}
    run = getattr(est, "run_", None) or {}
    folder = path.parent
    m = cfg.model
    intro = (f"{describe_model(m)} trained on {split.get('data', {}).get('origin', 'the given pairs')}; "
             f"{cfg.data.tokenizer} tokens ({est.source_tokenizer_.vocab_size} source, "
             f"{est.target_tokenizer_.vocab_size} target types).")
    page = HtmlReport("Translation report", intro)

    page.heading("Split")
    if split:
        page.paragraph(f"Split by source sentence: {split['rule']}. Seed {split['seed']}, dev fraction "
                       f"{split['dev_fraction']}, test fraction {split['test_fraction']}.")
        page.table(["part", "pairs", "source sentences"],
                   [[p, split.get(f"{p}_pairs", 0), split.get(f"{p}_sources", 0)] for p in ("train", "dev", "test")])
        data = split.get("data", {})
        if data.get("skipped_malformed") or data.get("skipped_blank"):
            page.paragraph(f"Skipped while reading: {data.get('skipped_malformed', 0)} malformed and "
                           f"{data.get('skipped_blank', 0)} blank line(s).")
        if split.get("train_pairs_dropped_as_too_long"):
            page.paragraph(f"{split['train_pairs_dropped_as_too_long']} training pair(s) longer than "
                           f"data.max_length were left out of training.")

    page.heading("Test scores (BLEU and chrF against every reference of a source, sacrebleu)")
    if results:
        rows = []
        for r in results.values():
            g, b = r.get("greedy", {}), r.get("beam", {})
            rows.append([r["name"], r["parameters"], r["epochs"], r["train_seconds"], r["stopped_by_time_limit"],
                         r["best_val_loss"] if r["best_val_loss"] is not None else "n/a",
                         g.get("bleu", "n/a"), g.get("chrf", "n/a"), b.get("bleu", "n/a"), b.get("chrf", "n/a"),
                         b.get("seconds", "n/a")])
        page.table(["model", "parameters", "epochs", "train s", "stopped by time", "best dev loss", "greedy BLEU",
                    "greedy chrF", f"beam {cfg.decode.beam} BLEU", f"beam {cfg.decode.beam} chrF",
                    "test translation s"], rows)
        page.bullets(_verdicts(results))
        unk = results.get("lstm", {}).get("beam", {}).get("unknown_source_tokens")
        if unk is not None:
            page.paragraph(f"Unknown tokens: {unk} source token(s) of the test part were never seen in training "
                           f"({'characters: BPE splits unseen words into known pieces' if cfg.data.tokenizer == 'bpe' else 'words'}) "
                           f"and were read as <unk>.")
        sig = next((r["beam"]["bleu_signature"] for r in results.values() if "beam" in r), None)
        if sig:
            page.paragraph(f"sacrebleu signatures: {sig}; "
                           f"{next(r['beam']['chrf_signature'] for r in results.values() if 'beam' in r)}")
        notes = [f"{r['name']}: {n}" for r in results.values() for n in r.get("notes", [])]
        if notes:
            page.bullets(notes)
        page.paragraph(f"Every model had the same split, tokens, batches, seed, early stopping (patience "
                       f"{cfg.train.early_stopping} epochs on the dev loss) and time budget "
                       f"({cfg.run.max_minutes or 'no'} minutes). The Transformer uses its own learning-rate recipe "
                       f"(peak {cfg.transformer.lr}, linear warm-up, then 1/sqrt(step)).")

    histories = getattr(est, "histories_", None) or {}
    curves = plot_curves(folder / "plots" / "training.png", histories)
    if curves:
        page.heading("Training")
        page.image(curves, "loss per epoch: dev (solid) and training with label smoothing (dotted)")

    chosen = list(sentences or [])
    if not chosen:
        main = results.get("lstm", {}).get("beam", {})
        chosen = [e["source"] for e in main.get("examples", [])][: cfg.run.alignments]
    if chosen and est.model_.attends:
        items = est.alignments(chosen)
        atomic_write_json(folder / "alignments.json", items)
        page.heading("Attention alignments")
        page.paragraph("Each row is a target token (the beam search's translation, <eos> last), each column a "
                       "source token; darker is more attention. The weights are in alignments.json.")
        for i, item in enumerate(items):
            page.image(plot_alignment(folder / "plots" / f"alignment_{i}.png", item),
                       f"{item['source']} → {item['translation']}")

    examples = results.get("lstm", {}).get("beam", {}).get("examples", [])
    if examples:
        page.heading("Test examples")
        page.table(["source", "translation", "references"],
                   [[e["source"], e["translation"], " | ".join(e["references"])] for e in examples])

    if run:
        page.heading("Run")
        page.table(["what", "value"], [[k, json.dumps(v) if isinstance(v, list) else v] for k, v in run.items()])
    page.heading("Configuration")
    page.code(to_dict(cfg))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, page.render())
    return path


def describe_model(m) -> str:
    """``'LSTM encoder-decoder with multiplicative attention (2 x 128 bidirectional encoder, 1 x 256 decoder)'``."""
    att = "without attention" if m.attention == "none" else f"with {m.attention} attention" + \
        (" and input feeding" if m.input_feeding else "")
    return (f"{m.cell} encoder-decoder {att} ({m.encoder_layers} x {m.hidden_size // 2} bidirectional encoder, "
            f"{m.decoder_layers} x {m.hidden_size} decoder)")
