//! Times `stages::documentation` (note generation, evidence check included) on a transcript of
//! about 30 minutes, built by concatenating ACI-Bench dev dialogues.
//!
//! `cargo bench -p veriscribe-core --bench documentation`
//!
//! The dialogues are read from `VERISCRIBE_DEV_DATA` (a JSONL file) or from
//! `../shared/data/aci_bench_dev.jsonl` next to the repository; without them the repository's
//! `samples/visit.txt` is repeated instead. Prints one results line; the target is < 100 ms
//! on one core.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use veriscribe_core::clinical::section_model::{SectionModel, MODEL_TSV};
use veriscribe_core::clinical::sections::{assign_sections, cue_emissions};
use veriscribe_core::formats::{NoteTemplate, ParticipantRole};
use veriscribe_core::stages::{documentation, transcript_from_dialogue, ConversationSettings};

/// Conversational speech runs at about 150 words a minute.
const WORDS_PER_MINUTE: usize = 150;
const TARGET_MINUTES: usize = 30;
const RUNS: usize = 20;

fn main() {
    let dialogue = thirty_minute_dialogue();
    let words = dialogue.split_whitespace().count();
    let settings = ConversationSettings {
        job_name: "bench".into(),
        ..ConversationSettings::default()
    };
    let transcript = transcript_from_dialogue(&dialogue, &settings).expect("dialogue parses");
    let segments = transcript.conversation.transcript_segments.len();

    // One warm-up run, then the timed ones.
    let note = documentation(&transcript, NoteTemplate::HistoryAndPhysical).expect("evidence");
    let sentences: usize = note
        .clinical_documentation
        .sections
        .iter()
        .map(|s| s.summary.len())
        .sum();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(documentation(black_box(&transcript), NoteTemplate::HistoryAndPhysical).ok());
            start.elapsed()
        })
        .collect();
    times.sort();
    // For scale: the text stages before it (turns, roles, sections, insights).
    let mut transcript_times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(transcript_from_dialogue(black_box(&dialogue), &settings).ok());
            start.elapsed()
        })
        .collect();
    transcript_times.sort();
    // The sections step alone: the hand cue scores (with context) against the whole step
    // (hand cues, learned model, decoding), same turns, interleaved runs; and the model's parse.
    let turns: Vec<(ParticipantRole, &str)> = transcript
        .conversation
        .transcript_segments
        .iter()
        .map(|s| (s.participant_details.participant_role, s.content.as_str()))
        .collect();
    let start = Instant::now();
    let parsed = SectionModel::parse(black_box(MODEL_TSV)).expect("model parses");
    let parse_time = start.elapsed();
    black_box(parsed);
    let (mut cue_times, mut section_times) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let start = Instant::now();
        black_box(cue_emissions(black_box(&turns)));
        cue_times.push(start.elapsed());
        let start = Instant::now();
        black_box(assign_sections(black_box(&turns)));
        section_times.push(start.elapsed());
    }
    cue_times.sort();
    section_times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "sections ({} turns): hand cues with context median {:.2} ms, whole step (cues + learned \
         model + decoding) median {:.2} ms, ratio {:.2}; section model parse (cold) {:.1} ms",
        turns.len(),
        ms(cue_times[RUNS / 2]),
        ms(section_times[RUNS / 2]),
        ms(section_times[RUNS / 2]) / ms(cue_times[RUNS / 2]),
        ms(parse_time),
    );
    println!(
        "documentation: {words} words (~{} min), {segments} segments, {sentences} note sentences: \
         median {:.1} ms, min {:.1} ms, max {:.1} ms over {RUNS} runs (target < 100 ms)",
        words / WORDS_PER_MINUTE,
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS - 1]),
    );
    println!(
        "transcript_from_dialogue (same dialogue, for scale): median {:.1} ms",
        ms(transcript_times[RUNS / 2]),
    );
}

/// `[speaker] text` lines, dialogue after dialogue, until about 30 minutes of speech.
fn thirty_minute_dialogue() -> String {
    let target_words = WORDS_PER_MINUTE * TARGET_MINUTES;
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data = std::env::var_os("VERISCRIBE_DEV_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../../shared/data/aci_bench_dev.jsonl"));
    let mut lines: Vec<String> = Vec::new();
    let mut words = 0;
    if let Ok(jsonl) = std::fs::read_to_string(&data) {
        'dialogues: for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
            let row: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            for turn in row["turns"].as_array().into_iter().flatten() {
                let text = turn["text"].as_str().unwrap_or("").trim();
                if text.is_empty() {
                    continue;
                }
                let speaker = turn["speaker"].as_str().unwrap_or("speaker");
                lines.push(format!("[{speaker}] {text}"));
                words += text.split_whitespace().count();
                if words >= target_words {
                    break 'dialogues;
                }
            }
        }
    }
    if words < target_words {
        let sample = std::fs::read_to_string(manifest.join("../../samples/visit.txt"))
            .expect("samples/visit.txt");
        let sample_words = sample.split_whitespace().count().max(1);
        for _ in 0..(target_words - words).div_ceil(sample_words) {
            lines.extend(sample.lines().map(str::to_string));
        }
    }
    lines.join("\n")
}
