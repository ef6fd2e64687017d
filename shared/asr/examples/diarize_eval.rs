//! Scores diarization alone (no speech recognition) on synthesized visits with reference
//! timing: every reference word becomes a token at its interpolated time, `diarize` tags it,
//! and each cluster is mapped to the reference speaker it overlaps most.
//!
//! `cargo run --release -p veriscribe-asr --example diarize_eval -- bench/out/audio [MAX_SPEAKERS]`
//!
//! The directory holds `<id>.wav` (mono) and `<id>.ref.json` from `../shared/bench/synth_dialogue.py`.
//! Prints per visit: speakers present / found, word accuracy under that mapping (time-weighted
//! by characters, as the kit's scorer weights words), and diarization time per audio second.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use veriscribe_asr::{decode_file, diarize, DecodeOptions};
use veriscribe_core::speech::{SpokenToken, TokenKind};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "bench/out/audio".into()));
    let max_speakers: u8 = args.next().map_or(2, |m| m.parse().expect("MAX_SPEAKERS"));
    let mut refs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("audio directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".ref.json"))
        .collect();
    refs.sort();
    let (mut total_ok, mut total_words, mut total_audio, mut total_time) =
        (0usize, 0usize, 0.0, 0.0);
    println!("| visit | speakers present | found | word accuracy | diarization s / audio s |");
    println!("| --- | --- | --- | --- | --- |");
    for reference in refs {
        let id = reference
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".ref.json")
            .to_string();
        let wav = dir.join(format!("{id}.wav"));
        if !wav.exists() {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&reference).unwrap()).unwrap();
        let (mut tokens, truth) = reference_tokens(&json);
        let audio = decode_file(&wav, &DecodeOptions::default()).expect("decodable wav");
        let started = Instant::now();
        let found = diarize(&audio.mono(), &mut tokens, max_speakers);
        let seconds = started.elapsed().as_secs_f64();

        // cluster → reference speaker with the most words
        let mut votes: BTreeMap<(u16, &str), usize> = BTreeMap::new();
        for (token, speaker) in tokens.iter().zip(&truth) {
            if let Some(cluster) = token.speaker {
                *votes.entry((cluster, speaker.as_str())).or_default() += 1;
            }
        }
        let mut mapping: BTreeMap<u16, (&str, usize)> = BTreeMap::new();
        for ((cluster, speaker), count) in votes {
            let entry = mapping.entry(cluster).or_insert((speaker, 0));
            if count > entry.1 {
                *entry = (speaker, count);
            }
        }
        let ok = tokens
            .iter()
            .zip(&truth)
            .filter(|(t, s)| {
                t.speaker.and_then(|c| mapping.get(&c)).map(|m| m.0) == Some(s.as_str())
            })
            .count();
        let mut present: Vec<&String> = truth.iter().collect();
        present.sort();
        present.dedup();
        println!(
            "| {id} | {} | {} | {:.4} | {:.4} |",
            present.len(),
            found.speakers,
            ok as f64 / truth.len().max(1) as f64,
            seconds / audio.duration_seconds
        );
        total_ok += ok;
        total_words += truth.len();
        total_audio += audio.duration_seconds;
        total_time += seconds;
    }
    println!(
        "| all | | | {:.4} | {:.4} |",
        total_ok as f64 / total_words.max(1) as f64,
        total_time / total_audio.max(1e-9)
    );
}

/// One token per reference word, timed by character share within its turn.
fn reference_tokens(json: &serde_json::Value) -> (Vec<SpokenToken>, Vec<String>) {
    let mut tokens = Vec::new();
    let mut speakers = Vec::new();
    for turn in json["turns"].as_array().expect("turns") {
        let text = turn["text"].as_str().unwrap_or("");
        let words: Vec<&str> = text.split_whitespace().collect();
        let (begin, end) = (
            turn["begin"].as_f64().unwrap_or(0.0),
            turn["end"].as_f64().unwrap_or(0.0),
        );
        let total: usize = words.iter().map(|w| w.len() + 1).sum();
        let mut done = 0usize;
        for word in words {
            let start = begin + (end - begin) * done as f64 / total.max(1) as f64;
            done += word.len() + 1;
            let stop = begin + (end - begin) * done as f64 / total.max(1) as f64;
            tokens.push(SpokenToken {
                text: word.to_string(),
                kind: TokenKind::Word,
                start,
                end: stop,
                confidence: 1.0,
                channel: None,
                speaker: None,
                starts_segment: false,
            });
            speakers.push(turn["speaker"].as_str().unwrap_or("").to_string());
        }
    }
    (tokens, speakers)
}
