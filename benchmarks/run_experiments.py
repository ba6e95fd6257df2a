"""The experiments of issue 8 at a stated size, on the CPU: results into benchmarks/RESULTS_experiments.md.

Runs the same code as ``lstmkit experiment NAME`` (in-process, same
arguments), then writes one Markdown page with the tables, the plots' paths,
the commands and the wall-clock time of each part.

Usage (from the repository root)::

    python benchmarks/run_experiments.py                 # the "modest" size (about 20 minutes on one core)
    python benchmarks/run_experiments.py --size smoke    # a tiny run of every part (about 1 minute)
    python benchmarks/run_experiments.py --size paper    # the paper's adding sizes with long training (hours)
    python benchmarks/run_experiments.py --only adding,vanishing --threads 2

Sizes (steps are Adam steps of 32 sequences; test sets of 2,560 sequences):

==========  ============  ==============================  =================  =====================
size        vanishing     adding (T: steps, cap/model)     temporal order     char LM for full-stop
==========  ============  ==============================  =================  =====================
smoke       T=50, 30      T=20: 100                        T=20: 100          1 x 32, 0.3 min
modest      T=100, 300    100/500/1000: 5000, 120 s        T=100: 6000        1 x 128, 4 min
paper       T=100, 1000   100/500/1000: 20000, none        T=100: 10000       2 x 256, 30 min
==========  ============  ==============================  =================  =====================

Gates start from the chrono initialisation (``--init chrono``, Tallec & Ollivier
2018) everywhere. The ``modest`` and ``paper`` sizes also run the vanishing
experiment and the LSTM alone on the adding problem with the forget-gate bias
at 1 (``--init forget1``), to show what the initialisation does.
==========  ============  ==============================  =================  =====================
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SIZES = {
    "smoke": dict(van_T=50, van_steps=30, add_T=[20], add_steps=100, add_cap=0, to_T=20, to_steps=100,
                  lm_hidden=32, lm_layers=1, lm_minutes=0.3, lm_chars=200_000, test=512, compare_init=""),
    "modest": dict(van_T=100, van_steps=300, add_T=[100, 500, 1000], add_steps=5000, add_cap=120, to_T=100,
                   to_steps=6000, lm_hidden=128, lm_layers=1, lm_minutes=4.0, lm_chars=0, test=2560,
                   compare_init="forget1"),
    "paper": dict(van_T=100, van_steps=1000, add_T=[100, 500, 1000], add_steps=20000, add_cap=0, to_T=100,
                  to_steps=10000, lm_hidden=256, lm_layers=2, lm_minutes=30.0, lm_chars=0, test=2560,
                  compare_init="forget1"),
}
PARTS = ("vanishing", "adding", "temporal-order", "full-stop")


def _cli(argv: list[str]) -> tuple[int, str, float]:
    """Run ``lstmkit ARGV`` in-process; ``(exit code, stdout, seconds)``."""
    from lstmkit.cli.main import main

    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    out = buf.getvalue()
    sys.stdout.write(out)
    sys.stdout.flush()
    return rc, out, time.perf_counter() - t0


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _table(path: Path) -> str:
    rows = list(csv.reader(path.open()))
    if not rows:
        return ""

    def fmt(v: str) -> str:
        try:
            f = float(v)
        except ValueError:
            return v
        return v if f.is_integer() and "." not in v and "e" not in v else f"{f:.4g}"

    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _copy_figures(out: Path, dest: Path) -> list[str]:
    """Copy ``out/<part>/*.png`` to ``dest/<part>/``; the copies' repository paths."""
    import shutil

    copied = []
    for png in sorted(out.glob("*/*.png")):
        target = dest / png.parent.name / png.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
        copied.append(_rel(target))
    return copied


def _train_lm(s: dict, out: Path, threads: int) -> Path:
    from lstmkit.config import replace
    from lstmkit.cli.main import show_task_progress
    from lstmkit.tasks.lm.config import LMConfig
    from lstmkit.tasks.lm.run_folder import train_run

    cfg = replace(LMConfig(), **{
        "data.path": str(ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"),
        "data.max_chars": s["lm_chars"], "model.hidden_size": s["lm_hidden"], "model.num_layers": s["lm_layers"],
        "model.dropout": 0.0, "model.output_dropout": 0.1, "model.forget_bias": 1.0, "bptt.length": 100,
        "train.batch_size": 32, "train.epochs": 1000, "train.lr": 3e-3, "train.schedule": "none",
        "train.early_stopping": 0, "train.progress_bar": False, "train.num_threads": threads,
        "run.max_minutes": s["lm_minutes"], "run.sample_length": 300, "run.out_dir": str(out)})
    show_task_progress()
    run = train_run(cfg)
    return run.out / "model", run.metrics


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=tuple(SIZES), default="modest")
    ap.add_argument("--only", default=",".join(PARTS), help=f"parts to run, from {PARTS}")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the machine is shared)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "experiments"))
    ap.add_argument("--results", default=str(ROOT / "benchmarks" / "RESULTS_experiments.md"))
    ap.add_argument("--figures", default=str(ROOT / "benchmarks" / "figures" / "experiments"),
                    help="copy every plot here (kept in git; --out is not); '' to skip")
    ap.add_argument("--lm-model", default="", help="use this character LM folder for full-stop instead of training one")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(args.threads)
    s = SIZES[args.size]
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sections, commands, facts = [], [], {}
    common = ["--threads", str(args.threads), "--quiet"]

    def run(name: str, argv: list[str], folder: str = "") -> tuple[str, float]:
        folder = folder or name
        cmd = ["experiment", name, *argv, *common, "--out", str(out / folder)]
        commands.append(("lstmkit " + " ".join(cmd)).replace(str(ROOT) + os.sep, ""))  # no machine path in the page
        rc, text, secs = _cli(cmd)
        if rc:
            raise SystemExit(f"run_experiments: `lstmkit {' '.join(cmd)}` failed with exit code {rc}")
        facts[folder] = round(secs, 1)
        return _table(out / folder / "table.csv"), secs

    compare = s["compare_init"]
    if "vanishing" in parts:
        van = ["--T", str(s["van_T"]), "--steps", str(s["van_steps"])]
        table, secs = run("vanishing", van + ["--init", "chrono"])
        plots = [_rel(out / "vanishing" / ("vanishing_T%d.png" % s["van_T"]))]
        if compare:
            table2, secs2 = run("vanishing", van + ["--init", compare], f"vanishing-{compare}")
            table, secs = table + "\n" + "\n".join(table2.splitlines()[2:]), secs + secs2
            plots.append(_rel(out / f"vanishing-{compare}" / ("vanishing_T%d.png" % s["van_T"])))
        sections.append(f"## 1. Vanishing gradients\n\nMean over 64 adding-problem sequences of ||dL/dx_(T-k)|| "
                        f"for an Elman RNN, a GRU and an LSTM with 32 units each, at initialisation and after "
                        f"{s['van_steps']} Adam steps on the adding problem of the same length (T = {s['van_T']}). "
                        f"g(k) is the gradient reaching the input k steps before the last one. `init`: the gate "
                        f"biases of the LSTM and the GRU (chrono: Tallec & Ollivier 2018, time scales drawn up to T; "
                        f"forget1: LSTM forget-gate bias 1, GRU as torch makes it; the Elman RNN has no gate and is "
                        f"the same model in both).\n\n{table}\n\nPlots: "
                        + ", ".join(f"`{p}`" for p in plots) + f" ({secs:.0f} s).\n")
    if "adding" in parts:
        argv = ["--T", ",".join(map(str, s["add_T"])), "--steps", str(s["add_steps"]), "--test-size", str(s["test"])]
        if s["add_cap"]:
            argv += ["--max-seconds", str(s["add_cap"])]
        table, secs = run("adding", argv + ["--init", "chrono"])
        plots = [_rel(out / "adding" / "adding.png")]
        if compare:
            table2, secs2 = run("adding", argv + ["--init", compare, "--cells", "lstm"], f"adding-{compare}")
            table, secs = table + "\n" + "\n".join(table2.splitlines()[2:]), secs + secs2
            plots.append(_rel(out / f"adding-{compare}" / "adding.png"))
        cap_note = f" or {s['add_cap']} s" if s["add_cap"] else ""
        sections.append(f"## 2a. The adding problem (Hochreiter & Schmidhuber 1997, experiment 4)\n\nA sequence is "
                        f"right when |prediction - target| < 0.04. The paper's LSTM had at most 1 wrong of 2,560 test "
                        f"sequences (T = 100, 500, 1000) after 74,000 to 853,000 training sequences. Here: 32 units, "
                        f"Adam (lr 1e-3, batch 32, gradient norm clipped at 1), at most {s['add_steps']} steps"
                        f"{cap_note} per model "
                        f"(`steps` is what was reached; {s['add_steps']} steps are {32 * s['add_steps']:,} training "
                        f"sequences), {s['test']} test sequences."
                        + (f" The last rows: the LSTM alone with init {compare}." if compare else "")
                        + f"\n\n{table}\n\nPlots: " + ", ".join(f"`{p}`" for p in plots) + f" ({secs:.0f} s).\n")
    if "temporal-order" in parts:
        table, secs = run("temporal-order", ["--T", str(s["to_T"]), "--steps", str(s["to_steps"]),
                                             "--test-size", str(s["test"]), "--init", "chrono"])
        sections.append(f"## 2b. Temporal order (experiment 6a)\n\nFour classes (XX, XY, YX, YY) from two symbols "
                        f"at steps {s['to_T'] // 10}-{s['to_T'] // 5} and {s['to_T'] // 2}-{3 * s['to_T'] // 5} of "
                        f"{s['to_T']}-{s['to_T'] + 10}-step sequences of noise (zero steps before the shorter ones); "
                        f"wrong = arg-max class differs (chance: 75 % wrong). {s['to_steps']} steps, chrono init.\n\n{table}\n\n"
                        f"Plot: `{_rel(out / 'temporal-order' / 'temporal_order.png')}` ({secs:.0f} s).\n")
    if "full-stop" in parts:
        t0 = time.perf_counter()
        if args.lm_model:
            model_dir, lm_note = Path(args.lm_model), f"the given model `{args.lm_model}`"
        else:
            model_dir, metrics = _train_lm(s, out / "lm", args.threads)
            r = metrics["run"]
            lm_note = (f"a {s['lm_layers']} x {s['lm_hidden']} character LSTM trained here for {r['train_seconds']:.0f} s "
                       f"({r['epochs']} epochs, {r['parameters']:,} parameters): validation loss "
                       f"{metrics['val']['loss']:.3f} nats/char ({metrics['val']['bpc']:.3f} bits/char)")
        facts["lm"] = round(time.perf_counter() - t0, 1)
        table, secs = run("full-stop", ["--model", str(model_dir), "--max-chars", "20000"])
        res = json.loads((out / "full-stop" / "full_stop.json").read_text())
        top = ", ".join(f"{u['unit']} ({u['difference']:+.3f})" for u in res["top_units"][:5])
        sections.append(f"## 3. Forgetting at the full stop\n\nModel: {lm_note}. Text: the first 20,000 characters "
                        f"of the validation part of Tiny Shakespeare. Boundary steps: a `.`, `!` or `?` followed by "
                        f"whitespace. The statistic is over steps of the last layer's mean forget gate "
                        f"(difference of means, Welch t, Cohen's d, permutation p with 2,000 shuffles).\n\n{table}\n\n"
                        f"Units that forget most at a boundary (difference of mean f): {top}.\n\n"
                        f"Plot: `{_rel(out / 'full-stop' / 'full_stop.png')}` ({secs:.0f} s).\n")
    head = (f"# Experiments behind the LSTM's claims (issue 8)\n\nSize `{args.size}`, written by "
            f"`python benchmarks/run_experiments.py --size {args.size} --threads {args.threads}"
            f"{' --only ' + args.only if args.only != ','.join(PARTS) else ''}` "
            f"(started {started}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores shared "
            f"with other jobs, torch {torch.__version__}, {args.threads} thread(s)). Seconds per part: "
            f"{json.dumps(facts)}.\n")
    if args.figures:
        figures = _copy_figures(out, Path(args.figures))
        sections.append("Copies of these plots, kept in the repository: " + ", ".join(f"`{f}`" for f in figures) + ".\n")
    cmd_block = "## Commands\n\n```\n" + "\n".join(commands) + "\n```\n"
    text = "\n".join([head, *sections, cmd_block])
    Path(args.results).write_text(text)
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
