#!/usr/bin/env python3
"""Trains the learned note router (shared/core/data/note_router.tsv) on the ACI-Bench TRAIN visits.

    python3 -m venv .venv-notes && .venv-notes/bin/pip install scikit-learn==1.5.2 numpy
    cargo run --release -p veriscribe-core --example note_sentences -- ../shared/data/aci_bench_train.jsonl bench/out/router/train.jsonl
    cargo run --release -p veriscribe-core --example note_sentences -- ../shared/data/aci_bench_dev.jsonl bench/out/router/dev.jsonl
    .venv-notes/bin/python scripts/train_note_router.py ../shared/data bench/out/router [--write]
        [--folds DIR [--notes]]   (out-of-fold routers; --notes also writes and scores the
                                   train notes with them: needs the release note_eval example)

Labels come from a lexical alignment: each transcript sentence (as the Rust note cuts it, with the
features the Rust code extracts) is compared with every sentence of the visit's reference note; the
sentence takes the note section (HPI, ROS, PMH, FAMILY, SOCIAL, EXAM, RESULTS, AP) of the reference
sentence that holds the largest idf-weighted share of its content words, if that share is at least
ALIGN_MIN and at least two content words are shared; otherwise NONE (the note does not use it).

Model: multinomial logistic regression (scikit-learn, lbfgs, L2, class weights the square root of
'balanced'), C chosen by 3-fold cross-validation
grouped by visit on train only. Dev is only scored, never used for fitting or choosing. The weights
(features seen in at least MIN_COUNT training visits) are written as TSV: `classes`, `bias`, then
one line per feature. Deterministic: same inputs, same file.
"""
import collections
import os
import json
import math
import re
import sys

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ALIGN_MIN = 0.4
MIN_COUNT = 2
CLASSES = ["NONE", "HPI", "ROS", "PMH", "FAMILY", "SOCIAL", "EXAM", "RESULTS", "AP"]
HEADERS = {
    "CHIEF COMPLAINT": "HPI", "CC": "HPI", "HISTORY OF PRESENT ILLNESS": "HPI", "HPI": "HPI",
    "REVIEW OF SYSTEMS": "ROS",
    "MEDICAL HISTORY": "PMH", "PAST HISTORY": "PMH", "PAST MEDICAL HISTORY": "PMH", "SURGICAL HISTORY": "PMH",
    "MEDICATIONS": "PMH", "CURRENT MEDICATIONS": "PMH", "ALLERGIES": "PMH",
    "FAMILY HISTORY": "FAMILY", "SOCIAL HISTORY": "SOCIAL",
    "PHYSICAL EXAM": "EXAM", "PHYSICAL EXAMINATION": "EXAM", "EXAM": "EXAM", "VITALS": "EXAM",
    "VITALS REVIEWED": "EXAM",
    "RESULTS": "RESULTS",
    "ASSESSMENT AND PLAN": "AP", "ASSESSMENT": "AP", "PLAN": "AP", "INSTRUCTIONS": "AP", "IMPRESSION": "AP",
}
STOP = set("""a an the and or but so if then of to in on at for with from by as is are was were be been being
it its this that these those i me my we our us you your he him his she her they them their there here
do does did done have has had having will would can could should may might must not no yes okay ok um uh
just also very really about like kind sort go going get got know think well right yeah mm hmm oh what
when where how why which who all any some more much one two any patient today""".split())


def stems(text):
    out = []
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if w in STOP or len(w) < 2:
            continue
        out.append(w[:5])
    return out


def ref_sentences(visit):
    out = []
    for sec in visit["reference_sections"]:
        label = HEADERS.get(sec["header"].strip().upper())
        if not label:
            continue
        for line in sec["text"].split("\n"):
            for s in re.split(r"(?<=[.!?])\s+", line):
                if len(stems(s)) >= 2:
                    out.append((label, set(stems(s))))
    return out


def load(kit, dump, split):
    visits = {json.loads(l)["id"]: json.loads(l) for l in open(f"{kit}/aci_bench_{split}.jsonl")}
    rows = []
    for line in open(f"{dump}/{split}.jsonl"):
        d = json.loads(line)
        rows.append((d["id"], d["sentences"], ref_sentences(visits[d["id"]])))
    return rows


def label_rows(rows, idf):
    X, y, groups = [], [], []
    for vid, sentences, refs in rows:
        for s in sentences:
            t = set(stems(s["text"]))
            label = "NONE"
            if len(t) >= 2:
                # sorted: float sums in a fixed order, so labels do not depend on hashing
                total = sum(idf.get(w, 1.0) for w in sorted(t))
                best, best_label = 0.0, "NONE"
                for ref_label, r in refs:
                    shared = t & r
                    if len(shared) < 2:
                        continue
                    share = sum(idf.get(w, 1.0) for w in sorted(shared)) / total
                    if share > best:
                        best, best_label = share, ref_label
                if best >= ALIGN_MIN:
                    label = best_label
            X.append({f: 1 for f in s["features"]})
            y.append(label)
            groups.append(vid)
    return X, y, groups


def scores(y_true, y_pred):
    acc = np.mean([a == b for a, b in zip(y_true, y_pred)])
    recalls = []
    for c in CLASSES:
        idx = [i for i, a in enumerate(y_true) if a == c]
        if idx:
            recalls.append(np.mean([y_pred[i] == c for i in idx]))
    return acc, float(np.mean(recalls))


def main():
    kit, dump = sys.argv[1], sys.argv[2]
    train, dev = load(kit, dump, "train"), load(kit, dump, "dev")
    # idf over the training transcripts' sentences
    df = collections.Counter()
    n = 0
    for _, sentences, _ in train:
        for s in sentences:
            n += 1
            df.update(set(stems(s["text"])))
    idf = {w: math.log(n / c) for w, c in df.items()}
    Xtr, ytr, gtr = label_rows(train, idf)
    Xdv, ydv, _ = label_rows(dev, idf)
    print("labels train", dict(collections.Counter(ytr)))
    print("labels dev  ", dict(collections.Counter(ydv)))
    # features seen in at least MIN_COUNT training visits
    seen = collections.defaultdict(set)
    for x, g in zip(Xtr, gtr):
        for f in x:
            seen[f].add(g)
    keep = {f for f, gs in seen.items() if len(gs) >= MIN_COUNT}
    Xtr = [{f: v for f, v in x.items() if f in keep} for x in Xtr]
    Xdv = [{f: v for f, v in x.items() if f in keep} for x in Xdv]
    vec = DictVectorizer()
    A = vec.fit_transform(Xtr)
    B = vec.transform(Xdv)
    # Square root of the "balanced" class weights: rare sections count more without every
    # family sentence becoming a false alarm.
    counts = collections.Counter(ytr)
    weights = {c: math.sqrt(len(ytr) / (len(counts) * k)) for c, k in counts.items()}
    best = None
    for C in (0.1, 0.5):
        preds = [None] * len(ytr)
        for tr, te in GroupKFold(n_splits=3).split(A, ytr, gtr):
            m = LogisticRegression(C=C, max_iter=500, class_weight=weights).fit(A[tr], [ytr[i] for i in tr])
            for i, p in zip(te, m.predict(A[te])):
                preds[i] = p
        acc, bal = scores(ytr, preds)
        print(f"C={C}: train 3-fold (grouped by visit) accuracy {acc:.3f} balanced {bal:.3f}")
        if best is None or bal > best[0]:
            best = (bal, C)
    C = best[1]
    model = LogisticRegression(C=C, max_iter=500, class_weight=weights).fit(A, ytr)
    acc, bal = scores(ytr, list(model.predict(A)))
    print(f"chosen C={C}; train (fitted) accuracy {acc:.3f} balanced {bal:.3f}")
    acc, bal = scores(ydv, list(model.predict(B)))
    print(f"dev accuracy {acc:.3f} balanced {bal:.3f}")
    if "--write" in sys.argv:
        write_model(model, vec, C, "shared/core/data/note_router.tsv", "ACI-Bench train (67 visits)")
        print("wrote shared/core/data/note_router.tsv")
    if "--folds" in sys.argv:
        # Out-of-fold routers: each fitted without one third of the training visits, so that
        # the note's thresholds can be chosen on train notes the router has not seen
        # (VERISCRIBE_NOTE_ROUTER=<fold>.tsv note_eval on <fold>.ids' visits).
        out_dir = sys.argv[sys.argv.index("--folds") + 1]
        os.makedirs(out_dir, exist_ok=True)
        for k, (tr, te) in enumerate(GroupKFold(n_splits=3).split(A, ytr, gtr)):
            m = LogisticRegression(C=C, max_iter=500, class_weight=weights).fit(A[tr], [ytr[i] for i in tr])
            held = sorted({gtr[i] for i in te})
            write_model(m, vec, C, f"{out_dir}/fold{k}.tsv", f"ACI-Bench train without fold {k}")
            with open(f"{out_dir}/fold{k}.ids", "w") as f:
                f.write("\n".join(held) + "\n")
            print(f"fold {k}: {len(held)} visits held out -> {out_dir}/fold{k}.tsv")
        if "--notes" in sys.argv:
            out_of_fold_notes(kit, out_dir)


def out_of_fold_notes(kit, out_dir):
    """Train notes written with routers that did not see them (each fold's visits with the
    router fitted on the other two), scored by the kit: the figure to choose note thresholds
    on, since the shipped router's probabilities on train are in-sample."""
    import subprocess

    preds = f"{out_dir}/preds.jsonl"
    with open(preds, "w") as merged:
        for k in range(3):
            held = set(open(f"{out_dir}/fold{k}.ids").read().split())
            visits = f"{out_dir}/fold{k}.jsonl"
            with open(visits, "w") as f:
                for line in open(f"{kit}/aci_bench_train.jsonl"):
                    if json.loads(line)["id"] in held:
                        f.write(line)
            env = dict(os.environ, VERISCRIBE_NOTE_ROUTER=f"{out_dir}/fold{k}.tsv")
            subprocess.run(
                ["target/release/examples/note_eval", visits, f"{out_dir}/notes{k}", "HISTORY_AND_PHYSICAL", "pipeline"],
                env=env, check=True, stdout=subprocess.DEVNULL,
            )
            merged.write(open(f"{out_dir}/notes{k}/preds.jsonl").read())
    bench = os.path.join(os.path.dirname(os.path.abspath(kit)), "bench", "score_notes.py")
    r = json.loads(subprocess.check_output(
        ["python3", bench, "--reference", f"{kit}/aci_bench_train.jsonl", "--predictions", preds]))
    f = r["full_note"]
    print(f"train out-of-fold notes: ROUGE-1/2/Lsum {f['rouge1']:.2f}/{f['rouge2']:.2f}/{f['rougeLsum']:.2f}")


def write_model(model, vec, C, path, trained_on):
    classes = list(model.classes_)
    names = vec.get_feature_names_out()
    with open(path, "w") as out:
        out.write(f"# note router: multinomial logistic regression, C={C}, trained by scripts/train_note_router.py\n")
        out.write(f"# on {trained_on} sentence labels from lexical alignment to the reference notes\n")
        out.write("classes\t" + "\t".join(classes) + "\n")
        out.write("bias\t" + "\t".join(f"{b:.4f}" for b in model.intercept_) + "\n")
        W = model.coef_.T
        for name, row in sorted(zip(names, W)):
            if np.max(np.abs(row)) < 0.01:
                continue
            out.write(name + "\t" + "\t".join(f"{w:.3f}" for w in row) + "\n")


if __name__ == "__main__":
    main()
