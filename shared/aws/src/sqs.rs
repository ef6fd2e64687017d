//! The hand-off between stages on SQS: one message per job, body `{"JobName": "<name>"}`
//! (`veriscribe_core::ports::StepMessage`).

use async_trait::async_trait;
use veriscribe_core::ports::PortError;
pub use veriscribe_core::ports::{StepMessage, StepQueue};

use crate::error::port_error;

#[derive(Debug, Clone)]
pub struct SqsStepQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsStepQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl StepQueue for SqsStepQueue {
    async fn send(&self, message: &StepMessage) -> Result<(), PortError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(message.to_body())
            .send()
            .await
            .map_err(|e| {
                port_error(
                    &format!("cannot queue job {} for the next step", message.job_name),
                    &e,
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::operation::send_message::{SendMessageError, SendMessageOutput};
    use aws_sdk_sqs::types::error::RequestThrottled;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[test]
    fn body_round_trips() {
        let message = StepMessage::new("visit-1");
        assert_eq!(message.to_body(), r#"{"JobName":"visit-1"}"#);
        assert_eq!(StepMessage::from_body(&message.to_body()).unwrap(), message);
        assert!(StepMessage::from_body("{}").is_err());
    }

    #[tokio::test]
    async fn throttled_send_is_retryable() {
        let throttled = mock!(aws_sdk_sqs::Client::send_message).then_error(|| {
            SendMessageError::RequestThrottled(
                RequestThrottled::builder()
                    .meta(
                        aws_sdk_sqs::error::ErrorMetadata::builder()
                            .code("RequestThrottled")
                            .build(),
                    )
                    .build(),
            )
        });
        let sent = mock!(aws_sdk_sqs::Client::send_message)
            .match_requests(|r| r.message_body() == Some(r#"{"JobName":"visit-1"}"#))
            .then_output(|| SendMessageOutput::builder().message_id("m1").build());
        let client = mock_client!(
            aws_sdk_sqs,
            RuleMode::Sequential,
            [&throttled, &sent],
            |c| c.retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        );
        let queue = SqsStepQueue::new(client, "https://sqs/q");
        let err = queue.send(&StepMessage::new("visit-1")).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        queue.send(&StepMessage::new("visit-1")).await.unwrap();
        assert_eq!(sent.num_calls(), 1);
    }
}
