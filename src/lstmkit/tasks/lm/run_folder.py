"""The run folder of ``lstmkit lm train``, and the files its other actions read and write.

A run folder holds::

    model/          model.safetensors + config.json + tokenizer.json (LanguageModel.load, lstmkit.load)
    metrics.json    validation loss, perplexity, bits per character; run facts
    plots/training.png
    sample.txt      a sample from the trained model
    report.html     all of it on one page
    config.yaml     the full configuration
    training/       Lightning's CSV logs and resumable checkpoints (--resume)

Everything between reading the file and writing these is
:class:`lstmkit.LanguageModel`; this module only reads and writes files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .config import LMConfig


def default_out_dir(cfg: LMConfig) -> Path:
    """``run.out_dir``, or ``runs/lm-<name of the data file>`` (``runs/lm-tinyshakespeare`` by default)."""
    name = Path(cfg.data.path).stem if cfg.data.path else "tinyshakespeare"
    return Path(cfg.run.out_dir or f"runs/lm-{name}")


@dataclass
class TrainRun:
    """A finished ``lm train``: its folder, the fitted estimator and the report's path."""

    out: Path
    estimator: object
    report: Path

    @property
    def metrics(self) -> dict:
        return self.estimator.metrics_


def train_run(cfg: LMConfig, out: str | Path | None = None, resume: bool = False) -> TrainRun:
    """Read ``data.path`` (Tiny Shakespeare when empty), fit a :class:`~lstmkit.LanguageModel`, write the run folder.

    ``data.path`` is recorded as the resolved file, so ``lm evaluate`` finds
    the text again; ``resume`` continues from ``out/training``.
    """
    from ...config import replace
    from .corpus import read_text, resolve_data_path
    from .estimator import LanguageModel

    out = Path(out) if out else default_out_dir(cfg)
    path = resolve_data_path(cfg.data.path)
    text = read_text(path)
    cfg = replace(cfg, **{"data.path": str(path)})
    est = LanguageModel(config=cfg).fit(text, log_dir=out / "training", resume=resume)
    est.save(out / "model")
    return TrainRun(out, est, est.report(out))


def training_text(est, part: str = "val") -> tuple[Path, str]:
    """``(file, text)``: the ``part`` (``all``, ``train``, ``val``) of the file a loaded model was trained on,
    cut as training cut it (the first ``max_chars``, then the ``val_fraction`` split)."""
    from .corpus import read_text, resolve_data_path, text_part

    source = getattr(est, "source_", None) or {}
    if not source.get("data"):
        raise ValueError("lm: the model was fitted on text in memory (no data file recorded in its folder); "
                         "expected --data FILE")
    path = resolve_data_path(source["data"])
    return path, text_part(read_text(path, int(source.get("max_chars") or 0)), part,
                           float(source.get("val_fraction", 0.1)))


def write_rows(path: str | Path, rows: list[dict]) -> Path:
    """Rows as CSV (``.csv``) or JSON lines (``.jsonl``/``.json``), chosen by the extension."""
    from ...io.files import atomic_write_text

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        import pandas as pd

        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(path, index=False)
    elif suffix in (".jsonl", ".json"):
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    else:
        raise ValueError(f"lm: expected an output file ending in .csv, .jsonl or .json, got {path.name!r}")
    return path


__all__ = ["default_out_dir", "TrainRun", "train_run", "training_text", "write_rows"]
