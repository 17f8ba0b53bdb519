//! Why an OpenAPI document could not become a suite; the messages are user-facing.

/// A document that cannot be turned into a suite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// Neither YAML nor JSON.
    #[error("cannot parse the OpenAPI document: {0}")]
    Parse(String),
    /// Parsed, but no `openapi` (or `swagger`) version field at the top.
    #[error(
        "not an OpenAPI document: no top-level `openapi` field (only OpenAPI 3.0/3.1 is supported)"
    )]
    NotOpenApi,
    /// A Swagger 2.0 document.
    #[error(
        "only OpenAPI 3.0/3.1 is supported; this is Swagger {0} (convert it first, e.g. with swagger2openapi)"
    )]
    Swagger(String),
    /// Another OpenAPI version.
    #[error("only OpenAPI 3.0/3.1 is supported; this document says `openapi: {0}`")]
    Version(String),
    /// A local `$ref` that points nowhere.
    #[error("broken `$ref` `{pointer}` at `{at}`: nothing in the document at that pointer")]
    BrokenRef {
        /// The reference as written, e.g. `#/components/schemas/Pet`.
        pointer: String,
        /// Where it was written, as a JSON pointer into the document.
        at: String,
    },
    /// A chain of references that only points at itself (`A` → `B` → `A`), outside schemas.
    #[error("`$ref` cycle at `{at}`: `{pointer}` never reaches an object")]
    RefCycle {
        /// The reference as written.
        pointer: String,
        /// Where it was written.
        at: String,
    },
    /// An `--include`/`--exclude` pattern that is not a valid glob.
    #[error("invalid --include/--exclude pattern `{pattern}`: {reason}")]
    Filter {
        /// The pattern as given.
        pattern: String,
        /// Why the glob does not parse.
        reason: String,
    },
}
