//! Property tests of the encrypted envelope (AWS Encryption SDK message, local AES key): every
//! plaintext comes back from its own message and context; any changed byte, any cut, or another
//! context is refused; the header parser takes any bytes without panicking.
//! Cases: `PROPTEST_CASES` (default below); failures are kept in `proptest-regressions/`.

use std::sync::OnceLock;

use proptest::prelude::*;
use veriscribe_core::ports::{artifact_context, EncryptionContext, Envelope};
use veriscribe_crypto::{parse_header, LocalAesEnvelope, LocalKey};

fn envelope() -> &'static LocalAesEnvelope {
    static ENVELOPE: OnceLock<LocalAesEnvelope> = OnceLock::new();
    ENVELOPE.get_or_init(|| {
        let key = LocalKey::from_bytes([7u8; 32], "unused.key".into());
        LocalAesEnvelope::from_key(&key).expect("keyring")
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fn context(job: &str) -> EncryptionContext {
    artifact_context(job, "summary.json")
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(24),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_message_opens_only_intact_and_with_its_own_context(
        plaintext in prop::collection::vec(any::<u8>(), 0..3000),
        job in "[a-z0-9-]{1,40}",
        flip_at in any::<prop::sample::Index>(),
        flip_bits in 1u8..=255,
        cut_at in any::<prop::sample::Index>(),
    ) {
        let rt = runtime();
        let env = envelope();
        let message = rt.block_on(env.encrypt(&plaintext, &context(&job))).expect("encrypts");
        prop_assert!(
            plaintext.len() < 16 || !message.windows(16).any(|w| w == &plaintext[..16]),
            "plaintext visible in the message"
        );
        prop_assert_eq!(&rt.block_on(env.decrypt(&message, &context(&job))).expect("opens"), &plaintext);

        let mut flipped = message.clone();
        let i = flip_at.index(flipped.len());
        flipped[i] ^= flip_bits;
        prop_assert!(rt.block_on(env.decrypt(&flipped, &context(&job))).is_err(), "a changed byte {i} was accepted");

        let cut = cut_at.index(message.len());
        prop_assert!(rt.block_on(env.decrypt(&message[..cut], &context(&job))).is_err(), "a message cut at {cut} was accepted");

        let other = format!("{job}-other");
        prop_assert!(rt.block_on(env.decrypt(&message, &context(&other))).is_err(), "another job's context was accepted");
    }

    #[test]
    fn the_header_parser_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_header(&bytes);
    }
}
