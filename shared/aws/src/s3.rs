//! S3: the output location as an [`ObjectStore`], and reading uploaded recordings.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use veriscribe_core::ports::{ObjectStore, PortError, Recording, RecordingBody, RecordingSource};

use crate::error::port_error;

/// Objects under one prefix of one bucket; `uri` gives `s3://bucket/prefix+key`.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    /// When set, every PUT asks for SSE-KMS with this key explicitly (not only through the
    /// bucket's default): plaintext outputs must never depend on how the bucket is configured.
    sse_kms_key_id: Option<String>,
}

impl S3ObjectStore {
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: prefix.into(),
            sse_kms_key_id: None,
        }
    }

    pub fn with_sse_kms(mut self, key_id: impl Into<String>) -> Self {
        self.sse_kms_key_id = Some(key_id.into());
        self
    }

    fn put_request(
        &self,
        full_key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(full_key)
            .content_type(content_type)
            .body(ByteStream::from(bytes));
        match &self.sse_kms_key_id {
            Some(key) => request
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                .ssekms_key_id(key),
            None => request,
        }
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, PortError> {
        get_object(&self.client, &self.bucket, &self.full_key(key)).await
    }

    /// A PUT is atomic in S3: readers see the old object or the whole new one. The bucket's
    /// default encryption (SSE-KMS in the template) applies.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), PortError> {
        let full_key = self.full_key(key);
        self.put_request(&full_key, bytes, content_type)
            .send()
            .await
            .map_err(|e| {
                port_error(&format!("cannot write s3://{}/{full_key}", self.bucket), &e)
            })?;
        Ok(())
    }

    /// S3's conditional write (`If-None-Match: *`): 412 means the object exists. A 409 (a
    /// concurrent conditional write in flight) is transient: the retry sees the winner's object.
    async fn put_new(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<bool, PortError> {
        let full_key = self.full_key(key);
        match self
            .put_request(&full_key, bytes, content_type)
            .if_none_match("*")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => Ok(false),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 409) => {
                Err(PortError::Transient {
                    message: format!(
                        "a concurrent write to s3://{}/{full_key} is in progress",
                        self.bucket
                    ),
                })
            }
            Err(e) => Err(port_error(
                &format!("cannot write s3://{}/{full_key}", self.bucket),
                &e,
            )),
        }
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full_key(key))
    }
}

async fn get_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, PortError> {
    let output = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                PortError::NotFound(format!("s3://{bucket}/{key}"))
            } else {
                port_error(&format!("cannot read s3://{bucket}/{key}"), &e)
            }
        })?;
    collect_body(output.body, "the object").await
}

async fn collect_body(body: ByteStream, what: &str) -> Result<Vec<u8>, PortError> {
    let body = body.collect().await.map_err(|e| PortError::Transient {
        message: format!("reading {what} was interrupted: {e}"),
    })?;
    Ok(body.into_bytes().to_vec())
}

/// One uploaded recording, pinned to the object version whose upload started the job: a later
/// upload to the same key is a different recording (and its own job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRef {
    pub bucket: String,
    pub key: String,
    /// `None` only for buckets without versioning, where the newest object is all there is.
    pub version_id: Option<String>,
}

impl RecordingRef {
    /// `s3://bucket/key?versionId=V`: the media URI a job keeps (the key unencoded, as
    /// HealthScribe writes `MediaFileUri`; the version as S3's own query parameter).
    pub fn uri(&self) -> String {
        match &self.version_id {
            Some(version) => format!("s3://{}/{}?versionId={version}", self.bucket, self.key),
            None => format!("s3://{}/{}", self.bucket, self.key),
        }
    }

    /// Reads what [`RecordingRef::uri`] wrote.
    pub fn parse(uri: &str) -> Option<Self> {
        let (location, version_id) = match uri.rsplit_once("?versionId=") {
            Some((location, version)) if is_version_id(version) => {
                (location, Some(version.to_string()))
            }
            _ => (uri, None),
        };
        let (bucket, key) = parse_s3_uri(location)?;
        Some(Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id,
        })
    }

    /// Text that names the object without its key: keys are often patient names, and error
    /// messages end up in logs.
    pub fn redacted(&self) -> String {
        match &self.version_id {
            Some(version) => format!("the recording (version {version})"),
            None => "the recording".to_string(),
        }
    }

    /// Removes the key (raw and URL-encoded, as S3 and IAM write it in error messages) from `text`.
    pub fn redact(&self, text: &str) -> String {
        redact_key(text, &self.key)
    }
}

/// S3 version ids are URL-safe tokens (`3HL4kqtJlcpXroDTDmjVBH40Nrjfkd` on AWS, UUIDs on moto).
fn is_version_id(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 1024
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '='))
}

/// Replaces every spelling of `key` (as is, URL-encoded, `+` for spaces) and of its file name
/// with `<recording key>`.
pub fn redact_key(text: &str, key: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    // RFC 3986 leaves these unencoded; some encoders escape them anyway.
    const UNRESERVED_KEPT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let file = key.rsplit('/').next().unwrap_or(key);
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let mut spellings = Vec::new();
    for form in [key, file, stem] {
        if form.chars().count() < 3 {
            continue;
        }
        spellings.push(form.to_string());
        spellings.push(form.replace(' ', "+"));
        for set in [NON_ALPHANUMERIC, UNRESERVED_KEPT] {
            let encoded = utf8_percent_encode(form, set).to_string();
            spellings.push(encoded.replace("%20", "+"));
            spellings.push(encoded.replace("%2F", "/"));
            spellings.push(encoded);
        }
    }
    // Longest first, so the whole key goes before its file name.
    spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
    spellings.dedup();
    let mut out = text.to_string();
    for spelling in spellings {
        out = out.replace(&spelling, "<recording key>");
    }
    out
}

/// What HEAD says about an uploaded recording.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectHead {
    pub size: u64,
    pub e_tag: Option<String>,
    pub version_id: Option<String>,
    pub content_type: Option<String>,
    /// User metadata, keys without `x-amz-meta-`.
    pub metadata: HashMap<String, String>,
}

/// What start-job reads of an upload's bucket (any bucket the event names): the recording's
/// HEAD, and the small control-plane objects beside it (`profiles/…`, `templates/…`). Reads
/// name the version; errors about the recording name no key (see [`RecordingRef::redacted`]).
#[async_trait]
pub trait Uploads: Send + Sync {
    async fn head(&self, recording: &RecordingRef) -> Result<ObjectHead, PortError>;
    /// A profile or custom template; `NotFound(s3://bucket/key)` when there is none. These
    /// keys name no patient, so errors quote them.
    async fn read_control(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError>;
}

/// Control-plane objects are a few KB; a larger one is a mistake, refused before it is read.
pub const MAX_CONTROL_OBJECT_BYTES: i64 = 256 * 1024;

#[derive(Debug, Clone)]
pub struct S3Recordings {
    client: aws_sdk_s3::Client,
}

impl S3Recordings {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

/// A port error about a recording: `NotFound` when S3 says it is missing, else the SDK's
/// error with the key taken out of its message (S3's AccessDenied names the object's ARN).
fn recording_error<E>(
    action: &str,
    recording: &RecordingRef,
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> PortError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // HEAD has no body, so a missing object (or version) is known by its status alone.
    if error
        .raw_response()
        .is_some_and(|r| r.status().as_u16() == 404)
    {
        return PortError::NotFound(recording.redacted());
    }
    match port_error(&format!("cannot {action} {}", recording.redacted()), error) {
        PortError::Transient { message } => PortError::Transient {
            message: recording.redact(&message),
        },
        PortError::Permanent { message } => PortError::Permanent {
            message: recording.redact(&message),
        },
        other => other,
    }
}

#[async_trait]
impl Uploads for S3Recordings {
    async fn head(&self, recording: &RecordingRef) -> Result<ObjectHead, PortError> {
        let output = self
            .client
            .head_object()
            .bucket(&recording.bucket)
            .key(&recording.key)
            .set_version_id(recording.version_id.clone())
            .send()
            .await
            .map_err(|e| recording_error("inspect", recording, &e))?;
        Ok(ObjectHead {
            size: output.content_length.unwrap_or(0).max(0) as u64,
            e_tag: output.e_tag,
            version_id: output.version_id,
            content_type: output.content_type,
            metadata: output.metadata.unwrap_or_default(),
        })
    }

    async fn read_control(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) {
                    PortError::NotFound(format!("s3://{bucket}/{key}"))
                } else {
                    port_error(&format!("cannot read s3://{bucket}/{key}"), &e)
                }
            })?;
        if output.content_length.unwrap_or(0) > MAX_CONTROL_OBJECT_BYTES {
            return Err(PortError::Permanent {
                message: format!(
                    "s3://{bucket}/{key} is larger than {MAX_CONTROL_OBJECT_BYTES} bytes"
                ),
            });
        }
        collect_body(output.body, &format!("s3://{bucket}/{key}")).await
    }
}

impl S3Recordings {
    /// Exactly the version the job names.
    pub async fn fetch_version(&self, recording: &RecordingRef) -> Result<Vec<u8>, PortError> {
        let output = self
            .client
            .get_object()
            .bucket(&recording.bucket)
            .key(&recording.key)
            .set_version_id(recording.version_id.clone())
            .send()
            .await
            .map_err(|e| recording_error("read", recording, &e))?;
        collect_body(output.body, &recording.redacted()).await
    }
}

#[async_trait]
impl RecordingSource for S3Recordings {
    async fn fetch(&self, media_uri: &str) -> Result<Recording, PortError> {
        // The URI is not quoted: its key may name the patient, and reasons are logged.
        let recording = RecordingRef::parse(media_uri).ok_or_else(|| PortError::Permanent {
            message: "the job's media URI is not an s3://bucket/key URI".into(),
        })?;
        let bytes = self.fetch_version(&recording).await?;
        Ok(Recording {
            body: RecordingBody::Bytes(bytes),
            extension: crate::upload::extension(&recording.key),
        })
    }
}

/// `s3://bucket/key` → (bucket, key).
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[test]
    fn s3_uris() {
        assert_eq!(
            parse_s3_uri("s3://b/recordings/a b.wav"),
            Some(("b", "recordings/a b.wav"))
        );
        assert_eq!(parse_s3_uri("s3://b/"), None);
        assert_eq!(parse_s3_uri("file:///x"), None);
    }

    #[test]
    fn recording_uris_carry_the_version() {
        let pinned = RecordingRef {
            bucket: "b".into(),
            key: "recordings/a b?c.wav".into(),
            version_id: Some("3HL4kqtJlcpXroDTDmjVBH40Nrjfkd".into()),
        };
        assert_eq!(
            pinned.uri(),
            "s3://b/recordings/a b?c.wav?versionId=3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"
        );
        assert_eq!(RecordingRef::parse(&pinned.uri()), Some(pinned));
        let unversioned = RecordingRef::parse("s3://b/recordings/x.wav").unwrap();
        assert_eq!(unversioned.version_id, None);
        assert_eq!(unversioned.key, "recordings/x.wav");
        assert_eq!(RecordingRef::parse("s3://b"), None);
    }

    #[test]
    fn keys_are_redacted_in_every_spelling() {
        let key = "recordings/Jane Doe 1984-02-03.wav";
        let text = "AccessDenied: not authorized to perform s3:GetObject on resource \
                    arn:aws:s3:::b/recordings/Jane Doe 1984-02-03.wav; also \
                    recordings/Jane+Doe+1984-02-03.wav and recordings%2FJane%20Doe%201984-02-03.wav \
                    and Jane Doe 1984-02-03";
        let redacted = redact_key(text, key);
        assert!(!redacted.contains("Jane"), "{redacted}");
        assert!(!redacted.contains("1984"), "{redacted}");
        assert!(redacted.contains("s3:GetObject"), "{redacted}");
    }

    #[tokio::test]
    async fn missing_object_is_not_found_and_slow_down_is_transient() {
        let missing = mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| r.key() == Some("out/j/transcript.json"))
            .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
        let client = mock_client!(aws_sdk_s3, [&missing]);
        let store = S3ObjectStore::new(client, "b", "out/");
        assert!(matches!(
            store.get("j/transcript.json").await,
            Err(PortError::NotFound(_))
        ));
        assert_eq!(store.uri("j/x"), "s3://b/out/j/x");

        let slow = mock!(aws_sdk_s3::Client::put_object).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    "<Error><Code>SlowDown</Code><Message>slow</Message></Error>",
                ),
            )
        });
        let ok = mock!(aws_sdk_s3::Client::put_object)
            .then_output(|| PutObjectOutput::builder().build());
        let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&slow, &ok], |c| c
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled()));
        let store = S3ObjectStore::new(client, "b", "");
        let err = store
            .put("k", b"x".to_vec(), "text/plain")
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        store.put("k", b"x".to_vec(), "text/plain").await.unwrap();
    }
}
