//! JSON logs for CloudWatch. Fields carry job names, stages, counts and durations only; the
//! callers never log transcript or note text.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Level from `AWS_LAMBDA_LOG_LEVEL` (the function's logging config), else `RUST_LOG`, else INFO.
fn filter() -> EnvFilter {
    std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()))
        .and_then(|v| EnvFilter::try_new(v.to_ascii_lowercase()).ok())
        .unwrap_or_else(|| EnvFilter::new("info"))
}

/// A JSON subscriber writing to `writer`; events carry their spans' fields (job, stage).
pub fn json_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout for the whole process (call first in `main`).
pub fn init_json_logging() {
    // Ignored error: a subscriber is already installed (tests), which is fine.
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stdout));
}
