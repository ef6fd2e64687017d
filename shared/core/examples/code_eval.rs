//! Scores ICD-10-CM code suggestions on dialogue JSONL (ACI-Bench layout: `id`, `turns[{speaker,
//! text}]`, `reference_divisions.assessment_and_plan`) against hand-assigned codes for the
//! problems of each reference assessment (`bench/icd10_aci_dev_gold.tsv`).
//!
//! Usage: `cargo run -p veriscribe-core --example code_eval -- DIALOGUES.jsonl GOLD.tsv [-v]`
//!
//! Conversations are built by the product path (`conversation_from_dialogue`: roles and sections
//! inferred, then insights). Three views:
//! * exact: a suggestion is right when its code is a gold code;
//! * category: when its first three characters are a gold code's (I50.9 vs I50.20 counts);
//! * named in A&P: when the reference assessment and plan names the suggestion's condition (any
//!   term of the term map whose code shares the category, or the suggestion's own term), which
//!   also credits conditions the assessment discusses without listing them as problems.
//!
//! `-v` prints each dialogue's suggested and gold codes (codes only); `--min-score X` scores only
//! the suggestions scoring at least X (another operating point than the product's `MIN_SCORE`).

use std::collections::{BTreeSet, HashMap};
use std::fs;

use serde::Deserialize;
use veriscribe_core::clinical::coding::{code_book, suggest_codes};
use veriscribe_core::clinical::insights;
use veriscribe_core::clinical::lexicon::words;
use veriscribe_core::clinical::pipeline::{conversation_from_dialogue, ConversationSettings};

#[derive(Deserialize)]
struct Dialogue {
    id: String,
    turns: Vec<Turn>,
    reference_divisions: Divisions,
}

#[derive(Deserialize)]
struct Turn {
    speaker: String,
    text: String,
}

#[derive(Deserialize)]
struct Divisions {
    #[serde(default)]
    assessment_and_plan: String,
}

fn category(code: &str) -> &str {
    &code[..code.len().min(3)]
}

fn lower_words(text: &str) -> String {
    let joined: Vec<String> = words(text).into_iter().map(|w| w.lower).collect();
    format!(" {} ", joined.join(" "))
}

#[derive(Default)]
struct Tally {
    suggested: usize,
    exact_hits: usize,
    category_hits: usize,
    named_hits: usize,
    gold: usize,
    gold_exact_found: usize,
    gold_category_found: usize,
}

impl Tally {
    fn print(&self, label: &str) {
        let pct = |n: usize, d: usize| {
            if d == 0 {
                0.0
            } else {
                100.0 * n as f64 / d as f64
            }
        };
        println!(
            "{label:<10} suggested {:>3} | precision exact {:>5.1}%  category {:>5.1}%  named-in-A&P {:>5.1}% | recall exact {:>5.1}%  category {:>5.1}% (gold {})",
            self.suggested,
            pct(self.exact_hits, self.suggested),
            pct(self.category_hits, self.suggested),
            pct(self.named_hits, self.suggested),
            pct(self.gold_exact_found, self.gold),
            pct(self.gold_category_found, self.gold),
            self.gold,
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(gold_path)) = (args.first(), args.get(1)) else {
        return Err("usage: code_eval DIALOGUES.jsonl GOLD.tsv [-v] [--min-score X]".into());
    };
    let verbose = args.iter().any(|a| a == "-v");
    let min_score: f64 = match args.iter().position(|a| a == "--min-score") {
        Some(i) => args
            .get(i + 1)
            .ok_or("--min-score needs a value")?
            .parse()?,
        None => 0.0,
    };

    let mut gold: HashMap<String, Vec<String>> = HashMap::new();
    for line in fs::read_to_string(gold_path)?.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut columns = line.split('\t');
        let (Some(id), Some(code)) = (columns.next(), columns.next()) else {
            return Err(format!("bad gold line: {line}").into());
        };
        gold.entry(id.to_string())
            .or_default()
            .push(code.to_string());
    }

    // Terms of the map by code category, to tell whether the reference names a condition.
    let mut terms_by_category: HashMap<String, Vec<String>> = HashMap::new();
    for (term, codes) in code_book().terms() {
        let all = std::iter::once(&codes.default).chain(codes.qualified.iter().map(|(_, c)| c));
        for code in all {
            terms_by_category
                .entry(category(code).to_string())
                .or_default()
                .push(term.to_string());
        }
    }

    let tops: [(&str, usize); 3] = [("all", usize::MAX), ("top 3", 3), ("top 1", 1)];
    let mut tallies: Vec<Tally> = tops.iter().map(|_| Tally::default()).collect();
    let mut dialogues = 0;
    for line in fs::read_to_string(input)?.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let dialogue: Dialogue = serde_json::from_str(line)?;
        let Some(gold_codes) = gold.get(&dialogue.id) else {
            continue;
        };
        dialogues += 1;
        let text: String = dialogue
            .turns
            .iter()
            .filter(|t| !t.text.trim().is_empty())
            .map(|t| format!("[{}] {}\n", t.speaker, t.text))
            .collect();
        let settings = ConversationSettings {
            job_name: dialogue.id.clone(),
            ..ConversationSettings::default()
        };
        let mut conversation = conversation_from_dialogue(&text, &settings)?;
        conversation.clinical_insights = insights::extract(&conversation);
        let mut suggestions = suggest_codes(&conversation).codes;
        suggestions.retain(|s| s.score >= min_score);
        let reference = lower_words(&dialogue.reference_divisions.assessment_and_plan);
        let gold_categories: BTreeSet<&str> = gold_codes.iter().map(|c| category(c)).collect();

        for ((_, k), tally) in tops.iter().zip(tallies.iter_mut()) {
            let chosen = &suggestions[..suggestions.len().min(*k)];
            tally.suggested += chosen.len();
            tally.gold += gold_codes.len();
            for s in chosen {
                tally.exact_hits += usize::from(gold_codes.contains(&s.code));
                tally.category_hits += usize::from(gold_categories.contains(category(&s.code)));
                let named = terms_by_category
                    .get(category(&s.code))
                    .into_iter()
                    .flatten()
                    .chain(std::iter::once(&s.term))
                    .any(|term| reference.contains(&format!(" {term} ")));
                tally.named_hits += usize::from(named);
            }
            for g in gold_codes {
                tally.gold_exact_found += usize::from(chosen.iter().any(|s| &s.code == g));
                tally.gold_category_found +=
                    usize::from(chosen.iter().any(|s| category(&s.code) == category(g)));
            }
        }
        if verbose {
            let codes: Vec<String> = suggestions
                .iter()
                .map(|s| format!("{}({:.2})", s.code, s.score))
                .collect();
            println!(
                "{}  suggested [{}]  gold [{}]",
                dialogue.id,
                codes.join(" "),
                gold_codes.join(" ")
            );
        }
    }
    println!("{dialogues} dialogues");
    for ((label, _), tally) in tops.iter().zip(&tallies) {
        tally.print(label);
    }
    Ok(())
}
