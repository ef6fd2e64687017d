//! The local AES-256 wrapping key: a 32-byte file, readable by its owner only.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rand::TryRngCore;
use sha2::{Digest, Sha256};

use crate::CryptoError;

pub const KEY_LEN: usize = 32;

/// A loaded local wrapping key. Debug output never shows the key bytes.
pub struct LocalKey {
    bytes: [u8; KEY_LEN],
    key_id: String,
    path: PathBuf,
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKey")
            .field("key_id", &self.key_id)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalKey {
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// A public name for the key, stored in every message it wraps.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN], path: PathBuf) -> Self {
        Self {
            key_id: key_id_for(&bytes),
            bytes,
            path,
        }
    }

    /// Loads the key at `path`, creating it (and its directory) on first use.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        match Self::load(path) {
            Err(CryptoError::KeyRead { source, .. })
                if source.kind() == io::ErrorKind::NotFound => {}
            other => return other,
        }
        create_key_file(path)?;
        // Whether we or a concurrent first run won the race, the file on disk is the key.
        Self::load(path)
    }

    /// Loads an existing key, refusing a wrong length or a file others can read.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let read_err = |source| CryptoError::KeyRead {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(read_err)?;
        let meta = file.metadata().map_err(read_err)?;
        if !meta.is_file() {
            return Err(CryptoError::KeyNotAFile {
                path: path.to_path_buf(),
            });
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(CryptoError::KeyPermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        // Read one byte past the expected length so an overlong file is detected.
        let mut buf = Vec::with_capacity(KEY_LEN + 1);
        Read::by_ref(&mut file)
            .take(KEY_LEN as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(read_err)?;
        let bytes: [u8; KEY_LEN] =
            buf.as_slice()
                .try_into()
                .map_err(|_| CryptoError::KeyLength {
                    path: path.to_path_buf(),
                    len: meta.len(),
                })?;
        Ok(Self::from_bytes(bytes, path.to_path_buf()))
    }
}

/// First 8 bytes of a domain-separated SHA-256 of the key, as hex: names the key without
/// revealing anything useful about it.
pub fn key_id_for(key: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"veriscribe-local-key-id\0")
        .chain_update(key)
        .finalize();
    hex::encode(&digest[..8])
}

/// Writes a fresh random key to a private temp file, then hard-links it into place: the link
/// either publishes a complete file or fails with `AlreadyExists` when another run got there
/// first, so readers never see a partial key and a race never yields two keys.
fn create_key_file(path: &Path) -> Result<(), CryptoError> {
    let create_err = |source| CryptoError::KeyCreate {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(create_err)?;

    let mut key = [0u8; KEY_LEN];
    rand::rngs::OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| create_err(io::Error::other(e)))?;

    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "key".into());
    let mut suffix = [0u8; 8];
    rand::rngs::OsRng
        .try_fill_bytes(&mut suffix)
        .map_err(|e| create_err(io::Error::other(e)))?;
    let tmp = dir.join(format!(".{file_name}.tmp-{}", hex::encode(suffix)));

    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
        drop(f);
        match fs::hard_link(&tmp, path) {
            Ok(()) => {
                tracing::info!(key_path = %path.display(), key_id = %key_id_for(&key), "created local encryption key");
                // Make the new directory entry durable too.
                if let Ok(d) = File::open(&dir) {
                    let _ = d.sync_all();
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    })();
    let _ = fs::remove_file(&tmp);
    result.map_err(create_err)
}

/// `$VERISCRIBE_KEY_FILE`, else `$XDG_CONFIG_HOME/veriscribe/local-key.bin`, else
/// `$HOME/.config/veriscribe/local-key.bin`: outside any output folder, so sharing the outputs
/// never shares the key.
pub fn default_key_path() -> PathBuf {
    key_path_from(|name| std::env::var_os(name))
}

fn key_path_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let non_empty = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = non_empty("VERISCRIBE_KEY_FILE") {
        return p;
    }
    let config = non_empty("XDG_CONFIG_HOME")
        .or_else(|| non_empty("HOME").map(|h| h.join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"));
    config.join("veriscribe").join("local-key.bin")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::{Arc, Barrier};

    #[test]
    fn creates_a_private_key_in_a_private_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cfg/veriscribe/local-key.bin");
        let key = LocalKey::load_or_create(&path).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), KEY_LEN as u64);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(key.key_id().len(), 16);
        // Loading again gives the same key, and no temp files are left behind.
        let again = LocalKey::load_or_create(&path).unwrap();
        assert_eq!(again.bytes(), key.bytes());
        let entries = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1);
    }

    #[test]
    fn concurrent_first_runs_agree_on_one_key() {
        for round in 0..20 {
            let tmp = tempfile::tempdir().unwrap();
            let path = Arc::new(tmp.path().join(format!("k{round}/local-key.bin")));
            let barrier = Arc::new(Barrier::new(4));
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let path = Arc::clone(&path);
                    let barrier = Arc::clone(&barrier);
                    std::thread::spawn(move || {
                        barrier.wait();
                        *LocalKey::load_or_create(&path).unwrap().bytes()
                    })
                })
                .collect();
            let keys: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert!(keys.windows(2).all(|w| w[0] == w[1]), "round {round}");
            assert_eq!(&fs::read(&*path).unwrap()[..], &keys[0][..]);
        }
    }

    #[test]
    fn refuses_a_key_of_the_wrong_length() {
        let tmp = tempfile::tempdir().unwrap();
        for len in [0usize, 16, 31, 33, 64] {
            let path = tmp.path().join(format!("key{len}"));
            fs::write(&path, vec![1u8; len]).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            let err = LocalKey::load_or_create(&path).unwrap_err();
            assert!(matches!(err, CryptoError::KeyLength { .. }), "{len}: {err}");
            assert!(err.to_string().contains("32"), "{err}");
        }
    }

    #[test]
    fn refuses_a_key_others_can_read() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("key");
        fs::write(&path, [1u8; 32]).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = LocalKey::load_or_create(&path).unwrap_err();
            assert!(
                matches!(err, CryptoError::KeyPermissions { .. }),
                "{mode:o}"
            );
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(LocalKey::load(&path).is_ok());
    }

    #[test]
    fn key_id_depends_on_the_key() {
        assert_ne!(key_id_for(&[1u8; 32]), key_id_for(&[2u8; 32]));
        assert_eq!(key_id_for(&[1u8; 32]), key_id_for(&[1u8; 32]));
    }

    #[test]
    fn default_key_path_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert_eq!(
            key_path_from(env(&[
                ("VERISCRIBE_KEY_FILE", "/k/key.bin"),
                ("XDG_CONFIG_HOME", "/x"),
                ("HOME", "/h")
            ])),
            PathBuf::from("/k/key.bin")
        );
        assert_eq!(
            key_path_from(env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            PathBuf::from("/x/veriscribe/local-key.bin")
        );
        assert_eq!(
            key_path_from(env(&[("XDG_CONFIG_HOME", ""), ("HOME", "/h")])),
            PathBuf::from("/h/.config/veriscribe/local-key.bin")
        );
    }
}
