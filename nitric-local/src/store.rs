//! The on-disk key/value store: one redb database file holding every store's
//! values in a single table keyed by (store name, key).
//!
//! Values are opaque bytes here; the gRPC service decides their encoding.
//! redb is a blocking API, so every call runs on tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

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
}

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
        Ok(Self {
            db: Arc::new(RwLock::new(Some(db))),
            path: Arc::new(path.to_owned()),
        })
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
        let (store, key) = (store.to_owned(), key.to_owned());
        self.run(move |db| {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(VALUES)?;
                table.insert((store.as_str(), key.as_str()), value.as_slice())?;
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// Removes `key` from `store`; removing a missing key is not an error.
    pub(crate) async fn delete(&self, store: &str, key: &str) -> Result<(), StoreError> {
        let (store, key) = (store.to_owned(), key.to_owned());
        self.run(move |db| {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(VALUES)?;
                table.remove((store.as_str(), key.as_str()))?;
            }
            txn.commit()?;
            Ok(())
        })
        .await
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
        Store::open(&path).unwrap();
    }
}
