//! What the resource macros declare, built in const context: each
//! resource static's name, permissions and place, below everything that
//! uses them (clients, the registry, the declaring session).

mod permission;
mod source;

pub use permission::{KvPermission, Permission, TopicPermission};
pub use source::Source;

use crate::error::Error;
use futures_util::future::BoxFuture;
use nitric_protocol::resources::v1::Action;

/// A resource this service declares.
#[derive(Debug)]
#[non_exhaustive]
pub enum ResourceDeclaration {
    /// A `#[kv_store]` static.
    KvStore(&'static KvStoreDeclaration),
    /// A `#[topic]` static.
    Topic(&'static TopicDeclaration),
}

impl ResourceDeclaration {
    /// Where the declaration was written.
    pub fn source(&self) -> Source {
        match self {
            Self::KvStore(store) => store.source,
            Self::Topic(topic) => topic.source,
        }
    }
}

/// One resource static: its name, what this service may do with it, and
/// where it is declared.
#[derive(Debug)]
pub struct Declaration<P: 'static> {
    /// The resource's name.
    pub name: &'static str,
    /// What this service may do with it.
    pub permissions: &'static [P],
    /// Where the static is.
    pub source: Source,
    /// What the runtime deletes when a connection goes, for clients that
    /// keep data per connection (see [`KvClientNeeds`]).
    #[doc(hidden)]
    pub cleanup: Option<ConnectionCleanup>,
    /// The client's name when it owns keys of the store that a second
    /// static of the same client would share with different meanings
    /// (`ConnectionState`'s values, `Presence`'s metadata, `History`'s
    /// bounds): two such statics on one store are refused at startup.
    #[doc(hidden)]
    pub owns_state: Option<&'static str>,
}

/// A connection by its socket's name and its id: whose data a cleanup
/// deletes. Generated-code plumbing.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Departed<'a> {
    /// The socket's name.
    pub socket: &'a str,
    /// The connection's id.
    pub connection_id: &'a str,
}

/// Deletes what a client keeps for one connection, given the client's
/// declaration and the connection; the runtime runs it after the socket's
/// disconnect handler. Generated-code plumbing.
#[doc(hidden)]
pub type ConnectionCleanup =
    for<'a> fn(&'static KvStoreDeclaration, Departed<'a>) -> BoxFuture<'a, Result<(), Error>>;

/// What a key/value client needs from its `#[kv_store]` declaration: the
/// permissions its calls use, checked when the declaration is compiled, and
/// the cleanup to run when a connection goes. Each
/// [`KvClient`](crate::kv::KvClient) states it. Generated-code plumbing.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct KvClientNeeds {
    /// Permissions the client cannot work without.
    pub permissions: &'static [KvPermission],
    /// The compile error when one is missing: what to write instead.
    pub missing: &'static str,
    /// What to delete when a connection goes, if anything.
    pub cleanup: Option<ConnectionCleanup>,
    /// The client's name, if a second static of it on the same store
    /// would share its keys (see [`KvStoreDeclaration::owns_state`]).
    pub owns_state: Option<&'static str>,
}

impl KvClientNeeds {
    /// A client that works with any permissions and keeps nothing per
    /// connection, such as `KvStore<T>`.
    pub const NOTHING: Self = Self {
        permissions: &[],
        missing: "",
        cleanup: None,
        owns_state: None,
    };
}

/// One `#[kv_store(...)]` static.
pub type KvStoreDeclaration = Declaration<KvPermission>;

/// One `#[topic(...)]` static; subscribing needs no permission.
pub type TopicDeclaration = Declaration<TopicPermission>;

impl<P> Declaration<P> {
    /// A declaration; `const` so it can live in a static.
    pub const fn new(name: &'static str, permissions: &'static [P], source: Source) -> Self {
        Self {
            name,
            permissions,
            source,
            cleanup: None,
            owns_state: None,
        }
    }
}

impl Declaration<KvPermission> {
    /// The declaration of a static whose client needs `needs`; `#[kv_store]`
    /// passes the static's type's [`KvClient::NEEDS`](crate::kv::KvClient).
    /// A permission the client needs and `allow = [...]` lacks fails the
    /// build: this runs when the static is compiled. Generated-code
    /// plumbing.
    #[doc(hidden)]
    pub const fn with_client(mut self, needs: KvClientNeeds) -> Self {
        let mut index = 0;
        while index < needs.permissions.len() {
            if !allows(self.permissions, needs.permissions[index]) {
                panic!("{}", needs.missing);
            }
            index += 1;
        }
        self.cleanup = needs.cleanup;
        self.owns_state = needs.owns_state;
        self
    }
}

/// `permissions.contains(&wanted)`, in const context.
const fn allows(permissions: &[KvPermission], wanted: KvPermission) -> bool {
    let mut index = 0;
    while index < permissions.len() {
        if permissions[index] as u8 == wanted as u8 {
            return true;
        }
        index += 1;
    }
    false
}

impl<P: Permission> Declaration<P> {
    /// The actions to ask for in this declaration's policy.
    pub(crate) fn actions(&self) -> Vec<Action> {
        self.permissions
            .iter()
            .map(|permission| permission.action())
            .collect()
    }

    /// `Ok` if `allow = [...]` lists `permission`, else the error that says
    /// where to add it; checked before a call reaches the membrane.
    pub(crate) fn require(&self, permission: P) -> Result<(), Error> {
        if self.permissions.contains(&permission) {
            return Ok(());
        }
        Err(Error::NotAllowed {
            resource: format!("{} \"{}\"", P::RESOURCE, self.name),
            permission: permission.keyword(),
            declared_at: self.source.location(),
        })
    }
}
