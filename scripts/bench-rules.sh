#!/usr/bin/env bash
# Rule-evaluation benchmark (issue 4's target): 10,000 alerting rules in 500 groups (15 s
# interval) over the bench harness's 100k-series ML workload, in a release `vigil serve` with
# the embedded TSDB and Alertmanager. Prints rule evaluations, missed iterations and the
# server's CPU seconds per 15 s interval, measured over three intervals.
#
# Usage: bash scripts/bench-rules.sh   (after `cargo build --release -p vigil-server`)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
vigil="${VIGIL_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/vigil}"
[ -x "$vigil" ] || { echo "build first: cargo build --release -p vigil-server ($vigil missing)" >&2; exit 1; }
lg_target="${LOADGEN_TARGET_DIR:-${TMPDIR:-/tmp}/vigil-bench-loadgen-target}"
(cd "$root/../shared/bench/loadgen" && CARGO_TARGET_DIR="$lg_target" cargo build --release --quiet)
loadgen="$lg_target/release/loadgen"

run=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
mkdir -p "$run/rules"
printf 'global:\n  evaluation_interval: 15s\nrule_files:\n  - %s/rules/*.yml\n' "$run" > "$run/vigil.yml"
"$vigil" serve --config "$run/vigil.yml" --listen "127.0.0.1:$port" --otlp-grpc-listen '' \
  --otlp-http-listen '' --data-dir "$run/data" > "$run/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -rf "$run"' EXIT
for _ in $(seq 50); do curl -sf "$base/-/ready" > /dev/null && break; sleep 0.2; done

end_ms=$(( ($(date +%s) / 60 - 2) * 60000 ))
"$loadgen" --url "$base/api/v1/write" --series 100000 --samples 90 --interval 10 --batch 2000 \
  --concurrency 4 --seed 42 --end-ms "$end_ms" > /dev/null 2>&1

# 500 groups, one per model in turn; 20 rules each: threshold filters on the model's accuracy
# gauges and error-rate aggregations over its counters, with a templated annotation.
python3 - "$base" "$run/rules/bench.rules.yml" <<'PY'
import json, sys, urllib.parse, urllib.request
base, out = sys.argv[1], sys.argv[2]
q = urllib.parse.urlencode({"query": "count by (model_name) (ml_model_accuracy)"})
models = sorted(r["metric"]["model_name"] for r in
                json.load(urllib.request.urlopen(f"{base}/api/v1/query?{q}"))["data"]["result"])
lines = ["groups:"]
for g in range(500):
    m = models[g % len(models)]
    lines.append(f"  - name: g{g:03d}\n    interval: 15s\n    rules:")
    for r in range(20):
        if r % 2 == 0:
            expr = f'ml_model_accuracy{{model_name="{m}"}} < {0.80 + 0.001 * r:.3f}'
        else:
            expr = (f'sum by (model_name, model_version) (rate(ml_model_predictions_total'
                    f'{{model_name="{m}", status="error"}}[5m])) > {0.5 + r * 0.1:.2f}')
        lines.append(f"      - alert: A{r:02d}\n        expr: '{expr}'\n        for: 1m\n"
                     f"        labels:\n          severity: warning\n        annotations:\n"
                     f"          summary: '{{{{ $labels.model_name }}}} at {{{{ $value | humanize }}}}'")
open(out, "w").write("\n".join(lines) + "\n")
PY
curl -sf -XPOST "$base/-/reload" > /dev/null

cpu() { awk '{ print ($14 + $15) / 100 }' "/proc/$pid/stat"; }
sleep 20
c0=$(cpu); t0=$(date +%s.%N); curl -s "$base/metrics" > "$run/m0"
sleep 45
c1=$(cpu); t1=$(date +%s.%N); curl -s "$base/metrics" > "$run/m1"
alerts=$(curl -s "$base/api/v1/query?query=count(ALERTS)" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
python3 - "$run/m0" "$run/m1" "$c0" "$c1" "$t0" "$t1" "$alerts" <<'PY'
import re, sys
f0, f1, c0, c1, t0, t1, alerts = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
def total(f, name):
    return sum(float(m.group(2)) for line in open(f)
               if (m := re.match(rf"{name}(\{{[^}}]*\}})? (\S+)$", line.strip())))
d = lambda n: total(f1, n) - total(f0, n)
wall = t1 - t0
per = 15 / wall
print(f"rules loaded: {total(f1, 'vigil_rule_group_rules'):.0f} in 500 groups; firing alerts: {alerts:.0f}")
print(f"over {wall:.1f} s: {d('vigil_rule_evaluations_total'):.0f} rule evaluations, "
      f"{d('vigil_rule_group_duration_seconds_count'):.0f} group evaluations, "
      f"{d('vigil_rule_group_iterations_missed_total'):.0f} missed, "
      f"{d('vigil_rule_evaluation_failures_total'):.0f} failed")
print(f"per 15 s interval: group evaluation time summed {d('vigil_rule_group_duration_seconds_sum') * per:.2f} s, "
      f"server CPU {(c1 - c0) * per:.2f} s (of 30 on 2 cores)")
PY
