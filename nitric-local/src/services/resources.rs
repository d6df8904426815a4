//! `Resources.Declare`: the application names the resources it uses and the
//! permissions it needs. Declarations are recorded (for logs and
//! inspection), and policies grant their actions (see [`crate::policies`]).

use std::sync::{Arc, Mutex};

use nitric_protocol::resources::v1::resources_server::Resources;
use nitric_protocol::resources::v1::{
    resource_declare_request::Config, ResourceDeclareRequest, ResourceDeclareResponse, ResourceType,
};
use tonic::{Request, Response, Status};

use crate::lock;
use crate::policies::Policies;

/// Every declaration received, in arrival order.
#[derive(Default)]
pub(crate) struct Declarations {
    received: Mutex<Vec<ResourceDeclareRequest>>,
}

impl Declarations {
    fn record(&self, declaration: ResourceDeclareRequest) {
        lock(&self.received).push(declaration);
    }

    pub(crate) fn all(&self) -> Vec<ResourceDeclareRequest> {
        lock(&self.received).clone()
    }
}

pub(super) struct ResourcesService {
    declarations: Arc<Declarations>,
    policies: Arc<Policies>,
}

impl ResourcesService {
    pub(super) fn new(declarations: Arc<Declarations>, policies: Arc<Policies>) -> Self {
        Self {
            declarations,
            policies,
        }
    }
}

#[tonic::async_trait]
impl Resources for ResourcesService {
    async fn declare(
        &self,
        request: Request<ResourceDeclareRequest>,
    ) -> Result<Response<ResourceDeclareResponse>, Status> {
        let declaration = request.into_inner();
        let Some(id) = &declaration.id else {
            return Err(Status::invalid_argument(
                "ResourceDeclareRequest.id is missing: it names the resource being declared",
            ));
        };
        let kind = ResourceType::try_from(id.r#type)
            .map(|kind| kind.as_str_name().to_owned())
            .unwrap_or_else(|_| format!("unknown type {}", id.r#type));
        match &declaration.config {
            // Logged with what it grants.
            Some(Config::Policy(policy)) => self.policies.grant(policy),
            _ => tracing::debug!(kind, name = %id.name, "resource declared"),
        }
        self.declarations.record(declaration);
        Ok(Response::new(ResourceDeclareResponse {}))
    }
}
