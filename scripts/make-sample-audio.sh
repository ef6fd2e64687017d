#!/usr/bin/env bash
# Speaks a `[label] text` dialogue into a 16 kHz WAV (mono, and a stereo copy with the clinician on
# channel 0 and the patient on channel 1), with the kit's voices (../shared/bench/synth_dialogue.py):
# the clinician is Festival's cmu_us_slt_arctic_hts, the patient flite's cmu_us_rms (Debian
# packages festival, festvox-us-slt-hts, flite; scripts/setup.sh installs them).
# Deterministic: sox is told not to dither (-D), so the same text and package versions give the
# same bytes, and so the same transcript and note (cli/tests/demo.rs checks both).
# Usage: make-sample-audio.sh DIALOGUE.txt OUT.wav
set -euo pipefail
dialogue=${1:?dialogue .txt}; out=${2:?output .wav}
for tool in text2wave flite sox; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/setup.sh (festival, flite, sox)" >&2; exit 1; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$out")"
i=0; mono_parts=(); left_parts=(); right_parts=()
sox -D -n -r 16000 -c 1 -b 16 "$work/gap.wav" trim 0 0.6
while IFS= read -r line || [ -n "$line" ]; do
  [[ "$line" =~ ^\[([a-z_0-9]+)\][[:space:]]*(.+)$ ]] || continue
  label=${BASH_REMATCH[1]}; text=${BASH_REMATCH[2]}
  i=$((i + 1))
  printf '%s\n' "$text" > "$work/text$i.txt"
  case "$label" in
    doctor|clinician) ch=0; text2wave -eval "(voice_cmu_us_slt_arctic_hts)" "$work/text$i.txt" -o "$work/raw$i.wav" ;;
    *) ch=1; flite -voice rms -f "$work/text$i.txt" -o "$work/raw$i.wav" ;;
  esac
  sox -D "$work/raw$i.wav" -r 16000 -c 1 -b 16 "$work/t$i.wav"
  sox -D "$work/t$i.wav" "$work/silent$i.wav" vol 0
  mono_parts+=("$work/t$i.wav" "$work/gap.wav")
  if [ "$ch" = 0 ]; then left_parts+=("$work/t$i.wav"); right_parts+=("$work/silent$i.wav")
  else left_parts+=("$work/silent$i.wav"); right_parts+=("$work/t$i.wav"); fi
  left_parts+=("$work/gap.wav"); right_parts+=("$work/gap.wav")
done < "$dialogue"
[ "$i" -gt 0 ] || { echo "no [label] lines in $dialogue" >&2; exit 1; }
sox -D "$work/gap.wav" "${mono_parts[@]}" "$out"
sox -D "$work/gap.wav" "${left_parts[@]}" "$work/left.wav"
sox -D "$work/gap.wav" "${right_parts[@]}" "$work/right.wav"
sox -D -M "$work/left.wav" "$work/right.wav" "${out%.wav}.stereo.wav"
echo "$out (${i} turns, $(soxi -D "$out") s)"
