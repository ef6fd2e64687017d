//! What `veriscribe run` prints when a job completes: counts and times the lifecycle's steps
//! reported (never patient text), and where the outputs are.

use std::path::Path;
use std::sync::Mutex;

use veriscribe_core::formats::MedicalScribeJob;
use veriscribe_core::ports::{JobEvents, NoteStats, TranscriptStats};
use veriscribe_core::stages::CODES_FILE;

#[derive(Default)]
pub struct Summary(Mutex<(Option<TranscriptStats>, Option<NoteStats>)>);

impl JobEvents for Summary {
    fn transcribed(&self, _job: &str, stats: &TranscriptStats) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).0 = Some(*stats);
    }

    fn completed(&self, _job: &str, stats: &NoteStats) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(*stats);
    }
}

impl Summary {
    pub fn print(&self, job: &MedicalScribeJob, out: &Path, total_seconds: f64) {
        let (transcript, note) = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        println!(
            "job        {}  {}",
            job.medical_scribe_job_name, job.medical_scribe_job_status
        );
        if let Some(t) = transcript {
            if let (Some(audio), Some(recognition)) = (t.audio_seconds, t.recognition_seconds) {
                println!(
                    "audio      {audio:.1} s, recognised in {recognition:.1} s (real-time factor {:.3})",
                    recognition / audio.max(1e-9)
                );
            }
            println!(
                "transcript {} segments, {} clinical insights",
                t.segments, t.insights
            );
        }
        if let Some(n) = note {
            println!(
                "note       {}: {} sections, {} sentences, each linked to transcript segments",
                n.template, n.sections, n.sentences
            );
            println!(
                "codes      {} ICD-10-CM suggestions, each linked to transcript segments",
                n.codes
            );
        }
        println!("total      {total_seconds:.1} s");
        if let Some(output) = &job.medical_scribe_output {
            println!("outputs    {}", output.transcript_file_uri);
            println!("           {}", output.clinical_document_uri);
        }
        println!("           {}/{CODES_FILE}", out.display());
        println!("read it    veriscribe render {}", out.display());
    }
}
