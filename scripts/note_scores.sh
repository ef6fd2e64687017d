#!/usr/bin/env bash
# Notes for ACI-Bench train and dev, scored by the kit: ROUGE, clinician style, evidence.
#   scripts/note_scores.sh [OUT_DIR]        (default bench/out/note_scores)
# Needs ../shared (the team kit) next to the repository. Builds only veriscribe-core.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=${KIT:-../shared}
OUT=${1:-bench/out/note_scores}
mkdir -p "$OUT"
nice -n 10 cargo build --release -q -p veriscribe-core --example note_eval
for split in train dev; do
  run="$OUT/$split"
  rm -rf "$run"
  nice -n 10 target/release/examples/note_eval "$KIT/data/aci_bench_$split.jsonl" "$run" HISTORY_AND_PHYSICAL pipeline >/dev/null
  python3 - "$KIT" "$split" "$run" <<'EOF'
import json, subprocess, sys
kit, split, run = sys.argv[1:]
ref = f"{kit}/data/aci_bench_{split}.jsonl"
r = json.loads(subprocess.check_output(["python3", f"{kit}/bench/score_notes.py", "--reference", ref, "--predictions", f"{run}/preds.jsonl"]))
f = r["full_note"]
s = json.loads(subprocess.check_output(["python3", f"{kit}/bench/score_note_style.py", f"{run}/preds.jsonl", "--json"]))
e = subprocess.check_output(["python3", f"{kit}/bench/score_evidence.py", "--pairs", run]).decode().strip().splitlines()[-1]
rates = s["rates"]
print(f"{split}: notes={s['notes']} missing={len(r.get('missing_ids', []))} ROUGE-1/2/Lsum={f['rouge1']:.2f}/{f['rouge2']:.2f}/{f['rougeLsum']:.2f} "
      f"style={s['clinician_style']} first={rates['first_person']*100:.2f}% second={rates['second_person']*100:.2f}% "
      f"questions={rates['questions']*100:.2f}% fillers={rates['fillers']*100:.2f}% fragments={rates['fragments']*100:.2f}% "
      f"duplicates={rates['duplicates']*100:.2f}% contradictions={rates['contradictions']*100:.2f}%")
print(f"{split}: evidence {e}")
EOF
done
