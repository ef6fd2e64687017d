//! Cue tables shipped as data files under `data/`, parsed once, and the one phrase matcher
//! (Aho-Corasick) that looks them up in a turn.
//!
//! A table is TSV: `GROUP<TAB>cue<TAB>weight`, `#` comments. A cue matches whole words of a
//! normalised text (" word word ", one space around every word); a cue ending in `*` matches
//! any word that starts with it. [`PhraseTable::scores`] sums per group the weights of the cues
//! found, each cue once, in the table's order (so the sums are the same as a cue-by-cue scan).

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{table} line {line}: {what}")]
    Malformed {
        table: &'static str,
        line: usize,
        what: &'static str,
    },
    #[error("{table}: phrase matcher: {source}")]
    Matcher {
        table: &'static str,
        source: aho_corasick::BuildError,
    },
}

/// Weighted cue phrases in groups, with one automaton over all of them.
pub struct PhraseTable {
    /// (group index, weight) per table line, in file order.
    entries: Vec<(usize, f64)>,
    /// Per distinct search pattern, the table lines that use it.
    pattern_entries: Vec<Vec<usize>>,
    matcher: AhoCorasick,
}

impl PhraseTable {
    /// Parses `text`; `groups` names the allowed groups, and a group's index in it is its
    /// index in [`PhraseTable::scores`]'s output.
    pub fn parse(
        table: &'static str,
        text: &str,
        groups: &[&str],
    ) -> Result<PhraseTable, TableError> {
        let mut entries = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_entries: Vec<Vec<usize>> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let malformed = |what| TableError::Malformed {
                table,
                line: number + 1,
                what,
            };
            let mut fields = line.split('\t');
            let (Some(group), Some(cue), Some(weight), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(malformed("expected three tab-separated fields"));
            };
            let group = groups
                .iter()
                .position(|g| *g == group)
                .ok_or_else(|| malformed("unknown group"))?;
            let weight: f64 = weight.parse().map_err(|_| malformed("weight"))?;
            let pattern = match cue.strip_suffix('*') {
                Some(prefix) => format!(" {prefix}"),
                None => format!(" {cue} "),
            };
            let index = match patterns.iter().position(|p| *p == pattern) {
                Some(i) => i,
                None => {
                    patterns.push(pattern);
                    pattern_entries.push(Vec::new());
                    patterns.len() - 1
                }
            };
            pattern_entries[index].push(entries.len());
            entries.push((group, weight));
        }
        let matcher =
            AhoCorasick::new(&patterns).map_err(|source| TableError::Matcher { table, source })?;
        Ok(PhraseTable {
            entries,
            pattern_entries,
            matcher,
        })
    }

    /// Adds to `scores[group]` the weight of every cue found in `normalized`.
    pub fn scores(&self, normalized: &str, scores: &mut [f64]) {
        for (group, weight) in self.matches(normalized) {
            scores[group] += weight;
        }
    }

    /// (group, weight) of every cue found in `normalized`, each cue once, in the table's order.
    pub fn matches(&self, normalized: &str) -> Vec<(usize, f64)> {
        let mut found = vec![false; self.entries.len()];
        // Overlapping search: cues may share words ("pain", "chest pain").
        for hit in self.matcher.find_overlapping_iter(normalized) {
            for &entry in &self.pattern_entries[hit.pattern().as_usize()] {
                found[entry] = true;
            }
        }
        self.entries
            .iter()
            .zip(&found)
            .filter(|(_, f)| **f)
            .map(|(entry, _)| *entry)
            .collect()
    }
}

const SECTION_CUES_TSV: &str = include_str!("../../data/section_cues.tsv");

/// Group names of [`section_cues`], in the order of `sections`' score arrays.
pub const SECTION_GROUPS: [&str; 4] = ["OTHER", "SUBJECTIVE", "OBJECTIVE", "ASSESSMENT_AND_PLAN"];

/// The per-turn transcript-section cues (`data/section_cues.tsv`).
pub fn section_cues() -> &'static PhraseTable {
    static TABLE: OnceLock<PhraseTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        PhraseTable::parse("section_cues.tsv", SECTION_CUES_TSV, &SECTION_GROUPS)
            .expect("data/section_cues.tsv is well formed")
    })
}

const ROUTING_CUES_TSV: &str = include_str!("../../data/routing_cues.tsv");

/// Group names of [`routing_cues`]: the scored note topics, in the order of `routing`'s
/// score arrays (its `SCORED`; a test there keeps the two in step).
pub const ROUTING_GROUPS: [&str; 18] = [
    "PresentIllness",
    "ReviewOfSystems",
    "PastMedicalHistory",
    "PastSurgicalHistory",
    "Medications",
    "Allergies",
    "FamilyAndSocialHistory",
    "Immunizations",
    "GynecologicHistory",
    "PhysicalExam",
    "Imaging",
    "Labs",
    "Procedures",
    "Assessment",
    "Diagnosis",
    "Plan",
    "Disposition",
    "HospitalCourse",
];

/// The note-topic cues of the router (`data/routing_cues.tsv`).
pub fn routing_cues() -> &'static PhraseTable {
    static TABLE: OnceLock<PhraseTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        PhraseTable::parse("routing_cues.tsv", ROUTING_CUES_TSV, &ROUTING_GROUPS)
            .expect("data/routing_cues.tsv is well formed")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_and_prefixes_each_count_once() {
        let t = PhraseTable::parse(
            "test",
            "# c\nA\tpain\t1\nA\thurt*\t0.5\nB\tpain\t2\nB\tno pain\t-1\n",
            &["A", "B"],
        )
        .unwrap();
        let mut s = [0.0; 2];
        t.scores(" no pain it hurts pain painful hurting ", &mut s);
        assert_eq!(s, [1.5, 1.0]);
        let mut s = [0.0; 2];
        t.scores(" painful ", &mut s);
        assert_eq!(s, [0.0, 0.0]);
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(PhraseTable::parse("t", "C\tx\t1\n", &["A"]).is_err());
        assert!(PhraseTable::parse("t", "A\tx\n", &["A"]).is_err());
        assert!(PhraseTable::parse("t", "A\tx\tone\n", &["A"]).is_err());
    }

    #[test]
    fn the_shipped_section_cues_parse() {
        let mut s = [0.0; 4];
        section_cues().scores(" hi let me listen to your lungs ", &mut s);
        assert!(s[0] > 0.0 && s[2] > 0.0, "{s:?}");
    }
}
