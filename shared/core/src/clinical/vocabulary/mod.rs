//! Medical words right: the built-in correction lexicon, custom vocabularies and vocabulary
//! filters (HealthScribe `Settings.VocabularyName`, `VocabularyFilterName`,
//! `VocabularyFilterMethod`).
//!
//! `correction` rewrites misheard terms in recognised speech (the heard word is kept as the
//! item's second alternative), `custom` reads Amazon Transcribe vocabulary files, `filter`
//! masks, removes or tags listed words in the transcript and the note.

pub mod correction;
pub mod custom;
pub mod filter;
pub mod phonetic;

use std::borrow::Cow;

use crate::formats::{Alternative, TranscriptItem};

pub use correction::{Correction, CorrectionThresholds, Corrector};
pub use custom::{CustomVocabulary, VocabularyError, VocabularyPhrase};
pub use filter::{FilterError, FilterMethod, VocabularyFilter, MASK};

/// What a job asks of its words. The default corrects with the built-in lexicon only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabularySettings {
    /// Correct near-misses toward the built-in medical lexicon.
    pub built_in_lexicon: bool,
    pub custom: Option<CustomVocabulary>,
    pub filter: Option<VocabularyFilter>,
}

impl Default for VocabularySettings {
    fn default() -> Self {
        Self {
            built_in_lexicon: true,
            custom: None,
            filter: None,
        }
    }
}

impl VocabularySettings {
    /// The corrector these settings call for, if any.
    pub fn corrector(&self) -> Option<Cow<'static, Corrector>> {
        match (&self.custom, self.built_in_lexicon) {
            (Some(custom), with_built_in) => Some(Cow::Owned(Corrector::with_vocabulary(
                custom,
                with_built_in,
            ))),
            (None, true) => Some(Cow::Borrowed(Corrector::built_in())),
            (None, false) => None,
        }
    }
}

/// Keeps what was heard as each corrected item's second alternative (HealthScribe items list
/// alternatives best first), matched by start time and the written text.
pub fn keep_heard_words(items: &mut [TranscriptItem], corrections: &[Correction]) {
    let mut from = 0;
    for correction in corrections {
        let found = items[from..].iter().position(|item| {
            item.begin_audio_time == correction.start && item.content() == correction.replacement
        });
        if let Some(offset) = found {
            let item = &mut items[from + offset];
            item.alternatives.push(Alternative {
                confidence: correction.confidence,
                content: correction.original.clone(),
            });
            from += offset + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::pipeline::{conversation_from_recognition, ConversationSettings};
    use crate::speech::{Recognition, SpokenToken, TokenKind};

    fn heard(words: &[(&str, f64)]) -> Recognition {
        let tokens = words
            .iter()
            .enumerate()
            .map(|(i, (w, confidence))| SpokenToken {
                text: w.to_string(),
                kind: TokenKind::Word,
                start: i as f64,
                end: i as f64 + 0.8,
                confidence: *confidence,
                channel: None,
                speaker: Some(0),
                starts_segment: i == 0,
            })
            .collect();
        Recognition {
            tokens,
            duration_seconds: words.len() as f64,
        }
    }

    #[test]
    fn the_heard_word_is_kept_as_the_second_alternative() {
        let rec = heard(&[("start", 0.9), ("protonics", 0.42), ("daily", 0.9)]);
        let conversation = conversation_from_recognition(&rec, &ConversationSettings::default());
        let item = &conversation.transcript_items[1];
        assert_eq!(item.content(), "Protonix");
        assert_eq!(item.alternatives.len(), 2);
        assert_eq!(item.alternatives[1].content, "protonics");
        assert_eq!(item.alternatives[1].confidence, 0.42);
        assert_eq!(
            conversation.transcript_segments[0].content,
            "start Protonix daily"
        );
    }

    #[test]
    fn without_the_lexicon_nothing_is_rewritten() {
        let settings = ConversationSettings {
            vocabulary: VocabularySettings {
                built_in_lexicon: false,
                ..VocabularySettings::default()
            },
            ..ConversationSettings::default()
        };
        let rec = heard(&[("start", 0.9), ("protonics", 0.42)]);
        let conversation = conversation_from_recognition(&rec, &settings);
        assert_eq!(conversation.transcript_items[1].content(), "protonics");
        assert_eq!(conversation.transcript_items[1].alternatives.len(), 1);
    }
}
