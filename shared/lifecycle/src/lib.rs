//! The job lifecycle, written once over the ports of `veriscribe_core::ports`:
//!
//! ```text
//! submit (QUEUED, hand-off) ─► TranscribeStage (IN_PROGRESS, transcript.json) ─► NoteStage
//!   (codes, then the note last: its presence means the outputs are whole) ─► COMPLETED
//! any permanent failure ─► FAILED + FailureReason (settle)
//! ```
//!
//! Two drivers use it: the CLI with local adapters (files, SQLite, a local AES key and the
//! in-process queue of [`in_process`]), and the Lambda functions with AWS adapters (S3, DynamoDB,
//! SQS, KMS). Stage decisions (idempotency, write-once outputs, retry or fail) live here only.

pub mod error;
pub mod in_process;
pub mod note;
pub mod settle;
pub mod start;
pub mod transcribe;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use error::StageError;
pub use in_process::{InProcessQueue, LocalOutcome, LocalRun};
pub use note::NoteStage;
pub use settle::{fail_after_retries, mark_failed, StepOutcome};
pub use start::{reject, submit, Submitted};
pub use transcribe::TranscribeStage;

pub const STAGE_START: &str = "start-job";
pub const STAGE_TRANSCRIBE: &str = "transcribe";
pub const STAGE_NOTE: &str = "generate-note";

/// Where a job's outputs go in its output store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputLayout {
    /// `<JobName>/<file>`: many jobs share one location (the output bucket).
    JobFolders,
    /// `<file>`: the store is the job's own folder (the CLI's `--out DIR`).
    Flat,
}

impl OutputLayout {
    pub fn key(self, job_name: &str, file: &str) -> String {
        match self {
            OutputLayout::JobFolders => format!("{job_name}/{file}"),
            OutputLayout::Flat => file.to_string(),
        }
    }
}
