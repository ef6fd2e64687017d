//! Clinical entities (HealthScribe `ClinicalInsights`) from a conversation's segments: lexicon
//! terms, medication attributes, test values, and assertion traits.

use uuid::Uuid;

use crate::clinical::lexicon::{find_terms, TermKind, TermMatch, Word};
use crate::clinical::negation::{
    answer_polarity, assertion_traits_in, AnswerPolarity, SegmentText,
};
use crate::formats::{
    ClinicalInsight, Conversation, EntityType, InsightAttribute, InsightSpan, InsightTrait,
    InsightTraitName, RoleKind, TranscriptSegment,
};

/// Namespace for Veriscribe's deterministic insight and attribute ids (uuid v5).
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1d_2f0e_8a4b_5e6f_9c3d_7a1b_0e2f_4d5c);

/// All clinical entities of the conversation, in segment order then text order.
pub fn extract(conversation: &Conversation) -> Vec<ClinicalInsight> {
    let segments = &conversation.transcript_segments;
    let mut out = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        let next = segments.get(index + 1);
        out.extend(segment_insights(segment, next));
    }
    tracing::debug!(
        segments = segments.len(),
        insights = out.len(),
        "clinical insights extracted"
    );
    out
}

/// Entities of one segment; `next` is the following segment, read for a "no" that answers a
/// clinician's question.
pub fn segment_insights(
    segment: &TranscriptSegment,
    next: Option<&TranscriptSegment>,
) -> Vec<ClinicalInsight> {
    let text = segment.content.as_str();
    let chars: Vec<char> = text.chars().collect();
    // Split once for all the mentions of the segment (per mention it was quadratic).
    let split = SegmentText::new(text);
    let text_words = split.words();
    let matches = find_terms(text);
    let stops = NextStops::new(&matches);
    let answered_no = segment.participant_details.participant_role.kind == RoleKind::Clinician
        && next.is_some_and(|n| {
            n.participant_details.participant_role.kind == RoleKind::Patient
                && answer_polarity(&n.content) == AnswerPolarity::No
        });

    let mut out = Vec::with_capacity(matches.len());
    for (i, term) in matches.iter().enumerate() {
        let mut traits = assertion_traits_in(&split, term.start, term.end);
        if answered_no
            && !traits.contains(&InsightTraitName::Negation)
            && split
                .sentence_at(term.start)
                .is_some_and(|s| s.is_question())
        {
            traits.push(InsightTraitName::Negation);
        }
        let entity_type = term.kind.entity_type();
        let attributes = if term.kind.is_medication() {
            let limit = next_boundary(&split, &matches, i, stops.next_medication[i]);
            medication_attributes(segment, &chars, text_words, term, limit)
        } else if term.kind == TermKind::Test {
            let limit = next_boundary(&split, &matches, i, Some(i + 1));
            test_attributes(segment, &chars, text_words, term, limit)
        } else {
            Vec::new()
        };
        out.push(ClinicalInsight {
            insight_id: id_for(segment, term.start, term.end, entity_type.as_str()),
            insight_type: ClinicalInsight::CLINICAL_ENTITY.to_string(),
            category: term.kind.category(),
            entity_type,
            spans: vec![span(segment, &chars, term.start, term.end)],
            attributes,
            traits: traits
                .into_iter()
                .map(|name| InsightTrait { name })
                .collect(),
        });
    }
    out
}

fn id_for(segment: &TranscriptSegment, start: usize, end: usize, kind: &str) -> String {
    let name = format!("{}|{start}|{end}|{kind}", segment.segment_id);
    Uuid::new_v5(&ID_NAMESPACE, name.as_bytes()).to_string()
}

/// A span over characters `[start, end)`, written with HealthScribe's inclusive end.
fn span(segment: &TranscriptSegment, chars: &[char], start: usize, end: usize) -> InsightSpan {
    InsightSpan {
        segment_id: segment.segment_id.clone(),
        begin_character_offset: start,
        end_character_offset: end - 1,
        content: chars[start..end].iter().collect(),
    }
}

/// Where an attribute search after match `i` must stop: the end of its sentence or the start of
/// the next match that `stops` accepts, whichever comes first.
/// For each match, the index of the next medication match after it (precomputed, so that
/// finding a medication's attribute boundary does not scan the rest of the segment).
struct NextStops {
    next_medication: Vec<Option<usize>>,
}

impl NextStops {
    fn new(matches: &[TermMatch]) -> Self {
        let mut next_medication = vec![None; matches.len()];
        let mut next = None;
        for i in (0..matches.len()).rev() {
            next_medication[i] = next;
            if matches[i].kind.is_medication() {
                next = Some(i);
            }
        }
        Self { next_medication }
    }
}

/// Where a mention's attributes end: its sentence's end or the start of match `next_stop`,
/// whichever comes first.
fn next_boundary(
    split: &SegmentText,
    matches: &[TermMatch],
    i: usize,
    next_stop: Option<usize>,
) -> usize {
    let sentence_end = split
        .sentence_at(matches[i].start)
        .map(|s| s.end)
        .unwrap_or(usize::MAX);
    let next_match = next_stop
        .and_then(|j| matches.get(j))
        .map(|m| m.start)
        .unwrap_or(usize::MAX);
    sentence_end.min(next_match)
}

const NUMBER_WORDS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "half",
    "point",
];

pub(crate) fn is_number_word(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_digit())
        && w.chars().all(|c| c.is_ascii_digit() || c == '.')
        || NUMBER_WORDS.contains(&w)
}

/// Length of the run of number words starting at `i` ("one fifty", "7.2", "twenty five").
fn number_run(words: &[Word], i: usize) -> usize {
    words[i..]
        .iter()
        .take_while(|w| is_number_word(&w.lower))
        .count()
}

/// Matches `pattern` at word `i`: `#` is a run of number words (or "a"), anything else a literal.
/// Returns how many words matched.
fn match_pattern(words: &[Word], i: usize, pattern: &[&str]) -> Option<usize> {
    let mut at = i;
    for p in pattern {
        if at >= words.len() {
            return None;
        }
        if *p == "#" {
            let run = number_run(words, at);
            if run > 0 {
                at += run;
            } else if words[at].lower == "a" || words[at].lower == "an" {
                at += 1;
            } else {
                return None;
            }
        } else if words[at].lower == *p {
            at += 1;
        } else {
            return None;
        }
    }
    Some(at - i)
}

const STRENGTH_UNITS: &[&str] = &[
    "mg",
    "milligram",
    "milligrams",
    "mcg",
    "microgram",
    "micrograms",
    "g",
    "gram",
    "grams",
    "ml",
    "milliliter",
    "milliliters",
    "cc",
    "unit",
    "units",
    "iu",
    "meq",
];
const DOSE_FORMS: &[&str] = &[
    "tablet",
    "tablets",
    "pill",
    "pills",
    "capsule",
    "capsules",
    "tab",
    "tabs",
    "puff",
    "puffs",
    "drop",
    "drops",
    "spray",
    "sprays",
    "teaspoon",
    "teaspoons",
    "patch",
    "dose",
    "doses",
    "shot",
    "injection",
];
const FREQUENCIES: &[&[&str]] = &[
    &["#", "times", "a", "day"],
    &["#", "times", "per", "day"],
    &["#", "times", "daily"],
    &["#", "times", "a", "week"],
    &["once", "a", "day"],
    &["twice", "a", "day"],
    &["once", "a", "week"],
    &["twice", "a", "week"],
    &["once", "daily"],
    &["twice", "daily"],
    &["every", "#", "hours"],
    &["every", "other", "day"],
    &["every", "day"],
    &["every", "morning"],
    &["every", "night"],
    &["every", "evening"],
    &["every", "week"],
    &["at", "night"],
    &["at", "bedtime"],
    &["before", "bed"],
    &["as", "needed"],
    &["per", "day"],
    &["a", "day"],
    &["daily"],
    &["nightly"],
    &["weekly"],
    &["monthly"],
    &["bid"],
    &["tid"],
    &["qid"],
    &["prn"],
    &["qd"],
];
const ROUTES: &[&[&str]] = &[
    &["by", "mouth"],
    &["under", "the", "tongue"],
    &["orally"],
    &["oral"],
    &["topically"],
    &["topical"],
    &["intravenously"],
    &["intravenous"],
    &["iv"],
    &["subcutaneously"],
    &["subcutaneous"],
    &["intramuscular"],
    &["sublingual"],
    &["inhaled"],
    &["nasally"],
    &["rectally"],
];
const DURATION_UNITS: &[&str] = &["day", "days", "week", "weeks", "month", "months"];

fn medication_attributes(
    segment: &TranscriptSegment,
    chars: &[char],
    words: &[Word],
    term: &TermMatch,
    limit: usize,
) -> Vec<InsightAttribute> {
    let mut found: Vec<(EntityType, usize, usize)> = Vec::new();
    let first_after =
        Some(words.partition_point(|w| w.start < term.end)).filter(|&i| i < words.len());

    // "20 milligrams of lisinopril": strength just before the name.
    if let Some(name_at) =
        Some(words.partition_point(|w| w.start < term.start)).filter(|&i| i < words.len())
    {
        if name_at >= 3 && words[name_at - 1].lower == "of" {
            let unit = &words[name_at - 2];
            if STRENGTH_UNITS.contains(&unit.lower.as_str()) {
                let mut n = name_at - 2;
                while n > 0 && is_number_word(&words[n - 1].lower) {
                    n -= 1;
                }
                if n < name_at - 2 {
                    found.push((EntityType::Strength, words[n].start, unit.end));
                }
            }
        }
    }

    let mut i = first_after.unwrap_or(words.len());
    while i < words.len() && words[i].end <= limit {
        let run = number_run(words, i);
        let next = words.get(i + run).map(|w| w.lower.as_str());
        if run > 0 && next.is_some_and(|u| STRENGTH_UNITS.contains(&u)) {
            found.push((EntityType::Strength, words[i].start, words[i + run].end));
            i += run + 1;
            continue;
        }
        if (run > 0 || words[i].lower == "a") && {
            let at = i + run.max(1);
            words
                .get(at)
                .is_some_and(|w| DOSE_FORMS.contains(&w.lower.as_str()))
        } {
            let at = i + run.max(1);
            found.push((EntityType::Dosage, words[i].start, words[at].end));
            i = at + 1;
            continue;
        }
        if words[i].lower == "for" {
            if let Some(n) = match_pattern(words, i + 1, &["#"]) {
                let unit = words.get(i + 1 + n).map(|w| w.lower.as_str());
                if unit.is_some_and(|u| DURATION_UNITS.contains(&u)) {
                    found.push((
                        EntityType::Duration,
                        words[i + 1].start,
                        words[i + 1 + n].end,
                    ));
                    i += n + 2;
                    continue;
                }
            }
        }
        if let Some(n) = FREQUENCIES.iter().find_map(|p| match_pattern(words, i, p)) {
            found.push((EntityType::Frequency, words[i].start, words[i + n - 1].end));
            i += n;
            continue;
        }
        if let Some(n) = ROUTES.iter().find_map(|p| match_pattern(words, i, p)) {
            found.push((
                EntityType::RouteOrMode,
                words[i].start,
                words[i + n - 1].end,
            ));
            i += n;
            continue;
        }
        i += 1;
    }
    found
        .into_iter()
        .filter(|(_, _, end)| *end <= limit || *end <= term.start)
        .map(|(kind, start, end)| attribute(segment, chars, kind, start, end))
        .collect()
}

const VALUE_WORDS: &[&str] = &[
    "normal",
    "abnormal",
    "high",
    "low",
    "elevated",
    "negative",
    "positive",
    "stable",
    "unremarkable",
];
const TEST_UNITS: &[&[&str]] = &[
    &["beats", "per", "minute"],
    &["breaths", "per", "minute"],
    &["milligrams", "per", "deciliter"],
    &["percent"],
    &["bpm"],
    &["degrees"],
    &["pounds"],
    &["lbs"],
    &["kilograms"],
    &["kg"],
    &["centimeters"],
    &["cm"],
    &["inches"],
    &["mmhg"],
    &["mg"],
    &["milligrams"],
];
/// Words a test value may sit behind: "blood pressure today is 150 over 95".
const MAX_WORDS_BEFORE_VALUE: usize = 4;

fn test_attributes(
    segment: &TranscriptSegment,
    chars: &[char],
    words: &[Word],
    term: &TermMatch,
    limit: usize,
) -> Vec<InsightAttribute> {
    let first = words.partition_point(|w| w.start < term.end);
    if first >= words.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for i in first..(first + MAX_WORDS_BEFORE_VALUE + 1).min(words.len()) {
        if words[i].end > limit {
            break;
        }
        let run = number_run(words, i);
        if run > 0 {
            let mut end_word = i + run - 1;
            // "150 over 95" and "150/95" are one value.
            let second = end_word + 1;
            let joined_by_over = words.get(second).is_some_and(|w| w.lower == "over")
                && words
                    .get(second + 1)
                    .is_some_and(|w| is_number_word(&w.lower));
            let joined_by_slash = words.get(second).is_some_and(|w| {
                is_number_word(&w.lower)
                    && chars[words[end_word].end..w.start]
                        .iter()
                        .collect::<String>()
                        == "/"
            });
            if joined_by_over {
                end_word = second + number_run(words, second + 1);
            } else if joined_by_slash {
                end_word = second + number_run(words, second) - 1;
            }
            if words[end_word].end > limit {
                break;
            }
            out.push(attribute(
                segment,
                chars,
                EntityType::TestValue,
                words[i].start,
                words[end_word].end,
            ));
            let after = end_word + 1;
            let percent = chars[words[end_word].end..]
                .iter()
                .position(|c| !c.is_whitespace())
                .map(|p| words[end_word].end + p)
                .filter(|&p| chars[p] == '%' && p < limit);
            if let Some(p) = percent {
                out.push(attribute(segment, chars, EntityType::TestUnit, p, p + 1));
            } else if let Some(n) = TEST_UNITS
                .iter()
                .find_map(|u| match_pattern(words, after, u))
            {
                if words[after + n - 1].end <= limit {
                    out.push(attribute(
                        segment,
                        chars,
                        EntityType::TestUnit,
                        words[after].start,
                        words[after + n - 1].end,
                    ));
                }
            }
            break;
        }
        if VALUE_WORDS.contains(&words[i].lower.as_str()) {
            out.push(attribute(
                segment,
                chars,
                EntityType::TestValue,
                words[i].start,
                words[i].end,
            ));
            break;
        }
    }
    out
}

fn attribute(
    segment: &TranscriptSegment,
    chars: &[char],
    kind: EntityType,
    start: usize,
    end: usize,
) -> InsightAttribute {
    InsightAttribute {
        attribute_id: id_for(segment, start, end, kind.as_str()),
        attribute_type: kind,
        spans: vec![span(segment, chars, start, end)],
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::formats::{
        EntityCategory, ParticipantDetails, ParticipantRole, SectionDetails, TranscriptSection,
    };

    pub(crate) fn seg(
        id: &str,
        role: ParticipantRole,
        section: TranscriptSection,
        text: &str,
    ) -> TranscriptSegment {
        TranscriptSegment {
            segment_id: id.to_string(),
            begin_audio_time: 0.0,
            end_audio_time: 0.0,
            content: text.to_string(),
            participant_details: ParticipantDetails {
                participant_role: role,
            },
            section_details: SectionDetails {
                section_name: section,
            },
        }
    }

    pub(crate) fn conversation(segments: Vec<TranscriptSegment>) -> Conversation {
        Conversation {
            conversation_id: "c".to_string(),
            job_name: None,
            job_type: None,
            session_id: None,
            language_code: "en-US".to_string(),
            clinical_insights: Vec::new(),
            transcript_items: Vec::new(),
            transcript_segments: segments,
        }
    }

    fn one(text: &str) -> Vec<ClinicalInsight> {
        let c = conversation(vec![seg(
            "s1",
            ParticipantRole::CLINICIAN_0,
            TranscriptSection::AssessmentAndPlan,
            text,
        )]);
        extract(&c)
    }

    fn span_text(content: &str, s: &InsightSpan) -> String {
        content
            .chars()
            .skip(s.begin_character_offset)
            .take(s.end_character_offset + 1 - s.begin_character_offset)
            .collect()
    }

    fn attr(i: &ClinicalInsight, kind: EntityType) -> Option<&str> {
        i.attributes
            .iter()
            .find(|a| a.attribute_type == kind)
            .map(|a| a.spans[0].content.as_str())
    }

    #[test]
    fn spans_are_exact_with_inclusive_end() {
        let text = "Naïve question: any chest pain? I take Lasix 40 mg daily.";
        for insight in one(text) {
            for s in insight
                .spans
                .iter()
                .chain(insight.attributes.iter().flat_map(|a| a.spans.iter()))
            {
                assert_eq!(span_text(text, s), s.content);
            }
        }
    }

    #[test]
    fn medication_with_strength_frequency_and_route() {
        let text = "Start metformin 500 milligrams twice a day by mouth for 30 days.";
        let insights = one(text);
        let drug = insights
            .iter()
            .find(|i| i.category == EntityCategory::Medication)
            .expect("drug");
        assert_eq!(drug.entity_type, EntityType::GenericName);
        assert_eq!(drug.spans[0].content, "metformin");
        assert_eq!(attr(drug, EntityType::Strength), Some("500 milligrams"));
        assert_eq!(attr(drug, EntityType::Frequency), Some("twice a day"));
        assert_eq!(attr(drug, EntityType::RouteOrMode), Some("by mouth"));
        assert_eq!(attr(drug, EntityType::Duration), Some("30 days"));
    }

    #[test]
    fn brand_name_and_strength_before_the_name() {
        let insights = one("He takes 20 mg of Lasix daily and one tablet of aspirin.");
        let lasix = insights
            .iter()
            .find(|i| i.spans[0].content == "Lasix")
            .unwrap();
        assert_eq!(lasix.entity_type, EntityType::BrandName);
        assert_eq!(attr(lasix, EntityType::Strength), Some("20 mg"));
        assert_eq!(attr(lasix, EntityType::Frequency), Some("daily"));
        let aspirin = insights
            .iter()
            .find(|i| i.spans[0].content == "aspirin")
            .unwrap();
        assert_eq!(attr(aspirin, EntityType::Frequency), None);
    }

    #[test]
    fn attributes_do_not_leak_to_the_next_drug() {
        let insights = one("Continue lisinopril and start amlodipine 5 mg daily.");
        let lisinopril = insights
            .iter()
            .find(|i| i.spans[0].content == "lisinopril")
            .unwrap();
        assert!(lisinopril.attributes.is_empty());
        let amlodipine = insights
            .iter()
            .find(|i| i.spans[0].content == "amlodipine")
            .unwrap();
        assert_eq!(attr(amlodipine, EntityType::Strength), Some("5 mg"));
    }

    #[test]
    fn test_value_over_form() {
        let insights = one("Your blood pressure is 150 over 95 today.");
        let bp = &insights[0];
        assert_eq!(bp.category, EntityCategory::TestTreatmentProcedure);
        assert_eq!(bp.entity_type, EntityType::TestName);
        assert_eq!(attr(bp, EntityType::TestValue), Some("150 over 95"));
    }

    #[test]
    fn test_value_with_percent_unit() {
        let insights = one("The ejection fraction was 45 % on the echo.");
        let ef = &insights[0];
        assert_eq!(attr(ef, EntityType::TestValue), Some("45"));
        assert_eq!(attr(ef, EntityType::TestUnit), Some("%"));
        let insights = one("Heart rate of 72 beats per minute.");
        assert_eq!(attr(&insights[0], EntityType::TestValue), Some("72"));
        assert_eq!(
            attr(&insights[0], EntityType::TestUnit),
            Some("beats per minute")
        );
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = one("Knee pain and asthma.");
        let b = one("Knee pain and asthma.");
        assert_eq!(a, b);
        assert_ne!(a[0].insight_id, a[1].insight_id);
        assert!(Uuid::parse_str(&a[0].insight_id).is_ok());
    }

    #[test]
    fn categories_cover_the_four_kinds() {
        let insights = one("An MRI of the knee for the arthritis; physical therapy next.");
        let kinds: Vec<(EntityCategory, EntityType)> = insights
            .iter()
            .map(|i| (i.category.clone(), i.entity_type.clone()))
            .collect();
        assert!(kinds.contains(&(EntityCategory::TestTreatmentProcedure, EntityType::TestName)));
        assert!(kinds.contains(&(EntityCategory::Anatomy, EntityType::SystemOrganSite)));
        assert!(kinds.contains(&(EntityCategory::MedicalCondition, EntityType::DxName)));
        assert!(kinds.contains(&(
            EntityCategory::TestTreatmentProcedure,
            EntityType::TreatmentName
        )));
    }

    #[test]
    fn question_answered_no_negates() {
        let c = conversation(vec![
            seg(
                "q",
                ParticipantRole::CLINICIAN_0,
                TranscriptSection::Subjective,
                "Okay. Any fever or chills?",
            ),
            seg(
                "a",
                ParticipantRole::PATIENT_0,
                TranscriptSection::Subjective,
                "No.",
            ),
            seg(
                "q2",
                ParticipantRole::CLINICIAN_0,
                TranscriptSection::Subjective,
                "Any cough?",
            ),
            seg(
                "a2",
                ParticipantRole::PATIENT_0,
                TranscriptSection::Subjective,
                "Yeah, a dry cough.",
            ),
        ]);
        let insights = extract(&c);
        let by_text = |t: &str, seg: &str| {
            insights
                .iter()
                .find(|i| i.spans[0].content == t && i.spans[0].segment_id == seg)
                .unwrap()
                .clone()
        };
        assert!(by_text("fever", "q").has_trait(&InsightTraitName::Negation));
        assert!(by_text("chills", "q").has_trait(&InsightTraitName::Negation));
        assert!(!by_text("cough", "q2").has_trait(&InsightTraitName::Negation));
        assert!(by_text("dry cough", "a2").is_affirmed_for_patient());
    }

    #[test]
    fn family_history_trait_is_set() {
        let insights = one("My mother had diabetes.");
        assert!(insights[0].has_trait(&InsightTraitName::PertainsToFamily));
        assert!(!insights[0].is_affirmed_for_patient());
    }
}
