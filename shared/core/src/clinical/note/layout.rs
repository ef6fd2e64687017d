//! Layout: review-of-systems and examination lines headed by their body system
//! ("Respiratory: Denies cough and wheezing."), as clinicians write them. The systems and the
//! words that name them are data (`data/body_systems.tsv`).

use std::sync::OnceLock;

use crate::clinical::lexicon::words;

const BODY_SYSTEMS_TSV: &str = include_str!("../../../data/body_systems.tsv");

/// (words of the phrase, system), in file order.
fn table() -> &'static [(Vec<String>, String)] {
    static TABLE: OnceLock<Vec<(Vec<String>, String)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        BODY_SYSTEMS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split_once('\t'))
            .map(|(phrase, system)| {
                (
                    phrase.split_whitespace().map(str::to_string).collect(),
                    system.trim().to_string(),
                )
            })
            .collect()
    })
}

/// The body system the sentence speaks of first, if any.
pub(super) fn body_system(text: &str) -> Option<&'static str> {
    let w: Vec<String> = words(text).into_iter().map(|w| w.lower).collect();
    (0..w.len()).find_map(|at| {
        table()
            .iter()
            .find(|(phrase, _)| w[at..].starts_with(phrase))
            .map(|(_, system)| system.as_str())
    })
}

/// "Denies cough." → "Respiratory: Denies cough."; unchanged without a system or when the line
/// already has a heading.
pub(super) fn with_system_heading(text: &str) -> String {
    let head = text.split(':').next().unwrap_or("");
    if text.contains(':') && head.split_whitespace().count() <= 3 {
        return text.to_string();
    }
    match body_system(text) {
        Some(system) => format!("{system}: {text}"),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_take_the_first_system_named() {
        assert_eq!(
            with_system_heading("Denies chest pain and shortness of breath."),
            "Cardiovascular: Denies chest pain and shortness of breath."
        );
        assert_eq!(
            with_system_heading("On his lung exam, there are fine crackles."),
            "Respiratory: On his lung exam, there are fine crackles."
        );
        assert_eq!(with_system_heading("He is alert."), "He is alert.");
        assert_eq!(
            with_system_heading("Neck: no thyroid enlargement."),
            "Neck: no thyroid enlargement."
        );
    }
}
