//! Slaney-style mel filterbank (librosa `filters.mel(htk=False, norm="slaney")`), computed in f64 and
//! rounded to f32 at the end so the bytes match the reference converter.

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;

fn min_log_mel() -> f64 {
    MIN_LOG_HZ / F_SP
}

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        min_log_mel() + (hz.max(1e-10) / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= min_log_mel() {
        MIN_LOG_HZ * (log_step() * (mel - min_log_mel())).exp()
    } else {
        F_SP * mel
    }
}

/// numpy's `linspace` with its endpoint rule: `i * step + start`, last element pinned to `stop`.
fn linspace(start: f64, stop: f64, count: usize) -> Vec<f64> {
    if count == 1 {
        return vec![start];
    }
    let step = (stop - start) / (count - 1) as f64;
    let mut values: Vec<f64> = (0..count).map(|i| i as f64 * step + start).collect();
    values[count - 1] = stop;
    values
}

/// Filters of shape `(n_mels, 1 + n_fft / 2)`, row-major, for 0 Hz up to Nyquist.
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_freqs = 1 + n_fft / 2;
    let nyquist = sample_rate as f64 / 2.0;
    let fft_freqs = linspace(0.0, nyquist, n_freqs);
    let mel_points: Vec<f64> = linspace(hz_to_mel(0.0), hz_to_mel(nyquist), n_mels + 2)
        .into_iter()
        .map(mel_to_hz)
        .collect();
    let mut filters = Vec::with_capacity(n_mels * n_freqs);
    for i in 0..n_mels {
        let lower_width = mel_points[i + 1] - mel_points[i];
        let upper_width = mel_points[i + 2] - mel_points[i + 1];
        let norm = 2.0 / (mel_points[i + 2] - mel_points[i]);
        for &freq in &fft_freqs {
            let lower = -(mel_points[i] - freq) / lower_width;
            let upper = (mel_points[i + 2] - freq) / upper_width;
            let triangle = lower.min(upper);
            // numpy's maximum(0, x) keeps x when they compare equal, so -0.0 survives (at DC of the
            // first filter); f64::max would not guarantee that.
            let clamped = if triangle < 0.0 { 0.0 } else { triangle };
            filters.push((clamped * norm) as f32);
        }
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whisper_filterbank_has_expected_shape_and_support() {
        let filters = mel_filters(16000, 400, 80);
        assert_eq!(filters.len(), 80 * 201);
        assert!(filters.iter().all(|v| *v >= 0.0 && v.is_finite()));
        for row in filters.chunks(201) {
            assert_eq!(row[0], 0.0, "DC is outside every triangle");
            assert!(row.iter().any(|v| *v > 0.0));
        }
        assert_eq!(
            filters[80 * 201 - 1],
            0.0,
            "Nyquist is outside every triangle"
        );
    }

    #[test]
    fn filters_match_reference_bits() {
        // Bit patterns from the reference converter (librosa's formula in numpy, cast to float32).
        let filters = mel_filters(16000, 400, 80);
        assert_eq!(filters[0].to_bits(), 0x8000_0000, "numpy keeps -0.0 at DC");
        assert_eq!(filters[1].to_bits(), 0x3ccb_aca4);
        assert_eq!(filters[2], 0.0);
        let row_40 = &filters[40 * 201..41 * 201];
        assert_eq!(row_40[43].to_bits(), 0x3c71_6d71);
        assert!(row_40.iter().all(|v| *v <= row_40[43]));
    }

    #[test]
    fn mel_scale_is_linear_below_1khz_and_log_above() {
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((mel_to_hz(hz_to_mel(4321.0)) - 4321.0).abs() < 1e-9);
        assert!((mel_to_hz(hz_to_mel(123.0)) - 123.0).abs() < 1e-9);
    }
}
