"""Quality bar of the language-modelling task: Tiny Shakespeare, character level, a 2-core CPU, <= 30 minutes.

The bar (issue 6): validation loss <= 1.55 nats/char on the last 10% of
../shared/data/tinyshakespeare/input.txt (first 90% for training, nanoGPT's
split), from a CPU training run of at most 30 minutes on 2 cores. Anchors:
nanoGPT's 6-layer character transformer reaches 1.47 on a GPU and 1.88 in its
CPU configuration.

Usage (from the repository root)::

    python benchmarks/eval_lm.py                  # the full run (~30 min), writes benchmarks/RESULTS_lm.md
    python benchmarks/eval_lm.py --plan           # time a few training steps and project the run (~1 min)
    python benchmarks/eval_lm.py --smoke          # a tiny run that checks the script end to end (~1 min)
    python benchmarks/eval_lm.py --set model.hidden_size=384 --minutes 10 --results /tmp/r.md

The training budget (``--minutes``, default 29) covers the fit loop with its
per-epoch validation passes; the final exact scoring of the validation text,
the sample and the report come after it and are timed separately.
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

#: the configuration of the quality run (every other field: LMConfig's default)
QUALITY = {
    "data.tokenizer": "char",
    "data.val_fraction": 0.1,
    "model.cell": "lstm",
    "model.num_layers": 2,
    "model.hidden_size": 512,
    "model.tie_weights": True,
    "model.dropout": 0.2,
    "model.output_dropout": 0.2,
    "model.forget_bias": 1.0,
    "model.backend": "torch",
    "bptt.length": 128,
    "bptt.random_offset": True,
    "bptt.eval_batch_size": 32,
    "train.batch_size": 32,
    "train.optimizer": "adam",
    "train.lr": 0.002,
    "train.schedule": "none",
    "train.grad_clip": 1.0,
    "train.epochs": 200,
    "train.early_stopping": 3,
    "train.seed": 0,
    "train.deterministic": False,
    "run.anneal_over_time": True,
    "run.sample_length": 600,
    "run.temperature": 0.8,
}
SMOKE = {"data.max_chars": 60000, "model.num_layers": 1, "model.hidden_size": 64, "bptt.length": 64,
         "train.batch_size": 16, "run.sample_length": 100}
BAR = 1.55
ANCHORS = [("nanoGPT 6-layer char transformer, GPU", 1.47, "10.7M"),
           ("nanoGPT char transformer, its CPU configuration", 1.88, "-")]


def _config(args):
    from lstmkit.config import replace
    from lstmkit.tasks.lm.config import LMConfig

    over = dict(QUALITY)
    if args.smoke:
        over.update(SMOKE)
    over["run.max_minutes"] = args.minutes
    over["train.num_threads"] = args.threads
    over["train.progress_bar"] = not args.quiet
    over["run.out_dir"] = args.out
    for item in args.set:
        key, _, value = item.partition("=")
        over[key.strip()] = value.strip()
    return replace(LMConfig(), **over), over


def _machine() -> dict:
    import torch

    cpu = cpu_name()
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()], "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}


def plan(cfg, steps: int = 6) -> None:
    """Time a few training steps of ``cfg`` on the real data and project the run."""
    import torch

    from lstmkit.tasks.lm.corpus import load_corpus
    from lstmkit.tasks.lm.model import LMNet
    from lstmkit.tasks.lm.streams import StreamChunks, TBPTTStep

    torch.set_num_threads(cfg.train.num_threads or torch.get_num_threads())
    corpus = load_corpus(cfg.data)
    model = LMNet(corpus.tokenizer.vocab_size, cfg.model).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    chunks = StreamChunks(corpus.train_ids, cfg.train.batch_size, cfg.bptt.length)
    step = TBPTTStep()
    walls, cpus = [], []
    for k, batch in enumerate(chunks):
        if k > steps:
            break
        t, c = time.perf_counter(), time.process_time()
        loss = step(model, batch)["loss"]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        opt.step()
        if k:  # the first step warms up
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
    wall = sorted(walls)[len(walls) // 2]
    cpu = sorted(cpus)[len(cpus) // 2]
    per_epoch = len(chunks) * wall
    threads = torch.get_num_threads()
    print(f"model: {model.num_parameters():,} parameters; {len(chunks)} steps per epoch of "
          f"{cfg.train.batch_size} x {cfg.bptt.length} tokens; {threads} thread(s); load {os.getloadavg()[0]:.2f}")
    print(f"median step: {wall:.3f} s wall, {cpu:.3f} s CPU -> {cfg.train.batch_size * cfg.bptt.length / wall:,.0f} tokens/s; "
          f"epoch ~{per_epoch / 60:.1f} min (+~{0.1 * per_epoch / 60:.1f} min validation)")
    budget = cfg.run.max_minutes * 60
    print(f"in {cfg.run.max_minutes:g} min: ~{budget / (1.1 * per_epoch):.1f} epochs at this speed; "
          f"if the CPU were ours alone (CPU time / {threads} threads): ~{budget / (1.1 * len(chunks) * cpu / threads):.1f} epochs")


def write_results(path: Path, command: str, cfg_over: dict, res, machine_before: dict, machine_after: dict) -> None:
    v = res.metrics["val"]
    r = res.metrics["run"]
    ok = v["loss"] <= BAR
    hist = res.metrics["history"]
    lines = [
        "# Language modelling: quality bar on Tiny Shakespeare (character level, CPU)",
        "",
        f"Bar: validation loss <= {BAR} nats/char after a CPU training run of at most 30 minutes on 2 cores "
        "(first 90% of `../shared/data/tinyshakespeare/input.txt` for training, last 10% for validation).",
        "",
        f"**Result: validation loss {v['loss']:.4f} nats/char ({v['bpc']:.4f} bits/char, perplexity "
        f"{v['perplexity']:.3f}) -> {'PASS' if ok else 'FAIL'}** "
        f"(training {r['train_seconds'] / 60:.1f} min, {r['parameters']:,} parameters).",
        "",
        "| model | val loss (nats/char) | bits/char | parameters | training time | hardware |",
        "|---|---|---|---|---|---|",
        f"| lstmkit LSTM {cfg_over['model.num_layers']}x{cfg_over['model.hidden_size']}, tied, char | "
        f"{v['loss']:.4f} | {v['bpc']:.4f} | {r['parameters']:,} | {r['train_seconds'] / 60:.1f} min "
        f"({r['epochs']} epochs) | {machine_before['cores']}-core CPU, {r['torch_threads']} threads |",
    ]
    for name, loss, size in ANCHORS:
        lines.append(f"| {name} (figure quoted by the issue) | {loss} | {loss / 0.693147:.3f} | {size} | - | see nanoGPT |")
    lines += [
        "",
        f"How the validation loss is measured: the whole validation text ({v['chars']:,} characters), every character "
        f"scored, in {cfg_over['bptt.eval_batch_size']} contiguous segments read side by side with the LSTM state carried across "
        f"{max(int(cfg_over['bptt.length']), 256)}-step chunks "
        "(`lstmkit.tasks.lm.metrics.score_text`); each segment starts after a newline.",
        "",
        "## Command",
        "",
        "```",
        command,
        "```",
        "",
        "Configuration (every other field: `LMConfig`'s default; the full configuration is in the run folder's "
        "`config.yaml`):",
        "",
        "```json",
        json.dumps(cfg_over, indent=1),
        "```",
        "",
        "## Run",
        "",
        f"- machine: {machine_before['cpu']}, {machine_before['cores']} cores, torch {machine_before['torch']}, "
        f"python {machine_before['python']}, {r['torch_threads']} torch threads, OMP_WAIT_POLICY "
        f"{machine_before['OMP_WAIT_POLICY']}",
        f"- load average (1, 5, 15 min) at the start: {machine_before['load_average']}, at the end: "
        f"{machine_after['load_average']} (other work on the machine slows the run down)",
        f"- training: {r['train_seconds']:.0f} s for {r['epochs']} epochs of {r['steps_per_epoch']} steps "
        f"(stopped by the time budget: {r['stopped_by_time_limit']}); exact validation scoring {r['eval_seconds']:.0f} s; "
        f"whole run {r['total_seconds']:.0f} s",
        f"- per epoch (train loss with dropout, Lightning's per-chunk validation mean): "
        + ", ".join(f"{h['epoch'] + 1}: {h.get('train_loss', float('nan')):.3f}/{h.get('val_loss', float('nan')):.3f}" for h in hist),
        "",
        "## Sample (temperature 0.8, after a newline, seed 0)",
        "",
        "```",
        (res.out / "sample.txt").read_text() if (res.out / "sample.txt").is_file() else "(none)",
        "```",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    (ROOT / "benchmarks" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "out" / "lm_quality.json").write_text(json.dumps(
        {"command": command, "config": cfg_over, "val": v, "run": r, "history": hist, "pass": ok,
         "machine_start": machine_before, "machine_end": machine_after}, indent=1, default=str))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=29.0, help="training budget in minutes (default 29)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--out", default="runs/lm-quality", help="run folder (default runs/lm-quality)")
    ap.add_argument("--results", default=str(ROOT / "benchmarks" / "RESULTS_lm.md"), help="results file to write")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    ap.add_argument("--plan", action="store_true", help="only time a few steps and project the full run")
    ap.add_argument("--smoke", action="store_true", help="tiny run on 60,000 characters (checks the script)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--omp-wait", choices=("passive", "active"), default="passive",
                    help="OMP_WAIT_POLICY for torch's threads (default passive: idle threads sleep instead of spinning, "
                    "which keeps 2 threads efficient when other work shares the cores)")
    args = ap.parse_args(argv)
    if "torch" in sys.modules:
        raise RuntimeError("eval_lm: set OMP_WAIT_POLICY before torch is imported")
    os.environ["OMP_WAIT_POLICY"] = args.omp_wait.upper()
    cfg, over = _config(args)
    if args.plan:
        plan(cfg)
        return 0
    from lstmkit.cli.main import show_task_progress
    from lstmkit.tasks.lm.run_folder import train_run

    show_task_progress()  # the estimator's progress lines, as `lstmkit lm train` prints them
    command = "python benchmarks/eval_lm.py " + " ".join(argv if argv is not None else sys.argv[1:])
    before = _machine()
    print(f"machine: {before}")
    res = train_run(cfg)
    after = _machine()
    results = Path(args.results)
    if args.smoke and args.results == ap.get_default("results"):
        results = Path(args.out) / "RESULTS_lm_smoke.md"
    write_results(results, command.strip(), over, res, before, after)
    v = res.metrics["val"]
    print(f"val loss {v['loss']:.4f} nats/char, {v['bpc']:.4f} bpc -> {'PASS' if v['loss'] <= BAR else 'FAIL'} "
          f"(bar {BAR}); results: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
