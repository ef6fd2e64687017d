//! Writer for whisper.cpp's legacy ggml model file, plus the f16 and q8_0 encodings it uses.

use std::io::Write;

use half::f16;

use crate::error::ModelError;

const GGML_MAGIC: u32 = 0x6767_6d6c;
/// whisper.cpp stores quantised files' ftype as `GGML_QNT_VERSION * 1000 + ftype`.
const GGML_QNT_VERSION_FACTOR: i32 = 2 * 1000;
pub const Q8_0_BLOCK: usize = 32;
/// One q8_0 block: an f16 scale then 32 signed bytes.
pub const Q8_0_BLOCK_BYTES: usize = 2 + Q8_0_BLOCK;

/// The weight type of a whole ggml file (matrices; small tensors stay f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F16,
    Q8_0,
}

impl GgmlType {
    /// Value of the `ftype` field in the file header.
    fn header_ftype(self) -> i32 {
        match self {
            GgmlType::F16 => 1,
            GgmlType::Q8_0 => GGML_QNT_VERSION_FACTOR + 7,
        }
    }
}

/// Encoding of one tensor's data, numbered as ggml's `ggml_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorEncoding {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}

/// Whisper hyper-parameters, in header order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhisperHParams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

pub struct GgmlWriter<W: Write> {
    out: W,
}

fn to_i32(value: usize, what: &str) -> Result<i32, ModelError> {
    i32::try_from(value).map_err(|_| ModelError::TooLarge {
        message: format!("{what} = {value} does not fit in a 32-bit field"),
    })
}

impl<W: Write> GgmlWriter<W> {
    pub fn new(out: W) -> Self {
        GgmlWriter { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn i32(&mut self, value: i32) -> std::io::Result<()> {
        self.out.write_all(&value.to_le_bytes())
    }

    pub fn write_header(
        &mut self,
        hparams: &WhisperHParams,
        file_type: GgmlType,
    ) -> Result<(), ModelError> {
        let fields = [
            (hparams.n_vocab, "n_vocab"),
            (hparams.n_audio_ctx, "n_audio_ctx"),
            (hparams.n_audio_state, "n_audio_state"),
            (hparams.n_audio_head, "n_audio_head"),
            (hparams.n_audio_layer, "n_audio_layer"),
            (hparams.n_text_ctx, "n_text_ctx"),
            (hparams.n_text_state, "n_text_state"),
            (hparams.n_text_head, "n_text_head"),
            (hparams.n_text_layer, "n_text_layer"),
            (hparams.n_mels, "n_mels"),
        ];
        let mut header = Vec::with_capacity(4 * 12);
        header.extend_from_slice(&GGML_MAGIC.to_le_bytes());
        for (value, what) in fields {
            header.extend_from_slice(&to_i32(value, what)?.to_le_bytes());
        }
        header.extend_from_slice(&file_type.header_ftype().to_le_bytes());
        self.out.write_all(&header).map_err(write_error)
    }

    /// `filters` is row-major `(n_mels, n_freqs)`.
    pub fn write_mel_filters(
        &mut self,
        n_mels: usize,
        n_freqs: usize,
        filters: &[f32],
    ) -> Result<(), ModelError> {
        assert_eq!(filters.len(), n_mels * n_freqs, "filterbank shape");
        self.i32(to_i32(n_mels, "n_mels")?).map_err(write_error)?;
        self.i32(to_i32(n_freqs, "n_freqs")?).map_err(write_error)?;
        self.out
            .write_all(&encode_f32(filters))
            .map_err(write_error)
    }

    pub fn write_vocabulary(&mut self, tokens: &[Vec<u8>]) -> Result<(), ModelError> {
        self.i32(to_i32(tokens.len(), "vocabulary size")?)
            .map_err(write_error)?;
        for token in tokens {
            self.i32(to_i32(token.len(), "token length")?)
                .map_err(write_error)?;
            self.out.write_all(token).map_err(write_error)?;
        }
        Ok(())
    }

    /// `shape` is row-major (numpy order); ggml stores the dimensions innermost first.
    pub fn write_tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        data: &[f32],
        encoding: TensorEncoding,
    ) -> Result<(), ModelError> {
        assert_eq!(data.len(), shape.iter().product::<usize>(), "{name} shape");
        let mut header = Vec::with_capacity(12 + 4 * shape.len() + name.len());
        header.extend_from_slice(&to_i32(shape.len(), "tensor rank")?.to_le_bytes());
        header.extend_from_slice(&to_i32(name.len(), "tensor name length")?.to_le_bytes());
        header.extend_from_slice(&(encoding as i32).to_le_bytes());
        for &dim in shape.iter().rev() {
            header.extend_from_slice(&to_i32(dim, "tensor dimension")?.to_le_bytes());
        }
        header.extend_from_slice(name.as_bytes());
        self.out.write_all(&header).map_err(write_error)?;
        let body = match encoding {
            TensorEncoding::F32 => encode_f32(data),
            TensorEncoding::F16 => encode_f16(data),
            TensorEncoding::Q8_0 => {
                if !data.len().is_multiple_of(Q8_0_BLOCK) {
                    return Err(ModelError::BadVariable {
                        name: name.to_owned(),
                        message: format!(
                            "{} values cannot be split into q8_0 blocks of {Q8_0_BLOCK}",
                            data.len()
                        ),
                    });
                }
                quantize_q8_0(data)
            }
        };
        self.out.write_all(&body).map_err(write_error)
    }
}

fn write_error(source: std::io::Error) -> ModelError {
    ModelError::io("<ggml output>", source)
}

pub fn encode_f32(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Round-to-nearest-even, as numpy's `astype(float16)`.
pub fn encode_f16(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 2);
    for v in values {
        out.extend_from_slice(&f16::from_f32(*v).to_le_bytes());
    }
    out
}

/// ggml q8_0: per block of 32, scale `d = max|x| / 127` (stored as f16) and `q = round_half_even(x / d)`.
/// The division uses the f32 scale, not the f16 one, to match the reference converter bit for bit.
/// `values.len()` must be a multiple of 32.
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    debug_assert!(values.len().is_multiple_of(Q8_0_BLOCK));
    let mut out = Vec::with_capacity(values.len() / Q8_0_BLOCK * Q8_0_BLOCK_BYTES);
    for block in values.chunks_exact(Q8_0_BLOCK) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = amax / 127.0;
        let divisor = if scale == 0.0 { 1.0 } else { scale };
        out.extend_from_slice(&f16::from_f32(scale).to_le_bytes());
        for v in block {
            out.push((v / divisor).round_ties_even() as i8 as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_scale(block: &[u8]) -> f32 {
        f16::from_le_bytes([block[0], block[1]]).to_f32()
    }

    fn block_quants(block: &[u8]) -> Vec<i8> {
        block[2..].iter().map(|b| *b as i8).collect()
    }

    #[test]
    fn q8_0_all_zero_block_has_zero_scale_and_quants() {
        let out = quantize_q8_0(&[0.0; 32]);
        assert_eq!(out.len(), Q8_0_BLOCK_BYTES);
        assert_eq!(out, vec![0u8; 34]);
    }

    #[test]
    fn q8_0_maps_extremes_to_plus_minus_127() {
        let mut values = [0.0f32; 32];
        values[0] = 2.54;
        values[1] = -2.54;
        values[2] = 1.0;
        let out = quantize_q8_0(&values);
        let q = block_quants(&out);
        assert_eq!(q[0], 127);
        assert_eq!(q[1], -127);
        assert_eq!(q[2], 50, "1.0 / (2.54 / 127) = 50");
        assert_eq!(&q[3..], &[0i8; 29]);
        assert_eq!(block_scale(&out), f16::from_f32(2.54f32 / 127.0).to_f32());
    }

    #[test]
    fn q8_0_rounds_exact_ties_to_even() {
        // Scale exactly 1.0 (max 127), so x / d is x and the .5 ties are exact.
        let mut values = [0.0f32; 32];
        values[0] = 127.0;
        for (i, tie) in [0.5f32, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5]
            .iter()
            .enumerate()
        {
            values[i + 1] = *tie;
        }
        let out = quantize_q8_0(&values);
        assert_eq!(block_scale(&out), 1.0);
        assert_eq!(&block_quants(&out)[..8], &[127, 0, 2, 2, 0, -2, -2, 126]);
    }

    #[test]
    fn q8_0_quantises_each_block_independently() {
        // Second block: max 31.75 gives the exact scale 0.25, so 15.875 and 15.625 are exact ties.
        let mut values = vec![0.0f32; 64];
        values[5] = 1.0;
        values[40] = -31.75;
        values[41] = 15.875;
        values[42] = 15.625;
        let out = quantize_q8_0(&values);
        assert_eq!(out.len(), 2 * Q8_0_BLOCK_BYTES);
        let (first, second) = out.split_at(Q8_0_BLOCK_BYTES);
        assert_eq!(block_quants(first)[5], 127);
        assert_eq!(block_scale(second), 0.25);
        assert_eq!(&block_quants(second)[8..11], &[-127, 64, 62]);
    }

    #[test]
    fn tensor_dims_are_written_innermost_first() {
        let mut writer = GgmlWriter::new(Vec::new());
        writer
            .write_tensor("a.b", &[2, 3], &[1.0; 6], TensorEncoding::F16)
            .unwrap();
        let bytes = writer.into_inner();
        let ints: Vec<i32> = bytes[..20]
            .chunks(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(ints, [2, 3, 1, 3, 2]);
        assert_eq!(&bytes[20..23], b"a.b");
        assert_eq!(bytes.len(), 23 + 6 * 2);
        assert_eq!(&bytes[23..25], &f16::ONE.to_le_bytes());
    }

    #[test]
    fn header_carries_quantised_ftype() {
        let hparams = WhisperHParams {
            n_vocab: 1,
            n_audio_ctx: 2,
            n_audio_state: 3,
            n_audio_head: 4,
            n_audio_layer: 5,
            n_text_ctx: 6,
            n_text_state: 7,
            n_text_head: 8,
            n_text_layer: 9,
            n_mels: 10,
        };
        let mut writer = GgmlWriter::new(Vec::new());
        writer.write_header(&hparams, GgmlType::Q8_0).unwrap();
        let bytes = writer.into_inner();
        assert_eq!(bytes.len(), 48);
        assert_eq!(&bytes[..4], b"lmgg");
        assert_eq!(i32::from_le_bytes(bytes[44..48].try_into().unwrap()), 2007);
    }

    #[test]
    fn q8_0_rejects_rows_not_divisible_into_blocks() {
        let mut writer = GgmlWriter::new(Vec::new());
        let err = writer
            .write_tensor("w", &[1, 31], &[0.0; 31], TensorEncoding::Q8_0)
            .unwrap_err();
        assert!(err.to_string().contains("q8_0 blocks"), "{err}");
    }
}
