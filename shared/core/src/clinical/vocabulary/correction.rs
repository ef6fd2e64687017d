//! Post-recognition correction of misheard medical terms.
//!
//! A recognised word is rewritten only on strong evidence: it is no word we know (not an
//! everyday word, not a term), it sounds like exactly one term (same or nearly the same
//! sound-alike key, few letters apart), and the recogniser was unsure of it; or it is one
//! word off a multi-word term whose other words were heard exactly ("acid reflex" → "acid
//! reflux"), or an everyday word listed in `sound_alike_context.tsv` with no cue near it that
//! the everyday word was meant ("my reflex" → "my reflux", "deep tendon reflex" kept). Whisper
//! also splits an unknown word into pieces ("metho trexate"), so up to three
//! adjacent words are tried joined. Thresholds were tuned on synthesized ACI-Bench train visits
//! (`bench/vocab_dev.sh`).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::clinical::lexicon::words;
use crate::speech::{SpokenToken, TokenKind};

use super::custom::CustomVocabulary;
use super::phonetic::{edit_distance, sound_key};

const MEDICATIONS: &str = include_str!("../../../data/medications.tsv");
const CONDITIONS: &str = include_str!("../../../data/conditions.txt");
const TESTS_TREATMENTS: &str = include_str!("../../../data/tests.tsv");
const DRUG_NAMES: &str = include_str!("../../../data/drug_names.tsv");
const CONDITION_WORDS: &str = include_str!("../../../data/condition_words.txt");
const COMMON_WORDS: &str = include_str!("../../../data/common_words.txt");
const ENGLISH_WORDS: &str = include_str!("../../../data/english_words.txt");
const SOUND_ALIKE_CONTEXT: &str = include_str!("../../../data/sound_alike_context.tsv");

/// Words never rewritten on sound alone: everyday speech (train dialogues) and English words.
fn everyday_words() -> impl Iterator<Item = &'static str> {
    data_lines(COMMON_WORDS).chain(data_lines(ENGLISH_WORDS))
}

/// How sure the evidence must be. Defaults tuned on synthesized train visits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorrectionThresholds {
    /// Shortest word (letters) corrected on sound alone.
    pub min_letters: usize,
    /// Most sound-alike key edits allowed (0 = same key).
    pub max_key_edits: usize,
    /// Most letter edits, as a fraction of the term's letters.
    pub max_letter_ratio: f64,
    /// A word heard with at least this confidence is kept unless its key equals the term's.
    pub max_confidence: f64,
}

impl Default for CorrectionThresholds {
    fn default() -> Self {
        Self {
            min_letters: 5,
            max_key_edits: 1,
            max_letter_ratio: 0.34,
            max_confidence: 0.9,
        }
    }
}

/// One rewrite: what was heard (and how sure the recogniser was) and what was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub start: f64,
    pub end: f64,
    pub original: String,
    pub confidence: f64,
    pub replacement: String,
}

#[derive(Debug, Clone)]
struct Term {
    words: Vec<String>,
    letters: String,
    keys: Vec<String>,
    display: String,
    /// Display case follows the term (brand names, custom vocabulary) rather than the speech.
    keep_case: bool,
    /// From the job's custom vocabulary: wins a tie with a built-in term.
    custom: bool,
}

/// The terms to correct toward and the words never corrected on sound alone.
#[derive(Debug, Clone, Default)]
pub struct Corrector {
    single: Vec<Term>,
    multi: Vec<Term>,
    known: HashSet<String>,
    by_key: HashMap<String, Vec<usize>>,
    /// Everyday word → (the term it stands for, cue words that keep the everyday word).
    sound_alikes: HashMap<String, (String, HashSet<String>)>,
    /// (first sound, key length) → (term, key) pairs, for the near-key search.
    by_shape: HashMap<(char, usize), Vec<(usize, String)>>,
    thresholds: CorrectionThresholds,
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn lower_words(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.lower).collect()
}

impl Corrector {
    /// The built-in medical lexicon: drug names (generic and brand), ICD-10-CM condition words,
    /// and the project's curated medication, condition and test lists.
    pub fn built_in() -> &'static Corrector {
        static BUILT_IN: OnceLock<Corrector> = OnceLock::new();
        BUILT_IN.get_or_init(|| {
            let mut corrector = Corrector::default();
            for line in data_lines(MEDICATIONS).chain(data_lines(DRUG_NAMES)) {
                let (term, kind) = line.split_once('\t').unwrap_or((line, ""));
                corrector.add(term, None, None, kind.trim() == "BRAND");
            }
            for line in data_lines(CONDITIONS).chain(data_lines(CONDITION_WORDS)) {
                corrector.add(line, None, None, false);
            }
            for line in data_lines(TESTS_TREATMENTS) {
                let term = line.split_once('\t').map_or(line, |(t, _)| t);
                corrector.add(term, None, None, false);
            }
            corrector.known.extend(everyday_words().map(str::to_string));
            for line in data_lines(SOUND_ALIKE_CONTEXT) {
                let mut columns = line.split('\t');
                if let (Some(heard), Some(meant), cues) =
                    (columns.next(), columns.next(), columns.next().unwrap_or(""))
                {
                    let cues = cues.split(',').map(|c| c.trim().to_string()).collect();
                    corrector
                        .sound_alikes
                        .insert(heard.to_string(), (meant.to_string(), cues));
                }
            }
            corrector.index();
            corrector
        })
    }

    /// A custom vocabulary's phrases, with the built-in lexicon after them when asked (custom
    /// phrases win ties).
    pub fn with_vocabulary(vocabulary: &CustomVocabulary, with_built_in: bool) -> Corrector {
        let mut corrector = Corrector::default();
        for phrase in &vocabulary.phrases {
            corrector.add(
                &phrase.phrase,
                phrase.sounds_like.as_deref(),
                Some(phrase.display()),
                true,
            );
        }
        if with_built_in {
            let built_in = Corrector::built_in();
            corrector.single.extend(built_in.single.iter().cloned());
            corrector.multi.extend(built_in.multi.iter().cloned());
            corrector.known.extend(built_in.known.iter().cloned());
            corrector.sound_alikes = built_in.sound_alikes.clone();
        } else {
            corrector.known.extend(everyday_words().map(str::to_string));
        }
        corrector.index();
        corrector
    }

    pub fn with_thresholds(mut self, thresholds: CorrectionThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    fn add(&mut self, phrase: &str, sounds_like: Option<&str>, display: Option<&str>, keep: bool) {
        let term_words = lower_words(phrase);
        if term_words.is_empty() {
            return;
        }
        for w in &term_words {
            self.known.insert(w.clone());
        }
        let letters: String = term_words.concat();
        let mut keys = vec![sound_key(&letters)];
        if let Some(sounds) = sounds_like {
            keys.push(sound_key(&sounds.to_ascii_lowercase()));
        }
        let term = Term {
            // brand names are proper nouns: "Protonix"
            display: match display {
                Some(shown) => shown.to_string(),
                None if keep => term_words
                    .iter()
                    .map(|w| capitalise(w))
                    .collect::<Vec<_>>()
                    .join(" "),
                None => term_words.join(" "),
            },
            keep_case: keep,
            custom: display.is_some(),
            letters,
            keys,
            words: term_words,
        };
        if term.words.len() == 1 {
            self.single.push(term);
        } else {
            self.multi.push(term);
        }
    }

    fn index(&mut self) {
        self.by_key.clear();
        self.by_shape.clear();
        for (i, term) in self.single.iter().enumerate() {
            for key in &term.keys {
                self.by_key.entry(key.clone()).or_default().push(i);
                if let Some(first) = key.chars().next() {
                    self.by_shape
                        .entry((first, key.chars().count()))
                        .or_default()
                        .push((i, key.clone()));
                }
            }
        }
    }

    /// True for a word we would never rewrite on sound alone.
    fn is_known(&self, word: &str) -> bool {
        if self.known.contains(word) {
            return true;
        }
        // plurals and possessives of known words ("statins", "patients")
        ["s", "es", "'s"].iter().any(|suffix| {
            word.strip_suffix(suffix)
                .is_some_and(|stem| self.known.contains(stem))
        })
    }

    /// The one single-word term that `heard` (letters only) sounds like, if exactly one does.
    fn sound_alike(&self, heard: &str, confidence: f64) -> Option<&Term> {
        let t = &self.thresholds;
        if heard.chars().count() < t.min_letters {
            return None;
        }
        let key = sound_key(heard);
        let mut best: Option<(usize, usize, usize)> = None; // (key edits, letter edits, term)
        let mut tie = false;
        let consider = |i: usize,
                        best: &mut Option<(usize, usize, usize)>,
                        tie: &mut bool,
                        key_edits: usize| {
            let term = &self.single[i];
            let letter_edits = edit_distance(heard, &term.letters);
            let limit = (term.letters.chars().count() as f64 * t.max_letter_ratio).floor();
            if letter_edits == 0 || letter_edits as f64 > limit {
                return;
            }
            let score = (key_edits, letter_edits, i);
            match best {
                Some(b) if (b.0, b.1) < (score.0, score.1) => {}
                Some(b) if (b.0, b.1) == (score.0, score.1) => {
                    let other = &self.single[b.2];
                    if (term.custom || !other.custom) && other.letters != term.letters {
                        *tie = true;
                    }
                }
                _ => {
                    *best = Some(score);
                    *tie = false;
                }
            }
        };
        if let Some(same) = self.by_key.get(&key) {
            for &i in same {
                consider(i, &mut best, &mut tie, 0);
            }
        }
        // Near keys share the first sound (a misheard word keeps its onset far more often than
        // not, and it keeps the search to a few hundred keys).
        let length = key.chars().count();
        if best.is_none() && t.max_key_edits > 0 && length >= 4 {
            let first = key.chars().next().unwrap_or(' ');
            let lengths = length.saturating_sub(t.max_key_edits)..=length + t.max_key_edits;
            for shape_length in lengths {
                for (i, term_key) in self
                    .by_shape
                    .get(&(first, shape_length))
                    .into_iter()
                    .flatten()
                {
                    let edits = edit_distance(&key, term_key);
                    if edits <= t.max_key_edits {
                        consider(*i, &mut best, &mut tie, edits);
                    }
                }
            }
        }
        let (key_edits, _, i) = best?;
        // A confidently heard word needs the same sound key.
        if tie || (key_edits > 0 && confidence >= t.max_confidence) {
            return None;
        }
        Some(&self.single[i])
    }

    /// Rewrites misheard terms in `tokens` and returns what it changed.
    pub fn correct(&self, tokens: &mut Vec<SpokenToken>) -> Vec<Correction> {
        let mut corrections = Vec::new();
        let mut out: Vec<SpokenToken> = Vec::with_capacity(tokens.len());
        let mut i = 0;
        while i < tokens.len() {
            match self.correct_at(tokens, i) {
                Some((used, token, correction)) => {
                    out.push(token);
                    corrections.push(correction);
                    i += used;
                }
                None => {
                    out.push(tokens[i].clone());
                    i += 1;
                }
            }
        }
        *tokens = out;
        corrections
    }

    /// A rewrite of the words starting at `i`: (tokens used, the new token, the correction).
    fn correct_at(
        &self,
        tokens: &[SpokenToken],
        i: usize,
    ) -> Option<(usize, SpokenToken, Correction)> {
        let run: Vec<&SpokenToken> = tokens[i..]
            .iter()
            .take(3)
            .take_while(|t| t.kind == TokenKind::Word)
            .collect();
        if run.is_empty() {
            return None;
        }
        let heard: Vec<String> = run.iter().map(|t| letters_of(&t.text)).collect();
        if let Some((meant, cues)) = self.sound_alikes.get(&heard[0]) {
            let near = |t: &SpokenToken| cues.contains(&letters_of(&t.text));
            let before = tokens[i.saturating_sub(2)..i].iter().any(near);
            let after = tokens.get(i + 1).is_some_and(near);
            if !before && !after {
                if let Some(term) = self.single.iter().find(|t| &t.letters == meant) {
                    return Some(self.rewrite(&run[..1], term));
                }
            }
        }
        // a multi-word term with one word misheard, the others exact
        for term in &self.multi {
            let n = term.words.len();
            if n > run.len() {
                continue;
            }
            let differing: Vec<usize> = (0..n).filter(|&k| heard[k] != term.words[k]).collect();
            if let [k] = differing[..] {
                let (h, w) = (&heard[k], &term.words[k]);
                if h.chars().count() >= 4
                    && sound_key(h) == sound_key(w)
                    && edit_distance(h, w) <= 2
                    && !self.is_term_word(h)
                {
                    return Some(self.rewrite(&run[..n], term));
                }
            }
        }
        // one word, or two or three pieces of one
        for pieces in (1..=run.len()).rev() {
            let words = &heard[..pieces];
            if words.iter().all(|w| self.is_known(w)) || words.iter().any(String::is_empty) {
                continue;
            }
            // Pieces of one word: none a term itself, and one of them a long unknown word
            // ("own parazole"), not a run of short everyday ones.
            if pieces > 1
                && (words.iter().any(|w| self.is_term_word(w))
                    || !words
                        .iter()
                        .any(|w| w.chars().count() >= 5 && !self.is_known(w)))
            {
                continue;
            }
            let joined = words.concat();
            if self.is_known(&joined) {
                continue;
            }
            let confidence =
                run[..pieces].iter().map(|t| t.confidence).sum::<f64>() / pieces as f64;
            if let Some(term) = self.sound_alike(&joined, confidence) {
                return Some(self.rewrite(&run[..pieces], term));
            }
        }
        None
    }

    fn is_term_word(&self, word: &str) -> bool {
        self.known.contains(word)
            && self
                .by_key
                .get(&sound_key(word))
                .is_some_and(|ids| ids.iter().any(|&i| self.single[i].letters == word))
    }

    fn rewrite(&self, run: &[&SpokenToken], term: &Term) -> (usize, SpokenToken, Correction) {
        let first = run[0];
        let last = run[run.len() - 1];
        let original = run
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let confidence = run.iter().map(|t| t.confidence).sum::<f64>() / run.len() as f64;
        let capitalised = first.text.chars().next().is_some_and(char::is_uppercase);
        let replacement = if term.keep_case || !capitalised {
            term.display.clone()
        } else {
            capitalise(&term.display)
        };
        let token = SpokenToken {
            text: replacement.clone(),
            end: last.end,
            confidence,
            ..first.clone()
        };
        let correction = Correction {
            start: first.start,
            end: last.end,
            original,
            confidence,
            replacement,
        };
        (run.len(), token, correction)
    }
}

fn letters_of(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphabetic() || *c == '\'')
        .flat_map(char::to_lowercase)
        .collect()
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str, confidence: f64) -> SpokenToken {
        SpokenToken {
            text: text.to_string(),
            kind: if text.chars().all(|c| c.is_ascii_punctuation()) {
                TokenKind::Punctuation
            } else {
                TokenKind::Word
            },
            start: 0.0,
            end: 0.5,
            confidence,
            channel: None,
            speaker: None,
            starts_segment: false,
        }
    }

    fn corrected(words: &[(&str, f64)], corrector: &Corrector) -> (String, Vec<Correction>) {
        let mut tokens: Vec<SpokenToken> = words.iter().map(|(w, c)| token(w, *c)).collect();
        let corrections = corrector.correct(&mut tokens);
        let text: Vec<String> = tokens.into_iter().map(|t| t.text).collect();
        (text.join(" "), corrections)
    }

    #[test]
    fn misheard_drug_names_become_the_drug() {
        let c = Corrector::built_in();
        let (text, corrections) = corrected(
            &[
                ("take", 0.9),
                ("protonics", 0.4),
                ("and", 0.9),
                ("methodrexate", 0.5),
            ],
            c,
        );
        assert_eq!(text, "take Protonix and methotrexate");
        assert_eq!(corrections.len(), 2);
        assert_eq!(corrections[0].original, "protonics");
        assert_eq!(corrections[0].confidence, 0.4);
    }

    #[test]
    fn everyday_and_correct_words_are_left_alone() {
        let c = Corrector::built_in();
        let words = [
            ("the", 0.3),
            ("patient", 0.2),
            ("takes", 0.3),
            ("lisinopril", 0.3),
            ("for", 0.3),
            ("reflexes", 0.3),
            ("medications", 0.2),
        ];
        let (text, corrections) = corrected(&words, c);
        assert_eq!(
            text,
            "the patient takes lisinopril for reflexes medications"
        );
        assert!(corrections.is_empty());
    }

    #[test]
    fn a_word_of_a_phrase_is_fixed_by_its_context() {
        let c = Corrector::built_in();
        let (text, _) = corrected(&[("acid", 0.9), ("reflex", 0.9), (".", 0.0)], c);
        assert_eq!(text, "acid reflux .");
        let (text, _) = corrected(&[("knee", 0.9), ("reflex", 0.9)], c);
        assert_eq!(text, "knee reflex");
        let (text, _) = corrected(
            &[("my", 0.9), ("reflex", 0.9), ("is", 0.9), ("worse", 0.9)],
            c,
        );
        assert_eq!(text, "my reflux is worse");
        let (text, _) = corrected(&[("deep", 0.9), ("tendon", 0.9), ("reflex", 0.9)], c);
        assert_eq!(text, "deep tendon reflex");
    }

    #[test]
    fn custom_phrases_apply_their_display_form() {
        let vocabulary = CustomVocabulary::parse(
            "Phrase\tSoundsLike\tIPA\tDisplayAs\nzilretta\t\t\tZilretta (triamcinolone ER)\n",
        )
        .unwrap();
        let c = Corrector::with_vocabulary(&vocabulary, true);
        let (text, corrections) = corrected(&[("silretta", 0.5)], &c);
        assert_eq!(text, "Zilretta (triamcinolone ER)");
        assert_eq!(corrections[0].original, "silretta");
    }

    #[test]
    fn a_confident_word_needs_the_same_sound() {
        let c = Corrector::built_in()
            .clone()
            .with_thresholds(CorrectionThresholds {
                max_confidence: 0.5,
                ..CorrectionThresholds::default()
            });
        // "metforman" shares metformin's key: corrected however sure the recogniser was
        let (text, _) = corrected(&[("metforman", 0.99)], &c);
        assert_eq!(text, "metformin");
    }
}
