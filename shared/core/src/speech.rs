//! What speech recognition hands to the pipeline: timed tokens, with no knowledge of turns,
//! roles or sections. Produced by `veriscribe-asr` (audio) or by parsing a text dialogue.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    Word,
    Punctuation,
}

/// One recognised word or punctuation mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpokenToken {
    /// The text without leading/trailing whitespace.
    pub text: String,
    pub kind: TokenKind,
    /// Seconds from the start of the recording.
    pub start: f64,
    pub end: f64,
    /// 0..=1, from the recogniser's token probabilities; 0 for punctuation.
    pub confidence: f64,
    /// Audio channel the token was heard on (channel identification), if known.
    pub channel: Option<u16>,
    /// A speaker cluster id from diarization, if known.
    pub speaker: Option<u16>,
    /// True for the first token of a recogniser segment (Whisper segments often end at a
    /// change of speaker, so turn building uses them as candidate boundaries).
    pub starts_segment: bool,
}

/// The output of recognition over a whole recording.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Recognition {
    pub tokens: Vec<SpokenToken>,
    /// Length of the audio in seconds.
    pub duration_seconds: f64,
}
