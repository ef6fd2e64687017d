//! Speaker turns alone (no speech recognition) on the real-voice dev set, for several clustering
//! thresholds: writes `<out>/t<threshold>/<id>/transcript.json` with one segment per turn
//! (ParticipantRole `SPK_<n>`), to be scored by `bench/score_speakers.py`.
//!
//! `cargo run --release -p veriscribe-asr --example diarize_real -- bench/out/real_voices bench/out/real_turns MODEL_DIR 0.70 0.75 0.80`
//!
//! Three-voice conversations (`three_*`) run with at most 3 speakers, the others with at most 2.
//! Prints the embedding time per audio second.

use std::path::PathBuf;
use std::time::Instant;

use veriscribe_asr::speaker_embedding::SpeakerEncoder;
use veriscribe_asr::speaker_turns::{turns_from_embeddings, window_embeddings};
use veriscribe_asr::{decode_file, DecodeOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [refs, out, model_dir, thresholds @ ..] = args.as_slice() else {
        return Err("usage: diarize_real REF_DIR OUT_DIR MODEL_DIR THRESHOLD...".into());
    };
    let encoder =
        SpeakerEncoder::load(&PathBuf::from(model_dir).join("ge2e-resemblyzer-0.1.4.f32"))?;
    let mut ids: Vec<String> = std::fs::read_dir(refs)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".ref.json"))
                .map(String::from)
        })
        .collect();
    ids.sort();
    let (mut audio_s, mut spent_s) = (0.0, 0.0);
    for id in ids {
        let audio = decode_file(
            &PathBuf::from(refs).join(format!("{id}.wav")),
            &DecodeOptions::default(),
        )?;
        let signal = audio.mono();
        let max_speakers = if id.starts_with("three_") { 3 } else { 2 };
        let started = Instant::now();
        let found = window_embeddings(&signal, &encoder);
        spent_s += started.elapsed().as_secs_f64();
        audio_s += audio.duration_seconds;
        if let Some(dump) = std::env::var_os("DIARIZE_REAL_DUMP") {
            // Window times and embeddings, for trying clustering rules offline.
            let windows: Vec<serde_json::Value> = found
                .windows
                .iter()
                .zip(&found.embeddings)
                .map(|(w, e)| serde_json::json!({"start": w.start, "end": w.end, "e": e.to_vec()}))
                .collect();
            let dir = PathBuf::from(dump);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join(format!("{id}.json")),
                serde_json::to_string(
                    &serde_json::json!({"runs": found.runs, "windows": windows}),
                )?,
            )?;
        }
        for threshold in thresholds {
            let value: f32 = threshold.parse()?;
            let turns = turns_from_embeddings(&found, max_speakers, value);
            let segments: Vec<serde_json::Value> = turns
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "BeginAudioTime": t.start, "EndAudioTime": t.end, "Content": "",
                        "ParticipantDetails": {"ParticipantRole": format!("SPK_{}", t.speaker)}
                    })
                })
                .collect();
            let dir = PathBuf::from(out).join(format!("t{threshold}")).join(&id);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join("transcript.json"),
                serde_json::to_string(
                    &serde_json::json!({"Conversation": {"TranscriptSegments": segments}}),
                )?,
            )?;
        }
    }
    println!(
        "window embeddings: {spent_s:.2} s for {audio_s:.1} s of audio ({:.4} s per audio s)",
        spent_s / audio_s
    );
    Ok(())
}
