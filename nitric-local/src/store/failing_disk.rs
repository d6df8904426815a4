//! A disk that fails on demand, to test how the store meets I/O errors in a
//! real redb database: redb's in-memory backend behind switches, flipped
//! at run time, that make its reads, writes and syncs fail or wait.
//!
//! Clones share one disk, so a database opened again on a clone finds what
//! the earlier one wrote, as it would on a file.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redb::backends::InMemoryBackend;
use redb::{Database, StorageBackend};

#[derive(Debug, Clone, Default)]
pub(crate) struct FailingDisk(Arc<Disk>);

#[derive(Debug, Default)]
struct Disk {
    memory: InMemoryBackend,
    faults: Mutex<Faults>,
    reads: Gate,
    writes: Gate,
    syncs: Gate,
}

/// Holds one kind of operation (reads, writes or syncs) at the disk on
/// demand, so a test can act while a database operation is inside it.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
    /// Signalled when an operation starts waiting or the gate opens.
    changed: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    holding: bool,
    waiting: usize,
}

impl Gate {
    /// Waits here while the gate holds.
    fn pass(&self) {
        let mut state = self.lock();
        state.waiting += 1;
        self.changed.notify_all();
        let mut state = self
            .changed
            .wait_while(state, |state| state.holding)
            .unwrap_or_else(PoisonError::into_inner);
        state.waiting -= 1;
    }

    /// From now on operations wait here until [`Gate::release`].
    pub(crate) fn hold(&self) {
        self.lock().holding = true;
    }

    /// Lets the waiting operations, and every later one, through.
    pub(crate) fn release(&self) {
        self.lock().holding = false;
        self.changed.notify_all();
    }

    /// Blocks until `count` operations wait here, held; panics after
    /// [`REACH_THE_GATE`], so that a test expecting more than come fails
    /// rather than hangs.
    pub(crate) fn wait_for_held(&self, count: usize) {
        let (state, waited) = self
            .changed
            .wait_timeout_while(self.lock(), REACH_THE_GATE, |state| state.waiting < count)
            .unwrap_or_else(PoisonError::into_inner);
        assert!(
            !waited.timed_out(),
            "{} operations waiting after {REACH_THE_GATE:?}, not {count}",
            state.waiting
        );
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long a test waits for an operation to reach a held gate.
const REACH_THE_GATE: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Faults {
    /// Every write fails.
    failing_writes: bool,
    /// How many of the next syncs fail.
    failing_syncs: usize,
    /// How many syncs succeed before the failing ones.
    passing_syncs: usize,
    /// Writes whose data holds these bytes fail, as under a bad block that
    /// only the page holding one value lands on.
    bad_bytes: Option<Vec<u8>>,
    /// How many of the next reads fail.
    failing_reads: usize,
    /// How many reads, writes and syncs failed so far.
    failures: usize,
}

impl FailingDisk {
    /// An empty disk that works.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Opens (or creates) a redb database on this disk.
    pub(crate) fn open(&self) -> Result<Database, redb::DatabaseError> {
        Database::builder().create_with_backend(self.clone())
    }

    /// From now on every write and sync fails (`true`): the disk is gone;
    /// or none does.
    pub(crate) fn fail(&self, failing: bool) {
        let mut faults = self.faults();
        faults.failing_writes = failing;
        faults.failing_syncs = if failing { usize::MAX } else { 0 };
    }

    /// The next `count` syncs fail (and no more).
    pub(crate) fn fail_syncs(&self, count: usize) {
        self.fail_syncs_after(0, count);
    }

    /// Lets `passing` syncs succeed, then fails the `count` after them: a
    /// sync held already ([`syncs`](Self::syncs)) is among the
    /// passing ones, and a commit queued behind it meets the failure.
    pub(crate) fn fail_syncs_after(&self, passing: usize, count: usize) {
        let mut faults = self.faults();
        faults.passing_syncs = passing;
        faults.failing_syncs = count;
    }

    /// From now on every write whose data holds `bytes` fails; `None`
    /// stops that.
    pub(crate) fn fail_writes_holding(&self, bytes: Option<&[u8]>) {
        self.faults().bad_bytes = bytes.map(<[u8]>::to_vec);
    }

    /// The next `count` reads fail (and no more).
    pub(crate) fn fail_reads(&self, count: usize) {
        self.faults().failing_reads = count;
    }

    /// How many reads, writes and syncs failed so far.
    pub(crate) fn failures(&self) -> usize {
        self.faults().failures
    }

    /// Where reads can be held.
    pub(crate) fn reads(&self) -> &Gate {
        &self.0.reads
    }

    /// Where writes can be held.
    pub(crate) fn writes(&self) -> &Gate {
        &self.0.writes
    }

    /// Where syncs can be held.
    pub(crate) fn syncs(&self) -> &Gate {
        &self.0.syncs
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.0.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts a failure and makes its error.
fn injected(faults: &mut Faults, what: &str) -> io::Error {
    faults.failures += 1;
    io::Error::other(format!("injected {what} failure"))
}

impl StorageBackend for FailingDisk {
    fn len(&self) -> Result<u64, io::Error> {
        self.0.memory.len()
    }

    fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, io::Error> {
        self.0.reads.pass();
        let mut faults = self.faults();
        if faults.failing_reads > 0 {
            faults.failing_reads -= 1;
            return Err(injected(&mut faults, "read"));
        }
        drop(faults);
        self.0.memory.read(offset, len)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.0.memory.set_len(len)
    }

    fn sync_data(&self, eventual: bool) -> Result<(), io::Error> {
        self.0.syncs.pass();
        let mut faults = self.faults();
        if faults.passing_syncs > 0 {
            faults.passing_syncs -= 1;
        } else if faults.failing_syncs > 0 {
            faults.failing_syncs -= 1;
            return Err(injected(&mut faults, "sync"));
        }
        drop(faults);
        self.0.memory.sync_data(eventual)
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.0.writes.pass();
        let mut faults = self.faults();
        let bad_block = faults
            .bad_bytes
            .as_deref()
            .is_some_and(|bad| data.windows(bad.len()).any(|window| window == bad));
        if faults.failing_writes || bad_block {
            return Err(injected(&mut faults, "write"));
        }
        drop(faults);
        self.0.memory.write(offset, data)
    }
}

#[cfg(test)]
mod tests {
    //! What redb does after an I/O error, which the store's recovery
    //! ([`super::super::database`]) relies on: if a redb upgrade changes
    //! it, these tests say so.

    use redb::TableDefinition;

    use super::super::DatabaseError;
    use super::*;

    const TABLE: TableDefinition<&str, u64> = TableDefinition::new("t");

    fn write(db: &Database, value: u64) -> Result<(), DatabaseError> {
        let txn = db.begin_write()?;
        txn.open_table(TABLE)?.insert("n", value)?;
        txn.commit()?;
        Ok(())
    }

    fn read(db: &Database) -> Result<Option<u64>, DatabaseError> {
        let txn = db.begin_read()?;
        let value = txn.open_table(TABLE)?.get("n")?.map(|guard| guard.value());
        Ok(value)
    }

    #[test]
    fn after_an_io_error_redb_refuses_every_write_until_the_database_is_reopened() {
        let disk = FailingDisk::new();
        let db = disk.open().unwrap();
        write(&db, 1).unwrap();

        disk.fail(true);
        let failed = write(&db, 2).unwrap_err();
        assert!(matches!(*failed.0, redb::Error::Io(_)), "{failed:?}");

        // The disk works again, but this database stays spoiled.
        disk.fail(false);
        let refused = write(&db, 3).unwrap_err();
        assert!(matches!(*refused.0, redb::Error::PreviousIo), "{refused:?}");
        assert_eq!(
            refused.to_string(),
            "Previous I/O error occurred. Please close and re-open the database."
        );

        // Opened again, the database repairs itself to its last commit.
        drop(db);
        let db = disk.open().unwrap();
        assert_eq!(read(&db).unwrap(), Some(1));
        write(&db, 4).unwrap();
        assert_eq!(read(&db).unwrap(), Some(4));
    }

    #[test]
    fn a_failed_sync_spoils_the_database_too_and_leaves_its_commit_undecided() {
        let disk = FailingDisk::new();
        let db = disk.open().unwrap();
        write(&db, 1).unwrap();
        disk.fail_syncs(1);
        let failed = write(&db, 2).unwrap_err();
        assert!(matches!(*failed.0, redb::Error::Io(_)), "{failed:?}");
        assert_eq!(disk.failures(), 1);
        let refused = write(&db, 3).unwrap_err();
        assert!(matches!(*refused.0, redb::Error::PreviousIo), "{refused:?}");

        // The commit's pages were written before the sync failed, so the
        // reopened database holds the change its caller was told failed.
        // On a real disk, whether they reached it is unknown.
        drop(db);
        let db = disk.open().unwrap();
        assert_eq!(read(&db).unwrap(), Some(2));
    }

    #[test]
    fn while_the_disk_fails_the_database_cannot_be_reopened() {
        let disk = FailingDisk::new();
        let db = disk.open().unwrap();
        write(&db, 1).unwrap();
        disk.fail(true);
        write(&db, 2).unwrap_err();
        drop(db);
        let reopened = disk.open().unwrap_err();
        assert!(
            matches!(
                reopened,
                redb::DatabaseError::Storage(redb::StorageError::Io(_))
            ),
            "{reopened:?}"
        );
    }
}
