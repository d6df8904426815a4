//! Raising the soft limit on open file descriptors (`RLIMIT_NOFILE`) to
//! the hard limit.
//!
//! Every websocket client holds a descriptor in the membrane. Processes
//! usually start with a soft limit of 1,024 (256 on macOS), well below the
//! 10,000 connections a socket may hold, while the hard limit is far higher
//! (often 524,288 on Linux). Any process may raise its soft limit up to its
//! hard one; Go programs do it at start (Go 1.19 and later), and so does
//! `nitric-local`. The soft limit stays low by default for programs that
//! still use `select()`, which cannot watch descriptors above 1,023; the
//! membrane uses epoll or kqueue (through tokio), which can.

use std::io;

/// The limit on open file descriptors before and after [`raise_fd_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// The soft limit the process had.
    pub before: u64,
    /// The soft limit it has now: the hard limit, or `before` when that was
    /// the hard limit already.
    pub after: u64,
}

/// Raises this process's soft limit on open file descriptors
/// (`RLIMIT_NOFILE`) to its hard limit, and logs both values at info
/// (a failure at warn).
///
/// `nitric-local` calls it at startup; a program embedding the membrane
/// (such as `nitric-runtime`) may call it once before serving. The limit is
/// the process's, so children started afterwards inherit the raised one.
/// On macOS the soft limit stops at `OPEN_MAX` (10,240), the most macOS
/// accepts. On systems other than Linux and macOS it does nothing and
/// returns an [`io::ErrorKind::Unsupported`] error.
///
/// # Example
///
/// ```
/// match nitric_local::raise_fd_limit() {
///     Ok(limit) => assert!(limit.after >= limit.before),
///     Err(error) => eprintln!("the limit stays as it was: {error}"),
/// }
/// ```
pub fn raise_fd_limit() -> io::Result<FdLimit> {
    let raised = raise();
    match &raised {
        Ok(FdLimit { before, after }) if before == after => {
            tracing::info!(
                limit = before,
                "the limit on open file descriptors (RLIMIT_NOFILE) is already as high as allowed"
            );
        }
        Ok(FdLimit { before, after }) => {
            tracing::info!(
                before,
                after,
                "raised the limit on open file descriptors (RLIMIT_NOFILE) to its hard limit"
            );
        }
        Err(error) if error.kind() == io::ErrorKind::Unsupported => {}
        Err(error) => {
            tracing::warn!(%error, "cannot raise the limit on open file descriptors (RLIMIT_NOFILE); each websocket client needs one");
        }
    }
    raised
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
fn raise() -> io::Result<FdLimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    let wanted = highest_soft_limit(limit.rlim_max);
    if wanted > before {
        limit.rlim_cur = wanted;
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // `rlim_t` is 32 bits on 32-bit Linux.
    #[allow(clippy::useless_conversion)]
    Ok(FdLimit {
        before: u64::from(before),
        after: u64::from(wanted.max(before)),
    })
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn raise() -> io::Result<FdLimit> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "raising RLIMIT_NOFILE is only done on Linux and macOS",
    ))
}

/// The highest soft limit the system takes under hard limit `hard`.
#[cfg(target_os = "linux")]
fn highest_soft_limit(hard: libc::rlim_t) -> libc::rlim_t {
    hard
}

/// The highest soft limit the system takes under hard limit `hard`: macOS
/// refuses a soft limit above `OPEN_MAX` with EINVAL (setrlimit(2),
/// COMPATIBILITY), even when the hard limit is unlimited.
#[cfg(target_os = "macos")]
fn highest_soft_limit(hard: libc::rlim_t) -> libc::rlim_t {
    /// `OPEN_MAX` of `<sys/syslimits.h>`.
    const OPEN_MAX: libc::rlim_t = 10_240;
    hard.min(OPEN_MAX)
}
