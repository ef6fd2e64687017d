//! The CLI's speech recognizer: whisper.cpp loaded on first use (a text dialogue needs no
//! model), after the recording decoded (bad input fails before a model download), with a
//! progress bar on stderr.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use indicatif::ProgressBar;
use veriscribe_asr::{decode_recording, WhisperRecognizer};
use veriscribe_core::formats::JobSettings;
use veriscribe_core::ports::{PortError, RecognizedAudio, Recognizer, Recording};

use crate::commands::model::fetch_default_model;
use crate::progress;

pub struct LocalWhisper {
    model: Option<PathBuf>,
    threads: Option<usize>,
    max_audio_seconds: f64,
    quiet: bool,
    loaded: OnceLock<WhisperRecognizer>,
}

impl LocalWhisper {
    pub fn new(
        model: Option<PathBuf>,
        threads: Option<usize>,
        max_audio_seconds: f64,
        quiet: bool,
    ) -> Self {
        Self {
            model,
            threads,
            max_audio_seconds,
            quiet,
            loaded: OnceLock::new(),
        }
    }

    fn engine(&self, bar: &ProgressBar) -> Result<&WhisperRecognizer, PortError> {
        if let Some(engine) = self.loaded.get() {
            return Ok(engine);
        }
        let model_path = match &self.model {
            Some(path) => path.clone(),
            None => fetch_default_model(&veriscribe_model::default_model_dir(), self.quiet)
                .map_err(|e| PortError::Permanent {
                    message: format!("{e:#}"),
                })?,
        };
        let bar = bar.clone();
        let engine = WhisperRecognizer::load(&model_path, self.threads, self.max_audio_seconds)
            .map_err(|e| PortError::Permanent {
                message: format!("cannot load the speech model {}: {e}", model_path.display()),
            })?
            .with_progress(Arc::new(move |fraction| {
                bar.set_position((fraction * 1000.0) as u64)
            }));
        Ok(self.loaded.get_or_init(|| engine))
    }
}

impl Recognizer for LocalWhisper {
    fn recognise(
        &self,
        recording: Recording,
        settings: &JobSettings,
    ) -> Result<RecognizedAudio, PortError> {
        let audio = decode_recording(recording, self.max_audio_seconds)?;
        let bar = progress::bar(1000, "transcribing", self.quiet);
        let recognized = self.engine(&bar)?.recognise_audio(&audio, settings);
        bar.finish_and_clear();
        recognized
    }
}
