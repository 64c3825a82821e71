#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then lint + unit + integration + end-to-end.
# Usage: bash scripts/test.sh        (README.md names this as the one test command)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vigil-target}"
export VIGIL_TESTDATA="${VIGIL_TESTDATA:-$PWD/../shared/testdata}"

echo "== format"
cargo fmt --all --check
echo "== clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== tests"
cargo test --workspace 2>&1 | tee /tmp/vigil-cargo-test.log
