//! What `#[api]` registers: one route of one API, the handler behind its
//! adapter, and the checks that no two routes answer the same request.

use crate::api::{ApiResult, HttpContext};
use crate::declaration::Source;
use crate::handler::BoxFuture;
use std::collections::BTreeMap;
use std::time::Duration;

/// One `#[api(...)]` function: a route (method and path) of an API.
#[derive(Debug)]
pub struct ApiFunction {
    /// The API's name.
    pub api: &'static str,
    /// The method, uppercase: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` or `OPTIONS`.
    pub method: &'static str,
    /// The path, parameters written `:name`, as in `/rooms/:room`.
    pub path: &'static str,
    /// The adapter: reads the handler's parameters and drives it to a response.
    pub adapter: fn(HttpContext) -> BoxFuture<ApiResult>,
    /// Where the function is.
    pub source: Source,
    /// How long one run may take (`timeout = "..."`); past it, the request
    /// is answered 500.
    pub timeout: Option<Duration>,
}

impl ApiFunction {
    /// A registration; `const` so `inventory::submit!` can hold it.
    pub const fn new(
        api: &'static str,
        method: &'static str,
        path: &'static str,
        adapter: fn(HttpContext) -> BoxFuture<ApiResult>,
        source: Source,
    ) -> Self {
        Self {
            api,
            method,
            path,
            adapter,
            source,
            timeout: None,
        }
    }

    /// The registration with a time limit per run; `timeout = "..."` adds it.
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// The route's path with every parameter's name left out: `/rooms/:room`
/// and `/rooms/:id` answer the same requests.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with(':') {
                ":"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Two routes of one API answering the same method and path, one sentence
/// each naming both functions.
pub(super) fn problems(routes: &[&ApiFunction], problems: &mut Vec<String>) {
    let mut by_route: BTreeMap<(String, &str, String), Vec<&ApiFunction>> = BTreeMap::new();
    for route in routes {
        let key = (
            route.api.to_ascii_lowercase(),
            route.method,
            shape(route.path),
        );
        by_route.entry(key).or_default().push(route);
    }
    for same in by_route.values().filter(|same| same.len() > 1) {
        let places: Vec<String> = same
            .iter()
            .map(|route| format!("{} at {}", route.source, route.path))
            .collect();
        problems.push(format!(
            "api \"{}\" has {} handlers for {} {}: {}; keep one",
            same[0].api,
            same.len(),
            same[0].method,
            same[0].path,
            places.join(" and ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing(_: HttpContext) -> BoxFuture<ApiResult> {
        Box::pin(async { Ok(crate::api::Response::new(204)) })
    }

    fn route(method: &'static str, path: &'static str, line: u32) -> &'static ApiFunction {
        let source = Source::new("route", "src/main.rs", line);
        Box::leak(Box::new(ApiFunction::new(
            "main", method, path, nothing, source,
        )))
    }

    #[test]
    fn routes_differing_only_in_parameter_names_are_the_same_route() {
        let mut found = Vec::new();
        let routes = [
            route("GET", "/rooms/:room", 1),
            route("GET", "/rooms/:id", 2),
            route("POST", "/rooms/:id", 3),
            route("GET", "/rooms", 4),
        ];
        problems(&routes, &mut found);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("2 handlers for GET /rooms/:room"),
            "{found:?}"
        );
        assert!(found[0].contains("src/main.rs:1"), "{found:?}");
        assert!(found[0].contains("src/main.rs:2"), "{found:?}");
    }
}
