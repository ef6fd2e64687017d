//! The pipeline's stages as the drivers (the CLI, the Lambda functions) call them. Each stage is a
//! plain function over data; the only effects are through the port traits passed in.

use crate::clinical::{dialogue::DialogueError, insights, note, pipeline};
use crate::formats::{ClinicalDocumentationFile, Conversation, NoteTemplate, TranscriptFile};
use crate::ports::{artifact_context, EncryptionContext, Envelope, PortError};
use crate::speech::Recognition;

pub use crate::clinical::note::EvidenceError;
pub use crate::clinical::pipeline::ConversationSettings;

/// Object name of the transcript inside a job's output location.
pub const TRANSCRIPT_FILE: &str = "transcript.json";
/// Object name of the encrypted clinical documentation inside a job's output location.
pub const DOCUMENTATION_FILE: &str = "summary.json.encrypted";
/// `veriscribe:artifact` value bound into the documentation's encryption context.
pub const DOCUMENTATION_ARTIFACT: &str = "clinical-documentation";

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
    let conversation = &transcript.conversation;
    let documentation = note::build_documentation(conversation, template);
    note::validate_evidence(&documentation, conversation)?;
    Ok(ClinicalDocumentationFile {
        clinical_documentation: documentation,
    })
}

pub fn documentation_context(job_name: &str) -> EncryptionContext {
    artifact_context(job_name, DOCUMENTATION_ARTIFACT)
}

/// Serialises and encrypts the documentation, bound to its job by the encryption context.
pub async fn seal_documentation(
    documentation: &ClinicalDocumentationFile,
    job_name: &str,
    envelope: &dyn Envelope,
) -> Result<Vec<u8>, PortError> {
    let plaintext = serde_json::to_vec_pretty(documentation).map_err(|e| PortError::Permanent {
        message: format!("cannot serialise the clinical documentation: {e}"),
    })?;
    envelope
        .encrypt(&plaintext, &documentation_context(job_name))
        .await
}

/// Decrypts a sealed documentation file of `job_name` and parses it.
pub async fn open_documentation(
    message: &[u8],
    job_name: &str,
    envelope: &dyn Envelope,
) -> Result<ClinicalDocumentationFile, PortError> {
    let plaintext = envelope
        .decrypt(message, &documentation_context(job_name))
        .await?;
    serde_json::from_slice(&plaintext).map_err(|e| PortError::Permanent {
        message: format!("the decrypted file is not clinical documentation JSON: {e}"),
    })
}
