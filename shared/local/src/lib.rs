//! Local adapters: file object store, SQLite job store, recordings on disk.

mod file_recordings;
mod file_store;
mod sqlite_store;

pub use file_recordings::FileRecordings;
pub use file_store::FileObjectStore;
pub use sqlite_store::{default_db_path, SqliteJobStore};
