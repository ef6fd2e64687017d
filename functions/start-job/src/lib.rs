//! start-job: S3 `ObjectCreated` under the recordings prefix → job row QUEUED (or FAILED with a
//! reason) → one message on the transcribe queue. The library is the handler, so the moto
//! integration tests drive exactly what the Lambda runs.

pub mod handler;
