#!/usr/bin/env bash
# The per-step path's CUDA graphs (kernels/triton/graphs.py) on a lent GPU, in one call:
#   A. untimed, side by side: the GPU tests (tests/test_triton_backend.py, graph tests included, and
#      tests/test_torch_backend_cuda.py) and bench_gpu.py --compile-only in shards for the grid of B;
#   B. timed, alone: bench_gpu.py --target for the cells on the per-step path (layer-norm LSTM above
#      H = 64, GRU), triton with its graphs against triton launched step by step (--also-no-graphs)
#      and cuDNN, rows kept in the JSON as they come;
#   C. while time is left: gpu_step_probe.py, the per-step products alone (run 5's B = 16, H = 128 outlier).
# Next session: CELLS=lstm,peephole,layernorm,gru bash benchmarks/gpu_graphs.sh (the chunked recordings,
# the plain and peephole LSTMs on the graphed per-step path above H = 128).
#     run  command="bash benchmarks/gpu_graphs.sh"  timeout_s=480   (SESSION_SECONDS=N: the script's budget)
. "$(dirname "$0")/gpu_env.sh" benchmarks/out/gpu_graphs 450
cat "$OUT/env.txt"
gpu=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
if [ "$gpu" != "1" ]; then
    echo "no GPU here: the graphs are not used on CPU; nothing to measure (the tests run in the interpreter in the suite)"
    exit 0
fi
cells=${CELLS:-layernorm,gru}
workers=""
"$PY" -c "import xdist" 2>/dev/null && workers="-n 4"
timeout 170 "$PY" -m pytest -q -p no:cacheprovider $workers tests/test_triton_backend.py tests/test_torch_backend_cuda.py \
    > "$OUT/tests.txt" 2>&1 &
tests_pid=$!
for i in 0 1 2 3; do
    timeout 170 "$PY" benchmarks/bench_gpu.py --target --cells "$cells" --compile-only --no-reference --shard $i/4 \
        --json "$scratch/compile_$i.json" > "$scratch/compile_$i.txt" 2>&1 &
done
wait $tests_pid
echo "tests: exit $? : $(tail -1 "$OUT/tests.txt")"
grep -E "FAILED|Error" "$OUT/tests.txt" | head -20
wait
for f in "$scratch"/compile_*.txt; do echo "== $f"; tail -3 "$f"; done > "$OUT/compile.txt" 2>&1
echo "A done at $(( $(date +%s) - start )) s"
timeout $(( $(left) - 5 )) "$PY" benchmarks/bench_gpu.py --target --cells "$cells" --also-no-graphs --no-reference \
    --reps 5 --warmup 2 --json "$OUT/graphs.json" > "$OUT/graphs.md" 2> "$OUT/graphs.err"
echo "bench_gpu: exit $? (124: stopped by the budget; the rows so far are in graphs.json) at $(( $(date +%s) - start )) s"
# the step path's products alone (the B = 16, H = 128 outlier of run 5), while time is left
if [ "$(left)" -gt 30 ]; then
    timeout $(( $(left) - 5 )) "$PY" benchmarks/gpu_step_probe.py --json "$OUT/step_probe.json" > "$OUT/step_probe.md" 2>&1
    echo "gpu_step_probe: exit $?"; cat "$OUT/step_probe.md"
fi
if grep -q '^|' "$OUT/graphs.md"; then
    grep '^|' "$OUT/graphs.md"
else
    tail -5 "$OUT/graphs.err"
    "$PY" -c "
import json, sys
for r in json.load(open(sys.argv[1]))['rows']:
    print(r['cell'], r['dtype'], r['B'], r['H'], r['mode'], *(f'{k}={v:.3f}' for k, v in r.items() if isinstance(v, float)))
" "$OUT/graphs.json" 2>/dev/null
fi
