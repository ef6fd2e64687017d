pub mod decrypt;
pub mod jobs;
pub mod model;
pub mod run;
