#!/usr/bin/env bash
# The torch backend's cuDNN weight buffer on a lent GPU (one short call): its tests, then lstmkit `auto`
# against torch.nn on the float32 plain cells at the small sizes where the per-call copy showed.
#     run  command="bash benchmarks/gpu_flat_check.sh"  timeout_s=170
. "$(dirname "$0")/gpu_env.sh" benchmarks/out/gpu_flat
timeout 60 "$PY" -m pytest -q -p no:cacheprovider tests/test_torch_backend_cuda.py \
    "tests/test_triton_backend.py::test_auto_path_takes_the_persistent_kernel_where_it_fits" > "$OUT/tests.txt" 2>&1
echo "tests: exit $? : $(tail -1 "$OUT/tests.txt")"
timeout 95 "$PY" benchmarks/bench_gpu.py --cells lstm,gru --dtypes float32 --batch 1,16,64 --hidden 64,128 \
    --no-reference --reps 7 --warmup 3 --json "$OUT/flat.json" > "$OUT/flat.md" 2> "$OUT/flat.err"
echo "bench: exit $?"
grep '^|' "$OUT/flat.md" || tail -5 "$OUT/flat.err"
