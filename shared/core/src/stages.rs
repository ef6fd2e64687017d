//! The pipeline's stages as the drivers (the CLI, the Lambda functions) call them. Each stage is a
//! plain function over data; the only effects are through the port traits passed in.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clinical::custom_template::CustomTemplate;
use crate::clinical::{coding, dialogue::DialogueError, insights, note, pipeline};
use crate::formats::{
    ClinicalDocumentationFile, Conversation, MedicalCodesFile, NoteTemplate, TranscriptFile,
};
use crate::ports::{artifact_context, EncryptionContext, Envelope, PortError};
use crate::speech::Recognition;

pub use crate::clinical::note::{EvidenceError, NoteSettings};
pub use crate::clinical::pipeline::ConversationSettings;
pub use crate::formats::PatientPronouns;

/// Object name of the transcript inside a job's output location.
pub const TRANSCRIPT_FILE: &str = "transcript.json";
/// Object name of the encrypted clinical documentation inside a job's output location.
pub const DOCUMENTATION_FILE: &str = "summary.json.encrypted";
/// `veriscribe:artifact` value bound into the documentation's encryption context.
pub const DOCUMENTATION_ARTIFACT: &str = "clinical-documentation";
/// Object name of the encrypted ICD-10-CM code suggestions inside a job's output location.
pub const CODES_FILE: &str = "codes.json.encrypted";
/// `veriscribe:artifact` value bound into the code suggestions' encryption context.
pub const CODES_ARTIFACT: &str = "medical-codes";
/// Object names of the plaintext documentation and code suggestions (output format
/// `healthscribe`: HealthScribe's own names, protected by the storage's encryption at rest).
pub const PLAIN_DOCUMENTATION_FILE: &str = "summary.json";
pub const PLAIN_CODES_FILE: &str = "codes.json";

/// The (documentation, codes) object names a job of this output format writes.
pub fn output_files(format: crate::formats::OutputFormat) -> (&'static str, &'static str) {
    match format {
        crate::formats::OutputFormat::Encrypted => (DOCUMENTATION_FILE, CODES_FILE),
        crate::formats::OutputFormat::HealthScribe => (PLAIN_DOCUMENTATION_FILE, PLAIN_CODES_FILE),
    }
}

/// Recognised speech → the HealthScribe transcript (turns, roles, sections, insights).
pub fn transcript_from_recognition(
    recognition: &Recognition,
    settings: &ConversationSettings,
) -> TranscriptFile {
    with_insights(pipeline::conversation_from_recognition(
        recognition,
        settings,
    ))
}

/// A text dialogue (`[label] text` per line) → the HealthScribe transcript.
pub fn transcript_from_dialogue(
    text: &str,
    settings: &ConversationSettings,
) -> Result<TranscriptFile, DialogueError> {
    Ok(with_insights(pipeline::conversation_from_dialogue(
        text, settings,
    )?))
}

fn with_insights(mut conversation: Conversation) -> TranscriptFile {
    conversation.clinical_insights = insights::extract(&conversation);
    TranscriptFile { conversation }
}

/// The transcript → the clinical documentation for `template`, checked so that every sentence
/// links to segments that exist.
pub fn documentation(
    transcript: &TranscriptFile,
    template: NoteTemplate,
) -> Result<ClinicalDocumentationFile, EvidenceError> {
    documentation_with(transcript, template, &NoteSettings::default())
}

/// [`documentation`] with what is known about the patient (e.g. `patient_pronouns`, from
/// HealthScribe's `MedicalScribeContext.PatientContext.Pronouns`).
pub fn documentation_with(
    transcript: &TranscriptFile,
    template: NoteTemplate,
    settings: &NoteSettings,
) -> Result<ClinicalDocumentationFile, EvidenceError> {
    // A custom template without sections is its base template's note.
    let base_only = CustomTemplate {
        base: template,
        sections: Vec::new(),
    };
    custom_documentation_with(transcript, &base_only, settings)
}

/// The transcript → the clinical documentation for a custom template (its sections, in its
/// order), checked like [`documentation`].
pub fn custom_documentation(
    transcript: &TranscriptFile,
    template: &CustomTemplate,
) -> Result<ClinicalDocumentationFile, EvidenceError> {
    custom_documentation_with(transcript, template, &NoteSettings::default())
}

/// [`custom_documentation`] with what is known about the patient ([`NoteSettings`]).
pub fn custom_documentation_with(
    transcript: &TranscriptFile,
    template: &CustomTemplate,
    settings: &NoteSettings,
) -> Result<ClinicalDocumentationFile, EvidenceError> {
    let conversation = &transcript.conversation;
    let documentation = note::build_custom_documentation_with(conversation, template, settings);
    note::validate_evidence(&documentation, conversation)?;
    Ok(ClinicalDocumentationFile {
        clinical_documentation: documentation,
    })
}

/// The transcript → ranked ICD-10-CM suggestions for the conditions it asserts of the patient.
pub fn medical_codes(transcript: &TranscriptFile) -> MedicalCodesFile {
    MedicalCodesFile {
        medical_codes: coding::suggest_codes(&transcript.conversation),
    }
}

pub fn documentation_context(job_name: &str) -> EncryptionContext {
    artifact_context(job_name, DOCUMENTATION_ARTIFACT)
}

pub fn codes_context(job_name: &str) -> EncryptionContext {
    artifact_context(job_name, CODES_ARTIFACT)
}

/// Serialises and encrypts the documentation, bound to its job by the encryption context.
pub async fn seal_documentation(
    documentation: &ClinicalDocumentationFile,
    job_name: &str,
    envelope: &dyn Envelope,
) -> Result<Vec<u8>, PortError> {
    seal(
        documentation,
        "the clinical documentation",
        &documentation_context(job_name),
        envelope,
    )
    .await
}

/// Decrypts a sealed documentation file of `job_name` and parses it.
pub async fn open_documentation(
    message: &[u8],
    job_name: &str,
    envelope: &dyn Envelope,
) -> Result<ClinicalDocumentationFile, PortError> {
    open(
        message,
        "clinical documentation",
        &documentation_context(job_name),
        envelope,
    )
    .await
}

/// Serialises and encrypts the code suggestions: diagnoses are patient data, like the note.
pub async fn seal_codes(
    codes: &MedicalCodesFile,
    job_name: &str,
    envelope: &dyn Envelope,
) -> Result<Vec<u8>, PortError> {
    seal(
        codes,
        "the code suggestions",
        &codes_context(job_name),
        envelope,
    )
    .await
}

/// Decrypts a sealed code suggestions file of `job_name` and parses it.
pub async fn open_codes(
    message: &[u8],
    job_name: &str,
    envelope: &dyn Envelope,
) -> Result<MedicalCodesFile, PortError> {
    open(
        message,
        "code suggestions",
        &codes_context(job_name),
        envelope,
    )
    .await
}

async fn seal<T: Serialize>(
    value: &T,
    what: &str,
    context: &EncryptionContext,
    envelope: &dyn Envelope,
) -> Result<Vec<u8>, PortError> {
    let plaintext = serde_json::to_vec_pretty(value).map_err(|e| PortError::Permanent {
        message: format!("cannot serialise {what}: {e}"),
    })?;
    envelope.encrypt(&plaintext, context).await
}

async fn open<T: DeserializeOwned>(
    message: &[u8],
    what: &str,
    context: &EncryptionContext,
    envelope: &dyn Envelope,
) -> Result<T, PortError> {
    let plaintext = envelope.decrypt(message, context).await?;
    serde_json::from_slice(&plaintext).map_err(|e| PortError::Permanent {
        message: format!("the decrypted file is not {what} JSON: {e}"),
    })
}
