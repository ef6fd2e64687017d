#!/usr/bin/env python3
"""Side-by-side speed, memory and accuracy benchmark: Veriscribe against faster-whisper.

Every engine transcribes the same visit recordings (1, 5, 15 and 30 minutes, made by
`make_visits.py`) on the same cores with the same Whisper tiny.en weights (ggml q8_0 for
whisper.cpp, converted from the CTranslate2 files that faster-whisper loads), the same beam
size and the same thread count. Runs are interleaved (run 1 of every engine and file, then run
2, ...) so that drift in the machine's speed hits all engines alike. Per run: wall time, CPU
time and peak RSS of the process (os.wait4), and the model load and transcription times the
engine reports. WER etc. come from the team kit's `score_transcript.py`. Standard library only;
`bench/compare.sh` prepares everything and calls this.

Engines:
  veriscribe-asr   transcription alone (`transcribe_file` example: decode + whisper.cpp + word
                   times + diarization-free tokens); RTF = transcription time / audio length
  veriscribe-run   the whole product (`veriscribe run`: transcript, roles, sections, insights,
                   note, codes, encryption, status store); RTF = the process's wall time
                   (model load and everything included) / audio length
  fw-int8, fw-float32   faster-whisper 1.2.1; RTF = transcription time / audio length
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import time

ENGINES = ("veriscribe-asr", "veriscribe-run", "fw-int8", "fw-float32")


def command(engine: str, wav: str, out_dir: str, name: str, args) -> list[str]:
    if engine == "veriscribe-asr":
        return [args.asr_bin, wav, os.path.join(out_dir, f"{name}.transcript.json"),
                "--model", args.ggml, "--threads", str(args.threads)]
    if engine == "veriscribe-run":
        return [args.cli_bin, "run", wav, "--out", os.path.join(out_dir, name), "--quiet",
                "--model", args.ggml, "--threads", str(args.threads)]
    compute = engine.split("-", 1)[1]
    return [args.fw_python, os.path.join(os.path.dirname(__file__), "fw_transcribe.py"),
            args.ct2, wav, os.path.join(out_dir, f"{name}.transcript.json"),
            "--compute-type", compute, "--threads", str(args.threads), "--beam", str(args.beam)]


def measure(cmd: list[str], env: dict[str, str]) -> dict:
    """Runs `cmd` and returns its wall time, CPU time and peak RSS (from wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out_chunks, err_chunks = [], []
    # Read both pipes to the end before reaping, so wait4 can report this child's rusage.
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ, out_chunks)
    selector.register(process.stderr, selectors.EVENT_READ, err_chunks)
    while selector.get_map():
        for key, _ in selector.select():
            data = key.fileobj.read1(65536)
            if data:
                key.data.append(data)
            else:
                selector.unregister(key.fileobj)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stdout = b"".join(out_chunks).decode(errors="replace")
    stderr = b"".join(err_chunks).decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024.0, "stdout": stdout, "stderr": stderr}


def engine_times(engine: str, result: dict) -> tuple[float | None, float]:
    """(model load seconds, seconds the RTF is computed from) for one run."""
    if engine == "veriscribe-asr":
        found = re.search(r"load ([\d.]+) s, decode ([\d.]+) s, transcribe ([\d.]+) s", result["stderr"])
        if not found:
            raise RuntimeError(f"no timing line from transcribe_file:\n{result['stderr'][-1000:]}")
        return float(found.group(1)), float(found.group(3))
    if engine == "veriscribe-run":
        return None, result["wall_s"]
    line = json.loads(result["stdout"].strip().splitlines()[-1])
    return line["load_s"], line["transcribe_s"]


def score(ref_dir: str, pred_dir: str, kit: str, names: list[str]) -> dict:
    output = subprocess.run([sys.executable, os.path.join(kit, "score_transcript.py"), "--ref", ref_dir,
                             "--pred", pred_dir, "--ids", ",".join(names), "--json"],
                            check=True, capture_output=True, text=True)
    report = json.loads(output.stdout)
    return {item["id"]: item for item in report["files"]} | {"overall": report["overall"]}


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} logical CPUs, {memory:.0f} GiB, {platform.system()} {platform.release()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", default="bench/out/visits")
    parser.add_argument("--out", default="bench/out/compare")
    parser.add_argument("--kit", default="../shared/bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--files", default="visit01m,visit05m,visit15m,visit30m")
    parser.add_argument("--asr-bin", default="target/release/examples/transcribe_file")
    parser.add_argument("--cli-bin", default="target/release/veriscribe")
    parser.add_argument("--ggml", default=os.path.expanduser("~/.cache/veriscribe/models/ggml-tiny.en-q8_0.bin"))
    parser.add_argument("--ct2", default="bench/out/ct2-tiny.en")
    parser.add_argument("--fw-python", default="bench/out/fw-venv/bin/python")
    parser.add_argument("--lambda-memory-mb", type=int, default=4096, help="the transcribe function's memory")
    args = parser.parse_args()

    engines = [engine for engine in args.engines.split(",") if engine]
    names = [name for name in args.files.split(",") if name]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ)
    scratch = os.path.join(args.out, "state")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    env.update(VERISCRIBE_DB=os.path.join(scratch, "jobs.sqlite3"), VERISCRIBE_KEY_FILE=os.path.join(scratch, "bench.key"),
               OMP_NUM_THREADS=str(args.threads), RUST_LOG="warn")
    durations = {}
    for name in names:
        with open(os.path.join(args.visits, f"{name}.ref.json"), encoding="utf-8") as fh:
            durations[name] = json.load(fh)["audio"]["duration_s"]

    runs: list[dict] = []
    for run in range(1, args.runs + 1):
        for name in names:
            for engine in engines:
                pred_dir = os.path.join(args.out, engine)
                os.makedirs(pred_dir, exist_ok=True)
                if engine == "veriscribe-run":
                    shutil.rmtree(os.path.join(pred_dir, name), ignore_errors=True)
                result = measure(command(engine, os.path.join(args.visits, f"{name}.wav"), pred_dir, name, args), env)
                load_s, timed_s = engine_times(engine, result)
                row = {"run": run, "file": name, "engine": engine, "audio_s": durations[name], "load_s": load_s,
                       "timed_s": timed_s, "rtf": timed_s / durations[name], "wall_s": result["wall_s"],
                       "cpu_s": result["cpu_s"], "rss_mb": result["rss_mb"]}
                runs.append(row)
                print(json.dumps(row), flush=True)
    with open(os.path.join(args.out, "runs.jsonl"), "w", encoding="utf-8") as fh:
        for row in runs:
            fh.write(json.dumps(row) + "\n")

    scores = {engine: score(args.visits, os.path.join(args.out, engine), args.kit, names) for engine in engines}
    table = report(runs, scores, engines, names, durations, args)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as fh:
        fh.write(table)
    print(table)
    return 0


def report(runs, scores, engines, names, durations, args) -> str:
    def median(engine, name, key):
        values = [row[key] for row in runs if row["engine"] == engine and row["file"] == name and row[key] is not None]
        return statistics.median(values) if values else None

    lines = [f"Machine: {machine()}. Threads {args.threads}, beam {args.beam}, median of {args.runs} runs "
             f"(interleaved). Command: `bash bench/compare.sh` (runs={args.runs}).", "",
             "| file | engine | RTF | × fw-int8 speed | CPU s per audio min | peak RSS | model load | WER | medical-term WER |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in names:
        baseline = median("fw-int8", name, "rtf")
        for engine in engines:
            rtf = median(engine, name, "rtf")
            cpu = median(engine, name, "cpu_s")
            load = median(engine, name, "load_s")
            item = scores[engine].get(name, {})
            speed = f"{baseline / rtf:.2f}×" if baseline and rtf else "–"
            lines.append(
                f"| {name} ({durations[name] / 60:.1f} min) | {engine} | {rtf:.4f} | {speed} | "
                f"{cpu / durations[name] * 60:.2f} | {median(engine, name, 'rss_mb'):.0f} MB | "
                f"{'–' if load is None else f'{load:.2f} s'} | {fmt(item.get('wer'))} | {fmt(item.get('med_wer'))} |")
    lines += ["", "| engine | all files: audio-weighted RTF | × fw-int8 speed | pooled WER | medical-term WER |",
              "| --- | --- | --- | --- | --- |"]
    total_audio = sum(durations[name] for name in names)
    pooled = {}
    for engine in engines:
        timed = sum(median(engine, name, "timed_s") for name in names)
        pooled[engine] = timed / total_audio
    for engine in engines:
        overall = scores[engine]["overall"]
        speed = f"{pooled['fw-int8'] / pooled[engine]:.2f}×" if "fw-int8" in pooled else "–"
        lines.append(f"| {engine} | {pooled[engine]:.4f} | {speed} | {fmt(overall.get('wer'))} | "
                     f"{fmt(overall.get('med_wer'))} |")
    if "veriscribe-run" in engines:
        lines += lambda_cost(runs, names, durations, args)
    return "\n".join(lines) + "\n"


# Lambda's published on-demand prices (us-east-1): per GB-second of configured memory, and per
# request. A function gets one vCPU's worth of CPU per 1,769 MB.
PRICE_PER_GB_S = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_PER_REQUEST = 0.20 / 1_000_000
MB_PER_VCPU = 1769


def lambda_cost(runs, names, durations, args) -> list[str]:
    """Cost per audio minute of the whole pipeline on Lambda, from the measured times."""
    def median(name, key):
        return statistics.median(row[key] for row in runs if row["engine"] == "veriscribe-run" and row["file"] == name)

    memory_gb = args.lambda_memory_mb / 1024
    lines = ["", f"Lambda cost per audio minute of the whole pipeline (published prices; transcribe function at "
             f"{args.lambda_memory_mb} MB as `template.yaml` sets it; 3 requests per recording; arm64 assumes the "
             "same CPU time, not measured):", "",
             "| file | wall s per audio min ({} threads here) | CPU s per audio min | x86_64, billed wall time at {} MB | "
             "arm64, same | x86_64, CPU time at {} MB per vCPU | × cheaper than HealthScribe ($0.10) |".format(
                 args.threads, args.lambda_memory_mb, MB_PER_VCPU),
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name in names:
        minutes = durations[name] / 60
        wall = median(name, "wall_s") / minutes
        cpu = median(name, "cpu_s") / minutes
        requests = 3 * PRICE_PER_REQUEST / minutes
        billed = {arch: wall * memory_gb * price + requests for arch, price in PRICE_PER_GB_S.items()}
        by_cpu = cpu * MB_PER_VCPU / 1024 * PRICE_PER_GB_S["x86_64"] + requests
        lines.append(f"| {name} | {wall:.1f} | {cpu:.1f} | ${billed['x86_64']:.5f} | ${billed['arm64']:.5f} | "
                     f"${by_cpu:.5f} | {0.10 / billed['x86_64']:.0f}× |")
    return lines


def fmt(value) -> str:
    return "–" if value is None else f"{100 * value:.2f} %"


if __name__ == "__main__":
    sys.exit(main())
