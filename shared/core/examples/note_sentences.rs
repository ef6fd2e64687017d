//! Dumps the learned note router's view of every transcript sentence (text and features), one
//! visit per line, for `scripts/train_note_router.py`. The conversation is built as the product
//! builds it (`conversation_from_dialogue`: roles and sections inferred), so training sees what
//! the note sees at run time.
//!
//! Usage: `cargo run --release -p veriscribe-core --example note_sentences -- DIALOGUES.jsonl OUT.jsonl`

use std::fs;
use std::io::Write;

use serde::Deserialize;
use veriscribe_core::clinical::note::router_sentences;
use veriscribe_core::clinical::pipeline::{conversation_from_dialogue, ConversationSettings};

#[derive(Deserialize)]
struct Dialogue {
    id: String,
    turns: Vec<Turn>,
}

#[derive(Deserialize)]
struct Turn {
    speaker: String,
    text: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .ok_or("usage: note_sentences DIALOGUES.jsonl OUT.jsonl")?;
    let output = args.next().ok_or("missing OUT.jsonl")?;
    let mut out = fs::File::create(&output)?;
    for line in fs::read_to_string(&input)?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let dialogue: Dialogue = serde_json::from_str(line)?;
        let text: String = dialogue
            .turns
            .iter()
            .map(|t| format!("[{}] {}\n", t.speaker, t.text))
            .collect();
        let settings = ConversationSettings {
            job_name: dialogue.id.clone(),
            ..ConversationSettings::default()
        };
        let conversation = conversation_from_dialogue(&text, &settings)?;
        let sentences = router_sentences(&conversation);
        writeln!(
            out,
            "{}",
            serde_json::json!({"id": dialogue.id, "sentences": sentences})
        )?;
    }
    Ok(())
}
