pub mod decrypt;
pub mod jobs;
pub mod model;
pub mod render;
pub mod review;
pub mod run;
pub mod vocabulary;
