//! CTranslate2 Whisper → whisper.cpp ggml: splits CT2's fused attention projections, renames to
//! OpenAI's names and writes tensors in the order of the reference converter.

use std::collections::BTreeSet;
use std::io::Write;
use std::ops::Range;
use std::path::Path;

use crate::ct2::{Ct2Model, Tensor};
use crate::error::ModelError;
use crate::ggml::{GgmlType, GgmlWriter, TensorEncoding, WhisperHParams, Q8_0_BLOCK};
use crate::mel::mel_filters;
use crate::vocab::read_vocabulary;

const SAMPLE_RATE: u32 = 16_000;
const N_FFT: usize = 400;

/// Small tensors that whisper.cpp expects as f32 whatever the file type.
const ALWAYS_F32: [&str; 4] = [
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
];

/// One ggml tensor and where its values come from in the CT2 model.
#[derive(Debug, Clone, PartialEq)]
struct PlannedTensor {
    name: String,
    source: String,
    /// A slice of the first dimension, for CT2's fused q/k/v projections.
    rows: Option<Range<usize>>,
    /// Conv biases become `(n, 1)` so they broadcast over time in whisper.cpp.
    as_column: bool,
}

impl PlannedTensor {
    fn whole(name: impl Into<String>, source: impl Into<String>) -> Self {
        PlannedTensor {
            name: name.into(),
            source: source.into(),
            rows: None,
            as_column: false,
        }
    }

    fn rows(name: impl Into<String>, source: impl Into<String>, rows: Range<usize>) -> Self {
        PlannedTensor {
            rows: Some(rows),
            ..Self::whole(name, source)
        }
    }
}

/// Number of `<side>/layer_N/` blocks in the model.
fn layer_count(model: &Ct2Model, side: &str) -> usize {
    let prefix = format!("{side}/layer_");
    model
        .variables
        .iter()
        .filter_map(|v| {
            let rest = v.name.strip_prefix(&prefix)?;
            let (index, _) = rest.split_once('/')?;
            (!index.is_empty() && index.bytes().all(|b| b.is_ascii_digit())).then_some(index)
        })
        .collect::<BTreeSet<_>>()
        .len()
}

fn dim(model: &Ct2Model, name: &str, axis: usize) -> Result<usize, ModelError> {
    let variable = model.variable(name)?;
    variable
        .shape
        .get(axis)
        .copied()
        .ok_or_else(|| ModelError::BadVariable {
            name: name.to_owned(),
            message: format!("has shape {:?}, no axis {axis}", variable.shape),
        })
}

fn positive(value: i64, name: &str) -> Result<usize, ModelError> {
    usize::try_from(value)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ModelError::BadVariable {
            name: name.to_owned(),
            message: format!("expected a positive count, found {value}"),
        })
}

fn read_hparams(model: &Ct2Model) -> Result<WhisperHParams, ModelError> {
    let d_model = dim(model, "encoder/conv1/weight", 0)?;
    Ok(WhisperHParams {
        n_vocab: dim(model, "decoder/embeddings/weight", 0)?,
        n_audio_ctx: dim(model, "encoder/position_encodings/encodings", 0)?,
        n_audio_state: d_model,
        n_audio_head: positive(model.scalar_int("encoder/num_heads")?, "encoder/num_heads")?,
        n_audio_layer: layer_count(model, "encoder"),
        n_text_ctx: dim(model, "decoder/position_encodings/encodings", 0)?,
        n_text_state: d_model,
        n_text_head: positive(model.scalar_int("decoder/num_heads")?, "decoder/num_heads")?,
        n_text_layer: layer_count(model, "decoder"),
        n_mels: dim(model, "encoder/conv1/weight", 1)?,
    })
}

/// The tensor list in the reference converter's order (its `to_hf` dict's insertion order).
fn plan_tensors(
    model: &Ct2Model,
    hparams: &WhisperHParams,
) -> Result<Vec<PlannedTensor>, ModelError> {
    let mut plan = Vec::new();
    for conv in ["conv1", "conv2"] {
        plan.push(PlannedTensor::whole(
            format!("encoder.{conv}.weight"),
            format!("encoder/{conv}/weight"),
        ));
        plan.push(PlannedTensor {
            as_column: true,
            ..PlannedTensor::whole(
                format!("encoder.{conv}.bias"),
                format!("encoder/{conv}/bias"),
            )
        });
    }
    plan.push(PlannedTensor::whole(
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
    ));
    plan.push(PlannedTensor::whole(
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
    ));
    plan.push(PlannedTensor::whole(
        "decoder.token_embedding.weight",
        "decoder/embeddings/weight",
    ));

    for (side, final_norm, layers) in [
        ("encoder", "ln_post", hparams.n_audio_layer),
        ("decoder", "ln", hparams.n_text_layer),
    ] {
        plan.push(PlannedTensor::whole(
            format!("{side}.{final_norm}.weight"),
            format!("{side}/layer_norm/gamma"),
        ));
        plan.push(PlannedTensor::whole(
            format!("{side}.{final_norm}.bias"),
            format!("{side}/layer_norm/beta"),
        ));
        for layer in 0..layers {
            let src = format!("{side}/layer_{layer}");
            let dst = format!("{side}.blocks.{layer}");
            let norm = |plan: &mut Vec<PlannedTensor>, from: &str, to: &str| {
                plan.push(PlannedTensor::whole(
                    format!("{dst}.{to}.weight"),
                    format!("{src}/{from}/layer_norm/gamma"),
                ));
                plan.push(PlannedTensor::whole(
                    format!("{dst}.{to}.bias"),
                    format!("{src}/{from}/layer_norm/beta"),
                ));
            };
            let linear = |plan: &mut Vec<PlannedTensor>, from: &str, to: &str| {
                plan.push(PlannedTensor::whole(
                    format!("{dst}.{to}.weight"),
                    format!("{src}/{from}/weight"),
                ));
                plan.push(PlannedTensor::whole(
                    format!("{dst}.{to}.bias"),
                    format!("{src}/{from}/bias"),
                ));
            };
            norm(&mut plan, "self_attention", "attn_ln");
            norm(&mut plan, "ffn", "mlp_ln");

            // CT2 fuses q, k and v into one (3d, d) projection; whisper.cpp's key has no bias.
            let fused = format!("{src}/self_attention/linear_0");
            let d = dim(model, &format!("{fused}/weight"), 1)?;
            plan.push(PlannedTensor::rows(
                format!("{dst}.attn.query.weight"),
                format!("{fused}/weight"),
                0..d,
            ));
            plan.push(PlannedTensor::rows(
                format!("{dst}.attn.query.bias"),
                format!("{fused}/bias"),
                0..d,
            ));
            plan.push(PlannedTensor::rows(
                format!("{dst}.attn.key.weight"),
                format!("{fused}/weight"),
                d..2 * d,
            ));
            plan.push(PlannedTensor::rows(
                format!("{dst}.attn.value.weight"),
                format!("{fused}/weight"),
                2 * d..3 * d,
            ));
            plan.push(PlannedTensor::rows(
                format!("{dst}.attn.value.bias"),
                format!("{fused}/bias"),
                2 * d..3 * d,
            ));
            linear(&mut plan, "self_attention/linear_1", "attn.out");
            linear(&mut plan, "ffn/linear_0", "mlp.0");
            linear(&mut plan, "ffn/linear_1", "mlp.2");

            if side == "decoder" {
                norm(&mut plan, "attention", "cross_attn_ln");
                linear(&mut plan, "attention/linear_0", "cross_attn.query");
                // Cross-attention fuses k and v into one (2d, d) projection.
                let fused = format!("{src}/attention/linear_1");
                plan.push(PlannedTensor::rows(
                    format!("{dst}.cross_attn.key.weight"),
                    format!("{fused}/weight"),
                    0..d,
                ));
                plan.push(PlannedTensor::rows(
                    format!("{dst}.cross_attn.value.weight"),
                    format!("{fused}/weight"),
                    d..2 * d,
                ));
                plan.push(PlannedTensor::rows(
                    format!("{dst}.cross_attn.value.bias"),
                    format!("{fused}/bias"),
                    d..2 * d,
                ));
                linear(&mut plan, "attention/linear_2", "cross_attn.out");
            }
        }
    }
    Ok(plan)
}

/// The key projections are written without bias, so CT2's key bias slice must be zero.
fn check_key_biases_are_zero(model: &Ct2Model, hparams: &WhisperHParams) -> Result<(), ModelError> {
    let mut fused_biases = Vec::new();
    for layer in 0..hparams.n_audio_layer {
        fused_biases.push((
            format!("encoder/layer_{layer}/self_attention/linear_0/bias"),
            1,
        ));
    }
    for layer in 0..hparams.n_text_layer {
        fused_biases.push((
            format!("decoder/layer_{layer}/self_attention/linear_0/bias"),
            1,
        ));
        fused_biases.push((format!("decoder/layer_{layer}/attention/linear_1/bias"), 0));
    }
    let d = hparams.n_audio_state;
    for (name, key_slot) in fused_biases {
        let bias = model.tensor(&name)?;
        let key = bias
            .data
            .get(key_slot * d..(key_slot + 1) * d)
            .ok_or_else(|| ModelError::BadVariable {
                name: name.clone(),
                message: format!(
                    "has {} values, too few for a fused key bias",
                    bias.data.len()
                ),
            })?;
        if key.iter().any(|v| *v != 0.0) {
            return Err(ModelError::BadVariable {
                name,
                message: "key bias is not zero, but whisper.cpp's key projection has no bias"
                    .to_owned(),
            });
        }
    }
    Ok(())
}

fn load_planned(model: &Ct2Model, planned: &PlannedTensor) -> Result<Tensor, ModelError> {
    let mut tensor = model.tensor(&planned.source)?;
    if let Some(rows) = &planned.rows {
        let first = tensor.shape.first().copied().unwrap_or(0);
        if rows.end > first {
            return Err(ModelError::BadVariable {
                name: planned.source.clone(),
                message: format!("has {first} rows, cannot take rows {rows:?}"),
            });
        }
        let row_len: usize = tensor.shape[1..].iter().product();
        tensor.data = tensor.data[rows.start * row_len..rows.end * row_len].to_vec();
        tensor.shape[0] = rows.len();
    }
    if planned.as_column {
        tensor.shape = vec![tensor.data.len(), 1];
    }
    Ok(tensor)
}

/// whisper.cpp's per-tensor type rule: vectors and a few named tensors stay f32; in q8_0 files only
/// matrices whose rows split into 32-value blocks are quantised, the rest (conv kernels) are f16.
fn encoding_for(name: &str, shape: &[usize], file_type: GgmlType) -> TensorEncoding {
    if shape.len() < 2 || ALWAYS_F32.contains(&name) {
        return TensorEncoding::F32;
    }
    let row_len = shape[shape.len() - 1];
    if file_type == GgmlType::Q8_0 && shape.len() == 2 && row_len.is_multiple_of(Q8_0_BLOCK) {
        TensorEncoding::Q8_0
    } else {
        TensorEncoding::F16
    }
}

/// Writes the ggml file for `ct2_dir` (`model.bin` and `tokenizer.json`) to `out`.
/// `on_tensor(done, total)` is called after each tensor.
pub fn write_ggml(
    ct2_dir: &Path,
    out: impl Write,
    file_type: GgmlType,
    on_tensor: &mut dyn FnMut(usize, usize),
) -> Result<(), ModelError> {
    let model = Ct2Model::open(&ct2_dir.join("model.bin"))?;
    let vocabulary = read_vocabulary(&ct2_dir.join("tokenizer.json"))?;
    let hparams = read_hparams(&model)?;
    check_key_biases_are_zero(&model, &hparams)?;
    let plan = plan_tensors(&model, &hparams)?;

    let mut writer = GgmlWriter::new(out);
    writer.write_header(&hparams, file_type)?;
    let n_freqs = 1 + N_FFT / 2;
    writer.write_mel_filters(
        hparams.n_mels,
        n_freqs,
        &mel_filters(SAMPLE_RATE, N_FFT, hparams.n_mels),
    )?;
    writer.write_vocabulary(&vocabulary)?;
    let total = plan.len();
    for (index, planned) in plan.iter().enumerate() {
        let tensor = load_planned(&model, planned)?;
        let encoding = encoding_for(&planned.name, &tensor.shape, file_type);
        writer.write_tensor(&planned.name, &tensor.shape, &tensor.data, encoding)?;
        on_tensor(index + 1, total);
    }
    writer
        .into_inner()
        .flush()
        .map_err(|e| ModelError::io("<ggml output>", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ct2::tests::Ct2Builder;

    /// A complete Whisper spec with d_model 32, one layer per side, 2 mel bins and a 3-token vocabulary.
    fn tiny_whisper(key_bias: f32) -> Vec<u8> {
        let d = 32u32;
        let ramp = |n: u32| (0..n).map(|i| i as f32 / 8.0 - 1.0).collect::<Vec<f32>>();
        let mut b = Ct2Builder::new("WhisperSpec")
            .f16("encoder/conv1/weight", &[d, 2, 3], &ramp(d * 6))
            .f16("encoder/conv1/bias", &[d], &ramp(d))
            .f16("encoder/conv2/weight", &[d, d, 3], &ramp(d * d * 3))
            .f16("encoder/conv2/bias", &[d], &ramp(d))
            .f16(
                "encoder/position_encodings/encodings",
                &[4, d],
                &ramp(4 * d),
            )
            .f16(
                "decoder/position_encodings/encodings",
                &[2, d],
                &ramp(2 * d),
            )
            .f16("decoder/embeddings/weight", &[3, d], &ramp(3 * d))
            .i16_scalar("encoder/num_heads", 2)
            .i16_scalar("decoder/num_heads", 2);
        for side in ["encoder", "decoder"] {
            b = b
                .f16(&format!("{side}/layer_norm/gamma"), &[d], &ramp(d))
                .f16(&format!("{side}/layer_norm/beta"), &[d], &ramp(d));
            let l = format!("{side}/layer_0");
            let mut norms = vec!["self_attention", "ffn"];
            if side == "decoder" {
                norms.push("attention");
            }
            for n in norms {
                b = b
                    .f16(&format!("{l}/{n}/layer_norm/gamma"), &[d], &ramp(d))
                    .f16(&format!("{l}/{n}/layer_norm/beta"), &[d], &ramp(d));
            }
            let mut qkv_bias = ramp(3 * d);
            qkv_bias[d as usize..2 * d as usize].fill(key_bias);
            b = b
                .f16(
                    &format!("{l}/self_attention/linear_0/weight"),
                    &[3 * d, d],
                    &ramp(3 * d * d),
                )
                .f16(
                    &format!("{l}/self_attention/linear_0/bias"),
                    &[3 * d],
                    &qkv_bias,
                )
                .f16(
                    &format!("{l}/self_attention/linear_1/weight"),
                    &[d, d],
                    &ramp(d * d),
                )
                .f16(&format!("{l}/self_attention/linear_1/bias"), &[d], &ramp(d))
                .f16(
                    &format!("{l}/ffn/linear_0/weight"),
                    &[2 * d, d],
                    &ramp(2 * d * d),
                )
                .f16(&format!("{l}/ffn/linear_0/bias"), &[2 * d], &ramp(2 * d))
                .f16(
                    &format!("{l}/ffn/linear_1/weight"),
                    &[d, 2 * d],
                    &ramp(2 * d * d),
                )
                .f16(&format!("{l}/ffn/linear_1/bias"), &[d], &ramp(d));
            if side == "decoder" {
                let mut kv_bias = ramp(2 * d);
                kv_bias[..d as usize].fill(0.0);
                b = b
                    .f16(
                        &format!("{l}/attention/linear_0/weight"),
                        &[d, d],
                        &ramp(d * d),
                    )
                    .f16(&format!("{l}/attention/linear_0/bias"), &[d], &ramp(d))
                    .f16(
                        &format!("{l}/attention/linear_1/weight"),
                        &[2 * d, d],
                        &ramp(2 * d * d),
                    )
                    .f16(&format!("{l}/attention/linear_1/bias"), &[2 * d], &kv_bias)
                    .f16(
                        &format!("{l}/attention/linear_2/weight"),
                        &[d, d],
                        &ramp(d * d),
                    )
                    .f16(&format!("{l}/attention/linear_2/bias"), &[d], &ramp(d));
            }
        }
        b.alias("decoder/projection/weight", "decoder/embeddings/weight")
            .build()
    }

    fn write_tiny(dir: &Path, key_bias: f32) {
        std::fs::write(dir.join("model.bin"), tiny_whisper(key_bias)).unwrap();
        std::fs::write(
            dir.join("tokenizer.json"),
            r#"{"model": {"vocab": {"a": 0, "Ġb": 1, "<|endoftext|>": 2}}}"#,
        )
        .unwrap();
    }

    fn read_i32s(bytes: &[u8], count: usize) -> Vec<i32> {
        bytes[..count * 4]
            .chunks(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    /// Tensor names, ggml types and ggml-order dims, walking the file after the vocabulary.
    fn tensor_table(bytes: &[u8]) -> Vec<(String, i32, Vec<i32>)> {
        let n_mels = read_i32s(&bytes[40..], 1)[0] as usize;
        let mut offset = 48;
        let filter_dims = read_i32s(&bytes[offset..], 2);
        assert_eq!(filter_dims, [n_mels as i32, 201]);
        offset += 8 + 4 * n_mels * 201;
        let vocab = read_i32s(&bytes[offset..], 1)[0];
        offset += 4;
        for _ in 0..vocab {
            offset += 4 + read_i32s(&bytes[offset..], 1)[0] as usize;
        }
        let mut table = Vec::new();
        while offset < bytes.len() {
            let head = read_i32s(&bytes[offset..], 3);
            offset += 12;
            let dims = read_i32s(&bytes[offset..], head[0] as usize);
            offset += 4 * dims.len();
            let name =
                String::from_utf8(bytes[offset..offset + head[1] as usize].to_vec()).unwrap();
            offset += head[1] as usize;
            let count: usize = dims.iter().map(|d| *d as usize).product();
            offset += match head[2] {
                0 => count * 4,
                1 => count * 2,
                8 => count / 32 * 34,
                other => panic!("unexpected type {other}"),
            };
            table.push((name, head[2], dims));
        }
        assert_eq!(offset, bytes.len());
        table
    }

    #[test]
    fn converts_synthesized_model_with_whisper_layout() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), 0.0);
        let mut out = Vec::new();
        let mut calls = Vec::new();
        write_ggml(dir.path(), &mut out, GgmlType::Q8_0, &mut |done, total| {
            calls.push((done, total))
        })
        .unwrap();

        assert_eq!(
            read_i32s(&out[4..], 11),
            [3, 4, 32, 2, 1, 2, 32, 2, 1, 2, 2007]
        );
        let table = tensor_table(&out);
        assert_eq!(table.len(), 7 + 2 + 15 + 2 + 24);
        assert_eq!(calls.last(), Some(&(table.len(), table.len())));
        let find = |name: &str| {
            table
                .iter()
                .find(|t| t.0 == name)
                .unwrap_or_else(|| panic!("{name}"))
                .clone()
        };
        assert_eq!(
            table[0],
            ("encoder.conv1.weight".to_owned(), 1, vec![3, 2, 32])
        );
        assert_eq!(table[1], ("encoder.conv1.bias".to_owned(), 0, vec![1, 32]));
        assert_eq!(
            find("encoder.positional_embedding"),
            ("encoder.positional_embedding".to_owned(), 0, vec![32, 4])
        );
        assert_eq!(find("decoder.token_embedding.weight").1, 8);
        assert_eq!(
            find("encoder.blocks.0.attn.key.weight"),
            (
                "encoder.blocks.0.attn.key.weight".to_owned(),
                8,
                vec![32, 32]
            )
        );
        assert_eq!(
            find("decoder.blocks.0.cross_attn.value.bias"),
            (
                "decoder.blocks.0.cross_attn.value.bias".to_owned(),
                0,
                vec![32]
            )
        );
        assert_eq!(find("decoder.ln.weight").1, 0);
        assert!(table.iter().all(|t| !t.0.contains("key.bias")));
        assert_eq!(
            table.last().unwrap().0,
            "decoder.blocks.0.cross_attn.out.bias"
        );
    }

    #[test]
    fn f16_file_keeps_matrices_in_f16() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), 0.0);
        let mut out = Vec::new();
        write_ggml(dir.path(), &mut out, GgmlType::F16, &mut |_, _| {}).unwrap();
        assert_eq!(read_i32s(&out[44..], 1), [1]);
        let table = tensor_table(&out);
        assert!(table.iter().all(|t| t.1
            == if t.2.len() < 2 || t.0.contains("bias") || t.0.contains("positional") {
                0
            } else {
                1
            }));
    }

    #[test]
    fn rejects_nonzero_key_bias() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), 0.5);
        let err =
            write_ggml(dir.path(), std::io::sink(), GgmlType::F16, &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("key bias is not zero"), "{err}");
    }
}
