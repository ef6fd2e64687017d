//! The AWS adapters against the moto server: real SDK requests, real conditional expressions.
//! Needs `AWS_ENDPOINT_URL` (see `scripts/test.sh`); fails with instructions when it is missing.

use time::OffsetDateTime;
use veriscribe_aws::clients::{s3_client, sqs_client};
use veriscribe_aws::testing::moto;
use veriscribe_aws::{
    DynamoJobStore, HandoffLedger, RecordingRef, S3ObjectStore, S3Recordings, SqsStepQueue,
    StepMessage, StepQueue, Uploads,
};
use veriscribe_core::formats::{JobStatus, MedicalScribeJob, MedicalScribeOutput, StatusChange};
use veriscribe_core::ports::{JobStore, ObjectStore, PortError};

fn job(name: &str, at: OffsetDateTime) -> MedicalScribeJob {
    MedicalScribeJob::new_queued(
        name,
        "s3://b/recordings/a.wav",
        Default::default(),
        Vec::new(),
        at,
    )
}

#[tokio::test]
async fn job_table_conditions_hold_on_dynamodb() {
    let sdk = moto::sdk_config().await;
    let table = moto::unique("jobs");
    moto::create_jobs_table(&sdk, &table).await;
    let store = DynamoJobStore::new(veriscribe_aws::clients::dynamodb_client(&sdk), &table, 90);
    let now = OffsetDateTime::now_utc();

    store.create(&job("a", now)).await.unwrap();
    assert!(matches!(
        store.create(&job("a", now)).await,
        Err(PortError::AlreadyExists(_))
    ));
    assert!(!store.is_handed_off("a").await.unwrap());
    store.mark_handed_off("a").await.unwrap();
    assert!(store.is_handed_off("a").await.unwrap());
    assert!(matches!(
        store.mark_handed_off("nope").await,
        Err(PortError::NotFound(_))
    ));

    // QUEUED → IN_PROGRESS → IN_PROGRESS (a retried stage) → COMPLETED, never back.
    store.update("a", &StatusChange::start(now)).await.unwrap();
    store.update("a", &StatusChange::start(now)).await.unwrap();
    let output = MedicalScribeOutput {
        transcript_file_uri: "s3://o/a/transcript.json".into(),
        clinical_document_uri: "s3://o/a/summary.json.encrypted".into(),
    };
    let done = store
        .update("a", &StatusChange::complete(output.clone(), now))
        .await
        .unwrap();
    assert_eq!(done.medical_scribe_output, Some(output));
    for change in [StatusChange::start(now), StatusChange::fail("late", now)] {
        assert!(matches!(
            store.update("a", &change).await,
            Err(PortError::StateConflict {
                actual: JobStatus::Completed,
                ..
            })
        ));
    }
    assert!(
        store.is_handed_off("a").await.unwrap(),
        "updates keep other attributes"
    );
    assert!(matches!(
        store.get("missing").await,
        Err(PortError::NotFound(_))
    ));

    // Listing by status uses the ByStatus index, newest first.
    store
        .create(&job("b", now + time::Duration::seconds(1)))
        .await
        .unwrap();
    store
        .create(&job("c", now + time::Duration::seconds(2)))
        .await
        .unwrap();
    store
        .update("b", &StatusChange::fail("bad audio", now))
        .await
        .unwrap();
    let queued: Vec<_> = store
        .list(Some(JobStatus::Queued), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.medical_scribe_job_name)
        .collect();
    assert_eq!(queued, vec!["c"]);
    let all: Vec<_> = store
        .list(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.medical_scribe_job_name)
        .collect();
    assert_eq!(all, vec!["c", "b", "a"]);
    let failed = store.get("b").await.unwrap();
    assert_eq!(failed.failure_reason.as_deref(), Some("bad audio"));
}

#[tokio::test]
async fn s3_and_sqs_adapters_round_trip() {
    let sdk = moto::sdk_config().await;
    let bucket = moto::unique("vs-out");
    moto::create_bucket(&sdk, &bucket).await;
    let s3 = s3_client(&sdk);
    let store = S3ObjectStore::new(s3.clone(), &bucket, "output/");
    store
        .put("j/transcript.json", b"{}".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(store.get("j/transcript.json").await.unwrap(), b"{}");
    assert_eq!(
        store.uri("j/transcript.json"),
        format!("s3://{bucket}/output/j/transcript.json")
    );
    assert!(matches!(
        store.get("j/none").await,
        Err(PortError::NotFound(_))
    ));

    // A key with spaces and `+`, and user metadata, as an upload would carry.
    s3.put_object()
        .bucket(&bucket)
        .key("recordings/visit 1+2.wav")
        .metadata("note-template", "DAP")
        .body(b"RIFF".to_vec().into())
        .send()
        .await
        .unwrap();
    let recordings = S3Recordings::new(s3.clone());
    let at = |key: &str| RecordingRef {
        bucket: bucket.clone(),
        key: key.to_string(),
        version_id: None,
    };
    let head = recordings
        .head(&at("recordings/visit 1+2.wav"))
        .await
        .unwrap();
    assert_eq!(head.size, 4);
    assert!(head.e_tag.is_some());
    assert_eq!(
        head.metadata.get("note-template").map(String::as_str),
        Some("DAP")
    );
    assert!(matches!(
        recordings.head(&at("recordings/none.wav")).await,
        Err(PortError::NotFound(_))
    ));
    // Profiles and templates beside the recordings: read whole, a missing one is NotFound.
    s3.put_object()
        .bucket(&bucket)
        .key("profiles/cardio.json")
        .body(br#"{"note-template": "DAP"}"#.to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(
        recordings
            .read_control(&bucket, "profiles/cardio.json")
            .await
            .unwrap(),
        br#"{"note-template": "DAP"}"#
    );
    assert!(matches!(
        recordings.read_control(&bucket, "profiles/none.json").await,
        Err(PortError::NotFound(_))
    ));

    let (url, arn) = moto::create_queue(&sdk, &moto::unique("q")).await;
    let queue = SqsStepQueue::new(sqs_client(&sdk), &url);
    queue.send(&StepMessage::new("job-1")).await.unwrap();
    let event = moto::drain_as_event(&sdk, &url, &arn).await;
    assert_eq!(event.records.len(), 1);
    assert_eq!(
        event.records[0].body.as_deref(),
        Some(r#"{"JobName":"job-1"}"#)
    );
}
