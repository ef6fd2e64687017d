//! The functions' settings, read once per container from the environment the template sets.

use std::path::PathBuf;

use veriscribe_core::formats::{NoteTemplate, OutputFormat};

use crate::settings::SettingsDefaults;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set; the function's template must set it")]
    Missing(&'static str),
    #[error("environment variable {name} is {value:?}; expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Everything the three functions read from their environment. Variables only one function
/// needs are optional here and required through their accessor, which each `main` calls at init.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub jobs_table: String,
    output_bucket: Option<String>,
    /// Ends with `/` (or is empty).
    pub output_prefix: String,
    pub recordings_prefix: String,
    transcribe_queue_url: Option<String>,
    note_queue_url: Option<String>,
    kms_key_id: Option<String>,
    /// ARN of this function's own dead-letter queue: records from it end their job `FAILED`.
    pub dead_letter_queue_arn: Option<String>,
    pub model_path: PathBuf,
    pub defaults: SettingsDefaults,
    pub max_audio_bytes: u64,
    pub max_audio_seconds: f64,
    pub job_ttl_days: u32,
    pub metrics_namespace: String,
}

fn invalid(name: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_string(),
        expected,
    }
}

pub const DEFAULT_MODEL_PATH: &str = "/opt/models/ggml-tiny.en-q8_0.bin";

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| invalid(name, &v, "a whole number")),
            }
        };
        let defaults = SettingsDefaults {
            note_template: match get("DEFAULT_NOTE_TEMPLATE") {
                None => NoteTemplate::default(),
                Some(v) => v.trim().parse().map_err(|_| {
                    invalid("DEFAULT_NOTE_TEMPLATE", &v, "a HealthScribe note template")
                })?,
            },
            channel_identification: match get("DEFAULT_CHANNEL_IDENTIFICATION") {
                None => false,
                Some(v) => crate::settings::parse_bool(&v).ok_or_else(|| {
                    invalid("DEFAULT_CHANNEL_IDENTIFICATION", &v, "true or false")
                })?,
            },
            max_speakers: {
                let max = number("DEFAULT_MAX_SPEAKERS", 2)?;
                u8::try_from(max)
                    .ok()
                    .filter(|m| (2..=10).contains(m))
                    .ok_or_else(|| {
                        invalid(
                            "DEFAULT_MAX_SPEAKERS",
                            &max.to_string(),
                            "a number from 2 to 10",
                        )
                    })?
            },
            clinician_channel: 0,
            output_format: match get("DEFAULT_OUTPUT_FORMAT") {
                None => OutputFormat::default(),
                Some(v) => v.parse().map_err(|_| {
                    invalid("DEFAULT_OUTPUT_FORMAT", &v, "encrypted or healthscribe")
                })?,
            },
            // Per profile or per upload only.
            custom_template: None,
            patient_pronouns: None,
        };
        let with_slash = |prefix: String| {
            if prefix.is_empty() || prefix.ends_with('/') {
                prefix
            } else {
                format!("{prefix}/")
            }
        };
        Ok(Self {
            jobs_table: get("JOBS_TABLE").ok_or(ConfigError::Missing("JOBS_TABLE"))?,
            output_bucket: get("OUTPUT_BUCKET"),
            output_prefix: with_slash(get("OUTPUT_PREFIX").unwrap_or_else(|| "output/".into())),
            recordings_prefix: get("RECORDINGS_PREFIX").unwrap_or_else(|| "recordings/".into()),
            transcribe_queue_url: get("TRANSCRIBE_QUEUE_URL"),
            note_queue_url: get("NOTE_QUEUE_URL"),
            kms_key_id: get("KMS_KEY_ID"),
            dead_letter_queue_arn: get("DEAD_LETTER_QUEUE_ARN"),
            model_path: get("MODEL_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL_PATH)),
            defaults,
            max_audio_bytes: number("MAX_AUDIO_BYTES", 2_147_483_648)?,
            max_audio_seconds: number("MAX_AUDIO_SECONDS", 14_400)? as f64,
            job_ttl_days: {
                let days = number("JOB_TTL_DAYS", 90)?;
                u32::try_from(days)
                    .map_err(|_| invalid("JOB_TTL_DAYS", &days.to_string(), "a number of days"))?
            },
            metrics_namespace: get("METRICS_NAMESPACE").unwrap_or_else(|| "Veriscribe".into()),
        })
    }

    pub fn output_bucket(&self) -> Result<&str, ConfigError> {
        self.output_bucket
            .as_deref()
            .ok_or(ConfigError::Missing("OUTPUT_BUCKET"))
    }

    pub fn transcribe_queue_url(&self) -> Result<&str, ConfigError> {
        self.transcribe_queue_url
            .as_deref()
            .ok_or(ConfigError::Missing("TRANSCRIBE_QUEUE_URL"))
    }

    pub fn note_queue_url(&self) -> Result<&str, ConfigError> {
        self.note_queue_url
            .as_deref()
            .ok_or(ConfigError::Missing("NOTE_QUEUE_URL"))
    }

    pub fn kms_key_id(&self) -> Result<&str, ConfigError> {
        self.kms_key_id
            .as_deref()
            .ok_or(ConfigError::Missing("KMS_KEY_ID"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_and_the_table_is_required() {
        assert_eq!(config(&[]).unwrap_err(), ConfigError::Missing("JOBS_TABLE"));
        let c = config(&[("JOBS_TABLE", "jobs"), ("OUTPUT_PREFIX", "out")]).unwrap();
        assert_eq!(c.output_prefix, "out/");
        assert_eq!(c.recordings_prefix, "recordings/");
        assert_eq!(c.max_audio_bytes, 2_147_483_648);
        assert_eq!(c.defaults.max_speakers, 2);
        assert_eq!(c.model_path, PathBuf::from(DEFAULT_MODEL_PATH));
        assert_eq!(
            c.kms_key_id().unwrap_err().to_string(),
            "environment variable KMS_KEY_ID is not set; the function's template must set it"
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("JOBS_TABLE", "jobs"), ("DEFAULT_MAX_SPEAKERS", "12")]).unwrap_err();
        assert!(err.to_string().contains("DEFAULT_MAX_SPEAKERS"), "{err}");
        let err = config(&[("JOBS_TABLE", "jobs"), ("DEFAULT_NOTE_TEMPLATE", "POEM")]).unwrap_err();
        assert!(err.to_string().contains("DEFAULT_NOTE_TEMPLATE"), "{err}");
        let err = config(&[("JOBS_TABLE", "jobs"), ("MAX_AUDIO_BYTES", "big")]).unwrap_err();
        assert!(err.to_string().contains("MAX_AUDIO_BYTES"), "{err}");
    }
}
