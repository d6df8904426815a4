//! Declaring resources and policies with the membrane, the way the official
//! SDKs do, before any event stream opens.

use crate::declaration::ResourceDeclaration;
use crate::error::Error;
use crate::registry::Registry;
use crate::transport::Channel;
use nitric_protocol::resources::v1::{
    resource_declare_request::Config, resources_client::ResourcesClient, Action, ApiResource,
    KeyValueStoreResource, PolicyResource, ResourceDeclareRequest, ResourceIdentifier,
    ResourceType, TopicResource,
};
use std::collections::BTreeSet;

/// Every declaration this registry needs, in the order they are sent: each
/// resource followed by the policy granting this service its actions.
pub(crate) fn requests(registry: &Registry) -> Vec<ResourceDeclareRequest> {
    let mut requests = Vec::new();
    for socket in registry.sockets() {
        requests.push(resource(ResourceType::Websocket, socket, None));
        requests.push(policy(
            &[Action::WebsocketManage],
            ResourceType::Websocket,
            socket,
        ));
    }
    let mut topics = BTreeSet::new();
    for declaration in &registry.resources {
        match declaration {
            ResourceDeclaration::KvStore(store) => {
                let config = Config::KeyValueStore(KeyValueStoreResource {});
                requests.push(resource(
                    ResourceType::KeyValueStore,
                    store.name,
                    Some(config),
                ));
                requests.push(policy(
                    &store.actions(),
                    ResourceType::KeyValueStore,
                    store.name,
                ));
            }
            ResourceDeclaration::Topic(topic) => {
                topics.insert(topic.name);
                let config = Config::Topic(TopicResource {});
                requests.push(resource(ResourceType::Topic, topic.name, Some(config)));
                // Subscribing needs no policy; a topic only subscribed to gets none.
                if !topic.permissions.is_empty() {
                    requests.push(policy(&topic.actions(), ResourceType::Topic, topic.name));
                }
            }
        }
    }
    // Each API once, as the official SDKs' `api(name)` declares it: with an
    // empty security map, and no policy (serving a route needs none).
    let apis: BTreeSet<&str> = registry
        .api_functions
        .iter()
        .map(|route| route.api)
        .collect();
    for api in apis {
        let config = Config::Api(ApiResource::default());
        requests.push(resource(ResourceType::Api, api, Some(config)));
    }
    // A subscription declares its topic too, as the official SDKs' `topic(name)` does.
    for subscription in &registry.subscribe_functions {
        if topics.insert(subscription.topic) {
            let config = Config::Topic(TopicResource {});
            requests.push(resource(
                ResourceType::Topic,
                subscription.topic,
                Some(config),
            ));
        }
    }
    requests
}

/// Sends every declaration, stopping at the first the membrane refuses.
pub(crate) async fn declare_all(channel: Channel, registry: &Registry) -> Result<(), Error> {
    let mut client = ResourcesClient::new(channel);
    for request in requests(registry) {
        let operation = describe(&request);
        tracing::debug!(declaration = %operation, "declaring");
        client
            .declare(request)
            .await
            .map_err(|status| Error::from_status(operation, status))?;
    }
    Ok(())
}

fn identifier(kind: ResourceType, name: &str) -> ResourceIdentifier {
    ResourceIdentifier {
        r#type: kind as i32,
        name: name.to_owned(),
    }
}

fn resource(kind: ResourceType, name: &str, config: Option<Config>) -> ResourceDeclareRequest {
    ResourceDeclareRequest {
        id: Some(identifier(kind, name)),
        config,
    }
}

/// A policy for "this service": the empty principal name is filled in by the
/// membrane.
fn policy(actions: &[Action], kind: ResourceType, name: &str) -> ResourceDeclareRequest {
    let policy = PolicyResource {
        principals: vec![identifier(ResourceType::Service, "")],
        actions: actions.iter().map(|action| *action as i32).collect(),
        resources: vec![identifier(kind, name)],
    };
    resource(ResourceType::Policy, "", Some(Config::Policy(policy)))
}

fn describe(request: &ResourceDeclareRequest) -> String {
    let id = request
        .id
        .as_ref()
        .expect("every request is built with an id");
    let kind = ResourceType::try_from(id.r#type).map_or("unknown", |kind| kind.as_str_name());
    match &request.config {
        Some(Config::Policy(policy)) => {
            let target = policy
                .resources
                .first()
                .map_or("", |resource| resource.name.as_str());
            format!("declare policy on \"{target}\"")
        }
        _ => format!("declare {kind} \"{}\"", id.name),
    }
}
