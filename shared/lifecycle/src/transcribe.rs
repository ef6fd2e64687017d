//! The transcribe step: recording → HealthScribe transcript → the note step.

use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;
use tracing::info;
use veriscribe_core::formats::{MedicalScribeJob, StatusChange, TranscriptFile};
use veriscribe_core::ports::{
    JobEvents, JobStore, ObjectStore, PortError, Recognizer, RecordingBody, RecordingSource,
    StepMessage, StepQueue, TranscriptStats,
};
use veriscribe_core::stages::{self, ConversationSettings, TRANSCRIPT_FILE};

use crate::error::StageError;
use crate::settle::{already_finished, settle, skipped_missing, StepOutcome};
use crate::{OutputLayout, STAGE_TRANSCRIBE};

/// Recordings with this extension are text dialogues (`[label] text` per line): they are
/// parsed, not recognised.
pub const DIALOGUE_EXTENSION: &str = "txt";

pub struct TranscribeStage {
    pub jobs: Arc<dyn JobStore>,
    pub recordings: Arc<dyn RecordingSource>,
    pub outputs: Arc<dyn ObjectStore>,
    pub layout: OutputLayout,
    pub note_queue: Arc<dyn StepQueue>,
    pub recognizer: Arc<dyn Recognizer>,
    pub events: Arc<dyn JobEvents>,
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
            &*self.events,
            STAGE_TRANSCRIBE,
            job_name,
            result,
        )
        .await
    }

    async fn transcribe(&self, job: &MedicalScribeJob) -> Result<StepOutcome, StageError> {
        let name = &job.medical_scribe_job_name;
        let stage_started = Instant::now();
        let recording = match self.recordings.fetch(&job.media.media_file_uri).await {
            Ok(recording) => recording,
            Err(PortError::NotFound(what)) => {
                return Err(StageError::permanent(format!(
                    "{what} no longer exists: it was deleted before it could be transcribed"
                )))
            }
            Err(e) => return Err(StageError::from_port("cannot read the recording", e)),
        };
        let audio_bytes = match &recording.body {
            RecordingBody::Bytes(bytes) => Some(bytes.len()),
            RecordingBody::File(_) => None,
        };
        let conversation_settings = ConversationSettings::for_job(job);
        let (transcript, audio_seconds, recognition_seconds) =
            if recording.extension.as_deref() == Some(DIALOGUE_EXTENSION) {
                let bytes = recording.into_bytes().map_err(|e| {
                    StageError::permanent(format!("the text dialogue cannot be read: {e}"))
                })?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| StageError::permanent("the text dialogue is not UTF-8 text"))?;
                let transcript = stages::transcript_from_dialogue(&text, &conversation_settings)
                    .map_err(|e| StageError::permanent(e.to_string()))?;
                (transcript, None, None)
            } else {
                let started = Instant::now();
                let recognized = self.recognise(recording, job).await?;
                let recognition_seconds = started.elapsed().as_secs_f64();
                let transcript = stages::transcript_from_recognition(
                    &recognized.recognition,
                    &conversation_settings,
                );
                (
                    transcript,
                    Some(recognized.audio_seconds),
                    Some(recognition_seconds),
                )
            };
        self.write(name, &transcript).await?;
        self.note_queue
            .send(&StepMessage::new(name))
            .await
            .map_err(|e| StageError::from_port("cannot queue the note step", e))?;
        let stats = TranscriptStats {
            audio_seconds,
            recognition_seconds,
            segments: transcript.conversation.transcript_segments.len(),
            insights: transcript.conversation.clinical_insights.len(),
            stage_seconds: stage_started.elapsed().as_secs_f64(),
        };
        info!(
            audio_bytes,
            audio_seconds,
            recognition_seconds,
            segments = stats.segments,
            insights = stats.insights,
            "transcript written"
        );
        self.events.transcribed(name, &stats);
        Ok(StepOutcome::Done)
    }

    async fn recognise(
        &self,
        recording: veriscribe_core::ports::Recording,
        job: &MedicalScribeJob,
    ) -> Result<veriscribe_core::ports::RecognizedAudio, StageError> {
        let settings = job.settings.clone();
        let recognizer = self.recognizer.clone();
        let recognized =
            tokio::task::spawn_blocking(move || recognizer.recognise(recording, &settings))
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
                })?;
        Ok(recognized?)
    }

    /// Write-once: a concurrent or redelivered message leaves the first transcript as it is.
    async fn write(&self, name: &str, transcript: &TranscriptFile) -> Result<(), StageError> {
        let body = serde_json::to_vec_pretty(transcript)
            .map_err(|e| StageError::permanent(format!("cannot serialise the transcript: {e}")))?;
        let written = self
            .outputs
            .put_new(
                &self.layout.key(name, TRANSCRIPT_FILE),
                body,
                "application/json",
            )
            .await
            .map_err(|e| StageError::from_port("cannot write the transcript", e))?;
        if !written {
            info!("transcript already written by an earlier delivery; kept as it was");
        }
        Ok(())
    }
}
