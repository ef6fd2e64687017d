//! What each Lambda stage does with one event. The functions' handlers only translate their
//! event into these calls; every decision (validate, idempotency, retry or fail) is made here.
//!
//! Idempotency: the job row is created with a conditional put (one row per upload version); the
//! hand-off is recorded on the row, so a repeated start sends the message only if an earlier
//! attempt died before sending it; stages move the job forward only (conditional updates), redo
//! their work from the start on redelivery (outputs are overwritten whole) and acknowledge
//! messages for finished jobs without doing anything.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::{info, info_span, warn, Instrument};
use veriscribe_core::formats::{
    ChannelDefinition, JobSettings, JobStatus, MedicalScribeJob, MedicalScribeOutput, OutputFormat,
    StatusChange, TranscriptFile,
};
use veriscribe_core::ports::{Envelope, JobStore, ObjectStore, PortError};
use veriscribe_core::speech::Recognition;
use veriscribe_core::stages::{self, ConversationSettings, TRANSCRIPT_FILE};

use crate::config::Config;
use crate::dynamodb::HandoffLedger;
use crate::error::StageError;
use crate::metrics::{Metrics, Unit, AUDIO_SECONDS, JOB_DURATION_SECONDS, REAL_TIME_FACTOR};
use crate::s3::{ObjectHead, RecordingRef, RecordingSource};
use crate::settings::{resolve_settings, SettingsDefaults};
use crate::sqs::{StepMessage, StepQueue};
use crate::upload::{
    decode_event_key, extension, is_supported_extension, job_name_for, SUPPORTED_EXTENSIONS,
};

pub const STAGE_START: &str = "start-job";
pub const STAGE_TRANSCRIBE: &str = "transcribe";
pub const STAGE_NOTE: &str = "generate-note";

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
    pub recordings: Arc<dyn RecordingSource>,
    pub transcribe_queue: Arc<dyn StepQueue>,
    pub policy: UploadPolicy,
    pub metrics: Metrics,
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
            Some(head) => self.check(&key, head),
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

    fn check(
        &self,
        key: &str,
        head: &ObjectHead,
    ) -> Result<(JobSettings, Vec<ChannelDefinition>), String> {
        if !is_supported_extension(key) {
            let found = extension(key).map_or("none".to_string(), |e| format!(".{e}"));
            return Err(format!(
                "unsupported file type ({found}); upload one of: {}",
                SUPPORTED_EXTENSIONS
                    .iter()
                    .map(|e| format!(".{e}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if head.size == 0 {
            return Err("the recording is empty (0 bytes)".into());
        }
        if head.size > self.policy.max_audio_bytes {
            return Err(format!(
                "the recording is {} bytes, more than the limit of {} bytes",
                head.size, self.policy.max_audio_bytes
            ));
        }
        resolve_settings(&self.policy.defaults, &head.metadata).map_err(|e| e.to_string())
    }

    /// One FAILED row (still one row per upload) and no message.
    async fn reject(
        &self,
        job_name: String,
        media_uri: String,
        reason: String,
        now: OffsetDateTime,
    ) -> Result<StartOutcome, StageError> {
        let mut job = MedicalScribeJob::new_queued(
            &job_name,
            media_uri,
            JobSettings::default(),
            Vec::new(),
            now,
        );
        StatusChange::fail(&reason, now).apply(&mut job);
        match self.jobs.create(&job).await {
            Ok(()) => {
                warn!(reason = %reason, "upload rejected; job FAILED");
                self.metrics.job_failed(STAGE_START, &job_name);
            }
            Err(PortError::AlreadyExists(_)) => info!("duplicate event for a rejected upload"),
            Err(e) => return Err(StageError::from_port("cannot record the rejected job", e)),
        }
        Ok(StartOutcome::Rejected { job_name, reason })
    }

    async fn queue(&self, job: MedicalScribeJob) -> Result<StartOutcome, StageError> {
        let job_name = job.medical_scribe_job_name.clone();
        let duplicate = match self.jobs.create(&job).await {
            Ok(()) => false,
            Err(PortError::AlreadyExists(_)) => true,
            Err(e) => return Err(StageError::from_port("cannot create the job", e)),
        };
        if duplicate {
            let existing = self
                .jobs
                .get(&job_name)
                .await
                .map_err(|e| StageError::from_port("cannot read the existing job", e))?;
            let handed_off = self
                .handoff
                .is_handed_off(&job_name)
                .await
                .map_err(|e| StageError::from_port("cannot read the existing job", e))?;
            if existing.medical_scribe_job_status != JobStatus::Queued || handed_off {
                info!(status = %existing.medical_scribe_job_status, "duplicate upload event ignored");
                return Ok(StartOutcome::Duplicate {
                    job_name,
                    resent: false,
                });
            }
            info!("job exists but was never handed off; handing it off now");
        }
        self.transcribe_queue
            .send(&StepMessage::new(&job_name))
            .await
            .map_err(|e| StageError::from_port("cannot queue the job", e))?;
        self.handoff
            .mark_handed_off(&job_name)
            .await
            .map_err(|e| StageError::from_port("cannot record the hand-off", e))?;
        info!("job QUEUED");
        Ok(if duplicate {
            StartOutcome::Duplicate {
                job_name,
                resent: true,
            }
        } else {
            StartOutcome::Queued { job_name }
        })
    }
}

fn ignored(reason: &str) -> StartOutcome {
    info!(stage = STAGE_START, reason, "upload event ignored");
    StartOutcome::Ignored {
        reason: reason.to_string(),
    }
}

/// What a queue stage did with one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "Outcome")]
pub enum StepOutcome {
    Done,
    /// The job was already COMPLETED or FAILED (a stale redelivery): acknowledged, nothing done.
    AlreadyFinished {
        status: JobStatus,
    },
    /// The job ended FAILED with this reason; the message is consumed.
    Failed {
        reason: String,
    },
    /// No such job; the message is consumed.
    Skipped {
        reason: String,
    },
}

/// Recognised speech and the length of the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognizedAudio {
    pub recognition: Recognition,
    pub audio_seconds: f64,
}

/// Speech recognition over a whole recording (blocking; run off the async threads). The
/// transcribe function implements it with whisper.cpp; the library needs no ASR dependency.
pub trait Recognizer: Send + Sync {
    /// Recognises `audio` as the job's settings ask: channel identification, or speaker
    /// labels (diarization into at most `max_speaker_labels` voices).
    fn recognise(
        &self,
        audio: Vec<u8>,
        extension: Option<&str>,
        settings: &JobSettings,
    ) -> Result<RecognizedAudio, StageError>;
}

/// transcribe: transcribe queue → recording → transcript.json → note queue.
pub struct TranscribeStage {
    pub jobs: Arc<dyn JobStore>,
    pub recordings: Arc<dyn RecordingSource>,
    /// The output location; keys are `<JobName>/transcript.json`.
    pub outputs: Arc<dyn ObjectStore>,
    pub note_queue: Arc<dyn StepQueue>,
    pub recognizer: Arc<dyn Recognizer>,
    pub metrics: Metrics,
}

pub fn output_key(job_name: &str, file: &str) -> String {
    format!("{job_name}/{file}")
}

impl TranscribeStage {
    pub async fn run(&self, job_name: &str) -> Result<StepOutcome, StageError> {
        let job = match self.jobs.get(job_name).await {
            Ok(job) => job,
            Err(PortError::NotFound(_)) => return Ok(skipped_missing()),
            Err(e) => return Err(StageError::from_port("cannot read the job", e)),
        };
        if job.medical_scribe_job_status.is_terminal() {
            return Ok(already_finished(job.medical_scribe_job_status));
        }
        let job = match self
            .jobs
            .update(job_name, &StatusChange::start(OffsetDateTime::now_utc()))
            .await
        {
            Ok(job) => job,
            Err(PortError::StateConflict { actual, .. }) => return Ok(already_finished(actual)),
            Err(e) => return Err(StageError::from_port("cannot mark the job IN_PROGRESS", e)),
        };
        let result = self.transcribe(&job).await;
        settle(
            &*self.jobs,
            &self.metrics,
            STAGE_TRANSCRIBE,
            job_name,
            result,
        )
        .await
    }

    async fn transcribe(&self, job: &MedicalScribeJob) -> Result<StepOutcome, StageError> {
        let name = &job.medical_scribe_job_name;
        // The URI is not quoted in the reason: its key may name the patient, and reasons are logged.
        let recording = RecordingRef::parse(&job.media.media_file_uri).ok_or_else(|| {
            StageError::permanent("the job's media URI is not an s3://bucket/key URI")
        })?;
        let audio = match self.recordings.fetch(&recording).await {
            Ok(audio) => audio,
            Err(PortError::NotFound(_)) => {
                return Err(StageError::permanent(format!(
                    "{} no longer exists: it was deleted before it could be transcribed",
                    recording.redacted()
                )))
            }
            Err(e) => return Err(StageError::from_port("cannot read the recording", e)),
        };
        let audio_bytes = audio.len();
        let ext = extension(&recording.key);
        let settings = job.settings.clone();
        let recognizer = self.recognizer.clone();
        let started = Instant::now();
        let recognized = tokio::task::spawn_blocking(move || {
            recognizer.recognise(audio, ext.as_deref(), &settings)
        })
        .await
        .map_err(|e| {
            if e.is_panic() {
                // Deterministic code on the same bytes panics again: fail now, not after
                // three redeliveries and the dead-letter queue.
                StageError::permanent(
                    "speech recognition crashed on this recording (an internal error); \
                     retrying would fail the same way",
                )
            } else {
                StageError::Transient(format!("speech recognition was cancelled: {e}"))
            }
        })??;
        let recognition_seconds = started.elapsed().as_secs_f64();

        let transcript = stages::transcript_from_recognition(
            &recognized.recognition,
            &ConversationSettings::for_job(job),
        );
        let body = serde_json::to_vec_pretty(&transcript)
            .map_err(|e| StageError::permanent(format!("cannot serialise the transcript: {e}")))?;
        // Write-once: a concurrent or redelivered message leaves the first transcript as it is.
        let written = self
            .outputs
            .put_new(&output_key(name, TRANSCRIPT_FILE), body, "application/json")
            .await
            .map_err(|e| StageError::from_port("cannot write the transcript", e))?;
        if !written {
            info!("transcript already written by an earlier delivery; kept as it was");
        }
        self.note_queue
            .send(&StepMessage::new(name))
            .await
            .map_err(|e| StageError::from_port("cannot queue the note step", e))?;
        let audio_seconds = recognized.audio_seconds;
        let real_time_factor = recognition_seconds / audio_seconds.max(1e-9);
        info!(
            audio_bytes,
            audio_seconds,
            recognition_seconds,
            real_time_factor,
            tokens = recognized.recognition.tokens.len(),
            segments = transcript.conversation.transcript_segments.len(),
            insights = transcript.conversation.clinical_insights.len(),
            "transcript written"
        );
        self.metrics.emit(
            STAGE_TRANSCRIBE,
            name,
            &[
                (AUDIO_SECONDS, audio_seconds, Unit::Seconds),
                (REAL_TIME_FACTOR, real_time_factor, Unit::None),
            ],
        );
        Ok(StepOutcome::Done)
    }
}

/// generate-note: note queue → documentation → KMS-encrypted summary → COMPLETED.
pub struct NoteStage {
    pub jobs: Arc<dyn JobStore>,
    pub outputs: Arc<dyn ObjectStore>,
    pub envelope: Arc<dyn Envelope>,
    pub metrics: Metrics,
}

impl NoteStage {
    pub async fn run(&self, job_name: &str) -> Result<StepOutcome, StageError> {
        let job = match self.jobs.get(job_name).await {
            Ok(job) => job,
            Err(PortError::NotFound(_)) => return Ok(skipped_missing()),
            Err(e) => return Err(StageError::from_port("cannot read the job", e)),
        };
        match job.medical_scribe_job_status {
            status if status.is_terminal() => return Ok(already_finished(status)),
            JobStatus::Queued => {
                // Only reachable out of order; retried, and failed through the DLQ if it persists.
                return Err(StageError::Transient(format!(
                    "job {job_name} is QUEUED: it has not been transcribed yet"
                )));
            }
            _ => {}
        }
        let result = self.write_note(&job).await;
        settle(&*self.jobs, &self.metrics, STAGE_NOTE, job_name, result).await
    }

    async fn write_note(&self, job: &MedicalScribeJob) -> Result<StepOutcome, StageError> {
        let name = &job.medical_scribe_job_name;
        let format = job.settings.output_format;
        let (note_file, codes_file) = stages::output_files(format);
        let transcript_key = output_key(name, TRANSCRIPT_FILE);
        let note_key = output_key(name, note_file);
        let bytes = match self.outputs.get(&transcript_key).await {
            Ok(bytes) => bytes,
            Err(PortError::NotFound(_)) => {
                return Err(StageError::permanent(format!(
                    "the transcript {} is missing",
                    self.outputs.uri(&transcript_key)
                )))
            }
            Err(e) => return Err(StageError::from_port("cannot read the transcript", e)),
        };
        let transcript: TranscriptFile = serde_json::from_slice(&bytes).map_err(|e| {
            StageError::permanent(format!(
                "the transcript is not HealthScribe transcript JSON: {e}"
            ))
        })?;
        let template = job.settings.clinical_note_generation_settings.note_template;
        let note_settings = stages::NoteSettings {
            patient_pronouns: job.settings.patient_pronouns,
        };
        let documentation = stages::documentation_with(&transcript, template, &note_settings)
            .map_err(|e| {
                StageError::permanent(format!("the clinical note failed its evidence check: {e}"))
            })?;
        let codes = stages::medical_codes(&transcript);
        let (note_body, codes_body, content_type) = match format {
            OutputFormat::Encrypted => (
                stages::seal_documentation(&documentation, name, &*self.envelope)
                    .await
                    .map_err(|e| StageError::from_port("cannot encrypt the clinical note", e))?,
                stages::seal_codes(&codes, name, &*self.envelope)
                    .await
                    .map_err(|e| StageError::from_port("cannot encrypt the code suggestions", e))?,
                "application/octet-stream",
            ),
            // Plaintext JSON as HealthScribe writes it; the output store encrypts at rest
            // (SSE-KMS with the stack's key).
            OutputFormat::HealthScribe => (
                to_json(&documentation, "the clinical note")?,
                to_json(&codes, "the code suggestions")?,
                "application/json",
            ),
        };
        // Only ever written after encryption succeeded: a KMS failure leaves no note object. The
        // note goes last: its presence means the job's outputs are whole. Write-once, so a
        // concurrent delivery of the same message changes nothing the first one wrote.
        self.outputs
            .put_new(&output_key(name, codes_file), codes_body, content_type)
            .await
            .map_err(|e| StageError::from_port("cannot write the code suggestions", e))?;
        let written = self
            .outputs
            .put_new(&note_key, note_body, content_type)
            .await
            .map_err(|e| StageError::from_port("cannot write the clinical note", e))?;
        if !written {
            info!("note already written by another delivery; kept as it was");
        }
        let output = MedicalScribeOutput {
            transcript_file_uri: self.outputs.uri(&transcript_key),
            clinical_document_uri: self.outputs.uri(&note_key),
        };
        let completed = match self
            .jobs
            .update(
                name,
                &StatusChange::complete(output, OffsetDateTime::now_utc()),
            )
            .await
        {
            Ok(job) => job,
            Err(PortError::StateConflict { actual, .. }) => return Ok(already_finished(actual)),
            Err(e) => return Err(StageError::from_port("cannot mark the job COMPLETED", e)),
        };
        let duration = completed.completion_time.map_or(0.0, |done| {
            (done - completed.creation_time).as_seconds_f64()
        });
        let sections = &documentation.clinical_documentation.sections;
        info!(
            template = %template,
            output_format = %format,
            sections = sections.len(),
            sentences = sections.iter().map(|s| s.summary.len()).sum::<usize>(),
            codes = codes.medical_codes.codes.len(),
            job_seconds = duration,
            "job COMPLETED"
        );
        self.metrics.emit(
            STAGE_NOTE,
            name,
            &[(JOB_DURATION_SECONDS, duration, Unit::Seconds)],
        );
        Ok(StepOutcome::Done)
    }
}

fn to_json<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, StageError> {
    serde_json::to_vec_pretty(value)
        .map_err(|e| StageError::permanent(format!("cannot serialise {what}: {e}")))
}

fn skipped_missing() -> StepOutcome {
    warn!("no such job; message dropped");
    StepOutcome::Skipped {
        reason: "no such job".into(),
    }
}

fn already_finished(status: JobStatus) -> StepOutcome {
    info!(status = %status, "job already finished; redelivery acknowledged");
    StepOutcome::AlreadyFinished { status }
}

/// Permanent errors end the job FAILED and consume the message; transient ones are handed back.
async fn settle(
    jobs: &dyn JobStore,
    metrics: &Metrics,
    stage: &'static str,
    job_name: &str,
    result: Result<StepOutcome, StageError>,
) -> Result<StepOutcome, StageError> {
    match result {
        Err(StageError::Permanent { reason }) => {
            mark_failed(jobs, metrics, stage, job_name, &reason).await?;
            Ok(StepOutcome::Failed { reason })
        }
        other => other,
    }
}

/// Moves the job to FAILED unless it already finished. `true` if this call failed it.
pub async fn mark_failed(
    jobs: &dyn JobStore,
    metrics: &Metrics,
    stage: &str,
    job_name: &str,
    reason: &str,
) -> Result<bool, StageError> {
    match jobs
        .update(
            job_name,
            &StatusChange::fail(reason, OffsetDateTime::now_utc()),
        )
        .await
    {
        Ok(_) => {
            warn!(reason, "job FAILED");
            metrics.job_failed(stage, job_name);
            Ok(true)
        }
        Err(PortError::StateConflict { .. } | PortError::NotFound(_)) => Ok(false),
        Err(e) => Err(StageError::from_port("cannot mark the job FAILED", e)),
    }
}

/// A message that reached the stage's dead-letter queue: its retries are spent.
pub async fn fail_after_retries(
    jobs: &dyn JobStore,
    metrics: &Metrics,
    stage: &str,
    job_name: &str,
) -> Result<StepOutcome, StageError> {
    let reason = format!("processing failed repeatedly at stage {stage}");
    if mark_failed(jobs, metrics, stage, job_name, &reason).await? {
        Ok(StepOutcome::Failed { reason })
    } else {
        Ok(StepOutcome::Skipped {
            reason: "the job had already finished".into(),
        })
    }
}

/// A stage driven by SQS messages `{"JobName": …}`.
#[async_trait]
pub trait QueueStage: Send + Sync {
    fn stage_name(&self) -> &'static str;
    fn jobs(&self) -> &dyn JobStore;
    fn metrics(&self) -> &Metrics;
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
    fn metrics(&self) -> &Metrics {
        &self.metrics
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
    fn metrics(&self) -> &Metrics {
        &self.metrics
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
                fail_after_retries(stage.jobs(), stage.metrics(), stage_name, &message.job_name)
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
