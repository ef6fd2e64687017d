//! AWS Encryption SDK envelope for artifacts (raw AES locally, KMS on AWS).
