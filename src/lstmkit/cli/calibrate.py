"""``lstmkit calibrate``: measure the CPU engine against torch.nn on this machine, for ``auto``."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "calibrate", help="measure the CPU engine against torch.nn on this machine, so `auto` picks the faster",
        description="Time lstmkit's CPU engine and torch.nn side by side on the shapes auto's table is made of "
        "(plain LSTM, GRU and RNN; training and inference, float32 and float64; a grid of long calls with few "
        "rows), and store the "
        "ratios in the user cache, where `auto` reads them on this machine from then on. Without a table "
        "measured on this kind of processor, `auto` gives plain calls to torch.nn. About 2-7 minutes per "
        "thread count on a 2-core machine, by the processor (half that with --no-grid).")
    p.add_argument("--threads", default="1,2",
                   help="comma-separated thread counts to measure (default 1,2: auto reads the nearest one)")
    p.add_argument("--out", default=None, help="write the table here instead of the user cache "
                   "(point LSTMKIT_AUTO_TABLE at it to use it)")
    p.add_argument("--reps", type=int, default=5, help="interleaved repetitions per shape (default 5)")
    p.add_argument("--no-grid", dest="grid", action="store_false",
                   help="skip the grid of long calls with few rows per step (about half the time)")
    p.add_argument("--float64-only", action="store_true",
                   help="measure only the float64 calls and keep the rest of the table (one measured before "
                   "tables had float64 points; without them auto gives float64 calls to torch.nn)")
    p.add_argument("--show", action="store_true", help="print what auto reads on this machine and stop")
    p.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    p.set_defaults(func=run)


def _threads(text: str) -> list[int]:
    try:
        counts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise SystemExit(f"lstmkit calibrate: --threads takes comma-separated whole numbers, got {text!r}")
    if not counts or any(n < 1 for n in counts):
        raise SystemExit(f"lstmkit calibrate: --threads needs thread counts of 1 or more, got {text!r}")
    return sorted(set(counts))


def _show() -> None:
    from lstmkit.kernels.cpu import auto_table_status, machine

    status = auto_table_status()
    print(f"machine:  {machine.describe(status['machine'])}")
    if status["measured"]:
        print(f"auto reads {status['source']} (threads {', '.join(status['threads'])})")
    else:
        print(f"auto has no measurement for this machine: {status['source']}; plain calls go to torch.nn "
              "(run `lstmkit calibrate`)")


def run(args: argparse.Namespace) -> int:
    if args.show:
        _show()
        return 0
    counts = _threads(args.threads)
    from lstmkit.kernels.cpu import _build, calibrate

    if _build.load_extension() is None:
        print(f"lstmkit calibrate: the CPU engine cannot be built here ({_build.build_error()}); "
              "auto uses torch.nn and there is nothing to measure")
        return 1
    if args.float64_only:  # both modes, and inference with lengths
        per_count = len(calibrate.table_cases()) * (len(calibrate.MODES) + 1)
    else:  # the same in float32 and float64; the grid
        per_count = len(calibrate.table_cases()) * 2 * (len(calibrate.MODES) + 1) + (
            len(calibrate.grid_cases()) * len(calibrate.MODES) if args.grid else 0)
    total = per_count * len(counts)
    ratios: list[tuple[str, float]] = []
    progress = task = None
    if not args.quiet:
        try:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:  # the core install has no rich: a line per case instead
            pass
        else:
            progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), transient=True)
            progress.start()
            task = progress.add_task("measuring", total=total)

    def on_case(label: str, ratio: float) -> None:
        ratios.append((label, ratio))
        if progress is not None:
            progress.update(task, advance=1, description=f"{label:30s} {ratio:4.2f}x")
        elif not args.quiet:
            print(f"[{len(ratios)}/{total}] {label:30s} torch.nn/cpu {ratio:4.2f}x", flush=True)

    try:
        path = calibrate.calibrate(counts, args.out, reps=args.reps, grid=args.grid, on_case=on_case,
                                   command=f"lstmkit calibrate --threads {args.threads}"
                                   + (" --float64-only" if args.float64_only else ""),
                                   float64_only=args.float64_only)
    finally:
        if progress is not None:
            progress.stop()
    won = sum(r >= 1.05 for _, r in ratios)
    print(f"measured {len(ratios)} cases on {', '.join(map(str, counts))} thread(s): the engine was 5 % or more "
          f"ahead of torch.nn in {won}; auto takes it for a call only where the cases around it say so")
    print(f"wrote {path}")
    if args.out:
        print(f"auto reads it when LSTMKIT_AUTO_TABLE={path}")
    return 0
