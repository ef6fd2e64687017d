#!/usr/bin/env bash
# The transcribe function built the way `sam build` builds it (template.yaml: BuildMethod
# rust-cargolambda, i.e. `cargo lambda build --release --x86-64 --bin transcribe` with
# cargo-lambda's zig toolchain, which makes whisper.cpp's cmake cross-compile), checked for its
# CPU instructions and timed against the host's release build on the same recording.
# BENCHMARKS.md, "Deployment build CPU features (sam build)". Not part of CI: about 30 min cold
# on 2 cores.
#
#   bash bench/sam_build.sh [BEFORE_REV]
#
# Steps (everything lands in bench/out/sam):
#   1. cargo-lambda 1.9.2 from PyPI (brings zig) into bench/out/cl-venv.
#   2. "before": a one-line probe binary linking whisper-rs-sys as it was at BEFORE_REV (default:
#      the commit before build.rs set the CPU features), built by cargo-lambda like the function;
#      its libggml-cpu.a and bootstrap go through scripts/check-cpu-features.sh (expected to fail).
#   3. "after": `cargo lambda build --release --x86-64 --bin transcribe` in the workspace, then
#      scripts/check-cpu-features.sh on target/lambda/transcribe/bootstrap and its libggml-cpu.a.
#   4. `cargo build --release -p transcribe` (the host build) and timing: moto on a free port,
#      ROUNDS (default 3) fresh jobs per binary on the same 60-s recording, host and SAM-built
#      processes alternating, each run by bench/lambda_runtime.py as Lambda would (cold process,
#      one event). Prints both binaries' RealTimeFactor per job and the ratio of medians.
# Env: ROUNDS, SKIP_BEFORE=1, ONLY_BEFORE=1, MOTO_PORT (default 5077), CARGO_BUILD_JOBS (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out/sam
VENV=$ROOT/bench/out/cl-venv
ROUNDS=${ROUNDS:-3}
MOTO_PORT=${MOTO_PORT:-5077}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
mkdir -p "$OUT"
log() { echo "== $(date +%T) $*" >&2; }

# 1. cargo-lambda (and zig) from PyPI
if [ ! -x "$VENV/bin/cargo-lambda" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q cargo-lambda==1.9.2
fi
export PATH="$VENV/bin:$PATH"
cargo lambda --version >&2

# 2. before: whisper-rs-sys at BEFORE_REV in a probe binary
if [ "${SKIP_BEFORE:-0}" != 1 ]; then
  fix=$(git log -n 1 --format=%H -S'"GGML_CPU_ARM_ARCH"' -- vendor/whisper-rs-sys/build.rs)
  BEFORE_REV=${1:-${fix:+$fix^}}
  BEFORE_REV=${BEFORE_REV:-HEAD}
  log "before: whisper-rs-sys at $(git rev-parse --short "$BEFORE_REV")"
  rm -rf "$OUT/before-src" && mkdir -p "$OUT/before-src" "$OUT/probe/src"
  git archive "$BEFORE_REV" vendor/whisper-rs-sys | tar -x -C "$OUT/before-src"
  cat > "$OUT/probe/Cargo.toml" <<EOF
[package]
name = "cpu-probe"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
whisper-rs-sys = { path = "$OUT/before-src/vendor/whisper-rs-sys" }
EOF
  cat > "$OUT/probe/src/main.rs" <<'EOF'
// Prints what ggml was compiled with (whisper.cpp's system info: AVX, AVX2, FMA, F16C, ...).
fn main() {
    let info = unsafe { std::ffi::CStr::from_ptr(whisper_rs_sys::whisper_print_system_info()) };
    println!("{}", info.to_string_lossy());
}
EOF
  cp Cargo.lock "$OUT/probe/Cargo.lock"  # the workspace's versions of bindgen, cmake, ...
  (cd "$OUT/probe" && CARGO_TARGET_DIR="$OUT/probe-target" nice -n 10 \
    cargo lambda build --release --x86-64) > "$OUT/before-build.log" 2>&1 ||
    { tail -n 40 "$OUT/before-build.log"; exit 1; }
  cp "$OUT/probe-target/lambda/cpu-probe/bootstrap" "$OUT/before-bootstrap"
  before_lib=$(ls -t "$OUT"/probe-target/x86_64-unknown-linux-gnu/release/build/whisper-rs-sys-*/out/lib*/libggml-cpu.a | head -n 1)
  log "before: system info: $("$OUT/before-bootstrap")"
  bash scripts/check-cpu-features.sh "$before_lib" "$OUT/before-bootstrap" | tee "$OUT/before-check.txt" ||
    echo "(before: check failed, as expected)" >&2
fi
[ "${ONLY_BEFORE:-0}" = 1 ] && exit 0

# 3. after: the function as sam build builds it
log "after: cargo lambda build --release --x86-64 --bin transcribe"
start=$(date +%s)
nice -n 10 cargo lambda build --release --x86-64 --bin transcribe > "$OUT/after-build.log" 2>&1 ||
  { tail -n 40 "$OUT/after-build.log"; exit 1; }
log "after: built in $(($(date +%s) - start)) s"
sam_bin=$ROOT/target/lambda/transcribe/bootstrap
after_lib=$(ls -t target/x86_64-unknown-linux-gnu/release/build/whisper-rs-sys-*/out/lib*/libggml-cpu.a | head -n 1)
bash scripts/check-cpu-features.sh "$after_lib" "$sam_bin" | tee "$OUT/after-check.txt"

# 4. host release build and timing against moto
log "host: cargo build --release -p transcribe -p start-job"
nice -n 10 cargo build --release -q -p transcribe -p start-job
host_bin=$ROOT/target/release/transcribe
MODEL=${MODEL:-$HOME/.cache/veriscribe/models/ggml-tiny.en-q8_0.bin}
[ -f "$MODEL" ] || MODEL=$(cargo run -q -p veriscribe -- model fetch | tail -n 1)
[ -f "$OUT/visit.wav" ] || bash scripts/make-sample-audio.sh samples/visit.txt "$OUT/visit.wav" >&2

MOTO_VENV=${VERISCRIBE_TEST_VENV:-$ROOT/.venv-test}
if [ ! -x "$MOTO_VENV/bin/moto_server" ]; then
  python3 -m venv "$MOTO_VENV"
  "$MOTO_VENV/bin/pip" install -q 'moto[server]==5.2.5'
fi
"$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" > "$OUT/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" 2>/dev/null && break; sleep 0.2; done
PY=$MOTO_VENV/bin/python
lam=$OUT/lam; rm -rf "$lam"; mkdir -p "$lam"
$PY events/moto-local.py setup --write-env "$lam"
sed -i "s|^MODEL_PATH=.*|MODEL_PATH=$MODEL|" "$lam/local.env"
jobs=$((2 * ROUNDS)); s3_events=()
for i in $(seq 1 "$jobs"); do
  $PY events/moto-local.py upload "$OUT/visit.wav" --key "recordings/sam bench $i.wav" > "$lam/s3-$i.json"
  s3_events+=(--event "$lam/s3-$i.json")
done
python3 bench/lambda_runtime.py --binary target/release/start-job --env-file "$lam/local.env" "${s3_events[@]}" > "$lam/start-job.json"
for i in $(seq 1 "$jobs"); do
  $PY events/moto-local.py next-event transcribe > "$lam/tr-$i.json"
done
echo "| round | binary | invocation | RealTimeFactor |" | tee "$OUT/timing.md"
echo "| --- | --- | --- | --- |" | tee -a "$OUT/timing.md"
for r in $(seq 1 "$ROUNDS"); do
  for which in host sam; do
    if [ "$which" = host ]; then bin=$host_bin; i=$((2 * r - 1)); else bin=$sam_bin; i=$((2 * r)); fi
    python3 bench/lambda_runtime.py --binary "$bin" --env-file "$lam/local.env" --event "$lam/tr-$i.json" \
      --log "$lam/$which-$r.log" > "$lam/$which-$r.json"
    ms=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1]))["invocations"][0]; print("%.2f s (%s)" % (i["ms"] / 1000, i["status"]))' "$lam/$which-$r.json")
    rtf=$(grep -o '"RealTimeFactor":[0-9.e-]*' "$lam/$which-$r.log" | tail -n 1 | cut -d: -f2)
    echo "| $r | $which | $ms | ${rtf:-?} |" | tee -a "$OUT/timing.md"
  done
done
python3 - "$OUT/timing.md" <<'PY' | tee -a "$OUT/timing.md"
import statistics, sys
rows = [l.split("|") for l in open(sys.argv[1]) if l.startswith("| ") and l.split("|")[2].strip() in ("host", "sam")]
rtf = {"host": [], "sam": []}
for r in rows:
    try:
        rtf[r[2].strip()].append(float(r[4]))
    except ValueError:
        pass
h, s = statistics.median(rtf["host"]), statistics.median(rtf["sam"])
print(f"\nmedian RTF: host release {h:.3f}, SAM-built {s:.3f}; SAM-built / host = {s / h:.3f}")
PY
