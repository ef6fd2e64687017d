use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use veriscribe_aws::clients::{dynamodb_client, s3_client};
use veriscribe_aws::stages::{process_sqs_event, NoteStage, OutputLayout};
use veriscribe_aws::{Config, DynamoJobStore, Metrics, S3ObjectStore};
use veriscribe_crypto::{aws_sdk_kms, KmsEnvelope};

/// The stage and this function's dead-letter queue ARN.
pub struct GenerateNote {
    pub stage: NoteStage,
    pub dead_letter_queue_arn: Option<String>,
}

pub async fn build(config: &Config, sdk: &aws_config::SdkConfig) -> Result<GenerateNote, Error> {
    let envelope = KmsEnvelope::new(aws_sdk_kms::Client::new(sdk), config.kms_key_id()?).await?;
    Ok(GenerateNote {
        stage: NoteStage {
            jobs: Arc::new(DynamoJobStore::new(
                dynamodb_client(sdk),
                &config.jobs_table,
                config.job_ttl_days,
            )),
            // SSE-KMS asked for explicitly: the `healthscribe` output format writes plaintext
            // JSON whose only protection at rest is this.
            outputs: Arc::new(
                S3ObjectStore::new(
                    s3_client(sdk),
                    config.output_bucket()?,
                    &config.output_prefix,
                )
                .with_sse_kms(config.kms_key_id()?),
            ),
            envelope: Arc::new(envelope),
            layout: OutputLayout::JobFolders,
            events: Arc::new(Metrics::stdout(&config.metrics_namespace)),
        },
        dead_letter_queue_arn: config.dead_letter_queue_arn.clone(),
    })
}

/// Retryable failures come back as batch item failures; the rest were settled in the stage.
pub async fn handle(
    function: &GenerateNote,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(process_sqs_event(
        &function.stage,
        &event.payload,
        function.dead_letter_queue_arn.as_deref(),
    )
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use lambda_runtime::Context;
    use veriscribe_aws::testing::{collecting_metrics, MemoryJobStore, MemoryObjects};
    use veriscribe_core::formats::{JobStatus, MedicalScribeJob, StatusChange};
    use veriscribe_core::ports::{EncryptionContext, Envelope, JobStore, ObjectStore, PortError};
    use veriscribe_core::stages::{
        open_codes, open_documentation, transcript_from_dialogue, ConversationSettings,
    };

    /// An envelope whose KMS calls fail: either throttled (retryable) or a disabled key.
    struct FailingKms {
        retryable: bool,
    }

    #[async_trait]
    impl Envelope for FailingKms {
        async fn encrypt(&self, _: &[u8], _: &EncryptionContext) -> Result<Vec<u8>, PortError> {
            Err(if self.retryable {
                PortError::Transient {
                    message: "KMS ThrottlingException".into(),
                }
            } else {
                PortError::Permanent {
                    message: "KMS DisabledException: key is disabled".into(),
                }
            })
        }
        async fn decrypt(&self, _: &[u8], _: &EncryptionContext) -> Result<Vec<u8>, PortError> {
            unreachable!("the note stage never decrypts")
        }
    }

    /// An envelope that "seals" by prefixing the context, and opens only with the same context.
    struct ContextCheckingEnvelope;

    #[async_trait]
    impl Envelope for ContextCheckingEnvelope {
        async fn encrypt(
            &self,
            plaintext: &[u8],
            context: &EncryptionContext,
        ) -> Result<Vec<u8>, PortError> {
            let mut sealed = serde_json::to_vec(context).unwrap();
            sealed.push(b'\n');
            sealed.extend_from_slice(plaintext);
            Ok(sealed)
        }
        async fn decrypt(
            &self,
            message: &[u8],
            expected_context: &EncryptionContext,
        ) -> Result<Vec<u8>, PortError> {
            let split = message.iter().position(|&b| b == b'\n').unwrap();
            let context: EncryptionContext = serde_json::from_slice(&message[..split]).unwrap();
            if &context != expected_context {
                return Err(PortError::Permanent {
                    message: "encryption context mismatch".into(),
                });
            }
            Ok(message[split + 1..].to_vec())
        }
    }

    async fn rig(
        envelope: Arc<dyn Envelope>,
    ) -> (Arc<MemoryJobStore>, Arc<MemoryObjects>, GenerateNote) {
        rig_with(envelope, Default::default()).await
    }

    async fn rig_with(
        envelope: Arc<dyn Envelope>,
        settings: veriscribe_core::formats::JobSettings,
    ) -> (Arc<MemoryJobStore>, Arc<MemoryObjects>, GenerateNote) {
        let jobs = MemoryJobStore::new();
        let outputs = MemoryObjects::new();
        jobs.create(&MedicalScribeJob::new_queued(
            "job-1",
            "s3://rec/recordings/a.wav",
            settings,
            Vec::new(),
            time::OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
        jobs.update(
            "job-1",
            &StatusChange::start(time::OffsetDateTime::now_utc()),
        )
        .await
        .unwrap();
        let transcript = transcript_from_dialogue(
            "[doctor] What brings you in today?\n[patient] I have had a cough for two weeks.\n",
            &ConversationSettings {
                job_name: "job-1".into(),
                ..Default::default()
            },
        )
        .unwrap();
        outputs.insert(
            "job-1/transcript.json",
            serde_json::to_vec(&transcript).unwrap(),
        );
        let (metrics, _) = collecting_metrics();
        let function = GenerateNote {
            stage: NoteStage {
                jobs: jobs.clone(),
                outputs: outputs.clone(),
                envelope,
                layout: OutputLayout::JobFolders,
                events: Arc::new(metrics),
            },
            dead_letter_queue_arn: None,
        };
        (jobs, outputs, function)
    }

    fn sqs(job: &str) -> LambdaEvent<SqsEvent> {
        let payload: SqsEvent = serde_json::from_value(serde_json::json!({
            "Records": [{
                "messageId": "m-1",
                "body": format!("{{\"JobName\":\"{job}\"}}"),
                "attributes": {},
                "messageAttributes": {},
                "eventSourceARN": "arn:aws:sqs:us-east-1:1:note"
            }]
        }))
        .unwrap();
        LambdaEvent::new(payload, Context::default())
    }

    #[tokio::test]
    async fn a_completed_job_has_a_sealed_note_and_sealed_code_suggestions() {
        let envelope = Arc::new(ContextCheckingEnvelope);
        let (jobs, outputs, function) = rig(envelope.clone()).await;
        let response = handle(&function, sqs("job-1")).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(
            jobs.snapshot("job-1").unwrap().medical_scribe_job_status,
            JobStatus::Completed
        );
        let mut keys = outputs.keys();
        keys.sort();
        assert_eq!(
            keys,
            [
                "job-1/codes.json.encrypted",
                "job-1/summary.json.encrypted",
                "job-1/transcript.json"
            ]
        );
        let sealed = outputs.get("job-1/codes.json.encrypted").await.unwrap();
        let codes = open_codes(&sealed, "job-1", &*envelope).await.unwrap();
        // "I have had a cough for two weeks": the patient's cough.
        assert_eq!(codes.medical_codes.codes[0].code, "R05.9");
        assert!(open_documentation(&sealed, "job-1", &*envelope)
            .await
            .is_err());
    }

    /// Concurrent deliveries of one message (SQS is at-least-once): one set of outputs, written
    /// once, and a delivery after COMPLETED writes nothing.
    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_and_late_deliveries_write_each_output_once() {
        let envelope = Arc::new(ContextCheckingEnvelope);
        let (jobs, outputs, function) = rig(envelope.clone()).await;
        let function = Arc::new(function);
        let deliveries: Vec<_> = (0..3)
            .map(|_| {
                let function = function.clone();
                tokio::spawn(async move { handle(&function, sqs("job-1")).await.unwrap() })
            })
            .collect();
        for delivery in deliveries {
            assert!(delivery.await.unwrap().batch_item_failures.is_empty());
        }
        assert_eq!(outputs.keys().len(), 3);
        let job = jobs.snapshot("job-1").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::Completed);
        let note = outputs.get("job-1/summary.json.encrypted").await.unwrap();
        // A late redelivery after COMPLETED: nothing changes.
        outputs.insert("job-1/summary.json.encrypted", b"sentinel".to_vec());
        handle(&function, sqs("job-1")).await.unwrap();
        assert_eq!(
            outputs.get("job-1/summary.json.encrypted").await.unwrap(),
            b"sentinel"
        );
        assert_eq!(jobs.snapshot("job-1").unwrap(), job);
        assert!(open_documentation(&note, "job-1", &*envelope).await.is_ok());
    }

    /// `healthscribe`: plaintext `summary.json` / `codes.json` that parse as HealthScribe's
    /// documentation; the envelope is never called.
    #[tokio::test]
    async fn the_healthscribe_output_format_writes_plain_healthscribe_json() {
        let settings = veriscribe_core::formats::JobSettings {
            output_format: veriscribe_core::formats::OutputFormat::HealthScribe,
            ..Default::default()
        };
        let (jobs, outputs, function) =
            rig_with(Arc::new(FailingKms { retryable: false }), settings).await;
        let response = handle(&function, sqs("job-1")).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let job = jobs.snapshot("job-1").unwrap();
        assert_eq!(
            job.medical_scribe_job_status,
            JobStatus::Completed,
            "{:?}",
            job.failure_reason
        );
        let mut keys = outputs.keys();
        keys.sort();
        assert_eq!(
            keys,
            [
                "job-1/codes.json",
                "job-1/summary.json",
                "job-1/transcript.json"
            ]
        );
        assert_eq!(
            job.medical_scribe_output.unwrap().clinical_document_uri,
            "mem://job-1/summary.json"
        );
        let note: veriscribe_core::formats::ClinicalDocumentationFile =
            serde_json::from_slice(&outputs.get("job-1/summary.json").await.unwrap()).unwrap();
        assert!(!note.clinical_documentation.sections.is_empty());
        let codes: veriscribe_core::formats::MedicalCodesFile =
            serde_json::from_slice(&outputs.get("job-1/codes.json").await.unwrap()).unwrap();
        assert_eq!(codes.medical_codes.codes[0].code, "R05.9");
    }

    #[tokio::test]
    async fn kms_throttling_is_retried_and_writes_nothing() {
        let (jobs, outputs, function) = rig(Arc::new(FailingKms { retryable: true })).await;
        let response = handle(&function, sqs("job-1")).await.unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(outputs.keys(), vec!["job-1/transcript.json".to_string()]);
        assert_eq!(
            jobs.snapshot("job-1").unwrap().medical_scribe_job_status,
            JobStatus::InProgress
        );
    }

    #[tokio::test]
    async fn a_disabled_key_fails_the_job_and_no_note_is_written() {
        let (jobs, outputs, function) = rig(Arc::new(FailingKms { retryable: false })).await;
        let response = handle(&function, sqs("job-1")).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(outputs.keys(), vec!["job-1/transcript.json".to_string()]);
        let job = jobs.snapshot("job-1").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
        assert!(job
            .failure_reason
            .unwrap()
            .starts_with("cannot encrypt the clinical note"));
    }

    #[tokio::test]
    async fn a_missing_transcript_fails_the_job() {
        let (jobs, _, function) = rig(Arc::new(FailingKms { retryable: false })).await;
        jobs.create(&MedicalScribeJob::new_queued(
            "job-2",
            "s3://rec/recordings/b.wav",
            Default::default(),
            Vec::new(),
            time::OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
        jobs.update(
            "job-2",
            &StatusChange::start(time::OffsetDateTime::now_utc()),
        )
        .await
        .unwrap();
        handle(&function, sqs("job-2")).await.unwrap();
        let job = jobs.snapshot("job-2").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
        assert!(
            job.failure_reason.unwrap().contains("transcript"),
            "reason names the transcript"
        );
    }
}
