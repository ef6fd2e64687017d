//! The lifecycle's events as CloudWatch metrics (EMF lines): every row of `data/metrics.tsv`
//! is written from here.

use veriscribe_core::ports::{JobEvents, NoteStats, TranscriptStats};
use veriscribe_lifecycle::{STAGE_NOTE, STAGE_START, STAGE_TRANSCRIBE};

use crate::metrics::{
    Metrics, Unit, AUDIO_SECONDS, JOBS_COMPLETED, JOBS_STARTED, JOB_DURATION_SECONDS,
    REAL_TIME_FACTOR, STAGE_SECONDS,
};

impl JobEvents for Metrics {
    fn started(&self, job_name: &str) {
        self.emit(STAGE_START, job_name, &[(JOBS_STARTED, 1.0, Unit::Count)]);
    }

    fn transcribed(&self, job_name: &str, stats: &TranscriptStats) {
        let mut values = vec![(STAGE_SECONDS, stats.stage_seconds, Unit::Seconds)];
        // A text dialogue has no audio to count.
        if let (Some(audio), Some(recognition)) = (stats.audio_seconds, stats.recognition_seconds) {
            values.push((AUDIO_SECONDS, audio, Unit::Seconds));
            values.push((REAL_TIME_FACTOR, recognition / audio.max(1e-9), Unit::None));
        }
        self.emit(STAGE_TRANSCRIBE, job_name, &values);
    }

    fn completed(&self, job_name: &str, stats: &NoteStats) {
        self.emit(
            STAGE_NOTE,
            job_name,
            &[
                (JOBS_COMPLETED, 1.0, Unit::Count),
                (JOB_DURATION_SECONDS, stats.job_seconds, Unit::Seconds),
                (STAGE_SECONDS, stats.stage_seconds, Unit::Seconds),
            ],
        );
    }

    fn failed(&self, stage: &str, job_name: &str) {
        self.job_failed(stage, job_name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use veriscribe_core::formats::NoteTemplate;

    #[test]
    fn every_event_writes_declared_metrics() {
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        let metrics = Metrics::with_sink("NS", Arc::new(move |l| sink.lock().unwrap().push(l)));
        metrics.started("j");
        metrics.transcribed(
            "j",
            &TranscriptStats {
                audio_seconds: Some(10.0),
                recognition_seconds: Some(2.0),
                segments: 3,
                insights: 1,
                stage_seconds: 2.5,
            },
        );
        metrics.completed(
            "j",
            &NoteStats {
                template: NoteTemplate::Birp,
                custom_template: false,
                sections: 2,
                sentences: 4,
                codes: 1,
                job_seconds: 30.0,
                stage_seconds: 0.5,
            },
        );
        metrics.failed(STAGE_TRANSCRIBE, "j");
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 4);
        let transcribed: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(transcribed["RealTimeFactor"], 0.2);
        assert_eq!(transcribed["Stage"], "transcribe");
        let completed: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(completed["JobsCompleted"], 1.0);
        assert_eq!(completed["JobDurationSeconds"], 30.0);
    }
}
