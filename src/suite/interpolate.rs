//! `${env:VAR}` interpolation inside one string scalar.
//!
//! Pure text work: variables come from a lookup function (the loader passes
//! `Context::var`), never from the process environment, and this module knows
//! nothing about YAML or positions beyond byte offsets into the scalar.

/// The result of interpolating one scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interpolated {
    /// The text with every set variable substituted; unset references are kept verbatim.
    pub value: String,
    /// Unset variables: (byte offset of `${env:` in the input, variable name).
    pub unset: Vec<(usize, String)>,
    /// True when the input contained at least one `${env:...}` reference.
    pub has_refs: bool,
}

/// A malformed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InterpolateError {
    /// Byte offset of the offending `${env:` in the input.
    pub offset: usize,
    pub kind: InterpolateErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InterpolateErrorKind {
    /// `${env:` with no closing `}`.
    Unterminated,
    /// The name is empty or not `[A-Za-z_][A-Za-z0-9_]*`.
    BadName(String),
}

const OPEN: &str = "${env:";

/// The names of the well-formed `${env:NAME}` references in `input`, in order.
pub(crate) fn references(input: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = input;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if valid_name(name) {
            names.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    names
}

/// Replaces every `${env:NAME}` in `input` using `lookup`.
pub(crate) fn interpolate<'a>(
    input: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Result<Interpolated, InterpolateError> {
    let mut out = String::with_capacity(input.len());
    let mut unset = Vec::new();
    let mut has_refs = false;
    let mut rest = input;
    let mut consumed = 0;
    while let Some(start) = rest.find(OPEN) {
        has_refs = true;
        let offset = consumed + start;
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find('}') else {
            return Err(InterpolateError {
                offset,
                kind: InterpolateErrorKind::Unterminated,
            });
        };
        let name = &after[..end];
        if !valid_name(name) {
            return Err(InterpolateError {
                offset,
                kind: InterpolateErrorKind::BadName(name.to_string()),
            });
        }
        let reference = &rest[start..start + OPEN.len() + end + 1];
        match lookup(name) {
            Some(value) => out.push_str(value),
            None => {
                unset.push((offset, name.to_string()));
                out.push_str(reference);
            }
        }
        let advance = start + reference.len();
        consumed += advance;
        rest = &rest[advance..];
    }
    out.push_str(rest);
    Ok(Interpolated {
        value: out,
        unset,
        has_refs,
    })
}

/// True when `text` is exactly one `${env:NAME}` reference (how secrets must be written).
pub(crate) fn is_single_reference(text: &str) -> bool {
    text.trim()
        .strip_prefix(OPEN)
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(valid_name)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<&'static str> {
        match name {
            "HOST" => Some("127.0.0.1:8080"),
            "EMPTY" => Some(""),
            _ => None,
        }
    }

    #[test]
    fn whole_and_embedded_references() {
        let got = interpolate("${env:HOST}", env).unwrap();
        assert_eq!(got.value, "127.0.0.1:8080");
        assert!(got.has_refs && got.unset.is_empty());
        let got = interpolate("http://${env:HOST}/v1?x=${env:EMPTY}.", env).unwrap();
        assert_eq!(got.value, "http://127.0.0.1:8080/v1?x=.");
    }

    #[test]
    fn text_without_references_is_unchanged() {
        let got = interpolate("cost: $5 {x} $env:HOST", env).unwrap();
        assert_eq!(got.value, "cost: $5 {x} $env:HOST");
        assert!(!got.has_refs);
        assert_eq!(
            references("Bearer ${env:A} ${env:bad-name} ${env:B_2}"),
            vec!["A".to_string(), "B_2".to_string()]
        );
    }

    #[test]
    fn unset_variables_are_reported_with_offsets_and_kept() {
        let got = interpolate("a${env:HOST}b${env:NOPE}c", env).unwrap();
        assert_eq!(got.value, "a127.0.0.1:8080b${env:NOPE}c");
        assert_eq!(got.unset, vec![(13, "NOPE".to_string())]);
    }

    #[test]
    fn malformed_references_are_errors() {
        assert_eq!(
            interpolate("x${env:HOST", env),
            Err(InterpolateError {
                offset: 1,
                kind: InterpolateErrorKind::Unterminated
            })
        );
        assert_eq!(
            interpolate("${env:1X}", env),
            Err(InterpolateError {
                offset: 0,
                kind: InterpolateErrorKind::BadName("1X".into())
            })
        );
        assert_eq!(
            interpolate("${env:}", env).map_err(|e| e.kind),
            Err(InterpolateErrorKind::BadName(String::new()))
        );
    }

    #[test]
    fn single_reference_detection() {
        assert!(is_single_reference("${env:CLIENT_SECRET}"));
        assert!(!is_single_reference("sim_cs_123"));
        assert!(!is_single_reference("x${env:A}"));
        assert!(!is_single_reference("${env:A}${env:B}"));
    }
}
