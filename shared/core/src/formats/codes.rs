//! Veriscribe's medical code suggestions file (`codes.json`, top-level key `MedicalCodes`). Not a
//! HealthScribe format: HealthScribe has no coding output, and Amazon Connect Health's coding
//! output shape is unpublished. Field names follow HealthScribe's PascalCase style, and evidence
//! uses the note's `EvidenceLinks` shape.

use serde::{Deserialize, Serialize};

use crate::formats::EvidenceLink;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MedicalCodesFile {
    #[serde(rename = "MedicalCodes")]
    pub medical_codes: MedicalCodes,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MedicalCodes {
    /// `ICD-10-CM`.
    pub code_system: String,
    /// The code set release the descriptions come from, e.g. `2026`.
    pub code_system_version: String,
    /// Best first; `Rank` counts from 1.
    pub codes: Vec<CodeSuggestion>,
}

/// One suggested code for a condition the visit asserts of the patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeSuggestion {
    pub rank: usize,
    pub code: String,
    /// The official short description of the code.
    pub description: String,
    /// 0 to 1: how strongly the visit supports the code (who said it, where, how often).
    pub score: f64,
    /// The condition term the code was matched from (lexicon spelling, with its site if any).
    pub term: String,
    /// The `ClinicalInsights[].InsightId` of the strongest mention.
    pub insight_id: String,
    /// Every supporting mention's insight, the strongest first.
    pub insight_ids: Vec<String>,
    /// The transcript segments of the supporting mentions, in transcript order.
    pub evidence_links: Vec<EvidenceLink>,
}
