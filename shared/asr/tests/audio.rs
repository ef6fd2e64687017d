//! Decoding and resampling on signals synthesized by the tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use veriscribe_asr::{
    decode_bytes, decode_file, AudioError, DecodeOptions, FormatHint, TARGET_SAMPLE_RATE,
};

fn sine(rate: u32, frequency: f64, amplitude: f64, seconds: f64) -> Vec<f64> {
    let count = (f64::from(rate) * seconds) as usize;
    (0..count)
        .map(|i| {
            amplitude * (2.0 * std::f64::consts::PI * frequency * i as f64 / f64::from(rate)).sin()
        })
        .collect()
}

/// Writes interleaved samples (in -1..1) as a WAV of the given sample format.
fn write_wav(path: &Path, rate: u32, channels: u16, bits: u16, float: bool, interleaved: &[f64]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for sample in interleaved {
        if float {
            writer.write_sample(*sample as f32).unwrap();
        } else {
            let full_scale = f64::from(1u32 << (bits - 1)) - 1.0;
            let value = (sample * full_scale).round() as i32;
            match bits {
                8 => writer.write_sample(value as i8).unwrap(),
                16 => writer.write_sample(value as i16).unwrap(),
                _ => writer.write_sample(value).unwrap(),
            }
        }
    }
    writer.finalize().unwrap();
}

/// Frequency from positive-going zero crossings, and amplitude from RMS, over the middle half.
fn frequency_and_amplitude(signal: &[f32]) -> (f64, f64) {
    let middle = &signal[signal.len() / 4..signal.len() * 3 / 4];
    let crossings = middle
        .windows(2)
        .filter(|pair| pair[0] < 0.0 && pair[1] >= 0.0)
        .count();
    let seconds = middle.len() as f64 / f64::from(TARGET_SAMPLE_RATE);
    let rms =
        (middle.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / middle.len() as f64).sqrt();
    (crossings as f64 / seconds, rms * std::f64::consts::SQRT_2)
}

fn temp_file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn every_pcm_and_float_wav_depth_decodes_at_16k() {
    let dir = tempfile::tempdir().unwrap();
    for (bits, float) in [
        (8, false),
        (16, false),
        (24, false),
        (32, false),
        (32, true),
    ] {
        let path = temp_file(&dir, &format!("tone-{bits}-{float}.wav"));
        write_wav(
            &path,
            16_000,
            1,
            bits,
            float,
            &sine(16_000, 440.0, 0.5, 1.0),
        );
        let audio = decode_file(&path, &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{bits} bit: {e}"));
        assert_eq!(audio.channels.len(), 1);
        assert_eq!(audio.frames(), 16_000, "{bits} bit");
        assert!(!audio.truncated);
        let (frequency, amplitude) = frequency_and_amplitude(&audio.channels[0]);
        assert!(
            (frequency - 440.0).abs() < 3.0,
            "{bits} bit: {frequency} Hz"
        );
        let tolerance = if bits == 8 { 0.02 } else { 0.002 };
        assert!(
            (amplitude - 0.5).abs() < tolerance,
            "{bits} bit: amplitude {amplitude}"
        );
    }
}

#[test]
fn stereo_44k1_is_resampled_with_channels_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "stereo.wav");
    let left = sine(44_100, 440.0, 0.5, 2.0);
    let right = sine(44_100, 1000.0, 0.25, 2.0);
    let interleaved: Vec<f64> = left
        .iter()
        .zip(&right)
        .flat_map(|(l, r)| [*l, *r])
        .collect();
    write_wav(&path, 44_100, 2, 16, false, &interleaved);

    let audio = decode_file(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(audio.source_rate, 44_100);
    assert_eq!(audio.source_channels, 2);
    assert_eq!(audio.channels.len(), 2);
    assert_eq!(audio.channels[0].len(), audio.channels[1].len());
    assert!(
        (audio.duration_seconds - 2.0).abs() < 0.001,
        "duration {}",
        audio.duration_seconds
    );
    let (frequency, amplitude) = frequency_and_amplitude(&audio.channels[0]);
    assert!(
        (frequency - 440.0).abs() < 3.0 && (amplitude - 0.5).abs() < 0.01,
        "left {frequency} Hz {amplitude}"
    );
    let (frequency, amplitude) = frequency_and_amplitude(&audio.channels[1]);
    assert!(
        (frequency - 1000.0).abs() < 3.0 && (amplitude - 0.25).abs() < 0.01,
        "right {frequency} Hz {amplitude}"
    );
    // The resampler's delay is removed: the tone starts at time zero, not later.
    let onset = audio.channels[0]
        .iter()
        .position(|s| s.abs() > 0.1)
        .unwrap();
    assert!(onset < 16, "tone starts at sample {onset}");
    let mono = audio.mono();
    assert_eq!(mono.len(), audio.frames());
    assert!((mono[1000] - (audio.channels[0][1000] + audio.channels[1][1000]) / 2.0).abs() < 1e-6);
}

#[test]
fn bytes_in_memory_decode_with_a_mime_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "tone.wav");
    write_wav(&path, 48_000, 1, 16, false, &sine(48_000, 300.0, 0.4, 1.5));
    let bytes = std::fs::read(&path).unwrap();
    let audio = decode_bytes(
        bytes,
        &FormatHint::mime_type("audio/wav"),
        &DecodeOptions::default(),
    )
    .unwrap();
    assert!((audio.duration_seconds - 1.5).abs() < 0.001);
    let (frequency, _) = frequency_and_amplitude(&audio.channels[0]);
    assert!((frequency - 300.0).abs() < 3.0);
}

#[test]
fn empty_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "empty.wav");
    std::fs::write(&path, b"").unwrap();
    let error = decode_file(&path, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(error, AudioError::Empty), "{error}");
    assert!(matches!(
        decode_bytes(
            Vec::new(),
            &FormatHint::default(),
            &DecodeOptions::default()
        ),
        Err(AudioError::Empty)
    ));
}

#[test]
fn text_renamed_to_wav_is_not_audio_and_the_error_lists_formats() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "notes.wav");
    std::fs::write(
        &path,
        "Patient reports chest pain for two days.\n".repeat(50),
    )
    .unwrap();
    let error = decode_file(&path, &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(error, AudioError::UnrecognisedFormat { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("WAV") && message.contains("FLAC") && message.contains("MP3"),
        "{message}"
    );
}

#[test]
fn truncated_wav_is_refused_with_how_much_was_readable_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "cut.wav");
    write_wav(&path, 16_000, 1, 16, false, &sine(16_000, 440.0, 0.5, 2.0));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..44 + 16_000 * 2]).unwrap(); // header + 1 s of the 2 s
    let error = decode_file(&path, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(error, AudioError::Truncated { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the recording is truncated: only 1.0 s of the 2.0 s its header declares could be read"
    );
    let error = decode_bytes(
        bytes[..44 + 16_000].to_vec(),
        &FormatHint::extension("wav"),
        &DecodeOptions::default(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("only 0.5 s of the 2.0 s"),
        "{error}"
    );

    let allowed = DecodeOptions {
        allow_truncated: true,
        ..DecodeOptions::default()
    };
    let audio = decode_file(&path, &allowed).unwrap();
    assert!(audio.truncated);
    assert!(
        (audio.duration_seconds - 1.0).abs() < 0.05,
        "{}",
        audio.duration_seconds
    );

    // A file cut inside its header has no audio to keep.
    std::fs::write(&path, &bytes[..20]).unwrap();
    let error = decode_file(&path, &allowed).unwrap_err();
    assert!(
        matches!(
            error,
            AudioError::Malformed { .. } | AudioError::UnrecognisedFormat { .. }
        ),
        "{error:?}"
    );
}

#[test]
fn wav_without_samples_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "silent-header.wav");
    write_wav(&path, 16_000, 1, 16, false, &[]);
    let error = decode_file(&path, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(error, AudioError::NoSamples), "{error:?}");
}

#[test]
fn recordings_over_the_maximum_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "long.wav");
    write_wav(&path, 22_050, 1, 16, false, &sine(22_050, 440.0, 0.5, 3.0));
    let options = DecodeOptions {
        max_duration_seconds: 2.0,
        ..DecodeOptions::default()
    };
    let error = decode_file(&path, &options).unwrap_err();
    assert!(matches!(error, AudioError::TooLong { .. }), "{error:?}");
    assert!(error.to_string().contains("3.0 s"), "{error}");
    assert!(decode_file(
        &path,
        &DecodeOptions {
            max_duration_seconds: 3.5,
            ..DecodeOptions::default()
        }
    )
    .is_ok());
}

/// Converts with sox; a missing sox fails the test with instructions rather than skipping.
fn sox_convert(input: &Path, output: &Path) {
    let status = Command::new("sox").arg(input).arg(output).status().unwrap_or_else(|error| {
        panic!("sox is needed to make FLAC/MP3/OGG test files ({error}); install it: apt-get install -y sox libsox-fmt-mp3")
    });
    assert!(
        status.success(),
        "sox could not write {} (for MP3 install libsox-fmt-mp3)",
        output.display()
    );
}

#[test]
fn flac_mp3_and_ogg_decode() {
    let dir = tempfile::tempdir().unwrap();
    let wav = temp_file(&dir, "source.wav");
    let left = sine(44_100, 440.0, 0.5, 2.0);
    let right = sine(44_100, 660.0, 0.3, 2.0);
    let interleaved: Vec<f64> = left
        .iter()
        .zip(&right)
        .flat_map(|(l, r)| [*l, *r])
        .collect();
    write_wav(&wav, 44_100, 2, 16, false, &interleaved);
    for extension in ["flac", "mp3", "ogg"] {
        let encoded = temp_file(&dir, &format!("tone.{extension}"));
        sox_convert(&wav, &encoded);
        let audio = decode_file(&encoded, &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{extension}: {e}"));
        assert_eq!(audio.channels.len(), 2, "{extension}");
        // MP3 encoders add up to a frame or two of padding.
        assert!(
            (audio.duration_seconds - 2.0).abs() < 0.1,
            "{extension}: {} s",
            audio.duration_seconds
        );
        let (frequency, amplitude) = frequency_and_amplitude(&audio.channels[0]);
        assert!(
            (frequency - 440.0).abs() < 5.0,
            "{extension}: {frequency} Hz"
        );
        assert!(
            (amplitude - 0.5).abs() < 0.05,
            "{extension}: amplitude {amplitude}"
        );
        let (frequency, _) = frequency_and_amplitude(&audio.channels[1]);
        assert!(
            (frequency - 660.0).abs() < 5.0,
            "{extension}: right {frequency} Hz"
        );

        let bytes = std::fs::read(&encoded).unwrap();
        let from_memory = decode_bytes(
            bytes,
            &FormatHint::extension(extension),
            &DecodeOptions::default(),
        )
        .unwrap();
        assert_eq!(from_memory.frames(), audio.frames(), "{extension}");
    }
}

/// A canonical 44-byte PCM WAV header with whatever values a hostile or broken writer puts in
/// it, followed by `data_bytes` of silence.
fn raw_wav(rate: u32, channels: u16, declared_data: u32, data_bytes: usize) -> Vec<u8> {
    let bits = 16u16;
    let block = channels.wrapping_mul(bits / 8);
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + declared_data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&rate.wrapping_mul(u32::from(block)).to_le_bytes());
    wav.extend_from_slice(&block.to_le_bytes());
    wav.extend_from_slice(&bits.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&declared_data.to_le_bytes());
    wav.resize(wav.len() + data_bytes, 0);
    wav
}

/// Each of these once crashed or exhausted memory (symphonia asserted on a rate of 0; rubato
/// tried to build a 4-GHz resampler). Now each is refused before anything is allocated, from
/// bytes and from a file alike, with a reason that names the problem.
#[test]
fn hostile_headers_are_refused_with_a_reason_not_a_crash() {
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("rate 0", raw_wav(0, 1, 32_000, 32_000), "no sample rate"),
        (
            "rate u32::MAX",
            raw_wav(u32::MAX, 1, 32_000, 32_000),
            "sample rate of 4294967295 Hz",
        ),
        (
            "rate 1 Hz",
            raw_wav(1, 1, 32_000, 32_000),
            "sample rate of 1 Hz",
        ),
        (
            "100 channels",
            raw_wav(16_000, 100, 32_000, 32_000),
            "100 channels",
        ),
        (
            "declares 18 hours, holds 1 s",
            raw_wav(16_000, 1, u32::MAX - 64, 32_000),
            "longer than the maximum",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, expected) in cases {
        let error = decode_bytes(
            bytes.clone(),
            &FormatHint::extension("wav"),
            &DecodeOptions::default(),
        )
        .unwrap_err();
        assert!(error.to_string().contains(expected), "{name}: {error}");
        let path = temp_file(&dir, "hostile.wav");
        std::fs::write(&path, &bytes).unwrap();
        let error = decode_file(&path, &DecodeOptions::default()).unwrap_err();
        assert!(
            error.to_string().contains(expected),
            "{name} (file): {error}"
        );
    }
    // A header that is honest about a short file still decodes.
    let audio = decode_bytes(
        raw_wav(16_000, 1, 32_000, 32_000),
        &FormatHint::extension("wav"),
        &DecodeOptions::default(),
    )
    .unwrap();
    assert!((audio.duration_seconds - 1.0).abs() < 1e-6);
}

#[test]
fn truncated_flac_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wav = temp_file(&dir, "tone.wav");
    write_wav(&wav, 16_000, 1, 16, false, &sine(16_000, 440.0, 0.5, 3.0));
    let flac = temp_file(&dir, "tone.flac");
    sox_convert(&wav, &flac);
    let bytes = std::fs::read(&flac).unwrap();
    let cut = bytes[..bytes.len() / 2].to_vec();
    let error = decode_bytes(
        cut,
        &FormatHint::extension("flac"),
        &DecodeOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, AudioError::Truncated { .. }), "{error:?}");
    assert!(error.to_string().contains("of the 3.0 s"), "{error}");
}
