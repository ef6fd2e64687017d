//! How a step ends: done, already finished (a stale redelivery), or `FAILED` with a reason.

use serde::Serialize;
use time::OffsetDateTime;
use tracing::{info, warn};
use veriscribe_core::formats::{JobStatus, StatusChange};
use veriscribe_core::ports::{JobEvents, JobStore, PortError};

use crate::error::StageError;

/// What a step did with one message.
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

pub(crate) fn skipped_missing() -> StepOutcome {
    warn!("no such job; message dropped");
    StepOutcome::Skipped {
        reason: "no such job".into(),
    }
}

pub(crate) fn already_finished(status: JobStatus) -> StepOutcome {
    info!(status = %status, "job already finished; redelivery acknowledged");
    StepOutcome::AlreadyFinished { status }
}

/// Permanent errors end the job FAILED and consume the message; transient ones are handed back.
pub(crate) async fn settle(
    jobs: &dyn JobStore,
    events: &dyn JobEvents,
    stage: &'static str,
    job_name: &str,
    result: Result<StepOutcome, StageError>,
) -> Result<StepOutcome, StageError> {
    match result {
        Err(StageError::Permanent { reason }) => {
            mark_failed(jobs, events, stage, job_name, &reason).await?;
            Ok(StepOutcome::Failed { reason })
        }
        other => other,
    }
}

/// Moves the job to FAILED unless it already finished. `true` if this call failed it.
pub async fn mark_failed(
    jobs: &dyn JobStore,
    events: &dyn JobEvents,
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
            events.failed(stage, job_name);
            Ok(true)
        }
        Err(PortError::StateConflict { .. } | PortError::NotFound(_)) => Ok(false),
        Err(e) => Err(StageError::from_port("cannot mark the job FAILED", e)),
    }
}

/// A message whose retries are spent (it reached the step's dead-letter queue).
pub async fn fail_after_retries(
    jobs: &dyn JobStore,
    events: &dyn JobEvents,
    stage: &str,
    job_name: &str,
) -> Result<StepOutcome, StageError> {
    let reason = format!("processing failed repeatedly at stage {stage}");
    if mark_failed(jobs, events, stage, job_name, &reason).await? {
        Ok(StepOutcome::Failed { reason })
    } else {
        Ok(StepOutcome::Skipped {
            reason: "the job had already finished".into(),
        })
    }
}
