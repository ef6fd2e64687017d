//! What an S3 upload event says: the decoded key, the idempotent job name, whether the
//! extension is one we decode.

use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

/// Extensions of the containers `veriscribe-asr` decodes.
pub const SUPPORTED_EXTENSIONS: &[&str] = &["wav", "flac", "mp3", "ogg"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the S3 event has no object key")]
    Missing,
    #[error("the S3 object key is not valid UTF-8 after URL decoding")]
    NotUtf8,
}

/// S3 event keys are URL-encoded with `+` for space (`recordings/visit+1.wav`); moto also
/// encodes `/` as `%2F` and `sam local generate-event` writes `%20`. All decode to the same key.
pub fn decode_event_key(raw: &str) -> Result<String, KeyError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| KeyError::NotUtf8)
}

/// The key's extension, lower case, if it has one.
pub fn extension(key: &str) -> Option<String> {
    let file = key.rsplit('/').next().unwrap_or(key);
    let (stem, ext) = file.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

pub fn is_supported_extension(key: &str) -> bool {
    extension(key).is_some_and(|ext| SUPPORTED_EXTENSIONS.contains(&ext.as_str()))
}

/// A deterministic job name for one version of one object: the sanitized file stem, then the
/// first 16 hex digits of sha256(bucket/key/version-or-etag). The same upload event always gives
/// the same name (idempotent starts); a re-upload (new ETag or version) gives a new job.
pub fn job_name_for(bucket: &str, key: &str, version_or_etag: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or(key);
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let mut clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    if clean.trim_matches(|c| c == '-' || c == '.').is_empty() {
        clean = "recording".into();
    }
    let digest = Sha256::digest(format!(
        "{bucket}/{key}/{}",
        version_or_etag.trim_matches('"')
    ));
    format!("{clean}-{}", &hex::encode(digest)[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use veriscribe_core::formats::validate_job_name;

    #[test]
    fn all_event_key_encodings_decode_alike() {
        for raw in [
            "recordings/visit+1%2B2.wav",
            "recordings%2Fvisit+1%2B2.wav",
            "recordings/visit%201%2B2.wav",
        ] {
            assert_eq!(decode_event_key(raw).unwrap(), "recordings/visit 1+2.wav");
        }
        assert_eq!(decode_event_key("a%FF.wav"), Err(KeyError::NotUtf8));
    }

    #[test]
    fn extensions() {
        assert!(is_supported_extension("recordings/a.WAV"));
        assert!(is_supported_extension("recordings/a.b.flac"));
        assert!(!is_supported_extension("recordings/notes.txt"));
        assert!(!is_supported_extension("recordings/.wav"));
        assert!(!is_supported_extension("recordings/wav"));
        assert!(!is_supported_extension("recordings.wav/x"));
    }

    #[test]
    fn job_names_are_deterministic_valid_and_version_specific() {
        let a = job_name_for("b", "recordings/visit 1 (Mo).wav", "\"abc\"");
        assert_eq!(a, job_name_for("b", "recordings/visit 1 (Mo).wav", "abc"));
        assert!(a.starts_with("visit-1--Mo--"), "{a}");
        assert_eq!(a.len(), "visit-1--Mo-".len() + 1 + 16);
        validate_job_name(&a).unwrap();
        assert_ne!(a, job_name_for("b", "recordings/visit 1 (Mo).wav", "def"));
        assert_ne!(
            a,
            job_name_for("other", "recordings/visit 1 (Mo).wav", "abc")
        );
        let odd = job_name_for("b", "recordings/ü.wav", "v1");
        assert!(odd.starts_with("recording-"), "{odd}");
        validate_job_name(&odd).unwrap();
        validate_job_name(&job_name_for("b", &"x".repeat(900), "v")).unwrap();
    }
}
