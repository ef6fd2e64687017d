//! Speaker diarization of a mono recording: who spoke when, as anonymous speaker clusters.
//!
//! No model is downloaded; the voices are told apart by classic acoustic features:
//! 1. **Speech runs.** RMS on 20 ms frames with the same gate as recognition; voiced frames
//!    closer than `RUN_MERGE_GAP_S` join one run. A run longer than `MAX_PIECE_S` is cut into
//!    equal pieces, so a change of speaker without a pause is found at that resolution.
//! 2. **Features per 10 ms frame** inside the runs, from one 1024-point FFT of a 40 ms Hann
//!    window: 12 mel-cepstral coefficients (30 mel bands, 60–7,600 Hz; c0, the loudness, is left
//!    out), and the pitch from the normalised autocorrelation (the inverse FFT of the power
//!    spectrum, corrected for the window as in Boersma 1993), 60–400 Hz, voiced when the peak
//!    is at least `VOICING_THRESHOLD`.
//! 3. **A voiceprint per piece**: the mean cepstrum of its loud frames and the median log pitch
//!    of its voiced frames, z-scored over the recording (pitch counted `PITCH_WEIGHT` times: it
//!    is what separates most pairs of voices).
//! 4. **Clustering.** Weighted k-means (duration as weight, k-means++ seeding from a fixed seed,
//!    several restarts) for k = 1..=max speakers. k + 1 clusters are kept only if every pair of
//!    centres is at least `MIN_SEPARATION` times the clusters' own spread apart (squared) and
//!    every cluster holds at least `MIN_SPEAKER_S` of speech, so one voice is not reported as
//!    two. On the synthesized dev visits one voice split in two measures 0.8–2.0, two
//!    different voices 4.4–8.8 (`examples/diarize_eval.rs`).
//! 5. **Words** take the speaker of the piece they overlap most; punctuation follows its word.
//!    Clusters are numbered in order of first speech.
//!
//! The roles (`CLINICIAN_0`, `PATIENT_0`, …) are decided later from what each cluster says
//! (`veriscribe_core::clinical::roles`).

use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use veriscribe_core::speech::{SpokenToken, TokenKind};

use crate::audio::TARGET_SAMPLE_RATE;
use crate::whisper::FrameEnergy;

const SAMPLE_RATE: f64 = TARGET_SAMPLE_RATE as f64;
const GATE_FRAME: usize = 320; // 20 ms
const HOP: usize = 160; // 10 ms
const WINDOW: usize = 640; // 40 ms: two periods of a 50 Hz voice
const FFT_SIZE: usize = 1024; // > 2 × the longest lag, so the autocorrelation does not wrap
const MEL_BANDS: usize = 30;
const CEPSTRA: usize = 12;
const MEL_LOW_HZ: f64 = 60.0;
const MEL_HIGH_HZ: f64 = 7600.0;
const PITCH_LOW_HZ: f64 = 60.0;
const PITCH_HIGH_HZ: f64 = 400.0;
const VOICING_THRESHOLD: f32 = 0.45;
const RUN_MERGE_GAP_S: f64 = 0.2;
const MAX_PIECE_S: f64 = 2.0;
const MIN_PIECE_S: f64 = 0.12;
const PITCH_WEIGHT: f32 = 2.0;
const MIN_SEPARATION: f64 = 3.0;
const MIN_SPEAKER_S: f64 = 4.0;
const KMEANS_RESTARTS: usize = 6;
const LATE_SENTENCE_WORDS: usize = 3;
const LATE_SENTENCE_S: f64 = 1.5;
/// How far a turn's times may be stretched to reach its speaker's speech.
const SNAP_REACH_S: f64 = 2.0;
const KMEANS_ITERATIONS: usize = 50;

/// What diarization found.
#[derive(Debug, Clone, PartialEq)]
pub struct Diarization {
    /// Number of speakers found (0 for a recording without speech).
    pub speakers: usize,
    /// Speech pieces that were clustered.
    pub pieces: usize,
    /// Each speaker's speech in seconds, by speaker id.
    pub speech_seconds: Vec<f64>,
}

/// Clusters the speech of `signal` (mono, 16 kHz) into at most `max_speakers` voices and tags
/// every token with its speaker. Tokens are in time order, in recording seconds.
pub fn diarize(signal: &[f32], tokens: &mut [SpokenToken], max_speakers: u8) -> Diarization {
    let pieces = speech_pieces(signal);
    let mut extractor = FeatureExtractor::new();
    let voiceprints: Vec<Voiceprint> = pieces
        .iter()
        .map(|piece| extractor.voiceprint(signal, piece))
        .collect();
    let (kept, points, weights) = normalised_points(&pieces, &voiceprints);
    let labels = choose_clustering(&points, &weights, usize::from(max_speakers.max(1)));

    // Number speakers by first speech, and give every piece (also those too short or quiet to
    // cluster) the speaker of its nearest clustered neighbour in time.
    let mut piece_speaker: Vec<Option<usize>> = vec![None; pieces.len()];
    for (slot, label) in kept.iter().zip(&labels) {
        piece_speaker[*slot] = Some(*label);
    }
    let mut order: Vec<usize> = Vec::new();
    for label in piece_speaker.iter().flatten() {
        if !order.contains(label) {
            order.push(*label);
        }
    }
    let piece_speaker: Vec<usize> = (0..pieces.len())
        .map(|index| {
            let label = piece_speaker[index]
                .or_else(|| nearest_labelled(&piece_speaker, index))
                .unwrap_or(0);
            order.iter().position(|l| *l == label).unwrap_or(0)
        })
        .collect();

    let mut speech_seconds = vec![0.0; order.len().max(usize::from(!pieces.is_empty()))];
    for (piece, speaker) in pieces.iter().zip(&piece_speaker) {
        speech_seconds[*speaker] += piece.seconds();
    }
    assign_tokens(tokens, &pieces, &piece_speaker);
    finish_sentences(tokens);
    snap_turns_to_speech(tokens, &pieces, &piece_speaker, |t| {
        t.speaker.map(usize::from)
    });
    Diarization {
        speakers: speech_seconds.len(),
        pieces: pieces.len(),
        speech_seconds,
    }
}

/// [`diarize`] with trained speaker embeddings (`crate::speaker_turns`): windows of 1.2 s give
/// change points inside Whisper segments and voices are told apart by a GE2E encoder instead of
/// pitch and cepstra.
pub fn diarize_with_encoder(
    signal: &[f32],
    tokens: &mut [SpokenToken],
    max_speakers: u8,
    encoder: &crate::speaker_embedding::SpeakerEncoder,
) -> Diarization {
    let turns = crate::speaker_turns::speaker_turns(
        signal,
        encoder,
        usize::from(max_speakers.max(1)),
        crate::speaker_turns::DEFAULT_THRESHOLD,
    );
    let pieces: Vec<Piece> = turns
        .iter()
        .map(|t| Piece {
            start: (t.start * SAMPLE_RATE) as usize,
            end: ((t.end * SAMPLE_RATE) as usize).min(signal.len()),
        })
        .collect();
    let piece_speaker: Vec<usize> = turns.iter().map(|t| t.speaker).collect();
    let speakers = piece_speaker.iter().max().map_or(0, |m| m + 1);
    let mut speech_seconds = vec![0.0; speakers];
    for (piece, speaker) in pieces.iter().zip(&piece_speaker) {
        speech_seconds[*speaker] += piece.seconds();
    }
    assign_tokens(tokens, &pieces, &piece_speaker);
    finish_sentences(tokens);
    snap_turns_to_speech(tokens, &pieces, &piece_speaker, |t| {
        t.speaker.map(usize::from)
    });
    Diarization {
        speakers,
        pieces: pieces.len(),
        speech_seconds,
    }
}

/// A stretch of continuous speech, in samples.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Piece {
    start: usize,
    end: usize,
}

impl Piece {
    fn seconds(&self) -> f64 {
        (self.end - self.start) as f64 / SAMPLE_RATE
    }

    fn start_seconds(&self) -> f64 {
        self.start as f64 / SAMPLE_RATE
    }

    fn end_seconds(&self) -> f64 {
        self.end as f64 / SAMPLE_RATE
    }
}

/// Frames above the recognition's voice gate (the same 20 ms frames and threshold).
fn voiced_frames(energy: &FrameEnergy) -> Vec<bool> {
    (0..energy.rms.len()).map(|f| energy.voiced(f)).collect()
}

fn speech_pieces(signal: &[f32]) -> Vec<Piece> {
    pieces_of(&voiced_frames(&FrameEnergy::measure(signal)), signal.len())
}

/// Voiced frames joined into runs across short gaps, each run cut into pieces of at most
/// `MAX_PIECE_S`.
fn pieces_of(voiced: &[bool], samples: usize) -> Vec<Piece> {
    let merge_gap = (RUN_MERGE_GAP_S * SAMPLE_RATE) as usize / GATE_FRAME;
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for frame in (0..voiced.len()).filter(|f| voiced[*f]) {
        match runs.last_mut() {
            Some(last) if frame <= last.1 + merge_gap => last.1 = frame + 1,
            _ => runs.push((frame, frame + 1)),
        }
    }
    let max_frames = (MAX_PIECE_S * SAMPLE_RATE) as usize / GATE_FRAME;
    let mut pieces = Vec::new();
    for (start, end) in runs {
        let parts = (end - start).div_ceil(max_frames).max(1);
        let length = (end - start) as f64 / parts as f64;
        for part in 0..parts {
            let first = start + (part as f64 * length).round() as usize;
            let last = start + ((part + 1) as f64 * length).round() as usize;
            pieces.push(Piece {
                start: first * GATE_FRAME,
                end: (last * GATE_FRAME).min(samples),
            });
        }
    }
    pieces
}

/// Channel identification: stretches each channel's turns over the speech of that channel,
/// as [`diarize`] does for speakers. A frame counts as a channel's speech only where that
/// channel is voiced and the loudest, so a voice leaking into the other microphone does not
/// stretch the other speaker's turn over it.
pub fn align_channel_turns(channels: &[Vec<f32>], tokens: &mut [SpokenToken]) {
    let energies: Vec<FrameEnergy> = channels.iter().map(|c| FrameEnergy::measure(c)).collect();
    let levels: Vec<&[f32]> = energies.iter().map(|e| e.rms.as_slice()).collect();
    let mut pieces = Vec::new();
    let mut owners = Vec::new();
    for (channel, (energy, rms)) in energies.iter().zip(&levels).enumerate() {
        let voiced = voiced_frames(energy);
        let dominant: Vec<bool> = (0..rms.len())
            .map(|f| {
                voiced[f]
                    && levels
                        .iter()
                        .all(|other| other.get(f).is_none_or(|level| *level <= rms[f]))
            })
            .collect();
        for piece in pieces_of(&dominant, channels[channel].len()) {
            pieces.push(piece);
            owners.push(channel);
        }
    }
    snap_turns_to_speech(tokens, &pieces, &owners, |t| t.channel.map(usize::from));
}

/// The acoustic summary of one piece; `None` fields when the piece had no usable frames.
#[derive(Debug, Clone, PartialEq)]
struct Voiceprint {
    cepstrum: Option<[f32; CEPSTRA]>,
    log_pitch: Option<f32>,
}

struct FeatureExtractor {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    window: Vec<f32>,
    /// Autocorrelation of the window itself, normalised, for Boersma's correction.
    window_autocorrelation: Vec<f32>,
    mel: Vec<Vec<(usize, f32)>>,
    dct: Vec<[f32; MEL_BANDS]>,
    input: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    output: Vec<f32>,
}

impl FeatureExtractor {
    fn new() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(FFT_SIZE);
        let inverse = planner.plan_fft_inverse(FFT_SIZE);
        let window: Vec<f32> = (0..WINDOW)
            .map(|n| {
                let phase = 2.0 * std::f64::consts::PI * n as f64 / (WINDOW - 1) as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        let mut extractor = Self {
            spectrum: forward.make_output_vec(),
            input: forward.make_input_vec(),
            output: inverse.make_output_vec(),
            forward,
            inverse,
            window,
            window_autocorrelation: Vec::new(),
            mel: mel_filters(),
            dct: dct_matrix(),
        };
        let window = extractor.window.clone();
        extractor.window_autocorrelation = extractor.autocorrelation_of(&window);
        extractor
    }

    /// Normalised autocorrelation (r[0] = 1) of a windowed frame, up to the longest pitch lag.
    fn autocorrelation_of(&mut self, windowed: &[f32]) -> Vec<f32> {
        self.input.fill(0.0);
        self.input[..windowed.len()].copy_from_slice(windowed);
        self.forward
            .process(&mut self.input, &mut self.spectrum)
            .expect("buffers come from the planner");
        self.autocorrelation_from_spectrum()
    }

    fn autocorrelation_from_spectrum(&mut self) -> Vec<f32> {
        let mut power = self.spectrum.clone();
        for bin in &mut power {
            *bin = realfft::num_complex::Complex::new(bin.norm_sqr(), 0.0);
        }
        self.inverse
            .process(&mut power, &mut self.output)
            .expect("buffers come from the planner");
        let zero = self.output[0].max(f32::MIN_POSITIVE);
        let longest = max_pitch_lag() + 1;
        self.output[..longest].iter().map(|r| r / zero).collect()
    }

    fn voiceprint(&mut self, signal: &[f32], piece: &Piece) -> Voiceprint {
        let mut cepstra: Vec<([f32; CEPSTRA], f32)> = Vec::new();
        let mut pitches: Vec<f32> = Vec::new();
        let mut frame_start = piece.start;
        while frame_start + WINDOW <= piece.end.max(piece.start + WINDOW).min(signal.len()) {
            let frame = &signal[frame_start..frame_start + WINDOW];
            frame_start += HOP;
            let energy = frame.iter().map(|s| s * s).sum::<f32>() / WINDOW as f32;
            if energy <= 1e-10 {
                continue;
            }
            self.input.fill(0.0);
            for ((slot, sample), weight) in self.input.iter_mut().zip(frame).zip(&self.window) {
                *slot = sample * weight;
            }
            self.forward
                .process(&mut self.input, &mut self.spectrum)
                .expect("buffers come from the planner");
            cepstra.push((self.cepstrum(), energy));
            let autocorrelation = self.autocorrelation_from_spectrum();
            if let Some(pitch) = self.pitch(&autocorrelation) {
                pitches.push(pitch.ln());
            }
        }
        // The loudest half of the frames: quiet ones are mostly breath and room.
        cepstra.sort_by(|a, b| b.1.total_cmp(&a.1));
        let loud = &cepstra[..cepstra.len().div_ceil(2)];
        let cepstrum = (!loud.is_empty()).then(|| {
            let mut mean = [0.0f32; CEPSTRA];
            for (c, _) in loud {
                for (m, v) in mean.iter_mut().zip(c) {
                    *m += v / loud.len() as f32;
                }
            }
            mean
        });
        let log_pitch = (pitches.len() >= 3).then(|| {
            pitches.sort_by(f32::total_cmp);
            pitches[pitches.len() / 2]
        });
        Voiceprint {
            cepstrum,
            log_pitch,
        }
    }

    fn cepstrum(&self) -> [f32; CEPSTRA] {
        let log_mel: Vec<f32> = self
            .mel
            .iter()
            .map(|band| {
                let energy: f32 = band
                    .iter()
                    .map(|(bin, weight)| self.spectrum[*bin].norm_sqr() * weight)
                    .sum();
                (energy + 1e-10).ln()
            })
            .collect();
        let mut out = [0.0f32; CEPSTRA];
        for (slot, row) in out.iter_mut().zip(&self.dct) {
            *slot = row.iter().zip(&log_mel).map(|(a, b)| a * b).sum();
        }
        out
    }

    fn pitch(&self, autocorrelation: &[f32]) -> Option<f32> {
        let shortest = (SAMPLE_RATE / PITCH_HIGH_HZ) as usize;
        let (lag, strength) = (shortest..autocorrelation.len())
            .map(|lag| {
                let corrected = autocorrelation[lag] / self.window_autocorrelation[lag].max(1e-3);
                (lag, corrected)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        (strength >= VOICING_THRESHOLD && lag > shortest && lag < autocorrelation.len() - 1)
            .then(|| (SAMPLE_RATE / lag as f64) as f32)
    }
}

fn max_pitch_lag() -> usize {
    (SAMPLE_RATE / PITCH_LOW_HZ) as usize
}

fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// Triangular mel filters over the FFT bins, as (bin, weight) lists.
fn mel_filters() -> Vec<Vec<(usize, f32)>> {
    let (low, high) = (hz_to_mel(MEL_LOW_HZ), hz_to_mel(MEL_HIGH_HZ));
    let edges: Vec<f64> = (0..MEL_BANDS + 2)
        .map(|i| mel_to_hz(low + (high - low) * i as f64 / (MEL_BANDS + 1) as f64))
        .collect();
    let bin_hz = SAMPLE_RATE / FFT_SIZE as f64;
    (0..MEL_BANDS)
        .map(|band| {
            let (left, centre, right) = (edges[band], edges[band + 1], edges[band + 2]);
            ((left / bin_hz).floor() as usize..=(right / bin_hz).ceil() as usize)
                .filter_map(|bin| {
                    let hz = bin as f64 * bin_hz;
                    let weight = if hz <= centre {
                        (hz - left) / (centre - left)
                    } else {
                        (right - hz) / (right - centre)
                    };
                    (weight > 0.0 && bin <= FFT_SIZE / 2).then_some((bin, weight as f32))
                })
                .collect()
        })
        .collect()
}

/// DCT-II rows 1..=CEPSTRA (row 0, the overall level, is left out).
fn dct_matrix() -> Vec<[f32; MEL_BANDS]> {
    (1..=CEPSTRA)
        .map(|k| {
            let mut row = [0.0f32; MEL_BANDS];
            for (n, slot) in row.iter_mut().enumerate() {
                *slot = (std::f64::consts::PI * k as f64 * (n as f64 + 0.5) / MEL_BANDS as f64)
                    .cos() as f32;
            }
            row
        })
        .collect()
}

/// Z-scored feature vectors of the pieces that can be clustered, their piece indices and
/// weights (seconds of speech).
fn normalised_points(
    pieces: &[Piece],
    voiceprints: &[Voiceprint],
) -> (Vec<usize>, Vec<Vec<f32>>, Vec<f64>) {
    let mut kept = Vec::new();
    let mut raw: Vec<(Vec<f32>, Option<f32>)> = Vec::new();
    let mut weights = Vec::new();
    for (index, (piece, print)) in pieces.iter().zip(voiceprints).enumerate() {
        let Some(cepstrum) = print.cepstrum else {
            continue;
        };
        if piece.seconds() < MIN_PIECE_S {
            continue;
        }
        kept.push(index);
        raw.push((cepstrum.to_vec(), print.log_pitch));
        weights.push(piece.seconds());
    }
    if raw.is_empty() {
        return (kept, Vec::new(), weights);
    }
    // Pieces without a pitch (whispered, unvoiced) get the weighted median pitch, so the pitch
    // dimension says nothing about them.
    let mut pitched: Vec<(f32, f64)> = raw
        .iter()
        .zip(&weights)
        .filter_map(|((_, p), w)| p.map(|p| (p, *w)))
        .collect();
    pitched.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half: f64 = pitched.iter().map(|p| p.1).sum::<f64>() / 2.0;
    let mut seen = 0.0;
    let median_pitch = pitched
        .iter()
        .find(|(_, w)| {
            seen += w;
            seen >= half
        })
        .map_or(0.0, |p| p.0);
    let mut points: Vec<Vec<f32>> = raw
        .into_iter()
        .map(|(mut cepstrum, pitch)| {
            cepstrum.push(pitch.unwrap_or(median_pitch));
            cepstrum
        })
        .collect();
    let dims = CEPSTRA + 1;
    let total: f64 = weights.iter().sum();
    for d in 0..dims {
        let mean = points
            .iter()
            .zip(&weights)
            .map(|(p, w)| f64::from(p[d]) * w)
            .sum::<f64>()
            / total;
        let variance = points
            .iter()
            .zip(&weights)
            .map(|(p, w)| (f64::from(p[d]) - mean).powi(2) * w)
            .sum::<f64>()
            / total;
        let scale = if d == CEPSTRA { PITCH_WEIGHT } else { 1.0 };
        let std = variance.sqrt().max(1e-6);
        for point in &mut points {
            point[d] = ((f64::from(point[d]) - mean) / std) as f32 * scale;
        }
    }
    (kept, points, weights)
}

/// Labels for `points` with the number of clusters the data supports (see module docs).
fn choose_clustering(points: &[Vec<f32>], weights: &[f64], max_speakers: usize) -> Vec<usize> {
    if points.is_empty() {
        return Vec::new();
    }
    let mut best = vec![0usize; points.len()];
    for k in 2..=max_speakers.min(points.len()) {
        let (labels, cost) = kmeans(points, weights, k);
        let smallest = (0..k)
            .map(|c| {
                labels
                    .iter()
                    .zip(weights)
                    .filter(|(l, _)| **l == c)
                    .map(|(_, w)| w)
                    .sum::<f64>()
            })
            .fold(f64::INFINITY, f64::min);
        let separation = min_separation(points, weights, &labels, k);
        tracing::debug!(k, cost, smallest, separation, "diarization candidate");
        if separation < MIN_SEPARATION || smallest < MIN_SPEAKER_S {
            break;
        }
        best = labels;
    }
    best
}

/// The smallest distance between two cluster centres, in units of the clusters' own spread
/// (mean squared distance of a cluster's points to its centre, averaged over the pair).
fn min_separation(points: &[Vec<f32>], weights: &[f64], labels: &[usize], k: usize) -> f64 {
    let centres = centroids(points, weights, labels, k);
    let spread: Vec<f64> = (0..k)
        .map(|c| {
            let (sum, total) = points
                .iter()
                .zip(weights)
                .zip(labels)
                .filter(|(_, l)| **l == c)
                .fold((0.0, 0.0), |(s, t), ((p, w), _)| {
                    (s + squared_distance(p, &centres[c]) * w, t + w)
                });
            sum / f64::max(total, 1e-12)
        })
        .collect();
    let mut smallest = f64::INFINITY;
    for a in 0..k {
        for b in a + 1..k {
            let pooled = ((spread[a] + spread[b]) / 2.0).max(1e-9);
            smallest = smallest.min(squared_distance(&centres[a], &centres[b]) / pooled);
        }
    }
    smallest
}

fn weighted_cost(points: &[Vec<f32>], weights: &[f64], labels: &[usize], k: usize) -> f64 {
    let centres = centroids(points, weights, labels, k);
    points
        .iter()
        .zip(weights)
        .zip(labels)
        .map(|((p, w), l)| squared_distance(p, &centres[*l]) * w)
        .sum()
}

fn centroids(points: &[Vec<f32>], weights: &[f64], labels: &[usize], k: usize) -> Vec<Vec<f32>> {
    let dims = points[0].len();
    let mut sums = vec![vec![0.0f64; dims]; k];
    let mut totals = vec![0.0f64; k];
    for ((point, weight), label) in points.iter().zip(weights).zip(labels) {
        totals[*label] += weight;
        for (s, v) in sums[*label].iter_mut().zip(point) {
            *s += f64::from(*v) * weight;
        }
    }
    sums.into_iter()
        .zip(totals)
        .map(|(sum, total)| {
            sum.into_iter()
                .map(|s| (s / total.max(1e-12)) as f32)
                .collect()
        })
        .collect()
}

fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum()
}

/// Weighted k-means with k-means++ seeding; the best of several seeded restarts.
fn kmeans(points: &[Vec<f32>], weights: &[f64], k: usize) -> (Vec<usize>, f64) {
    let mut rng = SplitMix64(0x5eed_d1a7);
    let mut best: Option<(Vec<usize>, f64)> = None;
    for _ in 0..KMEANS_RESTARTS {
        let mut centres = seed_centres(points, weights, k, &mut rng);
        let mut labels = vec![0usize; points.len()];
        for _ in 0..KMEANS_ITERATIONS {
            let mut changed = false;
            for (label, point) in labels.iter_mut().zip(points) {
                let nearest = nearest_centre(point, &centres);
                changed |= nearest != *label;
                *label = nearest;
            }
            centres = centroids(points, weights, &labels, k);
            if !changed {
                break;
            }
        }
        let cost = weighted_cost(points, weights, &labels, k);
        if best.as_ref().is_none_or(|(_, c)| cost < *c) {
            best = Some((labels, cost));
        }
    }
    best.expect("at least one restart")
}

fn nearest_centre(point: &[f32], centres: &[Vec<f32>]) -> usize {
    centres
        .iter()
        .enumerate()
        .map(|(i, c)| (i, squared_distance(point, c)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(i, _)| i)
}

fn seed_centres(
    points: &[Vec<f32>],
    weights: &[f64],
    k: usize,
    rng: &mut SplitMix64,
) -> Vec<Vec<f32>> {
    let mut centres = vec![points[rng.pick(weights)].clone()];
    while centres.len() < k {
        let scores: Vec<f64> = points
            .iter()
            .zip(weights)
            .map(|(p, w)| {
                let nearest = centres
                    .iter()
                    .map(|c| squared_distance(p, c))
                    .fold(f64::INFINITY, f64::min);
                nearest * w
            })
            .collect();
        centres.push(points[rng.pick(&scores)].clone());
    }
    centres
}

/// A small deterministic generator: the same recording always gives the same speakers.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }

    /// An index drawn with probability proportional to `scores`.
    fn pick(&mut self, scores: &[f64]) -> usize {
        let total: f64 = scores.iter().sum();
        if total <= 0.0 {
            return 0;
        }
        let mut target = self.next_unit() * total;
        for (index, score) in scores.iter().enumerate() {
            target -= score;
            if target <= 0.0 {
                return index;
            }
        }
        scores.len() - 1
    }
}

fn nearest_labelled(labels: &[Option<usize>], index: usize) -> Option<usize> {
    (1..labels.len()).find_map(|distance| {
        let before = index.checked_sub(distance).and_then(|i| labels[i]);
        let after = labels.get(index + distance).copied().flatten();
        before.or(after)
    })
}

/// Each word takes the speaker of the piece it overlaps most (or the nearest piece, for a word
/// the gate left outside every piece); punctuation takes its word's speaker.
fn assign_tokens(tokens: &mut [SpokenToken], pieces: &[Piece], piece_speaker: &[usize]) {
    if pieces.is_empty() {
        return;
    }
    let mut first_candidate = 0usize;
    let mut last_speaker: Option<u16> = None;
    for token in tokens.iter_mut() {
        if token.kind == TokenKind::Punctuation {
            token.speaker = last_speaker;
            continue;
        }
        while first_candidate + 1 < pieces.len()
            && pieces[first_candidate].end_seconds() < token.start - MAX_PIECE_S
        {
            first_candidate += 1;
        }
        let mut best: Option<(usize, f64)> = None;
        for (index, piece) in pieces.iter().enumerate().skip(first_candidate) {
            if piece.start_seconds() > token.end + MAX_PIECE_S {
                break;
            }
            let overlap =
                token.end.min(piece.end_seconds()) - token.start.max(piece.start_seconds());
            let gap = -overlap; // > 0 when they do not overlap
            let score = if overlap > 0.0 { overlap } else { -gap };
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((index, score));
            }
        }
        let piece = best.map_or_else(
            || nearest_piece(pieces, (token.start + token.end) / 2.0),
            |(index, _)| index,
        );
        let speaker = piece_speaker[piece] as u16;
        token.speaker = Some(speaker);
        last_speaker = Some(speaker);
    }
    // Punctuation before the first word belongs to it.
    let first_word_speaker = tokens
        .iter()
        .find(|t| t.kind == TokenKind::Word)
        .and_then(|t| t.speaker);
    for token in tokens.iter_mut() {
        if token.speaker.is_some() {
            break;
        }
        token.speaker = first_word_speaker;
    }
}

/// Whisper's word times lag at turn ends: the last word of a turn is often placed on the pause
/// after it or on the next speaker's first syllable. A change of speaker right after a word
/// that does not end a sentence is therefore moved to the end of that sentence when it ends
/// within `LATE_SENTENCE_WORDS` words and `LATE_SENTENCE_S` seconds.
fn finish_sentences(tokens: &mut [SpokenToken]) {
    let words: Vec<usize> = (0..tokens.len())
        .filter(|i| tokens[*i].kind == TokenKind::Word)
        .collect();
    let sentence_final: Vec<bool> = words
        .iter()
        .map(|index| {
            let mark_after = tokens.get(index + 1).is_some_and(|t| {
                t.kind == TokenKind::Punctuation && t.text.contains(['.', '?', '!'])
            });
            mark_after || tokens[*index].text.ends_with(['.', '?', '!'])
        })
        .collect();
    let ends_sentence = |position: usize| sentence_final[position];
    let mut position = 1;
    while position < words.len() {
        let (previous, current) = (words[position - 1], words[position]);
        let (before, after) = (tokens[previous].speaker, tokens[current].speaker);
        if before == after || ends_sentence(position - 1) {
            position += 1;
            continue;
        }
        let end = (position..words.len().min(position + LATE_SENTENCE_WORDS))
            .take_while(|p| tokens[words[*p]].speaker == after)
            .find(|p| ends_sentence(*p))
            .filter(|p| tokens[words[*p]].end - tokens[current].start <= LATE_SENTENCE_S);
        if let Some(end) = end {
            for p in position..=end {
                tokens[words[p]].speaker = before;
            }
            position = end + 1;
        } else {
            position += 1;
        }
    }
    let mut speaker = tokens.iter().find_map(|t| t.speaker);
    for token in tokens.iter_mut() {
        if token.kind == TokenKind::Word {
            speaker = token.speaker;
        } else {
            token.speaker = speaker;
        }
    }
}

/// Stretches each run of one speaker's words over that speaker's speech between the
/// neighbouring runs, so the turn's times cover what was said (Whisper's times start late
/// after a pause and end early before one).
fn snap_turns_to_speech(
    tokens: &mut [SpokenToken],
    pieces: &[Piece],
    piece_speaker: &[usize],
    speaker_of: impl Fn(&SpokenToken) -> Option<usize>,
) {
    let words: Vec<usize> = (0..tokens.len())
        .filter(|i| tokens[*i].kind == TokenKind::Word && speaker_of(&tokens[*i]).is_some())
        .collect();
    let mut blocks: Vec<(usize, usize)> = Vec::new(); // positions in `words`
    for position in 0..words.len() {
        match blocks.last_mut() {
            Some(block)
                if speaker_of(&tokens[words[block.0]]) == speaker_of(&tokens[words[position]]) =>
            {
                block.1 = position
            }
            _ => blocks.push((position, position)),
        }
    }
    for (number, (first, last)) in blocks.iter().copied().enumerate() {
        let speaker = speaker_of(&tokens[words[first]]);
        let lower = number
            .checked_sub(1)
            .map_or(0.0, |previous| tokens[words[blocks[previous].1]].end);
        let upper = blocks
            .get(number + 1)
            .map_or(f64::INFINITY, |next| tokens[words[next.0]].start);
        let (start, end) = (tokens[words[first]].start, tokens[words[last]].end);
        let own = pieces.iter().zip(piece_speaker).filter(|(piece, s)| {
            Some(**s) == speaker
                && piece.end_seconds() > lower
                && piece.start_seconds() < upper
                && piece.end_seconds() > start - SNAP_REACH_S
                && piece.start_seconds() < end + SNAP_REACH_S
        });
        let (mut new_start, mut new_end) = (start, end);
        for (piece, _) in own {
            new_start = new_start.min(piece.start_seconds());
            new_end = new_end.max(piece.end_seconds());
        }
        tokens[words[first]].start = new_start.max(lower).min(start);
        tokens[words[last]].end = new_end.min(upper).max(end);

        // Inside the run, speech in a gap between two words is the later word's (the times
        // lag), so that word starts where the speech resumes.
        for position in first + 1..=last {
            let (gap_start, gap_end) = (
                tokens[words[position - 1]].end,
                tokens[words[position]].start,
            );
            if gap_end <= gap_start {
                continue;
            }
            let own_in_gap = || {
                pieces.iter().zip(piece_speaker).filter(|(piece, s)| {
                    Some(**s) == speaker
                        && piece.end_seconds() > gap_start
                        && piece.start_seconds() < gap_end
                })
            };
            // Speech that starts inside the gap; failing that, speech that spans it.
            let starting = own_in_gap()
                .map(|(piece, _)| piece.start_seconds())
                .filter(|start| *start > gap_start)
                .fold(f64::INFINITY, f64::min);
            let spanning = own_in_gap().any(|(piece, _)| {
                piece.start_seconds() <= gap_start && piece.end_seconds() >= gap_end
            });
            let resumed = if starting.is_finite() {
                starting
            } else if spanning {
                gap_start
            } else {
                f64::INFINITY
            };
            if resumed.is_finite() {
                tokens[words[position]].start = resumed;
            }
        }
    }
}

fn nearest_piece(pieces: &[Piece], seconds: f64) -> usize {
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let distance = if seconds < p.start_seconds() {
                p.start_seconds() - seconds
            } else {
                (seconds - p.end_seconds()).max(0.0)
            };
            (i, distance)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crude voice: a pulse train at `pitch_hz` through two formant resonances, with a
    /// syllable-rate envelope. Different pitch and formants stand for different speakers.
    fn voice(seconds: f64, pitch_hz: f64, formants: (f64, f64), seed: u64) -> Vec<f32> {
        let n = (seconds * SAMPLE_RATE) as usize;
        let mut rng = SplitMix64(seed);
        let mut out = Vec::with_capacity(n);
        let resonators: Vec<(f64, f64)> = [formants.0, formants.1]
            .iter()
            .map(|f| {
                let r: f64 = 0.97;
                let theta = 2.0 * std::f64::consts::PI * f / SAMPLE_RATE;
                (2.0 * r * theta.cos(), -r * r)
            })
            .collect();
        let mut state = vec![(0.0f64, 0.0f64); resonators.len()];
        let period = SAMPLE_RATE / pitch_hz;
        let mut phase = 0.0;
        for i in 0..n {
            phase += 1.0;
            let vibrato = 1.0 + 0.03 * (i as f64 / SAMPLE_RATE * 5.0).sin();
            let mut x = if phase >= period * vibrato {
                phase = 0.0;
                1.0
            } else {
                0.0
            };
            x += 0.02 * (rng.next_unit() - 0.5);
            let mut y = 0.0;
            for ((a1, a2), (y1, y2)) in resonators.iter().zip(state.iter_mut()) {
                let v = x + a1 * *y1 + a2 * *y2;
                *y2 = *y1;
                *y1 = v;
                y += v;
            }
            let envelope =
                0.6 + 0.4 * (i as f64 / SAMPLE_RATE * 2.0 * std::f64::consts::PI * 4.0).sin();
            out.push((y * 0.01 * envelope) as f32);
        }
        out
    }

    fn silence(seconds: f64) -> Vec<f32> {
        vec![0.0; (seconds * SAMPLE_RATE) as usize]
    }

    fn word(text: &str, start: f64, end: f64) -> SpokenToken {
        SpokenToken {
            text: text.to_string(),
            kind: TokenKind::Word,
            start,
            end,
            confidence: 0.9,
            channel: None,
            speaker: None,
            starts_segment: false,
        }
    }

    /// Alternating turns of two voices; returns the signal and each turn's (start, end, voice).
    fn dialogue(turns: usize, voices: &[(f64, (f64, f64))]) -> (Vec<f32>, Vec<(f64, f64, usize)>) {
        let mut signal = silence(0.5);
        let mut spans = Vec::new();
        for turn in 0..turns {
            let speaker = turn % voices.len();
            let length = 1.5 + (turn % 3) as f64;
            let start = signal.len() as f64 / SAMPLE_RATE;
            let (pitch, formants) = voices[speaker];
            signal.extend(voice(length, pitch, formants, turn as u64));
            spans.push((start, start + length, speaker));
            signal.extend(silence(0.5 + (turn % 2) as f64 * 0.2));
        }
        (signal, spans)
    }

    #[test]
    fn two_voices_are_two_speakers_and_words_follow_them() {
        let (signal, spans) = dialogue(12, &[(210.0, (700.0, 1800.0)), (110.0, (500.0, 1100.0))]);
        let mut tokens: Vec<SpokenToken> = spans
            .iter()
            .map(|(start, end, _)| word("w", start + 0.2, end - 0.2))
            .collect();
        let result = diarize(&signal, &mut tokens, 2);
        assert_eq!(result.speakers, 2, "{result:?}");
        for (token, (_, _, voice)) in tokens.iter().zip(&spans) {
            assert_eq!(token.speaker, Some(*voice as u16));
        }
    }

    #[test]
    fn one_voice_is_one_speaker_even_when_more_are_allowed() {
        let (signal, spans) = dialogue(10, &[(150.0, (600.0, 1500.0))]);
        let mut tokens: Vec<SpokenToken> = spans
            .iter()
            .map(|(start, end, _)| word("w", *start, *end))
            .collect();
        let result = diarize(&signal, &mut tokens, 4);
        assert_eq!(result.speakers, 1, "{result:?}");
        assert!(tokens.iter().all(|t| t.speaker == Some(0)));
    }

    #[test]
    fn max_speakers_bounds_the_clusters() {
        let voices = [
            (220.0, (750.0, 1900.0)),
            (105.0, (450.0, 1000.0)),
            (150.0, (600.0, 2400.0)),
        ];
        let (signal, spans) = dialogue(18, &voices);
        let mut tokens: Vec<SpokenToken> = spans
            .iter()
            .map(|(start, end, _)| word("w", *start, *end))
            .collect();
        assert!(diarize(&signal, &mut tokens, 2).speakers <= 2);
        let three = diarize(&signal, &mut tokens, 3);
        assert_eq!(three.speakers, 3, "{three:?}");
    }

    #[test]
    fn silence_gives_no_speakers_and_leaves_tokens_alone() {
        let mut tokens = vec![word("w", 0.1, 0.3)];
        let result = diarize(&silence(3.0), &mut tokens, 2);
        assert_eq!(result.speakers, 0);
        assert_eq!(tokens[0].speaker, None);
    }

    #[test]
    fn punctuation_follows_its_word() {
        let (signal, spans) = dialogue(8, &[(210.0, (700.0, 1800.0)), (110.0, (500.0, 1100.0))]);
        let mut tokens = Vec::new();
        for (start, end, _) in &spans {
            tokens.push(word("w", *start, *end));
            let mut mark = word(".", *end, *end);
            mark.kind = TokenKind::Punctuation;
            tokens.push(mark);
        }
        diarize(&signal, &mut tokens, 2);
        for pair in tokens.chunks(2) {
            assert_eq!(pair[0].speaker, pair[1].speaker);
        }
    }

    fn spoken(text: &str, start: f64, end: f64, speaker: u16) -> SpokenToken {
        let kind = if text.chars().all(|c| c.is_ascii_punctuation()) {
            TokenKind::Punctuation
        } else {
            TokenKind::Word
        };
        SpokenToken {
            kind,
            speaker: Some(speaker),
            ..word(text, start, end)
        }
    }

    #[test]
    fn a_turn_change_inside_a_sentence_moves_to_its_end() {
        let mut tokens = vec![
            spoken("Yeah", 15.9, 16.2, 0),
            spoken(",", 16.2, 16.2, 0),
            spoken("me", 16.2, 16.5, 0),
            spoken("too", 17.0, 17.1, 1),
            spoken(".", 17.1, 17.1, 1),
            spoken("I", 17.1, 17.4, 1),
            spoken("don't", 17.4, 17.7, 1),
        ];
        finish_sentences(&mut tokens);
        let speakers: Vec<Option<u16>> = tokens.iter().map(|t| t.speaker).collect();
        assert_eq!(
            speakers,
            [
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(1),
                Some(1)
            ]
        );
        // A change after a full stop is left alone.
        let mut settled = vec![
            spoken("fine", 1.0, 1.2, 0),
            spoken(".", 1.2, 1.2, 0),
            spoken("Good", 2.0, 2.2, 1),
            spoken(".", 2.2, 2.2, 1),
        ];
        finish_sentences(&mut settled);
        assert_eq!(settled[2].speaker, Some(1));
    }

    #[test]
    fn turns_stretch_over_their_speakers_speech_but_not_past_their_neighbours() {
        let piece = |start: f64, end: f64| Piece {
            start: (start * SAMPLE_RATE) as usize,
            end: (end * SAMPLE_RATE) as usize,
        };
        let pieces = [piece(0.3, 0.65), piece(1.25, 1.77), piece(2.0, 2.5)];
        let owners = [0, 1, 1];
        let mut tokens = vec![
            spoken("Hello", 0.5, 0.9, 0),
            spoken("Hi", 1.5, 1.7, 1),
            spoken("there", 2.3, 2.4, 1),
        ];
        snap_turns_to_speech(&mut tokens, &pieces, &owners, |t| {
            t.speaker.map(usize::from)
        });
        assert!((tokens[0].start - 0.3).abs() < 1e-9, "{:?}", tokens[0]);
        assert!((tokens[0].end - 0.9).abs() < 1e-9);
        assert!((tokens[1].start - 1.25).abs() < 1e-9);
        // The gap before "there" holds its speaker's speech from 2.0 s.
        assert!((tokens[2].start - 2.0).abs() < 1e-9, "{:?}", tokens[2]);
        assert!((tokens[2].end - 2.5).abs() < 1e-9);
    }

    #[test]
    fn pitch_of_a_pulse_train_is_found() {
        let mut extractor = FeatureExtractor::new();
        let signal = voice(1.0, 180.0, (700.0, 1800.0), 1);
        let print = extractor.voiceprint(
            &signal,
            &Piece {
                start: 0,
                end: signal.len(),
            },
        );
        let pitch = print.log_pitch.expect("voiced").exp();
        assert!((pitch - 180.0).abs() < 12.0, "{pitch}");
    }
}
