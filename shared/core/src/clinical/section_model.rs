//! The learned transcript-section emissions: how likely each turn is SUBJECTIVE, OBJECTIVE or
//! ASSESSMENT_AND_PLAN, from its words, its neighbours' words and the hand cue scores.
//!
//! A multinomial logistic regression trained by `scripts/train_section_model.py` on MTS-Dialog
//! train snippets (each turn labelled with its snippet's section) and ACI-Bench train visits
//! (each turn labelled by lexical alignment to the reference note's divisions). Weights ship as
//! `data/section_model.tsv`. [`features`] is the one feature extractor: the script mirrors it and
//! reads the cue scores from the `section_features` example, so training and run time agree.
//!
//! Features of turn `t`: its distinct words (`w=`) and word pairs (`b=`), the speaker's role
//! (`role=`) and whether the turn is a question (`ask=`); the share of the turns within
//! `window` of it that contain each word (`c=`); its hand cue scores after context (`cue=`,
//! divided by 4, see [`crate::clinical::sections::cue_emissions`]) and their mean over the window
//! (`cw=`).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::clinical::linear::{softmax, LinearModel};
use crate::formats::{ParticipantRole, RoleKind};

/// Emission scores (OTHER, SUBJECTIVE, OBJECTIVE, ASSESSMENT_AND_PLAN) per turn.
pub type Emission = [f64; 4];

/// Names of the cue score columns, in [`Emission`] order.
const CUE_NAMES: [&str; 4] = ["OTHER", "SUBJECTIVE", "OBJECTIVE", "ASSESSMENT_AND_PLAN"];
/// The model's classes, in the order of [`Emission`]'s last three columns.
const CLASSES: [&str; 3] = ["SUBJECTIVE", "OBJECTIVE", "ASSESSMENT_AND_PLAN"];
/// Hand cue scores are capped at 4 (plus the context bonus); this keeps the features near 0..1.
const CUE_SCALE: f64 = 4.0;

#[derive(Debug, thiserror::Error)]
pub enum SectionModelError {
    #[error("section model: {0}")]
    Malformed(&'static str),
}

/// The parsed model: weights, context window (turns each side), emission weight, the
/// emission offsets of OBJECTIVE and ASSESSMENT_AND_PLAN (the rare sections need a lower bar
/// than the turn-level class weights give them) and the weight of the hand cue scores kept in
/// the emission; all chosen by cross-validation on the training data.
pub struct SectionModel {
    linear: LinearModel,
    window: usize,
    weight: f64,
    offsets: [f64; 3],
    hand: f64,
}

/// The shipped weights (parsed by [`model`]).
pub const MODEL_TSV: &str = include_str!("../../data/section_model.tsv");

/// The shipped model, parsed once.
pub fn model() -> &'static SectionModel {
    static MODEL: OnceLock<SectionModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        SectionModel::parse(MODEL_TSV).expect("data/section_model.tsv is well formed")
    })
}

impl SectionModel {
    /// Reads the TSV: a `# params: window=N weight=W objective=X plan=Y hand=H` comment, then a
    /// [`LinearModel`] whose
    /// classes are SUBJECTIVE, OBJECTIVE, ASSESSMENT_AND_PLAN in that order.
    pub fn parse(text: &str) -> Result<SectionModel, SectionModelError> {
        let params = text
            .lines()
            .find_map(|l| l.strip_prefix("# params:"))
            .ok_or(SectionModelError::Malformed("no params line"))?;
        let (mut window, mut weight, mut objective, mut plan, mut hand) =
            (None, None, None, None, None);
        for item in params.split_whitespace() {
            match item.split_once('=') {
                Some(("window", v)) => window = v.parse().ok(),
                Some(("weight", v)) => weight = v.parse().ok(),
                Some(("objective", v)) => objective = v.parse().ok(),
                Some(("plan", v)) => plan = v.parse().ok(),
                Some(("hand", v)) => hand = v.parse().ok(),
                _ => {}
            }
        }
        let linear =
            LinearModel::parse(text).ok_or(SectionModelError::Malformed("weights table"))?;
        if linear.classes != CLASSES {
            return Err(SectionModelError::Malformed("classes"));
        }
        Ok(SectionModel {
            linear,
            window: window.ok_or(SectionModelError::Malformed("window"))?,
            weight: weight.ok_or(SectionModelError::Malformed("weight"))?,
            offsets: [
                0.0,
                objective.ok_or(SectionModelError::Malformed("objective"))?,
                plan.ok_or(SectionModelError::Malformed("plan"))?,
            ],
            hand: hand.ok_or(SectionModelError::Malformed("hand"))?,
        })
    }

    /// Probabilities of SUBJECTIVE, OBJECTIVE, ASSESSMENT_AND_PLAN per turn; `cues` are the
    /// hand cue scores of the same turns.
    pub fn probabilities(
        &self,
        turns: &[(ParticipantRole, &str)],
        cues: &[Emission],
    ) -> Vec<[f64; 3]> {
        let scores = features(
            turns,
            cues,
            self.window,
            |name, value, acc: &mut [f64; 3]| {
                if let Some(w) = self.linear.weights_of(name) {
                    for (a, x) in acc.iter_mut().zip(w) {
                        *a += value * x;
                    }
                }
            },
        );
        scores
            .into_iter()
            .map(|mut s| {
                for (a, b) in s.iter_mut().zip(self.linear.bias()) {
                    *a += b;
                }
                let p = softmax(&s);
                [p[0], p[1], p[2]]
            })
            .collect()
    }

    /// Emissions for the Viterbi pass: OTHER keeps its hand cue score (the model has no OTHER
    /// class), each clinical section gets `weight · ln(3 p)` (0 where the model is undecided), its
    /// offset and `hand` times its hand cue score.
    pub fn emissions(&self, turns: &[(ParticipantRole, &str)], cues: &[Emission]) -> Vec<Emission> {
        self.probabilities(turns, cues)
            .into_iter()
            .zip(cues)
            .map(|(p, cue)| {
                let mut e = [cue[0], 0.0, 0.0, 0.0];
                for (k, p) in p.iter().enumerate() {
                    e[k + 1] = self.hand * cue[k + 1]
                        + self.weight * (3.0 * p.max(1e-9)).ln()
                        + self.offsets[k];
                }
                e
            })
            .collect()
    }
}

/// Runs `add(feature, value, accumulator)` for every feature of every turn and returns the
/// accumulators. Context features are summed per turn once and then averaged over the window
/// with prefix sums, so the cost is linear in the transcript's length.
fn features<F>(
    turns: &[(ParticipantRole, &str)],
    cues: &[Emission],
    window: usize,
    add: F,
) -> Vec<[f64; 3]>
where
    F: Fn(&str, f64, &mut [f64; 3]),
{
    let n = turns.len();
    let mut own = vec![[0.0; 3]; n];
    // Per turn: what its words and cue scores add to a window containing it.
    let mut shared = vec![[0.0; 3]; n];
    let mut name = String::new();
    for (t, ((role, text), cue)) in turns.iter().zip(cues).enumerate() {
        let words = tokens(text);
        let role_name = match role.kind {
            RoleKind::Clinician => "clinician",
            RoleKind::Patient => "patient",
        };
        let mut feature = |prefix: &str, rest: &str, value: f64, acc: &mut [f64; 3]| {
            name.clear();
            name.push_str(prefix);
            name.push_str(rest);
            add(&name, value, acc);
        };
        let distinct: BTreeSet<&str> = words.iter().map(String::as_str).collect();
        for w in &distinct {
            feature("w=", w, 1.0, &mut own[t]);
            feature("c=", w, 1.0, &mut shared[t]);
        }
        let pairs: BTreeSet<String> = words
            .windows(2)
            .map(|p| format!("{}_{}", p[0], p[1]))
            .collect();
        for p in &pairs {
            feature("b=", p, 1.0, &mut own[t]);
        }
        feature("role=", role_name, 1.0, &mut own[t]);
        if text.trim_end().ends_with('?') {
            feature("ask=", role_name, 1.0, &mut own[t]);
        }
        for (k, section) in CUE_NAMES.iter().enumerate() {
            feature("cue=", section, cue[k] / CUE_SCALE, &mut own[t]);
            feature("cw=", section, cue[k] / CUE_SCALE, &mut shared[t]);
        }
    }
    let mut prefix = vec![[0.0; 3]; n + 1];
    for t in 0..n {
        prefix[t + 1] = std::array::from_fn(|k| prefix[t][k] + shared[t][k]);
    }
    (0..n)
        .map(|t| {
            let (lo, hi) = (t.saturating_sub(window), (t + window).min(n - 1));
            let span = (hi - lo + 1) as f64;
            std::array::from_fn(|k| own[t][k] + (prefix[hi + 1][k] - prefix[lo][k]) / span)
        })
        .collect()
}

/// The words of a turn: lower case, anything but letters, digits, apostrophes and hyphens
/// splits, and ACI-Bench's split contractions ("do n't") are joined again.
pub fn tokens(text: &str) -> Vec<String> {
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
    let mut out: Vec<String> = Vec::new();
    for word in spaced.split_whitespace() {
        match out.last_mut() {
            Some(last) if word == "n't" || word.starts_with('\'') => last.push_str(word),
            _ => out.push(word.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: ParticipantRole = ParticipantRole::CLINICIAN_0;
    const P: ParticipantRole = ParticipantRole::PATIENT_0;

    #[test]
    fn tokens_join_split_contractions() {
        assert_eq!(
            tokens("I do n't know, it's X-ray."),
            ["i", "don't", "know", "it's", "x-ray"]
        );
    }

    #[test]
    fn parses_params_and_rejects_other_classes() {
        let ok = "# params: window=2 weight=1.5 objective=0.5 plan=0 hand=1\nclasses\tSUBJECTIVE\tOBJECTIVE\tASSESSMENT_AND_PLAN\nbias\t0\t0\t0\nw=x\t1\t0\t0\n";
        let m = SectionModel::parse(ok).unwrap();
        assert_eq!(
            (m.window, m.weight, m.offsets, m.hand),
            (2, 1.5, [0.0, 0.5, 0.0], 1.0)
        );
        assert!(SectionModel::parse(&ok.replace("OBJECTIVE", "EXAM")).is_err());
        assert!(SectionModel::parse(&ok.replace(" hand=1", "")).is_err());
    }

    #[test]
    fn context_words_reach_the_neighbours_within_the_window() {
        let m = SectionModel::parse(
            "# params: window=1 weight=1 objective=0 plan=0 hand=0\nclasses\tSUBJECTIVE\tOBJECTIVE\tASSESSMENT_AND_PLAN\nbias\t0\t0\t0\nc=lungs\t0\t3\t0\n",
        )
        .unwrap();
        let turns = [(C, "lungs"), (P, "okay"), (C, "fine"), (P, "okay")];
        let p = m.probabilities(&turns, &[[0.0; 4]; 4]);
        assert!(p[0][1] > 0.5 && p[1][1] > 0.5, "{p:?}");
        assert!((p[2][1] - 1.0 / 3.0).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn the_shipped_model_reads_exam_and_plan_talk() {
        let turns = [
            (C, "Let me listen to your lungs. Take a deep breath."),
            (P, "Okay."),
            (
                C,
                "Your lungs are clear and there is no swelling in your legs.",
            ),
        ];
        let cues = crate::clinical::sections::cue_emissions(&turns);
        let exam = model().probabilities(&turns, &cues);
        assert!(exam.iter().all(|p| p[1] > p[0] && p[1] > p[2]), "{exam:?}");
        let turns = [
            (
                C,
                "I'm going to prescribe an antibiotic twice a day for ten days.",
            ),
            (P, "Okay."),
            (C, "Follow up with me in two weeks if it is not better."),
        ];
        let cues = crate::clinical::sections::cue_emissions(&turns);
        let plan = model().probabilities(&turns, &cues);
        assert!(plan.iter().all(|p| p[2] > p[0] && p[2] > p[1]), "{plan:?}");
    }
}
