//! Checks that a crate's top-level modules form layers: `lib.rs` declares
//! them bottom up, and no module's code names one declared after it.
//!
//! Paths are read from the token stream, so `crate::x::...` in code and in
//! macro calls counts (`tracing::warn!(... crate::x ...)`), and doc links
//! do not (they are string literals). `super::` that climbs out of a
//! module is followed to the crate root.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A use of a later module: which file, which module it is in, which
/// module it names.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The file, relative to the crate's `src`.
    pub file: String,
    /// The top-level module the file belongs to.
    pub module: String,
    /// The top-level module it names, declared after `module`.
    pub uses: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (module `{}`) uses `{}`, which lib.rs declares after it",
            self.file, self.module, self.uses
        )
    }
}

/// The top-level modules `src/lib.rs` declares, in order (`mod x;`,
/// `pub mod x;`, whatever their attributes).
pub fn declared_modules(src: &Path) -> Vec<String> {
    let lib = tokens(&src.join("lib.rs"));
    let tokens: Vec<TokenTree> = lib.into_iter().collect();
    let mut modules = Vec::new();
    for window in tokens.windows(3) {
        if let [TokenTree::Ident(keyword), TokenTree::Ident(name), TokenTree::Punct(semi)] = window
        {
            if keyword == "mod" && semi.as_char() == ';' && !modules.contains(&name.to_string()) {
                modules.push(name.to_string());
            }
        }
    }
    modules
}

/// What `lib.rs` re-exports at the crate root, by name, with the module
/// each comes from: `pub use config::{Config, parse_size};` maps both names
/// to `config`, so `crate::Config` counts as a use of `config`.
pub fn root_reexports(src: &Path) -> Vec<(String, String)> {
    let tokens: Vec<TokenTree> = tokens(&src.join("lib.rs")).into_iter().collect();
    let mut found = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        let (TokenTree::Ident(keyword), Some(TokenTree::Ident(module))) =
            (token, tokens.get(index + 1))
        else {
            continue;
        };
        if keyword != "use" || !is_path_separator(&tokens, index + 2) {
            continue;
        }
        let names = match tokens.get(index + 4) {
            Some(TokenTree::Group(group)) => group_tails(group.stream()),
            Some(_) => {
                let rest: TokenStream = tokens[index + 4..].iter().cloned().collect();
                group_tails(rest).into_iter().take(1).collect()
            }
            None => Vec::new(),
        };
        found.extend(names.into_iter().map(|name| (name, module.to_string())));
    }
    found
}

/// Every use of a module declared later than the module using it.
pub fn violations(src: &Path) -> Vec<Violation> {
    let order = declared_modules(src);
    let reexports = root_reexports(src);
    let rank = |name: &str| order.iter().position(|module| module == name);
    let mut found = BTreeSet::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap().to_path_buf();
        let path = module_path(&relative);
        let Some(top) = path.first().cloned() else {
            continue; // lib.rs itself
        };
        let Some(own_rank) = rank(&top) else {
            continue; // a file no `mod` declares (a bin, a stray)
        };
        let mut named = BTreeSet::new();
        let names = Names {
            order: &order,
            reexports: &reexports,
        };
        collect_uses(tokens(&file), &path, &names, &mut named);
        for used in named {
            if rank(&used).is_some_and(|used_rank| used_rank > own_rank) {
                found.insert(Violation {
                    file: relative.display().to_string(),
                    module: top.clone(),
                    uses: used,
                });
            }
        }
    }
    found.into_iter().collect()
}

fn tokens(file: &Path) -> TokenStream {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|error| panic!("read {}: {error}", file.display()));
    text.parse()
        .unwrap_or_else(|error| panic!("tokenize {}: {error:?}", file.display()))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `a.rs` and `a/mod.rs` are `[a]`; `a/b.rs` is `[a, b]`; `lib.rs` is `[]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Adds to `named` each top-level module that `stream` names through
/// `crate::` or a `super::` reaching the crate root; `at` is the module
/// the stream is in.
fn collect_uses(stream: TokenStream, at: &[String], names: &Names, named: &mut BTreeSet<String>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut index = 0;
    while index < tokens.len() {
        match &tokens[index] {
            // An inline module: its `super` is this module.
            TokenTree::Ident(keyword) if keyword == "mod" => {
                if let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(body))) =
                    (tokens.get(index + 1), tokens.get(index + 2))
                {
                    if body.delimiter() == Delimiter::Brace {
                        let mut inner = at.to_vec();
                        inner.push(name.to_string());
                        collect_uses(body.stream(), &inner, names, named);
                        index += 3;
                        continue;
                    }
                }
            }
            TokenTree::Ident(start) if start == "crate" || start == "super" => {
                let mut base = at.to_vec();
                // The `::` before the segment that names a module.
                let separator = if start == "crate" {
                    base.clear();
                    index + 1
                } else {
                    let mut next = index;
                    while matches!(tokens.get(next), Some(TokenTree::Ident(word)) if word == "super")
                        && is_path_separator(&tokens, next + 1)
                    {
                        base.pop();
                        next += 3;
                    }
                    if next == index {
                        index += 1; // `pub(super)`
                        continue;
                    }
                    next - 2
                };
                if base.is_empty() && is_path_separator(&tokens, separator) {
                    match tokens.get(separator + 2) {
                        Some(TokenTree::Ident(first)) => names.note(&first.to_string(), named),
                        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                            for first in group_heads(group.stream()) {
                                names.note(&first, named);
                            }
                        }
                        _ => {}
                    }
                }
                index = separator + 1;
                continue;
            }
            TokenTree::Group(group) => collect_uses(group.stream(), at, names, named),
            _ => {}
        }
        index += 1;
    }
}

/// The crate's modules and root re-exports, to tell which module a path's
/// first segment after `crate::` stands for.
struct Names<'a> {
    order: &'a [String],
    reexports: &'a [(String, String)],
}

impl Names<'_> {
    fn note(&self, first: &str, named: &mut BTreeSet<String>) {
        if self.order.iter().any(|module| module == first) {
            named.insert(first.to_owned());
        } else if let Some((_, module)) = self.reexports.iter().find(|(name, _)| name == first) {
            named.insert(module.clone());
        }
    }
}

/// Whether `::` starts at `index`.
fn is_path_separator(tokens: &[TokenTree], index: usize) -> bool {
    matches!(
        (tokens.get(index), tokens.get(index + 1)),
        (Some(TokenTree::Punct(first)), Some(TokenTree::Punct(second)))
            if first.as_char() == ':' && second.as_char() == ':'
    )
}

/// The name each comma-separated path in `use x::{...}` brings in: its
/// last identifier, or the one after `as`.
fn group_tails(stream: TokenStream) -> Vec<String> {
    let mut tails = Vec::new();
    let mut last = None;
    for token in stream {
        match token {
            TokenTree::Ident(ident) => last = Some(ident.to_string()),
            TokenTree::Punct(punct) if punct.as_char() == ',' || punct.as_char() == ';' => {
                tails.extend(last.take());
                if punct.as_char() == ';' {
                    return tails;
                }
            }
            _ => {}
        }
    }
    tails.extend(last);
    tails
}

/// The first identifier of each comma-separated path in `use x::{...}`.
fn group_heads(stream: TokenStream) -> Vec<String> {
    let mut heads = Vec::new();
    let mut at_start = true;
    for token in stream {
        match token {
            TokenTree::Ident(ident) if at_start => {
                heads.push(ident.to_string());
                at_start = false;
            }
            TokenTree::Punct(punct) if punct.as_char() == ',' => at_start = true,
            _ => at_start = false,
        }
    }
    heads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_lower_module_naming_a_higher_one_is_reported() {
        let dir = crate_with(&[
            ("lib.rs", "mod low;\n#[cfg(test)]\npub mod high;\n"),
            ("low.rs", "fn f() { crate::high::g(); }"),
            ("high.rs", "use crate::low; pub fn g() {}"),
        ]);
        assert_eq!(declared_modules(dir.path()), ["low", "high"]);
        let found = violations(dir.path());
        assert_eq!(
            found,
            [Violation {
                file: "low.rs".into(),
                module: "low".into(),
                uses: "high".into()
            }]
        );
    }

    #[test]
    fn a_root_reexport_counts_as_its_module() {
        let dir = crate_with(&[
            ("lib.rs", "mod low;\nmod config;\npub use config::{Config, parse as parse_config};\npub use low::Low;\n"),
            ("low.rs", "fn f(_: crate::Config) { crate::parse_config(); } pub struct Low;"),
            ("config.rs", "pub struct Config; pub fn parse() { let _ = crate::Low; }"),
        ]);
        assert_eq!(
            root_reexports(dir.path()),
            [
                ("Config".to_owned(), "config".to_owned()),
                ("parse_config".to_owned(), "config".to_owned()),
                ("Low".to_owned(), "low".to_owned())
            ]
        );
        let found: Vec<String> = violations(dir.path())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            ["low.rs (module `low`) uses `config`, which lib.rs declares after it"]
        );
    }

    #[test]
    fn groups_macros_and_super_are_followed_and_doc_links_are_not() {
        let dir = crate_with(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\n"),
            // `super` from a/x.rs stays in `a`; from a/mod.rs's inline
            // module it is `a` too.
            (
                "a/mod.rs",
                "mod x;\n/// [`D`](crate::d::D)\nmod tests { use super::x; }",
            ),
            (
                "a/x.rs",
                "use super::super::b; fn f() { tracing::warn!(\"{}\", crate::c::X); }",
            ),
            ("b.rs", "use crate::{a, d::Y};"),
            ("c.rs", ""),
            ("d.rs", ""),
        ]);
        let found: Vec<(String, String)> = violations(dir.path())
            .into_iter()
            .map(|violation| (violation.file, violation.uses))
            .collect();
        assert_eq!(
            found,
            [
                ("a/x.rs".to_owned(), "b".to_owned()),
                ("a/x.rs".to_owned(), "c".to_owned()),
                ("b.rs".to_owned(), "d".to_owned()),
            ]
        );
    }
}
