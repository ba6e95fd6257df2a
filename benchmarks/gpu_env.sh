# Shared set-up of the device-machine scripts (gpu_session.sh, gpu_graphs.sh, gpu_probe.sh, gpu_flat_check.sh), sourced with
# the script's default output folder as $1 (and its default budget in seconds as $2): $OUT made (the device tool sets it; here benchmarks/out/...), $PY the
# python to run ($PYTHON, else the machine's python3: its torch and triton, not this project's pins), the
# package from this checkout's src/, and triton's FP fusion stated (3.9 warns when it is not).
set -u
OUT=${OUT:-$1}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export TRITON_DEFAULT_FP_FUSION=${TRITON_DEFAULT_FP_FUSION:-1}
# the session's clock and budget (SESSION_SECONDS, else $2), seconds left, a scratch folder, and the
# machine and software written to $OUT/env.txt
start=$(date +%s)
budget=${SESSION_SECONDS:-${2:-540}}
left() { echo $((budget - ($(date +%s) - start))); }
scratch=$(mktemp -d)
{
    date -u
    nvidia-smi 2>&1 | head -15
    "$PY" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)"
    "$PY" -c "import triton, triton.language as tl; print('triton', triton.__version__, 'atomic_poll', hasattr(tl, 'atomic_poll'))"
    nproc
} > "$OUT/env.txt" 2>&1
