//! Route paths as applications register them (`/rooms/:room`), and
//! matching a request's path against them.

use std::collections::HashMap;

/// One segment of a route's path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A registered route's path, split into segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoutePath {
    written: String,
    segments: Vec<Segment>,
}

impl RoutePath {
    /// Reads a registration's path; a segment `:name` is a parameter. A
    /// path without its leading `/` is read as if it had one.
    pub(crate) fn parse(path: &str) -> Result<Self, String> {
        let trimmed = path.trim_start_matches('/');
        let mut segments = Vec::new();
        if !trimmed.is_empty() {
            for segment in trimmed.trim_end_matches('/').split('/') {
                segments.push(match segment.strip_prefix(':') {
                    Some("") => {
                        return Err(format!("the route {path:?} has a parameter with no name"))
                    }
                    Some(name) => Segment::Param(name.to_owned()),
                    None => Segment::Literal(segment.to_owned()),
                });
            }
        }
        Ok(Self {
            written: format!("/{trimmed}"),
            segments,
        })
    }

    /// The path as registered, with its leading `/`.
    pub(crate) fn as_str(&self) -> &str {
        &self.written
    }

    /// Whether two routes answer the same requests (parameter names aside).
    pub(crate) fn same_shape(&self, other: &Self) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Param(_), Segment::Param(_)) => true,
                    _ => false,
                })
    }

    /// The parameters' values if `path` (a request's, without its query)
    /// matches this route. Parameter values are percent-decoded.
    pub(crate) fn matches(&self, path: &str) -> Option<HashMap<String, String>> {
        let trimmed = path.trim_start_matches('/').trim_end_matches('/');
        let parts: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = HashMap::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => {
                    let value = percent_decode(part);
                    params.insert(name.clone(), value);
                }
            }
        }
        Some(params)
    }

    /// How specific the route is, to prefer `/rooms/new` over `/rooms/:id`:
    /// literal segments earlier rank first.
    pub(crate) fn specificity(&self) -> Vec<bool> {
        self.segments
            .iter()
            .map(|segment| matches!(segment, Segment::Literal(_)))
            .collect()
    }
}

/// `%XX` escapes decoded; an invalid escape is kept as written.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_match_one_segment_each() {
        let route = RoutePath::parse("/users/:id/posts/:post").unwrap();
        let params = route.matches("/users/ada/posts/7").unwrap();
        assert_eq!(params["id"], "ada");
        assert_eq!(params["post"], "7");
        assert_eq!(route.matches("/users/ada/posts"), None);
        assert_eq!(route.matches("/users//posts/7"), None);
        assert_eq!(route.matches("/people/ada/posts/7"), None);
        let decoded = route.matches("/users/ada%20l/posts/7").unwrap();
        assert_eq!(decoded["id"], "ada l");
    }

    #[test]
    fn the_root_and_trailing_slashes() {
        let root = RoutePath::parse("/").unwrap();
        assert!(root.matches("/").is_some());
        assert!(root.matches("/x").is_none());
        assert!(RoutePath::parse("/rooms")
            .unwrap()
            .matches("/rooms/")
            .is_some());
    }

    #[test]
    fn shapes_ignore_parameter_names() {
        let a = RoutePath::parse("/rooms/:id").unwrap();
        assert!(a.same_shape(&RoutePath::parse("/rooms/:room").unwrap()));
        assert!(!a.same_shape(&RoutePath::parse("/rooms/new").unwrap()));
        assert!(RoutePath::parse("/rooms/:").is_err());
    }
}
