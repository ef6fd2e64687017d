//! `veriscribe review DIR`: one self-contained HTML page (inline CSS and JavaScript, no network)
//! to check a finished job's note against the conversation it came from, and
//! `veriscribe review --import FILE DIR`: stores the clinician's reviewed note, encrypted, beside
//! the draft (`summary.reviewed.json.encrypted`).
//!
//! The page holds patient data: it is written with mode 0600 and must not be put anywhere
//! unencrypted that others can read (an output bucket included).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;
use veriscribe_core::clinical::note::validate_evidence;
use veriscribe_core::clinical::support::{evidence_support, WEAK_SUPPORT};
use veriscribe_core::formats::{
    ClinicalDocumentation, ClinicalDocumentationFile, EvidenceLink, InsightTraitName,
    MedicalCodesFile, NoteSection, NoteSectionContent, SummarizedSentence, TranscriptFile,
};
use veriscribe_core::ports::{artifact_context, Envelope, JobStore};
use veriscribe_core::stages;
use veriscribe_crypto::LocalAesEnvelope;

use crate::commands::decrypt::{job_name_beside, open_local_envelope};

/// The reviewed note, beside the draft.
pub const REVIEWED_FILE: &str = "summary.reviewed.json.encrypted";
/// `veriscribe:artifact` of the reviewed note: distinct from the draft's, so neither can be
/// passed off as the other.
pub const REVIEWED_ARTIFACT: &str = "clinical-documentation-reviewed";
/// Recordings up to this size are embedded in the page; larger ones are copied beside it.
const EMBED_LIMIT: u64 = 50 * 1024 * 1024;

const PAGE: &str = include_str!("review/page.html");
const CSS: &str = include_str!("review/review.css");
const JS: &str = include_str!("review/review.js");

#[derive(Args)]
pub struct ReviewArgs {
    /// A job output directory written by `veriscribe run --out DIR`.
    pub dir: PathBuf,
    /// The visit recording to play in the page; default: the job's own recording (from the
    /// local job record), when it is still there.
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// Where to write the page (default: DIR/review.html).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The job the files must belong to; default: the JobName of DIR/transcript.json.
    #[arg(long)]
    pub job_name: Option<String>,
    /// Store a reviewed note exported by the page (encrypted, as DIR/summary.reviewed.json.encrypted)
    /// instead of writing the page.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["audio", "out"])]
    pub import: Option<PathBuf>,
    #[arg(long, env = "VERISCRIBE_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The local job status database (to find the job's recording).
    #[arg(long, env = "VERISCRIBE_DB")]
    pub db: Option<PathBuf>,
}

/// The reviewed note as the page exports it: the documentation format, with edited sentences
/// marked, rejected sentences moved out of the note into `Review.Rejected`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewedFile {
    #[serde(rename = "ClinicalDocumentation")]
    pub clinical_documentation: ReviewedDocumentation,
    #[serde(rename = "Review")]
    pub review: ReviewInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewedDocumentation {
    pub sections: Vec<ReviewedSection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewedSection {
    pub section_name: NoteSection,
    pub summary: Vec<ReviewedSentence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewedSentence {
    pub summarized_segment: String,
    pub evidence_links: Vec<EvidenceLink>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_segment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewInfo {
    pub job_name: String,
    /// `ACCEPTED` (signed off) or `IN_REVIEW` (saved, not signed off).
    pub status: String,
    pub reviewed_at: String,
    #[serde(default)]
    pub rejected: Vec<RejectedSentence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RejectedSentence {
    pub section_name: NoteSection,
    pub summarized_segment: String,
    pub evidence_links: Vec<EvidenceLink>,
}

impl ReviewedFile {
    /// The reviewed note as plain clinical documentation (markers dropped).
    pub fn documentation(&self) -> ClinicalDocumentation {
        ClinicalDocumentation {
            sections: self
                .clinical_documentation
                .sections
                .iter()
                .map(|s| NoteSectionContent {
                    section_name: s.section_name.clone(),
                    summary: s
                        .summary
                        .iter()
                        .map(|x| SummarizedSentence {
                            summarized_segment: x.summarized_segment.clone(),
                            evidence_links: x.evidence_links.clone(),
                        })
                        .collect(),
                })
                .collect(),
            session_id: None,
        }
    }

    pub fn edited_count(&self) -> usize {
        self.clinical_documentation
            .sections
            .iter()
            .flat_map(|s| &s.summary)
            .filter(|x| x.edited)
            .count()
    }
}

pub async fn review(args: ReviewArgs) -> anyhow::Result<()> {
    let job_name = match &args.job_name {
        Some(name) => name.clone(),
        None => job_name_beside(&args.dir.join(stages::DOCUMENTATION_FILE))?,
    };
    let envelope = open_local_envelope(args.key_file.clone())?;
    let transcript = read_transcript(&args.dir)?;
    let draft = open_draft(&args.dir, &job_name, &envelope).await?;
    if let Some(file) = &args.import {
        return import(&args.dir, file, &job_name, &transcript, &envelope).await;
    }
    let codes = if args.dir.join(stages::CODES_FILE).exists() {
        let path = args.dir.join(stages::CODES_FILE);
        let message =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Some(
            stages::open_codes(&message, &job_name, &envelope)
                .await
                .with_context(|| format!("cannot decrypt {}", path.display()))?,
        )
    } else {
        None
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.dir.join("review.html"));
    let audio = match &args.audio {
        Some(path) => Some(path.clone()),
        None => job_recording(&job_name, args.db.clone()).await,
    };
    let audio_html = match &audio {
        Some(path) => audio_element(path, &out)?,
        None => "<p class=\"no-audio\">No recording: pass <code>--audio FILE</code> to listen along.</p>".to_string(),
    };
    let data = page_data(
        &job_name,
        &transcript,
        &draft.clinical_documentation,
        codes.as_ref(),
    );
    let html = render_page(&job_name, &data, &audio_html);
    write_private(&out, html.as_bytes())?;
    let sentences: usize = draft
        .clinical_documentation
        .sections
        .iter()
        .map(|s| s.summary.len())
        .sum();
    println!(
        "review page {} ({} KB, {sentences} note sentences, {} transcript segments{})",
        out.display(),
        html.len() / 1024,
        transcript.conversation.transcript_segments.len(),
        match &audio {
            Some(a) => format!(", audio {}", a.display()),
            None => ", no audio".to_string(),
        }
    );
    println!("it holds patient data: keep it private (mode 0600), never in a shared or output bucket unencrypted");
    Ok(())
}

fn read_transcript(dir: &Path) -> anyhow::Result<TranscriptFile> {
    let path = dir.join(stages::TRANSCRIPT_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a HealthScribe transcript", path.display()))
}

async fn open_draft(
    dir: &Path,
    job_name: &str,
    envelope: &LocalAesEnvelope,
) -> anyhow::Result<ClinicalDocumentationFile> {
    let path = dir.join(stages::DOCUMENTATION_FILE);
    let message =
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    stages::open_documentation(&message, job_name, envelope)
        .await
        .with_context(|| format!("cannot decrypt {}", path.display()))
}

/// The reviewed note of a job directory, when one was imported.
pub async fn open_reviewed(
    dir: &Path,
    job_name: &str,
    envelope: &dyn Envelope,
) -> anyhow::Result<Option<ReviewedFile>> {
    let path = dir.join(REVIEWED_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let message =
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let plain = envelope
        .decrypt(&message, &artifact_context(job_name, REVIEWED_ARTIFACT))
        .await
        .with_context(|| format!("cannot decrypt {}", path.display()))?;
    let reviewed = serde_json::from_slice(&plain)
        .with_context(|| format!("{} is not a reviewed note", path.display()))?;
    Ok(Some(reviewed))
}

async fn import(
    dir: &Path,
    file: &Path,
    job_name: &str,
    transcript: &TranscriptFile,
    envelope: &LocalAesEnvelope,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let reviewed: ReviewedFile = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a reviewed note exported by the review page",
            file.display()
        )
    })?;
    ensure!(
        reviewed.review.job_name == job_name,
        "{} is the review of job {:?}, not of {job_name:?}",
        file.display(),
        reviewed.review.job_name
    );
    ensure!(
        matches!(reviewed.review.status.as_str(), "ACCEPTED" | "IN_REVIEW"),
        "Review.Status must be ACCEPTED or IN_REVIEW, got {:?}",
        reviewed.review.status
    );
    for section in &reviewed.clinical_documentation.sections {
        for (i, sentence) in section.summary.iter().enumerate() {
            if sentence.summarized_segment.trim().is_empty() {
                bail!(
                    "note section {} sentence {i} is empty; reject it instead",
                    section.section_name
                );
            }
        }
    }
    validate_evidence(&reviewed.documentation(), &transcript.conversation)
        .context("the reviewed note's evidence links do not match this job's transcript")?;
    let plain = serde_json::to_vec_pretty(&reviewed)?;
    let message = envelope
        .encrypt(&plain, &artifact_context(job_name, REVIEWED_ARTIFACT))
        .await
        .context("cannot encrypt the reviewed note")?;
    let path = dir.join(REVIEWED_FILE);
    write_private(&path, &message)?;
    let kept: usize = reviewed
        .clinical_documentation
        .sections
        .iter()
        .map(|s| s.summary.len())
        .sum();
    println!(
        "stored {} ({}: {kept} sentences, {} edited, {} rejected)",
        path.display(),
        reviewed.review.status,
        reviewed.edited_count(),
        reviewed.review.rejected.len()
    );
    Ok(())
}

/// The job's recording from the local job record (`file://` media URI), when it is audio and
/// still there.
async fn job_recording(job_name: &str, db: Option<PathBuf>) -> Option<PathBuf> {
    let path = db.unwrap_or_else(veriscribe_local::default_db_path);
    if !path.exists() {
        return None;
    }
    let store = veriscribe_local::SqliteJobStore::open(&path).ok()?;
    let job = store.get(job_name).await.ok()?;
    let uri = job.media.media_file_uri;
    let file = PathBuf::from(uri.strip_prefix("file://")?);
    (audio_mime(&file).is_some() && file.is_file()).then_some(file)
}

fn audio_mime(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" => "audio/ogg",
        "m4a" | "mp4" => "audio/mp4",
        "webm" => "audio/webm",
        _ => return None,
    })
}

/// The `<audio>` element: the recording as a data: URI when small, else copied beside the page
/// (mode 0600) and referenced by its file name.
fn audio_element(audio: &Path, page: &Path) -> anyhow::Result<String> {
    let mime = audio_mime(audio).with_context(|| {
        format!(
            "{} is not a recording the page can play (wav, flac, mp3, ogg, m4a, webm)",
            audio.display()
        )
    })?;
    let size = std::fs::metadata(audio)
        .with_context(|| format!("cannot read {}", audio.display()))?
        .len();
    let src = if size < EMBED_LIMIT {
        let bytes =
            std::fs::read(audio).with_context(|| format!("cannot read {}", audio.display()))?;
        format!("data:{mime};base64,{}", base64(&bytes))
    } else {
        let stem = page
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("review");
        let ext = audio
            .extension()
            .and_then(|s| s.to_str())
            .unwrap_or("audio");
        let name = format!("{stem}.audio.{ext}");
        let target = page.parent().unwrap_or(Path::new(".")).join(&name);
        let bytes =
            std::fs::read(audio).with_context(|| format!("cannot read {}", audio.display()))?;
        write_private(&target, &bytes)?;
        percent_encode(&name)
    };
    Ok(format!(
        "<audio id=\"audio\" controls preload=\"auto\" src=\"{}\" aria-label=\"Visit recording\"></audio>",
        html_escape(&src)
    ))
}

/// What the page's script reads: the note, the transcript, the insights and the codes.
pub fn page_data(
    job_name: &str,
    transcript: &TranscriptFile,
    note: &ClinicalDocumentation,
    codes: Option<&MedicalCodesFile>,
) -> serde_json::Value {
    let conversation = &transcript.conversation;
    let sections: Vec<_> = note
        .sections
        .iter()
        .map(|section| {
            let sentences: Vec<_> = section
                .summary
                .iter()
                .map(|s| {
                    let cited: Vec<&str> = s
                        .evidence_links
                        .iter()
                        .filter_map(|l| conversation.segment(&l.segment_id))
                        .map(|seg| seg.content.as_str())
                        .collect();
                    let support = evidence_support(&s.summarized_segment, &cited);
                    json!({
                        "text": s.summarized_segment,
                        "links": s.evidence_links.iter().map(|l| &l.segment_id).collect::<Vec<_>>(),
                        "support": (support * 1000.0).round() / 1000.0,
                        "weak": support < WEAK_SUPPORT,
                    })
                })
                .collect();
            json!({ "name": section.section_name.to_string(), "sentences": sentences })
        })
        .collect();
    let segments: Vec<_> = conversation
        .transcript_segments
        .iter()
        .map(|s| {
            json!({
                "id": s.segment_id,
                "begin": s.begin_audio_time,
                "end": s.end_audio_time,
                "role": s.participant_details.participant_role.to_string(),
                "section": s.section_details.section_name.to_string(),
                "content": s.content,
            })
        })
        .collect();
    let insights: Vec<_> = conversation
        .clinical_insights
        .iter()
        .map(|i| {
            json!({
                "id": i.insight_id,
                "category": i.category.to_string(),
                "type": i.entity_type.to_string(),
                "negated": i.has_trait(&InsightTraitName::Negation),
                "traits": i.traits.iter().map(|t| t.name.to_string()).collect::<Vec<_>>(),
                "spans": i.spans.iter().map(|s| json!({
                    "segment": s.segment_id,
                    "begin": s.begin_character_offset,
                    "end": s.end_character_offset,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let codes: Vec<_> = codes
        .map(|c| c.medical_codes.codes.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            json!({
                "code": c.code,
                "description": c.description,
                "score": c.score,
                "term": c.term,
                "links": c.evidence_links.iter().map(|l| &l.segment_id).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "job": job_name,
        "sections": sections,
        "segments": segments,
        "insights": insights,
        "codes": codes,
        "reviewed": null,
    })
}

pub fn render_page(job_name: &str, data: &serde_json::Value, audio_html: &str) -> String {
    // Placeholders are replaced in one pass over the template, so text from the job can never
    // introduce a placeholder of its own.
    let mut out = String::with_capacity(PAGE.len() + CSS.len() + JS.len() + 4096);
    let mut rest = PAGE;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").expect("closed placeholder in page.html");
        match &after[..end] {
            "TITLE" => out.push_str(&html_escape(job_name)),
            "CSS" => out.push_str(CSS),
            "JS" => out.push_str(JS),
            "AUDIO" => out.push_str(audio_html),
            "DATA" => out.push_str(&json_for_script(data)),
            other => panic!("unknown placeholder {other} in page.html"),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&` (so no
/// `</script>` or `<!--`), and no U+2028/U+2029.
pub fn json_for_script(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Writes `bytes` to `path` readable by the owner only (0600), through a temporary file in the
/// same directory and a rename, so the file is never world-readable, not even while written.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("the output path has no file name")?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let v = json!({"t": "</script><script>alert('x')</script> <!-- & \u{2028}"});
        let s = json_for_script(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
        let page = render_page("job<\"'>", &v, "");
        assert_eq!(page.matches("</script>").count(), 2);
        assert!(page.contains("job&lt;&quot;&#39;&gt;"));
    }
}
