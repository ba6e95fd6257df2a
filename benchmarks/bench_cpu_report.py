"""Turn the JSON of ``bench_cpu.py`` into the markdown table of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_cpu_report.py benchmarks/out/bench_cpu_2threads.json
"""

from __future__ import annotations

import json
import sys


def table(path: str) -> str:
    data = json.loads(open(path).read())
    meta = data["meta"]
    lines = [
        f"`{meta['command']}` — {meta['cpu']}, {meta['threads']} thread(s) of {meta['nproc']} cores, "
        f"torch {meta['torch']}, {meta['time']}"
        + (f", load average {meta['loadavg_before'][0]:.2f} before / {meta['loadavg_after'][0]:.2f} after"
           if "loadavg_before" in meta else ""),
        "",
        "| case | lstmkit cpu | torch.nn | Python cell loop | other |",
        "|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        res = row["results"]
        base = res["lstmkit_cpu"]["median_ms"]

        def cell(key):
            if key not in res:
                return "—"
            v = res[key]["median_ms"]
            unit = f"{res[key]['us_per_step']:.1f} µs/step" if "us_per_step" in res[key] else f"{v:.1f} ms"
            return unit if key == "lstmkit_cpu" else f"{unit} ({v / base:.2f}x)"

        torch_key = next((k for k in res if k.startswith("torch_nn")), None)
        others = [k for k in res if k not in ("lstmkit_cpu", torch_key, "python_loop")]
        other = "; ".join(f"{k}: {cell(k)}" for k in others) or "—"
        lines.append(
            f"| {row['case']} | {cell('lstmkit_cpu')} | {cell(torch_key) if torch_key else '—'} | "
            f"{cell('python_loop')} | {other} |"
        )
    lines.append("")
    lines.append("Ratios in parentheses: that engine's median time / lstmkit cpu's (above 1 = lstmkit faster).")
    return "\n".join(lines)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(table(p))
        print()
