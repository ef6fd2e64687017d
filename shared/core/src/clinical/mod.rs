//! Pure text stages: turns, roles, sections, insights and the note.
//!
//! `dialogue`, `turns`, `roles`, `sections` and `pipeline` build the `Conversation`;
//! `lexicon`, `insights`, `negation` and `note` read it.

pub mod custom_template;
pub mod dialogue;
pub mod insights;
pub mod lexicon;
pub mod negation;
pub mod note;
pub mod pipeline;
pub mod roles;
pub mod routing;
pub mod sections;
pub mod turns;
