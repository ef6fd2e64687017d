//! ICD-10-CM code suggestions for the conditions a visit asserts of the patient.
//!
//! Only `MEDICAL_CONDITION` insights that are affirmed for the patient (not negated, hypothetical
//! or about family) can yield a code, and a condition a clinician merely asks about counts only
//! when the patient answers yes. Each condition term is looked up in a curated term map
//! (`data/icd10cm_terms.tsv`): first as "SITE TERM" when an anatomy site is said in the same
//! sentence ("pain in my right knee" → "knee pain"), then as the term itself. The map gives the
//! billable "unspecified" code, and qualifiers said next to the term (laterality, acuity, type)
//! select a more specific one. Codes are scored by who said the condition and where: the
//! clinician assessing it weighs most.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::clinical::insights;
use crate::clinical::lexicon::{find_terms, words, Word};
use crate::clinical::negation::{answer_polarity, AnswerPolarity, SegmentText, SentenceSpan};
use crate::formats::{
    ClinicalInsight, CodeSuggestion, Conversation, EntityCategory, EvidenceLink, InsightSpan,
    InsightTraitName, MedicalCodes, RoleKind, TranscriptSection,
};

const TERMS: &str = include_str!("../../data/icd10cm_terms.tsv");
const DESCRIPTIONS: &str = include_str!("../../data/icd10cm_codes.tsv");

pub const CODE_SYSTEM: &str = "ICD-10-CM";
/// The release `data/icd10cm_codes.tsv` was generated from.
pub const CODE_SYSTEM_VERSION: &str = "2026";

/// Suggestions below this score are left out: a symptom the patient mentions once, outside the
/// assessment, is not worth a coder's time.
pub const MIN_SCORE: f64 = 0.3;
/// At most this many suggestions per visit.
pub const MAX_CODES: usize = 15;

/// Mention weights: the clinician naming a condition while assessing is the strongest evidence.
const WEIGHT_CLINICIAN_ASSESSING: f64 = 0.9;
const WEIGHT_CLINICIAN: f64 = 0.6;
const WEIGHT_PATIENT: f64 = 0.4;
/// "History of …" may be resolved: it counts, but less.
const PAST_HISTORY_FACTOR: f64 = 0.6;
/// Symptom codes (chapter R) rank below diagnoses: a diagnosis usually explains them.
const SYMPTOM_FACTOR: f64 = 0.7;

/// Words around a condition searched for qualifiers ("chronic", "type 1").
const QUALIFIER_WORDS_BEFORE: usize = 4;
const QUALIFIER_WORDS_AFTER: usize = 3;
/// Words before a condition searched for question and uncertainty cues.
const CUE_WORDS_BEFORE: usize = 12;
/// A clinician sentence with one of these before the condition asks rather than states.
const QUESTION_CUES: &[&[&str]] = &[
    &["have", "you"],
    &["do", "you"],
    &["did", "you"],
    &["are", "you"],
    &["were", "you"],
    &["is", "there"],
    &["are", "there"],
    &["any"],
];
/// Uncertain diagnoses, which outpatient coding leaves out (the symptoms are coded instead).
const UNCERTAINTY_CUES: &[&[&str]] = &[
    &["possible"],
    &["possibly"],
    &["probable"],
    &["potential"],
    &["suspected"],
    &["questionable"],
    &["differential"],
    &["might"],
    &["may", "have"],
    &["could", "be"],
    &["could", "have"],
    // "it felt like i was having a heart attack"; not "i feel like my asthma is worse".
    &["like", "i", "was"],
    &["like", "i", "had"],
    &["like", "a"],
    &["as", "if"],
    &["thought", "i"],
    &["worried", "about"],
    &["worry", "about"],
    &["concerned", "about"],
];

fn has_cue(words: &[&str], cues: &[&[&str]]) -> bool {
    cues.iter()
        .any(|cue| words.windows(cue.len()).any(|w| w == *cue))
}

/// Laterality must sit right before the term or its site ("right knee pain", "pain in my left
/// knee"), so a stray "right?" elsewhere in the sentence does not count.
const LATERALITY_WORDS_BEFORE: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum CodeBookError {
    #[error("{file} line {line}: {reason}")]
    Malformed {
        file: &'static str,
        line: usize,
        reason: String,
    },
    #[error("icd10cm_terms.tsv line {line}: code {code} has no description in icd10cm_codes.tsv")]
    UnknownCode { line: usize, code: String },
}

/// A term's codes: the default and the qualified alternatives, in the map's order.
#[derive(Debug, Clone, PartialEq)]
pub struct TermCodes {
    pub default: String,
    /// (qualifier words, code).
    pub qualified: Vec<(Vec<String>, String)>,
}

/// The compiled-in term map and code descriptions.
#[derive(Debug)]
pub struct CodeBook {
    terms: HashMap<String, TermCodes>,
    descriptions: HashMap<String, String>,
}

impl CodeBook {
    fn parse() -> Result<Self, CodeBookError> {
        let mut descriptions = HashMap::new();
        for (index, line) in data_lines(DESCRIPTIONS) {
            let (code, description) =
                line.split_once('\t')
                    .ok_or_else(|| CodeBookError::Malformed {
                        file: "icd10cm_codes.tsv",
                        line: index + 1,
                        reason: "expected code<TAB>description".into(),
                    })?;
            descriptions.insert(code.to_string(), description.to_string());
        }
        let mut terms = HashMap::new();
        for (index, line) in data_lines(TERMS) {
            let malformed = |reason: &str| CodeBookError::Malformed {
                file: "icd10cm_terms.tsv",
                line: index + 1,
                reason: reason.to_string(),
            };
            let mut columns = line.split('\t');
            let term = key(columns.next().unwrap_or_default());
            let default = columns
                .next()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| malformed("expected term<TAB>code"))?
                .to_string();
            let mut qualified = Vec::new();
            for pair in columns.next().unwrap_or_default().split(',') {
                if pair.is_empty() {
                    continue;
                }
                let (qualifier, code) = pair
                    .split_once('=')
                    .ok_or_else(|| malformed("a qualifier is not word=code"))?;
                let qualifier_words = words(qualifier).into_iter().map(|w| w.lower).collect();
                qualified.push((qualifier_words, code.to_string()));
            }
            for code in std::iter::once(&default).chain(qualified.iter().map(|(_, c)| c)) {
                if !descriptions.contains_key(code) {
                    return Err(CodeBookError::UnknownCode {
                        line: index + 1,
                        code: code.clone(),
                    });
                }
            }
            if term.is_empty() {
                return Err(malformed("empty term"));
            }
            terms.insert(term, TermCodes { default, qualified });
        }
        Ok(CodeBook {
            terms,
            descriptions,
        })
    }

    /// The codes of a condition term (any case; spaces or hyphens between words; a plural last
    /// word falls back to its singular: "migraines" → "migraine").
    pub fn lookup(&self, term: &str) -> Option<&TermCodes> {
        let key = key(term);
        self.terms.get(&key).or_else(|| {
            ["s", "es"]
                .iter()
                .filter_map(|suffix| key.strip_suffix(suffix))
                .find_map(|singular| self.terms.get(singular))
        })
    }

    /// The official description of a code in the map.
    pub fn description(&self, code: &str) -> Option<&str> {
        self.descriptions.get(code).map(String::as_str)
    }

    /// Every term with its codes (unordered).
    pub fn terms(&self) -> impl Iterator<Item = (&str, &TermCodes)> {
        self.terms
            .iter()
            .map(|(term, codes)| (term.as_str(), codes))
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

/// Lower-case words joined by one space: "Non-small cell" → "non small cell".
fn key(text: &str) -> String {
    words(text)
        .into_iter()
        .map(|w| w.lower)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The compiled-in code book, parsed once.
pub fn code_book() -> &'static CodeBook {
    static BOOK: OnceLock<CodeBook> = OnceLock::new();
    BOOK.get_or_init(|| {
        // Compiled-in data, checked by `compiled_in_code_book_parses`: a failure is a build defect.
        CodeBook::parse().expect("compiled-in ICD-10-CM data is malformed")
    })
}

/// One mention of a condition that matched a code.
struct Mention<'a> {
    insight: &'a ClinicalInsight,
    segment_index: usize,
    term: String,
    code: String,
    /// The entry's default code: mentions of one condition share it whatever their qualifiers.
    family: String,
    weight: f64,
}

/// Ranked ICD-10-CM suggestions for the visit. Uses the conversation's `ClinicalInsights` when
/// present, else extracts them.
pub fn suggest_codes(conversation: &Conversation) -> MedicalCodes {
    let extracted;
    let all: &[ClinicalInsight] = if conversation.clinical_insights.is_empty() {
        extracted = insights::extract(conversation);
        &extracted
    } else {
        &conversation.clinical_insights
    };
    let book = code_book();
    let index = MentionIndex::new(conversation, all);
    let mentions: Vec<Mention> = all
        .iter()
        .filter(|i| i.category == EntityCategory::MedicalCondition && i.is_affirmed_for_patient())
        .filter_map(|i| mention(conversation, &index, i, book))
        .collect();
    let codes = rank(fold_unspecified(mentions), book);
    tracing::debug!(codes = codes.len(), "code suggestions built");
    MedicalCodes {
        code_system: CODE_SYSTEM.to_string(),
        code_system_version: CODE_SYSTEM_VERSION.to_string(),
        codes,
    }
}

/// Lookups shared by every mention of a visit, built once: segment by id, each segment's words
/// and sentences, anatomy spans by segment. Per mention they were scans of the whole visit or
/// segment, which made coding quadratic in the number of mentions.
struct MentionIndex<'a> {
    segment_by_id: HashMap<&'a str, usize>,
    splits: Vec<OnceLock<SegmentText>>,
    anatomy_by_segment: HashMap<&'a str, Vec<&'a InsightSpan>>,
}

impl<'a> MentionIndex<'a> {
    fn new(conversation: &'a Conversation, all: &'a [ClinicalInsight]) -> Self {
        let segments = &conversation.transcript_segments;
        let mut segment_by_id = HashMap::with_capacity(segments.len());
        for (i, s) in segments.iter().enumerate() {
            // The first segment with an id wins, as a front-to-back search would find it.
            segment_by_id.entry(s.segment_id.as_str()).or_insert(i);
        }
        let mut anatomy_by_segment: HashMap<&str, Vec<&InsightSpan>> = HashMap::new();
        for span in all
            .iter()
            .filter(|i| i.category == EntityCategory::Anatomy)
            .filter_map(|i| i.spans.first())
        {
            anatomy_by_segment
                .entry(span.segment_id.as_str())
                .or_default()
                .push(span);
        }
        Self {
            segment_by_id,
            splits: (0..segments.len()).map(|_| OnceLock::new()).collect(),
            anatomy_by_segment,
        }
    }

    fn split(&self, segment_index: usize, text: &str) -> &SegmentText {
        self.splits[segment_index].get_or_init(|| SegmentText::new(text))
    }
}

/// The words that lie wholly inside `[from, to)`, as a slice of the segment's words.
fn words_within(words: &[Word], from: usize, to: usize) -> &[Word] {
    let first = words.partition_point(|w| w.start < from);
    let last = words.partition_point(|w| w.end <= to).max(first);
    &words[first..last]
}

fn mention<'a>(
    conversation: &Conversation,
    index: &MentionIndex<'_>,
    insight: &'a ClinicalInsight,
    book: &CodeBook,
) -> Option<Mention<'a>> {
    let span = insight.spans.first()?;
    let segments = &conversation.transcript_segments;
    let segment_index = *index.segment_by_id.get(span.segment_id.as_str())?;
    let segment = &segments[segment_index];
    let text = segment.content.as_str();
    let start = span.begin_character_offset;
    let end = span.end_character_offset + 1;
    let split = index.split(segment_index, text);
    let sentence = split.sentence_at(start)?;
    let role = segment.participant_details.participant_role.kind;

    let text_words = split.words();
    let before: Vec<&str> = {
        let in_sentence = words_within(text_words, sentence.start, start);
        let from = in_sentence.len().saturating_sub(CUE_WORDS_BEFORE);
        in_sentence[from..]
            .iter()
            .map(|w| w.lower.as_str())
            .collect()
    };
    // Outpatient coding guidelines: "possible", "probable", "suspected" … are not coded.
    if has_cue(&before, UNCERTAINTY_CUES) {
        return None;
    }

    let mut weight = match (role, &segment.section_details.section_name) {
        (RoleKind::Clinician, TranscriptSection::AssessmentAndPlan) => WEIGHT_CLINICIAN_ASSESSING,
        (RoleKind::Clinician, _) => WEIGHT_CLINICIAN,
        (RoleKind::Patient, _) => WEIGHT_PATIENT,
    };
    // Lower-cased transcripts (ACI-Bench, some recognisers) often drop the "?": "okay and have
    // you had any fever or chills".
    let asks =
        sentence.is_question() || (role == RoleKind::Clinician && has_cue(&before, QUESTION_CUES));
    if asks {
        // A question asserts nothing; the patient's "yes" makes it the patient's statement.
        let answered_yes = role == RoleKind::Clinician
            && segments.get(segment_index + 1).is_some_and(|next| {
                next.participant_details.participant_role.kind == RoleKind::Patient
                    && answer_polarity(&next.content) == AnswerPolarity::Yes
            });
        if !answered_yes {
            return None;
        }
        weight = WEIGHT_PATIENT;
    }
    if insight.has_trait(&InsightTraitName::PastHistory) {
        weight *= PAST_HISTORY_FACTOR;
    }

    let term = find_terms(&span.content)
        .into_iter()
        .next()
        .map(|m| m.canonical)
        .unwrap_or_else(|| key(&span.content));
    let anatomy = index
        .anatomy_by_segment
        .get(span.segment_id.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let site = nearest_site(anatomy, text, sentence, start);
    let (term, codes) = site
        .as_ref()
        .and_then(|(site, _)| {
            site_forms(site).into_iter().find_map(|form| {
                let combined = format!("{form} {term}");
                book.lookup(&combined).map(|codes| (combined, codes))
            })
        })
        .or_else(|| {
            // "radiation pneumonitis" → "pneumonitis", whose qualifiers still see "radiation".
            let term_words: Vec<&str> = term.split(' ').collect();
            (0..term_words.len()).find_map(|from| {
                let tail = term_words[from..].join(" ");
                book.lookup(&tail).map(|codes| (tail, codes))
            })
        })?;

    // The site's side is the condition's side ("carpal tunnel syndrome in both wrists").
    let site_start = site.map(|(_, start)| start);
    let in_sentence = words_within(text_words, sentence.start, sentence.end);
    let code = qualified_code(codes, in_sentence, (start, end), site_start);
    Some(Mention {
        insight,
        segment_index,
        term,
        code,
        family: codes.default.clone(),
        weight,
    })
}

/// The anatomy site said closest to the condition in the same sentence, with where it starts.
fn nearest_site(
    anatomy: &[&InsightSpan],
    text: &str,
    sentence: SentenceSpan,
    at: usize,
) -> Option<(String, usize)> {
    anatomy
        .iter()
        .filter(|s| {
            s.begin_character_offset >= sentence.start && s.end_character_offset < sentence.end
        })
        .min_by_key(|s| s.begin_character_offset.abs_diff(at))
        .map(|s| {
            let site: String = text
                .chars()
                .skip(s.begin_character_offset)
                .take(s.end_character_offset + 1 - s.begin_character_offset)
                .collect();
            (key(&site), s.begin_character_offset)
        })
}

/// "knees" → ["knees", "knee"]: the map spells sites in the singular.
fn site_forms(site: &str) -> Vec<String> {
    let mut forms = vec![site.to_string()];
    if let Some(singular) = site.strip_suffix('s') {
        forms.push(singular.to_string());
    }
    forms
}

const LATERALITY: &[&str] = &["right", "left", "bilateral"];

/// Picks the qualified code whose qualifier is said next to the condition, else the default.
/// "right … and left …" (or "both") selects `bilateral` when the term has it.
fn qualified_code(
    codes: &TermCodes,
    in_sentence: &[Word],
    (start, end): (usize, usize),
    site_start: Option<usize>,
) -> String {
    let first_of = |at: usize| {
        Some(in_sentence.partition_point(|w| w.end <= at)).filter(|&i| i < in_sentence.len())
    };
    let Some(term_first) = first_of(start) else {
        return codes.default.clone();
    };
    let term_last = in_sentence
        .partition_point(|w| w.start < end)
        .checked_sub(1)
        .unwrap_or(term_first);
    let lower = |range: std::ops::Range<usize>| -> Vec<String> {
        in_sentence[range]
            .iter()
            .map(|w| normalise_qualifier(&w.lower).to_string())
            .collect()
    };
    let window = lower(
        term_first.saturating_sub(QUALIFIER_WORDS_BEFORE)
            ..(term_last + 1 + QUALIFIER_WORDS_AFTER).min(in_sentence.len()),
    );
    let mut laterality_words =
        lower(term_first.saturating_sub(LATERALITY_WORDS_BEFORE)..term_first);
    if let Some(site_first) = site_start.and_then(first_of) {
        laterality_words.extend(lower(
            site_first.saturating_sub(LATERALITY_WORDS_BEFORE)..site_first,
        ));
    }
    // "knee pain on the right (side)".
    let after =
        lower((term_last + 1).min(in_sentence.len())..(term_last + 4).min(in_sentence.len()));
    if after.len() >= 2 && after[0] == "the" {
        laterality_words.push(after[1].clone());
    }

    let said = |qualifier: &[String]| -> bool {
        if qualifier.len() == 1 && LATERALITY.contains(&qualifier[0].as_str()) {
            return laterality_words.contains(&qualifier[0]);
        }
        window
            .windows(qualifier.len())
            .any(|w| w.iter().zip(qualifier).all(|(a, b)| a == b))
    };
    let sides: Vec<&str> = ["right", "left"]
        .into_iter()
        .filter(|side| laterality_words.iter().any(|w| w == side))
        .collect();
    if sides.len() == 2 || laterality_words.iter().any(|w| w == "bilateral") {
        return codes
            .qualified
            .iter()
            .find(|(q, _)| q.len() == 1 && q[0] == "bilateral")
            .map(|(_, code)| code.clone())
            .unwrap_or_else(|| codes.default.clone());
    }
    codes
        .qualified
        .iter()
        .find(|(qualifier, _)| said(qualifier))
        .map(|(_, code)| code.clone())
        .unwrap_or_else(|| codes.default.clone())
}

fn normalise_qualifier(word: &str) -> &str {
    match word {
        "both" | "bilaterally" => "bilateral",
        "ii" | "two" => "2",
        "i" | "one" => "1",
        other => other,
    }
}

/// "knee pain" next to "right knee pain": the unspecified code adds nothing once a specific code
/// of the same condition is suggested, so its mentions support the specific code instead.
fn fold_unspecified(mut mentions: Vec<Mention>) -> Vec<Mention> {
    let mut specific: HashMap<String, (String, f64)> = HashMap::new();
    for m in mentions.iter().filter(|m| m.code != m.family) {
        let entry = specific
            .entry(m.family.clone())
            .or_insert((m.code.clone(), 0.0));
        if m.weight > entry.1 {
            *entry = (m.code.clone(), m.weight);
        }
    }
    for m in mentions.iter_mut().filter(|m| m.code == m.family) {
        if let Some((code, _)) = specific.get(&m.family) {
            m.code = code.clone();
        }
    }
    mentions
}

fn rank(mentions: Vec<Mention>, book: &CodeBook) -> Vec<CodeSuggestion> {
    // Group by code, keeping the order codes were first mentioned in.
    let mut groups: Vec<(String, Vec<&Mention>)> = Vec::new();
    for m in &mentions {
        match groups.iter_mut().find(|(code, _)| *code == m.code) {
            Some((_, group)) => group.push(m),
            None => groups.push((m.code.clone(), vec![m])),
        }
    }
    let has_diagnosis = groups.iter().any(|(code, _)| !is_symptom_code(code));
    let mut scored: Vec<(f64, String, Vec<&Mention>)> = groups
        .into_iter()
        .map(|(code, group)| {
            // Noisy-or: each further mention adds support, never past 1.
            let mut score = 1.0 - group.iter().map(|m| 1.0 - m.weight).product::<f64>();
            if has_diagnosis && is_symptom_code(&code) {
                score *= SYMPTOM_FACTOR;
            }
            (score, code, group)
        })
        .filter(|(score, _, _)| *score >= MIN_SCORE)
        .collect();
    // Stable: ties keep first-mention order.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(MAX_CODES)
        .enumerate()
        .map(|(index, (score, code, mut group))| {
            let mut segment_indexes: Vec<usize> = group.iter().map(|m| m.segment_index).collect();
            segment_indexes.sort_unstable();
            segment_indexes.dedup();
            let mut evidence_links: Vec<EvidenceLink> = Vec::new();
            for m in &group {
                let link = EvidenceLink {
                    segment_id: m.insight.spans[0].segment_id.clone(),
                };
                if !evidence_links.contains(&link) {
                    evidence_links.push(link);
                }
            }
            evidence_links.sort_by_key(|link| {
                group
                    .iter()
                    .find(|m| m.insight.spans[0].segment_id == link.segment_id)
                    .map(|m| m.segment_index)
            });
            group.sort_by(|a, b| b.weight.total_cmp(&a.weight));
            let strongest = group[0];
            CodeSuggestion {
                rank: index + 1,
                description: book.description(&code).unwrap_or_default().to_string(),
                code,
                score: (score * 100.0).round() / 100.0,
                term: strongest.term.clone(),
                insight_id: strongest.insight.insight_id.clone(),
                insight_ids: group.iter().map(|m| m.insight.insight_id.clone()).collect(),
                evidence_links,
            }
        })
        .collect()
}

/// ICD-10-CM chapter 18 (R00–R99): symptoms, signs and abnormal findings.
fn is_symptom_code(code: &str) -> bool {
    code.starts_with('R')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::insights::tests::{conversation, seg};
    use crate::formats::{ParticipantRole, TranscriptSection as TS};

    const C: ParticipantRole = ParticipantRole::CLINICIAN_0;
    const P: ParticipantRole = ParticipantRole::PATIENT_0;

    fn codes_of(segments: Vec<crate::formats::TranscriptSegment>) -> Vec<CodeSuggestion> {
        suggest_codes(&conversation(segments)).codes
    }

    fn code_list(codes: &[CodeSuggestion]) -> Vec<&str> {
        codes.iter().map(|c| c.code.as_str()).collect()
    }

    #[test]
    fn compiled_in_code_book_parses() {
        let book = CodeBook::parse().unwrap();
        assert!(book.len() > 250, "only {} terms", book.len());
        assert_eq!(book.lookup("HTN").unwrap().default, "I10");
        assert_eq!(book.lookup("High blood pressure").unwrap().default, "I10");
        assert_eq!(
            book.description("I10"),
            Some("Essential (primary) hypertension")
        );
    }

    #[test]
    fn every_condition_term_in_the_map_is_a_lexicon_condition_or_a_site_combination() {
        use crate::clinical::lexicon::{lexicon, TermKind};
        for term in code_book().terms.keys() {
            if lexicon().kind_of(term) == Some(TermKind::Condition) {
                continue;
            }
            let words: Vec<&str> = term.split(' ').collect();
            let combined = (1..words.len()).any(|cut| {
                lexicon().kind_of(&words[..cut].join(" ")) == Some(TermKind::Anatomy)
                    && lexicon().kind_of(&words[cut..].join(" ")) == Some(TermKind::Condition)
            });
            assert!(combined, "{term:?} can never be matched");
        }
    }

    #[test]
    fn synonyms_map_to_one_code_with_evidence_and_insight() {
        let codes = codes_of(vec![
            seg("1", P, TS::Subjective, "I have high blood pressure."),
            seg(
                "2",
                C,
                TS::AssessmentAndPlan,
                "Your hypertension is well controlled.",
            ),
        ]);
        assert_eq!(code_list(&codes), ["I10"]);
        let htn = &codes[0];
        assert_eq!(htn.rank, 1);
        assert_eq!(htn.description, "Essential (primary) hypertension");
        assert_eq!(
            htn.evidence_links
                .iter()
                .map(|l| l.segment_id.as_str())
                .collect::<Vec<_>>(),
            ["1", "2"]
        );
        assert_eq!(htn.insight_ids.len(), 2);
        // The clinician's assessment is the strongest mention.
        assert_eq!(htn.term, "hypertension");
        assert!(htn.score > WEIGHT_CLINICIAN_ASSESSING);
    }

    #[test]
    fn abbreviations_and_types() {
        let codes = codes_of(vec![seg(
            "1",
            C,
            TS::AssessmentAndPlan,
            "For your afib we continue Eliquis. Your type 2 diabetes and CHF are stable.",
        )]);
        let list = code_list(&codes);
        assert!(list.contains(&"I48.91"), "{list:?}");
        assert!(list.contains(&"E11.9"), "{list:?}");
        assert!(list.contains(&"I50.9"), "{list:?}");
    }

    #[test]
    fn negated_hypothetical_and_family_conditions_yield_no_code() {
        let codes = codes_of(vec![
            seg(
                "1",
                P,
                TS::Subjective,
                "I deny chest pain. No history of diabetes.",
            ),
            seg("2", P, TS::Subjective, "My mother had breast cancer."),
            seg(
                "3",
                C,
                TS::AssessmentAndPlan,
                "If you get a fever, call us. You don't have pneumonia.",
            ),
        ]);
        assert!(codes.is_empty(), "{:?}", code_list(&codes));
    }

    #[test]
    fn unanswered_questions_are_not_evidence_but_a_yes_is() {
        let codes = codes_of(vec![
            seg("1", C, TS::Subjective, "Any asthma?"),
            seg("2", P, TS::Subjective, "I'm not sure."),
            seg("3", C, TS::Subjective, "Do you get migraines?"),
            seg("4", P, TS::Subjective, "Yes, about once a month."),
        ]);
        assert_eq!(code_list(&codes), ["G43.909"]);
    }

    #[test]
    fn laterality_and_site_select_the_specific_code() {
        let codes = codes_of(vec![
            seg("1", P, TS::Subjective, "I have pain in my right knee."),
            seg(
                "2",
                C,
                TS::AssessmentAndPlan,
                "This is knee pain, likely a strain.",
            ),
        ]);
        // The unspecified mention folds into the right-knee code.
        assert_eq!(code_list(&codes), ["M25.561"]);
        assert_eq!(codes[0].evidence_links.len(), 2);

        let codes = codes_of(vec![seg(
            "1",
            C,
            TS::AssessmentAndPlan,
            "You have left shoulder pain and a chronic cough.",
        )]);
        let list = code_list(&codes);
        assert!(list.contains(&"M25.512"), "{list:?}");
        assert!(list.contains(&"R05.3"), "{list:?}");
    }

    #[test]
    fn bilateral_when_both_sides_are_said() {
        let codes = codes_of(vec![seg(
            "1",
            C,
            TS::AssessmentAndPlan,
            "You have carpal tunnel syndrome in both wrists.",
        )]);
        assert_eq!(code_list(&codes), ["G56.03"]);
        let codes = codes_of(vec![seg(
            "1",
            C,
            TS::AssessmentAndPlan,
            "You have bilateral carpal tunnel syndrome.",
        )]);
        assert_eq!(code_list(&codes), ["G56.03"]);
    }

    #[test]
    fn a_stray_right_does_not_set_laterality() {
        let codes = codes_of(vec![seg(
            "1",
            C,
            TS::AssessmentAndPlan,
            "Right, so the knee pain is from overuse.",
        )]);
        assert_eq!(code_list(&codes), ["M25.569"]);
    }

    #[test]
    fn diagnoses_rank_above_symptoms_and_weak_mentions_are_dropped() {
        let codes = codes_of(vec![
            seg("1", P, TS::Subjective, "I've had a cough and some nausea."),
            seg("2", C, TS::AssessmentAndPlan, "I think this is pneumonia."),
            seg("3", C, TS::AssessmentAndPlan, "The cough should improve."),
        ]);
        let list = code_list(&codes);
        assert_eq!(list[0], "J18.9");
        assert!(list.contains(&"R05.9"), "{list:?}");
        // Said once by the patient outside the assessment, next to a diagnosis: below MIN_SCORE.
        assert!(!list.contains(&"R11.0"), "{list:?}");
        assert!(codes.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(
            codes.iter().map(|c| c.rank).collect::<Vec<_>>(),
            (1..=codes.len()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn unpunctuated_clinician_questions_are_not_evidence() {
        let codes = codes_of(vec![
            seg(
                "1",
                C,
                TS::Subjective,
                "okay and have you had any fever or chills",
            ),
            seg("2", P, TS::Subjective, "no"),
            seg(
                "3",
                C,
                TS::Subjective,
                "any other symptoms like a cough or dizziness",
            ),
            seg("4", P, TS::Subjective, "yeah a little cough"),
        ]);
        // The cough is the patient's own; the dizziness was answered by it too ("yeah").
        let list = code_list(&codes);
        assert!(list.contains(&"R05.9"), "{list:?}");
        assert!(
            !list.contains(&"R50.9") && !list.contains(&"R68.83"),
            "{list:?}"
        );
    }

    #[test]
    fn uncertain_diagnoses_are_not_coded() {
        let codes = codes_of(vec![seg(
            "1",
            C,
            TS::AssessmentAndPlan,
            "This is possible Lyme disease, so we'll test for it. Your rash is a reaction.",
        )]);
        assert_eq!(code_list(&codes), ["R21"]);
    }

    #[test]
    fn a_comparison_is_not_a_diagnosis_but_a_feeling_about_one_is() {
        let codes = codes_of(vec![
            seg(
                "1",
                P,
                TS::Subjective,
                "It felt like I was having a heart attack.",
            ),
            seg("2", P, TS::Subjective, "I feel like my asthma is worse."),
        ]);
        assert_eq!(code_list(&codes), ["J45.909"]);
    }

    #[test]
    fn a_compound_term_falls_back_to_its_head_with_qualifiers() {
        let codes = codes_of(vec![seg(
            "1",
            C,
            TS::AssessmentAndPlan,
            "The x-ray shows radiation pneumonitis.",
        )]);
        assert_eq!(code_list(&codes), ["J70.0"]);
    }

    #[test]
    fn past_history_counts_less() {
        let codes = codes_of(vec![
            seg("1", C, TS::Subjective, "You had a history of gout."),
            seg("2", C, TS::Subjective, "You have asthma."),
        ]);
        let score = |code: &str| codes.iter().find(|c| c.code == code).unwrap().score;
        assert!(score("M10.9") < score("J45.909"));
    }

    #[test]
    fn unknown_conditions_and_empty_visits_give_no_codes() {
        assert!(codes_of(vec![]).is_empty());
        let codes = codes_of(vec![seg("1", C, TS::AssessmentAndPlan, "You have a mass.")]);
        assert!(codes.is_empty());
    }
}
