//! The clinical note (HealthScribe `ClinicalDocumentation`), extractive and traceable by
//! construction: every sentence is a cleaned-up, third-person rendering of transcript sentences
//! (or a list of entity names read from them) and links the segments it was built from. Nothing is
//! generated that is not in those segments, so numbers and drug names are always traceable.

mod checks;
mod layout;
mod learned;
mod realise;

use std::collections::HashSet;

use crate::clinical::custom_template::{CustomSection, CustomTemplate};
use crate::clinical::insights;
use crate::clinical::lexicon::words;
use crate::clinical::negation::{answer_polarity, sentences, AnswerPolarity, SentenceSpan};
use crate::clinical::routing::{utterance_topic, NoteTopic};
use crate::formats::{
    ClinicalDocumentation, ClinicalInsight, Conversation, EntityCategory, EntityType, EvidenceLink,
    InsightTraitName, NoteSection, NoteSectionContent, NoteTemplate, PatientPronouns, RoleKind,
    SummarizedSentence, TranscriptSection,
};
use learned::Route;
use realise::{in_voice, states_order, Voice};

/// A history or examination sentence is written when the learned router gives "not in the
/// note" at most this probability (chosen on the training visits' ROUGE: 0.5 / 0.7 / 0.8 / 0.9
/// gave ROUGE-1 45.58 / 46.77 / 46.44 / 46.01).
const LEARNED_NONE_MAX: f64 = 0.7;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("note section {section} sentence {index} has no evidence link")]
    Unlinked { section: String, index: usize },
    #[error("note section {section} sentence {index} links segment {segment_id:?}, which is not in the transcript")]
    Dangling {
        section: String,
        index: usize,
        segment_id: String,
    },
}

/// Every sentence must have at least one evidence link, and every link must name a segment of
/// `conversation`.
pub fn validate_evidence(
    doc: &ClinicalDocumentation,
    conversation: &Conversation,
) -> Result<(), EvidenceError> {
    let ids: HashSet<&str> = conversation
        .transcript_segments
        .iter()
        .map(|s| s.segment_id.as_str())
        .collect();
    for section in &doc.sections {
        for (index, sentence) in section.summary.iter().enumerate() {
            if sentence.evidence_links.is_empty() {
                return Err(EvidenceError::Unlinked {
                    section: section.section_name.to_string(),
                    index,
                });
            }
            if let Some(link) = sentence
                .evidence_links
                .iter()
                .find(|l| !ids.contains(l.segment_id.as_str()))
            {
                return Err(EvidenceError::Dangling {
                    section: section.section_name.to_string(),
                    index,
                    segment_id: link.segment_id.clone(),
                });
            }
        }
    }
    Ok(())
}

/// What the note is told about the visit besides the conversation (HealthScribe's
/// `MedicalScribeContext`). The default infers everything from the conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoteSettings {
    /// `PatientContext.Pronouns`: the note refers to the patient as he/him, she/her or, for
    /// `THEY_THEM`, as "the patient" with they/them/their. `None`: he or she where the
    /// clinician's words make it clear, else as for `THEY_THEM`.
    pub patient_pronouns: Option<PatientPronouns>,
}

/// Builds the note for `template` from the conversation's segments (roles and sections must be
/// set). Uses the conversation's `ClinicalInsights` when present, else extracts them.
pub fn build_documentation(
    conversation: &Conversation,
    template: NoteTemplate,
) -> ClinicalDocumentation {
    build_documentation_with(conversation, template, &NoteSettings::default())
}

/// [`build_documentation`] with what is known about the patient ([`NoteSettings`]).
pub fn build_documentation_with(
    conversation: &Conversation,
    template: NoteTemplate,
    settings: &NoteSettings,
) -> ClinicalDocumentation {
    let extracted;
    let insights: &[ClinicalInsight] = if conversation.clinical_insights.is_empty() {
        extracted = insights::extract(conversation);
        &extracted
    } else {
        &conversation.clinical_insights
    };
    let material = Material::gather(conversation, insights, settings);
    let sections = material.into_template(template);
    tracing::debug!(
        template = template.as_str(),
        sections = sections.len(),
        sentences = sections.iter().map(|s| s.summary.len()).sum::<usize>(),
        "clinical documentation built"
    );
    ClinicalDocumentation {
        sections,
        session_id: None,
    }
}

/// Builds the note for a custom template: its sections in the given order, each filled with the
/// material of the note topic its header or instruction names (see
/// [`crate::clinical::custom_template`]). Without custom sections, the base template's note.
/// Section names are the headers in upper snake case ("Social history" → `SOCIAL_HISTORY`).
pub fn build_custom_documentation(
    conversation: &Conversation,
    template: &CustomTemplate,
) -> ClinicalDocumentation {
    build_custom_documentation_with(conversation, template, &NoteSettings::default())
}

/// [`build_custom_documentation`] with what is known about the patient ([`NoteSettings`]).
pub fn build_custom_documentation_with(
    conversation: &Conversation,
    template: &CustomTemplate,
    settings: &NoteSettings,
) -> ClinicalDocumentation {
    if template.sections.is_empty() {
        return build_documentation_with(conversation, template.base, settings);
    }
    let extracted;
    let insights: &[ClinicalInsight] = if conversation.clinical_insights.is_empty() {
        extracted = insights::extract(conversation);
        &extracted
    } else {
        &conversation.clinical_insights
    };
    let material = Material::gather(conversation, insights, settings);
    let sections = template
        .sections
        .iter()
        .filter_map(|section| {
            let summary = section
                .topic()
                .map(|topic| material.for_topic(topic, section))
                .unwrap_or_default();
            (!summary.is_empty()).then(|| NoteSectionContent {
                section_name: NoteSection::parse(&wire_name(&section.header)),
                summary,
            })
        })
        .collect();
    ClinicalDocumentation {
        sections,
        session_id: None,
    }
}

/// "Social history" → "SOCIAL_HISTORY".
fn wire_name(header: &str) -> String {
    header
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join("_")
}

/// One transcript sentence with what the note needs to know about it.
struct Sentence<'a> {
    segment_index: usize,
    segment_id: &'a str,
    role: RoleKind,
    section: &'a TranscriptSection,
    raw: String,
    is_question: bool,
    insights: Vec<&'a ClinicalInsight>,
}

impl Sentence<'_> {
    fn conditions(&self) -> impl Iterator<Item = &&ClinicalInsight> {
        self.insights
            .iter()
            .filter(|i| i.category == EntityCategory::MedicalCondition)
    }

    fn affirmed_conditions(&self) -> Vec<&ClinicalInsight> {
        self.conditions()
            .filter(|i| i.is_affirmed_for_patient())
            .copied()
            .collect()
    }

    fn has_unaffirmed_condition(&self) -> bool {
        self.conditions().any(|i| !i.is_affirmed_for_patient())
    }

    fn has_trait(&self, name: &InsightTraitName) -> bool {
        self.insights.iter().any(|i| i.has_trait(name))
    }

    fn lower_words(&self) -> Vec<String> {
        words(&self.raw).into_iter().map(|w| w.lower).collect()
    }

    fn has_any(&self, cues: &[&str]) -> bool {
        contains_cue(&self.lower_words(), cues)
    }
}

/// True when one of `cues` (single words or space-separated phrases) occurs in `words`.
fn contains_cue(words: &[String], cues: &[&str]) -> bool {
    cues.iter().any(|cue| {
        let parts: Vec<&str> = cue.split(' ').collect();
        words
            .windows(parts.len())
            .any(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
    })
}

fn link(id: &str) -> EvidenceLink {
    EvidenceLink {
        segment_id: id.to_string(),
    }
}

fn summarized(text: String, ids: &[&str]) -> SummarizedSentence {
    let mut links: Vec<EvidenceLink> = Vec::new();
    for id in ids {
        if !links.iter().any(|l| l.segment_id == *id) {
            links.push(link(id));
        }
    }
    SummarizedSentence {
        summarized_segment: text,
        evidence_links: links,
    }
}

const PLAN_CUES: &[&str] = &[
    "prescribe",
    "prescription",
    "start",
    "continue",
    "increase",
    "decrease",
    "order",
    "refer",
    "referral",
    "schedule",
    "follow up",
    "follow-up",
    "recommend",
    "want you to",
    "going to",
    "we'll",
    "i'll",
    "will",
    "let's",
    "take",
    "stop",
    "come back",
    "see you",
    "check",
    "repeat",
    "send",
    "monitor",
    "avoid",
    "try",
];
const ASSESSMENT_CUES: &[&str] = &[
    "i think",
    "likely",
    "consistent with",
    "diagnosis",
    "you have",
    "sounds like",
    "looks like",
    "appears",
    "suspect",
    "due to",
    "assessment",
    "controlled",
    "stable",
    "is",
];
const PROGRESS_CUES: &[&str] = &[
    "better",
    "worse",
    "improved",
    "improving",
    "worsened",
    "worsening",
    "controlled",
    "stable",
    "anymore",
    "still",
    "since",
];
const GOAL_CUES: &[&str] = &["goal", "want to", "hope", "try to", "trying to", "aim"];
/// Family and social history keep their hand-made cues: the learned router has a dozen
/// training sentences for each (ACI-Bench train), too few to replace them.
const FAMILY_CUES: &[&str] = &[
    "mother",
    "mom",
    "father",
    "dad",
    "brother",
    "sister",
    "siblings",
    "parents",
    "grandmother",
    "grandfather",
    "aunt",
    "uncle",
    "family history",
    "runs in the family",
    "runs in my family",
];
const SOCIAL_CUES: &[&str] = &[
    "smoke",
    "smoking",
    "smoked",
    "smoker",
    "cigarettes",
    "tobacco",
    "vape",
    "alcohol",
    "drink",
    "drinking",
    "drinks",
    "beer",
    "wine",
    "marijuana",
    "drugs",
    "work",
    "job",
    "retired",
    "married",
    "live with",
    "lives with",
    "exercise",
    "gym",
    "walking",
    "running",
];

/// Virtual-assistant commands ("hey dragon, show me the vital signs") are not clinical content.
const ASSISTANT_CUES: &[&str] = &["dragon", "show me"];

/// The sentence material of a visit, sorted into History & Physical sections; the other
/// templates are views over it.
#[derive(Default)]
struct Material {
    chief_complaint: Vec<SummarizedSentence>,
    hpi: Vec<SummarizedSentence>,
    ros: Vec<SummarizedSentence>,
    pmh: Vec<SummarizedSentence>,
    family: Vec<SummarizedSentence>,
    social: Vec<SummarizedSentence>,
    exam: Vec<SummarizedSentence>,
    testing: Vec<SummarizedSentence>,
    assessment: Vec<SummarizedSentence>,
    plan: Vec<SummarizedSentence>,
    /// Patient reactions during the exam and the plan discussion.
    responses: Vec<SummarizedSentence>,
    /// "Brian is a 58-year-old male with … who presents today for …".
    introduction: Option<SummarizedSentence>,
}

/// One transcript sentence as the learned note router sees it: what
/// `scripts/train_note_router.py` trains on (through the `note_sentences` example).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouterSentence {
    pub segment_id: String,
    /// `CLINICIAN` or `PATIENT`.
    pub role: String,
    pub text: String,
    pub features: Vec<String>,
}

/// The router's view of every transcript sentence of `conversation` (insights extracted when
/// the conversation has none).
pub fn router_sentences(conversation: &Conversation) -> Vec<RouterSentence> {
    let extracted;
    let insights: &[ClinicalInsight] = if conversation.clinical_insights.is_empty() {
        extracted = insights::extract(conversation);
        &extracted
    } else {
        &conversation.clinical_insights
    };
    let all = transcript_sentences(conversation, insights);
    let count = conversation.transcript_segments.len();
    (0..all.len())
        .map(|k| RouterSentence {
            segment_id: all[k].segment_id.to_string(),
            role: all[k].role.as_str().to_string(),
            text: all[k].raw.clone(),
            features: learned::features(&all, k, count),
        })
        .collect()
}

/// The transcript cut into sentences (unpunctuated runs split), each with its insights.
fn transcript_sentences<'a>(
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

/// At most this many sentences per section, to keep the note readable.
const MAX_SENTENCES_PER_SECTION: usize = 24;

impl Material {
    fn gather(
        conversation: &Conversation,
        insights: &[ClinicalInsight],
        settings: &NoteSettings,
    ) -> Self {
        let all = transcript_sentences(conversation, insights);
        let pronouns = match settings.patient_pronouns {
            Some(PatientPronouns::HeHim) => Pronouns::MALE,
            Some(PatientPronouns::SheHer) => Pronouns::FEMALE,
            Some(PatientPronouns::TheyThem) => Pronouns::NEUTRAL,
            None => Pronouns::infer(conversation),
        };
        let mut m = Material {
            chief_complaint: chief_complaint(&all),
            ros: review_of_systems(conversation, &all),
            ..Material::default()
        };
        let mut current_problem: Option<(String, &str)> = None;
        // Affirmed conditions the clinician names while assessing, in order: the problem list.
        let mut problems: Vec<(String, &str)> = Vec::new();

        let segment_count = conversation.transcript_segments.len();
        for (k, s) in all.iter().enumerate() {
            if s.is_question || s.has_any(ASSISTANT_CUES) {
                continue;
            }
            let Some(text) = clean_sentence_as(&s.raw, s.role, pronouns) else {
                continue;
            };
            if !reads_as_note(&text) {
                continue;
            }
            // The assessment and plan are the clinician's own voice; everything else is written
            // about the patient.
            let voice = match (s.section, s.role) {
                (TranscriptSection::AssessmentAndPlan, RoleKind::Clinician) => Voice::Clinician,
                _ => Voice::Narrative,
            };
            let Some(text) = in_voice(&text, voice) else {
                // An order the clinician states while taking the history or examining ("I want
                // to order a CT of his abdomen") belongs to the plan.
                if voice == Voice::Narrative && s.role == RoleKind::Clinician {
                    if let Some(order) = states_order(&text)
                        .then(|| in_voice(&text, Voice::Clinician))
                        .flatten()
                    {
                        m.plan.push(summarized(order, &[s.segment_id]));
                    }
                }
                continue;
            };
            if s.role == RoleKind::Clinician && m.introduction.is_none() {
                if let Some(intro) = introduces_patient(&text) {
                    m.introduction = Some(summarized(intro, &[s.segment_id]));
                    continue;
                }
            }
            let ids = [s.segment_id];
            match (s.section, s.role) {
                (TranscriptSection::Subjective, _) => {
                    let (route, p_none) =
                        learned::route(&learned::features(&all, k, segment_count));
                    // What the insights already say outranks the router, whose family and
                    // social classes have a dozen training sentences each.
                    let family = s.has_trait(&InsightTraitName::PertainsToFamily)
                        || (s.has_any(FAMILY_CUES) && !s.insights.is_empty());
                    let social = s.affirmed_conditions().is_empty()
                        && (s.has_any(SOCIAL_CUES)
                            || s.insights.iter().any(|i| {
                                i.category == EntityCategory::BehavioralEnvironmentalSocial
                            }));
                    let past = s.has_trait(&InsightTraitName::PastHistory);
                    if p_none > LEARNED_NONE_MAX && !(family || social || past) {
                        continue;
                    }
                    let target = match route {
                        _ if family => &mut m.family,
                        _ if social => &mut m.social,
                        _ if past => &mut m.pmh,
                        Route::None | Route::PresentIllness => &mut m.hpi,
                        Route::ReviewOfSystems => &mut m.ros,
                        Route::PastHistory => &mut m.pmh,
                        Route::Family => &mut m.family,
                        Route::Social => &mut m.social,
                        Route::Exam => &mut m.exam,
                        Route::Results => &mut m.testing,
                        Route::AssessmentAndPlan if s.role == RoleKind::Clinician => &mut m.plan,
                        Route::AssessmentAndPlan => &mut m.hpi,
                    };
                    let text = if s.role == RoleKind::Patient {
                        as_reported(&text, pronouns)
                    } else {
                        text
                    };
                    target.push(summarized(text, &ids));
                }
                (TranscriptSection::Objective, RoleKind::Clinician) => {
                    let (route, p_none) =
                        learned::route(&learned::features(&all, k, segment_count));
                    if p_none > LEARNED_NONE_MAX {
                        continue;
                    }
                    match route {
                        Route::Results => m.testing.push(summarized(text, &ids)),
                        _ => m.exam.push(summarized(text, &ids)),
                    }
                }
                (TranscriptSection::AssessmentAndPlan, RoleKind::Clinician) => {
                    let affirmed = s.affirmed_conditions();
                    if let Some(first) = affirmed.first() {
                        current_problem = Some((first.spans[0].content.clone(), s.segment_id));
                    }
                    let is_plan = s.has_any(PLAN_CUES)
                        || s.insights.iter().any(|i| {
                            matches!(
                                i.entity_type,
                                EntityType::GenericName
                                    | EntityType::BrandName
                                    | EntityType::TreatmentName
                                    | EntityType::ProcedureName
                            )
                        });
                    for condition in &affirmed {
                        let name = condition.spans[0].content.to_lowercase();
                        if !problems.iter().any(|(n, _)| *n == name) {
                            problems.push((name, s.segment_id));
                        }
                    }
                    let may_assess = !affirmed.is_empty() && !s.has_unaffirmed_condition();
                    if may_assess && (!is_plan || s.has_any(ASSESSMENT_CUES)) {
                        m.assessment.push(summarized(text.clone(), &ids));
                    }
                    if is_plan {
                        // A plan item belongs to the problem under discussion unless it names a
                        // topic of its own ("For your blood pressure, …") or is a general
                        // follow-up instruction.
                        let lower = text.to_lowercase();
                        let own_topic = lower.starts_with("for ")
                            || ["come back", "follow up", "follow-up", "see you"]
                                .iter()
                                .any(|cue| lower.contains(cue));
                        let tied_problem = current_problem.as_ref().filter(|(problem, _)| {
                            !own_topic || lower.contains(problem.to_lowercase().as_str())
                        });
                        let sentence = match tied_problem {
                            Some((problem, problem_segment)) => summarized(
                                format!(
                                    "For {}: {}",
                                    problem.to_lowercase(),
                                    without_problem_lead(&text, problem)
                                ),
                                &[s.segment_id, problem_segment],
                            ),
                            None => summarized(text, &ids),
                        };
                        m.plan.push(sentence);
                    }
                }
                (
                    TranscriptSection::Objective | TranscriptSection::AssessmentAndPlan,
                    RoleKind::Patient,
                ) if content_word_count(&s.raw) >= 3 => {
                    m.responses.push(summarized(text, &ids));
                }
                _ => {}
            }
        }
        // "heart failure" is already said by "congestive heart failure".
        let names: Vec<String> = problems.iter().map(|(n, _)| n.clone()).collect();
        problems.retain(|(name, _)| {
            !names
                .iter()
                .any(|other| other != name && other.contains(name.as_str()))
        });
        let problem_list: Vec<SummarizedSentence> = problems
            .into_iter()
            .map(|(name, id)| summarized(format!("{}.", capitalize(&name)), &[id]))
            .collect();
        m.assessment.splice(0..0, problem_list);
        // The introduction opens the history and, as clinicians write it, the assessment.
        if let Some(intro) = m.introduction.take() {
            m.hpi.insert(0, intro.clone());
            m.assessment.insert(0, intro);
        }
        // Faithfulness, checked on the finished sentences: numbers and sides are in the cited
        // segments, and the history never denies the chief complaint.
        let evidence = checks::Evidence::new(conversation);
        let complaint = checks::complaint_words(&m.chief_complaint);
        for list in [
            &mut m.hpi,
            &mut m.ros,
            &mut m.pmh,
            &mut m.family,
            &mut m.social,
            &mut m.exam,
            &mut m.testing,
            &mut m.assessment,
            &mut m.plan,
            &mut m.responses,
        ] {
            list.retain(|s| evidence.supports(s));
        }
        for list in [&mut m.hpi, &mut m.ros] {
            list.retain(|s| !checks::denies_complaint(&s.summarized_segment, &complaint));
        }
        for list in [&mut m.ros, &mut m.exam] {
            for sentence in list.iter_mut() {
                sentence.summarized_segment =
                    layout::with_system_heading(&sentence.summarized_segment);
            }
        }
        for list in [
            &mut m.hpi,
            &mut m.ros,
            &mut m.pmh,
            &mut m.family,
            &mut m.social,
            &mut m.exam,
            &mut m.testing,
            &mut m.assessment,
            &mut m.plan,
            &mut m.responses,
        ] {
            dedupe(list);
            list.truncate(MAX_SENTENCES_PER_SECTION);
        }
        m
    }

    fn into_template(self, template: NoteTemplate) -> Vec<NoteSectionContent> {
        use NoteSection as S;
        let pick = |lists: &[&Vec<SummarizedSentence>]| -> Vec<SummarizedSentence> {
            let mut out: Vec<SummarizedSentence> =
                lists.iter().flat_map(|l| l.iter().cloned()).collect();
            dedupe(&mut out);
            out
        };
        let with_cues = |lists: &[&Vec<SummarizedSentence>], cues: &[&str]| {
            let mut out: Vec<SummarizedSentence> = lists
                .iter()
                .flat_map(|l| l.iter())
                .filter(|s| {
                    let w: Vec<String> = words(&s.summarized_segment)
                        .into_iter()
                        .map(|w| w.lower)
                        .collect();
                    contains_cue(&w, cues)
                })
                .cloned()
                .collect();
            dedupe(&mut out);
            out
        };
        let subjective = pick(&[
            &self.chief_complaint,
            &self.hpi,
            &self.ros,
            &self.pmh,
            &self.family,
            &self.social,
        ]);
        let objective = pick(&[&self.exam, &self.testing]);
        let intervention = pick(&[&self.exam, &self.testing, &self.assessment]);
        let sections: Vec<(NoteSection, Vec<SummarizedSentence>)> = match template {
            NoteTemplate::HistoryAndPhysical => vec![
                (S::ChiefComplaint, self.chief_complaint.clone()),
                (S::HistoryOfPresentIllness, self.hpi.clone()),
                (S::ReviewOfSystems, self.ros.clone()),
                (S::PastMedicalHistory, self.pmh.clone()),
                (S::Assessment, self.assessment.clone()),
                (S::Plan, self.plan.clone()),
                (S::PhysicalExamination, self.exam.clone()),
                (S::PastFamilyHistory, self.family.clone()),
                (S::PastSocialHistory, self.social.clone()),
                (S::DiagnosticTesting, self.testing.clone()),
            ],
            NoteTemplate::BehavioralSoap | NoteTemplate::PhysicalSoap => vec![
                (S::Subjective, subjective),
                (S::Objective, objective),
                (S::Assessment, self.assessment.clone()),
                (S::Plan, self.plan.clone()),
            ],
            NoteTemplate::Dap => vec![
                (S::Data, pick(&[&subjective, &objective])),
                (S::Assessment, self.assessment.clone()),
                (S::Plan, self.plan.clone()),
            ],
            NoteTemplate::Birp => vec![
                (S::Behavior, subjective),
                (S::Intervention, intervention),
                (S::Response, self.responses.clone()),
                (S::Plan, self.plan.clone()),
            ],
            NoteTemplate::Sirp => vec![
                (S::Situation, subjective),
                (S::Intervention, intervention),
                (S::Response, self.responses.clone()),
                (S::Plan, self.plan.clone()),
            ],
            NoteTemplate::Girpp => {
                let mut goal = self.chief_complaint.clone();
                goal.extend(with_cues(&[&self.hpi, &self.plan], GOAL_CUES));
                dedupe(&mut goal);
                vec![
                    (S::Goal, goal),
                    (S::Intervention, intervention),
                    (S::Response, self.responses.clone()),
                    (
                        S::Progress,
                        with_cues(&[&self.hpi, &self.assessment], PROGRESS_CUES),
                    ),
                    (S::Plan, self.plan.clone()),
                ]
            }
        };
        sections
            .into_iter()
            .filter(|(_, summary)| !summary.is_empty())
            .map(|(section_name, summary)| NoteSectionContent {
                section_name,
                summary,
            })
            .collect()
    }
}

impl Material {
    /// The sentences of one note topic, for a custom template section.
    fn for_topic(&self, topic: NoteTopic, section: &CustomSection) -> Vec<SummarizedSentence> {
        use NoteTopic as T;
        let mut out: Vec<SummarizedSentence> = match topic {
            T::ChiefComplaint => self.chief_complaint.clone(),
            T::PresentIllness | T::HospitalCourse => self.hpi.clone(),
            T::ReviewOfSystems => self.ros.clone(),
            T::PastMedicalHistory => self.pmh.clone(),
            T::FamilyAndSocialHistory => {
                let asks = format!("{} {}", section.header, section.instruction).to_lowercase();
                let family = asks.contains("family");
                let social = !family || asks.contains("social");
                let mut both = Vec::new();
                if family {
                    both.extend(self.family.iter().cloned());
                }
                if social {
                    both.extend(self.social.iter().cloned());
                }
                both
            }
            T::PhysicalExam => self.exam.clone(),
            T::Imaging | T::Labs | T::Procedures => self.testing.clone(),
            T::Assessment | T::Diagnosis => self.assessment.clone(),
            T::Plan | T::Disposition => self.plan.clone(),
            // Narrower history topics: the history sentences that speak of them.
            T::PastSurgicalHistory
            | T::Medications
            | T::Allergies
            | T::Immunizations
            | T::GynecologicHistory => [&self.hpi, &self.pmh, &self.social, &self.plan]
                .into_iter()
                .flatten()
                .filter(|s| utterance_topic(&s.summarized_segment) == Some(topic))
                .cloned()
                .collect(),
        };
        dedupe(&mut out);
        out
    }
}

fn dedupe(list: &mut Vec<SummarizedSentence>) {
    let mut seen = HashSet::new();
    list.retain(|s| seen.insert(s.summarized_segment.to_lowercase()));
}

fn content_word_count(text: &str) -> usize {
    const FILLER: &[&str] = &[
        "okay", "ok", "yeah", "yes", "no", "um", "uh", "mm", "hmm", "so", "and", "the", "a", "i",
        "it", "that", "sounds", "good", "right", "sure", "thank", "thanks", "you", "alright",
        "all", "oh", "well", "great", "perfect",
    ];
    words(text)
        .iter()
        .filter(|w| !FILLER.contains(&w.lower.as_str()))
        .count()
}

/// The reason for the visit: what follows "presents for", "here today for"... in an early
/// sentence, else the first symptoms the patient affirms.
fn chief_complaint(all: &[Sentence]) -> Vec<SummarizedSentence> {
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
fn review_of_systems(conversation: &Conversation, all: &[Sentence]) -> Vec<SummarizedSentence> {
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
fn is_tag_question(raw: &str) -> bool {
    const TAGS: &[&str] = &["okay", "ok", "right", "alright", "yeah", "correct", "good"];
    let w: Vec<String> = words(raw).into_iter().map(|w| w.lower).collect();
    w.len() > 5 && w.last().is_some_and(|last| TAGS.contains(&last.as_str()))
}

/// A yes/no question about symptoms ("any fever?", "do you have chest pain?"), whose short
/// answer can be read as a denial or an endorsement.
fn is_symptom_question(raw: &str) -> bool {
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

fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A token lower-cased without surrounding punctuation.
fn bare_word(token: &str) -> String {
    token
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .to_lowercase()
}

/// Undoes ACI-Bench style tokenisation ("do n't", "pain ." ) and spoken contractions.
fn detokenize(raw: &str) -> String {
    let mut t = format!(" {} ", raw.split_whitespace().collect::<Vec<_>>().join(" "));
    for (from, to) in [
        (" n't ", "n't "),
        (" 's ", "'s "),
        (" 're ", "'re "),
        (" 've ", "'ve "),
        (" 'll ", "'ll "),
        (" 'm ", "'m "),
        (" 'd ", "'d "),
        (" gon na ", " going to "),
        (" wan na ", " want to "),
        (" got ta ", " have to "),
        (" ,", ","),
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ;", ";"),
        (" :", ":"),
    ] {
        t = t.replace(from, to);
    }
    t.trim().to_string()
}

const FILLER_TOKENS: &[&str] = &[
    "um", "uh", "uhm", "umm", "mm", "hmm", "mm-hmm", "uh-huh", "oh", "ah", "er", "huh",
];
const LEADING_DISCOURSE: &[&str] = &[
    "so", "and", "okay", "ok", "well", "now", "yeah", "yes", "alright", "right", "but", "like",
    "also", "hey", "then",
];
const ADVERBS: &[&str] = &[
    "just",
    "also",
    "still",
    "never",
    "always",
    "usually",
    "kinda",
    "sometimes",
    "actually",
    "only",
    "even",
    "really",
    "definitely",
    "probably",
    "normally",
    "generally",
    "already",
    "often",
    "recently",
];
const KNOWN_VERBS: &[&str] = &[
    "have",
    "do",
    "feel",
    "get",
    "take",
    "need",
    "want",
    "think",
    "know",
    "go",
    "come",
    "see",
    "say",
    "notice",
    "use",
    "try",
    "start",
    "stop",
    "keep",
    "sleep",
    "eat",
    "drink",
    "smoke",
    "work",
    "walk",
    "run",
    "hurt",
    "like",
    "seem",
    "look",
    "check",
    "monitor",
    "remember",
    "hear",
    "experience",
    "wake",
    "lose",
    "gain",
    "live",
    "exercise",
    "tend",
    "wear",
    "play",
    "cough",
    "bleed",
    "sweat",
    "struggle",
    "forget",
    "miss",
    "believe",
    "guess",
    "mean",
    "understand",
    "agree",
    "hope",
    "worry",
    "wonder",
    "love",
    "hate",
    "enjoy",
    "follow",
    "continue",
    "own",
];

/// Verbs that follow a subject "you" but are not conjugated ("you can", "you should").
const AUXILIARIES: &[&str] = &[
    "can",
    "could",
    "will",
    "would",
    "should",
    "might",
    "may",
    "must",
    "had",
    "did",
    "didn't",
    "can't",
    "won't",
    "wouldn't",
    "shouldn't",
    "couldn't",
    "was",
    "is",
    "need",
    "needs",
];
/// Words after which "you" starts a clause, i.e. is a subject.
const CLAUSE_OPENERS: &[&str] = &[
    "and",
    "but",
    "so",
    "that",
    "if",
    "when",
    "because",
    "since",
    "as",
    "or",
    "until",
    "before",
    "after",
    "then",
    "while",
    "where",
    "think",
    "know",
    "guess",
    "hope",
    "sure",
    "once",
    "unless",
    "whether",
    "like",
    "said",
    "mentioned",
    "how",
    "what",
    "why",
    "cause",
];

fn third_person(verb: &str) -> String {
    match verb {
        "am" | "are" | "'m" | "'re" => "is".into(),
        "have" | "'ve" => "has".into(),
        "do" => "does".into(),
        "don't" => "doesn't".into(),
        "haven't" => "hasn't".into(),
        "aren't" => "isn't".into(),
        "were" => "was".into(),
        "weren't" => "wasn't".into(),
        "go" => "goes".into(),
        v if KNOWN_VERBS.contains(&v) => {
            if v.ends_with("sh") || v.ends_with("ch") || v.ends_with('s') || v.ends_with('x') {
                format!("{v}es")
            } else if v.ends_with('y') && !v.ends_with("ay") && !v.ends_with("ey") {
                format!("{}ies", &v[..v.len() - 1])
            } else {
                format!("{v}s")
            }
        }
        v => v.into(),
    }
}

/// "my knee" → "their knee" for text quoted from the patient.
fn third_person_possessives(text: &str) -> String {
    text.split_whitespace()
        .map(|t| match bare_word(t).as_str() {
            "my" => t.replacen("my", "their", 1).replacen("My", "Their", 1),
            _ => t.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Unpunctuated speech (some transcribers write none) arrives as one "sentence" per turn.
/// Such a span is cut where spoken sentences usually start: at "okay" / "alright", and before
/// "so" or "and" / "but" followed by a subject ("so i think", "and we'll"). Pieces keep their
/// character offsets, so insights still line up.
fn split_run_on(text: &str, span: SentenceSpan) -> Vec<SentenceSpan> {
    const MIN_RUN_ON_WORDS: usize = 20;
    const MIN_PIECE_WORDS: usize = 4;
    let chars: Vec<char> = text.chars().collect();
    // Word boundaries inside the span: (start, end) char offsets.
    let mut tokens: Vec<(usize, usize)> = Vec::new();
    let mut i = span.start;
    while i < span.end {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < span.end && !chars[i].is_whitespace() {
            i += 1;
        }
        tokens.push((start, i));
    }
    if span.terminator.is_some() || tokens.len() < MIN_RUN_ON_WORDS {
        return vec![span];
    }
    let word = |k: usize| -> String {
        tokens.get(k).map_or(String::new(), |(a, b)| {
            chars[*a..*b]
                .iter()
                .filter(|c| c.is_alphanumeric() || **c == '\'')
                .flat_map(|c| c.to_lowercase())
                .collect()
        })
    };
    const SUBJECTS: &[&str] = &[
        "i", "i'm", "i've", "i'll", "i'd", "we", "we're", "we'll", "you", "you're", "he", "she",
        "it's", "let's", "there's", "your", "my", "the", "that's",
    ];
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    for k in 1..tokens.len() {
        let w = word(k);
        let next = word(k + 1);
        // A question inside the run ("… can you tell me where it hurts") starts a sentence.
        let starts_question = (QUESTION_AUX.contains(&w.as_str())
            && matches!(next.as_str(), "you" | "your"))
            || (QUESTION_WH.contains(&w.as_str())
                && matches!(
                    next.as_str(),
                    "do" | "does"
                        | "did"
                        | "is"
                        | "are"
                        | "was"
                        | "were"
                        | "have"
                        | "has"
                        | "can"
                        | "about"
                        | "would"
                ));
        let starts_sentence = starts_question
            || matches!(w.as_str(), "okay" | "alright" | "ok")
            || (matches!(w.as_str(), "so" | "and" | "but" | "now")
                && SUBJECTS.contains(&next.as_str()));
        if starts_sentence && k - piece_start >= MIN_PIECE_WORDS {
            pieces.push((piece_start, k));
            piece_start = k;
        }
    }
    pieces.push((piece_start, tokens.len()));
    pieces
        .into_iter()
        .map(|(a, b)| SentenceSpan {
            start: tokens[a].0,
            end: tokens[b - 1].1,
            terminator: None,
        })
        .collect()
}

/// A question by its opening words, for speech written without question marks.
fn has_question_form(raw: &str) -> bool {
    let w: Vec<String> = words(raw).into_iter().map(|w| w.lower).collect();
    let skip = w
        .iter()
        .take_while(|x| {
            matches!(
                x.as_str(),
                "okay" | "ok" | "alright" | "so" | "and" | "um" | "uh" | "now"
            )
        })
        .count();
    let first = w.get(skip).map(String::as_str).unwrap_or("");
    let second = w.get(skip + 1).map(String::as_str).unwrap_or("");
    QUESTION_WH.contains(&first)
        || (QUESTION_AUX.contains(&first) && QUESTION_SUBJECTS.contains(&second))
        || first == "any"
}

const QUESTION_WH: &[&str] = &["how", "what", "when", "where", "why", "which", "who"];
const QUESTION_AUX: &[&str] = &[
    "do", "does", "did", "is", "are", "was", "were", "have", "has", "can", "could", "would",
    "will", "any",
];
const QUESTION_SUBJECTS: &[&str] = &[
    "the", "he", "she", "you", "they", "it", "there", "your", "their", "his", "her", "anyone",
];

/// Spoken phrasing a note does not use: hedges and fillers dropped ("kind of", "just",
/// "go ahead and"), intentions stated plainly ("I'm going to order" → "I will order",
/// "let's" → "we will"). Whole words, any case.
fn plain_phrasing(text: &str) -> String {
    const REWRITES: &[(&str, &str)] = &[
        ("go ahead and ", ""),
        ("kind of ", ""),
        ("sort of ", ""),
        ("kinda ", ""),
        ("just ", ""),
        ("really ", ""),
        ("actually ", ""),
        ("basically ", ""),
        ("i'm going to ", "I will "),
        ("i am going to ", "I will "),
        ("we're going to ", "we will "),
        ("we are going to ", "we will "),
        ("let's ", "we will "),
    ];
    let mut out = format!(" {text}");
    for (from, to) in REWRITES {
        let mut lowered = out.to_lowercase();
        let needle = format!(" {from}");
        // Lower-casing can change byte lengths only outside ASCII; skip such text.
        if lowered.len() != out.len() {
            break;
        }
        while let Some(at) = lowered.find(&needle) {
            out.replace_range(at + 1..at + needle.len(), to);
            lowered = out.to_lowercase();
        }
    }
    out.trim_start().to_string()
}

/// Spoken numbers as digits, as notes write them: "twenty milligrams" → "20 mg", "two out of
/// six" → "2 out of 6", "one twenty over eighty" → "120 over 80", "six point seven" → "6.7",
/// "nineteen ninety two" → "1992". A lone "one" stays a word unless a unit follows ("the other
/// one").
fn digits_for_number_words(text: &str) -> String {
    const UNITS: &[&str] = &[
        "mg",
        "milligram",
        "milligrams",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "time",
        "times",
        "tablet",
        "tablets",
        "pill",
        "pills",
        "hour",
        "hours",
        "minute",
        "minutes",
        "dose",
        "doses",
        "episode",
        "episodes",
        "pound",
        "pounds",
        "mile",
        "miles",
        "cup",
        "cups",
        "glass",
        "glasses",
        "drink",
        "drinks",
        "pack",
        "packs",
        "percent",
    ];
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let numbers = SpokenNumbers { tokens: &tokens };
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if let Some((value, end)) = numbers.parse(i) {
            // "twenty eighth" → "28th" (a date), not "20 eighth".
            const ORDINALS: [&str; 9] = [
                "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                "ninth",
            ];
            let tens: Option<u32> = value.parse().ok().filter(|v| v % 10 == 0 && *v >= 20);
            let ordinal = tokens.get(end).and_then(|t| {
                let w = spoken_word(t);
                ORDINALS.iter().position(|o| *o == w)
            });
            if let (Some(tens), Some(o), true) = (tens, ordinal, numbers.continues(end - 1)) {
                let n = tens + o as u32 + 1;
                let suffix = match n % 10 {
                    1 => "st",
                    2 => "nd",
                    3 => "rd",
                    _ => "th",
                };
                let last = tokens[end];
                let trailing = &last[last.trim_end_matches(SENTENCE_PUNCTUATION).len()..];
                out.push(format!("{n}{suffix}{trailing}"));
                i = end + 1;
                continue;
            }
            let lone_one = value == "1" && end == i + 1;
            let unit_follows = tokens
                .get(end)
                .is_some_and(|t| UNITS.contains(&spoken_word(t).as_str()));
            if !lone_one || unit_follows {
                let last = tokens[end - 1];
                let trailing = &last[last.trim_end_matches(SENTENCE_PUNCTUATION).len()..];
                out.push(format!("{value}{trailing}"));
                i = end;
                continue;
            }
        }
        let w = spoken_word(tokens[i]);
        // "point four" (of a centimetre) → "0.4": the number must read as one, or a reader
        // (and the evidence check) sees a bare "4".
        if w == "point" && !tokens[i].ends_with(SENTENCE_PUNCTUATION) {
            if let Some((digits, end)) = numbers
                .parse(i + 1)
                .filter(|(d, end)| *end == i + 2 && d.len() == 1)
            {
                let last = tokens[end - 1];
                let trailing = &last[last.trim_end_matches(SENTENCE_PUNCTUATION).len()..];
                out.push(format!("0.{digits}{trailing}"));
                i = end;
                continue;
            }
        }
        if w == "milligrams" || w == "milligram" {
            out.push(format!("mg{}", &tokens[i][w.len()..]));
        } else {
            out.push(tokens[i].to_string());
        }
        i += 1;
    }
    out.join(" ")
}

const SENTENCE_PUNCTUATION: [char; 6] = [',', '.', ';', ':', '?', '!'];

fn spoken_word(token: &str) -> String {
    token.trim_end_matches(SENTENCE_PUNCTUATION).to_lowercase()
}

/// A parser over whitespace tokens for [`digits_for_number_words`]. A number never runs past
/// a token that ends with punctuation.
struct SpokenNumbers<'a> {
    tokens: &'a [&'a str],
}

impl SpokenNumbers<'_> {
    const ONES: [&'static str; 20] = [
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
    ];
    const TENS: [&'static str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];

    fn word(&self, at: usize) -> Option<String> {
        self.tokens.get(at).map(|t| spoken_word(t))
    }

    /// Whether the number may continue after token `at`.
    fn continues(&self, at: usize) -> bool {
        !self.tokens[at].ends_with(SENTENCE_PUNCTUATION)
    }

    /// 0–99 from "seven", "seventeen", "seventy", "seventy seven"; the end index.
    fn below_hundred(&self, at: usize) -> Option<(u32, usize)> {
        let w = self.word(at)?;
        if let Some(t) = Self::TENS.iter().position(|x| !x.is_empty() && *x == w) {
            let tens = t as u32 * 10;
            let ones = self
                .continues(at)
                .then(|| self.word(at + 1))
                .flatten()
                .and_then(|n| Self::ONES[1..10].iter().position(|x| *x == n));
            return Some(match ones {
                Some(o) => (tens + o as u32 + 1, at + 2),
                None => (tens, at + 1),
            });
        }
        let o = Self::ONES.iter().position(|x| *x == w)?;
        Some((o as u32, at + 1))
    }

    /// The number starting at `at` as digits, and the index after it.
    fn parse(&self, at: usize) -> Option<(String, usize)> {
        let (mut value, mut end) = self.below_hundred(at)?;
        if self.continues(end - 1) {
            match self.word(end).as_deref() {
                Some(scale @ ("hundred" | "thousand")) => {
                    value *= if scale == "hundred" { 100 } else { 1000 };
                    end += 1;
                    let mut next = end;
                    if self.continues(end - 1) && self.word(next).as_deref() == Some("and") {
                        next += 1;
                    }
                    if self.continues(next - 1) {
                        if let Some((rest, rest_end)) = self.below_hundred(next) {
                            value += rest;
                            end = rest_end;
                        }
                    }
                }
                // "one twenty" (a blood pressure), "nineteen ninety two" (a year).
                Some(_) if (1..100).contains(&value) => {
                    if let Some((rest, rest_end)) =
                        self.below_hundred(end).filter(|(rest, _)| *rest >= 10)
                    {
                        value = value * 100 + rest;
                        end = rest_end;
                    }
                }
                _ => {}
            }
        }
        // "six point seven" → 6.7
        let mut digits = value.to_string();
        if self.continues(end - 1) && self.word(end).as_deref() == Some("point") {
            let mut decimals = String::new();
            let mut k = end + 1;
            while let Some(d) = self
                .word(k)
                .and_then(|w| Self::ONES[..10].iter().position(|x| *x == w))
            {
                decimals.push_str(&d.to_string());
                k += 1;
                if !self.continues(k - 1) {
                    break;
                }
            }
            if !decimals.is_empty() {
                digits = format!("{digits}.{decimals}");
                end = k;
            }
        }
        Some((digits, end))
    }
}

/// "He has had knee pain for 2 weeks." from the patient becomes "He reports that he has had
/// knee pain for 2 weeks.": history told by the patient is attributed, as notes do.
fn as_reported(text: &str, pronouns: Pronouns) -> String {
    // "The patient reports that the patient …" says nothing more than "The patient …".
    if pronouns == Pronouns::NEUTRAL {
        return text.to_string();
    }
    let subject = capitalize(pronouns.subject);
    match text.strip_prefix(&format!("{subject} ")) {
        Some(rest) if !rest.starts_with("reports") => {
            format!("{subject} reports that {} {rest}", pronouns.subject)
        }
        _ => text.to_string(),
    }
}

/// "For his first problem, his congestive heart failure, I think he is retaining fluid." under
/// the heading of that problem → "I think he is retaining fluid.": the announcement is said by
/// the heading.
fn without_problem_lead(text: &str, problem: &str) -> String {
    let lower = text.to_lowercase();
    let problem = problem.to_lowercase();
    let Some(at) = lower.find(problem.as_str()) else {
        return text.to_string();
    };
    let lead = &lower[..at];
    let announces = [
        "for ",
        "regarding ",
        "in terms of ",
        "as for ",
        "with regards to ",
    ]
    .iter()
    .any(|p| lead.starts_with(p))
        && lead.split_whitespace().count() <= 6;
    let after = at + problem.len();
    match lower[after..].find(',') {
        Some(comma) if announces && lower[after..after + comma].split_whitespace().count() <= 2 => {
            let rest = text[after + comma + 1..].trim();
            if words(rest).len() >= MIN_NOTE_SENTENCE_WORDS {
                capitalize(rest)
            } else {
                text.to_string()
            }
        }
        _ => text.to_string(),
    }
}

/// "Brian is a 58 year old male with a past medical history significant for …": the sentence
/// that opens a history of present illness (and is repeated at the top of the assessment).
fn introduces_patient(text: &str) -> Option<String> {
    let w: Vec<String> = words(text).into_iter().map(|w| w.lower).collect();
    let at = w.windows(4).position(|x| {
        x[0].chars().all(|c| c.is_ascii_digit())
            && x[1] == "year"
            && x[2] == "old"
            && matches!(
                x[3].as_str(),
                "male" | "female" | "man" | "woman" | "gentleman" | "lady" | "boy" | "girl"
            )
    })?;
    if !(2..=6).contains(&at) || !w[..at].iter().any(|x| x == "is") {
        return None;
    }
    let mut out = text.to_string();
    for spoken in [" year old ", " year-old "] {
        if let Some(k) = out.find(spoken) {
            out.replace_range(k..k + spoken.len(), "-year-old ");
            break;
        }
    }
    Some(out)
}

/// How the note refers to the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pronouns {
    subject: &'static str,
    object: &'static str,
    possessive: &'static str,
    reflexive: &'static str,
}

impl Pronouns {
    const NEUTRAL: Pronouns = Pronouns {
        subject: "the patient",
        object: "them",
        possessive: "their",
        reflexive: "themselves",
    };
    const MALE: Pronouns = Pronouns {
        subject: "he",
        object: "him",
        possessive: "his",
        reflexive: "himself",
    };
    const FEMALE: Pronouns = Pronouns {
        subject: "she",
        object: "her",
        possessive: "her",
        reflexive: "herself",
    };

    /// He or she when the clinician's words make it clear ("62-year-old male", "Mrs. Smith",
    /// "she has been…" to a colleague or the recorder); the neutral form otherwise. Pronouns in
    /// the clinician's speech may point at relatives, so they count less than terms of address
    /// and need a clear majority.
    fn infer(conversation: &Conversation) -> Pronouns {
        let (mut male, mut female) = (0.0, 0.0);
        for segment in &conversation.transcript_segments {
            if segment.participant_details.participant_role.kind != RoleKind::Clinician {
                continue;
            }
            for w in words(&segment.content) {
                match w.lower.as_str() {
                    "male" | "mr" | "sir" | "gentleman" => male += 3.0,
                    "female" | "mrs" | "ms" | "miss" | "ma'am" | "lady" => female += 3.0,
                    "he" | "he's" | "his" | "him" => male += 1.0,
                    "she" | "she's" | "her" | "hers" => female += 1.0,
                    _ => {}
                }
            }
        }
        if male >= 3.0 && male >= 2.0 * female {
            Pronouns::MALE
        } else if female >= 3.0 && female >= 2.0 * male {
            Pronouns::FEMALE
        } else {
            Pronouns::NEUTRAL
        }
    }
}

/// Longer sentences come from unpunctuated speech run together; a reader cannot use them.
const MAX_NOTE_SENTENCE_WORDS: usize = 60;
/// Shorter ones are fragments of speech ("we will go ahead").
const MIN_NOTE_SENTENCE_WORDS: usize = 4;

/// False for sentences a clinician would not write in a note: questions without a question
/// mark ("how about your bowel movements"), narration of the visit itself ("let's do your
/// exam", "please use my template"), problem announcements ("for your first problem, your
/// diabetes") and run-ons.
fn reads_as_note(text: &str) -> bool {
    let w: Vec<String> = words(text).into_iter().map(|w| w.lower).collect();
    if w.len() > MAX_NOTE_SENTENCE_WORDS || w.len() < MIN_NOTE_SENTENCE_WORDS {
        return false;
    }
    let first = w[0].as_str();
    let second = w.get(1).map(String::as_str).unwrap_or("");
    if QUESTION_WH.contains(&first)
        || (QUESTION_AUX.contains(&first) && QUESTION_SUBJECTS.contains(&second))
    {
        return false;
    }
    const NARRATION: &[&str] = &[
        "tell me",
        "let me",
        "lem me",
        "let's do",
        "let's look",
        "let's take",
        "let's talk",
        "let's go ahead and look",
        "let's go over",
        "let's just go ahead and",
        "please use",
        "use my",
        "i'd like to do",
        "i want to do",
        "i'm going to do",
        "i'm just going to",
        "i'm going to listen",
        "i'm going to examine",
        "i'm going to take a look",
        "we're going to go over",
        // The same after plain_phrasing ("let's" → "we will", "I'm going to" → "I will").
        "we will talk",
        "we will look",
        "we will take a look",
        "we will go over",
        "we will go ahead",
        "we will just",
        "i will listen",
        "i will take a look",
        "i will examine",
        "i will do a",
        "i will have",
        "i will put",
    ];
    let lower = w.join(" ");
    if NARRATION.iter().any(|n| lower.starts_with(n)) {
        return false;
    }
    // "For your first problem, your diabetes." announces a topic; the problem list has it.
    let announces_problem = first == "for" && w.len() <= 8 && w.iter().any(|x| x == "problem");
    !announces_problem
}

/// Turns one transcript sentence into a note sentence: fillers, false starts and stutters
/// removed; the speaker's first person (patient) or second person (clinician speaking to the
/// patient) rewritten to "the patient". Returns `None` when nothing clinical is left.
#[cfg(test)]
fn clean_sentence(raw: &str, role: RoleKind) -> Option<String> {
    clean_sentence_as(raw, role, Pronouns::NEUTRAL)
}

/// [`clean_sentence`] with the patient's pronouns (he/she when the visit makes it clear, else
/// "the patient"/"their").
fn clean_sentence_as(raw: &str, role: RoleKind, pronouns: Pronouns) -> Option<String> {
    let detok = plain_phrasing(&detokenize(raw));
    let mut tokens: Vec<String> = Vec::new();
    let source: Vec<&str> = detok.split_whitespace().collect();
    let mut i = 0;
    while i < source.len() {
        let token = source[i];
        let word = bare_word(token);
        // "you know", "i mean" as fillers.
        let next_word = source.get(i + 1).map(|t| bare_word(t)).unwrap_or_default();
        if (word == "you" && next_word == "know" && source[i + 1].ends_with(','))
            || (word == "i" && next_word == "mean" && source[i + 1].ends_with(','))
        {
            i += 2;
            continue;
        }
        if FILLER_TOKENS.contains(&word.as_str())
            || (word.is_empty()
                && !token.chars().any(|c| c.is_alphanumeric())
                && !token.contains('%'))
            || token.trim_end_matches([',', '.', '?', '!']).ends_with('-')
            || (word == "like" && token.ends_with(','))
        {
            // Keep the punctuation a dropped word carried if it ends the sentence.
            if token.ends_with(['.', '?', '!']) {
                if let Some(last) = tokens.last_mut() {
                    let trimmed = last.trim_end_matches(',').to_string();
                    *last = format!("{trimmed}.");
                }
            }
            i += 1;
            continue;
        }
        // Stutters and restarts: "i, i, i've" → "i've"; "doing doing" → "doing".
        if !next_word.is_empty()
            && (next_word == word || next_word.starts_with(&format!("{word}'")))
            && word.chars().all(|c| c.is_alphabetic() || c == '\'')
        {
            i += 1;
            continue;
        }
        tokens.push(token.to_string());
        i += 1;
    }
    // A trailing tag ("..., okay?") is conversation, not content.
    if tokens.len() > 2 {
        let last = bare_word(&tokens[tokens.len() - 1]);
        if matches!(last.as_str(), "okay" | "ok" | "right" | "alright" | "yeah")
            && tokens[tokens.len() - 2].ends_with(',')
        {
            tokens.pop();
        }
    }
    while let Some(first) = tokens.first() {
        let w = bare_word(first);
        let all_right = w == "all" && tokens.get(1).is_some_and(|t| bare_word(t) == "right");
        if all_right {
            tokens.drain(..2);
        } else if LEADING_DISCOURSE.contains(&w.as_str()) && tokens.len() > 1 {
            tokens.remove(0);
        } else {
            break;
        }
    }

    let subject_pronouns: &[&str] = match role {
        RoleKind::Patient => &["i"],
        RoleKind::Clinician => &["you"],
    };
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let word = bare_word(token);
        let trailing: String = token
            .chars()
            .rev()
            .take_while(|c| !c.is_alphanumeric() && *c != '\'')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let replaced: Option<String> = match (role, word.as_str()) {
            (RoleKind::Patient, "i'm") | (RoleKind::Clinician, "you're") => {
                Some(format!("{} is", pronouns.subject))
            }
            (RoleKind::Patient, "i've") | (RoleKind::Clinician, "you've") => {
                Some(format!("{} has", pronouns.subject))
            }
            (RoleKind::Patient, "i'd") | (RoleKind::Clinician, "you'd") => {
                Some(format!("{} would", pronouns.subject))
            }
            (RoleKind::Patient, "i'll") | (RoleKind::Clinician, "you'll") => {
                Some(format!("{} will", pronouns.subject))
            }
            (RoleKind::Patient, "my") | (RoleKind::Clinician, "your") => {
                Some(pronouns.possessive.into())
            }
            (RoleKind::Patient, "me") => Some(pronouns.object.into()),
            (RoleKind::Patient, "myself") | (RoleKind::Clinician, "yourself") => {
                Some(pronouns.reflexive.into())
            }
            (RoleKind::Clinician, "i") => Some("I".into()),
            (_, w) if subject_pronouns.contains(&w) => {
                // Conjugate the verb that follows, past one adverb.
                let mut j = i + 1;
                if tokens
                    .get(j)
                    .is_some_and(|t| ADVERBS.contains(&bare_word(t).as_str()))
                {
                    j += 1;
                }
                if trailing.is_empty() {
                    if let Some(verb_token) = tokens.get(j) {
                        let verb = bare_word(verb_token);
                        let conjugated = third_person(&verb);
                        if conjugated != verb {
                            let verb_trailing: String = verb_token
                                .chars()
                                .skip(verb_token.chars().count().min(verb.chars().count()))
                                .collect();
                            let mut pieces = vec![pronouns.subject.to_string()];
                            pieces.extend(tokens[i + 1..j].iter().cloned());
                            pieces.push(format!("{conjugated}{verb_trailing}"));
                            out.push(pieces.join(" "));
                            i = j + 1;
                            continue;
                        }
                    }
                }
                // "we put you on lisinopril": an object; "the patient" reads well for both.
                let object = i > 0
                    && !tokens
                        .get(j)
                        .is_some_and(|t| AUXILIARIES.contains(&bare_word(t).as_str()))
                    && !tokens[i - 1].ends_with(',')
                    && !CLAUSE_OPENERS.contains(&bare_word(&tokens[i - 1]).as_str());
                if object && pronouns != Pronouns::NEUTRAL {
                    Some(pronouns.object.into())
                } else {
                    Some(pronouns.subject.into())
                }
            }
            _ => None,
        };
        match replaced {
            Some(r) => out.push(format!("{r}{trailing}")),
            None => out.push(token.clone()),
        }
        i += 1;
    }

    let mut text = digits_for_number_words(&out.join(" "));
    text = text.replace(" ,", ",").replace(",,", ",");
    let text = text
        .trim()
        .trim_end_matches([',', ';', ':', '?', '!', '.', ' '])
        .trim_start_matches([',', ';', ':', '.', ' '])
        .to_string();
    if content_word_count(&text) < 2 {
        return None;
    }
    Some(format!("{}.", capitalize(&text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::insights::tests::{conversation, seg};
    use crate::formats::{ParticipantRole, TranscriptSection as TS};

    const C: ParticipantRole = ParticipantRole::CLINICIAN_0;
    const P: ParticipantRole = ParticipantRole::PATIENT_0;

    /// A realistic synthesized follow-up visit.
    fn visit() -> Conversation {
        conversation(vec![
            seg("0", C, TS::Other, "Hi, good to see you. How was the drive?"),
            seg("1", P, TS::Other, "Fine, thanks."),
            seg("2", C, TS::Subjective, "So what brings you in today?"),
            seg("3", P, TS::Subjective, "I'm here for my blood pressure and I've had headaches for about three weeks."),
            seg("4", C, TS::Subjective, "Any chest pain or shortness of breath?"),
            seg("5", P, TS::Subjective, "No."),
            seg("6", C, TS::Subjective, "Are you taking your medications?"),
            seg("7", P, TS::Subjective, "Yes, I take lisinopril 20 mg once a day."),
            seg("8", P, TS::Subjective, "My father had a heart attack when he was 60."),
            seg("9", P, TS::Subjective, "I don't smoke and I drink wine on weekends."),
            seg("10", C, TS::Objective, "Your blood pressure today is 150 over 95. Your heart has a regular rhythm and your lungs are clear."),
            seg("11", C, TS::Objective, "Your A1c from last week was 5.4."),
            seg("12", C, TS::AssessmentAndPlan, "So for your hypertension, I think it is not well controlled. You don't have pneumonia."),
            seg("13", C, TS::AssessmentAndPlan, "I'm going to increase your lisinopril to 40 mg daily and I want you to check your blood pressure at home."),
            seg("14", P, TS::AssessmentAndPlan, "Okay, I can check it every morning before work."),
            seg("15", C, TS::AssessmentAndPlan, "If the headaches get worse, call the office."),
        ])
    }

    fn section(doc: &ClinicalDocumentation, name: NoteSection) -> Option<&NoteSectionContent> {
        doc.sections.iter().find(|s| s.section_name == name)
    }

    fn numbers(text: &str) -> Vec<String> {
        words(text)
            .into_iter()
            .map(|w| w.lower)
            .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .collect()
    }

    #[test]
    fn patient_pronouns_setting_is_followed() {
        let text = |pronouns| {
            let settings = NoteSettings {
                patient_pronouns: pronouns,
            };
            let doc =
                build_documentation_with(&visit(), NoteTemplate::HistoryAndPhysical, &settings);
            // The family history speaks of relatives ("when he was 60"); the rest of the patient.
            doc.sections
                .iter()
                .filter(|s| s.section_name != NoteSection::PastFamilyHistory)
                .flat_map(|s| s.summary.iter())
                .map(|s| s.summarized_segment.to_lowercase())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let words_of = |t: &str| -> Vec<String> { words(t).into_iter().map(|w| w.lower).collect() };
        let she = words_of(&text(Some(PatientPronouns::SheHer)));
        assert!(she.iter().any(|w| w == "she") && !she.iter().any(|w| w == "he"));
        let he = words_of(&text(Some(PatientPronouns::HeHim)));
        assert!(he.iter().any(|w| w == "he") && !he.iter().any(|w| w == "she"));
        let they = text(Some(PatientPronouns::TheyThem));
        assert!(they.contains("the patient"));
        assert!(!words_of(&they).iter().any(|w| w == "he" || w == "she"));
        // Without the setting, as inferred (this visit gives no clue: "the patient").
        assert_eq!(text(None), they);
    }

    #[test]
    fn spoken_ordinals_become_dates() {
        assert_eq!(
            digits_for_number_words("on the twenty eighth of june"),
            "on the 28th of june"
        );
        assert_eq!(digits_for_number_words("twenty first."), "21st.");
    }

    #[test]
    fn a_bare_point_reads_as_a_decimal() {
        assert_eq!(
            digits_for_number_words("the mass was point four by two centimeters"),
            "the mass was 0.4 by 2 centimeters"
        );
    }

    #[test]
    fn introduction_and_problem_leads() {
        assert_eq!(
            introduces_patient("Brian is a 58 year old male with a history of hypertension.")
                .as_deref(),
            Some("Brian is a 58-year-old male with a history of hypertension.")
        );
        assert_eq!(introduces_patient("He has been 58 year old male."), None);
        assert_eq!(
            without_problem_lead(
                "For his first problem, his congestive heart failure, I think he is retaining fluid.",
                "congestive heart failure"
            ),
            "I think he is retaining fluid."
        );
        assert_eq!(
            without_problem_lead("I will increase the lasix.", "heart failure"),
            "I will increase the lasix."
        );
    }

    #[test]
    fn history_and_physical_has_core_sections() {
        let doc = build_documentation(&visit(), NoteTemplate::HistoryAndPhysical);
        for name in [
            NoteSection::ChiefComplaint,
            NoteSection::HistoryOfPresentIllness,
            NoteSection::ReviewOfSystems,
            NoteSection::Assessment,
            NoteSection::Plan,
            NoteSection::PhysicalExamination,
            NoteSection::PastFamilyHistory,
            NoteSection::PastSocialHistory,
            NoteSection::DiagnosticTesting,
        ] {
            assert!(
                section(&doc, name.clone()).is_some(),
                "missing {name}: {doc:#?}"
            );
        }
        let order: Vec<&NoteSection> = doc.sections.iter().map(|s| &s.section_name).collect();
        let template_order: Vec<&NoteSection> = NoteTemplate::HistoryAndPhysical
            .sections()
            .iter()
            .filter(|s| order.contains(s))
            .collect();
        assert_eq!(order, template_order);
    }

    #[test]
    fn every_sentence_is_linked_to_existing_segments() {
        let c = visit();
        for template in NoteTemplate::ALL {
            let doc = build_documentation(&c, template);
            validate_evidence(&doc, &c).unwrap();
            assert!(!doc.sections.is_empty(), "{template} produced no section");
            for s in doc.sections.iter().flat_map(|s| &s.summary) {
                assert!(!s.evidence_links.is_empty());
            }
        }
    }

    #[test]
    fn numbers_and_drugs_come_from_cited_segments() {
        let c = visit();
        for template in NoteTemplate::ALL {
            let doc = build_documentation(&c, template);
            for s in doc.sections.iter().flat_map(|s| &s.summary) {
                let cited: String = s
                    .evidence_links
                    .iter()
                    .map(|l| c.segment(&l.segment_id).unwrap().content.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                // Spoken numbers in the transcript count in digits ("three weeks" → 3).
                let cited_numbers = numbers(&digits_for_number_words(&cited));
                for n in numbers(&s.summarized_segment) {
                    assert!(cited_numbers.contains(&n), "{n} not in {cited:?}");
                }
                for term in crate::clinical::lexicon::find_terms(&s.summarized_segment) {
                    if term.kind.is_medication() {
                        let name: String = s
                            .summarized_segment
                            .chars()
                            .skip(term.start)
                            .take(term.end - term.start)
                            .collect();
                        assert!(cited.to_lowercase().contains(&name.to_lowercase()));
                    }
                }
            }
        }
    }

    #[test]
    fn negated_conditions_never_reach_the_assessment() {
        let doc = build_documentation(&visit(), NoteTemplate::HistoryAndPhysical);
        let assessment = section(&doc, NoteSection::Assessment).expect("assessment");
        for s in &assessment.summary {
            let lower = s.summarized_segment.to_lowercase();
            assert!(!lower.contains("pneumonia"), "{lower}");
            assert!(!lower.contains("chest pain"), "{lower}");
        }
        assert!(assessment
            .summary
            .iter()
            .any(|s| s.summarized_segment.to_lowercase().contains("hypertension")));
    }

    #[test]
    fn denied_symptoms_land_in_review_of_systems_citing_question_and_answer() {
        let doc = build_documentation(&visit(), NoteTemplate::HistoryAndPhysical);
        let ros = section(&doc, NoteSection::ReviewOfSystems).expect("ros");
        let denial = ros
            .summary
            .iter()
            .find(|s| {
                s.summarized_segment == "Cardiovascular: Denies chest pain and shortness of breath."
            })
            .expect("denial sentence");
        let ids: Vec<&str> = denial
            .evidence_links
            .iter()
            .map(|l| l.segment_id.as_str())
            .collect();
        assert_eq!(ids, ["4", "5"]);
    }

    #[test]
    fn plan_items_are_tied_to_the_problem() {
        let doc = build_documentation(&visit(), NoteTemplate::HistoryAndPhysical);
        let plan = section(&doc, NoteSection::Plan).expect("plan");
        let item = plan
            .summary
            .iter()
            .find(|s| s.summarized_segment.contains("40 mg"))
            .expect("lisinopril plan");
        assert!(
            item.summarized_segment.starts_with("For hypertension:"),
            "{}",
            item.summarized_segment
        );
        let ids: Vec<&str> = item
            .evidence_links
            .iter()
            .map(|l| l.segment_id.as_str())
            .collect();
        assert!(ids.contains(&"13") && ids.contains(&"12"));
    }

    #[test]
    fn family_and_social_history_are_separated() {
        let doc = build_documentation(&visit(), NoteTemplate::HistoryAndPhysical);
        let family = section(&doc, NoteSection::PastFamilyHistory).expect("family");
        assert!(family.summary[0]
            .summarized_segment
            .contains("heart attack"));
        let social = section(&doc, NoteSection::PastSocialHistory).expect("social");
        assert!(social.summary[0].summarized_segment.contains("wine"));
    }

    #[test]
    fn chief_complaint_from_reason_for_visit() {
        let doc = build_documentation(&visit(), NoteTemplate::HistoryAndPhysical);
        let cc = section(&doc, NoteSection::ChiefComplaint).expect("cc");
        assert_eq!(cc.summary[0].summarized_segment, "Blood pressure.");
    }

    #[test]
    fn sentences_are_rewritten_in_third_person() {
        assert_eq!(
            clean_sentence(
                "uh , i , i feel bloated every once in a while .",
                RoleKind::Patient
            )
            .as_deref(),
            Some("The patient feels bloated every once in a while.")
        );
        assert_eq!(
            clean_sentence(
                "so , you have a little bit of fluid in your lungs .",
                RoleKind::Clinician
            )
            .as_deref(),
            Some("The patient has a little bit of fluid in their lungs.")
        );
        assert_eq!(clean_sentence("okay . um .", RoleKind::Patient), None);
    }

    #[test]
    fn soap_maps_history_to_subjective_and_exam_to_objective() {
        let doc = build_documentation(&visit(), NoteTemplate::PhysicalSoap);
        let names: Vec<&NoteSection> = doc.sections.iter().map(|s| &s.section_name).collect();
        assert_eq!(
            names,
            [
                &NoteSection::Subjective,
                &NoteSection::Objective,
                &NoteSection::Assessment,
                &NoteSection::Plan
            ]
        );
        let objective = section(&doc, NoteSection::Objective).unwrap();
        assert!(objective
            .summary
            .iter()
            .any(|s| s.summarized_segment.contains("150 over 95")));
    }

    #[test]
    fn validate_evidence_rejects_unlinked_and_dangling() {
        let c = visit();
        let mut doc = build_documentation(&c, NoteTemplate::HistoryAndPhysical);
        doc.sections[0].summary[0].evidence_links[0].segment_id = "nope".into();
        assert!(matches!(
            validate_evidence(&doc, &c),
            Err(EvidenceError::Dangling { .. })
        ));
        doc.sections[0].summary[0].evidence_links.clear();
        assert!(matches!(
            validate_evidence(&doc, &c),
            Err(EvidenceError::Unlinked { .. })
        ));
    }

    #[test]
    fn custom_template_sections_collect_their_topics() {
        let template = crate::clinical::custom_template::parse_custom_template(
            "base_template: HISTORY_AND_PHYSICAL\nsections:\n  - header: Social history\n    instruction: smoking and alcohol\n  - header: Exam findings\n  - header: Goals of care\n    instruction: xyzzy\n",
        )
        .unwrap();
        let conversation = visit();
        let doc = build_custom_documentation(&conversation, &template);
        validate_evidence(&doc, &conversation).unwrap();
        let names: Vec<&str> = doc
            .sections
            .iter()
            .map(|s| s.section_name.as_str())
            .collect();
        assert_eq!(names, ["SOCIAL_HISTORY", "EXAM_FINDINGS"]);
        assert!(doc.sections[0].summary[0]
            .summarized_segment
            .contains("wine"));
        assert!(doc.sections[1].summary[0]
            .summarized_segment
            .contains("150 over 95"));
    }

    #[test]
    fn spoken_numbers_become_digits() {
        assert_eq!(
            digits_for_number_words("twenty milligrams twice a day, two out of six"),
            "20 mg twice a day, 2 out of 6"
        );
        assert_eq!(
            digits_for_number_words("pressure one twenty two over seventy. a1c six point seven"),
            "pressure 122 over 70. a1c 6.7"
        );
        assert_eq!(
            digits_for_number_words("in nineteen ninety two, one hundred and five"),
            "in 1992, 105"
        );
        // A lone "one" is a pronoun unless a unit follows; a comma ends a number.
        assert_eq!(
            digits_for_number_words("the other one, one day, three, four"),
            "the other one, 1 day, 3, 4"
        );
    }

    #[test]
    fn spoken_phrasing_is_made_plain() {
        assert_eq!(
            plain_phrasing("So I'm going to go ahead and order an x-ray, let's just see"),
            "So I will order an x-ray, we will see"
        );
    }

    #[test]
    fn unpunctuated_turns_are_split_into_sentences() {
        let text = "i have had this pain for about two weeks now okay so i think it started after \
                    i went running and it has been getting worse since then";
        let pieces: Vec<String> = split_run_on(
            text,
            SentenceSpan {
                start: 0,
                end: text.chars().count(),
                terminator: None,
            },
        )
        .iter()
        .map(|s| text[s.start..s.end].to_string())
        .collect();
        assert_eq!(
            pieces,
            [
                "i have had this pain for about two weeks now",
                "okay so i think it started after i went running and it has been getting worse since then"
            ]
        );
        assert!(has_question_form("okay so do you have any fever"));
        assert!(!has_question_form("so i think it is a sprain"));
    }

    #[test]
    fn the_patient_is_he_or_she_when_the_visit_says_so() {
        let male = conversation(vec![
            seg(
                "0",
                C,
                TS::Other,
                "Good morning, Mr. Jones. He is a 62-year-old male.",
            ),
            seg("1", P, TS::Subjective, "My knee hurts and I can't sleep."),
            seg(
                "2",
                C,
                TS::AssessmentAndPlan,
                "I will see you in two weeks.",
            ),
        ]);
        let pronouns = Pronouns::infer(&male);
        assert_eq!(pronouns, Pronouns::MALE);
        assert_eq!(
            clean_sentence_as(
                "My knee hurts and I can't sleep.",
                RoleKind::Patient,
                pronouns
            ),
            Some("His knee hurts and he can't sleep.".into())
        );
        assert_eq!(
            clean_sentence_as(
                "I will see you in two weeks.",
                RoleKind::Clinician,
                pronouns
            ),
            Some("I will see him in 2 weeks.".into())
        );
        assert_eq!(Pronouns::infer(&visit()), Pronouns::NEUTRAL);
        assert_eq!(
            as_reported("He has had knee pain.", pronouns),
            "He reports that he has had knee pain."
        );
    }

    #[test]
    fn questions_and_visit_narration_are_not_note_sentences() {
        assert!(!reads_as_note("How about his bowel movements."));
        assert!(!reads_as_note("Do you have any fever."));
        assert!(!reads_as_note("Let's do his exam."));
        assert!(!reads_as_note("For his first problem, his diabetes."));
        assert!(reads_as_note("His lungs are clear to auscultation."));
    }

    #[test]
    fn empty_conversation_gives_empty_note() {
        let doc = build_documentation(&conversation(vec![]), NoteTemplate::HistoryAndPhysical);
        assert!(doc.sections.is_empty());
    }
}
