//! Grouping recognised tokens into dialogue turns, and the turn type the later stages share.
//!
//! A turn ends where the speaker (diarization cluster) or the audio channel changes, at a long
//! pause, or at a shorter pause after the end of a sentence. In synthesized two-voice audio the
//! voices are separated by 0.4–0.8 s of silence and a speaker rarely pauses that long after a
//! full stop inside one turn; in natural speech a speaker often pauses mid-turn, so a pause alone
//! must be longer (`pause_split_s`) before it ends the turn.

use uuid::Uuid;

use crate::formats::ParticipantRole;
use crate::speech::{SpokenToken, TokenKind};

/// Who spoke a turn, as far as the input says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpeakerLabel {
    /// The role is known: a labelled text dialogue, or a channel mapped to a role.
    Role(ParticipantRole),
    /// A speaker that can be told apart from the others, but whose role is unknown:
    /// `speaker_N` in text, a diarization cluster, or a channel with no role mapping.
    Anonymous(u16),
    /// Nothing is known about who spoke (mono audio, no diarization).
    Unknown,
}

/// One dialogue turn: consecutive tokens of one speaker.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub speaker: SpeakerLabel,
    /// Words and punctuation in time order; at least one word.
    pub tokens: Vec<SpokenToken>,
}

impl Turn {
    /// Words joined by spaces, punctuation attached without a space.
    pub fn content(&self) -> String {
        join_tokens(&self.tokens)
    }

    /// Start of the first word (punctuation carries no reliable time).
    pub fn begin(&self) -> f64 {
        self.words().next().map(|t| t.start).unwrap_or(0.0)
    }

    /// End of the last word.
    pub fn end(&self) -> f64 {
        self.words().last().map(|t| t.end).unwrap_or(0.0)
    }

    pub fn words(&self) -> impl DoubleEndedIterator<Item = &SpokenToken> {
        self.tokens.iter().filter(|t| t.kind == TokenKind::Word)
    }

    pub fn word_count(&self) -> usize {
        self.words().count()
    }
}

/// Tunable boundaries of [`build_turns`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnSettings {
    /// A silence at least this long between two words always ends a turn.
    pub pause_split_s: f64,
    /// After sentence-final punctuation, a silence at least this long ends a turn.
    pub sentence_pause_split_s: f64,
    /// After a question, a new recogniser segment separated by at least this much silence ends
    /// the turn: question → answer is the commonest change of speaker, and Whisper tends to
    /// open a new segment there.
    pub question_segment_pause_s: f64,
}

impl Default for TurnSettings {
    fn default() -> Self {
        Self {
            pause_split_s: 1.0,
            sentence_pause_split_s: 0.35,
            question_segment_pause_s: 0.15,
        }
    }
}

/// Groups tokens (in time order) into turns. `speaker_of` maps a token to its speaker label
/// (from its channel or its diarization cluster); a change of label always ends a turn.
/// Punctuation never starts a turn; punctuation before the first word joins the first turn.
pub fn build_turns(
    tokens: &[SpokenToken],
    settings: &TurnSettings,
    speaker_of: impl Fn(&SpokenToken) -> SpeakerLabel,
) -> Vec<Turn> {
    let mut turns: Vec<Turn> = Vec::new();
    let mut leading_punctuation: Vec<SpokenToken> = Vec::new();
    let mut last_word: Option<&SpokenToken> = None;
    let mut last_token: Option<&SpokenToken> = None;

    for token in tokens {
        if token.kind == TokenKind::Punctuation {
            match turns.last_mut() {
                Some(turn) => turn.tokens.push(token.clone()),
                None => leading_punctuation.push(token.clone()),
            }
            last_token = Some(token);
            continue;
        }
        let speaker = speaker_of(token);
        let starts_new = match (turns.last(), last_word) {
            (Some(turn), Some(previous)) => {
                turn.speaker != speaker || is_boundary(previous, last_token, token, settings)
            }
            _ => true,
        };
        if starts_new {
            let mut opening = Vec::new();
            // Opening brackets/quotes recognised just before this word belong to it.
            if let Some(turn) = turns.last_mut() {
                while turn
                    .tokens
                    .last()
                    .is_some_and(|t| t.kind == TokenKind::Punctuation && is_opening(&t.text))
                {
                    opening.insert(0, turn.tokens.pop().expect("checked non-empty"));
                }
            }
            let mut first = std::mem::take(&mut leading_punctuation);
            first.extend(opening);
            first.push(token.clone());
            turns.push(Turn {
                speaker,
                tokens: first,
            });
        } else if let Some(turn) = turns.last_mut() {
            turn.tokens.push(token.clone());
        }
        last_word = Some(token);
        last_token = Some(token);
    }
    turns
}

fn is_boundary(
    previous_word: &SpokenToken,
    previous_token: Option<&SpokenToken>,
    word: &SpokenToken,
    settings: &TurnSettings,
) -> bool {
    let gap = word.start - previous_word.end;
    if gap >= settings.pause_split_s {
        return true;
    }
    let previous_punctuation = previous_token
        .filter(|t| t.kind == TokenKind::Punctuation)
        .map(|t| t.text.as_str())
        .or_else(|| trailing_mark(&previous_word.text));
    let sentence_end = previous_punctuation.is_some_and(is_sentence_final);
    if sentence_end && gap >= settings.sentence_pause_split_s {
        return true;
    }
    let question = previous_punctuation.is_some_and(|p| p.contains('?'));
    question && word.starts_segment && gap >= settings.question_segment_pause_s
}

/// Some recognisers glue the final mark to the word ("fine."); look at it there too.
fn trailing_mark(word: &str) -> Option<&str> {
    let last = word.char_indices().last()?;
    is_sentence_final(&word[last.0..]).then_some(&word[last.0..])
}

fn is_sentence_final(punctuation: &str) -> bool {
    punctuation.contains(['.', '?', '!', '…'])
}

fn is_opening(punctuation: &str) -> bool {
    matches!(punctuation, "(" | "[" | "{" | "“" | "‘" | "¿" | "¡")
}

/// Words joined with single spaces; closing punctuation attaches to the word before it and
/// opening brackets to the word after it.
pub fn join_tokens(tokens: &[SpokenToken]) -> String {
    let mut out = String::new();
    let mut glue_next = false;
    for token in tokens {
        let text = token.text.trim();
        if text.is_empty() {
            continue;
        }
        let attach = match token.kind {
            TokenKind::Punctuation => !is_opening(text),
            TokenKind::Word => false,
        };
        if !out.is_empty() && !attach && !glue_next {
            out.push(' ');
        }
        out.push_str(text);
        glue_next = token.kind == TokenKind::Punctuation && is_opening(text);
    }
    out
}

/// Veriscribe's namespace for deterministic ids (a v5 UUID of its project URL).
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://veriscribe.invalid/ids")
}

/// `ConversationId` of a job: the same job name always gives the same id.
pub fn conversation_id(job_name: &str) -> Uuid {
    Uuid::new_v5(&namespace(), format!("conversation/{job_name}").as_bytes())
}

/// `SegmentId` of the `index`-th turn of a job, starting at `begin` seconds. Re-running a job
/// over the same input yields the same ids, so evidence links stay valid.
pub fn segment_id(job_name: &str, index: usize, begin: f64) -> String {
    let name = format!("segment/{index}/{:.3}", begin);
    Uuid::new_v5(&conversation_id(job_name), name.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start: f64, end: f64) -> SpokenToken {
        SpokenToken {
            text: text.into(),
            kind: TokenKind::Word,
            start,
            end,
            confidence: 0.9,
            channel: None,
            speaker: None,
            starts_segment: false,
        }
    }

    fn punct(text: &str, at: f64) -> SpokenToken {
        SpokenToken {
            kind: TokenKind::Punctuation,
            confidence: 0.0,
            ..word(text, at, at)
        }
    }

    fn by_speaker(t: &SpokenToken) -> SpeakerLabel {
        t.speaker
            .map(SpeakerLabel::Anonymous)
            .unwrap_or(SpeakerLabel::Unknown)
    }

    fn contents(turns: &[Turn]) -> Vec<String> {
        turns.iter().map(Turn::content).collect()
    }

    #[test]
    fn joins_punctuation_without_space_and_brackets_to_the_next_word() {
        let tokens = vec![
            word("Hi", 0.0, 0.2),
            punct(",", 0.2),
            word("Brian", 0.3, 0.6),
            punct(".", 0.6),
            punct("(", 0.6),
            word("aside", 0.7, 0.9),
            punct(")", 0.9),
        ];
        assert_eq!(join_tokens(&tokens), "Hi, Brian. (aside)");
    }

    #[test]
    fn splits_at_speaker_change_even_without_pause() {
        let mut a = word("hello", 0.0, 0.3);
        a.speaker = Some(0);
        let mut b = word("hi", 0.3, 0.5);
        b.speaker = Some(1);
        let turns = build_turns(&[a, b], &TurnSettings::default(), by_speaker);
        assert_eq!(contents(&turns), ["hello", "hi"]);
        assert_eq!(turns[1].speaker, SpeakerLabel::Anonymous(1));
    }

    #[test]
    fn short_pause_after_full_stop_splits_but_mid_sentence_pause_does_not() {
        let tokens = vec![
            word("I", 0.0, 0.1),
            word("have", 0.8, 1.0), // 0.7 s hesitation mid-sentence: same turn
            word("pain", 1.0, 1.3),
            punct(".", 1.3),
            word("Where", 1.8, 2.0), // 0.5 s after a full stop: new turn
            punct("?", 2.0),
        ];
        let turns = build_turns(&tokens, &TurnSettings::default(), by_speaker);
        assert_eq!(contents(&turns), ["I have pain.", "Where?"]);
        assert_eq!(turns[0].begin(), 0.0);
        assert_eq!(turns[0].end(), 1.3);
    }

    #[test]
    fn long_pause_splits_without_punctuation() {
        let tokens = vec![word("so", 0.0, 0.2), word("anyway", 1.3, 1.6)];
        let turns = build_turns(&tokens, &TurnSettings::default(), by_speaker);
        assert_eq!(turns.len(), 2);
    }

    #[test]
    fn question_then_new_segment_splits_on_a_small_gap() {
        let mut answer = word("yes", 0.7, 0.9); // 0.2 s after the question
        answer.starts_segment = true;
        let tokens = vec![word("okay", 0.0, 0.5), punct("?", 0.5), answer.clone()];
        let turns = build_turns(&tokens, &TurnSettings::default(), by_speaker);
        assert_eq!(contents(&turns), ["okay?", "yes"]);
        // The same gap without a segment start is not enough.
        answer.starts_segment = false;
        let tokens = vec![word("okay", 0.0, 0.5), punct("?", 0.5), answer];
        let turns = build_turns(&tokens, &TurnSettings::default(), by_speaker);
        assert_eq!(contents(&turns), ["okay? yes"]);
    }

    #[test]
    fn leading_punctuation_joins_the_first_turn_and_no_words_means_no_turns() {
        let turns = build_turns(
            &[punct("¿", 0.0), word("sí", 0.0, 0.2)],
            &TurnSettings::default(),
            by_speaker,
        );
        assert_eq!(contents(&turns), ["¿sí"]);
        assert!(build_turns(&[punct(".", 0.0)], &TurnSettings::default(), by_speaker).is_empty());
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        assert_eq!(segment_id("job-1", 0, 0.12), segment_id("job-1", 0, 0.12));
        assert_ne!(segment_id("job-1", 0, 0.12), segment_id("job-1", 1, 0.12));
        assert_ne!(segment_id("job-1", 0, 0.12), segment_id("job-2", 0, 0.12));
        assert_eq!(conversation_id("a"), conversation_id("a"));
        assert_ne!(conversation_id("a"), conversation_id("b"));
        assert_eq!(conversation_id("a").get_version_num(), 5);
    }
}
