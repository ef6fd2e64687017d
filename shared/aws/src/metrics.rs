//! CloudWatch embedded metric format (EMF): one JSON object per line on stdout, which Lambda's
//! log pipeline turns into metrics. Dimension: `Stage`. No patient data, only numbers and the
//! job name as a (non-dimension) property.
//!
//! Every (metric, stage) pair written is a row of `data/metrics.tsv`, the table the template's
//! dashboard and alarms are checked against (`scripts/check_metrics.py`); debug builds refuse an
//! undeclared pair, so every test that runs a stage checks the code's side of that contract.

use std::sync::Arc;

use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Count,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "Seconds",
            Unit::Count => "Count",
            Unit::None => "None",
        }
    }
}

pub const JOB_DURATION_SECONDS: &str = "JobDurationSeconds";
pub const AUDIO_SECONDS: &str = "AudioSeconds";
pub const REAL_TIME_FACTOR: &str = "RealTimeFactor";
pub const JOBS_FAILED: &str = "JobsFailed";
pub const JOBS_STARTED: &str = "JobsStarted";
pub const JOBS_COMPLETED: &str = "JobsCompleted";
pub const STAGE_SECONDS: &str = "StageSeconds";

/// The metric catalogue: `(metric, unit, stage)` rows of `data/metrics.tsv`.
pub fn catalogue() -> &'static [(String, String, String)] {
    static ROWS: std::sync::OnceLock<Vec<(String, String, String)>> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| {
        include_str!("../data/metrics.tsv")
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .skip(1) // header
            .map(|line| {
                let mut fields = line.split('\t');
                let mut next = || fields.next().unwrap_or_default().to_owned();
                (next(), next(), next())
            })
            .collect()
    })
}

/// Whether `metric` with `unit` at `stage` is a row of the catalogue.
pub fn is_declared(stage: &str, metric: &str, unit: Unit) -> bool {
    catalogue()
        .iter()
        .any(|(m, u, s)| m == metric && u == unit.as_str() && s == stage)
}

type Sink = Arc<dyn Fn(String) + Send + Sync>;

#[derive(Clone)]
pub struct Metrics {
    namespace: String,
    sink: Sink,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Writes to stdout.
    pub fn stdout(namespace: impl Into<String>) -> Self {
        Self::with_sink(namespace, Arc::new(|line| println!("{line}")))
    }

    /// Writes each line to `sink` (tests collect them).
    pub fn with_sink(namespace: impl Into<String>, sink: Sink) -> Self {
        Self {
            namespace: namespace.into(),
            sink,
        }
    }

    pub fn emit(&self, stage: &str, job_name: &str, values: &[(&str, f64, Unit)]) {
        for (metric, _, unit) in values {
            debug_assert!(
                is_declared(stage, metric, *unit),
                "metric {metric} ({}) at stage {stage} is not a row of data/metrics.tsv",
                unit.as_str()
            );
        }
        let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        (self.sink)(emf_line(&self.namespace, stage, job_name, values, now_ms));
    }

    pub fn job_failed(&self, stage: &str, job_name: &str) {
        self.emit(stage, job_name, &[(JOBS_FAILED, 1.0, Unit::Count)]);
    }
}

/// One EMF document.
pub fn emf_line(
    namespace: &str,
    stage: &str,
    job_name: &str,
    values: &[(&str, f64, Unit)],
    timestamp_ms: i64,
) -> String {
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
        .collect();
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Stage"]],
                "Metrics": definitions,
            }],
        }),
    );
    document.insert("Stage".into(), json!(stage));
    document.insert("JobName".into(), json!(job_name));
    for (name, value, _) in values {
        // EMF needs numbers; a NaN (0/0) would make the whole line invalid JSON.
        let value = if value.is_finite() { *value } else { 0.0 };
        document.insert((*name).into(), json!(value));
    }
    Value::Object(document).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn emf_document_declares_every_value() {
        let line = emf_line(
            "Veriscribe",
            "transcribe",
            "visit-1",
            &[
                (AUDIO_SECONDS, 42.5, Unit::Seconds),
                (REAL_TIME_FACTOR, f64::NAN, Unit::None),
            ],
            1_700_000_000_000,
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(cw["Namespace"], "Veriscribe");
        assert_eq!(cw["Dimensions"], json!([["Stage"]]));
        assert_eq!(
            cw["Metrics"][0],
            json!({"Name": "AudioSeconds", "Unit": "Seconds"})
        );
        assert_eq!(v["Stage"], "transcribe");
        assert_eq!(v["AudioSeconds"], 42.5);
        assert_eq!(v["RealTimeFactor"], 0.0);
        assert!(!line.contains('\n'));
    }

    #[test]
    fn catalogue_rows_are_well_formed_and_cover_the_constants() {
        let rows = catalogue();
        assert!(rows.len() >= 10, "{rows:?}");
        for (metric, unit, stage) in rows {
            assert!(
                !metric.is_empty() && !stage.is_empty(),
                "{metric:?} {stage:?}"
            );
            assert!(
                ["Seconds", "Count", "None"].contains(&unit.as_str()),
                "{unit}"
            );
        }
        for stage in ["start-job", "transcribe", "generate-note"] {
            assert!(is_declared(stage, JOBS_FAILED, Unit::Count), "{stage}");
        }
        assert!(is_declared("start-job", JOBS_STARTED, Unit::Count));
        assert!(is_declared("generate-note", JOBS_COMPLETED, Unit::Count));
        assert!(is_declared("transcribe", AUDIO_SECONDS, Unit::Seconds));
        assert!(is_declared("transcribe", REAL_TIME_FACTOR, Unit::None));
        assert!(is_declared(
            "generate-note",
            JOB_DURATION_SECONDS,
            Unit::Seconds
        ));
        for stage in ["transcribe", "generate-note"] {
            assert!(is_declared(stage, STAGE_SECONDS, Unit::Seconds), "{stage}");
        }
        assert!(!is_declared("transcribe", AUDIO_SECONDS, Unit::Count));
        assert!(!is_declared("start-job", AUDIO_SECONDS, Unit::Seconds));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not a row of data/metrics.tsv")]
    fn an_undeclared_metric_is_refused() {
        Metrics::with_sink("NS", Arc::new(|_| {})).emit(
            "transcribe",
            "j",
            &[("TokensDecoded", 1.0, Unit::Count)],
        );
    }

    #[test]
    fn emit_goes_to_the_sink() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let collected = lines.clone();
        let metrics =
            Metrics::with_sink("NS", Arc::new(move |l| collected.lock().unwrap().push(l)));
        metrics.job_failed("start-job", "j");
        let lines = lines.lock().unwrap();
        let v: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(v["JobsFailed"], 1.0);
        assert_eq!(v["Stage"], "start-job");
    }
}
