//! `veriscribe run`: the arguments become a job, run through the same lifecycle as the Lambda
//! functions (`veriscribe_lifecycle`) with local adapters; then a summary is printed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use time::OffsetDateTime;
use tracing::{info_span, Instrument};
use veriscribe_core::clinical::custom_template::parse_custom_template;
use veriscribe_core::formats::{validate_job_name, JobStatus, MedicalScribeJob, RequestedSettings};
use veriscribe_crypto::LocalAesEnvelope;
use veriscribe_lifecycle::{LocalRun, OutputLayout, Submitted};
use veriscribe_local::{FileObjectStore, FileRecordings};

use crate::commands::jobs::open_store;
use crate::commands::run_summary::Summary;
use crate::recognizer::LocalWhisper;
use crate::RunArgs;

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let custom_template = match &args.custom_template {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the custom template {}", path.display()))?;
            Some(
                parse_custom_template(&text).with_context(|| {
                    format!("the custom template {} is not usable", path.display())
                })?,
            )
        }
        None => None,
    };
    let (settings, channel_definitions) = RequestedSettings {
        note_template: args.template.parse()?,
        custom_template,
        channel_identification: args.channel_identification,
        max_speakers: args.max_speakers,
        clinician_channel: args.clinician_channel,
        patient_pronouns: args.patient_pronouns,
        ..RequestedSettings::default()
    }
    .job_settings()?;
    let input = std::fs::canonicalize(&args.input)
        .with_context(|| format!("cannot read the input {}", args.input.display()))?;
    let job_name = args
        .job_name
        .clone()
        .unwrap_or_else(|| default_job_name(&input));
    validate_job_name(&job_name)?;
    let key_path = args
        .key_file
        .clone()
        .unwrap_or_else(veriscribe_crypto::default_key_path);
    let envelope = LocalAesEnvelope::load_or_create(&key_path)
        .with_context(|| format!("cannot load or create the local key {}", key_path.display()))?;
    let out = absolute(&args.out)?;
    let summary = Arc::new(Summary::default());
    let lifecycle = LocalRun::new(
        Arc::new(open_store(args.db.clone())?),
        Arc::new(FileRecordings),
        Arc::new(FileObjectStore::new(out.clone())),
        OutputLayout::Flat,
        Arc::new(LocalWhisper::new(
            args.model.clone(),
            args.threads,
            args.max_duration,
            args.quiet,
        )),
        Arc::new(envelope),
        summary.clone(),
    );
    let job = MedicalScribeJob::new_queued(
        &job_name,
        format!("file://{}", input.display()),
        settings,
        channel_definitions,
        OffsetDateTime::now_utc(),
    );
    let started = Instant::now();
    let span = info_span!("job", job = %job_name);
    let outcome = lifecycle.run(&job).instrument(span).await?;
    let status = outcome.job.medical_scribe_job_status;
    if matches!(
        outcome.submitted,
        Submitted::Duplicate { resent: false, .. }
    ) {
        bail!("job {job_name} already exists and is {status}; choose another --job-name");
    }
    match status {
        JobStatus::Completed => {}
        JobStatus::Failed => bail!(
            "job {job_name} {status}: {}",
            outcome.job.failure_reason.unwrap_or_default()
        ),
        other => bail!("job {job_name} stopped {other}"),
    }
    summary.print(&outcome.job, &out, started.elapsed().as_secs_f64());
    Ok(())
}

/// `<input stem>-<UTC time>`, reduced to the characters HealthScribe allows in job names.
fn default_job_name(input: &Path) -> String {
    let stem: String = input
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("job")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(150)
        .collect();
    let stamp = OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second][subsecond digits:3]Z"
        ))
        .unwrap_or_default();
    format!("{stem}-{stamp}")
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}
