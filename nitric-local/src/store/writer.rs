//! The writer thread: every change goes through it, and it commits every
//! change waiting for it in one transaction (group commit).
//!
//! redb has one writer at a time and each commit syncs the file, so a
//! transaction per change would queue a blocking thread per waiting change
//! (up to tokio's 512, each holding a stack) and pay one sync each: 10,000
//! disconnects deleting keys at once did exactly that.

use std::io;
use std::sync::{mpsc, Arc};

use redb::Database;
use tokio::sync::oneshot;

use super::database::DatabaseHandle;
use super::{Cause, DatabaseError, Operation, StoreError, VALUES};

/// One change to a value.
pub(super) enum Change {
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

impl Change {
    /// What this change does, for its error.
    pub(super) fn operation(&self) -> Operation {
        match self {
            Self::Set { store, key, .. } => Operation::Write {
                store: store.clone(),
                key: key.clone(),
            },
            Self::Delete { store, key } => Operation::Delete {
                store: store.clone(),
                key: key.clone(),
            },
        }
    }
}

/// A change waiting for the writer, and where its outcome goes.
pub(super) struct PendingChange {
    pub(super) change: Change,
    pub(super) done: oneshot::Sender<Result<(), StoreError>>,
}

/// The most changes one transaction commits, so one commit stays short.
const MOST_CHANGES_PER_COMMIT: usize = 1024;

/// Starts the writer thread on `database`; it ends once every sender of
/// the returned channel is dropped.
pub(super) fn spawn(database: Arc<DatabaseHandle>) -> io::Result<mpsc::Sender<PendingChange>> {
    let (changes, pending) = mpsc::channel();
    std::thread::Builder::new()
        .name("nitric-local-kv-writer".to_owned())
        .spawn(move || write_changes(&database, &pending))?;
    Ok(changes)
}

/// Takes every change waiting, commits them in one transaction and answers
/// each, until the channel closes.
fn write_changes(database: &DatabaseHandle, pending: &mpsc::Receiver<PendingChange>) {
    while let Ok(first) = pending.recv() {
        let mut batch = vec![first];
        while batch.len() < MOST_CHANGES_PER_COMMIT {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let group =
            database.with_database(|db| commit(db, batch.iter().map(|pending| &pending.change)));
        match group {
            Ok(()) => {
                for change in batch {
                    let _ = change.done.send(Ok(()));
                }
            }
            // A lone change already had a transaction of its own, so this
            // outcome is its own, unless the disk failed under another
            // operation (a read) while it ran: redb then refuses its write
            // with `PreviousIo`, and it deserves a try on the reopened
            // database. Trying its own failure again would repeat that
            // commit and, after an I/O error, spend a second reopen of the
            // database (a repair of the whole file) on it.
            Err(cause) if batch.len() == 1 && !failed_under_another(&cause) => {
                let PendingChange { change, done } = batch.remove(0);
                let _ = done.send(Err(StoreError::new(change.operation(), cause)));
            }
            // One change may be at fault, or the disk failed for a moment
            // (and the database was reopened): each change gets its own
            // transaction and its own outcome.
            Err(error) => {
                if !matches!(error, Cause::Closed) {
                    tracing::warn!(%error, changes = batch.len(), "committing key/value changes together failed; committing each alone");
                }
                for PendingChange { change, done } in batch {
                    let outcome = database
                        .with_database(|db| commit(db, [&change]))
                        .map_err(|cause| StoreError::new(change.operation(), cause));
                    let _ = done.send(outcome);
                }
            }
        }
    }
}

/// Whether `cause` is an I/O error another operation met first.
fn failed_under_another(cause: &Cause) -> bool {
    matches!(cause, Cause::Database { error, .. } if error.is_previous_io())
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
