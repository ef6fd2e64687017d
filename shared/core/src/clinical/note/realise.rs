//! Realisation: a cleaned transcript sentence in the voice a clinician writes a note in.
//!
//! The sentence has already been put into the third person where the speaker's own pronouns
//! allow it (`clean_sentence_as`). This step removes what still marks it as speech (leading
//! fillers, "you know", question tails such as "… is that right"), rewrites the clinician's
//! narration of what they read or found ("I see here that she has …" → "She has …", "I don't
//! hear any murmurs" → "No murmurs."), and refuses a sentence that still speaks in the first
//! person outside the assessment and plan, or to the patient anywhere. A refused sentence is
//! left out: nothing is guessed, so the evidence of the sentences that stay is unchanged.

use super::capitalize;

/// Whose voice a note section is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Voice {
    /// History, review of systems, examination, results: about the patient, in the third
    /// person; no "I" or "we".
    Narrative,
    /// Assessment and plan: the clinician may say "I" and "we".
    Clinician,
}

const FIRST_PERSON: &[&str] = &[
    "i",
    "i'm",
    "i've",
    "i'll",
    "i'd",
    "we",
    "we're",
    "we've",
    "we'll",
    "we'd",
    "my",
    "me",
    "mine",
    "myself",
    "our",
    "ours",
    "us",
    "ourselves",
    "lem",
    "let's",
];
const SECOND_PERSON: &[&str] = &[
    "you", "your", "you're", "you've", "you'll", "you'd", "yours", "yourself", "y'all", "ya",
];

/// Spoken openers a note sentence does not start with.
const LEADING_FILLERS: &[&[&str]] = &[
    &["you", "know"],
    &["i", "mean"],
    &["all", "right"],
    &["a", "so"],
    &["and", "so"],
    &["so"],
    &["okay"],
    &["ok"],
    &["um"],
    &["uh"],
    &["well"],
    &["alright"],
    &["yeah"],
    &["yes"],
    &["now"],
    &["mm-hmm"],
    &["hmm"],
    &["and"],
    &["but"],
    &["oh"],
    &["anyway"],
];

/// The clinician reading the chart or reporting a history ("I see here that …", "I know …",
/// "it looks like …"): the content after it is the fact.
const EVIDENTIAL_FRAMES: &[&[&str]] = &[
    &["i", "see", "here"],
    &["i", "can", "see"],
    &["i", "do", "see"],
    &["i", "see"],
    &["i", "saw"],
    &["i", "know"],
    &["i", "noticed"],
    &["i", "notice"],
    &["i", "understand"],
    &["i", "heard"],
    &["i", "read"],
    &["i", "have", "here"],
    &["i", "'m", "seeing", "here"],
    &["i'm", "seeing", "here"],
    &["i'm", "seeing"],
    &["looking", "at", "the", "notes"],
    &["looking", "at", "my", "notes"],
    &["looking", "at", "the", "chart"],
    &["from", "looking", "at", "the", "notes"],
    &["i'm", "glad", "to", "hear"],
    &["i'm", "glad", "to", "see"],
    &["i", "am", "glad", "to", "hear"],
    &["i", "am", "glad", "to", "see"],
    &["i'm", "happy", "to", "hear"],
    &["i'm", "happy", "to", "see"],
    &["i'm", "sorry", "to", "hear"],
    &["glad", "to", "hear"],
    &["good", "to", "hear"],
    &["i'm", "glad"],
    &["i", "remember"],
    &["from", "what", "i", "remember"],
    &["i", "recall"],
    &["it", "looks", "like"],
    &["looks", "like"],
    &["it", "seems", "like"],
    &["it", "sounds", "like"],
    &["sounds", "like"],
];

/// What may follow a frame before the fact: "here", "in her chart", "that".
const FRAME_TAILS: &[&[&str]] = &[
    &["here"],
    &["that"],
    &["in", "the", "chart"],
    &["in", "his", "chart"],
    &["in", "her", "chart"],
    &["in", "their", "chart"],
    &["in", "the", "record"],
    &["in", "his", "record"],
    &["in", "her", "record"],
    &["in", "their", "record"],
    &["in", "the", "notes"],
    &["in", "his", "notes"],
    &["in", "her", "notes"],
    &["in", "their", "notes"],
];

/// The clinician reviewing results: "I reviewed the results of her CT, which show …".
const REVIEW_FRAMES: &[&[&str]] = &[
    &["i", "reviewed", "the", "results", "of"],
    &["i", "did", "review", "the", "results", "of"],
    &["i", "have", "reviewed", "the", "results", "of"],
    &["i've", "reviewed", "the", "results", "of"],
    &["we", "reviewed", "the", "results", "of"],
    &["i", "reviewed"],
    &["i", "did", "review"],
    &["i", "have", "reviewed"],
    &["i've", "reviewed"],
    &["we", "reviewed"],
];

const PERCEPTION_VERBS: &[&str] = &[
    "see",
    "hear",
    "feel",
    "appreciate",
    "notice",
    "palpate",
    "detect",
    "find",
];

/// What may follow "I see / hear / appreciate" without a finding after it ("I see what you
/// mean", "I hear you", "I notice it when …").
const NOT_A_FINDING: &[&str] = &[
    "it", "you", "your", "what", "how", "why", "when", "where", "whether", "if", "like", "him",
    "her", "them", "this", "these", "those", "to", "so", "anything", "nothing", "much", "the",
    "here", "that's", "any",
];

/// A question inside a sentence ("… before, is that what I'm hearing"): the sentence stops
/// there.
const QUESTION_TAILS: &[&[&str]] = &[
    &["is", "that"],
    &["is", "it"],
    &["is", "there"],
    &["does", "that"],
    &["does", "it"],
    &["did", "that"],
    &["did", "it"],
    &["do", "you"],
    &["did", "you"],
    &["are", "you"],
    &["have", "you"],
    &["can", "you"],
    &["could", "you"],
    &["would", "you"],
    &["how's"],
    &["how", "is"],
    &["how", "are"],
    &["how", "about"],
    &["what", "do"],
    &["what", "did"],
    &["what", "about"],
    &["right"],
    &["correct"],
];

/// Verbs that open an instruction to the patient.
const IMPERATIVES: &[&str] = &[
    "take", "breathe", "look", "lie", "lay", "sit", "stand", "push", "pull", "squeeze", "follow",
    "open", "say", "turn", "bend", "raise", "lift", "relax", "hold", "please", "scoot", "hop",
    "point", "touch", "keep", "try", "give", "tell", "go", "come", "stick",
];

/// Fewest words a note sentence has.
const MIN_WORDS: usize = 4;

fn bare(token: &str) -> String {
    token
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
        .trim_matches('-')
        .to_lowercase()
        .replace('’', "'")
}

fn starts_with(words: &[String], at: usize, phrase: &[&str]) -> bool {
    words.len() >= at + phrase.len()
        && words[at..at + phrase.len()]
            .iter()
            .zip(phrase)
            .all(|(a, b)| a == b)
}

/// `text` (a cleaned note sentence ending in ".") in the voice of `voice`, or `None` when it
/// cannot be written so without guessing.
///
/// The sentence is read clause by clause (cut at commas, semicolons and before "so", "but",
/// "and" + a subject). Each clause's narration is rewritten; a clause still in the first person
/// (outside the plan) or speaking to the patient is left out. Leaving a clause out must not
/// change what the rest says, so when such a clause holds a negation, an opinion or reported
/// speech ("I don't think", "she told me"), or the clause after it depends on it ("because …",
/// "which …"), the whole sentence is refused.
pub(super) fn in_voice(text: &str, voice: Voice) -> Option<String> {
    let mut tokens: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    drop_inline_fillers(&mut tokens);
    strip_leading_fillers(&mut tokens);
    cut_question_tail(&mut tokens);
    // "Take a deep breath.", "Please lie back.": instructions during the visit, not history or
    // findings.
    let first = tokens.first().map(|t| bare(t)).unwrap_or_default();
    if voice == Voice::Narrative && IMPERATIVES.contains(&first.as_str()) {
        return None;
    }
    if voice == Voice::Narrative {
        rewrite_narration(&mut tokens);
    }
    let mut kept: Vec<Vec<String>> = Vec::new();
    let mut dropped_before = false;
    let mut poisoned = false;
    for mut clause in clauses(tokens) {
        let conjunction = clause
            .first()
            .map(|t| bare(t))
            .filter(|w| matches!(w.as_str(), "so" | "but" | "and"))
            .map(|_| clause.remove(0));
        strip_leading_fillers(&mut clause);
        if voice == Voice::Narrative {
            rewrite_narration(&mut clause);
        }
        let words: Vec<String> = clause.iter().map(|t| bare(t)).collect();
        let speaks = words.iter().any(|w| SECOND_PERSON.contains(&w.as_str()))
            || (voice == Voice::Narrative
                && words.iter().any(|w| FIRST_PERSON.contains(&w.as_str())));
        if speaks {
            // A negation or an opinion left out changes what follows it, not what came before.
            poisoned |= words
                .iter()
                .any(|w| CARRIES_MEANING.contains(&w.as_str()) || w.ends_with("n't"));
            dropped_before = true;
            continue;
        }
        if poisoned && words.iter().any(|w| !w.is_empty()) {
            return None;
        }
        if dropped_before
            && words
                .first()
                .is_some_and(|w| DEPENDENT_OPENERS.contains(&w.as_str()))
        {
            return None;
        }
        if let Some(c) = conjunction.filter(|_| !kept.is_empty()) {
            clause.insert(0, c);
        }
        dropped_before = false;
        kept.push(clause);
    }
    let mut tokens: Vec<String> = kept.into_iter().flatten().collect();
    strip_leading_fillers(&mut tokens);
    let counted = tokens.iter().filter(|t| !bare(t).is_empty()).count();
    if counted < MIN_WORDS {
        return None;
    }
    let out = tokens.join(" ");
    let trimmed = out
        .trim_start_matches([',', ';', ':', '.', ' '])
        .trim_end_matches([',', ';', ':', '?', '!', '.', ' ', '-']);
    Some(format!("{}.", capitalize(trimmed)))
}

/// "I want to order an MRI", "we'll get a CT": the clinician states an order.
pub(super) fn states_order(text: &str) -> bool {
    const INTENTS: &[&[&str]] = &[
        &["i", "will"],
        &["i'll"],
        &["we", "will"],
        &["we'll"],
        &["i", "want", "to"],
        &["i'd", "like", "to"],
        &["i", "would", "like", "to"],
        &["we", "need", "to"],
        &["i", "am", "going", "to"],
        &["i'm", "going", "to"],
        &["i'm", "also", "going", "to"],
        &["we're", "going", "to"],
        &["i", "also", "want", "to"],
        &["we", "want", "to"],
        &["we're", "also", "going", "to"],
        &["we", "can"],
        &["let's"],
    ];
    // "I want to go ahead and order …", "I'm also just going to …".
    const BETWEEN: &[&str] = &["go", "ahead", "and", "also", "just"];
    const ORDERS: &[&str] = &[
        "order",
        "get",
        "send",
        "refer",
        "start",
        "prescribe",
        "schedule",
        "obtain",
        "continue",
        "increase",
        "decrease",
        "recommend",
        "repeat",
        "check",
        "give",
    ];
    let words: Vec<String> = text.split_whitespace().map(bare).collect();
    INTENTS.iter().any(|intent| {
        starts_with(&words, 0, intent)
            && words[intent.len()..]
                .iter()
                .find(|w| !BETWEEN.contains(&w.as_str()))
                .is_some_and(|w| ORDERS.contains(&w.as_str()))
    })
}

/// Words that make a clause matter to the clauses around it: dropping the clause would change
/// what they say.
const CARRIES_MEANING: &[&str] = &[
    "not",
    "no",
    "never",
    "nothing",
    "none",
    "think",
    "thought",
    "believe",
    "guess",
    "sure",
    "hope",
    "wonder",
    "if",
    "whether",
    "unless",
    "told",
    "tell",
    "said",
    "say",
    "says",
    "asked",
    "ask",
    "mentioned",
    "worried",
    "concerned",
    "doubt",
    "suspect",
    "rule",
    "without",
    "denies",
    "deny",
    "denied",
];
/// Openers of a clause that leans on the one before it.
const DEPENDENT_OPENERS: &[&str] = &[
    "because", "which", "that", "who", "so", "than", "as", "since", "where", "when", "whether",
    "to", "and", "or", "but", "then", "though", "although", "cause", "'cause", "it", "this",
    "they",
];

/// Cuts a sentence into clauses: after a comma or semicolon, and before "so" / "but", or "and"
/// followed by a subject. Punctuation stays on its token, so joining the clauses back gives the
/// sentence.
fn clauses(tokens: Vec<String>) -> Vec<Vec<String>> {
    const SUBJECTS: &[&str] = &[
        "i", "i'm", "i've", "i'll", "i'd", "we", "we're", "we've", "we'll", "you", "you're", "he",
        "she", "they", "he's", "she's", "they're", "it's", "there's", "that's", "the", "his",
        "her", "their", "my", "your", "let's",
    ];
    let words: Vec<String> = tokens.iter().map(|t| bare(t)).collect();
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for (k, token) in tokens.into_iter().enumerate() {
        let boundary = k > 0
            && !out.last().is_some_and(Vec::is_empty)
            && (matches!(words[k].as_str(), "so" | "but")
                || (words[k] == "there"
                    && words
                        .get(k + 1)
                        .is_some_and(|w| matches!(w.as_str(), "is" | "are" | "was" | "were")))
                || (words[k] == "and"
                    && words
                        .get(k + 1)
                        .is_some_and(|w| SUBJECTS.contains(&w.as_str()))));
        if boundary {
            out.push(Vec::new());
        }
        let ends = token.ends_with([',', ';']);
        out.last_mut().expect("one clause").push(token);
        if ends {
            out.push(Vec::new());
        }
    }
    out.retain(|c| !c.is_empty());
    out
}

/// "you know" and "I mean" used as fillers, anywhere.
fn drop_inline_fillers(tokens: &mut Vec<String>) {
    const OBJECTS: &[&str] = &[
        "that", "what", "how", "about", "the", "when", "if", "where", "who", "why", "it", "him",
        "her", "them", "this",
    ];
    let mut i = 0;
    while i + 1 < tokens.len() {
        let a = bare(&tokens[i]);
        let b = bare(&tokens[i + 1]);
        let next = tokens.get(i + 2).map(|t| bare(t)).unwrap_or_default();
        if ((a == "you" && b == "know") || (a == "i" && b == "mean"))
            && !OBJECTS.contains(&next.as_str())
        {
            // Keep a sentence end the filler carried.
            let end = tokens[i + 1].ends_with(['.', '!', '?']);
            tokens.drain(i..i + 2);
            if end {
                if let Some(prev) = i.checked_sub(1).and_then(|p| tokens.get_mut(p)) {
                    let t = prev.trim_end_matches(',').to_string();
                    *prev = format!("{t}.");
                }
            }
            continue;
        }
        i += 1;
    }
}

fn strip_leading_fillers(tokens: &mut Vec<String>) {
    loop {
        let words: Vec<String> = tokens.iter().take(3).map(|t| bare(t)).collect();
        let Some(filler) = LEADING_FILLERS.iter().find(|f| starts_with(&words, 0, f)) else {
            break;
        };
        if tokens.len() <= filler.len() + 2 {
            break;
        }
        tokens.drain(..filler.len());
    }
    if let Some(first) = tokens.first_mut() {
        *first = first
            .trim_start_matches([',', '.', ';', ':', ' '])
            .to_string();
    }
}

/// Rewrites the clinician's narration of the chart or the examination in the third person.
fn rewrite_narration(tokens: &mut Vec<String>) {
    let words: Vec<String> = tokens.iter().map(|t| bare(t)).collect();
    // "I don't hear any murmurs" → "No murmurs"; "I see no rashes" → "No rashes".
    let negated_perception = [
        &["i", "don't"][..],
        &["i", "do", "not"],
        &["i", "didn't"],
        &["i", "did", "not"],
        &["i", "can't"],
        &["i", "cannot"],
        &["i", "can", "not"],
    ]
    .iter()
    .find(|p| starts_with(&words, 0, p))
    .map(|p| p.len());
    if let Some(len) = negated_perception {
        if words
            .get(len)
            .is_some_and(|v| PERCEPTION_VERBS.contains(&v.as_str()))
        {
            let rest = len + 2;
            let determiner = words
                .get(len + 1)
                .is_some_and(|w| w == "any" || w == "a" || w == "an");
            if determiner && rest < tokens.len() {
                let mut new = vec!["no".to_string()];
                new.extend(tokens[rest..].iter().cloned());
                *tokens = new;
                return;
            }
        }
    }
    // "I hear a murmur" → "There is a murmur"; "I see no rash" → "No rash".
    let perception = [&["i"][..], &["i", "do"], &["i", "can"], &["i", "did"]]
        .iter()
        .rev()
        .find(|p| {
            starts_with(&words, 0, p)
                && words
                    .get(p.len())
                    .is_some_and(|v| PERCEPTION_VERBS.contains(&v.as_str()))
        })
        .map(|p| p.len() + 1);
    if let Some(at) = perception {
        match words.get(at).map(String::as_str) {
            Some("a" | "an" | "some" | "mild" | "slight" | "trace" | "moderate" | "severe") => {
                let mut new = vec!["there".to_string(), "is".to_string()];
                new.extend(tokens[at..].iter().cloned());
                *tokens = new;
                return;
            }
            Some("no") => {
                let mut new = vec!["no".to_string()];
                new.extend(tokens[at + 1..].iter().cloned());
                *tokens = new;
                return;
            }
            // "I do appreciate that there is swelling" → "There is swelling"; "I do appreciate
            // tenderness to palpation" → "Tenderness to palpation". Only for verbs of finding,
            // not "feel" or "find", which also state opinions.
            Some(next)
                if matches!(
                    words[at - 1].as_str(),
                    "see" | "hear" | "appreciate" | "notice" | "palpate" | "detect"
                ) && at + 1 < tokens.len()
                    && !NOT_A_FINDING.contains(&next) =>
            {
                let skip = if next == "that" { at + 1 } else { at };
                tokens.drain(..skip);
                return;
            }
            _ => {}
        }
    }
    // "I reviewed the results of her CT, which show …" → "Her CT shows …".
    if let Some(frame) = REVIEW_FRAMES.iter().find(|f| starts_with(&words, 0, f)) {
        let mut rest: Vec<String> = tokens[frame.len()..].to_vec();
        let rest_words: Vec<String> = rest.iter().map(|t| bare(t)).collect();
        if let Some(k) = rest_words
            .windows(2)
            .position(|w| matches!(w[0].as_str(), "which" | "that") && w[1].starts_with("show"))
        {
            let verb = match rest_words[k + 1].as_str() {
                "show" | "shows" => "shows",
                "showed" => "showed",
                other => other,
            };
            let trailing: String = rest[k + 1]
                .chars()
                .skip(rest_words[k + 1].chars().count())
                .collect();
            rest[k] = rest[k].trim_end_matches(',').to_string();
            rest.splice(k..k + 2, [format!("{verb}{trailing}")]);
            if k > 0 {
                let prev = rest[k - 1].trim_end_matches(',').to_string();
                rest[k - 1] = prev;
            }
        }
        *tokens = rest;
        return;
    }
    // "I see here in her chart that she has …" → "She has …".
    if let Some(frame) = EVIDENTIAL_FRAMES.iter().find(|f| starts_with(&words, 0, f)) {
        let mut at = frame.len();
        while let Some(tail) = FRAME_TAILS.iter().find(|t| starts_with(&words, at, t)) {
            at += tail.len();
        }
        if at < tokens.len() {
            tokens.drain(..at);
            if let Some(first) = tokens.first_mut() {
                *first = first.trim_start_matches([',', '.', ';', ':']).to_string();
            }
        }
    }
}

/// Stops the sentence where a question starts after at least [`MIN_WORDS`] words of content
/// ("… her left leg before, is that what I'm hearing").
fn cut_question_tail(tokens: &mut Vec<String>) {
    let words: Vec<String> = tokens.iter().map(|t| bare(t)).collect();
    for k in MIN_WORDS..words.len() {
        let after_pause = tokens[k - 1].ends_with([',', ';', '.']);
        let tail = QUESTION_TAILS.iter().find(|q| starts_with(&words, k, q));
        let Some(tail) = tail else { continue };
        // "right" and "correct" only end a sentence as a tag after a pause.
        let is_tag = matches!(tail, [w] if *w == "right" || *w == "correct");
        if is_tag && !(after_pause && k + 1 == words.len()) {
            continue;
        }
        // "the reason is that", "the pain does it": a question needs a pause or a fresh start
        // before it, i.e. not a verb directly after a noun phrase; accept after a pause or
        // after a clause that already has several words.
        if !after_pause && !is_tag && k < 5 {
            continue;
        }
        tokens.truncate(k);
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn narrative(text: &str) -> Option<String> {
        in_voice(text, Voice::Narrative)
    }

    #[test]
    fn chart_narration_becomes_the_fact() {
        assert_eq!(
            narrative("I see here in her chart that she has a history of diabetes.").as_deref(),
            Some("She has a history of diabetes.")
        );
        assert_eq!(
            narrative("I know that he has had that prior lobectomy a couple years ago.").as_deref(),
            Some("He has had that prior lobectomy a couple years ago.")
        );
    }

    #[test]
    fn examination_findings_lose_the_examiner() {
        assert_eq!(
            narrative("I don't hear any murmurs or rubs.").as_deref(),
            Some("No murmurs or rubs.")
        );
        assert_eq!(
            narrative("I do hear a slight 2/6 systolic ejection murmur.").as_deref(),
            Some("There is a slight 2/6 systolic ejection murmur.")
        );
        assert_eq!(
            narrative("I reviewed the results of her abdominal CT, which show a 3 cm mass.")
                .as_deref(),
            Some("Her abdominal CT shows a 3 cm mass.")
        );
        assert_eq!(
            narrative("I do appreciate tenderness to palpation of the midfoot.").as_deref(),
            Some("Tenderness to palpation of the midfoot.")
        );
        assert_eq!(
            narrative("I do appreciate that there is some swelling.").as_deref(),
            Some("There is some swelling.")
        );
        assert_eq!(
            narrative("I'm glad to hear that she is staying active.").as_deref(),
            Some("She is staying active.")
        );
    }

    #[test]
    fn spoken_voice_is_refused_outside_the_plan() {
        assert_eq!(narrative("I will take a quick look at that knee."), None);
        assert_eq!(narrative("We did an x-ray before she came in."), None);
        assert_eq!(narrative("She says your sugars are high."), None);
        assert_eq!(
            narrative("So, you know, standing and walking make it worse.").as_deref(),
            Some("Standing and walking make it worse.")
        );
        assert!(in_voice("I will order an MRI of the knee.", Voice::Clinician).is_some());
        assert!(states_order(
            "I want to go ahead and order a CT scan of the abdomen."
        ));
        assert!(states_order("Let's get an x-ray of that ankle."));
        assert!(!states_order("I want to see how she does."));
        assert_eq!(narrative("Take a deep breath for me."), None);
        assert!(in_voice("Please come back in 2 weeks.", Voice::Clinician).is_some());
        assert_eq!(in_voice("I want you to rest.", Voice::Clinician), None);
    }

    #[test]
    fn question_tails_are_cut() {
        assert_eq!(
            narrative("The patient has injured the left leg before, is that right?").as_deref(),
            Some("The patient has injured the left leg before.")
        );
        assert_eq!(
            narrative("The pain started 2 weeks ago, is that what she said.").as_deref(),
            Some("The pain started 2 weeks ago.")
        );
    }
}
