#!/usr/bin/env bash
# Speech benchmark on the team's dev dialogues: synthesizes two-voice visits with the kit in
# ../shared/bench, runs `veriscribe run` on each (mono, and stereo with channel identification),
# and scores WER, medical-term WER, role accuracy and timing with the kit's scorer.
# Usage: bench/asr_dev.sh [N_DIALOGUES=3] ; needs festival, flite and sox (installed below).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
KIT=${VERISCRIBE_KIT:-../shared}
OUT=bench/out
mkdir -p "$OUT"
bash scripts/setup.sh
for p in festival festvox-us-slt-hts flite sox; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || NEED="${NEED:-} $p"
done
[ -z "${NEED:-}" ] || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $NEED >/dev/null; }
# VERISCRIBE_BIN lets a run reuse an existing build (e.g. target/debug/veriscribe, whose
# whisper.cpp is built optimised too).
BIN=${VERISCRIBE_BIN:-target/release/veriscribe}
[ -n "${VERISCRIBE_BIN:-}" ] || cargo build --release -q -p veriscribe
ids=$(python3 -c "import json,sys; print(','.join(json.loads(l)['id'] for l in list(open('$KIT/data/aci_bench_dev.jsonl'))[:$N]))")
[ -f "$OUT/audio/.done-$ids" ] || {
  python3 "$KIT/bench/synth_dialogue.py" "$KIT/data/aci_bench_dev.jsonl" --ids "$ids" --stereo --out "$OUT/audio"
  touch "$OUT/audio/.done-$ids"
}
export VERISCRIBE_DB="$OUT/jobs.sqlite3" VERISCRIBE_KEY_FILE="$OUT/bench.key"
rm -rf "$OUT/pred-mono" "$OUT/pred-stereo"; mkdir -p "$OUT/pred-mono" "$OUT/pred-stereo"
total_audio=0; total_rec=0
for id in ${ids//,/ }; do
  $BIN run "$OUT/audio/$id.wav" --out "$OUT/pred-mono/$id" --quiet | tee "$OUT/pred-mono/$id.log" | grep -E "audio|note"
  $BIN run "$OUT/audio/$id.stereo.wav" --out "$OUT/pred-stereo/$id" --channel-identification --quiet > "$OUT/pred-stereo/$id.log"
done
echo "== mono (speaker labels) =="
python3 "$KIT/bench/score_transcript.py" --ref "$OUT/audio" --pred "$OUT/pred-mono" | tail -n 1
echo "== stereo (channel identification) =="
python3 "$KIT/bench/score_transcript.py" --ref "$OUT/audio" --pred "$OUT/pred-stereo" | tail -n 1
