//! Reading float tensors from a legacy (pre-1.6, non-zip) PyTorch file, such as Resemblyzer's
//! `pretrained.pt`.
//!
//! The layout is five pickles in a row (magic number, protocol version, system info, the object,
//! the list of storage keys) followed by every storage as an 8-byte element count and its raw
//! little-endian data. Only the pickle opcodes that `torch.save` writes for a state dict are
//! understood; tensors are rebuilt from `torch._utils._rebuild_tensor_v2` calls.

use std::collections::HashMap;

use crate::error::ModelError;

/// A tensor of the file: its name path in the object (e.g. `model_state/lstm.weight_ih_l0`),
/// shape and values (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct FloatTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

#[derive(Debug, Clone)]
enum Value {
    None,
    Bool,
    Int(i64),
    Float,
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String),
    /// A persistent id: (storage type, key).
    Storage(String, String),
    Tensor(TensorRef),
    Mark,
    /// The result of calling something we do not need (optimizer internals and the like); its
    /// arguments are kept so that the storages they name are still known.
    Opaque(Box<Value>),
}

#[derive(Debug, Clone)]
struct TensorRef {
    kind: String,
    storage: String,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

fn malformed(message: impl Into<String>) -> ModelError {
    ModelError::TorchFormat {
        message: message.into(),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| malformed("unexpected end of file"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ModelError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn line(&mut self) -> Result<String, ModelError> {
        let rest = &self.bytes[self.at..];
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| malformed("unterminated line"))?;
        let text = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.at += end + 1;
        Ok(text)
    }

    fn string(&mut self, n: usize) -> Result<String, ModelError> {
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }

    /// Runs one pickle to its STOP opcode.
    fn pickle(&mut self) -> Result<Value, ModelError> {
        let mut stack: Vec<Value> = Vec::new();
        let mut memo: HashMap<u32, Value> = HashMap::new();
        let pop = |stack: &mut Vec<Value>| stack.pop().ok_or_else(|| malformed("stack underflow"));
        let pop_mark = |stack: &mut Vec<Value>| -> Result<Vec<Value>, ModelError> {
            let mark = stack
                .iter()
                .rposition(|v| matches!(v, Value::Mark))
                .ok_or_else(|| malformed("no mark"))?;
            let items = stack.split_off(mark + 1);
            stack.pop();
            Ok(items)
        };
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                b'.' => return pop(&mut stack), // STOP
                b'}' => stack.push(Value::Dict(Vec::new())),
                b']' => stack.push(Value::List(Vec::new())),
                b')' => stack.push(Value::Tuple(Vec::new())),
                b'(' => stack.push(Value::Mark),
                b'N' => stack.push(Value::None),
                0x88 | 0x89 => stack.push(Value::Bool),
                b'K' => {
                    let v = self.u8()?;
                    stack.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = self.u16()?;
                    stack.push(Value::Int(i64::from(v)));
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    stack.push(Value::Int(i64::from(v)));
                }
                0x8a => {
                    // LONG1: little-endian two's complement of n bytes
                    let n = usize::from(self.u8()?);
                    let bytes = self.take(n)?;
                    let mut value: i64 = 0;
                    for (i, b) in bytes.iter().enumerate().take(8) {
                        value |= i64::from(*b) << (8 * i);
                    }
                    if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
                        value -= 1i64 << (8 * n);
                    }
                    stack.push(Value::Int(value));
                }
                b'G' => {
                    self.take(8)?; // BINFLOAT: optimizer settings, not needed
                    stack.push(Value::Float);
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.string(n)?;
                    stack.push(Value::Str(s));
                }
                b'U' => {
                    let n = usize::from(self.u8()?);
                    let s = self.string(n)?;
                    stack.push(Value::Str(s));
                }
                b'T' => {
                    let n = self.u32()? as usize;
                    let s = self.string(n)?;
                    stack.push(Value::Str(s));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    stack.push(Value::Global(format!("{module}.{name}")));
                }
                b'q' => {
                    let key = u32::from(self.u8()?);
                    let top = stack.last().ok_or_else(|| malformed("memo of nothing"))?;
                    memo.insert(key, top.clone());
                }
                b'r' => {
                    let key = self.u32()?;
                    let top = stack.last().ok_or_else(|| malformed("memo of nothing"))?;
                    memo.insert(key, top.clone());
                }
                b'h' | b'j' => {
                    let key = if op == b'h' {
                        u32::from(self.u8()?)
                    } else {
                        self.u32()?
                    };
                    let value = memo
                        .get(&key)
                        .cloned()
                        .ok_or_else(|| malformed(format!("memo {key} missing")))?;
                    stack.push(value);
                }
                b't' => {
                    let items = pop_mark(&mut stack)?;
                    stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if stack.len() < n {
                        return Err(malformed("stack underflow"));
                    }
                    let items = stack.split_off(stack.len() - n);
                    stack.push(Value::Tuple(items));
                }
                b'Q' => {
                    // BINPERSID: ('storage', type, key, location, size[, view])
                    let pid = pop(&mut stack)?;
                    let Value::Tuple(parts) = pid else {
                        return Err(malformed("persistent id is not a tuple"));
                    };
                    match (parts.get(1), parts.get(2)) {
                        (Some(Value::Global(kind)), Some(Value::Str(key))) => {
                            let kind = kind.rsplit('.').next().unwrap_or(kind).to_owned();
                            stack.push(Value::Storage(kind, key.clone()));
                        }
                        _ => return Err(malformed("unknown persistent id")),
                    }
                }
                b'R' => {
                    let args = pop(&mut stack)?;
                    let func = pop(&mut stack)?;
                    stack.push(call(func, args)?);
                }
                b'b' => {
                    // BUILD: set state on an object; state dicts carry `_metadata`, not needed.
                    pop(&mut stack)?;
                }
                b's' => {
                    let value = pop(&mut stack)?;
                    let key = pop(&mut stack)?;
                    if let Some(Value::Dict(items)) = stack.last_mut() {
                        items.push((key, value));
                    }
                }
                b'u' => {
                    let items = pop_mark(&mut stack)?;
                    if let Some(Value::Dict(dict)) = stack.last_mut() {
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            dict.push((k, v));
                        }
                    }
                }
                b'a' => {
                    let value = pop(&mut stack)?;
                    if let Some(Value::List(list)) = stack.last_mut() {
                        list.push(value);
                    }
                }
                b'e' => {
                    let items = pop_mark(&mut stack)?;
                    if let Some(Value::List(list)) = stack.last_mut() {
                        list.extend(items);
                    }
                }
                other => {
                    return Err(malformed(format!(
                        "unsupported pickle opcode 0x{other:02x}"
                    )))
                }
            }
        }
    }
}

fn as_usizes(value: &Value) -> Option<Vec<usize>> {
    match value {
        Value::Tuple(items) | Value::List(items) => items
            .iter()
            .map(|v| match v {
                Value::Int(i) => usize::try_from(*i).ok(),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn call(func: Value, args: Value) -> Result<Value, ModelError> {
    let Value::Global(name) = func else {
        return Ok(Value::Opaque(Box::new(args)));
    };
    match name.as_str() {
        "collections.OrderedDict" => Ok(Value::Dict(Vec::new())),
        "torch._utils._rebuild_tensor_v2" => {
            let Value::Tuple(parts) = args else {
                return Err(malformed("tensor arguments are not a tuple"));
            };
            match (parts.first(), parts.get(1), parts.get(2), parts.get(3)) {
                (
                    Some(Value::Storage(kind, key)),
                    Some(Value::Int(offset)),
                    Some(shape),
                    Some(stride),
                ) => Ok(Value::Tensor(TensorRef {
                    kind: kind.clone(),
                    storage: key.clone(),
                    offset: usize::try_from(*offset).map_err(|_| malformed("negative offset"))?,
                    shape: as_usizes(shape).ok_or_else(|| malformed("bad tensor shape"))?,
                    stride: as_usizes(stride).ok_or_else(|| malformed("bad tensor stride"))?,
                })),
                _ => Err(malformed("unexpected tensor arguments")),
            }
        }
        _ => Ok(Value::Opaque(Box::new(args))),
    }
}

fn collect_tensors(prefix: &str, value: &Value, out: &mut Vec<(String, TensorRef)>) {
    match value {
        Value::Dict(items) => {
            for (key, value) in items {
                let key = match key {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    _ => continue,
                };
                let path = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}/{key}")
                };
                collect_tensors(&path, value, out);
            }
        }
        Value::Tensor(t) => out.push((prefix.to_owned(), t.clone())),
        _ => {}
    }
}

fn element_size(kind: &str) -> Option<usize> {
    match kind {
        "FloatStorage" | "IntStorage" => Some(4),
        "LongStorage" | "DoubleStorage" => Some(8),
        "HalfStorage" | "ShortStorage" | "BFloat16Storage" => Some(2),
        "ByteStorage" | "CharStorage" | "BoolStorage" => Some(1),
        _ => None,
    }
}

/// Every float32 tensor in a legacy PyTorch file, by its path in the saved object
/// (`dict key/dict key/...`).
pub fn read_float_tensors(bytes: &[u8]) -> Result<HashMap<String, FloatTensor>, ModelError> {
    let mut reader = Reader { bytes, at: 0 };
    for _ in 0..3 {
        reader.pickle()?; // magic number, protocol version, system info
    }
    let object = reader.pickle()?;
    let Value::List(keys) = reader.pickle()? else {
        return Err(malformed("storage key list missing"));
    };
    let mut tensors = Vec::new();
    collect_tensors("", &object, &mut tensors);
    // Storage types are named where the storage is first referenced; find them again.
    let mut kinds: HashMap<String, String> = HashMap::new();
    find_storages(&object, &mut kinds);

    let mut storages: HashMap<String, &[u8]> = HashMap::new();
    for key in keys {
        let Value::Str(key) = key else {
            return Err(malformed("storage key is not a string"));
        };
        let count = u64::from_le_bytes(reader.take(8)?.try_into().expect("8 bytes"));
        let kind = kinds
            .get(&key)
            .ok_or_else(|| malformed(format!("storage {key} is never referenced")))?;
        let size =
            element_size(kind).ok_or_else(|| malformed(format!("unknown storage {kind}")))?;
        let length = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(size))
            .ok_or_else(|| malformed("storage too large"))?;
        let data = reader.take(length)?;
        if kind == "FloatStorage" {
            storages.insert(key, data);
        }
    }

    let mut out = HashMap::new();
    for (name, t) in tensors {
        let Some(data) = storages
            .get(&t.storage)
            .filter(|_| t.kind == "FloatStorage")
        else {
            continue; // not a float tensor
        };
        let count: usize = t.shape.iter().product();
        let mut values = Vec::with_capacity(count);
        let mut index = vec![0usize; t.shape.len()];
        for _ in 0..count {
            let at = t.offset
                + index
                    .iter()
                    .zip(&t.stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            let bytes = data
                .get(at * 4..at * 4 + 4)
                .ok_or_else(|| malformed(format!("tensor {name} runs past its storage")))?;
            values.push(f32::from_le_bytes(bytes.try_into().expect("4 bytes")));
            for axis in (0..index.len()).rev() {
                index[axis] += 1;
                if index[axis] < t.shape[axis] {
                    break;
                }
                index[axis] = 0;
            }
        }
        out.insert(
            name,
            FloatTensor {
                shape: t.shape,
                values,
            },
        );
    }
    Ok(out)
}

fn find_storages(value: &Value, kinds: &mut HashMap<String, String>) {
    match value {
        Value::Dict(items) => {
            for (k, v) in items {
                find_storages(k, kinds);
                find_storages(v, kinds);
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for v in items {
                find_storages(v, kinds);
            }
        }
        Value::Storage(kind, key)
        | Value::Tensor(TensorRef {
            kind, storage: key, ..
        }) => {
            kinds.insert(key.clone(), kind.clone());
        }
        Value::Opaque(args) => find_storages(args, kinds),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unicode(out: &mut Vec<u8>, text: &str) {
        out.push(b'X');
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
    }

    /// A file as `torch.save({"model_state": OrderedDict(w=tensor)})` writes it (legacy format):
    /// one storage of 6 floats, `w` a 2 × 2 view at offset 1.
    fn legacy_file() -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..3 {
            out.extend_from_slice(b"\x80\x02K\x01."); // magic, protocol, system info stand-ins
        }
        out.extend_from_slice(b"\x80\x02}(");
        unicode(&mut out, "model_state");
        out.extend_from_slice(b"ccollections\nOrderedDict\n)R(");
        unicode(&mut out, "w");
        out.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n((");
        unicode(&mut out, "storage");
        out.extend_from_slice(b"ctorch\nFloatStorage\n");
        unicode(&mut out, "k0");
        unicode(&mut out, "cpu");
        out.extend_from_slice(b"K\x06NtQK\x01K\x02K\x02\x86K\x02K\x01\x86\x89");
        out.extend_from_slice(b"ccollections\nOrderedDict\n)RtRuu.");
        out.extend_from_slice(b"\x80\x02](");
        unicode(&mut out, "k0");
        out.extend_from_slice(b"e.");
        out.extend_from_slice(&6u64.to_le_bytes());
        for v in 0..6 {
            out.extend_from_slice(&(v as f32).to_le_bytes());
        }
        out
    }

    #[test]
    fn reads_a_strided_view_of_a_storage() {
        let tensors = read_float_tensors(&legacy_file()).unwrap();
        let w = &tensors["model_state/w"];
        assert_eq!(w.shape, vec![2, 2]);
        assert_eq!(w.values, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn a_truncated_storage_is_an_error() {
        let mut bytes = legacy_file();
        bytes.truncate(bytes.len() - 4);
        assert!(matches!(
            read_float_tensors(&bytes),
            Err(ModelError::TorchFormat { .. })
        ));
    }
}
