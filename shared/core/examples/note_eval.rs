//! Builds notes for dialogue JSONL (ACI-Bench layout: `id`, `turns[{turn_id, speaker, text}]`)
//! and writes what the scoring scripts read:
//! `RUN_DIR/<id>/{transcript,summary}.json` for `score_evidence.py --pairs RUN_DIR` and
//! `RUN_DIR/preds.jsonl` (`id`, `note`) for `score_notes.py`.
//!
//! Usage: `cargo run -p veriscribe-core --example note_eval -- DIALOGUES.jsonl RUN_DIR [TEMPLATE] [pipeline] [pronouns]`
//! (`pronouns`: the patient's pronouns given from the data's `metadata.patient_gender`).
//!
//! By default segments come from a small private parser (one segment per turn; section from
//! simple exam/assessment cues), so the note builder is measured on its own. With `pipeline`,
//! the product's `conversation_from_dialogue` builds them (roles and sections inferred).

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use serde::Deserialize;
use veriscribe_core::clinical::pipeline::{conversation_from_dialogue, ConversationSettings};
use veriscribe_core::clinical::{insights, note};
use veriscribe_core::formats::{
    ClinicalDocumentation, ClinicalDocumentationFile, Conversation, NoteSection, NoteTemplate,
    ParticipantDetails, ParticipantRole, PatientPronouns, RoleKind, SectionDetails, TranscriptFile,
    TranscriptSection, TranscriptSegment,
};

#[derive(Deserialize)]
struct Dialogue {
    id: String,
    turns: Vec<Turn>,
    #[serde(default)]
    metadata: serde_json::Value,
}

#[derive(Deserialize)]
struct Turn {
    turn_id: usize,
    speaker: String,
    text: String,
}

fn section_rule(
    current: &TranscriptSection,
    speaker_is_doctor: bool,
    text: &str,
) -> TranscriptSection {
    let t = text.to_lowercase();
    let exam = [
        "physical exam",
        "vital signs",
        "take a look",
        "examine",
        "on exam",
        "your exam",
        "take a listen",
    ];
    let plan = [
        "assessment",
        "my plan",
        "impression",
        "diagnosis",
        "the plan",
    ];
    if speaker_is_doctor && plan.iter().any(|c| t.contains(c)) {
        return TranscriptSection::AssessmentAndPlan;
    }
    if speaker_is_doctor
        && exam.iter().any(|c| t.contains(c))
        && *current != TranscriptSection::AssessmentAndPlan
    {
        return TranscriptSection::Objective;
    }
    current.clone()
}

/// Plain text as a reader expects it: section headings in capitals, one item per line, history
/// before examination and results, assessment and plan last. (A renderer in core is on its way;
/// this one only serves the evaluation.)
fn render_plain_text(doc: &ClinicalDocumentation) -> String {
    use NoteSection as S;
    const READING_ORDER: &[NoteSection] = &[
        S::ChiefComplaint,
        S::HistoryOfPresentIllness,
        S::PastMedicalHistory,
        S::PastFamilyHistory,
        S::PastSocialHistory,
        S::ReviewOfSystems,
        S::PhysicalExamination,
        S::DiagnosticTesting,
        S::Assessment,
        S::Plan,
    ];
    let rank = |name: &NoteSection| {
        READING_ORDER
            .iter()
            .position(|n| n == name)
            .unwrap_or(READING_ORDER.len())
    };
    let mut sections: Vec<_> = doc.sections.iter().collect();
    sections.sort_by_key(|s| rank(&s.section_name));
    let mut out = String::new();
    for section in sections {
        let heading = match &section.section_name {
            S::PastFamilyHistory => "FAMILY HISTORY".to_string(),
            S::PastSocialHistory => "SOCIAL HISTORY".to_string(),
            S::DiagnosticTesting => "RESULTS".to_string(),
            other => other.as_str().replace('_', " "),
        };
        out.push_str(&heading);
        out.push_str("\n\n");
        for sentence in &section.summary {
            out.push_str(sentence.summarized_segment.trim_start_matches("- "));
            out.push('\n');
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

fn conversation_from(dialogue: &Dialogue) -> Conversation {
    let mut section = TranscriptSection::Subjective;
    let mut segments = Vec::new();
    for turn in &dialogue.turns {
        let is_doctor = turn.speaker == "doctor";
        section = section_rule(&section, is_doctor, &turn.text);
        let role = match turn.speaker.as_str() {
            "doctor" => ParticipantRole::CLINICIAN_0,
            "patient" => ParticipantRole::PATIENT_0,
            _ => ParticipantRole::new(RoleKind::Patient, 1),
        };
        segments.push(TranscriptSegment {
            segment_id: turn.turn_id.to_string(),
            begin_audio_time: 0.0,
            end_audio_time: 0.0,
            content: turn.text.clone(),
            participant_details: ParticipantDetails {
                participant_role: role,
            },
            section_details: SectionDetails {
                section_name: section.clone(),
            },
        });
    }
    let mut conversation = Conversation {
        conversation_id: dialogue.id.clone(),
        job_name: Some(dialogue.id.clone()),
        job_type: Some("ASYNC".into()),
        session_id: None,
        language_code: "en-US".into(),
        clinical_insights: Vec::new(),
        transcript_items: Vec::new(),
        transcript_segments: segments,
    };
    conversation.clinical_insights = insights::extract(&conversation);
    conversation
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .ok_or("usage: note_eval DIALOGUES.jsonl RUN_DIR [TEMPLATE]")?;
    let run_dir = PathBuf::from(args.next().ok_or("missing RUN_DIR")?);
    let template: NoteTemplate = args
        .next()
        .as_deref()
        .unwrap_or("HISTORY_AND_PHYSICAL")
        .parse()?;
    let use_pipeline = args.next().as_deref() == Some("pipeline");
    // `pronouns`: the patient's pronouns from the data's metadata (`patient_gender`), as a user
    // would pass HealthScribe's PatientContext.Pronouns; otherwise inferred.
    let given_pronouns = args.next().as_deref() == Some("pronouns");
    fs::create_dir_all(&run_dir)?;
    let mut preds = fs::File::create(run_dir.join("preds.jsonl"))?;
    let mut count = 0;
    for line in fs::read_to_string(&input)?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let dialogue: Dialogue = serde_json::from_str(line)?;
        let conversation = if use_pipeline {
            let text: String = dialogue
                .turns
                .iter()
                // Empty turns (3 in ACI-Bench train/dev) go in as they are: the parser skips
                // them with a warning.
                .map(|t| format!("[{}] {}\n", t.speaker, t.text))
                .collect();
            let settings = ConversationSettings {
                job_name: dialogue.id.clone(),
                ..ConversationSettings::default()
            };
            let mut c = conversation_from_dialogue(&text, &settings)?;
            c.clinical_insights = insights::extract(&c);
            c
        } else {
            conversation_from(&dialogue)
        };
        let settings = note::NoteSettings {
            patient_pronouns: match dialogue.metadata["patient_gender"].as_str() {
                Some("male") if given_pronouns => Some(PatientPronouns::HeHim),
                Some("female") if given_pronouns => Some(PatientPronouns::SheHer),
                _ => None,
            },
        };
        let doc = note::build_documentation_with(&conversation, template, &settings);
        note::validate_evidence(&doc, &conversation)?;
        let dir = run_dir.join(&dialogue.id);
        fs::create_dir_all(&dir)?;
        fs::write(
            dir.join("transcript.json"),
            serde_json::to_string_pretty(&TranscriptFile {
                conversation: conversation.clone(),
            })?,
        )?;
        let rendered = render_plain_text(&doc);
        fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&ClinicalDocumentationFile {
                clinical_documentation: doc,
            })?,
        )?;
        writeln!(
            preds,
            "{}",
            serde_json::json!({"id": dialogue.id, "note": rendered.trim_end()})
        )?;
        count += 1;
    }
    println!("wrote {count} notes to {}", run_dir.display());
    Ok(())
}
