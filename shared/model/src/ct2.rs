//! Reader for CTranslate2's `model.bin`: a version, the spec name, named tensors, then aliases.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use half::{bf16, f16};

use crate::error::ModelError;

/// Element types as numbered in CTranslate2's `DataType` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl Ct2DType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Ct2DType::F32,
            1 => Ct2DType::I8,
            2 => Ct2DType::I16,
            3 => Ct2DType::I32,
            4 => Ct2DType::F16,
            5 => Ct2DType::Bf16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Ct2DType::I8 => 1,
            Ct2DType::I16 | Ct2DType::F16 | Ct2DType::Bf16 => 2,
            Ct2DType::F32 | Ct2DType::I32 => 4,
        }
    }
}

/// One named tensor; `data` is a range into the model's byte buffer.
#[derive(Debug, Clone)]
pub struct Ct2Variable {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: Ct2DType,
    data: std::ops::Range<usize>,
}

impl Ct2Variable {
    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A dense f32 tensor in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Debug)]
pub struct Ct2Model {
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    /// In file order.
    pub variables: Vec<Ct2Variable>,
    pub aliases: HashMap<String, String>,
    index: HashMap<String, usize>,
    bytes: Vec<u8>,
}

impl Ct2Model {
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        Self::parse(bytes, path)
    }

    /// `origin` only names the source in error messages.
    pub fn parse(bytes: Vec<u8>, origin: &Path) -> Result<Self, ModelError> {
        let mut cursor = Cursor {
            bytes: &bytes,
            offset: 0,
            origin,
        };
        let version = cursor.u32()?;
        let (spec, revision) = if version >= 2 {
            (cursor.string()?, cursor.u32()?)
        } else {
            (String::new(), 0)
        };
        let variable_count = cursor.u32()?;
        let mut variables = Vec::with_capacity(variable_count as usize);
        for _ in 0..variable_count {
            let name = cursor.string()?;
            let rank = cursor.u8()?;
            let shape = (0..rank)
                .map(|_| cursor.u32().map(|d| d as usize))
                .collect::<Result<Vec<_>, _>>()?;
            // Before version 4 every variable was f32.
            let dtype = if version >= 4 {
                let code = cursor.u8()?;
                Ct2DType::from_code(code).ok_or_else(|| {
                    cursor.error(format!("variable {name} has unknown dtype {code}"))
                })?
            } else {
                Ct2DType::F32
            };
            let byte_len = cursor.u32()? as usize;
            let expected = shape.iter().product::<usize>() * dtype.size();
            if byte_len != expected {
                return Err(cursor.error(format!(
                    "variable {name} declares {byte_len} bytes but shape {shape:?} of {dtype:?} needs {expected}"
                )));
            }
            let data = cursor.take(byte_len)?;
            variables.push(Ct2Variable {
                name,
                shape,
                dtype,
                data,
            });
        }
        let mut aliases = HashMap::new();
        if version >= 3 {
            let alias_count = cursor.u32()?;
            for _ in 0..alias_count {
                let alias = cursor.string()?;
                let target = cursor.string()?;
                aliases.insert(alias, target);
            }
        }
        let index = variables
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.clone(), i))
            .collect();
        Ok(Ct2Model {
            version,
            spec,
            revision,
            variables,
            aliases,
            index,
            bytes,
        })
    }

    pub fn variable(&self, name: &str) -> Result<&Ct2Variable, ModelError> {
        let resolved = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.index
            .get(resolved)
            .map(|&i| &self.variables[i])
            .ok_or_else(|| ModelError::MissingVariable {
                name: name.to_owned(),
            })
    }

    pub fn raw_bytes(&self, variable: &Ct2Variable) -> &[u8] {
        &self.bytes[variable.data.clone()]
    }

    /// The variable widened to f32 (floating-point dtypes only).
    pub fn tensor(&self, name: &str) -> Result<Tensor, ModelError> {
        let variable = self.variable(name)?;
        let raw = self.raw_bytes(variable);
        let data: Vec<f32> = match variable.dtype {
            Ct2DType::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Ct2DType::F16 => raw
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Ct2DType::Bf16 => raw
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(ModelError::BadVariable {
                    name: name.to_owned(),
                    message: format!(
                        "dtype {other:?} is not a float weight (int8-quantised models are not supported)"
                    ),
                })
            }
        };
        Ok(Tensor {
            shape: variable.shape.clone(),
            data,
        })
    }

    /// A scalar integer variable such as `encoder/num_heads`.
    pub fn scalar_int(&self, name: &str) -> Result<i64, ModelError> {
        let variable = self.variable(name)?;
        if variable.element_count() != 1 {
            return Err(ModelError::BadVariable {
                name: name.to_owned(),
                message: format!("expected a scalar, found shape {:?}", variable.shape),
            });
        }
        let b = self.raw_bytes(variable);
        Ok(match variable.dtype {
            Ct2DType::I8 => i8::from_le_bytes([b[0]]) as i64,
            Ct2DType::I16 => i16::from_le_bytes([b[0], b[1]]) as i64,
            Ct2DType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            other => {
                return Err(ModelError::BadVariable {
                    name: name.to_owned(),
                    message: format!("expected an integer scalar, found {other:?}"),
                })
            }
        })
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    offset: usize,
    origin: &'a Path,
}

impl Cursor<'_> {
    fn error(&self, message: String) -> ModelError {
        ModelError::Ct2Format {
            path: PathBuf::from(self.origin),
            message,
        }
    }

    fn take(&mut self, len: usize) -> Result<std::ops::Range<usize>, ModelError> {
        let end = self
            .offset
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                self.error(format!(
                    "truncated: wanted {len} bytes at offset {} of {}",
                    self.offset,
                    self.bytes.len()
                ))
            })?;
        let range = self.offset..end;
        self.offset = end;
        Ok(range)
    }

    fn u8(&mut self) -> Result<u8, ModelError> {
        let r = self.take(1)?;
        Ok(self.bytes[r.start])
    }

    fn u16(&mut self) -> Result<u16, ModelError> {
        let r = self.take(2)?;
        Ok(u16::from_le_bytes([
            self.bytes[r.start],
            self.bytes[r.start + 1],
        ]))
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        let r = self.take(4)?;
        let b = &self.bytes[r];
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Length-prefixed and NUL-terminated.
    fn string(&mut self) -> Result<String, ModelError> {
        let len = self.u16()? as usize;
        let r = self.take(len)?;
        let raw = &self.bytes[r];
        let trimmed = match raw.iter().rposition(|&b| b != 0) {
            Some(last) => &raw[..=last],
            None => &[],
        };
        String::from_utf8(trimmed.to_vec())
            .map_err(|_| self.error("a name is not valid UTF-8".to_owned()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a CT2 `model.bin` the way CTranslate2's Python `ModelSpec` serialises it.
    pub(crate) struct Ct2Builder {
        out: Vec<u8>,
        count: u32,
        body: Vec<u8>,
        aliases: Vec<(String, String)>,
    }

    fn put_string(buf: &mut Vec<u8>, s: &str) {
        let mut bytes = s.as_bytes().to_vec();
        bytes.push(0);
        buf.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        buf.extend_from_slice(&bytes);
    }

    impl Ct2Builder {
        pub(crate) fn new(spec: &str) -> Self {
            let mut out = Vec::new();
            out.extend_from_slice(&6u32.to_le_bytes());
            put_string(&mut out, spec);
            out.extend_from_slice(&3u32.to_le_bytes());
            Ct2Builder {
                out,
                count: 0,
                body: Vec::new(),
                aliases: Vec::new(),
            }
        }

        pub(crate) fn raw(mut self, name: &str, shape: &[u32], dtype: u8, data: &[u8]) -> Self {
            put_string(&mut self.body, name);
            self.body.push(shape.len() as u8);
            for d in shape {
                self.body.extend_from_slice(&d.to_le_bytes());
            }
            self.body.push(dtype);
            self.body
                .extend_from_slice(&(data.len() as u32).to_le_bytes());
            self.body.extend_from_slice(data);
            self.count += 1;
            self
        }

        pub(crate) fn f16(self, name: &str, shape: &[u32], values: &[f32]) -> Self {
            let data: Vec<u8> = values
                .iter()
                .flat_map(|v| f16::from_f32(*v).to_le_bytes())
                .collect();
            self.raw(name, shape, 4, &data)
        }

        pub(crate) fn i16_scalar(self, name: &str, value: i16) -> Self {
            self.raw(name, &[], 2, &value.to_le_bytes())
        }

        pub(crate) fn alias(mut self, alias: &str, target: &str) -> Self {
            self.aliases.push((alias.to_owned(), target.to_owned()));
            self
        }

        pub(crate) fn build(mut self) -> Vec<u8> {
            self.out.extend_from_slice(&self.count.to_le_bytes());
            self.out.extend_from_slice(&self.body);
            self.out
                .extend_from_slice(&(self.aliases.len() as u32).to_le_bytes());
            for (a, t) in &self.aliases {
                put_string(&mut self.out, a);
                put_string(&mut self.out, t);
            }
            self.out
        }
    }

    #[test]
    fn parses_header_variables_and_aliases() {
        let bytes = Ct2Builder::new("WhisperSpec")
            .f16("encoder/conv1/bias", &[3], &[0.5, -1.0, 2.0])
            .i16_scalar("encoder/num_heads", 6)
            .raw("decoder/activation", &[], 1, &[3])
            .alias("decoder/projection/weight", "encoder/conv1/bias")
            .build();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, &bytes).unwrap();

        let model = Ct2Model::open(&path).unwrap();
        assert_eq!(model.version, 6);
        assert_eq!(model.spec, "WhisperSpec");
        assert_eq!(model.revision, 3);
        let names: Vec<_> = model.variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "encoder/conv1/bias",
                "encoder/num_heads",
                "decoder/activation"
            ]
        );
        let bias = model.tensor("encoder/conv1/bias").unwrap();
        assert_eq!(bias.shape, [3]);
        assert_eq!(bias.data, [0.5, -1.0, 2.0]);
        assert_eq!(model.scalar_int("encoder/num_heads").unwrap(), 6);
        assert_eq!(model.scalar_int("decoder/activation").unwrap(), 3);
        assert_eq!(
            model.tensor("decoder/projection/weight").unwrap().data,
            bias.data
        );
        assert!(matches!(
            model.tensor("nope"),
            Err(ModelError::MissingVariable { .. })
        ));
    }

    #[test]
    fn rejects_truncated_file() {
        let mut bytes = Ct2Builder::new("WhisperSpec")
            .f16("w", &[4], &[1.0, 2.0, 3.0, 4.0])
            .build();
        bytes.truncate(bytes.len() - 6);
        let err = Ct2Model::parse(bytes, Path::new("model.bin")).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn rejects_size_that_disagrees_with_shape() {
        let bytes = Ct2Builder::new("WhisperSpec")
            .raw("w", &[3], 4, &[0u8; 4])
            .build();
        let err = Ct2Model::parse(bytes, Path::new("model.bin")).unwrap_err();
        assert!(err.to_string().contains("needs 6"), "{err}");
    }

    #[test]
    fn integer_variables_are_not_weights() {
        let bytes = Ct2Builder::new("WhisperSpec")
            .raw("w", &[2], 1, &[1, 2])
            .build();
        let model = Ct2Model::parse(bytes, Path::new("model.bin")).unwrap();
        assert!(matches!(
            model.tensor("w"),
            Err(ModelError::BadVariable { .. })
        ));
    }
}
