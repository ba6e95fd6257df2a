"""``lstmkit lm train|generate|evaluate``: LSTM language models on a text file."""

from __future__ import annotations

import argparse

_EPILOG = """examples:
  lstmkit lm train                                   # Tiny Shakespeare, char-level -> runs/lm-tinyshakespeare/report.html
  lstmkit lm train --data book.txt --data.tokenizer bpe --data.vocab_size 4000 --model.hidden_size 512
  lstmkit lm train --config lm.yaml --train.epochs 20 --bptt.length 200 --run.max_minutes 30
  lstmkit lm generate --model runs/lm-tinyshakespeare/model --prime "ROMEO:" --length 400 --temperature 0.8 --top-p 0.95 --seed 1
  lstmkit lm generate --model runs/lm-tinyshakespeare/model --num-samples 5 --output samples.jsonl
  lstmkit lm evaluate --model runs/lm-tinyshakespeare/model                  # the validation part of its training text
  lstmkit lm evaluate --model runs/lm-tinyshakespeare/model --data other.txt --output lines.csv
"""


def add_parser(sub) -> None:
    p = sub.add_parser("lm", help="train, sample from and evaluate LSTM language models",
                       description="Character, word or subword (BPE) LSTM language models trained with truncated "
                       "backpropagation through time; sampling with temperature, top-k and top-p from a priming "
                       "text, streamed to the terminal; perplexity and bits per character.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    lsub = p.add_subparsers(dest="lm_command", metavar="ACTION")

    t = lsub.add_parser("train", help="train a model and write model/, metrics.json, plots/, sample.txt, report.html",
                        description="Split the text (first 90% train, last 10% validation, as nanoGPT), train a "
                        "tokenizer on the training part, fit the LSTM with truncated BPTT, score the validation text "
                        "exactly and write the run folder. With no --data it uses Tiny Shakespeare at "
                        "../shared/data/tinyshakespeare/input.txt (not shipped with the package).",
                        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--data", metavar="FILE", help="UTF-8 text file (sets data.path)")
    t.add_argument("--out", metavar="DIR", help="output folder (sets run.out_dir; default runs/lm-<data name>)")
    from lstmkit.cli.run_options import add_run_options
    from lstmkit.tasks.lm.config import LMConfig

    add_run_options(t, LMConfig)
    t.set_defaults(func=run, action="train")

    g = lsub.add_parser("generate", help="continue a priming text, streaming it to the terminal",
                        description="Sample text from a trained model token by token (printed as it is drawn). "
                        "Tokens of the prime the model has never seen are read as <unk>; <unk> and <pad> are never "
                        "generated.", epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("--model", required=True, metavar="DIR", help="model folder written by `lm train` (…/model)")
    g.add_argument("--prime", default="", metavar="TEXT", help="priming text (default: none; a character model "
                   "starts as if after a newline)")
    g.add_argument("--prime-file", metavar="FILE", help="read the priming text from a file instead")
    g.add_argument("--length", type=int, default=500, metavar="N", help="tokens to generate per sample (default 500)")
    g.add_argument("--temperature", type=float, default=1.0, metavar="T", help="0: greedy; <1 conservative (default 1)")
    g.add_argument("--top-k", type=int, default=None, metavar="K", help="sample among the K most likely tokens")
    g.add_argument("--top-p", type=float, default=None, metavar="P", help="sample from the nucleus of mass P")
    g.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (sample i uses seed + i)")
    g.add_argument("--num-samples", type=int, default=1, metavar="N", help="independent samples (default 1)")
    g.add_argument("--output", metavar="FILE", help="also write the samples as JSON lines (.jsonl) or CSV (.csv)")
    g.add_argument("--no-stream", action="store_true", help="print each sample when it is complete")
    g.set_defaults(func=run, action="generate")

    e = lsub.add_parser("evaluate", help="loss, perplexity and bits per character of a model on a text",
                        description="Score a text exactly (state carried across chunks). Without --data: the "
                        "validation part of the text the model was trained on.",
                        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--model", required=True, metavar="DIR", help="model folder written by `lm train` (…/model)")
    e.add_argument("--data", metavar="FILE", help="UTF-8 text file (default: the model's training file)")
    e.add_argument("--part", choices=("all", "train", "val"), help="which part of the text (default: val without "
                   "--data, all with it); train/val is the split used in training")
    e.add_argument("--output", metavar="FILE", help="also score each non-empty line on its own: .csv or .jsonl")
    e.add_argument("--metrics", metavar="FILE.json", help="write the metrics here as JSON")
    e.add_argument("--bptt", type=int, default=None, metavar="N", help="chunk length for scoring (default: as in "
                   "training's validation score, max(bptt.length, 256))")
    e.add_argument("--batch-size", type=int, default=None, metavar="N", help="parallel segments (default: the "
                   "model's bptt.eval_batch_size, 32 unless changed)")
    e.set_defaults(func=run, action="evaluate")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _train(args) -> int:
    from lstmkit.cli.run_options import config_from_args
    from lstmkit.tasks.lm.config import LMConfig
    from lstmkit.tasks.lm.run_folder import train_run

    cfg = config_from_args(LMConfig, args, {"data.path": args.data, "run.out_dir": args.out})
    run = train_run(cfg, resume=args.resume)
    val, facts = run.metrics["val"], run.metrics["run"]
    print(f"validation: loss {val['loss']:.4f} nats/token, perplexity {val['perplexity']:.3f}, {val['bpc']:.4f} "
          f"bits/char ({val['tokens']} tokens, {val['unknown_tokens']} <unk>)")
    print(f"done in {facts['total_seconds']:.1f} s; model: {run.out / 'model'}; report: {run.report}")
    return 0


def _generate(args) -> int:
    import sys
    import warnings
    from pathlib import Path

    from lstmkit.tasks.lm.estimator import LanguageModel, VocabularyWarning
    from lstmkit.tasks.lm.run_folder import write_rows

    if args.num_samples < 1:
        raise ValueError(f"expected --num-samples >= 1, got {args.num_samples}")
    prime = args.prime
    if args.prime_file:
        from lstmkit.io.files import read_text

        prime = read_text(args.prime_file, "a priming text")
    if args.output:
        suffix = Path(args.output).suffix.lower()
        if suffix not in (".csv", ".jsonl", ".json"):
            raise ValueError(f"expected --output ending in .csv, .jsonl or .json, got {args.output!r}")
    lm = LanguageModel.load(args.model)
    rows = []
    for i in range(args.num_samples):
        seed = None if args.seed is None else args.seed + i
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", VocabularyWarning)
            pieces = lm.generate(prime, args.length, temperature=args.temperature, top_k=args.top_k,
                                 top_p=args.top_p, seed=seed, stream=True)
        for w in caught:  # the prime's unknown characters: stated once, on stderr, before the text
            if not issubclass(w.category, VocabularyWarning):
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
            elif i == 0:
                print(f"lstmkit lm: note: {w.message}", file=sys.stderr, flush=True)
        if args.num_samples > 1:
            print(f"--- sample {i + 1} ---", flush=True)
        text = []
        if not args.no_stream:
            sys.stdout.write(prime)
            sys.stdout.flush()
        for piece in pieces:
            text.append(piece)
            if not args.no_stream:
                sys.stdout.write(piece)
                sys.stdout.flush()
        text = "".join(text)
        if args.no_stream:
            sys.stdout.write(prime + text)
        print(flush=True)
        rows.append({"sample": i, "seed": seed, "prime": prime, "text": text, "tokens": args.length,
                     "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p})
    if args.output:
        write_rows(args.output, rows)
        print(f"samples: {args.output}", file=sys.stderr)
    return 0


def _evaluate(args) -> int:
    import json
    from pathlib import Path

    from lstmkit.tasks.lm.corpus import read_text, text_part
    from lstmkit.tasks.lm.estimator import LanguageModel
    from lstmkit.tasks.lm.run_folder import training_text, write_rows

    lm = LanguageModel.load(args.model)
    part = args.part or ("all" if args.data else "val")
    if args.data:
        path = Path(args.data)
        text = text_part(read_text(path), part, lm.source_["val_fraction"])
    else:
        path, text = training_text(lm, part)
    res = {"data": str(path), "part": part, **lm.evaluate(text, bptt=args.bptt, batch_size=args.batch_size)}
    print(f"{path} ({part}): loss {res['loss']:.4f} nats/token, perplexity {res['perplexity']:.3f}, "
          f"{res['bpc']:.4f} bits/char over {res['tokens']} tokens ({res['unknown_tokens']} <unk>)")
    if args.output:
        rows, skipped = lm.score_lines(text, bptt=args.bptt, batch_size=args.batch_size)
        write_rows(args.output, rows)
        res["lines_scored"], res["lines_skipped_empty"] = len(rows), skipped
        print(f"per-line scores: {args.output} ({len(rows)} lines, {skipped} empty line(s) skipped)")
    if args.metrics:
        from lstmkit.io.files import atomic_write_text

        atomic_write_text(args.metrics, json.dumps(res, indent=2, allow_nan=True))
    return 0


def run(args: argparse.Namespace) -> int:
    import sys

    try:
        return {"train": _train, "generate": _generate, "evaluate": _evaluate}[args.action](args)
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit lm: error: {e}", file=sys.stderr)
        return 2
