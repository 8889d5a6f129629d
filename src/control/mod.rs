//! The control surface's pure parts: the control protocol, the HTTP request head, and
//! what status, readiness and metrics say (no sockets: `driver/control.rs` serves them).

pub mod http;
pub mod request;
pub mod status;
