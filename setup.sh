#!/usr/bin/env bash
# Prepare .venv for lstmkit on a fresh machine; safe to run again (fast when nothing changed).
#  - reuses a torch already installed in the system Python (the venv sees system packages);
#  - otherwise installs the CPU build torch==2.13.0 (set LSTMKIT_TORCH to choose another
#    requirement, e.g. a CUDA build; extra pip arguments go in LSTMKIT_TORCH_PIP_ARGS);
#  - then installs lstmkit itself in editable mode with its task and test dependencies;
#  - and compiles the CPU engine's C++ loops once (cached per user, torch and CPU; about a minute
#    the first time, a second after), so the first command does not pay for it.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv --system-site-packages .venv
fi
VPY=.venv/bin/python
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing ${LSTMKIT_TORCH:-torch==2.13.0} (CPU build)" >&2
  # shellcheck disable=SC2086
  "$VPY" -m pip install -q ${LSTMKIT_TORCH_PIP_ARGS:-} "${LSTMKIT_TORCH:-torch==2.13.0}"
fi
stamp=.venv/.lstmkit-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing lstmkit and its dependencies" >&2
  "$VPY" -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
# the CPU engine: built here once rather than inside the first command (skipped while its sources are
# unchanged); a machine without a compiler still works (the engine's layers fall back with a warning,
# auto uses torch.nn)
engine_stamp=.venv/.lstmkit-engine
engine=$(cat src/lstmkit/kernels/cpu/csrc/* | sha256sum | cut -d' ' -f1)
if [ ! -f "$engine_stamp" ] || [ "$(cat "$engine_stamp")" != "$engine" ]; then
  echo "setup: compiling the CPU engine (once)" >&2
  if "$VPY" -c "import sys
from lstmkit.kernels.cpu import _build
if _build.load_extension() is None:
    sys.exit(f'setup: the CPU engine could not be built ({_build.build_error()}); lstmkit will use torch.nn')"; then
    echo "$engine" > "$engine_stamp"
  fi
fi
