#!/usr/bin/env bash
# Prediction-event ingest benchmark (issue 5's target: ≥ 200k events/s with 10 features each on
# 2 cores). A release `vigil serve` with its defaults (the ML WAL fsynced before every answer)
# receives pre-generated JSON-lines bodies of 10,000 events (8 numerical and 2 categorical
# features, a class and a score, ids for label joins, 20 models) over HTTP from parallel curl
# processes, so the client costs almost nothing. Prints events/s over the whole run, the
# server's CPU seconds, and its peak RSS.
#
# Usage: bash scripts/bench-ml-ingest.sh   (after `cargo build --release -p vigil-server`)
#   EVENTS=2000000 CONCURRENCY=4 GZIP=1 bash scripts/bench-ml-ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
vigil="${VIGIL_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/vigil}"
[ -x "$vigil" ] || { echo "build first: cargo build --release -p vigil-server ($vigil missing)" >&2; exit 1; }
events="${EVENTS:-1000000}"
concurrency="${CONCURRENCY:-4}"
per_body=10000
gzip_bodies="${GZIP:-0}"

run=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$run"' EXIT

echo "== generating $events events in bodies of $per_body"
python3 - "$run/bodies" "$events" "$per_body" "$gzip_bodies" <<'PY'
import gzip, json, os, random, sys, time
out, n, per, gz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
os.makedirs(out)
rng = random.Random(42)
now = time.time()
countries = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "PL"]
channels = ["web", "app", "pos", "phone"]
for b in range(0, n, per):
    lines = []
    for i in range(b, min(n, b + per)):
        f = {f"x{k}": round(rng.gauss(k, 1 + k), 4) for k in range(8)}
        f["country"] = countries[i % len(countries)]
        f["channel"] = channels[(i // 7) % len(channels)]
        lines.append(json.dumps({
            "model": f"model-{i % 20}", "version": "v1", "id": f"e{i}",
            "timestamp": round(now - 60 + 60 * i / n, 3), "features": f,
            "prediction": i % 2, "score": round(rng.random(), 4)}, separators=(",", ":")))
    data = ("\n".join(lines) + "\n").encode()
    name = os.path.join(out, f"{b // per:05d}.json" + (".gz" if gz else ""))
    with open(name, "wb") as fh:
        fh.write(gzip.compress(data, 1) if gz else data)
PY
du -sh "$run/bodies" | sed 's/^/bodies: /'

"$vigil" serve --listen "127.0.0.1:$port" --otlp-grpc-listen '' --otlp-http-listen '' \
  --data-dir "$run/data" > "$run/server.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "$base/-/ready" > /dev/null && break; sleep 0.2; done

cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
tck=$(getconf CLK_TCK)
cpu0=$(cpu)
t0=$(date +%s.%N)
enc=()
[ "$gzip_bodies" = 1 ] && enc=(-H 'Content-Encoding: gzip')
ls "$run"/bodies/* | xargs -P "$concurrency" -I{} \
  curl -sf -o /dev/null "${enc[@]}" --data-binary @{} "$base/api/v1/ml/predictions"
t1=$(date +%s.%N)
cpu1=$(cpu)
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
accepted=$(curl -sf "$base/metrics" | awk '/^vigil_ml_events_total\{api="predictions",outcome="accepted"\}/ { print $2 }')
python3 - "$events" "${accepted:-0}" "$t0" "$t1" "$cpu0" "$cpu1" "$tck" "$rss" "$concurrency" "$gzip_bodies" <<'PY'
import sys
n, acc, t0, t1, c0, c1, tck, rss, conc, gz = sys.argv[1:]
wall = float(t1) - float(t0)
cpu = (float(c1) - float(c0)) / float(tck)
print(f"events sent {int(n):,}, accepted {int(float(acc)):,}")
print(f"wall {wall:.2f} s -> {int(n) / wall:,.0f} events/s ({conc} concurrent requests, gzip={gz})")
print(f"server CPU {cpu:.2f} s ({int(n) / cpu:,.0f} events per CPU-second); peak RSS {int(rss) / 1024:.0f} MiB")
PY
