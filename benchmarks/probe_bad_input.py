"""The bad inputs of issue 14, tried through the command line as a user would; writes ``benchmarks/RESULTS_bad_input.md``.

    .venv/bin/python benchmarks/probe_bad_input.py            # about 2-4 minutes of CPU

Each probe runs ``python -m lstmkit ...`` in a scratch folder and records the
exit code and the last line the command printed (errors are one line on
stderr). A probe *passes* when the outcome is the one the issue asks for: a
non-zero exit with a one-line message naming the file (and the column, row,
line or field where there is one), never exit 0 with NaN weights or empty
predictions. The tests under ``tests/`` assert the same behaviours; this
script is the issue's table, rerun.

Kill-and-resume (item 3), the padding grid (item 2) and the local server
limits (item 6) are exercised by tests (``tests/test_train_resume.py``,
``tests/test_padding.py``, ``tests/test_explain_serve*.py``), not here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def run(args: list[str], cwd: Path) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    p = subprocess.run([sys.executable, "-m", "lstmkit", *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=900)
    lines = [ln for ln in (p.stderr.strip().splitlines() or p.stdout.strip().splitlines()) if ln.strip()]
    return p.returncode, (lines[-1] if lines else "")


def series_csv(path: Path, n: int = 60, bad: dict[int, str] | None = None) -> Path:
    rows = ["month,value"]
    for i in range(n):
        v = f"{100 + 10 * ((i % 12) - 6) ** 2 / 36 + i:.3f}"
        rows.append(f"{2000 + i // 12}-{i % 12 + 1:02d},{(bad or {}).get(i, v)}")
    path.write_text("\n".join(rows) + "\n")
    return path


def anomaly_csv(path: Path, bad: dict[int, str] | None = None, n: int = 600) -> Path:
    import math

    rows = ["value"]
    for i in range(n):
        rows.append((bad or {}).get(i, f"{math.sin(2 * math.pi * i / 25):.4f}"))
    path.write_text("\n".join(rows) + "\n")
    return path


TINY_FORECAST = ["--horizon", "3", "--season", "12", "--select.model", "lstm", "--train.epochs", "2",
                 "--model.ensemble", "1", "--model.hidden_size", "8", "--quiet"]
TINY_ANOMALY = ["--train.epochs", "1", "--detector.hidden_size", "8", "--quiet"]


def probes(tmp: Path) -> list[tuple[str, str, int, str, bool]]:
    out = []

    def probe(item: str, what: str, args: list[str], ok) -> None:
        rc, line = run(args, tmp)
        out.append((item, what, rc, line, bool(ok(rc, line))))
        print(f"[{item}] {what}: exit {rc}: {line}", flush=True)

    fails = lambda *names: lambda rc, line: rc != 0 and all(n in line for n in names)  # noqa: E731

    # 1. non-finite values, where data is read
    inf = series_csv(tmp / "inf.csv", bad={30: "inf"})
    probe("1", "forecast train, one `inf` in the CSV", ["forecast", "train", "--data", str(inf), "--target", "value",
          "--time", "month", "--out", str(tmp / "f-inf"), *TINY_FORECAST], fails("inf.csv", "value"))
    huge = series_csv(tmp / "huge.csv", bad={30: "1e300"})
    probe("1", "forecast train, one value 1e300", ["forecast", "train", "--data", str(huge), "--target", "value",
          "--time", "month", "--out", str(tmp / "f-huge"), *TINY_FORECAST], fails("huge.csv", "value"))
    good = series_csv(tmp / "good.csv")
    rc, line = run(["forecast", "train", "--data", str(good), "--target", "value", "--time", "month",
                    "--out", str(tmp / "f-good"), *TINY_FORECAST], tmp)
    out.append(("-", "forecast train on clean data (the model the next probes use)", rc, line, rc == 0))
    last_inf = series_csv(tmp / "last_inf.csv", bad={59: "inf"})
    probe("1", "forecast predict, `inf` in the last row", ["forecast", "predict", "--model", str(tmp / "f-good" / "model"),
          "--data", str(last_inf), "--output", str(tmp / "p.csv")], fails("last_inf.csv"))
    for name, value in (("inf", "inf"), ("1e300", "1e300")):
        f = anomaly_csv(tmp / f"an_{name}.csv", bad={300: value})
        probe("1", f"anomaly train, one value {value}", ["anomaly", "train", "--data", str(f),
              "--out", str(tmp / f"a-{name}"), *TINY_ANOMALY], fails(f"an_{name}.csv", "value"))

    # 4. damaged model folders
    model = tmp / "f-good" / "model"
    for what, damage in (
        ("zero-byte model.safetensors", lambda d: (d / "model.safetensors").write_bytes(b"")),
        ("truncated model.safetensors", lambda d: (d / "model.safetensors").write_bytes(
            (d / "model.safetensors").read_bytes()[:200])),
        ("config.json: hidden_size edited", lambda d: _edit(d, "hidden_size", 16)),
        ("config.json: input_size edited", lambda d: _edit(d, "input_size", 5)),
        ("config.json: invalid JSON", lambda d: (d / "config.json").write_text("{ not json")),
    ):
        d = tmp / f"damaged-{len(out)}"
        shutil.copytree(model, d)
        damage(d)
        probe("4", what, ["forecast", "predict", "--model", str(d), "--data", str(good), "--output", str(tmp / "q.csv")],
              lambda rc, line: rc != 0 and len(line) < 400 and ("model.safetensors" in line or "config.json" in line))

    # 5. decode errors and line numbers
    latin = tmp / "latin1.tsv"
    latin.write_bytes("sentence\tlabel\nun film très drôle\t1\nennuyeux\t0\n".encode("latin-1"))
    probe("5", "classify train on a latin-1 file", ["classify", "train", "--data", str(latin), "--out",
          str(tmp / "c"), "--quiet"], fails("latin1.tsv"))
    binary = tmp / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    probe("5", "tag train on a binary file", ["tag", "train", "--data", str(binary), "--out", str(tmp / "t"), "--quiet"],
          fails("binary.txt"))
    probe("5", "anomaly train on a binary file", ["anomaly", "train", "--data", str(binary), "--out", str(tmp / "a"),
          "--quiet"], fails("binary.txt"))
    conll = tmp / "bad_tag.conll"
    lines = ["EU B-ORG", "rejects O", "German B-MISC", "call O", "", "Peter B-PER", "Blackburn BAD-TAG-X", ""]
    conll.write_text("\n".join(lines) + "\n")
    probe("5", "tag train, a bad tag on line 7", ["tag", "train", "--data", str(conll), "--out", str(tmp / "t2"),
          "--quiet"], lambda rc, line: rc != 0 and ("line 7" in line or "bad_tag.conll:7:" in line))
    return out


def _edit(folder: Path, key: str, value) -> None:
    cfg = json.loads((folder / "config.json").read_text())

    def walk(x):
        if isinstance(x, dict):
            for k in x:
                if k == key and isinstance(x[k], int):
                    x[k] = value
                else:
                    walk(x[k])
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(cfg)
    (folder / "config.json").write_text(json.dumps(cfg))


def main() -> None:
    with tempfile.TemporaryDirectory() as t:
        rows = [(item, what, rc, line.replace(t, "<tmp>"), ok) for item, what, rc, line, ok in probes(Path(t))]
    page = ROOT / "benchmarks" / "RESULTS_bad_input.md"
    lines = ["# Bad input through the command line (issue 14's probes, rerun)", "",
             "Written by `.venv/bin/python benchmarks/probe_bad_input.py`. Each row: the command's exit code and the "
             "last line it printed (file paths are a scratch folder). *ok*: a non-zero exit with one line naming the "
             "file (and column, row, line or field), as the issue asks.", "",
             "| item | bad input | exit | message | ok |", "|---|---|---|---|---|"]
    for item, what, rc, line, ok in rows:
        msg = line.replace("|", "\\|")
        lines.append(f"| {item} | {what} | {rc} | {msg} | {'ok' if ok else '**NO**'} |")
    lines += ["", f"{sum(r[4] for r in rows)} of {len(rows)} as asked."]
    page.write_text("\n".join(lines) + "\n")
    print(f"results: {page}")


if __name__ == "__main__":
    main()
