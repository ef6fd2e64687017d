#!/usr/bin/env python3
"""Makes the benchmark's long visit recordings: 1, 5, 15 and 30 minutes of two-voice speech.

The ACI-Bench dev dialogues are joined in file order into one long conversation (turns renumbered),
synthesized once by the team kit's `synth_dialogue.py` (festival + flite, deterministic), and the
shorter files are the first N minutes of the long one, cut after the last whole turn. Each file gets
the kit's `<id>.ref.json` so `score_transcript.py` can score it. Standard library only.

    python3 bench/make_visits.py --kit ../shared/bench --data ../shared/data/aci_bench_dev.jsonl --out bench/out/visits
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import wave

LENGTHS_MIN = (1, 5, 15, 30)
TAIL_S = 0.3


def joined_dialogue(path: str, name: str) -> dict:
    turns, names = [], {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            dialogue = json.loads(line)
            meta = dialogue.get("metadata") or {}
            for key in ("patient_firstname", "patient_familyname"):
                if meta.get(key):
                    names.setdefault(key, meta[key])
            for turn in dialogue["turns"]:
                turns.append({"turn_id": len(turns), "speaker": turn["speaker"], "text": turn["text"]})
    return {"id": name, "source": "aci-bench (dev dialogues joined)", "subset": "joined", "metadata": names, "turns": turns}


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cut(long_ref: dict, out_dir: str, minutes: int) -> None:
    """Writes the first `minutes` of the long visit, ending after the last whole turn."""
    name = f"visit{minutes:02d}m"
    limit = minutes * 60.0 - TAIL_S
    turns = [turn for turn in long_ref["turns"] if turn["end"] <= limit]
    end_s = turns[-1]["end"] + TAIL_S
    with wave.open(os.path.join(out_dir, long_ref["audio"]["file"]), "rb") as source:
        params = source.getparams()
        frames = source.readframes(int(round(end_s * params.framerate)))
    wav_path = os.path.join(out_dir, f"{name}.wav")
    with wave.open(wav_path, "wb") as target:
        target.setparams(params)
        target.writeframes(frames)
    samples = len(frames) // (params.sampwidth * params.nchannels)
    ref = copy.deepcopy(long_ref)
    ref.pop("stereo_audio", None)
    ref.update(id=name, turns=turns, turns_spoken=len(turns), truncated=True, max_seconds=minutes * 60.0)
    ref["audio"].update(file=f"{name}.wav", num_samples=samples,
                        duration_s=round(samples / params.framerate, 4), sha256=sha256(wav_path))
    with open(os.path.join(out_dir, f"{name}.ref.json"), "w", encoding="utf-8") as fh:
        json.dump(ref, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kit", default="../shared/bench", help="team kit folder with synth_dialogue.py")
    parser.add_argument("--data", default="../shared/data/aci_bench_dev.jsonl")
    parser.add_argument("--out", default="bench/out/visits")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    longest = max(LENGTHS_MIN)
    source_name = "joined_dev"
    ref_path = os.path.join(args.out, f"{source_name}.ref.json")
    if not os.path.exists(ref_path):
        jsonl = os.path.join(args.out, f"{source_name}.jsonl")
        with open(jsonl, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(joined_dialogue(args.data, source_name)) + "\n")
        subprocess.run([sys.executable, os.path.join(args.kit, "synth_dialogue.py"), jsonl,
                        "--max-seconds", str(longest * 60), "--out", args.out], check=True)
    with open(ref_path, encoding="utf-8") as fh:
        long_ref = json.load(fh)
    for minutes in LENGTHS_MIN:
        cut(long_ref, args.out, minutes)
        print(f"{args.out}/visit{minutes:02d}m.wav")
    os.remove(os.path.join(args.out, long_ref["audio"]["file"]))  # the 30-minute cut is the same audio
    os.remove(ref_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
