//! Custom vocabularies as Amazon Transcribe writes them: a table with the header
//! `Phrase<TAB>SoundsLike<TAB>IPA<TAB>DisplayAs` (words of a phrase joined by hyphens,
//! `SoundsLike` syllables by hyphens), or a plain list with one phrase per line.

/// One phrase of a custom vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabularyPhrase {
    /// Words of the phrase, as written (hyphens turned into spaces).
    pub phrase: String,
    /// How it sounds, syllables joined ("meth-oh-trex-ate"); `None` when not given.
    pub sounds_like: Option<String>,
    /// How to write it in the transcript; the phrase itself when `None`.
    pub display_as: Option<String>,
}

impl VocabularyPhrase {
    /// The text written into the transcript for this phrase.
    pub fn display(&self) -> &str {
        self.display_as.as_deref().unwrap_or(&self.phrase)
    }
}

/// A parsed custom vocabulary (HealthScribe `Settings.VocabularyName` names one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomVocabulary {
    pub phrases: Vec<VocabularyPhrase>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VocabularyError {
    #[error("vocabulary line {line}: {reason}")]
    BadLine { line: usize, reason: &'static str },
    #[error("the vocabulary has no phrases")]
    Empty,
}

/// Transcribe's limit on one phrase (characters).
const MAX_PHRASE_CHARS: usize = 256;

impl CustomVocabulary {
    /// Parses the table format (detected by its `Phrase` header) or a plain list. Blank lines and
    /// lines starting with `#` are skipped.
    pub fn parse(text: &str) -> Result<Self, VocabularyError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .peekable();
        let columns: Option<Vec<String>> = lines.peek().and_then(|(_, first)| {
            let header: Vec<String> = first
                .split('\t')
                .map(|c| c.trim().to_ascii_lowercase())
                .collect();
            (header.first().map(String::as_str) == Some("phrase")).then_some(header)
        });
        if columns.is_some() {
            lines.next();
        }
        let column = |name: &str| {
            columns
                .as_ref()
                .and_then(|c| c.iter().position(|h| h == name))
        };
        let (sounds_at, display_at) = (column("soundslike"), column("displayas"));
        let mut phrases = Vec::new();
        for (index, line) in lines {
            let cells: Vec<&str> = if columns.is_some() {
                line.split('\t').map(str::trim).collect()
            } else {
                vec![line.trim()]
            };
            let phrase = cells[0].replace('-', " ");
            let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
            if phrase.is_empty() {
                return Err(VocabularyError::BadLine {
                    line: index + 1,
                    reason: "no phrase",
                });
            }
            if phrase.chars().count() > MAX_PHRASE_CHARS {
                return Err(VocabularyError::BadLine {
                    line: index + 1,
                    reason: "phrase longer than 256 characters",
                });
            }
            let cell = |at: Option<usize>| {
                at.and_then(|i| cells.get(i))
                    .map(|c| c.trim())
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
            };
            phrases.push(VocabularyPhrase {
                phrase,
                sounds_like: cell(sounds_at),
                display_as: cell(display_at),
            });
        }
        if phrases.is_empty() {
            return Err(VocabularyError::Empty);
        }
        Ok(Self { phrases })
    }

    /// Text that primes the recogniser toward the phrases (Whisper's initial prompt), at most
    /// `max_chars` long: the display forms, comma-separated, in file order.
    pub fn prompt(&self, max_chars: usize) -> String {
        let mut prompt = String::new();
        for phrase in &self.phrases {
            let display = phrase.display();
            if prompt.len() + display.len() + 2 > max_chars {
                break;
            }
            if !prompt.is_empty() {
                prompt.push_str(", ");
            }
            prompt.push_str(display);
        }
        prompt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_format_reads_every_column() {
        let text = "Phrase\tSoundsLike\tIPA\tDisplayAs\nMethotrexate\tmeth-oh-trex-ate\t\t\nacid-reflux\t\t\tacid reflux (GERD)\n";
        let vocabulary = CustomVocabulary::parse(text).unwrap();
        assert_eq!(vocabulary.phrases.len(), 2);
        assert_eq!(vocabulary.phrases[0].phrase, "Methotrexate");
        assert_eq!(
            vocabulary.phrases[0].sounds_like.as_deref(),
            Some("meth-oh-trex-ate")
        );
        assert_eq!(vocabulary.phrases[0].display(), "Methotrexate");
        assert_eq!(vocabulary.phrases[1].phrase, "acid reflux");
        assert_eq!(vocabulary.phrases[1].display(), "acid reflux (GERD)");
    }

    #[test]
    fn plain_list_is_one_phrase_per_line() {
        let vocabulary = CustomVocabulary::parse("# drugs\nProtonix\n\nFlonase\n").unwrap();
        let phrases: Vec<&str> = vocabulary.phrases.iter().map(|p| p.display()).collect();
        assert_eq!(phrases, ["Protonix", "Flonase"]);
        assert_eq!(vocabulary.prompt(100), "Protonix, Flonase");
        assert_eq!(vocabulary.prompt(12), "Protonix");
    }

    #[test]
    fn empty_files_and_empty_phrases_are_refused() {
        assert_eq!(
            CustomVocabulary::parse("# nothing\n"),
            Err(VocabularyError::Empty)
        );
        assert_eq!(
            CustomVocabulary::parse("Phrase\tDisplayAs\n\tshown\n"),
            Err(VocabularyError::BadLine {
                line: 2,
                reason: "no phrase"
            })
        );
    }
}
