//! Applies the medical-term correction to recognised transcripts (`transcribe_file` output:
//! `<id>.transcript.json` with `TranscriptItems`) and writes the corrected ones, the heard word
//! kept as the second alternative, for `score_transcript.py` and `bench/vocab_score.py`.
//!
//! cargo run --release -p veriscribe-core --example vocab_eval -- IN_DIR OUT_DIR [--none]
//!     [--vocabulary FILE] [--confidence X] [--key-edits N] [--letters R] [--ids A,B] [--show]
//!
//! `--none` copies without correcting (the baseline); `--vocabulary` adds a custom vocabulary to
//! the built-in lexicon; `--show` prints each rewrite to stderr (tuning on train visits only).

use std::path::PathBuf;
use std::time::Instant;

use veriscribe_core::clinical::vocabulary::{
    CorrectionThresholds, Corrector, CustomVocabulary, VocabularySettings,
};
use veriscribe_core::speech::{SpokenToken, TokenKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: vocab_eval IN_DIR OUT_DIR [--none] [--vocabulary FILE] [--confidence X] [--key-edits N] [--letters R] [--ids A,B] [--show]";
    let mut args = std::env::args().skip(1);
    let input = PathBuf::from(args.next().ok_or(usage)?);
    let output = PathBuf::from(args.next().ok_or(usage)?);
    let mut settings = VocabularySettings::default();
    let mut thresholds = CorrectionThresholds::default();
    let mut show = false;
    let mut ids: Option<Vec<String>> = None;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--none" => settings.built_in_lexicon = false,
            "--vocabulary" => {
                let path = args.next().ok_or(usage)?;
                settings.custom = Some(CustomVocabulary::parse(&std::fs::read_to_string(path)?)?);
            }
            "--confidence" => thresholds.max_confidence = args.next().ok_or(usage)?.parse()?,
            "--key-edits" => thresholds.max_key_edits = args.next().ok_or(usage)?.parse()?,
            "--letters" => thresholds.max_letter_ratio = args.next().ok_or(usage)?.parse()?,
            "--show" => show = true,
            "--ids" => {
                ids = Some(
                    args.next()
                        .ok_or(usage)?
                        .split(',')
                        .map(str::to_string)
                        .collect(),
                )
            }
            _ => return Err(usage.into()),
        }
    }
    std::fs::create_dir_all(&output)?;
    let corrector: Option<Corrector> = settings
        .corrector()
        .map(|c| c.into_owned().with_thresholds(thresholds));
    let (mut words, mut changed, mut seconds) = (0usize, 0usize, 0.0f64);
    let mut files: Vec<_> = std::fs::read_dir(&input)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.strip_suffix(".transcript.json").is_some_and(|id| {
                ids.as_ref()
                    .is_none_or(|ids| ids.iter().any(|wanted| wanted == id))
            })
        })
        .collect();
    files.sort();
    for path in files {
        let document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let items = document["Conversation"]["TranscriptItems"]
            .as_array()
            .ok_or("no TranscriptItems")?;
        let mut tokens: Vec<SpokenToken> = items
            .iter()
            .map(|item| SpokenToken {
                text: item["Alternatives"][0]["Content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                kind: if item["Type"] == "PUNCTUATION" {
                    TokenKind::Punctuation
                } else {
                    TokenKind::Word
                },
                start: item["BeginAudioTime"].as_f64().unwrap_or_default(),
                end: item["EndAudioTime"].as_f64().unwrap_or_default(),
                confidence: item["Alternatives"][0]["Confidence"]
                    .as_f64()
                    .unwrap_or_default(),
                channel: None,
                speaker: None,
                starts_segment: false,
            })
            .collect();
        words += tokens.iter().filter(|t| t.kind == TokenKind::Word).count();
        let started = Instant::now();
        let corrections = corrector
            .as_ref()
            .map(|c| c.correct(&mut tokens))
            .unwrap_or_default();
        seconds += started.elapsed().as_secs_f64();
        changed += corrections.len();
        if show {
            for c in &corrections {
                eprintln!(
                    "  {:.2} {:?} -> {:?}",
                    c.confidence, c.original, c.replacement
                );
            }
        }
        let out_items: Vec<serde_json::Value> = tokens
            .iter()
            .map(|token| {
                let mut alternatives = vec![
                    serde_json::json!({ "Content": token.text, "Confidence": token.confidence }),
                ];
                if let Some(c) = corrections
                    .iter()
                    .find(|c| c.start == token.start && c.replacement == token.text)
                {
                    alternatives.push(
                        serde_json::json!({ "Content": c.original, "Confidence": c.confidence }),
                    );
                }
                serde_json::json!({
                    "Type": if token.kind == TokenKind::Word { "PRONUNCIATION" } else { "PUNCTUATION" },
                    "Alternatives": alternatives,
                    "BeginAudioTime": token.start,
                    "EndAudioTime": token.end,
                })
            })
            .collect();
        let name = path.file_name().ok_or("no file name")?;
        let document = serde_json::json!({ "Conversation": { "TranscriptItems": out_items } });
        std::fs::write(output.join(name), serde_json::to_string(&document)?)?;
    }
    eprintln!(
        "{} words, {changed} rewritten, correction {:.1} ms",
        words,
        seconds * 1000.0
    );
    Ok(())
}
