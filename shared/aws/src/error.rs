//! Errors at the Lambda edge: each one is either retryable (SQS redelivers, S3 re-invokes) or
//! permanent (the job ends `FAILED` with the reason and the event is consumed).

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use veriscribe_core::ports::PortError;

/// The lifecycle's error (retryable or permanent); its `Diagnostic` conversion (errorType
/// `Retryable`/`NonRetryable`) comes with the lifecycle's `lambda` feature.
pub use veriscribe_lifecycle::StageError;

/// Service error codes that mean "try again later" across S3, DynamoDB, SQS and KMS.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "KMSInternalException",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Classifies an SDK failure: transport problems, timeouts, throttling and 5xx are transient,
/// everything else (access denied, validation, missing resources) is permanent.
pub fn port_error<E>(action: &str, error: &SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{action}: {}", DisplayErrorContext(error));
    let transient = match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            status >= 500
                || status == 429
                || error
                    .code()
                    .is_some_and(|code| TRANSIENT_CODES.contains(&code))
        }
        _ => false,
    };
    if transient {
        PortError::Transient { message }
    } else {
        PortError::Permanent { message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_report_retryable_or_non_retryable() {
        let diagnostic = lambda_runtime::Diagnostic::from(StageError::Transient("slow".into()));
        assert_eq!(diagnostic.error_type, "Retryable");
        assert_eq!(diagnostic.error_message, "slow");
        let diagnostic = lambda_runtime::Diagnostic::from(StageError::permanent("bad"));
        assert_eq!(diagnostic.error_type, "NonRetryable");
    }
}
