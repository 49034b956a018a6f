//! The single error type of this crate.

/// Everything that can be wrong with a request's OData query options.
///
/// Every variant maps to the API's `400 {"error":{"code":"ODataError","message":…}}` (spec §7). The
/// `Display` text is the `message`, always starting with `Invalid OData URI query`, so an HTTP layer
/// can use `err.to_string()` verbatim and [`ODataError::code`] for the `code`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ODataError {
    /// The text of an option does not follow the grammar. `position` is a 0-based character index
    /// into `input` (the percent-decoded option value), so clients can point at the mistake.
    #[error(
        "Invalid OData URI query: expected {expected} at position {position} in \"{input}\"{}",
        found_suffix(found)
    )]
    Syntax {
        /// The option value being parsed (after percent-decoding).
        input: String,
        /// 0-based character offset of the offending token.
        position: usize,
        /// What the parser was looking for, e.g. `')'`.
        expected: String,
        /// What it found instead (`None` at the end of the input).
        found: Option<String>,
    },

    /// A property name that the entity set does not have.
    #[error(
        "Invalid OData URI query: could not find a property named '{name}' on '{entity_set}' in {option}; {} properties are: {}",
        allowed_word(option),
        allowed.join(", ")
    )]
    UnknownProperty {
        /// The name as the client wrote it.
        name: String,
        /// The entity set (e.g. `Machines`).
        entity_set: String,
        /// The query option, e.g. `$filter`.
        option: &'static str,
        /// Names usable in that option, so the client can correct itself.
        allowed: Vec<&'static str>,
    },

    /// A property that exists but cannot be used in this option (not filterable / not sortable).
    #[error(
        "Invalid OData URI query: property '{name}' of '{entity_set}' cannot be used in {option}; {} properties are: {}",
        allowed_word(option),
        allowed.join(", ")
    )]
    PropertyNotAllowed {
        /// The property's schema name.
        name: String,
        /// The entity set (e.g. `Machines`).
        entity_set: String,
        /// The query option, e.g. `$orderby`.
        option: &'static str,
        /// Names usable in that option.
        allowed: Vec<&'static str>,
    },

    /// The expression is well-formed but mixes incompatible types, or uses a construct on a
    /// property that does not support it (e.g. `gt` on a boolean, `startswith` on a number).
    #[error("Invalid OData URI query: {0}")]
    Type(String),

    /// A system query option this implementation does not know or support (e.g. `$search`).
    #[error("Invalid OData URI query: the query option '{0}' is not supported")]
    UnsupportedOption(String),

    /// The same system query option appears twice.
    #[error("Invalid OData URI query: the query option '{0}' is specified more than once")]
    DuplicateOption(String),

    /// A system query option whose value is not acceptable (e.g. `$top=-1`, `$count=maybe`).
    #[error("Invalid OData URI query: invalid value '{value}' for {option}: {reason}")]
    InvalidValue {
        /// The option, e.g. `$top`.
        option: String,
        /// The value as decoded.
        value: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The query string could not be percent-decoded into UTF-8.
    #[error("Invalid OData URI query: {0}")]
    Encoding(String),
}

impl ODataError {
    /// The API error `code` for this error: always `"ODataError"` (spec §7), kept as a method so the
    /// HTTP layer does not hard-code it.
    pub fn code(&self) -> &'static str {
        "ODataError"
    }

    pub(crate) fn syntax(input: &str, position: usize, expected: impl Into<String>, found: Option<String>) -> Self {
        ODataError::Syntax { input: input.to_string(), position, expected: expected.into(), found }
    }
}

fn found_suffix(found: &Option<String>) -> String {
    match found {
        Some(f) => format!("; found {f}"),
        None => "; found end of input".to_string(),
    }
}

fn allowed_word(option: &str) -> &'static str {
    match option {
        "$filter" => "filterable",
        "$orderby" => "sortable",
        _ => "available",
    }
}
