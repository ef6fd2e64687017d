//! Vocabulary filters as HealthScribe applies them (`Settings.VocabularyFilterName` and
//! `VocabularyFilterMethod`): listed words are masked (`***`), removed, or tagged
//! (`VocabularyFilterMatch: true` on the transcript item), in the transcript and in the note.

use std::collections::HashSet;

use crate::clinical::lexicon::words;
use crate::formats::{ClinicalDocumentation, Conversation, ItemType};

/// Written in place of a masked word.
pub const MASK: &str = "***";

/// What a filter does with the words it lists (HealthScribe `VocabularyFilterMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilterMethod {
    #[default]
    Mask,
    Remove,
    Tag,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("unknown vocabulary filter method {0:?} (mask, remove or tag)")]
    UnknownMethod(String),
    #[error("the vocabulary filter has no words")]
    Empty,
}

impl std::str::FromStr for FilterMethod {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "mask" => Ok(Self::Mask),
            "remove" => Ok(Self::Remove),
            "tag" => Ok(Self::Tag),
            _ => Err(FilterError::UnknownMethod(text.to_string())),
        }
    }
}

impl FilterMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mask => "mask",
            Self::Remove => "remove",
            Self::Tag => "tag",
        }
    }
}

/// A list of words to filter (one per line, any case; `#` comments) and the method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabularyFilter {
    words: HashSet<String>,
    pub method: FilterMethod,
}

impl VocabularyFilter {
    pub fn parse(text: &str, method: FilterMethod) -> Result<Self, FilterError> {
        let words: HashSet<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() {
            return Err(FilterError::Empty);
        }
        Ok(Self { words, method })
    }

    /// True when `word` (any case, without surrounding punctuation) is listed.
    pub fn matches(&self, word: &str) -> bool {
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
        !bare.is_empty() && self.words.contains(&bare.to_lowercase())
    }

    /// `text` with listed words masked or removed (`tag` leaves text as it is).
    pub fn apply_to_text(&self, text: &str) -> String {
        if self.method == FilterMethod::Tag {
            return text.to_string();
        }
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for word in words(text) {
            if !self.words.contains(&word.lower) {
                continue;
            }
            out.extend(&chars[at..word.start]);
            match self.method {
                FilterMethod::Mask => out.push_str(MASK),
                // drop the space before the word too, so no double spaces are left
                FilterMethod::Remove => {
                    if out.ends_with(' ') && chars.get(word.end).is_none_or(|c| !c.is_alphanumeric()) {
                        out.pop();
                    }
                }
                FilterMethod::Tag => unreachable!("returned above"),
            }
            at = word.end;
        }
        out.extend(&chars[at..]);
        out
    }

    /// Filters the transcript's items and segments.
    pub fn apply_to_conversation(&self, conversation: &mut Conversation) {
        let mut kept = Vec::with_capacity(conversation.transcript_items.len());
        for mut item in std::mem::take(&mut conversation.transcript_items) {
            if item.item_type == ItemType::Pronunciation && self.matches(item.content()) {
                match self.method {
                    FilterMethod::Mask => {
                        for alternative in &mut item.alternatives {
                            alternative.content = MASK.to_string();
                        }
                    }
                    FilterMethod::Remove => continue,
                    FilterMethod::Tag => item.vocabulary_filter_match = Some(true),
                }
            }
            kept.push(item);
        }
        conversation.transcript_items = kept;
        for segment in &mut conversation.transcript_segments {
            segment.content = self.apply_to_text(&segment.content);
        }
    }

    /// Filters the note's sentences.
    pub fn apply_to_documentation(&self, documentation: &mut ClinicalDocumentation) {
        for section in &mut documentation.sections {
            for sentence in &mut section.summary {
                sentence.summarized_segment = self.apply_to_text(&sentence.summarized_segment);
            }
        }
    }
}
