//! Recognised speech (or a text dialogue) → a HealthScribe `Conversation`: items from tokens,
//! segments from turns, participant roles and transcript sections. Clinical insights are left
//! empty; `insights::extract` fills them from the finished conversation.

use crate::formats::{
    Alternative, ChannelRole, Conversation, ItemType, MedicalScribeJob, ParticipantDetails,
    ParticipantRole, RoleKind, SectionDetails, TranscriptItem, TranscriptSegment,
};
use crate::speech::{Recognition, SpokenToken, TokenKind};

use super::dialogue::{self, DialogueError};
use super::roles::{self, RoleSettings};
use super::sections;
use super::turns::{self, SpeakerLabel, Turn, TurnSettings};
use super::vocabulary::{self, VocabularySettings};

pub const JOB_TYPE: &str = "ASYNC";
pub const LANGUAGE_CODE: &str = "en-US";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSettings {
    /// Correction toward the built-in lexicon and a custom vocabulary, and the vocabulary
    /// filter. `for_job` leaves the custom vocabulary and filter out: the job names them, the
    /// driver (CLI or Lambda) reads them.
    pub vocabulary: VocabularySettings,
    pub job_name: String,
    /// Tokens carry the channel they were heard on, and `channel_roles` says whose it is.
    pub channel_identification: bool,
    /// Channel → role (HealthScribe `ChannelDefinitions`). Several channels of one kind are
    /// numbered in list order (`CLINICIAN_0`, `CLINICIAN_1`). A channel missing here is an
    /// anonymous speaker whose role is inferred from what it says.
    pub channel_roles: Vec<(u16, RoleKind)>,
    /// Most participants to report (HealthScribe `MaxSpeakerLabels`). Patients beyond it are
    /// folded into `PATIENT_0`.
    pub max_speakers: u8,
}

impl Default for ConversationSettings {
    fn default() -> Self {
        Self {
            job_name: String::new(),
            channel_identification: false,
            channel_roles: vec![(0, RoleKind::Clinician), (1, RoleKind::Patient)],
            max_speakers: 2,
            vocabulary: VocabularySettings::default(),
        }
    }
}

impl ConversationSettings {
    /// The settings a job's record asks for (both drivers, CLI and Lambda, build them here).
    pub fn for_job(job: &MedicalScribeJob) -> Self {
        Self {
            job_name: job.medical_scribe_job_name.clone(),
            channel_identification: job.settings.channel_identification,
            channel_roles: job
                .channel_definitions
                .iter()
                .map(|d| {
                    let kind = match d.participant_role {
                        ChannelRole::Clinician => RoleKind::Clinician,
                        ChannelRole::Patient => RoleKind::Patient,
                    };
                    (d.channel_id, kind)
                })
                .collect(),
            max_speakers: job.settings.max_speaker_labels.unwrap_or(2),
            vocabulary: VocabularySettings::default(),
        }
    }

    fn channel_label(&self, channel: u16) -> SpeakerLabel {
        let Some(position) = self.channel_roles.iter().position(|(c, _)| *c == channel) else {
            return SpeakerLabel::Anonymous(channel);
        };
        let kind = self.channel_roles[position].1;
        let index = self.channel_roles[..position]
            .iter()
            .filter(|(_, k)| *k == kind)
            .count();
        SpeakerLabel::Role(ParticipantRole::new(
            kind,
            index.min(u8::MAX as usize) as u8,
        ))
    }

    fn speaker_of(&self, token: &SpokenToken) -> SpeakerLabel {
        if self.channel_identification {
            token
                .channel
                .map(|c| self.channel_label(c))
                .unwrap_or(SpeakerLabel::Unknown)
        } else {
            token
                .speaker
                .map(SpeakerLabel::Anonymous)
                .unwrap_or(SpeakerLabel::Unknown)
        }
    }
}

/// The conversation of a recording. Silence (no tokens) gives a valid, empty conversation.
pub fn conversation_from_recognition(
    rec: &Recognition,
    settings: &ConversationSettings,
) -> Conversation {
    // Misheard terms are corrected before turns are built, so segments, insights and the note
    // all read the corrected words.
    let mut tokens = rec.tokens.clone();
    let corrections = settings
        .vocabulary
        .corrector()
        .map(|corrector| corrector.correct(&mut tokens))
        .unwrap_or_default();
    let turns = turns::build_turns(&tokens, &TurnSettings::default(), |t| {
        settings.speaker_of(t)
    });
    let mut items: Vec<TranscriptItem> = tokens
        .iter()
        .filter(|t| !t.text.trim().is_empty())
        .map(item)
        .collect();
    vocabulary::keep_heard_words(&mut items, &corrections);
    if !corrections.is_empty() {
        tracing::info!(
            job_name = %settings.job_name,
            corrected = corrections.len(),
            "medical terms corrected"
        );
    }
    build(turns, items, settings)
}

/// The conversation of a text dialogue (`[label] text` per line), with synthetic timing.
pub fn conversation_from_dialogue(
    text: &str,
    settings: &ConversationSettings,
) -> Result<Conversation, DialogueError> {
    let turns = dialogue::timed_turns(&dialogue::parse_dialogue(text)?);
    let items = turns
        .iter()
        .flat_map(|t| t.tokens.iter().map(item))
        .collect();
    Ok(build(turns, items, settings))
}

fn item(token: &SpokenToken) -> TranscriptItem {
    let (item_type, confidence) = match token.kind {
        TokenKind::Word => (ItemType::Pronunciation, token.confidence),
        TokenKind::Punctuation => (ItemType::Punctuation, 0.0),
    };
    TranscriptItem {
        alternatives: vec![Alternative {
            confidence,
            content: token.text.trim().to_string(),
        }],
        begin_audio_time: token.start,
        end_audio_time: token.end,
        item_type,
        vocabulary_filter_match: None,
    }
}

fn build(
    turns: Vec<Turn>,
    items: Vec<TranscriptItem>,
    settings: &ConversationSettings,
) -> Conversation {
    let contents: Vec<String> = turns.iter().map(Turn::content).collect();
    let role_input: Vec<(SpeakerLabel, &str)> = turns
        .iter()
        .zip(&contents)
        .map(|(t, c)| (t.speaker, c.as_str()))
        .collect();
    let mut participant_roles = roles::assign_roles(&role_input, &RoleSettings::default());
    cap_participants(&mut participant_roles, settings.max_speakers);
    let section_input: Vec<(ParticipantRole, &str)> = participant_roles
        .iter()
        .zip(&contents)
        .map(|(r, c)| (*r, c.as_str()))
        .collect();
    let section_names = sections::assign_sections(&section_input);

    let mut transcript_segments: Vec<TranscriptSegment> = turns
        .iter()
        .zip(contents)
        .zip(participant_roles.into_iter().zip(section_names))
        .enumerate()
        .map(
            |(index, ((turn, content), (role, section)))| TranscriptSegment {
                segment_id: turns::segment_id(&settings.job_name, index, turn.begin()),
                begin_audio_time: turn.begin(),
                end_audio_time: turn.end(),
                content,
                participant_details: ParticipantDetails {
                    participant_role: role,
                },
                section_details: SectionDetails {
                    section_name: section,
                },
            },
        )
        .collect();
    hold_the_floor(&mut transcript_segments);

    tracing::info!(
        job_name = %settings.job_name,
        items = items.len(),
        segments = transcript_segments.len(),
        "conversation built"
    );
    let mut conversation = Conversation {
        conversation_id: turns::conversation_id(&settings.job_name).to_string(),
        job_name: Some(settings.job_name.clone()),
        job_type: Some(JOB_TYPE.to_string()),
        session_id: None,
        language_code: LANGUAGE_CODE.to_string(),
        clinical_insights: Vec::new(),
        transcript_items: items,
        transcript_segments,
    };
    if let Some(filter) = &settings.vocabulary.filter {
        filter.apply_to_conversation(&mut conversation);
    }
    conversation
}

/// Longest pause between two segments of one participant that still counts as theirs.
const FLOOR_PAUSE_S: f64 = 1.5;

/// A participant's consecutive segments tile the time they hold the floor: a short pause
/// between two of their sentences ends the first segment where the second begins, so a
/// reviewer's click anywhere in that stretch lands on that participant.
fn hold_the_floor(segments: &mut [TranscriptSegment]) {
    for index in 1..segments.len() {
        let (before, after) = segments.split_at_mut(index);
        let (previous, next) = (&mut before[index - 1], &after[0]);
        let same = previous.participant_details.participant_role
            == next.participant_details.participant_role;
        let pause = next.begin_audio_time - previous.end_audio_time;
        if same && pause > 0.0 && pause <= FLOOR_PAUSE_S {
            previous.end_audio_time = next.begin_audio_time;
        }
    }
}

/// Folds patients beyond `max_speakers` participants into `PATIENT_0` (diarization may find
/// more clusters than were asked for; clinicians are never folded).
fn cap_participants(roles: &mut [ParticipantRole], max_speakers: u8) {
    let clinicians = roles
        .iter()
        .filter(|r| r.kind == RoleKind::Clinician)
        .map(|r| r.index)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let patient_slots = (max_speakers as usize).saturating_sub(clinicians).max(1);
    for role in roles.iter_mut() {
        if role.kind == RoleKind::Patient && role.index as usize >= patient_slots {
            *role = ParticipantRole::PATIENT_0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::TranscriptSection;

    fn settings() -> ConversationSettings {
        ConversationSettings {
            job_name: "visit-001".into(),
            ..ConversationSettings::default()
        }
    }

    fn token(text: &str, kind: TokenKind, start: f64, end: f64) -> SpokenToken {
        SpokenToken {
            text: text.into(),
            kind,
            start,
            end,
            confidence: if kind == TokenKind::Word { 0.9 } else { 0.0 },
            channel: None,
            speaker: None,
            starts_segment: false,
        }
    }

    /// "How are you? I've had headaches." — two speakers by diarization cluster.
    fn recognition(speakers: [Option<u16>; 2], channels: [Option<u16>; 2]) -> Recognition {
        let mut tokens = vec![
            token("What", TokenKind::Word, 0.1, 0.3),
            token("brings", TokenKind::Word, 0.3, 0.6),
            token("you", TokenKind::Word, 0.6, 0.8),
            token("in", TokenKind::Word, 0.8, 1.0),
            token("?", TokenKind::Punctuation, 1.0, 1.0),
            token("I've", TokenKind::Word, 1.6, 1.8),
            token("had", TokenKind::Word, 1.8, 2.0),
            token("headaches", TokenKind::Word, 2.0, 2.6),
            token(".", TokenKind::Punctuation, 2.6, 2.6),
        ];
        for (i, t) in tokens.iter_mut().enumerate() {
            let who = usize::from(i >= 5);
            t.speaker = speakers[who];
            t.channel = channels[who];
        }
        Recognition {
            tokens,
            duration_seconds: 3.0,
        }
    }

    #[test]
    fn one_speakers_segments_tile_short_pauses_but_not_long_ones_or_other_speakers() {
        let mut tokens = Vec::new();
        // Speaker 0: two sentences 0.5 s apart, then speaker 1 after 0.6 s, then speaker 1
        // again after 3 s.
        for (text, start, speaker) in [
            ("Hello", 0.0, 0),
            ("there", 1.1, 0),
            ("Hi", 2.1, 1),
            ("again", 5.4, 1),
        ] {
            let mut word = token(text, TokenKind::Word, start, start + 0.4);
            word.speaker = Some(speaker);
            tokens.push(word);
            let mut stop = token(".", TokenKind::Punctuation, start + 0.4, start + 0.4);
            stop.speaker = Some(speaker);
            tokens.push(stop);
        }
        let c = conversation_from_recognition(
            &Recognition {
                tokens,
                duration_seconds: 6.0,
            },
            &settings(),
        );
        let spans: Vec<(f64, f64)> = c
            .transcript_segments
            .iter()
            .map(|s| {
                let round = |t: f64| (t * 100.0).round() / 100.0;
                (round(s.begin_audio_time), round(s.end_audio_time))
            })
            .collect();
        assert_eq!(spans, [(0.0, 1.1), (1.1, 1.5), (2.1, 2.5), (5.4, 5.8)]);
    }

    #[test]
    fn silence_gives_an_empty_valid_conversation() {
        let c = conversation_from_recognition(&Recognition::default(), &settings());
        assert!(c.transcript_items.is_empty() && c.transcript_segments.is_empty());
        assert_eq!(c.job_type.as_deref(), Some("ASYNC"));
        assert_eq!(
            c.conversation_id,
            turns::conversation_id("visit-001").to_string()
        );
    }

    #[test]
    fn recognition_with_diarization_builds_items_segments_and_roles() {
        let c =
            conversation_from_recognition(&recognition([Some(4), Some(9)], [None; 2]), &settings());
        assert_eq!(c.transcript_items.len(), 9);
        assert_eq!(c.transcript_items[4].item_type, ItemType::Punctuation);
        assert_eq!(c.transcript_items[4].confidence(), 0.0);
        assert_eq!(c.transcript_items[0].confidence(), 0.9);
        let segs = &c.transcript_segments;
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].content, "What brings you in?");
        assert_eq!(
            (segs[0].begin_audio_time, segs[0].end_audio_time),
            (0.1, 1.0)
        );
        assert_eq!(segs[1].content, "I've had headaches.");
        assert_eq!(
            segs[0].participant_details.participant_role,
            ParticipantRole::CLINICIAN_0
        );
        assert_eq!(
            segs[1].participant_details.participant_role,
            ParticipantRole::PATIENT_0
        );
        // Same input, same ids.
        let again =
            conversation_from_recognition(&recognition([Some(4), Some(9)], [None; 2]), &settings());
        assert_eq!(again, c);
    }

    #[test]
    fn channel_identification_uses_the_channel_map_even_against_the_text() {
        let settings = ConversationSettings {
            channel_identification: true,
            channel_roles: vec![(0, RoleKind::Patient), (1, RoleKind::Clinician)],
            ..settings()
        };
        let c =
            conversation_from_recognition(&recognition([None; 2], [Some(0), Some(1)]), &settings);
        let roles: Vec<_> = c
            .transcript_segments
            .iter()
            .map(|s| s.participant_details.participant_role)
            .collect();
        assert_eq!(
            roles,
            [ParticipantRole::PATIENT_0, ParticipantRole::CLINICIAN_0]
        );
    }

    #[test]
    fn mono_audio_without_speakers_still_gets_alternating_roles() {
        let c = conversation_from_recognition(&recognition([None; 2], [None; 2]), &settings());
        let roles: Vec<_> = c
            .transcript_segments
            .iter()
            .map(|s| s.participant_details.participant_role.to_string())
            .collect();
        assert_eq!(roles, ["CLINICIAN_0", "PATIENT_0"]);
    }

    #[test]
    fn extra_patients_fold_into_patient_0() {
        let p2 = ParticipantRole::new(RoleKind::Patient, 2);
        let p1 = ParticipantRole::new(RoleKind::Patient, 1);
        let mut roles = [ParticipantRole::CLINICIAN_0, p1, p2];
        cap_participants(&mut roles, 3);
        assert_eq!(
            roles,
            [ParticipantRole::CLINICIAN_0, p1, ParticipantRole::PATIENT_0]
        );
    }

    #[test]
    fn dialogue_errors_pass_through() {
        let err = conversation_from_dialogue("[doctor] hi\n\nhello", &settings()).unwrap_err();
        assert_eq!(err, DialogueError::MissingLabel { line: 3 });
    }

    #[test]
    fn dialogue_sections_are_filled() {
        let c = conversation_from_dialogue(
            "[doctor] hi , good to see you .\n[patient] hi .\n[doctor] how long have you had the cough ?\n[patient] about two weeks .",
            &settings(),
        )
        .unwrap();
        let names: Vec<_> = c
            .transcript_segments
            .iter()
            .map(|s| s.section_details.section_name.clone())
            .collect();
        assert_eq!(
            names,
            [
                TranscriptSection::Other,
                TranscriptSection::Other,
                TranscriptSection::Subjective,
                TranscriptSection::Subjective
            ]
        );
    }
}
