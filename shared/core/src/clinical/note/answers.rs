//! Answered questions as facts: a clinician's yes/no question answered by a plain "yes" or "no"
//! states the fact the note needs ("Have you been taking your metformin?" "Yes." → "He has been
//! taking his metformin."; "Are you having any swelling?" "No." → "He is not having any
//! swelling."). The statement is made of the question's words, the answer's polarity and
//! function words ("not", "no"); it cites both segments. Anything that is not a plain yes/no
//! exchange is refused: alternatives ("… or …?"), negative questions ("You don't smoke?"),
//! hedged answers ("Yes, but only at night."), questions about the visit itself ("Does that
//! make sense?").

use super::*;

/// The answer's polarity when it is a plain yes or no: nothing in its first sentence but the
/// answer itself (at most a few words, no hedge).
fn plain_polarity(answer: &str) -> Option<AnswerPolarity> {
    let first = answer
        .split(['.', '?', '!'])
        .find(|s| !words(s).is_empty())
        .unwrap_or("");
    let w: Vec<String> = words(first).into_iter().map(|w| w.lower).collect();
    const HEDGES: &[&str] = &[
        "but",
        "sometimes",
        "little",
        "bit",
        "kind",
        "sort",
        "maybe",
        "think",
        "sure",
        "used",
        "only",
        "except",
        "occasionally",
        "really",
        "much",
        "mostly",
        "not",
        "usually",
        "guess",
        "probably",
        "almost",
        "before",
        "anymore",
    ];
    // Nothing but the answer: "Yes, I am.", "No, I haven't.", "Nope."; "I have gallstones."
    // answers with something else than the question asked.
    const ANSWER_WORDS: &[&str] = &[
        "yes",
        "yeah",
        "yep",
        "yup",
        "mm-hmm",
        "mm",
        "hmm",
        "uh-huh",
        "uh",
        "huh",
        "um",
        "no",
        "nope",
        "nah",
        "never",
        "none",
        "nothing",
        "i",
        "i'm",
        "i've",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "is",
        "it",
        "it's",
        "that's",
        "was",
        "n't",
        "don't",
        "haven't",
        "didn't",
        "correct",
        "right",
        "absolutely",
        "definitely",
        "sir",
        "ma'am",
        "like",
        "that",
        "at",
        "all",
        "oh",
        "well",
        "okay",
        "so",
        "still",
        "ever",
    ];
    if w.is_empty()
        || w.len() > 6
        || w.iter()
            .any(|x| HEDGES.contains(&x.as_str()) || !ANSWER_WORDS.contains(&x.as_str()))
    {
        return None;
    }
    match answer_polarity(first) {
        AnswerPolarity::Unclear => None,
        p => Some(p),
    }
}

/// Words that make the question's own words unfit for a plain statement.
const REFUSE_WORDS: &[&str] = &[
    // Alternatives: a "yes" does not say which.
    "or",
    "whether",
    // The clinician's own person: not the patient's history.
    "i",
    "i'm",
    "i've",
    "i'd",
    "i'll",
    "me",
    "my",
    "we",
    "we're",
    "we've",
    "we'll",
    "us",
    "our",
    "let's", // Negative questions: "no" to them is ambiguous.
    "not",
    "never",
    "don't",
    "doesn't",
    "didn't",
    "haven't",
    "hasn't",
    "aren't",
    "isn't",
    "wasn't",
    "weren't",
    "can't",
    "won't",
    "n't",
    // Questions about the visit, not the patient's history.
    "okay",
    "ok",
    "sense",
    "ready",
    "questions",
    "question",
    "sound",
    "sounds",
    "understand",
    "started",
    "alright",
    "else",
    "other",
    "repeat",
    "know",
    "mean",
];

/// "anything like that", "or anything": a catch-all tail the statement leaves out.
const CATCH_ALL_TAILS: &[&[&str]] = &[
    &["or", "anything", "like", "that"],
    &["anything", "like", "that"],
    &["or", "anything"],
    &["at", "all"],
];

const LEADING: &[&str] = &[
    "okay", "ok", "so", "and", "um", "uh", "now", "then", "also", "but", "well", "just", "alright",
    "right", "all", "mm-hmm",
];

/// Questions put as "aux you …", and the auxiliary's place in the statement.
const INVERTED_AUX: &[&str] = &[
    "are", "have", "has", "do", "does", "did", "were", "was", "is", "can", "could", "will", "would",
];

/// Past tense of the verbs "did you …?" asks about; others are refused rather than guessed.
/// ("hit", "hurt" are left out: their past reads as the present, which the third person would
/// conjugate.)
fn past_tense(verb: &str) -> Option<&'static str> {
    const PAST: &[(&str, &str)] = &[
        ("take", "took"),
        ("have", "had"),
        ("get", "got"),
        ("feel", "felt"),
        ("go", "went"),
        ("see", "saw"),
        ("eat", "ate"),
        ("fall", "fell"),
        ("hear", "heard"),
        ("come", "came"),
        ("lose", "lost"),
        ("sleep", "slept"),
        ("drink", "drank"),
        ("wake", "woke"),
        ("break", "broke"),
        ("find", "found"),
        ("try", "tried"),
        ("use", "used"),
        ("notice", "noticed"),
        ("start", "started"),
        ("stop", "stopped"),
        ("check", "checked"),
        ("exercise", "exercised"),
        ("miss", "missed"),
        ("gain", "gained"),
        ("walk", "walked"),
        ("work", "worked"),
        ("smoke", "smoked"),
        ("cough", "coughed"),
        ("experience", "experienced"),
        ("play", "played"),
        ("need", "needed"),
        ("ice", "iced"),
        ("receive", "received"),
        ("pass", "passed"),
        ("vomit", "vomited"),
    ];
    PAST.iter().find(|(base, _)| *base == verb).map(|(_, p)| *p)
}

/// The statement a plainly answered yes/no question makes, still in the clinician's second
/// person ("you are not having any swelling."), for [`clean_sentence_as`] to put in the third
/// person. `None` unless the exchange is unambiguous.
pub(super) fn answered_statement(question: &str, answer: &str) -> Option<String> {
    let polarity = plain_polarity(answer)?;
    let yes = polarity == AnswerPolarity::Yes;
    let detok = detokenize(question);
    let mut tokens: Vec<String> = detok
        .split_whitespace()
        .map(|t| t.trim_end_matches(['?', '.', '!']).to_string())
        .filter(|t| !t.is_empty())
        .collect();
    // Leading discourse ("okay, so, and …"), then the catch-all tail.
    while tokens
        .first()
        .is_some_and(|t| LEADING.contains(&bare_word(t).as_str()) || bare_word(t).is_empty())
    {
        tokens.remove(0);
    }
    let mut bare: Vec<String> = tokens.iter().map(|t| bare_word(t)).collect();
    for tail in CATCH_ALL_TAILS {
        if bare.len() > tail.len() && bare[bare.len() - tail.len()..] == **tail {
            tokens.truncate(bare.len() - tail.len());
            bare.truncate(tokens.len());
        }
    }
    if let Some(last) = tokens.last_mut() {
        *last = last.trim_end_matches([',', ';']).to_string();
    }
    // A question that runs on after a comma ("…, right", "…, like in your legs") is left as
    // spoken only when the rest is one clause; commas inside make the scope unclear.
    if tokens[..tokens.len().saturating_sub(1)]
        .iter()
        .any(|t| t.ends_with([',', ';']))
        && !yes
    {
        return None;
    }
    // An open question ("how long …?", "crestor, how long …?"); a "when" inside a clause
    // ("does it hurt when you walk?") is fine.
    let opens_question = |k: usize| k == 0 || tokens[k - 1].ends_with(',');
    if bare
        .iter()
        .enumerate()
        .any(|(k, w)| QUESTION_WH.contains(&w.as_str()) && opens_question(k))
    {
        return None;
    }
    // Leading "no X?" (negative, put as a statement) stays out: the negation is the question's.
    if bare.is_empty()
        || bare.len() < 3
        || bare.iter().any(|w| REFUSE_WORDS.contains(&w.as_str()))
        || bare.iter().any(|w| w.ends_with("n't"))
        || bare[0] == "no"
    {
        return None;
    }
    let rest = |from: usize| tokens[from..].join(" ");
    let (w0, w1) = (
        bare[0].as_str(),
        bare.get(1).map(String::as_str).unwrap_or(""),
    );
    let statement = match (w0, w1) {
        // "Any swelling in your legs?" "No." → "No swelling in your legs."
        ("any", _) if !yes && bare.len() >= 2 && !bare[1].starts_with("thing") => {
            format!("no {}", rest(1))
        }
        ("any" | "anything", _) => return None,
        // "Do you have any swelling?" → "you have swelling." / "you do not have any swelling."
        ("do", "you") if yes => format!("you {}", rest(2)),
        ("do", "you") => format!("you do not {}", rest(2)),
        // "Did you fall?" → "you fell." / "you did not fall."
        ("did", "you") if yes => {
            let past = past_tense(bare.get(2)?)?;
            let after = tokens.get(3..).map(|t| t.join(" ")).unwrap_or_default();
            format!("you {past} {after}")
        }
        ("did", "you") => format!("you did not {}", rest(2)),
        // "Are you taking it?" / "Does it hurt?" / "Is there swelling?"
        (aux, "you" | "it" | "there" | "that" | "this")
            if INVERTED_AUX.contains(&aux) && aux != "do" && aux != "did" =>
        {
            if aux == "does" {
                // "Does it hurt?" → "it hurts." / "it does not hurt."
                let verb = bare.get(2)?;
                if yes {
                    let conjugated = third_person(verb);
                    if conjugated == *verb {
                        return None;
                    }
                    let after = tokens.get(3..).map(|t| t.join(" ")).unwrap_or_default();
                    format!("{w1} {conjugated} {after}")
                } else {
                    format!("{w1} does not {}", rest(2))
                }
            } else {
                let aux = if w1 == "you" {
                    aux.to_string()
                } else {
                    third_person(aux)
                };
                let negation = if yes { "" } else { "not " };
                format!("{w1} {aux} {negation}{}", rest(2))
            }
        }
        // Put as a statement: "You're taking your medication?" "Yes."
        ("you're" | "you've" | "you", _) if yes => {
            if w0 == "you" && !KNOWN_VERBS.contains(&w1) && !w1.ends_with("ed") {
                return None;
            }
            rest(0)
        }
        ("you're" | "you've", _) => {
            let (subject, aux) = if w0 == "you're" {
                ("you", "are")
            } else {
                ("you", "have")
            };
            format!("{subject} {aux} not {}", rest(1))
        }
        _ => return None,
    };
    // "any"/"anything" ask; a "yes" answers with the thing itself or "something".
    let statement: Vec<String> = statement
        .split_whitespace()
        .filter_map(|t| match (yes, bare_word(t).as_str()) {
            (true, "any") => None,
            (true, "anything") => Some(t.replacen("anything", "something", 1)),
            _ => Some(t.to_string()),
        })
        .collect();
    let statement = statement.join(" ");
    (words(&statement).len() >= 3).then(|| format!("{statement}."))
}

/// How long or since when, as the patient answers it ("about 18 months", "the last four days",
/// "about four days ago"): the answer's first sentence without fillers, when it is a short
/// time phrase and nothing else.
fn time_answer(answer: &str) -> Option<String> {
    let first = answer.split(['.', '?', '!']).next().unwrap_or("");
    let mut tokens: Vec<String> = detokenize(first)
        .split_whitespace()
        .map(|t| t.trim_end_matches(',').to_string())
        .collect();
    while tokens.first().is_some_and(|t| {
        matches!(
            bare_word(t).as_str(),
            "uh" | "um" | "yeah" | "so" | "well" | "oh" | "for" | "mm-hmm" | "hmm"
        )
    }) {
        tokens.remove(0);
    }
    let bare: Vec<String> = tokens.iter().map(|t| bare_word(t)).collect();
    const UNITS: &[&str] = &[
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "hour",
        "hours",
        "ago",
        "yesterday",
    ];
    const NOT_A_TIME: &[&str] = &[
        "i", "i'm", "my", "you", "it", "it's", "this", "was", "is", "not", "sure", "know", "think",
        "but", "and", "like", "really", "maybe",
    ];
    let fits = !bare.is_empty()
        && bare.len() <= 7
        && bare.iter().any(|w| UNITS.contains(&w.as_str()))
        && !bare.iter().any(|w| NOT_A_TIME.contains(&w.as_str()));
    fits.then(|| tokens.join(" "))
}

/// A "how long …?" or "when did this start?" question answered with a time alone ("About 18
/// months.") becomes one statement citing both turns: "you have been taking it for about 18
/// months." / "this started about 4 days ago." (still the clinician's second person, for
/// [`clean_sentence_as`]). `None` for any other exchange.
pub(super) fn answered_time(question: &str, answer: &str) -> Option<String> {
    let time = time_answer(answer)?;
    let ago = time.ends_with("ago") || time == "yesterday";
    let detok = detokenize(question);
    let mut tokens: Vec<String> = detok
        .split_whitespace()
        .map(|t| t.trim_end_matches(['?', '.', '!']).to_string())
        .filter(|t| !t.is_empty())
        .collect();
    while tokens
        .first()
        .is_some_and(|t| LEADING.contains(&bare_word(t).as_str()) || bare_word(t).is_empty())
    {
        tokens.remove(0);
    }
    let bare: Vec<String> = tokens.iter().map(|t| bare_word(t)).collect();
    if tokens.iter().any(|t| t.ends_with(','))
        || bare
            .iter()
            .any(|w| REFUSE_WORDS.contains(&w.as_str()) || w.ends_with("n't"))
    {
        return None;
    }
    let b: Vec<&str> = bare.iter().map(String::as_str).collect();
    let rest = |from: usize| {
        let mut r = tokens[from..].to_vec();
        if r.last().is_some_and(|t| bare_word(t) == "for") {
            r.pop();
        }
        r.join(" ")
    };
    let statement = match b.as_slice() {
        // "How long have you been taking it?" / "How long have you had the pain?"
        ["how", "long", "have", "you", verb @ ("been" | "had"), ..] if !ago => {
            format!("you have {verb} {} for {time}", rest(5))
        }
        // "How long has this been going on (for)?" / "How many days has this been going on?"
        ["how", "long", "has", subject @ ("this" | "it" | "that"), "been", ..]
        | ["how", "many", _, "has", subject @ ("this" | "it" | "that"), "been", ..]
            if !ago =>
        {
            let from = if b[1] == "long" { 5 } else { 6 };
            format!("{subject} has been {} for {time}", rest(from))
        }
        // "When did this start?" / "How long ago did it happen?"
        ["when", "did", subject @ ("this" | "it" | "that"), verb]
        | ["how", "long", "ago", "did", subject @ ("this" | "it" | "that"), verb]
            if ago =>
        {
            let past = match *verb {
                "start" => "started",
                "happen" => "happened",
                "begin" => "began",
                _ => return None,
            };
            format!("{subject} {past} {time}")
        }
        _ => return None,
    };
    let statement = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    (words(&statement).len() >= 4).then(|| format!("{statement}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(question: &str, answer: &str) -> Option<String> {
        answered_statement(question, answer)
            .and_then(|s| clean_sentence_as(&s, RoleKind::Clinician, Pronouns::MALE))
    }

    #[test]
    fn yes_makes_the_question_a_statement() {
        assert_eq!(
            said("have you been taking your metformin ?", "yes .").as_deref(),
            Some("He has been taking his metformin.")
        );
        assert_eq!(
            said("okay . and you're taking your medication ?", "yes , i am .").as_deref(),
            Some("He is taking his medication.")
        );
        assert_eq!(
            said("do you have any swelling in your legs ?", "yeah .").as_deref(),
            Some("He has swelling in his legs.")
        );
        assert_eq!(
            said("did you try ice on it ?", "yes .").as_deref(),
            Some("He tried ice on it.")
        );
        assert_eq!(
            said("did you take anything for the pain ?", "yes .").as_deref(),
            Some("He took something for the pain.")
        );
        assert_eq!(
            said("have you used ice on it ?", "yes .").as_deref(),
            Some("He has used ice on it.")
        );
    }

    #[test]
    fn no_makes_a_negated_statement() {
        assert_eq!(
            said("have you used any ice ?", "no , i have n't .").as_deref(),
            Some("He has not used any ice.")
        );
        assert_eq!(
            said("are you having any problems laying flat ?", "no .").as_deref(),
            Some("He is not having any problems laying flat.")
        );
        assert_eq!(
            said("any blood in your stool ?", "nope .").as_deref(),
            Some("No blood in his stool.")
        );
        assert_eq!(
            said("does it hurt when you walk ?", "no .").as_deref(),
            Some("It does not hurt when he walks.")
        );
    }

    #[test]
    fn ambiguous_exchanges_are_refused() {
        // Alternatives: a "yes" does not say which.
        assert_eq!(said("is it sharp or dull ?", "yes ."), None);
        // Negative questions: "no" could confirm or deny.
        assert_eq!(said("you don't smoke ?", "no ."), None);
        assert_eq!(said("no headaches ?", "no ."), None);
        // Hedged or long answers.
        assert_eq!(
            said("do you have any pain ?", "yes , but only at night ."),
            None
        );
        assert_eq!(said("do you have any pain ?", "sometimes ."), None);
        assert_eq!(
            said("do you have any medical problems ?", "i have gallstones ."),
            None
        );
        assert_eq!(said("do you have any pain ?", "not really ."), None);
        assert_eq!(
            said(
                "do you have any pain ?",
                "well it is hard to say really honestly ."
            ),
            None
        );
        // About the visit, or in the clinician's own person.
        assert_eq!(said("does that make sense ?", "yes ."), None);
        assert_eq!(said("are you ready to get started ?", "yes ."), None);
        assert_eq!(said("does it hurt when i push here ?", "yes ."), None);
        // "Any …?" answered yes does not say which; "did you …?" with a verb not known.
        assert_eq!(said("any fever ?", "yes ."), None);
        assert_eq!(said("did you zorb the knee ?", "yes ."), None);
        assert_eq!(said("did you hurt your back ?", "yes ."), None);
        // Open questions.
        assert_eq!(said("how long have you had it ?", "yes ."), None);
    }

    fn timed(question: &str, answer: &str) -> Option<String> {
        answered_time(question, answer)
            .and_then(|s| clean_sentence_as(&s, RoleKind::Clinician, Pronouns::FEMALE))
    }

    #[test]
    fn short_time_answers_join_their_question() {
        assert_eq!(
            timed(
                "how long have you been taking the crestor ?",
                "about 18 months ."
            )
            .as_deref(),
            Some("She has been taking the crestor for about 18 months.")
        );
        assert_eq!(
            timed(
                "and , um , how many days has this been going on for ?",
                "the last four days ."
            )
            .as_deref(),
            Some("This has been going on for the last 4 days.")
        );
        assert_eq!(
            timed("okay and when did this start", "uh, about four days ago").as_deref(),
            Some("This started about 4 days ago.")
        );
    }

    #[test]
    fn time_answers_that_say_more_or_other_are_refused() {
        // Not a time alone, or hedged.
        assert_eq!(
            timed("when did this start ?", "this was saturday morning ."),
            None
        );
        assert_eq!(
            timed("when did this start ?", "i'm not sure , maybe a week ago ."),
            None
        );
        // A point in time does not answer "how long", nor a span "when".
        assert_eq!(
            timed("how long have you had the pain ?", "about a week ago ."),
            None
        );
        assert_eq!(timed("when did this start ?", "about a week ."), None);
        // Open or fronted questions whose subject is elsewhere.
        assert_eq!(
            timed(
                "crestor , how long have you been taking that ?",
                "about 18 months ."
            ),
            None
        );
        assert_eq!(
            timed("how long did i say it would take ?", "two weeks ."),
            None
        );
    }
}
