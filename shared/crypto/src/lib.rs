//! AWS Encryption SDK envelope for artifacts (raw AES locally, KMS on AWS).
//!
//! Every artifact is written as an AWS Encryption SDK message whose encryption context binds it
//! to its job and artifact name (`veriscribe_core::ports::artifact_context`). The same message
//! format is produced locally (a raw AES-256 keyring on a key file) and on AWS (a KMS keyring), so
//! either side's tools can read the other's messages given the key.

mod envelope;
mod key;
mod message;

use std::path::PathBuf;

/// The KMS client crate at the version the SDK links against: build `KmsEnvelope`'s client
/// with this so the types match.
pub use aws_sdk_kms;
pub use envelope::{KmsEnvelope, LocalAesEnvelope, LOCAL_KEY_NAMESPACE};
pub use key::{default_key_path, key_id_for, LocalKey, KEY_LEN};
pub use message::{
    parse_header, read_message_context, EncryptedDataKeyInfo, MessageHeader,
    RESERVED_CONTEXT_PREFIX,
};

/// Messages the CLI shows as they are; they name the problem, never the plaintext.
pub const MSG_DAMAGED: &str = "the encrypted note is damaged or was modified";
pub const MSG_OTHER_JOB: &str = "the encrypted note belongs to a different job or artifact";
pub const MSG_OTHER_KEY: &str = "the encrypted note was encrypted with a different key";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot read the local encryption key {}: {source}", path.display())]
    KeyRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the local encryption key {}: {source}", path.display())]
    KeyCreate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the local encryption key {} is not a regular file", path.display())]
    KeyNotAFile { path: PathBuf },
    #[error(
        "the local encryption key {} has {len} bytes; a key is exactly 32 bytes (restore the right key file, or move this one away to create a new key — notes encrypted with the old key then cannot be decrypted)",
        path.display()
    )]
    KeyLength { path: PathBuf, len: u64 },
    #[error(
        "the local encryption key {} can be read by group or others (mode {mode:03o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error("cannot set up the AWS Encryption SDK: {0}")]
    Setup(String),
    #[error("not an encrypted Veriscribe artifact (AWS Encryption SDK message): {0}")]
    NotAMessage(String),
    #[error("{MSG_DAMAGED}: {0}")]
    MalformedMessage(String),
}
