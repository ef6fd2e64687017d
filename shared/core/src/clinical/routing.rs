//! Finer topic routing: which note section a stretch of conversation belongs to.
//!
//! Transcript sections (`SUBJECTIVE`, `OBJECTIVE`, `ASSESSMENT_AND_PLAN`) are too coarse to fill a
//! History & Physical, so a conversation (or a run of turns) is also routed to one of the topics
//! a clinician's note is built from: chief complaint, present illness, review of systems, past
//! medical and surgical history, medications, allergies, family and social history, exam,
//! results, assessment and plan.
//!
//! Model: a linear score per topic over cue phrases (clinical vocabulary and question forms such
//! as "any allergies", "do you smoke", "take a deep breath"). Clinician turns count fully (the
//! question names the topic), other speakers' turns for less, and the first clinician turn
//! double. Two structural features: a "no" answer to an "any …?" question (a review-of-systems
//! pattern) and the length of the conversation (present-illness narratives run long; a short
//! one about the presenting problem is the chief complaint). The cue list is hand-written; the
//! weights started hand-set and were refitted with an averaged perceptron on four fifths of the
//! MTS-Dialog dev snippets (rows whose index % 5 != 0); `examples/section_eval.rs` reports the
//! held-out fifth separately. The cues after the fitted list (impressions, instructions, exam
//! findings, and the `Diagnosis` topic: a diagnosis named as such) were added by hand later and
//! not refitted.

use crate::clinical::tables;
use crate::formats::{ParticipantRole, RoleKind, TranscriptSection};

/// A note topic, finer than a transcript section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NoteTopic {
    ChiefComplaint,
    PresentIllness,
    ReviewOfSystems,
    PastMedicalHistory,
    PastSurgicalHistory,
    Medications,
    Allergies,
    FamilyAndSocialHistory,
    Immunizations,
    GynecologicHistory,
    PhysicalExam,
    Imaging,
    Labs,
    Procedures,
    Assessment,
    /// The diagnoses named as such (MTS-Dialog's DIAGNOSIS header), next to the assessment's
    /// reasoning about them.
    Diagnosis,
    Plan,
    Disposition,
    HospitalCourse,
}

use NoteTopic::*;

/// Topics that carry cue weights (the chief complaint is derived from the present illness).
const SCORED: [NoteTopic; 18] = [
    PresentIllness,
    ReviewOfSystems,
    PastMedicalHistory,
    PastSurgicalHistory,
    Medications,
    Allergies,
    FamilyAndSocialHistory,
    Immunizations,
    GynecologicHistory,
    PhysicalExam,
    Imaging,
    Labs,
    Procedures,
    Assessment,
    Diagnosis,
    Plan,
    Disposition,
    HospitalCourse,
];

impl NoteTopic {
    pub const ALL: [NoteTopic; 19] = [
        ChiefComplaint,
        PresentIllness,
        ReviewOfSystems,
        PastMedicalHistory,
        PastSurgicalHistory,
        Medications,
        Allergies,
        FamilyAndSocialHistory,
        Immunizations,
        GynecologicHistory,
        PhysicalExam,
        Imaging,
        Labs,
        Procedures,
        Assessment,
        Diagnosis,
        Plan,
        Disposition,
        HospitalCourse,
    ];

    /// The transcript section a topic belongs to.
    pub fn transcript_section(self) -> TranscriptSection {
        match self {
            PhysicalExam | Imaging | Labs | Procedures => TranscriptSection::Objective,
            Assessment | Diagnosis | Plan | Disposition | HospitalCourse => {
                TranscriptSection::AssessmentAndPlan
            }
            _ => TranscriptSection::Subjective,
        }
    }

    /// The MTS-Dialog section header this topic corresponds to (used by the evaluation).
    pub fn mts_header(self) -> &'static str {
        match self {
            ChiefComplaint => "CC",
            PresentIllness => "GENHX",
            ReviewOfSystems => "ROS",
            PastMedicalHistory => "PASTMEDICALHX",
            PastSurgicalHistory => "PASTSURGICAL",
            Medications => "MEDICATIONS",
            Allergies => "ALLERGY",
            FamilyAndSocialHistory => "FAM/SOCHX",
            Immunizations => "IMMUNIZATIONS",
            GynecologicHistory => "GYNHX",
            PhysicalExam => "EXAM",
            Imaging => "IMAGING",
            Labs => "LABS",
            Procedures => "PROCEDURES",
            Assessment => "ASSESSMENT",
            Diagnosis => "DIAGNOSIS",
            Plan => "PLAN",
            Disposition => "DISPOSITION",
            HospitalCourse => "EDCOURSE",
        }
    }

    fn index(self) -> usize {
        SCORED.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// The outcome of routing one conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    pub topic: NoteTopic,
    /// The transcript section of the conversation as a whole. Decided from the best topic score
    /// per section with a small bonus for the rarer sections, because a missed exam or plan
    /// costs the note more than a history turn filed under the exam.
    pub section: TranscriptSection,
}

/// A present-illness conversation this short is the chief complaint.
const CHIEF_COMPLAINT_MAX_TURNS: usize = 6;
/// Present-illness score per turn beyond this many.
const LONG_AFTER_TURNS: usize = 8;
const LONG_WEIGHT: f64 = 0.74;
/// Review-of-systems score per "no" answer to an "any …?" question.
const NEGATIVE_ANSWER_WEIGHT: f64 = 1.03;
const OTHER_SPEAKER_WEIGHT: f64 = 0.7;
const FIRST_CLINICIAN_WEIGHT: f64 = 2.0;
const OBJECTIVE_BONUS: f64 = 0.5;
const ASSESSMENT_AND_PLAN_BONUS: f64 = 0.2;
const DIAGNOSIS_BIAS: f64 = -0.5;

/// Routes a whole conversation (`turns[i]` = role and text of turn `i`) to one topic.
pub fn route_conversation(turns: &[(ParticipantRole, &str)]) -> Routing {
    let scores = window_scores(&turn_cues(turns));
    let best = best_topic(&scores);
    let topic = if best == PresentIllness && turns.len() <= CHIEF_COMPLAINT_MAX_TURNS {
        ChiefComplaint
    } else {
        best
    };
    let section = [
        TranscriptSection::Subjective,
        TranscriptSection::Objective,
        TranscriptSection::AssessmentAndPlan,
    ]
    .into_iter()
    .zip(section_scores(&scores))
    .fold(
        (TranscriptSection::Subjective, f64::NEG_INFINITY),
        |a, b| if b.1 > a.1 { b } else { a },
    )
    .0;
    Routing { topic, section }
}

/// A conversation's cues read once, for scoring many stretches of it (see
/// [`ConversationCues::section_scores`]).
pub struct ConversationCues {
    turns: Vec<TurnCues>,
}

impl ConversationCues {
    pub fn new(turns: &[(ParticipantRole, &str)]) -> Self {
        Self {
            turns: turn_cues(turns),
        }
    }

    /// The router's transcript-section scores (SUBJECTIVE, OBJECTIVE, ASSESSMENT_AND_PLAN) of
    /// the stretch of conversation around each turn: for turn `i`, turns
    /// `i - before ..= i + after` scored as one conversation. A section none of whose topic cues
    /// occur in the stretch scores `f64::NEG_INFINITY`: the topic priors alone (fitted to
    /// MTS-Dialog's section mix) do not make a stretch about the plan. Lets the per-turn section
    /// decoder see what a run of turns is about, not only what one turn says.
    pub fn section_scores(&self, before: usize, after: usize) -> Vec<[f64; 3]> {
        let cues = &self.turns;
        (0..cues.len())
            .map(|i| {
                let window = &cues[i.saturating_sub(before)..(i + after + 1).min(cues.len())];
                section_scores_heard(window)
            })
            .collect()
    }
}

/// [`section_scores`] of a run of turns, with the sections that none of the run's cues point
/// at left out (`f64::NEG_INFINITY`).
fn section_scores_heard(turns: &[TurnCues]) -> [f64; 3] {
    let heard: [bool; SCORED.len()] = std::array::from_fn(|k| {
        turns.iter().any(|t| t.cues[k] != 0.0)
            || (SCORED[k] == ReviewOfSystems && turns.iter().skip(1).any(|t| t.denies_any_question))
    });
    let family_heard = |section: TranscriptSection| {
        SCORED
            .iter()
            .any(|t| t.transcript_section() == section && heard[t.index()])
    };
    let scores = section_scores(&window_scores(turns));
    let families = [
        TranscriptSection::Subjective,
        TranscriptSection::Objective,
        TranscriptSection::AssessmentAndPlan,
    ];
    std::array::from_fn(|j| {
        if family_heard(families[j].clone()) {
            scores[j]
        } else {
            f64::NEG_INFINITY
        }
    })
}

/// Per section, the best topic score of that section's family plus a small bonus for the rarer
/// sections, because a missed exam or plan costs the note more than a history turn filed under
/// the exam.
fn section_scores(scores: &[f64; SCORED.len()]) -> [f64; 3] {
    let family = |section: TranscriptSection, bonus: f64| {
        SCORED
            .iter()
            .filter(|t| t.transcript_section() == section)
            .map(|t| scores[t.index()])
            .fold(f64::NEG_INFINITY, f64::max)
            + bonus
    };
    [
        family(TranscriptSection::Subjective, 0.0),
        family(TranscriptSection::Objective, OBJECTIVE_BONUS),
        family(
            TranscriptSection::AssessmentAndPlan,
            ASSESSMENT_AND_PLAN_BONUS,
        ),
    ]
}

/// What the router reads from one turn, before weighting by position in a conversation.
struct TurnCues {
    /// Summed cue weights per topic, indexed like [`SCORED`].
    cues: [f64; SCORED.len()],
    clinician: bool,
    /// A "no" to the previous turn's "any …?" question.
    denies_any_question: bool,
}

fn turn_cues(turns: &[(ParticipantRole, &str)]) -> Vec<TurnCues> {
    let mut after_any_question = false;
    turns
        .iter()
        .map(|(role, text)| {
            let normalized = normalize(text);
            let clinician = role.kind == RoleKind::Clinician;
            let denies_any_question =
                !clinician && after_any_question && starts_negative(&normalized);
            after_any_question = clinician
                && (normalized.starts_with(" any ")
                    || (normalized.contains(" any ") && text.contains('?')));
            let mut cues = [0.0; SCORED.len()];
            for (topic, cue_weight) in tables::routing_cues().matches(&normalized) {
                cues[topic] += cue_weight;
            }
            TurnCues {
                cues,
                clinician,
                denies_any_question,
            }
        })
        .collect()
}

/// Per-topic scores of a run of turns scored as one conversation, indexed like [`SCORED`].
fn window_scores(turns: &[TurnCues]) -> [f64; SCORED.len()] {
    let mut scores: [f64; SCORED.len()] = std::array::from_fn(|i| bias(SCORED[i]));
    let first_clinician = turns.iter().position(|t| t.clinician);
    for (i, turn) in turns.iter().enumerate() {
        let mut weight = if turn.clinician {
            1.0
        } else {
            OTHER_SPEAKER_WEIGHT
        };
        if Some(i) == first_clinician {
            weight *= FIRST_CLINICIAN_WEIGHT;
        }
        // The question must be inside the run for its answer to count.
        if turn.denies_any_question && i > 0 {
            scores[ReviewOfSystems.index()] += NEGATIVE_ANSWER_WEIGHT;
        }
        for (score, cue) in scores.iter_mut().zip(&turn.cues) {
            *score += weight * cue;
        }
    }
    scores[PresentIllness.index()] +=
        LONG_WEIGHT * turns.len().saturating_sub(LONG_AFTER_TURNS) as f64;
    scores
}

/// Evidence of one turn for the transcript sections SUBJECTIVE, OBJECTIVE and
/// ASSESSMENT_AND_PLAN from the topic cues: per section, the best topic's cue score (no priors),
/// never below zero. Feeds the per-turn section decoder.
pub fn turn_section_evidence(text: &str, role: RoleKind) -> [f64; 3] {
    let normalized = normalize(text);
    let weight = if role == RoleKind::Clinician {
        1.0
    } else {
        OTHER_SPEAKER_WEIGHT
    };
    let mut scores = [0.0f64; SCORED.len()];
    for (topic, cue_weight) in tables::routing_cues().matches(&normalized) {
        scores[topic] += weight * cue_weight;
    }
    let best = |section: TranscriptSection| {
        SCORED
            .iter()
            // "Diagnosis" alone is no plan talk in a turn ("a recent diagnosis of …" in the
            // history); the assessment's own "diagnos*" cue still counts.
            .filter(|t| t.transcript_section() == section && **t != Diagnosis)
            .map(|t| scores[t.index()])
            .fold(0.0, f64::max)
    };
    [
        best(TranscriptSection::Subjective),
        best(TranscriptSection::Objective),
        best(TranscriptSection::AssessmentAndPlan),
    ]
}

/// The topic of one utterance on its own (no conversation context), or `None` when it carries
/// no cue. Used to file note sentences under the finer history sections.
pub fn utterance_topic(text: &str) -> Option<NoteTopic> {
    let normalized = normalize(text);
    let mut scores = [0.0f64; SCORED.len()];
    for (topic, weight) in tables::routing_cues().matches(&normalized) {
        scores[topic] += weight;
    }
    let best = best_topic(&scores);
    (scores[best.index()] > 1.0).then_some(best)
}

/// The topic a free-text description names ("Allergies", "family history of the patient", …),
/// for custom template sections; `None` when nothing matches.
pub fn topic_of_description(description: &str) -> Option<NoteTopic> {
    let normalized = normalize(description);
    DESCRIPTION_CUES
        .iter()
        .map(|(topic, cues)| {
            let hits = cues
                .iter()
                .filter(|cue| contains_phrase(&normalized, cue))
                .count();
            (hits, *topic)
        })
        .filter(|(hits, _)| *hits > 0)
        // The first listed topic wins ties: the lists run from specific to general.
        .fold(
            None,
            |best: Option<(usize, NoteTopic)>, candidate| match best {
                Some(b) if b.0 >= candidate.0 => Some(b),
                _ => Some(candidate),
            },
        )
        .map(|(_, topic)| topic)
}

fn best_topic(scores: &[f64; SCORED.len()]) -> NoteTopic {
    let mut best = 0;
    for (i, score) in scores.iter().enumerate() {
        if *score > scores[best] {
            best = i;
        }
    }
    SCORED[best]
}

fn starts_negative(normalized: &str) -> bool {
    let first = normalized.split_whitespace().next().unwrap_or("");
    matches!(first, "no" | "nope" | "not" | "never" | "none" | "negative")
}

/// Whole-word match; a cue ending in `*` matches any word starting with it. `normalized` starts
/// and ends with a space.
fn contains_phrase(normalized: &str, cue: &str) -> bool {
    let (needle, prefix) = match cue.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (cue, false),
    };
    normalized.match_indices(needle).any(|(at, _)| {
        let before = normalized[..at].ends_with(' ');
        let after = prefix || normalized[at + needle.len()..].starts_with(' ');
        before && after
    })
}

fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase().replace(['’', '‘'], "'");
    let mut out = String::with_capacity(lowered.len() + 2);
    out.push(' ');
    for word in lowered
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .filter(|w| !w.is_empty())
    {
        out.push_str(word);
        out.push(' ');
    }
    out
}

fn bias(topic: NoteTopic) -> f64 {
    match topic {
        PresentIllness => 0.46,
        ReviewOfSystems => -0.3,
        PastMedicalHistory => 0.78,
        PastSurgicalHistory => 0.54,
        Medications => 0.07,
        Allergies => 0.48,
        FamilyAndSocialHistory => 0.23,
        Immunizations => -0.62,
        GynecologicHistory => -0.85,
        PhysicalExam => 0.22,
        Imaging => -0.37,
        Labs => -1.66,
        Procedures => 0.38,
        Assessment => 0.68,
        Diagnosis => DIAGNOSIS_BIAS,
        Plan => -0.44,
        Disposition => 0.3,
        HospitalCourse => 0.6,
        ChiefComplaint => 0.0,
    }
}

/// Words that name a topic in a section header or instruction, most specific topics first.
const DESCRIPTION_CUES: &[(NoteTopic, &[&str])] = &[
    (
        ChiefComplaint,
        &[
            "chief complaint",
            "reason for visit",
            "reason for the visit",
            "presenting complaint",
        ],
    ),
    (
        ReviewOfSystems,
        &["review of systems", "ros", "systems review"],
    ),
    (PastSurgicalHistory, &["surgical", "surger*", "operations"]),
    (
        Medications,
        &["medication*", "meds", "drugs", "prescriptions"],
    ),
    (Allergies, &["allerg*"]),
    (
        FamilyAndSocialHistory,
        &[
            "family",
            "social",
            "smoking",
            "alcohol",
            "occupation",
            "lifestyle",
        ],
    ),
    (Immunizations, &["immuniz*", "vaccin*"]),
    (
        GynecologicHistory,
        &["gyn*", "obstetric*", "menstrual", "pregnan*"],
    ),
    (PhysicalExam, &["exam*", "physical", "vital*", "findings"]),
    (Imaging, &["imaging", "radiology", "x-ray*", "mri", "ct"]),
    (Labs, &["lab*", "results", "diagnostic*", "tests"]),
    (Procedures, &["procedure*"]),
    (
        Assessment,
        &["assessment", "impression", "diagnos*", "problem list"],
    ),
    (
        Plan,
        &[
            "plan",
            "treatment",
            "follow-up",
            "follow up",
            "orders",
            "recommendation*",
            "next steps",
        ],
    ),
    (Disposition, &["disposition", "discharge"]),
    (HospitalCourse, &["course", "emergency"]),
    (
        PastMedicalHistory,
        &["past medical", "medical history", "pmh", "conditions"],
    ),
    (
        PresentIllness,
        &[
            "present illness",
            "hpi",
            "history",
            "symptom*",
            "subjective",
            "concern*",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cue_table_groups_are_the_scored_topics_in_order() {
        let names: Vec<String> = SCORED.iter().map(|t| format!("{t:?}")).collect();
        assert_eq!(names, tables::ROUTING_GROUPS);
    }

    const C: ParticipantRole = ParticipantRole::CLINICIAN_0;
    const P: ParticipantRole = ParticipantRole::PATIENT_0;

    #[test]
    fn history_questions_route_to_their_topics() {
        let allergy = [(C, "Any known drug allergies?"), (P, "No.")];
        assert_eq!(route_conversation(&allergy).topic, Allergies);
        let social = [
            (C, "Do you smoke or drink alcohol?"),
            (
                P,
                "I quit smoking ten years ago, I drink a beer on weekends.",
            ),
        ];
        assert_eq!(route_conversation(&social).topic, FamilyAndSocialHistory);
        let surgery = [
            (C, "Have you had any surgeries in the past?"),
            (P, "I had my gallbladder removed."),
        ];
        assert_eq!(route_conversation(&surgery).topic, PastSurgicalHistory);
        let medications = [
            (C, "What medications are you taking?"),
            (P, "Lisinopril, ten milligrams a day."),
        ];
        assert_eq!(route_conversation(&medications).topic, Medications);
    }

    #[test]
    fn exam_and_plan_set_the_transcript_section() {
        let exam = [
            (C, "Let me examine you. Take a deep breath for me."),
            (P, "Okay."),
            (C, "Does this hurt when I press here?"),
            (P, "A little."),
        ];
        let routing = route_conversation(&exam);
        assert_eq!(routing.topic, PhysicalExam);
        assert_eq!(routing.section, TranscriptSection::Objective);
        let plan = [(
            C,
            "We will continue the metformin, I recommend a follow up appointment in three months.",
        )];
        assert_eq!(
            route_conversation(&plan).section,
            TranscriptSection::AssessmentAndPlan
        );
    }

    #[test]
    fn a_named_diagnosis_routes_to_diagnosis() {
        let diagnosis = [
            (
                C,
                "I am adding two things to your diagnosis list: sleep apnea and type two diabetes.",
            ),
            (P, "Okay."),
        ];
        let routing = route_conversation(&diagnosis);
        assert_eq!(routing.topic, Diagnosis);
        assert_eq!(routing.section, TranscriptSection::AssessmentAndPlan);
        assert_eq!(Diagnosis.mts_header(), "DIAGNOSIS");
        // Alone in a turn, "diagnosis" is no plan talk: a history can mention one.
        let history = turn_section_evidence(
            "she has a recent diagnosis of lung cancer",
            RoleKind::Clinician,
        );
        assert!(history[2] < 1.0, "{history:?}");
    }

    #[test]
    fn a_history_question_is_no_assessment() {
        let asked = turn_section_evidence("do you have a sore throat", RoleKind::Clinician);
        assert_eq!(asked[2], 0.0, "{asked:?}");
        let told = turn_section_evidence("you have a sore throat", RoleKind::Clinician);
        assert!(told[2] > 0.0, "{told:?}");
    }

    #[test]
    fn length_separates_chief_complaint_from_present_illness() {
        let short = [
            (C, "What brings you in today?"),
            (P, "I have pain in my knee."),
        ];
        assert_eq!(route_conversation(&short).topic, ChiefComplaint);
        let mut long = vec![
            (C, "What brings you in today?"),
            (P, "I have pain in my knee."),
        ];
        for _ in 0..6 {
            long.push((C, "When did it start, and is it getting worse?"));
            long.push((P, "About two weeks ago, it's worse at night."));
        }
        assert_eq!(route_conversation(&long).topic, PresentIllness);
    }

    #[test]
    fn phrases_match_whole_words_or_declared_prefixes() {
        let text = normalize("Any allergies? I'm a smoker.");
        assert!(contains_phrase(&text, "allerg*"));
        assert!(contains_phrase(&text, "smoker"));
        assert!(!contains_phrase(&text, "smoke"));
        assert!(!contains_phrase(&text, "llergies"));
    }

    #[test]
    fn turn_evidence_points_at_the_section_of_its_cues() {
        let exam = turn_section_evidence(
            "take a deep breath for me, does this hurt when i press",
            RoleKind::Clinician,
        );
        assert!(exam[1] > exam[0] && exam[1] > exam[2], "{exam:?}");
        let plan = turn_section_evidence(
            "we will continue the metformin and i recommend a follow up appointment",
            RoleKind::Clinician,
        );
        assert!(plan[2] > plan[1], "{plan:?}");
        assert_eq!(turn_section_evidence("okay", RoleKind::Patient), [0.0; 3]);
    }

    #[test]
    fn context_scores_read_the_neighbouring_turns() {
        let turns = [
            (
                C,
                "Take a deep breath for me. Does this hurt when I press here?",
            ),
            (P, "Okay."),
            (
                C,
                "We will continue the metformin and schedule a follow up appointment.",
            ),
        ];
        let argmax = |s: &[f64; 3]| (0..3).fold(0, |b, i| if s[i] > s[b] { i } else { b });
        let cues = ConversationCues::new(&turns);
        let alone = cues.section_scores(0, 0);
        let with_previous = cues.section_scores(1, 0);
        let with_next = cues.section_scores(0, 1);
        assert_eq!(alone.len(), 3);
        assert_eq!(argmax(&alone[0]), 1);
        assert_eq!(argmax(&alone[2]), 2);
        // "Okay." alone carries no cue; its neighbours decide.
        assert_eq!(argmax(&with_previous[1]), 1);
        assert_eq!(argmax(&with_next[1]), 2);
        // The whole conversation as one window is the router's view.
        let whole = cues.section_scores(2, 2);
        assert!(whole.iter().all(|s| s == &whole[0]));
    }

    #[test]
    fn descriptions_name_topics() {
        assert_eq!(
            topic_of_description("Known drug allergies"),
            Some(Allergies)
        );
        assert_eq!(
            topic_of_description("Social history: smoking, alcohol, occupation"),
            Some(FamilyAndSocialHistory)
        );
        assert_eq!(
            topic_of_description("Surgical history"),
            Some(PastSurgicalHistory)
        );
        assert_eq!(topic_of_description("Plan for each problem"), Some(Plan));
        assert_eq!(topic_of_description("xyzzy"), None);
    }
}
