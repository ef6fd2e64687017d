#!/usr/bin/env bash
# Runs every test on a fresh machine: installs prerequisites, fetches the speech model (tests use
# the real model, nothing is skipped), then the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all --check
cargo run -q -p veriscribe -- model fetch
cargo test --workspace --all-targets
