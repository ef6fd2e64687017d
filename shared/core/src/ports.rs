//! Ports: the small traits the pipeline's edges implement, once locally (files, SQLite, a local
//! AES key, an in-process queue, whisper.cpp) and once on AWS (S3, DynamoDB, SQS, KMS). The job
//! lifecycle (`veriscribe-lifecycle`) is written against these only.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::formats::{JobSettings, JobStatus, MedicalScribeJob, NoteTemplate, StatusChange};
use crate::speech::Recognition;

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

/// The hand-off between steps: one message per job, body `{"JobName": "<name>"}`. Everything
/// else is read from the job record, so a message carries no patient data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepMessage {
    pub job_name: String,
}

impl StepMessage {
    pub fn new(job_name: impl Into<String>) -> Self {
        Self {
            job_name: job_name.into(),
        }
    }

    pub fn to_body(&self) -> String {
        serde_json::json!({ "JobName": self.job_name }).to_string()
    }

    pub fn from_body(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}

/// Where a step hands a job to the next one (an SQS queue on AWS, in-process locally).
#[async_trait]
pub trait StepQueue: Send + Sync {
    async fn send(&self, message: &StepMessage) -> Result<(), PortError>;
}

/// Whether a job's first hand-off happened, so a repeated start sends it only once.
#[async_trait]
pub trait HandoffLedger: Send + Sync {
    async fn is_handed_off(&self, job_name: &str) -> Result<bool, PortError>;
    async fn mark_handed_off(&self, job_name: &str) -> Result<(), PortError>;
}

/// Where a recording's bytes are: in memory (read from S3), or a local file the decoder streams
/// from (so the CLI never holds the encoded file and its samples at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingBody {
    Bytes(Vec<u8>),
    File(std::path::PathBuf),
}

/// A job's recording as read for recognition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub body: RecordingBody,
    /// The file extension (lower case, no dot) when the location has one: a format hint.
    pub extension: Option<String>,
}

impl Recording {
    /// The whole recording in memory (a text dialogue, or a recognizer that needs the bytes).
    pub fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self.body {
            RecordingBody::Bytes(bytes) => Ok(bytes),
            RecordingBody::File(path) => std::fs::read(path),
        }
    }
}

/// Reads the recording a job's `MediaFileUri` names (`file://…` locally, `s3://…?versionId=`
/// on AWS). `NotFound(what)` names it without its key or path (they may name the patient).
#[async_trait]
pub trait RecordingSource: Send + Sync {
    async fn fetch(&self, media_uri: &str) -> Result<Recording, PortError>;
}

/// Recognised speech and the length of the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognizedAudio {
    pub recognition: Recognition,
    pub audio_seconds: f64,
}

/// Speech recognition over a whole recording (blocking; the lifecycle runs it off the async
/// threads). whisper.cpp implements it in `veriscribe-asr`; the lifecycle needs no ASR crate.
pub trait Recognizer: Send + Sync {
    /// Recognises the recording as the job's settings ask (channel identification, or speaker
    /// labels into at most `MaxSpeakerLabels` voices). A `Permanent` error is a property of
    /// the file: retrying cannot help.
    fn recognise(
        &self,
        recording: Recording,
        settings: &JobSettings,
    ) -> Result<RecognizedAudio, PortError>;
}

/// What the transcribe step measured (counts and times only, never patient text).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TranscriptStats {
    /// `None` for a text dialogue.
    pub audio_seconds: Option<f64>,
    pub recognition_seconds: Option<f64>,
    pub segments: usize,
    pub insights: usize,
    /// Wall time of the step's work for this job.
    pub stage_seconds: f64,
}

/// What the note step wrote (counts only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteStats {
    pub template: NoteTemplate,
    pub custom_template: bool,
    pub sections: usize,
    pub sentences: usize,
    pub codes: usize,
    /// From the job's creation to its completion.
    pub job_seconds: f64,
    /// Wall time of the step's work for this job.
    pub stage_seconds: f64,
}

/// Where the lifecycle reports what happened to a job: CloudWatch metrics on AWS, the CLI's
/// summary locally. Every method has a default that ignores the event.
pub trait JobEvents: Send + Sync {
    /// A new job was created QUEUED and handed off.
    fn started(&self, _job_name: &str) {}
    fn transcribed(&self, _job_name: &str, _stats: &TranscriptStats) {}
    fn completed(&self, _job_name: &str, _stats: &NoteStats) {}
    fn failed(&self, _stage: &str, _job_name: &str) {}
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl JobEvents for NoEvents {}
