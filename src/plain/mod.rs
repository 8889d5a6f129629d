//! Plain values every layer shares: exit statuses and signal numbers, with their names
//! and classification. Pure: no syscalls, nothing above it imported.

pub mod exit;
pub mod signal;

pub use exit::ExitStatus;
