//! Resource declarations, built by the resource macros in const context.

use super::Source;
use crate::error::Error;
use nitric_protocol::resources::v1::Action;
use std::fmt;

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

/// A permission a declaration can list in `allow = [...]`.
pub trait Permission: Copy + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// What the resource is called in messages: "key/value store".
    const RESOURCE: &'static str;

    /// The Nitric action this permission asks for.
    fn action(self) -> Action;

    /// The word used in `allow = [...]`.
    fn keyword(self) -> &'static str;
}

/// A permission on a key/value store, as listed in `allow = [...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvPermission {
    /// Read values and list keys.
    Get,
    /// Write values.
    Set,
    /// Delete keys.
    Delete,
}

impl Permission for KvPermission {
    const RESOURCE: &'static str = "key/value store";

    fn action(self) -> Action {
        match self {
            Self::Get => Action::KeyValueStoreRead,
            Self::Set => Action::KeyValueStoreWrite,
            Self::Delete => Action::KeyValueStoreDelete,
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Delete => "delete",
        }
    }
}

/// A permission on a topic, as listed in `allow = [...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicPermission {
    /// Publish messages.
    Publish,
}

impl Permission for TopicPermission {
    const RESOURCE: &'static str = "topic";

    fn action(self) -> Action {
        match self {
            Self::Publish => Action::TopicPublish,
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            Self::Publish => "publish",
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
        }
    }
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
