#!/usr/bin/env bash
# Medical words benchmark (issue 18): synthesizes a few ACI-Bench visits (train ones to tune on,
# dev ones to report), recognises each once per decoder setting, then scores transcripts with no
# correction, with the built-in lexicon, and with a custom vocabulary made of each split's own
# reference terms (upper bound), by the kit's scorer; bench/vocab_score.py adds the count of
# correct words turned wrong. Audio and transcripts stay under bench/out/vocab (git-ignored).
# Usage: bench/vocab_dev.sh [recognise|score|all=all]; needs festival, flite and sox (asr_dev.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=${VERISCRIBE_KIT:-../shared}
OUT=bench/out/vocab
DEV=${VOCAB_DEV:-D2N068,D2N069,D2N070,D2N071,D2N072,D2N073}
TRAIN=${VOCAB_TRAIN:-D2N001,D2N002,D2N003,D2N004,D2N005,D2N006}
THREADS=${THREADS:-2}
STEP=${1:-all}
mkdir -p "$OUT/audio"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
nice -n 10 cargo build --release -q -p veriscribe-asr --example transcribe_file
nice -n 10 cargo build --release -q -p veriscribe-core --example vocab_eval
BIN=$CARGO_TARGET_DIR/release/examples

for split in dev train; do
  ids=$([ $split = dev ] && echo "$DEV" || echo "$TRAIN")
  data=$KIT/data/aci_bench_$split.jsonl
  missing=$(for id in ${ids//,/ }; do [ -f "$OUT/audio/$id.ref.json" ] || echo -n "$id,"; done)
  [ -z "$missing" ] || python3 "$KIT/bench/synth_dialogue.py" "$data" --ids "${missing%,}" --out "$OUT/audio"
  # the upper-bound vocabulary: the split's own reference terms, one per line, and as a prompt
  python3 bench/vocab_score.py terms --ref "$OUT/audio" --ids "$ids" > "$OUT/vocabulary-$split.txt"
  paste -sd, "$OUT/vocabulary-$split.txt" | sed 's/,/, /g' > "$OUT/prompt-$split.txt"
done

recognise() { # recognise DIR IDS [extra transcribe_file flags...]: one timed transcript per visit
  local dir=$1 ids=$2; shift 2
  mkdir -p "$OUT/$dir"
  for id in ${ids//,/ }; do
    [ -f "$OUT/$dir/$id.transcript.json" ] && continue
    nice -n 5 "$BIN/transcribe_file" "$OUT/audio/$id.wav" "$OUT/$dir/$id.transcript.json" --threads "$THREADS" "$@" \
      2> "$OUT/$dir/$id.log"
  done
}

if [ "$STEP" = recognise ] || [ "$STEP" = all ]; then
  recognise raw "$DEV,$TRAIN"
  # decoder primed with the dev visits' own terms (what --vocabulary does in `veriscribe run`),
  # each visit right after a plain run of it so the two times share the machine's load
  for id in ${DEV//,/ }; do
    rm -f "$OUT/raw2/$id.transcript.json"
    recognise raw2 "$id"
    recognise prompt "$id" --prompt-file "$OUT/prompt-dev.txt"
  done
  for d in raw2 prompt; do
    echo "$d recognition seconds: $(cat "$OUT/$d"/*.log | grep -o 'transcribe [0-9.]* s' | awk '{s+=$2} END {print s}')"
  done
fi
if [ "$STEP" = score ] || [ "$STEP" = all ]; then
  for split in train dev; do
    ids=$([ $split = dev ] && echo "$DEV" || echo "$TRAIN")
    "$BIN/vocab_eval" "$OUT/raw" "$OUT/none" --none --ids "$ids"
    "$BIN/vocab_eval" "$OUT/raw" "$OUT/lexicon" --ids "$ids"
    "$BIN/vocab_eval" "$OUT/raw" "$OUT/vocabulary" --vocabulary "$OUT/vocabulary-$split.txt" --ids "$ids"
    modes="none lexicon vocabulary"
    if [ $split = dev ]; then
      "$BIN/vocab_eval" "$OUT/prompt" "$OUT/prompt-none" --none --ids "$ids"
      "$BIN/vocab_eval" "$OUT/prompt" "$OUT/prompt-vocabulary" --vocabulary "$OUT/vocabulary-$split.txt" --ids "$ids"
      modes="$modes prompt-none prompt-vocabulary"
    fi
    for mode in $modes; do
      echo "== $split, $mode =="
      python3 bench/vocab_score.py score --ref "$OUT/audio" --pred "$OUT/$mode" --base "$OUT/none" --ids "$ids"
    done
  done
fi
