//! Transcribes one audio file and writes HealthScribe-like `TranscriptItems` (no turns or
//! roles) for `score_transcript.py`; prints timing to stderr.
//!
//! cargo run -p veriscribe-asr --example transcribe_file -- AUDIO OUT.json [--channels] [--model PATH] [--threads N]
//!     [--window-seconds S] [--two-pass] [--prompt-file FILE]
//!
//! The benchmark harness (`bench/compare.py`) reads the timing line.

use std::path::PathBuf;
use std::time::Instant;

use veriscribe_asr::{decode_file, DecodeOptions, TranscribeOptions, WhisperEngine};
use veriscribe_core::speech::TokenKind;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: transcribe_file AUDIO OUT.json [--channels] [--model PATH] [--threads N] [--window-seconds S] [--two-pass] [--prompt-file FILE]";
    let audio_path = PathBuf::from(args.next().ok_or(usage)?);
    let out_path = PathBuf::from(args.next().ok_or(usage)?);
    let mut options = TranscribeOptions::default();
    let mut model = std::env::var_os("VERISCRIBE_MODEL_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/veriscribe/models/ggml-tiny.en-q8_0.bin")
        });
    let mut threads = None;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--channels" => options.channel_identification = true,
            "--model" => model = PathBuf::from(args.next().ok_or(usage)?),
            "--threads" => threads = Some(args.next().ok_or(usage)?.parse()?),
            "--window-seconds" => options.window_seconds = args.next().ok_or(usage)?.parse()?,
            "--two-pass" => options.second_pass = true,
            "--beam" => options.beam_size = args.next().ok_or(usage)?.parse()?,
            // the decoder prompt (e.g. a custom vocabulary's phrases), read from a file
            "--prompt-file" => {
                options.initial_prompt = Some(
                    std::fs::read_to_string(args.next().ok_or(usage)?)?
                        .trim()
                        .to_string(),
                )
            }
            _ => return Err(usage.into()),
        }
    }
    veriscribe_asr::return_large_buffers_to_os(); // as `veriscribe run` does
    let started = Instant::now();
    let engine = WhisperEngine::load(&model, threads)?;
    let loaded = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let audio = decode_file(&audio_path, &DecodeOptions::default())?;
    let decoded = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let recognition = engine.transcribe(&audio, &options, &mut |_| {})?;
    let transcribed = started.elapsed().as_secs_f64();
    eprintln!(
        "audio {:.1} s, {} channel(s); load {loaded:.2} s, decode {decoded:.2} s, transcribe {transcribed:.1} s, RTF {:.3}, tokens {}",
        audio.duration_seconds,
        audio.channels.len(),
        transcribed / audio.duration_seconds,
        recognition.tokens.len()
    );
    let items: Vec<serde_json::Value> = recognition
        .tokens
        .iter()
        .map(|token| {
            serde_json::json!({
                "Type": if token.kind == TokenKind::Word { "PRONUNCIATION" } else { "PUNCTUATION" },
                "Alternatives": [{ "Content": token.text, "Confidence": token.confidence }],
                "BeginAudioTime": token.start,
                "EndAudioTime": token.end,
                "Channel": token.channel,
            })
        })
        .collect();
    let document = serde_json::json!({ "Conversation": { "TranscriptItems": items } });
    std::fs::write(&out_path, serde_json::to_string_pretty(&document)?)?;
    Ok(())
}
