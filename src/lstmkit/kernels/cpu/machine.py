"""Which machine a measurement of the CPU engine speaks for.

``auto`` chooses between this engine and torch.nn by measured speed
(:mod:`.calibrate`), and a speed measured on one processor says little of
another: the same table measured on an Intel Xeon with AMX read as much as
25 % off on an AMD EPYC with AVX2, where torch.nn's oneDNN kernels and this
engine's vectorised loops both take other paths. Every table therefore
records the machine it was measured on (:func:`fingerprint`), and ``auto``
reads a table only on a machine that matches it (:func:`same_machine`): the
same vendor, family and model of processor, the same widest vector
instructions the engine is compiled for, and the same torch release line.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch

#: the vector extensions that decide which kernels oneDNN and the engine's
#: ``-march=native`` build run, widest first: the first one a machine has is its level
_ISA_LEVELS = (
    ("amx", ("amx_tile",)),
    ("avx512", ("avx512f",)),
    ("avx2", ("avx2", "fma")),
    ("avx", ("avx",)),
    ("sse4", ("sse4_2",)),
)


def cpuinfo() -> dict[str, str]:
    """The first processor's entries of ``/proc/cpuinfo`` (empty where there is none)."""
    info: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def cpu_name(info: dict[str, str] | None = None) -> str:
    """The processor's model name, else what :mod:`platform` knows."""
    info = cpuinfo() if info is None else info
    return info.get("model name") or platform.processor() or platform.machine()


def isa_level(flags: set[str] | str) -> str:
    """The widest vector extension named in ``flags`` (``amx``, ``avx512``,
    ``avx2``, ``avx``, ``sse4``), else the architecture's name."""
    have = set(flags.split()) if isinstance(flags, str) else set(flags)
    for level, needs in _ISA_LEVELS:
        if all(f in have for f in needs):
            return level
    return platform.machine() or "unknown"


def fingerprint() -> dict[str, str]:
    """What a measurement records of the machine it ran on."""
    info = cpuinfo()
    return {
        "cpu": cpu_name(info),
        "vendor": info.get("vendor_id", platform.machine()),
        "family": info.get("cpu family", ""),
        "model": info.get("model", ""),
        "isa": isa_level(info.get("flags", info.get("Features", ""))),
        "torch": ".".join(torch.__version__.split("+")[0].split(".")[:2]),
    }


#: the entries of :func:`fingerprint` that must agree for a table to speak
#: for this machine (the model name is left out: virtual machines report
#: generic or edited names for the same processor)
MATCHED = ("vendor", "family", "model", "isa", "torch")


def same_machine(recorded: dict | None, here: dict | None = None) -> bool:
    """Whether a table measured on ``recorded`` speaks for ``here`` (this machine by default)."""
    if not isinstance(recorded, dict):
        return False
    here = fingerprint() if here is None else here
    return all(str(recorded.get(k, "")) == str(here.get(k, "")) for k in MATCHED)


def describe(fp: dict | None = None) -> str:
    """One line for reports: ``AMD EPYC (AuthenticAMD 25/1, avx2), torch 2.13``."""
    fp = fingerprint() if fp is None else fp
    return (f"{fp.get('cpu', '?')} ({fp.get('vendor', '?')} {fp.get('family', '?')}/{fp.get('model', '?')}, "
            f"{fp.get('isa', '?')}), torch {fp.get('torch', '?')}")
