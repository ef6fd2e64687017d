//! Custom note templates (as in Amazon Connect Health): a base template plus up to 20 sections,
//! each a header and an instruction saying what belongs there. Given as JSON or YAML:
//!
//! ```yaml
//! base_template: HISTORY_AND_PHYSICAL
//! sections:
//!   - header: Allergies
//!     instruction: Drug allergies and the reactions they cause
//!   - header: Social history
//!     instruction: Smoking, alcohol, occupation and living situation
//! ```
//!
//! The JSON form has the same keys (`BaseTemplate` / `Sections` / `Header` / `Instruction` are
//! accepted too). Only this shape of YAML is read: top-level `key: value` pairs, and a list of
//! two-key mappings under `sections`; that keeps the crate free of a YAML dependency.
//! Each section is routed to a note topic by matching its header, then its instruction, against
//! the topic vocabulary of [`crate::clinical::routing`]; a section nothing matches stays empty.

use serde::{Deserialize, Serialize};

use crate::clinical::routing::{topic_of_description, NoteTopic};
use crate::formats::NoteTemplate;

/// Connect Health's limit on sections per custom template.
pub const MAX_CUSTOM_SECTIONS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomTemplateError {
    #[error("the custom template is not valid JSON or YAML: {0}")]
    Syntax(String),
    #[error("unknown base template {0:?} (expected one of HISTORY_AND_PHYSICAL, GIRPP, BIRP, SIRP, DAP, BEHAVIORAL_SOAP, PHYSICAL_SOAP)")]
    UnknownBase(String),
    #[error("the custom template has {count} sections; at most {MAX_CUSTOM_SECTIONS} are allowed")]
    TooManySections { count: usize },
    #[error("custom template section {index} has an empty header")]
    EmptyHeader { index: usize },
    #[error("custom template section header {header:?} appears more than once")]
    DuplicateHeader { header: String },
}

/// One section of a custom template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomSection {
    pub header: String,
    pub instruction: String,
}

impl CustomSection {
    /// The note topic this section collects: from its header when that names one, else from
    /// its instruction.
    pub fn topic(&self) -> Option<NoteTopic> {
        topic_of_description(&self.header).or_else(|| topic_of_description(&self.instruction))
    }
}

/// A validated custom template. Kept in the job record (`Settings.CustomTemplate`) in its JSON
/// form, so every driver's note step reads it from there; reading it back validates it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTemplate")]
pub struct CustomTemplate {
    #[serde(rename = "BaseTemplate")]
    pub base: NoteTemplate,
    #[serde(rename = "Sections")]
    /// Empty: the base template's own sections.
    pub sections: Vec<CustomSection>,
}

#[derive(Deserialize)]
pub(crate) struct RawTemplate {
    #[serde(alias = "BaseTemplate", alias = "baseTemplate")]
    base_template: String,
    #[serde(default, alias = "Sections")]
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
struct RawSection {
    #[serde(default, alias = "Header")]
    header: String,
    #[serde(
        default,
        alias = "Instruction",
        alias = "instructions",
        alias = "Instructions"
    )]
    instruction: String,
}

/// Parses and validates a custom template given as JSON (text starting with `{`) or YAML.
pub fn parse_custom_template(text: &str) -> Result<CustomTemplate, CustomTemplateError> {
    let raw = if text.trim_start().starts_with('{') {
        serde_json::from_str::<RawTemplate>(text)
            .map_err(|e| CustomTemplateError::Syntax(e.to_string()))?
    } else {
        parse_yaml(text)?
    };
    validate(raw)
}

impl TryFrom<RawTemplate> for CustomTemplate {
    type Error = CustomTemplateError;

    fn try_from(raw: RawTemplate) -> Result<Self, Self::Error> {
        validate(raw)
    }
}

/// Reads the JSON form (what `serde_json::to_value` of a template gives, or the file's keys)
/// from an already parsed value: a template inlined in a larger document (an AWS profile).
pub fn custom_template_from_value(
    value: serde_json::Value,
) -> Result<CustomTemplate, CustomTemplateError> {
    let raw: RawTemplate =
        serde_json::from_value(value).map_err(|e| CustomTemplateError::Syntax(e.to_string()))?;
    validate(raw)
}

fn validate(raw: RawTemplate) -> Result<CustomTemplate, CustomTemplateError> {
    let base: NoteTemplate = raw
        .base_template
        .trim()
        .parse()
        .map_err(|_| CustomTemplateError::UnknownBase(raw.base_template.clone()))?;
    if raw.sections.len() > MAX_CUSTOM_SECTIONS {
        return Err(CustomTemplateError::TooManySections {
            count: raw.sections.len(),
        });
    }
    let mut sections: Vec<CustomSection> = Vec::with_capacity(raw.sections.len());
    for (index, section) in raw.sections.into_iter().enumerate() {
        let header = section.header.trim().to_string();
        if header.is_empty() {
            return Err(CustomTemplateError::EmptyHeader { index: index + 1 });
        }
        if sections
            .iter()
            .any(|s| s.header.eq_ignore_ascii_case(&header))
        {
            return Err(CustomTemplateError::DuplicateHeader { header });
        }
        sections.push(CustomSection {
            header,
            instruction: section.instruction.trim().to_string(),
        });
    }
    Ok(CustomTemplate { base, sections })
}

/// The YAML subset described in the module documentation.
fn parse_yaml(text: &str) -> Result<RawTemplate, CustomTemplateError> {
    let syntax =
        |line: usize, what: &str| CustomTemplateError::Syntax(format!("line {line}: {what}"));
    let mut base_template: Option<String> = None;
    let mut sections: Vec<RawSection> = Vec::new();
    let mut in_sections = false;
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        let content = strip_comment(line);
        if content.trim().is_empty() || content.trim() == "---" {
            continue;
        }
        let indented = content.starts_with([' ', '\t']);
        let mut item = content.trim();
        if !indented && !item.starts_with('-') {
            let (key, value) = item
                .split_once(':')
                .ok_or_else(|| syntax(number, "expected `key: value`"))?;
            match key.trim() {
                "base_template" | "BaseTemplate" | "baseTemplate" => {
                    base_template = Some(scalar(value));
                    in_sections = false;
                }
                "sections" | "Sections" if value.trim().is_empty() => in_sections = true,
                other => return Err(syntax(number, &format!("unexpected key {other:?}"))),
            }
            continue;
        }
        if !in_sections {
            return Err(syntax(number, "list item outside `sections:`"));
        }
        if let Some(rest) = item.strip_prefix('-') {
            sections.push(RawSection {
                header: String::new(),
                instruction: String::new(),
            });
            item = rest.trim();
            if item.is_empty() {
                continue;
            }
        }
        let section = sections
            .last_mut()
            .ok_or_else(|| syntax(number, "section field before the first `-`"))?;
        let (key, value) = item
            .split_once(':')
            .ok_or_else(|| syntax(number, "expected `key: value`"))?;
        match key.trim() {
            "header" | "Header" => section.header = scalar(value),
            "instruction" | "Instruction" | "instructions" | "Instructions" => {
                section.instruction = scalar(value)
            }
            other => return Err(syntax(number, &format!("unexpected key {other:?}"))),
        }
    }
    Ok(RawTemplate {
        base_template: base_template.ok_or_else(|| syntax(0, "missing `base_template`"))?,
        sections,
    })
}

/// A `#` starts a comment unless it is inside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if i == 0 || line[..i].ends_with(' ') => return &line[..i],
            _ => {}
        }
    }
    line
}

fn scalar(value: &str) -> String {
    let v = value.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
# a clinic's template
base_template: HISTORY_AND_PHYSICAL
sections:
  - header: Allergies
    instruction: Drug allergies and reactions
  - header: \"Lifestyle\"
    instruction: smoking, alcohol and occupation  # social history
";

    #[test]
    fn yaml_and_json_give_the_same_template() {
        let yaml = parse_custom_template(YAML).unwrap();
        let json = parse_custom_template(
            r#"{"BaseTemplate": "HISTORY_AND_PHYSICAL", "Sections": [
                {"Header": "Allergies", "Instruction": "Drug allergies and reactions"},
                {"Header": "Lifestyle", "Instruction": "smoking, alcohol and occupation"}]}"#,
        )
        .unwrap();
        assert_eq!(yaml, json);
        assert_eq!(yaml.base, NoteTemplate::HistoryAndPhysical);
        assert_eq!(yaml.sections[1].header, "Lifestyle");
    }

    #[test]
    fn the_job_record_form_reads_back_validated() {
        let template = parse_custom_template(YAML).unwrap();
        let value = serde_json::to_value(&template).unwrap();
        assert_eq!(value["BaseTemplate"], "HISTORY_AND_PHYSICAL");
        assert_eq!(value["Sections"][0]["Header"], template.sections[0].header);
        let back: CustomTemplate = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(back, template);
        assert_eq!(custom_template_from_value(value).unwrap(), template);
        // Reading it back validates it again: a record cannot smuggle in a bad template.
        let bad = serde_json::json!({"BaseTemplate": "POEM", "Sections": []});
        assert!(serde_json::from_value::<CustomTemplate>(bad.clone()).is_err());
        assert!(matches!(
            custom_template_from_value(bad),
            Err(CustomTemplateError::UnknownBase(_))
        ));
    }

    #[test]
    fn sections_route_by_header_then_instruction() {
        let t = parse_custom_template(YAML).unwrap();
        assert_eq!(t.sections[0].topic(), Some(NoteTopic::Allergies));
        assert_eq!(
            t.sections[1].topic(),
            Some(NoteTopic::FamilyAndSocialHistory)
        );
    }

    #[test]
    fn invalid_templates_are_rejected_with_a_reason() {
        let many: Vec<String> = (0..21)
            .map(|i| format!(r#"{{"header": "S{i}", "instruction": "x"}}"#))
            .collect();
        let json = format!(
            r#"{{"base_template": "DAP", "sections": [{}]}}"#,
            many.join(",")
        );
        assert_eq!(
            parse_custom_template(&json),
            Err(CustomTemplateError::TooManySections { count: 21 })
        );
        assert_eq!(
            parse_custom_template("base_template: SOAPY\n"),
            Err(CustomTemplateError::UnknownBase("SOAPY".into()))
        );
        assert_eq!(
            parse_custom_template(
                "base_template: DAP\nsections:\n  - header: \"\"\n    instruction: x\n"
            ),
            Err(CustomTemplateError::EmptyHeader { index: 1 })
        );
        assert!(matches!(
            parse_custom_template("base_template: DAP\ncolour: blue\n"),
            Err(CustomTemplateError::Syntax(_))
        ));
        assert!(matches!(
            parse_custom_template("{ not json"),
            Err(CustomTemplateError::Syntax(_))
        ));
    }
}
