//! A synthesized ACI-Bench-style dialogue (lower-cased, tokenised with spaces) through the whole
//! conversation stage, checked as HealthScribe transcript JSON.

use std::collections::HashSet;

use serde_json::Value;
use veriscribe_core::clinical::pipeline::{conversation_from_dialogue, ConversationSettings};
use veriscribe_core::formats::{Conversation, TranscriptFile};

const DIALOGUE: &str = "\
[doctor] hi , maria . how are you ?
[patient] hi , good to see you .

[doctor] so what brings you in today ?
[patient] i've had a cough for about two weeks and some chest tightness at night .
[doctor] okay . any fever or chills ?
[patient] no .
[doctor] all right , let me take a listen to your lungs . take a deep breath for me .
[doctor] so on exam , i hear some wheezing in both lungs . your oxygen is ninety eight percent .
[doctor] i think you have a mild asthma flare . i'm going to prescribe an albuterol inhaler , two puffs every four hours as needed .
[patient] okay .
[doctor] let's follow up in two weeks . any questions ?
[patient] no , thank you . bye .
";

fn settings(job: &str) -> ConversationSettings {
    ConversationSettings {
        job_name: job.into(),
        ..ConversationSettings::default()
    }
}

fn build(job: &str, text: &str) -> Conversation {
    conversation_from_dialogue(text, &settings(job)).expect("valid dialogue")
}

#[test]
fn dialogue_becomes_a_healthscribe_transcript() {
    let conversation = build("aci-style-001", DIALOGUE);
    let json = serde_json::to_value(TranscriptFile {
        conversation: conversation.clone(),
    })
    .unwrap();
    let c = &json["Conversation"];
    assert_eq!(c["JobName"], "aci-style-001");
    assert_eq!(c["JobType"], "ASYNC");
    assert_eq!(c["LanguageCode"], "en-US");
    assert!(c.get("SessionId").is_none());
    assert_eq!(c["ConversationId"].as_str().unwrap().len(), 36);
    assert_eq!(c["ClinicalInsights"], Value::Array(vec![]));

    let segments = c["TranscriptSegments"].as_array().unwrap();
    assert_eq!(segments.len(), 12);
    let ids: HashSet<&str> = segments
        .iter()
        .map(|s| s["SegmentId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 12, "segment ids are unique");
    assert_eq!(segments[0]["Content"], "hi, maria. how are you?");
    let roles: Vec<&str> = segments
        .iter()
        .map(|s| s["ParticipantDetails"]["ParticipantRole"].as_str().unwrap())
        .collect();
    assert_eq!(
        &roles[..4],
        ["CLINICIAN_0", "PATIENT_0", "CLINICIAN_0", "PATIENT_0"]
    );
    let sections: Vec<&str> = segments
        .iter()
        .map(|s| s["SectionDetails"]["SectionName"].as_str().unwrap())
        .collect();
    assert_eq!(
        sections,
        [
            "OTHER",
            "OTHER",
            "SUBJECTIVE",
            "SUBJECTIVE",
            "SUBJECTIVE",
            "SUBJECTIVE",
            "OBJECTIVE",
            "OBJECTIVE",
            "ASSESSMENT_AND_PLAN",
            "ASSESSMENT_AND_PLAN",
            "ASSESSMENT_AND_PLAN",
            "OTHER",
        ]
    );

    let mut previous_end = 0.0;
    for segment in segments {
        let begin = segment["BeginAudioTime"].as_f64().unwrap();
        let end = segment["EndAudioTime"].as_f64().unwrap();
        assert!(
            begin >= previous_end && end > begin,
            "segments are timed in order"
        );
        previous_end = end;
    }

    let items = c["TranscriptItems"].as_array().unwrap();
    let words = items
        .iter()
        .filter(|i| i["Type"] == "PRONUNCIATION")
        .count();
    let marks: Vec<&Value> = items
        .iter()
        .filter(|i| i["Type"] == "PUNCTUATION")
        .collect();
    assert_eq!(words + marks.len(), items.len());
    assert!(marks
        .iter()
        .all(|m| m["Alternatives"][0]["Confidence"] == 0.0));
    assert_eq!(items[0]["Alternatives"][0]["Content"], "hi");
    assert_eq!(items[1]["Alternatives"][0]["Content"], ",");
    // Every segment's words are the items, in order.
    let rebuilt: Vec<&str> = items
        .iter()
        .filter(|i| i["Type"] == "PRONUNCIATION")
        .map(|i| i["Alternatives"][0]["Content"].as_str().unwrap())
        .collect();
    let from_segments: Vec<String> = segments
        .iter()
        .flat_map(|s| {
            s["Content"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .map(|w| w.trim_matches([',', '.', '?']).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(rebuilt, from_segments);

    // The JSON reads back to the same conversation.
    let back: TranscriptFile = serde_json::from_value(json).unwrap();
    assert_eq!(back.conversation, conversation);
}

#[test]
fn reruns_give_the_same_ids_and_other_jobs_do_not() {
    let a = build("job-a", DIALOGUE);
    assert_eq!(a, build("job-a", DIALOGUE));
    let b = build("job-b", DIALOGUE);
    assert_ne!(a.conversation_id, b.conversation_id);
    assert_ne!(
        a.transcript_segments[0].segment_id,
        b.transcript_segments[0].segment_id
    );
}

#[test]
fn anonymous_speakers_get_roles_from_what_they_say() {
    let anonymous = DIALOGUE
        .replace("[doctor]", "[speaker_1]")
        .replace("[patient]", "[speaker_0]");
    let named = build("job", DIALOGUE);
    let inferred = build("job", &anonymous);
    let roles = |c: &Conversation| {
        c.transcript_segments
            .iter()
            .map(|s| s.participant_details.participant_role)
            .collect::<Vec<_>>()
    };
    assert_eq!(roles(&inferred), roles(&named));
}
