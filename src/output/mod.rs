pub mod format;
pub mod lines;
pub mod logfile;
pub mod mux;
pub mod queue;
pub mod writer;
