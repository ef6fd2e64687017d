//! The learned router: which note section a transcript sentence feeds, if any.
//!
//! A multinomial logistic regression over sparse features of the sentence (its words and word
//! pairs, the speaker's role, the transcript section, where in the visit it is, whether it is a
//! question, the insights in it, the clinician's question it answers). Trained by
//! `scripts/train_note_router.py` on the ACI-Bench training visits: each transcript sentence is
//! labelled with the section of the reference-note sentence it overlaps most (or `NONE`), see
//! the script. The weights ship as `data/note_router.tsv`; [`features`] is the only feature
//! extractor, used at run time and (through [`super::training_sentences`]) for training.

use std::sync::OnceLock;

use crate::clinical::lexicon::words;
use crate::clinical::linear::LinearModel;
use crate::formats::{EntityCategory, InsightTraitName, RoleKind, TranscriptSection};

use super::Sentence;

/// Where a sentence goes in the History & Physical material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    None,
    PresentIllness,
    ReviewOfSystems,
    PastHistory,
    Family,
    Social,
    Exam,
    Results,
    AssessmentAndPlan,
}

impl Route {
    fn parse(name: &str) -> Option<Route> {
        Some(match name {
            "NONE" => Route::None,
            "HPI" => Route::PresentIllness,
            "ROS" => Route::ReviewOfSystems,
            "PMH" => Route::PastHistory,
            "FAMILY" => Route::Family,
            "SOCIAL" => Route::Social,
            "EXAM" => Route::Exam,
            "RESULTS" => Route::Results,
            "AP" => Route::AssessmentAndPlan,
            _ => return None,
        })
    }
}

struct Model {
    classes: Vec<Route>,
    linear: LinearModel,
}

const MODEL_TSV: &str = include_str!("../../../data/note_router.tsv");

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        // Evaluation only: `scripts/train_note_router.py --folds` writes routers fitted without
        // a third of the training visits, so that the note's thresholds can be chosen on notes
        // of visits the router has not seen. A file that cannot be read or parsed is an error
        // of the evaluation run, not something to fall back from silently.
        if let Ok(path) = std::env::var("VERISCRIBE_NOTE_ROUTER") {
            let text = std::fs::read_to_string(&path).expect("VERISCRIBE_NOTE_ROUTER is readable");
            return parse_model(&text).expect("VERISCRIBE_NOTE_ROUTER is a note router");
        }
        parse_model(MODEL_TSV).expect("data/note_router.tsv is well formed")
    })
}

fn parse_model(text: &str) -> Option<Model> {
    let linear = LinearModel::parse(text)?;
    let classes = linear
        .classes
        .iter()
        .map(|c| Route::parse(c))
        .collect::<Option<_>>()?;
    Some(Model { classes, linear })
}

/// The most probable route of a sentence other than `None`, and the probability of `None`.
pub(super) fn route(features: &[String]) -> (Route, f64) {
    let m = model();
    let p = m.linear.probabilities(features);
    let best = p
        .iter()
        .enumerate()
        .filter(|(k, _)| m.classes[*k] != Route::None)
        .fold(
            (0, f64::NEG_INFINITY),
            |a, (k, e)| if *e > a.1 { (k, *e) } else { a },
        )
        .0;
    let none = m
        .classes
        .iter()
        .position(|c| *c == Route::None)
        .map_or(0.0, |k| p[k]);
    (m.classes[best], none)
}

/// The sparse features of `all[at]` (`segment_count` segments in the visit).
pub(super) fn features(all: &[Sentence], at: usize, segment_count: usize) -> Vec<String> {
    let s = &all[at];
    let mut out = Vec::new();
    let w: Vec<String> = words(&s.raw).into_iter().map(|w| w.lower).collect();
    for x in &w {
        out.push(format!("w={x}"));
    }
    for pair in w.windows(2) {
        out.push(format!("b={}_{}", pair[0], pair[1]));
    }
    let role = match s.role {
        RoleKind::Clinician => "C",
        RoleKind::Patient => "P",
    };
    out.push(format!("role={role}"));
    let section = match s.section {
        TranscriptSection::Subjective => "S",
        TranscriptSection::Objective => "O",
        TranscriptSection::AssessmentAndPlan => "A",
        _ => "X",
    };
    out.push(format!("sec={section}"));
    out.push(format!("rs={role}{section}"));
    let decile = (10 * s.segment_index) / segment_count.max(1);
    out.push(format!("pos={decile}"));
    if s.is_question {
        out.push("q".into());
    }
    let length = match w.len() {
        0..=3 => "short",
        4..=10 => "mid",
        11..=25 => "long",
        _ => "run",
    };
    out.push(format!("len={length}"));
    for i in &s.insights {
        let category = match i.category {
            EntityCategory::MedicalCondition => "cond",
            EntityCategory::Medication => "med",
            EntityCategory::TestTreatmentProcedure => "ttp",
            EntityCategory::Anatomy => "anat",
            EntityCategory::TimeExpression => "time",
            EntityCategory::BehavioralEnvironmentalSocial => "bes",
            _ => "other",
        };
        out.push(format!("ent={category}"));
        if !i.is_affirmed_for_patient() {
            out.push(format!("neg={category}"));
        }
    }
    if s.has_trait(&InsightTraitName::PertainsToFamily) {
        out.push("fam".into());
    }
    if s.has_trait(&InsightTraitName::PastHistory) {
        out.push("past".into());
    }
    // A patient's answer reads with the clinician's question before it.
    if s.role == RoleKind::Patient {
        if let Some(q) = all[..at]
            .iter()
            .rev()
            .take_while(|p| p.segment_index + 1 >= s.segment_index)
            .find(|p| p.role == RoleKind::Clinician && p.segment_index + 1 == s.segment_index)
        {
            for x in words(&q.raw) {
                out.push(format!("pq={}", x.lower));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_model_loads_and_routes() {
        let m = model();
        assert!(m.classes.contains(&Route::None) && m.classes.contains(&Route::Exam));
        assert!(m.linear.feature_count() > 1000);
        let exam: Vec<String> = ["w=lungs", "w=clear", "w=auscultation", "role=C", "sec=O"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(route(&exam).0, Route::Exam);
        assert!(parse_model("classes\tNONE\tBOGUS\nbias\t0\t0\n").is_none());
    }
}
