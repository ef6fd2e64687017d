#!/usr/bin/env bash
# Checks that whisper.cpp's CPU kernels were compiled with the instructions the deployment
# needs (vendor/whisper-rs-sys/build.rs sets them from the Cargo target): counts them with
# objdump and fails when one is missing.
#
#   scripts/check-cpu-features.sh [BINARY_OR_LIB ...]
#
# Without arguments it checks the newest ggml CPU library that cargo built under
# ${CARGO_TARGET_DIR:-target} (libggml-cpu.a in whisper-rs-sys's build output). An argument can
# be such a library or a binary that links whisper.cpp (e.g. target/lambda/transcribe/bootstrap);
# in a binary only functions whose names belong to ggml/whisper.cpp are counted, so Rust code and
# aws-lc (which has its own AVX-512 paths, chosen at run time) don't count.
#
# x86_64 needs FMA, F16C and AVX2 instructions and no AVX-512 (Lambda does not guarantee it);
# aarch64 needs dot-product (sdot/udot) and fp16 arithmetic instructions.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# Function names in a linked binary that are whisper.cpp's or ggml's (C symbols and the C++
# kernels' mangled names).
GGML_FUNCS='ggml|gguf|whisper|tinyBLAS|sgemm|llamafile|packed_gemm|quantize|repack|_ZN4ggml'

files=("$@")
if ((${#files[@]} == 0)); then
  target=${CARGO_TARGET_DIR:-$root/target}
  newest=$(find "$target" -path '*/build/whisper-rs-sys-*/out/lib*/libggml-cpu.a' -printf '%T@ %p\n' 2>/dev/null |
    sort -rn | head -n 1 | cut -d' ' -f2-)
  if [ -z "$newest" ]; then
    echo "check-cpu-features: no libggml-cpu.a under $target/*/build/whisper-rs-sys-*/out; build first" \
      "(e.g. cargo test --workspace --no-run) or name a binary" >&2
    exit 2
  fi
  files=("$newest")
fi

status=0
for file in "${files[@]}"; do
  if [ ! -f "$file" ]; then
    echo "check-cpu-features: $file: no such file" >&2
    exit 2
  fi
  case "$file" in
    *.a | *.o) filter='' ;;  # ggml's own objects: count everything
    *) filter=$GGML_FUNCS ;;
  esac
  arch=$(objdump -f "$file" 2>/dev/null | sed -n 's/^architecture: \([^,]*\).*/\1/p' | head -n 1 || true)
  if [ -z "$arch" ]; then
    # GNU objdump of an x86 host cannot read other architectures' headers; ask file(1)/readelf.
    if readelf -h "$file" 2>/dev/null | grep -q 'AArch64'; then arch=aarch64; fi
  fi
  case "$arch" in
    *x86-64*) kind=x86_64; disasm=(objdump -d --no-show-raw-insn) ;;
    aarch64*)
      kind=aarch64
      if command -v aarch64-linux-gnu-objdump >/dev/null; then
        disasm=(aarch64-linux-gnu-objdump -d --no-show-raw-insn)
      elif command -v llvm-objdump >/dev/null; then
        disasm=(llvm-objdump -d --no-show-raw-insn)
      else
        echo "check-cpu-features: $file is aarch64; install binutils-aarch64-linux-gnu or llvm" >&2
        exit 2
      fi
      ;;
    *) echo "check-cpu-features: $file: unsupported or unreadable architecture '${arch}'" >&2; exit 2 ;;
  esac

  # One awk pass over the disassembly: "functions<TAB>matched<TAB>labels", then
  # "feature<TAB>count" lines.
  count() {
    "${disasm[@]}" "$file" | awk -v kind="$kind" -v filter="$1" '
    BEGIN { keep = (filter == ""); nfunc = 0; labels = 0 }
    /^[0-9a-f]+ <[^>]*>:$/ {
      name = $0; sub(/^[0-9a-f]+ </, "", name); sub(/>:$/, "", name)
      if (name ~ /^\./) { keep = (filter == "") || labels == 0; next }   # section label only
      labels++
      keep = (filter == "") || (name ~ filter)
      if (keep) nfunc++
      next
    }
    !keep { next }
    /^ *[0-9a-f]+:\t/ {
      line = $0; sub(/^ *[0-9a-f]+:\t/, "", line)
      n = split(line, w, /[ \t]+/)
      op = w[1]; if (op ~ /^(\{vex\}|\{evex\}|lock|rep|repz|repnz|notrack|bnd)$/ && n > 1) op = w[2]
      if (kind == "x86_64") {
        if (op ~ /^vf(n)?m(add|sub|addsub|subadd)/) fma++
        if (op ~ /^vcvt(ph2ps|ps2ph)$/) f16c++
        if (line ~ /%ymm/ && (op ~ /^vp/ && op !~ /^vp(test|ermilp[sd]|erm2f128)$/ || op ~ /^(vinserti128|vextracti128|vperm2i128|vbroadcasti128|vpgather|vgather)/)) avx2++
        if (line ~ /%ymm/) ymm++
        if (line ~ /%zmm|%[xy]mm(1[6-9]|2[0-9]|3[01])([^0-9]|$)|\{%k[1-7]\}/) avx512++
      } else {
        if (op ~ /^[su]dot$/) dot++
        if (op ~ /^f/ && op !~ /^fcvt[ln]/ && line ~ /\.[48]h|[ \t,]h[0-9]/) fp16++
        if (line ~ /[ \t,]v[0-9]+\.[0-9]+[bhsd]/) neon++
      }
    }
    END {
      printf "functions\t%d\t%d\n", nfunc, labels
      if (kind == "x86_64") {
        printf "FMA\t%d\nF16C\t%d\nAVX2\t%d\nAVX (ymm)\t%d\nAVX-512\t%d\n", fma, f16c, avx2, ymm, avx512
      } else {
        printf "DOTPROD\t%d\nFP16\t%d\nNEON\t%d\n", dot, fp16, neon
      }
    }'
  }
  counts=$(count "$filter")
  read -r _ nfunc labels < <(printf '%s\n' "$counts" | head -n 1 | tr '\t' ' ')
  echo "$file ($kind)"
  whole=0
  if [ -n "$filter" ] && [ "$nfunc" -eq 0 ]; then
    echo "  no ggml/whisper.cpp function symbols (stripped binary?): counted the whole binary, so" \
      "code with run-time dispatch (rustfft: AVX/FMA; aws-lc: AVX2/AVX-512) counts too; F16C is" \
      "ggml's alone, and AVX-512 here is not an error. The library's counts are exact."
    counts=$(count '')
    whole=1
  elif [ -n "$filter" ]; then
    echo "  counted $nfunc ggml/whisper.cpp functions of $labels"
  fi
  printf '  %-10s %-54s %8s\n' feature "instructions counted" count
  while IFS=$'\t' read -r feature count; do
    case "$feature" in
      FMA) what='vfmadd/vfmsub/vfnmadd/vfnmsub*' need=1 ;;
      F16C) what='vcvtph2ps, vcvtps2ph' need=1 ;;
      AVX2) what='integer ops on %ymm (vpmaddubsw, vpaddd, vpermd, ...)' need=1 ;;
      'AVX (ymm)') what='any instruction on %ymm' need=1 ;;
      AVX-512) what='%zmm, %xmm16-31/%ymm16-31, {%k} masks' need=0 ;;
      DOTPROD) what='sdot, udot' need=1 ;;
      FP16) what='fp16 arithmetic (f* on .4h/.8h or h registers)' need=1 ;;
      NEON) what='any instruction on v registers' need=1 ;;
      *) continue ;;
    esac
    verdict=ok
    if [ "$need" = 1 ] && [ "$count" -eq 0 ]; then verdict='MISSING'; status=1; fi
    if [ "$need" = 0 ] && [ "$count" -ne 0 ]; then
      if [ "$whole" = 1 ]; then verdict='(not only ggml)'; else verdict='NOT ALLOWED'; status=1; fi
    fi
    printf '  %-10s %-54s %8d  %s\n' "$feature" "$what" "$count" "$verdict"
  done < <(printf '%s\n' "$counts" | tail -n +2)
done

if ((status)); then
  echo "check-cpu-features: FAILED: whisper.cpp was not compiled for the deployment's CPU features" \
    "(see vendor/README.md; GGML_* environment variables override build.rs)" >&2
fi
exit $status
