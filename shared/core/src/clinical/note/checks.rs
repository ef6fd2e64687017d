//! Faithfulness checks every note sentence passes before it is written: the numbers and the
//! laterality it states are in the segments it cites, and the history never denies the chief
//! complaint. A sentence that fails is left out, never repaired by guessing.

use std::collections::{HashMap, HashSet};

use crate::clinical::lexicon::words;
use crate::formats::{Conversation, SummarizedSentence};

use super::{detokenize, digits_for_number_words};

/// Words the check compares: numbers as digits, lower case.
fn evidence_words(text: &str) -> HashSet<String> {
    let mut out: HashSet<String> = words(text).into_iter().map(|w| w.lower).collect();
    out.extend(
        words(&digits_for_number_words(&detokenize(text)))
            .into_iter()
            .map(|w| w.lower),
    );
    out
}

/// The cited segments' words, per segment id.
pub(super) struct Evidence {
    by_segment: HashMap<String, HashSet<String>>,
}

impl Evidence {
    pub(super) fn new(conversation: &Conversation) -> Self {
        Evidence {
            by_segment: conversation
                .transcript_segments
                .iter()
                .map(|s| (s.segment_id.clone(), evidence_words(&s.content)))
                .collect(),
        }
    }

    /// True when every number and every side (left, right, bilateral) in the sentence occurs
    /// in one of its cited segments.
    pub(super) fn supports(&self, sentence: &SummarizedSentence) -> bool {
        let cited: Vec<&HashSet<String>> = sentence
            .evidence_links
            .iter()
            .filter_map(|l| self.by_segment.get(&l.segment_id))
            .collect();
        words(&sentence.summarized_segment)
            .into_iter()
            .map(|w| w.lower)
            .filter(|w| {
                w.chars().next().is_some_and(|c| c.is_ascii_digit())
                    || matches!(w.as_str(), "left" | "right" | "bilateral" | "bilaterally")
            })
            .all(|w| cited.iter().any(|c| c.contains(&w)))
    }
}

/// Words of a chief complaint too general to count as the complaint itself.
const GENERAL: &[&str] = &[
    "other", "issues", "problems", "changes", "history", "symptoms", "pain", "follow", "visit",
    "their", "chronic", "today", "with", "from", "about", "some", "up",
];

/// True when the sentence denies ("denies …", "no …", "not …", "without …") one of the chief
/// complaint's words.
pub(super) fn denies_complaint(sentence: &str, complaint_words: &HashSet<String>) -> bool {
    let w: Vec<String> = words(sentence).into_iter().map(|w| w.lower).collect();
    w.iter().enumerate().any(|(k, x)| {
        matches!(x.as_str(), "denies" | "no" | "not" | "without")
            && w[k + 1..]
                .iter()
                .take(6)
                .any(|y| complaint_words.contains(y))
    })
}

/// The chief complaint's own words (four letters or more, not the general ones).
pub(super) fn complaint_words(chief_complaint: &[SummarizedSentence]) -> HashSet<String> {
    chief_complaint
        .iter()
        .flat_map(|s| words(&s.summarized_segment))
        .map(|w| w.lower)
        .filter(|w| w.len() >= 4 && !GENERAL.contains(&w.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::EvidenceLink;

    fn sentence(text: &str, ids: &[&str]) -> SummarizedSentence {
        SummarizedSentence {
            summarized_segment: text.to_string(),
            evidence_links: ids
                .iter()
                .map(|id| EvidenceLink {
                    segment_id: id.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn numbers_and_sides_must_be_cited() {
        let evidence = Evidence {
            by_segment: [(
                "1".to_string(),
                evidence_words("my right knee hurts , about twenty milligrams"),
            )]
            .into_iter()
            .collect(),
        };
        assert!(evidence.supports(&sentence("Right knee pain, 20 mg.", &["1"])));
        assert!(!evidence.supports(&sentence("Left knee pain.", &["1"])));
        assert!(!evidence.supports(&sentence("Takes 40 mg.", &["1"])));
    }

    #[test]
    fn a_denied_complaint_is_found() {
        let cc = complaint_words(&[sentence("Knee pain.", &["1"])]);
        assert!(denies_complaint("Denies knee swelling.", &cc));
        assert!(!denies_complaint("Denies fever.", &cc));
        assert!(!denies_complaint("Knee pain for 2 weeks.", &cc));
    }
}
