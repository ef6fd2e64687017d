use std::sync::Arc;

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{Diagnostic, Error, LambdaEvent};
use veriscribe_aws::clients::{dynamodb_client, s3_client, sqs_client};
use veriscribe_aws::stages::{StartJob, StartOutcome, UploadPolicy};
use veriscribe_aws::{Config, DynamoJobStore, Metrics, S3Recordings, SqsStepQueue};

/// Builds the stage from the environment's config and one SDK config (once per container).
pub fn build(config: &Config, sdk: &aws_config::SdkConfig) -> Result<StartJob, Error> {
    let jobs = Arc::new(DynamoJobStore::new(
        dynamodb_client(sdk),
        &config.jobs_table,
        config.job_ttl_days,
    ));
    Ok(StartJob {
        jobs: jobs.clone(),
        handoff: jobs,
        recordings: Arc::new(S3Recordings::new(s3_client(sdk))),
        transcribe_queue: Arc::new(SqsStepQueue::new(
            sqs_client(sdk),
            config.transcribe_queue_url()?,
        )),
        policy: UploadPolicy::from_config(config),
        events: Arc::new(Metrics::stdout(&config.metrics_namespace)),
    })
}

/// Transient failures fail the invocation (S3's asynchronous invoke retries it) with
/// `errorType` `Retryable`; everything else is settled inside (a FAILED row for a bad upload).
pub async fn handle(
    stage: &StartJob,
    event: LambdaEvent<S3Event>,
) -> Result<Vec<StartOutcome>, Diagnostic> {
    Ok(stage.on_event(&event.payload).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Context;
    use veriscribe_aws::testing::{
        collecting_metrics, throttled, MemoryJobStore, MemoryQueue, MemoryRecordings,
    };
    use veriscribe_aws::SettingsDefaults;
    use veriscribe_core::formats::JobStatus;

    struct Rig {
        jobs: Arc<MemoryJobStore>,
        queue: Arc<MemoryQueue>,
        recordings: Arc<MemoryRecordings>,
        stage: StartJob,
    }

    fn rig() -> Rig {
        let jobs = MemoryJobStore::new();
        let queue = MemoryQueue::new();
        let recordings = MemoryRecordings::new();
        let (metrics, _) = collecting_metrics();
        let stage = StartJob {
            jobs: jobs.clone(),
            handoff: jobs.clone(),
            recordings: recordings.clone(),
            transcribe_queue: queue.clone(),
            policy: UploadPolicy {
                recordings_prefix: "recordings/".into(),
                max_audio_bytes: 1000,
                defaults: SettingsDefaults::default(),
            },
            events: Arc::new(metrics),
        };
        Rig {
            jobs,
            queue,
            recordings,
            stage,
        }
    }

    /// The shape real S3 sends for a versioned bucket: key URL-encoded with `+` for spaces.
    fn event(key: &str, version: &str) -> LambdaEvent<S3Event> {
        let payload: S3Event = serde_json::from_value(serde_json::json!({
            "Records": [{
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2025-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "EXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "recordings",
                    "bucket": {"name": "rec", "arn": "arn:aws:s3:::rec"},
                    "object": {"key": key, "size": 10, "eTag": "e", "versionId": version, "sequencer": "0A"}
                }
            }]
        }))
        .unwrap();
        LambdaEvent::new(payload, Context::default())
    }

    #[tokio::test]
    async fn an_upload_queues_one_job_and_a_duplicate_event_adds_nothing() {
        let rig = rig();
        let version = rig.recordings.upload(
            "rec",
            "recordings/visit 1.wav",
            vec![1; 100],
            &[("note-template", "DAP")],
        );
        let first = handle(&rig.stage, event("recordings/visit+1.wav", &version))
            .await
            .unwrap();
        let StartOutcome::Queued { job_name } = &first[0] else {
            panic!("expected a queued job, got {first:?}");
        };
        let again = handle(&rig.stage, event("recordings/visit+1.wav", &version))
            .await
            .unwrap();
        assert_eq!(
            again,
            vec![StartOutcome::Duplicate {
                job_name: job_name.clone(),
                resent: false
            }]
        );
        assert_eq!(rig.jobs.count(), 1);
        assert_eq!(rig.queue.sent().len(), 1);
        assert_eq!(rig.queue.sent()[0].job_name, *job_name);
        let job = rig.jobs.snapshot(job_name).unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::Queued);
        assert_eq!(
            job.media.media_file_uri,
            format!("s3://rec/recordings/visit 1.wav?versionId={version}")
        );
        assert!(job_name.starts_with("job-") && !job_name.contains("visit"));
        assert_eq!(
            job.settings
                .clinical_note_generation_settings
                .note_template
                .as_str(),
            "DAP"
        );
    }

    #[tokio::test]
    async fn throttled_hand_off_is_retried_and_the_retry_sends_exactly_once() {
        let rig = rig();
        let v = rig
            .recordings
            .upload("rec", "recordings/a.wav", vec![1; 10], &[]);
        rig.queue.fail_next(throttled());
        let err = handle(&rig.stage, event("recordings/a.wav", &v))
            .await
            .unwrap_err();
        assert_eq!(err.error_type, "Retryable");
        assert!(err.error_message.contains("ThrottlingException"), "{err:?}");
        assert_eq!(
            rig.jobs.count(),
            1,
            "the row is written before the hand-off"
        );
        assert!(rig.queue.sent().is_empty());
        // The retried event finds the row never handed off and sends now.
        let retried = handle(&rig.stage, event("recordings/a.wav", &v))
            .await
            .unwrap();
        assert!(matches!(
            retried[0],
            StartOutcome::Duplicate { resent: true, .. }
        ));
        assert_eq!(rig.queue.sent().len(), 1);
        handle(&rig.stage, event("recordings/a.wav", &v))
            .await
            .unwrap();
        assert_eq!(rig.queue.sent().len(), 1);
    }

    #[tokio::test]
    async fn bad_uploads_end_failed_with_a_reason_and_no_message() {
        let rig = rig();
        let mut versions = std::collections::HashMap::new();
        for (key, bytes, metadata) in [
            ("recordings/notes.txt", vec![1; 10], &[][..]),
            ("recordings/big.wav", vec![1; 1001], &[][..]),
            ("recordings/empty.flac", Vec::new(), &[][..]),
            (
                "recordings/odd.wav",
                vec![1; 10],
                &[("max-speakers", "1")][..],
            ),
        ] {
            versions.insert(key, rig.recordings.upload("rec", key, bytes, metadata));
        }
        let cases = [
            ("recordings/notes.txt", "unsupported file type (.txt)"),
            ("recordings/big.wav", "more than the limit of 1000 bytes"),
            ("recordings/empty.flac", "empty"),
            (
                "recordings/odd.wav",
                "x-amz-meta-max-speakers is \"1\"; expected a number from 2 to 10",
            ),
        ];
        for (key, expected) in cases {
            let outcome = handle(&rig.stage, event(key, &versions[key]))
                .await
                .unwrap();
            let StartOutcome::Rejected { job_name, reason } = &outcome[0] else {
                panic!("{key}: expected a rejection, got {outcome:?}");
            };
            assert!(reason.contains(expected), "{key}: {reason}");
            let job = rig.jobs.snapshot(job_name).unwrap();
            assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
            assert_eq!(job.failure_reason.as_deref(), Some(reason.as_str()));
            // A duplicate of a rejected upload changes nothing.
            handle(&rig.stage, event(key, &versions[key]))
                .await
                .unwrap();
        }
        assert_eq!(rig.jobs.count(), 4);
        assert!(rig.queue.sent().is_empty());
    }

    #[tokio::test]
    async fn events_outside_the_prefix_are_ignored_and_head_throttling_is_retryable() {
        let rig = rig();
        let outcome = handle(&rig.stage, event("output/x.wav", "v9"))
            .await
            .unwrap();
        assert!(matches!(outcome[0], StartOutcome::Ignored { .. }));
        let v = rig
            .recordings
            .upload("rec", "recordings/a.wav", vec![1; 10], &[]);
        rig.recordings.fail_next_head(throttled());
        assert!(handle(&rig.stage, event("recordings/a.wav", &v))
            .await
            .is_err());
        assert_eq!(rig.jobs.count(), 0);
    }
}
