"""End-to-end training time of each task on each CPU engine (issue 17, item 4).

Every task trains the same short, fixed job (fixed epochs, early stopping
off, one seed) once per engine, the engines interleaved within each
repetition, and the script reports the median wall time of the whole fit
(data encoding, training loop, validation, everything the user waits for)
and its ratio to ``torch`` (torch.nn's fused RNN operators, what the
forecaster and the language model were pinned to before ``auto`` became
their default):

* ``torch``: ``model.backend torch`` (the "before" of forecasting and the language model);
* ``auto``: the default every task uses now (the measured choice of
  :mod:`lstmkit.kernels`: for a plain LSTM without lengths, torch.nn or the
  ``cpu`` engine by the call's size and the thread count, from the table
  ``benchmarks/bench_cpu.py`` measured; the ``cpu`` engine where torch.nn
  must pack lengths or cannot run the cell);
* ``cpu``: lstmkit's own engine forced.

The forecaster runs its main job as a user does (``lstmkit forecast train``
on the built-in airline series, defaults, in a subprocess); the other tasks
run through their estimators on the first part of a shipped data set
(``../shared/data``). Ratio above 1: faster than ``torch``.

    .venv/bin/python benchmarks/bench_tasks.py [--reps 2] [--only classify,tag] [--threads 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
ENGINES = ("torch", "auto", "cpu")


def _forecast(engine: str, threads: int) -> None:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "lstmkit", "forecast", "train", "--out", out, "--model.backend", engine,
               "--train.progress_bar", "false"]
        if threads:
            cmd += ["--train.num_threads", str(threads)]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _classify_data():
    import pandas as pd

    df = pd.read_csv(DATA / "sst2" / "train.tsv", sep="\t", quoting=3).head(3000)
    return df["sentence"].astype(str).tolist(), df["label"].tolist()


def _classify(engine: str, threads: int, data) -> None:
    import lstmkit

    texts, labels = data
    lstmkit.SequenceClassifier(epochs=2, early_stopping=0, progress_bar=False, num_threads=threads, mode="off",
                               backend=engine).fit(texts, labels)


def _tag_data():
    from lstmkit.tasks.tag.data import read_sentences

    sents, _ = read_sentences(DATA / "conll2003" / "train.txt")
    sents = sents[:1500]
    return [s.tokens for s in sents], [s.tags for s in sents]


def _tag(engine: str, threads: int, data) -> None:
    import lstmkit

    tokens, tags = data
    lstmkit.SequenceTagger(epochs=2, early_stopping=0, progress_bar=False, num_threads=threads,
                           backend=engine).fit(tokens, tags)


def _anomaly_data():
    import pandas as pd

    return pd.read_csv(DATA / "anomaly" / "mitdb.csv")["data"].to_numpy()[:, None]


def _anomaly(engine: str, threads: int, x) -> None:
    import lstmkit
    from lstmkit.config import replace
    from lstmkit.tasks.anomaly.config import AnomalyConfig

    cfg = replace(AnomalyConfig(), **{"detector.backend": engine, "train.epochs": 5, "train.early_stopping": 0,
                                      "train.progress_bar": False, "train.num_threads": threads})
    lstmkit.AnomalyDetector(config=cfg).fit(x)


def _lm_data():
    return (DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")[:150_000]


def _lm(engine: str, threads: int, text) -> None:
    import lstmkit

    lstmkit.LanguageModel(epochs=1, early_stopping=0, progress_bar=False, num_threads=threads,
                          backend=engine).fit(text)


TASKS = {
    "forecast": (None, lambda e, t, _: _forecast(e, t)),
    "classify": (_classify_data, _classify),
    "tag": (_tag_data, _tag),
    "anomaly": (_anomaly_data, _anomaly),
    "lm": (_lm_data, _lm),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--only", default=",".join(TASKS))
    ap.add_argument("--threads", type=int, default=0, help="torch threads in each fit (0: torch's default)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine import cpu_name

    import torch

    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        ap.error(f"--only: unknown task(s) {unknown}; expected some of {list(TASKS)}")
    threads = args.threads or torch.get_num_threads()
    print(f"{cpu_name()}, torch {torch.__version__}, {threads} thread(s), {args.reps} repetition(s); load average "
          "before " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("| task | torch | auto | cpu | auto / torch | cpu / torch |")
    print("|---|---|---|---|---|---|")
    for name in names:
        load, fit = TASKS[name]
        data = load() if load else None
        fit(ENGINES[0], args.threads, data)  # warm-up: first-use costs (the engine's build, caches) out of the timings
        times = {e: [] for e in ENGINES}
        for _ in range(args.reps):
            for engine in ENGINES:
                t0 = time.perf_counter()
                fit(engine, args.threads, data)
                times[engine].append(time.perf_counter() - t0)
        med = {e: statistics.median(v) for e, v in times.items()}
        print(f"| {name} | {med['torch']:.1f} s | {med['auto']:.1f} s | {med['cpu']:.1f} s | "
              f"{med['torch'] / med['auto']:.2f}x | {med['torch'] / med['cpu']:.2f}x |", flush=True)
    print("load average after " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
