//! Veriscribe on AWS: adapters behind the core ports (S3, DynamoDB, SQS, CloudWatch EMF; KMS
//! lives in `veriscribe-crypto`), and the AWS driver of the job lifecycle, so that each
//! function's handler only translates its event and calls in here.
//!
//! Flow: S3 `ObjectCreated` → [`stages::StartJob`] → transcribe queue → the lifecycle's
//! `TranscribeStage` → note queue → `NoteStage` → job `COMPLETED`. A stage's dead-letter queue
//! is consumed by the same function and ends the job `FAILED` ([`stages::fail_after_retries`]).

#[cfg(feature = "test-util")]
pub mod call_recorder;
pub mod clients;
pub mod config;
pub mod dynamodb;
pub mod error;
pub mod job_events;
pub mod metrics;
pub mod s3;
pub mod settings;
pub mod sqs;
pub mod stages;
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod upload;

pub use config::{Config, ConfigError};
pub use dynamodb::{DynamoJobStore, HandoffLedger};
pub use error::StageError;
pub use metrics::Metrics;
pub use s3::{ObjectHead, RecordingRef, S3ObjectStore, S3Recordings, Uploads};
pub use settings::{resolve_settings, SettingsDefaults, SettingsLayer, SettingsProblem};
pub use sqs::{SqsStepQueue, StepMessage, StepQueue};
