//! The store on a disk that fails: a real redb database on
//! [`FailingDisk`], with I/O errors injected at run time.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::FutureExt;

use super::failing_disk::FailingDisk;
use super::{Cause, Store, StoreError};

/// Stands for the database file in messages.
const DISK: &str = "failing-disk";

/// A store on `disk` that tries to reopen the database at every operation
/// while reopening fails.
fn open(disk: &FailingDisk) -> Store {
    Store::open_on_backend(disk.clone(), Path::new(DISK), Duration::ZERO).unwrap()
}

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
    /// The value that lands on a bad block: a write of a page holding it
    /// fails, every other write succeeds.
    const BAD: &[u8] = b"the bytes on a bad block";
    let disk = FailingDisk::new();
    let store = open(&disk);
    store.set("s", "bad", b"old".to_vec()).await.unwrap();
    disk.fail_writes_holding(Some(BAD));

    // Keep the writer inside a commit while the next changes arrive, so
    // they wait for it together and it commits them as one group.
    disk.hold_syncs();
    let mut first = Box::pin(store.set("s", "first", b"1".to_vec()));
    assert!((&mut first).now_or_never().is_none());
    disk.wait_for_a_held_sync();
    let mut group = Box::pin(join_all([
        store.set("s", "before", b"2".to_vec()).boxed(),
        store.set("s", "bad", BAD.to_vec()).boxed(),
        store.set("s", "after", b"3".to_vec()).boxed(),
        store.delete("s", "first").boxed(),
    ]));
    assert!((&mut group).now_or_never().is_none());
    disk.release_syncs();
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

    // The sync of whichever commit comes first fails; the store reopens
    // the database and commits each change again, alone.
    disk.fail_syncs(1);
    let (set_a, set_b, delete) = answered(async {
        tokio::join!(
            store.set("s", "a", b"1".to_vec()),
            store.set("s", "b", b"2".to_vec()),
            store.delete("s", "gone"),
        )
    })
    .await;
    assert_eq!(disk.failures(), 1);
    set_a.unwrap();
    set_b.unwrap();
    delete.unwrap();
    assert_eq!(store.keys_with_prefix("s", "").await.unwrap(), ["a", "b"]);
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
