"""Peak memory of a command and every process it starts, sampled from /proc (Linux).

``ru_maxrss`` of the children reports one process's peak at a time (and counts what a process shares), so
the memory targets of the benchmarks are checked with the summed PSS of the whole process tree instead::

    .venv/bin/python benchmarks/memory_tree.py .venv/bin/python benchmarks/eval_m3.py --one monthly

Prints the command's own output, then the peak summed PSS and RSS (MiB) and how many processes were alive
then. Samples every 0.5 s: a spike shorter than that can be missed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def tree_memory(pids: list[int]) -> tuple[float, float]:
    """Summed (PSS, RSS) in MiB of ``pids`` (processes that ended meanwhile count 0)."""
    pss = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except OSError:
            continue
    return pss / 1024, rss / 1024


def sample_until_exit(proc: subprocess.Popen, every: float = 0.5) -> tuple[float, float, int]:
    """Peak summed (PSS, RSS) in MiB of ``proc`` and its descendants, sampled every ``every`` seconds until it
    ends, and the number of processes alive at that peak."""
    peak = (0.0, 0.0, 0)
    while proc.poll() is None:
        pids = process_tree(proc.pid)
        pss, rss = tree_memory(pids)
        if pss > peak[0]:
            peak = (round(pss, 1), round(rss, 1), len(pids))
        time.sleep(every)
    return peak


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    proc = subprocess.Popen(argv)
    peak = sample_until_exit(proc)
    print(f"memory_tree: peak summed PSS {peak[0]:.0f} MiB (RSS {peak[1]:.0f} MiB) over {peak[2]} processes; "
          f"exit {proc.returncode}", flush=True)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
