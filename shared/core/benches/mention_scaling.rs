//! Does building a transcript and its note stay linear in the number of clinical-term mentions?
//!
//! `cargo bench -p veriscribe-core --bench mention_scaling`
//!
//! Two shapes, synthesized (no patient data): many short turns with two mentions each, and one
//! unpunctuated monologue (a dictation) of 1,000 to 8,000 mentions. For each size it times
//! `transcript_from_dialogue` + `documentation` (median of 3) and prints the ratio to the
//! 1,000-mention run of the same shape, measured in the same process: 8× the mentions should
//! cost about 8×, where a quadratic step would cost 64×. Results table: BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use veriscribe_core::formats::NoteTemplate;
use veriscribe_core::stages::{documentation, transcript_from_dialogue, ConversationSettings};

const TERMS: &[&str] = &[
    "metformin",
    "lisinopril",
    "hypertension",
    "diabetes",
    "cough",
    "fever",
    "asthma",
    "albuterol",
    "chest pain",
    "headache",
];
const SIZES: &[usize] = &[1_000, 2_000, 4_000, 8_000];
const RUNS: usize = 3;

/// A small deterministic generator, so every run measures the same text.
struct Lcg(u64);

impl Lcg {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        items[(self.0 >> 33) as usize % items.len()]
    }
}

fn short_turns(mentions: usize) -> String {
    let mut rng = Lcg(1);
    (0..mentions / 2)
        .map(|i| {
            let (a, b) = (rng.pick(TERMS), rng.pick(TERMS));
            if i % 2 == 0 {
                format!("[doctor] Do you have {a} or take {b}?\n")
            } else {
                format!("[patient] I have {a} and I take {b} every day.\n")
            }
        })
        .collect()
}

fn monologue(mentions: usize) -> String {
    let mut rng = Lcg(2);
    let fillers = ["and", "the", "also", "with", "some"];
    let mut text = String::from("[doctor] How have you been?\n[patient]");
    for _ in 0..mentions {
        text.push(' ');
        text.push_str(rng.pick(TERMS));
        text.push(' ');
        text.push_str(rng.pick(&fillers));
    }
    text.push_str(".\n");
    text
}

fn time_once(dialogue: &str, settings: &ConversationSettings) -> Duration {
    let start = Instant::now();
    let transcript = transcript_from_dialogue(black_box(dialogue), settings).expect("parses");
    black_box(documentation(&transcript, NoteTemplate::HistoryAndPhysical).ok());
    start.elapsed()
}

fn main() {
    let settings = ConversationSettings {
        job_name: "bench".into(),
        ..ConversationSettings::default()
    };
    // MENTION_SIZES=1000,2000 limits the sizes (a quadratic build takes minutes at 8,000).
    let sizes: Vec<usize> = std::env::var("MENTION_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec());
    println!("| shape | mentions | median s | × the first size | linear would be |");
    println!("| --- | --- | --- | --- | --- |");
    for (shape, make) in [
        ("short turns", short_turns as fn(usize) -> String),
        ("one monologue", monologue),
    ] {
        let mut base = None;
        for &size in &sizes {
            let dialogue = make(size);
            let mut times: Vec<Duration> =
                (0..RUNS).map(|_| time_once(&dialogue, &settings)).collect();
            times.sort();
            let median = times[RUNS / 2].as_secs_f64();
            let base = *base.get_or_insert(median);
            println!(
                "| {shape} | {size} | {median:.3} | {:.1} | {:.0} |",
                median / base,
                size as f64 / sizes[0] as f64
            );
        }
    }
}
