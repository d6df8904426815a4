//! The store on a disk that fails: a real redb database on
//! [`FailingDisk`], with I/O errors injected at run time.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::FutureExt;

use super::database::{Clock, Opener, Reopening};
use super::failing_disk::FailingDisk;
use super::{Cause, Store, StoreError, Unusable};

/// Stands for the database file in messages.
const DISK: &str = "failing-disk";

/// A store on `disk` that tries to reopen the database at every operation
/// while reopening fails.
fn open(disk: &FailingDisk) -> Store {
    Store::open_on_backend(disk.clone(), Path::new(DISK), Duration::ZERO).unwrap()
}

/// A store on `disk`, and how many times it opened the database (the
/// first open included).
fn open_counting(disk: &FailingDisk, reopening: Reopening) -> (Store, Arc<AtomicUsize>) {
    let opens = Arc::new(AtomicUsize::new(0));
    let (disk, counted) = (disk.clone(), opens.clone());
    let open: Opener = Box::new(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        disk.open()
    });
    let store = Store::open_with(DISK.into(), open, reopening).unwrap();
    (store, opens)
}

/// A clock that stands still until the test moves it on.
#[derive(Clone)]
struct ManualClock(Arc<Mutex<Instant>>);

impl ManualClock {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    fn clock(&self) -> Clock {
        let now = self.0.clone();
        Box::new(move || *now.lock().unwrap())
    }
}

/// The value that lands on a bad block, for
/// [`FailingDisk::fail_writes_holding`]: a write of a page holding it
/// fails, every other write succeeds, and the database reopens fine.
const BAD: &[u8] = b"the bytes on a bad block";

/// Awaits `operation`, which must not hang even when the disk fails.
async fn answered<T>(operation: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), operation)
        .await
        .expect("a store operation hung")
}

/// Asserts that `outcome` failed naming `operation` and an injected I/O
/// failure.
fn assert_failed<T: std::fmt::Debug>(outcome: Result<T, StoreError>, operation: &str) {
    let message = outcome.unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("cannot {operation}: key/value database {DISK}")),
        "{message}"
    );
    assert!(message.contains("I/O error: injected"), "{message}");
}

#[tokio::test]
async fn a_failed_commit_fails_every_change_waiting_and_applies_none() {
    let disk = FailingDisk::new();
    let store = open(&disk);
    for key in ["a", "b", "c"] {
        store.set("s", key, b"old".to_vec()).await.unwrap();
    }

    disk.fail(true);
    let (set_a, set_b, delete_c) = answered(async {
        tokio::join!(
            store.set("s", "a", b"new".to_vec()),
            store.set("s", "b", b"new".to_vec()),
            store.delete("s", "c"),
        )
    })
    .await;
    assert_failed(set_a, "write key \"a\" of store \"s\"");
    assert_failed(set_b, "write key \"b\" of store \"s\"");
    assert_failed(delete_c, "delete key \"c\" of store \"s\"");
    // Nor can anything be read while the database cannot be reopened.
    assert_failed(
        answered(store.get("s", "a")).await,
        "read key \"a\" of store \"s\"",
    );

    // Once the disk works, the store does again, with the old values, and
    // the writer thread is still there to take new changes.
    disk.fail(false);
    for key in ["a", "b", "c"] {
        assert_eq!(store.get("s", key).await.unwrap(), Some(b"old".to_vec()));
    }
    store.set("s", "a", b"new".to_vec()).await.unwrap();
    store.delete("s", "b").await.unwrap();
    assert_eq!(store.get("s", "a").await.unwrap(), Some(b"new".to_vec()));
    assert_eq!(store.keys_with_prefix("s", "").await.unwrap(), ["a", "c"]);
}

#[tokio::test]
async fn a_change_the_disk_refuses_fails_alone_and_the_rest_of_its_group_commits() {
    let disk = FailingDisk::new();
    let store = open(&disk);
    store.set("s", "bad", b"old".to_vec()).await.unwrap();
    disk.fail_writes_holding(Some(BAD));

    // Keep the writer inside a commit while the next changes arrive, so
    // they wait for it together and it commits them as one group.
    disk.syncs().hold();
    let mut first = Box::pin(store.set("s", "first", b"1".to_vec()));
    assert!((&mut first).now_or_never().is_none());
    disk.syncs().wait_for_held(1);
    let mut group = Box::pin(join_all([
        store.set("s", "before", b"2".to_vec()).boxed(),
        store.set("s", "bad", BAD.to_vec()).boxed(),
        store.set("s", "after", b"3".to_vec()).boxed(),
        store.delete("s", "first").boxed(),
    ]));
    assert!((&mut group).now_or_never().is_none());
    disk.syncs().release();
    answered(first).await.unwrap();
    let mut outcomes = answered(group).await.into_iter();
    outcomes.next().unwrap().unwrap();
    assert_failed(outcomes.next().unwrap(), "write key \"bad\" of store \"s\"");
    outcomes.next().unwrap().unwrap();
    outcomes.next().unwrap().unwrap();
    // Refused twice: in the group, then alone.
    assert_eq!(disk.failures(), 2);
    assert_eq!(
        store.keys_with_prefix("s", "").await.unwrap(),
        ["after", "bad", "before"]
    );
    assert_eq!(store.get("s", "bad").await.unwrap(), Some(b"old".to_vec()));
}

#[tokio::test]
async fn a_disk_failing_once_fails_no_change() {
    let disk = FailingDisk::new();
    let store = open(&disk);
    store.set("s", "gone", b"old".to_vec()).await.unwrap();

    // Keep the writer inside a commit while the next changes arrive, so
    // they wait for it together and form one group; that group's sync
    // fails, the store reopens the database and commits each change again,
    // alone.
    disk.syncs().hold();
    let mut first = Box::pin(store.set("s", "first", b"0".to_vec()));
    assert!((&mut first).now_or_never().is_none());
    disk.syncs().wait_for_held(1);
    disk.fail_syncs_after(1, 1);
    let mut group = Box::pin(async {
        tokio::join!(
            store.set("s", "a", b"1".to_vec()),
            store.set("s", "b", b"2".to_vec()),
            store.delete("s", "gone"),
        )
    });
    assert!((&mut group).now_or_never().is_none());
    disk.syncs().release();
    answered(first).await.unwrap();
    let (set_a, set_b, delete) = answered(group).await;
    assert_eq!(disk.failures(), 1);
    set_a.unwrap();
    set_b.unwrap();
    delete.unwrap();
    assert_eq!(
        store.keys_with_prefix("s", "").await.unwrap(),
        ["a", "b", "first"]
    );
    assert_eq!(store.get("s", "b").await.unwrap(), Some(b"2".to_vec()));
}

#[tokio::test]
async fn while_reopening_fails_operations_fail_at_once_until_the_next_try_is_due() {
    let disk = FailingDisk::new();
    let store =
        Store::open_on_backend(disk.clone(), Path::new(DISK), Duration::from_secs(3600)).unwrap();
    store.set("s", "a", b"old".to_vec()).await.unwrap();

    disk.fail(true);
    assert_failed(
        answered(store.set("s", "a", b"new".to_vec())).await,
        "write key \"a\" of store \"s\"",
    );
    // The disk works again, but the next try to reopen the database is an
    // hour away: operations fail at once, saying why, without a try.
    disk.fail(false);
    for outcome in [
        answered(store.get("s", "a")).await.map(drop),
        answered(store.set("s", "a", b"new".to_vec())).await,
        answered(store.keys_with_prefix("s", "")).await.map(drop),
    ] {
        let error = outcome.unwrap_err();
        assert!(matches!(error.cause(), Cause::Unusable { .. }), "{error}");
        assert!(
            error.to_string().contains(&format!(
                "key/value database {DISK} failed with an I/O error and cannot be reopened: \
                 I/O error: injected write failure"
            )),
            "{error}"
        );
    }
}

/// Asserts that `outcome` failed on the disk, with the injected write
/// failure, and not at once on a closed database.
fn assert_write_failed<T: std::fmt::Debug>(outcome: Result<T, StoreError>, key: &str) {
    let message = outcome.unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "cannot write key \"{key}\" of store \"s\": \
             key/value database {DISK}: I/O error: injected write failure"
        )
    );
}

/// Asserts that `outcome` failed at once, without trying the disk: the
/// database failed again soon after it was reopened, with the injected
/// write failure.
fn assert_closed_after_failing_again<T: std::fmt::Debug>(outcome: Result<T, StoreError>) {
    let error = outcome.unwrap_err();
    assert!(
        matches!(error.cause(), Cause::Unusable { why, .. } if matches!(**why, Unusable::FailedAgain { .. })),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "key/value database {DISK} failed with an I/O error again"
        )),
        "{message}"
    );
    assert!(
        message.ends_with("I/O error: injected write failure"),
        "{message}"
    );
}

#[tokio::test]
async fn a_disk_that_opens_but_keeps_failing_writes_costs_one_reopen_per_interval() {
    let disk = FailingDisk::new();
    let (store, opens) = open_counting(&disk, Reopening::every(Duration::from_secs(3600)));
    store.set("s", "key:001", b"old".to_vec()).await.unwrap();
    disk.fail_writes_holding(Some(BAD));

    // The first failure reopens the database (repairing the whole file),
    // and only that: the change was alone, so it is not tried again.
    assert_write_failed(answered(store.set("s", "bad", BAD.to_vec())).await, "bad");
    assert_eq!(
        (opens.load(Ordering::SeqCst), disk.failures()),
        (2, 1),
        "(opens, disk failures) after the first failing change"
    );

    // The reopened database fails again at once: reopening it again
    // would only repeat the repair, so it stays closed for the interval.
    assert_write_failed(answered(store.set("s", "bad", BAD.to_vec())).await, "bad");
    assert_eq!(
        (opens.load(Ordering::SeqCst), disk.failures()),
        (2, 2),
        "(opens, disk failures) after the second failing change"
    );

    // Every operation now fails at once, naming the failure, and none
    // touches the disk.
    for _ in 0..8 {
        assert_closed_after_failing_again(answered(store.set("s", "bad", BAD.to_vec())).await);
    }
    assert_closed_after_failing_again(answered(store.set("s", "good", b"1".to_vec())).await);
    assert_closed_after_failing_again(answered(store.delete("s", "key:001")).await);
    assert_closed_after_failing_again(answered(store.get("s", "key:001")).await);
    assert_eq!(
        (opens.load(Ordering::SeqCst), disk.failures()),
        (2, 2),
        "(opens, disk failures) after the operations refused at once"
    );
}

#[tokio::test]
async fn once_the_interval_has_passed_the_next_operation_reopens_the_database() {
    // Time passes only when the test moves the clock on.
    const INTERVAL: Duration = Duration::from_secs(1);
    let time = ManualClock::new();
    let disk = FailingDisk::new();
    let reopening = Reopening {
        interval: INTERVAL,
        clock: time.clock(),
    };
    let (store, opens) = open_counting(&disk, reopening);
    store.set("s", "bad", b"old".to_vec()).await.unwrap();
    disk.fail_writes_holding(Some(BAD));
    for _ in 0..2 {
        assert_write_failed(answered(store.set("s", "bad", BAD.to_vec())).await, "bad");
    }
    assert_closed_after_failing_again(answered(store.get("s", "bad")).await);
    assert_eq!(opens.load(Ordering::SeqCst), 2);

    // The disk still fails: the first operation after the interval
    // reopens the database once, fails again, and it is closed again.
    time.advance(INTERVAL);
    assert_write_failed(answered(store.set("s", "bad", BAD.to_vec())).await, "bad");
    assert_eq!(opens.load(Ordering::SeqCst), 3);
    assert_closed_after_failing_again(answered(store.get("s", "bad")).await);

    // The disk works again, but the database stays closed until the
    // interval has passed; then the next operation reopens it and
    // succeeds.
    disk.fail_writes_holding(None);
    assert_closed_after_failing_again(answered(store.set("s", "good", b"1".to_vec())).await);
    assert_eq!(opens.load(Ordering::SeqCst), 3);
    time.advance(INTERVAL);
    answered(store.set("s", "bad", BAD.to_vec())).await.unwrap();
    assert_eq!(opens.load(Ordering::SeqCst), 4);
    assert_eq!(
        answered(store.get("s", "bad")).await.unwrap(),
        Some(BAD.to_vec())
    );
    assert_eq!(
        answered(store.keys_with_prefix("s", "")).await.unwrap(),
        ["bad"]
    );
}

#[tokio::test]
async fn readers_and_a_writer_meeting_one_io_error_reopen_the_database_once() {
    const READERS: usize = 4;
    let disk = FailingDisk::new();
    {
        let store = open(&disk);
        for n in 0..2000 {
            let key = format!("key:{n:04}");
            store.set("s", &key, vec![7; 100]).await.unwrap();
        }
        store.close().await;
    }
    // A zero interval reopens after every I/O error, so only telling that
    // the operations met the same error keeps the reopens to one.
    let (store, opens) = open_counting(&disk, Reopening::every(Duration::ZERO));

    // A database just opened has none of the values cached: each
    // operation reads the disk, and waits there until every one of them
    // is inside the database; then all those reads fail.
    disk.reads().hold();
    let readers = (0..READERS).map(|n| {
        let store = store.clone();
        tokio::spawn(async move { store.get("s", &format!("key:{:04}", n * 500)).await })
    });
    let readers: Vec<_> = readers.collect();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { store.set("s", "key:1999", b"new".to_vec()).await })
    };
    let held = disk.clone();
    answered(tokio::task::spawn_blocking(move || {
        held.reads().wait_for_held(READERS + 1);
    }))
    .await
    .unwrap();
    disk.fail_reads(READERS + 1);
    disk.reads().release();

    for reader in readers {
        let outcome = answered(reader).await.unwrap();
        let message = outcome.unwrap_err().to_string();
        assert!(
            message.contains("I/O error: injected read failure"),
            "{message}"
        );
    }
    let message = answered(writer).await.unwrap().unwrap_err().to_string();
    assert!(
        message.contains("I/O error: injected read failure"),
        "{message}"
    );
    assert_eq!(disk.failures(), READERS + 1);
    assert_eq!(opens.load(Ordering::SeqCst), 2, "opens, the first included");

    // The reopened database works.
    answered(store.set("s", "key:1999", b"new".to_vec()))
        .await
        .unwrap();
    assert_eq!(
        answered(store.get("s", "key:0500")).await.unwrap(),
        Some(vec![7; 100])
    );
    assert_eq!(opens.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_lone_change_refused_for_another_operations_io_error_is_tried_again() {
    let disk = FailingDisk::new();
    {
        let store = open(&disk);
        for n in 0..2000 {
            store
                .set("s", &format!("key:{n:04}"), vec![7; 100])
                .await
                .unwrap();
        }
        store.close().await;
    }
    let (store, opens) = open_counting(&disk, Reopening::every(Duration::ZERO));

    // The change's commit waits in its first write to the disk...
    disk.writes().hold();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { store.set("s", "key:0000", b"new".to_vec()).await })
    };
    let held = disk.clone();
    answered(tokio::task::spawn_blocking(move || {
        held.writes().wait_for_held(1)
    }))
    .await
    .unwrap();
    // ...while a read of a page nothing has cached yet fails, which makes
    // redb refuse every later write on that database: the rest of the
    // change's commit too.
    disk.fail_reads(1);
    let reader = {
        let store = store.clone();
        tokio::spawn(async move { store.get("s", "key:1500").await })
    };
    answered(async {
        while disk.failures() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    disk.writes().release();

    let read = answered(reader).await.unwrap().unwrap_err().to_string();
    assert!(read.contains("injected read failure"), "{read}");
    // The change was refused for the reader's failure, not its own, and
    // was tried again on the reopened database.
    answered(writer).await.unwrap().unwrap();
    assert_eq!(disk.failures(), 1);
    assert_eq!(opens.load(Ordering::SeqCst), 2, "opens, the first included");
    assert_eq!(
        answered(store.get("s", "key:0000")).await.unwrap(),
        Some(b"new".to_vec())
    );
}
