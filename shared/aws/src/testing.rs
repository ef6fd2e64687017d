//! In-memory fakes of the ports for handler tests (feature `test-util`). They keep the same
//! rules as the AWS adapters (conditional create, `StatusChange::apply`), and can be told to
//! fail the next call with a given error to exercise retry branches.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use veriscribe_core::formats::{JobStatus, MedicalScribeJob, StatusChange};
use veriscribe_core::ports::{
    HandoffLedger, JobStore, ObjectStore, PortError, Recording, RecordingBody, RecordingSource,
    StepMessage, StepQueue,
};

use crate::metrics::Metrics;
use crate::s3::{ObjectHead, RecordingRef, Uploads};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
pub struct MemoryJobStore {
    jobs: Mutex<BTreeMap<String, (MedicalScribeJob, bool)>>,
    fail_next_update: Mutex<Option<PortError>>,
}

impl MemoryJobStore {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn count(&self) -> usize {
        lock(&self.jobs).len()
    }

    pub fn snapshot(&self, name: &str) -> Option<MedicalScribeJob> {
        lock(&self.jobs).get(name).map(|(job, _)| job.clone())
    }

    pub fn all(&self) -> Vec<MedicalScribeJob> {
        lock(&self.jobs)
            .values()
            .map(|(job, _)| job.clone())
            .collect()
    }

    pub fn fail_next_update(&self, error: PortError) {
        *lock(&self.fail_next_update) = Some(error);
    }
}

#[async_trait]
impl JobStore for MemoryJobStore {
    async fn create(&self, job: &MedicalScribeJob) -> Result<(), PortError> {
        let mut jobs = lock(&self.jobs);
        if jobs.contains_key(&job.medical_scribe_job_name) {
            return Err(PortError::AlreadyExists(
                job.medical_scribe_job_name.clone(),
            ));
        }
        jobs.insert(job.medical_scribe_job_name.clone(), (job.clone(), false));
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<MedicalScribeJob, PortError> {
        self.snapshot(name)
            .ok_or_else(|| PortError::NotFound(format!("job {name}")))
    }

    async fn update(
        &self,
        name: &str,
        change: &StatusChange,
    ) -> Result<MedicalScribeJob, PortError> {
        if let Some(error) = lock(&self.fail_next_update).take() {
            return Err(error);
        }
        let mut jobs = lock(&self.jobs);
        let (job, _) = jobs
            .get_mut(name)
            .ok_or_else(|| PortError::NotFound(format!("job {name}")))?;
        let actual = job.medical_scribe_job_status;
        if change.apply(job) {
            Ok(job.clone())
        } else {
            Err(PortError::StateConflict {
                name: name.to_string(),
                actual,
            })
        }
    }

    async fn list(
        &self,
        status: Option<JobStatus>,
        limit: usize,
    ) -> Result<Vec<MedicalScribeJob>, PortError> {
        let mut jobs: Vec<_> = self
            .all()
            .into_iter()
            .filter(|j| status.is_none_or(|s| j.medical_scribe_job_status == s))
            .collect();
        jobs.sort_by_key(|job| std::cmp::Reverse(job.creation_time));
        jobs.truncate(limit);
        Ok(jobs)
    }
}

#[async_trait]
impl HandoffLedger for MemoryJobStore {
    async fn is_handed_off(&self, job_name: &str) -> Result<bool, PortError> {
        lock(&self.jobs)
            .get(job_name)
            .map(|(_, handed)| *handed)
            .ok_or_else(|| PortError::NotFound(format!("job {job_name}")))
    }

    async fn mark_handed_off(&self, job_name: &str) -> Result<(), PortError> {
        let mut jobs = lock(&self.jobs);
        let entry = jobs
            .get_mut(job_name)
            .ok_or_else(|| PortError::NotFound(format!("job {job_name}")))?;
        entry.1 = true;
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryQueue {
    sent: Mutex<Vec<StepMessage>>,
    fail_next: Mutex<Option<PortError>>,
}

impl MemoryQueue {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn sent(&self) -> Vec<StepMessage> {
        lock(&self.sent).clone()
    }

    pub fn fail_next(&self, error: PortError) {
        *lock(&self.fail_next) = Some(error);
    }
}

#[async_trait]
impl StepQueue for MemoryQueue {
    async fn send(&self, message: &StepMessage) -> Result<(), PortError> {
        if let Some(error) = lock(&self.fail_next).take() {
            return Err(error);
        }
        lock(&self.sent).push(message.clone());
        Ok(())
    }
}

/// Objects by key, `uri` = `mem://<key>`.
#[derive(Default)]
pub struct MemoryObjects {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryObjects {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn keys(&self) -> Vec<String> {
        lock(&self.objects).keys().cloned().collect()
    }

    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.objects).get(key).cloned()
    }

    pub fn insert(&self, key: &str, bytes: Vec<u8>) {
        lock(&self.objects).insert(key.to_string(), bytes);
    }
}

#[async_trait]
impl ObjectStore for MemoryObjects {
    async fn get(&self, key: &str) -> Result<Vec<u8>, PortError> {
        self.object(key)
            .ok_or_else(|| PortError::NotFound(key.to_string()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), PortError> {
        self.insert(key, bytes);
        Ok(())
    }

    async fn put_new(
        &self,
        key: &str,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<bool, PortError> {
        let mut objects = lock(&self.objects);
        if objects.contains_key(key) {
            return Ok(false);
        }
        objects.insert(key.to_string(), bytes);
        Ok(true)
    }

    fn uri(&self, key: &str) -> String {
        format!("mem://{key}")
    }
}

type BucketKey = (String, String);
/// The versions of one object, oldest first.
type Versions = Vec<(Vec<u8>, ObjectHead)>;

/// Uploaded recordings by (bucket, key), versioned as the template's bucket is: every upload
/// adds a version (`v1`, `v2`, …); reads without a version see the newest.
#[derive(Default)]
pub struct MemoryRecordings {
    objects: Mutex<HashMap<BucketKey, Versions>>,
    fail_next_head: Mutex<Option<PortError>>,
    versions: Mutex<u64>,
}

impl MemoryRecordings {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Stores `bytes` as a new version with ETag = hex of their length and the given metadata;
    /// returns the version id.
    pub fn upload(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        metadata: &[(&str, &str)],
    ) -> String {
        let version = {
            let mut counter = lock(&self.versions);
            *counter += 1;
            format!("v{counter}")
        };
        let head = ObjectHead {
            size: bytes.len() as u64,
            e_tag: Some(format!("\"{:x}-{}\"", bytes.len(), key.len())),
            version_id: Some(version.clone()),
            content_type: None,
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        lock(&self.objects)
            .entry((bucket.into(), key.into()))
            .or_default()
            .push((bytes, head));
        version
    }

    /// Deletes every version of the object.
    pub fn delete(&self, bucket: &str, key: &str) {
        lock(&self.objects).remove(&(bucket.to_string(), key.to_string()));
    }

    pub fn fail_next_head(&self, error: PortError) {
        *lock(&self.fail_next_head) = Some(error);
    }

    fn find(&self, recording: &RecordingRef) -> Result<(Vec<u8>, ObjectHead), PortError> {
        let objects = lock(&self.objects);
        let versions = objects
            .get(&(recording.bucket.clone(), recording.key.clone()))
            .ok_or_else(|| PortError::NotFound(recording.redacted()))?;
        match &recording.version_id {
            None => versions.last().cloned(),
            Some(id) => versions
                .iter()
                .find(|(_, head)| head.version_id.as_ref() == Some(id))
                .cloned(),
        }
        .ok_or_else(|| PortError::NotFound(recording.redacted()))
    }
}

#[async_trait]
impl Uploads for MemoryRecordings {
    async fn head(&self, recording: &RecordingRef) -> Result<ObjectHead, PortError> {
        if let Some(error) = lock(&self.fail_next_head).take() {
            return Err(error);
        }
        self.find(recording).map(|(_, head)| head)
    }

    async fn read_control(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError> {
        let control = RecordingRef {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: None,
        };
        self.find(&control)
            .map(|(bytes, _)| bytes)
            .map_err(|_| PortError::NotFound(format!("s3://{bucket}/{key}")))
    }
}

#[async_trait]
impl RecordingSource for MemoryRecordings {
    async fn fetch(&self, media_uri: &str) -> Result<Recording, PortError> {
        let recording = RecordingRef::parse(media_uri).ok_or_else(|| PortError::Permanent {
            message: "the job's media URI is not an s3://bucket/key URI".into(),
        })?;
        let (bytes, _) = self.find(&recording)?;
        Ok(Recording {
            body: RecordingBody::Bytes(bytes),
            extension: crate::upload::extension(&recording.key),
        })
    }
}

/// Metrics collected into a vector of EMF lines.
pub fn collecting_metrics() -> (Metrics, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let metrics = Metrics::with_sink("Test", Arc::new(move |line| lock(&sink).push(line)));
    (metrics, lines)
}

/// A throttling error as the AWS adapters report it.
pub fn throttled() -> PortError {
    PortError::Transient {
        message: "ThrottlingException: rate exceeded".into(),
    }
}

/// Helpers for the integration tests against the moto server (`AWS_ENDPOINT_URL`).
pub mod moto {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use aws_config::SdkConfig;
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };

    use crate::dynamodb::{ATTR_CREATION_TIME, ATTR_NAME, ATTR_STATUS, STATUS_INDEX};

    /// The SDK config for the moto server. Panics with what to do when it is not configured or
    /// not reachable: these tests must fail, not skip, when the emulator is missing.
    pub async fn sdk_config() -> SdkConfig {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        assert!(
            endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
            "AWS_ENDPOINT_URL is {endpoint:?}: these tests need the moto server. Start it with \
             `moto_server -H 127.0.0.1 -p 5000` and export AWS_ENDPOINT_URL=http://127.0.0.1:5000 \
             AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test (scripts/test.sh does)"
        );
        let address = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .replace("localhost", "127.0.0.1");
        let reachable = address
            .parse()
            .ok()
            .and_then(|addr| {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()
            })
            .is_some();
        assert!(
            reachable,
            "the moto server at {endpoint} is not reachable; start it with \
             `moto_server -H 127.0.0.1 -p 5000` (scripts/test.sh does)"
        );
        for var in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            assert!(
                std::env::var(var).is_ok_and(|v| !v.is_empty()),
                "{var} must be set for the moto tests (any value; region us-east-1)"
            );
        }
        crate::clients::load_sdk_config().await
    }

    /// A name no earlier run used: moto keeps state between runs.
    pub fn unique(prefix: &str) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
        format!(
            "{prefix}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub async fn create_bucket(sdk: &SdkConfig, name: &str) {
        crate::clients::s3_client(sdk)
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("create bucket on moto");
    }

    /// The status table as the template defines it (key, `ByStatus` index).
    pub async fn create_jobs_table(sdk: &SdkConfig, name: &str) {
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .unwrap()
        };
        crate::clients::dynamodb_client(sdk)
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(ATTR_NAME))
            .attribute_definitions(attribute(ATTR_STATUS))
            .attribute_definitions(attribute(ATTR_CREATION_TIME))
            .key_schema(key(ATTR_NAME, KeyType::Hash))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(STATUS_INDEX)
                    .key_schema(key(ATTR_STATUS, KeyType::Hash))
                    .key_schema(key(ATTR_CREATION_TIME, KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create table on moto");
    }

    /// Returns (queue URL, queue ARN).
    pub async fn create_queue(sdk: &SdkConfig, name: &str) -> (String, String) {
        let sqs = crate::clients::sqs_client(sdk);
        let url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create queue on moto")
            .queue_url
            .expect("queue URL");
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let arn = attributes
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("queue ARN");
        (url, arn)
    }

    /// Receives what is on the queue now as a Lambda SQS event (and deletes it, as the Lambda
    /// service does after a successful batch).
    pub async fn drain_as_event(
        sdk: &SdkConfig,
        queue_url: &str,
        queue_arn: &str,
    ) -> aws_lambda_events::event::sqs::SqsEvent {
        let sqs = crate::clients::sqs_client(sdk);
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive from moto");
        let mut records = Vec::new();
        for message in output.messages.unwrap_or_default() {
            if let Some(handle) = &message.receipt_handle {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete from moto");
            }
            records.push(serde_json::json!({
                "messageId": message.message_id,
                "receiptHandle": message.receipt_handle,
                "body": message.body,
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            }));
        }
        serde_json::from_value(serde_json::json!({ "Records": records })).expect("SQS event")
    }

    /// An S3 `ObjectCreated:Put` event as real S3 sends it (key URL-encoded, `+` for space).
    pub fn s3_put_event(
        bucket: &str,
        key: &str,
        e_tag: &str,
        size: u64,
    ) -> aws_lambda_events::event::s3::S3Event {
        let encoded: String = key
            .split('/')
            .map(|part| {
                percent_encoding::utf8_percent_encode(part, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
                    .replace("%20", "+")
                    .replace("%2E", ".")
                    .replace("%2D", "-")
                    .replace("%5F", "_")
            })
            .collect::<Vec<_>>()
            .join("/");
        serde_json::from_value(serde_json::json!({
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
                    "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                    "object": {"key": encoded, "size": size, "eTag": e_tag.trim_matches('"'), "sequencer": "0A"}
                }
            }]
        }))
        .expect("S3 event")
    }

    /// The same event for a versioned bucket: the object's `versionId` as S3 sends it.
    pub fn s3_put_event_version(
        bucket: &str,
        key: &str,
        e_tag: &str,
        version_id: &str,
        size: u64,
    ) -> aws_lambda_events::event::s3::S3Event {
        let mut event = s3_put_event(bucket, key, e_tag, size);
        event.records[0].s3.object.version_id = Some(version_id.to_string());
        event
    }

    /// Turns versioning on, as the template's bucket has it.
    pub async fn enable_versioning(sdk: &SdkConfig, bucket: &str) {
        crate::clients::s3_client(sdk)
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("enable versioning on moto");
    }
}
