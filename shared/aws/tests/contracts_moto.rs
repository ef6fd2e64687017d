//! The shared suites over the AWS adapters on the moto server: the `JobStore` contract on
//! DynamoDB (and on the in-memory fake the handler tests use), and the job lifecycle over
//! DynamoDB, S3, SQS and KMS. Needs `AWS_ENDPOINT_URL` (scripts/test.sh starts moto); fails,
//! not skips, when it is missing.

use std::sync::Arc;

use async_trait::async_trait;
use veriscribe_aws::clients::{dynamodb_client, s3_client, sqs_client};
use veriscribe_aws::testing::{moto, MemoryJobStore};
use veriscribe_aws::{DynamoJobStore, S3ObjectStore, S3Recordings, SqsStepQueue};
use veriscribe_core::formats::JobSettings;
use veriscribe_core::ports::{PortError, RecognizedAudio, Recognizer, Recording, StepMessage};
use veriscribe_crypto::{aws_sdk_kms, KmsEnvelope};
use veriscribe_lifecycle::contract::{job_store_contract, lifecycle_contract, Inbox, LifecycleRig};
use veriscribe_lifecycle::OutputLayout;

#[tokio::test]
async fn dynamodb_keeps_the_job_state_machine() {
    let sdk = moto::sdk_config().await;
    let table = moto::unique("contract-jobs");
    moto::create_jobs_table(&sdk, &table).await;
    let store = DynamoJobStore::new(dynamodb_client(&sdk), &table, 90);
    job_store_contract(&store, &moto::unique("job")).await;
}

#[tokio::test]
async fn the_in_memory_fake_keeps_the_same_state_machine() {
    job_store_contract(&*MemoryJobStore::new(), "memory").await;
}

struct SqsInbox {
    client: aws_sdk_sqs::Client,
    url: String,
}

#[async_trait]
impl Inbox for SqsInbox {
    async fn take(&self) -> Vec<StepMessage> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive from moto");
        let mut messages = Vec::new();
        for message in output.messages.unwrap_or_default() {
            if let Some(handle) = &message.receipt_handle {
                self.client
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete from moto");
            }
            messages.push(
                StepMessage::from_body(message.body().unwrap_or_default()).expect("a step message"),
            );
        }
        messages
    }
}

struct NeverAsked;

impl Recognizer for NeverAsked {
    fn recognise(&self, _: Recording, _: &JobSettings) -> Result<RecognizedAudio, PortError> {
        panic!("a text dialogue was sent to speech recognition")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lifecycle_over_the_aws_adapters() {
    let sdk = moto::sdk_config().await;
    let table = moto::unique("contract-jobs");
    moto::create_jobs_table(&sdk, &table).await;
    let recordings = moto::unique("contract-rec");
    let outputs = moto::unique("contract-out");
    moto::create_bucket(&sdk, &recordings).await;
    moto::create_bucket(&sdk, &outputs).await;
    let s3 = s3_client(&sdk);
    s3.put_object()
        .bucket(&recordings)
        .key("recordings/visit.txt")
        .body(
            "[doctor] Hello, what brings you in today?\n\
             [patient] I have had a cough for two weeks and some wheezing at night.\n\
             [doctor] Any fever?\n\
             [patient] No fever.\n\
             [doctor] Your lungs sound clear. Let's start an inhaler and check back in two weeks.\n"
                .as_bytes()
                .to_vec()
                .into(),
        )
        .send()
        .await
        .unwrap();
    let (transcribe_url, _) = moto::create_queue(&sdk, &moto::unique("contract-transcribe")).await;
    let (note_url, _) = moto::create_queue(&sdk, &moto::unique("contract-note")).await;
    let key_arn = aws_sdk_kms::Client::new(&sdk)
        .create_key()
        .send()
        .await
        .expect("create a KMS key on moto")
        .key_metadata
        .and_then(|m| m.arn)
        .expect("key ARN");
    let envelope = KmsEnvelope::new(aws_sdk_kms::Client::new(&sdk), key_arn)
        .await
        .unwrap();
    let jobs = Arc::new(DynamoJobStore::new(dynamodb_client(&sdk), &table, 90));
    let rig = LifecycleRig {
        jobs: jobs.clone(),
        handoff: jobs,
        recordings: Arc::new(S3Recordings::new(s3.clone())),
        outputs: Arc::new(S3ObjectStore::new(s3, &outputs, "output/")),
        layout: OutputLayout::JobFolders,
        envelope: Arc::new(envelope),
        recognizer: Arc::new(NeverAsked),
        transcribe_queue: Arc::new(SqsStepQueue::new(sqs_client(&sdk), &transcribe_url)),
        transcribe_inbox: Arc::new(SqsInbox {
            client: sqs_client(&sdk),
            url: transcribe_url,
        }),
        note_queue: Arc::new(SqsStepQueue::new(sqs_client(&sdk), &note_url)),
        note_inbox: Arc::new(SqsInbox {
            client: sqs_client(&sdk),
            url: note_url,
        }),
        dialogue_uri: format!("s3://{recordings}/recordings/visit.txt"),
        missing_uri: format!("s3://{recordings}/recordings/gone.wav"),
        prefix: moto::unique("aws"),
    };
    lifecycle_contract(&rig).await;
}
