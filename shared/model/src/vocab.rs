//! Token vocabulary from a Hugging Face `tokenizer.json`, turned back into raw bytes for ggml.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ModelError;

#[derive(Deserialize)]
struct TokenizerFile {
    model: TokenizerModel,
}

#[derive(Deserialize)]
struct TokenizerModel {
    vocab: HashMap<String, u32>,
}

/// GPT-2's `bytes_to_unicode` inverted: the printable stand-in character for each byte, back to the byte.
fn unicode_to_byte() -> HashMap<char, u8> {
    let mut printable: Vec<u32> = (u32::from('!')..=u32::from('~'))
        .chain(u32::from('¡')..=u32::from('¬'))
        .chain(u32::from('®')..=u32::from('ÿ'))
        .collect();
    let mut chars = printable.clone();
    let mut shifted = 0;
    for byte in 0..256u32 {
        if !printable.contains(&byte) {
            printable.push(byte);
            chars.push(256 + shifted);
            shifted += 1;
        }
    }
    printable
        .into_iter()
        .zip(chars)
        .map(|(byte, ch)| {
            (
                char::from_u32(ch).expect("GPT-2 byte alphabet is valid Unicode"),
                byte as u8,
            )
        })
        .collect()
}

/// Base vocabulary (without added special tokens) as byte strings ordered by token id.
pub fn read_vocabulary(tokenizer_json: &Path) -> Result<Vec<Vec<u8>>, ModelError> {
    let text = std::fs::read(tokenizer_json).map_err(|e| ModelError::io(tokenizer_json, e))?;
    let parsed: TokenizerFile = serde_json::from_slice(&text).map_err(|e| ModelError::Json {
        path: PathBuf::from(tokenizer_json),
        message: e.to_string(),
    })?;
    decode_vocabulary(parsed.model.vocab)
}

fn decode_vocabulary(vocab: HashMap<String, u32>) -> Result<Vec<Vec<u8>>, ModelError> {
    let decoder = unicode_to_byte();
    let mut entries: Vec<(u32, String)> = vocab.into_iter().map(|(t, id)| (id, t)).collect();
    entries.sort();
    entries
        .into_iter()
        .map(|(id, token)| {
            token
                .chars()
                .map(|c| {
                    decoder
                        .get(&c)
                        .copied()
                        .ok_or(ModelError::VocabularyCharacter { token_id: id })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_alphabet_is_a_bijection() {
        let decoder = unicode_to_byte();
        assert_eq!(decoder.len(), 256);
        let mut bytes: Vec<u8> = decoder.values().copied().collect();
        bytes.sort();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        assert_eq!(decoder[&'A'], b'A');
        assert_eq!(decoder[&'Ġ'], b' ', "GPT-2 writes a space as U+0120");
        assert_eq!(decoder[&'Ā'], 0);
        assert_eq!(decoder[&'Ċ'], b'\n');
    }

    #[test]
    fn vocabulary_is_ordered_by_id_and_decoded() {
        let vocab = HashMap::from([
            ("Ġworld".to_owned(), 2),
            ("hello".to_owned(), 0),
            ("Ċ".to_owned(), 1),
            ("Ã©".to_owned(), 3),
        ]);
        let decoded = decode_vocabulary(vocab).unwrap();
        assert_eq!(
            decoded,
            [
                b"hello".to_vec(),
                b"\n".to_vec(),
                b" world".to_vec(),
                "é".as_bytes().to_vec()
            ]
        );
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        let vocab = HashMap::from([("日".to_owned(), 7)]);
        assert!(matches!(
            decode_vocabulary(vocab),
            Err(ModelError::VocabularyCharacter { token_id: 7 })
        ));
    }
}
