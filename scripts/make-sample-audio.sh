#!/usr/bin/env bash
# Speaks a `[label] text` dialogue with two espeak-ng voices into a 16 kHz WAV (mono, and a stereo
# copy with the clinician on channel 0 and the patient on channel 1). Deterministic: the same text
# and espeak-ng/sox versions give the same bytes. Usage: make-sample-audio.sh DIALOGUE.txt OUT.wav
set -euo pipefail
dialogue=${1:?dialogue .txt}; out=${2:?output .wav}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$out")"
i=0; mono_parts=(); left_parts=(); right_parts=()
sox -n -r 16000 -c 1 -b 16 "$work/gap.wav" trim 0 0.6
while IFS= read -r line || [ -n "$line" ]; do
  [[ "$line" =~ ^\[([a-z_0-9]+)\][[:space:]]*(.+)$ ]] || continue
  label=${BASH_REMATCH[1]}; text=${BASH_REMATCH[2]}
  case "$label" in doctor|clinician) voice="en-us+m3"; ch=0 ;; *) voice="en-gb+f3"; ch=1 ;; esac
  i=$((i + 1))
  espeak-ng -v "$voice" -s 165 -w "$work/raw$i.wav" "$text"
  sox "$work/raw$i.wav" -r 16000 -c 1 -b 16 "$work/t$i.wav"
  sox "$work/t$i.wav" "$work/silent$i.wav" vol 0
  mono_parts+=("$work/t$i.wav" "$work/gap.wav")
  if [ "$ch" = 0 ]; then left_parts+=("$work/t$i.wav"); right_parts+=("$work/silent$i.wav")
  else left_parts+=("$work/silent$i.wav"); right_parts+=("$work/t$i.wav"); fi
  left_parts+=("$work/gap.wav"); right_parts+=("$work/gap.wav")
done < "$dialogue"
[ "$i" -gt 0 ] || { echo "no [label] lines in $dialogue" >&2; exit 1; }
sox "$work/gap.wav" "${mono_parts[@]}" "$out"
sox "$work/gap.wav" "${left_parts[@]}" "$work/left.wav"
sox "$work/gap.wav" "${right_parts[@]}" "$work/right.wav"
sox -M "$work/left.wav" "$work/right.wav" "${out%.wav}.stereo.wav"
echo "$out (${i} turns, $(soxi -D "$out") s)"
