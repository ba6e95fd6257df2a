#!/usr/bin/env bash
# Prepare .venv for lstmkit on a fresh machine; safe to run again (fast when nothing changed).
#  - reuses a torch already installed in the system Python (the venv sees system packages);
#  - otherwise installs the CPU build torch==2.13.0 (set LSTMKIT_TORCH to choose another
#    requirement, e.g. a CUDA build; extra pip arguments go in LSTMKIT_TORCH_PIP_ARGS);
#  - then installs lstmkit itself in editable mode with its task and test dependencies.
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
