//! The on-disk key/value store: one redb database file holding every store's
//! values in a single table keyed by (store name, key).
//!
//! Values are opaque bytes here; the gRPC service decides their encoding.
//! redb is a blocking API: reads run on tokio's blocking pool, and changes
//! go to one writer thread ([`writer`]), which commits every change
//! waiting for it in a single transaction (group commit).
//!
//! When the disk fails, the operation that meets the I/O error fails with
//! it, and the database is opened again so that later ones can succeed
//! ([`database`]), at most once per [`REOPEN_INTERVAL`]: meanwhile
//! operations fail at once. A change committed with others that failed is
//! tried again alone, so each caller learns its own change's outcome.
//! After a failed sync, a change its caller was told failed may still be
//! on disk.

mod database;
#[cfg(test)]
mod disk_failure_tests;
#[cfg(test)]
pub(crate) mod failing_disk;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use redb::{Database, TableDefinition};
use tokio::sync::oneshot;

use database::{DatabaseHandle, Opener, Reopening, REOPEN_INTERVAL};
use writer::{Change, PendingChange};

/// All values, ordered by store name, then key (byte-wise), which makes a
/// prefix scan one contiguous range.
const VALUES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("values");

/// The database file inside the data directory.
pub(crate) const FILE_NAME: &str = "kv.redb";

/// A handle on the open database; clones share it.
#[derive(Clone)]
pub(crate) struct Store {
    database: Arc<DatabaseHandle>,
    /// To the writer thread, which ends once every clone is dropped.
    changes: mpsc::Sender<PendingChange>,
}

/// Any redb failure, behind an `Arc`: redb's error type is large, and
/// failures are rare enough that the allocation costs nothing. Shared
/// rather than boxed because redb's error cannot be cloned, and a database
/// that failed twice in a row keeps the error to name it to the operations
/// it refuses ([`Unusable::FailedAgain`]).
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub(crate) struct DatabaseError(Arc<redb::Error>);

impl<E: Into<redb::Error>> From<E> for DatabaseError {
    fn from(error: E) -> Self {
        Self(Arc::new(error.into()))
    }
}

impl DatabaseError {
    /// Whether the disk failed (now, or earlier: redb's `PreviousIo`).
    pub(crate) fn is_io(&self) -> bool {
        matches!(*self.0, redb::Error::Io(_) | redb::Error::PreviousIo)
    }

    /// Whether the disk failed earlier, under another operation: redb
    /// refuses every later write on a database that met an I/O error.
    pub(crate) fn is_previous_io(&self) -> bool {
        matches!(*self.0, redb::Error::PreviousIo)
    }
}

/// Why the database file could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("the database is already open (is another nitric-local using this data directory?)")]
    InUse,
    #[error(transparent)]
    Database(DatabaseError),
}

/// Why a store operation failed, naming the operation.
#[derive(Debug, thiserror::Error)]
#[error("cannot {operation}: {cause}")]
pub(crate) struct StoreError {
    operation: Operation,
    cause: Cause,
}

impl StoreError {
    fn new(operation: Operation, cause: Cause) -> Self {
        Self { operation, cause }
    }

    pub(crate) fn cause(&self) -> &Cause {
        &self.cause
    }
}

/// A store operation, as its error names it.
#[derive(Debug)]
enum Operation {
    Read { store: String, key: String },
    Write { store: String, key: String },
    Delete { store: String, key: String },
    Scan { store: String, prefix: String },
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { store, key } => write!(f, "read key \"{key}\" of store \"{store}\""),
            Self::Write { store, key } => write!(f, "write key \"{key}\" of store \"{store}\""),
            Self::Delete { store, key } => {
                write!(f, "delete key \"{key}\" of store \"{store}\"")
            }
            Self::Scan { store, prefix } => {
                write!(f, "scan store \"{store}\" for prefix \"{prefix}\"")
            }
        }
    }
}

/// What made a store operation fail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Cause {
    #[error("the key/value database is closed because the membrane is shutting down")]
    Closed,
    #[error("key/value database {path}: {error}")]
    Database { path: PathBuf, error: DatabaseError },
    /// The disk failed earlier, and the database stays closed until the
    /// next try to reopen it is due.
    #[error("key/value database {path} {why}")]
    Unusable { path: PathBuf, why: Arc<Unusable> },
    /// The writer thread panicked; no change can be made any more.
    #[error("the key/value writer thread stopped (its panic is in the log)")]
    WriterStopped,
    #[error("key/value database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Why the database stays closed until the next try to reopen it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unusable {
    #[error("failed with an I/O error and cannot be reopened: {0}")]
    ReopenFailed(OpenError),
    /// Reopening at once again would cost another repair of the file for
    /// a disk that keeps failing.
    #[error(
        "failed with an I/O error again less than {interval:?} after it was reopened, \
         and stays closed until {interval:?} after that reopen: {error}"
    )]
    FailedAgain {
        error: DatabaseError,
        interval: Duration,
    },
}

impl Store {
    /// Opens (or creates) the database file at `path`. Blocking.
    pub(crate) fn open(path: &Path) -> Result<Self, OpenError> {
        let file = path.to_owned();
        let open: Opener = Box::new(move || Database::create(&file));
        Self::open_with(path.to_owned(), open, Reopening::every(REOPEN_INTERVAL))
    }

    /// Opens (or creates) a database on `backend`, to test how the store
    /// meets a failing disk; `name` stands for the file in messages.
    /// Blocking.
    #[cfg(test)]
    pub(crate) fn open_on_backend(
        backend: impl redb::StorageBackend + Clone,
        name: &Path,
        reopen_interval: Duration,
    ) -> Result<Self, OpenError> {
        let open: Opener =
            Box::new(move || Database::builder().create_with_backend(backend.clone()));
        Self::open_with(name.to_owned(), open, Reopening::every(reopen_interval))
    }

    fn open_with(path: PathBuf, open: Opener, reopening: Reopening) -> Result<Self, OpenError> {
        let database = Arc::new(DatabaseHandle::open(path, open, reopening)?);
        let changes = writer::spawn(database.clone())
            .map_err(|error| OpenError::Database(redb::StorageError::Io(error).into()))?;
        Ok(Self { database, changes })
    }

    /// The value of `key` in `store`, if any.
    pub(crate) async fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let operation = Operation::Read {
            store: store.to_owned(),
            key: key.to_owned(),
        };
        let (store, key) = (store.to_owned(), key.to_owned());
        self.run(operation, move |db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(VALUES)?;
            let value = table.get((store.as_str(), key.as_str()))?;
            Ok(value.map(|guard| guard.value().to_vec()))
        })
        .await
    }

    /// Sets `key` in `store` to `value`, replacing any previous value.
    pub(crate) async fn set(
        &self,
        store: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.change(Change::Set {
            store: store.to_owned(),
            key: key.to_owned(),
            value,
        })
        .await
    }

    /// Removes `key` from `store`; removing a missing key is not an error.
    pub(crate) async fn delete(&self, store: &str, key: &str) -> Result<(), StoreError> {
        self.change(Change::Delete {
            store: store.to_owned(),
            key: key.to_owned(),
        })
        .await
    }

    /// Hands `change` to the writer and waits until it is committed.
    async fn change(&self, change: Change) -> Result<(), StoreError> {
        // Kept in case the writer is gone and cannot name the change.
        let operation = change.operation();
        let (done, outcome) = oneshot::channel();
        // While a `Store` exists the writer only ends by panicking: a
        // refused change or a dropped answer means it did.
        if self.changes.send(PendingChange { change, done }).is_err() {
            return Err(StoreError::new(operation, Cause::WriterStopped));
        }
        outcome
            .await
            .unwrap_or_else(|_| Err(StoreError::new(operation, Cause::WriterStopped)))
    }

    /// The keys of `store` that start with `prefix`, in sorted order.
    pub(crate) async fn keys_with_prefix(
        &self,
        store: &str,
        prefix: &str,
    ) -> Result<Vec<String>, StoreError> {
        let operation = Operation::Scan {
            store: store.to_owned(),
            prefix: prefix.to_owned(),
        };
        let (store, prefix) = (store.to_owned(), prefix.to_owned());
        self.run(operation, move |db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(VALUES)?;
            let mut keys = Vec::new();
            for entry in table.range((store.as_str(), prefix.as_str())..)? {
                let (entry_key, _) = entry?;
                let (entry_store, key) = entry_key.value();
                if entry_store != store || !key.starts_with(prefix.as_str()) {
                    break;
                }
                keys.push(key.to_owned());
            }
            Ok(keys)
        })
        .await
    }

    /// Waits for running operations, then closes the database so the file
    /// can be opened again (by this process or another).
    pub(crate) async fn close(&self) {
        let database = self.database.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || database.close()).await {
            tracing::warn!(path = %self.database.path().display(), %error, "closing the key/value database failed");
        }
    }

    /// Runs the read `work` on the blocking pool.
    async fn run<T, F>(&self, operation: Operation, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, DatabaseError> + Send + 'static,
    {
        let database = self.database.clone();
        let outcome = tokio::task::spawn_blocking(move || database.with_database(work)).await;
        outcome
            .map_err(Cause::Task)
            .and_then(|done| done)
            .map_err(|cause| StoreError::new(operation, cause))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn prefix_scans_stay_inside_their_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join(FILE_NAME)).unwrap();
        for (name, key) in [
            ("a", "user:2"),
            ("a", "user:1"),
            ("a", "other"),
            ("ab", "user:3"),
        ] {
            store.set(name, key, b"{}".to_vec()).await.unwrap();
        }
        assert_eq!(
            store.keys_with_prefix("a", "user:").await.unwrap(),
            ["user:1", "user:2"]
        );
        assert_eq!(
            store.keys_with_prefix("a", "").await.unwrap(),
            ["other", "user:1", "user:2"]
        );
        assert!(store.keys_with_prefix("b", "").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_second_open_of_the_same_file_is_refused_until_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let store = Store::open(&path).unwrap();
        assert!(matches!(Store::open(&path), Err(OpenError::InUse)));
        store.close().await;
        let closed = store.get("a", "b").await.unwrap_err();
        assert!(matches!(closed.cause(), Cause::Closed), "{closed}");
        let closed = store.set("a", "b", b"{}".to_vec()).await.unwrap_err();
        assert!(matches!(closed.cause(), Cause::Closed), "{closed}");
        Store::open(&path).unwrap();
    }

    #[tokio::test]
    async fn changes_made_at_once_are_each_committed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let store = Store::open(&path).unwrap();
        // Many changes waiting together share transactions; each still
        // lands, after the changes its caller made before it.
        let writes = (0..2000).map(|n| {
            let store = store.clone();
            async move {
                let key = format!("key:{n:04}");
                store.set("a", &key, n.to_string().into_bytes()).await?;
                if n % 2 == 0 {
                    store.delete("a", &key).await?;
                }
                Ok::<_, StoreError>(())
            }
        });
        for outcome in futures_util::future::join_all(writes).await {
            outcome.unwrap();
        }
        let keys = store.keys_with_prefix("a", "key:").await.unwrap();
        assert_eq!(keys.len(), 1000);
        assert!(keys
            .iter()
            .all(|key| key.ends_with(['1', '3', '5', '7', '9'])));
        assert_eq!(
            store.get("a", "key:0007").await.unwrap(),
            Some(b"7".to_vec())
        );

        // And they are on disk: the file reopens with them.
        store.close().await;
        let reopened = Store::open(&path).unwrap();
        assert_eq!(reopened.keys_with_prefix("a", "key:").await.unwrap(), keys);
    }
}
