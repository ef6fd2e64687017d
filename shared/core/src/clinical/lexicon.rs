//! Curated clinical lexicons (compiled in) and a longest-match, word-boundary term matcher.
//!
//! The lists under `data/` are small hand-curated sets of common spoken clinical terms: precision
//! matters more than coverage here, because every match can end up in a note.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::formats::{EntityCategory, EntityType};

const MEDICATIONS: &str = include_str!("../../data/medications.tsv");
const CONDITIONS: &str = include_str!("../../data/conditions.txt");
const TESTS_TREATMENTS: &str = include_str!("../../data/tests.tsv");
const ANATOMY: &str = include_str!("../../data/anatomy.txt");

/// What a lexicon term denotes, in Comprehend Medical terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TermKind {
    Condition,
    GenericDrug,
    BrandDrug,
    Test,
    Procedure,
    Treatment,
    Anatomy,
}

impl TermKind {
    pub fn category(self) -> EntityCategory {
        match self {
            TermKind::Condition => EntityCategory::MedicalCondition,
            TermKind::GenericDrug | TermKind::BrandDrug => EntityCategory::Medication,
            TermKind::Test | TermKind::Procedure | TermKind::Treatment => {
                EntityCategory::TestTreatmentProcedure
            }
            TermKind::Anatomy => EntityCategory::Anatomy,
        }
    }

    pub fn entity_type(self) -> EntityType {
        match self {
            TermKind::Condition => EntityType::DxName,
            TermKind::GenericDrug => EntityType::GenericName,
            TermKind::BrandDrug => EntityType::BrandName,
            TermKind::Test => EntityType::TestName,
            TermKind::Procedure => EntityType::ProcedureName,
            TermKind::Treatment => EntityType::TreatmentName,
            TermKind::Anatomy => EntityType::SystemOrganSite,
        }
    }

    pub fn is_medication(self) -> bool {
        matches!(self, TermKind::GenericDrug | TermKind::BrandDrug)
    }
}

/// A word of a text with its character (not byte) offsets; `end` is exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub start: usize,
    pub end: usize,
    pub lower: String,
}

/// Splits text into words: runs of letters and digits, with inner apostrophes ("parkinson's")
/// and decimal points ("7.2") kept. Hyphens separate words so "x-ray" matches "x ray" too.
pub fn words(text: &str) -> Vec<Word> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() {
            let c = chars[i];
            let joins_next = (c == '\'' || c == '’' || c == '.')
                && i + 1 < chars.len()
                && chars[i + 1].is_alphanumeric()
                && i > start
                && (c != '.' || (chars[i - 1].is_ascii_digit() && chars[i + 1].is_ascii_digit()));
            if c.is_alphanumeric() || joins_next {
                i += 1;
            } else {
                break;
            }
        }
        let lower = chars[start..i]
            .iter()
            .flat_map(|c| c.to_lowercase())
            .map(|c| if c == '’' { '\'' } else { c })
            .collect();
        out.push(Word {
            start,
            end: i,
            lower,
        });
    }
    out
}

/// One lexicon hit: character offsets into the matched text (`end` exclusive) and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermMatch {
    pub start: usize,
    pub end: usize,
    pub kind: TermKind,
    /// The lexicon's spelling (lower case, words joined by one space).
    pub canonical: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("lexicon {file} line {line}: unknown term kind {kind:?}")]
    UnknownKind {
        file: &'static str,
        line: usize,
        kind: String,
    },
}

/// The compiled-in term dictionary.
#[derive(Debug)]
pub struct Lexicon {
    terms: HashMap<String, TermKind>,
    longest_term_words: usize,
}

impl Lexicon {
    fn parse() -> Result<Self, LexiconError> {
        let mut lexicon = Lexicon {
            terms: HashMap::new(),
            longest_term_words: 1,
        };
        // Earlier lists win on duplicates: a drug name is a drug before it is anything else.
        lexicon.load("medications.tsv", MEDICATIONS, None)?;
        lexicon.load("conditions.txt", CONDITIONS, Some(TermKind::Condition))?;
        lexicon.load("tests.tsv", TESTS_TREATMENTS, None)?;
        lexicon.load("anatomy.txt", ANATOMY, Some(TermKind::Anatomy))?;
        Ok(lexicon)
    }

    fn load(
        &mut self,
        file: &'static str,
        text: &str,
        fixed_kind: Option<TermKind>,
    ) -> Result<(), LexiconError> {
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (term, kind) = match fixed_kind {
                Some(kind) => (line, kind),
                None => {
                    let (term, tag) = line.split_once('\t').unwrap_or((line, ""));
                    let kind = match tag.trim() {
                        "GENERIC" => TermKind::GenericDrug,
                        "BRAND" => TermKind::BrandDrug,
                        "TEST" => TermKind::Test,
                        "PROCEDURE" => TermKind::Procedure,
                        "TREATMENT" => TermKind::Treatment,
                        other => {
                            return Err(LexiconError::UnknownKind {
                                file,
                                line: index + 1,
                                kind: other.to_string(),
                            })
                        }
                    };
                    (term, kind)
                }
            };
            let key_words: Vec<String> = words(term).into_iter().map(|w| w.lower).collect();
            if key_words.is_empty() {
                continue;
            }
            self.longest_term_words = self.longest_term_words.max(key_words.len());
            self.terms.entry(key_words.join(" ")).or_insert(kind);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Looks up an exact phrase (any case, words separated by spaces or hyphens).
    pub fn kind_of(&self, phrase: &str) -> Option<TermKind> {
        let key: Vec<String> = words(phrase).into_iter().map(|w| w.lower).collect();
        self.lookup(&key.join(" ")).map(|(kind, _)| kind)
    }

    /// Exact key, else the key with a plural "s"/"es" dropped from its last word.
    fn lookup(&self, key: &str) -> Option<(TermKind, String)> {
        if let Some(kind) = self.terms.get(key) {
            return Some((*kind, key.to_string()));
        }
        if key.len() > 3 && key.ends_with('s') && !key.ends_with("ss") {
            for cut in [1, 2] {
                if cut == 2 && !key.ends_with("es") {
                    continue;
                }
                let singular = &key[..key.len() - cut];
                if let Some(kind) = self.terms.get(singular) {
                    return Some((*kind, singular.to_string()));
                }
            }
        }
        None
    }

    /// All terms in `text`, left to right, longest match first, never overlapping.
    pub fn find_terms(&self, text: &str) -> Vec<TermMatch> {
        let words = words(text);
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let max = self.longest_term_words.min(words.len() - i);
            let hit = (1..=max).rev().find_map(|n| {
                let key = words[i..i + n]
                    .iter()
                    .map(|w| w.lower.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                self.lookup(&key).map(|hit| (n, hit))
            });
            match hit {
                Some((n, (kind, canonical))) => {
                    out.push(TermMatch {
                        start: words[i].start,
                        end: words[i + n - 1].end,
                        kind,
                        canonical,
                    });
                    i += n;
                }
                None => i += 1,
            }
        }
        out
    }
}

/// The compiled-in lexicon, parsed once.
pub fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        // The data is compiled in and checked by `compiled_in_lexicons_parse`; a failure here is a
        // build defect, not an input error.
        Lexicon::parse().expect("compiled-in lexicon data is malformed")
    })
}

/// Shorthand for `lexicon().find_terms(text)`.
pub fn find_terms(text: &str) -> Vec<TermMatch> {
    lexicon().find_terms(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn substring(text: &str, start: usize, end: usize) -> String {
        text.chars().skip(start).take(end - start).collect()
    }

    #[test]
    fn compiled_in_lexicons_parse() {
        let lexicon = Lexicon::parse().unwrap();
        assert!(lexicon.len() > 900, "only {} terms", lexicon.len());
        assert!(lexicon.longest_term_words >= 3);
    }

    #[test]
    fn lexicon_data_stays_small() {
        let total = MEDICATIONS.len() + CONDITIONS.len() + TESTS_TREATMENTS.len() + ANATOMY.len();
        assert!(total < 300_000);
    }

    #[test]
    fn matching_is_case_insensitive_and_longest_first() {
        let text = "He has Congestive Heart Failure and chest pain.";
        let hits = find_terms(text);
        let found: Vec<(String, TermKind)> = hits
            .iter()
            .map(|m| (substring(text, m.start, m.end), m.kind))
            .collect();
        assert_eq!(
            found,
            vec![
                ("Congestive Heart Failure".to_string(), TermKind::Condition),
                ("chest pain".to_string(), TermKind::Condition),
            ]
        );
    }

    #[test]
    fn matching_respects_word_boundaries() {
        // "pain" inside "painting" and "ear" inside "year" must not match.
        assert!(find_terms("painting every year").is_empty());
    }

    #[test]
    fn drugs_are_generic_or_brand() {
        assert_eq!(lexicon().kind_of("Lisinopril"), Some(TermKind::GenericDrug));
        assert_eq!(lexicon().kind_of("lasix"), Some(TermKind::BrandDrug));
        assert_eq!(lexicon().kind_of("chest x-ray"), Some(TermKind::Test));
        assert_eq!(lexicon().kind_of("chest x ray"), Some(TermKind::Test));
        assert_eq!(lexicon().kind_of("knee"), Some(TermKind::Anatomy));
        assert_eq!(
            lexicon().kind_of("physical therapy"),
            Some(TermKind::Treatment)
        );
        assert_eq!(lexicon().kind_of("colonoscopy"), Some(TermKind::Procedure));
    }

    #[test]
    fn plurals_match_their_singular_term() {
        let text = "i get headaches and kidney infections";
        let hits = find_terms(text);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[1].canonical, "kidney infection");
        assert_eq!(
            substring(text, hits[1].start, hits[1].end),
            "kidney infections"
        );
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let text = "café — asthma";
        let hits = find_terms(text);
        assert_eq!(hits.len(), 1);
        assert_eq!(substring(text, hits[0].start, hits[0].end), "asthma");
        assert_eq!(hits[0].start, 7);
    }

    #[test]
    fn words_keep_decimals_and_apostrophes() {
        let w: Vec<String> = words("a1c was 7.2, parkinson's x-ray.")
            .into_iter()
            .map(|w| w.lower)
            .collect();
        assert_eq!(w, ["a1c", "was", "7.2", "parkinson's", "x", "ray"]);
    }
}
