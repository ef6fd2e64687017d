//! Property tests of audio decoding on hostile input: a valid WAV mutated (header fields set to
//! extreme values, bytes flipped, cut, bytes inserted) and random bytes under every format hint.
//! Decoding must end in audio or an error: no panic, no hang, and never more audio than the
//! input can hold (a header cannot make the decoder allocate from its claims).
//! Cases: `PROPTEST_CASES` (default below); failures are kept in `proptest-regressions/`.

use std::io::Cursor;

use proptest::prelude::*;
use veriscribe_asr::{decode_bytes, DecodeOptions, FormatHint};

/// 0.4 s of a 440 Hz tone, 16-bit PCM, at `rate` Hz with `channels` channels.
fn wav(rate: u32, channels: u16) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..(rate as usize * 2 / 5) {
        let v = ((i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16;
        for _ in 0..channels {
            writer.write_sample(v).unwrap();
        }
    }
    writer.finalize().unwrap();
    out.into_inner()
}

/// Where the canonical 44-byte header keeps its fields.
const FIELDS: &[(usize, usize)] = &[
    (4, 4),  // RIFF size
    (16, 4), // fmt size
    (20, 2), // format tag (1 = PCM, 6 = A-law, 2 = ADPCM …)
    (22, 2), // channels
    (24, 4), // sample rate
    (28, 4), // byte rate
    (32, 2), // block align
    (34, 2), // bits per sample
    (40, 4), // data size
];

#[derive(Debug, Clone)]
enum Mutation {
    Field {
        field: usize,
        value: u32,
    },
    Flip {
        at: prop::sample::Index,
        bits: u8,
    },
    Cut {
        at: prop::sample::Index,
    },
    Insert {
        at: prop::sample::Index,
        bytes: Vec<u8>,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let extreme = prop_oneof![
        Just(0u32),
        Just(1),
        Just(7),
        Just(0xFFFF),
        Just(0x1_0000),
        Just(u32::MAX),
        Just(u32::MAX / 2),
        any::<u32>()
    ];
    prop_oneof![
        3 => (0..FIELDS.len(), extreme).prop_map(|(field, value)| Mutation::Field { field, value }),
        2 => (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(at, bits)| Mutation::Flip { at, bits }),
        1 => any::<prop::sample::Index>().prop_map(|at| Mutation::Cut { at }),
        1 => (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
    ]
}

fn apply(mut bytes: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    match mutation {
        Mutation::Field { field, value } => {
            let (at, len) = FIELDS[*field];
            bytes[at..at + len].copy_from_slice(&value.to_le_bytes()[..len]);
        }
        Mutation::Flip { at, bits } => {
            let i = at.index(bytes.len());
            bytes[i] ^= bits;
        }
        Mutation::Cut { at } => bytes.truncate(at.index(bytes.len())),
        Mutation::Insert { at, bytes: extra } => {
            let i = at.index(bytes.len());
            bytes.splice(i..i, extra.iter().copied());
        }
    }
    bytes
}

/// Decodes and checks the result can be real: finite samples, and no more 16 kHz frames than
/// the input's bytes could carry (8-bit mono at the lowest rate is the densest case, ×2 margin).
fn decode_checked(bytes: Vec<u8>, hint: &str) -> Result<(), TestCaseError> {
    let input_len = bytes.len();
    if let Ok(audio) = decode_bytes(
        bytes,
        &FormatHint::extension(hint),
        &DecodeOptions::default(),
    ) {
        let frames = audio.channels.first().map_or(0, Vec::len);
        prop_assert!(audio.channels.iter().all(|c| c.len() == frames));
        prop_assert!(
            audio.channels.iter().flatten().all(|s| s.is_finite()),
            "non-finite sample"
        );
        let bound = 2 * 16_000 / 8_000 * input_len + 16_000;
        prop_assert!(frames <= bound, "{frames} frames from {input_len} bytes");
    }
    Ok(())
}

/// Format signatures, so random bytes reach each demuxer rather than only the prober.
const MAGIC: &[&[u8]] = &[
    b"",
    b"RIFF\x24\x00\x00\x00WAVE",
    b"fLaC",
    b"ID3\x03\x00",
    b"OggS\x00\x02",
    b"\xFF\xFB\x90\x00",
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(128),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_mutated_wav_decodes_or_is_refused(
        rate in prop::sample::select(&[8_000u32, 16_000, 44_100][..]),
        channels in 1u16..=2,
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let bytes = mutations.iter().fold(wav(rate, channels), apply);
        decode_checked(bytes, "wav")?;
    }

    #[test]
    fn random_bytes_under_any_hint_decode_or_are_refused(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        hint in prop::sample::select(&["wav", "flac", "mp3", "ogg", "m4a", ""][..]),
        magic in prop::sample::select(MAGIC),
    ) {
        let mut input = magic.to_vec();
        input.extend(bytes);
        decode_checked(input, hint)?;
    }
}
