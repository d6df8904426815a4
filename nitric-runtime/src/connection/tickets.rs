//! Connect tickets: short-lived, single-use proofs of who a user is,
//! issued by code that knows (a logged-in HTTP route) and redeemed by the
//! connect guard of a socket.

use super::{claim, keys, now_millis, Users};
use crate::declaration::{KvPermission, KvStoreDeclaration};
use crate::error::{BoxError, Error};
use crate::kv::{KvClient, KvClientNeeds, KvStore};
use crate::websocket::{ConnectContext, FromConnect, Reject};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

/// A ticket's record: `ticket:{stored}`, where `stored` is the ticket
/// with its secret replaced by the secret's digest (see [`stored_form`]).
const TICKET: &str = "ticket";
/// The splitter's `last` key of a ticket: `ticket-last:{stored}`.
const LAST: &str = "ticket-last";
/// The splitter's `door` key of a ticket: `ticket-door:{stored}`.
const DOOR: &str = "ticket-door";
/// How long past its expiry [`Tickets::purge`] leaves a ticket's keys, for
/// clocks that disagree across instances.
const PURGE_MARGIN: Duration = Duration::from_secs(60);

/// Tickets that let a user connect: [`issue`](Self::issue) one for a user
/// id where the user is known, hand it to the client, which connects with
/// `?ticket=...`, and [`redeem`](Self::redeem) it in the connect guard
/// (the ready-made [`Ticket`] does), once, before it expires.
///
/// A ticket is its expiry (milliseconds since the epoch) and 244 random
/// bits from two v4 UUIDs: `1767225600000.5f0c...`. It is stored in a
/// declared key/value store, so any instance can redeem what another
/// issued, under the SHA-256 of its random part: reading the store
/// reveals no ticket that could be redeemed. Declare it with `#[kv_store("name", allow = [get, set, delete])]`;
/// a missing permission fails the build.
///
/// Redeeming is once only, as far as the store allows. Nitric's key/value
/// API has get, set and delete but no compare-and-swap, so a redeem runs
/// a *splitter* over two keys of the ticket (see docs/users-and-presence.md,
/// "Tickets"): on a store whose reads see the latest write (the local
/// membrane, Firestore, Azure Tables) two redeems racing on one ticket
/// never both succeed, though both may fail; on AWS, where the membrane
/// reads DynamoDB without `ConsistentRead`, two redeems within the moment
/// a read can lag (typically under a second) can both succeed. Expiry is
/// checked against each instance's clock, so clocks that disagree move it
/// by their difference.
///
/// Redeemed and expired tickets leave a few keys behind; call
/// [`purge`](Self::purge) now and then (from a schedule) to delete them.
///
/// ```
/// use nitric_runtime::connection::Tickets;
/// use std::time::Duration;
///
/// #[nitric_runtime::kv_store("tickets", allow = [get, set, delete])]
/// static TICKETS: Tickets;
///
/// /// Called where the user is known, such as an authenticated HTTP route.
/// async fn ticket_for(user: &str) -> Result<String, nitric_runtime::Error> {
///     TICKETS.issue(user, Duration::from_secs(30)).await
/// }
/// # fn main() {}
/// ```
pub struct Tickets {
    store: KvStore<serde_json::Value>,
}

/// What a ticket's record holds.
#[derive(Serialize, Deserialize)]
struct Issued {
    user: String,
    expires_at_ms: u64,
}

impl KvClient for Tickets {
    const NEEDS: KvClientNeeds = KvClientNeeds {
        permissions: &[KvPermission::Get, KvPermission::Set, KvPermission::Delete],
        missing: "a `Tickets` static needs allow = [get, set, delete]: it writes, reads and deletes tickets",
        cleanup: None,
        owns_state: None,
    };
}

/// A ticket's expiry and secret, if it has the shape [`Tickets::issue`]
/// gives (the stored form has it too).
fn parts_of(ticket: &str) -> Option<(u64, &str)> {
    let (expiry, secret) = ticket.split_once('.')?;
    let well_formed = secret.len() == 64 && secret.bytes().all(|byte| byte.is_ascii_hexdigit());
    well_formed
        .then(|| Some((expiry.parse().ok()?, secret)))
        .flatten()
}

/// What a ticket is stored as: its expiry, in the clear so that
/// [`Tickets::purge`] can find old keys, and the SHA-256 of its secret. Who
/// can list or read the store (a leaked backup, another service granted
/// read access) learns no ticket it could redeem; SHA-256 of 244 random
/// bits cannot be reversed, so no salt or slow hash is needed.
fn stored_form(expiry: u64, secret: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{expiry}.{hex}")
}

impl Tickets {
    /// The client for a declared store; `#[kv_store]` calls this.
    #[doc(hidden)]
    pub const fn declared(declaration: &'static KvStoreDeclaration) -> Self {
        Self {
            store: KvStore::declared(declaration),
        }
    }

    /// The store's name.
    ///
    /// ```
    /// # #[nitric_runtime::kv_store("tickets", allow = [get, set, delete])]
    /// # static TICKETS: nitric_runtime::connection::Tickets;
    /// # fn main() {
    /// assert_eq!(TICKETS.name(), "tickets");
    /// # }
    /// ```
    pub fn name(&self) -> &'static str {
        self.store.name()
    }

    /// A new ticket for `user`, valid for `ttl`, to be redeemed once. A user
    /// id longer than 256 bytes fails with [`Error::Value`].
    ///
    /// ```
    /// # #[nitric_runtime::kv_store("tickets", allow = [get, set, delete])]
    /// # static TICKETS: nitric_runtime::connection::Tickets;
    /// async fn login(user: &str) -> Result<String, nitric_runtime::Error> {
    ///     let ticket = TICKETS.issue(user, std::time::Duration::from_secs(30)).await?;
    ///     Ok(format!("wss://chat.example/?ticket={ticket}"))
    /// }
    /// # fn main() {}
    /// ```
    pub async fn issue(&self, user: &str, ttl: Duration) -> Result<String, Error> {
        keys::check_name("user id", user).map_err(|reason| Error::Value {
            operation: format!("issue a ticket for user {user:?}"),
            reason,
        })?;
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let expires_at_ms = now_millis().saturating_add(ttl);
        let secret = format!("{}{}", claim::nonce(), claim::nonce());
        let issued = Issued {
            user: user.to_owned(),
            expires_at_ms,
        };
        let stored = stored_form(expires_at_ms, &secret);
        self.store
            .set_as(&keys::compose(TICKET, &[&stored]), &issued)
            .await?;
        Ok(format!("{expires_at_ms}.{secret}"))
    }

    /// The user `ticket` was issued for, the first time it is redeemed
    /// before it expires; `None` for a ticket that is unknown, malformed,
    /// expired, already redeemed, or redeemed at the same moment by another
    /// call (see the type's docs for what "once" means on each backend).
    ///
    /// ```
    /// # #[nitric_runtime::kv_store("tickets", allow = [get, set, delete])]
    /// # static TICKETS: nitric_runtime::connection::Tickets;
    /// async fn check(ticket: &str) -> Result<(), nitric_runtime::Error> {
    ///     match TICKETS.redeem(ticket).await? {
    ///         Some(user) => println!("{user} may connect"),
    ///         None => println!("no entry"),
    ///     }
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn redeem(&self, ticket: &str) -> Result<Option<String>, Error> {
        let Some((expiry, secret)) = parts_of(ticket) else {
            return Ok(None);
        };
        if now_millis() >= expiry {
            return Ok(None);
        }
        let stored = stored_form(expiry, secret);
        let record = keys::compose(TICKET, &[&stored]);
        let Some(issued) = self.store.get_as::<Issued>(&record).await? else {
            return Ok(None);
        };
        let won = claim::claim(
            &self.store,
            &keys::compose(LAST, &[&stored]),
            &keys::compose(DOOR, &[&stored]),
        )
        .await?;
        if !won || now_millis() >= issued.expires_at_ms {
            return Ok(None);
        }
        // Later redeems stop at the record; the door stays for those
        // already past it, until `purge`.
        self.store.delete(&record).await?;
        Ok(Some(issued.user))
    }

    /// Deletes the keys of tickets that expired (a minute ago or more, for
    /// clocks that disagree) and returns how many keys it deleted; call
    /// it from a schedule. It lists the store's ticket keys: a scan of the
    /// whole store on AWS and GCP.
    ///
    /// ```
    /// # #[nitric_runtime::kv_store("tickets", allow = [get, set, delete])]
    /// # static TICKETS: nitric_runtime::connection::Tickets;
    /// async fn nightly() -> Result<(), nitric_runtime::Error> {
    ///     let purged = TICKETS.purge().await?;
    ///     tracing::info!(purged, "old tickets deleted");
    ///     Ok(())
    /// }
    /// # fn main() {}
    /// ```
    pub async fn purge(&self) -> Result<usize, Error> {
        let margin = u64::try_from(PURGE_MARGIN.as_millis()).unwrap_or(u64::MAX);
        let cutoff = now_millis().saturating_sub(margin);
        let mut purged = 0;
        for kind in [TICKET, LAST, DOOR] {
            let prefix = format!("{kind}:");
            let listed: Vec<String> = self.store.keys(&prefix).try_collect().await?;
            for key in listed {
                let keys::Listed::Part(stored) = keys::last_part(&key, &prefix) else {
                    continue;
                };
                if parts_of(&stored).is_some_and(|(expiry, _)| expiry < cutoff) {
                    self.store.delete(&key).await?;
                    purged += 1;
                }
            }
        }
        Ok(purged)
    }
}

impl fmt::Debug for Tickets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tickets")
            .field("store", &self.name())
            .finish_non_exhaustive()
    }
}

/// Which stores a [`Ticket`] guard redeems in and binds to: implement it on
/// a type of your own, naming your `Tickets` and `Users` statics.
///
/// ```
/// use nitric_runtime::connection::{TicketDesk, Tickets, Users};
///
/// #[nitric_runtime::kv_store("tickets", allow = [get, set, delete])]
/// static TICKETS: Tickets;
///
/// #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
/// static USERS: Users;
///
/// struct Desk;
///
/// impl TicketDesk for Desk {
///     fn tickets() -> &'static Tickets {
///         &TICKETS
///     }
///     fn users() -> &'static Users {
///         &USERS
///     }
/// }
/// # fn main() {}
/// ```
pub trait TicketDesk: Send + 'static {
    /// Where tickets are redeemed.
    ///
    /// ```
    /// # use nitric_runtime::connection::{TicketDesk, Tickets, Users};
    /// # #[nitric_runtime::kv_store("tickets", allow = [get, set, delete])]
    /// # static TICKETS: Tickets;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: Users;
    /// # struct Desk;
    /// # impl TicketDesk for Desk {
    /// fn tickets() -> &'static Tickets {
    ///     &TICKETS
    /// }
    /// # fn users() -> &'static Users { &USERS }
    /// # }
    /// # fn main() {}
    /// ```
    fn tickets() -> &'static Tickets;

    /// Where the connection is bound to the ticket's user.
    ///
    /// ```
    /// # use nitric_runtime::connection::{TicketDesk, Tickets, Users};
    /// # #[nitric_runtime::kv_store("tickets", allow = [get, set, delete])]
    /// # static TICKETS: Tickets;
    /// # #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
    /// # static USERS: Users;
    /// # struct Desk;
    /// # impl TicketDesk for Desk {
    /// # fn tickets() -> &'static Tickets { &TICKETS }
    /// fn users() -> &'static Users {
    ///     &USERS
    /// }
    /// # }
    /// # fn main() {}
    /// ```
    fn users() -> &'static Users;
}

/// A connect guard that admits a connection with a valid `?ticket=`: it
/// [redeems](Tickets::redeem) the ticket in `D`'s [`Tickets`] and
/// [binds](Users::bind) the connection to its user in `D`'s [`Users`].
///
/// A missing, unknown, expired or reused ticket refuses the connection
/// with a [`Reject`] (the client's handshake fails with 403 on the local
/// membranes, 401 on AWS); a store that fails refuses it as a failure,
/// logged at warn.
///
/// ```
/// use nitric_runtime::connection::{Ticket, TicketDesk, Tickets, Users};
/// use nitric_runtime::websocket::{ConnectContext, MessageContext};
///
/// #[nitric_runtime::kv_store("tickets", allow = [get, set, delete])]
/// static TICKETS: Tickets;
///
/// #[nitric_runtime::kv_store("users", allow = [get, set, delete])]
/// static USERS: Users;
///
/// struct Desk;
///
/// impl TicketDesk for Desk {
///     fn tickets() -> &'static Tickets {
///         &TICKETS
///     }
///     fn users() -> &'static Users {
///         &USERS
///     }
/// }
///
/// #[nitric_runtime::websocket("private", on = "connect")]
/// async fn connect(ctx: ConnectContext, ticket: Ticket<Desk>) {
///     tracing::info!(user = ticket.user(), connection = ctx.connection_id(), "in");
/// }
///
/// #[nitric_runtime::websocket("private", on = "message")]
/// async fn message(ctx: MessageContext) -> Result<(), nitric_runtime::Error> {
///     let user = USERS.user_of(&ctx).await?.unwrap_or_default();
///     ctx.socket().send(ctx.connection_id(), format!("hello {user}")).await
/// }
/// # fn main() {}
/// ```
pub struct Ticket<D> {
    user: String,
    desk: PhantomData<fn() -> D>,
}

impl<D> Ticket<D> {
    /// The user the ticket was issued for, now bound to the connection.
    ///
    /// ```
    /// # use nitric_runtime::connection::{Ticket, TicketDesk, Tickets, Users};
    /// fn greeting<D>(ticket: &Ticket<D>) -> String {
    ///     format!("welcome, {}", ticket.user())
    /// }
    /// ```
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The user, owned.
    ///
    /// ```
    /// # use nitric_runtime::connection::Ticket;
    /// fn user_of<D>(ticket: Ticket<D>) -> String {
    ///     ticket.into_user()
    /// }
    /// ```
    pub fn into_user(self) -> String {
        self.user
    }
}

impl<D: TicketDesk> FromConnect for Ticket<D> {
    type Rejection = BoxError;

    async fn from_connect(ctx: &ConnectContext) -> Result<Self, BoxError> {
        let ticket = ctx
            .query()
            .get("ticket")
            .ok_or_else(|| Reject::new("connect with ?ticket=..."))?;
        let user = D::tickets()
            .redeem(ticket)
            .await?
            .ok_or_else(|| Reject::new("the ticket is unknown, expired or already used"))?;
        D::users().bind(ctx, &user).await?;
        Ok(Self {
            user,
            desk: PhantomData,
        })
    }
}

impl<D> fmt::Debug for Ticket<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket").field("user", &self.user).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{parts_of, stored_form};

    #[test]
    fn only_well_formed_tickets_have_an_expiry() {
        let random = "a".repeat(64);
        let expiry = |ticket: &str| parts_of(ticket).map(|(expiry, _)| expiry);
        assert_eq!(expiry(&format!("17.{random}")), Some(17));
        assert_eq!(expiry(&format!("x.{random}")), None);
        assert_eq!(expiry(&format!("17.{}", "a".repeat(63))), None);
        assert_eq!(expiry(&format!("17.{}", "g".repeat(64))), None);
        assert_eq!(expiry("17"), None);
        assert_eq!(expiry(""), None);
    }

    #[test]
    fn the_stored_form_keeps_the_expiry_and_hides_the_secret() {
        let secret = "0123456789abcdef".repeat(4);
        let stored = stored_form(17, &secret);
        assert_eq!(parts_of(&stored).map(|(expiry, _)| expiry), Some(17));
        assert!(!stored.contains(&secret), "{stored}");
        // SHA-256("0123...cdef" x 4), from `sha256sum`.
        assert_eq!(
            stored,
            "17.a8ae6e6ee929abea3afcfc5258c8ccd6f85273e0d4626d26c7279f3250f77c8e"
        );
    }
}
