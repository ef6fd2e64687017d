//! `veriscribe run --vocabulary FILE --vocabulary-filter FILE --vocabulary-filter-method M`:
//! reads the files a job names (HealthScribe keeps them by name; here the name is the file's
//! stem) into the conversation's vocabulary settings.

use std::path::Path;

use anyhow::Context;
use veriscribe_core::clinical::vocabulary::{
    CustomVocabulary, VocabularyFilter, VocabularySettings,
};
use veriscribe_core::formats::VocabularyFilterMethod;

use crate::RunArgs;

/// Longest decoder prompt made of a vocabulary's phrases: Whisper keeps at most 224 prompt
/// tokens, about 4 characters each.
pub const PROMPT_CHARS: usize = 800;

/// The name a job records for a vocabulary or filter file: its stem, reduced to the characters
/// HealthScribe allows.
pub fn resource_name(path: &Path) -> String {
    let stem: String = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("vocabulary")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    if stem.is_empty() {
        "vocabulary".to_string()
    } else {
        stem
    }
}

/// The built-in lexicon plus what the flags name.
pub fn load(args: &RunArgs) -> anyhow::Result<VocabularySettings> {
    let mut settings = VocabularySettings::default();
    if let Some(path) = &args.vocabulary {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the vocabulary {}", path.display()))?;
        settings.custom = Some(
            CustomVocabulary::parse(&text)
                .with_context(|| format!("the vocabulary {} is not usable", path.display()))?,
        );
    }
    if let Some(path) = &args.vocabulary_filter {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the vocabulary filter {}", path.display()))?;
        let method = args
            .vocabulary_filter_method
            .unwrap_or(VocabularyFilterMethod::Mask);
        settings.filter =
            Some(VocabularyFilter::parse(&text, method).with_context(|| {
                format!("the vocabulary filter {} is not usable", path.display())
            })?);
    }
    Ok(settings)
}
