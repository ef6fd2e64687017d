//! whisper.cpp behind the lifecycle's `Recognizer` port, for the CLI and the transcribe
//! function alike, and the one mapping from a job's settings to recognition options.

use std::path::Path;
use std::sync::Arc;

use veriscribe_core::formats::JobSettings;
use veriscribe_core::ports::{PortError, RecognizedAudio, Recognizer, Recording, RecordingBody};

use crate::audio::{
    decode_bytes, decode_file, AudioError, DecodeOptions, DecodedAudio, FormatHint,
};
use crate::whisper::{AsrError, TranscribeOptions, WhisperEngine};

/// The job's settings as recognition options: channel identification, or speaker labels into
/// at most `MaxSpeakerLabels` voices. Every driver recognises through this one function.
pub fn transcribe_options(settings: &JobSettings) -> TranscribeOptions {
    TranscribeOptions {
        channel_identification: settings.channel_identification,
        max_speakers: settings
            .max_speaker_labels
            .filter(|_| !settings.channel_identification),
        ..TranscribeOptions::default()
    }
}

/// Reports the fraction of the recording recognised so far (0–1).
pub type Progress = Arc<dyn Fn(f64) + Send + Sync>;

/// A loaded whisper.cpp model (once per process or Lambda container) and the decode limits.
pub struct WhisperRecognizer {
    engine: WhisperEngine,
    max_audio_seconds: f64,
    progress: Option<Progress>,
}

impl WhisperRecognizer {
    pub fn load(
        model_path: &Path,
        threads: Option<usize>,
        max_audio_seconds: f64,
    ) -> Result<Self, AsrError> {
        Ok(Self {
            engine: WhisperEngine::load(model_path, threads)?,
            max_audio_seconds,
            progress: None,
        })
    }

    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// Decodes a recording (streamed from its file, or from memory with its extension as a hint).
/// Every decode error is a property of the file, so it is `Permanent`: retrying cannot help.
pub fn decode_recording(
    recording: Recording,
    max_audio_seconds: f64,
) -> Result<DecodedAudio, PortError> {
    let options = DecodeOptions {
        max_duration_seconds: max_audio_seconds,
        ..DecodeOptions::default()
    };
    match recording.body {
        RecordingBody::File(path) => decode_file(&path, &options),
        RecordingBody::Bytes(bytes) => {
            let hint = recording
                .extension
                .as_deref()
                .map(FormatHint::extension)
                .unwrap_or_default();
            decode_bytes(bytes, &hint, &options)
        }
    }
    .map_err(|e: AudioError| PortError::Permanent {
        message: format!("the recording cannot be decoded: {e}"),
    })
}

impl WhisperRecognizer {
    /// Recognises decoded audio as the job's settings ask.
    pub fn recognise_audio(
        &self,
        audio: &DecodedAudio,
        settings: &JobSettings,
    ) -> Result<RecognizedAudio, PortError> {
        let progress = self.progress.clone();
        let recognition = self
            .engine
            .transcribe(audio, &transcribe_options(settings), &mut |fraction| {
                if let Some(progress) = &progress {
                    progress(fraction.clamp(0.0, 1.0));
                }
            })
            .map_err(|e| {
                let message = format!("speech recognition failed: {e}");
                if e.is_retryable() {
                    PortError::Transient { message }
                } else {
                    PortError::Permanent { message }
                }
            })?;
        Ok(RecognizedAudio {
            recognition,
            audio_seconds: audio.duration_seconds,
        })
    }
}

impl Recognizer for WhisperRecognizer {
    fn recognise(
        &self,
        recording: Recording,
        settings: &JobSettings,
    ) -> Result<RecognizedAudio, PortError> {
        let audio = decode_recording(recording, self.max_audio_seconds)?;
        self.recognise_audio(&audio, settings)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_map_to_one_speaker_mode() {
        let labels = JobSettings {
            max_speaker_labels: Some(4),
            ..JobSettings::default()
        };
        let options = transcribe_options(&labels);
        assert!(!options.channel_identification);
        assert_eq!(options.max_speakers, Some(4));
        let channels = JobSettings {
            show_speaker_labels: false,
            max_speaker_labels: Some(4),
            channel_identification: true,
            ..JobSettings::default()
        };
        let options = transcribe_options(&channels);
        assert!(options.channel_identification);
        assert_eq!(options.max_speakers, None, "no diarization across channels");
    }
}
