//! Transcript sections (`SUBJECTIVE`, `OBJECTIVE`, `ASSESSMENT_AND_PLAN`, `OTHER`) for turns.
//!
//! Rules:
//! - Each turn gets a cue score per section from its words ([`section_cues`], cue table
//!   `data/section_cues.tsv`):
//!   greetings, thanks, goodbyes, scheduling and small talk → `OTHER`;
//!   symptoms, onset and duration, history, medications and habits → `SUBJECTIVE`;
//!   examination manoeuvres and findings, vitals, lab and imaging results → `OBJECTIVE`;
//!   impressions, diagnoses, prescriptions, referrals, orders and follow-up → `ASSESSMENT_AND_PLAN`.
//!   A patient rarely states exam findings or plans, so their `OBJECTIVE` and
//!   `ASSESSMENT_AND_PLAN` cues count for less and their symptom cues for more (not in a
//!   patient's question, which usually asks about the assessment or the plan). Negative cues
//!   keep history questions ("do you have a …?", "you have a history of …") from reading as a
//!   diagnosis ("you have a …").
//! - The turns are then decoded together (Viterbi) with a visit-order prior: staying in a section
//!   is free, moving forward (history → exam → assessment/plan) is cheap, moving back costs more,
//!   and stepping into or out of `OTHER` costs a little. A turn with no cues (short answers:
//!   "yes.", "okay.") therefore inherits the section of the turns around it, usually the
//!   question before it, and a lone cue word cannot flip one turn out of a run.
//! - A visit starts in `OTHER` or `SUBJECTIVE`, rarely in the exam or the plan.
//! - Context: after a first decoding, the note-topic router ([`crate::clinical::routing`]) scores
//!   windows of consecutive turns, and the section that wins the windows around a turn gets a
//!   bonus before decoding again ([`add_context_evidence`]), so a run of turns about the plan is
//!   ASSESSMENT_AND_PLAN as a whole, not only its turns with plan words.
//! - Learned emission: those cue scores ([`cue_emissions`]) are also features of the learned
//!   section model ([`crate::clinical::section_model`], trained on MTS-Dialog and ACI-Bench
//!   train data with the turn's and its neighbours' words), whose `ln(3 p)` is added to the
//!   cue score of each clinical section before the final decoding; OTHER keeps its cue score.

use crate::clinical::routing::{turn_section_evidence, ConversationCues};
use crate::clinical::{section_model, tables};
use crate::formats::{ParticipantRole, RoleKind, TranscriptSection};

/// Weight of [`turn_section_evidence`] next to this module's own cues.
const TOPIC_EVIDENCE_WEIGHT: f64 = 0.6;
/// Length in turns of the context windows (see [`add_context_evidence`]). With the weight,
/// chosen on the MTS-Dialog tune rows (index % 5 != 0) while keeping the ACI-Bench note ROUGE
/// from dropping: shorter windows help the snippets less, longer ones blur a full visit.
const CONTEXT_TURNS: usize = 11;
/// Emission bonus of the section that wins a turn's context.
const CONTEXT_WEIGHT: f64 = 2.0;

const SECTIONS: [TranscriptSection; 4] = [
    TranscriptSection::Other,
    TranscriptSection::Subjective,
    TranscriptSection::Objective,
    TranscriptSection::AssessmentAndPlan,
];
const OTHER: usize = 0;
const SUBJECTIVE: usize = 1;
const OBJECTIVE: usize = 2;
const PLAN: usize = 3;

/// Log-score of moving from section `from` to section `to` between consecutive turns.
fn transition(from: usize, to: usize) -> f64 {
    match (from, to) {
        _ if from == to => 0.0,
        (OTHER, _) | (_, OTHER) => -1.5,
        (SUBJECTIVE, OBJECTIVE) | (OBJECTIVE, PLAN) => -1.5,
        (SUBJECTIVE, PLAN) => -2.0,
        // Going back: a history question during the exam, results after the plan is begun.
        (OBJECTIVE, SUBJECTIVE) | (PLAN, OBJECTIVE) => -2.5,
        _ => -3.0,
    }
}

fn start(section: usize) -> f64 {
    match section {
        OTHER | SUBJECTIVE => 0.0,
        _ => -1.0,
    }
}

/// Assigns a section to every turn (`turns[i]` = role and text of turn `i`).
pub fn assign_sections(turns: &[(ParticipantRole, &str)]) -> Vec<TranscriptSection> {
    if turns.is_empty() {
        return Vec::new();
    }
    let cues = cue_emissions(turns);
    let emissions = section_model::model().emissions(turns, &cues);
    decode(&emissions)
        .into_iter()
        .map(|s| SECTIONS[s].clone())
        .collect()
}

/// The hand cue scores of every turn with the conversation's context added (see the module
/// notes): the emissions of the rule-based sectioning, and features of the learned model.
pub fn cue_emissions(turns: &[(ParticipantRole, &str)]) -> Vec<[f64; 4]> {
    if turns.is_empty() {
        return Vec::new();
    }
    let mut emissions: Vec<[f64; 4]> = turns
        .iter()
        .map(|(role, text)| section_cues(text, role.kind))
        .collect();
    let first_pass = decode(&emissions);
    add_context_evidence(turns, &first_pass, &mut emissions);
    emissions
}

/// Viterbi path (section indexes) through the per-turn emission scores.
fn decode(emissions: &[[f64; 4]]) -> Vec<usize> {
    let mut best: [f64; 4] = std::array::from_fn(|s| start(s) + emissions[0][s]);
    let mut back: Vec<[usize; 4]> = vec![[0; 4]];
    for emission in &emissions[1..] {
        let mut next = [0.0; 4];
        let mut from = [0usize; 4];
        for to in 0..4 {
            // Ties keep the lowest index, so the result is deterministic.
            let (score, origin) = (0..4)
                .map(|f| (best[f] + transition(f, to), f))
                .fold((f64::NEG_INFINITY, 0), |a, b| if b.0 > a.0 { b } else { a });
            next[to] = score + emission[to];
            from[to] = origin;
        }
        best = next;
        back.push(from);
    }
    let mut state = (0..4)
        .fold((f64::NEG_INFINITY, 0), |a, s| {
            if best[s] > a.0 {
                (best[s], s)
            } else {
                a
            }
        })
        .1;
    let mut path = vec![state; emissions.len()];
    for t in (1..emissions.len()).rev() {
        state = back[t][state];
        path[t - 1] = state;
    }
    path
}

/// Adds the router's reading of the conversation around each turn to its emission scores: a
/// section that wins a window of [`CONTEXT_TURNS`] consecutive turns containing the turn
/// ([`covering_window_winners`]) gets [`CONTEXT_WEIGHT`]. A turn then follows what its
/// neighbours are about: a short talk about the plan is ASSESSMENT_AND_PLAN as a whole, its
/// questions and "okay"s included. Two limits keep the visit's shape (`first_pass` is the
/// decoding without context):
/// - the router was fitted on isolated snippets and knows nothing of visit order (it reads
///   "are you still taking the metformin" in the plan as medication history), so context may
///   move a turn forward from the section the visit has reached (history → exam → plan), never
///   back;
/// - the router has no OTHER, so a turn with its own greeting or goodbye cues keeps OTHER in the
///   race with the same bonus.
fn add_context_evidence(
    turns: &[(ParticipantRole, &str)],
    first_pass: &[usize],
    emissions: &mut [[f64; 4]],
) {
    let cues = ConversationCues::new(turns);
    let winners = covering_window_winners(&cues, turns.len());
    // The window that ends at each turn: what has been talked about up to it.
    let so_far = cues.section_scores(CONTEXT_TURNS / 2, 0);
    // The last section other than OTHER that the first pass had reached at each turn.
    let mut reached = OTHER;
    for (t, ((emission, wins), first)) in emissions
        .iter_mut()
        .zip(&winners)
        .zip(first_pass)
        .enumerate()
    {
        if *first != OTHER {
            reached = *first;
        }
        let own_clinical = emission[SUBJECTIVE..].iter().copied().fold(0.0, f64::max);
        if emission[OTHER] > 0.0 && emission[OTHER] >= own_clinical {
            emission[OTHER] += CONTEXT_WEIGHT;
        }
        for (wins, section) in wins.iter().zip([SUBJECTIVE, OBJECTIVE, PLAN]) {
            let moves_back = reached != OTHER && section < reached;
            // A section begins where its talk begins: moving a turn forward also needs the
            // turns up to it not to point elsewhere, or a strong exam block would pull in the
            // history answers just before it.
            let moves_forward = reached != OTHER && section > reached;
            let started = so_far[t][section - SUBJECTIVE] >= max_of(&so_far[t]);
            if *wins && !moves_back && (!moves_forward || started) {
                emission[section] += CONTEXT_WEIGHT;
            }
        }
    }
}

/// Per turn, which of SUBJECTIVE, OBJECTIVE and ASSESSMENT_AND_PLAN win at least one window of
/// [`CONTEXT_TURNS`] consecutive turns that contains the turn (the whole conversation when it
/// is shorter). Inside a topic block every window agrees; at a boundary, windows reaching into
/// either side disagree and both sections win, so the turn's own cues place the boundary
/// instead of the stronger block spilling over its neighbours.
fn covering_window_winners(cues: &ConversationCues, turn_count: usize) -> Vec<[bool; 3]> {
    let window_count = turn_count.saturating_sub(CONTEXT_TURNS) + 1;
    let window_winners: Vec<[bool; 3]> = cues
        .section_scores(0, CONTEXT_TURNS - 1)
        .into_iter()
        .take(window_count)
        .map(|scores| {
            // Every tied section wins, so the result does not depend on their order.
            // A window without any cue has no winner.
            let best = max_of(&scores);
            scores.map(|s| s == best && best.is_finite())
        })
        .collect();
    (0..turn_count)
        .map(|t| {
            let first = (t + 1).saturating_sub(CONTEXT_TURNS);
            let last = t.min(window_count - 1);
            window_winners[first..=last]
                .iter()
                .fold([false; 3], |any, wins| {
                    std::array::from_fn(|k| any[k] || wins[k])
                })
        })
        .collect()
}

fn max_of(scores: &[f64; 3]) -> f64 {
    scores.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Per-section cue scores of one turn, in the order OTHER, SUBJECTIVE, OBJECTIVE,
/// ASSESSMENT_AND_PLAN. All zero when the turn carries no cue.
pub fn section_cues(text: &str, speaker: RoleKind) -> [f64; 4] {
    let asks = text.trim_end().ends_with('?');
    let text = normalize(text);
    let mut scores = [0.0; 4];
    // The cue table (`data/section_cues.tsv`) is in the order of `SECTIONS`.
    tables::section_cues().scores(&text, &mut scores);
    // The note-topic cues (history, exam, results, assessment and plan vocabulary), scaled
    // down: they were fitted on whole conversations, not single turns.
    let topic = turn_section_evidence(&text, speaker);
    scores[SUBJECTIVE] += TOPIC_EVIDENCE_WEIGHT * topic[0];
    scores[OBJECTIVE] += TOPIC_EVIDENCE_WEIGHT * topic[1];
    scores[PLAN] += TOPIC_EVIDENCE_WEIGHT * topic[2];
    if speaker == RoleKind::Patient {
        // A patient answers history questions; the patient's own questions ("will I need
        // surgery?") come with the assessment and the plan (about a fifth of patient turns
        // in MTS-Dialog's plan snippets, a twentieth in its history ones), so a question gets
        // no history boost.
        if !asks {
            scores[SUBJECTIVE] *= 1.5;
        }
        scores[OBJECTIVE] *= 0.5;
        scores[PLAN] *= 0.5;
    }
    // Many cues in a long turn should not outvote the context without limit.
    scores.map(|s: f64| s.min(4.0))
}

fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase().replace(['’', '‘'], "'");
    let spaced: String = lowered
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' || c == '-' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut out = String::from(" ");
    for word in spaced.split_whitespace() {
        if (word == "n't" || word.starts_with('\'')) && out.len() > 1 {
            out.pop(); // ACI-Bench splits contractions: "do n't" → "don't"
        }
        out.push_str(word);
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: ParticipantRole = ParticipantRole::CLINICIAN_0;
    const P: ParticipantRole = ParticipantRole::PATIENT_0;

    fn sections(turns: &[(ParticipantRole, &str)]) -> Vec<&'static str> {
        assign_sections(turns)
            .iter()
            .map(|s| match s {
                TranscriptSection::Other => "O",
                TranscriptSection::Subjective => "S",
                TranscriptSection::Objective => "X",
                TranscriptSection::AssessmentAndPlan => "AP",
                TranscriptSection::Unknown(_) => "?",
            })
            .collect()
    }

    #[test]
    fn a_visit_goes_greeting_history_exam_plan() {
        let turns = [
            (C, "hi , good morning . nice to meet you ."),
            (P, "hello ."),
            (C, "so what's been going on ? how long have you had the pain ?"),
            (P, "my knee started hurting about two weeks ago ."),
            (C, "okay ."),
            (P, "and it's worse at night ."),
            (C, "let me take a look . does this hurt when i press here ?"),
            (P, "yes ."),
            (C, "there is some tenderness and mild swelling , range of motion is normal ."),
            (C, "i think you have a sprain . i'm going to prescribe ibuprofen 600 mg and refer you to physical therapy ."),
            (P, "okay ."),
            (C, "follow up in two weeks . any questions ?"),
            (P, "no , thank you . bye ."),
        ];
        assert_eq!(
            sections(&turns),
            ["O", "O", "S", "S", "S", "S", "X", "X", "X", "AP", "AP", "AP", "O"]
        );
    }

    #[test]
    fn a_short_answer_inherits_the_question_section() {
        let turns = [
            (C, "have you had any fever or cough ?"),
            (P, "no ."),
            (C, "your x-ray results showed a small fracture ."),
            (P, "oh , okay ."),
        ];
        assert_eq!(sections(&turns), ["S", "S", "X", "X"]);
    }

    #[test]
    fn a_short_talk_about_the_plan_is_the_plan_as_a_whole() {
        // Turn by turn, the patient's answer reads as history ("i have been feeling dizzy").
        let turns = [
            (C, "We will continue the metformin."),
            (P, "I have been feeling dizzy when I take it."),
            (
                C,
                "Then take it with food, and we will schedule a follow up in two weeks.",
            ),
            (P, "Okay."),
        ];
        assert_eq!(sections(&turns), ["AP", "AP", "AP", "AP"]);
    }

    #[test]
    fn context_does_not_move_the_plan_back_to_history() {
        // Medication talk inside the plan reads as medication history to the router.
        let turns = [
            (C, "Hi, good morning."),
            (P, "Good morning."),
            (C, "What brings you in today?"),
            (P, "My knee has been hurting for two weeks."),
            (C, "Let me take a look. Does this hurt when I press here?"),
            (P, "Yes."),
            (C, "There is some tenderness and swelling, range of motion is normal."),
            (C, "I think you have a sprain. I'm going to prescribe ibuprofen and refer you to physical therapy."),
            (P, "Okay."),
            (C, "Are you still taking the metformin every day?"),
            (P, "Yes, twice a day with meals."),
            (C, "Good, keep taking it."),
            (P, "Okay."),
            (C, "Do you have any questions?"),
            (P, "No. Thank you, bye."),
        ];
        let got = sections(&turns);
        assert_eq!(got[..2], ["O", "O"], "{got:?}");
        assert_eq!(got[4..7], ["X", "X", "X"], "{got:?}");
        assert!(got[7..14].iter().all(|s| *s == "AP"), "{got:?}");
        assert_eq!(got[14], "O", "{got:?}");
    }

    #[test]
    fn findings_said_while_examining_are_objective() {
        let exam = section_cues(
            "Let's check your throat. I don't see any redness, and I don't feel any lumps when I touch here.",
            RoleKind::Clinician,
        );
        assert!(
            exam[OBJECTIVE] > exam[SUBJECTIVE] && exam[OBJECTIVE] > exam[PLAN],
            "{exam:?}"
        );
        let nerves = section_cues(
            "Sensation is intact and the pulses are symmetric.",
            RoleKind::Clinician,
        );
        assert!(nerves[OBJECTIVE] >= 3.0, "{nerves:?}");
    }

    #[test]
    fn impressions_and_instructions_are_assessment_and_plan() {
        for text in [
            "Your sodium is low, and the diuretic could explain how tired you have been.",
            "The culture confirms what I was suspecting.",
            "I'd like to start you on iron. Please let me know if you develop a fever, and don't hesitate to call.",
            "I'm going to adjust the dose; that should help. Stay hydrated and drink plenty of fluids.",
        ] {
            let cues = section_cues(text, RoleKind::Clinician);
            assert!(
                cues[PLAN] > cues[SUBJECTIVE] && cues[PLAN] > cues[OBJECTIVE],
                "{text}: {cues:?}"
            );
        }
    }

    #[test]
    fn history_questions_are_not_diagnoses() {
        // "you have a" names a diagnosis, "do you have a …?" and "you have a history of" do not.
        let diagnosis = section_cues("I think you have a sinus infection.", RoleKind::Clinician);
        assert!(diagnosis[PLAN] > 0.0, "{diagnosis:?}");
        for text in [
            "Do you have a sore throat or an earache?",
            "So you have a history of asthma.",
        ] {
            let cues = section_cues(text, RoleKind::Clinician);
            assert!(cues[PLAN] <= 0.0, "{text}: {cues:?}");
        }
    }

    #[test]
    fn a_patient_question_is_not_history() {
        // Patients answer history questions; their own questions come with the assessment and
        // the plan, so a question does not get the patient's history boost.
        let asked = section_cues(
            "Is the pain in my knee from the arthritis?",
            RoleKind::Patient,
        );
        let told = section_cues(
            "The pain in my knee is from the arthritis.",
            RoleKind::Patient,
        );
        assert!(told[SUBJECTIVE] > 0.0);
        assert!(asked[SUBJECTIVE] < told[SUBJECTIVE], "{asked:?} {told:?}");
        let turns = [
            (C, "Your x-ray shows the stone is blocking the ureter. This explains the pain you have been having."),
            (P, "Will I need surgery for this?"),
            (C, "I'd like to start you on a medicine to help it pass, and I'm going to refer you to urology."),
            (P, "How long will it take to pass?"),
            (C, "Usually a few days. Drink plenty of fluids and let me know if the pain gets worse."),
            (P, "Okay."),
        ];
        let got = sections(&turns);
        assert!(got.iter().filter(|s| **s == "AP").count() >= 4, "{got:?}");
    }

    #[test]
    fn cues_are_role_aware_and_zero_without_words() {
        let doctor = section_cues("we will order an mri", RoleKind::Clinician);
        let patient = section_cues("we will order an mri", RoleKind::Patient);
        assert!(doctor[PLAN] > patient[PLAN]);
        assert_eq!(section_cues("okay .", RoleKind::Patient), [0.0; 4]);
        assert!(assign_sections(&[]).is_empty());
    }
}
