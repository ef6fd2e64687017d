#!/usr/bin/env bash
# The whole local job on a fresh machine: installs prerequisites, builds the CLI, synthesizes a
# sample visit recording, fetches the speech model on first use, and runs the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p veriscribe
bash scripts/make-sample-audio.sh samples/visit.txt target/sample/visit.wav
./target/release/veriscribe run target/sample/visit.wav --out out/demo "$@"
echo
echo "The note, decrypted (first lines):"
./target/release/veriscribe decrypt out/demo/summary.json.encrypted | head -n 25
