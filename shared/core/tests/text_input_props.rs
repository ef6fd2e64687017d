//! Property tests over the text inputs a user controls: dialogue files and custom templates.
//! Whatever the bytes, parsing ends in a value or an error (never a panic), and a dialogue that
//! parses yields a transcript and a note whose every sentence cites segments that exist.
//! Cases per property: `PROPTEST_CASES` (CI runs the default below); failures found are kept in
//! `proptest-regressions/` next to this file and replayed first on every run.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use veriscribe_core::clinical::custom_template::parse_custom_template;
use veriscribe_core::clinical::dialogue::parse_dialogue;
use veriscribe_core::formats::NoteTemplate;
use veriscribe_core::stages::{documentation, transcript_from_dialogue, ConversationSettings};

const LABELS: &[&str] = &["[doctor]", "[patient]", "[patient_guest]", "[clinician]"];
/// Rare in the generated files, so that most files parse and reach the note.
const BAD_LABELS: &[&str] = &["[speaker_1]", "[nurse]", "[]", "[doctor", "doctor]", ""];
const WORDS: &[&str] = &[
    "fever",
    "no",
    "denies",
    "metformin",
    "500",
    "mg",
    "twice",
    "daily",
    "cough",
    "?",
    ".",
    ",",
    "right",
    "knee",
    "pain",
    "bronchitis",
    "x-ray",
    "I",
    "you",
    "my",
    "father",
    "diabetes",
    "\t",
    "\u{1b}[31m",
    "\u{0}",
    "é",
    "日本",
    "🙂",
    "\r",
    ";",
    "'",
    "\"",
    "…",
];

/// Dialogue-like text: lines of a label (some malformed) and words, mixed with raw noise.
fn dialogue_text() -> impl Strategy<Value = String> {
    let label = prop_oneof![
        20 => prop::sample::select(LABELS),
        1 => prop::sample::select(BAD_LABELS),
    ];
    let line = (
        label,
        prop::collection::vec(prop::sample::select(WORDS), 0..20),
    )
        .prop_map(|(label, words)| format!("{label} {}", words.join(" ")));
    prop_oneof![
        4 => prop::collection::vec(line, 0..30).prop_map(|lines| lines.join("\n")),
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..400)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    ]
}

/// The dialogue property is only worth something if most generated files reach the note.
#[test]
fn most_generated_dialogues_parse() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = dialogue_text();
    let parsed = (0..200)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            parse_dialogue(&text).is_ok()
        })
        .count();
    assert!(
        parsed >= 60,
        "only {parsed} of 200 generated dialogues parse"
    );
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(96),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_dialogue_parses_or_is_refused_and_its_note_cites_real_segments(text in dialogue_text()) {
        let Ok(turns) = parse_dialogue(&text) else { return Ok(()) };
        prop_assert!(turns.iter().all(|t| !t.text.trim().is_empty()), "an empty turn was kept");
        let settings = ConversationSettings { job_name: "prop".into(), ..ConversationSettings::default() };
        let transcript = transcript_from_dialogue(&text, &settings)
            .expect("a dialogue that parses builds a transcript");
        let segments: HashSet<&str> = transcript
            .conversation
            .transcript_segments
            .iter()
            .map(|s| s.segment_id.as_str())
            .collect();
        for template in [NoteTemplate::HistoryAndPhysical, NoteTemplate::Girpp] {
            let note = documentation(&transcript, template).expect("evidence checks out");
            for section in &note.clinical_documentation.sections {
                for sentence in &section.summary {
                    prop_assert!(!sentence.evidence_links.is_empty(), "a sentence without evidence");
                    for link in &sentence.evidence_links {
                        prop_assert!(segments.contains(link.segment_id.as_str()), "dangling link");
                    }
                }
            }
        }
    }

    #[test]
    fn any_custom_template_text_parses_or_is_refused(text in prop_oneof![
        3 => (
            prop::sample::select(&["sections:", "{\"sections\":", "base: SOAP\nsections:", "- ", ""][..]),
            prop::collection::vec(
                prop::sample::select(&["\n  - name: A", "\n  - Plan", " [a, b]", " >\n  text", "{", "}", "\"", ":", "\n", "  ", "- ", "#", "&a", "*a", "!!str"][..]),
                0..25,
            ),
        ).prop_map(|(head, parts)| format!("{head}{}", parts.concat())),
        1 => any::<String>(),
    ]) {
        let _ = parse_custom_template(&text);
    }
}
