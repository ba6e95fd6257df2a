#!/usr/bin/env bash
# gpu_probe.py in one call of a lent GPU machine: the kernels compiled side by side in 8 shards
# (untimed), then the probe alone on the GPU. Files under $OUT: probe.txt, probe.json, probe.err, compile.txt.
#     run  command="bash benchmarks/gpu_probe.sh"  timeout_s=330
. "$(dirname "$0")/gpu_env.sh" benchmarks/out/gpu_probe
start=$(date +%s)
scratch=$(mktemp -d)
for i in 0 1 2 3 4 5 6 7; do
    timeout 120 "$PY" benchmarks/gpu_probe.py --compile-only --shard $i/8 > "$scratch/c$i.txt" 2>&1 &
done
wait
for f in "$scratch"/c*.txt; do echo "== $f"; tail -3 "$f"; done > "$OUT/compile.txt"
echo "compiled at $(( $(date +%s) - start )) s"
timeout 180 "$PY" benchmarks/gpu_probe.py --json "$OUT/probe.json" > "$OUT/probe.txt" 2> "$OUT/probe.err"
echo "probe: exit $? at $(( $(date +%s) - start )) s"
cat "$OUT/probe.txt"
tail -5 "$OUT/probe.err"
