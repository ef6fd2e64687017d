//! S3: the output location as an [`ObjectStore`], and reading uploaded recordings.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use veriscribe_core::ports::{ObjectStore, PortError};

use crate::error::port_error;

/// Objects under one prefix of one bucket; `uri` gives `s3://bucket/prefix+key`.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
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
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&full_key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| {
                port_error(&format!("cannot write s3://{}/{full_key}", self.bucket), &e)
            })?;
        Ok(())
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
    let body = output
        .body
        .collect()
        .await
        .map_err(|e| PortError::Transient {
            message: format!("reading s3://{bucket}/{key} was interrupted: {e}"),
        })?;
    Ok(body.into_bytes().to_vec())
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

/// Where uploaded recordings are read from (any bucket the event names).
#[async_trait]
pub trait RecordingSource: Send + Sync {
    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectHead, PortError>;
    async fn fetch(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError>;
}

#[derive(Debug, Clone)]
pub struct S3Recordings {
    client: aws_sdk_s3::Client,
}

impl S3Recordings {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl RecordingSource for S3Recordings {
    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectHead, PortError> {
        let output = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_not_found()) {
                    PortError::NotFound(format!("s3://{bucket}/{key}"))
                } else {
                    port_error(&format!("cannot inspect s3://{bucket}/{key}"), &e)
                }
            })?;
        Ok(ObjectHead {
            size: output.content_length.unwrap_or(0).max(0) as u64,
            e_tag: output.e_tag,
            version_id: output.version_id,
            content_type: output.content_type,
            metadata: output.metadata.unwrap_or_default(),
        })
    }

    async fn fetch(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError> {
        get_object(&self.client, bucket, key).await
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
