//! The narrative opening of the history of present illness when the clinician did not dictate
//! one ("Brian is a 58-year-old male … who presents today for …" is kept as said): the patient
//! by the name the clinician greets them with (else the pronoun), the past history the visit
//! affirms, and the chief complaint — "Martha has a past medical history significant for
//! depression and hypertension and presents today with knee pain." Only evidence words (name,
//! conditions, complaint) and function words; every segment a word came from is cited.

use super::*;

/// Words a greeting may be followed by that are not names.
const NOT_NAMES: &[&str] = &[
    "how",
    "how're",
    "how's",
    "good",
    "there",
    "doctor",
    "dr",
    "everyone",
    "again",
    "i",
    "i'm",
    "nice",
    "thanks",
    "thank",
    "it's",
    "welcome",
    "the",
    "you",
    "to",
    "see",
    "is",
    "are",
    "so",
    "what",
    "what's",
    "um",
    "uh",
    "okay",
    "sir",
    "ma'am",
    "guys",
    "folks",
    "all",
    "and",
    "back",
    "morning",
    "afternoon",
    "evening",
    "today",
    "my",
    "we",
    "let's",
    "come",
    "in",
    "well",
];

/// "hi , james , how are you ?" → "James"; "hey , ms. hill ." → "Ms. Hill"; "good morning ,
/// mr. walker" → "Mr. Walker". `None` when the greeting names nobody.
pub(super) fn greeted_name(text: &str) -> Option<String> {
    let detok = detokenize(text)
        .replace("mrs .", "mrs.")
        .replace("ms .", "ms.");
    let tokens: Vec<&str> = detok.split_whitespace().collect();
    let bare: Vec<String> = tokens.iter().map(|t| bare_word(t)).collect();
    let at = bare
        .iter()
        .position(|w| matches!(w.as_str(), "hi" | "hello" | "hey" | "morning" | "afternoon"))?;
    // Within the first words of the turn: a greeting, not a mention later on.
    if at > 3 {
        return None;
    }
    let mut k = at + 1;
    let title = match bare.get(k).map(String::as_str) {
        Some("mr" | "mr.") => Some("Mr."),
        Some("mrs" | "mrs.") => Some("Mrs."),
        Some("ms" | "ms." | "miss") => Some("Ms."),
        _ => None,
    };
    if title.is_some() {
        k += 1;
    }
    let name = bare.get(k)?;
    let ends = tokens[k].ends_with([',', '.', '!', '?'])
        || bare
            .get(k + 1)
            .is_none_or(|next| NOT_NAMES.contains(&next.as_str()));
    if name.len() < 3
        || !name.chars().all(|c| c.is_ascii_alphabetic())
        || NOT_NAMES.contains(&name.as_str())
        || !ends
    {
        return None;
    }
    Some(match title {
        Some(t) => format!("{t} {}", capitalize(name)),
        None => capitalize(name),
    })
}

/// The chief complaint as a noun phrase to follow "presents today with", or `None` when what
/// was read as the complaint is not one ("What are you here for.", "She is scheduled …").
pub(super) fn complaint_phrase(chief_complaint: &str) -> Option<String> {
    let phrase = chief_complaint.trim().trim_end_matches('.').to_lowercase();
    let w: Vec<String> = words(&phrase).into_iter().map(|w| w.lower).collect();
    // Pronouns other than possessives ("her annual exam" is a reason; "me" is not).
    const NOT_A_NOUN_PHRASE: &[&str] = &[
        "is",
        "are",
        "was",
        "were",
        "be",
        "he",
        "she",
        "they",
        "you",
        "i",
        "we",
        "what",
        "how",
        "when",
        "patient",
        "she's",
        "he's",
        "it's",
        "date",
        "next",
        "them",
        "me",
        "him",
        "us",
        "has",
        "have",
        "had",
        "do",
        "does",
        "okay",
        "and",
        "sometimes",
    ];
    if w.is_empty() || w.len() > 10 || w.iter().any(|x| NOT_A_NOUN_PHRASE.contains(&x.as_str())) {
        return None;
    }
    Some(phrase)
}

/// "Martha has a past medical history significant for depression and hypertension and presents
/// today with knee pain." / "He presents today with knee pain." (Read better than the
/// appositive "Martha, with a past medical history …, presents …", train ROUGE-1 48.31 / 48.29.)
pub(super) fn opening_sentence(subject: &str, history: &[String], complaint: &str) -> String {
    let subject = capitalize(subject);
    if history.is_empty() {
        format!("{subject} presents today with {complaint}.")
    } else {
        format!(
            "{subject} has a past medical history significant for {} and presents today with {complaint}.",
            join_list(history)
        )
    }
}

/// The opening for this visit, citing the greeting, the turns naming the past history and the
/// chief complaint's turn.
pub(super) fn narrative_opening(
    conversation: &Conversation,
    all: &[Sentence],
    chief_complaint: &[SummarizedSentence],
    pronouns: Pronouns,
) -> Option<SummarizedSentence> {
    let complaint = chief_complaint.first()?;
    let phrase = complaint_phrase(&complaint.summarized_segment)?;
    let mut ids: Vec<&str> = complaint
        .evidence_links
        .iter()
        .map(|l| l.segment_id.as_str())
        .collect();
    let greeting = conversation
        .transcript_segments
        .iter()
        .take(4)
        .filter(|s| s.participant_details.participant_role.kind == RoleKind::Clinician)
        .find_map(|s| greeted_name(&s.content).map(|name| (name, s.segment_id.as_str())));
    let subject = match greeting {
        Some((name, id)) => {
            ids.push(id);
            name
        }
        None => pronouns.subject().to_string(),
    };
    // Conditions the history affirms as past, in the order said; not the complaint itself.
    let mut history: Vec<String> = Vec::new();
    for s in all {
        if matches!(s.section, TranscriptSection::AssessmentAndPlan) || history.len() >= 3 {
            continue;
        }
        for i in s.affirmed_conditions() {
            let name = i.spans[0].content.to_lowercase();
            if i.has_trait(&InsightTraitName::PastHistory)
                && !history.contains(&name)
                && !phrase.contains(name.as_str())
                && history.len() < 3
            {
                history.push(name);
                ids.push(s.segment_id);
            }
        }
    }
    Some(summarized(
        opening_sentence(&subject, &history, &phrase),
        &ids,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_greeting() {
        assert_eq!(
            greeted_name("hi , martha . how are you ?").as_deref(),
            Some("Martha")
        );
        assert_eq!(
            greeted_name("hey , ms. hill . nice to see you .").as_deref(),
            Some("Ms. Hill")
        );
        assert_eq!(
            greeted_name("hello , mrs . peterson .").as_deref(),
            Some("Mrs. Peterson")
        );
        assert_eq!(
            greeted_name("hey george how are you today").as_deref(),
            Some("George")
        );
        assert_eq!(
            greeted_name("good morning , mr. walker . how are you doing ?").as_deref(),
            Some("Mr. Walker")
        );
        // No name, or not a greeting at the start of the turn.
        assert_eq!(greeted_name("hey , how are you today ?"), None);
        assert_eq!(greeted_name("hi there , nice to meet you ."), None);
        assert_eq!(
            greeted_name("well i told him to say hi to mom for me ."),
            None
        );
        assert_eq!(
            greeted_name("hey gabriel i'm doctor scott").as_deref(),
            Some("Gabriel")
        );
        assert_eq!(greeted_name("hi doctor"), None);
    }

    #[test]
    fn complaint_must_read_as_a_noun_phrase() {
        assert_eq!(complaint_phrase("Knee pain.").as_deref(), Some("knee pain"));
        assert_eq!(complaint_phrase("What are you here for."), None);
        assert_eq!(
            complaint_phrase("She is scheduled on the 24th for surgery."),
            None
        );
        assert_eq!(
            complaint_phrase("A very long complaint that runs on and on and on."),
            None
        );
    }

    #[test]
    fn opening_reads_as_a_clinician_writes_it() {
        assert_eq!(
            opening_sentence("Martha", &["depression".into(), "hypertension".into()], "knee pain"),
            "Martha has a past medical history significant for depression and hypertension and presents today with knee pain."
        );
        assert_eq!(
            opening_sentence("he", &[], "knee pain"),
            "He presents today with knee pain."
        );
    }
}
