//! Text dialogues: one turn per line, `[label] text`.
//!
//! Labels (case-insensitive): `doctor` and `clinician` (CLINICIAN_0), `patient` (PATIENT_0),
//! `patient_guest` (PATIENT_1), and `speaker_N` for a speaker whose role is not given. Blank lines
//! are ignored. Text has no timing, so [`timed_turns`] gives each word a fixed synthetic duration;
//! that way a text run yields a complete HealthScribe transcript with items and times.

use crate::formats::{ParticipantRole, RoleKind};
use crate::speech::{SpokenToken, TokenKind};

use super::turns::{SpeakerLabel, Turn};

/// Synthetic duration of one word of a text dialogue (about 150 words a minute).
pub const SECONDS_PER_WORD: f64 = 0.4;
/// Synthetic silence between two text turns.
pub const SECONDS_BETWEEN_TURNS: f64 = 0.6;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogueError {
    #[error("line {line}: expected `[label] text` (label doctor, clinician, patient, patient_guest or speaker_N)")]
    MissingLabel { line: usize },
    #[error("line {line}: unknown speaker label {label:?}; use doctor, clinician, patient, patient_guest or speaker_N")]
    UnknownLabel { line: usize, label: String },
    /// No longer returned: a turn with a label but no words is skipped with a warning (kept so
    /// that code matching on it still compiles).
    #[error("line {line}: the turn has a label but no words")]
    EmptyTurn { line: usize },
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogueTurn {
    /// 1-based line number in the input.
    pub line: usize,
    pub speaker: SpeakerLabel,
    pub text: String,
}

/// Parses a whole dialogue. Fails on the first line that is not `[label] text`. A turn with a
/// label but no words (`[patient]`, `[doctor] .`) says nothing; it is skipped with a warning.
pub fn parse_dialogue(text: &str) -> Result<Vec<DialogueTurn>, DialogueError> {
    let mut turns = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim().trim_start_matches('\u{feff}');
        if trimmed.is_empty() {
            continue;
        }
        let rest = trimmed
            .strip_prefix('[')
            .ok_or(DialogueError::MissingLabel { line })?;
        let (label, words) = rest
            .split_once(']')
            .ok_or(DialogueError::MissingLabel { line })?;
        // The label is user text that ends up in FailureReason and on stderr: a short excerpt
        // only (a label can hold a patient's name), shown escaped by the message's `{:?}`.
        let speaker = parse_label(label.trim()).ok_or_else(|| DialogueError::UnknownLabel {
            line,
            label: excerpt(label.trim(), 16),
        })?;
        let words = words.trim();
        if tokenize(words)
            .iter()
            .all(|(_, k)| *k == TokenKind::Punctuation)
        {
            tracing::warn!(line, "dialogue turn has a label but no words; skipped");
            continue;
        }
        turns.push(DialogueTurn {
            line,
            speaker,
            text: words.to_string(),
        });
    }
    Ok(turns)
}

/// Maps a label to a speaker; `None` for a label this format does not define.
pub fn parse_label(label: &str) -> Option<SpeakerLabel> {
    let label = label.to_ascii_lowercase();
    let role = |kind, index| Some(SpeakerLabel::Role(ParticipantRole::new(kind, index)));
    match label.as_str() {
        "doctor" | "clinician" => role(RoleKind::Clinician, 0),
        "patient" => role(RoleKind::Patient, 0),
        "patient_guest" => role(RoleKind::Patient, 1),
        _ => label
            .strip_prefix("speaker_")
            .and_then(|n| n.parse().ok())
            .map(SpeakerLabel::Anonymous),
    }
}

/// Splits text into words and punctuation marks. Punctuation inside a word ("mm-hmm",
/// "don't", "2.5") stays in the word; a run of the same mark ("...") is one token.
pub fn tokenize(text: &str) -> Vec<(String, TokenKind)> {
    let mut out = Vec::new();
    for chunk in text.split_whitespace() {
        let chars: Vec<char> = chunk.chars().collect();
        let mut start = 0;
        let mut end = chars.len();
        while start < end && is_mark(chars[start]) {
            start += 1;
        }
        while end > start && is_mark(chars[end - 1]) {
            end -= 1;
        }
        push_marks(&chars[..start], &mut out);
        if start < end {
            out.push((chars[start..end].iter().collect(), TokenKind::Word));
        }
        push_marks(&chars[end..], &mut out);
    }
    out
}

fn is_mark(c: char) -> bool {
    c.is_ascii_punctuation() && !matches!(c, '%' | '$' | '#' | '&' | '+' | '=' | '@' | '/')
        || matches!(c, '…' | '“' | '”' | '‘' | '’' | '¿' | '¡')
}

fn push_marks(marks: &[char], out: &mut Vec<(String, TokenKind)>) {
    let mut i = 0;
    while i < marks.len() {
        let mut j = i + 1;
        while j < marks.len() && marks[j] == marks[i] {
            j += 1;
        }
        out.push((marks[i..j].iter().collect(), TokenKind::Punctuation));
        i = j;
    }
}

/// Turns with synthetic timing: words follow each other at [`SECONDS_PER_WORD`], turns are
/// separated by [`SECONDS_BETWEEN_TURNS`], punctuation sits at the end of the word before it.
/// Word confidence is 1: the text is taken as given.
pub fn timed_turns(dialogue: &[DialogueTurn]) -> Vec<Turn> {
    let mut clock = 0.0_f64;
    let mut turns = Vec::with_capacity(dialogue.len());
    for (index, turn) in dialogue.iter().enumerate() {
        if index > 0 {
            clock += SECONDS_BETWEEN_TURNS;
        }
        let mut tokens = Vec::new();
        let mut first = true;
        for (text, kind) in tokenize(&turn.text) {
            let (start, end, confidence) = match kind {
                TokenKind::Word => {
                    let start = clock;
                    clock += SECONDS_PER_WORD;
                    (start, clock, 1.0)
                }
                TokenKind::Punctuation => (clock, clock, 0.0),
            };
            tokens.push(SpokenToken {
                text,
                kind,
                start: round_ms(start),
                end: round_ms(end),
                confidence,
                channel: None,
                speaker: None,
                starts_segment: first,
            });
            first = false;
        }
        turns.push(Turn {
            speaker: turn.speaker,
            tokens,
        });
    }
    turns
}

/// Keeps synthetic times free of float noise (0.30000000000000004) in the JSON.
fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// At most `max` characters of `text`, with `…` when cut.
fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_case_insensitively_and_skips_blank_lines() {
        let turns = parse_dialogue(
            "[Doctor] hi , brian .\n\n  [PATIENT] hi .\n[patient_guest] hello\n[speaker_3] ok\n[clinician] bye",
        )
        .unwrap();
        let speakers: Vec<_> = turns.iter().map(|t| t.speaker).collect();
        assert_eq!(
            speakers,
            [
                SpeakerLabel::Role(ParticipantRole::CLINICIAN_0),
                SpeakerLabel::Role(ParticipantRole::PATIENT_0),
                SpeakerLabel::Role(ParticipantRole::new(RoleKind::Patient, 1)),
                SpeakerLabel::Anonymous(3),
                SpeakerLabel::Role(ParticipantRole::CLINICIAN_0),
            ]
        );
        assert_eq!(turns[1].line, 3);
        assert_eq!(turns[0].text, "hi , brian .");
    }

    #[test]
    fn unknown_labels_are_echoed_as_a_short_escaped_excerpt() {
        let err = parse_dialogue("[Patient Jane Doe DOB 1960-02-01 HIV positive] hi").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("\"Patient Jane Doe…\""), "{message}");
        assert!(
            !message.contains("1960") && !message.contains("HIV"),
            "{message}"
        );
        let err = parse_dialogue("[a\u{1b}[31mb] hi").unwrap_err();
        assert!(!err.to_string().contains('\u{1b}'), "{err}");
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse_dialogue("[doctor] hi\nno label here").unwrap_err();
        assert_eq!(err, DialogueError::MissingLabel { line: 2 });
        assert!(err.to_string().starts_with("line 2:"));
        let err = parse_dialogue("[nurse] hi").unwrap_err();
        assert_eq!(
            err,
            DialogueError::UnknownLabel {
                line: 1,
                label: "nurse".into()
            }
        );
        // A turn without words is skipped, not an error.
        let turns = parse_dialogue("\n[patient] .\n[doctor]\n[patient] fine").unwrap();
        assert_eq!(turns.len(), 1);
        assert_eq!(turns[0].line, 4);
        assert!(matches!(
            parse_dialogue("[speaker_x] hi"),
            Err(DialogueError::UnknownLabel { .. })
        ));
    }

    #[test]
    fn tokenizes_words_and_marks() {
        let tokens = tokenize("mm-hmm , i do n't know... (maybe) 2.5 mg?");
        let texts: Vec<_> = tokens.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            ["mm-hmm", ",", "i", "do", "n't", "know", "...", "(", "maybe", ")", "2.5", "mg", "?"]
        );
        assert_eq!(tokens[1].1, TokenKind::Punctuation);
        assert_eq!(tokens[4].1, TokenKind::Word);
    }

    #[test]
    fn synthetic_timing_is_sequential() {
        let dialogue = parse_dialogue("[doctor] how are you ?\n[patient] fine .").unwrap();
        let turns = timed_turns(&dialogue);
        assert_eq!(turns[0].begin(), 0.0);
        assert_eq!(turns[0].end(), 1.2);
        assert_eq!(turns[1].begin(), 1.8);
        assert_eq!(turns[1].end(), 2.2);
        assert_eq!(turns[0].content(), "how are you?");
        let question_mark = &turns[0].tokens[3];
        assert_eq!(question_mark.kind, TokenKind::Punctuation);
        assert_eq!(question_mark.confidence, 0.0);
        assert_eq!(question_mark.start, 1.2);
    }
}
