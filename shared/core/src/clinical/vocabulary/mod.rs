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
            (Some(custom), with_built_in) => {
                Some(Cow::Owned(Corrector::with_vocabulary(custom, with_built_in)))
            }
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
