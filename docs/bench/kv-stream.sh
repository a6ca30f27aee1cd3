#!/usr/bin/env bash
# README "KV streamed while the prompt is computed": 2,000-token prompts against a disaggregated
# cluster (router, 1 prefill and 1 decode node, 1 thread each) with baton.prefill.stream-kv on and
# off, and a colocated one (1 worker, 2 threads), in turn, ROUNDS times (alternating, the machine is
# shared). Run from the repository root; results go to run/bench-kv-stream/<mode>-<round>.
# EXTRA_CONF adds settings to every node (e.g. baton.prefill.shared-pool = off: bytes over UDP).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
M=${MODEL:-$HOME/.cache/baton/small-f32.gguf}   # written by: bin/baton bench engine
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-8000}
UP="bin/baton up --model $M --port $PORT --cluster-port ${CLUSTER_PORT:-25520} --node-heap 768m"
OUT=${OUT:-run/bench-kv-stream}
mkdir -p "$OUT"
conf() { # a config file for mode $1 with EXTRA_CONF appended
  local f="$OUT/$1.conf"
  case $1 in
    stream-on) printf 'include file("docs/bench/kv-stream-on.conf")\n' >"$f" ;;
    stream-off) printf 'include file("docs/bench/kv-stream-off.conf")\n' >"$f" ;;
    colocated) printf 'include file("docs/bench/no-host-tier.conf")\n' >"$f" ;;
  esac
  printf '%s\n' "${EXTRA_CONF:-}" >>"$f"
  echo "$f"
}
for round in $(seq 1 "$ROUNDS"); do
  for mode in stream-on stream-off colocated; do
    bin/baton down >/dev/null 2>&1 || true
    if [ "$mode" = colocated ]; then
      $UP --colocated --workers 1 --threads 2 --config "$(conf $mode)" | tee "$OUT/up.txt"
    else
      $UP --prefill 1 --decode 1 --threads 1 --config "$(conf $mode)" | tee "$OUT/up.txt"
    fi
    bin/baton bench serve --target "$mode=http://127.0.0.1:$PORT/v1" --input-len 2000 --output-len 16 \
      --concurrency "${CONCURRENCY:-1}" --requests "${REQUESTS:-12}" --warmup 2 --seed 1 --tokenizer "$M" \
      --slo ttft=2s,tpot=50ms --no-progress --out "$OUT/$mode-$round"
    # the prefill node's baton.prefill.kv.handoff: last chunk to the decode node's verdict (warm-up requests too)
    url=$(grep -o 'prefill-1 http://[^ ,]*/metrics' "$OUT/up.txt" | cut -d' ' -f2 || true)
    if [ -n "$url" ]; then curl -s "$url" | grep '^baton_prefill_kv_' >"$OUT/$mode-$round/prefill-metrics.txt" || true; fi
    bin/baton down
  done
done
