//! The on-disk key/value store: one redb database file holding every store's
//! values in a single table keyed by (store name, key).
//!
//! Values are opaque bytes here; the gRPC service decides their encoding.
//! redb is a blocking API: reads run on tokio's blocking pool, and changes
//! go to one writer thread, which commits every change waiting for it in a
//! single transaction (group commit). redb has one writer at a time and
//! each commit syncs the file, so a transaction per change would queue a
//! blocking thread per waiting change (up to tokio's 512, each holding a
//! stack) and pay one sync each: 10,000 disconnects deleting keys at once
//! did exactly that.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, PoisonError, RwLock};

use tokio::sync::oneshot;

use redb::{Database, TableDefinition};

/// All values, ordered by store name, then key (byte-wise), which makes a
/// prefix scan one contiguous range.
const VALUES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("values");

/// The database file inside the data directory.
pub(crate) const FILE_NAME: &str = "kv.redb";

/// A handle on the open database; clones share it.
#[derive(Clone)]
pub(crate) struct Store {
    /// `None` once [`Store::close`] ran. Operations hold the read lock for
    /// their whole transaction, so closing (the write lock) waits for them.
    db: Arc<RwLock<Option<Database>>>,
    path: Arc<PathBuf>,
    /// To the writer thread, which ends once every clone is dropped.
    changes: mpsc::Sender<PendingChange>,
}

/// One change to a value.
enum Change {
    Set {
        store: String,
        key: String,
        value: Vec<u8>,
    },
    Delete {
        store: String,
        key: String,
    },
}

/// A change waiting for the writer, and where its outcome goes.
struct PendingChange {
    change: Change,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The most changes one transaction commits, so one commit stays short.
const MOST_CHANGES_PER_COMMIT: usize = 1024;

/// Any redb failure, boxed: redb's error type is large, and failures are
/// rare enough that the allocation costs nothing.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct DatabaseError(Box<redb::Error>);

impl<E: Into<redb::Error>> From<E> for DatabaseError {
    fn from(error: E) -> Self {
        Self(Box::new(error.into()))
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

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("the key/value database is closed because the membrane is shutting down")]
    Closed,
    #[error("key/value database {path}: {error}")]
    Database { path: PathBuf, error: DatabaseError },
    #[error("key/value database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl Store {
    /// Opens (or creates) the database file at `path`. Blocking.
    pub(crate) fn open(path: &Path) -> Result<Self, OpenError> {
        let db = Database::create(path).map_err(|error| match error {
            redb::DatabaseError::DatabaseAlreadyOpen => OpenError::InUse,
            other => OpenError::Database(other.into()),
        })?;
        // Create the table up front so readers never meet a missing table.
        let create_table = || -> Result<(), DatabaseError> {
            let txn = db.begin_write()?;
            txn.open_table(VALUES)?;
            txn.commit()?;
            Ok(())
        };
        create_table().map_err(OpenError::Database)?;
        let db = Arc::new(RwLock::new(Some(db)));
        let path = Arc::new(path.to_owned());
        let (changes, pending) = mpsc::channel();
        let writer = (db.clone(), path.clone());
        std::thread::Builder::new()
            .name("nitric-local-kv-writer".to_owned())
            .spawn(move || write_changes(&writer.0, &writer.1, pending))
            .map_err(|error| OpenError::Database(redb::StorageError::Io(error).into()))?;
        Ok(Self { db, path, changes })
    }

    /// The value of `key` in `store`, if any.
    pub(crate) async fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (store, key) = (store.to_owned(), key.to_owned());
        self.run(move |db| {
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
        let (done, outcome) = oneshot::channel();
        self.changes
            .send(PendingChange { change, done })
            .map_err(|_| StoreError::Closed)?;
        // The writer answers every change it takes; a dropped answer means
        // its thread is gone.
        outcome.await.unwrap_or(Err(StoreError::Closed))
    }

    /// The keys of `store` that start with `prefix`, in sorted order.
    pub(crate) async fn keys_with_prefix(
        &self,
        store: &str,
        prefix: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (store, prefix) = (store.to_owned(), prefix.to_owned());
        self.run(move |db| {
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
        let db = self.db.clone();
        let closed = tokio::task::spawn_blocking(move || {
            db.write().unwrap_or_else(PoisonError::into_inner).take();
        })
        .await;
        if let Err(error) = closed {
            tracing::warn!(path = %self.path.display(), %error, "closing the key/value database failed");
        }
    }

    async fn run<T, F>(&self, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, DatabaseError> + Send + 'static,
    {
        let db = self.db.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let guard = db.read().unwrap_or_else(PoisonError::into_inner);
            let db = guard.as_ref().ok_or(StoreError::Closed)?;
            operation(db).map_err(|error| StoreError::Database {
                path: path.as_ref().clone(),
                error,
            })
        })
        .await?
    }
}

/// The writer thread: takes every change waiting, commits them in one
/// transaction and answers each; returns once every [`Store`] is dropped.
fn write_changes(
    db: &RwLock<Option<Database>>,
    path: &Path,
    pending: mpsc::Receiver<PendingChange>,
) {
    while let Ok(first) = pending.recv() {
        let mut batch = vec![first];
        while batch.len() < MOST_CHANGES_PER_COMMIT {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let guard = db.read().unwrap_or_else(PoisonError::into_inner);
        let Some(db) = guard.as_ref() else {
            for change in batch {
                let _ = change.done.send(Err(StoreError::Closed));
            }
            continue;
        };
        let failed = |error| StoreError::Database {
            path: path.to_owned(),
            error,
        };
        match commit(db, batch.iter().map(|pending| &pending.change)) {
            Ok(()) => {
                for change in batch {
                    let _ = change.done.send(Ok(()));
                }
            }
            // One change may be at fault: each gets its own transaction and
            // its own outcome.
            Err(_) => {
                for change in batch {
                    let outcome = commit(db, [&change.change]).map_err(failed);
                    let _ = change.done.send(outcome);
                }
            }
        }
    }
}

/// Applies `changes` in order in one write transaction.
fn commit<'a>(
    db: &Database,
    changes: impl IntoIterator<Item = &'a Change>,
) -> Result<(), DatabaseError> {
    let txn = db.begin_write()?;
    {
        let mut table = txn.open_table(VALUES)?;
        for change in changes {
            match change {
                Change::Set { store, key, value } => {
                    table.insert((store.as_str(), key.as_str()), value.as_slice())?;
                }
                Change::Delete { store, key } => {
                    table.remove((store.as_str(), key.as_str()))?;
                }
            }
        }
    }
    txn.commit()?;
    Ok(())
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
        assert!(matches!(store.get("a", "b").await, Err(StoreError::Closed)));
        assert!(matches!(
            store.set("a", "b", b"{}".to_vec()).await,
            Err(StoreError::Closed)
        ));
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
