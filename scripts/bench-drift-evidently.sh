#!/usr/bin/env bash
# Same-run comparison of `vigil ml drift` with Evidently 0.7.23's DataDriftPreset and with scipy,
# on the dataset of `cargo bench -p vigil-ml --bench drift` (100k x 100k rows, 20 numerical and
# 5 categorical columns) written to Parquet. See docs/benchmarks.md for figures.
#
# Usage (from the project root):
#   cargo build --release -p vigil-server
#   VIGIL_BIN=target/release/vigil bash scripts/bench-drift-evidently.sh
#
# Environment:
#   VIGIL_BIN              the vigil binary [default: $CARGO_TARGET_DIR/release/vigil, else target/release/vigil]
#   VIGIL_EVIDENTLY_VENV   Python venv for Evidently, created and filled if needed
#                          [default: ~/.cache/vigil-evidently-venv]. Evidently 0.7.23 imports a
#                          pandas internal that pandas 3 removed, so it gets its own venv with the
#                          versions the drift fixtures were made with (pandas 2.3.3, numpy 2.4.6,
#                          scipy 1.17.1) rather than VIGIL_VENV, whose pandas the tests keep at 3.
#   REPS                   rounds; medians reported [default: 3]
#   VIGIL_REPS             runs of vigil per round [default: 5]
#   KEEP                   set to keep the temporary folder (data and per-run JSON)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
bin="${VIGIL_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/vigil}"
venv="${VIGIL_EVIDENTLY_VENV:-$HOME/.cache/vigil-evidently-venv}"
reps="${REPS:-3}"
vigil_reps="${VIGIL_REPS:-5}"

if [ ! -x "$bin" ]; then
  echo "no vigil binary at $bin: run cargo build --release -p vigil-server, or set VIGIL_BIN" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" -c 'import evidently, pandas, pyarrow, scipy, sys; sys.exit(evidently.__version__ != "0.7.23")' 2>/dev/null; then
  echo "== installing evidently 0.7.23, pandas 2.3.3, scipy 1.17.1, pyarrow into $venv"
  "$venv/bin/pip" install -q "evidently==0.7.23" "pandas==2.3.3" "numpy==2.4.6" "scipy==1.17.1" pyarrow
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/vigil-drift-bench.XXXXXX")"
if [ -z "${KEEP:-}" ]; then
  trap 'rm -rf "$dir"' EXIT
else
  echo "keeping $dir"
fi

bench="$here/bench_drift_evidently.py"
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $("$bin" --version)"
"$py" -c 'import importlib.metadata as m; print("== python:", *(f"{p} {m.version(p)}" for p in ("evidently", "pandas", "numpy", "scipy", "pyarrow")))'
echo "== generating the dataset (crates/ml/benches/drift.rs's generator and seed) in $dir"
"$py" "$bench" generate "$dir"

# Each round runs Vigil VIGIL_REPS times (a one-shot process of ~0.15 s is at the mercy of the
# first touch of fresh memory on a VM: its system time varies tenfold between runs), then
# Evidently and scipy once each.
for i in $(seq 0 $((reps - 1))); do
  echo "== round $((i + 1)) of $reps"
  for k in $(seq 0 $((vigil_reps - 1))); do
    "$py" "$bench" measure "$dir/vigil-$i-$k.json" -- \
      "$bin" ml drift --reference "$dir/ref.parquet" --current "$dir/cur.parquet" --json
    # The same command testing one small column: about the cost of reading both files.
    "$py" "$bench" measure "$dir/vigil-read-$i-$k.json" -- \
      "$bin" ml drift --reference "$dir/ref.parquet" --current "$dir/cur.parquet" --json --columns cat_1
  done
  "$py" "$bench" evidently "$dir" "$dir/evidently-$i.json"
  "$py" "$bench" scipy "$dir" "$dir/scipy-$i.json"
done
echo
"$py" "$bench" report "$dir"
