//! Errors at the Lambda edge: each one is either retryable (SQS redelivers, S3 re-invokes) or
//! permanent (the job ends `FAILED` with the reason and the event is consumed).

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use veriscribe_core::ports::PortError;

/// What a stage reports when it could not finish an event.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Retrying cannot help (bad audio, bad settings, a missing or unusable KMS key).
    #[error("{reason}")]
    Permanent { reason: String },
    /// A passing problem (throttling, a 5xx, a timeout): the event is handed back for a retry.
    #[error("{0}")]
    Transient(String),
}

impl StageError {
    pub fn permanent(reason: impl Into<String>) -> Self {
        StageError::Permanent {
            reason: reason.into(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, StageError::Transient(_))
    }

    /// The `errorType` the Lambda runtime reports.
    pub fn error_type(&self) -> &'static str {
        if self.is_retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        }
    }

    /// Wraps a port error with what the stage was doing, keeping its retryability.
    pub fn from_port(action: &str, error: PortError) -> Self {
        if error.is_retryable() {
            StageError::Transient(format!("{action}: {error}"))
        } else {
            StageError::permanent(format!("{action}: {error}"))
        }
    }
}

/// What a failed invocation reports to Lambda: `errorType` is `Retryable` or `NonRetryable`
/// (not the Rust type name), so a log query or an `OnFailure` destination can tell them apart.
impl From<StageError> for lambda_runtime::Diagnostic {
    fn from(error: StageError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.to_string(),
        }
    }
}

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
    fn port_errors_keep_their_retryability() {
        let transient = StageError::from_port(
            "reading the job",
            PortError::Transient {
                message: "throttled".into(),
            },
        );
        assert!(transient.is_retryable());
        assert_eq!(transient.error_type(), "Retryable");
        let permanent = StageError::from_port("reading the job", PortError::NotFound("x".into()));
        assert!(!permanent.is_retryable());
        assert_eq!(permanent.to_string(), "reading the job: not found: x");
    }

    #[test]
    fn invocations_report_retryable_or_non_retryable() {
        let diagnostic = lambda_runtime::Diagnostic::from(StageError::Transient("slow".into()));
        assert_eq!(diagnostic.error_type, "Retryable");
        assert_eq!(diagnostic.error_message, "slow");
        let diagnostic = lambda_runtime::Diagnostic::from(StageError::permanent("bad"));
        assert_eq!(diagnostic.error_type, "NonRetryable");
    }
}
