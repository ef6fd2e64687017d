#!/usr/bin/env bash
# Lambda package sizes: each function's release binary (as `bootstrap`, zipped the way
# `sam build`/`cargo lambda build` deploy it) and the Whisper model layer.
# Usage: bash bench/lambda_sizes.sh   (after `bash scripts/setup.sh`; builds in release)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p start-job -p transcribe -p generate-note
MODEL=$(cargo run --release -q -p veriscribe -- model fetch | tail -n 1)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
zipped() { # zipped SIZE of a file stored under the name $2
  python3 - "$1" "$2" "$work/pkg.zip" <<'PY'
import os, sys, zipfile
src, name, out = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(src, name)
print(os.path.getsize(out))
PY
}
mb() { python3 -c "print(f'{$1/1e6:.1f} MB')"; }
echo "| package | binary | stripped | zip (stripped, as deployed) |"
echo "| --- | --- | --- | --- |"
for f in start-job transcribe generate-note; do
  bin="$TARGET/release/$f"
  strip -o "$work/bootstrap" "$bin"
  echo "| $f | $(mb "$(stat -c %s "$bin")") | $(mb "$(stat -c %s "$work/bootstrap")") | $(mb "$(zipped "$work/bootstrap" bootstrap)") |"
done
echo "| WhisperModelLayer (models/$(basename "$MODEL")) | $(mb "$(stat -c %s "$MODEL")") | | $(mb "$(zipped "$MODEL" "models/$(basename "$MODEL")")") |"
