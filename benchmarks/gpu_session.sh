#!/usr/bin/env bash
# Issue 17, item 5 in one call on a lent GPU machine, everything written under $OUT:
#   A. untimed, side by side: the GPU tests (Triton kernels compiled for this GPU, their ahead-of-time
#      compile check, the CRF's and the sampler's CUDA tests) on several workers, and bench_gpu.py
#      --compile-only in shards, which fills triton's disk cache with the benchmark's kernels;
#   B. timed, alone on the GPU: bench_gpu.py --target (the targets' grid, float32 first), rows kept in
#      the JSON as they come, so a run stopped by the budget keeps what it measured;
#   C. while time is left: gpu_probe.py --defaults, the float32 kernels' error against float64.
#
# From a session whose task has a device (`status`: can_start_another), in one `run`:
#     run  command="bash benchmarks/gpu_session.sh"  timeout_s=570   (less budget: SESSION_SECONDS=N bash ...)
# then read $OUT's files (gpu_target.md / .json / .err, probe.txt / .json, tests.txt, compile.txt, env.txt) and fill the
# GPU section of benchmarks/RESULTS.md. The device machine runs its own python3 (its torch and triton,
# not this project's pins) on a copy of the working tree; nothing is installed there.
#
# Without a GPU (here, to check the script): the tests run in the Triton interpreter and the benchmark
# in its --smoke mode, which measures nothing. Budget: SESSION_SECONDS (default 540) for all steps.
. "$(dirname "$0")/gpu_env.sh" benchmarks/out/gpu_session 540
tail -3 "$OUT/env.txt"
gpu=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)

# A. tests and the benchmark's compiles, side by side (nothing timed here)
tests="tests/test_triton_backend.py tests/test_triton_compile.py"
workers=""
if [ "$gpu" = "1" ]; then
    tests="$tests tests/test_crf.py::test_cuda_matches_cpu tests/test_sampling.py::test_cuda_generator_and_support"
    "$PY" -c "import xdist" 2>/dev/null && workers="-n 6"
fi
limit_a=$(( $(left) < 200 ? $(left) : 200 ))
timeout "$limit_a" "$PY" -m pytest -q -p no:cacheprovider $workers $tests > "$OUT/tests.txt" 2>&1 &
tests_pid=$!
if [ "$gpu" = "1" ]; then
    for i in 0 1 2 3 4 5; do
        timeout "$limit_a" "$PY" benchmarks/bench_gpu.py --target --compile-only --no-reference --shard $i/6 \
            --json "$scratch/compile_$i.json" > "$scratch/compile_$i.txt" 2>&1 &
    done
    timeout "$limit_a" "$PY" benchmarks/gpu_probe.py --defaults --compile-only > "$scratch/compile_probe.txt" 2>&1 &
fi
wait $tests_pid
echo "tests: exit $? : $(tail -1 "$OUT/tests.txt")"
wait
for f in "$scratch"/compile_*.txt; do [ -e "$f" ] && { echo "== $f"; tail -5 "$f"; }; done > "$OUT/compile.txt" 2>&1
echo "A done at $(( $(date +%s) - start )) s"

# B. the benchmark, timed, alone on the GPU
if [ "$gpu" = "1" ]; then
    timeout $(( $(left) - 5 )) "$PY" benchmarks/bench_gpu.py --target --no-reference --reps 5 --warmup 2 \
        --json "$OUT/gpu_target.json" > "$OUT/gpu_target.md" 2> "$OUT/gpu_target.err"
    echo "bench_gpu --target: exit $? (124: stopped by the budget; the rows so far are in gpu_target.json)"
    # C. the float32 kernels' error against float64 with their own precision and warps (gpu_probe.py)
    if [ "$(left)" -gt 40 ]; then
        timeout $(( $(left) - 5 )) "$PY" benchmarks/gpu_probe.py --defaults --json "$OUT/probe.json" > "$OUT/probe.txt" 2>&1
        echo "gpu_probe --defaults: exit $?"; cat "$OUT/probe.txt" | grep variant
    fi
    summary="$OUT/gpu_target.md"
else
    "$PY" benchmarks/bench_gpu.py --smoke --no-reference --json "$OUT/gpu_smoke.json" > "$OUT/gpu_smoke.md" \
        2> "$OUT/gpu_smoke.err"
    echo "no GPU here: bench_gpu --smoke (checks the script, measures nothing): exit $?"
    summary="$OUT/gpu_smoke.md"
fi
echo "--- $(( $(date +%s) - start )) s; table of $summary:"
if grep -q '^|' "$summary"; then
    grep '^|' "$summary" | head -60
elif [ -s "$OUT/gpu_target.json" ]; then  # stopped before its table: the rows measured so far
    "$PY" -c "
import json, sys
for r in json.load(open(sys.argv[1]))['rows']:
    print(r['cell'], r['dtype'], r['B'], r['H'], r['mode'], *(f'{k}={v:.3f}' for k, v in r.items() if k.endswith(('_ms', 'cudnn'))))
" "$OUT/gpu_target.json"
fi
