//! `--include` / `--exclude`: which GET operations of the document become endpoints, by
//! path glob, tag or operation id. Knows operation objects; knows nothing about suites.

use super::error::InitError;
use globset::{Glob, GlobBuilder, GlobMatcher};
use serde_json::Value;

/// One pattern: `tag:NAME`, `operation:ID` (or `op:ID`), else a glob over the path where
/// `*` stays within one segment and `**` crosses segments (`/accounts/**`).
#[derive(Debug, Clone)]
enum Pattern {
    Path(GlobMatcher),
    Tag(String),
    Operation(String),
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, InitError> {
        if let Some(tag) = text.strip_prefix("tag:") {
            return Ok(Pattern::Tag(tag.to_string()));
        }
        if let Some(op) = text
            .strip_prefix("operation:")
            .or_else(|| text.strip_prefix("op:"))
        {
            return Ok(Pattern::Operation(op.to_string()));
        }
        let glob: Glob = GlobBuilder::new(text)
            .literal_separator(true)
            .build()
            .map_err(|e| InitError::Filter {
                pattern: text.to_string(),
                reason: e.kind().to_string(),
            })?;
        Ok(Pattern::Path(glob.compile_matcher()))
    }

    fn matches(&self, path: &str, op: &Value) -> bool {
        match self {
            Pattern::Path(m) => m.is_match(path),
            Pattern::Tag(t) => op
                .get("tags")
                .and_then(Value::as_array)
                .is_some_and(|tags| tags.iter().any(|x| x.as_str() == Some(t.as_str()))),
            Pattern::Operation(id) => op.get("operationId").and_then(Value::as_str) == Some(id),
        }
    }
}

/// The compiled `--include` and `--exclude` patterns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

impl Filter {
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<Filter, InitError> {
        let parse = |list: &[String]| -> Result<Vec<Pattern>, InitError> {
            list.iter().map(|p| Pattern::parse(p)).collect()
        };
        Ok(Filter {
            include: parse(include)?,
            exclude: parse(exclude)?,
        })
    }

    /// Whether the operation at `path` is kept: it matches an include (when there are
    /// any) and no exclude.
    pub(crate) fn accepts(&self, path: &str, op: &Value) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(path, op)))
            && !self.exclude.iter().any(|p| p.matches(path, op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(include: &[&str], exclude: &[&str]) -> Filter {
        let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Filter::new(&own(include), &own(exclude)).unwrap()
    }

    #[test]
    fn include_and_exclude_by_path_glob_tag_and_operation_id() {
        let op = json!({"operationId": "getContacts", "tags": ["Accounting"]});
        let other = json!({"operationId": "getInvoices", "tags": ["Billing"]});
        assert!(filter(&[], &[]).accepts("/Contacts", &op));
        assert!(filter(&["/Contacts*"], &[]).accepts("/Contacts", &op));
        assert!(filter(&["/Contacts/*"], &[]).accepts("/Contacts/{id}", &op));
        assert!(!filter(&["/Contacts/*"], &[]).accepts("/Contacts/{id}/History", &op));
        assert!(filter(&["/Contacts/**"], &[]).accepts("/Contacts/{id}/History", &op));
        assert!(filter(&["tag:Accounting"], &[]).accepts("/x", &op));
        assert!(!filter(&["tag:Accounting"], &[]).accepts("/x", &other));
        assert!(filter(&["operation:getInvoices"], &[]).accepts("/x", &other));
        assert!(filter(&["op:getInvoices"], &[]).accepts("/x", &other));
        assert!(!filter(&["tag:Accounting"], &["op:getContacts"]).accepts("/x", &op));
        assert!(!filter(&[], &["/Contacts"]).accepts("/Contacts", &op));
    }

    #[test]
    fn a_bad_glob_is_named() {
        let err = Filter::new(&["/a/[b".to_string()], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid --include/--exclude pattern `/a/[b`: unclosed character class; missing ']'"
        );
    }
}
