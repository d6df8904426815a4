//! What a declaration's `allow = [...]` lists, and the Nitric action each
//! permission asks for.

use nitric_protocol::resources::v1::Action;
use std::fmt;

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
