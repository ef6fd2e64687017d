//! `JobStore` on a SQLite file: one row per job, the record kept whole as JSON.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use veriscribe_core::formats::{JobStatus, MedicalScribeJob, StatusChange};
use veriscribe_core::ports::{JobStore, PortError};

/// How long a statement waits for another process (a second CLI run) to release the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    name          TEXT PRIMARY KEY NOT NULL,
    status        TEXT NOT NULL,
    -- Unix nanoseconds of the job's CreationTime: sorts numerically, unlike mixed-offset text.
    creation_ns   INTEGER NOT NULL,
    job_json      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_status_time ON jobs (status, creation_ns);
CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (creation_ns);
";

pub struct SqliteJobStore {
    conn: Arc<Mutex<Connection>>,
    /// For error messages; `:memory:` for in-memory stores.
    location: String,
}

impl std::fmt::Debug for SqliteJobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteJobStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl SqliteJobStore {
    /// Opens (creating if needed, with its directory) the job database at `path`.
    pub fn open(path: &Path) -> Result<Self, PortError> {
        let location = path.display().to_string();
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| PortError::Permanent {
                    message: format!(
                        "cannot create the job database directory {}: {e}",
                        dir.display()
                    ),
                })?;
        }
        // The job rows name recordings (file names can name patients): owner-only whatever the
        // umask. SQLite gives its -wal and -shm files the database file's permissions.
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| PortError::Permanent {
                message: format!("cannot create the job database {location}: {e}"),
            })?;
        let conn = Connection::open(path).map_err(|e| db_error(&location, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| db_error(&location, e))?;
        // WAL lets `list`/`get` in one CLI run proceed while another run writes.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .map_err(|e| db_error(&location, e))?;
        Self::init(conn, location)
    }

    pub fn open_in_memory() -> Result<Self, PortError> {
        let location = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|e| db_error(&location, e))?;
        Self::init(conn, location)
    }

    fn init(conn: Connection, location: String) -> Result<Self, PortError> {
        conn.execute_batch(SCHEMA)
            .map_err(|e| db_error(&location, e))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            location,
        })
    }

    /// Runs `f` on the connection off the async threads: a busy database may block for the
    /// whole busy timeout.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &str) -> Result<T, PortError> + Send + 'static,
    ) -> Result<T, PortError> {
        let conn = Arc::clone(&self.conn);
        let location = self.location.clone();
        tokio::task::spawn_blocking(move || {
            // A panic mid-call leaves no open transaction (dropping one rolls it back), so a
            // poisoned lock still guards a consistent connection.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard, &location)
        })
        .await
        .map_err(|e| PortError::Permanent {
            message: format!("job database call did not finish: {e}"),
        })?
    }
}

/// `$VERISCRIBE_STATE_DIR/jobs.sqlite3`, else `$XDG_STATE_HOME/veriscribe/jobs.sqlite3`, else
/// `$HOME/.local/state/veriscribe/jobs.sqlite3`.
pub fn default_db_path() -> PathBuf {
    db_path_from(|name| std::env::var_os(name))
}

fn db_path_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let non_empty = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = non_empty("VERISCRIBE_STATE_DIR").unwrap_or_else(|| {
        non_empty("XDG_STATE_HOME")
            .or_else(|| non_empty("HOME").map(|h| h.join(".local").join("state")))
            .unwrap_or_else(|| PathBuf::from(".local/state"))
            .join("veriscribe")
    });
    dir.join("jobs.sqlite3")
}

fn db_error(location: &str, e: rusqlite::Error) -> PortError {
    let message = format!("job database {location}: {e}");
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            PortError::Transient { message }
        }
        _ => PortError::Permanent { message },
    }
}

fn creation_ns(job: &MedicalScribeJob) -> i64 {
    // i64 nanoseconds cover 1677–2262; clamp rather than fail outside that.
    let ns = job.creation_time.unix_timestamp_nanos();
    ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn to_json(job: &MedicalScribeJob) -> Result<String, PortError> {
    serde_json::to_string(job).map_err(|e| PortError::Permanent {
        message: format!("cannot serialize job {}: {e}", job.medical_scribe_job_name),
    })
}

fn from_json(name: &str, json: &str) -> Result<MedicalScribeJob, PortError> {
    serde_json::from_str(json).map_err(|e| PortError::Permanent {
        message: format!("the stored record of job {name} is unreadable: {e}"),
    })
}

#[async_trait]
impl JobStore for SqliteJobStore {
    async fn create(&self, job: &MedicalScribeJob) -> Result<(), PortError> {
        let name = job.medical_scribe_job_name.clone();
        let status = job.medical_scribe_job_status.as_str();
        let created = creation_ns(job);
        let json = to_json(job)?;
        self.with_conn(move |conn, location| {
            let inserted = conn.execute(
                "INSERT INTO jobs (name, status, creation_ns, job_json) VALUES (?1, ?2, ?3, ?4)",
                params![name, status, created, json],
            );
            match inserted {
                Ok(_) => {
                    tracing::debug!(job_name = %name, "created job");
                    Ok(())
                }
                Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                    Err(PortError::AlreadyExists(format!("job {name}")))
                }
                Err(e) => Err(db_error(location, e)),
            }
        })
        .await
    }

    async fn get(&self, name: &str) -> Result<MedicalScribeJob, PortError> {
        let name = name.to_string();
        self.with_conn(move |conn, location| {
            let json: Option<String> = conn
                .query_row(
                    "SELECT job_json FROM jobs WHERE name = ?1",
                    params![name],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| db_error(location, e))?;
            match json {
                Some(json) => from_json(&name, &json),
                None => Err(PortError::NotFound(format!("job {name}"))),
            }
        })
        .await
    }

    async fn update(
        &self,
        name: &str,
        change: &StatusChange,
    ) -> Result<MedicalScribeJob, PortError> {
        let name = name.to_string();
        let change = change.clone();
        self.with_conn(move |conn, location| {
            // IMMEDIATE takes the write lock before the read, so two runs can't both see the
            // old state and both apply their change.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db_error(location, e))?;
            let json: Option<String> = tx
                .query_row(
                    "SELECT job_json FROM jobs WHERE name = ?1",
                    params![name],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| db_error(location, e))?;
            let Some(json) = json else {
                return Err(PortError::NotFound(format!("job {name}")));
            };
            let mut job = from_json(&name, &json)?;
            if !change.apply(&mut job) {
                return Err(PortError::StateConflict {
                    name,
                    actual: job.medical_scribe_job_status,
                });
            }
            tx.execute(
                "UPDATE jobs SET status = ?2, job_json = ?3 WHERE name = ?1",
                params![name, job.medical_scribe_job_status.as_str(), to_json(&job)?],
            )
            .map_err(|e| db_error(location, e))?;
            tx.commit().map_err(|e| db_error(location, e))?;
            tracing::debug!(job_name = %name, status = %job.medical_scribe_job_status, "updated job");
            Ok(job)
        })
        .await
    }

    async fn list(
        &self,
        status: Option<JobStatus>,
        limit: usize,
    ) -> Result<Vec<MedicalScribeJob>, PortError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(move |conn, location| {
            let db = |e| db_error(location, e);
            // Ties in creation time fall back to insertion order (rowid), newest first.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT name, job_json FROM jobs
                     WHERE ?1 IS NULL OR status = ?1
                     ORDER BY creation_ns DESC, rowid DESC
                     LIMIT ?2",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(params![status.map(JobStatus::as_str), limit], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(db)?;
            let mut jobs = Vec::new();
            for row in rows {
                let (name, json) = row.map_err(db)?;
                jobs.push(from_json(&name, &json)?);
            }
            Ok(jobs)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::OffsetDateTime;
    use veriscribe_core::formats::{JobSettings, MedicalScribeOutput};

    fn job(name: &str, created: OffsetDateTime) -> MedicalScribeJob {
        MedicalScribeJob::new_queued(
            name,
            format!("file:///media/{name}.wav"),
            JobSettings::default(),
            vec![],
            created,
        )
    }

    fn output() -> MedicalScribeOutput {
        MedicalScribeOutput {
            transcript_file_uri: "file:///out/t.json".into(),
            clinical_document_uri: "file:///out/n.json".into(),
        }
    }

    const T0: OffsetDateTime = datetime!(2025-01-02 03:04:05 UTC);

    #[tokio::test]
    async fn create_get_and_duplicate() {
        let store = SqliteJobStore::open_in_memory().unwrap();
        let j = job("job-1", T0);
        store.create(&j).await.unwrap();
        assert_eq!(store.get("job-1").await.unwrap(), j);
        let mut changed = j.clone();
        changed.language_code = "xx".into();
        assert!(matches!(
            store.create(&changed).await,
            Err(PortError::AlreadyExists(_))
        ));
        assert_eq!(store.get("job-1").await.unwrap(), j, "no overwrite");
        assert!(matches!(
            store.get("nope").await,
            Err(PortError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn allowed_transitions() {
        let store = SqliteJobStore::open_in_memory().unwrap();
        store.create(&job("job-1", T0)).await.unwrap();
        let t1 = T0 + time::Duration::seconds(1);
        let started = store
            .update("job-1", &StatusChange::start(t1))
            .await
            .unwrap();
        assert_eq!(started.medical_scribe_job_status, JobStatus::InProgress);
        assert_eq!(started.start_time, Some(t1));
        // A retried stage may pick the job up again; the first start time stays.
        let again = store
            .update(
                "job-1",
                &StatusChange::start(t1 + time::Duration::seconds(5)),
            )
            .await
            .unwrap();
        assert_eq!(again.start_time, Some(t1));
        let t2 = T0 + time::Duration::seconds(9);
        let done = store
            .update("job-1", &StatusChange::complete(output(), t2))
            .await
            .unwrap();
        assert_eq!(done.medical_scribe_job_status, JobStatus::Completed);
        assert_eq!(done.completion_time, Some(t2));
        assert_eq!(done.medical_scribe_output, Some(output()));
        assert_eq!(store.get("job-1").await.unwrap(), done, "persisted");
        assert_eq!(
            store
                .list(Some(JobStatus::Completed), 10)
                .await
                .unwrap()
                .len(),
            1,
            "status column follows the record"
        );
    }

    #[tokio::test]
    async fn refused_transitions() {
        let store = SqliteJobStore::open_in_memory().unwrap();
        store.create(&job("done", T0)).await.unwrap();
        store
            .update("done", &StatusChange::start(T0))
            .await
            .unwrap();
        let done = store
            .update("done", &StatusChange::complete(output(), T0))
            .await
            .unwrap();
        // COMPLETED → FAILED is refused and the record is untouched.
        let err = store
            .update("done", &StatusChange::fail("late failure", T0))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            PortError::StateConflict { ref name, actual: JobStatus::Completed } if name == "done"
        ));
        assert_eq!(store.get("done").await.unwrap(), done);

        // QUEUED → COMPLETED skips IN_PROGRESS: refused.
        store.create(&job("queued", T0)).await.unwrap();
        assert!(matches!(
            store
                .update("queued", &StatusChange::complete(output(), T0))
                .await,
            Err(PortError::StateConflict {
                actual: JobStatus::Queued,
                ..
            })
        ));

        // FAILED is final.
        let failed = store
            .update("queued", &StatusChange::fail("no audio", T0))
            .await
            .unwrap();
        assert_eq!(failed.failure_reason.as_deref(), Some("no audio"));
        for change in [
            StatusChange::start(T0),
            StatusChange::complete(output(), T0),
            StatusChange::fail("again", T0),
        ] {
            assert!(matches!(
                store.update("queued", &change).await,
                Err(PortError::StateConflict {
                    actual: JobStatus::Failed,
                    ..
                })
            ));
        }
        assert_eq!(store.get("queued").await.unwrap(), failed);

        assert!(matches!(
            store.update("missing", &StatusChange::start(T0)).await,
            Err(PortError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn list_is_newest_first_with_filter_and_limit() {
        let store = SqliteJobStore::open_in_memory().unwrap();
        // Inserted out of order; one pair shares a creation time.
        for (name, offset) in [("b", 20), ("a", 10), ("d", 40), ("c", 30), ("c2", 30)] {
            store
                .create(&job(name, T0 + time::Duration::seconds(offset)))
                .await
                .unwrap();
        }
        store.update("a", &StatusChange::start(T0)).await.unwrap();
        store.update("d", &StatusChange::start(T0)).await.unwrap();
        let names = |jobs: Vec<MedicalScribeJob>| {
            jobs.into_iter()
                .map(|j| j.medical_scribe_job_name)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(store.list(None, 100).await.unwrap()),
            ["d", "c2", "c", "b", "a"]
        );
        assert_eq!(names(store.list(None, 2).await.unwrap()), ["d", "c2"]);
        assert_eq!(
            names(store.list(Some(JobStatus::InProgress), 100).await.unwrap()),
            ["d", "a"]
        );
        assert_eq!(
            names(store.list(Some(JobStatus::Queued), 100).await.unwrap()),
            ["c2", "c", "b"]
        );
        assert!(store
            .list(Some(JobStatus::Failed), 100)
            .await
            .unwrap()
            .is_empty());
        assert!(store.list(None, 0).await.unwrap().is_empty());
        assert_eq!(store.list(None, usize::MAX).await.unwrap().len(), 5);
    }

    #[tokio::test]
    async fn file_database_persists_and_is_shared_between_connections() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("state/veriscribe/jobs.sqlite3");
        {
            let store = SqliteJobStore::open(&path).unwrap();
            store.create(&job("job-1", T0)).await.unwrap();
        }
        let first = SqliteJobStore::open(&path).unwrap();
        let second = SqliteJobStore::open(&path).unwrap();
        assert_eq!(
            first.get("job-1").await.unwrap().medical_scribe_job_name,
            "job-1"
        );
        // Two "CLI runs" racing to start the same job: both see IN_PROGRESS, neither fails busy.
        let start = StatusChange::start(T0);
        let (a, b) = tokio::join!(
            first.update("job-1", &start),
            second.update("job-1", &start)
        );
        a.unwrap();
        b.unwrap();
        second
            .update("job-1", &StatusChange::complete(output(), T0))
            .await
            .unwrap();
        assert!(matches!(
            first.update("job-1", &StatusChange::fail("x", T0)).await,
            Err(PortError::StateConflict {
                actual: JobStatus::Completed,
                ..
            })
        ));
    }

    #[test]
    fn default_db_path_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert_eq!(
            db_path_from(env(&[
                ("VERISCRIBE_STATE_DIR", "/s"),
                ("XDG_STATE_HOME", "/x")
            ])),
            PathBuf::from("/s/jobs.sqlite3")
        );
        assert_eq!(
            db_path_from(env(&[("XDG_STATE_HOME", "/x"), ("HOME", "/h")])),
            PathBuf::from("/x/veriscribe/jobs.sqlite3")
        );
        assert_eq!(
            db_path_from(env(&[("HOME", "/h")])),
            PathBuf::from("/h/.local/state/veriscribe/jobs.sqlite3")
        );
    }
}
