//! Job settings for one upload, in layers: the stack's defaults, then the upload folder's
//! **profile** (`profiles/NAME.json` in the upload's bucket, chosen by the key
//! `recordings/NAME/…`), then the recording's S3 user metadata (`x-amz-meta-…`). Profiles and
//! metadata use the same names and values:
//!
//! | name | value |
//! | --- | --- |
//! | `note-template` | a HealthScribe template (`HISTORY_AND_PHYSICAL`, `GIRPP`, …) |
//! | `custom-template` | `templates/NAME` in the same bucket, by NAME (a profile may also inline it) |
//! | `channel-identification` | `true` / `false` |
//! | `max-speakers` | 2–10 |
//! | `clinician-channel` | 0 or 1 |
//! | `output-format` | `encrypted` / `healthscribe` |
//! | `patient-pronouns` | `HE_HIM` / `SHE_HER` / `THEY_THEM` |
//!
//! A layer that names a template (either kind) replaces the template of the layers below it.
//! Every problem names where it came from (the metadata key, or the profile file and field).

use std::collections::HashMap;

use serde_json::Value;
use veriscribe_core::clinical::custom_template::{
    custom_template_from_value, parse_custom_template, CustomTemplate, CustomTemplateError,
};
use veriscribe_core::formats::{
    ChannelDefinition, JobSettings, NoteTemplate, OutputFormat, PatientPronouns, RequestedSettings,
    SettingsError,
};

/// The stack's defaults are a full set of requested settings.
pub type SettingsDefaults = RequestedSettings;

/// Names as the S3 API returns metadata keys (lower case, without `x-amz-meta-`), and as
/// profiles spell their fields.
pub const META_NOTE_TEMPLATE: &str = "note-template";
pub const META_CUSTOM_TEMPLATE: &str = "custom-template";
pub const META_CHANNEL_IDENTIFICATION: &str = "channel-identification";
pub const META_MAX_SPEAKERS: &str = "max-speakers";
pub const META_CLINICIAN_CHANNEL: &str = "clinician-channel";
pub const META_OUTPUT_FORMAT: &str = "output-format";
pub const META_PATIENT_PRONOUNS: &str = "patient-pronouns";

/// Every setting a layer may name.
pub const SETTING_NAMES: [&str; 7] = [
    META_NOTE_TEMPLATE,
    META_CUSTOM_TEMPLATE,
    META_CHANNEL_IDENTIFICATION,
    META_MAX_SPEAKERS,
    META_CLINICIAN_CHANNEL,
    META_OUTPUT_FORMAT,
    META_PATIENT_PRONOUNS,
];

/// Where profiles and named custom templates live in the upload's bucket.
pub const PROFILES_PREFIX: &str = "profiles/";
pub const TEMPLATES_PREFIX: &str = "templates/";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsProblem {
    #[error("{origin} is {value:?}; expected {expected}")]
    InvalidValue {
        origin: String,
        value: String,
        expected: &'static str,
    },
    #[error("profile {file}: unknown field {field:?}; the fields are {}", SETTING_NAMES.join(", "))]
    UnknownField { file: String, field: String },
    #[error("profile {file} is not a JSON object: {detail}")]
    MalformedProfile { file: String, detail: String },
    #[error("{origin}: the custom template {file} is not usable: {error}")]
    CustomTemplate {
        origin: String,
        file: String,
        error: CustomTemplateError,
    },
    #[error("{origin} names the custom template {file}, which does not exist")]
    MissingTemplate { origin: String, file: String },
    /// The folder is part of the key, which may name the patient: not quoted.
    #[error("the upload's folder names no profile: profiles/FOLDER.json does not exist for the first folder below the recordings prefix; add it, or upload directly under the prefix for the stack's defaults")]
    MissingProfile,
    /// Not quoted either (see `MissingProfile`).
    #[error("the upload's first folder below the recordings prefix is not a profile name (1-100 letters, digits, '.', '_', '-')")]
    BadProfileName,
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

/// A template a layer asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateChoice {
    HealthScribe(NoteTemplate),
    Custom(CustomTemplate),
    /// `templates/NAME` in the upload's bucket, read before the layers are resolved.
    CustomFile {
        file: String,
        source: String,
    },
}

/// One layer: only what it names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SettingsLayer {
    pub template: Option<TemplateChoice>,
    pub channel_identification: Option<bool>,
    pub max_speakers: Option<u8>,
    pub clinician_channel: Option<u16>,
    pub output_format: Option<OutputFormat>,
    pub patient_pronouns: Option<PatientPronouns>,
}

impl SettingsLayer {
    /// The layer from the recording's metadata; other metadata keys are left alone.
    pub fn from_metadata(metadata: &HashMap<String, String>) -> Result<Self, SettingsProblem> {
        let mut layer = SettingsLayer::default();
        for name in SETTING_NAMES {
            let value = metadata
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str());
            if let Some(value) = value {
                layer.set(name, value, &format!("object metadata x-amz-meta-{name}"))?;
            }
        }
        Ok(layer)
    }

    /// The layer of a profile file (`file` is its key, for messages). Unknown fields are
    /// refused: a misspelt setting must not be silently ignored.
    pub fn from_profile(file: &str, bytes: &[u8]) -> Result<Self, SettingsProblem> {
        let malformed = |detail: String| SettingsProblem::MalformedProfile {
            file: file.to_string(),
            detail,
        };
        let value: Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        let Value::Object(fields) = value else {
            return Err(malformed("the top level must be an object".into()));
        };
        let mut layer = SettingsLayer::default();
        for (field, value) in fields {
            let Some(name) = SETTING_NAMES
                .iter()
                .find(|n| n.eq_ignore_ascii_case(&field))
            else {
                return Err(SettingsProblem::UnknownField {
                    file: file.to_string(),
                    field: field.chars().take(64).collect(),
                });
            };
            let source = format!("profile {file} field {name}");
            match value {
                // A custom template written into the profile itself.
                Value::Object(_) if *name == META_CUSTOM_TEMPLATE => {
                    let custom = custom_template_from_value(value).map_err(|error| {
                        SettingsProblem::CustomTemplate {
                            origin: source.clone(),
                            file: file.to_string(),
                            error,
                        }
                    })?;
                    layer.template = Some(TemplateChoice::Custom(custom));
                }
                Value::String(text) => layer.set(name, &text, &source)?,
                Value::Bool(_) | Value::Number(_) => {
                    layer.set(name, &value.to_string(), &source)?
                }
                other => {
                    return Err(SettingsProblem::InvalidValue {
                        origin: source,
                        value: other.to_string().chars().take(64).collect(),
                        expected: expected_for(name),
                    })
                }
            }
        }
        Ok(layer)
    }

    fn set(&mut self, name: &str, value: &str, source: &str) -> Result<(), SettingsProblem> {
        let invalid = || SettingsProblem::InvalidValue {
            origin: source.to_string(),
            // Metadata and profiles are user input: keep the echo short.
            value: value.chars().take(64).collect(),
            expected: expected_for(name),
        };
        let trimmed = value.trim();
        match name {
            META_NOTE_TEMPLATE => {
                let template = trimmed.parse().map_err(|_| invalid())?;
                self.template = Some(TemplateChoice::HealthScribe(template));
            }
            META_CUSTOM_TEMPLATE => {
                let ok = (1..=100).contains(&trimmed.len())
                    && !trimmed.starts_with('.')
                    && trimmed
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
                if !ok {
                    return Err(invalid());
                }
                self.template = Some(TemplateChoice::CustomFile {
                    file: format!("{TEMPLATES_PREFIX}{trimmed}"),
                    source: source.to_string(),
                });
            }
            META_CHANNEL_IDENTIFICATION => {
                self.channel_identification = Some(parse_bool(trimmed).ok_or_else(invalid)?);
            }
            META_MAX_SPEAKERS => {
                let max: u8 = trimmed.parse().map_err(|_| invalid())?;
                if !(2..=10).contains(&max) {
                    return Err(invalid());
                }
                self.max_speakers = Some(max);
            }
            META_CLINICIAN_CHANNEL => {
                self.clinician_channel = Some(match trimmed {
                    "0" => 0,
                    "1" => 1,
                    _ => return Err(invalid()),
                });
            }
            META_OUTPUT_FORMAT => {
                self.output_format = Some(trimmed.parse().map_err(|_| invalid())?)
            }
            META_PATIENT_PRONOUNS => {
                self.patient_pronouns = Some(trimmed.parse().map_err(|_| invalid())?);
            }
            _ => unreachable!("{name} is one of SETTING_NAMES"),
        }
        Ok(())
    }

    /// The custom template file this layer names, if any (read by the caller).
    pub fn template_file(&self) -> Option<(&str, &str)> {
        match &self.template {
            Some(TemplateChoice::CustomFile { file, source }) => Some((file, source)),
            _ => None,
        }
    }

    /// Replaces a named template file by its parsed content.
    pub fn resolve_template_file(&mut self, text: &str) -> Result<(), SettingsProblem> {
        if let Some(TemplateChoice::CustomFile { file, source }) = &self.template {
            let custom =
                parse_custom_template(text).map_err(|error| SettingsProblem::CustomTemplate {
                    origin: source.clone(),
                    file: file.clone(),
                    error,
                })?;
            self.template = Some(TemplateChoice::Custom(custom));
        }
        Ok(())
    }

    fn apply_to(&self, settings: &mut RequestedSettings) {
        match &self.template {
            Some(TemplateChoice::HealthScribe(template)) => {
                settings.note_template = *template;
                settings.custom_template = None;
            }
            Some(TemplateChoice::Custom(custom)) => {
                settings.custom_template = Some(custom.clone());
            }
            // Unread files were refused by `resolve`.
            Some(TemplateChoice::CustomFile { .. }) | None => {}
        }
        if let Some(v) = self.channel_identification {
            settings.channel_identification = v;
        }
        if let Some(v) = self.max_speakers {
            settings.max_speakers = v;
        }
        if let Some(v) = self.clinician_channel {
            settings.clinician_channel = v;
        }
        if let Some(v) = self.output_format {
            settings.output_format = v;
        }
        if let Some(v) = self.patient_pronouns {
            settings.patient_pronouns = Some(v);
        }
    }
}

fn expected_for(name: &str) -> &'static str {
    match name {
        META_NOTE_TEMPLATE => "a HealthScribe note template",
        META_CUSTOM_TEMPLATE => {
            "the name of a file under templates/ (letters, digits, '.', '_', '-'), or in a profile an inline template object"
        }
        META_CHANNEL_IDENTIFICATION => "true or false",
        META_MAX_SPEAKERS => "a number from 2 to 10",
        META_CLINICIAN_CHANNEL => "0 or 1",
        META_OUTPUT_FORMAT => "encrypted or healthscribe",
        META_PATIENT_PRONOUNS => "HE_HIM, SHE_HER or THEY_THEM",
        _ => "a known setting",
    }
}

/// The profile an upload key chooses: the first folder below the recordings prefix
/// (`recordings/cardiology/visit.wav` → `profiles/cardiology.json`); `None` for a key directly
/// under the prefix.
pub fn profile_for_key(
    recordings_prefix: &str,
    key: &str,
) -> Result<Option<(String, String)>, SettingsProblem> {
    let rest = key.strip_prefix(recordings_prefix).unwrap_or(key);
    let Some((folder, _)) = rest.split_once('/') else {
        return Ok(None);
    };
    let ok = (1..=100).contains(&folder.len())
        && !folder.starts_with('.')
        && folder
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(SettingsProblem::BadProfileName);
    }
    Ok(Some((
        folder.to_string(),
        format!("{PROFILES_PREFIX}{folder}.json"),
    )))
}

/// The defaults with each layer applied in order (later layers win), validated as
/// HealthScribe's `StartMedicalScribeJob` would. Named template files must be resolved first.
pub fn resolve_layers(
    defaults: &SettingsDefaults,
    layers: &[SettingsLayer],
) -> Result<(JobSettings, Vec<ChannelDefinition>), SettingsProblem> {
    let mut requested = defaults.clone();
    for layer in layers {
        if let Some((file, source)) = layer.template_file() {
            return Err(SettingsProblem::MissingTemplate {
                origin: source.to_string(),
                file: file.to_string(),
            });
        }
        layer.apply_to(&mut requested);
    }
    Ok(requested.job_settings()?)
}

/// The settings for an upload with metadata only (no profile, no template files).
pub fn resolve_settings(
    defaults: &SettingsDefaults,
    metadata: &HashMap<String, String>,
) -> Result<(JobSettings, Vec<ChannelDefinition>), SettingsProblem> {
    resolve_layers(defaults, &[SettingsLayer::from_metadata(metadata)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use veriscribe_core::formats::ChannelRole;

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
        assert_eq!(settings.patient_pronouns, Some(PatientPronouns::SheHer));
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
            "object metadata x-amz-meta-max-speakers is \"11\"; expected a number from 2 to 10"
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
        let err = resolve_settings(
            &SettingsDefaults::default(),
            &meta(&[("custom-template", "../secrets")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("x-amz-meta-custom-template"),
            "{err}"
        );
        // A named template that was never read is refused, not ignored.
        let err = resolve_settings(
            &SettingsDefaults::default(),
            &meta(&[("custom-template", "soap.yaml")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("templates/soap.yaml"), "{err}");
    }

    const PROFILE: &str = r#"{
        "note-template": "BIRP",
        "max-speakers": 3,
        "channel-identification": false,
        "patient-pronouns": "THEY_THEM"
    }"#;

    #[test]
    fn profiles_layer_under_the_metadata() {
        let profile = SettingsLayer::from_profile("profiles/psych.json", PROFILE.as_bytes())
            .expect("valid profile");
        let (settings, _) =
            resolve_layers(&SettingsDefaults::default(), std::slice::from_ref(&profile)).unwrap();
        assert_eq!(
            settings.clinical_note_generation_settings.note_template,
            NoteTemplate::Birp
        );
        assert_eq!(settings.max_speaker_labels, Some(3));
        assert_eq!(settings.patient_pronouns, Some(PatientPronouns::TheyThem));
        let upload = SettingsLayer::from_metadata(&meta(&[("max-speakers", "4")])).unwrap();
        let (settings, _) =
            resolve_layers(&SettingsDefaults::default(), &[profile, upload]).unwrap();
        assert_eq!(settings.max_speaker_labels, Some(4));
        assert_eq!(
            settings.clinical_note_generation_settings.note_template,
            NoteTemplate::Birp,
            "what the upload does not name stays as the profile says"
        );
    }

    #[test]
    fn an_inline_custom_template_in_a_profile_is_the_note_template() {
        let profile = SettingsLayer::from_profile(
            "profiles/cardio.json",
            br#"{"custom-template": {"base_template": "PHYSICAL_SOAP",
                 "sections": [{"header": "Plan", "instruction": "What happens next"}]}}"#,
        )
        .unwrap();
        let (settings, _) = resolve_layers(&SettingsDefaults::default(), &[profile]).unwrap();
        let custom = settings.custom_template.expect("custom template kept");
        assert_eq!(custom.sections[0].header, "Plan");
        assert_eq!(
            settings.clinical_note_generation_settings.note_template,
            NoteTemplate::PhysicalSoap,
            "the custom template's base"
        );
        // An upload naming a HealthScribe template replaces the profile's custom template.
        let upload = SettingsLayer::from_metadata(&meta(&[("note-template", "DAP")])).unwrap();
        let profile = SettingsLayer::from_profile(
            "profiles/cardio.json",
            br#"{"custom-template": {"base_template": "PHYSICAL_SOAP"}}"#,
        )
        .unwrap();
        let (settings, _) =
            resolve_layers(&SettingsDefaults::default(), &[profile, upload]).unwrap();
        assert_eq!(settings.custom_template, None);
        assert_eq!(
            settings.clinical_note_generation_settings.note_template,
            NoteTemplate::Dap
        );
    }

    #[test]
    fn bad_profiles_name_the_file_and_the_field() {
        let cases: [(&[u8], &str); 6] = [
            (
                br#"{"max-speakers": 11}"#,
                "profile profiles/p.json field max-speakers is \"11\"",
            ),
            (
                br#"{"max_speakers": 3}"#,
                "profile profiles/p.json: unknown field \"max_speakers\"",
            ),
            (
                br#"{"note-template": ["BIRP"]}"#,
                "profile profiles/p.json field note-template",
            ),
            (
                br#"{"custom-template": {"base_template": "POEM"}}"#,
                "profile profiles/p.json field custom-template",
            ),
            (b"[1]", "profile profiles/p.json is not a JSON object"),
            (b"{nope", "profile profiles/p.json is not a JSON object"),
        ];
        for (bytes, expected) in cases {
            let err = SettingsLayer::from_profile("profiles/p.json", bytes).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{err}");
        }
    }

    #[test]
    fn upload_folders_choose_profiles() {
        assert_eq!(
            profile_for_key("recordings/", "recordings/a.wav").unwrap(),
            None
        );
        assert_eq!(
            profile_for_key("recordings/", "recordings/cardio/2026/a.wav").unwrap(),
            Some(("cardio".into(), "profiles/cardio.json".into()))
        );
        assert!(profile_for_key("recordings/", "recordings/../a.wav").is_err());
        assert!(profile_for_key("recordings/", "recordings/Dr Smith/a.wav").is_err());
    }
}
