//! Claiming something once among instances, on a store that can only get,
//! set and delete: what redeems a ticket and allocates a history sequence
//! number.
//!
//! Nitric's key/value API has no compare-and-swap, so two instances cannot
//! ask the store "set this only if it is absent". What registers alone can
//! give is a *splitter* (Moir and Anderson, 1995), over two keys per thing
//! claimed, `last` and `door`:
//!
//! 1. write my nonce to `last`;
//! 2. read `door`: if it is there, someone got further, so I lose;
//! 3. write `door`;
//! 4. read `last`: if it still holds my nonce, I win; else I lose.
//!
//! With linearizable reads and writes at most one claimant wins, whatever
//! the interleaving. Say A won: no one wrote `last` between A's steps 1
//! and 4. Another claimant B wrote it either before A's step 1, and then
//! B's step 4 reads A's nonce or a later one, unless it came before A's
//! step 1, in which case B had closed the door and A would have lost at
//! step 2; or after A's step 4, and then B's step 2 finds the door A
//! closed in step 3. Either way B loses. A claimant running alone always wins. The
//! price: claimants that race can all lose, so a claim may fail that a
//! lock would have granted. For a ticket, that refuses a connect the client
//! can retry with a fresh ticket; for a sequence number, the slot stays
//! empty and the next one is tried.
//!
//! The door is never removed while the thing can still be claimed: a
//! claimant slow between steps 1 and 2 must find it closed.
//!
//! On a store whose reads can be stale (DynamoDB's `GetItem`, which the
//! AWS membrane calls without `ConsistentRead`), step 2 or 4 may read an
//! old value, and two claimants that race within that window can both
//! win; see docs/users-and-presence.md.

use crate::error::Error;
use crate::kv::KvStore;
use serde::{Deserialize, Serialize};

/// What `last` holds: the nonce of the last claimant to write it.
#[derive(Serialize, Deserialize)]
struct Last {
    nonce: String,
}

/// What `door` holds: only its presence matters.
#[derive(Serialize, Deserialize)]
struct Door {
    closed: bool,
}

/// A fresh nonce: 122 random bits, as a v4 UUID.
pub(super) fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Runs the splitter on `last` and `door`; `Ok(true)` when this call won.
/// A door already closed loses at once, before anything is written.
pub(super) async fn claim(
    store: &KvStore<serde_json::Value>,
    last: &str,
    door: &str,
) -> Result<bool, Error> {
    if is_closed(store, door).await? {
        return Ok(false);
    }
    let mine = nonce();
    store
        .set_as(
            last,
            &Last {
                nonce: mine.clone(),
            },
        )
        .await?;
    if is_closed(store, door).await? {
        return Ok(false);
    }
    store.set_as(door, &Door { closed: true }).await?;
    let written = store.get_as::<Last>(last).await?;
    Ok(written.is_some_and(|last| last.nonce == mine))
}

async fn is_closed(store: &KvStore<serde_json::Value>, door: &str) -> Result<bool, Error> {
    Ok(store.get_as::<Door>(door).await?.is_some())
}

#[cfg(test)]
mod tests {
    //! The splitter checked on every interleaving of its steps, against
    //! registers in memory.

    use std::collections::HashMap;

    /// A claimant's next step, or its outcome.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Step {
        WriteLast,
        ReadDoor,
        CloseDoor,
        ReadLast,
        Won,
        Lost,
    }

    #[derive(Clone, Default)]
    struct Registers {
        last: Option<usize>,
        door: bool,
    }

    fn step(who: usize, at: Step, registers: &mut Registers) -> Step {
        match at {
            Step::WriteLast => {
                registers.last = Some(who);
                Step::ReadDoor
            }
            Step::ReadDoor if registers.door => Step::Lost,
            Step::ReadDoor => Step::CloseDoor,
            Step::CloseDoor => {
                registers.door = true;
                Step::ReadLast
            }
            Step::ReadLast if registers.last == Some(who) => Step::Won,
            Step::ReadLast => Step::Lost,
            done => done,
        }
    }

    /// Every interleaving from `steps`, counting the winners of each.
    fn explore(steps: Vec<Step>, registers: Registers, outcomes: &mut HashMap<usize, usize>) {
        let running: Vec<usize> = (0..steps.len())
            .filter(|&who| !matches!(steps[who], Step::Won | Step::Lost))
            .collect();
        if running.is_empty() {
            let winners = steps.iter().filter(|&&at| at == Step::Won).count();
            *outcomes.entry(winners).or_default() += 1;
            return;
        }
        for who in running {
            let mut registers = registers.clone();
            let mut steps = steps.clone();
            steps[who] = step(who, steps[who], &mut registers);
            explore(steps, registers, outcomes);
        }
    }

    #[test]
    fn at_most_one_claimant_wins_in_every_interleaving() {
        for claimants in 1..=4 {
            let mut outcomes = HashMap::new();
            explore(
                vec![Step::WriteLast; claimants],
                Registers::default(),
                &mut outcomes,
            );
            assert!(
                outcomes.keys().all(|&winners| winners <= 1),
                "{claimants} claimants: {outcomes:?}"
            );
            assert!(outcomes.contains_key(&1), "someone can win: {outcomes:?}");
        }
    }

    #[test]
    fn a_claimant_alone_wins_and_a_later_one_loses() {
        let mut registers = Registers::default();
        let mut at = Step::WriteLast;
        while !matches!(at, Step::Won | Step::Lost) {
            at = step(0, at, &mut registers);
        }
        assert_eq!(at, Step::Won);
        let mut at = Step::WriteLast;
        while !matches!(at, Step::Won | Step::Lost) {
            at = step(1, at, &mut registers);
        }
        assert_eq!(at, Step::Lost);
    }
}
