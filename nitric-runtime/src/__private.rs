//! Everything generated code names, in one hidden module, so the macros
//! never depend on the runtime's internal layout.

pub use crate::handler::{BoxFuture, FromContext, HandlerResult, IntoHandlerResult};
pub use crate::kv::KvStore;
pub use crate::registry::{
    Declaration, KvPermission, KvStoreDeclaration, Permission, ResourceDeclaration, Source,
    SubscribeFunction, TopicDeclaration, TopicPermission, WebsocketAdapter, WebsocketFunction,
};
pub use crate::topic::{FromTopicMessage, Topic, TopicMessage};
pub use crate::websocket::{ConnectContext, DisconnectContext, MessageContext};
pub use inventory;
