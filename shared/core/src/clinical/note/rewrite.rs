//! Rewrite: spoken transcript sentences into written ones. Tokenisation undone, fillers,
//! stutters and hedges removed, spoken numbers as digits, the speaker's first and second person
//! put into the third person (the patient by pronoun), and the tests a sentence must pass to be
//! a note sentence at all.

use super::*;
pub(super) fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
    }
}

pub(super) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A token lower-cased without surrounding punctuation.
pub(super) fn bare_word(token: &str) -> String {
    token
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .to_lowercase()
}

/// Undoes ACI-Bench style tokenisation ("do n't", "pain ." ) and spoken contractions.
pub(super) fn detokenize(raw: &str) -> String {
    let mut t = format!(" {} ", raw.split_whitespace().collect::<Vec<_>>().join(" "));
    for (from, to) in [
        (" n't ", "n't "),
        (" 's ", "'s "),
        (" 're ", "'re "),
        (" 've ", "'ve "),
        (" 'll ", "'ll "),
        (" 'm ", "'m "),
        (" 'd ", "'d "),
        (" gon na ", " going to "),
        (" wan na ", " want to "),
        (" got ta ", " have to "),
        (" ,", ","),
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ;", ";"),
        (" :", ":"),
    ] {
        t = t.replace(from, to);
    }
    t.trim().to_string()
}

pub(super) const FILLER_TOKENS: &[&str] = &[
    "um", "uh", "uhm", "umm", "mm", "hmm", "mm-hmm", "uh-huh", "oh", "ah", "er", "huh",
];
pub(super) const LEADING_DISCOURSE: &[&str] = &[
    "so", "and", "okay", "ok", "well", "now", "yeah", "yes", "alright", "right", "but", "like",
    "also", "hey", "then",
];
pub(super) const ADVERBS: &[&str] = &[
    "just",
    "also",
    "still",
    "never",
    "always",
    "usually",
    "kinda",
    "sometimes",
    "actually",
    "only",
    "even",
    "really",
    "definitely",
    "probably",
    "normally",
    "generally",
    "already",
    "often",
    "recently",
];
pub(super) const KNOWN_VERBS: &[&str] = &[
    "have",
    "do",
    "feel",
    "get",
    "take",
    "need",
    "want",
    "think",
    "know",
    "go",
    "come",
    "see",
    "say",
    "notice",
    "use",
    "try",
    "start",
    "stop",
    "keep",
    "sleep",
    "eat",
    "drink",
    "smoke",
    "work",
    "walk",
    "run",
    "hurt",
    "like",
    "seem",
    "look",
    "check",
    "monitor",
    "remember",
    "hear",
    "experience",
    "wake",
    "lose",
    "gain",
    "live",
    "exercise",
    "tend",
    "wear",
    "play",
    "cough",
    "bleed",
    "sweat",
    "struggle",
    "forget",
    "miss",
    "believe",
    "guess",
    "mean",
    "understand",
    "agree",
    "hope",
    "worry",
    "wonder",
    "love",
    "hate",
    "enjoy",
    "follow",
    "continue",
    "own",
];

/// Verbs that follow a subject "you" but are not conjugated ("you can", "you should").
pub(super) const AUXILIARIES: &[&str] = &[
    "can",
    "could",
    "will",
    "would",
    "should",
    "might",
    "may",
    "must",
    "had",
    "did",
    "didn't",
    "can't",
    "won't",
    "wouldn't",
    "shouldn't",
    "couldn't",
    "was",
    "is",
    "need",
    "needs",
];
/// Words after which "you" starts a clause, i.e. is a subject.
pub(super) const CLAUSE_OPENERS: &[&str] = &[
    "and",
    "but",
    "so",
    "that",
    "if",
    "when",
    "because",
    "since",
    "as",
    "or",
    "until",
    "before",
    "after",
    "then",
    "while",
    "where",
    "think",
    "know",
    "guess",
    "hope",
    "sure",
    "once",
    "unless",
    "whether",
    "like",
    "said",
    "mentioned",
    "how",
    "what",
    "why",
    "cause",
];

pub(super) fn third_person(verb: &str) -> String {
    match verb {
        "am" | "are" | "'m" | "'re" => "is".into(),
        "have" | "'ve" => "has".into(),
        "do" => "does".into(),
        "don't" => "doesn't".into(),
        "haven't" => "hasn't".into(),
        "aren't" => "isn't".into(),
        "were" => "was".into(),
        "weren't" => "wasn't".into(),
        "go" => "goes".into(),
        v if KNOWN_VERBS.contains(&v) => {
            if v.ends_with("sh") || v.ends_with("ch") || v.ends_with('s') || v.ends_with('x') {
                format!("{v}es")
            } else if v.ends_with('y') && !v.ends_with("ay") && !v.ends_with("ey") {
                format!("{}ies", &v[..v.len() - 1])
            } else {
                format!("{v}s")
            }
        }
        v => v.into(),
    }
}

/// "my knee" → "their knee" for text quoted from the patient.
pub(super) fn third_person_possessives(text: &str) -> String {
    text.split_whitespace()
        .map(|t| match bare_word(t).as_str() {
            "my" => t.replacen("my", "their", 1).replacen("My", "Their", 1),
            _ => t.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Unpunctuated speech (some transcribers write none) arrives as one "sentence" per turn.
/// Such a span is cut where spoken sentences usually start: at "okay" / "alright", and before
/// "so" or "and" / "but" followed by a subject ("so i think", "and we'll"). Pieces keep their
/// character offsets, so insights still line up.
pub(super) fn split_run_on(text: &str, span: SentenceSpan) -> Vec<SentenceSpan> {
    const MIN_RUN_ON_WORDS: usize = 20;
    const MIN_PIECE_WORDS: usize = 4;
    let chars: Vec<char> = text.chars().collect();
    // Word boundaries inside the span: (start, end) char offsets.
    let mut tokens: Vec<(usize, usize)> = Vec::new();
    let mut i = span.start;
    while i < span.end {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < span.end && !chars[i].is_whitespace() {
            i += 1;
        }
        tokens.push((start, i));
    }
    if span.terminator.is_some() || tokens.len() < MIN_RUN_ON_WORDS {
        return vec![span];
    }
    let word = |k: usize| -> String {
        tokens.get(k).map_or(String::new(), |(a, b)| {
            chars[*a..*b]
                .iter()
                .filter(|c| c.is_alphanumeric() || **c == '\'')
                .flat_map(|c| c.to_lowercase())
                .collect()
        })
    };
    const SUBJECTS: &[&str] = &[
        "i", "i'm", "i've", "i'll", "i'd", "we", "we're", "we'll", "you", "you're", "he", "she",
        "it's", "let's", "there's", "your", "my", "the", "that's",
    ];
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    for k in 1..tokens.len() {
        let w = word(k);
        let next = word(k + 1);
        // A question inside the run ("… can you tell me where it hurts") starts a sentence.
        let starts_question = (QUESTION_AUX.contains(&w.as_str())
            && matches!(next.as_str(), "you" | "your"))
            || (QUESTION_WH.contains(&w.as_str())
                && matches!(
                    next.as_str(),
                    "do" | "does"
                        | "did"
                        | "is"
                        | "are"
                        | "was"
                        | "were"
                        | "have"
                        | "has"
                        | "can"
                        | "about"
                        | "would"
                ));
        let starts_sentence = starts_question
            || matches!(w.as_str(), "okay" | "alright" | "ok")
            || (matches!(w.as_str(), "so" | "and" | "but" | "now")
                && SUBJECTS.contains(&next.as_str()));
        if starts_sentence && k - piece_start >= MIN_PIECE_WORDS {
            pieces.push((piece_start, k));
            piece_start = k;
        }
    }
    pieces.push((piece_start, tokens.len()));
    pieces
        .into_iter()
        .map(|(a, b)| SentenceSpan {
            start: tokens[a].0,
            end: tokens[b - 1].1,
            terminator: None,
        })
        .collect()
}

/// A question by its opening words, for speech written without question marks.
pub(super) fn has_question_form(raw: &str) -> bool {
    let w: Vec<String> = words(raw).into_iter().map(|w| w.lower).collect();
    let skip = w
        .iter()
        .take_while(|x| {
            matches!(
                x.as_str(),
                "okay" | "ok" | "alright" | "so" | "and" | "um" | "uh" | "now"
            )
        })
        .count();
    let first = w.get(skip).map(String::as_str).unwrap_or("");
    let second = w.get(skip + 1).map(String::as_str).unwrap_or("");
    QUESTION_WH.contains(&first)
        || (QUESTION_AUX.contains(&first) && QUESTION_SUBJECTS.contains(&second))
        || first == "any"
}

pub(super) const QUESTION_WH: &[&str] = &["how", "what", "when", "where", "why", "which", "who"];
pub(super) const QUESTION_AUX: &[&str] = &[
    "do", "does", "did", "is", "are", "was", "were", "have", "has", "can", "could", "would",
    "will", "any",
];
pub(super) const QUESTION_SUBJECTS: &[&str] = &[
    "the", "he", "she", "you", "they", "it", "there", "your", "their", "his", "her", "anyone",
];

/// Spoken phrasing a note does not use: hedges and fillers dropped ("kind of", "just",
/// "go ahead and"), intentions stated plainly ("I'm going to order" → "I will order",
/// "let's" → "we will"). Whole words, any case.
pub(super) fn plain_phrasing(text: &str) -> String {
    const REWRITES: &[(&str, &str)] = &[
        ("go ahead and ", ""),
        ("kind of ", ""),
        ("sort of ", ""),
        ("kinda ", ""),
        ("just ", ""),
        ("really ", ""),
        ("actually ", ""),
        ("basically ", ""),
        ("i'm going to ", "I will "),
        ("i am going to ", "I will "),
        ("we're going to ", "we will "),
        ("we are going to ", "we will "),
        ("let's ", "we will "),
    ];
    let mut out = format!(" {text}");
    for (from, to) in REWRITES {
        let mut lowered = out.to_lowercase();
        let needle = format!(" {from}");
        // Lower-casing can change byte lengths only outside ASCII; skip such text.
        if lowered.len() != out.len() {
            break;
        }
        while let Some(at) = lowered.find(&needle) {
            out.replace_range(at + 1..at + needle.len(), to);
            lowered = out.to_lowercase();
        }
    }
    out.trim_start().to_string()
}

/// Spoken numbers as digits, as notes write them: "twenty milligrams" → "20 mg", "two out of
/// six" → "2 out of 6", "one twenty over eighty" → "120 over 80", "six point seven" → "6.7",
/// "nineteen ninety two" → "1992". A lone "one" stays a word unless a unit follows ("the other
/// one").
pub(super) fn digits_for_number_words(text: &str) -> String {
    const UNITS: &[&str] = &[
        "mg",
        "milligram",
        "milligrams",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "time",
        "times",
        "tablet",
        "tablets",
        "pill",
        "pills",
        "hour",
        "hours",
        "minute",
        "minutes",
        "dose",
        "doses",
        "episode",
        "episodes",
        "pound",
        "pounds",
        "mile",
        "miles",
        "cup",
        "cups",
        "glass",
        "glasses",
        "drink",
        "drinks",
        "pack",
        "packs",
        "percent",
    ];
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let numbers = SpokenNumbers { tokens: &tokens };
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if let Some((value, end)) = numbers.parse(i) {
            // "twenty eighth" → "28th" (a date), not "20 eighth".
            const ORDINALS: [&str; 9] = [
                "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                "ninth",
            ];
            let tens: Option<u32> = value.parse().ok().filter(|v| v % 10 == 0 && *v >= 20);
            let ordinal = tokens.get(end).and_then(|t| {
                let w = spoken_word(t);
                ORDINALS.iter().position(|o| *o == w)
            });
            if let (Some(tens), Some(o), true) = (tens, ordinal, numbers.continues(end - 1)) {
                let n = tens + o as u32 + 1;
                let suffix = match n % 10 {
                    1 => "st",
                    2 => "nd",
                    3 => "rd",
                    _ => "th",
                };
                let last = tokens[end];
                let trailing = &last[last.trim_end_matches(SENTENCE_PUNCTUATION).len()..];
                out.push(format!("{n}{suffix}{trailing}"));
                i = end + 1;
                continue;
            }
            let lone_one = value == "1" && end == i + 1;
            let unit_follows = tokens
                .get(end)
                .is_some_and(|t| UNITS.contains(&spoken_word(t).as_str()));
            if !lone_one || unit_follows {
                let last = tokens[end - 1];
                let trailing = &last[last.trim_end_matches(SENTENCE_PUNCTUATION).len()..];
                out.push(format!("{value}{trailing}"));
                i = end;
                continue;
            }
        }
        let w = spoken_word(tokens[i]);
        // "point four" (of a centimetre) → "0.4": the number must read as one, or a reader
        // (and the evidence check) sees a bare "4".
        if w == "point" && !tokens[i].ends_with(SENTENCE_PUNCTUATION) {
            if let Some((digits, end)) = numbers
                .parse(i + 1)
                .filter(|(d, end)| *end == i + 2 && d.len() == 1)
            {
                let last = tokens[end - 1];
                let trailing = &last[last.trim_end_matches(SENTENCE_PUNCTUATION).len()..];
                out.push(format!("0.{digits}{trailing}"));
                i = end;
                continue;
            }
        }
        if w == "milligrams" || w == "milligram" {
            out.push(format!("mg{}", &tokens[i][w.len()..]));
        } else {
            out.push(tokens[i].to_string());
        }
        i += 1;
    }
    out.join(" ")
}

pub(super) const SENTENCE_PUNCTUATION: [char; 6] = [',', '.', ';', ':', '?', '!'];

pub(super) fn spoken_word(token: &str) -> String {
    token.trim_end_matches(SENTENCE_PUNCTUATION).to_lowercase()
}

/// A parser over whitespace tokens for [`digits_for_number_words`]. A number never runs past
/// a token that ends with punctuation.
pub(super) struct SpokenNumbers<'a> {
    tokens: &'a [&'a str],
}

impl SpokenNumbers<'_> {
    const ONES: [&'static str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&'static str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];

    fn word(&self, at: usize) -> Option<String> {
        self.tokens.get(at).map(|t| spoken_word(t))
    }

    /// Whether the number may continue after token `at`.
    fn continues(&self, at: usize) -> bool {
        !self.tokens[at].ends_with(SENTENCE_PUNCTUATION)
    }

    /// 0–99 from "seven", "seventeen", "seventy", "seventy seven"; the end index.
    fn below_hundred(&self, at: usize) -> Option<(u32, usize)> {
        let w = self.word(at)?;
        if let Some(t) = Self::TENS.iter().position(|x| !x.is_empty() && *x == w) {
            let tens = t as u32 * 10;
            let ones = self
                .continues(at)
                .then(|| self.word(at + 1))
                .flatten()
                .and_then(|n| Self::ONES[1..10].iter().position(|x| *x == n));
            return Some(match ones {
                Some(o) => (tens + o as u32 + 1, at + 2),
                None => (tens, at + 1),
            });
        }
        let o = Self::ONES.iter().position(|x| *x == w)?;
        Some((o as u32, at + 1))
    }

    /// The number starting at `at` as digits, and the index after it.
    fn parse(&self, at: usize) -> Option<(String, usize)> {
        let (mut value, mut end) = self.below_hundred(at)?;
        if self.continues(end - 1) {
            match self.word(end).as_deref() {
                Some(scale @ ("hundred" | "thousand")) => {
                    value *= if scale == "hundred" { 100 } else { 1000 };
                    end += 1;
                    let mut next = end;
                    if self.continues(end - 1) && self.word(next).as_deref() == Some("and") {
                        next += 1;
                    }
                    if self.continues(next - 1) {
                        if let Some((rest, rest_end)) = self.below_hundred(next) {
                            value += rest;
                            end = rest_end;
                        }
                    }
                }
                // "one twenty" (a blood pressure), "nineteen ninety two" (a year).
                Some(_) if (1..100).contains(&value) => {
                    if let Some((rest, rest_end)) =
                        self.below_hundred(end).filter(|(rest, _)| *rest >= 10)
                    {
                        value = value * 100 + rest;
                        end = rest_end;
                    }
                }
                _ => {}
            }
        }
        // "six point seven" → 6.7
        let mut digits = value.to_string();
        if self.continues(end - 1) && self.word(end).as_deref() == Some("point") {
            let mut decimals = String::new();
            let mut k = end + 1;
            while let Some(d) = self
                .word(k)
                .and_then(|w| Self::ONES[..10].iter().position(|x| *x == w))
            {
                decimals.push_str(&d.to_string());
                k += 1;
                if !self.continues(k - 1) {
                    break;
                }
            }
            if !decimals.is_empty() {
                digits = format!("{digits}.{decimals}");
                end = k;
            }
        }
        Some((digits, end))
    }
}

/// "He has had knee pain for 2 weeks." from the patient becomes "He reports that he has had
/// knee pain for 2 weeks.": history told by the patient is attributed, as notes do.
pub(super) fn as_reported(text: &str, pronouns: Pronouns) -> String {
    // "The patient reports that the patient …" says nothing more than "The patient …".
    if pronouns == Pronouns::NEUTRAL {
        return text.to_string();
    }
    let subject = capitalize(pronouns.subject);
    match text.strip_prefix(&format!("{subject} ")) {
        Some(rest) if !rest.starts_with("reports") => {
            format!("{subject} reports that {} {rest}", pronouns.subject)
        }
        _ => text.to_string(),
    }
}

/// "For his first problem, his congestive heart failure, I think he is retaining fluid." under
/// the heading of that problem → "I think he is retaining fluid.": the announcement is said by
/// the heading.
pub(super) fn without_problem_lead(text: &str, problem: &str) -> String {
    let lower = text.to_lowercase();
    let problem = problem.to_lowercase();
    let Some(at) = lower.find(problem.as_str()) else {
        return text.to_string();
    };
    let lead = &lower[..at];
    let announces = [
        "for ",
        "regarding ",
        "in terms of ",
        "as for ",
        "with regards to ",
    ]
    .iter()
    .any(|p| lead.starts_with(p))
        && lead.split_whitespace().count() <= 6;
    let after = at + problem.len();
    match lower[after..].find(',') {
        Some(comma) if announces && lower[after..after + comma].split_whitespace().count() <= 2 => {
            let rest = text[after + comma + 1..].trim();
            if words(rest).len() >= MIN_NOTE_SENTENCE_WORDS {
                capitalize(rest)
            } else {
                text.to_string()
            }
        }
        _ => text.to_string(),
    }
}

/// "Brian is a 58 year old male with a past medical history significant for …": the sentence
/// that opens a history of present illness (and is repeated at the top of the assessment).
pub(super) fn introduces_patient(text: &str) -> Option<String> {
    let w: Vec<String> = words(text).into_iter().map(|w| w.lower).collect();
    let at = w.windows(4).position(|x| {
        x[0].chars().all(|c| c.is_ascii_digit())
            && x[1] == "year"
            && x[2] == "old"
            && matches!(
                x[3].as_str(),
                "male" | "female" | "man" | "woman" | "gentleman" | "lady" | "boy" | "girl"
            )
    })?;
    if !(2..=6).contains(&at) || !w[..at].iter().any(|x| x == "is") {
        return None;
    }
    let mut out = text.to_string();
    for spoken in [" year old ", " year-old "] {
        if let Some(k) = out.find(spoken) {
            out.replace_range(k..k + spoken.len(), "-year-old ");
            break;
        }
    }
    Some(out)
}

/// How the note refers to the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pronouns {
    subject: &'static str,
    object: &'static str,
    possessive: &'static str,
    reflexive: &'static str,
}

impl Pronouns {
    pub(super) const NEUTRAL: Pronouns = Pronouns {
        subject: "the patient",
        object: "them",
        possessive: "their",
        reflexive: "themselves",
    };
    pub(super) const MALE: Pronouns = Pronouns {
        subject: "he",
        object: "him",
        possessive: "his",
        reflexive: "himself",
    };
    pub(super) const FEMALE: Pronouns = Pronouns {
        subject: "she",
        object: "her",
        possessive: "her",
        reflexive: "herself",
    };

    /// "he", "she" or "the patient".
    pub(super) fn subject(&self) -> &'static str {
        self.subject
    }

    /// He or she when the clinician's words make it clear ("62-year-old male", "Mrs. Smith",
    /// "she has been…" to a colleague or the recorder); the neutral form otherwise. Pronouns in
    /// the clinician's speech may point at relatives, so they count less than terms of address
    /// and need a clear majority.
    pub(super) fn infer(conversation: &Conversation) -> Pronouns {
        let (mut male, mut female) = (0.0, 0.0);
        for segment in &conversation.transcript_segments {
            if segment.participant_details.participant_role.kind != RoleKind::Clinician {
                continue;
            }
            for w in words(&segment.content) {
                match w.lower.as_str() {
                    "male" | "mr" | "sir" | "gentleman" => male += 3.0,
                    "female" | "mrs" | "ms" | "miss" | "ma'am" | "lady" => female += 3.0,
                    "he" | "he's" | "his" | "him" => male += 1.0,
                    "she" | "she's" | "her" | "hers" => female += 1.0,
                    _ => {}
                }
            }
        }
        if male >= 3.0 && male >= 2.0 * female {
            Pronouns::MALE
        } else if female >= 3.0 && female >= 2.0 * male {
            Pronouns::FEMALE
        } else {
            Pronouns::NEUTRAL
        }
    }
}

/// Longer sentences come from unpunctuated speech run together; a reader cannot use them.
pub(super) const MAX_NOTE_SENTENCE_WORDS: usize = 60;
/// Shorter ones are fragments of speech ("we will go ahead").
pub(super) const MIN_NOTE_SENTENCE_WORDS: usize = 4;

/// False for sentences a clinician would not write in a note: questions without a question
/// mark ("how about your bowel movements"), narration of the visit itself ("let's do your
/// exam", "please use my template"), problem announcements ("for your first problem, your
/// diabetes") and run-ons.
pub(super) fn reads_as_note(text: &str) -> bool {
    let w: Vec<String> = words(text).into_iter().map(|w| w.lower).collect();
    if w.len() > MAX_NOTE_SENTENCE_WORDS || w.len() < MIN_NOTE_SENTENCE_WORDS {
        return false;
    }
    let first = w[0].as_str();
    let second = w.get(1).map(String::as_str).unwrap_or("");
    if QUESTION_WH.contains(&first)
        || (QUESTION_AUX.contains(&first) && QUESTION_SUBJECTS.contains(&second))
    {
        return false;
    }
    const NARRATION: &[&str] = &[
        "tell me",
        "let me",
        "lem me",
        "let's do",
        "let's look",
        "let's take",
        "let's talk",
        "let's go ahead and look",
        "let's go over",
        "let's just go ahead and",
        "please use",
        "use my",
        "i'd like to do",
        "i want to do",
        "i'm going to do",
        "i'm just going to",
        "i'm going to listen",
        "i'm going to examine",
        "i'm going to take a look",
        "we're going to go over",
        // The same after plain_phrasing ("let's" → "we will", "I'm going to" → "I will").
        "we will talk",
        "we will look",
        "we will take a look",
        "we will go over",
        "we will go ahead",
        "we will just",
        "i will listen",
        "i will take a look",
        "i will examine",
        "i will do a",
        "i will have",
        "i will put",
    ];
    let lower = w.join(" ");
    if NARRATION.iter().any(|n| lower.starts_with(n)) {
        return false;
    }
    // "For your first problem, your diabetes." announces a topic; the problem list has it.
    let announces_problem = first == "for" && w.len() <= 8 && w.iter().any(|x| x == "problem");
    !announces_problem
}

/// Turns one transcript sentence into a note sentence: fillers, false starts and stutters
/// removed; the speaker's first person (patient) or second person (clinician speaking to the
/// patient) rewritten to "the patient". Returns `None` when nothing clinical is left.
#[cfg(test)]
pub(super) fn clean_sentence(raw: &str, role: RoleKind) -> Option<String> {
    clean_sentence_as(raw, role, Pronouns::NEUTRAL)
}

/// [`clean_sentence`] with the patient's pronouns (he/she when the visit makes it clear, else
/// "the patient"/"their").
pub(super) fn clean_sentence_as(raw: &str, role: RoleKind, pronouns: Pronouns) -> Option<String> {
    let detok = plain_phrasing(&detokenize(raw));
    let mut tokens: Vec<String> = Vec::new();
    let source: Vec<&str> = detok.split_whitespace().collect();
    let mut i = 0;
    while i < source.len() {
        let token = source[i];
        let word = bare_word(token);
        // "you know", "i mean" as fillers.
        let next_word = source.get(i + 1).map(|t| bare_word(t)).unwrap_or_default();
        // Also at the end of a sentence ("… staying active, you know."), where it would
        // otherwise become "she knows".
        let filler_end = |t: &str| t.ends_with([',', '.', '?', '!']) || i + 2 == source.len();
        if (word == "you" && next_word == "know" && filler_end(source[i + 1]))
            || (word == "i" && next_word == "mean" && source[i + 1].ends_with(','))
        {
            if source[i + 1].ends_with(['.', '?', '!']) {
                if let Some(last) = tokens.last_mut() {
                    let trimmed = last.trim_end_matches(',').to_string();
                    *last = format!("{trimmed}.");
                }
            }
            i += 2;
            continue;
        }
        if FILLER_TOKENS.contains(&word.as_str())
            || (word.is_empty()
                && !token.chars().any(|c| c.is_alphanumeric())
                && !token.contains('%'))
            || token.trim_end_matches([',', '.', '?', '!']).ends_with('-')
            || (word == "like" && token.ends_with(','))
        {
            // Keep the punctuation a dropped word carried if it ends the sentence.
            if token.ends_with(['.', '?', '!']) {
                if let Some(last) = tokens.last_mut() {
                    let trimmed = last.trim_end_matches(',').to_string();
                    *last = format!("{trimmed}.");
                }
            }
            i += 1;
            continue;
        }
        // Stutters and restarts: "i, i, i've" → "i've"; "doing doing" → "doing".
        if !next_word.is_empty()
            && (next_word == word || next_word.starts_with(&format!("{word}'")))
            && word.chars().all(|c| c.is_alphabetic() || c == '\'')
        {
            i += 1;
            continue;
        }
        tokens.push(token.to_string());
        i += 1;
    }
    // A trailing tag ("..., okay?") is conversation, not content.
    if tokens.len() > 2 {
        let last = bare_word(&tokens[tokens.len() - 1]);
        if matches!(last.as_str(), "okay" | "ok" | "right" | "alright" | "yeah")
            && tokens[tokens.len() - 2].ends_with(',')
        {
            tokens.pop();
        }
    }
    while let Some(first) = tokens.first() {
        let w = bare_word(first);
        let all_right = w == "all" && tokens.get(1).is_some_and(|t| bare_word(t) == "right");
        if all_right {
            tokens.drain(..2);
        } else if LEADING_DISCOURSE.contains(&w.as_str()) && tokens.len() > 1 {
            tokens.remove(0);
        } else {
            break;
        }
    }

    let subject_pronouns: &[&str] = match role {
        RoleKind::Patient => &["i"],
        RoleKind::Clinician => &["you"],
    };
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let word = bare_word(token);
        let trailing: String = token
            .chars()
            .rev()
            .take_while(|c| !c.is_alphanumeric() && *c != '\'')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let replaced: Option<String> = match (role, word.as_str()) {
            (RoleKind::Patient, "i'm") | (RoleKind::Clinician, "you're") => {
                Some(format!("{} is", pronouns.subject))
            }
            (RoleKind::Patient, "i've") | (RoleKind::Clinician, "you've") => {
                Some(format!("{} has", pronouns.subject))
            }
            (RoleKind::Patient, "i'd") | (RoleKind::Clinician, "you'd") => {
                Some(format!("{} would", pronouns.subject))
            }
            (RoleKind::Patient, "i'll") | (RoleKind::Clinician, "you'll") => {
                Some(format!("{} will", pronouns.subject))
            }
            (RoleKind::Patient, "my") | (RoleKind::Clinician, "your") => {
                Some(pronouns.possessive.into())
            }
            (RoleKind::Patient, "me") => Some(pronouns.object.into()),
            (RoleKind::Patient, "myself") | (RoleKind::Clinician, "yourself") => {
                Some(pronouns.reflexive.into())
            }
            (RoleKind::Clinician, "i") => Some("I".into()),
            // "let you know", "help you", "tell you": an object, and the verb after
            // it stays bare ("let him know", not "let he knows").
            (RoleKind::Clinician, "you")
                if i > 0
                    && ["let", "help", "make", "tell", "ask"]
                        .contains(&bare_word(&tokens[i - 1]).as_str()) =>
            {
                if pronouns == Pronouns::NEUTRAL {
                    Some(pronouns.subject.into())
                } else {
                    Some(pronouns.object.into())
                }
            }
            (_, w) if subject_pronouns.contains(&w) => {
                // Conjugate the verb that follows, past one adverb.
                let mut j = i + 1;
                if tokens
                    .get(j)
                    .is_some_and(|t| ADVERBS.contains(&bare_word(t).as_str()))
                {
                    j += 1;
                }
                if trailing.is_empty() {
                    if let Some(verb_token) = tokens.get(j) {
                        let verb = bare_word(verb_token);
                        let conjugated = third_person(&verb);
                        if conjugated != verb {
                            let verb_trailing: String = verb_token
                                .chars()
                                .skip(verb_token.chars().count().min(verb.chars().count()))
                                .collect();
                            let mut pieces = vec![pronouns.subject.to_string()];
                            pieces.extend(tokens[i + 1..j].iter().cloned());
                            pieces.push(format!("{conjugated}{verb_trailing}"));
                            out.push(pieces.join(" "));
                            i = j + 1;
                            continue;
                        }
                    }
                }
                // "we put you on lisinopril": an object; "the patient" reads well for both.
                // The patient's "I" is always a subject ("sometimes I go for a run").
                let object = role == RoleKind::Clinician
                    && i > 0
                    && !tokens
                        .get(j)
                        .is_some_and(|t| AUXILIARIES.contains(&bare_word(t).as_str()))
                    && !tokens[i - 1].ends_with(',')
                    && !CLAUSE_OPENERS.contains(&bare_word(&tokens[i - 1]).as_str());
                if object && pronouns != Pronouns::NEUTRAL {
                    Some(pronouns.object.into())
                } else {
                    Some(pronouns.subject.into())
                }
            }
            _ => None,
        };
        match replaced {
            Some(r) => out.push(format!("{r}{trailing}")),
            None => out.push(token.clone()),
        }
        i += 1;
    }

    let mut text = digits_for_number_words(&out.join(" "));
    text = text.replace(" ,", ",").replace(",,", ",");
    let text = text
        .trim()
        .trim_end_matches([',', ';', ':', '?', '!', '.', ' '])
        .trim_start_matches([',', ';', ':', '.', ' '])
        .to_string();
    if content_word_count(&text) < 2 {
        return None;
    }
    Some(format!("{}.", capitalize(&text)))
}
