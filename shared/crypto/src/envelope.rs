//! `Envelope` implementations on the AWS Encryption SDK: a raw AES keyring on a local key file,
//! and an AWS KMS keyring.

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use aws_esdk::material_providers::client as mpl_client;
use aws_esdk::material_providers::types::error::Error as MplError;
use aws_esdk::material_providers::types::keyring::KeyringRef;
use aws_esdk::material_providers::types::material_providers_config::MaterialProvidersConfig;
use aws_esdk::material_providers::types::AesWrappingAlg;
use aws_esdk::types::aws_encryption_sdk_config::AwsEncryptionSdkConfig;
use aws_esdk::types::error::Error as EsdkError;
use veriscribe_core::ports::{EncryptionContext, Envelope, PortError};

use crate::key::LocalKey;
use crate::message::{parse_header, MessageHeader};
use crate::{CryptoError, MSG_DAMAGED, MSG_OTHER_JOB, MSG_OTHER_KEY};

/// Key namespace (the ESDK's key provider id) of local raw AES keys.
pub const LOCAL_KEY_NAMESPACE: &str = "veriscribe-local";
/// Key provider id the ESDK writes for AWS KMS keys.
const KMS_PROVIDER_ID: &str = "aws-kms";

/// An ESDK client with one keyring, and how to recognise that keyring's data keys in a header.
struct EsdkEnvelope {
    client: aws_esdk::Client,
    keyring: KeyringRef,
    provider_id: &'static str,
    /// The raw AES key name, or the KMS key identifier, as stored in provider info.
    key_name: String,
    /// Whether an SDK failure can be a passing service problem (KMS) rather than bad data.
    remote: bool,
}

fn esdk_client() -> Result<aws_esdk::Client, CryptoError> {
    // The default policy (RequireEncryptRequireDecrypt) encrypts with a key-committing, signed
    // suite and refuses to decrypt non-committing messages.
    let config = AwsEncryptionSdkConfig::builder()
        .build()
        .map_err(|e| CryptoError::Setup(e.to_string()))?;
    aws_esdk::Client::from_conf(config).map_err(|e| CryptoError::Setup(e.to_string()))
}

fn mpl() -> Result<mpl_client::Client, CryptoError> {
    let config = MaterialProvidersConfig::builder()
        .build()
        .map_err(|e| CryptoError::Setup(e.to_string()))?;
    mpl_client::Client::from_conf(config).map_err(|e| CryptoError::Setup(e.to_string()))
}

fn permanent(message: impl Into<String>) -> PortError {
    PortError::Permanent {
        message: message.into(),
    }
}

impl EsdkEnvelope {
    async fn encrypt(
        &self,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, PortError> {
        let started = std::time::Instant::now();
        let context: HashMap<String, String> = context.clone().into_iter().collect();
        let output = self
            .client
            .encrypt()
            .plaintext(plaintext.to_vec())
            .keyring(self.keyring.clone())
            .encryption_context(context)
            .send()
            .await
            .map_err(|e| self.sdk_error("encryption failed", &e))?;
        let message = output
            .ciphertext
            .ok_or_else(|| permanent("encryption failed: the SDK returned no message"))?
            .into_inner();
        tracing::debug!(
            plaintext_bytes = plaintext.len(),
            message_bytes = message.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "encrypted artifact"
        );
        Ok(message)
    }

    async fn decrypt(
        &self,
        message: &[u8],
        expected_context: &EncryptionContext,
    ) -> Result<Vec<u8>, PortError> {
        // The header checks only give clearer errors; the SDK below authenticates the header and
        // enforces the same context again.
        let header = parse_header(message).map_err(|e| match e {
            CryptoError::NotAMessage(_) => permanent(e.to_string()),
            other => permanent(format!("{MSG_DAMAGED} ({other})")),
        })?;
        check_context(&header, expected_context)?;
        self.check_key(&header)?;

        let output = self
            .esdk_decrypt(message, expected_context)
            .await
            .map_err(|e| {
                if self.remote && (is_transient(&e) || kms_refused(&e)) {
                    self.sdk_error("decryption failed: KMS did not decrypt the data key", &e)
                } else {
                    tracing::debug!(error = %e, "ESDK decrypt failed");
                    permanent(MSG_DAMAGED)
                }
            })?;
        let stored = output.encryption_context.unwrap_or_default();
        for (k, v) in expected_context {
            if stored.get(k) != Some(v) {
                return Err(permanent(MSG_OTHER_JOB));
            }
        }
        output
            .plaintext
            .map(|b| b.into_inner())
            .ok_or_else(|| permanent("decryption failed: the SDK returned no plaintext"))
    }

    /// The SDK call alone, which must itself refuse a context the message doesn't carry.
    async fn esdk_decrypt(
        &self,
        message: &[u8],
        expected_context: &EncryptionContext,
    ) -> Result<aws_esdk::operation::decrypt::DecryptOutput, EsdkError> {
        let context: HashMap<String, String> = expected_context.clone().into_iter().collect();
        self.client
            .decrypt()
            .ciphertext(message.to_vec())
            .keyring(self.keyring.clone())
            .encryption_context(context)
            .send()
            .await
    }

    fn check_key(&self, header: &MessageHeader) -> Result<(), PortError> {
        let ours = header.encrypted_data_keys.iter().any(|edk| {
            edk.provider_id == self.provider_id
                && match self.provider_id {
                    // Raw AES provider info: key name, then tag length, IV length and IV.
                    LOCAL_KEY_NAMESPACE => edk.provider_info.starts_with(self.key_name.as_bytes()),
                    _ => edk.provider_info == self.key_name.as_bytes(),
                }
        });
        if ours {
            return Ok(());
        }
        let theirs: Vec<String> = header
            .encrypted_data_keys
            .iter()
            .map(|edk| describe_key(&edk.provider_id, &edk.provider_info))
            .collect();
        Err(permanent(format!(
            "{MSG_OTHER_KEY} ({}); this envelope uses {}",
            theirs.join(", "),
            describe_key(self.provider_id, self.key_name.as_bytes())
        )))
    }

    fn sdk_error(&self, what: &str, e: &EsdkError) -> PortError {
        let message = format!("{what}: {}", summarize(e));
        if self.remote && is_transient(e) {
            PortError::Transient { message }
        } else {
            PortError::Permanent { message }
        }
    }
}

fn check_context(header: &MessageHeader, expected: &EncryptionContext) -> Result<(), PortError> {
    for (key, want) in expected {
        match header.encryption_context.get(key) {
            Some(got) if got == want => {}
            Some(got) => {
                return Err(permanent(format!(
                    "{MSG_OTHER_JOB} ({key} is {got:?}, expected {want:?})"
                )))
            }
            None => {
                return Err(permanent(format!(
                    "{MSG_OTHER_JOB} (it has no {key}, expected {want:?})"
                )))
            }
        }
    }
    Ok(())
}

fn describe_key(provider_id: &str, provider_info: &[u8]) -> String {
    match provider_id {
        LOCAL_KEY_NAMESPACE => {
            // The key name is the 16-hex-digit key id; the rest is binary IV data.
            let name = provider_info.get(..16).unwrap_or(provider_info);
            format!("local key {}", String::from_utf8_lossy(name))
        }
        KMS_PROVIDER_ID => format!("KMS key {}", String::from_utf8_lossy(provider_info)),
        other => format!("a key from provider {other:?}"),
    }
}

type KmsError = aws_esdk::com_amazonaws_kms::types::error::Error;

/// The KMS errors inside an SDK failure (the keyring nests them in collections).
fn kms_errors(e: &EsdkError) -> Vec<&KmsError> {
    fn from_mpl<'a>(e: &'a MplError, out: &mut Vec<&'a KmsError>) {
        match e {
            MplError::TrentServiceError { error } => out.push(error),
            MplError::CollectionOfErrors { list, .. } => list.iter().for_each(|e| from_mpl(e, out)),
            _ => {}
        }
    }
    fn from_esdk<'a>(e: &'a EsdkError, out: &mut Vec<&'a KmsError>) {
        match e {
            EsdkError::AwsCryptographicMaterialProvidersError { error } => from_mpl(error, out),
            EsdkError::CollectionOfErrors { list, .. } => {
                list.iter().for_each(|e| from_esdk(e, out))
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    from_esdk(e, &mut out);
    out
}

/// True when the failure may pass on retry: KMS throttling, outages and network errors.
fn is_transient(e: &EsdkError) -> bool {
    kms_errors(e).into_iter().any(|kms| match kms {
        KmsError::DependencyTimeoutException { .. }
        | KmsError::KmsInternalException { .. }
        | KmsError::KeyUnavailableException { .. }
        | KmsError::LimitExceededException { .. } => true,
        // Unmodelled service errors and SDK failures (network, timeouts) arrive as the Debug
        // text of the SDK error; that text is all there is to classify them by.
        KmsError::OpaqueWithText { objMessage, .. } => {
            const TRANSIENT: [&str; 8] = [
                "DispatchFailure",
                "TimeoutError",
                "ResponseError",
                "ThrottlingException",
                "ServiceUnavailable",
                "InternalFailure",
                "RequestTimeout",
                "TooManyRequests",
            ];
            TRANSIENT.iter().any(|marker| objMessage.contains(marker))
        }
        _ => false,
    })
}

/// True when KMS refused for a reason other than the data key itself being bad (access denied,
/// disabled key, ...): reporting that as a damaged note would send the user the wrong way.
fn kms_refused(e: &EsdkError) -> bool {
    kms_errors(e).into_iter().any(|kms| {
        !matches!(
            kms,
            KmsError::InvalidCiphertextException { .. } | KmsError::IncorrectKeyException { .. }
        )
    })
}

/// The SDK's Debug output can be huge (Dafny objects); keep the start of it for the message.
fn summarize(e: &EsdkError) -> String {
    let text = e.to_string();
    const MAX: usize = 400;
    if text.len() <= MAX {
        return text;
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

/// Encrypts with a local AES-256 key file (a Raw AES keyring, AES-256-GCM key wrapping).
pub struct LocalAesEnvelope {
    inner: EsdkEnvelope,
    key_id: String,
}

impl std::fmt::Debug for LocalAesEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAesEnvelope")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl LocalAesEnvelope {
    /// Loads the key at `key_path`, creating a new random key (mode 0600, directory 0700) the
    /// first time. See [`crate::default_key_path`].
    pub fn load_or_create(key_path: &Path) -> Result<Self, CryptoError> {
        Self::from_key(&LocalKey::load_or_create(key_path)?)
    }

    pub fn from_key(key: &LocalKey) -> Result<Self, CryptoError> {
        let mpl = mpl()?;
        let keyring = block_on_sdk(
            mpl.create_raw_aes_keyring()
                .key_name(key.key_id())
                .key_namespace(LOCAL_KEY_NAMESPACE)
                .wrapping_key(key.bytes().to_vec())
                .wrapping_alg(AesWrappingAlg::AlgAes256GcmIv12Tag16)
                .send(),
        )
        .map_err(|e| CryptoError::Setup(format!("cannot create the AES keyring: {e}")))?;
        Ok(Self {
            inner: EsdkEnvelope {
                client: esdk_client()?,
                keyring,
                provider_id: LOCAL_KEY_NAMESPACE,
                key_name: key.key_id().to_string(),
                remote: false,
            },
            key_id: key.key_id().to_string(),
        })
    }

    /// The public id of the key, as stored in each message's header.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// Runs an SDK future that completes without awaiting anything (the generated SDK does its work
/// synchronously inside `send`), so constructors can stay synchronous.
fn block_on_sdk<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

#[async_trait]
impl Envelope for LocalAesEnvelope {
    async fn encrypt(
        &self,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, PortError> {
        self.inner.encrypt(plaintext, context).await
    }

    async fn decrypt(
        &self,
        message: &[u8],
        expected_context: &EncryptionContext,
    ) -> Result<Vec<u8>, PortError> {
        self.inner.decrypt(message, expected_context).await
    }
}

/// Encrypts under an AWS KMS key (an AWS KMS keyring). Decryption needs the key's ARN, since
/// messages name the key by the identifier used at encryption.
pub struct KmsEnvelope {
    inner: EsdkEnvelope,
}

impl std::fmt::Debug for KmsEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsEnvelope")
            .field("kms_key_id", &self.inner.key_name)
            .finish_non_exhaustive()
    }
}

impl KmsEnvelope {
    /// `kms_key_id`: the KMS key ARN (use the ARN, not an alias, so decryption can match it).
    /// The SDK makes KMS calls synchronously inside encrypt/decrypt (`block_in_place` on a
    /// multi-threaded Tokio runtime, a helper thread on a current-thread one).
    pub async fn new(
        kms_client: aws_sdk_kms::Client,
        kms_key_id: impl Into<String>,
    ) -> Result<Self, CryptoError> {
        let kms_key_id = kms_key_id.into();
        let keyring = mpl()?
            .create_aws_kms_keyring()
            .kms_key_id(kms_key_id.clone())
            .kms_client(kms_client)
            .send()
            .await
            .map_err(|e| CryptoError::Setup(format!("cannot create the KMS keyring: {e}")))?;
        Ok(Self {
            inner: EsdkEnvelope {
                client: esdk_client()?,
                keyring,
                provider_id: KMS_PROVIDER_ID,
                key_name: kms_key_id,
                remote: true,
            },
        })
    }

    pub fn kms_key_id(&self) -> &str {
        &self.inner.key_name
    }
}

#[async_trait]
impl Envelope for KmsEnvelope {
    async fn encrypt(
        &self,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, PortError> {
        self.inner.encrypt(plaintext, context).await
    }

    async fn decrypt(
        &self,
        message: &[u8],
        expected_context: &EncryptionContext,
    ) -> Result<Vec<u8>, PortError> {
        self.inner.decrypt(message, expected_context).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_message_context;
    use veriscribe_core::ports::artifact_context;

    fn envelope_in(dir: &Path) -> LocalAesEnvelope {
        LocalAesEnvelope::load_or_create(&dir.join("key.bin")).unwrap()
    }

    fn note() -> Vec<u8> {
        // Synthesized, long enough that the body dwarfs the header.
        (0..4000u32).map(|i| (i % 251) as u8).collect()
    }

    fn message_of(err: PortError) -> String {
        match err {
            PortError::Permanent { message } => message,
            other => panic!("expected a permanent error, got {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn round_trip_and_header_context() {
        let tmp = tempfile::tempdir().unwrap();
        let env = envelope_in(tmp.path());
        let ctx = artifact_context("job-1", "clinical-document");
        let message = env.encrypt(&note(), &ctx).await.unwrap();
        assert_ne!(&message[..], &note()[..]);
        assert_eq!(message[0], 0x02, "default policy writes format version 2");
        assert_eq!(env.decrypt(&message, &ctx).await.unwrap(), note());
        // An empty expectation still authenticates the message.
        assert_eq!(
            env.decrypt(&message, &EncryptionContext::new())
                .await
                .unwrap(),
            note()
        );
        assert_eq!(read_message_context(&message).unwrap(), ctx);
        let header = parse_header(&message).unwrap();
        assert!(header
            .encryption_context
            .contains_key("aws-crypto-public-key"));
        assert_eq!(
            header.encrypted_data_keys[0].provider_id,
            LOCAL_KEY_NAMESPACE
        );
        assert!(header.encrypted_data_keys[0]
            .provider_info
            .starts_with(env.key_id().as_bytes()));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn tampered_body_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let env = envelope_in(tmp.path());
        let ctx = artifact_context("job-1", "clinical-document");
        let message = env.encrypt(&note(), &ctx).await.unwrap();
        for pos in [message.len() / 2, message.len() - 1] {
            let mut bad = message.clone();
            bad[pos] ^= 0x01;
            let err = message_of(env.decrypt(&bad, &ctx).await.unwrap_err());
            assert_eq!(err, crate::MSG_DAMAGED, "byte {pos}");
        }
        let truncated = &message[..message.len() - 10];
        let err = message_of(env.decrypt(truncated, &ctx).await.unwrap_err());
        assert_eq!(err, crate::MSG_DAMAGED);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn tampered_header_context_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let env = envelope_in(tmp.path());
        let message = env
            .encrypt(&note(), &artifact_context("job-1", "clinical-document"))
            .await
            .unwrap();
        // Rename the job in the header in place (same length) and ask for the new name.
        let at = message.windows(5).position(|w| w == b"job-1").unwrap();
        let mut bad = message.clone();
        bad[at + 4] = b'2';
        let err = env
            .decrypt(&bad, &artifact_context("job-2", "clinical-document"))
            .await
            .unwrap_err();
        assert_eq!(message_of(err), crate::MSG_DAMAGED);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn other_jobs_context_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let env = envelope_in(tmp.path());
        let message = env
            .encrypt(&note(), &artifact_context("job-1", "clinical-document"))
            .await
            .unwrap();
        for ctx in [
            artifact_context("job-2", "clinical-document"),
            artifact_context("job-1", "transcript"),
        ] {
            let err = message_of(env.decrypt(&message, &ctx).await.unwrap_err());
            assert!(err.starts_with(crate::MSG_OTHER_JOB), "{err}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn missing_context_pair_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let env = envelope_in(tmp.path());
        let stored = EncryptionContext::from([("veriscribe:job-name".into(), "job-1".into())]);
        let message = env.encrypt(&note(), &stored).await.unwrap();
        let expected = artifact_context("job-1", "clinical-document");
        let err = message_of(env.decrypt(&message, &expected).await.unwrap_err());
        assert!(err.starts_with(crate::MSG_OTHER_JOB), "{err}");
    }

    /// Our header pre-check only improves messages: the SDK call enforces the context itself.
    #[tokio::test(flavor = "multi_thread")]
    async fn sdk_decrypt_enforces_the_expected_context() {
        let tmp = tempfile::tempdir().unwrap();
        let env = envelope_in(tmp.path());
        let ctx = artifact_context("job-1", "clinical-document");
        let message = env.encrypt(&note(), &ctx).await.unwrap();
        let sdk = &env.inner;
        assert!(sdk.esdk_decrypt(&message, &ctx).await.is_ok());
        let subset = EncryptionContext::from([("veriscribe:job-name".into(), "job-1".into())]);
        assert!(sdk.esdk_decrypt(&message, &subset).await.is_ok());
        let other = artifact_context("job-2", "clinical-document");
        assert!(sdk.esdk_decrypt(&message, &other).await.is_err());
        let mut extra = ctx.clone();
        extra.insert("veriscribe:extra".into(), "x".into());
        assert!(sdk.esdk_decrypt(&message, &extra).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn other_key_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (env_a, env_b) = (envelope_in(a.path()), envelope_in(b.path()));
        assert_ne!(env_a.key_id(), env_b.key_id());
        let ctx = artifact_context("job-1", "clinical-document");
        let message = env_a.encrypt(&note(), &ctx).await.unwrap();
        let err = message_of(env_b.decrypt(&message, &ctx).await.unwrap_err());
        assert!(err.starts_with(crate::MSG_OTHER_KEY), "{err}");
        assert!(
            err.contains(env_a.key_id()) && err.contains(env_b.key_id()),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn same_key_name_with_other_bytes_is_refused_by_the_sdk() {
        // A forged key file can't pass the key-id check by naming itself like ours.
        let tmp = tempfile::tempdir().unwrap();
        let env = envelope_in(tmp.path());
        let ctx = artifact_context("job-1", "clinical-document");
        let message = env.encrypt(&note(), &ctx).await.unwrap();
        let mut forged =
            LocalAesEnvelope::from_key(&LocalKey::from_bytes([7u8; 32], tmp.path().join("other")))
                .unwrap();
        forged.inner.key_name = env.key_id().to_string();
        forged.inner.keyring = block_on_sdk(
            mpl()
                .unwrap()
                .create_raw_aes_keyring()
                .key_name(env.key_id())
                .key_namespace(LOCAL_KEY_NAMESPACE)
                .wrapping_key(vec![7u8; 32])
                .wrapping_alg(AesWrappingAlg::AlgAes256GcmIv12Tag16)
                .send(),
        )
        .unwrap();
        assert!(forged.decrypt(&message, &ctx).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn plaintext_file_is_not_a_message() {
        let tmp = tempfile::tempdir().unwrap();
        let env = envelope_in(tmp.path());
        let err = message_of(
            env.decrypt(b"{\"not\": \"encrypted\"}", &EncryptionContext::new())
                .await
                .unwrap_err(),
        );
        assert!(
            err.starts_with("not an encrypted Veriscribe artifact"),
            "{err}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn works_on_a_current_thread_runtime() {
        let tmp = tempfile::tempdir().unwrap();
        let env = envelope_in(tmp.path());
        let ctx = artifact_context("job-1", "transcript");
        let message = env.encrypt(b"{}", &ctx).await.unwrap();
        assert_eq!(env.decrypt(&message, &ctx).await.unwrap(), b"{}");
    }
}
