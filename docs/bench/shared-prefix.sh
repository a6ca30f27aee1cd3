#!/usr/bin/env bash
# The shared-prefix comparison of README "Prefix reuse and KV-aware routing": one cluster per
# configuration (reuse off, node-local reuse, KV-aware routing), the same workload against each,
# then one TTFT chart. Run from the repository root; results go to run/bench-reuse-*.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
M=${MODEL:-$HOME/.cache/baton/small-f32.gguf}   # written by: bin/baton bench engine
for mode in off local aware; do
  bin/baton down >/dev/null 2>&1 || true
  bin/baton up --model "$M" --prefill 2 --decode 1 --threads 1 --node-heap 768m --config "docs/bench/reuse-$mode.conf"
  bin/baton bench serve --target "reuse-$mode=http://127.0.0.1:8000/v1" --workload shared-prefix \
    --tenants 8 --system-tokens 1800 --input-len 100 --output-len 16 --rate 0.5 --requests 32 --warmup 0 \
    --tokenizer "$M" --slo ttft=500ms,tpot=50ms --no-progress --out "run/bench-reuse-$mode"
  bin/baton down
done
bin/baton bench cdf --log-x --out docs/bench/shared-prefix-ttft.png "reuse off=run/bench-reuse-off/results.json" \
  "node-local reuse=run/bench-reuse-local/results.json" "KV-aware routing=run/bench-reuse-aware/results.json"
