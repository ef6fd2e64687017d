//! The note step: transcript → clinical documentation and code suggestions → sealed outputs
//! (codes first, the note last: its presence means the job's outputs are whole) → COMPLETED.

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;
use tracing::info;
use veriscribe_core::formats::{
    ClinicalDocumentationFile, JobSettings, JobStatus, MedicalScribeJob, MedicalScribeOutput,
    OutputFormat, StatusChange, TranscriptFile,
};
use veriscribe_core::ports::{Envelope, JobEvents, JobStore, NoteStats, ObjectStore, PortError};
use veriscribe_core::stages::{self, NoteSettings, TRANSCRIPT_FILE};

use crate::error::StageError;
use crate::settle::{already_finished, settle, skipped_missing, StepOutcome};
use crate::{OutputLayout, STAGE_NOTE};

pub struct NoteStage {
    pub jobs: Arc<dyn JobStore>,
    pub outputs: Arc<dyn ObjectStore>,
    pub layout: OutputLayout,
    pub envelope: Arc<dyn Envelope>,
    pub events: Arc<dyn JobEvents>,
}

/// The note the job's settings ask for: its custom template when it has one, else its
/// HealthScribe template; with what is known about the patient.
pub fn job_documentation(
    transcript: &TranscriptFile,
    settings: &JobSettings,
) -> Result<ClinicalDocumentationFile, StageError> {
    let note_settings = NoteSettings {
        patient_pronouns: settings.patient_pronouns,
    };
    let documentation = match &settings.custom_template {
        Some(custom) => stages::custom_documentation_with(transcript, custom, &note_settings),
        None => stages::documentation_with(
            transcript,
            settings.clinical_note_generation_settings.note_template,
            &note_settings,
        ),
    };
    documentation.map_err(|e| {
        StageError::permanent(format!("the clinical note failed its evidence check: {e}"))
    })
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
        settle(&*self.jobs, &*self.events, STAGE_NOTE, job_name, result).await
    }

    async fn write_note(&self, job: &MedicalScribeJob) -> Result<StepOutcome, StageError> {
        let name = &job.medical_scribe_job_name;
        let stage_started = std::time::Instant::now();
        let format = job.settings.output_format;
        let (note_file, codes_file) = stages::output_files(format);
        let transcript_key = self.layout.key(name, TRANSCRIPT_FILE);
        let note_key = self.layout.key(name, note_file);
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
        let documentation = job_documentation(&transcript, &job.settings)?;
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
            .put_new(&self.layout.key(name, codes_file), codes_body, content_type)
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
        let job_seconds = completed.completion_time.map_or(0.0, |done| {
            (done - completed.creation_time).as_seconds_f64()
        });
        let sections = &documentation.clinical_documentation.sections;
        let stats = NoteStats {
            template: job.settings.clinical_note_generation_settings.note_template,
            custom_template: job.settings.custom_template.is_some(),
            sections: sections.len(),
            sentences: sections.iter().map(|s| s.summary.len()).sum(),
            codes: codes.medical_codes.codes.len(),
            job_seconds,
            stage_seconds: stage_started.elapsed().as_secs_f64(),
        };
        info!(
            template = %stats.template,
            custom_template = stats.custom_template,
            output_format = %format,
            sections = stats.sections,
            sentences = stats.sentences,
            codes = stats.codes,
            job_seconds,
            "job COMPLETED"
        );
        self.events.completed(name, &stats);
        Ok(StepOutcome::Done)
    }
}

fn to_json<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, StageError> {
    serde_json::to_vec_pretty(value)
        .map_err(|e| StageError::permanent(format!("cannot serialise {what}: {e}")))
}
