//! Speaker roles on synthesized visits through recognition, diarization and the core pipeline,
//! with recognition cached so that diarization and role changes can be measured in seconds.
//!
//! `cargo run --release -p veriscribe-asr --example speaker_eval -- AUDIO_DIR OUT_DIR [MAX_SPEAKERS | stereo]`
//!
//! `stereo` reads `<id>.stereo.wav` instead and uses channel identification (channel 0 the
//! clinician), as `veriscribe run --channel-identification` does.
//!
//! For every `<id>.wav` with an `<id>.ref.json` in AUDIO_DIR: recognition (no speakers) is
//! read from `OUT_DIR/cache/<id>.json`, or made with the default model and saved there; then
//! `diarize` and `stages::transcript_from_recognition` write `OUT_DIR/<id>/transcript.json`,
//! which `../shared/bench/score_transcript.py --ref AUDIO_DIR --pred OUT_DIR` scores.
//! Prints the diarization time as a share of the recognition time (the cost target).
//! `SPEAKER_EVAL_CACHED_ONLY=1` skips visits not recognised yet; `SPEAKER_EVAL_TWO_PASS=1`
//! turns on the second decode of skipped speech (off by default; for comparison).
//! `SPEAKER_EVAL_ENCODER=PATH` diarizes with the GE2E speaker encoder at PATH
//! (`diarize_with_encoder`) instead of pitch and cepstra. MAX_SPEAKERS `auto`: 3 for ids starting
//! with `three_` (the real-voice dev set of `bench/real_voices.py`), else 2.

use std::path::PathBuf;
use std::time::Instant;

use veriscribe_asr::speaker_embedding::SpeakerEncoder;
use veriscribe_asr::{
    decode_file, diarize, diarize_with_encoder, DecodeOptions, Diarization, TranscribeOptions,
    WhisperEngine,
};
use veriscribe_core::speech::Recognition;
use veriscribe_core::stages::{self, ConversationSettings};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: speaker_eval AUDIO_DIR OUT_DIR [MAX_SPEAKERS | stereo]";
    let audio_dir = PathBuf::from(args.next().ok_or(usage)?);
    let out_dir = PathBuf::from(args.next().ok_or(usage)?);
    let mode = args.next().unwrap_or_else(|| "2".to_string());
    let stereo = mode == "stereo";
    let auto = mode == "auto";
    let fixed_max: u8 = if stereo || auto { 2 } else { mode.parse()? };
    let encoder = std::env::var_os("SPEAKER_EVAL_ENCODER")
        .map(|path| SpeakerEncoder::load(std::path::Path::new(&path)))
        .transpose()?;
    let suffix = if stereo { ".stereo" } else { "" };
    let model = std::env::var_os("VERISCRIBE_MODEL_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(veriscribe_model_path);
    std::fs::create_dir_all(out_dir.join("cache"))?;
    let mut engine: Option<WhisperEngine> = None;
    let mut ids: Vec<String> = std::fs::read_dir(&audio_dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_suffix(".ref.json").map(str::to_string)
        })
        .filter(|id| audio_dir.join(format!("{id}{suffix}.wav")).exists())
        .collect();
    ids.sort();
    let (mut recognition_total, mut diarization_total) = (0.0, 0.0);
    for id in ids {
        let audio = decode_file(
            &audio_dir.join(format!("{id}{suffix}.wav")),
            &DecodeOptions::default(),
        )?;
        let cache = out_dir.join("cache").join(format!("{id}{suffix}.json"));
        let (mut recognition, seconds): (Recognition, f64) = if cache.exists() {
            serde_json::from_str(&std::fs::read_to_string(&cache)?)?
        } else if std::env::var_os("SPEAKER_EVAL_CACHED_ONLY").is_some() {
            continue;
        } else {
            let engine = match &mut engine {
                Some(engine) => engine,
                None => engine.insert(WhisperEngine::load(&model, None)?),
            };
            let started = Instant::now();
            let options = TranscribeOptions {
                channel_identification: stereo,
                second_pass: std::env::var_os("SPEAKER_EVAL_TWO_PASS").is_some(),
                ..TranscribeOptions::default()
            };
            let recognition = engine.transcribe(&audio, &options, &mut |_| {})?;
            let seconds = started.elapsed().as_secs_f64();
            std::fs::write(&cache, serde_json::to_string(&(&recognition, seconds))?)?;
            (recognition, seconds)
        };
        let max_speakers = if auto && id.starts_with("three_") {
            3
        } else {
            fixed_max
        };
        let started = Instant::now();
        let found = if stereo {
            Diarization {
                speakers: audio.channels.len(),
                pieces: 0,
                speech_seconds: Vec::new(),
            }
        } else if let Some(encoder) = &encoder {
            diarize_with_encoder(
                &audio.mono(),
                &mut recognition.tokens,
                max_speakers,
                encoder,
            )
        } else {
            diarize(&audio.mono(), &mut recognition.tokens, max_speakers)
        };
        let diarized = started.elapsed().as_secs_f64();
        let settings = ConversationSettings {
            job_name: id.clone(),
            max_speakers,
            channel_identification: stereo,
            ..ConversationSettings::default()
        };
        let transcript = stages::transcript_from_recognition(&recognition, &settings);
        std::fs::create_dir_all(out_dir.join(&id))?;
        std::fs::write(
            out_dir.join(&id).join("transcript.json"),
            serde_json::to_vec_pretty(&transcript)?,
        )?;
        let roles: Vec<String> = transcript
            .conversation
            .transcript_segments
            .iter()
            .map(|s| s.participant_details.participant_role.to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        println!(
            "{id}: speakers {} ({:?} s), roles {roles:?}, recognition {seconds:.1} s, diarization {:.3} s ({:.2} % of recognition)",
            found.speakers,
            found.speech_seconds.iter().map(|s| s.round()).collect::<Vec<_>>(),
            diarized,
            100.0 * diarized / seconds
        );
        recognition_total += seconds;
        diarization_total += diarized;
    }
    println!(
        "diarization adds {:.2} % to recognition time",
        100.0 * diarization_total / recognition_total.max(1e-9)
    );
    Ok(())
}

fn veriscribe_model_path() -> PathBuf {
    let base = std::env::var_os("VERISCRIBE_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/veriscribe/models")
        });
    base.join("ggml-tiny.en-q8_0.bin")
}
