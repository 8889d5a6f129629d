//! The pure machines: events in (with `now`), actions out; no syscalls, no clock reads.
//! The drivers in `driver/` perform the actions and report what happened.
//!
//! - [`program`]: one program's life, supervisord's states and restart policy;
//! - [`set`]: the programs together: priority order, the shutdown decision, exit code;
//! - [`single`]: single-command mode (`rinit -- CMD`);
//! - [`check`]: readiness and health of one program, beside its life;
//! - [`endgame`]: the shutdown both modes share: one grace budget, escalation to
//!   SIGKILL, leftovers, survivors.

pub mod check;
pub mod endgame;
pub mod program;
pub mod set;
pub mod single;
