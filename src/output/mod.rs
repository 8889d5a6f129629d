pub mod format;
pub mod lines;
pub mod mux;
pub mod writer;
