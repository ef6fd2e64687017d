#!/usr/bin/env python3
"""Medical-words scoring on top of the team kit's scorer (../shared/bench/score_transcript.py).

  vocab_score.py terms --ref AUDIO_DIR --ids A,B       the visits' own reference term phrases,
                                                       one per line (the upper-bound vocabulary)
  vocab_score.py score --ref AUDIO_DIR --pred DIR --base DIR --ids A,B
      pooled WER and medical-term WER (the kit's definitions), and against the uncorrected
      transcripts in --base: reference words right there and wrong here (correct -> wrong) and
      the reverse (wrong -> right), as counts and % of reference words.

Prints numbers only, never transcript text.
"""
import argparse
import json
import os
import sys

KIT = os.environ.get("VERISCRIBE_KIT", os.path.join(os.path.dirname(__file__), "../../shared"))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(KIT, "bench"))
import score_transcript as st  # noqa: E402


def load_ref(ref_dir, rid):
    with open(os.path.join(ref_dir, rid + ".ref.json"), encoding="utf-8") as fh:
        return json.load(fh)


def hyp_words(pred_dir, rid):
    doc = st.load_prediction(pred_dir, rid)
    segs, items = st.parse_prediction(doc) if doc else ([], [])
    return st.normalise_words(st.hypothesis_text(segs, items))


def terms(args):
    vocabulary = st.load_terms()
    found = set()
    for rid in args.ids.split(","):
        words = [w for w, _, _ in st.reference_words(load_ref(args.ref, rid))]
        by_first = {}
        for t in vocabulary:
            by_first.setdefault(t[0], []).append(t)
        for i, w in enumerate(words):
            for t in by_first.get(w, ()):
                if tuple(words[i:i + len(t)]) == t:
                    found.add(" ".join(t))
                    break
    for phrase in sorted(found):
        print(phrase)


def score(args):
    vocabulary = st.load_terms()
    results = []
    to_wrong = to_right = 0
    for rid in args.ids.split(","):
        ref = load_ref(args.ref, rid)
        results.append(st.score_one(ref, st.load_prediction(args.pred, rid), vocabulary, 0.0))
        ref_words = [w for w, _, _ in st.reference_words(ref)]
        _, _, _, now = st.align(ref_words, hyp_words(args.pred, rid))
        _, _, _, before = st.align(ref_words, hyp_words(args.base, rid))
        to_wrong += sum(1 for b, n in zip(before, now) if b and not n)
        to_right += sum(1 for b, n in zip(before, now) if n and not b)
    pooled = st.pool(results)
    n = pooled["ref_words"]
    print(f"visits={len(results)} words={n} term_words={pooled['med_words']} "
          f"WER={100 * pooled['wer']:.2f}% medWER={100 * pooled['med_wer']:.2f}% "
          f"({pooled['med_errors']}/{pooled['med_words']}) "
          f"correct->wrong={to_wrong} ({100 * to_wrong / n:.3f}%) wrong->right={to_right}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["terms", "score"])
    ap.add_argument("--ref", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--pred")
    ap.add_argument("--base")
    args = ap.parse_args()
    terms(args) if args.command == "terms" else score(args)


if __name__ == "__main__":
    main()
