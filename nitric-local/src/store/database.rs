//! The open database, and how it recovers from an I/O error.
//!
//! After a write or sync fails, redb refuses every later write on that
//! [`Database`] with `PreviousIo` ("Please close and re-open the
//! database"), even once the disk works again; only reads that its cache
//! answers still succeed. A new [`Database`] on the file repairs it to its
//! last complete commit and works (the tests of `failing_disk` pin this
//! down). So the operation that meets an I/O error closes the database and
//! opens it again at once, and the operations after it use the new one.
//! If that fails too (the disk still failing), every operation fails at
//! once with why, and the first one after [`REOPEN_INTERVAL`] tries again:
//! a failing disk costs one attempt, with its repair, per interval, not
//! one per operation. redb locks the file, so the spoiled database is
//! closed before the new one opens: while reopening fails, reads fail too.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};
use std::time::{Duration, Instant};

use redb::Database;

use super::{Cause, DatabaseError, OpenError, VALUES};

/// How long operations fail at once after reopening the database failed,
/// before one tries again.
pub(super) const REOPEN_INTERVAL: Duration = Duration::from_secs(1);

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
    reopen_interval: Duration,
}

enum State {
    /// `generation` counts the opens, so that of several operations
    /// meeting one I/O error only the first reopens the database.
    Open { db: Database, generation: u64 },
    /// Reopening after an I/O error failed `at`, with `error`.
    Failed {
        generation: u64,
        at: Instant,
        error: Arc<OpenError>,
    },
    /// [`DatabaseHandle::close`] ran.
    Closed,
}

impl DatabaseHandle {
    /// Opens the database with `open`. Blocking.
    pub(super) fn open(
        path: PathBuf,
        open: Opener,
        reopen_interval: Duration,
    ) -> Result<Self, OpenError> {
        let db = open_with_table(&open)?;
        Ok(Self {
            state: RwLock::new(State::Open { db, generation: 0 }),
            path,
            open,
            reopen_interval,
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
                State::Open { db, generation } => {
                    let generation = *generation;
                    let outcome = operation(db);
                    drop(state);
                    return outcome.map_err(|error| {
                        if error.is_io() {
                            self.reopen_after_error(generation);
                        }
                        Cause::Database {
                            path: self.path.clone(),
                            error,
                        }
                    });
                }
                State::Failed { at, error, .. } => {
                    if !may_reopen || at.elapsed() < self.reopen_interval {
                        return Err(Cause::Unusable {
                            path: self.path.clone(),
                            error: error.clone(),
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

    /// Reopens the database opened as `generation`, which an I/O error
    /// spoiled, unless another operation already did.
    fn reopen_after_error(&self, generation: u64) {
        let mut state = self.write_state();
        if matches!(*state, State::Open { generation: open, .. } if open == generation) {
            self.reopen(&mut state, generation);
        }
    }

    /// Tries reopening again, unless another operation already did.
    fn retry_reopen(&self) {
        let mut state = self.write_state();
        if let State::Failed { generation, at, .. } = *state {
            if at.elapsed() >= self.reopen_interval {
                self.reopen(&mut state, generation);
            }
        }
    }

    fn reopen(&self, state: &mut RwLockWriteGuard<'_, State>, generation: u64) {
        // redb locks the file until the spoiled database is closed.
        **state = State::Closed;
        **state = match open_with_table(&self.open) {
            Ok(db) => {
                tracing::warn!(path = %self.path.display(), "reopened the key/value database after an I/O error");
                State::Open {
                    db,
                    generation: generation + 1,
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
                    at: Instant::now(),
                    error: Arc::new(error),
                }
            }
        };
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
