//! Audio in: decode WAV/FLAC/MP3/OGG-Vorbis with symphonia and resample to 16 kHz, keeping
//! channels separate.
//!
//! Decoding is incremental: packets are decoded and resampled one at a time, so only the
//! 16 kHz `f32` output is ever held (about 230 MB per hour per channel). [`AudioStream`]
//! hands that output out in chunks for callers that do not want to hold it at all.
//!
//! A truncated file (a WAV whose data chunk is shorter than its header says, or a stream that
//! ends mid-packet) is refused with [`AudioError::Truncated`], which says how much was
//! readable: a clinic must not lose the end of a visit without noticing. Callers that want the
//! samples before the cut anyway set [`DecodeOptions::allow_truncated`]; the result is then
//! marked [`DecodedAudio::truncated`].
//!
//! Header values are checked before anything is allocated from them (sample rate, channel
//! count, declared length), and a panic inside the decoder library is turned into
//! [`AudioError::DecoderFailed`]: hostile or corrupt files get a reason, never a crash.

use std::borrow::Cow;
use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

use rubato::{FftFixedIn, Resampler};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// The sample rate every decoded signal is converted to (what Whisper expects).
pub const TARGET_SAMPLE_RATE: u32 = 16_000;

/// The containers and codecs this crate decodes, for error messages and documentation.
pub const SUPPORTED_FORMATS: &str = "WAV (8/16/24/32-bit PCM, 32-bit float), FLAC, MP3, OGG/Vorbis";

/// Four hours, the longest recording AWS HealthScribe accepts.
pub const DEFAULT_MAX_DURATION_SECONDS: f64 = 4.0 * 3600.0;

/// Sample rates outside this range are refused before a resampler is built: the FFT resampler's
/// buffers grow with the rate, and no microphone records outside it.
pub const MIN_SAMPLE_RATE: u32 = 1_000;
pub const MAX_SAMPLE_RATE: u32 = 384_000;

/// More channels than this are refused (HealthScribe takes mono or two-channel audio; 8 leaves
/// room for multi-microphone rigs whose channels are averaged).
pub const MAX_CHANNELS: usize = 8;

/// A file whose decodable audio ends less than this short of its declared length is not called
/// truncated (encoders round their length fields).
const TRUNCATION_TOLERANCE_SECONDS: f64 = 0.1;

/// Input frames per resampler call; small enough that buffers stay tiny, large enough that
/// the FFT work per call is not dominated by overhead.
const RESAMPLER_CHUNK_FRAMES: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("the audio input is empty (0 bytes)")]
    Empty,
    #[error("cannot read the audio file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the input is not a recognised audio file ({detail}); supported formats: {supported}")]
    UnrecognisedFormat {
        detail: String,
        supported: &'static str,
    },
    #[error("the audio codec is not supported ({detail}); supported formats: {supported}")]
    UnsupportedCodec {
        detail: String,
        supported: &'static str,
    },
    #[error("the audio file is damaged or truncated before any audio could be decoded: {detail}")]
    Malformed { detail: String },
    #[error("the audio file has no sample rate in its header")]
    UnknownSampleRate,
    #[error("the audio file's header gives a sample rate of {rate} Hz; supported rates are {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz")]
    UnsupportedSampleRate { rate: u64 },
    #[error(
        "the audio file's header gives {channels} channels; at most {MAX_CHANNELS} are supported"
    )]
    UnsupportedChannels { channels: u64 },
    #[error("{}", truncated_message(*.decoded_seconds, *.declared_seconds))]
    Truncated {
        decoded_seconds: f64,
        declared_seconds: Option<f64>,
    },
    #[error("the audio decoder failed on this file ({detail}); the file is damaged or not a supported format ({supported})")]
    DecoderFailed {
        detail: String,
        supported: &'static str,
    },
    #[error("the audio contains no samples")]
    NoSamples,
    #[error("the audio is {seconds:.1} s long, longer than the maximum of {max_seconds:.1} s")]
    TooLong { seconds: f64, max_seconds: f64 },
    #[error("resampling from {from_rate} Hz to 16 kHz failed: {detail}")]
    Resample { from_rate: u32, detail: String },
}

fn truncated_message(decoded_seconds: f64, declared_seconds: Option<f64>) -> String {
    match declared_seconds {
        Some(declared) => format!(
            "the recording is truncated: only {decoded_seconds:.1} s of the {declared:.1} s its header declares could be read"
        ),
        None => format!(
            "the recording is truncated: its audio stops in the middle of the data after {decoded_seconds:.1} s"
        ),
    }
}

/// Options for decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeOptions {
    /// Longer recordings are refused (checked from the header first when it states a length,
    /// so a huge file fails before it is decoded).
    pub max_duration_seconds: f64,
    /// Keep the samples before the cut of a truncated file instead of refusing it; the result
    /// is marked [`DecodedAudio::truncated`].
    pub allow_truncated: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_duration_seconds: DEFAULT_MAX_DURATION_SECONDS,
            allow_truncated: false,
        }
    }
}

/// Runs decoder-library code, turning a panic inside it into an error: symphonia asserts on
/// some malformed headers (a WAV with a sample rate of 0, for one).
fn guarded<T>(work: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "internal error".to_string());
        Err(AudioError::DecoderFailed {
            detail: detail.chars().take(120).collect(),
            supported: SUPPORTED_FORMATS,
        })
    })
}

/// What a RIFF/WAVE `fmt ` chunk says, read before symphonia sees the file so that absurd
/// values get a precise reason and never reach an allocation.
fn check_wav_header(head: &[u8]) -> Result<(), AudioError> {
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Ok(());
    }
    let mut at = 12;
    while at + 8 <= head.len() {
        let id = &head[at..at + 4];
        let size = u32::from_le_bytes([head[at + 4], head[at + 5], head[at + 6], head[at + 7]]);
        if id == b"fmt " {
            let body = &head[at + 8..];
            if body.len() < 8 {
                return Ok(()); // cut inside the chunk: symphonia reports it
            }
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            return check_stream_shape(u64::from(rate), u64::from(channels));
        }
        at += 8 + size as usize + (size as usize & 1);
    }
    Ok(())
}

fn check_stream_shape(rate: u64, channels: u64) -> Result<(), AudioError> {
    if rate == 0 {
        return Err(AudioError::UnknownSampleRate);
    }
    if !(u64::from(MIN_SAMPLE_RATE)..=u64::from(MAX_SAMPLE_RATE)).contains(&rate) {
        return Err(AudioError::UnsupportedSampleRate { rate });
    }
    if channels > MAX_CHANNELS as u64 {
        return Err(AudioError::UnsupportedChannels { channels });
    }
    Ok(())
}

/// What the caller knows about the input's format: a file extension ("wav", "mp3") and/or a
/// MIME type ("audio/flac"). Either helps the prober; neither is required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormatHint {
    pub extension: Option<String>,
    pub mime_type: Option<String>,
}

impl FormatHint {
    pub fn extension(extension: &str) -> Self {
        Self {
            extension: Some(extension.trim_start_matches('.').to_ascii_lowercase()),
            mime_type: None,
        }
    }

    pub fn mime_type(mime_type: &str) -> Self {
        Self {
            extension: None,
            mime_type: Some(mime_type.to_ascii_lowercase()),
        }
    }

    fn to_symphonia(&self) -> Hint {
        let mut hint = Hint::new();
        if let Some(extension) = &self.extension {
            hint.with_extension(extension);
        }
        if let Some(mime_type) = &self.mime_type {
            hint.mime_type(mime_type);
        }
        hint
    }
}

/// A whole recording at 16 kHz.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// One vector per source channel, each at [`TARGET_SAMPLE_RATE`], all the same length.
    pub channels: Vec<Vec<f32>>,
    /// Length in seconds (of the 16 kHz signal).
    pub duration_seconds: f64,
    pub source_rate: u32,
    pub source_channels: usize,
    /// The input ended before its header said it would (see the module docs).
    pub truncated: bool,
}

impl DecodedAudio {
    /// Builds a recording from 16 kHz channels (for synthesized or already-decoded audio).
    pub fn from_16k_channels(channels: Vec<Vec<f32>>) -> Self {
        let frames = channels.first().map_or(0, Vec::len);
        let source_channels = channels.len();
        Self {
            channels,
            duration_seconds: frames as f64 / f64::from(TARGET_SAMPLE_RATE),
            source_rate: TARGET_SAMPLE_RATE,
            source_channels,
            truncated: false,
        }
    }

    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// The channels averaged into one 16 kHz signal.
    /// The channels averaged; a single channel is borrowed, not copied (a 30-minute
    /// recording is 115 MB of samples).
    pub fn mono(&self) -> Cow<'_, [f32]> {
        match self.channels.len() {
            0 => Cow::Borrowed(&[]),
            1 => Cow::Borrowed(&self.channels[0]),
            count => {
                let scale = 1.0 / count as f32;
                (0..self.frames())
                    .map(|i| self.channels.iter().map(|channel| channel[i]).sum::<f32>() * scale)
                    .collect()
            }
        }
    }
}

/// Decodes a file, choosing the format from its content with the extension as a hint.
pub fn decode_file(path: &Path, options: &DecodeOptions) -> Result<DecodedAudio, AudioError> {
    AudioStream::open_file(path, options)?.collect_all()
}

/// Decodes a recording held in memory (for example an S3 object), with an extension or MIME
/// type hint when one is known.
pub fn decode_bytes(
    bytes: Vec<u8>,
    hint: &FormatHint,
    options: &DecodeOptions,
) -> Result<DecodedAudio, AudioError> {
    AudioStream::from_bytes(bytes, hint, options)?.collect_all()
}

/// Incremental decoding: yields 16 kHz chunks (one vector per channel) until the input ends.
pub struct AudioStream {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn symphonia::core::codecs::Decoder>,
    track_id: u32,
    source_rate: u32,
    source_channels: usize,
    declared_frames: Option<u64>,
    max_frames: u64,
    resampler: Option<IncrementalResampler>,
    decoded_source_frames: u64,
    allow_truncated: bool,
    truncated: bool,
    finished: bool,
}

impl AudioStream {
    pub fn open_file(path: &Path, options: &DecodeOptions) -> Result<Self, AudioError> {
        let io_error = |source| AudioError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = File::open(path).map_err(io_error)?;
        if file.metadata().map_err(io_error)?.len() == 0 {
            return Err(AudioError::Empty);
        }
        let mut head = Vec::with_capacity(512);
        (&mut file)
            .take(512)
            .read_to_end(&mut head)
            .map_err(io_error)?;
        check_wav_header(&head)?;
        file.rewind().map_err(io_error)?;
        let hint = path
            .extension()
            .and_then(|extension| extension.to_str())
            .map(FormatHint::extension)
            .unwrap_or_default();
        Self::open(Box::new(file), &hint, options)
    }

    pub fn from_bytes(
        bytes: Vec<u8>,
        hint: &FormatHint,
        options: &DecodeOptions,
    ) -> Result<Self, AudioError> {
        if bytes.is_empty() {
            return Err(AudioError::Empty);
        }
        check_wav_header(&bytes[..bytes.len().min(512)])?;
        Self::open(Box::new(Cursor::new(bytes)), hint, options)
    }

    fn open(
        source: Box<dyn MediaSource>,
        hint: &FormatHint,
        options: &DecodeOptions,
    ) -> Result<Self, AudioError> {
        guarded(|| Self::open_unguarded(source, hint, options))
    }

    fn open_unguarded(
        source: Box<dyn MediaSource>,
        hint: &FormatHint,
        options: &DecodeOptions,
    ) -> Result<Self, AudioError> {
        let stream = MediaSourceStream::new(source, Default::default());
        let probed = symphonia::default::get_probe()
            .format(
                &hint.to_symphonia(),
                stream,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|error| match error {
                SymphoniaError::Unsupported(detail) => AudioError::UnrecognisedFormat {
                    detail: detail.to_string(),
                    supported: SUPPORTED_FORMATS,
                },
                SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                    AudioError::Malformed {
                        detail: "the header is cut short".to_string(),
                    }
                }
                other => AudioError::Malformed {
                    detail: other.to_string(),
                },
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|track| track.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| AudioError::UnsupportedCodec {
                detail: "the file has no audio track with a known codec".to_string(),
                supported: SUPPORTED_FORMATS,
            })?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let source_rate = params
            .sample_rate
            .filter(|rate| *rate > 0)
            .ok_or(AudioError::UnknownSampleRate)?;
        check_stream_shape(
            u64::from(source_rate),
            params.channels.map_or(0, |c| c.count() as u64),
        )?;
        let max_frames = (options.max_duration_seconds * f64::from(source_rate)).floor() as u64;
        let declared_frames = params.n_frames;
        if let Some(frames) = declared_frames {
            if frames == 0 {
                return Err(AudioError::NoSamples);
            }
            if frames > max_frames {
                return Err(AudioError::TooLong {
                    seconds: frames as f64 / f64::from(source_rate),
                    max_seconds: options.max_duration_seconds,
                });
            }
        }
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|error| AudioError::UnsupportedCodec {
                detail: error.to_string(),
                supported: SUPPORTED_FORMATS,
            })?;
        // Some containers only name their channels in the first packet; 0 means "learn it there".
        let source_channels = params.channels.map_or(0, |channels| channels.count());
        Ok(Self {
            format,
            decoder,
            track_id,
            source_rate,
            source_channels,
            declared_frames,
            max_frames,
            allow_truncated: options.allow_truncated,
            resampler: None,
            decoded_source_frames: 0,
            truncated: false,
            finished: false,
        })
    }

    pub fn source_rate(&self) -> u32 {
        self.source_rate
    }

    /// The duration the header states, if it states one.
    pub fn declared_duration_seconds(&self) -> Option<f64> {
        self.declared_frames
            .map(|frames| frames as f64 / f64::from(self.source_rate))
    }

    /// Whether the input ended before its header said it would.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The next block of 16 kHz audio (one vector per channel, never empty), or `None` at the end.
    /// A truncated input ends with [`AudioError::Truncated`] unless truncation is allowed.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<Vec<f32>>>, AudioError> {
        let result = guarded(|| self.next_chunk_unguarded());
        if result.is_err() {
            self.finished = true;
            self.resampler = None;
        }
        let chunk = result?;
        if chunk.is_none() && self.truncated && !self.allow_truncated {
            return Err(AudioError::Truncated {
                decoded_seconds: self.decoded_source_frames as f64 / f64::from(self.source_rate),
                declared_seconds: self.declared_duration_seconds(),
            });
        }
        Ok(chunk)
    }

    fn next_chunk_unguarded(&mut self) -> Result<Option<Vec<Vec<f32>>>, AudioError> {
        while !self.finished {
            let packet = match self.format.next_packet() {
                Ok(packet) => packet,
                Err(SymphoniaError::IoError(error))
                    if error.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    self.finish_input();
                    break;
                }
                Err(SymphoniaError::ResetRequired) => {
                    self.finish_input();
                    break;
                }
                Err(other) => {
                    if self.decoded_source_frames == 0 {
                        return Err(AudioError::Malformed {
                            detail: other.to_string(),
                        });
                    }
                    tracing::warn!(error = %other, "audio stream ended with an error; keeping the audio decoded so far");
                    self.truncated = true;
                    self.finish_input();
                    break;
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(decoded) => decoded,
                // A corrupt packet in a lossy stream: skip it as every player does.
                Err(SymphoniaError::DecodeError(detail)) => {
                    tracing::warn!(detail, "skipping an undecodable audio packet");
                    continue;
                }
                Err(SymphoniaError::IoError(error))
                    if error.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    self.truncated = true;
                    self.finish_input();
                    break;
                }
                Err(other) => {
                    return Err(AudioError::UnsupportedCodec {
                        detail: other.to_string(),
                        supported: SUPPORTED_FORMATS,
                    })
                }
            };
            let spec = *decoded.spec();
            let frames = decoded.frames();
            if frames == 0 {
                continue;
            }
            if self.source_channels == 0 {
                self.source_channels = spec.channels.count();
                check_stream_shape(u64::from(self.source_rate), self.source_channels as u64)?;
            }
            let mut samples = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
            samples.copy_planar_ref(decoded);
            let planar = samples.samples();
            let channel_count = spec.channels.count();
            let mut planes: Vec<Vec<f32>> = (0..channel_count)
                .map(|c| planar[c * frames..(c + 1) * frames].to_vec())
                .collect();
            self.decoded_source_frames += frames as u64;
            if self.decoded_source_frames > self.max_frames {
                return Err(AudioError::TooLong {
                    seconds: self.decoded_source_frames as f64 / f64::from(self.source_rate),
                    max_seconds: self.max_frames as f64 / f64::from(self.source_rate),
                });
            }
            if self.source_rate == TARGET_SAMPLE_RATE {
                return Ok(Some(planes));
            }
            let resampler = match &mut self.resampler {
                Some(resampler) => resampler,
                None => self
                    .resampler
                    .insert(IncrementalResampler::new(self.source_rate, channel_count)?),
            };
            planes.truncate(resampler.channels);
            let output = resampler.push(&planes)?;
            if output.first().is_some_and(|channel| !channel.is_empty()) {
                return Ok(Some(output));
            }
        }
        if let Some(mut resampler) = self.resampler.take() {
            let output = resampler.flush()?;
            if output.first().is_some_and(|channel| !channel.is_empty()) {
                return Ok(Some(output));
            }
        }
        Ok(None)
    }

    fn finish_input(&mut self) {
        self.finished = true;
        if let Some(declared) = self.declared_frames {
            let tolerance = (TRUNCATION_TOLERANCE_SECONDS * f64::from(self.source_rate)) as u64;
            if self.decoded_source_frames + tolerance < declared {
                self.truncated = true;
            }
        }
        if self.truncated && self.allow_truncated {
            tracing::warn!(
                decoded_seconds = self.decoded_source_frames as f64 / f64::from(self.source_rate),
                declared_seconds = self.declared_duration_seconds(),
                "audio input is truncated; using the samples before the cut"
            );
        }
    }

    /// Decodes everything into one [`DecodedAudio`].
    pub fn collect_all(mut self) -> Result<DecodedAudio, AudioError> {
        let mut channels: Vec<Vec<f32>> = Vec::new();
        if let Some(frames) = self.declared_frames {
            // The header is not trusted with more than ten minutes of preallocation.
            let expected = (frames as f64 * f64::from(TARGET_SAMPLE_RATE)
                / f64::from(self.source_rate))
            .ceil()
            .min(f64::from(TARGET_SAMPLE_RATE) * 600.0);
            channels = (0..self.source_channels.max(1))
                .map(|_| Vec::with_capacity(expected as usize))
                .collect();
        }
        while let Some(chunk) = self.next_chunk()? {
            channels.resize_with(chunk.len().max(channels.len()), Vec::new);
            for (all, part) in channels.iter_mut().zip(chunk) {
                all.extend_from_slice(&part);
            }
        }
        channels.retain(|channel| !channel.is_empty());
        if channels.is_empty() || self.decoded_source_frames == 0 {
            return Err(AudioError::NoSamples);
        }
        let frames = channels[0].len();
        for channel in &mut channels {
            channel.shrink_to_fit();
        }
        Ok(DecodedAudio {
            duration_seconds: frames as f64 / f64::from(TARGET_SAMPLE_RATE),
            source_rate: self.source_rate,
            source_channels: channels.len(),
            truncated: self.truncated,
            channels,
        })
    }
}

/// An FFT resampler fed packet by packet. The FFT method is exact for the fixed rational ratio
/// between any two integer rates and band-limits properly (no aliasing from 44.1/48 kHz).
struct IncrementalResampler {
    resampler: FftFixedIn<f32>,
    from_rate: u32,
    channels: usize,
    pending: Vec<Vec<f32>>,
    /// Output frames still to drop: the resampler's fixed delay.
    delay_left: usize,
    input_frames: u64,
    output_frames: u64,
}

impl IncrementalResampler {
    fn new(from_rate: u32, channels: usize) -> Result<Self, AudioError> {
        let resampler = FftFixedIn::<f32>::new(
            from_rate as usize,
            TARGET_SAMPLE_RATE as usize,
            RESAMPLER_CHUNK_FRAMES,
            2,
            channels,
        )
        .map_err(|error| AudioError::Resample {
            from_rate,
            detail: error.to_string(),
        })?;
        let delay_left = resampler.output_delay();
        Ok(Self {
            resampler,
            from_rate,
            channels,
            pending: vec![Vec::new(); channels],
            delay_left,
            input_frames: 0,
            output_frames: 0,
        })
    }

    fn resample_error(&self, error: impl std::fmt::Display) -> AudioError {
        AudioError::Resample {
            from_rate: self.from_rate,
            detail: error.to_string(),
        }
    }

    fn push(&mut self, planes: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, AudioError> {
        for (pending, plane) in self.pending.iter_mut().zip(planes) {
            pending.extend_from_slice(plane);
        }
        self.input_frames += planes.first().map_or(0, Vec::len) as u64;
        let mut output = vec![Vec::new(); self.channels];
        while self.pending[0].len() >= self.resampler.input_frames_next() {
            let needed = self.resampler.input_frames_next();
            let block = self
                .resampler
                .process(&self.pending, None)
                .map_err(|e| self.resample_error(e))?;
            for pending in &mut self.pending {
                pending.drain(..needed);
            }
            self.append(&mut output, block, u64::MAX);
        }
        Ok(output)
    }

    /// Pushes out the remaining input and the resampler's delayed tail, trimmed so the output
    /// has exactly the length the input's duration implies.
    fn flush(&mut self) -> Result<Vec<Vec<f32>>, AudioError> {
        let wanted_total = (self.input_frames as f64 * f64::from(TARGET_SAMPLE_RATE)
            / f64::from(self.from_rate))
        .round() as u64;
        let mut output = vec![Vec::new(); self.channels];
        let mut remaining = Some(std::mem::take(&mut self.pending));
        while self.output_frames < wanted_total {
            let block = self
                .resampler
                .process_partial(remaining.take().as_deref(), None)
                .map_err(|e| self.resample_error(e))?;
            if block.first().is_none_or(Vec::is_empty) {
                break;
            }
            self.append(&mut output, block, wanted_total);
        }
        Ok(output)
    }

    fn append(&mut self, output: &mut [Vec<f32>], block: Vec<Vec<f32>>, limit: u64) {
        let frames = block.first().map_or(0, Vec::len);
        let skip = self.delay_left.min(frames);
        self.delay_left -= skip;
        let keep = ((frames - skip) as u64).min(limit.saturating_sub(self.output_frames)) as usize;
        for (out, channel) in output.iter_mut().zip(block) {
            out.extend_from_slice(&channel[skip..skip + keep]);
        }
        self.output_frames += keep as u64;
    }
}
