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
      bin/baton up --model "$M" --colocated --workers 1 --threads 2 --node-heap 768m --config "$(conf $mode)"
    else
      bin/baton up --model "$M" --prefill 1 --decode 1 --threads 1 --node-heap 768m --config "$(conf $mode)"
    fi
    bin/baton bench serve --target "$mode=http://127.0.0.1:8000/v1" --input-len 2000 --output-len 16 \
      --concurrency "${CONCURRENCY:-1}" --requests "${REQUESTS:-12}" --warmup 2 --seed 1 --tokenizer "$M" \
      --slo ttft=2s,tpot=50ms --no-progress --out "$OUT/$mode-$round"
    bin/baton down
  done
done
