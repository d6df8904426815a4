//! File descriptors: every client connection holds one, so the membrane
//! asks for as many as the system allows ([`limit`]), and keeps serving
//! when they run out ([`accept`]).

pub(crate) mod accept;
mod limit;

pub use limit::{raise_fd_limit, FdLimit};
