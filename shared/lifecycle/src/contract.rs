//! Test suites every adapter set runs (feature `contract-tests`): the `JobStore` state machine
//! (SQLite, DynamoDB on moto, the in-memory fake), and the lifecycle itself over a whole set of
//! ports (local adapters and AWS adapters on moto). They panic with what broke.

use std::sync::Arc;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use veriscribe_core::formats::{
    JobSettings, JobStatus, MedicalScribeJob, MedicalScribeOutput, OutputFormat, StatusChange,
};
use veriscribe_core::ports::{
    Envelope, HandoffLedger, JobStore, NoEvents, ObjectStore, PortError, Recognizer,
    RecordingSource, StepMessage, StepQueue,
};
use veriscribe_core::stages::{open_documentation, DOCUMENTATION_FILE, TRANSCRIPT_FILE};

use crate::in_process::InProcessQueue;
use crate::{submit, NoteStage, OutputLayout, StepOutcome, Submitted, TranscribeStage};

fn job(name: &str, created: OffsetDateTime) -> MedicalScribeJob {
    MedicalScribeJob::new_queued(
        name,
        format!("s3://bucket/recordings/{name}.wav"),
        JobSettings::default(),
        Vec::new(),
        created,
    )
}

fn output(name: &str) -> MedicalScribeOutput {
    MedicalScribeOutput {
        transcript_file_uri: format!("s3://out/{name}/transcript.json"),
        clinical_document_uri: format!("s3://out/{name}/summary.json.encrypted"),
    }
}

fn expect_conflict(result: Result<MedicalScribeJob, PortError>, actual: JobStatus, what: &str) {
    match result {
        Err(PortError::StateConflict { actual: got, .. }) => {
            assert_eq!(got, actual, "{what}: the conflict names the actual status")
        }
        other => panic!("{what}: expected a StateConflict ({actual}), got {other:?}"),
    }
}

/// The state machine every `JobStore` keeps. `prefix` makes the job names unique to this run
/// (stores such as moto's keep state between runs).
pub async fn job_store_contract(store: &dyn JobStore, prefix: &str) {
    let now = OffsetDateTime::now_utc();
    let name = |n: &str| format!("{prefix}-{n}");

    // Create twice: the second is refused and changes nothing.
    let first = job(&name("a"), now - Duration::seconds(30));
    store.create(&first).await.expect("create");
    let mut again = first.clone();
    again.media.media_file_uri = "s3://bucket/other.wav".into();
    match store.create(&again).await {
        Err(PortError::AlreadyExists(_)) => {}
        other => panic!("create twice: expected AlreadyExists, got {other:?}"),
    }
    let stored = store.get(&name("a")).await.expect("get");
    assert_eq!(
        stored.media, first.media,
        "create twice left the first record"
    );
    assert_eq!(stored.medical_scribe_job_status, JobStatus::Queued);

    // Unknown jobs.
    assert!(matches!(
        store.get(&name("missing")).await,
        Err(PortError::NotFound(_))
    ));
    assert!(matches!(
        store
            .update(&name("missing"), &StatusChange::start(now))
            .await,
        Err(PortError::NotFound(_))
    ));

    // QUEUED cannot complete; it starts, and a retried step may start it again.
    expect_conflict(
        store
            .update(&name("a"), &StatusChange::complete(output("a"), now))
            .await,
        JobStatus::Queued,
        "complete a QUEUED job",
    );
    let started = store
        .update(&name("a"), &StatusChange::start(now))
        .await
        .expect("start");
    assert_eq!(started.medical_scribe_job_status, JobStatus::InProgress);
    assert!(started.start_time.is_some());
    store
        .update(&name("a"), &StatusChange::start(now))
        .await
        .expect("IN_PROGRESS -> IN_PROGRESS (a retried step)");

    // Complete once; then every change is refused and the record stays.
    let done = store
        .update(&name("a"), &StatusChange::complete(output("a"), now))
        .await
        .expect("complete");
    assert_eq!(done.medical_scribe_job_status, JobStatus::Completed);
    assert_eq!(done.medical_scribe_output, Some(output("a")));
    assert!(done.completion_time.is_some());
    expect_conflict(
        store
            .update(&name("a"), &StatusChange::complete(output("x"), now))
            .await,
        JobStatus::Completed,
        "settle twice",
    );
    expect_conflict(
        store
            .update(&name("a"), &StatusChange::fail("late", now))
            .await,
        JobStatus::Completed,
        "fail after complete",
    );
    expect_conflict(
        store.update(&name("a"), &StatusChange::start(now)).await,
        JobStatus::Completed,
        "start a settled job",
    );
    let stored = store.get(&name("a")).await.unwrap();
    assert_eq!(stored.medical_scribe_output, Some(output("a")));
    assert_eq!(stored.failure_reason, None);

    // FAILED straight from QUEUED (a rejected upload), with its reason; final too.
    store
        .create(&job(&name("b"), now - Duration::seconds(20)))
        .await
        .unwrap();
    let failed = store
        .update(&name("b"), &StatusChange::fail("bad audio", now))
        .await
        .expect("fail");
    assert_eq!(failed.medical_scribe_job_status, JobStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some("bad audio"));
    expect_conflict(
        store
            .update(&name("b"), &StatusChange::fail("again", now))
            .await,
        JobStatus::Failed,
        "fail twice",
    );
    expect_conflict(
        store.update(&name("b"), &StatusChange::start(now)).await,
        JobStatus::Failed,
        "start a failed job",
    );
    assert_eq!(
        store
            .get(&name("b"))
            .await
            .unwrap()
            .failure_reason
            .as_deref(),
        Some("bad audio"),
        "the first reason stays"
    );

    // Settings (a custom template included) survive the round trip.
    let mut c = job(&name("c"), now - Duration::seconds(10));
    c.settings.output_format = OutputFormat::HealthScribe;
    c.settings.max_speaker_labels = Some(5);
    c.settings.custom_template = Some(
        veriscribe_core::clinical::custom_template::parse_custom_template(
            "base_template: DAP\nsections:\n  - header: Plan\n    instruction: Next steps\n",
        )
        .expect("a valid template"),
    );
    store.create(&c).await.unwrap();
    assert_eq!(store.get(&name("c")).await.unwrap().settings, c.settings);

    // List: newest first, by status, limited.
    let mine = |jobs: Vec<MedicalScribeJob>| -> Vec<String> {
        jobs.into_iter()
            .map(|j| j.medical_scribe_job_name)
            .filter(|n| n.starts_with(prefix))
            .collect()
    };
    let all = mine(store.list(None, 1000).await.unwrap());
    assert_eq!(all, vec![name("c"), name("b"), name("a")], "newest first");
    let failed = mine(store.list(Some(JobStatus::Failed), 1000).await.unwrap());
    assert_eq!(failed, vec![name("b")]);
    assert!(store.list(None, 1).await.unwrap().len() <= 1, "limit");
}

/// Reads the messages a step sent (an SQS receive and delete on AWS, a pop locally).
#[async_trait]
pub trait Inbox: Send + Sync {
    async fn take(&self) -> Vec<StepMessage>;
}

#[async_trait]
impl Inbox for InProcessQueue {
    async fn take(&self) -> Vec<StepMessage> {
        std::iter::from_fn(|| self.pop()).collect()
    }
}

/// One adapter set. `dialogue_uri` names a stored text dialogue (`.txt`), `missing_uri` a
/// recording that does not exist; the recognizer is never asked for a text dialogue.
pub struct LifecycleRig {
    pub jobs: Arc<dyn JobStore>,
    pub handoff: Arc<dyn HandoffLedger>,
    pub recordings: Arc<dyn RecordingSource>,
    pub outputs: Arc<dyn ObjectStore>,
    pub layout: OutputLayout,
    pub envelope: Arc<dyn Envelope>,
    pub recognizer: Arc<dyn Recognizer>,
    pub transcribe_queue: Arc<dyn StepQueue>,
    pub transcribe_inbox: Arc<dyn Inbox>,
    pub note_queue: Arc<dyn StepQueue>,
    pub note_inbox: Arc<dyn Inbox>,
    pub dialogue_uri: String,
    pub missing_uri: String,
    /// Unique to this run.
    pub prefix: String,
}

/// The lifecycle over one adapter set: submit once, transcribe, note last, settle; stale and
/// repeated messages change nothing; a missing recording fails the job with a reason.
pub async fn lifecycle_contract(rig: &LifecycleRig) {
    let transcribe = TranscribeStage {
        jobs: rig.jobs.clone(),
        recordings: rig.recordings.clone(),
        outputs: rig.outputs.clone(),
        layout: rig.layout,
        note_queue: rig.note_queue.clone(),
        recognizer: rig.recognizer.clone(),
        events: Arc::new(NoEvents),
    };
    let note = NoteStage {
        jobs: rig.jobs.clone(),
        outputs: rig.outputs.clone(),
        layout: rig.layout,
        envelope: rig.envelope.clone(),
        events: Arc::new(NoEvents),
    };
    let now = OffsetDateTime::now_utc();
    let name = format!("{}-ok", rig.prefix);
    let mut good = job(&name, now);
    good.media.media_file_uri = rig.dialogue_uri.clone();
    good.settings
        .clinical_note_generation_settings
        .note_template = veriscribe_core::formats::NoteTemplate::Birp;

    // Submitted once, handed off once.
    let submitted = submit(
        &*rig.jobs,
        &*rig.handoff,
        &*rig.transcribe_queue,
        &NoEvents,
        &good,
    )
    .await
    .expect("submit");
    assert_eq!(
        submitted,
        Submitted::Queued {
            job_name: name.clone()
        }
    );
    let again = submit(
        &*rig.jobs,
        &*rig.handoff,
        &*rig.transcribe_queue,
        &NoEvents,
        &good,
    )
    .await
    .expect("submit again");
    assert_eq!(
        again,
        Submitted::Duplicate {
            job_name: name.clone(),
            resent: false
        }
    );
    let messages = rig.transcribe_inbox.take().await;
    assert_eq!(messages, vec![StepMessage::new(&name)], "one hand-off");

    // The note step before the transcript: retried, not failed.
    let early = note
        .run(&name)
        .await
        .expect_err("QUEUED job at the note step");
    assert!(early.is_retryable(), "{early}");

    assert_eq!(
        transcribe.run(&name).await.expect("transcribe"),
        StepOutcome::Done
    );
    let transcript_key = rig.layout.key(&name, TRANSCRIPT_FILE);
    let note_key = rig.layout.key(&name, DOCUMENTATION_FILE);
    rig.outputs
        .get(&transcript_key)
        .await
        .expect("transcript written");
    assert!(
        matches!(
            rig.outputs.get(&note_key).await,
            Err(PortError::NotFound(_))
        ),
        "no note before the note step"
    );
    assert_eq!(rig.note_inbox.take().await, vec![StepMessage::new(&name)]);

    assert_eq!(note.run(&name).await.expect("note"), StepOutcome::Done);
    let finished = rig.jobs.get(&name).await.unwrap();
    assert_eq!(finished.medical_scribe_job_status, JobStatus::Completed);
    let output = finished.medical_scribe_output.expect("output URIs");
    assert_eq!(output.clinical_document_uri, rig.outputs.uri(&note_key));
    let sealed = rig.outputs.get(&note_key).await.expect("note written");
    let documentation = open_documentation(&sealed, &name, &*rig.envelope)
        .await
        .expect("the note opens for its own job");
    let sections: Vec<_> = documentation
        .clinical_documentation
        .sections
        .iter()
        .map(|s| s.section_name.clone())
        .collect();
    assert!(!sections.is_empty(), "a note with sections");
    assert!(
        open_documentation(&sealed, "another-job", &*rig.envelope)
            .await
            .is_err(),
        "bound to its job"
    );

    // Stale redeliveries of either message change nothing.
    assert_eq!(
        transcribe.run(&name).await.unwrap(),
        StepOutcome::AlreadyFinished {
            status: JobStatus::Completed
        }
    );
    assert_eq!(
        note.run(&name).await.unwrap(),
        StepOutcome::AlreadyFinished {
            status: JobStatus::Completed
        }
    );
    assert!(rig.note_inbox.take().await.is_empty());
    assert_eq!(rig.outputs.get(&note_key).await.unwrap(), sealed);

    // A recording that is gone fails its job with a reason, and nothing is written.
    let gone_name = format!("{}-gone", rig.prefix);
    let mut gone = job(&gone_name, now);
    gone.media.media_file_uri = rig.missing_uri.clone();
    submit(
        &*rig.jobs,
        &*rig.handoff,
        &*rig.transcribe_queue,
        &NoEvents,
        &gone,
    )
    .await
    .unwrap();
    rig.transcribe_inbox.take().await;
    match transcribe.run(&gone_name).await.unwrap() {
        StepOutcome::Failed { reason } => assert!(reason.contains("no longer exists"), "{reason}"),
        other => panic!("a missing recording: {other:?}"),
    }
    let failed = rig.jobs.get(&gone_name).await.unwrap();
    assert_eq!(failed.medical_scribe_job_status, JobStatus::Failed);
    assert!(matches!(
        rig.outputs
            .get(&rig.layout.key(&gone_name, TRANSCRIPT_FILE))
            .await,
        Err(PortError::NotFound(_))
    ));
    assert!(rig.note_inbox.take().await.is_empty());
}
