#!/usr/bin/env bash
# Issue 17, item 5 in one call on a lent GPU machine: the Triton tests compiled on the GPU, then
# bench_gpu.py (quick grid first, the full grid while time is left), everything written under $OUT.
#
# From a session whose task has a device (`status`: can_start_another), in one `run`:
#     run  command="bash benchmarks/gpu_session.sh"  timeout_s=560
# then read $OUT's files (gpu_quick.md / gpu.md and their JSON, triton_tests.txt, env.txt) and fill the
# GPU section of benchmarks/RESULTS.md. The device machine runs its own python3 (its torch and triton,
# not this project's pins) on a copy of the working tree; nothing is installed there.
#
# Without a GPU (here, to check the script): the tests run in the Triton interpreter and the benchmark
# in its --smoke mode, which measures nothing. Budget: SESSION_SECONDS (default 520) for all steps.
set -u
OUT=${OUT:-benchmarks/out/gpu_session}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
start=$(date +%s)
budget=${SESSION_SECONDS:-520}
left() { echo $((budget - ($(date +%s) - start))); }

{
    date -u
    nvidia-smi 2>&1 | head -15
    "$PY" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)"
    "$PY" -c "import triton; print('triton', triton.__version__)"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt" | tail -3
gpu=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)

# 1. the kernels against the reference, compiled for this GPU (interpreted without one)
timeout $(( $(left) < 200 ? $(left) : 200 )) "$PY" -m pytest -q -p no:cacheprovider tests/test_triton_backend.py \
    > "$OUT/triton_tests.txt" 2>&1
echo "triton tests: exit $? : $(tail -1 "$OUT/triton_tests.txt")"

# 2. the benchmark: the quick grid (B=16, H=256, every cell and dtype), then the full one if time is left
if [ "$gpu" = "1" ]; then
    timeout $(( $(left) < 150 ? $(left) : 150 )) "$PY" benchmarks/bench_gpu.py --quick --no-reference \
        --json "$OUT/gpu_quick.json" > "$OUT/gpu_quick.md" 2> "$OUT/gpu_quick.err"
    echo "bench_gpu --quick: exit $?"
    if [ "$(left)" -gt 60 ]; then
        timeout $(( $(left) - 10 )) "$PY" benchmarks/bench_gpu.py --no-reference \
            --json "$OUT/gpu.json" > "$OUT/gpu.md" 2> "$OUT/gpu.err"
        echo "bench_gpu (full grid, no reference loop): exit $? (124: stopped by the budget; rows so far in gpu.err)"
    fi
    summary="$OUT/gpu_quick.md"
else
    "$PY" benchmarks/bench_gpu.py --smoke --no-reference --json "$OUT/gpu_smoke.json" > "$OUT/gpu_smoke.md" \
        2> "$OUT/gpu_smoke.err"
    echo "no GPU here: bench_gpu --smoke (checks the script, measures nothing): exit $?"
    summary="$OUT/gpu_smoke.md"
fi
echo "--- $(( $(date +%s) - start )) s; table of $summary:"
grep '^|' "$summary" | head -40
