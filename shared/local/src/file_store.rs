//! `ObjectStore` on a local directory: keys are relative paths below a root.

use std::fs::{self, DirBuilder, File};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use veriscribe_core::ports::{ObjectStore, PortError};

#[derive(Debug, Clone)]
pub struct FileObjectStore {
    root: PathBuf,
}

impl FileObjectStore {
    /// `root` is made absolute (against the current directory) so URIs stay valid elsewhere.
    /// It need not exist yet: `put` creates directories as needed.
    pub fn new(root: PathBuf) -> Self {
        let root = std::path::absolute(&root).unwrap_or(root);
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a key maps to; refuses keys that could leave the root.
    pub fn path_for(&self, key: &str) -> Result<PathBuf, PortError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

fn validate_key(key: &str) -> Result<(), PortError> {
    let refuse = |why: &str| PortError::Permanent {
        message: format!("invalid object key {key:?}: {why}"),
    };
    if key.is_empty() {
        return Err(refuse("it is empty"));
    }
    if key.contains('\0') {
        return Err(refuse("it contains a NUL byte"));
    }
    if key.ends_with('/') {
        return Err(refuse("it names a directory"));
    }
    for component in Path::new(key).components() {
        match component {
            Component::Normal(_) => {}
            Component::ParentDir => return Err(refuse("it contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(
                    "it is absolute; keys are relative to the store's root",
                ))
            }
            Component::CurDir => return Err(refuse("it contains `.`")),
        }
    }
    Ok(())
}

fn io_error(action: &str, path: &Path, e: io::Error) -> PortError {
    PortError::Permanent {
        message: format!("cannot {action} {}: {e}", path.display()),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PortError> + Send + 'static,
) -> Result<T, PortError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PortError::Permanent {
            message: format!("file operation did not finish: {e}"),
        })?
}

/// Temp file in the target's directory + fsync + rename: a reader sees the old object or the
/// whole new one, and a crash leaves at most a stray temp file, never a torn object.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PortError> {
    write_with(path, bytes, |tmp, path| {
        fs::rename(tmp, path).map(|()| true)
    })
    .map(|_| ())
}

/// Like [`write_atomically`], but never replaces: the whole file is linked into place only if
/// nothing is there (`link` fails on an existing name, atomically). `Ok(false)` if one was.
fn write_new_atomically(path: &Path, bytes: &[u8]) -> Result<bool, PortError> {
    write_with(path, bytes, |tmp, path| {
        let linked = match fs::hard_link(tmp, path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(e),
        };
        fs::remove_file(tmp)?;
        Ok(linked)
    })
}

fn write_with(
    path: &Path,
    bytes: &[u8],
    place: impl FnOnce(&Path, &Path) -> io::Result<bool>,
) -> Result<bool, PortError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error("create directory", dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        // Outputs are patient data: owner-only whatever the umask.
        let mut f = File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        let placed = place(&tmp, path)?;
        // Persist the rename or link itself.
        File::open(dir)?.sync_all()?;
        Ok(placed)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| io_error("write", path, e))
}

#[async_trait]
impl ObjectStore for FileObjectStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, PortError> {
        let path = self.path_for(key)?;
        let key = key.to_string();
        blocking(move || match fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(PortError::NotFound(format!(
                "object {key} ({})",
                path.display()
            ))),
            Err(e) => Err(io_error("read", &path, e)),
        })
        .await
    }

    /// Files carry no metadata, so `content_type` is not stored.
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), PortError> {
        let path = self.path_for(key)?;
        let len = bytes.len();
        blocking(move || write_atomically(&path, &bytes)).await?;
        tracing::debug!(key, bytes = len, "stored object");
        Ok(())
    }

    async fn put_new(
        &self,
        key: &str,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<bool, PortError> {
        let path = self.path_for(key)?;
        blocking(move || write_new_atomically(&path, &bytes)).await
    }

    fn uri(&self, key: &str) -> String {
        format!("file://{}", self.root.join(key).display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn put_then_get_creates_directories_and_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileObjectStore::new(tmp.path().to_path_buf());
        store
            .put("job-1/transcript.json", b"one".to_vec(), "application/json")
            .await
            .unwrap();
        assert_eq!(store.get("job-1/transcript.json").await.unwrap(), b"one");
        store
            .put(
                "job-1/transcript.json",
                b"two!".to_vec(),
                "application/json",
            )
            .await
            .unwrap();
        assert_eq!(store.get("job-1/transcript.json").await.unwrap(), b"two!");
        let names: Vec<_> = fs::read_dir(tmp.path().join("job-1"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["transcript.json"], "no temp files left behind");
    }

    #[tokio::test]
    async fn put_new_never_replaces_and_leaves_no_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileObjectStore::new(tmp.path().to_path_buf());
        assert!(store.put_new("j/a", b"one".to_vec(), "x").await.unwrap());
        assert!(!store.put_new("j/a", b"two".to_vec(), "x").await.unwrap());
        assert_eq!(store.get("j/a").await.unwrap(), b"one");
        let names: Vec<_> = fs::read_dir(tmp.path().join("j"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a"]);
        // Of many concurrent writers exactly one wins.
        let wins = futures_wins(&store).await;
        assert_eq!(wins, 1);
    }

    async fn futures_wins(store: &FileObjectStore) -> usize {
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.put_new("race", vec![i; 4096], "x").await.unwrap()
            }));
        }
        let mut wins = 0;
        for task in tasks {
            wins += usize::from(task.await.unwrap());
        }
        wins
    }

    /// Written 0600 in directories made 0700, whatever the process's umask.
    #[tokio::test]
    async fn outputs_are_owner_only_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let store = FileObjectStore::new(tmp.path().join("new"));
        let old = unsafe { libc_umask(0o000) };
        let result = store.put("j/a.json", b"x".to_vec(), "x").await;
        let again = store.put_new("j/b.json", b"y".to_vec(), "x").await;
        unsafe { libc_umask(old) };
        result.unwrap();
        again.unwrap();
        for file in ["new/j/a.json", "new/j/b.json"] {
            let mode = fs::metadata(tmp.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}: {mode:o}");
        }
        for dir in ["new", "new/j"] {
            let mode = fs::metadata(tmp.path().join(dir))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{dir}: {mode:o}");
        }
    }

    extern "C" {
        #[link_name = "umask"]
        fn libc_umask(mask: u32) -> u32;
    }

    #[tokio::test]
    async fn missing_object_is_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileObjectStore::new(tmp.path().to_path_buf());
        assert!(matches!(
            store.get("nope.json").await,
            Err(PortError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn keys_cannot_leave_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let store = FileObjectStore::new(root);
        for key in [
            "../escape.json",
            "a/../../escape.json",
            "/etc/passwd",
            "",
            "./a.json",
            "dir/",
        ] {
            let err = store
                .put(key, b"x".to_vec(), "text/plain")
                .await
                .unwrap_err();
            assert!(
                matches!(err, PortError::Permanent { .. }),
                "{key:?}: {err:?}"
            );
            assert!(store.get(key).await.is_err(), "{key:?}");
        }
        assert!(!tmp.path().join("escape.json").exists());
    }

    #[test]
    fn uri_is_absolute_file_uri() {
        let store = FileObjectStore::new(PathBuf::from("relative/out"));
        let uri = store.uri("job-1/note.json");
        assert!(uri.starts_with("file:///"), "{uri}");
        assert!(uri.ends_with("/relative/out/job-1/note.json"), "{uri}");
    }

    /// A reader racing many overwrites only ever sees one whole version or the other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readers_never_see_a_partial_object() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileObjectStore::new(tmp.path().to_path_buf());
        let a = vec![b'a'; 1 << 20];
        let b = vec![b'b'; 1 << 20];
        store.put("obj", a.clone(), "x").await.unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let path = store.path_for("obj").unwrap();
        let reader = {
            let done = Arc::clone(&done);
            let (a, b) = (a.clone(), b.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) {
                    let got = fs::read(&path).unwrap();
                    assert!(got == a || got == b, "torn read of {} bytes", got.len());
                    reads += 1;
                }
                reads
            })
        };
        for i in 0..30 {
            let bytes = if i % 2 == 0 { b.clone() } else { a.clone() };
            store.put("obj", bytes, "x").await.unwrap();
        }
        done.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    }
}
