//! Audio decoding, resampling and speech recognition with whisper.cpp.
//!
//! ```no_run
//! use veriscribe_asr::{decode_file, DecodeOptions, TranscribeOptions, WhisperEngine};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = WhisperEngine::load(std::path::Path::new("ggml-tiny.en-q8_0.bin"), None)?;
//! let audio = decode_file(std::path::Path::new("visit.wav"), &DecodeOptions::default())?;
//! let recognition = engine.transcribe(&audio, &TranscribeOptions::default(), &mut |_done| {})?;
//! # let _ = recognition; Ok(()) }
//! ```

pub mod audio;
pub mod diarize;
pub mod memory;
pub mod recognizer;
pub mod speaker_embedding;
pub mod speaker_turns;
pub mod wer;
pub mod whisper;

pub use audio::{
    decode_bytes, decode_file, AudioError, AudioStream, DecodeOptions, DecodedAudio, FormatHint,
    DEFAULT_MAX_DURATION_SECONDS, SUPPORTED_FORMATS, TARGET_SAMPLE_RATE,
};
pub use diarize::{align_channel_turns, diarize, diarize_with_encoder, Diarization};
pub use memory::return_large_buffers_to_os;
pub use recognizer::{decode_recording, transcribe_options, WhisperRecognizer};
pub use whisper::{AsrError, TranscribeOptions, WhisperEngine};
