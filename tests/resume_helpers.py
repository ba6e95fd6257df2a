"""Kill a training command with SIGKILL after its Nth checkpoint, resume it, and compare with an uninterrupted run.

Reusable for any command line that writes ``last.safetensors`` checkpoints
(every task's ``train`` through :func:`lstmkit.train.fit`) and has a resume
flag::

    from resume_helpers import check_exact_resume

    def command(out):  # the same run, into any folder
        return [sys.executable, "-m", "lstmkit", "classify", "train", "--data", str(data), "--out", str(out), ...]

    check_exact_resume(command, ["--resume"], tmp_path, weights="model/model.safetensors", kill_after=3)

What it checks: the killed process really died from the signal before it
finished, the resumed one exits 0, every tensor of ``weights`` is
bit-identical to the uninterrupted run's, so is each final ``last.safetensors``
in what decides the computation (weights after the last epoch, optimiser
moments, schedule, epoch and step, random and data-order states), and every
``logs/csv/metrics.csv``
of the resumed run holds the same epochs and values as the uninterrupted one
(timings aside): the epochs before the kill were kept, none is missing or
repeated. The timings continue too: each fit's rows up to its last checkpoint
before the kill are kept as they were (their ``seconds`` included), the
``seconds`` column never goes back, and each final training state's
``train_seconds`` is at least what that fit's checkpoint before the kill held.
"""

from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

CHECKPOINT = "last.safetensors"
TIMING_COLUMNS = ("seconds",)


@dataclass
class ResumeCheck:
    """What :func:`check_exact_resume` saw (for messages and further assertions)."""

    killed_after: int  # checkpoint writes seen before the kill
    checkpoints_straight: int  # checkpoint writes of the uninterrupted run (counted the same way)
    tensors: int  # tensors of the weights file compared
    csv_files: int  # metrics.csv files compared
    states: int  # last.safetensors files compared (weights, optimiser, schedule, random and data-order states)
    straight: Path
    resumed: Path


def _writes(run_dir: Path, seen: set) -> int:
    """Record each new version of every checkpoint under ``run_dir`` (an atomic replace makes a new inode)."""
    new = 0
    for p in run_dir.rglob(CHECKPOINT):
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        key = (str(p), st.st_ino, st.st_mtime_ns)
        if key not in seen:
            seen.add(key)
            new += 1
    return new


class _Run:
    """A command running in the background whose checkpoint writes under ``run_dir`` are counted as they land."""

    def __init__(self, cmd: Sequence[str], run_dir: Path, env: dict | None, kill_after: int | None = None,
                 kill_delay: float = 0.0):
        import threading

        self.cmd, self.run_dir, self.kill_after, self.kill_delay = list(cmd), Path(run_dir), kill_after, kill_delay
        self.seen: set = set()
        self.writes = 0
        self.killed = False
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self._err: list[bytes] = []
        self._reader = threading.Thread(target=lambda: self._err.append(self.proc.stderr.read()), daemon=True)
        self._reader.start()

    def poll(self) -> bool:
        """Count new writes, kill when due; ``True`` while the process runs."""
        running = self.proc.poll() is None
        self.writes += _writes(self.run_dir, self.seen)
        if running and self.kill_after is not None and not self.killed and self.writes >= self.kill_after:
            if self.kill_delay:
                time.sleep(self.kill_delay)
            os.kill(self.proc.pid, signal.SIGKILL)
            self.killed = True
        return running

    def finish(self) -> tuple[int, int, str]:
        rc = self.proc.wait()
        self._reader.join(timeout=10)
        self.proc.stderr.close()
        return rc, self.writes, b"".join(self._err).decode(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish()


def run_and_count(cmds: Sequence[tuple[Sequence[str], Path, int | None]], env: dict | None = None,
                  timeout: float = 600, kill_delay: float = 0.0) -> list[tuple[int, int, str]]:
    """Run the ``(argv, run_dir, kill_after)`` commands side by side, counting checkpoint writes in each run folder.

    A command with ``kill_after`` gets SIGKILL once that many writes were seen
    (after ``kill_delay`` seconds more). Returns ``(returncode, writes, stderr tail)``
    per command.
    """
    runs = [_Run(cmd, run_dir, env, kill_after, kill_delay) for cmd, run_dir, kill_after in cmds]
    deadline = time.monotonic() + timeout
    try:
        while any([r.poll() for r in runs]):  # a list, not a generator: every run is polled each time
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout} s: {[' '.join(map(str, r.cmd)) for r in runs]}")
            time.sleep(0.002)
        return [r.finish() for r in runs]
    finally:
        for r in runs:
            if r.proc.returncode is None:
                r.stop()


def read_weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


#: the parts of a training state that decide what a resumed run computes (paths, timings and
#: Lightning's bookkeeping of the last score seen differ harmlessly between two folders)
STATE_PARTS = ("epoch", "global_step", "state_dict", "optimizer_states", "lr_schedulers")
RESUME_PARTS = ("rng", "data")


def _state_differences(a_path: Path, b_path: Path) -> list[str]:
    """Where two ``last.safetensors`` training states differ in a part that decides the computation."""
    import torch

    from lstmkit.train.state_file import read_state

    a, b = read_state(a_path), read_state(b_path)
    out: list[str] = []

    def walk(x, y, where: str) -> None:
        if type(x) is not type(y):
            out.append(f"{where} ({type(x).__name__} vs {type(y).__name__})")
        elif isinstance(x, torch.Tensor):
            if x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x, y):
                out.append(where)
        elif isinstance(x, dict):
            for k in sorted(set(x) | set(y), key=str):
                if k not in x or k not in y:
                    out.append(f"{where}.{k} (only in one)")
                else:
                    walk(x[k], y[k], f"{where}.{k}")
        elif isinstance(x, (list, tuple)):
            if len(x) != len(y):
                out.append(f"{where} (length {len(x)} vs {len(y)})")
            for i, (p, q) in enumerate(zip(x, y)):
                walk(p, q, f"{where}[{i}]")
        elif x != y and not (isinstance(x, float) and math.isnan(x) and math.isnan(y)):  # NaN equals NaN here
            out.append(f"{where} ({x!r} vs {y!r})")

    for part in STATE_PARTS:
        walk(a.get(part), b.get(part), part)
    resume_a, resume_b = a.get("callbacks", {}).get("ResumePoint", {}), b.get("callbacks", {}).get("ResumePoint", {})
    for part in RESUME_PARTS:
        walk(resume_a.get(part), resume_b.get(part), f"ResumePoint.{part}")
    return out


def _kept_before_kill(run_dir: Path) -> dict[Path, tuple[int, float, list[dict[str, str]]]]:
    """Per fit of a killed run (its ``last.safetensors``): epochs its checkpoint keeps, its time, its CSV rows."""
    from lstmkit.train.state_file import read_state

    kept = {}
    for p in run_dir.rglob(CHECKPOINT):
        state = read_state(p)
        rows = state.get("callbacks", {}).get("EpochLog", {}).get("rows", [])
        seconds = float(state.get("callbacks", {}).get("ResumePoint", {}).get("train_seconds", 0.0))
        fit_dir = p.parent.parent  # <fit>/checkpoints/last.safetensors; the log is <fit>/logs/csv/metrics.csv
        log = fit_dir / "logs" / "csv" / "metrics.csv"
        kept[fit_dir.relative_to(run_dir)] = (len(rows), seconds, _csv_rows(log, timings=True) if log.is_file() else [])
    return kept


def _csv_rows(path: Path, timings: bool = False) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if timings or k not in TIMING_COLUMNS} for row in csv.DictReader(f)]


def check_exact_resume(command: Callable[[Path], list[str]], resume_flag: Sequence[str], tmp: Path, *,
                       weights: str, kill_after: int, kill_delay: float = 0.0, env: dict | None = None,
                       timeout: float = 600) -> ResumeCheck:
    """Run ``command(out)`` straight and killed-then-resumed; assert the same weights (see the module docstring).

    Args:
        command: ``out_dir -> argv`` of the run.
        resume_flag: what to append to resume (``["--resume"]``).
        tmp: a scratch folder (``straight/`` and ``resumed/`` go there).
        weights: the weights file, relative to the run folder, to compare bit for bit.
        kill_after: send SIGKILL once this many checkpoint writes were seen (``>= 1``).
        kill_delay: wait this long after that write before the kill (to land mid-epoch).
    """
    import torch

    env = dict(os.environ if env is None else env)
    straight, resumed = Path(tmp) / "straight", Path(tmp) / "resumed"
    # the uninterrupted run and the one to kill side by side (they share nothing but the machine)
    (rc, total, err), (rc_k, seen, err_k) = run_and_count(
        [(command(straight), straight, None), (command(resumed), resumed, kill_after)], env, timeout, kill_delay)
    assert rc == 0, f"uninterrupted run failed ({rc}): {err}"
    assert rc_k == -signal.SIGKILL, (f"expected the run to be killed after checkpoint {kill_after}, but it ended with "
                                     f"{rc_k} after {seen} checkpoint(s) (the uninterrupted run wrote {total}): {err_k}")
    kept = _kept_before_kill(resumed)
    [(rc, _, err)] = run_and_count([([*command(resumed), *resume_flag], resumed, None)], env, timeout)
    assert rc == 0, f"resumed run failed ({rc}): {err}"

    a, b = read_weights(straight / weights), read_weights(resumed / weights)
    n_weights = len(a)
    assert sorted(a) == sorted(b), f"{weights}: different tensors: {sorted(set(a) ^ set(b))}"
    differ = [k for k in a if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not torch.equal(a[k], b[k])]
    assert not differ, (f"{weights}: killed after checkpoint {kill_after} and resumed, {len(differ)} of {len(a)} "
                        f"tensors differ from the uninterrupted run, e.g. {differ[:3]}")

    # the final training state too (weights after the last epoch, optimiser moments, schedule, random and
    # data-order states): the saved weights alone can be a best checkpoint from before the kill, or a final fit
    # run whole after the resume, equal whatever the resume did
    states = sorted(p.relative_to(straight) for p in straight.rglob(CHECKPOINT))
    for rel in states:
        assert (resumed / rel).is_file(), f"{rel}: missing in the resumed run"
        differ = _state_differences(straight / rel, resumed / rel)
        assert not differ, f"{rel}: the final training state differs from the uninterrupted run's at {differ[:4]}"

    csv_files = sorted(p.relative_to(straight) for p in straight.rglob("metrics.csv") if p.parent.name == "csv")
    for rel in csv_files:
        assert (resumed / rel).is_file(), f"{rel}: missing in the resumed run"
        want, got = _csv_rows(straight / rel), _csv_rows(resumed / rel)
        assert [r.get("epoch") for r in got] == [r.get("epoch") for r in want], (
            f"{rel}: epochs {[r.get('epoch') for r in got]} after the resume, expected {[r.get('epoch') for r in want]}")
        assert got == want, f"{rel}: logged values differ from the uninterrupted run"
        timed = _csv_rows(resumed / rel, timings=True)
        seconds = [float(r["seconds"]) for r in timed]
        assert seconds == sorted(seconds), f"{rel}: the seconds column goes back after the resume: {seconds}"

    # the time continues: what each fit had kept at its checkpoint before the kill is still there
    for fit_dir, (n_rows, seconds_before, rows_before) in kept.items():
        rel = fit_dir / "logs" / "csv" / "metrics.csv"
        if (resumed / rel).is_file():
            after = _csv_rows(resumed / rel, timings=True)
            assert after[:n_rows] == rows_before[:n_rows], (
                f"{rel}: the {n_rows} epoch row(s) the checkpoint before the kill kept changed after the resume "
                f"(timings included): {rows_before[:n_rows]} -> {after[:n_rows]}")
        from lstmkit.train.state_file import read_state

        final = read_state(resumed / fit_dir / "checkpoints" / CHECKPOINT)
        seconds_after = float(final.get("callbacks", {}).get("ResumePoint", {}).get("train_seconds", 0.0))
        assert seconds_after >= seconds_before, (f"{fit_dir}: train_seconds {seconds_after} after the resume, "
                                                 f"{seconds_before} at the checkpoint before the kill: the time restarted")
    return ResumeCheck(kill_after, total, n_weights, len(csv_files), len(states), straight, resumed)


def python_command(*args: str) -> list[str]:
    """``[python, *args]`` with this interpreter (for ``-m lstmkit ...`` or a script)."""
    return [sys.executable, *args]
