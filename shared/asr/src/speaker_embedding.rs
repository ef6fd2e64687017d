//! Speaker embeddings from Resemblyzer's GE2E voice encoder, run in plain Rust.
//!
//! Input is what `resemblyzer/audio.py` gives the network: a power mel spectrogram (not log) of
//! 16 kHz audio, 40 Slaney mel bands over 0–8 kHz with Slaney area normalisation, 400-sample
//! periodic Hann window, 160-sample hop, frames centred (reflect padding at the ends), the audio
//! scaled to -30 dBFS first. The network (`resemblyzer/voice_encoder.py`): a 3-layer LSTM of 256,
//! the last layer's final hidden state, a 256 × 256 linear layer, ReLU and L2 normalisation. The
//! weights come from `veriscribe model fetch` (`veriscribe_model::ensure_speaker_model`).
//!
//! Windows are run as a batch: each time step multiplies the recurrent weights by every window's
//! state at once, so the weights are read from cache once per step instead of once per window.

use std::path::Path;
use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

const N_FFT: usize = 400;
const HOP: usize = 160;
pub const MEL_CHANNELS: usize = 40;
const HIDDEN: usize = 256;
const GATES: usize = 4 * HIDDEN;
const LAYERS: usize = 3;
pub const EMBEDDING: usize = 256;
const MAGIC: &[u8; 8] = b"VSGE2E01";
/// Resemblyzer's `audio_norm_target_dBFS`.
const TARGET_DBFS: f64 = -30.0;
/// Windows per batch: enough to reuse each weight row several times, small enough for L2.
const BATCH: usize = 16;

/// Seconds per mel frame.
pub const FRAME_SECONDS: f64 = HOP as f64 / 16_000.0;

#[derive(Debug, thiserror::Error)]
pub enum SpeakerModelError {
    #[error("cannot read speaker model {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("speaker model {path} is not a converted GE2E encoder ({reason})")]
    Format { path: String, reason: String },
}

struct Layer {
    /// GATES × input, row-major.
    w_ih: Vec<f32>,
    /// GATES × HIDDEN, row-major.
    w_hh: Vec<f32>,
    bias: Vec<f32>,
    input: usize,
}

/// The GE2E encoder's weights.
pub struct SpeakerEncoder {
    layers: Vec<Layer>,
    linear_w: Vec<f32>,
    linear_b: Vec<f32>,
    mel: MelSpectrogram,
}

impl std::fmt::Debug for SpeakerEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeakerEncoder").finish_non_exhaustive()
    }
}

impl SpeakerEncoder {
    /// Loads the file written by `veriscribe_model::ensure_speaker_model`.
    pub fn load(path: &Path) -> Result<Self, SpeakerModelError> {
        let bytes = std::fs::read(path).map_err(|source| SpeakerModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|reason| SpeakerModelError::Format {
            path: path.display().to_string(),
            reason,
        })
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err("wrong magic".into());
        }
        let mut floats = bytes[MAGIC.len()..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        let mut take = |n: usize| -> Result<Vec<f32>, String> {
            let v: Vec<f32> = floats.by_ref().take(n).collect();
            if v.len() == n {
                Ok(v)
            } else {
                Err("file too short".into())
            }
        };
        let mut layers = Vec::with_capacity(LAYERS);
        for layer in 0..LAYERS {
            let input = if layer == 0 { MEL_CHANNELS } else { HIDDEN };
            layers.push(Layer {
                w_ih: take(GATES * input)?,
                w_hh: take(GATES * HIDDEN)?,
                bias: take(GATES)?,
                input,
            });
        }
        let linear_w = take(EMBEDDING * HIDDEN)?;
        let linear_b = take(EMBEDDING)?;
        if floats.next().is_some() {
            return Err("trailing data".into());
        }
        Ok(Self {
            layers,
            linear_w,
            linear_b,
            mel: MelSpectrogram::new(),
        })
    }

    /// Mel frames of the whole signal (16 kHz), frame `i` centred on sample `160 i`, after
    /// scaling the signal so that `speech_rms` becomes -30 dBFS.
    pub fn mel_frames(&self, signal: &[f32], speech_rms: f32) -> Vec<[f32; MEL_CHANNELS]> {
        let target = 10f64.powf(TARGET_DBFS / 20.0) as f32;
        let gain = if speech_rms > 1e-6 {
            target / speech_rms
        } else {
            1.0
        };
        self.mel.frames(signal, gain)
    }

    /// One L2-normalised embedding per window of mel frames (windows may differ in length).
    pub fn embed(
        &self,
        mels: &[[f32; MEL_CHANNELS]],
        windows: &[std::ops::Range<usize>],
    ) -> Vec<[f32; EMBEDDING]> {
        let mut out = Vec::with_capacity(windows.len());
        for chunk in windows.chunks(BATCH) {
            out.extend(self.embed_batch(mels, chunk));
        }
        out
    }

    fn embed_batch(
        &self,
        mels: &[[f32; MEL_CHANNELS]],
        windows: &[std::ops::Range<usize>],
    ) -> Vec<[f32; EMBEDDING]> {
        let batch = windows.len();
        let steps = windows.iter().map(|w| w.len()).max().unwrap_or(0);
        // Layer input, time-major: step t, window b → x[(t * batch + b) * width ..].
        let mut width = MEL_CHANNELS;
        let mut x = vec![0f32; steps * batch * width];
        for (b, w) in windows.iter().enumerate() {
            for (t, frame) in mels[w.clone()].iter().enumerate() {
                x[(t * batch + b) * width..][..width].copy_from_slice(frame);
            }
        }
        let mut finals = vec![0f32; batch * HIDDEN];
        for layer in &self.layers {
            debug_assert_eq!(layer.input, width);
            // Input projections of every step at once.
            let mut gates_in = vec![0f32; steps * batch * GATES];
            matmul_transposed(&x, width, &layer.w_ih, GATES, &mut gates_in);
            let mut h = vec![0f32; batch * HIDDEN];
            let mut c = vec![0f32; batch * HIDDEN];
            let mut out = vec![0f32; steps * batch * HIDDEN];
            let mut gates = vec![0f32; batch * GATES];
            for t in 0..steps {
                gates.copy_from_slice(&gates_in[t * batch * GATES..][..batch * GATES]);
                matmul_transposed(&h, HIDDEN, &layer.w_hh, GATES, &mut gates);
                for b in 0..batch {
                    let g = &gates[b * GATES..][..GATES];
                    let (hb, cb) = (
                        &mut h[b * HIDDEN..][..HIDDEN],
                        &mut c[b * HIDDEN..][..HIDDEN],
                    );
                    for j in 0..HIDDEN {
                        let i = sigmoid(g[j] + layer.bias[j]);
                        let f = sigmoid(g[HIDDEN + j] + layer.bias[HIDDEN + j]);
                        let cell = (g[2 * HIDDEN + j] + layer.bias[2 * HIDDEN + j]).tanh();
                        let o = sigmoid(g[3 * HIDDEN + j] + layer.bias[3 * HIDDEN + j]);
                        cb[j] = f * cb[j] + i * cell;
                        hb[j] = o * cb[j].tanh();
                    }
                    // A shorter window's state is final at its own last frame.
                    if t + 1 == windows[b].len() {
                        finals[b * HIDDEN..][..HIDDEN].copy_from_slice(hb);
                    }
                }
                out[t * batch * HIDDEN..][..batch * HIDDEN].copy_from_slice(&h);
            }
            x = out;
            width = HIDDEN;
        }
        let mut embeddings = Vec::with_capacity(batch);
        for b in 0..batch {
            let hb = &finals[b * HIDDEN..][..HIDDEN];
            let mut e = [0f32; EMBEDDING];
            for (k, value) in e.iter_mut().enumerate() {
                let row = &self.linear_w[k * HIDDEN..][..HIDDEN];
                *value = (dot(row, hb) + self.linear_b[k]).max(0.0);
            }
            let norm = e.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            e.iter_mut().for_each(|v| *v /= norm);
            embeddings.push(e);
        }
        embeddings
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `c[m][n] += a[m] · w[n]` for `a` rows of `k` values and `w` of `n` rows of `k` values.
fn matmul_transposed(a: &[f32], k: usize, w: &[f32], n: usize, c: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features the function is compiled for.
            unsafe { matmul_transposed_fma(a, k, w, n, c) };
            return;
        }
    }
    matmul_transposed_plain(a, k, w, n, c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn matmul_transposed_fma(a: &[f32], k: usize, w: &[f32], n: usize, c: &mut [f32]) {
    let rows = a.len() / k;
    for (j, wj) in w.chunks_exact(k).enumerate().take(n) {
        for m in 0..rows {
            let am = &a[m * k..][..k];
            let mut acc = [0f32; 8];
            for (x, y) in am.chunks_exact(8).zip(wj.chunks_exact(8)) {
                for l in 0..8 {
                    acc[l] = x[l].mul_add(y[l], acc[l]);
                }
            }
            let mut sum = acc.iter().sum::<f32>();
            for i in (k - k % 8)..k {
                sum += am[i] * wj[i];
            }
            c[m * n + j] += sum;
        }
    }
}

fn matmul_transposed_plain(a: &[f32], k: usize, w: &[f32], n: usize, c: &mut [f32]) {
    let rows = a.len() / k;
    for (j, wj) in w.chunks_exact(k).enumerate().take(n) {
        for m in 0..rows {
            c[m * n + j] += dot(&a[m * k..][..k], wj);
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8 * 8;
    for (x, y) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = a[chunks..]
        .iter()
        .zip(&b[chunks..])
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// librosa's `melspectrogram` as Resemblyzer calls it.
struct MelSpectrogram {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Per mel band: first FFT bin and weights.
    filters: Vec<(usize, Vec<f32>)>,
}

impl MelSpectrogram {
    fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        let window = (0..N_FFT)
            .map(|i| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos()) as f32
            })
            .collect();
        Self {
            fft,
            window,
            filters: slaney_filters(),
        }
    }

    fn frames(&self, signal: &[f32], gain: f32) -> Vec<[f32; MEL_CHANNELS]> {
        let count = 1 + signal.len() / HOP;
        let half = (N_FFT / 2) as isize;
        let len = signal.len() as isize;
        // Reflect padding (numpy "reflect": the edge sample is not repeated).
        let sample = |i: isize| -> f32 {
            if len < 2 {
                return signal.first().copied().unwrap_or(0.0) * gain;
            }
            let mut i = i;
            let period = 2 * (len - 1);
            i = i.rem_euclid(period);
            if i >= len {
                i = period - i;
            }
            signal[i as usize] * gain
        };
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0f32; N_FFT / 2 + 1];
        let mut out = Vec::with_capacity(count);
        for f in 0..count {
            let start = (f * HOP) as isize - half;
            for (i, slot) in input.iter_mut().enumerate() {
                *slot = sample(start + i as isize) * self.window[i];
            }
            self.fft
                .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                .expect("buffers come from the same plan");
            for (p, s) in power.iter_mut().zip(&spectrum) {
                *p = s.norm_sqr();
            }
            let mut frame = [0f32; MEL_CHANNELS];
            for (value, (first, weights)) in frame.iter_mut().zip(&self.filters) {
                *value = weights
                    .iter()
                    .zip(&power[*first..])
                    .map(|(w, p)| w * p)
                    .sum();
            }
            out.push(frame);
        }
        out
    }
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= 1000.0 {
        15.0 + (hz / 1000.0).ln() / (6.4f64.ln() / 27.0)
    } else {
        hz / (200.0 / 3.0)
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= 15.0 {
        1000.0 * ((6.4f64.ln() / 27.0) * (mel - 15.0)).exp()
    } else {
        mel * (200.0 / 3.0)
    }
}

/// `librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)` (Slaney scale and area norm).
fn slaney_filters() -> Vec<(usize, Vec<f32>)> {
    let bins = N_FFT / 2 + 1;
    let top = hz_to_mel(8000.0);
    let points: Vec<f64> = (0..MEL_CHANNELS + 2)
        .map(|i| mel_to_hz(top * i as f64 / (MEL_CHANNELS + 1) as f64))
        .collect();
    (0..MEL_CHANNELS)
        .map(|m| {
            let (lo, mid, hi) = (points[m], points[m + 1], points[m + 2]);
            let norm = 2.0 / (hi - lo);
            let weights: Vec<f64> = (0..bins)
                .map(|b| {
                    let f = 8000.0 * b as f64 / (bins - 1) as f64;
                    let lower = (f - lo) / (mid - lo);
                    let upper = (hi - f) / (hi - mid);
                    lower.min(upper).max(0.0) * norm
                })
                .collect();
            let first = weights.iter().position(|w| *w > 0.0).unwrap_or(0);
            let last = weights.iter().rposition(|w| *w > 0.0).unwrap_or(first);
            (
                first,
                weights[first..=last].iter().map(|w| *w as f32).collect(),
            )
        })
        .collect()
}

/// Cosine similarity of two L2-normalised embeddings.
pub fn cosine(a: &[f32; EMBEDDING], b: &[f32; EMBEDDING]) -> f32 {
    dot(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deterministic signal of `bench/ge2e_reference.py`.
    fn test_signal() -> Vec<f32> {
        let n = 25_600;
        let mut phase = 0f64;
        let mut state: u64 = 12345;
        (0..n)
            .map(|i| {
                let t = i as f64 / 16_000.0;
                phase += 2.0 * std::f64::consts::PI * (120.0 + 40.0 * t) / 16_000.0;
                let tone: f64 = (1..6)
                    .map(|k| (k as f64 * phase).sin() / k as f64)
                    .sum::<f64>()
                    * 0.1;
                state = (state * 1_103_515_245 + 12_345) % (1 << 31);
                let noise = (state as f64 / (1u64 << 31) as f64 - 0.5) * 0.01;
                (tone + noise) as f32
            })
            .collect()
    }

    #[test]
    fn mel_frames_match_librosa_reference() {
        // bench/ge2e_reference.py: mel[10][0..4]
        let mel = MelSpectrogram::new().frames(&test_signal(), 1.0);
        assert_eq!(mel.len(), 161);
        let expected = [0.726_365_1_f32, 1.258_566, 0.373_074, 0.223_759];
        for (got, want) in mel[10].iter().zip(expected) {
            assert!(
                (got - want).abs() <= 1e-4 * want.abs().max(1e-3),
                "{got} vs {want}"
            );
        }
    }

    #[test]
    fn matmul_paths_agree() {
        let a: Vec<f32> = (0..3 * 20).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..5 * 20).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut fast = vec![1f32; 15];
        let mut plain = vec![1f32; 15];
        matmul_transposed(&a, 20, &w, 5, &mut fast);
        matmul_transposed_plain(&a, 20, &w, 5, &mut plain);
        for (m, row) in plain.chunks(5).enumerate() {
            for (j, value) in row.iter().enumerate() {
                let want = 1.0 + dot(&a[m * 20..][..20], &w[j * 20..][..20]);
                assert!((value - want).abs() < 1e-5);
                assert!((fast[m * 5 + j] - want).abs() < 1e-4);
            }
        }
    }

    /// Needs the converted model (`veriscribe model fetch`, which CI runs); skipped without it.
    #[test]
    fn embedding_matches_numpy_reference() {
        let path = std::env::var_os("VERISCRIBE_MODEL_DIR")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| std::path::PathBuf::from(h).join(".cache/veriscribe/models"))
            })
            .map(|d| d.join("ge2e-resemblyzer-0.1.4.f32"));
        let Some(path) = path.filter(|p| p.is_file()) else {
            eprintln!("speaker model not fetched; skipping");
            return;
        };
        let encoder = SpeakerEncoder::load(&path).unwrap();
        let mels = encoder.mel.frames(&test_signal(), 1.0);
        let window = std::iter::once(0..160).collect::<Vec<_>>();
        let e = encoder.embed(&mels, &window).remove(0);
        // bench/ge2e_reference.py (float64 numpy): embedding[0..8], nonzero 122, argmax 42.
        let expected = [0.0f32, 0.060090, 0.0, 0.0, 0.0, 0.133377, 0.0, 0.0];
        for (got, want) in e.iter().zip(expected) {
            assert!((got - want).abs() < 2e-4, "{got} vs {want}");
        }
        let argmax = (0..EMBEDDING)
            .max_by(|a, b| e[*a].total_cmp(&e[*b]))
            .unwrap();
        assert_eq!(argmax, 42);
        assert!((e[42] - 0.185947).abs() < 2e-4);
    }
}
