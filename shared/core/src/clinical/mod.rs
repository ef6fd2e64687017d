//! Pure text stages: turns, roles, sections, insights and the note.
