//! The parts of rinit that talk to the kernel. Everything above this layer works with
//! plain values (pids, statuses, signal numbers) and can be tested without processes.

pub mod notify;
pub mod reap;
pub mod signals;
pub mod socket;
pub mod spawn;
pub mod tree;
pub mod tty;
