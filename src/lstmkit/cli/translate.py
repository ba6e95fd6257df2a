"""``lstmkit translate train|translate|evaluate``: attention LSTM translation from a file of sentence pairs."""

from __future__ import annotations

import argparse
from pathlib import Path

_EPILOG = """examples:
  lstmkit translate train                                  # ../shared/data/translation/eng-fra.tsv -> runs/translate-eng-fra/
  lstmkit translate train --data pairs.tsv --run.max_minutes 30 --model.attention additive --show "I am cold."
  lstmkit translate train --data pairs.csv --skip-bad-lines --data.tokenizer word --run.baselines transformer
  lstmkit translate translate --model runs/translate-eng-fra/model "I am cold." "Where is the station?"
  lstmkit translate translate --model runs/translate-eng-fra/model --input english.txt --output french.txt --beam 5
  echo "He is tall." | lstmkit translate translate --model runs/translate-eng-fra/model --beam 1
  lstmkit translate evaluate --model runs/translate-eng-fra/model                   # the test part of its training file
  lstmkit translate evaluate --model runs/translate-eng-fra/model --data other.tsv --metrics scores.json
"""


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help="train, run and score attention LSTM translation models",
                       description="Sequence-to-sequence translation: a bidirectional LSTM encoder and an LSTM decoder "
                       "with additive or multiplicative attention, trained on a TSV/CSV of sentence pairs; greedy or "
                       "beam search; BLEU and chrF against every reference of a source (sacrebleu); baselines (no "
                       "attention, a Transformer) trained on the same split in the same run.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    tsub = p.add_subparsers(dest="translate_command", metavar="ACTION")

    t = tsub.add_parser("train", help="train a model and its baselines; write model/, metrics.json, report.html",
                        description="Split the pairs by source sentence (train/dev/test), train BPE (or word) "
                        "tokenisers on the train part, fit the LSTM with attention and the baselines under the same "
                        "time budget, score the test part with greedy and beam search, and write the run folder "
                        "(model/, metrics.json, config.yaml, test_translations.tsv, report.html with attention "
                        "heatmaps, alignments.json). With no --data it uses ../shared/data/translation/eng-fra.tsv "
                        "(not shipped with the package).", epilog=_EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--data", metavar="FILE", help="TSV (source<TAB>target) or CSV file of pairs (sets data.path)")
    t.add_argument("--out", metavar="DIR", help="output folder (sets run.out_dir; default runs/translate-<data name>)")
    t.add_argument("--show", action="append", default=None, metavar="SENTENCE",
                   help="a source sentence whose attention heatmap goes in the report (repeat for more; default: the "
                        "first run.alignments test sentences)")
    t.add_argument("--skip-bad-lines", action="store_true", default=None,
                   help="skip malformed lines and count them (sets data.skip_bad_lines)")
    from lstmkit.cli.run_options import add_run_options
    from lstmkit.tasks.translate.config import TranslateConfig

    add_run_options(t, TranslateConfig)
    t.set_defaults(func=run, action="train")

    r = tsub.add_parser("translate", help="translate sentences, printing each as soon as it is done",
                        description="Translate the sentences given as arguments, or the lines of --input, or of "
                        "standard input (one sentence a line, each printed as soon as it is translated). Source "
                        "tokens the model has never seen are read as <unk> (with BPE only unseen characters) and "
                        "counted in a note on standard error.", epilog=_EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("sentences", nargs="*", metavar="SENTENCE", help="sentences to translate")
    r.add_argument("--model", required=True, metavar="DIR", help="model folder written by `translate train` (…/model)")
    r.add_argument("--input", metavar="FILE", help="UTF-8 file, one sentence a line")
    r.add_argument("--output", metavar="FILE", help="also write the translations here, one a line")
    r.add_argument("--beam", type=int, default=None, metavar="N", help="beam width (default: the model's decode.beam; 1: greedy)")
    r.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="sentences decoded together (default: the model's decode.batch_size; 1 when reading a terminal)")
    r.add_argument("--alignments", metavar="FILE.json", help="also write each translation's attention weights here")
    r.set_defaults(func=run, action="translate")

    e = tsub.add_parser("evaluate", help="BLEU and chrF of a model against every reference of each source",
                        description="Score a model folder on pairs: without --data, the test part of the file it was "
                        "trained on (the same split).", epilog=_EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--model", required=True, metavar="DIR", help="model folder written by `translate train` (…/model)")
    e.add_argument("--data", metavar="FILE", help="TSV/CSV of pairs (default: the model's training file)")
    e.add_argument("--part", choices=("all", "train", "dev", "test"),
                   help="which part by the model's split (default: test without --data, all with it)")
    e.add_argument("--beam", type=int, default=None, metavar="N", help="beam width (default: the model's decode.beam)")
    e.add_argument("--metrics", metavar="FILE.json", help="write the scores here as JSON")
    e.add_argument("--output", metavar="FILE.tsv", help="write source, translation and references here")
    e.add_argument("--skip-bad-lines", action="store_true", help="skip malformed lines of --data and count them")
    e.set_defaults(func=run, action="evaluate")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def default_out_dir(cfg) -> Path:
    name = Path(cfg.data.path).stem if cfg.data.path else "eng-fra"
    return Path(cfg.run.out_dir or f"runs/translate-{name}")


def _write_tsv(path, rows: list[list[str]]) -> None:
    from lstmkit.io.files import atomic_write_text

    atomic_write_text(path, "".join("\t".join(c.replace("\t", " ").replace("\n", " ") for c in r) + "\n" for r in rows))


def _train(args) -> int:
    import json

    from lstmkit.cli.run_options import config_from_args
    from lstmkit.config import to_yaml
    from lstmkit.io.files import atomic_write_text
    from lstmkit.tasks.translate.config import TranslateConfig
    from lstmkit.tasks.translate.estimator import Translator

    cfg = config_from_args(TranslateConfig, args, {"data.path": args.data, "run.out_dir": args.out,
                                                   "data.skip_bad_lines": args.skip_bad_lines})
    out = default_out_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    est = Translator(config=cfg).fit(log_dir=out / "training", resume=args.resume)
    est.save(out / "model")
    metrics = {"results": est.results_, "split": est.split_, "run": est.run_}
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False, allow_nan=True))
    atomic_write_text(out / "config.yaml", to_yaml(cfg))
    if est.test_translations_:
        _write_tsv(out / "test_translations.tsv", [[r["source"], r["translation"], " | ".join(r["references"])]
                                                   for r in est.test_translations_])
    report = est.report(out / "report.html", args.show)
    print(f"model: {out / 'model'}")
    print(f"report: {report}")
    return 0


def _read_lines(path) -> list[str]:
    from lstmkit.io.files import read_text

    return [ln.strip() for ln in read_text(path, "sentences to translate").splitlines()]


def _translate(args) -> int:
    import sys

    from lstmkit.tasks.translate.estimator import Translator

    est = Translator.load(args.model)
    if args.sentences and args.input:
        raise ValueError("give sentences as arguments or --input FILE, not both")
    batch = args.batch_size
    if args.sentences:
        lines = list(args.sentences)
    elif args.input:
        lines = _read_lines(args.input)
    else:
        lines = (ln.rstrip("\n") for ln in sys.stdin)
        if batch is None and sys.stdin.isatty():
            batch = 1
    texts, unknown, with_unknown = [], 0, 0
    out = None
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        out = open(args.output, "w", encoding="utf-8")  # noqa: SIM115 - written line by line as translations come
    try:
        sources = []
        for tr in est.translate_iter((s if s.strip() else "" for s in lines), beam=args.beam, batch_size=batch):
            text = tr.text if tr.source.strip() else ""
            print(text, flush=True)
            if out:
                out.write(text + "\n")
                out.flush()
            texts.append(text)
            sources.append(tr.source)
            if tr.source.strip():
                unknown += tr.unknown
                with_unknown += bool(tr.unknown)
    finally:
        if out:
            out.close()
    if unknown:
        print(f"lstmkit translate: note: {unknown} source token(s) in {with_unknown} sentence(s) are unknown to the "
              "model and were read as <unk>", file=sys.stderr)
    if args.alignments:
        from lstmkit.io.files import atomic_write_json

        atomic_write_json(args.alignments, est.alignments([s for s in sources if s.strip()], beam=args.beam))
        print(f"alignments: {args.alignments}", file=sys.stderr)
    return 0


def _evaluate(args) -> int:
    import json

    from lstmkit.tasks.translate.estimator import Translator

    est = Translator.load(args.model)
    if args.skip_bad_lines:
        est.set_params(skip_bad_lines=True)
    res = est.evaluate(args.data, part=args.part, beam=args.beam, return_translations=bool(args.output))
    print(f"BLEU {res['bleu']:.2f}  chrF {res['chrf']:.2f}  ({res['sentences']} source sentences, "
          f"{res['references']} references, beam {res['beam']}, {res['part']} part)")
    if args.output:
        _write_tsv(args.output, [[r["source"], r["translation"], " | ".join(r["references"])]
                                 for r in res.pop("translations")])
    if args.metrics:
        from lstmkit.io.files import atomic_write_text

        atomic_write_text(args.metrics, json.dumps(res, indent=2, ensure_ascii=False, allow_nan=True))
    return 0


def run(args: argparse.Namespace) -> int:
    import sys

    try:
        return {"train": _train, "translate": _translate, "evaluate": _evaluate}[args.action](args)
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit translate: error: {e}", file=sys.stderr)
        return 2
