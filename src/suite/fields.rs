//! Conversion of an endpoint's field-level requirements (`requires_fields`) and schema
//! tolerance (`tolerate`): paths normalised to the shape notation the probes use
//! (`$.data[].email`).
//!
//! Part of the raw → model conversion; knows nothing about HTTP.

use super::convert::{Converter, pos};
use super::model::*;
use super::raw::RawTolerance;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};

/// A field path as the shape probes write it: `$` then `.name`, `['odd key']` or `[]` (every
/// array item; `[*]` is accepted for it). `None` when it is not such a path.
pub fn normalise_field_path(path: &str) -> Option<String> {
    let path = path.trim();
    let rest = path.strip_prefix('$')?;
    let normal = rest.replace("[*]", "[]");
    let b = normal.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                i = start;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if i == start {
                    return None;
                }
            }
            b'[' if normal[i..].starts_with("[]") => i += 2,
            b'[' if normal[i..].starts_with("['") => {
                let close = normal[i + 2..].find("']")?;
                i += 2 + close + 2;
            }
            _ => return None,
        }
    }
    Some(format!("${normal}"))
}

impl Converter<'_> {
    /// `requires_fields`: each path normalised (an invalid one is an error at its scopes), each
    /// scope warned about when no scope set or auth holds it.
    pub(super) fn requires_fields(
        &mut self,
        raw: &BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
        known: &BTreeSet<&str>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for (path, scopes) in raw {
            let Some(normal) = normalise_field_path(path) else {
                self.diags.error(
                    pos(scopes),
                    format!("invalid field path `{path}` in `requires_fields`"),
                    "expected a path like `$.email` or `$.data[*].email`",
                );
                continue;
            };
            let list = self.scope_list(&scopes.value, known);
            if list.is_empty() {
                self.diags.error(
                    pos(scopes),
                    format!("`requires_fields` names no scope for `{path}`"),
                    "expected the scopes without which the provider leaves the field out",
                );
            }
            out.insert(normal, list);
        }
        out
    }

    /// `requires_any`: each alternative's scopes, warned about like `requires`; an empty
    /// alternative would make every scope set meet the requirement, so it is an error.
    pub(super) fn requires_any(
        &mut self,
        raw: &[Spanned<Vec<Spanned<String>>>],
        known: &BTreeSet<&str>,
    ) -> Vec<Vec<String>> {
        let mut out = Vec::with_capacity(raw.len());
        for alternative in raw {
            let list = self.scope_list(&alternative.value, known);
            if list.is_empty() {
                self.diags.error(
                    pos(alternative),
                    "empty alternative in `requires_any`",
                    "expected a list of scopes, e.g. `requires_any: [[files.read], [files]]`",
                );
                continue;
            }
            out.push(list);
        }
        out
    }

    /// A list of scopes, each warned about when no scope set or auth holds it.
    fn scope_list(&mut self, scopes: &[Spanned<String>], known: &BTreeSet<&str>) -> Vec<String> {
        let mut list = Vec::with_capacity(scopes.len());
        for scope in scopes {
            let text = self.text(scope);
            if text.resolved && !known.contains(text.value.as_str()) {
                self.diags
                    .warning(
                        text.pos,
                        format!("scope `{}` appears in no scope set", text.value),
                        "no token will carry this scope, so its effect is never observed",
                    )
                    .suggest(&text.value, known.iter().copied());
            }
            list.push(text.value);
        }
        list
    }

    /// `tolerate`: each path normalised (an invalid one is an error at its level).
    pub(super) fn tolerate(
        &mut self,
        raw: &BTreeMap<String, Spanned<RawTolerance>>,
    ) -> BTreeMap<String, Tolerance> {
        let mut out = BTreeMap::new();
        for (path, level) in raw {
            let Some(normal) = normalise_field_path(path) else {
                self.diags.error(
                    pos(level),
                    format!("invalid field path `{path}` in `tolerate`"),
                    "expected a path like `$.data[*].meta`",
                );
                continue;
            };
            out.insert(
                normal,
                match level.value {
                    RawTolerance::Any => Tolerance::Any,
                    RawTolerance::Type => Tolerance::Type,
                    RawTolerance::Format => Tolerance::Format,
                },
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_field_path;

    #[test]
    fn field_paths_are_normalised_to_the_shape_notation() {
        for (given, want) in [
            ("$.email", Some("$.email")),
            ("$.data[*].meta", Some("$.data[].meta")),
            ("$.data[].meta", Some("$.data[].meta")),
            ("$['odd key'].x", Some("$['odd key'].x")),
            ("$", Some("$")),
            ("email", None),
            ("$.", None),
            ("$.data[0]", None),
            ("$..email", None),
        ] {
            assert_eq!(normalise_field_path(given).as_deref(), want, "{given}");
        }
    }
}
