#!/usr/bin/env bash
# The whole test suite. Installs what the tests need (Debian's prometheus 2.42 with promtool,
# prometheus-node-exporter, prometheus-alertmanager 0.25 with amtool; a Python venv with
# prometheus_client, the OpenTelemetry SDK, aiosmtpd, and pandas with pyarrow for Parquet files), then runs format and lint checks, unit,
# integration and end-to-end tests.
#
# Usage: bash scripts/test.sh          (README.md names this as the one test command)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# One target dir per checkout, outside it, so that repeated runs of one checkout are incremental.
# Not one for all checkouts: cargo judges a workspace crate fresh by file times, so a checkout
# whose files are older than another checkout's last build would test that build, not its own.
key=$(printf %s "$root" | cksum | cut -d' ' -f1)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vigil-target/$key}"
# CI builds each commit once: incremental caches only grow the shared target dir.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Cargo never removes artifacts of older dependency versions or older commits, so a target
# dir reused across many CI runs grows without bound. Start it afresh past a size limit.
limit_gib="${VIGIL_TARGET_LIMIT_GIB:-12}"
if [ -d "$CARGO_TARGET_DIR" ]; then
  used_kib=$(du -sk "$CARGO_TARGET_DIR" 2>/dev/null | cut -f1)
  if [ "${used_kib:-0}" -gt $((limit_gib * 1024 * 1024)) ]; then
    echo "== target dir $CARGO_TARGET_DIR holds $((used_kib / 1024 / 1024)) GiB (limit ${limit_gib}): removing it"
    rm -rf "$CARGO_TARGET_DIR"
  fi
fi
avail_kib=$(df -Pk "$(dirname "$CARGO_TARGET_DIR")" 2>/dev/null | awk 'NR == 2 { print $4 }')
if [ -n "${avail_kib:-}" ] && [ "$avail_kib" -lt $((6 * 1024 * 1024)) ]; then
  echo "warning: only $((avail_kib / 1024)) MiB free for the build; it needs about 6 GiB" >&2
fi
export VIGIL_TESTDATA="${VIGIL_TESTDATA:-$root/../shared/testdata}"
export VIGIL_FIXTURES="${VIGIL_FIXTURES:-$root/../shared/fixtures}"
# Peer tests fail, rather than skip, when a peer is missing: this script installs them all.
export VIGIL_REQUIRE_PEERS=1

echo "== peers: Debian packages"
need=()
[ -x /usr/bin/prometheus ] || need+=(prometheus)
[ -x /usr/bin/prometheus-node-exporter ] || need+=(prometheus-node-exporter)
[ -x /usr/bin/prometheus-alertmanager ] && [ -x /usr/bin/amtool ] || need+=(prometheus-alertmanager)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
/usr/bin/prometheus --version 2>&1 | head -1
/usr/bin/prometheus-node-exporter --version 2>&1 | head -1
/usr/bin/prometheus-alertmanager --version 2>&1 | head -1
/usr/bin/promtool --version 2>&1 | head -1

echo "== peers: Python venv"
venv="${VIGIL_VENV:-$HOME/.cache/vigil-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import prometheus_client, opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, opentelemetry.exporter.otlp.proto.grpc, aiosmtpd, pandas, pyarrow' 2>/dev/null || \
  "$venv/bin/pip" install -q prometheus_client opentelemetry-sdk opentelemetry-exporter-otlp-proto-http opentelemetry-exporter-otlp-proto-grpc aiosmtpd pandas pyarrow
export VIGIL_PYTHON="$venv/bin/python"
"$VIGIL_PYTHON" -c 'import importlib.metadata as m; print("prometheus_client", m.version("prometheus_client"), "opentelemetry-sdk", m.version("opentelemetry-sdk"), "aiosmtpd", m.version("aiosmtpd"))'

echo "== format"
cargo fmt --all --check
echo "== clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== build benches and fuzz-free targets"
cargo build --workspace --benches --quiet
echo "== tests"
cargo test --workspace --no-fail-fast 2>&1 | tee "${TMPDIR:-/tmp}/vigil-cargo-test.log"

# One closing line over every test binary: "N passed, N failed, N skipped".
log="${TMPDIR:-/tmp}/vigil-cargo-test.log"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^skipped: / { s++ }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
