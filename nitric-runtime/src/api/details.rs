//! Where an API can be reached, as the official SDKs' `api.url()` asks.

use crate::error::Error;
use crate::handle::ServiceHandle;
use nitric_protocol::apis::v1::{api_client::ApiClient, ApiDetailsRequest};

/// The URL of the API `name`, as the membrane serves it (the local
/// membrane: `http://127.0.0.1:4100` for the first API; AWS: the API
/// Gateway's invoke URL). Call it from a handler or a service's scope.
///
/// ```no_run
/// # async fn example() -> Result<(), nitric_runtime::Error> {
/// let base = nitric_runtime::api::url("main").await?;
/// println!("try {base}/rooms/lobby");
/// # Ok(())
/// # }
/// ```
pub async fn url(name: &str) -> Result<String, Error> {
    let operation = || format!("look up the URL of api \"{name}\"");
    let channel = ServiceHandle::current_for(operation)?.channel();
    let request = ApiDetailsRequest {
        api_name: name.to_owned(),
    };
    let response = ApiClient::new(channel)
        .api_details(request)
        .await
        .map_err(|status| Error::from_status(operation(), status))?;
    Ok(response.into_inner().url)
}
