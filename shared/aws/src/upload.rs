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

/// A deterministic job name for one version of one object: `job-` and the first 24 hex digits
/// (96 bits) of sha256(bucket/key/version-or-etag). The same upload event always gives the same
/// name (idempotent starts); a re-upload (new version or ETag) gives a new job.
///
/// Nothing of the key is kept in the name: clinics name files after patients, and the job name
/// travels into log lines, metrics, table keys, output keys and the encrypted note's plaintext
/// header. The key itself stays only in the job row's `MediaFileUri`.
pub fn job_name_for(bucket: &str, key: &str, version_or_etag: &str) -> String {
    let digest = Sha256::digest(format!(
        "{bucket}/{key}/{}",
        version_or_etag.trim_matches('"')
    ));
    format!("job-{}", &hex::encode(digest)[..24])
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
    fn job_names_are_deterministic_valid_version_specific_and_carry_no_key() {
        let key = "recordings/Jane Doe 1984-02-03 (MRN 12345).wav";
        let a = job_name_for("b", key, "\"abc\"");
        assert_eq!(a, job_name_for("b", key, "abc"));
        assert!(a.starts_with("job-"), "{a}");
        assert_eq!(a.len(), 4 + 24);
        for fragment in ["Jane", "Doe", "1984", "12345", "MRN", "recordings"] {
            assert!(!a.contains(fragment), "{a} carries {fragment}");
        }
        validate_job_name(&a).unwrap();
        assert_ne!(a, job_name_for("b", key, "def"));
        assert_ne!(a, job_name_for("other", key, "abc"));
        validate_job_name(&job_name_for("b", "recordings/ü.wav", "v1")).unwrap();
        validate_job_name(&job_name_for("b", &"x".repeat(900), "v")).unwrap();
    }
}
