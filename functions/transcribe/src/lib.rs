//! transcribe: transcribe-queue message → recording from S3 → whisper.cpp → transcript.json in
//! the output location → message on the note queue. Its dead-letter queue is a second event
//! source: records from it end the job FAILED.

pub mod handler;
