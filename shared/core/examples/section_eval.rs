//! Measures transcript sectioning and note-topic routing against MTS-Dialog's labels.
//!
//! `cargo run --release -p veriscribe-core --example section_eval -- /path/to/shared/data`
//!
//! Every MTS-Dialog snippet carries one of 20 note section headers (`section_header`) and the
//! transcript section it maps to (`transcript_section`: SUBJECTIVE / OBJECTIVE /
//! ASSESSMENT_AND_PLAN). Reported per part: the router's transcript section (accuracy, balanced
//! accuracy = mean per-class recall, per-class recall), its note topic (20-way accuracy against
//! the header, per-header recall), and the per-turn sections that the pipeline writes
//! (`sections::assign_sections`) as a majority over each snippet, with per-class recall.
//! The routing weights were fitted on rows whose index % 5 != 0 ("tune"); rows with
//! index % 5 == 0 ("held-out") were not used for fitting. The per-turn sections also use the
//! learned section model (`clinical::section_model`), trained on the MTS-Dialog train rows (and
//! ACI-Bench train visits), so its "train rows" figure is a fitted one: the cross-validated figure
//! is printed by `scripts/train_section_model.py`; "validation rows" were never fitted on. Also
//! prints the section mix predicted on ACI-Bench visits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use veriscribe_core::clinical::routing::route_conversation;
use veriscribe_core::clinical::sections::assign_sections;
use veriscribe_core::formats::{ParticipantRole, TranscriptSection};

#[derive(Default)]
struct Tally {
    /// label → (right, total)
    by_label: BTreeMap<String, (usize, usize)>,
}

impl Tally {
    fn add(&mut self, label: &str, right: bool) {
        let entry = self.by_label.entry(label.to_string()).or_default();
        entry.1 += 1;
        entry.0 += usize::from(right);
    }
    fn accuracy(&self) -> f64 {
        let (r, t) = self
            .by_label
            .values()
            .fold((0, 0), |a, (r, t)| (a.0 + r, a.1 + t));
        r as f64 / t.max(1) as f64
    }
    fn balanced(&self) -> f64 {
        let recalls: Vec<f64> = self
            .by_label
            .values()
            .map(|(r, t)| *r as f64 / *t as f64)
            .collect();
        recalls.iter().sum::<f64>() / recalls.len().max(1) as f64
    }
    fn print(&self, name: &str, verbose: bool) {
        let total: usize = self.by_label.values().map(|(_, t)| t).sum();
        println!(
            "  {name:<34} accuracy {:.4}  balanced accuracy {:.4}  (n = {total})",
            self.accuracy(),
            self.balanced()
        );
        if verbose {
            for (label, (r, t)) in &self.by_label {
                println!(
                    "      {label:<22} recall {:.3} ({r}/{t})",
                    *r as f64 / *t as f64
                );
            }
        }
    }
}

#[derive(Default)]
struct Part {
    section: Tally,
    topic: Tally,
    turn_majority: Tally,
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let verbose = !std::env::args().any(|a| a == "--brief");
    let mts = std::fs::read_to_string(dir.join("mts_dialog_dev.jsonl")).expect("MTS-Dialog file");
    let (mut tune, mut held) = (Part::default(), Part::default());
    // By the data's own split: the learned section model is trained on the train rows only.
    let (mut by_train, mut by_validation) = (Tally::default(), Tally::default());
    for (index, line) in mts.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let row: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let turns = turns_of(&row["dialogue_turns"]);
        let input: Vec<(ParticipantRole, &str)> =
            turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
        let label = row["transcript_section"].as_str().unwrap_or("");
        let header = row["section_header"].as_str().unwrap_or("");
        let routing = route_conversation(&input);
        let part = if index % 5 == 0 { &mut held } else { &mut tune };
        part.section.add(label, routing.section.as_str() == label);
        part.topic.add(header, routing.topic.mts_header() == header);
        let per_turn = assign_sections(&input);
        let got = majority(&per_turn);
        part.turn_majority.add(label, got == label);
        let split = if row["split"] == "train" {
            &mut by_train
        } else {
            &mut by_validation
        };
        split.add(label, got == label);
        // Debugging aid: SECTION_EVAL_SHOW=1 prints the id and per-turn sections (no text) of
        // the tune rows whose turn majority is wrong.
        if index % 5 != 0 && std::env::var("SECTION_EVAL_SHOW").is_ok() && got != label {
            let short: Vec<&str> = per_turn.iter().map(short_name).collect();
            println!("-- {} {label} got {got}: {}", row["id"], short.join(" "));
        }
        // Debugging aid: ROUTE_EVAL_SHOW=ROS prints the misses of that header.
        if std::env::var("ROUTE_EVAL_SHOW").is_ok_and(|h| h == header)
            && routing.topic.mts_header() != header
        {
            println!("-- {} routed to {}", row["id"], routing.topic.mts_header());
        }
    }
    for (name, part) in [
        ("tune (index % 5 != 0)", &tune),
        ("held-out (index % 5 == 0)", &held),
    ] {
        println!("mts-dialog {name}");
        part.section.print("transcript section (router)", verbose);
        part.topic.print("note topic, 20 headers (router)", verbose);
        part.turn_majority
            .print("transcript section (turn majority)", verbose);
    }

    println!("mts-dialog by split (turn majority, what the product writes)");
    by_train.print("train rows (1,201)", verbose);
    by_validation.print("validation rows (100)", verbose);

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

fn short_name(section: &TranscriptSection) -> &'static str {
    match section {
        TranscriptSection::Other => "O",
        TranscriptSection::Subjective => "S",
        TranscriptSection::Objective => "X",
        TranscriptSection::AssessmentAndPlan => "AP",
        TranscriptSection::Unknown(_) => "?",
    }
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
