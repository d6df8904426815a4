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
    pub(crate) fn require(&self, action: Action, name: &str) -> Result<(), Status> {
        if !self.enforced {
            return Ok(());
        }
        let grant = Grant::new(resource_of(action) as i32, name, action as i32);
        if lock(&self.granted).contains(&grant) {
            return Ok(());
        }
        let message = denial(action, name);
        tracing::warn!("permission denied: {message}");
        Err(Status::permission_denied(message))
    }
}

/// The kind of resource `action` applies to.
fn resource_of(action: Action) -> ResourceType {
    match action {
        Action::BucketFileList
        | Action::BucketFileGet
        | Action::BucketFilePut
        | Action::BucketFileDelete => ResourceType::Bucket,
        Action::TopicPublish => ResourceType::Topic,
        Action::KeyValueStoreRead | Action::KeyValueStoreWrite | Action::KeyValueStoreDelete => {
            ResourceType::KeyValueStore
        }
        Action::SecretPut | Action::SecretAccess => ResourceType::Secret,
        Action::WebsocketManage => ResourceType::Websocket,
        Action::QueueEnqueue | Action::QueueDequeue => ResourceType::Queue,
        Action::JobSubmit => ResourceType::Job,
    }
}

/// Why `action` on `name` is refused, and how to declare the policy that
/// allows it, in words that fit every SDK.
fn denial(action: Action, name: &str) -> String {
    let (resource, how) = match action {
        Action::KeyValueStoreRead => ("key/value store", allow("store", "get")),
        Action::KeyValueStoreWrite => ("key/value store", allow("store", "set")),
        Action::KeyValueStoreDelete => ("key/value store", allow("store", "delete")),
        Action::TopicPublish => ("topic", allow("topic", "publish")),
        Action::WebsocketManage => (
            "websocket",
            format!(
                "declare the websocket, which grants it (Rust: a #[websocket(\"{name}\", ...)] handler; Node and Python: websocket(\"{name}\"))"
            ),
        ),
        // No call of this membrane needs the others.
        _ => (
            resource_of(action).as_str_name(),
            "declare a policy granting it".to_owned(),
        ),
    };
    format!(
        "{resource} \"{name}\": this service has no policy allowing {}; {how}",
        action.as_str_name()
    )
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
        assert!(policies
            .require(Action::KeyValueStoreRead, "profiles")
            .is_ok());
        let denied = policies
            .require(Action::KeyValueStoreWrite, "profiles")
            .unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert_eq!(
            denied.message(),
            "key/value store \"profiles\": this service has no policy allowing KeyValueStoreWrite; \
             declare the store with the \"set\" permission (Rust: allow = [set]; Node and Python: .allow(\"set\"))"
        );
        assert!(policies
            .require(Action::KeyValueStoreRead, "Profiles")
            .is_err());
        assert!(policies
            .require(Action::KeyValueStoreRead, "other")
            .is_err());
    }

    #[test]
    fn the_kind_of_resource_matters_and_socket_names_ignore_case() {
        let policies = Policies::new(true);
        policies.grant(&policy(
            ResourceType::Service,
            &[Action::WebsocketManage, Action::TopicPublish],
            id(ResourceType::Websocket, "Chat"),
        ));
        assert!(policies.require(Action::WebsocketManage, "chat").is_ok());
        assert!(policies.require(Action::WebsocketManage, "CHAT").is_ok());
        // TopicPublish was granted on a websocket, not on a topic "Chat".
        let denied = policies.require(Action::TopicPublish, "Chat").unwrap_err();
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
        assert!(policies.require(Action::TopicPublish, "jobs").is_err());
    }

    #[test]
    fn unenforced_policies_allow_everything() {
        let policies = Policies::new(false);
        assert!(policies.require(Action::WebsocketManage, "any").is_ok());
        assert!(policies.require(Action::KeyValueStoreDelete, "any").is_ok());
    }
}
