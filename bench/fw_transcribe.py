#!/usr/bin/env python3
"""Transcribes one file with faster-whisper (the peer in the benchmark) and writes a
HealthScribe-shaped transcript (`Conversation.TranscriptSegments`) for `score_transcript.py`.

Prints one JSON line with the model load and transcription times. Run by `bench/compare.py`
in the benchmark's virtual environment (`pip install faster-whisper==1.2.1`).

    fw_transcribe.py MODEL_DIR AUDIO.wav OUT.transcript.json --compute-type int8 --threads 2 --beam 5
"""
import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("audio")
    parser.add_argument("out")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    from faster_whisper import WhisperModel  # imported here so the import counts as load time

    model = WhisperModel(args.model_dir, device="cpu", compute_type=args.compute_type,
                         cpu_threads=args.threads, num_workers=1)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    segments, info = model.transcribe(args.audio, beam_size=args.beam, language="en")
    segments = list(segments)  # the generator decodes lazily
    transcribed = time.perf_counter() - started
    document = {"Conversation": {"TranscriptSegments": [
        {"SegmentId": str(index), "Content": segment.text.strip(),
         "BeginAudioTime": round(segment.start, 3), "EndAudioTime": round(segment.end, 3)}
        for index, segment in enumerate(segments)]}}
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(document, fh)
    print(json.dumps({"load_s": loaded, "transcribe_s": transcribed, "audio_s": info.duration}))


if __name__ == "__main__":
    main()
