#!/usr/bin/env python3
"""Speaker attribution of predicted transcripts against the real-voice reference turns.

Attribution = share of reference speech time (10 ms frames inside reference turns, overlaps of two
reference speakers left out) whose predicted segment carries the reference speaker's label under the
best one-to-one mapping of reference speakers to predicted labels (ParticipantRole). Frames with no
predicted segment count as wrong.

Usage: python3 bench/score_speakers.py --ref bench/out/real_voices --pred PRED_DIR [--split heldout]
PRED_DIR holds <id>/transcript.json (as written by `veriscribe run --out PRED_DIR/<id>`).
"""

import argparse
import itertools
import json
import os

FRAME = 0.01


def frames(begin, end):
    return range(int(round(begin / FRAME)), int(round(end / FRAME)))


def score(ref, pred):
    owner = {}
    for turn in ref["turns"]:
        for f in frames(turn["begin"], turn["end"]):
            owner[f] = None if f in owner else turn["speaker"]  # overlap: nobody
    owner = {f: s for f, s in owner.items() if s is not None}
    label = {}
    for seg in pred.get("Conversation", pred).get("TranscriptSegments") or []:
        role = (seg.get("ParticipantDetails") or {}).get("ParticipantRole") or "?"
        for f in frames(float(seg["BeginAudioTime"]), float(seg["EndAudioTime"])):
            label.setdefault(f, role)
    counts = {}
    for f, speaker in owner.items():
        key = (speaker, label.get(f))
        counts[key] = counts.get(key, 0) + 1
    refs = sorted(set(owner.values()))
    labels = sorted({lab for lab in label.values()})
    best = 0
    # Best one-to-one mapping (at most a handful of speakers, so all permutations).
    slots = labels + [None] * len(refs)
    for perm in itertools.permutations(slots, len(refs)):
        if any(p is not None and perm.count(p) > 1 for p in perm):
            continue
        matched = sum(counts.get((r, p), 0) for r, p in zip(refs, perm) if p is not None)
        best = max(best, matched)
    return best / max(1, len(owner)), len(labels), len(refs), len(owner) * FRAME


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", required=True)
    parser.add_argument("--pred", required=True)
    parser.add_argument("--split", default=None, help="calib or heldout (default: all)")
    args = parser.parse_args()
    rows = []
    for name in sorted(os.listdir(args.ref)):
        if not name.endswith(".ref.json"):
            continue
        ref = json.load(open(os.path.join(args.ref, name), encoding="utf-8"))
        if args.split and ref["split"] != args.split:
            continue
        path = os.path.join(args.pred, ref["id"], "transcript.json")
        if not os.path.isfile(path):
            print(f"{ref['id']:32s} missing prediction")
            continue
        attribution, found, truth, seconds = score(ref, json.load(open(path, encoding="utf-8")))
        rows.append((ref, attribution, found, truth, seconds))
        print(f"{ref['id']:32s} {ref['split']:8s} attribution {attribution:.3f}  "
              f"speakers {found}/{truth}  speech {seconds:5.1f} s")

    def pooled(select):
        chosen = [r for r in rows if select(r[0])]
        total = sum(r[4] for r in chosen)
        return (sum(r[1] * r[4] for r in chosen) / total if total else float("nan")), len(chosen)

    for title, select in (("all", lambda r: True),
                          ("same-sex pairs", lambda r: r["id"][:3] in ("mm_", "ff_")),
                          ("quick calls", lambda r: r["kind"] == "quick"),
                          ("three voices", lambda r: r["id"].startswith("three_"))):
        value, n = pooled(select)
        print(f"pooled {title:15s} {value:.3f} ({n} files)")
    singles = [r for r in rows if r[0]["kind"] == "single"]
    print(f"single speaker kept as one: {sum(1 for r in singles if r[2] == 1)}/{len(singles)}")
    threes = [r for r in rows if r[0]["id"].startswith("three_")]
    print(f"three voices found: {sum(1 for r in threes if r[2] == 3)}/{len(threes)}")


if __name__ == "__main__":
    main()
