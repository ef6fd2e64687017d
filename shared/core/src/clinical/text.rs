//! Plain-text renderings a clinician can paste into a record: the note as headed sections, and the
//! code suggestions as a list.

use crate::formats::{ClinicalDocumentation, MedicalCodes, NoteSection};

/// "HISTORY_OF_PRESENT_ILLNESS" → "HISTORY OF PRESENT ILLNESS".
pub fn section_heading(section: &NoteSection) -> String {
    section.as_str().replace('_', " ")
}

/// The note as text: each non-empty section is its heading in capitals followed by one item per
/// line; sections are separated by a blank line. Bullet dashes are dropped (HealthScribe's items
/// may start with "-"), as are items left empty and sections without items.
pub fn note_text(documentation: &ClinicalDocumentation) -> String {
    let blocks: Vec<String> = documentation
        .sections
        .iter()
        .filter_map(|section| {
            let items: Vec<String> = section
                .summary
                .iter()
                .map(|s| item_text(&s.summarized_segment))
                .filter(|s| !s.is_empty())
                .collect();
            if items.is_empty() {
                return None;
            }
            Some(format!(
                "{}\n{}\n",
                section_heading(&section.section_name),
                items.join("\n")
            ))
        })
        .collect();
    blocks.join("\n")
}

/// One line: bullet dropped, inner line breaks and runs of spaces folded into one space.
fn item_text(raw: &str) -> String {
    raw.trim()
        .trim_start_matches(['-', '•', '*'])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Heading of the code suggestions block.
pub const CODES_HEADING: &str = "SUGGESTED ICD-10-CM CODES";

/// The suggestions as text, best first: "1. I10 Essential (primary) hypertension (score 0.95)".
/// Empty when there are none.
pub fn codes_text(codes: &MedicalCodes) -> String {
    if codes.codes.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = codes
        .codes
        .iter()
        .map(|c| {
            format!(
                "{}. {} {} (score {:.2})",
                c.rank, c.code, c.description, c.score
            )
        })
        .collect();
    format!("{CODES_HEADING}\n{}\n", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{CodeSuggestion, EvidenceLink, NoteSectionContent, SummarizedSentence};

    fn sentence(text: &str) -> SummarizedSentence {
        SummarizedSentence {
            summarized_segment: text.to_string(),
            evidence_links: vec![EvidenceLink {
                segment_id: "s".into(),
            }],
        }
    }

    fn section(name: NoteSection, items: &[&str]) -> NoteSectionContent {
        NoteSectionContent {
            section_name: name,
            summary: items.iter().map(|t| sentence(t)).collect(),
        }
    }

    #[test]
    fn sections_are_headed_one_item_per_line_blank_line_between() {
        let doc = ClinicalDocumentation {
            sections: vec![
                section(NoteSection::ChiefComplaint, &["Knee pain."]),
                section(NoteSection::ReviewOfSystems, &[]),
                section(
                    NoteSection::HistoryOfPresentIllness,
                    &["- The patient reports knee pain.", "  Worse on stairs.  "],
                ),
                section(NoteSection::Plan, &["-", "  "]),
                section(NoteSection::Assessment, &["• Osteoarthritis."]),
            ],
            session_id: None,
        };
        assert_eq!(
            note_text(&doc),
            "CHIEF COMPLAINT\nKnee pain.\n\n\
             HISTORY OF PRESENT ILLNESS\nThe patient reports knee pain.\nWorse on stairs.\n\n\
             ASSESSMENT\nOsteoarthritis.\n"
        );
    }

    #[test]
    fn an_empty_note_renders_as_nothing() {
        assert_eq!(note_text(&ClinicalDocumentation::default()), "");
        assert_eq!(codes_text(&MedicalCodes::default()), "");
    }

    #[test]
    fn an_item_never_spans_lines() {
        let doc = ClinicalDocumentation {
            sections: vec![section(
                NoteSection::Plan,
                &["Start lisinopril.\n  Recheck in 2 weeks."],
            )],
            session_id: None,
        };
        assert_eq!(
            note_text(&doc),
            "PLAN\nStart lisinopril. Recheck in 2 weeks.\n"
        );
    }

    #[test]
    fn codes_are_listed_by_rank() {
        let suggestion = |rank: usize, code: &str, description: &str, score: f64| CodeSuggestion {
            rank,
            code: code.into(),
            description: description.into(),
            score,
            term: "t".into(),
            insight_id: "i".into(),
            insight_ids: vec!["i".into()],
            evidence_links: vec![],
        };
        let codes = MedicalCodes {
            code_system: "ICD-10-CM".into(),
            code_system_version: "2026".into(),
            codes: vec![
                suggestion(1, "I10", "Essential (primary) hypertension", 0.954),
                suggestion(2, "R05.9", "Cough, unspecified", 0.4),
            ],
        };
        assert_eq!(
            codes_text(&codes),
            "SUGGESTED ICD-10-CM CODES\n\
             1. I10 Essential (primary) hypertension (score 0.95)\n\
             2. R05.9 Cough, unspecified (score 0.40)\n"
        );
    }
}
