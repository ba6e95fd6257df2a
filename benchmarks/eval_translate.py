"""Quality targets of the translation task: English-French (Tatoeba, 18,065 pairs), a 2-core CPU, 30 minutes a model.

The targets (issue 18), on the test part of ../shared/data/translation/eng-fra.tsv split by source sentence:

- the attention LSTM's BLEU (beam search) above the Transformer baseline's and above the no-attention
  model's, each trained with the same wall-clock budget (30 minutes by default) in the same run;
- beam search above greedy search;
- memory under 4 GB; translating the test part under a minute.

The run is ``lstmkit translate train`` with the defaults a user gets, plus the time budget, a run folder
and no progress bars (one line per epoch instead); nothing else is changed (``--set`` changes more, and the results page then lists it).

Usage (from the repository root)::

    python benchmarks/eval_translate.py                     # the full run (~1 h 40 min), writes benchmarks/RESULTS_translate.md
    python benchmarks/eval_translate.py --minutes 3 --results /tmp/r.md      # a short check of the whole pipeline
    python benchmarks/eval_translate.py --smoke             # 2,000 pairs, tiny models, ~2 minutes
    python benchmarks/eval_translate.py --set model.attention=additive --results /tmp/additive.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import cpu_name

SMOKE = {"data.max_pairs": "2000", "model.hidden_size": "64", "model.embedding_size": "64",
         "model.encoder_layers": "1", "data.vocab_size": "500", "transformer.layers": "1"}
MEMORY_LIMIT_MB = 4096
TRANSLATE_LIMIT_S = 60


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget of each model (default 30)")
    p.add_argument("--data", default=None, help="pairs file (default: the command's own default, "
                   "../shared/data/translation/eng-fra.tsv)")
    p.add_argument("--out", default="runs/translate-quality", help="run folder")
    p.add_argument("--results", default=str(ROOT / "benchmarks" / "RESULTS_translate.md"), help="results page")
    p.add_argument("--smoke", action="store_true", help="a tiny run that checks the script end to end")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any other configuration field")
    return p.parse_args(argv)


def _command(args) -> list[str]:
    cmd = ["translate", "train", *(["--data", args.data] if args.data else []), "--out", args.out,
           "--run.max_minutes", f"{args.minutes:g}", "--train.progress_bar", "false"]
    over = dict(SMOKE) if args.smoke else {}
    for item in args.set:
        key, _, value = item.partition("=")
        over[key] = value
    for key, value in over.items():
        cmd += [f"--{key}", value]
    return cmd


def _machine() -> str:
    import torch

    cpu = cpu_name()
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, python {platform.python_version()}, "
            f"{torch.get_num_threads()} torch thread(s)")


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def write_results(path: Path, args, cmd: list[str], metrics: dict, config: dict, load_start, load_end,
                  wall: float) -> None:
    res, split, run = metrics["results"], metrics["split"], metrics["run"]
    tc = config["transformer"]
    main = res["lstm"]
    rows = []
    for r in res.values():
        g, b = r.get("greedy", {}), r.get("beam", {})
        rows.append(f"| {r['name']} | {r['parameters']:,} | {r['epochs']} | {r['train_seconds'] / 60:.1f} min"
                    f"{' (time limit)' if r['stopped_by_time_limit'] else ''} | "
                    f"{r['best_val_loss']:.4f} | {g.get('bleu', float('nan')):.2f} | {g.get('chrf', float('nan')):.2f} | "
                    f"**{b.get('bleu', float('nan')):.2f}** | {b.get('chrf', float('nan')):.2f} | {b.get('seconds', 0):.1f} s |")
    b = main["beam"]["bleu"]
    checks = []
    for name in ("transformer", "no-attention"):
        if name in res:
            o = res[name]["beam"]["bleu"]
            checks.append(f"- attention LSTM BLEU {b:.2f} above the {res[name]['name']} baseline's {o:.2f}: "
                          f"**{_verdict(b > o)}**")
    for name, r in res.items():
        checks.append(f"- {r['name']}: beam {r['beam']['beam']} ({r['beam']['bleu']:.2f}) above greedy "
                      f"({r['greedy']['bleu']:.2f}): **{_verdict(r['beam']['bleu'] > r['greedy']['bleu'])}**")
    mem = run["peak_memory_mb"]
    checks.append(f"- peak memory of the whole run (all models) {mem:,.0f} MB under {MEMORY_LIMIT_MB:,} MB: "
                  f"**{_verdict(mem < MEMORY_LIMIT_MB)}**")
    sec = main["beam"]["seconds"]
    checks.append(f"- translating the test part ({main['beam']['sentences']:,} source sentences, beam "
                  f"{main['beam']['beam']}) in {sec:.1f} s, under {TRANSLATE_LIMIT_S} s: "
                  f"**{_verdict(sec < TRANSLATE_LIMIT_S)}**")
    examples = "\n".join(f"| {e['source']} | {e['translation']} | {' / '.join(e['references'])} |"
                         for e in main["beam"]["examples"])
    over = cmd[cmd.index("--train.progress_bar") + 2:]
    text = f"""# Translation: English-French on a 2-core CPU, {args.minutes:g} minutes a model

Targets (issue 18): on the test part, the attention LSTM's BLEU above the Transformer baseline's and above
the no-attention model's, each trained for the same wall-clock budget in the same run; beam search above
greedy; memory under 4 GB; translating the test part under a minute.

Data: `../shared/data/translation/eng-fra.tsv` ({split['data']['pairs']:,} pairs, {split['data']['sources']:,}
distinct English sentences), split by source sentence: {split['rule']} (seed {split['seed']}, dev
{split['dev_fraction']}, test {split['test_fraction']}): train {split['train_pairs']:,} pairs /
{split['train_sources']:,} sources, dev {split['dev_pairs']:,} / {split['dev_sources']:,}, test
{split['test_pairs']:,} / {split['test_sources']:,}. Scores: sacrebleu corpus BLEU and chrF against every
reference of each test source ({main['beam']['references']:,} references for {main['beam']['sentences']:,}
sources); `{main['beam']['bleu_signature']}`, `{main['beam']['chrf_signature']}`.

| model | parameters | epochs | training | best dev loss | greedy BLEU | greedy chrF | beam BLEU | beam chrF | test translation |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(checks)}

All three models: the same split, BPE vocabularies, batches, seed, early stopping (on the dev token loss) and
budget; the LSTMs use Adam (lr {config['train']['lr']}) with the {"budget-annealed" if config['run'].get('anneal') else "plateau"} schedule,
dropout {config['model']['dropout']} and word dropout {config['model'].get('word_dropout', 0.0)}, the Transformer (pre-norm `torch.nn.Transformer`, sized
by `transformer.d_model: 0` to about the LSTM's parameter count) its own recipe: linear warm-up then
1/sqrt(step) (peak {tc['lr']}, dropout {tc['dropout']}, {tc['layers']} + {tc['layers']} layers, {tc['heads']} heads). Everything is the default configuration a user gets from `lstmkit translate
train` {"(with " + " ".join(over) + ")" if over else ""}; the full configuration is in the run folder's
`config.yaml`.

## Command

```
python benchmarks/eval_translate.py{' --minutes ' + format(args.minutes, 'g') if args.minutes != 30 else ''}{' --data ' + args.data if args.data else ''}{''.join(' --set ' + s for s in args.set)}{' --smoke' if args.smoke else ''}
# which runs: lstmkit {' '.join(cmd)}
```

## Run

- machine: {_machine()}
- load average (1, 5, 15 min) at the start: {[round(x, 2) for x in load_start]}, at the end: {[round(x, 2) for x in load_end]}
  (the machine is shared; other work slows every model down, the LSTM's step-by-step decoder perhaps more
  than the Transformer's parallel one)
- wall time of the whole run: {wall / 60:.1f} min; peak memory {mem:,.0f} MB

## Test examples (attention LSTM, beam search)

| source | translation | references |
|---|---|---|
{examples}
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    args = _args(argv)
    from lstmkit.cli.main import main as lstmkit_main

    cmd = _command(args)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    code = lstmkit_main(cmd)
    if code:
        return code
    wall = time.perf_counter() - t0
    import yaml

    metrics = json.loads((Path(args.out) / "metrics.json").read_text(encoding="utf-8"))
    config = yaml.safe_load((Path(args.out) / "config.yaml").read_text(encoding="utf-8"))
    write_results(Path(args.results), args, cmd, metrics, config, load_start, os.getloadavg(), wall)
    print(f"results: {args.results}")
    print(json.dumps({k: {"bleu_greedy": v["greedy"]["bleu"], "bleu_beam": v["beam"]["bleu"], "epochs": v["epochs"]}
                      for k, v in metrics["results"].items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
