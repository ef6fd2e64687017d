//! The HealthScribe clinical documentation file (`summary.json`, top-level key
//! `ClinicalDocumentation`), the seven note templates and their section names.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::open_string_enum;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClinicalDocumentationFile {
    #[serde(rename = "ClinicalDocumentation")]
    pub clinical_documentation: ClinicalDocumentation,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClinicalDocumentation {
    pub sections: Vec<NoteSectionContent>,
    /// Streaming output only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoteSectionContent {
    pub section_name: NoteSection,
    pub summary: Vec<SummarizedSentence>,
}

/// One note sentence (or bullet) with the transcript segments it was built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummarizedSentence {
    pub summarized_segment: String,
    pub evidence_links: Vec<EvidenceLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvidenceLink {
    pub segment_id: String,
}

open_string_enum! {
    /// Section names of the clinical documentation across all templates.
    pub enum NoteSection {
        ChiefComplaint => "CHIEF_COMPLAINT",
        HistoryOfPresentIllness => "HISTORY_OF_PRESENT_ILLNESS",
        ReviewOfSystems => "REVIEW_OF_SYSTEMS",
        PastMedicalHistory => "PAST_MEDICAL_HISTORY",
        Assessment => "ASSESSMENT",
        Plan => "PLAN",
        PhysicalExamination => "PHYSICAL_EXAMINATION",
        PastFamilyHistory => "PAST_FAMILY_HISTORY",
        PastSocialHistory => "PAST_SOCIAL_HISTORY",
        DiagnosticTesting => "DIAGNOSTIC_TESTING",
        Goal => "GOAL",
        Intervention => "INTERVENTION",
        Response => "RESPONSE",
        Progress => "PROGRESS",
        Behavior => "BEHAVIOR",
        Situation => "SITUATION",
        Data => "DATA",
        Subjective => "SUBJECTIVE",
        Objective => "OBJECTIVE",
    }
}

/// HealthScribe's `NoteTemplate`. The documentation's aliases `BH_SOAP` and `PH_SOAP` are accepted
/// on input; the API spelling is always written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum NoteTemplate {
    #[default]
    #[serde(rename = "HISTORY_AND_PHYSICAL")]
    HistoryAndPhysical,
    #[serde(rename = "GIRPP")]
    Girpp,
    #[serde(rename = "BIRP")]
    Birp,
    #[serde(rename = "SIRP")]
    Sirp,
    #[serde(rename = "DAP")]
    Dap,
    #[serde(rename = "BEHAVIORAL_SOAP", alias = "BH_SOAP")]
    BehavioralSoap,
    #[serde(rename = "PHYSICAL_SOAP", alias = "PH_SOAP")]
    PhysicalSoap,
}

impl NoteTemplate {
    pub const ALL: [NoteTemplate; 7] = [
        NoteTemplate::HistoryAndPhysical,
        NoteTemplate::Girpp,
        NoteTemplate::Birp,
        NoteTemplate::Sirp,
        NoteTemplate::Dap,
        NoteTemplate::BehavioralSoap,
        NoteTemplate::PhysicalSoap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoteTemplate::HistoryAndPhysical => "HISTORY_AND_PHYSICAL",
            NoteTemplate::Girpp => "GIRPP",
            NoteTemplate::Birp => "BIRP",
            NoteTemplate::Sirp => "SIRP",
            NoteTemplate::Dap => "DAP",
            NoteTemplate::BehavioralSoap => "BEHAVIORAL_SOAP",
            NoteTemplate::PhysicalSoap => "PHYSICAL_SOAP",
        }
    }

    /// The template's sections in the order HealthScribe documents them.
    pub fn sections(self) -> &'static [NoteSection] {
        use NoteSection as S;
        match self {
            NoteTemplate::HistoryAndPhysical => &[
                S::ChiefComplaint,
                S::HistoryOfPresentIllness,
                S::ReviewOfSystems,
                S::PastMedicalHistory,
                S::Assessment,
                S::Plan,
                S::PhysicalExamination,
                S::PastFamilyHistory,
                S::PastSocialHistory,
                S::DiagnosticTesting,
            ],
            NoteTemplate::Girpp => &[S::Goal, S::Intervention, S::Response, S::Progress, S::Plan],
            NoteTemplate::Birp => &[S::Behavior, S::Intervention, S::Response, S::Plan],
            NoteTemplate::Sirp => &[S::Situation, S::Intervention, S::Response, S::Plan],
            NoteTemplate::Dap => &[S::Data, S::Assessment, S::Plan],
            NoteTemplate::BehavioralSoap | NoteTemplate::PhysicalSoap => {
                &[S::Subjective, S::Objective, S::Assessment, S::Plan]
            }
        }
    }
}

impl fmt::Display for NoteTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown note template {0:?}; expected one of HISTORY_AND_PHYSICAL, GIRPP, BIRP, SIRP, DAP, BEHAVIORAL_SOAP (BH_SOAP), PHYSICAL_SOAP (PH_SOAP)")]
pub struct UnknownNoteTemplate(pub String);

impl FromStr for NoteTemplate {
    type Err = UnknownNoteTemplate;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase().replace('-', "_");
        match upper.as_str() {
            "BH_SOAP" => return Ok(NoteTemplate::BehavioralSoap),
            "PH_SOAP" => return Ok(NoteTemplate::PhysicalSoap),
            _ => {}
        }
        NoteTemplate::ALL
            .into_iter()
            .find(|t| t.as_str() == upper)
            .ok_or_else(|| UnknownNoteTemplate(s.to_string()))
    }
}

/// HealthScribe's `MedicalScribeContext.PatientContext.Pronouns`: how the note refers to the
/// patient. Without it the note infers he/she from the conversation, else writes "the patient".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PatientPronouns {
    #[serde(rename = "HE_HIM")]
    HeHim,
    #[serde(rename = "SHE_HER")]
    SheHer,
    #[serde(rename = "THEY_THEM")]
    TheyThem,
}

impl PatientPronouns {
    pub const ALL: [PatientPronouns; 3] = [
        PatientPronouns::HeHim,
        PatientPronouns::SheHer,
        PatientPronouns::TheyThem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PatientPronouns::HeHim => "HE_HIM",
            PatientPronouns::SheHer => "SHE_HER",
            PatientPronouns::TheyThem => "THEY_THEM",
        }
    }
}

impl fmt::Display for PatientPronouns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown patient pronouns {0:?}; expected one of HE_HIM, SHE_HER, THEY_THEM")]
pub struct UnknownPatientPronouns(pub String);

impl FromStr for PatientPronouns {
    type Err = UnknownPatientPronouns;

    /// `HE_HIM`, `he-him`, `he/him` and `he` all read as [`PatientPronouns::HeHim`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase().replace(['-', '/', ' '], "_");
        match upper.as_str() {
            "HE_HIM" | "HE" => Ok(PatientPronouns::HeHim),
            "SHE_HER" | "SHE" => Ok(PatientPronouns::SheHer),
            "THEY_THEM" | "THEY" => Ok(PatientPronouns::TheyThem),
            _ => Err(UnknownPatientPronouns(s.to_string())),
        }
    }
}

#[cfg(test)]
mod patient_pronouns_tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for p in PatientPronouns::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<PatientPronouns>(&json).unwrap(), p);
            assert_eq!(p.as_str().parse::<PatientPronouns>().unwrap(), p);
        }
        assert_eq!(
            "she/her".parse::<PatientPronouns>().unwrap(),
            PatientPronouns::SheHer
        );
        assert!("it".parse::<PatientPronouns>().is_err());
    }
}
