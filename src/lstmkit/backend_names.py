"""The recurrence engines by name, importable without torch.

:mod:`lstmkit.kernels.registry` starts from this table and imports a backend
only when it is first asked for; the task configurations check their
``backend`` option against it when they are read, which must not import
torch (``lstmkit --help`` builds every configuration).
"""

from __future__ import annotations

import sys

#: name -> "module:Class" of the engines lstmkit ships.
BUILTIN: dict[str, str] = {
    "reference": "lstmkit.kernels.reference:ReferenceBackend",
    "torch": "lstmkit.kernels.torch_backend:TorchBackend",
    "cpu": "lstmkit.kernels.cpu:CPUBackend",
    "triton": "lstmkit.kernels.triton:TritonBackend",
}


def check_backend_name(owner: str, name: str) -> None:
    """Raise ``ValueError`` naming ``owner`` unless ``name`` is ``auto`` or a
    known backend (the shipped ones, and any registered with
    :func:`lstmkit.kernels.register_backend` once the registry is loaded)."""
    registry = sys.modules.get("lstmkit.kernels.registry")
    names = registry.available_backends() if registry is not None else list(BUILTIN)
    if name != "auto" and name not in names:
        raise ValueError(f"{owner}: expected backend auto or one of {sorted(names)}, got {name!r}")
