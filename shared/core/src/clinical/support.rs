//! How well a note sentence is supported by the transcript segments it cites: the fraction of
//! its distinct content words that occur among the words of those segments (the measure of the
//! team's `score_evidence.py`, in a simpler form: stopwords dropped, apostrophes removed, crude
//! suffix stemming, number words as digits). Pure; used by the review page to flag sentences a
//! clinician should check against the conversation.

use std::collections::HashSet;

use crate::clinical::lexicon::words;

/// Support under this is "weak": fewer than half of the sentence's content words are in its
/// evidence (the "likely unsupported" line of `score_evidence.py`).
pub const WEAK_SUPPORT: f64 = 0.5;

const STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his",
    "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "most", "my", "no",
    "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "out", "over",
    "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
    "up", "us", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who",
    "whom", "why", "will", "with", "would", "you", "your", "also", "yes", "yeah", "okay", "ok",
    "um", "uh", "oh", "mm", "hmm", "s", "patient", "patients", "pt", "reports", "report",
    "reported", "states", "stated", "denies", "denied",
];

const NUMBERS: &[(&str, &str)] = &[
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("hundred", "100"),
];

fn normalise(word: &str) -> Option<String> {
    let w: String = word.chars().filter(|c| *c != '\'').collect();
    if STOPWORDS.contains(&w.as_str()) {
        return None;
    }
    if let Some((_, digits)) = NUMBERS.iter().find(|(name, _)| *name == w) {
        return Some((*digits).to_string());
    }
    if w.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return Some(w);
    }
    for suffix in ["ing", "ed", "es", "s"] {
        if w.len() > suffix.len() + 3 {
            if let Some(stem) = w.strip_suffix(suffix) {
                return Some(stem.to_string());
            }
        }
    }
    Some(w)
}

fn content_words(text: &str) -> HashSet<String> {
    words(text)
        .iter()
        .filter_map(|w| normalise(&w.lower))
        .collect()
}

/// The fraction (0-1) of `sentence`'s distinct content words found in the `cited` segments'
/// words. No citations: 0. A sentence without content words: 1.
pub fn evidence_support<S: AsRef<str>>(sentence: &str, cited: &[S]) -> f64 {
    if cited.is_empty() {
        return 0.0;
    }
    let wanted = content_words(sentence);
    if wanted.is_empty() {
        return 1.0;
    }
    let have: HashSet<String> = cited
        .iter()
        .flat_map(|s| content_words(s.as_ref()))
        .collect();
    wanted.iter().filter(|w| have.contains(*w)).count() as f64 / wanted.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractive_sentences_are_supported_and_unrelated_ones_are_not() {
        let seg = ["I've had a headache for three days and I'm taking ibuprofen."];
        assert!(
            evidence_support(
                "The patient reports a headache for 3 days, taking ibuprofen.",
                &seg
            ) >= 0.99
        );
        assert!(evidence_support("Prescribed metformin for diabetes.", &seg) < WEAK_SUPPORT);
        assert_eq!(evidence_support::<&str>("Headache.", &[]), 0.0);
        assert_eq!(evidence_support("The patient.", &seg), 1.0);
    }
}
