//! Local adapters: file object store, SQLite job store.
