//! Pure text stages: turns, roles, sections, insights, the note and code suggestions.
//!
//! `dialogue`, `turns`, `roles`, `sections` and `pipeline` build the `Conversation`;
//! `lexicon`, `insights`, `negation`, `note` and `coding` read it; `text` renders the results.

pub mod coding;
pub mod custom_template;
pub mod dialogue;
pub mod insights;
pub mod lexicon;
pub mod linear;
pub mod negation;
pub mod note;
pub mod pipeline;
pub mod roles;
pub mod routing;
pub mod section_model;
pub mod sections;
pub mod support;
pub mod tables;
pub mod text;
pub mod turns;
pub mod vocabulary;
