use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use veriscribe_core::formats::TranscriptFile;
use veriscribe_core::stages;
use veriscribe_crypto::{LocalAesEnvelope, LocalKey};

use crate::DecryptArgs;

pub async fn decrypt(args: DecryptArgs) -> anyhow::Result<()> {
    let message = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let job_name = match args.job_name {
        Some(name) => name,
        None => job_name_beside(&args.file)?,
    };
    let envelope = open_local_envelope(args.key_file)?;
    let documentation = stages::open_documentation(&message, &job_name, &envelope)
        .await
        .with_context(|| format!("cannot decrypt {}", args.file.display()))?;
    println!("{}", serde_json::to_string_pretty(&documentation)?);
    Ok(())
}

/// The local key's envelope. Decrypting never creates a key: a missing key means this machine
/// cannot read the note.
pub fn open_local_envelope(key_file: Option<PathBuf>) -> anyhow::Result<LocalAesEnvelope> {
    let key_path = key_file.unwrap_or_else(veriscribe_crypto::default_key_path);
    let key = LocalKey::load(&key_path)
        .with_context(|| format!("cannot load the local key {}", key_path.display()))?;
    Ok(LocalAesEnvelope::from_key(&key)?)
}

/// The job a note must belong to is the one named by the transcript written beside it, so a note
/// copied into another job's folder does not decrypt there.
pub fn job_name_beside(file: &Path) -> anyhow::Result<String> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let transcript_path = dir.join(stages::TRANSCRIPT_FILE);
    if !transcript_path.exists() {
        bail!(
            "no {} beside {} to tell which job the note belongs to; pass --job-name",
            stages::TRANSCRIPT_FILE,
            file.display()
        );
    }
    let bytes = std::fs::read(&transcript_path)
        .with_context(|| format!("cannot read {}", transcript_path.display()))?;
    let transcript: TranscriptFile = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a HealthScribe transcript",
            transcript_path.display()
        )
    })?;
    transcript
        .conversation
        .job_name
        .context("the transcript beside the note has no JobName; pass --job-name")
}
