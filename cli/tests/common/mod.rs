//! What the CLI's integration tests share: a sandbox with its own key and job store, and the
//! real binary run inside it.
#![allow(dead_code)] // each test crate uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use tempfile::TempDir;

pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn veriscribe(&self, args: &[&str]) -> Output {
        Command::cargo_bin("veriscribe")
            .expect("binary")
            .args(args)
            .env("VERISCRIBE_KEY_FILE", self.path("keys/local.key"))
            .env("VERISCRIBE_DB", self.path("state/jobs.sqlite3"))
            .env_remove("RUST_LOG")
            .output()
            .expect("run veriscribe")
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.veriscribe(args);
        assert!(
            out.status.success(),
            "veriscribe {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
