//! Connections whose connect handler is still running in this process.
//!
//! On AWS a connection exists only once its connect handler has answered, so
//! a send to it from inside that handler fails there. Tracking them here
//! makes the mistake fail the same way locally, before deployment.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

static CONNECTING: Mutex<Option<HashSet<(String, String)>>> = Mutex::new(None);

fn connecting() -> MutexGuard<'static, Option<HashSet<(String, String)>>> {
    CONNECTING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Marks a connection as connecting until the guard drops.
pub(crate) fn begin(socket: &str, connection_id: &str) -> Connecting {
    let key = (socket.to_owned(), connection_id.to_owned());
    connecting()
        .get_or_insert_with(HashSet::new)
        .insert(key.clone());
    Connecting { key }
}

/// Whether the connect handler of this connection is still running.
pub(crate) fn is_connecting(socket: &str, connection_id: &str) -> bool {
    connecting()
        .as_ref()
        .is_some_and(|set| set.contains(&(socket.to_owned(), connection_id.to_owned())))
}

/// Ends the mark when the connect handler is done, however it ended.
pub(crate) struct Connecting {
    key: (String, String),
}

impl Drop for Connecting {
    fn drop(&mut self) {
        if let Some(set) = connecting().as_mut() {
            set.remove(&self.key);
        }
    }
}
