//! Resource declarations, built by the resource macros in const context.

use super::Source;
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

impl KvPermission {
    /// The Nitric action this permission asks for.
    pub(crate) fn action(self) -> Action {
        match self {
            Self::Get => Action::KeyValueStoreRead,
            Self::Set => Action::KeyValueStoreWrite,
            Self::Delete => Action::KeyValueStoreDelete,
        }
    }

    /// The word used in `allow = [...]`.
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Delete => "delete",
        }
    }
}

/// One `#[kv_store(...)]` static.
#[derive(Debug)]
pub struct KvStoreDeclaration {
    /// The store's name.
    pub name: &'static str,
    /// What this service may do with it.
    pub permissions: &'static [KvPermission],
    /// Where the static is.
    pub source: Source,
}

impl KvStoreDeclaration {
    /// A declaration; `const` so it can live in a static.
    pub const fn new(
        name: &'static str,
        permissions: &'static [KvPermission],
        source: Source,
    ) -> Self {
        Self {
            name,
            permissions,
            source,
        }
    }

    /// Whether `allow = [...]` lists `permission`.
    pub(crate) fn allows(&self, permission: KvPermission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// A permission on a topic, as listed in `allow = [...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicPermission {
    /// Publish messages.
    Publish,
}

impl TopicPermission {
    /// The Nitric action this permission asks for.
    pub(crate) fn action(self) -> Action {
        match self {
            Self::Publish => Action::TopicPublish,
        }
    }

    /// The word used in `allow = [...]`.
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Self::Publish => "publish",
        }
    }
}

/// One `#[topic(...)]` static.
#[derive(Debug)]
pub struct TopicDeclaration {
    /// The topic's name.
    pub name: &'static str,
    /// What this service may do with it; subscribing needs no permission.
    pub permissions: &'static [TopicPermission],
    /// Where the static is.
    pub source: Source,
}

impl TopicDeclaration {
    /// A declaration; `const` so it can live in a static.
    pub const fn new(
        name: &'static str,
        permissions: &'static [TopicPermission],
        source: Source,
    ) -> Self {
        Self {
            name,
            permissions,
            source,
        }
    }

    /// Whether `allow = [...]` lists `permission`.
    pub(crate) fn allows(&self, permission: TopicPermission) -> bool {
        self.permissions.contains(&permission)
    }
}
