//! The shared suites over the local adapters: the `JobStore` contract on SQLite, and the job
//! lifecycle over SQLite, files, the in-process queue and the local AES key (the CLI's set).

use std::sync::Arc;

use veriscribe_core::formats::JobSettings;
use veriscribe_core::ports::{PortError, RecognizedAudio, Recognizer, Recording};
use veriscribe_crypto::LocalAesEnvelope;
use veriscribe_lifecycle::contract::{job_store_contract, lifecycle_contract, LifecycleRig};
use veriscribe_lifecycle::{InProcessQueue, OutputLayout};
use veriscribe_local::{FileObjectStore, FileRecordings, SqliteJobStore};

#[tokio::test]
async fn sqlite_keeps_the_job_state_machine() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteJobStore::open(&dir.path().join("jobs.sqlite3")).unwrap();
    job_store_contract(&store, "contract").await;
}

/// Text dialogues need no recognizer: asking it is a failure of the lifecycle.
struct NeverAsked;

impl Recognizer for NeverAsked {
    fn recognise(&self, _: Recording, _: &JobSettings) -> Result<RecognizedAudio, PortError> {
        panic!("a text dialogue was sent to speech recognition")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lifecycle_over_the_local_adapters() {
    let dir = tempfile::tempdir().unwrap();
    let dialogue = dir.path().join("visit.txt");
    std::fs::write(
        &dialogue,
        "[doctor] Hello, what brings you in today?\n\
         [patient] I have had a cough for two weeks and some wheezing at night.\n\
         [doctor] Any fever?\n\
         [patient] No fever.\n\
         [doctor] Your lungs sound clear. Let's start an inhaler and check back in two weeks.\n",
    )
    .unwrap();
    let jobs = Arc::new(SqliteJobStore::open(&dir.path().join("jobs.sqlite3")).unwrap());
    let transcribe_queue = InProcessQueue::new();
    let note_queue = InProcessQueue::new();
    let rig = LifecycleRig {
        jobs,
        handoff: transcribe_queue.clone(),
        recordings: Arc::new(FileRecordings),
        outputs: Arc::new(FileObjectStore::new(dir.path().join("out"))),
        layout: OutputLayout::JobFolders,
        envelope: Arc::new(LocalAesEnvelope::load_or_create(&dir.path().join("key.bin")).unwrap()),
        recognizer: Arc::new(NeverAsked),
        transcribe_queue: transcribe_queue.clone(),
        transcribe_inbox: transcribe_queue,
        note_queue: note_queue.clone(),
        note_inbox: note_queue,
        dialogue_uri: format!("file://{}", dialogue.display()),
        missing_uri: format!("file://{}/gone.wav", dir.path().display()),
        prefix: "local".into(),
    };
    lifecycle_contract(&rig).await;
}
