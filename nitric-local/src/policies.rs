//! Policies: what the application's service may do with each resource.
//!
//! An application declares its resources and, for each, a policy naming the
//! actions it needs (`Resources.Declare` with a `PolicyResource`). In the
//! cloud those policies become the service's only permissions; a call they
//! do not cover fails with PERMISSION_DENIED. This membrane does the same,
//! so an app that forgot a permission fails here rather than after
//! deploying:
//!
//! | call | needs |
//! |---|---|
//! | `KvStore.GetValue`, `KvStore.ScanKeys` | `KeyValueStoreRead` on the store |
//! | `KvStore.SetValue` | `KeyValueStoreWrite` on the store |
//! | `KvStore.DeleteKey` | `KeyValueStoreDelete` on the store |
//! | `Topics.Publish` | `TopicPublish` on the topic |
//! | `Websocket.SendMessage`, `CloseConnection`, `SocketDetails` | `WebsocketManage` on the socket |
//!
//! A membrane serves one service, so a policy whose principals include a
//! service (the SDKs send one with an empty name, meaning "this service")
//! grants its actions to every caller. A call is checked when it arrives,
//! against the policies declared so far, as in the cloud.
//! Websocket names compare case-insensitively (see
//! [`nitric_protocol::names`]); store and topic names exactly.
//!
//! [`Config::enforce_policies`](crate::Config::enforce_policies) `= false`
//! (the binary's `--no-enforce-policies`) grants everything instead.

use std::collections::HashSet;
use std::sync::Mutex;

use nitric_protocol::names::socket_key;
use nitric_protocol::resources::v1::{Action, PolicyResource, ResourceType};
use tonic::Status;

use crate::lock;

/// The permissions granted so far.
pub(crate) struct Policies {
    enforced: bool,
    granted: Mutex<HashSet<Grant>>,
}

/// One action allowed on one resource.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Grant {
    kind: i32,
    /// The resource's name, compared as its kind compares names.
    name: String,
    action: i32,
}

impl Grant {
    fn new(kind: i32, name: &str, action: i32) -> Self {
        let name = if kind == ResourceType::Websocket as i32 {
            socket_key(name)
        } else {
            name.to_owned()
        };
        Self { kind, name, action }
    }
}

impl Policies {
    /// Policies that are checked (`enforced`), or that allow everything.
    pub(crate) fn new(enforced: bool) -> Self {
        Self {
            enforced,
            granted: Mutex::new(HashSet::new()),
        }
    }

    /// Grants what a declared policy allows this service.
    pub(crate) fn grant(&self, policy: &PolicyResource) {
        let for_this_service = policy
            .principals
            .iter()
            .any(|principal| principal.r#type == ResourceType::Service as i32);
        if !for_this_service {
            tracing::warn!(
                principals = ?policy.principals,
                "policy names no service among its principals; it grants nothing"
            );
            return;
        }
        let actions: Vec<&str> = policy
            .actions
            .iter()
            .map(|&action| {
                Action::try_from(action).map_or("an unknown action", |a| a.as_str_name())
            })
            .collect();
        let mut granted = lock(&self.granted);
        for resource in &policy.resources {
            let kind = ResourceType::try_from(resource.r#type)
                .map_or("an unknown resource", |kind| kind.as_str_name());
            tracing::info!(
                "policy declared: this service may {} on {kind} \"{}\"",
                actions.join(", "),
                resource.name
            );
            for &action in &policy.actions {
                granted.insert(Grant::new(resource.r#type, &resource.name, action));
            }
        }
    }

    /// `Ok` if this service may do `action` on the resource called `name`
    /// (of the kind `action` applies to), else PERMISSION_DENIED saying
    /// which permission to declare.
    pub(crate) fn require(&self, action: Permission, name: &str) -> Result<(), Status> {
        if !self.enforced {
            return Ok(());
        }
        let grant = Grant::new(action.resource() as i32, name, action.action() as i32);
        if lock(&self.granted).contains(&grant) {
            return Ok(());
        }
        let message = action.denial(name);
        tracing::warn!("permission denied: {message}");
        Err(Status::permission_denied(message))
    }
}

/// An action a membrane call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permission {
    KvRead,
    KvWrite,
    KvDelete,
    TopicPublish,
    WebsocketManage,
}

impl Permission {
    fn action(self) -> Action {
        match self {
            Self::KvRead => Action::KeyValueStoreRead,
            Self::KvWrite => Action::KeyValueStoreWrite,
            Self::KvDelete => Action::KeyValueStoreDelete,
            Self::TopicPublish => Action::TopicPublish,
            Self::WebsocketManage => Action::WebsocketManage,
        }
    }

    fn resource(self) -> ResourceType {
        match self {
            Self::KvRead | Self::KvWrite | Self::KvDelete => ResourceType::KeyValueStore,
            Self::TopicPublish => ResourceType::Topic,
            Self::WebsocketManage => ResourceType::Websocket,
        }
    }

    /// Why a call on `name` is refused, and how to declare the permission,
    /// in words that fit every SDK.
    fn denial(self, name: &str) -> String {
        let action = self.action().as_str_name();
        let (resource, how) = match self {
            Self::KvRead | Self::KvWrite | Self::KvDelete => {
                let keyword = match self {
                    Self::KvRead => "get",
                    Self::KvWrite => "set",
                    _ => "delete",
                };
                ("key/value store", allow("store", keyword))
            }
            Self::TopicPublish => ("topic", allow("topic", "publish")),
            Self::WebsocketManage => (
                "websocket",
                format!(
                    "declare the websocket, which grants it (Rust: a #[websocket(\"{name}\", ...)] handler; Node and Python: websocket(\"{name}\"))"
                ),
            ),
        };
        format!("{resource} \"{name}\": this service has no policy allowing {action}; {how}")
    }
}

fn allow(resource: &str, keyword: &str) -> String {
    format!(
        "declare the {resource} with the \"{keyword}\" permission (Rust: allow = [{keyword}]; Node and Python: .allow(\"{keyword}\"))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nitric_protocol::resources::v1::ResourceIdentifier;

    fn id(kind: ResourceType, name: &str) -> ResourceIdentifier {
        ResourceIdentifier {
            r#type: kind as i32,
            name: name.to_owned(),
        }
    }

    fn policy(
        principal: ResourceType,
        actions: &[Action],
        resource: ResourceIdentifier,
    ) -> PolicyResource {
        PolicyResource {
            principals: vec![id(principal, "")],
            actions: actions.iter().map(|action| *action as i32).collect(),
            resources: vec![resource],
        }
    }

    #[test]
    fn only_the_declared_actions_on_the_declared_resource_are_allowed() {
        let policies = Policies::new(true);
        policies.grant(&policy(
            ResourceType::Service,
            &[Action::KeyValueStoreRead],
            id(ResourceType::KeyValueStore, "profiles"),
        ));
        assert!(policies.require(Permission::KvRead, "profiles").is_ok());
        let denied = policies
            .require(Permission::KvWrite, "profiles")
            .unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert_eq!(
            denied.message(),
            "key/value store \"profiles\": this service has no policy allowing KeyValueStoreWrite; \
             declare the store with the \"set\" permission (Rust: allow = [set]; Node and Python: .allow(\"set\"))"
        );
        assert!(policies.require(Permission::KvRead, "Profiles").is_err());
        assert!(policies.require(Permission::KvRead, "other").is_err());
    }

    #[test]
    fn the_kind_of_resource_matters_and_socket_names_ignore_case() {
        let policies = Policies::new(true);
        policies.grant(&policy(
            ResourceType::Service,
            &[Action::WebsocketManage, Action::TopicPublish],
            id(ResourceType::Websocket, "Chat"),
        ));
        assert!(policies
            .require(Permission::WebsocketManage, "chat")
            .is_ok());
        assert!(policies
            .require(Permission::WebsocketManage, "CHAT")
            .is_ok());
        // TopicPublish was granted on a websocket, not on a topic "Chat".
        let denied = policies
            .require(Permission::TopicPublish, "Chat")
            .unwrap_err();
        assert!(
            denied.message().starts_with("topic \"Chat\": "),
            "{}",
            denied.message()
        );
        assert!(denied.message().contains("TopicPublish"));
    }

    #[test]
    fn a_policy_for_no_service_grants_nothing() {
        let policies = Policies::new(true);
        policies.grant(&policy(
            ResourceType::Bucket,
            &[Action::TopicPublish],
            id(ResourceType::Topic, "jobs"),
        ));
        assert!(policies.require(Permission::TopicPublish, "jobs").is_err());
    }

    #[test]
    fn unenforced_policies_allow_everything() {
        let policies = Policies::new(false);
        assert!(policies.require(Permission::WebsocketManage, "any").is_ok());
        assert!(policies.require(Permission::KvDelete, "any").is_ok());
    }
}
