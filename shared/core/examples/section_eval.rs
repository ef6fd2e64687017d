//! Measures transcript sectioning against MTS-Dialog's per-conversation topic labels.
//!
//! `cargo run -p veriscribe-core --example section_eval -- /path/to/shared/data`
//!
//! MTS-Dialog labels each short conversation with the one note section it covers (mapped to
//! SUBJECTIVE / OBJECTIVE / ASSESSMENT_AND_PLAN in the data). Per-turn labels do not exist, so
//! the score is: the most frequent non-OTHER section predicted over the conversation's turns
//! equals the conversation's label. Also prints the section mix predicted on ACI-Bench visits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use veriscribe_core::clinical::sections::assign_sections;
use veriscribe_core::formats::{ParticipantRole, TranscriptSection};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let mts = std::fs::read_to_string(dir.join("mts_dialog_dev.jsonl")).expect("MTS-Dialog file");
    let mut by_label: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for line in mts.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let turns = turns_of(&row["dialogue_turns"]);
        let input: Vec<(ParticipantRole, &str)> =
            turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
        let sections = assign_sections(&input);
        let predicted = majority(&sections);
        let label = row["transcript_section"].as_str().unwrap_or("").to_string();
        // Debugging aid: SECTION_EVAL_SHOW=ASSESSMENT_AND_PLAN prints misses of that label.
        if std::env::var("SECTION_EVAL_SHOW").is_ok_and(|l| l == label) && predicted != label {
            println!("-- {} predicted {predicted}", row["id"]);
            for ((_, text), section) in input.iter().zip(&sections) {
                println!(
                    "   {:<20} {}",
                    section.as_str(),
                    text.chars().take(110).collect::<String>()
                );
            }
        }
        let entry = by_label.entry(label.clone()).or_default();
        entry.1 += 1;
        if predicted == label {
            entry.0 += 1;
        }
    }
    let (right, total) = by_label
        .values()
        .fold((0, 0), |a, (r, t)| (a.0 + r, a.1 + t));
    println!(
        "mts-dialog: conversation topic accuracy {:.4} ({right}/{total})",
        right as f64 / total as f64
    );
    let recalls: Vec<f64> = by_label
        .iter()
        .map(|(label, (r, t))| {
            let recall = *r as f64 / *t as f64;
            println!("  {label:<22} recall {recall:.4} ({r}/{t})");
            recall
        })
        .collect();
    println!(
        "  macro-averaged recall {:.4}",
        recalls.iter().sum::<f64>() / recalls.len() as f64
    );

    let aci = std::fs::read_to_string(dir.join("aci_bench_dev.jsonl")).expect("ACI-Bench file");
    let mut mix: BTreeMap<String, usize> = BTreeMap::new();
    let mut turns_total = 0;
    for line in aci.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let turns = turns_of(&row["turns"]);
        let input: Vec<(ParticipantRole, &str)> =
            turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
        for section in assign_sections(&input) {
            *mix.entry(section.to_string()).or_default() += 1;
            turns_total += 1;
        }
    }
    println!("aci-bench: predicted section mix over {turns_total} turns");
    for (section, n) in mix {
        println!("  {section:<22} {:.3}", n as f64 / turns_total as f64);
    }
}

fn turns_of(turns: &serde_json::Value) -> Vec<(ParticipantRole, String)> {
    turns
        .as_array()
        .map(|turns| {
            turns
                .iter()
                .map(|t| {
                    let speaker = t["speaker"].as_str().unwrap_or("").to_ascii_lowercase();
                    let role = if speaker.starts_with("doctor") || speaker.contains("clinician") {
                        ParticipantRole::CLINICIAN_0
                    } else {
                        ParticipantRole::PATIENT_0
                    };
                    (role, t["text"].as_str().unwrap_or("").to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Most frequent non-OTHER section; OTHER only when nothing else was predicted.
fn majority(sections: &[TranscriptSection]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in sections.iter().filter(|s| **s != TranscriptSection::Other) {
        *counts.entry(s.as_str()).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(s, _)| s.to_string())
        .unwrap_or_else(|| "OTHER".to_string())
}
