"""Builds (once, then cached) the C++ time loops of the CPU engine.

The extension is compiled with ``torch.utils.cpp_extension`` the first time it
is needed and kept in a per-user cache folder keyed by the torch version and
the CPU (it is built with ``-march=native``), so later imports load it in a
fraction of a second. If the build fails, :func:`load_extension` returns
``None`` and :func:`build_error` says why; the backend then falls back to the
reference loop with a warning.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from pathlib import Path
from types import ModuleType

import torch

_CSRC = Path(__file__).with_name("csrc")
#: the translation units, and every file of csrc/ they may include
_SOURCES = ("recurrence.cpp", "lstm_fused.cpp", "lstm_ln_fused.cpp")
_module: ModuleType | None = None
_error: str | None = None
_tried = False


def _cpu_fingerprint() -> str:
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "model name")):
                flags += line
                if line.startswith("flags"):
                    break
    except OSError:
        flags = platform.processor()
    return hashlib.sha1((flags + platform.machine()).encode()).hexdigest()[:10]


def cache_dir() -> Path:
    """Where the compiled extension lives (``$LSTMKIT_CACHE`` or the user cache)."""
    root = os.environ.get("LSTMKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lstmkit"
    )
    tag = f"torch{torch.__version__.replace('+', '_')}-py{sys.version_info[0]}{sys.version_info[1]}-{_cpu_fingerprint()}"
    return Path(root) / "cpu_ext" / tag


def _sources() -> tuple[dict[str, bytes], str, Path]:
    """The engine's source files (name to bytes), their hash, and the build
    folder for that version: one folder per source version (no stale
    objects) and torch installation (:func:`_torch_location`); "-copy": the
    layout below, apart from folders that compiled the checkout's own file."""
    files = {p.name: p.read_bytes() for p in sorted(_CSRC.iterdir()) if p.suffix in (".cpp", ".h")}
    digest = hashlib.sha1()
    for name, code in files.items():
        digest.update(name.encode() + b"\0" + code)
    source_hash = digest.hexdigest()[:12]
    return files, source_hash, cache_dir() / f"{source_hash}-copy-{_torch_location()}"


def _torch_location() -> str:
    """A short hash of where this torch is installed. The build command names
    torch's headers and libraries by their paths, so two environments with the
    same torch release (two virtual environments, a fresh clone's) sharing
    one build folder rebuilt the extension in turn, each time the other had
    used it: about a minute on a first call (measured 64 s, 2026-12-03). Each
    installation gets its own folder and builds once."""
    return hashlib.sha1(str(Path(torch.__file__).resolve().parent).encode()).hexdigest()[:8]


def _built() -> bool:
    """Whether the cache holds this source's compiled module already."""
    try:
        _, source_hash, build = _sources()
    except OSError:
        return False
    return (build / f"lstmkit_cpu_{source_hash}.so").is_file()


def load_extension(build: bool = True) -> ModuleType | None:
    """The compiled module, building it on first use; ``None`` if that fails.
    With ``build=False``, ``None`` unless it is loaded already or its build
    for this source is in the cache (loading that takes a fraction of a second)."""
    global _module, _error, _tried
    if _tried:
        return _module
    if not build and not _built():
        return None
    _tried = True
    if os.environ.get("LSTMKIT_CPU_NO_BUILD"):
        _error = "building the C++ extension is disabled by LSTMKIT_CPU_NO_BUILD"
        return None
    try:
        from torch.utils.cpp_extension import load

        files, source_hash, build = _sources()
        build.mkdir(parents=True, exist_ok=True)
        # compile a copy kept in the build folder: the build command then
        # names the same file for every checkout of this source, so two
        # checkouts sharing the cache do not rebuild it in turn
        for name, code in files.items():
            source = build / name
            if not source.exists() or source.read_bytes() != code:
                tmp = build / f"{name}.{os.getpid()}.tmp"
                tmp.write_bytes(code)
                os.replace(tmp, source)
        _module = load(
            name=f"lstmkit_cpu_{source_hash}",
            sources=[str(build / name) for name in _SOURCES],
            # -fopenmp: at::parallel_for is a header template, so it only runs in
            # parallel when this translation unit is compiled with OpenMP
            extra_cflags=["-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp"],
            extra_ldflags=["-fopenmp"],
            build_directory=str(build),
            verbose=bool(os.environ.get("LSTMKIT_CPU_VERBOSE_BUILD")),
        )
        _tune_malloc(_module)
    except Exception as exc:  # no compiler, no headers, a compile error...
        text = str(exc)
        errors = [ln.strip() for ln in text.splitlines() if "error" in ln.lower()][:3]
        _error = f"{type(exc).__name__}: " + (" | ".join(errors) if errors else text.strip()[:500])
        _module = None
    return _module


def _tune_malloc(module) -> None:
    """Ask glibc to keep freed blocks up to 1 GiB for reuse (opt out with
    ``LSTMKIT_CPU_NO_MALLOPT=1``).

    glibc returns large freed blocks to the kernel, so each training step
    page-faults its saved activations in again; keeping them cut a step of
    both this engine and torch.nn.LSTM by about a third in our measurements.
    It is a process-wide setting with no effect on results; memory freed by
    the process stays reserved for its own later allocations.
    """
    if os.environ.get("LSTMKIT_CPU_NO_MALLOPT"):
        return
    module.tune_malloc(1 << 30, 1 << 30)


def build_error() -> str | None:
    """Why the extension could not be built (after :func:`load_extension`)."""
    return _error
