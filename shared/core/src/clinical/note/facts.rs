//! Facts: the transcript cut into sentences, each with the speaker, the transcript section and
//! the clinical insights inside it; and the facts read directly off the conversation (the chief
//! complaint, the review of systems from yes/no answers).

use super::*;

/// One transcript sentence with what the note needs to know about it.
pub(super) struct Sentence<'a> {
    pub(super) segment_index: usize,
    pub(super) segment_id: &'a str,
    pub(super) role: RoleKind,
    pub(super) section: &'a TranscriptSection,
    pub(super) raw: String,
    pub(super) is_question: bool,
    pub(super) insights: Vec<&'a ClinicalInsight>,
}

impl Sentence<'_> {
    pub(super) fn conditions(&self) -> impl Iterator<Item = &&ClinicalInsight> {
        self.insights
            .iter()
            .filter(|i| i.category == EntityCategory::MedicalCondition)
    }

    pub(super) fn affirmed_conditions(&self) -> Vec<&ClinicalInsight> {
        self.conditions()
            .filter(|i| i.is_affirmed_for_patient())
            .copied()
            .collect()
    }

    pub(super) fn has_unaffirmed_condition(&self) -> bool {
        self.conditions().any(|i| !i.is_affirmed_for_patient())
    }

    pub(super) fn has_trait(&self, name: &InsightTraitName) -> bool {
        self.insights.iter().any(|i| i.has_trait(name))
    }

    pub(super) fn lower_words(&self) -> Vec<String> {
        words(&self.raw).into_iter().map(|w| w.lower).collect()
    }

    pub(super) fn has_any(&self, cues: &[&str]) -> bool {
        contains_cue(&self.lower_words(), cues)
    }
}

/// True when one of `cues` (single words or space-separated phrases) occurs in `words`.
pub(super) fn contains_cue(words: &[String], cues: &[&str]) -> bool {
    cues.iter().any(|cue| {
        let parts: Vec<&str> = cue.split(' ').collect();
        words
            .windows(parts.len())
            .any(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
    })
}

/// The transcript cut into sentences (unpunctuated runs split), each with its insights.
pub(super) fn transcript_sentences<'a>(
    conversation: &'a Conversation,
    insights: &'a [ClinicalInsight],
) -> Vec<Sentence<'a>> {
    let segments = &conversation.transcript_segments;
    let mut all: Vec<Sentence> = Vec::new();
    for (segment_index, segment) in segments.iter().enumerate() {
        for span in sentences(&segment.content)
            .into_iter()
            .flat_map(|span| split_run_on(&segment.content, span))
        {
            let raw: String = segment
                .content
                .chars()
                .skip(span.start)
                .take(span.end - span.start)
                .collect();
            let in_sentence = insights
                .iter()
                .filter(|i| {
                    i.spans.first().is_some_and(|s| {
                        s.segment_id == segment.segment_id
                            && s.begin_character_offset >= span.start
                            && s.end_character_offset < span.end
                    })
                })
                .collect();
            let is_question = (span.is_question() && !is_tag_question(&raw))
                || (span.terminator.is_none() && has_question_form(&raw));
            all.push(Sentence {
                segment_index,
                segment_id: &segment.segment_id,
                role: segment.participant_details.participant_role.kind,
                section: &segment.section_details.section_name,
                raw,
                is_question,
                insights: in_sentence,
            });
        }
    }

    all
}

/// The reason for the visit: what follows "presents for", "here today for"... in an early
/// sentence, else the first symptoms the patient affirms.
pub(super) fn chief_complaint(all: &[Sentence]) -> Vec<SummarizedSentence> {
    const LEADS: &[&[&str]] = &[
        &["presents", "today", "for"],
        &["presents", "for"],
        &["presents", "with"],
        &["presenting", "with"],
        &["here", "today", "for"],
        &["here", "for"],
        &["in", "today", "for"],
        &["coming", "in", "for"],
        &["came", "in", "for"],
        &["here", "to", "discuss"],
    ];
    let early = all
        .iter()
        .take_while(|s| !matches!(s.section, TranscriptSection::AssessmentAndPlan));
    for s in early.clone() {
        // "What are you here for?" names no reason.
        if s.is_question {
            continue;
        }
        let detok = detokenize(&s.raw);
        let tokens: Vec<&str> = detok.split_whitespace().collect();
        let bare: Vec<String> = tokens.iter().map(|t| bare_word(t)).collect();
        for lead in LEADS {
            let Some(at) = bare
                .windows(lead.len())
                .position(|w| w.iter().zip(*lead).all(|(a, b)| a == b))
            else {
                continue;
            };
            let mut reason: Vec<&str> = Vec::new();
            for token in &tokens[at + lead.len()..] {
                let word = bare_word(token);
                if matches!(word.as_str(), "who" | "today" | "so" | "and") && !reason.is_empty() {
                    break;
                }
                reason.push(token.trim_end_matches([',', '.', '?', '!', ';']));
                if token.ends_with([',', '.', '?', '!', ';']) || reason.len() >= 10 {
                    break;
                }
            }
            let reason = reason.join(" ");
            if content_word_count(&reason) >= 1 && !reason.starts_with("you") {
                // "my knee pain" → "Knee pain.": a chief complaint is a noun phrase.
                let reason = ["my ", "your ", "My ", "Your "]
                    .iter()
                    .find_map(|p| reason.strip_prefix(p))
                    .unwrap_or(&reason);
                let text = format!("{}.", capitalize(&third_person_possessives(reason)));
                // "Here for … the patient is." is not a reason; later leads or the affirmed
                // symptoms may give one.
                if opening::complaint_phrase(&text).is_none() {
                    continue;
                }
                return vec![summarized(text, &[s.segment_id])];
            }
        }
    }
    for s in early {
        if s.role != RoleKind::Patient || s.is_question {
            continue;
        }
        let names: Vec<String> = s
            .affirmed_conditions()
            .iter()
            .map(|i| i.spans[0].content.to_lowercase())
            .fold(Vec::new(), |mut acc, n| {
                if !acc.contains(&n) {
                    acc.push(n);
                }
                acc
            });
        if !names.is_empty() {
            let names: Vec<String> = names.into_iter().take(3).collect();
            let text = format!("{}.", capitalize(&join_list(&names)));
            return vec![summarized(text, &[s.segment_id])];
        }
    }
    Vec::new()
}

/// "Any fever or chills?" answered "no" becomes "Denies fever and chills."; answered "yes",
/// "Endorses ...". Both segments are cited.
pub(super) fn review_of_systems(
    conversation: &Conversation,
    all: &[Sentence],
) -> Vec<SummarizedSentence> {
    let segments = &conversation.transcript_segments;
    let mut out = Vec::new();
    for s in all {
        if !s.is_question
            || !is_symptom_question(&s.raw)
            || s.role != RoleKind::Clinician
            || matches!(
                s.section,
                TranscriptSection::Other | TranscriptSection::AssessmentAndPlan
            )
        {
            continue;
        }
        let Some(answer) = segments.get(s.segment_index + 1) else {
            continue;
        };
        if answer.participant_details.participant_role.kind != RoleKind::Patient {
            continue;
        }
        let mut names: Vec<String> = Vec::new();
        for i in s.conditions() {
            if i.has_trait(&InsightTraitName::PertainsToFamily) {
                continue;
            }
            let name = i.spans[0].content.to_lowercase();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.is_empty() {
            continue;
        }
        let verb = match answer_polarity(&answer.content) {
            AnswerPolarity::No => "Denies",
            AnswerPolarity::Yes => "Endorses",
            AnswerPolarity::Unclear => continue,
        };
        out.push(summarized(
            format!("{verb} {}.", join_list(&names)),
            &[s.segment_id, &answer.segment_id],
        ));
    }
    out
}

/// "It looks like you're managing it well, okay?" is a statement with a tag, not a question.
pub(super) fn is_tag_question(raw: &str) -> bool {
    const TAGS: &[&str] = &["okay", "ok", "right", "alright", "yeah", "correct", "good"];
    let w: Vec<String> = words(raw).into_iter().map(|w| w.lower).collect();
    w.len() > 5 && w.last().is_some_and(|last| TAGS.contains(&last.as_str()))
}

/// A yes/no question about symptoms ("any fever?", "do you have chest pain?"), whose short
/// answer can be read as a denial or an endorsement.
pub(super) fn is_symptom_question(raw: &str) -> bool {
    let w: Vec<String> = words(raw).into_iter().map(|w| w.lower).collect();
    !contains_cue(
        &w,
        &["how are", "how is", "how's", "how have", "how do", "what"],
    ) && contains_cue(
        &w,
        &[
            "any",
            "have you",
            "do you",
            "are you",
            "did you",
            "has there",
            "is there",
        ],
    )
}
