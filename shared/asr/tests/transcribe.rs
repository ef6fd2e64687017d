//! End-to-end recognition with the real Whisper model on speech synthesized by espeak-ng.
//! The model must have been fetched first; a missing model or espeak-ng fails the tests.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use veriscribe_asr::wer::word_error_rate;
use veriscribe_asr::{decode_file, DecodeOptions, DecodedAudio, TranscribeOptions, WhisperEngine};
use veriscribe_core::speech::{Recognition, TokenKind};

const SENTENCE: &str =
    "The patient has hypertension and takes metformin five hundred milligrams twice daily. \
                        She reports shortness of breath when climbing stairs.";
const SECOND_SENTENCE: &str = "I will order an echocardiogram and a basic metabolic panel today.";

fn model_path() -> PathBuf {
    if let Some(path) = std::env::var_os("VERISCRIBE_MODEL_PATH") {
        return PathBuf::from(path);
    }
    let directory = std::env::var_os("VERISCRIBE_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is not set"))
                .join(".cache/veriscribe/models")
        });
    directory.join("ggml-tiny.en-q8_0.bin")
}

fn engine() -> &'static WhisperEngine {
    static ENGINE: OnceLock<WhisperEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let path = model_path();
        assert!(
            path.exists(),
            "the Whisper model {} is missing: fetch it first (veriscribe model fetch, or set VERISCRIBE_MODEL_PATH)",
            path.display()
        );
        WhisperEngine::load(&path, None).expect("the model loads")
    })
}

/// Speaks `text` with espeak-ng into a 16 kHz mono signal.
fn speak(text: &str, voice: &str) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .unwrap_or_else(|error| panic!("espeak-ng is needed for this test ({error}); install it: apt-get install -y espeak-ng"));
    assert!(status.success(), "espeak-ng failed");
    let audio = decode_file(&wav, &DecodeOptions::default()).unwrap();
    audio.mono().into_owned()
}

fn silence(seconds: f64) -> Vec<f32> {
    vec![0.0; (16_000.0 * seconds) as usize]
}

fn words_of(recognition: &Recognition) -> String {
    recognition
        .tokens
        .iter()
        .filter(|token| token.kind == TokenKind::Word)
        .map(|token| token.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_well_formed(recognition: &Recognition) {
    let tokens = &recognition.tokens;
    assert!(
        tokens.first().is_some_and(|token| token.starts_segment),
        "the first token starts a segment"
    );
    for pair in tokens.windows(2) {
        assert!(
            pair[0].start <= pair[1].start,
            "start times go back: {} then {}",
            pair[0].start,
            pair[1].start
        );
    }
    for token in tokens {
        assert!(
            token.start >= 0.0 && token.start <= token.end,
            "bad span {}..{}",
            token.start,
            token.end
        );
        assert!(
            token.end <= recognition.duration_seconds + 1e-6,
            "token ends after the audio"
        );
        assert!((0.0..=1.0).contains(&token.confidence));
        assert!(!token.text.is_empty() && token.text.trim() == token.text);
        if token.kind == TokenKind::Punctuation {
            assert_eq!(token.confidence, 0.0);
        }
    }
}

fn transcribe(audio: &DecodedAudio, options: &TranscribeOptions) -> Recognition {
    let mut reported = Vec::new();
    let recognition = engine()
        .transcribe(audio, options, &mut |done| reported.push(done))
        .unwrap();
    assert!(
        reported.windows(2).all(|pair| pair[0] <= pair[1] + 1e-9),
        "progress goes back: {reported:?}"
    );
    assert!(reported.iter().all(|done| (0.0..=1.0).contains(done)));
    assert_eq!(reported.last().copied(), Some(1.0));
    recognition
}

#[test]
fn clinical_sentence_is_transcribed_accurately() {
    let mut signal = silence(0.5);
    signal.extend(speak(SENTENCE, "en-us"));
    signal.extend(silence(0.5));
    let audio = DecodedAudio::from_16k_channels(vec![signal]);
    let recognition = transcribe(&audio, &TranscribeOptions::default());
    let hypothesis = words_of(&recognition);
    let wer = word_error_rate(
        &SENTENCE.replace("five hundred", "500"),
        &hypothesis.replace("five hundred", "500"),
    );
    eprintln!("WER {wer:.3}");
    assert!(wer < 0.3, "WER {wer:.2}: {hypothesis}");
    assert_well_formed(&recognition);
    assert!(
        recognition
            .tokens
            .iter()
            .any(|token| token.kind == TokenKind::Punctuation),
        "punctuation is split off"
    );
    assert!(recognition
        .tokens
        .iter()
        .all(|token| token.channel.is_none()));
}

#[test]
fn silence_yields_no_tokens() {
    let digital = DecodedAudio::from_16k_channels(vec![silence(5.0)]);
    assert!(transcribe(&digital, &TranscribeOptions::default())
        .tokens
        .is_empty());
    // A faint noise floor (-70 dBFS) is still silence.
    let mut seed = 12345u32;
    let noise: Vec<f32> = (0..80_000)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 * 0.001 - 0.0005
        })
        .collect();
    let faint = DecodedAudio::from_16k_channels(vec![noise]);
    assert!(transcribe(&faint, &TranscribeOptions::default())
        .tokens
        .is_empty());
}

#[test]
fn trailing_silence_invents_no_words() {
    let speech = speak(SECOND_SENTENCE, "en-us");
    let speech_end = speech.len() as f64 / 16_000.0;
    let mut signal = speech;
    signal.extend(silence(20.0));
    let audio = DecodedAudio::from_16k_channels(vec![signal]);
    let recognition = transcribe(&audio, &TranscribeOptions::default());
    assert!(!recognition.tokens.is_empty());
    assert_well_formed(&recognition);
    let late: Vec<&str> = recognition
        .tokens
        .iter()
        .filter(|token| token.start > speech_end + 0.5)
        .map(|token| token.text.as_str())
        .collect();
    assert!(
        late.is_empty(),
        "tokens after the speech ended at {speech_end:.1} s: {late:?}"
    );
    let wer = word_error_rate(SECOND_SENTENCE, &words_of(&recognition));
    assert!(wer < 0.3, "WER {wer:.2}: {}", words_of(&recognition));
}

#[test]
fn channel_identification_tags_each_speaker_and_drops_cross_talk() {
    let clinician = speak(SECOND_SENTENCE, "en-us");
    let patient = speak("My chest hurts when I walk up the hill.", "en-us+f3");
    let gap = silence(1.0);
    // Clinician speaks first on the left, then the patient on the right; each voice leaks
    // into the other microphone at -20 dB.
    let length = clinician.len() + gap.len() + patient.len();
    let mut left = vec![0.0f32; length];
    let mut right = vec![0.0f32; length];
    for (i, sample) in clinician.iter().enumerate() {
        left[i] += sample;
        right[i] += sample * 0.1;
    }
    let offset = clinician.len() + gap.len();
    for (i, sample) in patient.iter().enumerate() {
        right[offset + i] += sample;
        left[offset + i] += sample * 0.1;
    }
    let audio = DecodedAudio::from_16k_channels(vec![left, right]);
    let options = TranscribeOptions {
        channel_identification: true,
        ..Default::default()
    };
    let recognition = transcribe(&audio, &options);
    assert_well_formed(&recognition);
    let boundary = offset as f64 / 16_000.0;
    let words = |channel: u16| {
        recognition
            .tokens
            .iter()
            .filter(|token| token.kind == TokenKind::Word && token.channel == Some(channel))
            .collect::<Vec<_>>()
    };
    let (left_words, right_words) = (words(0), words(1));
    assert!(
        left_words.len() >= 8 && right_words.len() >= 6,
        "{} / {}",
        left_words.len(),
        right_words.len()
    );
    let misplaced_left = left_words
        .iter()
        .filter(|token| token.start > boundary)
        .count();
    let misplaced_right = right_words
        .iter()
        .filter(|token| token.end < boundary - 0.5)
        .count();
    assert!(
        misplaced_left + misplaced_right <= 1,
        "cross-talk kept: {misplaced_left} left, {misplaced_right} right"
    );
    assert!(recognition
        .tokens
        .iter()
        .all(|token| token.channel.is_some()));
}

/// Long enough (about 70 s of speech) to be cut into several windows that are decoded in
/// parallel when there are two or more threads; the words must come back whole and in order
/// whatever the thread count.
#[test]
fn long_recording_decoded_in_parallel_windows_keeps_every_sentence_in_order() {
    const SENTENCES: [&str; 6] = [
        "The patient reports three weeks of shortness of breath when climbing stairs.",
        "She has had swelling in both ankles for about ten days.",
        "Her blood pressure today is one hundred fifty over ninety five.",
        "We will increase the lisinopril and check a metabolic panel next week.",
        "An echocardiogram is ordered to look at the heart function.",
        "Please come back in two weeks, or sooner if the breathing gets worse.",
    ];
    let mut signal = silence(0.5);
    for round in 0..2 {
        for (index, sentence) in SENTENCES.iter().enumerate() {
            let voice = if (index + round) % 2 == 0 {
                "en-us"
            } else {
                "en-us+f3"
            };
            signal.extend(speak(sentence, voice));
            signal.extend(silence(0.7));
        }
    }
    let audio = DecodedAudio::from_16k_channels(vec![signal]);
    let reference = [SENTENCES.join(" "), SENTENCES.join(" ")].join(" ");
    for threads in [1, 2] {
        let engine = WhisperEngine::load(&model_path(), Some(threads)).expect("the model loads");
        let recognition = engine
            .transcribe(&audio, &TranscribeOptions::default(), &mut |_| {})
            .unwrap();
        assert_well_formed(&recognition);
        let hypothesis = words_of(&recognition);
        let wer = word_error_rate(&reference, &hypothesis);
        eprintln!("{threads} thread(s): WER {wer:.3}");
        assert!(wer < 0.3, "{threads} thread(s): WER {wer:.2}: {hypothesis}");
        let last_words = recognition
            .tokens
            .iter()
            .rev()
            .find(|token| token.kind == TokenKind::Word)
            .expect("words");
        assert!(
            last_words.start > recognition.duration_seconds - 8.0,
            "the last sentence is at the end of the recording, not lost at a window joint"
        );
    }
}

/// The same recording gives the same transcript, word for word and time for time: beam search
/// takes the most likely tokens (whisper.cpp's upstream drew random samples), and each window's
/// fallback sampler starts from the same seed whichever worker decodes it.
#[test]
fn the_same_recording_gives_the_same_transcript_every_time() {
    let mut signal = silence(0.5);
    for (index, sentence) in [SENTENCE, SECOND_SENTENCE, SENTENCE, SECOND_SENTENCE]
        .iter()
        .enumerate()
    {
        signal.extend(speak(
            sentence,
            if index % 2 == 0 { "en-us" } else { "en-us+f3" },
        ));
        signal.extend(silence(0.7));
    }
    let audio = DecodedAudio::from_16k_channels(vec![signal]);
    let engine = WhisperEngine::load(&model_path(), Some(2)).expect("the model loads");
    let runs: Vec<Recognition> = (0..2)
        .map(|_| {
            engine
                .transcribe(&audio, &TranscribeOptions::default(), &mut |_| {})
                .unwrap()
        })
        .collect();
    assert!(!runs[0].tokens.is_empty());
    assert_eq!(runs[0].tokens, runs[1].tokens);
}
