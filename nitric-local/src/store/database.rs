//! The open database, and how it recovers from an I/O error.
//!
//! After a write or sync fails, redb refuses every later write on that
//! [`Database`] with `PreviousIo` ("Please close and re-open the
//! database"), even once the disk works again; only reads that its cache
//! answers still succeed. A new [`Database`] on the file repairs it to its
//! last complete commit and works (the tests of `failing_disk` pin this
//! down). That repair is dear: the spoiled database could not save redb's
//! allocator state when it closed, so the new one rebuilds it by walking
//! every tree in the file, more than once, and every operation waits.
//!
//! So the operation that meets an I/O error closes the database and opens
//! it again at once, and the operations after it use the new one (of
//! several operations meeting one error, only the first reopens). But if
//! the last reopen was less than [`REOPEN_INTERVAL`] ago, or failed, the
//! database stays closed instead: every operation fails at once with why,
//! and the first one after the interval tries again. A disk that keeps
//! failing costs one reopen, with its repair, per interval, not one per
//! operation, whether it refuses the open itself or accepts it and fails
//! the next write (full, or a bad block under one value). redb locks the
//! file, so the spoiled database is closed before the new one opens: while
//! it is closed, reads fail too.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};
use std::time::{Duration, Instant};

use redb::Database;

use super::{Cause, DatabaseError, OpenError, Unusable, VALUES};

/// The least time from one reopen after an I/O error to the next: an I/O
/// error sooner than this after a reopen, or a reopen that fails, leaves
/// the database closed until this much time after that reopen.
pub(super) const REOPEN_INTERVAL: Duration = Duration::from_secs(1);

/// When the database may be opened again after an I/O error: at most once
/// per `interval`, measured on `clock`.
pub(super) struct Reopening {
    pub(super) interval: Duration,
    pub(super) clock: Clock,
}

impl Reopening {
    /// At most once per `interval` of real time.
    pub(super) fn every(interval: Duration) -> Self {
        Self {
            interval,
            clock: Box::new(Instant::now),
        }
    }
}

/// Reads the time: [`Instant::now`] in production; tests pass a clock they
/// move by hand, so they need not wait through an interval.
pub(super) type Clock = Box<dyn Fn() -> Instant + Send + Sync>;

/// Opens (or creates) the database: [`Database::create`] on the file in
/// production, a backend that fails on demand in tests.
pub(super) type Opener = Box<dyn Fn() -> Result<Database, redb::DatabaseError> + Send + Sync>;

/// The database every operation uses, shared by the readers and the writer
/// thread.
pub(super) struct DatabaseHandle {
    /// Operations hold the read lock for their whole transaction, so
    /// closing or reopening (the write lock) waits for them.
    state: RwLock<State>,
    /// The file, for messages.
    path: PathBuf,
    open: Opener,
    reopening: Reopening,
}

enum State {
    /// `generation` counts the opens, so that of several operations
    /// meeting one I/O error only the first reopens the database.
    /// `reopened` is when it was opened again after an I/O error (`None`
    /// after the first open, so the first error reopens at once).
    Open {
        db: Database,
        generation: u64,
        reopened: Option<Instant>,
    },
    /// Closed after an I/O error, because of `why`, until the reopen
    /// interval has passed `since` the last try to reopen it.
    Failed {
        generation: u64,
        since: Instant,
        why: Arc<Unusable>,
    },
    /// [`DatabaseHandle::close`] ran.
    Closed,
}

impl DatabaseHandle {
    /// Opens the database with `open`. Blocking.
    pub(super) fn open(
        path: PathBuf,
        open: Opener,
        reopening: Reopening,
    ) -> Result<Self, OpenError> {
        let db = open_with_table(&open)?;
        Ok(Self {
            state: RwLock::new(State::Open {
                db,
                generation: 0,
                reopened: None,
            }),
            path,
            open,
            reopening,
        })
    }

    /// Runs `operation` on the database, first opening it again if the
    /// last attempt failed long enough ago. Blocking.
    pub(super) fn with_database<T>(
        &self,
        operation: impl FnOnce(&Database) -> Result<T, DatabaseError>,
    ) -> Result<T, Cause> {
        let mut may_reopen = true;
        loop {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            match &*state {
                State::Open { db, generation, .. } => {
                    let generation = *generation;
                    let outcome = operation(db);
                    drop(state);
                    return outcome.map_err(|error| {
                        if error.is_io() {
                            self.after_io_error(generation, &error);
                        }
                        Cause::Database {
                            path: self.path.clone(),
                            error,
                        }
                    });
                }
                State::Failed { since, why, .. } => {
                    if !may_reopen || self.too_soon_after(*since) {
                        return Err(Cause::Unusable {
                            path: self.path.clone(),
                            why: why.clone(),
                        });
                    }
                }
                State::Closed => return Err(Cause::Closed),
            }
            drop(state);
            may_reopen = false;
            self.retry_reopen();
        }
    }

    /// The file, for messages.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for running operations, then closes the database so the file
    /// can be opened again (by this process or another). Blocking.
    pub(super) fn close(&self) {
        *self.write_state() = State::Closed;
    }

    /// Handles `error`, an I/O error met on the database opened as
    /// `generation`, unless another operation already did: reopens the
    /// database, or closes it until the next reopen is due.
    fn after_io_error(&self, generation: u64, error: &DatabaseError) {
        let mut state = self.write_state();
        let State::Open {
            generation: open,
            reopened,
            ..
        } = *state
        else {
            return;
        };
        if open != generation {
            return;
        }
        match reopened {
            Some(reopened) if self.too_soon_after(reopened) => {
                tracing::error!(
                    path = %self.path.display(),
                    %error,
                    interval = ?self.reopening.interval,
                    "the key/value database failed with an I/O error again soon after it was \
                     reopened; every key/value operation fails until the interval has passed \
                     since that reopen, then the next one reopens it"
                );
                *state = State::Failed {
                    generation,
                    since: reopened,
                    why: Arc::new(Unusable::FailedAgain {
                        error: error.clone(),
                        interval: self.reopening.interval,
                    }),
                };
            }
            _ => self.reopen(&mut state, generation),
        }
    }

    /// Tries reopening again, unless another operation already did.
    fn retry_reopen(&self) {
        let mut state = self.write_state();
        if let State::Failed {
            generation, since, ..
        } = *state
        {
            if !self.too_soon_after(since) {
                self.reopen(&mut state, generation);
            }
        }
    }

    fn reopen(&self, state: &mut RwLockWriteGuard<'_, State>, generation: u64) {
        // redb locks the file until the spoiled database is closed.
        **state = State::Closed;
        let opened = open_with_table(&self.open);
        // Measured once the repair is done, so that a long repair does not
        // eat into the interval the database then gets to work.
        let now = (self.reopening.clock)();
        **state = match opened {
            Ok(db) => {
                tracing::warn!(path = %self.path.display(), "reopened the key/value database after an I/O error");
                State::Open {
                    db,
                    generation: generation + 1,
                    reopened: Some(now),
                }
            }
            Err(error) => {
                tracing::error!(
                    path = %self.path.display(),
                    %error,
                    "the key/value database failed with an I/O error and cannot be reopened; \
                     every key/value operation fails until it can"
                );
                State::Failed {
                    generation,
                    since: now,
                    why: Arc::new(Unusable::ReopenFailed(error)),
                }
            }
        };
    }

    /// Whether less than the reopen interval has passed since `then`.
    fn too_soon_after(&self, then: Instant) -> bool {
        (self.reopening.clock)().saturating_duration_since(then) < self.reopening.interval
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Opens the database with `open` and creates the table up front, so
/// readers never meet a missing table.
fn open_with_table(open: &Opener) -> Result<Database, OpenError> {
    let db = open().map_err(|error| match error {
        redb::DatabaseError::DatabaseAlreadyOpen => OpenError::InUse,
        other => OpenError::Database(other.into()),
    })?;
    let create_table = || -> Result<(), DatabaseError> {
        let txn = db.begin_write()?;
        txn.open_table(VALUES)?;
        txn.commit()?;
        Ok(())
    };
    create_table().map_err(OpenError::Database)?;
    Ok(db)
}
