# Shared set-up of the device-machine scripts (gpu_session.sh, gpu_probe.sh, gpu_flat_check.sh), sourced with
# the script's default output folder as $1: $OUT made (the device tool sets it; here benchmarks/out/...), $PY the
# python to run ($PYTHON, else the machine's python3: its torch and triton, not this project's pins), the
# package from this checkout's src/, and triton's FP fusion stated (3.9 warns when it is not).
set -u
OUT=${OUT:-$1}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export TRITON_DEFAULT_FP_FUSION=${TRITON_DEFAULT_FP_FUSION:-1}
