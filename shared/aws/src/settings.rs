//! Per-upload job settings: the stack's defaults, overridden by S3 user metadata on the
//! recording (`x-amz-meta-note-template`, `x-amz-meta-channel-identification`,
//! `x-amz-meta-max-speakers`, `x-amz-meta-clinician-channel`, `x-amz-meta-output-format`,
//! `x-amz-meta-patient-pronouns`).

use std::collections::HashMap;

use veriscribe_core::formats::{
    default_channel_definitions, ChannelDefinition, ChannelRole, ClinicalNoteGenerationSettings,
    JobSettings, NoteTemplate, OutputFormat, SettingsError,
};

/// Metadata keys as the S3 API returns them (lower case, without `x-amz-meta-`).
pub const META_NOTE_TEMPLATE: &str = "note-template";
pub const META_CHANNEL_IDENTIFICATION: &str = "channel-identification";
pub const META_MAX_SPEAKERS: &str = "max-speakers";
pub const META_CLINICIAN_CHANNEL: &str = "clinician-channel";
pub const META_OUTPUT_FORMAT: &str = "output-format";
pub const META_PATIENT_PRONOUNS: &str = "patient-pronouns";

#[derive(Debug, Clone, PartialEq)]
pub struct SettingsDefaults {
    pub note_template: NoteTemplate,
    pub channel_identification: bool,
    pub max_speakers: u8,
    /// 0 or 1: which channel the clinician speaks on when channels are identified.
    pub clinician_channel: u16,
    pub output_format: OutputFormat,
}

impl Default for SettingsDefaults {
    fn default() -> Self {
        Self {
            note_template: NoteTemplate::default(),
            channel_identification: false,
            max_speakers: 2,
            clinician_channel: 0,
            output_format: OutputFormat::Encrypted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsProblem {
    #[error("object metadata x-amz-meta-{key} is {value:?}; expected {expected}")]
    InvalidMetadata {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("the job settings are invalid: {0}")]
    Invalid(#[from] SettingsError),
}

pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// The settings for one upload, validated as HealthScribe's `StartMedicalScribeJob` would.
pub fn resolve_settings(
    defaults: &SettingsDefaults,
    metadata: &HashMap<String, String>,
) -> Result<(JobSettings, Vec<ChannelDefinition>), SettingsProblem> {
    let lookup = |key: &str| {
        metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    let invalid = |key: &'static str, value: &str, expected: &'static str| {
        // Metadata is user input: keep the echo short.
        SettingsProblem::InvalidMetadata {
            key,
            value: value.chars().take(64).collect(),
            expected,
        }
    };
    let note_template = match lookup(META_NOTE_TEMPLATE) {
        None => defaults.note_template,
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| invalid(META_NOTE_TEMPLATE, v, "a HealthScribe note template"))?,
    };
    let channel_identification = match lookup(META_CHANNEL_IDENTIFICATION) {
        None => defaults.channel_identification,
        Some(v) => {
            parse_bool(v).ok_or_else(|| invalid(META_CHANNEL_IDENTIFICATION, v, "true or false"))?
        }
    };
    let max_speakers = match lookup(META_MAX_SPEAKERS) {
        None => defaults.max_speakers,
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| invalid(META_MAX_SPEAKERS, v, "a number from 2 to 10"))?,
    };
    let clinician_channel = match lookup(META_CLINICIAN_CHANNEL) {
        None => defaults.clinician_channel,
        Some(v) => match v.trim() {
            "0" => 0,
            "1" => 1,
            _ => return Err(invalid(META_CLINICIAN_CHANNEL, v, "0 or 1")),
        },
    };
    let output_format = match lookup(META_OUTPUT_FORMAT) {
        None => defaults.output_format,
        Some(v) => v
            .parse()
            .map_err(|_| invalid(META_OUTPUT_FORMAT, v, "encrypted or healthscribe"))?,
    };
    let patient_pronouns = match lookup(META_PATIENT_PRONOUNS) {
        None => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| invalid(META_PATIENT_PRONOUNS, v, "HE_HIM, SHE_HER or THEY_THEM"))?,
        ),
    };
    let settings = JobSettings {
        show_speaker_labels: !channel_identification,
        max_speaker_labels: (!channel_identification).then_some(max_speakers),
        channel_identification,
        clinical_note_generation_settings: ClinicalNoteGenerationSettings { note_template },
        output_format,
        patient_pronouns,
        ..JobSettings::default()
    };
    let mut channel_definitions = Vec::new();
    if channel_identification {
        channel_definitions = default_channel_definitions();
        if clinician_channel == 1 {
            channel_definitions[0].participant_role = ChannelRole::Patient;
            channel_definitions[1].participant_role = ChannelRole::Clinician;
        }
    }
    settings.validate(&channel_definitions)?;
    Ok((settings, channel_definitions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_metadata() {
        let (settings, channels) =
            resolve_settings(&SettingsDefaults::default(), &HashMap::new()).unwrap();
        assert!(settings.show_speaker_labels);
        assert_eq!(settings.max_speaker_labels, Some(2));
        assert!(channels.is_empty());
        assert_eq!(
            settings.clinical_note_generation_settings.note_template,
            NoteTemplate::HistoryAndPhysical
        );
    }

    #[test]
    fn metadata_overrides_defaults() {
        let (settings, channels) = resolve_settings(
            &SettingsDefaults::default(),
            &meta(&[
                ("note-template", "GIRPP"),
                ("channel-identification", "true"),
                ("clinician-channel", "1"),
            ]),
        )
        .unwrap();
        assert!(settings.channel_identification && !settings.show_speaker_labels);
        assert_eq!(settings.max_speaker_labels, None);
        assert_eq!(
            settings.clinical_note_generation_settings.note_template,
            NoteTemplate::Girpp
        );
        assert_eq!(channels[1].participant_role, ChannelRole::Clinician);
        assert_eq!(channels[1].channel_id, 1);
        assert_eq!(settings.output_format, OutputFormat::Encrypted);
        let (settings, _) = resolve_settings(
            &SettingsDefaults::default(),
            &meta(&[("output-format", "HealthScribe")]),
        )
        .unwrap();
        assert_eq!(settings.output_format, OutputFormat::HealthScribe);
        let (settings, _) = resolve_settings(
            &SettingsDefaults::default(),
            &meta(&[("patient-pronouns", "she/her")]),
        )
        .unwrap();
        assert_eq!(
            settings.patient_pronouns,
            Some(veriscribe_core::formats::PatientPronouns::SheHer)
        );
        let err = resolve_settings(
            &SettingsDefaults::default(),
            &meta(&[("patient-pronouns", "xe")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("x-amz-meta-patient-pronouns"),
            "{err}"
        );
        let err = resolve_settings(
            &SettingsDefaults::default(),
            &meta(&[("output-format", "plain")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("x-amz-meta-output-format"),
            "{err}"
        );
    }

    #[test]
    fn invalid_metadata_is_named() {
        let err = resolve_settings(
            &SettingsDefaults::default(),
            &meta(&[("max-speakers", "11")]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the job settings are invalid: MaxSpeakerLabels must be between 2 and 10, got 11"
        );
        let err = resolve_settings(
            &SettingsDefaults::default(),
            &meta(&[("note-template", "LIMERICK")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("x-amz-meta-note-template"),
            "{err}"
        );
    }
}
