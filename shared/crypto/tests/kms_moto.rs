//! `KmsEnvelope` against a real KMS API emulator (moto server).
//!
//! Like every moto-backed test it never skips: without `VERISCRIBE_TEST_MOTO=1` (or an
//! `AWS_ENDPOINT_URL`) it FAILS with what to run, and it fails if the server is not reachable
//! (a test that passes without running would hide a broken KMS path). Run:
//!   moto_server -H 127.0.0.1 -p 5000 &
//!   VERISCRIBE_TEST_MOTO=1 AWS_ENDPOINT_URL=http://127.0.0.1:5000 \
//!     cargo test -p veriscribe-crypto --test kms_moto
//! Credentials and region default to test/test and us-east-1 when unset.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use veriscribe_core::ports::{artifact_context, Envelope, PortError};
use veriscribe_crypto::aws_sdk_kms::{
    self, config::BehaviorVersion, config::Credentials, config::Region,
};
use veriscribe_crypto::{
    parse_header, read_message_context, KmsEnvelope, MSG_DAMAGED, MSG_OTHER_JOB, MSG_OTHER_KEY,
};

fn moto_client() -> aws_sdk_kms::Client {
    let expected = std::env::var("VERISCRIBE_TEST_MOTO").ok().as_deref() == Some("1");
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| !e.is_empty());
    let endpoint = match (expected, endpoint) {
        (_, Some(endpoint)) => endpoint,
        (true, None) => "http://127.0.0.1:5000".to_string(),
        (false, None) => panic!(
            "this test needs the moto server: start `moto_server -H 127.0.0.1 -p 5000` and set \
             VERISCRIBE_TEST_MOTO=1 AWS_ENDPOINT_URL=http://127.0.0.1:5000 (scripts/test.sh does)"
        ),
    };
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let addr = authority
        .to_socket_addrs()
        .unwrap_or_else(|e| panic!("VERISCRIBE_TEST_MOTO=1 but {endpoint} does not resolve: {e}"))
        .next()
        .unwrap();
    TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("the KMS emulator at {endpoint} is not reachable: {e}"));
    let env_or = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(env_or("AWS_REGION", "us-east-1")))
        .credentials_provider(Credentials::new(
            env_or("AWS_ACCESS_KEY_ID", "test"),
            env_or("AWS_SECRET_ACCESS_KEY", "test"),
            None,
            None,
            "veriscribe-test",
        ))
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

async fn new_key(client: &aws_sdk_kms::Client) -> String {
    let key = client.create_key().send().await.expect("CreateKey");
    key.key_metadata().unwrap().arn().unwrap().to_string()
}

fn permanent_message(err: PortError) -> String {
    match err {
        PortError::Permanent { message } => message,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_envelope_round_trip_and_refusals() {
    let client = moto_client();
    let arn = new_key(&client).await;
    let envelope = KmsEnvelope::new(client.clone(), arn.clone()).await.unwrap();
    let ctx = artifact_context("kms-job-1", "clinical-document");
    // Synthesized, long enough that the middle of the message is body, not header.
    let plaintext: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();

    let message = envelope.encrypt(&plaintext, &ctx).await.unwrap();
    assert_eq!(read_message_context(&message).unwrap(), ctx);
    let header = parse_header(&message).unwrap();
    assert_eq!(header.encrypted_data_keys[0].provider_id, "aws-kms");
    assert_eq!(header.encrypted_data_keys[0].provider_info, arn.as_bytes());
    assert_eq!(envelope.decrypt(&message, &ctx).await.unwrap(), plaintext);

    let other_job = artifact_context("kms-job-2", "clinical-document");
    let err = permanent_message(envelope.decrypt(&message, &other_job).await.unwrap_err());
    assert!(err.starts_with(MSG_OTHER_JOB), "{err}");

    let mut bad = message.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    let err = permanent_message(envelope.decrypt(&bad, &ctx).await.unwrap_err());
    assert!(err.starts_with(MSG_DAMAGED), "{err}");

    // A damaged data key: KMS refuses it (real KMS: InvalidCiphertext; moto: AccessDenied).
    let edk_at = message
        .windows(arn.len())
        .position(|w| w == arn.as_bytes())
        .unwrap()
        + arn.len()
        + 2
        + 10;
    let mut bad = message.clone();
    bad[edk_at] ^= 0x01;
    let err = envelope.decrypt(&bad, &ctx).await.unwrap_err();
    assert!(matches!(err, PortError::Permanent { .. }), "{err:?}");

    let other_key = KmsEnvelope::new(client.clone(), new_key(&client).await)
        .await
        .unwrap();
    let err = permanent_message(other_key.decrypt(&message, &ctx).await.unwrap_err());
    assert!(err.starts_with(MSG_OTHER_KEY), "{err}");
}
