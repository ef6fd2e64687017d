//! Veriscribe's core: HealthScribe formats, the pure pipeline stages and the ports the edges
//! implement. Nothing here does I/O.

pub mod clinical;
pub mod formats;
pub mod ports;
pub mod speech;
pub mod stages;
