"""``lstmkit experiment NAME``: the experiments behind the claims about LSTMs, each with a plot and a table.

- ``vanishing``: ``||dL/dx_{T-k}||`` against the lag ``k`` for an Elman RNN, a
  GRU and an LSTM of the same size, at initialisation and after training on
  the adding problem.
- ``adding``: the adding problem (Hochreiter & Schmidhuber 1997, experiment 4)
  at one or more lengths ``T``; wrong test sequences by the 0.04 rule.
- ``temporal-order``: the temporal-order task (experiment 6a).
- ``full-stop``: forget-gate activity at sentence boundaries against elsewhere
  in a character language model (``--model``).
"""

from __future__ import annotations

import argparse

NAMES = ("vanishing", "adding", "temporal-order", "full-stop")

_EPILOG = """examples:
  lstmkit experiment vanishing --T 100 --steps 300
  lstmkit experiment adding --T 100,500,1000 --steps 5000 --test-size 2560      # the paper's sizes: hours on a CPU
  lstmkit experiment temporal-order --T 100 --steps 3000
  lstmkit experiment full-stop --model runs/lm-input/model --max-chars 20000
"""


def add_parser(sub) -> None:
    p = sub.add_parser("experiment", help="the experiments behind the claims about LSTMs (plot + table each)",
                       description="Run one experiment: vanishing gradients, the adding problem, the temporal-order "
                       "task or the forget gate at full stops. Each writes a plot, a table (CSV) and JSON into --out.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=NAMES, help="which experiment")
    p.add_argument("--out", metavar="DIR", default="", help="output folder (default runs/experiment-NAME)")
    p.add_argument("--cells", default="rnn,gru,lstm", help="cells compared (default rnn,gru,lstm)")
    p.add_argument("--T", default="", help="sequence lengths, comma-separated (default: vanishing 100, adding 100, "
                   "temporal-order 100)")
    p.add_argument("--hidden-size", type=int, default=32, help="units in every model (default 32)")
    p.add_argument("--steps", type=int, default=0, help="training steps per model (default: vanishing 300, "
                   "adding 2000, temporal-order 2000)")
    p.add_argument("--batch-size", type=int, default=32, help="training sequences per step (default 32)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3; 1e-2 kept the LSTM at the mean on T=50)")
    p.add_argument("--init", choices=("chrono", "forget1", "torch"), default="chrono",
                   help="gate biases of the LSTM and the GRU: chrono (Tallec & Ollivier 2018, time scales up to the "
                        "sequence length; default), forget1 (LSTM forget bias 1) or torch (torch's init)")
    p.add_argument("--test-size", type=int, default=2560, help="test sequences (default 2560, as in the paper)")
    p.add_argument("--max-seconds", type=float, default=0.0, help="cap each model's training time (0: none)")
    p.add_argument("--seed", type=int, default=0, help="seed of the models and the data (default 0)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    fs = p.add_argument_group("full-stop")
    fs.add_argument("--model", metavar="DIR", help="a character language model folder (lstmkit lm train …/model)")
    fs.add_argument("--text-file", metavar="FILE", help="text to read (default: the validation part of the model's data)")
    fs.add_argument("--max-chars", type=int, default=20000, help="characters of that text (default 20000)")
    fs.add_argument("--layer", type=int, default=-1, help="LSTM layer (default -1: the last)")
    fs.add_argument("--permutations", type=int, default=2000, help="permutations for the p-value (default 2000)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    try:
        return _run(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"lstmkit experiment: error: {e}", file=sys.stderr)
        return 2


class _Progress:
    """A rich progress bar over every model's training steps (or nothing with --quiet)."""

    def __init__(self, quiet: bool, total: int) -> None:
        self.bar = None
        if not quiet:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("loss {task.fields[loss]:.4g}"), TimeRemainingColumn(), transient=False)
            self.task = self.bar.add_task("training", total=total, loss=float("nan"))

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()

    def tick(self, label: str, step: int, loss: float) -> None:
        if self.bar:
            self.bar.update(self.task, advance=1, description=label, loss=loss)


def _write_table(path, rows: list[dict]) -> None:
    import csv

    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, keys)
        w.writeheader()
        w.writerows(rows)


def _print_table(rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    widths = [max(len(k), *(len(fmt(r.get(k, ""))) for r in rows)) for k in keys]
    print("  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for r in rows:
        print("  ".join(fmt(r.get(k, "")).rjust(w) for k, w in zip(keys, widths)))


def _run(args) -> int:
    import json
    from pathlib import Path

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out or f"runs/experiment-{args.name}")
    out.mkdir(parents=True, exist_ok=True)
    cells = tuple(c.strip() for c in args.cells.split(",") if c.strip())
    try:
        Ts = [int(t) for t in args.T.split(",") if t.strip()] or [100]
    except ValueError:
        raise ValueError(f"experiment: expected --T like 100 or 100,500,1000, got {args.T!r}") from None
    if args.name == "full-stop":
        return _full_stop(args, out)
    if args.name == "vanishing":
        from lstmkit.explain.experiments.vanishing import plot_vanishing, run_vanishing, vanishing_table

        steps = args.steps or 300
        results = []
        with _Progress(args.quiet, len(cells) * steps * len(Ts)) as bar:
            for T in Ts:
                results += run_vanishing(T, cells, args.hidden_size, steps, lr=args.lr, seed=args.seed,
                                         progress=lambda c, s, loss, T=T: bar.tick(f"{c} T={T}", s, loss), init=args.init)
        rows = []
        for T in Ts:
            part = [r for r in results if r.T == T]
            rows += [{"T": T, "init": args.init if row["cell"] != "rnn" else "-", **row}
                     for row in vanishing_table(part, (0, 10, 25, 50, T - 1))]
            plot_vanishing(part, out / f"vanishing_T{T}.png")
        (out / "vanishing.json").write_text(json.dumps([r.to_dict() for r in results]))
    else:
        from lstmkit.explain.experiments.long_lag import plot_long_lag, run_long_lag

        task = args.name.replace("-", "_")
        steps = args.steps or 2000
        results = []
        with _Progress(args.quiet, len(cells) * steps * len(Ts)) as bar:
            for T in Ts:
                results += run_long_lag(task, T, cells, args.hidden_size, steps, args.batch_size, args.lr,
                                        args.test_size, args.seed, max_seconds=args.max_seconds, init=args.init,
                                        progress=lambda c, s, loss, T=T: bar.tick(f"{c} T={T}", s, loss))
        rows = [{"task": r.task, "T": r.T, "cell": r.cell, "init": r.init if r.cell != "rnn" else "-",
                 "hidden": r.hidden_size, "steps": r.steps,
                 "wrong": r.wrong, "test": r.test_size, "wrong %": 100.0 * r.wrong / r.test_size,
                 "test loss": r.test_loss, "seconds": r.seconds} for r in results]
        plot_long_lag(results, out / f"{task}.png")
        (out / f"{task}.json").write_text(json.dumps([r.to_dict() for r in results]))
    _write_table(out / "table.csv", rows)
    _print_table(rows)
    print(f"wrote {out}/table.csv, plots and JSON")
    return 0


def _full_stop(args, out) -> int:
    import json
    from pathlib import Path

    from lstmkit.explain.experiments.full_stop import forget_gate_at_boundaries, plot_full_stop
    from lstmkit.tasks.lm.estimator import LanguageModel
    from lstmkit.tasks.lm.run_folder import training_text

    if not args.model:
        raise ValueError("experiment full-stop: expected --model DIR (a character language model), got none")
    lm = LanguageModel.load(args.model)
    if args.text_file:
        path = Path(args.text_file)
        if not path.is_file():
            raise FileNotFoundError(f"experiment full-stop: --text-file {path} does not exist")
        text = path.read_text(encoding="utf-8", errors="replace")
        source = str(path)
    else:
        path, text = training_text(lm, "val")
        source = f"{path} (validation part)"
    text = text[: args.max_chars] if args.max_chars else text
    # a character model's traces are labelled with the text's own characters: one the model never saw is <unk>
    # to it, but a '?' is still a sentence end
    tr = lm.gate_traces(text)
    if tr.labels != list(text):
        raise ValueError(f"experiment full-stop: expected a character model (one token per character), "
                         f"got {len(tr.labels)} tokens for {len(text)} characters")
    layer = args.layer % tr.num_layers
    res = forget_gate_at_boundaries(tr, layer, permutations=args.permutations, seed=args.seed)
    plot_full_stop(tr, res, out / "full_stop.png")
    (out / "full_stop.json").write_text(json.dumps({"source": source, "characters": len(text), **res.to_dict()}, indent=2))
    row = {k: v for k, v in res.to_dict().items() if k != "top_units"}
    _write_table(out / "table.csv", [row])
    _print_table([row])
    print("units that forget most at a sentence boundary: " +
          ", ".join(f"{u['unit']} ({u['difference']:+.3f})" for u in res.top_units[:5]))
    print(f"wrote {out}/full_stop.png, table.csv and full_stop.json")
    return 0
