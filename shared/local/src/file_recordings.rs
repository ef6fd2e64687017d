//! Recordings on the local disk, named by `file://` URIs (the job's `MediaFileUri`).

use std::path::PathBuf;

use async_trait::async_trait;
use veriscribe_core::ports::{PortError, Recording, RecordingBody, RecordingSource};

/// Hands the decoder the file's path, so it streams the file instead of holding it in memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileRecordings;

impl FileRecordings {
    /// The path a `file://` URI names.
    pub fn path_of(media_uri: &str) -> Option<PathBuf> {
        media_uri
            .strip_prefix("file://")
            .filter(|path| path.starts_with('/'))
            .map(PathBuf::from)
    }
}

#[async_trait]
impl RecordingSource for FileRecordings {
    async fn fetch(&self, media_uri: &str) -> Result<Recording, PortError> {
        let path = Self::path_of(media_uri).ok_or_else(|| PortError::Permanent {
            message: "the job's media URI is not a file:// URI with an absolute path".into(),
        })?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(PortError::Permanent {
                    message: format!("{} is not a file", path.display()),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PortError::NotFound("the recording".into()))
            }
            Err(e) => {
                return Err(PortError::Permanent {
                    message: format!("cannot read {}: {e}", path.display()),
                })
            }
        }
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        Ok(Recording {
            body: RecordingBody::File(path),
            extension,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_uris_become_paths_with_their_extension() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Visit.WAV");
        std::fs::write(&path, b"RIFF").unwrap();
        let recording = FileRecordings
            .fetch(&format!("file://{}", path.display()))
            .await
            .unwrap();
        assert_eq!(recording.extension.as_deref(), Some("wav"));
        assert_eq!(recording.body, RecordingBody::File(path));
        let missing = FileRecordings
            .fetch(&format!("file://{}/gone.wav", dir.path().display()))
            .await
            .unwrap_err();
        assert!(matches!(missing, PortError::NotFound(_)), "{missing}");
        assert!(FileRecordings.fetch("s3://b/k.wav").await.is_err());
    }
}
