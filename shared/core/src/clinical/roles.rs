//! Participant roles (`CLINICIAN_n`, `PATIENT_n`) for turns.
//!
//! Three situations, decided per turn from its [`SpeakerLabel`]:
//! - **Known role** (labelled text, a channel mapped to a role): kept as given.
//! - **Anonymous speakers** (`speaker_N`, diarization clusters, unmapped channels): every turn of
//!   a speaker gets the same role. Each turn gets a clinician-cue score ([`clinician_score`]:
//!   questions, instructions, exam and plan language, second- versus first-person talk); the
//!   speaker with the highest shrunken mean score (plus a small bonus for opening the visit) is
//!   `CLINICIAN_0`; the others are patients, `PATIENT_0` being the one who says the most words.
//! - **No speaker information** (mono audio without diarization): a two-state (clinician,
//!   patient) Viterbi over the turns. The emission is the turn's cue score; the transition prior
//!   says a turn is more likely to switch speaker than not ([`RoleSettings::switch_probability`]),
//!   so roles alternate unless the text clearly says otherwise. Turns whose role is already
//!   fixed (known or decided anonymous speakers) are clamped, which anchors the chain. Every
//!   patient turn from this baseline is `PATIENT_0`: text cannot tell two patients apart.
//!
//! Measured on the public dev data by `cargo run -p veriscribe-core --example role_eval -- DIR`.

use std::collections::BTreeMap;

use crate::formats::{ParticipantRole, RoleKind};

use super::turns::SpeakerLabel;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoleSettings {
    /// Prior probability that the next turn is spoken by the other party (no-speaker-info case).
    pub switch_probability: f64,
    /// The same prior after a turn that ends with a question: question → answer is the
    /// commonest change of speaker.
    pub switch_after_question: f64,
    /// How strongly one unit of cue score counts as evidence (log-odds per unit).
    pub evidence_weight: f64,
    /// Pseudo-turns of zero score added to each anonymous speaker, so that a speaker with one
    /// or two turns cannot beat a speaker with fifty on a lucky phrase.
    pub shrinkage_turns: f64,
}

impl Default for RoleSettings {
    fn default() -> Self {
        Self {
            switch_probability: 0.65,
            switch_after_question: 0.9,
            evidence_weight: 0.6,
            shrinkage_turns: 3.0,
        }
    }
}

/// Assigns a role to every turn (`turns[i]` = speaker label and text of turn `i`).
pub fn assign_roles(
    turns: &[(SpeakerLabel, &str)],
    settings: &RoleSettings,
) -> Vec<ParticipantRole> {
    let scores: Vec<f64> = turns
        .iter()
        .map(|(_, text)| clinician_score(text))
        .collect();
    let anonymous = anonymous_speaker_roles(turns, &scores, settings);

    let mut fixed: Vec<Option<ParticipantRole>> = turns
        .iter()
        .map(|(speaker, _)| match speaker {
            SpeakerLabel::Role(role) => Some(*role),
            SpeakerLabel::Anonymous(n) => anonymous.get(n).copied(),
            SpeakerLabel::Unknown => None,
        })
        .collect();
    if fixed.iter().any(Option::is_none) {
        let switch: Vec<f64> = turns
            .iter()
            .map(|(_, text)| {
                if text.trim_end().ends_with('?') {
                    settings.switch_after_question
                } else {
                    settings.switch_probability
                }
            })
            .collect();
        let kinds = viterbi_kinds(&fixed, &scores, &switch, settings);
        for (slot, kind) in fixed.iter_mut().zip(kinds) {
            slot.get_or_insert(ParticipantRole::new(kind, 0));
        }
    }
    fixed
        .into_iter()
        .map(|r| r.expect("filled above"))
        .collect()
}

/// Roles of anonymous speakers, decided per speaker. Empty when there are fewer than two
/// anonymous speakers and no known speaker to contrast with: one cluster says nothing about who
/// is who, so its turns are left to the per-turn model.
fn anonymous_speaker_roles(
    turns: &[(SpeakerLabel, &str)],
    scores: &[f64],
    settings: &RoleSettings,
) -> BTreeMap<u16, ParticipantRole> {
    #[derive(Default)]
    struct Speaker {
        score: f64,
        turns: f64,
        words: usize,
        first_turn: usize,
    }
    let mut speakers: BTreeMap<u16, Speaker> = BTreeMap::new();
    for (index, ((speaker, text), score)) in turns.iter().zip(scores).enumerate() {
        if let SpeakerLabel::Anonymous(n) = speaker {
            let entry = speakers.entry(*n).or_insert_with(|| Speaker {
                first_turn: index,
                ..Speaker::default()
            });
            entry.score += score;
            entry.turns += 1.0;
            entry.words += text.split_whitespace().count();
        }
    }
    let known_clinician = turns
        .iter()
        .any(|(s, _)| matches!(s, SpeakerLabel::Role(r) if r.kind == RoleKind::Clinician));
    let known_patients = turns
        .iter()
        .filter_map(|(s, _)| match s {
            SpeakerLabel::Role(r) if r.kind == RoleKind::Patient => Some(r.index + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    if speakers.is_empty() || (speakers.len() == 1 && !known_clinician && known_patients == 0) {
        return BTreeMap::new();
    }

    let first_anonymous = speakers.values().map(|s| s.first_turn).min().unwrap_or(0);
    let strength = |s: &Speaker| {
        // Clinicians open visits ("hi, how are you", "what brings you in").
        let opener = if s.first_turn == first_anonymous && first_anonymous == 0 {
            1.0
        } else {
            0.0
        };
        (s.score + opener) / (s.turns + settings.shrinkage_turns)
    };
    let clinician = if known_clinician {
        // The clinician is known; an anonymous speaker joins the clinicians only on clear
        // evidence (a second clinician is rarer than a family member).
        speakers
            .iter()
            .filter(|(_, s)| strength(s) > 1.0)
            .max_by(|a, b| strength(a.1).total_cmp(&strength(b.1)))
            .map(|(n, _)| *n)
    } else {
        speakers
            .iter()
            .max_by(|a, b| strength(a.1).total_cmp(&strength(b.1)))
            .map(|(n, _)| *n)
    };

    let mut roles = BTreeMap::new();
    if let Some(n) = clinician {
        let index = u8::from(known_clinician);
        roles.insert(n, ParticipantRole::new(RoleKind::Clinician, index));
    }
    let mut patients: Vec<(&u16, &Speaker)> = speakers
        .iter()
        .filter(|(n, _)| Some(**n) != clinician)
        .collect();
    // Most speech first; ties by first appearance keep the order deterministic.
    patients.sort_by(|a, b| {
        b.1.words
            .cmp(&a.1.words)
            .then(a.1.first_turn.cmp(&b.1.first_turn))
    });
    for (offset, (n, _)) in patients.into_iter().enumerate() {
        let index = known_patients.saturating_add(offset.min(u8::MAX as usize) as u8);
        roles.insert(*n, ParticipantRole::new(RoleKind::Patient, index));
    }
    roles
}

/// Most likely clinician/patient sequence given fixed turns, cue scores and the switch prior
/// (`switch_after[t]`: probability that turn `t + 1` has the other speaker).
fn viterbi_kinds(
    fixed: &[Option<ParticipantRole>],
    scores: &[f64],
    switch_after: &[f64],
    settings: &RoleSettings,
) -> Vec<RoleKind> {
    const KINDS: [RoleKind; 2] = [RoleKind::Clinician, RoleKind::Patient];
    const CLAMP: f64 = 1e6;
    let emission = |t: usize, state: usize| -> f64 {
        if let Some(role) = fixed[t] {
            return if role.kind == KINDS[state] {
                0.0
            } else {
                -CLAMP
            };
        }
        // Symmetric log-odds: half the evidence for one state, half against the other.
        let half = 0.5 * settings.evidence_weight * scores[t];
        if state == 0 {
            half
        } else {
            -half
        }
    };

    let n = fixed.len();
    if n == 0 {
        return Vec::new();
    }
    let mut best = [emission(0, 0), emission(0, 1)];
    let mut back: Vec<[usize; 2]> = Vec::with_capacity(n);
    back.push([0, 1]);
    for t in 1..n {
        let mut next = [0.0; 2];
        let mut from = [0usize; 2];
        let p = switch_after[t - 1].clamp(1e-6, 1.0 - 1e-6);
        let (switch, stay) = (p.ln(), (1.0 - p).ln());
        for (state, slot) in next.iter_mut().enumerate() {
            let via_same = best[state] + stay;
            let via_other = best[1 - state] + switch;
            // Ties go to the same state so the result does not depend on float noise order.
            (*slot, from[state]) = if via_same >= via_other {
                (via_same, state)
            } else {
                (via_other, 1 - state)
            };
            *slot += emission(t, state);
        }
        best = next;
        back.push(from);
    }
    let mut state = if best[0] >= best[1] { 0 } else { 1 };
    let mut path = vec![KINDS[state]; n];
    for t in (1..n).rev() {
        state = back[t][state];
        path[t - 1] = KINDS[state];
    }
    path
}

/// Evidence that a turn was spoken by the clinician (positive) or the patient (negative),
/// from its words alone. Roughly log-odds units; 0 means no evidence (e.g. "okay.").
pub fn clinician_score(text: &str) -> f64 {
    let text = normalize(text);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return 0.0;
    }
    let mut score = 0.0;

    for (phrase, weight) in CLINICIAN_PHRASES {
        score += weight * count_phrase(&text, phrase).min(2) as f64;
    }
    for (phrase, weight) in PATIENT_PHRASES {
        score -= weight * count_phrase(&text, phrase).min(2) as f64;
    }

    let questions = text.matches('?').count().min(3) as f64;
    score += 0.5 * questions;

    // Clinicians talk about "you/your", patients about "I/my/me".
    let second = words
        .iter()
        .filter(|w| matches!(**w, "you" | "your" | "you're" | "you've" | "yourself"))
        .count() as f64;
    let first = words
        .iter()
        .filter(|w| matches!(**w, "i" | "my" | "me" | "i'm" | "i've" | "myself" | "mine"))
        .count() as f64;
    score += (0.25 * (second - first)).clamp(-2.0, 2.0);

    // A bare acknowledgement is more often the patient answering.
    if words.iter().all(|w| BACKCHANNEL.contains(w)) {
        score -= 0.4;
    }
    score
}

const BACKCHANNEL: &[&str] = &[
    "yes", "yeah", "yep", "no", "nope", "mm-hmm", "mhm", "uh-huh", "um", "uh", "hmm", "mm",
    "right", "sure", "correct", "okay", "ok", "alright", "fine", "thanks", "thank", "you", "not",
    "really", "nah",
];

/// Clinician cues with weights. Phrases match on word boundaries of the normalized text.
const CLINICIAN_PHRASES: &[(&str, f64)] = &[
    // Instructions and plans.
    ("i want you to", 2.0),
    ("i'd like you to", 2.0),
    ("i would like you to", 2.0),
    ("i need you to", 1.5),
    ("let's", 1.2),
    ("we'll", 1.2),
    ("we will", 1.0),
    ("we're going to", 1.5),
    ("we are going to", 1.5),
    ("i'm going to", 1.2),
    ("i am going to", 1.2),
    ("i'm gonna", 1.0),
    ("i'll", 0.6),
    ("go ahead and", 1.0),
    ("recommend", 1.5),
    ("prescribe", 1.5),
    ("prescription", 1.0),
    ("refill", 0.8),
    ("refer you", 1.5),
    ("referral", 1.0),
    ("order", 0.8),
    ("follow up", 1.0),
    ("follow-up", 1.0),
    ("come back", 0.8),
    ("see you", 0.6),
    ("make sure", 0.8),
    ("continue", 0.8),
    ("milligrams", 1.0),
    ("mg", 1.0),
    ("twice a day", 0.8),
    ("once a day", 0.6),
    ("diagnosis", 1.0),
    ("assessment", 1.5),
    ("plan", 0.8),
    // Examination and results.
    ("examine", 1.5),
    ("exam", 1.5),
    ("take a look", 1.5),
    ("let me", 1.2),
    ("deep breath", 2.0),
    ("your lungs", 1.5),
    ("your heart", 1.2),
    ("lungs are", 1.5),
    ("on physical", 2.0),
    ("tenderness", 1.2),
    ("results", 1.0),
    ("lab", 0.6),
    ("looks like", 0.6),
    ("looks good", 0.8),
    ("any pain", 1.2),
    ("does it hurt", 1.5),
    ("does that hurt", 1.5),
    ("press", 0.8),
    ("push", 0.6),
    // Introductions: "I'm Doctor Evelyn" is the clinician (the patient's "doctor" below is
    // outweighed).
    ("i'm doctor", 3.0),
    ("i'm dr", 3.0),
    ("i am doctor", 3.0),
    ("i am dr", 3.0),
    ("my name is doctor", 3.0),
    ("my name is dr", 3.0),
    // History taking.
    ("what brings you", 2.5),
    ("how can i help", 2.5),
    ("how are you", 1.2),
    ("how are you doing", 0.5),
    ("tell me", 1.2),
    ("how long", 1.2),
    ("when did", 1.2),
    ("have you", 1.0),
    ("do you", 0.8),
    ("are you", 0.8),
    ("did you", 0.8),
    ("any other", 1.0),
    ("any questions", 2.0),
    ("any history", 1.5),
    ("okay so", 0.6),
    ("all right", 0.4),
    // Dictation to a scribe or assistant, and third-person summaries.
    ("hey dragon", 3.0),
    ("dragon", 1.5),
    ("dax", 1.5),
    ("the patient", 2.0),
    ("year-old", 1.5),
    ("year old", 1.5),
    ("presents", 1.5),
    ("history of", 1.0),
    ("nurse", 0.6),
];

/// Patient cues with weights (subtracted).
const PATIENT_PHRASES: &[(&str, f64)] = &[
    ("i've been", 1.0),
    ("i have been", 1.0),
    ("i've had", 1.0),
    ("i had", 0.6),
    ("i feel", 1.0),
    ("i felt", 1.0),
    ("i've noticed", 1.0),
    ("i noticed", 1.0),
    ("i started", 1.0),
    ("i take", 0.8),
    ("i took", 0.8),
    ("i tried", 0.8),
    ("i get", 0.6),
    ("i can't", 0.8),
    ("i don't know", 1.0),
    ("i'm not sure", 0.8),
    ("i think", 0.3),
    ("i was", 0.5),
    ("it hurts", 1.0),
    ("hurts", 0.6),
    ("my wife", 1.5),
    ("my husband", 1.5),
    ("my mom", 1.2),
    ("my dad", 1.2),
    ("my mother", 1.2),
    ("my father", 1.2),
    ("my son", 1.2),
    ("my daughter", 1.2),
    ("thank you", 0.8),
    ("thanks", 0.6),
    ("doctor", 1.0),
    ("doc", 1.0),
    ("sounds good", 0.8),
    ("i guess", 0.8),
    ("kind of", 0.3),
    ("kinda", 0.3),
];

/// Lower case, curly quotes straightened, ACI-Bench's split contractions ("do n't") rejoined,
/// commas and full stops spaced out, single spaces, padded with spaces for whole-word matching.
fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase().replace(['’', '‘'], "'");
    let mut spaced = String::with_capacity(lowered.len() + 8);
    for c in lowered.chars() {
        if matches!(c, ',' | '.' | '!' | ';' | ':' | '"' | '(' | ')') {
            spaced.push(' ');
        } else if c == '?' {
            spaced.push_str(" ? ");
        } else {
            spaced.push(c);
        }
    }
    let mut out = String::from(" ");
    for word in spaced.split_whitespace() {
        if word.starts_with('\'') && out.len() > 1 {
            // "do n't" / "it 's" → "don't" / "it's"
            out.pop();
        } else if word == "n't" && out.len() > 1 {
            out.pop();
        }
        out.push_str(word);
        out.push(' ');
    }
    out
}

fn count_phrase(normalized: &str, phrase: &str) -> usize {
    normalized.matches(&format!(" {phrase} ")).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const C0: ParticipantRole = ParticipantRole::CLINICIAN_0;
    const P0: ParticipantRole = ParticipantRole::PATIENT_0;

    #[test]
    fn cue_scores_separate_typical_turns() {
        assert!(clinician_score("what brings you in today ?") > 1.0);
        assert!(clinician_score("i want you to take a deep breath for me .") > 1.0);
        assert!(clinician_score("i've been having this pain in my knee since monday .") < -1.0);
        assert_eq!(clinician_score(""), 0.0);
        assert!(clinician_score("I'm Doctor Evelyn, one of the kidney doctors.") > 1.0);
        assert!(clinician_score("Thank you, doctor.") < 0.0);
        assert!(normalize("I do n't know, it 's fine").contains(" don't know it's fine "));
    }

    #[test]
    fn known_roles_are_kept() {
        let p1 = ParticipantRole::new(RoleKind::Patient, 1);
        let turns = [
            (SpeakerLabel::Role(P0), "what brings you in today ?"),
            (SpeakerLabel::Role(p1), "hello"),
        ];
        assert_eq!(assign_roles(&turns, &RoleSettings::default()), [P0, p1]);
    }

    #[test]
    fn anonymous_speakers_clinician_is_decided_from_content() {
        // speaker_1 opens? No: speaker_7 talks like the patient, speaker_2 like the doctor.
        let turns = [
            (SpeakerLabel::Anonymous(7), "hi doctor ."),
            (
                SpeakerLabel::Anonymous(2),
                "hi , what brings you in today ?",
            ),
            (
                SpeakerLabel::Anonymous(7),
                "i've had a cough for two weeks and i feel tired .",
            ),
            (
                SpeakerLabel::Anonymous(2),
                "okay . any fever ? have you taken anything for it ?",
            ),
            (SpeakerLabel::Anonymous(7), "no ."),
            (
                SpeakerLabel::Anonymous(3),
                "he has been coughing at night , my husband i mean .",
            ),
            (
                SpeakerLabel::Anonymous(2),
                "let's take a look . take a deep breath .",
            ),
        ];
        let roles = assign_roles(&turns, &RoleSettings::default());
        let p1 = ParticipantRole::new(RoleKind::Patient, 1);
        assert_eq!(roles, [P0, C0, P0, C0, P0, p1, C0]);
    }

    #[test]
    fn no_speaker_info_alternates_unless_text_disagrees() {
        let turns = [
            (
                SpeakerLabel::Unknown,
                "hello , how are you doing ? what brings you in ?",
            ),
            (SpeakerLabel::Unknown, "i've had headaches for a week ."),
            (SpeakerLabel::Unknown, "okay ."),
            (SpeakerLabel::Unknown, "mm-hmm ."),
            (SpeakerLabel::Unknown, "do you have any nausea ?"),
            (SpeakerLabel::Unknown, "no ."),
            (
                SpeakerLabel::Unknown,
                "and i've been feeling dizzy too , i think .",
            ),
            (
                SpeakerLabel::Unknown,
                "we'll order a scan and i want you to follow up next week .",
            ),
        ];
        let roles = assign_roles(&turns, &RoleSettings::default());
        assert_eq!(roles, [C0, P0, C0, P0, C0, P0, P0, C0]);
    }

    #[test]
    fn a_single_cluster_falls_back_to_the_turn_model() {
        let turns = [
            (SpeakerLabel::Anonymous(0), "what brings you in today ?"),
            (
                SpeakerLabel::Anonymous(0),
                "i've had a rash on my arm since friday .",
            ),
        ];
        assert_eq!(assign_roles(&turns, &RoleSettings::default()), [C0, P0]);
    }

    #[test]
    fn empty_input_gives_no_roles() {
        assert!(assign_roles(&[], &RoleSettings::default()).is_empty());
    }
}
