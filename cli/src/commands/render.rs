//! `veriscribe render DIR` (the note and code suggestions as text) and `veriscribe codes DIR`
//! (the code suggestions as JSON), for a job output directory written by `veriscribe run`.

use std::path::Path;

use anyhow::Context;
use veriscribe_core::clinical::text::{codes_text, note_text};
use veriscribe_core::formats::MedicalCodesFile;
use veriscribe_core::stages;
use veriscribe_crypto::LocalAesEnvelope;

use crate::commands::decrypt::{job_name_beside, open_local_envelope};
use crate::commands::review::open_reviewed;
use crate::JobDirArgs;

pub async fn render(args: JobDirArgs) -> anyhow::Result<()> {
    let (job_name, envelope) = job_and_envelope(&args)?;
    // A note reviewed in `veriscribe review` and imported replaces the draft, and says so first.
    let mut text = match open_reviewed(&args.dir, &job_name, &envelope).await? {
        Some(reviewed) => {
            let mut text = format!(
                "REVIEWED NOTE ({} {}; {} edited, {} rejected sentences)\n\n",
                if reviewed.review.status == "ACCEPTED" {
                    "accepted"
                } else {
                    "in review, not accepted,"
                },
                reviewed.review.reviewed_at,
                reviewed.edited_count(),
                reviewed.review.rejected.len()
            );
            text.push_str(&note_text(&reviewed.documentation()));
            text
        }
        None => {
            let note_path = args.dir.join(stages::DOCUMENTATION_FILE);
            let message = std::fs::read(&note_path)
                .with_context(|| format!("cannot read {}", note_path.display()))?;
            let documentation = stages::open_documentation(&message, &job_name, &envelope)
                .await
                .with_context(|| format!("cannot decrypt {}", note_path.display()))?;
            note_text(&documentation.clinical_documentation)
        }
    };
    // Outputs written before code suggestions existed have no codes file: the note still renders.
    if args.dir.join(stages::CODES_FILE).exists() {
        let codes = open_codes(&args, &job_name, &envelope).await?;
        let codes = codes_text(&codes.medical_codes);
        if !codes.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&codes);
        }
    }
    print!("{text}");
    Ok(())
}

pub async fn codes(args: JobDirArgs) -> anyhow::Result<()> {
    let (job_name, envelope) = job_and_envelope(&args)?;
    let codes = open_codes(&args, &job_name, &envelope).await?;
    println!("{}", serde_json::to_string_pretty(&codes)?);
    Ok(())
}

fn job_and_envelope(args: &JobDirArgs) -> anyhow::Result<(String, LocalAesEnvelope)> {
    let job_name = match &args.job_name {
        Some(name) => name.clone(),
        None => job_name_beside(&args.dir.join(stages::DOCUMENTATION_FILE))?,
    };
    Ok((job_name, open_local_envelope(args.key_file.clone())?))
}

async fn open_codes(
    args: &JobDirArgs,
    job_name: &str,
    envelope: &LocalAesEnvelope,
) -> anyhow::Result<MedicalCodesFile> {
    let path: &Path = &args.dir.join(stages::CODES_FILE);
    let message = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    stages::open_codes(&message, job_name, envelope)
        .await
        .with_context(|| format!("cannot decrypt {}", path.display()))
}
