"""What the benchmark scripts record about the machine they ran on (the package's own record)."""

from __future__ import annotations

from lstmkit.kernels.cpu.machine import cpu_name, describe, fingerprint

__all__ = ["cpu_name", "describe", "fingerprint"]
