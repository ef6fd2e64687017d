//! Reads the plaintext header of an AWS Encryption SDK message.
//!
//! The header stores the encryption context and the encrypted data keys unencrypted (but
//! authenticated), so the CLI can learn which job a file belongs to, and which key it needs,
//! before it tries to decrypt. Parsing follows the AWS Encryption SDK message format
//! (<https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/message-format.html>),
//! versions 1 and 2, up to the end of the encrypted data keys; the rest of the header is left
//! to the SDK, which also authenticates everything read here.

use std::collections::BTreeMap;

use veriscribe_core::ports::EncryptionContext;

use crate::CryptoError;

/// Encryption-context keys with this prefix are reserved by the SDK (e.g. the signing public
/// key `aws-crypto-public-key`); they are not part of the caller's context.
pub const RESERVED_CONTEXT_PREFIX: &str = "aws-crypto-";

/// One encrypted data key as it appears in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedDataKeyInfo {
    pub provider_id: String,
    pub provider_info: Vec<u8>,
}

/// The parts of a message header that can be read without a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    pub version: u8,
    pub algorithm_suite_id: u16,
    /// The whole stored context, reserved `aws-crypto-` pairs included.
    pub encryption_context: BTreeMap<String, String>,
    pub encrypted_data_keys: Vec<EncryptedDataKeyInfo>,
}

impl MessageHeader {
    /// The stored context without the SDK's reserved pairs.
    pub fn caller_context(&self) -> EncryptionContext {
        self.encryption_context
            .iter()
            .filter(|(k, _)| !k.starts_with(RESERVED_CONTEXT_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The caller's encryption context stored in a message header (reserved `aws-crypto-` pairs
/// left out). The header is authenticated only when the message is decrypted, so treat the
/// result as a hint (e.g. which job a file claims to belong to) until `decrypt` succeeds.
pub fn read_message_context(message: &[u8]) -> Result<EncryptionContext, CryptoError> {
    Ok(parse_header(message)?.caller_context())
}

pub fn parse_header(message: &[u8]) -> Result<MessageHeader, CryptoError> {
    let mut r = Reader {
        bytes: message,
        pos: 0,
    };
    let version = r.u8("version")?;
    let message_id_len = match version {
        0x01 => {
            let message_type = r.u8("message type")?;
            if message_type != 0x80 {
                return Err(CryptoError::NotAMessage(format!(
                    "unknown message type 0x{message_type:02x}"
                )));
            }
            16
        }
        0x02 => 32,
        other => {
            return Err(CryptoError::NotAMessage(format!(
                "it starts with byte 0x{other:02x}, not a message format version (0x01 or 0x02)"
            )))
        }
    };
    let algorithm_suite_id = r.u16("algorithm suite id")?;
    r.take(message_id_len, "message id")?;

    let aad_len = r.u16("encryption context length")? as usize;
    let aad = r.take(aad_len, "encryption context")?;
    let encryption_context = parse_context(aad)?;

    let edk_count = r.u16("encrypted data key count")?;
    if edk_count == 0 {
        return Err(CryptoError::MalformedMessage(
            "the header lists no encrypted data keys".into(),
        ));
    }
    let mut encrypted_data_keys = Vec::with_capacity(edk_count as usize);
    for _ in 0..edk_count {
        let provider_id = r.utf8_field("key provider id")?;
        let provider_info = r.len_prefixed("key provider info")?.to_vec();
        r.len_prefixed("encrypted data key")?;
        encrypted_data_keys.push(EncryptedDataKeyInfo {
            provider_id,
            provider_info,
        });
    }
    Ok(MessageHeader {
        version,
        algorithm_suite_id,
        encryption_context,
        encrypted_data_keys,
    })
}

fn parse_context(aad: &[u8]) -> Result<BTreeMap<String, String>, CryptoError> {
    let mut context = BTreeMap::new();
    // An empty context is serialized as a zero length with no pair count.
    if aad.is_empty() {
        return Ok(context);
    }
    let mut r = Reader { bytes: aad, pos: 0 };
    let count = r.u16("encryption context pair count")?;
    for _ in 0..count {
        let key = r.utf8_field("encryption context key")?;
        let value = r.utf8_field("encryption context value")?;
        if context.insert(key, value).is_some() {
            return Err(CryptoError::MalformedMessage(
                "the encryption context repeats a key".into(),
            ));
        }
    }
    if r.pos != aad.len() {
        return Err(CryptoError::MalformedMessage(
            "the encryption context has trailing bytes".into(),
        ));
    }
    Ok(context)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], CryptoError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let out = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => Err(CryptoError::MalformedMessage(format!(
                "the header ends inside the {what}"
            ))),
        }
    }

    fn u8(&mut self, what: &str) -> Result<u8, CryptoError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, CryptoError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn len_prefixed(&mut self, what: &str) -> Result<&'a [u8], CryptoError> {
        let len = self.u16(what)? as usize;
        self.take(len, what)
    }

    fn utf8_field(&mut self, what: &str) -> Result<String, CryptoError> {
        let raw = self.len_prefixed(what)?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| CryptoError::MalformedMessage(format!("the {what} is not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(bytes: &[u8]) -> Vec<u8> {
        let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    fn v2_header(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut aad = Vec::new();
        if !pairs.is_empty() {
            aad.extend((pairs.len() as u16).to_be_bytes());
            for (k, v) in pairs {
                aad.extend(field(k.as_bytes()));
                aad.extend(field(v.as_bytes()));
            }
        }
        let mut msg = vec![0x02, 0x05, 0x78];
        msg.extend([7u8; 32]);
        msg.extend(field(&aad));
        msg.extend(1u16.to_be_bytes());
        msg.extend(field(b"veriscribe-local"));
        msg.extend(field(b"0011223344556677"));
        msg.extend(field(&[9u8; 48]));
        msg
    }

    #[test]
    fn parses_a_synthesized_v2_header() {
        let msg = v2_header(&[
            ("veriscribe:job-name", "job-1"),
            ("aws-crypto-public-key", "AAAA"),
        ]);
        let header = parse_header(&msg).unwrap();
        assert_eq!(header.version, 2);
        assert_eq!(header.algorithm_suite_id, 0x0578);
        assert_eq!(header.encryption_context.len(), 2);
        assert_eq!(
            read_message_context(&msg).unwrap(),
            EncryptionContext::from([("veriscribe:job-name".into(), "job-1".into())])
        );
        assert_eq!(
            header.encrypted_data_keys[0].provider_id,
            "veriscribe-local"
        );
        assert_eq!(
            header.encrypted_data_keys[0].provider_info,
            b"0011223344556677"
        );
    }

    #[test]
    fn empty_context_has_no_pair_count() {
        let header = parse_header(&v2_header(&[])).unwrap();
        assert!(header.encryption_context.is_empty());
    }

    #[test]
    fn truncated_header_is_malformed() {
        let msg = v2_header(&[("a", "b")]);
        for cut in [1, 10, 40, msg.len() - 1] {
            assert!(
                matches!(
                    parse_header(&msg[..cut]),
                    Err(CryptoError::MalformedMessage(_))
                ),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn plain_json_is_not_a_message() {
        assert!(matches!(
            parse_header(b"{\"ClinicalDocumentation\":{}}"),
            Err(CryptoError::NotAMessage(_))
        ));
    }
}
