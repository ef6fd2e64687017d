use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use veriscribe_aws::clients::{dynamodb_client, s3_client, sqs_client};
use veriscribe_aws::stages::{process_sqs_event, OutputLayout, TranscribeStage};
use veriscribe_aws::{Config, DynamoJobStore, Metrics, S3ObjectStore, S3Recordings, SqsStepQueue};
use veriscribe_core::ports::Recognizer;

/// The stage and this function's dead-letter queue ARN.
pub struct Transcribe {
    pub stage: TranscribeStage,
    pub dead_letter_queue_arn: Option<String>,
}

pub fn build(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    recognizer: Arc<dyn Recognizer>,
) -> Result<Transcribe, Error> {
    let s3 = s3_client(sdk);
    Ok(Transcribe {
        stage: TranscribeStage {
            jobs: Arc::new(DynamoJobStore::new(
                dynamodb_client(sdk),
                &config.jobs_table,
                config.job_ttl_days,
            )),
            recordings: Arc::new(S3Recordings::new(s3.clone())),
            outputs: Arc::new(S3ObjectStore::new(
                s3,
                config.output_bucket()?,
                &config.output_prefix,
            )),
            note_queue: Arc::new(SqsStepQueue::new(sqs_client(sdk), config.note_queue_url()?)),
            recognizer,
            layout: OutputLayout::JobFolders,
            events: Arc::new(Metrics::stdout(&config.metrics_namespace)),
        },
        dead_letter_queue_arn: config.dead_letter_queue_arn.clone(),
    })
}

/// Retryable failures come back as batch item failures; the rest were settled in the stage.
pub async fn handle(
    function: &Transcribe,
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
    use lambda_runtime::Context;
    use veriscribe_asr::{decode_bytes, DecodeOptions, FormatHint};
    use veriscribe_aws::stages::StepOutcome;
    use veriscribe_aws::testing::{
        collecting_metrics, throttled, MemoryJobStore, MemoryObjects, MemoryQueue, MemoryRecordings,
    };
    use veriscribe_core::formats::{JobSettings, JobStatus, MedicalScribeJob};
    use veriscribe_core::ports::{JobStore, PortError, RecognizedAudio, Recording};
    use veriscribe_core::speech::{Recognition, SpokenToken, TokenKind};

    /// Recognition of a fixed two-line exchange; the decode path is the real one, so a file that
    /// is not audio fails as it would in production.
    struct DecodeThenFixedWords;

    impl Recognizer for DecodeThenFixedWords {
        fn recognise(
            &self,
            recording: Recording,
            _settings: &JobSettings,
        ) -> Result<RecognizedAudio, PortError> {
            let hint = recording
                .extension
                .as_deref()
                .map(FormatHint::extension)
                .unwrap_or_default();
            let bytes = recording.into_bytes().unwrap();
            let audio = decode_bytes(bytes, &hint, &DecodeOptions::default()).map_err(|e| {
                PortError::Permanent {
                    message: format!("the recording cannot be decoded: {e}"),
                }
            })?;
            let words = [
                "What", "brings", "you", "in", "today", "?", "I", "have", "a", "cough", ".",
            ];
            let tokens = words
                .iter()
                .enumerate()
                .map(|(i, w)| SpokenToken {
                    text: w.to_string(),
                    kind: if *w == "?" || *w == "." {
                        TokenKind::Punctuation
                    } else {
                        TokenKind::Word
                    },
                    start: i as f64 * 0.4,
                    end: i as f64 * 0.4 + 0.3,
                    confidence: 0.9,
                    channel: None,
                    speaker: None,
                    starts_segment: i == 0 || i == 6,
                })
                .collect();
            Ok(RecognizedAudio {
                recognition: Recognition {
                    tokens,
                    duration_seconds: audio.duration_seconds,
                },
                audio_seconds: audio.duration_seconds,
            })
        }
    }

    fn wav(seconds: f64) -> Vec<u8> {
        let samples = (16_000.0 * seconds) as u32;
        let mut bytes = Vec::new();
        let data_len = samples * 2;
        bytes.extend_from_slice(b"RIFF");
        bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
        bytes.extend_from_slice(b"WAVEfmt ");
        bytes.extend_from_slice(&16u32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&16_000u32.to_le_bytes());
        bytes.extend_from_slice(&32_000u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&16u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&data_len.to_le_bytes());
        for i in 0..samples {
            let v = ((i as f32 * 0.05).sin() * 3000.0) as i16;
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes
    }

    struct Rig {
        jobs: Arc<MemoryJobStore>,
        outputs: Arc<MemoryObjects>,
        notes: Arc<MemoryQueue>,
        recordings: Arc<MemoryRecordings>,
        function: Transcribe,
    }

    async fn rig_with_job(key: &str, bytes: Vec<u8>) -> Rig {
        rig_with_recognizer(key, bytes, Arc::new(DecodeThenFixedWords)).await
    }

    async fn rig_with_recognizer(
        key: &str,
        bytes: Vec<u8>,
        recognizer: Arc<dyn Recognizer>,
    ) -> Rig {
        let jobs = MemoryJobStore::new();
        let outputs = MemoryObjects::new();
        let notes = MemoryQueue::new();
        let recordings = MemoryRecordings::new();
        let version = recordings.upload("rec", key, bytes, &[]);
        jobs.create(&MedicalScribeJob::new_queued(
            "job-1",
            format!("s3://rec/{key}?versionId={version}"),
            Default::default(),
            Vec::new(),
            time::OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
        let (metrics, _) = collecting_metrics();
        let function = Transcribe {
            stage: TranscribeStage {
                jobs: jobs.clone(),
                recordings: recordings.clone(),
                outputs: outputs.clone(),
                note_queue: notes.clone(),
                layout: OutputLayout::JobFolders,
                recognizer,
                events: Arc::new(metrics),
            },
            dead_letter_queue_arn: Some("arn:aws:sqs:us-east-1:1:transcribe-dlq".into()),
        };
        Rig {
            jobs,
            outputs,
            notes,
            recordings,
            function,
        }
    }

    fn sqs(job: &str, source_arn: &str) -> LambdaEvent<SqsEvent> {
        let payload: SqsEvent = serde_json::from_value(serde_json::json!({
            "Records": [{
                "messageId": "m-1",
                "receiptHandle": "r",
                "body": format!("{{\"JobName\":\"{job}\"}}"),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": source_arn,
                "awsRegion": "us-east-1"
            }]
        }))
        .unwrap();
        LambdaEvent::new(payload, Context::default())
    }

    const QUEUE: &str = "arn:aws:sqs:us-east-1:1:transcribe";

    #[tokio::test(flavor = "multi_thread")]
    async fn a_message_writes_the_transcript_and_hands_off_once_even_if_redelivered() {
        let rig = rig_with_job("recordings/a.wav", wav(5.0)).await;
        let response = handle(&rig.function, sqs("job-1", QUEUE)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(
            rig.outputs.keys(),
            vec!["job-1/transcript.json".to_string()]
        );
        assert_eq!(rig.notes.sent().len(), 1);
        let job = rig.jobs.snapshot("job-1").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::InProgress);
        // A redelivery while IN_PROGRESS (the stage was killed before deleting the message)
        // redoes the work: same transcript, the note step runs again, harmlessly.
        handle(&rig.function, sqs("job-1", QUEUE)).await.unwrap();
        assert_eq!(rig.outputs.keys().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn text_renamed_to_wav_fails_the_job_with_a_reason() {
        let rig = rig_with_job(
            "recordings/fake.wav",
            b"this is not audio at all".repeat(20),
        )
        .await;
        let response = handle(&rig.function, sqs("job-1", QUEUE)).await.unwrap();
        assert!(
            response.batch_item_failures.is_empty(),
            "permanent: consumed"
        );
        let job = rig.jobs.snapshot("job-1").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
        let reason = job.failure_reason.unwrap();
        assert!(
            reason.starts_with("the recording cannot be decoded"),
            "{reason}"
        );
        assert!(rig.outputs.keys().is_empty());
        assert!(rig.notes.sent().is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn throttling_is_reported_as_a_batch_item_failure_and_the_job_stays_open() {
        let rig = rig_with_job("recordings/a.wav", wav(5.0)).await;
        rig.notes.fail_next(throttled());
        let response = handle(&rig.function, sqs("job-1", QUEUE)).await.unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(response.batch_item_failures[0].item_identifier, "m-1");
        let job = rig.jobs.snapshot("job-1").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::InProgress);
        // The retry completes the stage.
        let response = handle(&rig.function, sqs("job-1", QUEUE)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(rig.notes.sent().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dead_letters_fail_the_job_and_finished_jobs_are_left_alone() {
        let rig = rig_with_job("recordings/a.wav", wav(5.0)).await;
        let dlq = rig.function.dead_letter_queue_arn.clone().unwrap();
        handle(&rig.function, sqs("job-1", &dlq)).await.unwrap();
        let job = rig.jobs.snapshot("job-1").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
        assert_eq!(
            job.failure_reason.as_deref(),
            Some("processing failed repeatedly at stage transcribe")
        );
        // A stale redelivery for the FAILED job does nothing.
        let outcome = rig.function.stage.run("job-1").await.unwrap();
        assert_eq!(
            outcome,
            StepOutcome::AlreadyFinished {
                status: JobStatus::Failed
            }
        );
        assert!(rig.outputs.keys().is_empty());
        let _ = &rig.recordings;
        // Unknown jobs and malformed bodies are dropped, not retried.
        let response = handle(&rig.function, sqs("nope", QUEUE)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn each_job_transcribes_the_version_that_started_it() {
        let rig = rig_with_job("recordings/a.wav", wav(2.0)).await;
        // The key is overwritten (with something that is not audio) before transcribe runs.
        let second = rig
            .recordings
            .upload("rec", "recordings/a.wav", b"not audio".repeat(40), &[]);
        handle(&rig.function, sqs("job-1", QUEUE)).await.unwrap();
        let job = rig.jobs.snapshot("job-1").unwrap();
        assert_eq!(
            job.medical_scribe_job_status,
            JobStatus::InProgress,
            "the first upload was transcribed: {:?}",
            job.failure_reason
        );
        // The second upload's own job reads the second version.
        rig.jobs
            .create(&MedicalScribeJob::new_queued(
                "job-2",
                format!("s3://rec/recordings/a.wav?versionId={second}"),
                Default::default(),
                Vec::new(),
                time::OffsetDateTime::now_utc(),
            ))
            .await
            .unwrap();
        handle(&rig.function, sqs("job-2", QUEUE)).await.unwrap();
        let job = rig.jobs.snapshot("job-2").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
    }

    struct Panics;

    impl Recognizer for Panics {
        fn recognise(
            &self,
            _recording: Recording,
            _settings: &JobSettings,
        ) -> Result<RecognizedAudio, PortError> {
            panic!("index out of bounds in a decoder");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_crash_in_recognition_fails_the_job_at_the_first_attempt() {
        let rig = rig_with_recognizer("recordings/a.wav", wav(1.0), Arc::new(Panics)).await;
        let response = handle(&rig.function, sqs("job-1", QUEUE)).await.unwrap();
        assert!(
            response.batch_item_failures.is_empty(),
            "not retried: it would crash again"
        );
        let job = rig.jobs.snapshot("job-1").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
        assert!(
            job.failure_reason.as_deref().unwrap().contains("crashed"),
            "{:?}",
            job.failure_reason
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn hostile_headers_fail_at_the_first_attempt_with_their_cause() {
        let mut rate_zero = wav(1.0);
        rate_zero[24..28].copy_from_slice(&0u32.to_le_bytes());
        let mut rate_huge = wav(1.0);
        rate_huge[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut cut = wav(4.0);
        cut.truncate(44 + 32_000);
        for (bytes, expected) in [
            (rate_zero, "no sample rate"),
            (rate_huge, "sample rate of 4294967295 Hz"),
            (cut, "truncated: only 1.0 s of the 4.0 s"),
        ] {
            let rig = rig_with_job("recordings/a.wav", bytes).await;
            let response = handle(&rig.function, sqs("job-1", QUEUE)).await.unwrap();
            assert!(response.batch_item_failures.is_empty(), "{expected}");
            let job = rig.jobs.snapshot("job-1").unwrap();
            assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
            let reason = job.failure_reason.unwrap();
            assert!(reason.contains(expected), "{reason}");
            assert!(rig.outputs.keys().is_empty());
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_deleted_recording_fails_with_a_reason_that_names_no_key() {
        let key = "recordings/Jane Doe 1984-02-03.wav";
        let rig = rig_with_job(key, wav(1.0)).await;
        rig.recordings.delete("rec", key);
        handle(&rig.function, sqs("job-1", QUEUE)).await.unwrap();
        let job = rig.jobs.snapshot("job-1").unwrap();
        assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
        let reason = job.failure_reason.unwrap();
        assert!(reason.contains("no longer exists"), "{reason}");
        assert!(
            !reason.contains("Jane") && !reason.contains("1984"),
            "{reason}"
        );
    }
}
