//! Starting a job: the record is created `QUEUED` (one per request: a conditional create) and
//! handed to the transcribe step once. A repeated start hands it off again only if no earlier
//! attempt did and the job is unfinished.

use serde::Serialize;
use time::OffsetDateTime;
use tracing::{info, warn};
use veriscribe_core::formats::{JobSettings, MedicalScribeJob, StatusChange};
use veriscribe_core::ports::{
    HandoffLedger, JobEvents, JobStore, PortError, StepMessage, StepQueue,
};

use crate::error::StageError;
use crate::STAGE_START;

/// What [`submit`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "Outcome")]
pub enum Submitted {
    /// New job, QUEUED, handed to the transcribe step.
    Queued { job_name: String },
    /// The job already existed. `resent`: no earlier attempt had handed it off, so this one did.
    Duplicate { job_name: String, resent: bool },
}

/// Creates `job` (QUEUED) and hands it to `transcribe_queue`, once.
pub async fn submit(
    jobs: &dyn JobStore,
    handoff: &dyn HandoffLedger,
    transcribe_queue: &dyn StepQueue,
    events: &dyn JobEvents,
    job: &MedicalScribeJob,
) -> Result<Submitted, StageError> {
    let job_name = job.medical_scribe_job_name.clone();
    let duplicate = match jobs.create(job).await {
        Ok(()) => false,
        Err(PortError::AlreadyExists(_)) => true,
        Err(e) => return Err(StageError::from_port("cannot create the job", e)),
    };
    if duplicate {
        let existing = jobs
            .get(&job_name)
            .await
            .map_err(|e| StageError::from_port("cannot read the existing job", e))?;
        let handed_off = handoff
            .is_handed_off(&job_name)
            .await
            .map_err(|e| StageError::from_port("cannot read the existing job", e))?;
        if existing.medical_scribe_job_status.is_terminal() || handed_off {
            info!(status = %existing.medical_scribe_job_status, "duplicate start ignored");
            return Ok(Submitted::Duplicate {
                job_name,
                resent: false,
            });
        }
        info!("job exists but was never handed off; handing it off now");
    }
    transcribe_queue
        .send(&StepMessage::new(&job_name))
        .await
        .map_err(|e| StageError::from_port("cannot queue the job", e))?;
    handoff
        .mark_handed_off(&job_name)
        .await
        .map_err(|e| StageError::from_port("cannot record the hand-off", e))?;
    info!("job QUEUED");
    if !duplicate {
        events.started(&job_name);
    }
    Ok(if duplicate {
        Submitted::Duplicate {
            job_name,
            resent: true,
        }
    } else {
        Submitted::Queued { job_name }
    })
}

/// A request that cannot be processed: one FAILED record with `reason` (still one record per
/// request, so a repeated start finds it) and no hand-off. `true` if this call created it.
pub async fn reject(
    jobs: &dyn JobStore,
    events: &dyn JobEvents,
    job_name: &str,
    media_uri: String,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool, StageError> {
    let mut job =
        MedicalScribeJob::new_queued(job_name, media_uri, JobSettings::default(), Vec::new(), now);
    StatusChange::fail(reason, now).apply(&mut job);
    match jobs.create(&job).await {
        Ok(()) => {
            warn!(reason = %reason, "request rejected; job FAILED");
            events.failed(STAGE_START, job_name);
            Ok(true)
        }
        Err(PortError::AlreadyExists(_)) => {
            info!("repeated start of a rejected request");
            Ok(false)
        }
        Err(e) => Err(StageError::from_port("cannot record the rejected job", e)),
    }
}
