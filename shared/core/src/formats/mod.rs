//! HealthScribe wire formats. Field names live here and only here; the rest of the code uses
//! these types.

pub mod codes;
pub mod documentation;
pub mod job;
mod string_enum;
pub mod transcript;

pub use codes::*;
pub use documentation::*;
pub use job::*;
pub use transcript::*;
