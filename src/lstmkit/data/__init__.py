"""Data: dataset readers, vocabularies, tokenisers and series formats; series loading, windows, scaling and built-in example data."""

from pathlib import Path

#: folder of the data shipped inside the package (e.g. ``airline.csv``)
BUILTIN = Path(__file__).resolve().parent / "builtin"


def builtin_path(name: str) -> Path:
    """Path of a built-in data file, e.g. ``builtin_path("airline.csv")``."""
    path = BUILTIN / name
    if not path.is_file():
        available = sorted(p.name for p in BUILTIN.glob("*")) if BUILTIN.is_dir() else []
        raise FileNotFoundError(f"builtin_path: expected one of {available}, got {name!r}")
    return path


__all__ = ["BUILTIN", "builtin_path"]
