//! The local driver's adapters and loop: an in-process queue between the steps, and a run that
//! takes one job through the same lifecycle the Lambda functions run, in this process.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tracing::warn;
use veriscribe_core::formats::MedicalScribeJob;
use veriscribe_core::ports::{
    Envelope, HandoffLedger, JobEvents, JobStore, ObjectStore, PortError, Recognizer,
    RecordingSource, StepMessage, StepQueue,
};

use crate::error::StageError;
use crate::note::NoteStage;
use crate::settle::{mark_failed, StepOutcome};
use crate::start::{submit, Submitted};
use crate::transcribe::TranscribeStage;
use crate::OutputLayout;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A FIFO of step messages, and the hand-off ledger of the jobs sent through it. Both live as
/// long as the process: a job left unfinished by an earlier process was handed off to no one
/// alive, so starting it again hands it off again.
#[derive(Debug, Default)]
pub struct InProcessQueue {
    messages: Mutex<VecDeque<StepMessage>>,
    handed_off: Mutex<BTreeSet<String>>,
}

impl InProcessQueue {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn pop(&self) -> Option<StepMessage> {
        lock(&self.messages).pop_front()
    }

    pub fn len(&self) -> usize {
        lock(&self.messages).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl StepQueue for InProcessQueue {
    async fn send(&self, message: &StepMessage) -> Result<(), PortError> {
        lock(&self.messages).push_back(message.clone());
        Ok(())
    }
}

#[async_trait]
impl HandoffLedger for InProcessQueue {
    async fn is_handed_off(&self, job_name: &str) -> Result<bool, PortError> {
        Ok(lock(&self.handed_off).contains(job_name))
    }

    async fn mark_handed_off(&self, job_name: &str) -> Result<(), PortError> {
        lock(&self.handed_off).insert(job_name.to_string());
        Ok(())
    }
}

/// The whole lifecycle in one process: submit, then the transcribe and note steps as their
/// messages arrive on in-process queues.
pub struct LocalRun {
    pub jobs: Arc<dyn JobStore>,
    pub events: Arc<dyn JobEvents>,
    pub transcribe_queue: Arc<InProcessQueue>,
    pub note_queue: Arc<InProcessQueue>,
    pub transcribe: TranscribeStage,
    pub note: NoteStage,
}

/// What one local run ended with.
#[derive(Debug, Clone)]
pub struct LocalOutcome {
    pub submitted: Submitted,
    /// The job record after the run (COMPLETED, FAILED, or as an earlier run left it).
    pub job: MedicalScribeJob,
}

impl LocalRun {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        jobs: Arc<dyn JobStore>,
        recordings: Arc<dyn RecordingSource>,
        outputs: Arc<dyn ObjectStore>,
        layout: OutputLayout,
        recognizer: Arc<dyn Recognizer>,
        envelope: Arc<dyn Envelope>,
        events: Arc<dyn JobEvents>,
    ) -> Self {
        let transcribe_queue = InProcessQueue::new();
        let note_queue = InProcessQueue::new();
        Self {
            transcribe: TranscribeStage {
                jobs: jobs.clone(),
                recordings,
                outputs: outputs.clone(),
                layout,
                note_queue: note_queue.clone(),
                recognizer,
                events: events.clone(),
            },
            note: NoteStage {
                jobs: jobs.clone(),
                outputs,
                layout,
                envelope,
                events: events.clone(),
            },
            jobs,
            events,
            transcribe_queue,
            note_queue,
        }
    }

    /// Runs `job` to its end. There is no redelivery in one process, so a transient failure
    /// ends the job FAILED as a permanent one does (with its reason).
    pub async fn run(&self, job: &MedicalScribeJob) -> Result<LocalOutcome, StageError> {
        let name = &job.medical_scribe_job_name;
        let submitted = submit(
            &*self.jobs,
            &*self.transcribe_queue,
            &*self.transcribe_queue,
            &*self.events,
            job,
        )
        .await?;
        loop {
            let (stage, result) = if let Some(message) = self.transcribe_queue.pop() {
                (
                    crate::STAGE_TRANSCRIBE,
                    self.transcribe.run(&message.job_name).await,
                )
            } else if let Some(message) = self.note_queue.pop() {
                (crate::STAGE_NOTE, self.note.run(&message.job_name).await)
            } else {
                break;
            };
            match result {
                Ok(StepOutcome::Failed { .. }) => break,
                Ok(_) => {}
                Err(error) => {
                    warn!(stage, error = %error, "step failed; no redelivery in one process");
                    mark_failed(&*self.jobs, &*self.events, stage, name, &error.to_string())
                        .await?;
                    break;
                }
            }
        }
        let job = self
            .jobs
            .get(name)
            .await
            .map_err(|e| StageError::from_port("cannot read the job", e))?;
        Ok(LocalOutcome { submitted, job })
    }
}
