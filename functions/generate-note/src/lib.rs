//! generate-note: note-queue message → transcript.json → clinical documentation (evidence
//! checked) → AWS Encryption SDK message under the KMS key, bound to the job by its encryption
//! context → summary.json.encrypted → job COMPLETED. Its dead-letter queue is a second event
//! source: records from it end the job FAILED.

pub mod handler;
