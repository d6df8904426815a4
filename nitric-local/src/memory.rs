//! Giving memory back to the operating system after a burst of connections
//! opened or closed.
//!
//! Each connection's buffers and tasks are freed when it closes, but glibc's
//! allocator keeps freed memory in its heaps unless it sits at a heap's very
//! top, so after 10,000 clients left the process stayed as large as with
//! them. Once a burst of openings and closings has been quiet for a moment,
//! [`Churn`] asks glibc to return its free pages (`malloc_trim`). Elsewhere
//! (other C libraries, other systems) it does nothing.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Connections opened or closed that make a burst worth trimming after.
const BURST: usize = 1_000;
/// How long the connections must stay unchanged before the trim.
const QUIET: Duration = Duration::from_millis(200);

/// Counts connections opened and closed, and trims after a burst.
pub(crate) struct Churn {
    /// Trimming is asked for, and this system can trim.
    trims: bool,
    changes: AtomicUsize,
    trim_pending: AtomicBool,
}

impl Churn {
    /// Counts connections, and trims after a burst if `trim` is set (and
    /// the system can).
    pub(crate) fn new(trim: bool) -> Self {
        Self {
            trims: trim && CAN_TRIM,
            changes: AtomicUsize::new(0),
            trim_pending: AtomicBool::new(false),
        }
    }

    /// Notes one connection opened or closed; from inside the runtime.
    pub(crate) fn note(self: &Arc<Self>) {
        if !self.trims {
            return;
        }
        let changes = self.changes.fetch_add(1, Ordering::Relaxed) + 1;
        if changes >= BURST && !self.trim_pending.swap(true, Ordering::AcqRel) {
            tokio::spawn(self.clone().trim_when_quiet());
        }
    }

    async fn trim_when_quiet(self: Arc<Self>) {
        loop {
            let seen = self.changes.load(Ordering::Relaxed);
            tokio::time::sleep(QUIET).await;
            if self.changes.load(Ordering::Relaxed) == seen {
                break;
            }
        }
        self.changes.store(0, Ordering::Relaxed);
        // It walks every heap: not on a worker.
        let _ = tokio::task::spawn_blocking(trim).await;
        self.trim_pending.store(false, Ordering::Release);
    }
}

/// Whether `malloc_trim` exists here.
const CAN_TRIM: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it takes the
    // allocator's own locks and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}
