//! Vocabulary filters as HealthScribe applies them (`Settings.VocabularyFilterName` and
//! `VocabularyFilterMethod`): listed words are masked (`***`), removed, or tagged
//! (`VocabularyFilterMatch: true` on the transcript item), in the transcript and in the note.

use std::collections::HashSet;

use crate::clinical::lexicon::words;
use crate::formats::{ClinicalDocumentation, Conversation, ItemType};

/// Written in place of a masked word.
pub const MASK: &str = "***";

pub use crate::formats::VocabularyFilterMethod as FilterMethod;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("the vocabulary filter has no words")]
    Empty,
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
                    if out.ends_with(' ') {
                        out.pop();
                    } else if chars.get(word.end) == Some(&' ') {
                        at = word.end + 1;
                        continue;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::pipeline::{conversation_from_recognition, ConversationSettings};
    use crate::clinical::vocabulary::VocabularySettings;
    use crate::speech::{Recognition, SpokenToken, TokenKind};

    fn recognition(words: &[&str]) -> Recognition {
        let tokens = words
            .iter()
            .enumerate()
            .map(|(i, w)| SpokenToken {
                text: w.to_string(),
                kind: if *w == "." {
                    TokenKind::Punctuation
                } else {
                    TokenKind::Word
                },
                start: i as f64 * 0.5,
                end: i as f64 * 0.5 + 0.4,
                confidence: 0.9,
                channel: None,
                speaker: Some(0),
                starts_segment: i == 0,
            })
            .collect();
        Recognition {
            tokens,
            duration_seconds: words.len() as f64 * 0.5,
        }
    }

    fn filtered(method: FilterMethod) -> Conversation {
        let settings = ConversationSettings {
            vocabulary: VocabularySettings {
                filter: Some(VocabularyFilter::parse("# words\nDarn\n", method).unwrap()),
                ..VocabularySettings::default()
            },
            ..ConversationSettings::default()
        };
        conversation_from_recognition(
            &recognition(&["That", "darn", "knee", "hurts", "."]),
            &settings,
        )
    }

    fn words_of(conversation: &Conversation) -> Vec<&str> {
        conversation
            .transcript_items
            .iter()
            .map(|i| i.content())
            .collect()
    }

    #[test]
    fn mask_writes_stars_in_items_and_segments() {
        let conversation = filtered(FilterMethod::Mask);
        assert_eq!(
            words_of(&conversation),
            ["That", "***", "knee", "hurts", "."]
        );
        assert_eq!(
            conversation.transcript_segments[0].content,
            "That *** knee hurts."
        );
        assert!(conversation
            .transcript_items
            .iter()
            .all(|i| i.vocabulary_filter_match.is_none()));
    }

    #[test]
    fn remove_drops_the_word_and_its_space() {
        let conversation = filtered(FilterMethod::Remove);
        assert_eq!(words_of(&conversation), ["That", "knee", "hurts", "."]);
        assert_eq!(
            conversation.transcript_segments[0].content,
            "That knee hurts."
        );
    }

    #[test]
    fn tag_keeps_the_word_and_flags_its_item() {
        let conversation = filtered(FilterMethod::Tag);
        assert_eq!(
            words_of(&conversation),
            ["That", "darn", "knee", "hurts", "."]
        );
        let flags: Vec<Option<bool>> = conversation
            .transcript_items
            .iter()
            .map(|i| i.vocabulary_filter_match)
            .collect();
        assert_eq!(flags, [None, Some(true), None, None, None]);
        let json = serde_json::to_string(&conversation.transcript_items[1]).unwrap();
        assert!(json.contains("\"VocabularyFilterMatch\":true"), "{json}");
        assert!(!serde_json::to_string(&conversation.transcript_items[0])
            .unwrap()
            .contains("VocabularyFilterMatch"));
    }

    #[test]
    fn text_filtering_matches_whole_words_in_any_case() {
        let filter = VocabularyFilter::parse("darn\n", FilterMethod::Mask).unwrap();
        assert_eq!(
            filter.apply_to_text("Darn, darnation darn."),
            "***, darnation ***."
        );
        let filter = VocabularyFilter::parse("darn\n", FilterMethod::Remove).unwrap();
        assert_eq!(filter.apply_to_text("Darn it, darn."), "it,.");
        assert_eq!(
            VocabularyFilter::parse("#\n", FilterMethod::Tag),
            Err(FilterError::Empty)
        );
        assert_eq!("TAG".parse::<FilterMethod>(), Ok(FilterMethod::Tag));
        assert!("blur".parse::<FilterMethod>().is_err());
    }
}
