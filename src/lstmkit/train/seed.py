"""One call that seeds everything a run draws from."""

from __future__ import annotations

import os
import random


def seed_everything(seed: int, deterministic: bool = True) -> int:
    """Seed Python, NumPy and torch (all devices) and, optionally, ask torch for determinism.

    With the same seed, a CPU run gives the same numbers every time. On GPUs,
    ``deterministic=True`` also makes torch use deterministic kernels (and
    warn where one does not exist) so results repeat there too.
    """
    import numpy as np
    import torch

    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed_everything: expected a non-negative integer, got {seed!r}")
    os.environ["PL_GLOBAL_SEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed
