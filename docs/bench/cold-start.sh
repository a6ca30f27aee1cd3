#!/usr/bin/env bash
# The cold-start measurements of README "Warm-up": each run a fresh JVM (or a fresh cluster), the two
# settings of each comparison alternated, ROUNDS rounds (default 3). Run from anywhere, after
# `bin/build -DskipTests package` (which writes the AOT cache); needs python3 for the streaming client.
#   generate: bin/baton generate, 64 tokens, 1 thread, BATON_AOT=off against the AOT cache:
#             launch to first token and to the 64th token (from --timings and the launch time)
#   up:       bin/baton up (router, 1 prefill, 1 decode node, 1 thread each), warm-up off/on x AOT cache off/on:
#             launch to ready, then one streamed completion (64 tokens): time to first token and to the last;
#             then a second request for the warm latency; bin/baton down after each
# One line per run on stdout; medians at the end. Ports 18400 (HTTP) and 28520.. (cluster), or PORT / CLUSTER_PORT.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROUNDS=${1:-3}
MODEL=${MODEL:-../shared/oracle/models/small-q8_0.gguf}
PORT=${PORT:-18400}
CLUSTER_PORT=${CLUSTER_PORT:-28520}
PROMPT="Once upon a time, there was a little girl named Lily. She"
TMP=$(mktemp -d)
trap 'BATON_SKIP_BUILD=1 timeout 60 bin/baton down >/dev/null 2>&1; rm -rf "$TMP"' EXIT
now_ms() { date +%s%3N; }

generate() { # $1: off|on (the AOT cache)
  local env=(BATON_SKIP_BUILD=1) t0 out
  [ "$1" = off ] && env+=(BATON_AOT=off)
  t0=$(now_ms)
  out=$(env "${env[@]}" timeout 120 bin/baton generate --model "$MODEL" --threads 1 --max-tokens 64 \
    --prompt "$PROMPT" --output json --timings 2>"$TMP/gen.err") || { echo "generate failed: $(tail -3 "$TMP/gen.err")"; return; }
  python3 -c '
import json, sys
aot, t0, j = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
t = j["timings"]
launch = (t["jvm_start_epoch_ms"] - t0) / 1000
first, last, opened = launch + t["first_token_s"], launch + t["last_token_s"], t["engine_open_s"]
n = j["completion_tokens"]
print(f"generate aot={aot} first_token={first:.3f} tokens_64={last:.3f} launcher={launch:.3f} "
      f"engine_open={opened:.3f} tokens={n}")' "$1" "$t0" "$out"
}

up() { # $1: off|on (the AOT cache), $2: off|on (the node warm-up)
  local env=(BATON_SKIP_BUILD=1) conf="$TMP/up.conf" t0 t1 res
  [ "$1" = off ] && env+=(BATON_AOT=off)
  echo 'include file("'"$PWD"'/cluster.conf")' >"$conf"
  [ "$2" = off ] && echo 'baton.node.warm-up { prompt-tokens = 0, decode-tokens = 0 }' >>"$conf"
  t0=$(now_ms)
  if ! env "${env[@]}" timeout 180 bin/baton up --model "$MODEL" --threads 1 --node-heap 384m --port "$PORT" \
      --cluster-port "$CLUSTER_PORT" --config "$conf" --ready-timeout 150 >"$TMP/up.out" 2>&1; then
    echo "up failed: $(tail -3 "$TMP/up.out")"; BATON_SKIP_BUILD=1 timeout 60 bin/baton down >/dev/null 2>&1; return
  fi
  t1=$(now_ms)
  res=$(timeout 120 python3 -c '
import json, sys, time, urllib.request
def run():
    body = json.dumps({"prompt": sys.argv[2], "max_tokens": 64, "temperature": 0, "ignore_eos": True,
                       "stream": True}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    t = time.time(); first = None
    with urllib.request.urlopen(req, timeout=100) as r:
        for line in r:
            if line.startswith(b"data:") and not line.startswith(b"data: [DONE]") and first is None:
                first = time.time() - t
    return first, time.time() - t
(f1, e1), (f2, e2) = run(), run()
print(f"first_ttft={f1:.3f} first_64={e1:.3f} second_ttft={f2:.3f} second_64={e2:.3f}")' "$PORT" "$PROMPT" 2>&1 | tail -1)
  local dir warm
  dir=$(grep -o 'logs in [^ ]*' "$TMP/up.out" | head -1 | cut -d' ' -f3)
  warm=$(grep -ho 'warmed up: .* in [0-9]* ms' "$dir"/*.log 2>/dev/null | grep -o '[0-9]* ms$' | tr -d ' ms' | paste -sd/)
  BATON_SKIP_BUILD=1 timeout 60 bin/baton down >/dev/null 2>&1
  echo "up aot=$1 warmup=$2 ready=$(( (t1 - t0) ))ms $res warmup_ms=${warm:-none}"
}

{
  for ((r = 1; r <= ROUNDS; r++)); do
    generate off; generate on
    up off off; up on off; up off on; up on on
    generate on; generate off
  done
} | tee "$TMP/all.txt"
if pgrep -f "baton.home=$PWD " >/dev/null; then echo "warning: Baton processes of this checkout are still running"; fi
python3 -c '
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(generate aot=\S+|up aot=\S+ warmup=\S+) (.*)", line)
    if not m: continue
    for k, v in re.findall(r"(\w+)=([0-9.]+)(?:ms)?\b", m.group(2)):
        rows.setdefault(m.group(1), {}).setdefault(k, []).append(float(v))
print("medians:")
for key, cols in rows.items():
    print(" ", key, " ".join(f"{k}={statistics.median(v):g}" for k, v in cols.items() if k != "tokens"),
          f"(n={len(next(iter(cols.values())))})")' "$TMP/all.txt"
