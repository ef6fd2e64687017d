//! `veriscribe run`: one job from input to encrypted note, tracked in the local status store.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use time::OffsetDateTime;
use tracing::{info, info_span, Instrument};
use veriscribe_asr::{DecodeOptions, TranscribeOptions, WhisperEngine};
use veriscribe_core::clinical::custom_template::{parse_custom_template, CustomTemplate};
use veriscribe_core::formats::{
    default_channel_definitions, validate_job_name, ChannelDefinition, ChannelRole,
    ClinicalNoteGenerationSettings, JobSettings, JobStatus, MedicalScribeJob, MedicalScribeOutput,
    NoteTemplate, StatusChange, TranscriptFile,
};
use veriscribe_core::ports::{JobStore, ObjectStore, PortError};
use veriscribe_core::stages::{self, ConversationSettings};
use veriscribe_crypto::LocalAesEnvelope;
use veriscribe_local::FileObjectStore;

use crate::commands::{jobs::open_store, model::fetch_default_model, vocabulary};
use crate::progress;
use crate::RunArgs;

/// What one run measured; printed at the end (counts and times only, never patient text).
struct Outcome {
    output: MedicalScribeOutput,
    audio_seconds: Option<f64>,
    recognition_seconds: Option<f64>,
    segments: usize,
    insights: usize,
    sections: usize,
    sentences: usize,
    codes: usize,
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let custom_template = match &args.custom_template {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the custom template {}", path.display()))?;
            Some(
                parse_custom_template(&text).with_context(|| {
                    format!("the custom template {} is not usable", path.display())
                })?,
            )
        }
        None => None,
    };
    let template: NoteTemplate = match &custom_template {
        Some(custom) => custom.base,
        None => args.template.parse()?,
    };
    let channel_definitions = channel_definitions(&args);
    let settings = JobSettings {
        show_speaker_labels: !args.channel_identification,
        max_speaker_labels: (!args.channel_identification).then_some(args.max_speakers),
        channel_identification: args.channel_identification,
        clinical_note_generation_settings: ClinicalNoteGenerationSettings {
            note_template: template,
        },
        patient_pronouns: args.patient_pronouns,
        vocabulary_name: args.vocabulary.as_deref().map(vocabulary::resource_name),
        vocabulary_filter_name: args
            .vocabulary_filter
            .as_deref()
            .map(vocabulary::resource_name),
        vocabulary_filter_method: args
            .vocabulary_filter
            .is_some()
            .then(|| args.vocabulary_filter_method.unwrap_or_default()),
        ..JobSettings::default()
    };
    settings.validate(&channel_definitions)?;
    let input = std::fs::canonicalize(&args.input)
        .with_context(|| format!("cannot read the input {}", args.input.display()))?;
    let job_name = match &args.job_name {
        Some(name) => name.clone(),
        None => default_job_name(&input),
    };
    validate_job_name(&job_name)?;

    let store = open_store(args.db.clone())?;
    let job = MedicalScribeJob::new_queued(
        &job_name,
        format!("file://{}", input.display()),
        settings,
        channel_definitions,
        OffsetDateTime::now_utc(),
    );
    match store.create(&job).await {
        Ok(()) => {}
        Err(PortError::AlreadyExists(_)) => {
            let existing = store.get(&job_name).await?;
            if existing.medical_scribe_job_status.is_terminal() {
                bail!(
                    "job {job_name} already exists and is {}; choose another --job-name",
                    existing.medical_scribe_job_status
                );
            }
            // An earlier run stopped midway: this run picks the job up again.
            info!(job = %job_name, "resuming an unfinished job");
        }
        Err(e) => return Err(e.into()),
    }
    store
        .update(&job_name, &StatusChange::start(OffsetDateTime::now_utc()))
        .await?;

    let span = info_span!("job", job = %job_name);
    let started = Instant::now();
    match process(&args, &input, &job, template, custom_template.as_ref())
        .instrument(span)
        .await
    {
        Ok(outcome) => {
            store
                .update(
                    &job_name,
                    &StatusChange::complete(outcome.output.clone(), OffsetDateTime::now_utc()),
                )
                .await?;
            print_outcome(
                &job_name,
                template,
                &outcome,
                started.elapsed().as_secs_f64(),
            );
            Ok(())
        }
        Err(error) => {
            let reason = format!("{error:#}");
            store
                .update(
                    &job_name,
                    &StatusChange::fail(&reason, OffsetDateTime::now_utc()),
                )
                .await?;
            Err(error.context(format!("job {job_name} {}", JobStatus::Failed)))
        }
    }
}

async fn process(
    args: &RunArgs,
    input: &Path,
    job: &MedicalScribeJob,
    template: NoteTemplate,
    custom_template: Option<&CustomTemplate>,
) -> anyhow::Result<Outcome> {
    let mut conversation_settings = ConversationSettings::for_job(job);
    conversation_settings.vocabulary = vocabulary::load(args)?;

    let mut audio_seconds = None;
    let mut recognition_seconds = None;
    let transcript: TranscriptFile = if is_text_dialogue(input) {
        let text = std::fs::read_to_string(input)
            .with_context(|| format!("{} is not a UTF-8 text dialogue", input.display()))?;
        stages::transcript_from_dialogue(&text, &conversation_settings)?
    } else {
        let audio = veriscribe_asr::decode_file(
            input,
            &DecodeOptions {
                max_duration_seconds: args.max_duration,
                ..DecodeOptions::default()
            },
        )?;
        audio_seconds = Some(audio.duration_seconds);
        let model_path = match &args.model {
            Some(path) => path.clone(),
            None => fetch_default_model(&veriscribe_model::default_model_dir(), args.quiet)?,
        };
        let engine = WhisperEngine::load(&model_path, args.threads)
            .with_context(|| format!("cannot load the speech model {}", model_path.display()))?;
        let bar = progress::bar(1000, "transcribing", args.quiet);
        let options = TranscribeOptions {
            channel_identification: job.settings.channel_identification,
            max_speakers: job
                .settings
                .max_speaker_labels
                .filter(|_| !job.settings.channel_identification),
            initial_prompt: conversation_settings
                .vocabulary
                .custom
                .as_ref()
                .map(|custom| custom.prompt(vocabulary::PROMPT_CHARS)),
            ..TranscribeOptions::default()
        };
        let started = Instant::now();
        let recognition = tokio::task::block_in_place(|| {
            engine.transcribe(&audio, &options, &mut |fraction| {
                bar.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64)
            })
        })?;
        bar.finish_and_clear();
        recognition_seconds = Some(started.elapsed().as_secs_f64());
        stages::transcript_from_recognition(&recognition, &conversation_settings)
    };

    let note_settings = stages::NoteSettings {
        patient_pronouns: job.settings.patient_pronouns,
    };
    let mut documentation = match custom_template {
        Some(custom) => stages::custom_documentation_with(&transcript, custom, &note_settings)?,
        None => stages::documentation_with(&transcript, template, &note_settings)?,
    };
    if let Some(filter) = &conversation_settings.vocabulary.filter {
        filter.apply_to_documentation(&mut documentation.clinical_documentation);
    }
    let key_path = args
        .key_file
        .clone()
        .unwrap_or_else(veriscribe_crypto::default_key_path);
    let envelope = LocalAesEnvelope::load_or_create(&key_path)
        .with_context(|| format!("cannot load or create the local key {}", key_path.display()))?;
    let sealed =
        stages::seal_documentation(&documentation, &job.medical_scribe_job_name, &envelope).await?;
    let codes = stages::medical_codes(&transcript);
    let sealed_codes = stages::seal_codes(&codes, &job.medical_scribe_job_name, &envelope).await?;

    // Outputs are written only once everything above succeeded, so bad input leaves nothing.
    let out = FileObjectStore::new(absolute(&args.out)?);
    let transcript_json = serde_json::to_vec_pretty(&transcript)?;
    out.put(
        stages::DOCUMENTATION_FILE,
        sealed,
        "application/octet-stream",
    )
    .await?;
    out.put(stages::CODES_FILE, sealed_codes, "application/octet-stream")
        .await?;
    out.put(stages::TRANSCRIPT_FILE, transcript_json, "application/json")
        .await?;

    let sections = &documentation.clinical_documentation.sections;
    Ok(Outcome {
        output: MedicalScribeOutput {
            transcript_file_uri: out.uri(stages::TRANSCRIPT_FILE),
            clinical_document_uri: out.uri(stages::DOCUMENTATION_FILE),
        },
        audio_seconds,
        recognition_seconds,
        segments: transcript.conversation.transcript_segments.len(),
        insights: transcript.conversation.clinical_insights.len(),
        sections: sections.len(),
        sentences: sections.iter().map(|s| s.summary.len()).sum(),
        codes: codes.medical_codes.codes.len(),
    })
}

fn channel_definitions(args: &RunArgs) -> Vec<ChannelDefinition> {
    if !args.channel_identification {
        return Vec::new();
    }
    let mut definitions = default_channel_definitions();
    if args.clinician_channel == 1 {
        definitions[0].participant_role = ChannelRole::Patient;
        definitions[1].participant_role = ChannelRole::Clinician;
    }
    definitions
}

fn is_text_dialogue(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

/// `<input stem>-<UTC time>`, reduced to the characters HealthScribe allows in job names.
fn default_job_name(input: &Path) -> String {
    let stem: String = input
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("job")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(150)
        .collect();
    let now = OffsetDateTime::now_utc();
    format!(
        "{stem}-{:04}{:02}{:02}T{:02}{:02}{:02}{:03}Z",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

fn print_outcome(job_name: &str, template: NoteTemplate, outcome: &Outcome, total_seconds: f64) {
    println!("job        {job_name}  {}", JobStatus::Completed);
    if let (Some(audio), Some(recognition)) = (outcome.audio_seconds, outcome.recognition_seconds) {
        println!(
            "audio      {audio:.1} s, recognised in {recognition:.1} s (real-time factor {:.3})",
            recognition / audio.max(1e-9)
        );
    }
    println!(
        "transcript {} segments, {} clinical insights",
        outcome.segments, outcome.insights
    );
    println!(
        "note       {template}: {} sections, {} sentences, each linked to transcript segments",
        outcome.sections, outcome.sentences
    );
    println!(
        "codes      {} ICD-10-CM suggestions, each linked to transcript segments",
        outcome.codes
    );
    println!("total      {total_seconds:.1} s");
    println!("outputs    {}", outcome.output.transcript_file_uri);
    println!("           {}", outcome.output.clinical_document_uri);
    let summary_path = outcome
        .output
        .clinical_document_uri
        .trim_start_matches("file://");
    let out_dir = Path::new(summary_path)
        .parent()
        .unwrap_or(Path::new("."))
        .display();
    println!("           {out_dir}/{}", stages::CODES_FILE);
    println!("read it    veriscribe render {out_dir}");
}
