//! The whole pipeline through the three real handlers and real SDK clients against the moto
//! server: upload → start-job → transcribe (whisper.cpp, the default model) → generate-note
//! (AWS Encryption SDK + moto's KMS) → COMPLETED. Needs `AWS_ENDPOINT_URL` (scripts/test.sh
//! starts moto), espeak-ng + sox (to speak the test dialogue) and the fetched model.
//!
//! Every test creates its own bucket, table, queues and key (moto keeps state between runs).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use aws_config::SdkConfig;
use lambda_runtime::{Context, LambdaEvent};
use veriscribe_aws::clients::{dynamodb_client, s3_client};
use veriscribe_aws::stages::{StartOutcome, StepOutcome};
use veriscribe_aws::testing::moto;
use veriscribe_aws::{Config, DynamoJobStore};
use veriscribe_core::formats::{JobStatus, TranscriptFile};
use veriscribe_core::ports::{artifact_context, Envelope, JobStore};
use veriscribe_core::stages::{
    open_codes, open_documentation, CODES_FILE, DOCUMENTATION_FILE, TRANSCRIPT_FILE,
};
use veriscribe_crypto::{aws_sdk_kms, KmsEnvelope};

const DIALOGUE: &str = "\
[doctor] Good morning. What brings you in today?
[patient] I have had a cough and a sore throat for about five days.
[doctor] Any fever or trouble breathing?
[patient] A mild fever, and I feel tired.
";

/// Every log line of this test binary, JSON, as the functions write them in Lambda.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber =
            veriscribe_aws::telemetry::json_subscriber(move || BufferWriter(writer.clone()));
        tracing::subscriber::set_global_default(subscriber)
            .expect("one subscriber per test binary");
        buffer
    })
    .clone()
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model_path() -> PathBuf {
    let path = veriscribe_model::default_model_dir().join(veriscribe_model::DEFAULT_MODEL_FILE);
    assert!(
        path.exists(),
        "the speech model {} is missing; fetch it with `cargo run -p veriscribe -- model fetch`",
        path.display()
    );
    path
}

/// The spoken dialogue (espeak-ng + sox through scripts/make-sample-audio.sh), made once.
fn speech_wav() -> Vec<u8> {
    static WAV: OnceLock<Vec<u8>> = OnceLock::new();
    WAV.get_or_init(|| {
        let dir = std::env::temp_dir().join(moto::unique("veriscribe-moto-audio"));
        std::fs::create_dir_all(&dir).unwrap();
        let dialogue = dir.join("dialogue.txt");
        std::fs::write(&dialogue, DIALOGUE).unwrap();
        let wav = dir.join("dialogue.wav");
        let status = std::process::Command::new("bash")
            .arg(workspace_root().join("scripts/make-sample-audio.sh"))
            .arg(&dialogue)
            .arg(&wav)
            .status()
            .expect("run scripts/make-sample-audio.sh (needs bash, espeak-ng and sox)");
        assert!(
            status.success(),
            "make-sample-audio.sh failed (are espeak-ng and sox installed?)"
        );
        let bytes = std::fs::read(&wav).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        bytes
    })
    .clone()
}

fn recognizer() -> Arc<transcribe::handler::WhisperRecognizer> {
    static ENGINE: OnceLock<Arc<transcribe::handler::WhisperRecognizer>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            Arc::new(transcribe::handler::WhisperRecognizer::load(&model_path(), 14_400.0).unwrap())
        })
        .clone()
}

/// One stack's worth of resources, and the three functions built by their real `build`.
struct Stack {
    sdk: SdkConfig,
    recordings_bucket: String,
    output_bucket: String,
    transcribe_queue: (String, String),
    note_queue: (String, String),
    key_arn: String,
    jobs: DynamoJobStore,
    start: veriscribe_aws::stages::StartJob,
    transcribe: transcribe::handler::Transcribe,
    note: generate_note::handler::GenerateNote,
}

async fn create_key(sdk: &SdkConfig) -> String {
    aws_sdk_kms::Client::new(sdk)
        .create_key()
        .description("veriscribe moto test")
        .send()
        .await
        .expect("create KMS key on moto")
        .key_metadata
        .and_then(|m| m.arn)
        .expect("key ARN")
}

async fn stack(key_arn: Option<String>) -> Stack {
    let _ = captured_logs();
    let sdk = moto::sdk_config().await;
    let recordings_bucket = moto::unique("vs-rec");
    let output_bucket = moto::unique("vs-out");
    let table = moto::unique("vs-jobs");
    moto::create_bucket(&sdk, &recordings_bucket).await;
    moto::create_bucket(&sdk, &output_bucket).await;
    moto::create_jobs_table(&sdk, &table).await;
    let transcribe_queue = moto::create_queue(&sdk, &moto::unique("vs-transcribe")).await;
    let note_queue = moto::create_queue(&sdk, &moto::unique("vs-note")).await;
    let key_arn = match key_arn {
        Some(arn) => arn,
        None => create_key(&sdk).await,
    };
    let env = HashMap::from([
        ("JOBS_TABLE", table.clone()),
        ("OUTPUT_BUCKET", output_bucket.clone()),
        ("TRANSCRIBE_QUEUE_URL", transcribe_queue.0.clone()),
        ("NOTE_QUEUE_URL", note_queue.0.clone()),
        ("KMS_KEY_ID", key_arn.clone()),
        ("MAX_AUDIO_BYTES", "50000000".to_string()),
    ]);
    let config = Config::from_lookup(|name| env.get(name).cloned()).unwrap();
    Stack {
        jobs: DynamoJobStore::new(dynamodb_client(&sdk), &table, 90),
        start: start_job::handler::build(&config, &sdk).unwrap(),
        transcribe: transcribe::handler::build(&config, &sdk, recognizer()).unwrap(),
        note: generate_note::handler::build(&config, &sdk).await.unwrap(),
        sdk,
        recordings_bucket,
        output_bucket,
        transcribe_queue,
        note_queue,
        key_arn,
    }
}

impl Stack {
    /// Puts the object and returns the S3 event real S3 would send for it.
    async fn upload(
        &self,
        key: &str,
        bytes: Vec<u8>,
    ) -> LambdaEvent<aws_lambda_events::event::s3::S3Event> {
        let size = bytes.len() as u64;
        let put = s3_client(&self.sdk)
            .put_object()
            .bucket(&self.recordings_bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
        let event = moto::s3_put_event(&self.recordings_bucket, key, put.e_tag().unwrap(), size);
        LambdaEvent::new(event, Context::default())
    }

    async fn start_job(
        &self,
        event: LambdaEvent<aws_lambda_events::event::s3::S3Event>,
    ) -> Vec<StartOutcome> {
        start_job::handler::handle(&self.start, event)
            .await
            .unwrap()
    }

    /// Delivers what is on the transcribe queue; returns (messages, batch failures).
    async fn run_transcribe(&self) -> (usize, usize) {
        let event = moto::drain_as_event(
            &self.sdk,
            &self.transcribe_queue.0,
            &self.transcribe_queue.1,
        )
        .await;
        let count = event.records.len();
        let response = transcribe::handler::handle(
            &self.transcribe,
            LambdaEvent::new(event, Context::default()),
        )
        .await
        .unwrap();
        (count, response.batch_item_failures.len())
    }

    async fn run_note(&self) -> (usize, usize) {
        let event = moto::drain_as_event(&self.sdk, &self.note_queue.0, &self.note_queue.1).await;
        let count = event.records.len();
        let response =
            generate_note::handler::handle(&self.note, LambdaEvent::new(event, Context::default()))
                .await
                .unwrap();
        (count, response.batch_item_failures.len())
    }

    async fn output_keys(&self) -> Vec<String> {
        s3_client(&self.sdk)
            .list_objects_v2()
            .bucket(&self.output_bucket)
            .send()
            .await
            .unwrap()
            .contents
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| o.key)
            .collect()
    }

    async fn output(&self, key: &str) -> Vec<u8> {
        s3_client(&self.sdk)
            .get_object()
            .bucket(&self.output_bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
            .to_vec()
    }

    async fn job_count(&self) -> usize {
        self.jobs.list(None, 100).await.unwrap().len()
    }
}

fn job_name_of(outcome: &StartOutcome) -> String {
    match outcome {
        StartOutcome::Queued { job_name } | StartOutcome::Rejected { job_name, .. } => {
            job_name.clone()
        }
        other => panic!("expected a new job, got {other:?}"),
    }
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 4)
        .map(str::to_ascii_lowercase)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_to_completed_with_an_encrypted_note_and_idempotent_redelivery() {
    let stack = stack(None).await;
    let mut timings = Vec::new();

    // Two uploads: the first call of each handler is the container's first (cold clients),
    // the second is warm.
    let mut jobs = Vec::new();
    for key in ["recordings/e2e run 1.wav", "recordings/e2e run 2.wav"] {
        let event = stack.upload(key, speech_wav()).await;
        let started = Instant::now();
        let outcome = stack.start_job(event).await;
        let start_ms = started.elapsed().as_millis();
        let job_name = job_name_of(&outcome[0]);
        let started = Instant::now();
        assert_eq!(stack.run_transcribe().await, (1, 0));
        let transcribe_ms = started.elapsed().as_millis();
        let started = Instant::now();
        assert_eq!(stack.run_note().await, (1, 0));
        let note_ms = started.elapsed().as_millis();
        timings.push((start_ms, transcribe_ms, note_ms));
        jobs.push((key, job_name));
    }
    eprintln!(
        "handler times against moto (ms: start-job, transcribe incl. whisper, generate-note): cold {:?}, warm {:?}",
        timings[0], timings[1]
    );

    let (key, job_name) = &jobs[0];
    let job = stack.jobs.get(job_name).await.unwrap();
    assert_eq!(
        job.medical_scribe_job_status,
        JobStatus::Completed,
        "{:?}",
        job.failure_reason
    );
    assert_eq!(
        job.media.media_file_uri,
        format!("s3://{}/{key}", stack.recordings_bucket)
    );
    let output = job.medical_scribe_output.clone().unwrap();
    let transcript_key = format!("output/{job_name}/{TRANSCRIPT_FILE}");
    let note_key = format!("output/{job_name}/{DOCUMENTATION_FILE}");
    assert_eq!(
        output.transcript_file_uri,
        format!("s3://{}/{transcript_key}", stack.output_bucket)
    );
    assert_eq!(
        output.clinical_document_uri,
        format!("s3://{}/{note_key}", stack.output_bucket)
    );
    let transcript: TranscriptFile =
        serde_json::from_slice(&stack.output(&transcript_key).await).unwrap();
    let transcript_text: String = transcript
        .conversation
        .transcript_segments
        .iter()
        .map(|s| format!("{} ", s.content))
        .collect();
    assert!(
        transcript_text.to_lowercase().contains("cough"),
        "recognised: {transcript_text}"
    );

    // The note decrypts with this job's context, and only with it (moto's KMS enforces it).
    let sealed = stack.output(&note_key).await;
    assert!(
        !String::from_utf8_lossy(&sealed)
            .to_lowercase()
            .contains("cough"),
        "note is encrypted"
    );
    let reader = KmsEnvelope::new(aws_sdk_kms::Client::new(&stack.sdk), &stack.key_arn)
        .await
        .unwrap();
    let note = open_documentation(&sealed, job_name, &reader)
        .await
        .unwrap();
    assert!(!note.clinical_documentation.sections.is_empty());
    assert!(open_documentation(&sealed, &jobs[1].1, &reader)
        .await
        .is_err());
    assert!(reader
        .decrypt(&sealed, &artifact_context(job_name, "transcript"))
        .await
        .is_err());
    // The code suggestions are sealed the same way, under their own artifact context.
    let sealed_codes = stack
        .output(&format!("output/{job_name}/{CODES_FILE}"))
        .await;
    let codes = open_codes(&sealed_codes, job_name, &reader).await.unwrap();
    assert_eq!(codes.medical_codes.code_system, "ICD-10-CM");
    assert!(open_documentation(&sealed_codes, job_name, &reader)
        .await
        .is_err());

    // The same S3 event again: still one job per upload, no message, nothing rerun.
    let again = stack.start_job(stack_event(&stack, key).await).await;
    assert_eq!(
        again,
        vec![StartOutcome::Duplicate {
            job_name: job_name.clone(),
            resent: false
        }]
    );
    assert_eq!(stack.job_count().await, 2);
    assert_eq!(stack.run_transcribe().await, (0, 0), "no second message");
    // Stale redeliveries of both stages' messages after COMPLETED: acknowledged no-ops.
    assert_eq!(
        stack.transcribe.stage.run(job_name).await.unwrap(),
        StepOutcome::AlreadyFinished {
            status: JobStatus::Completed
        }
    );
    assert_eq!(
        stack.note.stage.run(job_name).await.unwrap(),
        StepOutcome::AlreadyFinished {
            status: JobStatus::Completed
        }
    );
    assert_eq!(stack.run_note().await, (0, 0));
    let after = stack.jobs.get(job_name).await.unwrap();
    assert_eq!(after, job, "the finished job is unchanged");
    assert_eq!(
        stack.output_keys().await.len(),
        6,
        "three artifacts per job (transcript, note, codes), nothing more"
    );

    // No transcript or note words in any log line of the run.
    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    assert!(logs.contains(job_name.as_str()), "logs carry the job name");
    assert!(
        logs.contains("\"stage\":\"transcribe\""),
        "logs carry the stage"
    );
    let note_json = serde_json::to_string(&note).unwrap();
    let patient_words: BTreeSet<String> = words(&transcript_text)
        .union(&words(&note_json))
        .cloned()
        .collect::<BTreeSet<_>>()
        .difference(&words(&serde_json::to_string(&job).unwrap()))
        .cloned()
        .collect();
    let leaked: Vec<_> = words(&logs)
        .intersection(&patient_words)
        .filter(|w| !LOG_VOCABULARY.contains(&w.as_str()))
        .cloned()
        .collect();
    assert!(
        leaked.is_empty(),
        "transcript/note words in the logs: {leaked:?}"
    );
}

/// Words our own log messages and field names use (they may also occur in a transcript or in
/// the note's JSON field names).
const LOG_VOCABULARY: &[&str] = &[
    "transcript",
    "written",
    "message",
    "processed",
    "outcome",
    "done",
    "stage",
    "sections",
    "sentences",
    "segments",
    "insights",
    "tokens",
    "template",
    "history",
    "physical",
    "seconds",
    "audio",
    "bytes",
    "recognition",
    "real",
    "time",
    "factor",
    "level",
    "info",
    "fields",
    "span",
    "name",
    "elapsed",
    "speech",
    "model",
    "loaded",
    "threads",
    "queued",
    "completed",
    "status",
    "upload",
    "event",
    "duplicate",
    "ignored",
    "already",
    "finished",
    "redelivery",
    "acknowledged",
    "job",
    "timestamp",
    "target",
    "clinical",
    "note",
    "false",
    "true",
    "true",
    "summary",
    "content",
    "participant",
    "role",
    "clinician",
    "patient",
    "section",
    "name",
    "evidence",
    "links",
    "segment",
    "sectionname",
    "transcriptsegmentid",
    "evidencelinks",
    "summarizedsegment",
    "clinicaldocumentation",
    "sectionsentences",
    "with",
    "from",
];

async fn stack_event(
    stack: &Stack,
    key: &str,
) -> LambdaEvent<aws_lambda_events::event::s3::S3Event> {
    let head = s3_client(&stack.sdk)
        .head_object()
        .bucket(&stack.recordings_bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let event = moto::s3_put_event(
        &stack.recordings_bucket,
        key,
        head.e_tag().unwrap(),
        head.content_length().unwrap_or(0) as u64,
    );
    LambdaEvent::new(event, Context::default())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_uploads_end_failed_with_a_reason() {
    let stack = stack(None).await;
    // A text file renamed .wav passes the upload checks and fails at decoding.
    let fake = stack
        .upload(
            "recordings/fake.wav",
            b"This is a text file, not a recording.\n".repeat(40),
        )
        .await;
    let fake_job = job_name_of(&stack.start_job(fake).await[0]);
    assert_eq!(
        stack.run_transcribe().await,
        (1, 0),
        "consumed, not retried"
    );
    let job = stack.jobs.get(&fake_job).await.unwrap();
    assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
    let reason = job.failure_reason.unwrap();
    assert!(
        reason.starts_with("the recording cannot be decoded"),
        "{reason}"
    );

    // An unsupported extension is refused at the upload: one FAILED row, no message.
    let text = stack
        .upload("recordings/notes.txt", b"hello".to_vec())
        .await;
    let outcome = stack.start_job(text).await;
    let StartOutcome::Rejected { job_name, reason } = &outcome[0] else {
        panic!("expected a rejection, got {outcome:?}");
    };
    assert!(reason.contains("unsupported file type (.txt)"), "{reason}");
    let job = stack.jobs.get(job_name).await.unwrap();
    assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
    assert_eq!(stack.run_transcribe().await, (0, 0));
    assert!(
        stack.output_keys().await.is_empty(),
        "no artifacts for bad uploads"
    );
    assert_eq!(stack.job_count().await, 2);
}

/// Runs start-job and seeds what transcribe would leave (IN_PROGRESS + transcript.json), so
/// the KMS tests need no speech recognition.
async fn job_ready_for_the_note(stack: &Stack) -> String {
    let event = stack.upload("recordings/kms.wav", speech_wav()).await;
    let job_name = job_name_of(&stack.start_job(event).await[0]);
    moto::drain_as_event(
        &stack.sdk,
        &stack.transcribe_queue.0,
        &stack.transcribe_queue.1,
    )
    .await;
    stack
        .jobs
        .update(
            &job_name,
            &veriscribe_core::formats::StatusChange::start(time::OffsetDateTime::now_utc()),
        )
        .await
        .unwrap();
    let transcript = veriscribe_core::stages::transcript_from_dialogue(
        DIALOGUE,
        &veriscribe_core::stages::ConversationSettings {
            job_name: job_name.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    s3_client(&stack.sdk)
        .put_object()
        .bucket(&stack.output_bucket)
        .key(format!("output/{job_name}/{TRANSCRIPT_FILE}"))
        .body(serde_json::to_vec(&transcript).unwrap().into())
        .send()
        .await
        .unwrap();
    use veriscribe_aws::StepQueue;
    veriscribe_aws::SqsStepQueue::new(
        veriscribe_aws::clients::sqs_client(&stack.sdk),
        &stack.note_queue.0,
    )
    .send(&veriscribe_aws::StepMessage::new(&job_name))
    .await
    .unwrap();
    job_name
}

async fn assert_no_note_written(stack: &Stack, job_name: &str) {
    let keys = stack.output_keys().await;
    assert!(
        keys.iter().all(|k| !k.contains("summary.json")),
        "no note object may exist after a KMS failure: {keys:?}"
    );
    let job = stack.jobs.get(job_name).await.unwrap();
    assert_ne!(job.medical_scribe_job_status, JobStatus::Completed);
}

/// moto does not enforce a key's disabled state, so an unavailable KMS is simulated by an
/// endpoint nobody listens on: the note step is handed back for a retry and writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_kms_is_retried_and_leaves_no_note() {
    let stack = stack(None).await;
    let job_name = job_ready_for_the_note(&stack).await;
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&stack.sdk)
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
            .build(),
    );
    let unreachable = generate_note::handler::GenerateNote {
        stage: veriscribe_aws::stages::NoteStage {
            jobs: Arc::new(stack.jobs.clone()),
            outputs: Arc::new(veriscribe_aws::S3ObjectStore::new(
                s3_client(&stack.sdk),
                &stack.output_bucket,
                "output/",
            )),
            envelope: Arc::new(KmsEnvelope::new(kms, &stack.key_arn).await.unwrap()),
            metrics: veriscribe_aws::Metrics::stdout("Veriscribe"),
        },
        dead_letter_queue_arn: None,
    };
    let event = moto::drain_as_event(&stack.sdk, &stack.note_queue.0, &stack.note_queue.1).await;
    assert_eq!(event.records.len(), 1);
    let response =
        generate_note::handler::handle(&unreachable, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
    assert_eq!(response.batch_item_failures.len(), 1, "retried, not failed");
    let job = stack.jobs.get(&job_name).await.unwrap();
    assert_eq!(job.medical_scribe_job_status, JobStatus::InProgress);
    assert_no_note_written(&stack, &job_name).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nonexistent_key_leaves_no_note() {
    let missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000";
    let stack = stack(Some(missing.to_string())).await;
    let job_name = job_ready_for_the_note(&stack).await;
    assert_eq!(
        stack.run_note().await,
        (1, 0),
        "permanent: consumed, not retried"
    );
    let job = stack.jobs.get(&job_name).await.unwrap();
    assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
    let reason = job.failure_reason.unwrap();
    assert!(
        reason.starts_with("cannot encrypt the clinical note"),
        "{reason}"
    );
    assert_no_note_written(&stack, &job_name).await;
}
