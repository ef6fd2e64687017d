//! NegEx-style assertion detection: is a mention negated, hypothetical, about a family member or
//! past history? Triggers are looked for inside the mention's clause only (a sentence, cut at
//! contrastive conjunctions such as "but"), so "no fever but a cough" negates only the fever.

use crate::clinical::lexicon::{words, Word};
use crate::formats::InsightTraitName;

/// A sentence of a text in character offsets (`end` exclusive, terminator included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentenceSpan {
    pub start: usize,
    pub end: usize,
    /// `.`, `?` or `!`; `None` when the text ends without one.
    pub terminator: Option<char>,
}

impl SentenceSpan {
    pub fn is_question(&self) -> bool {
        self.terminator == Some('?')
    }
}

/// Splits at `.`, `?` and `!` that end a sentence (not the point in "7.2"). Leading whitespace is
/// not part of a sentence; empty sentences are dropped.
pub fn sentences(text: &str) -> Vec<SentenceSpan> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let push = |out: &mut Vec<SentenceSpan>, start: usize, end: usize, terminator| {
        let mut s = start;
        while s < end && chars[s].is_whitespace() {
            s += 1;
        }
        if chars[s..end].iter().any(|c| c.is_alphanumeric()) {
            out.push(SentenceSpan {
                start: s,
                end,
                terminator,
            });
        }
    };
    for i in 0..chars.len() {
        let c = chars[i];
        if matches!(c, '.' | '?' | '!') {
            let next_is_space = i + 1 >= chars.len() || chars[i + 1].is_whitespace();
            if next_is_space {
                push(&mut out, start, i + 1, Some(c));
                start = i + 1;
            }
        }
    }
    if start < chars.len() {
        push(&mut out, start, chars.len(), None);
    }
    out
}

/// The sentence that contains character offset `at`, if any.
pub fn sentence_at(text: &str, at: usize) -> Option<SentenceSpan> {
    sentences(text)
        .into_iter()
        .find(|s| s.start <= at && at < s.end)
}

/// One text's words, sentences and semicolons, computed once and shared by every mention in it.
/// Tokenising the whole text again per mention made a long turn quadratic (a 4,000-word
/// unpunctuated turn took 90 s); lookups here are binary searches.
#[derive(Debug, Clone)]
pub struct SegmentText {
    words: Vec<Word>,
    sentences: Vec<SentenceSpan>,
    /// Character offsets of `;`, ascending.
    semicolons: Vec<usize>,
}

impl SegmentText {
    pub fn new(text: &str) -> Self {
        Self {
            words: words(text),
            sentences: sentences(text),
            semicolons: text
                .chars()
                .enumerate()
                .filter(|(_, c)| *c == ';')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    pub fn words(&self) -> &[Word] {
        &self.words
    }

    /// The sentence that contains character offset `at`, if any (as [`sentence_at`]).
    pub fn sentence_at(&self, at: usize) -> Option<SentenceSpan> {
        let i = self.sentences.partition_point(|s| s.end <= at);
        self.sentences
            .get(i)
            .filter(|s| s.start <= at && at < s.end)
            .copied()
    }

    /// Index of the first word that starts at or after character offset `at`.
    pub fn first_word_from(&self, at: usize) -> usize {
        self.words.partition_point(|w| w.start < at)
    }

    /// Index of the first word that ends after character offset `at`.
    fn first_word_ending_after(&self, at: usize) -> usize {
        self.words.partition_point(|w| w.end <= at)
    }

    fn semicolon_in(&self, from: usize, to: usize) -> bool {
        let i = self.semicolons.partition_point(|&s| s < from);
        self.semicolons.get(i).is_some_and(|&s| s < to)
    }
}

const NEGATION_WORDS: &[&str] = &[
    "no", "not", "denies", "denied", "deny", "denying", "without", "never", "none", "nor",
    "neither", "negative", "n't", "don't", "doesn't", "didn't", "haven't", "hasn't", "hadn't",
    "isn't", "wasn't", "aren't", "weren't", "won't",
];
const NEGATION_PHRASES: &[&[&str]] = &[
    &["free", "of"],
    &["ruled", "out"],
    &["absence", "of"],
    &["resolution", "of"],
];
/// Phrases that contain a negation word but do not negate what follows.
const PSEUDO_NEGATIONS: &[&[&str]] = &[
    &["not", "sure"],
    &["not", "certain"],
    &["not", "only"],
    &["no", "change"],
    &["no", "changes"],
    &["no", "increase"],
    &["not", "just"],
    &["n't", "know"],
    &["don't", "know"],
    &["not", "gon"],
    &["not", "limited"],
];
const POST_NEGATIONS: &[&[&str]] = &[
    &["is", "negative"],
    &["was", "negative"],
    &["were", "negative"],
    &["came", "back", "negative"],
    &["ruled", "out"],
    &["has", "resolved"],
    &["is", "gone"],
    &["went", "away"],
];
const HYPOTHETICAL_WORDS: &[&str] = &["if", "unless", "whether", "should", "prevent", "avoid"];
const HYPOTHETICAL_PHRASES: &[&[&str]] = &[
    &["in", "case"],
    &["watch", "for"],
    &["look", "out", "for"],
    &["rule", "out"],
    &["risk", "of"],
    &["risks", "of"],
    &["concern", "for"],
    &["not", "sure"],
];
const FAMILY_WORDS: &[&str] = &[
    "mother",
    "mom",
    "mum",
    "father",
    "dad",
    "brother",
    "brothers",
    "sister",
    "sisters",
    "sibling",
    "siblings",
    "parent",
    "parents",
    "grandmother",
    "grandfather",
    "grandma",
    "grandpa",
    "grandparents",
    "aunt",
    "uncle",
    "cousin",
    "son",
    "daughter",
    "family",
    "wife",
    "husband",
    "kids",
    "children",
];
const PAST_PHRASES: &[&[&str]] = &[
    &["history", "of"],
    &["in", "the", "past"],
    &["used", "to"],
    &["previously"],
    &["prior"],
    &["years", "ago"],
    &["months", "ago"],
    &["year", "ago"],
    &["as", "a", "child"],
    &["past", "medical", "history"],
];
/// Words that end an assertion's scope inside a sentence.
const SCOPE_BREAKERS: &[&str] = &[
    "but", "however", "although", "though", "except", "yet", "which", "whereas",
];
/// How many words before a mention a pre-trigger may stand (NegEx uses about six).
const PRE_WINDOW: usize = 7;
const POST_WINDOW: usize = 4;

fn phrase_at(words: &[Word], i: usize, phrase: &[&str]) -> bool {
    i + phrase.len() <= words.len() && phrase.iter().zip(&words[i..]).all(|(p, w)| w.lower == *p)
}

/// How far (in words) a clause reaches from its mention. Triggers act within a few words; the
/// bound keeps an unpunctuated monologue (one "sentence" of thousands of words) linear.
const CLAUSE_REACH: usize = 64;

/// The mention's clause as a word-index range `[first, last)` over the segment's words.
fn clause(segment: &SegmentText, start: usize, end: usize) -> (usize, usize) {
    let words = segment.words();
    let (s_start, s_end) = segment
        .sentence_at(start)
        .map(|s| (s.start, s.end))
        .unwrap_or((0, usize::MAX));
    let sentence_first = segment.first_word_from(s_start);
    let mut first = if sentence_first < words.len() {
        sentence_first
    } else {
        0
    };
    let mut last = segment.first_word_from(s_end);
    let mention_first = segment.first_word_ending_after(start);
    let mention_last = segment.first_word_from(end);
    first = first.max(mention_first.saturating_sub(CLAUSE_REACH));
    last = last.min(mention_last.saturating_add(CLAUSE_REACH));
    for (i, w) in words.iter().enumerate().take(last).skip(first) {
        // "risks including but not limited to stroke" goes on with the same list.
        let continues_list = phrase_at(words, i, &["but", "not", "limited", "to"]);
        if SCOPE_BREAKERS.contains(&w.lower.as_str()) && !continues_list {
            if w.end <= start {
                first = i + 1;
            } else if w.start >= end {
                last = i;
                break;
            }
        }
    }
    // A semicolon also closes a clause.
    for (i, w) in words.iter().enumerate().take(last).skip(first) {
        let gap_start = if i == 0 { 0 } else { words[i - 1].end };
        if segment.semicolon_in(gap_start.min(w.start), w.start) {
            if w.start <= start {
                first = i;
            } else {
                last = i;
                break;
            }
        }
    }
    (first, last.max(first))
}

/// Assertion traits for the mention at character offsets `[start, end)` of `text`.
pub fn assertion_traits(text: &str, start: usize, end: usize) -> Vec<InsightTraitName> {
    assertion_traits_in(&SegmentText::new(text), start, end)
}

/// [`assertion_traits`] over a text already split by [`SegmentText::new`].
pub fn assertion_traits_in(
    segment: &SegmentText,
    start: usize,
    end: usize,
) -> Vec<InsightTraitName> {
    let words = segment.words();
    let (first, last) = clause(segment, start, end);
    let mention_first = segment.first_word_ending_after(start);
    let mention_last = segment.first_word_from(end);
    let before = first..mention_first.max(first);
    let window_start = mention_first.saturating_sub(PRE_WINDOW).max(first);
    let after = mention_last.min(last)..last;

    let mut traits = Vec::new();

    let negated_before = (window_start..mention_first.max(window_start)).any(|i| {
        let pseudo = PSEUDO_NEGATIONS.iter().any(|p| phrase_at(words, i, p))
            || (i > 0 && PSEUDO_NEGATIONS.iter().any(|p| phrase_at(words, i - 1, p)));
        !pseudo
            && (NEGATION_WORDS.contains(&words[i].lower.as_str())
                || NEGATION_PHRASES.iter().any(|p| phrase_at(words, i, p)))
    });
    let negated_after = after
        .clone()
        .take(POST_WINDOW)
        .any(|i| POST_NEGATIONS.iter().any(|p| phrase_at(words, i, p)));
    if negated_before || negated_after {
        traits.push(InsightTraitName::Negation);
    }

    if before.clone().any(|i| {
        HYPOTHETICAL_WORDS.contains(&words[i].lower.as_str())
            || HYPOTHETICAL_PHRASES.iter().any(|p| phrase_at(words, i, p))
    }) {
        traits.push(InsightTraitName::Hypothetical);
    }

    // "my father had a heart attack": a relative before the mention, with no "I" in between
    // ("my wife makes sure I take my lisinopril" is still about the patient).
    if let Some(relative) = before
        .clone()
        .rev()
        .find(|&i| FAMILY_WORDS.contains(&words[i].lower.as_str()))
    {
        let patient_between = (relative + 1..mention_first)
            .any(|i| matches!(words[i].lower.as_str(), "i" | "i'm" | "i've" | "me"));
        if !patient_between {
            traits.push(InsightTraitName::PertainsToFamily);
        }
    }

    let past = before
        .clone()
        .any(|i| PAST_PHRASES.iter().any(|p| phrase_at(words, i, p)))
        || after.clone().any(|i| {
            PAST_PHRASES.iter().any(|p| phrase_at(words, i, p)) || words[i].lower == "ago"
        });
    if past {
        traits.push(InsightTraitName::PastHistory);
    }
    traits
}

/// How a patient's turn answers the question before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerPolarity {
    Yes,
    No,
    Unclear,
}

/// Reads the start of an answer: "no.", "nope", "not really", "uh, no" are `No`; "yes",
/// "yeah", "mm-hmm", "i do" are `Yes`.
pub fn answer_polarity(answer: &str) -> AnswerPolarity {
    const FILLERS: &[&str] = &["uh", "um", "well", "oh", "so", "hmm", "and", "ah", "er"];
    let words: Vec<String> = words(answer).into_iter().map(|w| w.lower).collect();
    let rest: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .skip_while(|w| FILLERS.contains(w))
        .collect();
    let starts = |p: &[&str]| rest.len() >= p.len() && rest[..p.len()] == *p;
    let no: &[&[&str]] = &[
        &["no"],
        &["nope"],
        &["nah"],
        &["never"],
        &["none"],
        &["negative"],
        &["not", "really"],
        &["not", "at", "all"],
        &["i", "don't"],
        &["i", "do", "n't"],
        &["i", "haven't"],
        &["i", "have", "n't"],
        &["i", "have", "not"],
        &["i", "didn't"],
        &["i", "did", "n't"],
        &["nothing"],
    ];
    let yes: &[&[&str]] = &[
        &["yes"],
        &["yeah"],
        &["yep"],
        &["yup"],
        &["mm", "hmm"],
        &["uh", "huh"],
        &["i", "do"],
        &["i", "have"],
        &["i", "did"],
        &["definitely"],
        &["sometimes"],
        &["a", "little"],
    ];
    if no.iter().any(|p| starts(p)) {
        AnswerPolarity::No
    } else if yes.iter().any(|p| starts(p)) {
        AnswerPolarity::Yes
    } else {
        AnswerPolarity::Unclear
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InsightTraitName as T;

    /// Traits of the first occurrence of `mention` in `text`.
    fn traits(text: &str, mention: &str) -> Vec<InsightTraitName> {
        let byte = text.find(mention).expect("mention in text");
        let start = text[..byte].chars().count();
        assert_traits(text, start, start + mention.chars().count())
    }

    fn assert_traits(text: &str, start: usize, end: usize) -> Vec<InsightTraitName> {
        assertion_traits(text, start, end)
    }

    #[test]
    fn denies_negates() {
        assert_eq!(
            traits("Patient denies chest pain.", "chest pain"),
            [T::Negation]
        );
    }

    #[test]
    fn no_history_of_negates_and_marks_past() {
        let t = traits("There is no history of diabetes.", "diabetes");
        assert!(t.contains(&T::Negation));
        assert!(t.contains(&T::PastHistory));
    }

    #[test]
    fn plain_statement_has_no_traits() {
        assert!(traits("I have had chest pain for three days.", "chest pain").is_empty());
    }

    #[test]
    fn list_after_no_is_negated() {
        let text = "no fever, chills or cough.";
        assert_eq!(traits(text, "cough"), [T::Negation]);
    }

    #[test]
    fn negation_stops_at_but() {
        let text = "No fever but I do have a cough.";
        assert_eq!(traits(text, "fever"), [T::Negation]);
        assert!(traits(text, "cough").is_empty());
    }

    #[test]
    fn but_not_limited_to_keeps_the_risk_list_hypothetical() {
        let text =
            "There are risks of anesthesia including but not limited to heart attack and stroke.";
        assert_eq!(traits(text, "stroke"), [T::Hypothetical]);
        assert_eq!(traits(text, "heart attack"), [T::Hypothetical]);
    }

    #[test]
    fn negation_stops_at_sentence_end() {
        let text = "I don't smoke. I have asthma.";
        assert!(traits(text, "asthma").is_empty());
    }

    #[test]
    fn father_had_a_heart_attack_pertains_to_family() {
        let t = traits("My father had a heart attack at 60.", "heart attack");
        assert_eq!(t, [T::PertainsToFamily]);
    }

    #[test]
    fn spouse_helping_patient_is_not_family_history() {
        let t = traits("My wife makes sure I take my lisinopril.", "lisinopril");
        assert!(t.is_empty(), "{t:?}");
    }

    #[test]
    fn if_the_pain_gets_worse_is_hypothetical() {
        let t = traits("If the pain gets worse, call the office.", "pain");
        assert_eq!(t, [T::Hypothetical]);
    }

    #[test]
    fn pseudo_negation_does_not_negate() {
        let t = traits("I'm not sure if it's a cold.", "cold");
        assert!(!t.contains(&T::Negation), "{t:?}");
        assert!(t.contains(&T::Hypothetical));
    }

    #[test]
    fn post_negation_is_detected() {
        assert_eq!(
            traits("The strep test was negative.", "strep test"),
            [T::Negation]
        );
    }

    #[test]
    fn years_ago_marks_past_history() {
        let t = traits("I had pneumonia two years ago.", "pneumonia");
        assert_eq!(t, [T::PastHistory]);
    }

    #[test]
    fn aci_style_tokenised_negation() {
        let t = traits("i do n't have any chest pain .", "chest pain");
        assert_eq!(t, [T::Negation]);
    }

    #[test]
    fn answers_are_read() {
        assert_eq!(answer_polarity("no ."), AnswerPolarity::No);
        assert_eq!(answer_polarity("Uh, nope."), AnswerPolarity::No);
        assert_eq!(answer_polarity("not really"), AnswerPolarity::No);
        assert_eq!(answer_polarity("mm-hmm ."), AnswerPolarity::Yes);
        assert_eq!(answer_polarity("yeah, a little"), AnswerPolarity::Yes);
        assert_eq!(
            answer_polarity("slight cramps that go away"),
            AnswerPolarity::Unclear
        );
    }

    #[test]
    fn segment_text_lookups_agree_with_the_plain_scans() {
        let text = "No fever; a cough. Any chest pain? My father had a stroke but I didn't. \
                    She takes metformin 500 mg twice a day and lisinopril";
        let split = SegmentText::new(text);
        for at in 0..text.chars().count() + 2 {
            assert_eq!(split.sentence_at(at), sentence_at(text, at), "offset {at}");
        }
        let w = words(text);
        for at in 0..text.chars().count() + 2 {
            assert_eq!(
                split.first_word_from(at),
                w.iter().position(|x| x.start >= at).unwrap_or(w.len())
            );
        }
        assert!(split.semicolon_in(0, 10) && !split.semicolon_in(9, 40));
    }

    #[test]
    fn a_trigger_far_before_the_mention_in_a_long_sentence_does_not_reach_it() {
        // An unpunctuated monologue: "my father" 210 words before "cough" is another clause
        // (and scanning back that far per mention made long turns quadratic).
        let filler = "and then we went to the store ".repeat(30);
        let text = format!("my father had a stroke {filler} cough");
        let start = text.find("cough").unwrap();
        let traits = assertion_traits(&text, start, start + 5);
        assert!(
            !traits.contains(&InsightTraitName::PertainsToFamily),
            "{traits:?}"
        );
        let near = "my father had a stroke and a cough";
        let s = near.find("cough").unwrap();
        assert!(assertion_traits(near, s, s + 5).contains(&InsightTraitName::PertainsToFamily));
    }

    #[test]
    fn sentences_split_on_terminators_not_decimals() {
        let text = "A1c was 7.2. Any fever? No!";
        let s = sentences(text);
        assert_eq!(s.len(), 3);
        assert!(s[1].is_question());
        let second: String = text
            .chars()
            .skip(s[1].start)
            .take(s[1].end - s[1].start)
            .collect();
        assert_eq!(second, "Any fever?");
    }
}
