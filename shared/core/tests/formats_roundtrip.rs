//! The wire format is the contract: the specification's own examples must parse and serialise back
//! to the same JSON.

use serde_json::Value;
use veriscribe_core::formats::*;

/// JSON equality where `0` and `0.0` are the same number (HealthScribe writes both).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(text: &str) -> (Value, Value) {
    let original: Value = serde_json::from_str(text).expect("fixture is JSON");
    let typed: T = serde_json::from_str(text).expect("fixture parses into the Rust type");
    (original, serde_json::to_value(&typed).expect("serialises"))
}

#[test]
fn spec_transcript_example_round_trips() {
    let text = include_str!("fixtures/spec-transcript.json");
    let (original, written) = round_trip::<TranscriptFile>(text);
    assert!(same_json(&original, &written), "{written:#}");

    let file: TranscriptFile = serde_json::from_str(text).unwrap();
    let c = &file.conversation;
    assert_eq!(c.job_type.as_deref(), Some("ASYNC"));
    assert_eq!(c.transcript_items[1].item_type, ItemType::Punctuation);
    assert_eq!(
        c.transcript_segments[1]
            .participant_details
            .participant_role,
        ParticipantRole::PATIENT_0
    );
    assert_eq!(
        c.transcript_segments[0].section_details.section_name,
        TranscriptSection::Other
    );
    assert_eq!(
        c.clinical_insights[0].category,
        EntityCategory::MedicalCondition
    );
    assert_eq!(c.clinical_insights[0].entity_type, EntityType::DxName);
}

#[test]
fn spec_documentation_example_round_trips() {
    let text = include_str!("fixtures/spec-summary.json");
    let (original, written) = round_trip::<ClinicalDocumentationFile>(text);
    assert!(same_json(&original, &written), "{written:#}");
    let file: ClinicalDocumentationFile = serde_json::from_str(text).unwrap();
    let names: Vec<_> = file
        .clinical_documentation
        .sections
        .iter()
        .map(|s| s.section_name.clone())
        .collect();
    assert_eq!(
        names,
        [
            NoteSection::ChiefComplaint,
            NoteSection::HistoryOfPresentIllness,
            NoteSection::Assessment,
            NoteSection::Plan
        ]
    );
}

#[test]
fn insight_with_attributes_round_trips() {
    let (original, written) =
        round_trip::<ClinicalInsight>(include_str!("fixtures/doc-insight.json"));
    assert!(same_json(&original, &written), "{written:#}");
}

#[test]
fn streaming_item_shape_is_read_and_written_in_batch_shape() {
    let item: TranscriptItem =
        serde_json::from_str(include_str!("fixtures/streaming-item.json")).unwrap();
    assert_eq!(item.content(), "Okay");
    assert_eq!(item.confidence(), 0.7925);
    assert_eq!(item.item_type, ItemType::Pronunciation);
    let written = serde_json::to_value(&item).unwrap();
    assert_eq!(written["Type"], "PRONUNCIATION");
    assert_eq!(written["Alternatives"][0]["Content"], "Okay");
}

#[test]
fn small_talk_is_read_as_other_and_unknown_values_survive() {
    let section: TranscriptSection = serde_json::from_str("\"SMALL_TALK\"").unwrap();
    assert_eq!(section, TranscriptSection::Other);
    assert_eq!(serde_json::to_string(&section).unwrap(), "\"OTHER\"");
    let category: EntityCategory = serde_json::from_str("\"SOMETHING_NEW\"").unwrap();
    assert_eq!(category, EntityCategory::Unknown("SOMETHING_NEW".into()));
    assert_eq!(
        serde_json::to_string(&category).unwrap(),
        "\"SOMETHING_NEW\""
    );
}

#[test]
fn participant_roles_parse_and_reject_garbage() {
    for (text, role) in [
        ("CLINICIAN_0", ParticipantRole::CLINICIAN_0),
        ("PATIENT_1", ParticipantRole::new(RoleKind::Patient, 1)),
    ] {
        assert_eq!(text.parse::<ParticipantRole>().unwrap(), role);
        assert_eq!(role.to_string(), text);
    }
    for bad in ["DOCTOR_0", "PATIENT", "PATIENT_x", ""] {
        assert!(bad.parse::<ParticipantRole>().is_err(), "{bad}");
    }
}

#[test]
fn templates_accept_doc_aliases_and_write_api_names() {
    assert_eq!(
        "BH_SOAP".parse::<NoteTemplate>().unwrap(),
        NoteTemplate::BehavioralSoap
    );
    assert_eq!(
        "ph_soap".parse::<NoteTemplate>().unwrap(),
        NoteTemplate::PhysicalSoap
    );
    let from_json: NoteTemplate = serde_json::from_str("\"PH_SOAP\"").unwrap();
    assert_eq!(
        serde_json::to_string(&from_json).unwrap(),
        "\"PHYSICAL_SOAP\""
    );
    assert!("SOAP".parse::<NoteTemplate>().is_err());
    for template in NoteTemplate::ALL {
        assert_eq!(template.as_str().parse::<NoteTemplate>().unwrap(), template);
        assert!(!template.sections().is_empty());
    }
    assert_eq!(NoteTemplate::HistoryAndPhysical.sections().len(), 10);
}

#[test]
fn job_record_round_trips_and_enforces_its_state_machine() {
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let mut job = MedicalScribeJob::new_queued(
        "visit-1",
        "s3://bucket/recordings/visit 1.wav",
        JobSettings::default(),
        vec![],
        now,
    );
    let json = serde_json::to_value(&job).unwrap();
    assert_eq!(json["MedicalScribeJobStatus"], "QUEUED");
    assert_eq!(json["Settings"]["MaxSpeakerLabels"], 2);
    assert_eq!(
        json["Settings"]["ClinicalNoteGenerationSettings"]["NoteTemplate"],
        "HISTORY_AND_PHYSICAL"
    );
    let back: MedicalScribeJob = serde_json::from_value(json).unwrap();
    assert_eq!(back, job);

    let output = MedicalScribeOutput {
        transcript_file_uri: "file:///o/transcript.json".into(),
        clinical_document_uri: "file:///o/summary.json.encrypted".into(),
    };
    assert!(
        !StatusChange::complete(output.clone(), now).apply(&mut job),
        "QUEUED cannot complete"
    );
    assert!(StatusChange::start(now).apply(&mut job));
    assert!(
        StatusChange::start(now).apply(&mut job),
        "a retried stage may pick the job up"
    );
    assert!(StatusChange::complete(output, now).apply(&mut job));
    assert_eq!(job.medical_scribe_job_status, JobStatus::Completed);
    assert!(
        !StatusChange::fail("late failure", now).apply(&mut job),
        "COMPLETED is final"
    );
    assert!(job.failure_reason.is_none());
}

#[test]
fn settings_are_validated_like_healthscribe() {
    let mut s = JobSettings::default();
    assert!(s.validate(&[]).is_ok());
    s.max_speaker_labels = Some(11);
    assert_eq!(
        s.validate(&[]),
        Err(SettingsError::MaxSpeakerLabelsOutOfRange(11))
    );
    s.max_speaker_labels = None;
    assert_eq!(s.validate(&[]), Err(SettingsError::MissingMaxSpeakerLabels));
    s.channel_identification = true;
    assert_eq!(s.validate(&[]), Err(SettingsError::SpeakerModeNotExclusive));
    s.show_speaker_labels = false;
    assert_eq!(
        s.validate(&[]),
        Err(SettingsError::ChannelDefinitionsMismatch)
    );
    assert!(s.validate(&default_channel_definitions()).is_ok());
    assert!(validate_job_name("visit_2024-06.01").is_ok());
    assert!(validate_job_name("visit 1").is_err());
    assert!(validate_job_name("").is_err());
}
