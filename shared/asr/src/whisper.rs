//! Speech recognition with whisper.cpp (through `whisper-rs`).
//!
//! How a recording is processed, per channel that is transcribed (the mono downmix, or each
//! channel with channel identification):
//! 1. **Energy gate.** RMS is measured on 20 ms frames. A frame is voiced when its RMS is above
//!    `max(0.002 (-54 dBFS), 0.03 × the 95th-percentile frame RMS (30 dB below loud speech))`.
//!    Voiced frames are widened by 0.3 s each side and runs closer than 1 s are merged into
//!    speech spans. Audio outside the spans (long silences, trailing silence) is never given
//!    to Whisper, which is what makes Whisper invent words ("you", "Thank you.") there.
//! 2. **Windows.** Spans are concatenated into windows of at most `window_seconds` (30 s by
//!    default: one Whisper chunk, so one encoder pass per window and no previous text carried
//!    into the next); a span longer than that is cut at its quietest 20 ms frame in the last
//!    third of the window. Workers, each with its own whisper.cpp state and an equal share of
//!    the threads, take the next window, longest first, until none is left. On two or more
//!    cores that decodes a recording in parallel windows on one thread each, which wastes less
//!    than several threads on one window (whisper.cpp's threads synchronise at every layer and
//!    spin while they wait). With longer windows whisper.cpp runs its own 30 s chunks with seek
//!    inside each, and the speech is shared out as about two windows per thread. Times are
//!    mapped back to the recording through the span offsets.
//! 3. **Words.** BPE tokens are joined into words (a token starting with a space begins a new
//!    word; special tokens ≥ EOT are skipped). Word confidence is the **mean** of its tokens'
//!    probabilities. Times are whisper's DTW token times when the model has a DTW preset
//!    (tiny/base/small/medium), else the token timestamps `t0/t1`; then a word's start is moved
//!    forward to the first voiced frame inside it and its end back to the last one, so words
//!    that begin a turn do not absorb the pause before them. Times are non-decreasing.
//! 4. **Word gate.** A word is dropped when the loudest frame within 0.1 s of it is below the
//!    gate (a word over silence is invented), in addition to whisper's own no-speech check
//!    (`no_speech_thold` 0.6) and blank/non-speech-token suppression.
//! 5. **Cross-talk** (channel identification): a word heard on channel c is kept only if
//!    channel c's mean energy over the word's span is at least every other channel's, so a
//!    voice that leaks into the other microphone is kept once, on the louder channel.
//!    Leading/trailing punctuation is split off into `Punctuation` tokens (confidence 0).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use veriscribe_core::speech::{Recognition, SpokenToken, TokenKind};
use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters, WhisperState,
};

use crate::audio::{DecodedAudio, TARGET_SAMPLE_RATE};

const FRAME_SAMPLES: usize = 320; // 20 ms at 16 kHz
const FRAME_SECONDS: f64 = FRAME_SAMPLES as f64 / TARGET_SAMPLE_RATE as f64;
/// Absolute floor of the voice gate: -54 dBFS.
pub const GATE_ABSOLUTE_RMS: f32 = 0.002;
/// Relative part of the voice gate: 30 dB below the 95th-percentile frame.
pub const GATE_RELATIVE_TO_P95: f32 = 0.03;
const SPAN_PADDING_FRAMES: usize = 15; // 0.3 s
const SPAN_MERGE_GAP_FRAMES: usize = 50; // 1 s
const CUT_SEARCH_FRAMES: usize = 1500; // 30 s
const WORD_GATE_MARGIN_SECONDS: f64 = 0.1;
/// DTW tends to place a segment's last word at the segment end, in the pause after the speech.
/// Such a word is moved back onto the speech it follows if that speech ended at most this long
/// before; only a word with no speech that close is dropped as invented.
const WORD_GATE_LOOKBACK_SECONDS: f64 = 1.0;
/// A pause at least this long right before a sentence-final word's start marks a DTW time that
/// slipped past the end of the sentence.
const LATE_WORD_PAUSE_SECONDS: f64 = 0.25;
const PUNCTUATION: &[char] = &[',', '.', '?', '!', ';', ':'];
const MISSED_MERGE_GAP_FRAMES: usize = 15; // 0.3 s
const MISSED_MIN_VOICED_FRAMES: usize = 12; // 0.24 s
const MISSED_PADDING_FRAMES: usize = 10; // 0.2 s
/// Shortest window a recording is cut into so that its windows can be decoded in parallel.
const MIN_PARALLEL_WINDOW_SECONDS: f64 = 30.0;
/// Windows per thread: two, so that a worker that finishes early takes another, while the
/// windows stay long (each window's last 30 s chunk is only partly filled but costs a whole
/// encoder pass).
const WINDOWS_PER_THREAD: usize = 2;
const FIRST_PASS_SHARE: f64 = 0.95;
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error(
        "the speech model file {path} does not exist; fetch it first (veriscribe model fetch)"
    )]
    ModelMissing { path: PathBuf },
    #[error("cannot read the speech model {path}: {detail}")]
    ModelUnreadable { path: PathBuf, detail: String },
    #[error("whisper.cpp could not load the model {path}: {detail}")]
    ModelLoad { path: PathBuf, detail: String },
    #[error("whisper.cpp could not allocate its decoding state: {0}")]
    State(String),
    #[error("whisper.cpp failed while transcribing: {0}")]
    Transcription(String),
    #[error("the recording has no audio channels")]
    NoAudio,
    #[error("invalid transcription option: {0}")]
    InvalidOption(String),
}

impl AsrError {
    /// Whether trying again could succeed. Every failure here is deterministic (a missing or
    /// bad model, bad options, or whisper.cpp failing on this input), so none is retryable.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// How to transcribe one recording.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscribeOptions {
    /// With two or more channels, transcribe each separately and tag tokens with their
    /// channel; otherwise the channels are averaged to mono.
    pub channel_identification: bool,
    pub beam_size: usize,
    pub language: String,
    /// Longest stretch of speech given to whisper.cpp at once. The default, 30 s, is one
    /// Whisper chunk: windows cut at pauses and decoded independently, with no previous text
    /// as prompt. Against 120 s on the 1/5/15-minute benchmark visits: WER 5.74 % vs 6.15 %,
    /// medical-term WER 11.5 % vs 14.2 %, about as fast (more windows balance the workers;
    /// 15 % more encoder passes, but no 224-token prompts to decode); on the 30-minute visit
    /// WER 6.23 % vs 6.03 %, 4 % faster, peak RSS 530 vs 577 MB. Longer windows let
    /// whisper.cpp seek within them and carry the text forward.
    pub window_seconds: f64,
    /// Text that primes the decoder (for example expected drug names); none by default.
    pub initial_prompt: Option<String>,
    /// Decode again, on their own, runs of speech that the first pass left without words
    /// (see `missed_speech`). Off by default: on the eight synthesized dev visits it gave
    /// backchannels turns (role accuracy 0.9785 → 0.9804) but its extra words ("Mm-hmm" heard
    /// as "I'm hum.") raised WER from 6.79 % to 7.58 %.
    pub second_pass: bool,
    /// Diarize a recording transcribed as mono into at most this many speakers
    /// (HealthScribe `MaxSpeakerLabels`); `None` leaves tokens without speakers.
    pub max_speakers: Option<u8>,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        Self {
            channel_identification: false,
            beam_size: 5,
            language: "en".to_string(),
            window_seconds: 30.0,
            initial_prompt: None,
            second_pass: false,
            max_speakers: None,
        }
    }
}

/// File name of the converted GE2E speaker encoder (as `veriscribe_model::SPEAKER_MODEL_FILE`).
pub const SPEAKER_MODEL_FILE: &str = "ge2e-resemblyzer-0.1.4.f32";

/// A loaded Whisper model. Load once and reuse: `transcribe` takes `&self` and may be called
/// from several threads (each call has its own decoding state).
pub struct WhisperEngine {
    context: WhisperContext,
    threads: usize,
    uses_dtw: bool,
    /// Trained speaker encoder for diarization, when its file sits beside the Whisper model.
    speaker_encoder: Option<crate::speaker_embedding::SpeakerEncoder>,
}

impl std::fmt::Debug for WhisperEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperEngine")
            .field("threads", &self.threads)
            .field("uses_dtw", &self.uses_dtw)
            .field("speaker_encoder", &self.speaker_encoder.is_some())
            .finish()
    }
}

impl WhisperEngine {
    /// Loads a ggml Whisper model. `threads` defaults to the number of CPUs.
    pub fn load(model_path: &Path, threads: Option<usize>) -> Result<Self, AsrError> {
        if !model_path.exists() {
            return Err(AsrError::ModelMissing {
                path: model_path.to_path_buf(),
            });
        }
        whisper_rs::install_logging_hooks(); // keeps whisper.cpp's stderr chatter out of logs
        let preset = dtw_preset_for(model_path)?;
        let uses_dtw = preset.is_some();
        let mut parameters = WhisperContextParameters::default();
        if let Some(model_preset) = preset {
            parameters.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset { model_preset },
                ..Default::default()
            });
        }
        let path_text = model_path
            .to_str()
            .ok_or_else(|| AsrError::ModelUnreadable {
                path: model_path.to_path_buf(),
                detail: "the path is not UTF-8".into(),
            })?;
        let context = WhisperContext::new_with_params(path_text, parameters).map_err(|error| {
            AsrError::ModelLoad {
                path: model_path.to_path_buf(),
                detail: error.to_string(),
            }
        })?;
        let threads = threads
            .filter(|count| *count > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |count| count.get()));
        // The speaker encoder (`veriscribe model fetch`) lives in the same directory; without
        // it diarization falls back to pitch and cepstra.
        let speaker_path = model_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(SPEAKER_MODEL_FILE);
        let speaker_encoder = if speaker_path.is_file() {
            match crate::speaker_embedding::SpeakerEncoder::load(&speaker_path) {
                Ok(encoder) => Some(encoder),
                Err(error) => {
                    tracing::warn!(%error, "speaker encoder not usable; diarizing without it");
                    None
                }
            }
        } else {
            None
        };
        tracing::info!(
            threads,
            dtw = uses_dtw,
            speaker_encoder = speaker_encoder.is_some(),
            "speech model loaded"
        );
        Ok(Self {
            context,
            threads,
            uses_dtw,
            speaker_encoder,
        })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Transcribes a recording. `progress` is called with the fraction done (0..=1), at least
    /// at each window boundary and about every 0.2 s while whisper.cpp runs.
    pub fn transcribe(
        &self,
        audio: &DecodedAudio,
        options: &TranscribeOptions,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Recognition, AsrError> {
        if audio.channels.is_empty() {
            return Err(AsrError::NoAudio);
        }
        if options.beam_size == 0 || options.window_seconds < 30.0 {
            return Err(AsrError::InvalidOption(
                "beam_size must be at least 1 and window_seconds at least 30".to_string(),
            ));
        }
        let separate = options.channel_identification
            && audio.channels.len() >= 2
            && !channels_are_copies(&audio.channels);
        if options.channel_identification && !separate {
            tracing::info!(
                channels = audio.channels.len(),
                "channel identification needs distinct channels; using mono"
            );
        }
        let signals: Vec<(Option<u16>, std::borrow::Cow<'_, [f32]>)> = if separate {
            audio
                .channels
                .iter()
                .enumerate()
                .map(|(index, channel)| (Some(index as u16), channel.into()))
                .collect()
        } else {
            vec![(None, audio.mono())]
        };
        let energies: Vec<FrameEnergy> = signals
            .iter()
            .map(|(_, signal)| FrameEnergy::measure(signal))
            .collect();
        let max_window_frames = (options.window_seconds / FRAME_SECONDS) as usize;
        let window_frames = self.window_frames(&energies, max_window_frames);
        let jobs: Vec<DecodeJob<'_>> = signals
            .iter()
            .zip(&energies)
            .enumerate()
            .flat_map(|(signal_index, ((_, signal), energy))| {
                let signal: &[f32] = signal;
                plan_windows(energy, window_frames)
                    .into_iter()
                    .map(move |window| DecodeJob {
                        signal_index,
                        signal,
                        energy,
                        window,
                    })
            })
            .collect();
        progress(0.0);
        let decoded = self.decode_jobs(&jobs, options, &mut |fraction| {
            progress(FIRST_PASS_SHARE * fraction)
        })?;
        let mut words_per_signal: Vec<(Option<u16>, Vec<RawWord>)> = signals
            .iter()
            .map(|(channel, _)| (*channel, Vec::new()))
            .collect();
        // Jobs are in signal order, so each signal's words arrive in time order.
        for (job, mut words) in jobs.iter().zip(decoded) {
            words_per_signal[job.signal_index].1.append(&mut words);
        }
        for (_, words) in &mut words_per_signal {
            enforce_monotonic(words);
        }
        if options.second_pass {
            let second: Vec<DecodeJob<'_>> = signals
                .iter()
                .zip(&energies)
                .enumerate()
                .filter_map(|(signal_index, ((_, signal), energy))| {
                    let window = missed_speech(
                        energy,
                        &words_per_signal[signal_index].1,
                        max_window_frames,
                    )?;
                    Some(DecodeJob {
                        signal_index,
                        signal,
                        energy,
                        window,
                    })
                })
                .collect();
            let recovered = self.decode_jobs(&second, options, &mut |fraction| {
                progress(FIRST_PASS_SHARE + (1.0 - FIRST_PASS_SHARE) * fraction)
            })?;
            for (job, mut extra) in second.iter().zip(recovered) {
                tracing::debug!(
                    pieces = job.window.pieces.len(),
                    words = extra.len(),
                    "missed speech decoded again"
                );
                let words = &mut words_per_signal[job.signal_index].1;
                words.append(&mut extra);
                words.sort_by(|a, b| a.start.total_cmp(&b.start));
                enforce_monotonic(words);
            }
        }
        tracing::debug!(
            signals = signals.len(),
            windows = jobs.len(),
            "recording transcribed"
        );
        if separate {
            drop_cross_talk(&mut words_per_signal, &energies);
        }
        let mut tokens = merge_into_tokens(words_per_signal);
        if separate {
            crate::diarize::align_channel_turns(&audio.channels, &mut tokens);
        }
        if let (false, Some(max_speakers)) = (separate, options.max_speakers) {
            let found = match &self.speaker_encoder {
                Some(encoder) => crate::diarize::diarize_with_encoder(
                    &signals[0].1,
                    &mut tokens,
                    max_speakers,
                    encoder,
                ),
                None => crate::diarize::diarize(&signals[0].1, &mut tokens, max_speakers),
            };
            tracing::info!(
                speakers = found.speakers,
                pieces = found.pieces,
                "speakers diarized"
            );
        }
        progress(1.0);
        Ok(Recognition {
            tokens,
            duration_seconds: audio.duration_seconds,
        })
    }

    /// Window length for this recording: the speech is shared among the threads (each worker
    /// decodes whole windows on one thread, which uses the cores better than several threads on
    /// one window), at least `MIN_PARALLEL_WINDOW_SECONDS` so that short recordings stay whole.
    fn window_frames(&self, energies: &[FrameEnergy], max_window_frames: usize) -> usize {
        let speech_frames: usize = energies
            .iter()
            .flat_map(FrameEnergy::speech_spans)
            .map(|(start, end)| end - start)
            .sum();
        parallel_window_frames(speech_frames, self.threads, max_window_frames)
    }

    /// Decodes every job's window and returns each job's words, in job order. Up to
    /// `threads` workers each hold a decoding state and take the next job; the threads are
    /// shared among the workers. `progress` runs on this thread.
    fn decode_jobs(
        &self,
        jobs: &[DecodeJob<'_>],
        options: &TranscribeOptions,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Vec<Vec<RawWord>>, AsrError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let workers = self.threads.min(jobs.len()).max(1);
        let total_frames = jobs
            .iter()
            .map(|job| job.window.frames())
            .sum::<usize>()
            .max(1);
        // Longest windows first, so that the last ones handed out are short and the workers
        // finish close together.
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|index| std::cmp::Reverse(jobs[*index].window.frames()));
        let order = &order;
        let next_job = AtomicUsize::new(0);
        let done_frames = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        // Per worker: the frames of the window it is decoding and whisper.cpp's percentage
        // (whisper-rs wants a 'static progress callback, hence the Arc).
        let live: Vec<(AtomicUsize, Arc<AtomicI32>)> = (0..workers)
            .map(|_| (AtomicUsize::new(0), Arc::new(AtomicI32::new(0))))
            .collect();
        let (finished_sender, finished) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|scope| {
            let handles: Vec<_> = live
                .iter()
                .enumerate()
                .map(|(worker, (current_frames, percent))| {
                    let threads =
                        self.threads / workers + usize::from(worker < self.threads % workers);
                    let (next_job, done_frames, failed) = (&next_job, &done_frames, &failed);
                    let finished_sender = finished_sender.clone();
                    scope.spawn(move || {
                        let _finished = finished_sender; // dropped on return, which wakes the loop below
                        let mut state = self
                            .context
                            .create_state()
                            .map_err(|error| AsrError::State(error.to_string()))?;
                        let mut decoded = Vec::new();
                        while !failed.load(Ordering::Relaxed) {
                            let Some(&index) = order.get(next_job.fetch_add(1, Ordering::Relaxed))
                            else {
                                break;
                            };
                            let job = &jobs[index];
                            percent.store(0, Ordering::Relaxed);
                            current_frames.store(job.window.frames(), Ordering::Relaxed);
                            let buffer = job.window.samples(job.signal);
                            if let Err(error) =
                                self.run_window(&mut state, options, threads, &buffer, percent)
                            {
                                failed.store(true, Ordering::Relaxed);
                                return Err(error);
                            }
                            decoded.push((index, self.read_words(&state, &job.window, job.energy)));
                            current_frames.store(0, Ordering::Relaxed);
                            done_frames.fetch_add(job.window.frames(), Ordering::Relaxed);
                        }
                        Ok(decoded)
                    })
                })
                .collect();
            drop(finished_sender);
            let mut reported = 0.0f64;
            loop {
                let running: f64 = live
                    .iter()
                    .map(|(frames, percent)| {
                        frames.load(Ordering::Relaxed) as f64
                            * f64::from(percent.load(Ordering::Relaxed).clamp(0, 100))
                            / 100.0
                    })
                    .sum();
                let done = done_frames.load(Ordering::Relaxed) as f64;
                // The counters are read while workers move frames from one to the other, so
                // a reading can briefly count a window twice; progress never goes back.
                reported = reported.max(((done + running) / total_frames as f64).min(1.0));
                progress(reported);
                match finished.recv_timeout(PROGRESS_INTERVAL) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                    _ => break, // every worker has returned
                }
            }
            let mut words: Vec<Option<Vec<RawWord>>> = vec![None; jobs.len()];
            let mut first_error = None;
            for handle in handles {
                match handle.join() {
                    Ok(Ok(decoded)) => {
                        for (index, job_words) in decoded {
                            words[index] = Some(job_words);
                        }
                    }
                    Ok(Err(error)) => {
                        first_error.get_or_insert(error);
                    }
                    Err(_) => {
                        first_error.get_or_insert(AsrError::Transcription(
                            "a whisper.cpp worker thread panicked".to_string(),
                        ));
                    }
                }
            }
            if let Some(error) = first_error {
                return Err(error);
            }
            words
                .into_iter()
                .map(|job_words| {
                    job_words.ok_or_else(|| {
                        AsrError::Transcription("a window was left undecoded".to_string())
                    })
                })
                .collect()
        })
    }

    fn run_window(
        &self,
        state: &mut WhisperState,
        options: &TranscribeOptions,
        threads: usize,
        samples: &[f32],
        percent: &Arc<AtomicI32>,
    ) -> Result<(), AsrError> {
        let mut params = FullParams::new(SamplingStrategy::BeamSearch {
            beam_size: options.beam_size as i32,
            patience: -1.0,
        });
        params.set_n_threads(threads as i32);
        params.set_language(Some(&options.language));
        params.set_token_timestamps(true);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_no_speech_thold(0.6);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        if let Some(prompt) = &options.initial_prompt {
            params.set_initial_prompt(prompt);
        }
        let writer = Arc::clone(percent);
        params.set_progress_callback_safe(move |value: i32| writer.store(value, Ordering::Relaxed));
        state
            .full(params, samples)
            .map(|_| ())
            .map_err(|error| AsrError::Transcription(error.to_string()))
    }

    fn read_words(
        &self,
        state: &WhisperState,
        window: &Window,
        energy: &FrameEnergy,
    ) -> Vec<RawWord> {
        let eot = self.context.token_eot();
        let mut words: Vec<RawWord> = Vec::new();
        for (segment_index, segment) in state.as_iter().enumerate() {
            let segment_end = segment.end_timestamp() as f64 / 100.0;
            let mut segment_words: Vec<(RawWord, Vec<f64>)> = Vec::new();
            for token_index in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(token_index) else {
                    continue;
                };
                if token.token_id() >= eot {
                    continue;
                }
                let Ok(text) = token.to_str_lossy() else {
                    continue;
                };
                if text.trim().is_empty() {
                    continue;
                }
                let data = token.token_data();
                let probability = f64::from(data.p).clamp(0.0, 1.0);
                let (start, end) = (data.t0 as f64 / 100.0, data.t1 as f64 / 100.0);
                let dtw = (self.uses_dtw && data.t_dtw >= 0).then_some(data.t_dtw as f64 / 100.0);
                let begins_word = text.starts_with(' ') || segment_words.is_empty();
                if begins_word {
                    segment_words.push((
                        RawWord {
                            text: text.trim_start().to_string(),
                            start: dtw.unwrap_or(start),
                            end,
                            confidence: 0.0,
                            starts_segment: false,
                            segment: segment_index,
                        },
                        vec![probability],
                    ));
                } else if let Some((word, probabilities)) = segment_words.last_mut() {
                    word.text.push_str(&text);
                    word.end = end;
                    probabilities.push(probability);
                }
            }
            // With DTW a word ends where the next word starts (the last one where the segment ends).
            if self.uses_dtw {
                let starts: Vec<f64> = segment_words.iter().map(|(word, _)| word.start).collect();
                for (index, (word, _)) in segment_words.iter_mut().enumerate() {
                    word.end = starts
                        .get(index + 1)
                        .copied()
                        .unwrap_or(segment_end.max(word.end));
                }
            }
            for (index, (mut word, probabilities)) in segment_words.into_iter().enumerate() {
                word.confidence = probabilities.iter().sum::<f64>() / probabilities.len() as f64;
                word.starts_segment = index == 0;
                (word.start, word.end) =
                    window.to_source_span(word.start, word.end.max(word.start));
                if word.text.trim().is_empty() {
                    continue;
                }
                words.push(word);
            }
        }
        gate_and_snap(words, energy)
    }
}

/// Chooses whisper.cpp's DTW alignment heads from the model header (DTW needs the heads of the
/// exact model size; large models are left on plain token timestamps).
fn dtw_preset_for(model_path: &Path) -> Result<Option<DtwModelPreset>, AsrError> {
    let unreadable = |detail: String| AsrError::ModelUnreadable {
        path: model_path.to_path_buf(),
        detail,
    };
    let mut header = [0u8; 48];
    std::fs::File::open(model_path)
        .and_then(|mut file| file.read_exact(&mut header))
        .map_err(|error| unreadable(error.to_string()))?;
    let field = |index: usize| {
        i32::from_le_bytes(
            header[index * 4..index * 4 + 4]
                .try_into()
                .unwrap_or_default(),
        )
    };
    if field(0) as u32 != 0x6767_6d6c {
        return Err(unreadable(
            "not a ggml Whisper model (bad magic number)".to_string(),
        ));
    }
    let (n_vocab, n_audio_layer) = (field(1), field(5));
    let english_only = n_vocab == 51864;
    Ok(match (n_audio_layer, english_only) {
        (4, true) => Some(DtwModelPreset::TinyEn),
        (4, false) => Some(DtwModelPreset::Tiny),
        (6, true) => Some(DtwModelPreset::BaseEn),
        (6, false) => Some(DtwModelPreset::Base),
        (12, true) => Some(DtwModelPreset::SmallEn),
        (12, false) => Some(DtwModelPreset::Small),
        (24, true) => Some(DtwModelPreset::MediumEn),
        (24, false) => Some(DtwModelPreset::Medium),
        _ => None,
    })
}

/// A word before punctuation is split off, with times in recording seconds.
#[derive(Debug, Clone, PartialEq)]
struct RawWord {
    text: String,
    start: f64,
    end: f64,
    confidence: f64,
    starts_segment: bool,
    segment: usize,
}

/// RMS per 20 ms frame and the voice gate derived from it.
#[derive(Debug, Clone)]
pub(crate) struct FrameEnergy {
    pub(crate) rms: Vec<f32>,
    gate: f32,
}

impl FrameEnergy {
    pub(crate) fn measure(signal: &[f32]) -> Self {
        let rms: Vec<f32> = signal
            .chunks(FRAME_SAMPLES)
            .map(|frame| (frame.iter().map(|s| s * s).sum::<f32>() / frame.len() as f32).sqrt())
            .collect();
        let mut sorted = rms.clone();
        sorted.sort_by(f32::total_cmp);
        let p95 = sorted.get(sorted.len() * 95 / 100).copied().unwrap_or(0.0);
        Self {
            rms,
            gate: GATE_ABSOLUTE_RMS.max(GATE_RELATIVE_TO_P95 * p95),
        }
    }

    fn frame_at(&self, seconds: f64) -> usize {
        ((seconds.max(0.0) / FRAME_SECONDS) as usize).min(self.rms.len())
    }

    pub(crate) fn voiced(&self, frame: usize) -> bool {
        self.rms.get(frame).is_some_and(|rms| *rms > self.gate)
    }

    fn loudest_between(&self, start: f64, end: f64) -> f32 {
        let (first, last) = (
            self.frame_at(start),
            (self.frame_at(end) + 1).min(self.rms.len()),
        );
        self.rms
            .get(first..last)
            .map_or(0.0, |frames| frames.iter().copied().fold(0.0, f32::max))
    }

    fn mean_square_between(&self, start: f64, end: f64) -> f64 {
        let (first, last) = (
            self.frame_at(start),
            (self.frame_at(end) + 1).min(self.rms.len()),
        );
        match self.rms.get(first..last) {
            Some(frames) if !frames.is_empty() => {
                frames
                    .iter()
                    .map(|rms| f64::from(*rms).powi(2))
                    .sum::<f64>()
                    / frames.len() as f64
            }
            _ => 0.0,
        }
    }

    /// Runs of voiced frames, widened and merged, as frame ranges.
    fn speech_spans(&self) -> Vec<(usize, usize)> {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for frame in (0..self.rms.len()).filter(|frame| self.voiced(*frame)) {
            let start = frame.saturating_sub(SPAN_PADDING_FRAMES);
            let end = (frame + 1 + SPAN_PADDING_FRAMES).min(self.rms.len());
            match spans.last_mut() {
                Some(last) if start <= last.1 + SPAN_MERGE_GAP_FRAMES => last.1 = last.1.max(end),
                _ => spans.push((start, end)),
            }
        }
        spans
    }
}

/// The window length that gives each of `threads` workers about `WINDOWS_PER_THREAD` windows
/// of `speech_frames`, kept within [`MIN_PARALLEL_WINDOW_SECONDS`, `max_window_frames`].
fn parallel_window_frames(speech_frames: usize, threads: usize, max_window_frames: usize) -> usize {
    let min_frames = (MIN_PARALLEL_WINDOW_SECONDS / FRAME_SECONDS) as usize;
    speech_frames
        .div_ceil(threads.max(1) * WINDOWS_PER_THREAD)
        .clamp(min_frames, max_window_frames.max(min_frames))
}

/// One window of one transcribed signal.
struct DecodeJob<'a> {
    /// Index of the signal (mono downmix or channel) the window belongs to.
    signal_index: usize,
    signal: &'a [f32],
    energy: &'a FrameEnergy,
    window: Window,
}

/// Consecutive pieces of the recording (frame ranges) given to whisper.cpp as one buffer.
#[derive(Debug, Clone, PartialEq)]
struct Window {
    pieces: Vec<(usize, usize)>,
}

impl Window {
    fn frames(&self) -> usize {
        self.pieces.iter().map(|(start, end)| end - start).sum()
    }

    fn samples(&self, signal: &[f32]) -> Vec<f32> {
        let mut buffer = Vec::with_capacity(self.frames() * FRAME_SAMPLES);
        for (start, end) in &self.pieces {
            buffer.extend_from_slice(
                &signal[start * FRAME_SAMPLES..(end * FRAME_SAMPLES).min(signal.len())],
            );
        }
        buffer
    }

    /// Maps a time in the window's buffer to a time in the recording.
    #[cfg(test)]
    fn to_source_seconds(&self, buffer_seconds: f64) -> f64 {
        self.to_source_span(buffer_seconds, buffer_seconds).0
    }

    /// Maps a span in the window's buffer to the recording. The end is kept inside the piece
    /// that holds the start, so a word whose end strays past a joint does not stretch over
    /// the silence (or the other speaker's turn) that was cut out there.
    fn to_source_span(&self, buffer_start: f64, buffer_end: f64) -> (f64, f64) {
        let mut offset = 0.0;
        for (start, end) in &self.pieces {
            let length = (end - start) as f64 * FRAME_SECONDS;
            if buffer_start <= offset + length {
                let piece_start = *start as f64 * FRAME_SECONDS;
                let source_start = piece_start + (buffer_start - offset).max(0.0);
                let source_end =
                    (piece_start + (buffer_end - offset).max(0.0)).min(piece_start + length);
                return (source_start, source_end.max(source_start));
            }
            offset += length;
        }
        let last_end = self
            .pieces
            .last()
            .map_or(0.0, |(_, end)| *end as f64 * FRAME_SECONDS);
        (last_end, last_end)
    }
}

/// Cuts the speech spans into windows of at most `window_frames`.
fn plan_windows(energy: &FrameEnergy, window_frames: usize) -> Vec<Window> {
    let mut pieces = Vec::new();
    for (mut start, end) in energy.speech_spans() {
        while end - start > window_frames {
            let limit = start + window_frames;
            let search_from = limit
                .saturating_sub(CUT_SEARCH_FRAMES.min(window_frames / 3))
                .max(start + 1);
            let cut = (search_from..limit)
                .min_by(|a, b| energy.rms[*a].total_cmp(&energy.rms[*b]))
                .unwrap_or(limit);
            pieces.push((start, cut));
            start = cut;
        }
        pieces.push((start, end));
    }
    let mut windows: Vec<Window> = Vec::new();
    for piece in pieces {
        match windows.last_mut() {
            Some(window) if window.frames() + (piece.1 - piece.0) <= window_frames => {
                window.pieces.push(piece)
            }
            _ => windows.push(Window {
                pieces: vec![piece],
            }),
        }
    }
    windows
}

/// Runs of voice that no recognised word touches, gathered into one window for a second
/// decode. Whisper skips short utterances between long ones (a backchannel such as "Mm-hmm",
/// sometimes a whole short turn); heard on their own they are usually recognised, and
/// without words they would belong to no turn. Runs shorter than `MISSED_MIN_VOICED_FRAMES`
/// voiced frames are clicks and breaths.
fn missed_speech(energy: &FrameEnergy, words: &[RawWord], window_frames: usize) -> Option<Window> {
    let mut runs: Vec<(usize, usize, usize)> = Vec::new(); // start, end, voiced frames
    for frame in (0..energy.rms.len()).filter(|frame| energy.voiced(*frame)) {
        match runs.last_mut() {
            Some(run) if frame <= run.1 + MISSED_MERGE_GAP_FRAMES => {
                run.1 = frame + 1;
                run.2 += 1;
            }
            _ => runs.push((frame, frame + 1, 1)),
        }
    }
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    let mut total = 0usize;
    let mut next_word = 0usize;
    for (start, end, voiced) in runs {
        if voiced < MISSED_MIN_VOICED_FRAMES {
            continue;
        }
        let (run_start, run_end) = (start as f64 * FRAME_SECONDS, end as f64 * FRAME_SECONDS);
        while next_word < words.len() && words[next_word].end < run_start {
            next_word += 1;
        }
        let touched = words[next_word..]
            .iter()
            .take_while(|word| word.start <= run_end)
            .any(|word| word.end >= run_start);
        if touched {
            continue;
        }
        let piece = (
            start.saturating_sub(MISSED_PADDING_FRAMES),
            (end + MISSED_PADDING_FRAMES).min(energy.rms.len()),
        );
        if total + (piece.1 - piece.0) > window_frames {
            break;
        }
        total += piece.1 - piece.0;
        match pieces.last_mut() {
            Some(last) if piece.0 <= last.1 => last.1 = piece.1,
            _ => pieces.push(piece),
        }
    }
    (!pieces.is_empty()).then_some(Window { pieces })
}

/// Drops words over silence and tightens word times to the voiced frames they cover.
fn gate_and_snap(words: Vec<RawWord>, energy: &FrameEnergy) -> Vec<RawWord> {
    let mut kept: Vec<RawWord> = Vec::with_capacity(words.len());
    let mut pending_segment_start: Option<usize> = None;
    for mut word in words {
        if word.starts_segment {
            pending_segment_start = Some(word.segment);
        }
        if let Some(previous) = kept.last_mut() {
            pull_back_late_sentence_end(&mut word, previous, energy);
        }
        let loudest = energy.loudest_between(
            word.start - WORD_GATE_MARGIN_SECONDS,
            word.end + WORD_GATE_MARGIN_SECONDS,
        );
        if loudest <= energy.gate {
            let Some(voiced) = (energy.frame_at(word.start - WORD_GATE_LOOKBACK_SECONDS)
                ..energy.frame_at(word.start))
                .rev()
                .find(|frame| energy.voiced(*frame))
            else {
                continue;
            };
            let duration = (word.end - word.start).clamp(0.1, 0.5);
            word.end = (voiced + 1) as f64 * FRAME_SECONDS;
            word.start = word.end - duration;
            if let Some(previous) = kept.last_mut() {
                // DTW lagged: the previous word was stretched over this word's speech, so the
                // two share it.
                if word.start < previous.end {
                    let split = ((previous.start + word.end) / 2.0).max(word.start);
                    previous.end = previous.end.min(split).max(previous.start);
                    word.start = split.max(previous.end);
                }
            }
        }
        let (first, last) = (energy.frame_at(word.start), energy.frame_at(word.end));
        if let Some(voiced) = (first..last).find(|frame| energy.voiced(*frame)) {
            word.start = word.start.max(voiced as f64 * FRAME_SECONDS);
        }
        if let Some(voiced) = (first..last).rev().find(|frame| energy.voiced(*frame)) {
            word.end = word
                .end
                .min((voiced + 1) as f64 * FRAME_SECONDS)
                .max(word.start);
        }
        // The first kept word of a segment carries the segment boundary even if its
        // predecessor was dropped.
        word.starts_segment = pending_segment_start == Some(word.segment);
        pending_segment_start = None;
        kept.push(word);
    }
    kept
}

/// DTW tends to put the word that ends a sentence late, across the pause that follows and onto
/// the next speaker's first syllable, which hides the pause that separates turns. When such a
/// word starts right after a pause, it is moved back onto the end of the speech before the pause
/// (the speech the previous word had absorbed), and the two words share it.
fn pull_back_late_sentence_end(word: &mut RawWord, previous: &mut RawWord, energy: &FrameEnergy) {
    if !word.text.trim_end().ends_with(['.', '?', '!']) {
        return;
    }
    let start = energy.frame_at(word.start);
    let earliest = energy.frame_at((word.start - WORD_GATE_LOOKBACK_SECONDS).max(previous.start));
    let Some(last_voiced) = (earliest..start).rev().find(|f| energy.voiced(*f)) else {
        return;
    };
    let pause = (start - last_voiced - 1) as f64 * FRAME_SECONDS;
    if pause < LATE_WORD_PAUSE_SECONDS {
        return;
    }
    let end = (last_voiced + 1) as f64 * FRAME_SECONDS;
    let duration = (word.end - word.start).clamp(0.1, 0.5);
    let split = (end - duration).max((previous.start + end) / 2.0).min(end);
    previous.end = previous.end.min(split).max(previous.start);
    word.start = split.max(previous.end);
    word.end = end;
}

fn enforce_monotonic(words: &mut [RawWord]) {
    let mut previous_start = 0.0f64;
    for word in words {
        word.start = word.start.max(previous_start);
        word.end = word.end.max(word.start);
        previous_start = word.start;
    }
}

/// Keeps a word only on the channel where it is loudest (see the module docs).
fn drop_cross_talk(words_per_signal: &mut [(Option<u16>, Vec<RawWord>)], energies: &[FrameEnergy]) {
    for (index, (_, words)) in words_per_signal.iter_mut().enumerate() {
        words.retain(|word| {
            let own = energies[index].mean_square_between(word.start, word.end);
            energies
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != index)
                .all(|(other, energy)| {
                    let theirs = energy.mean_square_between(word.start, word.end);
                    // On a tie the lower channel keeps the word, so it is never kept twice.
                    own > theirs || (own == theirs && index < other)
                })
        });
    }
}

/// Dual-mono recordings (the same signal on every channel, as many recorders write) carry no
/// speaker information: every word would tie on energy. Compared on the mean absolute
/// difference relative to the mean level, within 5 %.
fn channels_are_copies(channels: &[Vec<f32>]) -> bool {
    let first = &channels[0];
    let level: f64 = first.iter().map(|s| f64::from(s.abs())).sum();
    channels[1..].iter().all(|other| {
        let difference: f64 = first
            .iter()
            .zip(other)
            .map(|(a, b)| f64::from((a - b).abs()))
            .sum();
        difference <= 0.05 * level
    })
}

fn merge_into_tokens(words_per_signal: Vec<(Option<u16>, Vec<RawWord>)>) -> Vec<SpokenToken> {
    // Sorted by word, not by token: a word's trailing mark sits at the word's end, which is
    // often after the next word's start (Whisper's word times overlap), and must stay with it.
    let mut groups: Vec<(f64, Vec<SpokenToken>)> = Vec::new();
    for (channel, words) in words_per_signal {
        for word in words {
            groups.push((word.start, split_punctuation(&word, channel)));
        }
    }
    // Stable: each channel's own order is kept for equal start times.
    groups.sort_by(|a, b| a.0.total_cmp(&b.0));
    groups.into_iter().flat_map(|(_, tokens)| tokens).collect()
}

/// Splits leading and trailing `, . ? ! ; :` off a word into their own tokens.
fn split_punctuation(word: &RawWord, channel: Option<u16>) -> Vec<SpokenToken> {
    let text = word.text.trim();
    let core_start = text
        .find(|c: char| !PUNCTUATION.contains(&c))
        .unwrap_or(text.len());
    let core_end = text
        .rfind(|c: char| !PUNCTUATION.contains(&c))
        .map_or(core_start, |i| {
            i + text[i..].chars().next().map_or(1, char::len_utf8)
        });
    let punctuation = |mark: char, at: f64, starts_segment: bool| SpokenToken {
        text: mark.to_string(),
        kind: TokenKind::Punctuation,
        start: at,
        end: at,
        confidence: 0.0,
        channel,
        speaker: None,
        starts_segment,
    };
    let mut tokens = Vec::new();
    for mark in text[..core_start].chars() {
        tokens.push(punctuation(
            mark,
            word.start,
            word.starts_segment && tokens.is_empty(),
        ));
    }
    if core_start < core_end {
        tokens.push(SpokenToken {
            text: text[core_start..core_end].to_string(),
            kind: TokenKind::Word,
            start: word.start,
            end: word.end,
            confidence: word.confidence,
            channel,
            speaker: None,
            starts_segment: word.starts_segment && tokens.is_empty(),
        });
    }
    for mark in text[core_end.max(core_start)..].chars() {
        tokens.push(punctuation(
            mark,
            word.end,
            word.starts_segment && tokens.is_empty(),
        ));
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_stays_with_its_word_when_word_times_overlap() {
        // "you." ends after "were" starts, as Whisper's DTW times often do at a sentence end.
        let words = vec![
            word("you.", 1.0, 1.5),
            word("Were", 1.4, 1.8),
            word("there?", 1.8, 2.2),
        ];
        let tokens = merge_into_tokens(vec![(None, words)]);
        let text: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(text, ["you", ".", "Were", "there", "?"]);
    }

    fn word(text: &str, start: f64, end: f64) -> RawWord {
        RawWord {
            text: text.into(),
            start,
            end,
            confidence: 0.8,
            starts_segment: true,
            segment: 0,
        }
    }

    #[test]
    fn punctuation_is_split_from_both_sides() {
        let tokens = split_punctuation(&word("\"Hello,", 1.0, 1.5), Some(1));
        let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["\"Hello", ","]);
        assert_eq!(tokens[1].kind, TokenKind::Punctuation);
        assert_eq!(tokens[1].confidence, 0.0);
        assert_eq!(tokens[1].start, 1.5);
        assert!(tokens[0].starts_segment && !tokens[1].starts_segment);
        assert_eq!(tokens[0].channel, Some(1));

        let tokens = split_punctuation(&word("...why?!", 2.0, 3.0), None);
        let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, [".", ".", ".", "why", "?", "!"]);
        let kinds: Vec<TokenKind> = tokens.iter().map(|t| t.kind).collect();
        assert_eq!(kinds[3], TokenKind::Word);
        assert!(tokens[0].starts_segment);

        let inner: Vec<String> = split_punctuation(&word("2.5", 0.0, 1.0), None)
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(inner, ["2.5"]);
        let only: Vec<String> = split_punctuation(&word("?", 0.0, 1.0), None)
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(only, ["?"]);
    }

    fn tone_with_silence() -> Vec<f32> {
        // 1 s silence, 2 s loud tone, 5 s silence, 1 s tone, 3 s silence.
        let mut signal = vec![0.0f32; 16_000];
        signal.extend((0..32_000).map(|i| 0.3 * (i as f32 * 0.1).sin()));
        signal.extend(vec![0.0f32; 80_000]);
        signal.extend((0..16_000).map(|i| 0.3 * (i as f32 * 0.1).sin()));
        signal.extend(vec![0.0f32; 48_000]);
        signal
    }

    #[test]
    fn voice_without_words_is_gathered_for_a_second_decode() {
        let energy = FrameEnergy::measure(&tone_with_silence());
        // Words cover the first tone (1-3 s) only; the second (8-9 s) was skipped.
        let words = [word("one", 1.1, 1.9), word("two", 2.0, 2.9)];
        let window = missed_speech(&energy, &words, 30_000).expect("the second tone");
        assert_eq!(window.pieces, [(390, 460)]);
        let all = [word("one", 1.1, 2.9), word("two", 8.2, 8.8)];
        assert_eq!(missed_speech(&energy, &all, 30_000), None);
    }

    #[test]
    fn speech_spans_skip_long_silence_and_keep_padding() {
        let energy = FrameEnergy::measure(&tone_with_silence());
        let spans = energy.speech_spans();
        assert_eq!(spans.len(), 2, "{spans:?}");
        let seconds = |frame: usize| frame as f64 * FRAME_SECONDS;
        assert!(
            (seconds(spans[0].0) - 0.7).abs() < 0.05 && (seconds(spans[0].1) - 3.3).abs() < 0.05,
            "{spans:?}"
        );
        assert!(
            (seconds(spans[1].0) - 7.7).abs() < 0.05 && (seconds(spans[1].1) - 9.3).abs() < 0.05,
            "{spans:?}"
        );
        assert!(FrameEnergy::measure(&vec![0.0; 80_000])
            .speech_spans()
            .is_empty());
    }

    #[test]
    fn windows_map_buffer_time_back_to_the_recording() {
        let energy = FrameEnergy::measure(&tone_with_silence());
        let windows = plan_windows(&energy, 30_000);
        assert_eq!(windows.len(), 1);
        let window = &windows[0];
        // 2.6 s of the first span, then the second span starts.
        assert!((window.to_source_seconds(1.0) - 1.7).abs() < 1e-9);
        assert!((window.to_source_seconds(2.6 + 0.5) - 8.2).abs() < 1e-6);
        // A span that crosses the joint ends where its first piece ends (3.3 s), not at 7.9 s.
        let (start, end) = window.to_source_span(2.0, 2.8);
        assert!(
            (start - 2.7).abs() < 1e-6 && (end - 3.3).abs() < 1e-6,
            "{start}..{end}"
        );
        // A tiny window limit cuts the spans at their quietest frames.
        let small = plan_windows(&energy, 100);
        assert!(
            small.len() >= 2 && small.iter().all(|w| w.frames() <= 100),
            "{small:?}"
        );
        assert_eq!(
            small.iter().map(Window::frames).sum::<usize>(),
            window.frames()
        );
    }

    #[test]
    fn speech_is_shared_out_as_two_windows_per_thread_within_bounds() {
        let frames = |seconds: f64| (seconds / FRAME_SECONDS) as usize;
        let max = frames(600.0);
        // 30 minutes on 2 threads: four windows of 7.5 minutes.
        assert_eq!(
            parallel_window_frames(frames(1800.0), 2, max),
            frames(450.0)
        );
        // A one-minute visit is not cut below 30 s windows.
        assert_eq!(parallel_window_frames(frames(60.0), 2, max), frames(30.0));
        // One thread: two windows, capped at the longest window allowed.
        assert_eq!(parallel_window_frames(frames(3000.0), 1, max), max);
        assert_eq!(parallel_window_frames(frames(100.0), 0, max), frames(50.0));
    }

    #[test]
    fn words_over_silence_are_dropped_and_times_snap_to_voice() {
        let energy = FrameEnergy::measure(&tone_with_silence());
        let mut second = word("invented", 5.0, 5.5);
        second.starts_segment = false;
        let mut third = word("real", 6.5, 8.5);
        third.starts_segment = false;
        let kept = gate_and_snap(vec![word("ghost", 4.0, 4.6), second, third], &energy);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].text, "real");
        assert!(
            kept[0].starts_segment,
            "the segment start moves to the first kept word"
        );
        assert!((kept[0].start - 8.0).abs() < 0.03, "{}", kept[0].start);
    }

    #[test]
    fn a_late_segment_final_word_moves_back_onto_the_speech_it_follows() {
        // Speech from 0 to 2 s, then silence: DTW put the last word in the pause.
        let mut signal: Vec<f32> = (0..32_000).map(|i| 0.3 * (i as f32 * 0.1).sin()).collect();
        signal.extend(std::iter::repeat_n(0.0, 64_000));
        let energy = FrameEnergy::measure(&signal);
        let mut late = word("today", 2.4, 2.4);
        late.starts_segment = false;
        let mut far = word("invented", 4.0, 4.5);
        far.starts_segment = false;
        let kept = gate_and_snap(vec![word("in", 1.2, 2.4), late, far], &energy);
        let texts: Vec<&str> = kept.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["in", "today"]);
        assert!(kept[1].end <= 2.0 + 1e-9 && kept[1].start < kept[1].end);
        assert!(kept[0].end <= kept[1].start + 1e-9);
    }

    #[test]
    fn cross_talk_keeps_the_louder_channel() {
        let loud: Vec<f32> = (0..32_000).map(|i| 0.3 * (i as f32 * 0.1).sin()).collect();
        let quiet: Vec<f32> = loud.iter().map(|s| s * 0.1).collect();
        let energies = [FrameEnergy::measure(&loud), FrameEnergy::measure(&quiet)];
        let mut words = vec![
            (Some(0), vec![word("hello", 0.2, 0.6)]),
            (Some(1), vec![word("hello", 0.2, 0.6)]),
        ];
        drop_cross_talk(&mut words, &energies);
        assert_eq!(words[0].1.len(), 1);
        assert!(words[1].1.is_empty());
    }

    #[test]
    fn copied_channels_are_recognised_and_ties_keep_one_copy() {
        let signal: Vec<f32> = (0..16_000).map(|i| 0.3 * (i as f32 * 0.1).sin()).collect();
        let other: Vec<f32> = (0..16_000).map(|i| 0.3 * (i as f32 * 0.13).sin()).collect();
        assert!(channels_are_copies(&[signal.clone(), signal.clone()]));
        assert!(!channels_are_copies(&[signal.clone(), other]));
        let energies = [FrameEnergy::measure(&signal), FrameEnergy::measure(&signal)];
        let mut words = vec![
            (Some(0), vec![word("same", 0.2, 0.6)]),
            (Some(1), vec![word("same", 0.2, 0.6)]),
        ];
        drop_cross_talk(&mut words, &energies);
        assert_eq!((words[0].1.len(), words[1].1.len()), (1, 0));
    }

    #[test]
    fn times_are_made_non_decreasing() {
        let mut words = vec![
            word("a", 1.0, 1.2),
            word("b", 0.9, 0.8),
            word("c", 1.5, 1.6),
        ];
        enforce_monotonic(&mut words);
        assert_eq!((words[1].start, words[1].end), (1.0, 1.0));
        assert!(words.windows(2).all(|pair| pair[0].start <= pair[1].start));
    }
}
