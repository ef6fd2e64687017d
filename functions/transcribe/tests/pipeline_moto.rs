//! The whole pipeline through the three real handlers and real SDK clients against the moto
//! server: upload → start-job → transcribe (whisper.cpp, the default model) → generate-note
//! (AWS Encryption SDK + moto's KMS) → COMPLETED. Needs `AWS_ENDPOINT_URL` (scripts/test.sh
//! starts moto), festival, flite and sox (to speak the test dialogue) and the fetched model.
//!
//! Every test creates its own bucket, table, queues and key (moto keeps state between runs).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use aws_config::SdkConfig;
use lambda_runtime::{Context, LambdaEvent};
use veriscribe_aws::call_recorder::{recording_sdk_config, CallLog, RecordedRequest};
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

/// The spoken dialogue (festival, flite and sox through scripts/make-sample-audio.sh), made once.
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
            .expect("run scripts/make-sample-audio.sh (needs bash, festival, flite and sox)");
        assert!(
            status.success(),
            "make-sample-audio.sh failed (are festival, flite and sox installed? scripts/setup.sh)"
        );
        let bytes = std::fs::read(&wav).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        bytes
    })
    .clone()
}

fn recognizer() -> Arc<veriscribe_asr::WhisperRecognizer> {
    static ENGINE: OnceLock<Arc<veriscribe_asr::WhisperRecognizer>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            Arc::new(
                veriscribe_asr::WhisperRecognizer::load(&model_path(), None, 14_400.0).unwrap(),
            )
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
    table: String,
    /// Every request the three functions' SDK clients sent.
    calls: CallLog,
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
    // Versioned, as the template's bucket is: reads must name the uploaded version, and a
    // rewritten output shows up as a second version.
    moto::enable_versioning(&sdk, &recordings_bucket).await;
    moto::enable_versioning(&sdk, &output_bucket).await;
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
    let calls = CallLog::default();
    let recording = |function| recording_sdk_config(&sdk, function, &calls);
    Stack {
        jobs: DynamoJobStore::new(dynamodb_client(&sdk), &table, 90),
        start: start_job::handler::build(&config, &recording("start-job")).unwrap(),
        transcribe: transcribe::handler::build(&config, &recording("transcribe"), recognizer())
            .unwrap(),
        note: generate_note::handler::build(&config, &recording("generate-note"))
            .await
            .unwrap(),
        table,
        calls,
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
        self.upload_with(key, bytes, &[]).await
    }

    async fn upload_with(
        &self,
        key: &str,
        bytes: Vec<u8>,
        metadata: &[(&str, &str)],
    ) -> LambdaEvent<aws_lambda_events::event::s3::S3Event> {
        let size = bytes.len() as u64;
        let mut put = s3_client(&self.sdk)
            .put_object()
            .bucket(&self.recordings_bucket)
            .key(key)
            .body(bytes.into());
        for (name, value) in metadata {
            put = put.metadata(*name, *value);
        }
        let put = put.send().await.unwrap();
        let event = moto::s3_put_event_version(
            &self.recordings_bucket,
            key,
            put.e_tag().unwrap(),
            put.version_id().expect("the bucket is versioned"),
            size,
        );
        LambdaEvent::new(event, Context::default())
    }

    /// How many versions each output key has (a rewrite adds one).
    async fn output_versions(&self) -> HashMap<String, usize> {
        let listed = s3_client(&self.sdk)
            .list_object_versions()
            .bucket(&self.output_bucket)
            .send()
            .await
            .unwrap();
        let mut counts = HashMap::new();
        for version in listed.versions() {
            *counts
                .entry(version.key().unwrap().to_string())
                .or_default() += 1;
        }
        counts
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
    assert!(
        job.media.media_file_uri.starts_with(&format!(
            "s3://{}/{key}?versionId=",
            stack.recordings_bucket
        )),
        "{}",
        job.media.media_file_uri
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
        transcript_text.to_lowercase().contains("sore throat"),
        "recognised: {transcript_text}"
    );

    // The note decrypts with this job's context, and only with it (moto's KMS enforces it).
    let sealed = stack.output(&note_key).await;
    assert!(
        !String::from_utf8_lossy(&sealed)
            .to_lowercase()
            .contains("sore throat"),
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
    let event = moto::s3_put_event_version(
        &stack.recordings_bucket,
        key,
        head.e_tag().unwrap(),
        head.version_id().unwrap(),
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
            layout: veriscribe_aws::stages::OutputLayout::JobFolders,
            events: Arc::new(veriscribe_aws::Metrics::stdout("Veriscribe")),
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

/// A clinic names the file after the patient and then uploads a second recording under the
/// same key before the first is transcribed: each job transcribes its own version, the name
/// appears in no log line, metric, job name, output key or note header, and deliveries after
/// COMPLETED rewrite nothing.
#[tokio::test(flavor = "multi_thread")]
async fn each_job_reads_its_own_version_and_the_patient_named_key_leaks_nowhere() {
    let mut stack = stack(None).await;
    let (start_metrics, start_lines) = veriscribe_aws::testing::collecting_metrics();
    let (transcribe_metrics, transcribe_lines) = veriscribe_aws::testing::collecting_metrics();
    let (note_metrics, note_lines) = veriscribe_aws::testing::collecting_metrics();
    stack.start.events = Arc::new(start_metrics);
    stack.transcribe.stage.events = Arc::new(transcribe_metrics);
    stack.note.stage.events = Arc::new(note_metrics);
    let key = "recordings/Zelda Quixotic 1984-02-03 MRN 7730291.wav";
    let secrets = ["Zelda", "Quixotic", "1984-02-03", "7730291"];

    let first = stack.upload(key, speech_wav()).await;
    let first_job = job_name_of(&stack.start_job(first).await[0]);
    // Overwritten before transcribe runs, with something that is not audio.
    let second = stack.upload(key, b"not a recording ".repeat(64)).await;
    let second_job = job_name_of(&stack.start_job(second).await[0]);
    assert_ne!(first_job, second_job);
    assert_eq!(stack.run_transcribe().await, (2, 0));
    assert_eq!(stack.run_note().await, (1, 0));

    let job = stack.jobs.get(&first_job).await.unwrap();
    assert_eq!(
        job.medical_scribe_job_status,
        JobStatus::Completed,
        "the first upload's audio was transcribed: {:?}",
        job.failure_reason
    );
    let failed = stack.jobs.get(&second_job).await.unwrap();
    assert_eq!(failed.medical_scribe_job_status, JobStatus::Failed);
    assert!(failed
        .failure_reason
        .as_deref()
        .unwrap()
        .starts_with("the recording cannot be decoded"));
    assert_ne!(job.media.media_file_uri, failed.media.media_file_uri);

    // Redeliveries of both stages after COMPLETED, even concurrent ones, write nothing.
    let before = stack.output_versions().await;
    let (a, b, c) = tokio::join!(
        stack.note.stage.run(&first_job),
        stack.note.stage.run(&first_job),
        stack.transcribe.stage.run(&first_job),
    );
    for outcome in [a, b, c] {
        assert_eq!(
            outcome.unwrap(),
            StepOutcome::AlreadyFinished {
                status: JobStatus::Completed
            }
        );
    }
    let after = stack.output_versions().await;
    assert_eq!(before, after);
    assert!(
        after.values().all(|&n| n == 1),
        "one version each: {after:?}"
    );

    // The name is nowhere but the job row's MediaFileUri.
    let note_key = format!("output/{first_job}/{DOCUMENTATION_FILE}");
    let sealed = stack.output(&note_key).await;
    let header = String::from_utf8_lossy(&sealed).to_string();
    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    let metrics: Vec<String> = [start_lines, transcribe_lines, note_lines]
        .iter()
        .flat_map(|lines| lines.lock().unwrap().clone())
        .collect();
    assert!(metrics.len() >= 3, "metrics were emitted: {metrics:?}");
    let keys = stack.output_keys().await;
    for secret in secrets {
        for (what, text) in [
            ("a log line", logs.as_str()),
            ("the note's header", header.as_str()),
            ("a metric", &metrics.join("\n")),
            ("an output key", &keys.join("\n")),
            ("a job name", &format!("{first_job} {second_job}")),
            ("a FailureReason", failed.failure_reason.as_deref().unwrap()),
        ] {
            assert!(!text.contains(secret), "{secret:?} leaked into {what}");
        }
    }
    assert!(
        job.media.media_file_uri.contains("Zelda"),
        "kept in the row"
    );
    assert_every_call_is_in_the_iam_table(&stack);
}

/// `x-amz-meta-output-format: healthscribe`: plaintext `summary.json` and `codes.json` that a
/// HealthScribe reader parses, encrypted at rest with the stack's KMS key (SSE-KMS).
#[tokio::test(flavor = "multi_thread")]
async fn the_healthscribe_output_format_writes_sse_kms_plain_json() {
    let stack = stack(None).await;
    let event = stack
        .upload_with(
            "recordings/plain.wav",
            speech_wav(),
            &[("output-format", "healthscribe")],
        )
        .await;
    let job_name = job_name_of(&stack.start_job(event).await[0]);
    assert_eq!(stack.run_transcribe().await, (1, 0));
    assert_eq!(stack.run_note().await, (1, 0));
    let job = stack.jobs.get(&job_name).await.unwrap();
    assert_eq!(
        job.medical_scribe_job_status,
        JobStatus::Completed,
        "{:?}",
        job.failure_reason
    );
    let note_key = format!("output/{job_name}/summary.json");
    assert_eq!(
        job.medical_scribe_output.unwrap().clinical_document_uri,
        format!("s3://{}/{note_key}", stack.output_bucket)
    );
    let note: veriscribe_core::formats::ClinicalDocumentationFile =
        serde_json::from_slice(&stack.output(&note_key).await).unwrap();
    assert!(!note.clinical_documentation.sections.is_empty());
    let codes: veriscribe_core::formats::MedicalCodesFile =
        serde_json::from_slice(&stack.output(&format!("output/{job_name}/codes.json")).await)
            .unwrap();
    assert_eq!(codes.medical_codes.code_system, "ICD-10-CM");
    for file in ["summary.json", "codes.json"] {
        let head = s3_client(&stack.sdk)
            .head_object()
            .bucket(&stack.output_bucket)
            .key(format!("output/{job_name}/{file}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms),
            "{file}"
        );
        assert_eq!(head.ssekms_key_id(), Some(stack.key_arn.as_str()), "{file}");
    }
    let keys = stack.output_keys().await;
    assert!(
        keys.iter().all(|k| !k.ends_with(".encrypted")),
        "no Encryption SDK files in this format: {keys:?}"
    );
    assert_every_call_is_in_the_iam_table(&stack);
}

/// One AWS call as IAM authorises it: (function, action, symbolic resource, request context).
type IamCall = (String, String, String, BTreeMap<String, String>);

/// What IAM sees of a recorded request, in the table's terms (`shared/aws/data/aws_calls.tsv`).
fn iam_call(stack: &Stack, request: &RecordedRequest) -> IamCall {
    let function = request.function.clone();
    let mut context = BTreeMap::new();
    if let Some(target) = request.header("x-amz-target") {
        let (service, operation) = target.split_once('.').unwrap();
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let (prefix, resource) = match service {
            "DynamoDB_20120810" => {
                assert_eq!(body["TableName"], stack.table.as_str(), "{target}");
                ("dynamodb", "table".to_string())
            }
            "AmazonSQS" => {
                let url = body["QueueUrl"].as_str().unwrap();
                let queue = if url == stack.transcribe_queue.0 {
                    "queue:TranscribeQueue"
                } else if url == stack.note_queue.0 {
                    "queue:NoteQueue"
                } else {
                    panic!("{target} to an unknown queue {url}")
                };
                ("sqs", queue.to_string())
            }
            "TrentService" => {
                assert_eq!(body["KeyId"], stack.key_arn.as_str(), "{target}");
                if let Some(pairs) = body["EncryptionContext"].as_object() {
                    for (k, v) in pairs {
                        context.insert(
                            format!("kms:EncryptionContext:{k}"),
                            v.as_str().unwrap().to_string(),
                        );
                    }
                }
                ("kms", "key".to_string())
            }
            other => panic!("a call to an unexpected service {other} ({target})"),
        };
        return (function, format!("{prefix}:{operation}"), resource, context);
    }
    // S3, path-style against moto: METHOD /bucket/key?query
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let rest = request
        .uri
        .strip_prefix(endpoint.trim_end_matches('/'))
        .unwrap_or_else(|| panic!("not an S3 path-style URI: {}", request.uri));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    assert!(
        bucket == stack.recordings_bucket || bucket == stack.output_bucket,
        "a call to an unknown bucket {bucket}"
    );
    let key = percent_encoding::percent_decode_str(key)
        .decode_utf8()
        .unwrap()
        .to_string();
    let versioned = query.split('&').any(|p| p.starts_with("versionId="));
    let action = match (request.method.as_str(), key.is_empty()) {
        ("GET" | "HEAD", false) if versioned => "s3:GetObjectVersion",
        ("GET" | "HEAD", false) => "s3:GetObject",
        ("PUT", false) => "s3:PutObject",
        ("GET", true) => "s3:ListBucket",
        (method, _) => panic!("unexpected S3 request {method} {}", request.uri),
    };
    for (header, condition) in [
        ("if-none-match", "s3:if-none-match"),
        (
            "x-amz-server-side-encryption",
            "s3:x-amz-server-side-encryption",
        ),
        (
            "x-amz-server-side-encryption-aws-kms-key-id",
            "s3:x-amz-server-side-encryption-aws-kms-key-id",
        ),
    ] {
        if let Some(value) = request.header(header) {
            context.insert(condition.to_string(), value.to_string());
        }
    }
    let resource = if key.is_empty() {
        "bucket".to_string()
    } else {
        format!("bucket/{key}")
    };
    (function, action.to_string(), resource, context)
}

/// `*` in `pattern` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (head.len()..=text.len())
                    .any(|at| text.is_char_boundary(at) && glob(tail, &text[at..]))
        }
    }
}

/// A row of the IAM table: (function, action, resource pattern, conditions).
type TableRow = (String, String, String, Vec<(String, String)>);

/// Rows of the IAM table made by the functions' own SDK calls: a plain function name, not a
/// service acting for it (kms:ViaService) and not Lambda's log writes.
fn own_call_rows() -> Vec<TableRow> {
    let table = std::fs::read_to_string(workspace_root().join("shared/aws/data/aws_calls.tsv"))
        .expect("the IAM call table");
    table
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .skip(1)
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 4, "{line}");
            let conditions = cols[3]
                .split_whitespace()
                .filter(|c| *c != "-")
                .map(|c| {
                    let (k, v) = c.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect::<Vec<_>>();
            (
                cols[0].to_string(),
                cols[1].to_string(),
                cols[2].to_string(),
                conditions,
            )
        })
        .filter(|(function, action, _, conditions)| {
            !function.contains(':')
                && !action.starts_with("logs:")
                && !conditions.iter().any(|(k, _)| k == "kms:ViaService")
        })
        .collect()
}

/// moto ignores IAM: this is what stands between a new AWS call in the code and an AccessDenied
/// on the first real deployment. Each recorded call must be a row of the table that
/// scripts/check_policies.py proves the template allows, with the same request context.
fn assert_every_call_is_in_the_iam_table(stack: &Stack) {
    let rows = own_call_rows();
    let calls: Vec<RecordedRequest> = stack.calls.lock().unwrap().clone();
    assert!(calls.len() > 10, "the functions' calls were recorded");
    let value_matches = |expected: &str, actual: &str| match expected {
        "{any}" | "{job}" => !actual.is_empty(),
        "{arn:key}" => actual == stack.key_arn,
        literal => literal == actual,
    };
    let mut seen = BTreeSet::new();
    for request in &calls {
        let (function, action, resource, context) = iam_call(stack, request);
        let allowed = rows.iter().any(|(f, a, r, conditions)| {
            let pattern = r.replace("{job}", "*").replace("{key}", "*");
            *f == function
                && *a == action
                && glob(&pattern, &resource)
                && conditions.len() == context.len()
                && conditions.iter().all(|(k, v)| {
                    context
                        .get(k)
                        .is_some_and(|actual| value_matches(v, actual))
                })
        });
        assert!(
            allowed,
            "{function} calls {action} on {resource} with {context:?}: not a row of \
             shared/aws/data/aws_calls.tsv, so the template is not proven to allow it"
        );
        seen.insert((function, action));
    }
    eprintln!("IAM-checked calls: {seen:?}");
}

/// The note of a decrypted documentation: section names and sentences, in order (segment ids
/// are random per run, so evidence links are compared by count).
fn note_shape(
    documentation: &veriscribe_core::formats::ClinicalDocumentationFile,
) -> Vec<(String, Vec<(String, usize)>)> {
    documentation
        .clinical_documentation
        .sections
        .iter()
        .map(|section| {
            (
                serde_json::to_value(&section.section_name)
                    .unwrap()
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                section
                    .summary
                    .iter()
                    .map(|s| (s.summarized_segment.clone(), s.evidence_links.len()))
                    .collect(),
            )
        })
        .collect()
}

const CUSTOM_TEMPLATE: &str = "\
base_template: HISTORY_AND_PHYSICAL
sections:
  - header: Reason for visit
    instruction: Why the patient came in
  - header: Symptoms
    instruction: History of the present illness
  - header: Plan
    instruction: What the clinician will do next
";

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_and_a_named_custom_template_give_the_cli_note_on_aws() {
    use veriscribe_lifecycle::{LocalRun, OutputLayout};
    use veriscribe_local::{FileObjectStore, FileRecordings, SqliteJobStore};

    let stack = stack(None).await;
    let s3 = s3_client(&stack.sdk);
    let put = |key: &'static str, body: Vec<u8>| {
        s3.put_object()
            .bucket(&stack.recordings_bucket)
            .key(key)
            .body(body.into())
            .send()
    };
    // The profile names the template file and the pronouns; the upload overrides nothing.
    put("templates/visit.yaml", CUSTOM_TEMPLATE.as_bytes().to_vec())
        .await
        .unwrap();
    put(
        "profiles/family.json",
        br#"{"custom-template": "visit.yaml", "patient-pronouns": "SHE_HER", "max-speakers": 2}"#
            .to_vec(),
    )
    .await
    .unwrap();
    let wav = speech_wav();
    let event = stack
        .upload("recordings/family/visit.wav", wav.clone())
        .await;
    let job_name = job_name_of(&stack.start_job(event).await[0]);
    let job = stack.jobs.get(&job_name).await.unwrap();
    let custom = job
        .settings
        .custom_template
        .clone()
        .expect("the profile's template is in the job row");
    assert_eq!(custom.sections.len(), 3);
    assert_eq!(
        job.settings.patient_pronouns,
        Some(veriscribe_core::formats::PatientPronouns::SheHer)
    );
    assert_eq!(stack.run_transcribe().await, (1, 0));
    assert_eq!(stack.run_note().await, (1, 0));
    let job = stack.jobs.get(&job_name).await.unwrap();
    assert_eq!(job.medical_scribe_job_status, JobStatus::Completed);
    // Reading the profile and the template are start-job calls the template must allow.
    assert_every_call_is_in_the_iam_table(&stack);
    let envelope = KmsEnvelope::new(aws_sdk_kms::Client::new(&stack.sdk), &stack.key_arn)
        .await
        .unwrap();
    let sealed = stack
        .output(&format!("output/{job_name}/{DOCUMENTATION_FILE}"))
        .await;
    let on_aws = open_documentation(&sealed, &job_name, &envelope)
        .await
        .unwrap();

    // The CLI's driver: the same lifecycle over SQLite, files, the in-process queue and a local
    // key, with the CLI's settings for `--custom-template visit.yaml --patient-pronouns SHE_HER`.
    let dir = std::env::temp_dir().join(moto::unique("veriscribe-cli-side"));
    std::fs::create_dir_all(&dir).unwrap();
    let recording = dir.join("visit.wav");
    std::fs::write(&recording, &wav).unwrap();
    let (settings, channels) = veriscribe_core::formats::RequestedSettings {
        custom_template: Some(
            veriscribe_core::clinical::custom_template::parse_custom_template(CUSTOM_TEMPLATE)
                .unwrap(),
        ),
        patient_pronouns: Some(veriscribe_core::formats::PatientPronouns::SheHer),
        ..Default::default()
    }
    .job_settings()
    .unwrap();
    assert_eq!(settings, job.settings, "the same settings on both sides");
    let local_envelope = Arc::new(
        veriscribe_crypto::LocalAesEnvelope::load_or_create(&dir.join("key.bin")).unwrap(),
    );
    let local = LocalRun::new(
        Arc::new(SqliteJobStore::open(&dir.join("jobs.sqlite3")).unwrap()),
        Arc::new(FileRecordings),
        Arc::new(FileObjectStore::new(dir.join("out"))),
        OutputLayout::Flat,
        recognizer(),
        local_envelope.clone(),
        Arc::new(veriscribe_core::ports::NoEvents),
    );
    let local_job = veriscribe_core::formats::MedicalScribeJob::new_queued(
        "cli-side",
        format!("file://{}", recording.display()),
        settings,
        channels,
        time::OffsetDateTime::now_utc(),
    );
    let outcome = local.run(&local_job).await.unwrap();
    assert_eq!(outcome.job.medical_scribe_job_status, JobStatus::Completed);
    let sealed = std::fs::read(dir.join("out").join(DOCUMENTATION_FILE)).unwrap();
    let in_cli = open_documentation(&sealed, "cli-side", &*local_envelope)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let aws_shape = note_shape(&on_aws);
    assert_eq!(
        aws_shape,
        note_shape(&in_cli),
        "the same note on AWS and in the CLI"
    );
    let names: Vec<&str> = aws_shape.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names
            .iter()
            .all(|n| ["REASON_FOR_VISIT", "SYMPTOMS", "PLAN"].contains(n)),
        "the custom template's sections: {names:?}"
    );
    assert!(!names.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_profile_fails_the_job_naming_the_file_and_the_field() {
    let stack = stack(None).await;
    s3_client(&stack.sdk)
        .put_object()
        .bucket(&stack.recordings_bucket)
        .key("profiles/ward.json")
        .body(br#"{"max-speakers": 11}"#.to_vec().into())
        .send()
        .await
        .unwrap();
    let event = stack
        .upload("recordings/ward/visit.wav", speech_wav())
        .await;
    let outcome = stack.start_job(event).await;
    let StartOutcome::Rejected { job_name, reason } = &outcome[0] else {
        panic!("expected a rejection, got {outcome:?}");
    };
    assert_eq!(
        reason,
        "profile profiles/ward.json field max-speakers is \"11\"; expected a number from 2 to 10"
    );
    let job = stack.jobs.get(job_name).await.unwrap();
    assert_eq!(job.medical_scribe_job_status, JobStatus::Failed);
    assert_eq!(job.failure_reason.as_deref(), Some(reason.as_str()));
    // A folder without a profile fails too, without echoing the folder (it may name a patient).
    let event = stack
        .upload("recordings/Jane-Doe/visit.wav", speech_wav())
        .await;
    let outcome = stack.start_job(event).await;
    let StartOutcome::Rejected { reason, .. } = &outcome[0] else {
        panic!("expected a rejection, got {outcome:?}");
    };
    assert!(reason.contains("names no profile"), "{reason}");
    assert!(!reason.contains("Jane"), "{reason}");
    assert_eq!(stack.run_transcribe().await, (0, 0), "nothing handed off");
}
