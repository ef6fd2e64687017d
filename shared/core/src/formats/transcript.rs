//! The HealthScribe transcript file (`transcript.json`, top-level key `Conversation`).
//!
//! Field names and enum values are HealthScribe's; times are seconds (the file's unit, not the
//! streaming API's milliseconds). Character offsets in insight spans count Unicode scalar values
//! of the segment's `Content`, and `EndCharacterOffset` is inclusive, as in HealthScribe's examples
//! and the AWS demo application's matcher.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::open_string_enum;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptFile {
    #[serde(rename = "Conversation")]
    pub conversation: Conversation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Conversation {
    pub conversation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    /// Streaming output only (replaces `JobName`/`JobType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub language_code: String,
    #[serde(default)]
    pub clinical_insights: Vec<ClinicalInsight>,
    #[serde(default)]
    pub transcript_items: Vec<TranscriptItem>,
    #[serde(default)]
    pub transcript_segments: Vec<TranscriptSegment>,
}

impl Conversation {
    pub fn segment(&self, id: &str) -> Option<&TranscriptSegment> {
        self.transcript_segments.iter().find(|s| s.segment_id == id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemType {
    #[serde(rename = "PRONUNCIATION", alias = "pronunciation")]
    Pronunciation,
    #[serde(rename = "PUNCTUATION", alias = "punctuation")]
    Punctuation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alternative {
    pub confidence: f64,
    pub content: String,
}

/// One word or punctuation mark. Written with `Alternatives[]` (batch shape); the flat
/// `Confidence`/`Content` shape of streaming output is accepted on input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", from = "RawTranscriptItem")]
pub struct TranscriptItem {
    pub alternatives: Vec<Alternative>,
    pub begin_audio_time: f64,
    pub end_audio_time: f64,
    #[serde(rename = "Type")]
    pub item_type: ItemType,
    /// Set when a vocabulary filter with method `tag` listed this word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary_filter_match: Option<bool>,
}

impl TranscriptItem {
    pub fn content(&self) -> &str {
        self.alternatives
            .first()
            .map(|a| a.content.as_str())
            .unwrap_or("")
    }

    pub fn confidence(&self) -> f64 {
        self.alternatives
            .first()
            .map(|a| a.confidence)
            .unwrap_or(0.0)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTranscriptItem {
    #[serde(default)]
    alternatives: Vec<Alternative>,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    begin_audio_time: f64,
    #[serde(default)]
    end_audio_time: f64,
    #[serde(rename = "Type")]
    item_type: ItemType,
    #[serde(default)]
    vocabulary_filter_match: Option<bool>,
}

impl From<RawTranscriptItem> for TranscriptItem {
    fn from(raw: RawTranscriptItem) -> Self {
        let mut alternatives = raw.alternatives;
        if alternatives.is_empty() {
            if let Some(content) = raw.content {
                alternatives.push(Alternative {
                    confidence: raw.confidence.unwrap_or(0.0),
                    content,
                });
            }
        }
        TranscriptItem {
            alternatives,
            begin_audio_time: raw.begin_audio_time,
            end_audio_time: raw.end_audio_time,
            item_type: raw.item_type,
            vocabulary_filter_match: raw.vocabulary_filter_match,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TranscriptSegment {
    pub segment_id: String,
    pub begin_audio_time: f64,
    pub end_audio_time: f64,
    pub content: String,
    pub participant_details: ParticipantDetails,
    pub section_details: SectionDetails,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParticipantDetails {
    pub participant_role: ParticipantRole,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SectionDetails {
    pub section_name: TranscriptSection,
}

/// Who a participant is in the visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleKind {
    Clinician,
    Patient,
}

impl RoleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Clinician => "CLINICIAN",
            RoleKind::Patient => "PATIENT",
        }
    }
}

/// `CLINICIAN_n` or `PATIENT_n`, numbered from 0 within each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantRole {
    pub kind: RoleKind,
    pub index: u8,
}

impl ParticipantRole {
    pub const CLINICIAN_0: ParticipantRole = ParticipantRole {
        kind: RoleKind::Clinician,
        index: 0,
    };
    pub const PATIENT_0: ParticipantRole = ParticipantRole {
        kind: RoleKind::Patient,
        index: 0,
    };

    pub fn new(kind: RoleKind, index: u8) -> Self {
        Self { kind, index }
    }
}

impl fmt::Display for ParticipantRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.kind.as_str(), self.index)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("participant role must be CLINICIAN_n or PATIENT_n, got {0:?}")]
pub struct BadParticipantRole(pub String);

impl FromStr for ParticipantRole {
    type Err = BadParticipantRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadParticipantRole(s.to_string());
        let (kind, index) = s.rsplit_once('_').ok_or_else(bad)?;
        let kind = match kind {
            "CLINICIAN" => RoleKind::Clinician,
            "PATIENT" => RoleKind::Patient,
            _ => return Err(bad()),
        };
        let index = index.parse().map_err(|_| bad())?;
        Ok(Self { kind, index })
    }
}

impl Serialize for ParticipantRole {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ParticipantRole {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

open_string_enum! {
    /// Transcript sectioning. `SMALL_TALK` and `VISIT_FLOW_MANAGEMENT` are read as `OTHER`.
    pub enum TranscriptSection {
        Subjective => "SUBJECTIVE",
        Objective => "OBJECTIVE",
        AssessmentAndPlan => "ASSESSMENT_AND_PLAN",
        Other => "OTHER" | "SMALL_TALK" | "VISIT_FLOW_MANAGEMENT",
    }
}

open_string_enum! {
    /// Comprehend Medical entity categories.
    pub enum EntityCategory {
        Anatomy => "ANATOMY",
        MedicalCondition => "MEDICAL_CONDITION",
        Medication => "MEDICATION",
        TestTreatmentProcedure => "TEST_TREATMENT_PROCEDURE",
        TimeExpression => "TIME_EXPRESSION",
        ProtectedHealthInformation => "PROTECTED_HEALTH_INFORMATION",
        BehavioralEnvironmentalSocial => "BEHAVIORAL_ENVIRONMENTAL_SOCIAL",
    }
}

open_string_enum! {
    /// Comprehend Medical entity and attribute types.
    pub enum EntityType {
        DxName => "DX_NAME",
        GenericName => "GENERIC_NAME",
        BrandName => "BRAND_NAME",
        Dosage => "DOSAGE",
        Strength => "STRENGTH",
        Frequency => "FREQUENCY",
        RouteOrMode => "ROUTE_OR_MODE",
        Duration => "DURATION",
        Form => "FORM",
        Rate => "RATE",
        Acuity => "ACUITY",
        TestName => "TEST_NAME",
        TestValue => "TEST_VALUE",
        TestUnit => "TEST_UNIT",
        ProcedureName => "PROCEDURE_NAME",
        TreatmentName => "TREATMENT_NAME",
        SystemOrganSite => "SYSTEM_ORGAN_SITE",
        Direction => "DIRECTION",
        Quality => "QUALITY",
        Quantity => "QUANTITY",
        TimeExpression => "TIME_EXPRESSION",
    }
}

open_string_enum! {
    /// Assertions on an insight (Comprehend Medical trait names). Not in HealthScribe's current
    /// format: Veriscribe adds them as `Traits` so downstream stages can honour negation.
    pub enum InsightTraitName {
        Negation => "NEGATION",
        Hypothetical => "HYPOTHETICAL",
        PastHistory => "PAST_HISTORY",
        PertainsToFamily => "PERTAINS_TO_FAMILY",
        Diagnosis => "DIAGNOSIS",
        Sign => "SIGN",
        Symptom => "SYMPTOM",
        Future => "FUTURE",
        LowConfidence => "LOW_CONFIDENCE",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InsightSpan {
    pub segment_id: String,
    pub begin_character_offset: usize,
    /// Inclusive.
    pub end_character_offset: usize,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InsightAttribute {
    pub attribute_id: String,
    #[serde(rename = "Type")]
    pub attribute_type: EntityType,
    pub spans: Vec<InsightSpan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InsightTrait {
    pub name: InsightTraitName,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClinicalInsight {
    pub insight_id: String,
    /// Always `ClinicalEntity` today.
    pub insight_type: String,
    pub category: EntityCategory,
    #[serde(rename = "Type")]
    pub entity_type: EntityType,
    pub spans: Vec<InsightSpan>,
    #[serde(default)]
    pub attributes: Vec<InsightAttribute>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traits: Vec<InsightTrait>,
}

impl ClinicalInsight {
    pub const CLINICAL_ENTITY: &'static str = "ClinicalEntity";

    pub fn has_trait(&self, name: &InsightTraitName) -> bool {
        self.traits.iter().any(|t| &t.name == name)
    }

    /// True when the entity is asserted of the patient now: not negated, hypothetical or
    /// about a family member. Only such entities may become diagnoses or plan items.
    pub fn is_affirmed_for_patient(&self) -> bool {
        !(self.has_trait(&InsightTraitName::Negation)
            || self.has_trait(&InsightTraitName::Hypothetical)
            || self.has_trait(&InsightTraitName::PertainsToFamily))
    }
}
