#!/usr/bin/env python3
"""Experiment (issue 18): a fixed Whisper prompt made of the built-in lexicon's terms that the most
ACI-Bench TRAIN visits say (at least two; ties alphabetical), leaving out everyday English words
(SCOWL lower-case entries, train everyday words), multi-word terms, and condition words that are
names (capitalised in SCOWL: "Vincent"). Prints the comma-separated prompt.

Usage: python3 bench/vocab_prompt_terms.py [KIT_DATA_DIR=../shared/data] > bench/out/vocab/prompt-builtin.txt
"""
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "shared/core/data"


def terms_of(name):
    return {
        line.split("\t")[0].strip().lower()
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }


def main():
    kit = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/data")
    terms = set().union(*(terms_of(f) for f in (
        "medications.tsv", "drug_names.tsv", "conditions.txt", "condition_words.txt", "tests.tsv")))
    scowl = [w.strip() for w in open("/usr/share/dict/american-english", encoding="utf-8")]
    everyday = terms_of("common_words.txt") | {w for w in scowl if w.islower()}
    drugs = terms_of("medications.tsv") | terms_of("drug_names.tsv")
    names = {w.lower() for w in scowl if w[:1].isupper()} - drugs
    single = [t for t in terms if " " not in t and t not in everyday | names and len(t) >= 4]
    visits = Counter()
    with open(kit / "aci_bench_train.jsonl", encoding="utf-8") as f:
        for line in f:
            text = " ".join(t["text"].lower() for t in json.loads(line)["turns"])
            text = " " + re.sub(r"[^a-z0-9 ]", " ", text) + " "
            visits.update(t for t in single if f" {t} " in text)
    ranked = sorted(visits.items(), key=lambda item: (-item[1], item[0]))
    print(", ".join(t for t, n in ranked if n >= 2))


if __name__ == "__main__":
    main()
