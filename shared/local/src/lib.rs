//! Local adapters: file object store, SQLite job store.

mod file_store;
mod sqlite_store;

pub use file_store::FileObjectStore;
pub use sqlite_store::{default_db_path, SqliteJobStore};
