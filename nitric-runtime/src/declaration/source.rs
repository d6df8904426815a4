//! Where a registration was written, for messages that point at it.

use std::fmt;

/// Where a registration was written: the function or static, file and line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    /// File, as `file!()` gives it; first so sorting follows the source.
    pub file: &'static str,
    /// Line of the attribute.
    pub line: u32,
    /// The function's or static's name.
    pub item: &'static str,
}

impl Source {
    /// Records a registration's origin.
    pub const fn new(item: &'static str, file: &'static str, line: u32) -> Self {
        Self { file, line, item }
    }

    /// `file:line`, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({}:{})", self.item, self.file, self.line)
    }
}
