//! Ports: the small traits the pipeline's edges implement, once locally (files, SQLite, a local
//! AES key) and once on AWS (S3, DynamoDB, KMS).

use async_trait::async_trait;
use std::collections::BTreeMap;

use crate::formats::{JobStatus, MedicalScribeJob, StatusChange};

/// Errors an adapter reports. `retryable` tells the Lambda edge whether a retry can succeed.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// A conditional write lost: the record is not in the state the caller expected.
    #[error("job {name} is {actual}, not in a state that allows this change")]
    StateConflict { name: String, actual: JobStatus },
    #[error("{message}")]
    Transient { message: String },
    #[error("{message}")]
    Permanent { message: String },
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, PortError::Transient { .. })
    }
}

/// Reads and writes whole objects by key (a path below a root locally, an S3 key on AWS).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Vec<u8>, PortError>;
    /// Writes atomically: a reader never sees a half-written object.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), PortError>;
    /// Writes only if nothing exists under `key`, atomically: of two concurrent writers exactly
    /// one wins. `Ok(false)` when an object was already there (it is left as it was). Stages
    /// write their outputs this way so a redelivered or concurrent message changes nothing.
    async fn put_new(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<bool, PortError>;
    /// The URI a user would use to find the object (`file://…` or `s3://…`).
    fn uri(&self, key: &str) -> String;
}

/// The job status table.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Creates the job; `AlreadyExists` if a job of that name exists (idempotent starts).
    async fn create(&self, job: &MedicalScribeJob) -> Result<(), PortError>;
    async fn get(&self, name: &str) -> Result<MedicalScribeJob, PortError>;
    /// Applies the change only if the job is in one of `change.from`; returns the new record.
    async fn update(
        &self,
        name: &str,
        change: &StatusChange,
    ) -> Result<MedicalScribeJob, PortError>;
    /// Jobs, newest first, optionally only those with one status.
    async fn list(
        &self,
        status: Option<JobStatus>,
        limit: usize,
    ) -> Result<Vec<MedicalScribeJob>, PortError>;
}

/// The encryption context bound to an artifact: plain, non-secret key/value pairs.
pub type EncryptionContext = BTreeMap<String, String>;

/// Envelope encryption of artifacts (AWS Encryption SDK messages).
#[async_trait]
pub trait Envelope: Send + Sync {
    async fn encrypt(
        &self,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, PortError>;
    /// Fails unless the message is intact and carries every pair of `expected_context`.
    async fn decrypt(
        &self,
        message: &[u8],
        expected_context: &EncryptionContext,
    ) -> Result<Vec<u8>, PortError>;
}

/// The encryption context for one artifact of one job. It names no patient data.
pub fn artifact_context(job_name: &str, artifact: &str) -> EncryptionContext {
    BTreeMap::from([
        ("veriscribe:job-name".to_string(), job_name.to_string()),
        ("veriscribe:artifact".to_string(), artifact.to_string()),
    ])
}
