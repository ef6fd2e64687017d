//! What a stage reports when it could not finish: either retryable (the queue redelivers, S3
//! re-invokes; the local driver gives up) or permanent (the job ends `FAILED` with the reason).

use veriscribe_core::ports::PortError;

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

/// A port error as it is (its message already says what failed), keeping its retryability.
impl From<PortError> for StageError {
    fn from(error: PortError) -> Self {
        if error.is_retryable() {
            StageError::Transient(error.to_string())
        } else {
            StageError::permanent(error.to_string())
        }
    }
}

/// What a failed invocation reports to Lambda: `errorType` is `Retryable` or `NonRetryable`
/// (not the Rust type name), so a log query or an `OnFailure` destination can tell them apart.
#[cfg(feature = "lambda")]
impl From<StageError> for lambda_runtime::Diagnostic {
    fn from(error: StageError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.to_string(),
        }
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
        let plain = StageError::from(PortError::Permanent {
            message: "the recording cannot be decoded: empty".into(),
        });
        assert_eq!(plain.to_string(), "the recording cannot be decoded: empty");
        assert_eq!(plain.error_type(), "NonRetryable");
    }
}
