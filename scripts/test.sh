#!/usr/bin/env bash
# Runs every test on a fresh machine: installs prerequisites, fetches the speech model (tests use
# the real model, nothing is skipped), checks the SAM template, starts the moto AWS emulator on
# 127.0.0.1 for the S3/DynamoDB/SQS/KMS integration tests, then runs the workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

VENV=${VERISCRIBE_TEST_VENV:-.venv-test}
if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/cfn-lint" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'moto[server]==5.2.5' 'cfn-lint==1.58.0' 'aws-sam-translator==1.115.0'
fi
PYTHON="$VENV/bin/python" bash scripts/check-template.sh

MOTO_PORT=${MOTO_PORT:-5000}
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" > "$VENV/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" 2>/dev/null && break
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/" || { cat "$VENV/moto.log"; exit 1; }
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test VERISCRIBE_TEST_MOTO=1

# The review page's browser tests: Debian's Chromium (from setup.sh), playwright-core and axe-core
# pinned by tests/browser/package-lock.json. With VERISCRIBE_TEST_BROWSER=1 they fail, not skip,
# when any of it is missing.
(cd tests/browser && npm ci --no-audit --no-fund --silent)
export VERISCRIBE_TEST_BROWSER=1

cargo fmt --all --check
cargo run -q -p veriscribe -- model fetch
# whisper.cpp was compiled with the CPU features Lambda runs (AVX2, FMA, F16C; no AVX-512).
cargo test --workspace --all-targets --no-run
bash scripts/check-cpu-features.sh
cargo test --workspace --all-targets
