//! The control surface's pure parts: request parsing and rendering (no sockets).

pub mod http;
