//! The job status table on DynamoDB. Each item holds the whole `MedicalScribeJob` as JSON
//! (`Job`) plus the indexed fields as top-level attributes, so conditional expressions and the
//! `ByStatus` index work on `MedicalScribeJobStatus`.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use veriscribe_core::formats::{JobStatus, MedicalScribeJob, StatusChange};
/// Remembers whether a job was handed to the next step, so a repeated start after a crash
/// between "row written" and "message sent" sends the message, and a duplicate event does not.
pub use veriscribe_core::ports::HandoffLedger;
use veriscribe_core::ports::{JobStore, PortError};

use crate::error::port_error;

pub const ATTR_NAME: &str = "MedicalScribeJobName";
pub const ATTR_STATUS: &str = "MedicalScribeJobStatus";
pub const ATTR_CREATION_TIME: &str = "CreationTime";
pub const ATTR_EXPIRES_AT: &str = "ExpiresAt";
pub const ATTR_JOB: &str = "Job";
pub const ATTR_FAILURE_REASON: &str = "FailureReason";
/// Set once the job's message is on the transcribe queue.
pub const ATTR_HANDED_OFF: &str = "HandedOff";
pub const STATUS_INDEX: &str = "ByStatus";

#[derive(Debug, Clone)]
pub struct DynamoJobStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl: Duration,
}

impl DynamoJobStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, ttl_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: Duration::from_secs(u64::from(ttl_days) * 86_400),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn read_item(
        &self,
        name: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(ATTR_NAME, AttributeValue::S(name.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error(&format!("cannot read job {name}"), &e))?;
        Ok(output.item)
    }
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

fn job_json(job: &MedicalScribeJob) -> Result<String, PortError> {
    serde_json::to_string(job).map_err(|e| PortError::Permanent {
        message: format!("cannot serialise job {}: {e}", job.medical_scribe_job_name),
    })
}

/// The item's `Job` attribute → the record.
pub fn job_from_item(
    item: &HashMap<String, AttributeValue>,
) -> Result<MedicalScribeJob, PortError> {
    let text = item
        .get(ATTR_JOB)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| PortError::Permanent {
            message: format!("job table item has no {ATTR_JOB} attribute"),
        })?;
    serde_json::from_str(text).map_err(|e| PortError::Permanent {
        message: format!("job table item's {ATTR_JOB} attribute is not a job: {e}"),
    })
}

fn is_conditional_failure<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

#[async_trait]
impl JobStore for DynamoJobStore {
    async fn create(&self, job: &MedicalScribeJob) -> Result<(), PortError> {
        let name = &job.medical_scribe_job_name;
        let expires_at = job.creation_time + self.ttl;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(ATTR_NAME, AttributeValue::S(name.clone()))
            .item(
                ATTR_STATUS,
                AttributeValue::S(job.medical_scribe_job_status.as_str().into()),
            )
            .item(
                ATTR_CREATION_TIME,
                AttributeValue::S(timestamp(job.creation_time)),
            )
            .item(
                ATTR_EXPIRES_AT,
                AttributeValue::N(expires_at.unix_timestamp().to_string()),
            )
            .item(ATTR_JOB, AttributeValue::S(job_json(job)?))
            .condition_expression("attribute_not_exists(#name)")
            .expression_attribute_names("#name", ATTR_NAME);
        if let Some(reason) = &job.failure_reason {
            request = request.item(ATTR_FAILURE_REASON, AttributeValue::S(reason.clone()));
        }
        request.send().await.map_err(|e| {
            if is_conditional_failure(&e) {
                PortError::AlreadyExists(name.clone())
            } else {
                port_error(&format!("cannot create job {name}"), &e)
            }
        })?;
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<MedicalScribeJob, PortError> {
        let item = self
            .read_item(name)
            .await?
            .ok_or_else(|| PortError::NotFound(format!("job {name}")))?;
        job_from_item(&item)
    }

    /// Read, apply the change in memory (`StatusChange::apply`, the same rules as every store),
    /// then write conditional on the status not having moved since the read.
    async fn update(
        &self,
        name: &str,
        change: &StatusChange,
    ) -> Result<MedicalScribeJob, PortError> {
        // A lost race is retried from a fresh read; a few rounds settle any realistic contention.
        for _ in 0..3 {
            let mut job = self.get(name).await?;
            let seen = job.medical_scribe_job_status;
            if !change.apply(&mut job) {
                return Err(PortError::StateConflict {
                    name: name.to_string(),
                    actual: seen,
                });
            }
            let mut update = "SET #status = :new, #job = :job".to_string();
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(ATTR_NAME, AttributeValue::S(name.to_string()))
                .expression_attribute_names("#status", ATTR_STATUS)
                .expression_attribute_names("#job", ATTR_JOB)
                .expression_attribute_values(
                    ":new",
                    AttributeValue::S(job.medical_scribe_job_status.as_str().into()),
                )
                .expression_attribute_values(":seen", AttributeValue::S(seen.as_str().into()))
                .expression_attribute_values(":job", AttributeValue::S(job_json(&job)?))
                .condition_expression("#status = :seen");
            if let Some(reason) = &job.failure_reason {
                update.push_str(", #reason = :reason");
                request = request
                    .expression_attribute_names("#reason", ATTR_FAILURE_REASON)
                    .expression_attribute_values(":reason", AttributeValue::S(reason.clone()));
            }
            match request.update_expression(update).send().await {
                Ok(_) => return Ok(job),
                Err(e) if is_conditional_failure(&e) => continue,
                Err(e) => return Err(port_error(&format!("cannot update job {name}"), &e)),
            }
        }
        let actual = self.get(name).await?.medical_scribe_job_status;
        Err(PortError::StateConflict {
            name: name.to_string(),
            actual,
        })
    }

    async fn list(
        &self,
        status: Option<JobStatus>,
        limit: usize,
    ) -> Result<Vec<MedicalScribeJob>, PortError> {
        let statuses = match status {
            Some(status) => vec![status],
            None => JobStatus::ALL.to_vec(),
        };
        let page = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        let mut jobs = Vec::new();
        for status in statuses {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STATUS_INDEX)
                .key_condition_expression("#status = :status")
                .expression_attribute_names("#status", ATTR_STATUS)
                .expression_attribute_values(":status", AttributeValue::S(status.as_str().into()))
                .scan_index_forward(false)
                .limit(page)
                .send()
                .await
                .map_err(|e| port_error(&format!("cannot list {status} jobs"), &e))?;
            for item in output.items.unwrap_or_default() {
                jobs.push(job_from_item(&item)?);
            }
        }
        jobs.sort_by_key(|job| std::cmp::Reverse(job.creation_time));
        jobs.truncate(limit);
        Ok(jobs)
    }
}

#[async_trait]
impl HandoffLedger for DynamoJobStore {
    async fn is_handed_off(&self, job_name: &str) -> Result<bool, PortError> {
        let item = self
            .read_item(job_name)
            .await?
            .ok_or_else(|| PortError::NotFound(format!("job {job_name}")))?;
        Ok(item
            .get(ATTR_HANDED_OFF)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false))
    }

    async fn mark_handed_off(&self, job_name: &str) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_NAME, AttributeValue::S(job_name.to_string()))
            .update_expression("SET #handed = :yes")
            .condition_expression("attribute_exists(#name)")
            .expression_attribute_names("#handed", ATTR_HANDED_OFF)
            .expression_attribute_names("#name", ATTR_NAME)
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| {
                if is_conditional_failure(&e) {
                    PortError::NotFound(format!("job {job_name}"))
                } else {
                    port_error(&format!("cannot record the hand-off of job {job_name}"), &e)
                }
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, ProvisionedThroughputExceededException,
    };
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    /// Real responses carry the error code; builder-made errors need it set explicitly.
    fn meta(code: &str) -> aws_sdk_dynamodb::error::ErrorMetadata {
        aws_sdk_dynamodb::error::ErrorMetadata::builder()
            .code(code)
            .build()
    }

    fn job(status: JobStatus) -> MedicalScribeJob {
        let mut job = MedicalScribeJob::new_queued(
            "visit-0123456789abcdef",
            "s3://b/recordings/visit.wav",
            Default::default(),
            Vec::new(),
            OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        );
        job.medical_scribe_job_status = status;
        job
    }

    fn item_of(job: &MedicalScribeJob) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                ATTR_NAME.to_string(),
                AttributeValue::S(job.medical_scribe_job_name.clone()),
            ),
            (
                ATTR_STATUS.to_string(),
                AttributeValue::S(job.medical_scribe_job_status.as_str().into()),
            ),
            (
                ATTR_JOB.to_string(),
                AttributeValue::S(serde_json::to_string(job).unwrap()),
            ),
        ])
    }

    fn no_retries(c: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder {
        c.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    }

    #[tokio::test]
    async fn create_writes_indexed_attributes_and_a_lost_condition_is_a_duplicate() {
        let first = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|r| {
                let item = r.item().unwrap();
                r.condition_expression() == Some("attribute_not_exists(#name)")
                    && item.get(ATTR_STATUS) == Some(&AttributeValue::S("QUEUED".into()))
                    && item.get(ATTR_CREATION_TIME)
                        == Some(&AttributeValue::S("2023-11-14T22:13:20Z".into()))
                    && item.get(ATTR_EXPIRES_AT)
                        == Some(&AttributeValue::N(
                            (1_700_000_000 + 90 * 86_400).to_string(),
                        ))
            })
            .then_output(|| {
                aws_sdk_dynamodb::operation::put_item::PutItemOutput::builder().build()
            });
        let duplicate = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .meta(meta("ConditionalCheckFailedException"))
                    .build(),
            )
        });
        let throttled = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
            PutItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message("slow down")
                    .meta(meta("ProvisionedThroughputExceededException"))
                    .build(),
            )
        });
        let client = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&first, &duplicate, &throttled],
            no_retries
        );
        let store = DynamoJobStore::new(client, "jobs", 90);
        let queued = job(JobStatus::Queued);
        store.create(&queued).await.unwrap();
        assert!(matches!(
            store.create(&queued).await,
            Err(PortError::AlreadyExists(name)) if name == "visit-0123456789abcdef"
        ));
        let err = store.create(&queued).await.unwrap_err();
        assert!(err.is_retryable(), "throttling must be retryable: {err}");
    }

    #[tokio::test]
    async fn update_is_conditional_on_the_status_it_read() {
        let read = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .set_item(Some(item_of(&job(JobStatus::Queued))))
                .build()
        });
        let write = mock!(aws_sdk_dynamodb::Client::update_item)
            .match_requests(|r| {
                r.condition_expression() == Some("#status = :seen")
                    && r.expression_attribute_values().unwrap().get(":seen")
                        == Some(&AttributeValue::S("QUEUED".into()))
                    && r.expression_attribute_values().unwrap().get(":new")
                        == Some(&AttributeValue::S("IN_PROGRESS".into()))
            })
            .then_output(|| {
                aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
            });
        let client = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&read, &write],
            no_retries
        );
        let store = DynamoJobStore::new(client, "jobs", 90);
        let updated = store
            .update(
                "visit-0123456789abcdef",
                &StatusChange::start(OffsetDateTime::now_utc()),
            )
            .await
            .unwrap();
        assert_eq!(updated.medical_scribe_job_status, JobStatus::InProgress);
        assert_eq!(write.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_finished_job_is_never_moved_back() {
        let read = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .set_item(Some(item_of(&job(JobStatus::Completed))))
                .build()
        });
        let write = mock!(aws_sdk_dynamodb::Client::update_item).then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .meta(meta("ConditionalCheckFailedException"))
                    .build(),
            )
        });
        let client = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&read, &write],
            no_retries
        );
        let store = DynamoJobStore::new(client, "jobs", 90);
        let err = store
            .update(
                "visit-0123456789abcdef",
                &StatusChange::start(OffsetDateTime::now_utc()),
            )
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            PortError::StateConflict {
                actual: JobStatus::Completed,
                ..
            }
        ));
        assert_eq!(
            write.num_calls(),
            0,
            "no write is attempted for a forbidden move"
        );
    }

    #[tokio::test]
    async fn a_missing_job_is_not_found() {
        let read = mock!(aws_sdk_dynamodb::Client::get_item)
            .then_output(|| GetItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, [&read]);
        let store = DynamoJobStore::new(client, "jobs", 90);
        assert!(matches!(
            store.get("nope").await,
            Err(PortError::NotFound(_))
        ));
    }
}
