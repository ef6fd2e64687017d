//! The AWS driver of the job lifecycle (`veriscribe-lifecycle`): what start-job does with an S3
//! event (which upload, which version, which settings: stack defaults, the folder's profile,
//! the object's metadata), and how the queue steps run one SQS batch. The steps themselves
//! (transcribe, write the note, settle, fail) are the lifecycle's, shared with the CLI.
//!
//! Idempotency: the job row is created with a conditional put (one row per upload version); the
//! hand-off is recorded on the row, so a repeated start sends the message only if an earlier
//! attempt died before sending it; steps move the job forward only (conditional updates),
//! write their outputs once, and acknowledge messages for finished jobs without doing anything.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::{info, info_span, warn, Instrument};
use veriscribe_core::formats::{ChannelDefinition, JobSettings, MedicalScribeJob};
use veriscribe_core::ports::{HandoffLedger, JobEvents, JobStore, PortError, StepQueue};
pub use veriscribe_core::ports::{RecognizedAudio, Recognizer};
pub use veriscribe_lifecycle::note::job_documentation;
pub use veriscribe_lifecycle::{
    fail_after_retries, mark_failed, NoteStage, OutputLayout, StepOutcome, Submitted,
    TranscribeStage, STAGE_NOTE, STAGE_START, STAGE_TRANSCRIBE,
};

use crate::config::Config;
use crate::error::StageError;
use crate::s3::{ObjectHead, RecordingRef, Uploads};
use crate::settings::{
    profile_for_key, resolve_layers, SettingsDefaults, SettingsLayer, SettingsProblem,
};
use crate::sqs::StepMessage;
use crate::upload::{
    decode_event_key, extension, is_supported_extension, job_name_for, SUPPORTED_EXTENSIONS,
};

/// The output bucket's keys: `<JobName>/<file>`.
pub fn output_key(job_name: &str, file: &str) -> String {
    OutputLayout::JobFolders.key(job_name, file)
}

/// One object named by an S3 event record, key still URL-encoded as S3 sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedObject {
    pub bucket: String,
    pub raw_key: String,
    pub version_id: Option<String>,
    pub e_tag: Option<String>,
}

/// The objects an S3 event names (records without a bucket or key are skipped).
pub fn uploads_from_event(event: &S3Event) -> Vec<UploadedObject> {
    event
        .records
        .iter()
        .filter_map(|record| {
            let object = &record.s3.object;
            Some(UploadedObject {
                bucket: record.s3.bucket.name.clone()?,
                raw_key: object.key.clone()?,
                version_id: object
                    .version_id
                    .clone()
                    .filter(|v| !v.is_empty() && v != "null"),
                e_tag: object.e_tag.clone().filter(|v| !v.is_empty()),
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "Outcome")]
pub enum StartOutcome {
    /// New job, QUEUED, handed to the transcribe queue.
    Queued { job_name: String },
    /// The job already existed. `resent`: an earlier attempt had not handed it off, so this one did.
    Duplicate { job_name: String, resent: bool },
    /// The upload cannot be processed; the job row is FAILED with this reason.
    Rejected { job_name: String, reason: String },
    /// Nothing to do (outside the recordings prefix, undecodable key, object gone).
    Ignored { reason: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct UploadPolicy {
    pub recordings_prefix: String,
    pub max_audio_bytes: u64,
    pub defaults: SettingsDefaults,
}

impl UploadPolicy {
    pub fn from_config(config: &Config) -> Self {
        Self {
            recordings_prefix: config.recordings_prefix.clone(),
            max_audio_bytes: config.max_audio_bytes,
            defaults: config.defaults.clone(),
        }
    }
}

/// start-job: S3 upload → job row → transcribe queue.
pub struct StartJob {
    pub jobs: Arc<dyn JobStore>,
    pub handoff: Arc<dyn HandoffLedger>,
    pub recordings: Arc<dyn Uploads>,
    pub transcribe_queue: Arc<dyn StepQueue>,
    pub policy: UploadPolicy,
    pub events: Arc<dyn JobEvents>,
}

impl StartJob {
    /// Every record of the event; a transient failure of any record fails the whole invocation
    /// (S3 re-invokes, and the records already done are duplicates then).
    pub async fn on_event(&self, event: &S3Event) -> Result<Vec<StartOutcome>, StageError> {
        let mut outcomes = Vec::new();
        let mut retry = None;
        for upload in uploads_from_event(event) {
            match self.on_upload(&upload).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(error) if error.is_retryable() => {
                    warn!(stage = STAGE_START, error = %error, "upload will be retried");
                    retry = Some(error);
                }
                Err(error) => warn!(stage = STAGE_START, error = %error, "upload dropped"),
            }
        }
        match retry {
            Some(error) => Err(error),
            None => Ok(outcomes),
        }
    }

    pub async fn on_upload(&self, upload: &UploadedObject) -> Result<StartOutcome, StageError> {
        let bucket = &upload.bucket;
        let Ok(key) = decode_event_key(&upload.raw_key) else {
            return Ok(ignored("the object key is not valid UTF-8"));
        };
        if !key.starts_with(&self.policy.recordings_prefix) {
            return Ok(ignored("the object is outside the recordings prefix"));
        }
        // Exactly the uploaded version: the event's version id goes into every read.
        let mut recording = RecordingRef {
            bucket: bucket.clone(),
            key: key.clone(),
            version_id: upload.version_id.clone(),
        };
        let head = match self.recordings.head(&recording).await {
            Ok(head) => Some(head),
            Err(PortError::NotFound(_)) => None,
            Err(e) => return Err(StageError::from_port("cannot inspect the upload", e)),
        };
        let version = upload
            .version_id
            .clone()
            .or_else(|| upload.e_tag.clone())
            .or_else(|| {
                head.as_ref()
                    .and_then(|h| h.version_id.clone().or(h.e_tag.clone()))
            });
        let Some(version) = version else {
            return Ok(ignored("the object no longer exists"));
        };
        let job_name = job_name_for(bucket, &key, &version);
        let now = OffsetDateTime::now_utc();
        let span = info_span!("upload", job = %job_name, stage = STAGE_START);
        let mut verdict = match &head {
            None => Err("the recording was deleted before its job could start".to_string()),
            Some(head) => self.check(bucket, &key, head).await?,
        };
        // An event without a version id (hand-made, or a bucket without versioning): pin the
        // version HEAD saw if it is the uploaded object; a different ETag means a newer upload
        // replaced it, which has its own event and job.
        if recording.version_id.is_none() {
            if let Some(head) = &head {
                let same = match (&upload.e_tag, &head.e_tag) {
                    (Some(event), Some(seen)) => event.trim_matches('"') == seen.trim_matches('"'),
                    _ => true,
                };
                if same {
                    recording.version_id = head
                        .version_id
                        .clone()
                        .filter(|v| !v.is_empty() && v != "null");
                } else if verdict.is_ok() {
                    verdict = Err(
                        "the recording was replaced by a newer upload before its job could start"
                            .to_string(),
                    );
                }
            }
        }
        let media_uri = recording.uri();
        match verdict {
            Err(reason) => {
                self.reject(job_name, media_uri, reason, now)
                    .instrument(span)
                    .await
            }
            Ok((settings, channels)) => {
                let job =
                    MedicalScribeJob::new_queued(&job_name, media_uri, settings, channels, now);
                self.queue(job).instrument(span).await
            }
        }
    }

    /// The upload's settings, or why it cannot be processed (the outer error is a failure to
    /// read a profile or template that a retry can fix).
    async fn check(
        &self,
        bucket: &str,
        key: &str,
        head: &ObjectHead,
    ) -> Result<Result<(JobSettings, Vec<ChannelDefinition>), String>, StageError> {
        if !is_supported_extension(key) {
            let found = extension(key).map_or("none".to_string(), |e| format!(".{e}"));
            return Ok(Err(format!(
                "unsupported file type ({found}); upload one of: {}",
                SUPPORTED_EXTENSIONS
                    .iter()
                    .map(|e| format!(".{e}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if head.size == 0 {
            return Ok(Err("the recording is empty (0 bytes)".into()));
        }
        if head.size > self.policy.max_audio_bytes {
            return Ok(Err(format!(
                "the recording is {} bytes, more than the limit of {} bytes",
                head.size, self.policy.max_audio_bytes
            )));
        }
        match self.settings_for(bucket, key, head).await {
            Ok(Ok(settings)) => Ok(Ok(settings)),
            Ok(Err(problem)) => Ok(Err(problem.to_string())),
            Err(error) => Err(error),
        }
    }

    /// Defaults, then the folder's profile, then the object's metadata; named custom templates
    /// read from `templates/` in the upload's bucket.
    async fn settings_for(
        &self,
        bucket: &str,
        key: &str,
        head: &ObjectHead,
    ) -> Result<Result<(JobSettings, Vec<ChannelDefinition>), SettingsProblem>, StageError> {
        let mut layers = Vec::new();
        match profile_for_key(&self.policy.recordings_prefix, key) {
            Err(problem) => return Ok(Err(problem)),
            Ok(None) => {}
            Ok(Some((_, file))) => match self.recordings.read_control(bucket, &file).await {
                Ok(bytes) => match SettingsLayer::from_profile(&file, &bytes) {
                    Ok(layer) => layers.push(layer),
                    Err(problem) => return Ok(Err(problem)),
                },
                Err(PortError::NotFound(_)) => return Ok(Err(SettingsProblem::MissingProfile)),
                Err(e) => return Err(StageError::from_port("cannot read the upload's profile", e)),
            },
        }
        match SettingsLayer::from_metadata(&head.metadata) {
            Ok(layer) => layers.push(layer),
            Err(problem) => return Ok(Err(problem)),
        }
        for layer in &mut layers {
            let Some((file, source)) = layer
                .template_file()
                .map(|(f, s)| (f.to_string(), s.to_string()))
            else {
                continue;
            };
            let text = match self.recordings.read_control(bucket, &file).await {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(PortError::NotFound(_)) => {
                    return Ok(Err(SettingsProblem::MissingTemplate {
                        origin: source,
                        file,
                    }))
                }
                Err(e) => {
                    return Err(StageError::from_port(
                        "cannot read the upload's custom template",
                        e,
                    ))
                }
            };
            if let Err(problem) = layer.resolve_template_file(&text) {
                return Ok(Err(problem));
            }
        }
        Ok(resolve_layers(&self.policy.defaults, &layers))
    }

    /// One FAILED row (still one row per upload) and no message.
    async fn reject(
        &self,
        job_name: String,
        media_uri: String,
        reason: String,
        now: OffsetDateTime,
    ) -> Result<StartOutcome, StageError> {
        veriscribe_lifecycle::reject(
            &*self.jobs,
            &*self.events,
            &job_name,
            media_uri,
            &reason,
            now,
        )
        .await?;
        Ok(StartOutcome::Rejected { job_name, reason })
    }

    async fn queue(&self, job: MedicalScribeJob) -> Result<StartOutcome, StageError> {
        let submitted = veriscribe_lifecycle::submit(
            &*self.jobs,
            &*self.handoff,
            &*self.transcribe_queue,
            &*self.events,
            &job,
        )
        .await?;
        Ok(match submitted {
            Submitted::Queued { job_name } => StartOutcome::Queued { job_name },
            Submitted::Duplicate { job_name, resent } => {
                StartOutcome::Duplicate { job_name, resent }
            }
        })
    }
}

fn ignored(reason: &str) -> StartOutcome {
    info!(stage = STAGE_START, reason, "upload event ignored");
    StartOutcome::Ignored {
        reason: reason.to_string(),
    }
}

/// A stage driven by SQS messages `{"JobName": …}`.
#[async_trait]
pub trait QueueStage: Send + Sync {
    fn stage_name(&self) -> &'static str;
    fn jobs(&self) -> &dyn JobStore;
    fn events(&self) -> &dyn JobEvents;
    async fn run(&self, job_name: &str) -> Result<StepOutcome, StageError>;
}

#[async_trait]
impl QueueStage for TranscribeStage {
    fn stage_name(&self) -> &'static str {
        STAGE_TRANSCRIBE
    }
    fn jobs(&self) -> &dyn JobStore {
        &*self.jobs
    }
    fn events(&self) -> &dyn JobEvents {
        &*self.events
    }
    async fn run(&self, job_name: &str) -> Result<StepOutcome, StageError> {
        TranscribeStage::run(self, job_name).await
    }
}

#[async_trait]
impl QueueStage for NoteStage {
    fn stage_name(&self) -> &'static str {
        STAGE_NOTE
    }
    fn jobs(&self) -> &dyn JobStore {
        &*self.jobs
    }
    fn events(&self) -> &dyn JobEvents {
        &*self.events
    }
    async fn run(&self, job_name: &str) -> Result<StepOutcome, StageError> {
        NoteStage::run(self, job_name).await
    }
}

/// One SQS batch (ReportBatchItemFailures): records from `dead_letter_queue_arn` end their job
/// FAILED; others run the stage; only retryable failures are reported back for redelivery.
pub async fn process_sqs_event(
    stage: &dyn QueueStage,
    event: &SqsEvent,
    dead_letter_queue_arn: Option<&str>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let stage_name = stage.stage_name();
    for record in &event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let Some(message) = record
            .body
            .as_deref()
            .and_then(|body| StepMessage::from_body(body).ok())
        else {
            warn!(
                stage = stage_name,
                message_id, "message is not {{\"JobName\": …}}; dropped"
            );
            continue;
        };
        let from_dead_letters = dead_letter_queue_arn
            .is_some_and(|arn| record.event_source_arn.as_deref() == Some(arn));
        let span = info_span!("message", job = %message.job_name, stage = stage_name);
        let started = Instant::now();
        let result = async {
            if from_dead_letters {
                fail_after_retries(stage.jobs(), stage.events(), stage_name, &message.job_name)
                    .await
            } else {
                stage.run(&message.job_name).await
            }
        }
        .instrument(span.clone())
        .await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        span.in_scope(|| match result {
            Ok(outcome) => info!(outcome = ?outcome, elapsed_ms, "message processed"),
            Err(error) if error.is_retryable() => {
                warn!(error = %error, elapsed_ms, "message will be retried");
                response.add_failure(message_id);
            }
            Err(error) => warn!(error = %error, elapsed_ms, "message dropped"),
        });
    }
    response
}
