#!/usr/bin/env bash
# The whole local job on a fresh machine: installs prerequisites, builds the CLI, synthesizes a
# sample visit recording, fetches the speech model on first use, and runs the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The dev profile compiles whisper.cpp and every dependency optimised (see Cargo.toml), shares its
# build with the tests, and builds in a fraction of the release profile's time.
cargo build -p veriscribe
bin=target/debug/veriscribe
bash scripts/make-sample-audio.sh samples/visit.txt target/sample/visit.wav
rm -rf out/demo
"$bin" run target/sample/visit.wav --out out/demo "$@"
echo
echo "The note, decrypted (each sentence with the transcript segments it cites):"
"$bin" decrypt out/demo/summary.json.encrypted | python3 -c '
import json, sys
for section in json.load(sys.stdin)["ClinicalDocumentation"]["Sections"]:
    print(section["SectionName"])
    for sentence in section["Summary"]:
        ids = ", ".join(link["SegmentId"][:8] for link in sentence["EvidenceLinks"])
        print("  - " + sentence["SummarizedSegment"] + "  [" + ids + "]")
'
