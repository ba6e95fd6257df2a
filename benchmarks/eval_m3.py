"""The M3 competition with lstmkit's defaults: monthly (1,428 series, h=18) and yearly (645 series, h=6),
and a quarterly panel nobody tuned on: the monthly series summed over quarters (1,428 series, h=6).

    .venv/bin/python benchmarks/eval_m3.py                        # all three, writes benchmarks/RESULTS_m3.md
    .venv/bin/python benchmarks/eval_m3.py --freq quarterly       # one, the others' rows kept from the page
    .venv/bin/python benchmarks/eval_m3.py --freq monthly --jobs 2
    .venv/bin/python benchmarks/eval_m3.py --freq yearly --limit 100   # a quick look on the first 100 series

For each frequency, in its own process (so that its peak memory is its own):
``lstmkit.Forecaster(horizon=h, season=m)`` with every other setting at its
default is fitted on ``../shared/data/m3/m3_<freq>_train.csv`` (the model is
chosen by its inner validation on the end of each training series, among the
global LSTM set-ups and the classical candidates), then
``Forecaster.evaluate`` scores its forecasts against ``m3_<freq>_test.csv``
beside naive, seasonal naive, AutoETS and AutoTheta fitted on the same
training data in the same run. The season (12 for monthly, 1 for yearly, 4 for the quarters) is
the data's known frequency, given because M3's time column counts steps; the
peers get the same season.

sMAPE is the competition's: ``200 |y - f| / (|y| + |f|)`` averaged over all
series and horizons. MASE divides each series' errors by its in-sample
seasonal-naive MAE (M4's definition). "Training" is the time of ``fit``
(model choice included); the peers' time is measured apart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from pages import write_keeping_repeats

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "m3"
OUT = ROOT / "benchmarks" / "out"
FREQS = {"monthly": {"horizon": 18, "season": 12, "series": 1428},
         "yearly": {"horizon": 6, "season": 1, "series": 645},
         "quarterly": {"horizon": 6, "season": 4, "series": 1428, "from": "monthly"}}
#: published and measured references (../shared/data/README.md)
TARGETS = {"monthly": "sMAPE <= 13.85 (Theta, published) and below AutoETS in the same run",
           "yearly": "sMAPE below AutoETS and AutoTheta in the same run",
           "quarterly": "no published figure (M3's own quarterly series are not in ../shared): below seasonal naive, "
                        "and AutoETS and AutoTheta in the same run shown beside"}


def quarters(frame, first: int = 1):
    """M3 monthly values summed over three months: a quarterly panel nobody tuned on (M3's own 756 quarterly
    series are not in ../shared). Each series is cut into quarters from its end (the first one or two months
    of a training series whose length is not a multiple of three are dropped), so the 18 test months are
    exactly the 6 quarters after each training series. ``first`` maps a series id to its first step."""
    import pandas as pd

    parts = []
    for sid, g in frame.groupby("series", sort=False):
        v = g["value"].to_numpy()
        q = v[len(v) % 3:].reshape(-1, 3).sum(axis=1)
        t0 = first if isinstance(first, int) else int(first[sid])
        parts.append(pd.DataFrame({"series": sid, "category": g["category"].iloc[0], "t": range(t0, t0 + len(q)),
                                   "value": q}))
    return pd.concat(parts, ignore_index=True)


def run_one(freq: str, jobs: int, seed: int, limit: int | None) -> dict:
    import resource

    import pandas as pd

    from lstmkit import Forecaster

    spec = FREQS[freq]
    source = spec.get("from", freq)
    train = pd.read_csv(DATA / f"m3_{source}_train.csv")
    test = pd.read_csv(DATA / f"m3_{source}_test.csv")
    if source != freq:
        train = quarters(train)
        test = quarters(test, first=train.groupby("series", sort=False)["t"].max() + 1)
    if limit:
        keep = list(dict.fromkeys(train["series"]))[:limit]
        train, test = train[train["series"].isin(keep)], test[test["series"].isin(keep)]
    cols = dict(time="t", target="value", id="series")
    f = Forecaster(horizon=spec["horizon"], season=spec["season"], jobs=jobs, train__seed=seed, progress_bar=False)
    load0 = os.getloadavg()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0, c0 = time.perf_counter(), time.process_time()
    f.fit(train, **cols)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the classical models' worker processes, once ended
    workers_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    t1 = time.perf_counter()
    ev = f.evaluate(test, **cols)
    peers_s = time.perf_counter() - t1
    lstm_alone = None
    if f.lstm_ is not None:  # the LSTM on its own (the chosen model may combine it with classical ones)
        import numpy as np

        from lstmkit.tasks.forecast.selection import CoreFit

        core = f.core_
        alone = CoreFit(plan=core.plan, ends=core.ends, chosen=f.lstm_.setup.name, runner_up=None, scores={},
                        metric=core.metric, lstm=f.lstm_, fallback=core.fallback)
        fc = alone.forecast(f.data_, [np.array([e]) for e in core.ends], jobs)
        frame = f.evaluation_frame_.copy()
        pos = {s.id: k for k, s in enumerate(f.data_.series)}
        frame["lstm"] = [fc.point[pos[i]][0][h - 1] for i, h in zip(frame["id"], frame["step"])]
        a, p_ = frame["actual"].to_numpy(), frame["lstm"].to_numpy()
        from lstmkit.tasks.forecast import metrics as M
        from lstmkit.tasks.forecast.selection import series_scale

        sc = np.asarray([series_scale(f.data_.series[pos[i]].values, spec["season"]) for i in frame["id"]])
        lstm_alone = {"setup": f.lstm_.setup.name, "smape": M.smape(a, p_), "mase": M.mase(a, p_, sc)}
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    names = ["model", *ev["peers"]]
    return {
        "freq": freq, "series": ev["series"], "points": ev["points"], "horizon": spec["horizon"],
        "season": spec["season"], "chosen": f.choice_["chosen"], "runner_up": f.choice_["runner_up"],
        "validation": f.choice_["validation"], "relative": f.choice_.get("relative", False),
        "plan": f.choice_["plan"]["reasons"],
        "smape": {n: ev[n]["smape"] for n in names}, "mase": {n: ev[n]["mase"] for n in names},
        "verdict": ev["verdict"]["text"], "fit_seconds": round(fit_s, 1), "fit_cpu_seconds": round(fit_cpu, 1),
        "fit_workers_cpu_seconds": round(workers_cpu, 1), "load_average_end_fit": [round(x, 2) for x in os.getloadavg()],
        "peers_seconds": round(peers_s, 1), "peak_memory_mb": round(self_mb, 1),
        "peak_worker_memory_mb": round(child_mb, 1), "jobs": jobs, "seed": seed,
        "load_average_start": [round(x, 2) for x in load0], "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "lstm_alone": lstm_alone,
        "lstm": None if f.lstm_ is None else {"setup": f.lstm_.setup.describe(), "epochs": f.lstm_.epochs,
                                              "batches": f.lstm_.batches, "windows": f.lstm_.windows,
                                              "train_seconds": round(f.lstm_.seconds, 1)},
    }


def sample_tree(proc) -> tuple[tuple[float, float, int], str, str]:
    """``((PSS, RSS, processes), stdout, stderr)``: the peak summed memory in MiB of ``proc`` and its
    descendants, sampled every 0.5 s until it ends, the number of processes then, and its output (read by
    threads meanwhile, so it never blocks on a full pipe)."""
    import threading

    from memory_tree import sample_until_exit

    sink: dict[str, list[str]] = {"out": [], "err": []}
    threads = [threading.Thread(target=lambda k=k, f=f: sink[k].append(f.read()), daemon=True)
               for k, f in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    peak = sample_until_exit(proc)
    for t in threads:
        t.join()
    return peak, "".join(sink["out"]), "".join(sink["err"])


def write_results(results: list[dict], command: str) -> Path:
    import torch

    from lstmkit.tasks.forecast.selection import label

    lines = [
        "# M3 with lstmkit's defaults",
        "",
        f"Written by `benchmarks/eval_m3.py`. Command: {command}.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; the load average at the "
        "start and end of each run is in the JSON below (this machine was shared with other jobs, so the times are "
        "upper bounds; the CPU seconds of the main process and of the worker processes are given too).",
        "",
        "Protocol: `lstmkit.Forecaster(horizon=h, season=m)`, every other setting at its default, fitted on each "
        "`m3_<freq>_train.csv` (the model is chosen by the forecaster's own validation on the end of each training "
        "series; the test values are never seen), then scored on `m3_<freq>_test.csv`. The peers are fitted on the "
        "same training series in the same run. sMAPE is the competition's (mean over series and horizons, in %); "
        "MASE divides by each series' in-sample seasonal-naive MAE. The quarterly row is a panel nobody tuned on: "
        "each M3 monthly series summed over quarters from its end (training and test files alike), season 4.",
        "",
        "| frequency | target | model (chosen) | sMAPE model | LSTM alone | naive | seasonal naive | AutoETS | AutoTheta | "
        "MASE model | MASE LSTM alone | MASE AutoETS | MASE AutoTheta | fit (s: wall / CPU main + workers) | "
        "peak memory (MiB): whole run, summed PSS / main + largest worker (ru_maxrss) | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s, m = r["smape"], r["mase"]
        la = r.get("lstm_alone")
        alone = lambda k, d: f"{la[k]:.{d}f}" if la else "-"  # noqa: E731
        met = {"monthly": s["model"] <= 13.85 and s["model"] < s["ets"],
               "yearly": s["model"] < s["ets"] and s["model"] < s["theta"],
               "quarterly": s["model"] < s["seasonal_naive"]}[r["freq"]]
        lines.append(
            f"| {r['freq']} ({r['series']} series, h={r['horizon']}) | {TARGETS[r['freq']]} | {label(r['chosen'])} | "
            f"**{s['model']:.2f}** | {alone('smape', 2)} | {s['naive']:.2f} | {s['seasonal_naive']:.2f} | {s['ets']:.2f} | "
            f"{s['theta']:.2f} | {m['model']:.3f} | {alone('mase', 3)} | {m['ets']:.3f} | {m['theta']:.3f} | "
            f"{r['fit_seconds']} / {r['fit_cpu_seconds']} + {r.get('fit_workers_cpu_seconds', 'not recorded')} | "
            f"{r.get('peak_tree_pss_mb', 'not sampled')} / {r['peak_memory_mb']} + {r['peak_worker_memory_mb']} | "
            f"{'yes' if met else 'no'} |")
    lines += ["", "What the forecaster derived and chose (its own words):", ""]
    for r in results:
        lines.append(f"- {r['freq']}: chosen {label(r['chosen'])}, runner-up {label(r['runner_up'])}; validation "
                     + ("(relative MASE: a series harder than the typical one is scored over its median candidate) "
                        if r.get("relative") else "")
                     + ", ".join(f"{label(k)} {v:.3f}" for k, v in sorted(r["validation"].items(), key=lambda kv: kv[1]))
                     + f". {'; '.join(r['plan'])}. Verdict on the test data: {r['verdict']}.")
    lines += ["", "All figures:", "", "```json", json.dumps(results, indent=1), "```", ""]
    path = ROOT / "benchmarks" / "RESULTS_m3.md"
    return write_keeping_repeats(path, "\n".join(lines))


def recorded_results() -> list[dict] | None:
    """The figures of ``RESULTS_m3.md`` as committed (its JSON block), ``None`` if there are none: a run of
    one frequency keeps the other's row from there, not from a file of this machine's ``benchmarks/out``."""
    try:
        text = (ROOT / "benchmarks" / "RESULTS_m3.md").read_text()
        start = text.index("```json") + 7
        return json.loads(text[start:text.index("```", start)])
    except (OSError, ValueError):
        return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--freq", choices=sorted(FREQS), action="append", help="only these frequencies (default all three)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes for the classical models (default 2)")
    p.add_argument("--seed", type=int, default=0, help="train.seed (default 0)")
    p.add_argument("--limit", type=int, default=None, help="only the first N series (a quick look; not written "
                   "to RESULTS_m3.md)")
    p.add_argument("--one", choices=sorted(FREQS), help=argparse.SUPPRESS)  # internal: one frequency, print JSON
    args = p.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, args.jobs, args.seed, args.limit)))
        return 0
    if not DATA.is_dir():
        print(f"eval_m3: M3 data not found at {DATA}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for freq in args.freq or list(FREQS):
        cmd = [sys.executable, __file__, "--one", freq, "--jobs", str(args.jobs), "--seed", str(args.seed)]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                env={**os.environ, "PYTHONWARNINGS": "ignore"})
        peak, stdout, stderr = sample_tree(proc)  # the whole run's memory: the fit, its workers and the peers
        line = [x for x in stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(stderr[-3000:], file=sys.stderr)
            return 1
        r = json.loads(line[0][7:])
        r["peak_tree_pss_mb"], r["peak_tree_rss_mb"], r["peak_tree_processes"] = peak
        results.append(r)
        print(f"{freq}: sMAPE model ({r['chosen']}) {r['smape']['model']:.2f} | AutoETS {r['smape']['ets']:.2f} | "
              f"AutoTheta {r['smape']['theta']:.2f} | seasonal naive {r['smape']['seasonal_naive']:.2f} | naive "
              f"{r['smape']['naive']:.2f}; fit {r['fit_seconds']} s ({r['fit_cpu_seconds']} s CPU), peak "
              f"{r['peak_memory_mb']} MiB; load {r['load_average_start']}", flush=True)
    if args.limit:
        return 0
    name = OUT / "m3.json"
    if args.freq:  # keep the other frequency's last results in the table (the page's own figures first)
        earlier = recorded_results() or []
        if not earlier:
            try:
                earlier = json.loads(name.read_text())
            except (OSError, ValueError):
                earlier = []
        ran = {r["freq"] for r in results}
        results = [r for r in earlier if r["freq"] not in ran] + results
        results.sort(key=lambda r: list(FREQS).index(r["freq"]))
    name.write_text(json.dumps(results, indent=1))
    command = "`python benchmarks/eval_m3.py" + "".join(f" --freq {f}" for f in args.freq or []) + \
        (f" --jobs {args.jobs}" if args.jobs != 2 else "") + (f" --seed {args.seed}" if args.seed else "") + "`"
    kept = [r["freq"] for r in results if args.freq and r["freq"] not in args.freq]
    if kept:
        command += (f" (the {' and '.join(kept)} {'rows are' if len(kept) > 1 else 'row is'} kept from an earlier run "
                    "of `python benchmarks/eval_m3.py`)")
    print(f"results: {write_results(results, command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
