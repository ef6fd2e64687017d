//! Writes the hand cue scores of every turn (`sections::cue_emissions`, after context) for the
//! MTS-Dialog rows and the ACI-Bench train and dev visits, one JSON line per conversation
//! (`{"id", "cues": [[OTHER, SUBJECTIVE, OBJECTIVE, ASSESSMENT_AND_PLAN], …]}`, no text), for
//! `scripts/train_section_model.py`.
//!
//! `cargo run --release -p veriscribe-core --example section_features -- ../shared/data OUT.jsonl`

use std::io::Write;
use std::path::PathBuf;

use veriscribe_core::clinical::sections::cue_emissions;
use veriscribe_core::formats::ParticipantRole;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data".into()));
    let out = PathBuf::from(args.next().expect("output file"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out).expect("output file"));
    for (name, key) in [
        ("mts_dialog_dev.jsonl", "dialogue_turns"),
        ("aci_bench_train.jsonl", "turns"),
        ("aci_bench_dev.jsonl", "turns"),
    ] {
        let text = std::fs::read_to_string(dir.join(name)).expect("data file");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let row: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let turns: Vec<(ParticipantRole, String)> = row[key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    let speaker = t["speaker"].as_str().unwrap_or("").to_ascii_lowercase();
                    // The same role rule as section_eval.
                    let role = if speaker.starts_with("doctor") || speaker.contains("clinician") {
                        ParticipantRole::CLINICIAN_0
                    } else {
                        ParticipantRole::PATIENT_0
                    };
                    (role, t["text"].as_str().unwrap_or("").to_string())
                })
                .collect();
            let input: Vec<(ParticipantRole, &str)> =
                turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
            let record = serde_json::json!({"id": row["id"], "cues": cue_emissions(&input)});
            writeln!(file, "{record}").expect("write");
        }
    }
}
