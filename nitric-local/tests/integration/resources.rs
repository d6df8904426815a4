//! `Resources.Declare`.

use nitric_protocol::resources::v1::resources_client::ResourcesClient;
use nitric_protocol::resources::v1::{
    resource_declare_request::Config, Action, KeyValueStoreResource, PolicyResource,
    ResourceDeclareRequest, ResourceIdentifier, ResourceType,
};
use tonic::Code;

use crate::common::TestMembrane;

fn id(kind: ResourceType, name: &str) -> Option<ResourceIdentifier> {
    Some(ResourceIdentifier {
        r#type: kind as i32,
        name: name.into(),
    })
}

#[tokio::test]
async fn declarations_are_accepted_and_recorded_in_order() {
    let test = TestMembrane::start().await;
    let mut resources = ResourcesClient::new(test.channel().await);
    let declarations = [
        ResourceDeclareRequest {
            id: id(ResourceType::Websocket, "chat"),
            config: None,
        },
        ResourceDeclareRequest {
            id: id(ResourceType::KeyValueStore, "profiles"),
            config: Some(Config::KeyValueStore(KeyValueStoreResource {})),
        },
        ResourceDeclareRequest {
            id: id(ResourceType::Policy, ""),
            config: Some(Config::Policy(PolicyResource {
                principals: vec![id(ResourceType::Service, "").unwrap()],
                actions: vec![Action::WebsocketManage as i32],
                resources: vec![id(ResourceType::Websocket, "chat").unwrap()],
            })),
        },
    ];
    for declaration in declarations.clone() {
        resources.declare(declaration).await.expect("accepted");
    }
    assert_eq!(test.membrane.declarations(), declarations);
}

#[tokio::test]
async fn a_declaration_without_an_id_is_invalid() {
    let test = TestMembrane::start().await;
    let mut resources = ResourcesClient::new(test.channel().await);
    let status = resources
        .declare(ResourceDeclareRequest::default())
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(test.membrane.declarations().is_empty());
}
