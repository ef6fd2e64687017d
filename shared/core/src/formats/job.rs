//! The job record: HealthScribe's `MedicalScribeJob`, kept in the local status store and in the
//! DynamoDB status table alike.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

use super::documentation::NoteTemplate;
use crate::clinical::custom_template::CustomTemplate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Queued,
    InProgress,
    Completed,
    Failed,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Queued,
        JobStatus::InProgress,
        JobStatus::Completed,
        JobStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "QUEUED",
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed)
    }

    /// The only moves a job may make. A stage never moves a job back, and a finished job is final.
    /// `IN_PROGRESS → IN_PROGRESS` is allowed so that a retried stage can pick its job up again.
    pub fn can_become(self, next: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, next),
            (Queued, InProgress)
                | (InProgress, InProgress)
                | (InProgress, Completed)
                | (Queued, Failed)
                | (InProgress, Failed)
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job status {0:?}; expected QUEUED, IN_PROGRESS, COMPLETED or FAILED")]
pub struct UnknownJobStatus(pub String);

impl FromStr for JobStatus {
    type Err = UnknownJobStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownJobStatus(s.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelRole {
    Clinician,
    Patient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelDefinition {
    pub channel_id: u16,
    pub participant_role: ChannelRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClinicalNoteGenerationSettings {
    pub note_template: NoteTemplate,
}

/// How a job's note and code suggestions are stored (a Veriscribe setting; HealthScribe has
/// only the second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutputFormat {
    /// `summary.json.encrypted` and `codes.json.encrypted`: AWS Encryption SDK messages bound
    /// to the job by their encryption context, opened only with the key and the job's name.
    #[default]
    Encrypted,
    /// `summary.json` and `codes.json` in plaintext JSON, protected at rest by the storage's
    /// own encryption (SSE-KMS with the customer's key on AWS), as HealthScribe writes them, so
    /// tools built for HealthScribe read them unchanged.
    #[serde(rename = "HEALTHSCRIBE")]
    HealthScribe,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Encrypted => "encrypted",
            OutputFormat::HealthScribe => "healthscribe",
        }
    }

    pub fn is_default(&self) -> bool {
        *self == OutputFormat::Encrypted
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format {0:?}; expected encrypted or healthscribe")]
pub struct UnknownOutputFormat(pub String);

impl FromStr for OutputFormat {
    type Err = UnknownOutputFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "encrypted" => Ok(OutputFormat::Encrypted),
            "healthscribe" => Ok(OutputFormat::HealthScribe),
            _ => Err(UnknownOutputFormat(s.chars().take(64).collect())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobSettings {
    #[serde(default)]
    pub show_speaker_labels: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_speaker_labels: Option<u8>,
    #[serde(default)]
    pub channel_identification: bool,
    #[serde(default)]
    pub clinical_note_generation_settings: ClinicalNoteGenerationSettings,
    /// Veriscribe's: left out of the record when it is the default, so HealthScribe readers
    /// see HealthScribe's shape.
    #[serde(default, skip_serializing_if = "OutputFormat::is_default")]
    pub output_format: OutputFormat,
    /// HealthScribe's `MedicalScribeContext.PatientContext.Pronouns`, kept with the settings
    /// (HealthScribe takes it beside them) so every driver hands it to the note stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_pronouns: Option<super::documentation::PatientPronouns>,
    /// Veriscribe's (as Amazon Connect Health's custom templates): the note's sections. Its base
    /// template is `ClinicalNoteGenerationSettings.NoteTemplate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_template: Option<CustomTemplate>,
    /// A custom vocabulary that biases recognition and corrects near-misses (HealthScribe
    /// `Settings.VocabularyName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary_name: Option<String>,
    /// A list of words to mask, remove or tag (`Settings.VocabularyFilterName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary_filter_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary_filter_method: Option<VocabularyFilterMethod>,
}

/// What a vocabulary filter does with the words it lists (HealthScribe
/// `Settings.VocabularyFilterMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VocabularyFilterMethod {
    /// Each listed word becomes `***`.
    #[default]
    Mask,
    Remove,
    /// Words stay; their transcript items carry `VocabularyFilterMatch: true`.
    Tag,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown vocabulary filter method {0:?} (mask, remove or tag)")]
pub struct UnknownVocabularyFilterMethod(pub String);

impl std::str::FromStr for VocabularyFilterMethod {
    type Err = UnknownVocabularyFilterMethod;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "mask" => Ok(Self::Mask),
            "remove" => Ok(Self::Remove),
            "tag" => Ok(Self::Tag),
            _ => Err(UnknownVocabularyFilterMethod(
                text.chars().take(64).collect(),
            )),
        }
    }
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            show_speaker_labels: true,
            max_speaker_labels: Some(2),
            channel_identification: false,
            clinical_note_generation_settings: ClinicalNoteGenerationSettings::default(),
            output_format: OutputFormat::default(),
            patient_pronouns: None,
            custom_template: None,
            vocabulary_name: None,
            vocabulary_filter_name: None,
            vocabulary_filter_method: None,
        }
    }
}

/// What a caller asks of a job, in the terms of the CLI's flags, the AWS upload metadata and
/// profiles alike. [`RequestedSettings::job_settings`] is the one place they become the job's
/// `Settings` and `ChannelDefinitions` (a new setting is added here and there, once).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestedSettings {
    pub note_template: NoteTemplate,
    /// Replaces `note_template` by its base template when set.
    pub custom_template: Option<CustomTemplate>,
    pub channel_identification: bool,
    /// Speaker labels mode only.
    pub max_speakers: u8,
    /// 0 or 1: which channel the clinician speaks on when channels are identified.
    pub clinician_channel: u16,
    pub output_format: OutputFormat,
    pub patient_pronouns: Option<super::documentation::PatientPronouns>,
}

impl Default for RequestedSettings {
    fn default() -> Self {
        Self {
            note_template: NoteTemplate::default(),
            custom_template: None,
            channel_identification: false,
            max_speakers: 2,
            clinician_channel: 0,
            output_format: OutputFormat::Encrypted,
            patient_pronouns: None,
        }
    }
}

impl RequestedSettings {
    /// The job's settings and channel definitions, validated as HealthScribe's
    /// `StartMedicalScribeJob` would.
    pub fn job_settings(&self) -> Result<(JobSettings, Vec<ChannelDefinition>), SettingsError> {
        let channel_identification = self.channel_identification;
        let note_template = self
            .custom_template
            .as_ref()
            .map_or(self.note_template, |custom| custom.base);
        let settings = JobSettings {
            show_speaker_labels: !channel_identification,
            max_speaker_labels: (!channel_identification).then_some(self.max_speakers),
            channel_identification,
            clinical_note_generation_settings: ClinicalNoteGenerationSettings { note_template },
            output_format: self.output_format,
            patient_pronouns: self.patient_pronouns,
            custom_template: self.custom_template.clone(),
            // Not requestable yet: no driver reads a vocabulary or filter (README).
            vocabulary_name: None,
            vocabulary_filter_name: None,
            vocabulary_filter_method: None,
        };
        let mut channel_definitions = Vec::new();
        if channel_identification {
            channel_definitions = default_channel_definitions();
            if self.clinician_channel == 1 {
                channel_definitions[0].participant_role = ChannelRole::Patient;
                channel_definitions[1].participant_role = ChannelRole::Clinician;
            } else if self.clinician_channel != 0 {
                return Err(SettingsError::BadChannelDefinitions);
            }
        }
        settings.validate(&channel_definitions)?;
        Ok((settings, channel_definitions))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("exactly one of ShowSpeakerLabels and ChannelIdentification must be true")]
    SpeakerModeNotExclusive,
    #[error("ShowSpeakerLabels requires MaxSpeakerLabels")]
    MissingMaxSpeakerLabels,
    #[error("MaxSpeakerLabels must be between 2 and 10, got {0}")]
    MaxSpeakerLabelsOutOfRange(u8),
    #[error("ChannelDefinitions must be given exactly when ChannelIdentification is true")]
    ChannelDefinitionsMismatch,
    #[error("ChannelDefinitions must name two distinct channels, one CLINICIAN and one PATIENT")]
    BadChannelDefinitions,
    #[error("{field} must match ^[0-9a-zA-Z._-]{{1,200}}$")]
    BadVocabularyName { field: &'static str },
    #[error("VocabularyFilterName and VocabularyFilterMethod must be given together")]
    VocabularyFilterMethodMismatch,
    #[error("job name must match ^[a-zA-Z0-9._-]{{1,200}}$, got {0:?}")]
    BadJobName(String),
}

impl JobSettings {
    /// Validates the settings exactly as HealthScribe's `StartMedicalScribeJob` does.
    pub fn validate(&self, channel_definitions: &[ChannelDefinition]) -> Result<(), SettingsError> {
        if self.show_speaker_labels == self.channel_identification {
            return Err(SettingsError::SpeakerModeNotExclusive);
        }
        if self.show_speaker_labels {
            let max = self
                .max_speaker_labels
                .ok_or(SettingsError::MissingMaxSpeakerLabels)?;
            if !(2..=10).contains(&max) {
                return Err(SettingsError::MaxSpeakerLabelsOutOfRange(max));
            }
        }
        if self.channel_identification == channel_definitions.is_empty() {
            return Err(SettingsError::ChannelDefinitionsMismatch);
        }
        if self.channel_identification {
            let ok = channel_definitions.len() == 2
                && channel_definitions[0].channel_id != channel_definitions[1].channel_id
                && channel_definitions[0].participant_role
                    != channel_definitions[1].participant_role;
            if !ok {
                return Err(SettingsError::BadChannelDefinitions);
            }
        }
        for (field, name) in [
            ("VocabularyName", &self.vocabulary_name),
            ("VocabularyFilterName", &self.vocabulary_filter_name),
        ] {
            if name.as_deref().is_some_and(|n| !is_resource_name(n)) {
                return Err(SettingsError::BadVocabularyName { field });
            }
        }
        if self.vocabulary_filter_name.is_some() != self.vocabulary_filter_method.is_some() {
            return Err(SettingsError::VocabularyFilterMethodMismatch);
        }
        Ok(())
    }
}

/// HealthScribe's pattern for vocabulary and filter names.
fn is_resource_name(name: &str) -> bool {
    (1..=200).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The default channel mapping: channel 0 is the clinician, channel 1 the patient.
pub fn default_channel_definitions() -> Vec<ChannelDefinition> {
    vec![
        ChannelDefinition {
            channel_id: 0,
            participant_role: ChannelRole::Clinician,
        },
        ChannelDefinition {
            channel_id: 1,
            participant_role: ChannelRole::Patient,
        },
    ]
}

pub fn validate_job_name(name: &str) -> Result<(), SettingsError> {
    let ok = (1..=200).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(SettingsError::BadJobName(name.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Media {
    pub media_file_uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MedicalScribeOutput {
    pub transcript_file_uri: String,
    pub clinical_document_uri: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MedicalScribeJob {
    pub medical_scribe_job_name: String,
    pub medical_scribe_job_status: JobStatus,
    pub language_code: String,
    pub media: Media,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medical_scribe_output: Option<MedicalScribeOutput>,
    #[serde(with = "time::serde::rfc3339")]
    pub creation_time: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub completion_time: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub settings: JobSettings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel_definitions: Vec<ChannelDefinition>,
}

impl MedicalScribeJob {
    pub const LANGUAGE_CODE: &'static str = "en-US";

    pub fn new_queued(
        name: impl Into<String>,
        media_file_uri: impl Into<String>,
        settings: JobSettings,
        channel_definitions: Vec<ChannelDefinition>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            medical_scribe_job_name: name.into(),
            medical_scribe_job_status: JobStatus::Queued,
            language_code: Self::LANGUAGE_CODE.to_string(),
            media: Media {
                media_file_uri: media_file_uri.into(),
            },
            medical_scribe_output: None,
            creation_time: now,
            start_time: None,
            completion_time: None,
            failure_reason: None,
            settings,
            channel_definitions,
        }
    }

    /// JSON in the shape of `GetMedicalScribeJob`'s response.
    pub fn to_api_json(&self) -> serde_json::Value {
        serde_json::json!({ "MedicalScribeJob": self })
    }
}

/// A change of a job's state, applied by a status store only if the job is still in `from`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub from: Vec<JobStatus>,
    pub to: JobStatus,
    pub at: OffsetDateTime,
    pub failure_reason: Option<String>,
    pub output: Option<MedicalScribeOutput>,
}

impl StatusChange {
    pub fn start(at: OffsetDateTime) -> Self {
        Self {
            from: vec![JobStatus::Queued, JobStatus::InProgress],
            to: JobStatus::InProgress,
            at,
            failure_reason: None,
            output: None,
        }
    }

    pub fn complete(output: MedicalScribeOutput, at: OffsetDateTime) -> Self {
        Self {
            from: vec![JobStatus::InProgress],
            to: JobStatus::Completed,
            at,
            failure_reason: None,
            output: Some(output),
        }
    }

    pub fn fail(reason: impl Into<String>, at: OffsetDateTime) -> Self {
        Self {
            from: vec![JobStatus::Queued, JobStatus::InProgress],
            to: JobStatus::Failed,
            at,
            failure_reason: Some(reason.into()),
            output: None,
        }
    }

    /// Applies the change to an in-memory record; `false` (record unchanged) if the record is not
    /// in one of the `from` states. Stores use this to keep their conditional logic identical.
    pub fn apply(&self, job: &mut MedicalScribeJob) -> bool {
        let current = job.medical_scribe_job_status;
        if !self.from.contains(&current) || !current.can_become(self.to) {
            return false;
        }
        job.medical_scribe_job_status = self.to;
        match self.to {
            JobStatus::InProgress => {
                if job.start_time.is_none() {
                    job.start_time = Some(self.at);
                }
            }
            JobStatus::Completed => {
                job.completion_time = Some(self.at);
                job.medical_scribe_output = self.output.clone();
            }
            JobStatus::Failed => {
                job.completion_time = Some(self.at);
                job.failure_reason = self.failure_reason.clone();
            }
            JobStatus::Queued => {}
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_settings_are_checked_as_healthscribe_does() {
        let mut settings = JobSettings {
            vocabulary_name: Some("cardiology.v2".to_string()),
            ..JobSettings::default()
        };
        assert_eq!(settings.validate(&[]), Ok(()));
        settings.vocabulary_filter_name = Some("profanity".to_string());
        assert_eq!(
            settings.validate(&[]),
            Err(SettingsError::VocabularyFilterMethodMismatch)
        );
        settings.vocabulary_filter_method = Some(VocabularyFilterMethod::Tag);
        assert_eq!(settings.validate(&[]), Ok(()));
        settings.vocabulary_name = Some("a b".to_string());
        assert_eq!(
            settings.validate(&[]),
            Err(SettingsError::BadVocabularyName {
                field: "VocabularyName"
            })
        );
    }

    #[test]
    fn vocabulary_settings_use_healthscribe_names_and_values() {
        let settings = JobSettings {
            vocabulary_filter_name: Some("words".to_string()),
            vocabulary_filter_method: Some(VocabularyFilterMethod::Remove),
            ..JobSettings::default()
        };
        let json = serde_json::to_value(&settings).unwrap();
        assert_eq!(json["VocabularyFilterName"], "words");
        assert_eq!(json["VocabularyFilterMethod"], "remove");
        assert!(json.get("VocabularyName").is_none());
        let back: JobSettings = serde_json::from_value(json).unwrap();
        assert_eq!(back, settings);
    }
}
