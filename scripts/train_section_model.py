#!/usr/bin/env python3
"""Trains the learned transcript-section model (shared/core/data/section_model.tsv).

    cargo run --release -p veriscribe-core --example section_features -- ../shared/data bench/out/section_model/cues.jsonl
    .venv-notes/bin/python scripts/train_section_model.py ../shared/data bench/out/section_model/cues.jsonl \
        --align 0.3 --c 0.3 --per-snippet 1 --window 5 --weight 1 --hand 1 --objective 0 --plan 0 --write

(any Python with scikit-learn==1.5.2 and numpy; the notes worker's venv has them). Each of --c,
--per-snippet, --window, --weight, --hand, --objective, --plan takes a comma-separated grid; the
point with the best cross-validated sum of accuracy and balanced accuracy (MTS snippets + ACI
aligned turns) is fitted on all training rows and, with --write, written. The command above is
the shipped point; BENCHMARKS.md ("Learned transcript sections") lists the grids that chose it.

Training data, train splits only:
- MTS-Dialog rows with split == "train" (1,201 snippets): every turn takes its snippet's
  `transcript_section` (SUBJECTIVE / OBJECTIVE / ASSESSMENT_AND_PLAN); with --per-snippet 1 each
  snippet weighs the same whatever its length;
- ACI-Bench train visits (67): a turn takes the division of the reference-note sentence that holds
  the largest idf-weighted share of its content words (at least --align, and at least two content
  words shared): subjective -> SUBJECTIVE, objective_exam / objective_results -> OBJECTIVE,
  assessment_and_plan -> ASSESSMENT_AND_PLAN; a turn between two aligned turns of the same
  division takes it too. Other turns are not training rows (they still count as context).
Checked on: MTS-Dialog validation rows (100) and ACI-Bench dev visits (aligned turns), never
fitted on or used for choosing. Cross-validation: 5 folds grouped by snippet / visit, train only.

Features of turn t (the Rust side, `clinical::section_model`, computes the same ones):
- `w=TOKEN` for each distinct word of the turn, `b=TOKEN_TOKEN` for each distinct word pair;
- `role=clinician|patient`, `ask=clinician|patient` when the turn ends with "?";
- `c=TOKEN`: context, the share of the turns t-WINDOW..t+WINDOW (clipped to the conversation)
  that contain TOKEN;
- `cue=SECTION`: the turn's hand cue score (`sections::cue_emissions`, read from the
  `section_features` dump) / 4, and `cw=SECTION` its mean over the window.
Tokens: lower case, anything but letters, digits, apostrophes and hyphens is a space, and
ACI-Bench's split contractions ("do n't") are joined again: the `normalize` of sections.rs.
Model: multinomial logistic regression (lbfgs, L2), class weights "balanced" over the turns.
Written as TSV for `clinical::linear::LinearModel` (`classes`, `bias`, then one line per feature
seen in at least MIN_COUNT training groups), with a `# params:` line for the decoding.
Deterministic: same inputs, same file.

The evaluation here mirrors the product (`section_model::emissions` and `sections::decode`):
OTHER keeps its hand cue score, each clinical section gets hand * cue + weight * ln(3 p) +
offset, Viterbi with the visit-order transitions of sections.rs, then the snippet's most
frequent section other than OTHER.
"""
import collections
import itertools
import json
import math
import re
import sys

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

CLASSES = ["SUBJECTIVE", "OBJECTIVE", "ASSESSMENT_AND_PLAN"]
DIVISIONS = {
    "subjective": "SUBJECTIVE",
    "objective_exam": "OBJECTIVE",
    "objective_results": "OBJECTIVE",
    "assessment_and_plan": "ASSESSMENT_AND_PLAN",
}
ALIGN_MIN = float(sys.argv[sys.argv.index("--align") + 1]) if "--align" in sys.argv else 0.4
MIN_COUNT = 2
STOP = set("""a an the and or but so if then of to in on at for with from by as is are was were be been being
it its this that these those i me my we our us you your he him his she her they them their there here
do does did done have has had having will would can could should may might must not no yes okay ok um uh
just also very really about like kind sort go going get got know think well right yeah mm hmm oh what
when where how why which who all any some more much one two any patient today""".split())


def tokens(text):
    """sections.rs `normalize`, as a word list."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = "".join(c if (c.isalnum() or c in "'-") else " " for c in text)
    out = []
    for w in text.split():
        if (w == "n't" or w.startswith("'")) and out:
            out[-1] += w
        else:
            out.append(w)
    return out


def role_of(speaker):
    s = speaker.lower()
    return "clinician" if s.startswith("doctor") or "clinician" in s else "patient"


CUE_NAMES = ["OTHER", "SUBJECTIVE", "OBJECTIVE", "ASSESSMENT_AND_PLAN"]


def conversation_features(turns, cues, window):
    """turns: [(role, text)], cues: the hand cue scores per turn -> one feature dict per turn."""
    own, words = [], []
    for (role, text), cue in zip(turns, cues):
        toks = tokens(text)
        f = {}
        for w in set(toks):
            f["w=" + w] = 1.0
        for a, b in set(zip(toks, toks[1:])):
            f[f"b={a}_{b}"] = 1.0
        f["role=" + role] = 1.0
        if text.rstrip().endswith("?"):
            f["ask=" + role] = 1.0
        for name, value in zip(CUE_NAMES, cue):
            f["cue=" + name] = value / 4.0
        own.append(f)
        words.append(set(toks))
    out = []
    n = len(turns)
    for t in range(n):
        lo, hi = max(0, t - window), min(n - 1, t + window)
        span = hi - lo + 1
        ctx = collections.Counter()
        for u in range(lo, hi + 1):
            ctx.update(words[u])
        f = dict(own[t])
        for w, k in ctx.items():
            f["c=" + w] = k / span
        for k, name in enumerate(CUE_NAMES):
            f["cw=" + name] = sum(cues[u][k] for u in range(lo, hi + 1)) / 4.0 / span
        out.append(f)
    return out


def stems(text):
    return [w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP and len(w) >= 2]


def aci_labels(visit, idf):
    refs = []
    for div, label in DIVISIONS.items():
        for line in (visit["reference_divisions"].get(div) or "").split("\n"):
            for s in re.split(r"(?<=[.!?])\s+", line):
                st = set(stems(s))
                if len(st) >= 2:
                    refs.append((label, st))
    labels = []
    for turn in visit["turns"]:
        t = set(stems(turn["text"]))
        label = None
        if len(t) >= 2:
            total = sum(idf.get(w, 1.0) for w in sorted(t))
            best = 0.0
            for ref_label, r in refs:
                shared = t & r
                if len(shared) < 2:
                    continue
                share = sum(idf.get(w, 1.0) for w in sorted(shared)) / total
                if share > best:
                    best, label = share, ref_label
            if best < ALIGN_MIN:
                label = None
        labels.append(label)
    # A turn between two aligned turns of the same division ("yes.", "okay.", a question whose
    # answer carries the words) belongs to that division too.
    filled = list(labels)
    known = [i for i, lab in enumerate(labels) if lab]
    for a, b in zip(known, known[1:]):
        if labels[a] == labels[b]:
            for i in range(a + 1, b):
                filled[i] = labels[a]
    return filled


def transition(a, b):
    # sections.rs `transition`: 0 OTHER, 1 SUBJECTIVE, 2 OBJECTIVE, 3 ASSESSMENT_AND_PLAN.
    if a == b:
        return 0.0
    if a == 0 or b == 0:
        return -1.5
    return {(1, 2): -1.5, (2, 3): -1.5, (1, 3): -2.0, (2, 1): -2.5, (3, 2): -2.5}.get((a, b), -3.0)


def viterbi(em):
    """sections.rs `decode`: ties keep the lowest index."""
    start = [0.0, 0.0, -1.0, -1.0]
    best = [start[s] + em[0][s] for s in range(4)]
    back = []
    for e in em[1:]:
        nxt, frm = [], []
        for to in range(4):
            sc, o = float("-inf"), 0
            for f in range(4):
                v = best[f] + transition(f, to)
                if v > sc:
                    sc, o = v, f
            nxt.append(sc + e[to])
            frm.append(o)
        best = nxt
        back.append(frm)
    s = 0
    for k in range(1, 4):
        if best[k] > best[s]:
            s = k
    path = [s]
    for frm in reversed(back):
        s = frm[s]
        path.append(s)
    return path[::-1]


def decode(probs, cues, hp):
    """Section index per turn (0 OTHER, 1 S, 2 O, 3 AP); section_model.rs `emissions`."""
    weight, offsets, hand = hp
    em = []
    for p, cue in zip(probs, cues):
        em.append([cue[0]] + [hand * h + weight * math.log(3 * max(q, 1e-9)) + o for q, o, h in zip(p, offsets, cue[1:])])
    return viterbi(em)


def majority(path):
    counts = collections.Counter(k for k in path if k)
    if not counts:
        return "OTHER"
    return CLASSES[max(counts, key=lambda k: (counts[k], -k)) - 1]


def scores(y_true, y_pred):
    acc = float(np.mean([a == b for a, b in zip(y_true, y_pred)]))
    rec = {c: float(np.mean([p == c for a, p in zip(y_true, y_pred) if a == c])) for c in CLASSES if c in y_true}
    return acc, float(np.mean(list(rec.values()))), rec


def fmt(name, s):
    acc, bal, rec = s
    r = " ".join(f"{c[:4]} {v:.3f}" for c, v in rec.items())
    return f"  {name:<34} accuracy {acc:.3f} balanced {bal:.3f}  recall {r}"


class Conversation:
    def __init__(self, cid, feats, cues, labels, snippet_label):
        self.id, self.feats, self.cues, self.labels, self.label = cid, feats, cues, labels, snippet_label


def measure(convs, probs_of, hp):
    """(MTS snippet scores, ACI aligned-turn scores) of decoded conversations."""
    snip_t, snip_p, turn_t, turn_p = [], [], [], []
    for c in convs:
        path = decode(probs_of(c), c.cues, hp)
        if c.label:
            snip_t.append(c.label)
            snip_p.append(majority(path))
        else:
            for lab, k in zip(c.labels, path):
                if lab:
                    turn_t.append(lab)
                    turn_p.append(CLASSES[k - 1] if k else "OTHER")
    return (scores(snip_t, snip_p) if snip_t else None), (scores(turn_t, turn_p) if turn_t else None)


def hand(convs):
    """The rule-based sections (Viterbi over the hand cue scores) on the same measures."""
    snip_t, snip_p, turn_t, turn_p = [], [], [], []
    for c in convs:
        path = viterbi(c.cues)
        if c.label:
            snip_t.append(c.label)
            snip_p.append(majority(path))
        else:
            for lab, k in zip(c.labels, path):
                if lab:
                    turn_t.append(lab)
                    turn_p.append(CLASSES[k - 1] if k else "OTHER")
    return (scores(snip_t, snip_p) if snip_t else None), (scores(turn_t, turn_p) if turn_t else None)


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1].split(",") if name in sys.argv else default


def main():
    kit, cue_file = sys.argv[1], sys.argv[2]
    cue_of = {}
    for line in open(cue_file):
        d = json.loads(line)
        cue_of[d["id"]] = d["cues"]
    mts = [json.loads(l) for l in open(f"{kit}/mts_dialog_dev.jsonl") if l.strip()]
    aci_train = [json.loads(l) for l in open(f"{kit}/aci_bench_train.jsonl") if l.strip()]
    aci_dev = [json.loads(l) for l in open(f"{kit}/aci_bench_dev.jsonl") if l.strip()]
    df, n = collections.Counter(), 0
    for v in aci_train:
        for t in v["turns"]:
            n += 1
            df.update(set(stems(t["text"])))
    idf = {w: math.log(n / c) for w, c in df.items()}

    grid_c = [float(x) for x in arg("--c", ["0.3", "1"])]
    grid_w = [int(x) for x in arg("--window", ["3", "5"])]
    grid_e = [float(x) for x in arg("--weight", ["1", "2"])]
    grid_s = [int(x) for x in arg("--per-snippet", ["0", "1"])]
    grid_h = [float(x) for x in arg("--hand", ["0", "1"])]
    grid_o = [(0.0, float(o), float(a)) for o in arg("--objective", ["0", "0.5", "1", "1.5"]) for a in arg("--plan", ["0", "0.5", "1", "1.5"])]

    def build(window):
        train, val, dev = [], [], []
        for r in mts:
            turns = [(role_of(t["speaker"]), t["text"]) for t in r["dialogue_turns"]]
            feats = conversation_features(turns, cue_of[r["id"]], window)
            c = Conversation(r["id"], feats, cue_of[r["id"]], [r["transcript_section"]] * len(feats), r["transcript_section"])
            (train if r["split"] == "train" else val).append(c)
        for visits, out in ((aci_train, train), (aci_dev, dev)):
            for v in visits:
                turns = [(role_of(t["speaker"]), t["text"]) for t in v["turns"]]
                feats = conversation_features(turns, cue_of[v["id"]], window)
                out.append(Conversation(v["id"], feats, cue_of[v["id"]], aci_labels(v, idf), None))
        return train, val, dev

    def fit(convs, C, per_snippet):
        X = [f for c in convs for f, lab in zip(c.feats, c.labels) if lab]
        y = [lab for c in convs for lab in c.labels if lab]
        g = [c.id for c in convs for lab in c.labels if lab]
        # per_snippet: every MTS-Dialog snippet weighs the same, however many turns it has (the
        # measure is per snippet); the mean weight of an MTS turn stays 1.
        mts_lengths = [len(c.feats) for c in convs if c.label]
        mean_length = sum(mts_lengths) / max(1, len(mts_lengths))
        sw = [(mean_length / len(c.feats) if (c.label and per_snippet) else 1.0) for c in convs for lab in c.labels if lab]
        seen = collections.defaultdict(set)
        for x, grp in zip(X, g):
            for f in x:
                seen[f].add(grp)
        keep = {f for f, gs in seen.items() if len(gs) >= MIN_COUNT}
        vec = DictVectorizer()
        A = vec.fit_transform([{f: v for f, v in x.items() if f in keep} for x in X])
        m = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit(A, y, sample_weight=sw)
        order = [list(m.classes_).index(c) for c in CLASSES]

        def probs(feats):
            return m.predict_proba(vec.transform([{f: v for f, v in x.items() if f in keep} for x in feats]))[:, order]

        return m, vec, keep, order, probs

    results, cache = [], {}
    for window in grid_w:
        train, val, dev = build(window)
        cache[window] = (train, val, dev)
        if window == grid_w[0]:
            ms, ma = hand(train)
            print(fmt("hand cues: MTS train snippets", ms))
            print(fmt("hand cues: ACI train aligned turns", ma))
            print(fmt("hand cues: MTS validation snippets", hand(val)[0]))
            print(fmt("hand cues: ACI dev aligned turns", hand(dev)[1]))
        groups = [c.id for c in train]
        for C, per_snippet in itertools.product(grid_c, grid_s):
            cv = {}
            for tr, te in GroupKFold(n_splits=5).split(groups, groups=groups):
                probs = fit([train[i] for i in tr], C, per_snippet)[4]
                for i in te:
                    cv[train[i].id] = probs(train[i].feats)
            for weight, offsets, hand_weight in itertools.product(grid_e, grid_o, grid_h):
                    ms, ma = measure(train, lambda c: cv[c.id], (weight, offsets, hand_weight))
                    results.append((ms[0] + ms[1] + ma[0] + ma[1], window, (C, per_snippet), (weight, offsets, hand_weight), ms, ma))
                    print(fmt(f"CV w={window} C={C} s={per_snippet} W={weight} o={offsets[1]},{offsets[2]} h={hand_weight}: MTS", ms))
                    print(fmt("   ... ACI aligned turns", ma), flush=True)
    best = max(results, key=lambda r: (round(r[0], 6), -r[1], -r[2][0], r[2][1], -r[3][0], -sum(r[3][1]), -r[3][2]))
    _, window, (C, per_snippet), hp, ms, ma = best
    weight, offsets, hand_weight = hp
    train, val, dev = cache[window]
    model, vec, keep, order, probs = fit(train, C, per_snippet)
    print(f"chosen (best CV accuracy + balanced accuracy, MTS snippets + ACI turns, on train): window {window} C={C} per-snippet weights {per_snippet} weight {weight} offsets {offsets} hand {hand_weight}")
    print(fmt("CV MTS train snippets", ms))
    print(fmt("CV ACI train aligned turns", ma))
    fs, fa = measure(train, lambda c: probs(c.feats), hp)
    print(fmt("fitted MTS train snippets", fs))
    print(fmt("fitted ACI train aligned turns", fa))
    print(fmt("MTS validation snippets", measure(val, lambda c: probs(c.feats), hp)[0]))
    print(fmt("ACI dev aligned turns", measure(dev, lambda c: probs(c.feats), hp)[1]))
    if "--write" in sys.argv:
        names = vec.get_feature_names_out()
        W = model.coef_.T[:, order]
        with open("shared/core/data/section_model.tsv", "w") as out:
            out.write(f"# transcript section model: multinomial logistic regression, C={C}, per-snippet weights {per_snippet}, context window +-{window} turns,\n")
            out.write("# trained by scripts/train_section_model.py on MTS-Dialog train rows and ACI-Bench train turns\n")
            out.write("# (labelled by lexical alignment to the reference note divisions)\n")
            out.write(f"# params: window={window} weight={weight} objective={offsets[1]} plan={offsets[2]} hand={hand_weight}\n")
            out.write("classes\t" + "\t".join(CLASSES) + "\n")
            out.write("bias\t" + "\t".join(f"{b:.4f}" for b in model.intercept_[order]) + "\n")
            for name, row in sorted(zip(names, W)):
                if np.max(np.abs(row)) < 0.005:
                    continue
                out.write(name + "\t" + "\t".join(f"{w:.4f}" for w in row) + "\n")
        print("wrote shared/core/data/section_model.tsv")


if __name__ == "__main__":
    main()
