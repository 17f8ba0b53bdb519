//! Loading one suite file: read it, parse the YAML into the raw structs, turn
//! parse failures into positioned diagnostics, then hand over to `convert`.
//!
//! Knows the file system and serde-saphyr; knows nothing about HTTP or probes.

use super::convert::convert;
use super::diagnostic::{DiagSeverity, Diagnostic, Diags, did_you_mean, one_of};
use super::model::{Pos, Suite};
use super::raw::RawSuite;
use crate::context::Context;
use serde_saphyr::{DefaultMessageFormatter, Error as YamlError, MessageFormatter as _};
use std::path::{Path, PathBuf};

/// How strictly environment references are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// For a run: an unset `${env:VAR}` is an error.
    Run,
    /// For `driftwatch check` (CI without secrets): an unset variable is a warning.
    Check,
}

/// Why a suite could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file could not be read.
    #[error("cannot read suite `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file has at least one error; `rendered` shows all diagnostics (plain text).
    #[error("{}", rendered.trim_end())]
    Invalid {
        file: PathBuf,
        diagnostics: Vec<Diagnostic>,
        rendered: String,
    },
}

/// A successfully loaded suite and the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub suite: Suite,
    pub warnings: Vec<Diagnostic>,
}

/// Loads and validates the suite at `path` (resolved against `ctx.cwd`; diagnostics
/// show `path` as given).
pub fn load_suite(path: &Path, ctx: &Context, mode: LoadMode) -> Result<Loaded, SuiteError> {
    let source = read_source(path, ctx)?;
    let (suite, diagnostics) = analyze(path, &source, ctx, mode);
    match suite {
        Some(suite) if !has_errors(&diagnostics) => Ok(Loaded {
            suite,
            warnings: diagnostics,
        }),
        _ => Err(SuiteError::Invalid {
            file: path.to_path_buf(),
            rendered: render_all(&diagnostics, &source, false),
            diagnostics,
        }),
    }
}

pub(crate) fn read_source(path: &Path, ctx: &Context) -> Result<String, SuiteError> {
    crate::bounded::read_bounded_string(&ctx.resolve(path), crate::bounded::SUITE_LIMIT).map_err(
        |source| SuiteError::Io {
            path: path.to_path_buf(),
            source,
        },
    )
}

/// Parses and validates `source`; diagnostics come back sorted by position.
/// The suite is `None` when the YAML did not even fit the raw structure.
pub(crate) fn analyze(
    path: &Path,
    source: &str,
    ctx: &Context,
    mode: LoadMode,
) -> (Option<Suite>, Vec<Diagnostic>) {
    let mut diags = Diags::new(path.to_path_buf());
    let suite = match serde_saphyr::from_str_with_options::<RawSuite>(source, suite_options()) {
        Ok(raw) => {
            let suite_dir = ctx
                .resolve(path)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            Some(convert(
                raw, path, &suite_dir, source, ctx, mode, &mut diags,
            ))
        }
        Err(err) => {
            yaml_error(&err, source, &mut diags);
            None
        }
    };
    let mut list = diags.list;
    list.sort_by_key(|d| d.pos);
    (suite, list)
}

/// The reader's options. The budget fits every suite up to the size cap
/// (`bounded::SUITE_LIMIT`, 8 MiB: at most a few million nodes, so `init`'s output from any
/// vendor document fits) while alias and anchor limits stay at their defaults against
/// "billion laughs" expansion. Comments are never read into the model, so they are not
/// buffered either: a long run of comment lines (an `init` suite's commented-out
/// endpoints) used to fail with "too many buffered comments while looking ahead".
pub(crate) fn suite_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        emit_comments: false,
        budget: serde_saphyr::budget! {
            max_nodes: 4_000_000,
            max_events: 8_000_000,
        },
    }
}

pub(crate) fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics
        .iter()
        .any(|d| d.severity == DiagSeverity::Error)
}

/// Every diagnostic rendered, each followed by a blank line.
pub(crate) fn render_all(diagnostics: &[Diagnostic], source: &str, color: bool) -> String {
    diagnostics
        .iter()
        .map(|d| d.render(source, color) + "\n")
        .collect()
}

/// Turns a serde-saphyr error into one diagnostic. Messages never quote scalar
/// values: a mistyped field may hold a secret.
fn yaml_error(err: &YamlError, source: &str, diags: &mut Diags) {
    let err = err.without_snippet();
    let pos = err
        .location()
        .map(|l| Pos {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        })
        .unwrap_or_default();
    let wrong_type = match key_before(source, pos) {
        Some(key) => format!("wrong type for `{key}`"),
        None => "wrong type".to_string(),
    };
    match err {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => {
            let label = if expected.is_empty() {
                "no keys are allowed here".to_string()
            } else {
                format!("expected one of {}", one_of(expected))
            };
            let help = did_you_mean(field, expected.iter().copied());
            let d = diags.error(pos, format!("unknown key `{field}`"), label);
            d.help = help.map(|h| format!("did you mean `{h}`?"));
        }
        YamlError::SerdeMissingField { field, .. } => {
            diags.error(
                pos,
                format!("missing required key `{field}`"),
                format!("this mapping needs `{field}`"),
            );
        }
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            let d = diags.error(
                pos,
                format!("invalid value `{variant}`"),
                format!("expected one of {}", one_of(expected)),
            );
            d.suggest(variant, expected.iter().copied());
        }
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => {
            diags.error(
                pos,
                format!("{wrong_type}: found {}", value_kind(unexpected)),
                format!("expected {expected}"),
            );
        }
        YamlError::SerdeInvalidValue { expected, .. } => {
            diags.error(pos, "invalid value", format!("expected {expected}"));
        }
        YamlError::InvalidScalar { ty, .. } => {
            diags.error(pos, wrong_type, format!("expected {}", scalar_kind(ty)));
        }
        YamlError::Unexpected { expected, .. } => {
            diags.error(
                pos,
                wrong_type,
                format!("expected {}", token_kind(expected)),
            );
        }
        YamlError::InvalidBooleanStrict { .. } => {
            diags.error(pos, wrong_type, "expected `true` or `false`");
        }
        YamlError::NullIntoString { .. } => {
            diags.error(
                pos,
                format!("{wrong_type}: found an empty value"),
                "expected a string",
            );
        }
        YamlError::DuplicateMappingKey { key, .. } => {
            let message = match key {
                Some(k) => format!("duplicate key `{k}`"),
                None => "duplicate key".to_string(),
            };
            diags.error(pos, message, "each key may appear once in a mapping");
        }
        other => {
            let text: String = DefaultMessageFormatter
                .format_message(other)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            diags.error(pos, format!("invalid YAML: {text}"), "");
        }
    }
}

/// The mapping key written just before `pos` on its line (`  key: <pos>`), if any.
fn key_before(source: &str, pos: Pos) -> Option<String> {
    let line = source.lines().nth((pos.line as usize).checked_sub(1)?)?;
    let prefix: String = line
        .chars()
        .take((pos.column as usize).checked_sub(1)?)
        .collect();
    let key = prefix.trim_end().strip_suffix(':')?;
    let key = key
        .rsplit(|c: char| c == '{' || c == ',' || c.is_whitespace())
        .next()?
        .trim_matches(|c| c == '"' || c == '\'');
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    plain.then(|| key.to_string())
}

/// "string \"sim_cs_x\"" → "a string": the kind only, never the value.
fn value_kind(unexpected: &str) -> String {
    let kind = unexpected
        .split(['"', '`', '\''])
        .next()
        .unwrap_or(unexpected)
        .trim();
    match kind {
        "map" => "a mapping".to_string(),
        "sequence" | "string" | "boolean" => format!("a {kind}"),
        "integer" => "an integer".to_string(),
        "floating point" => "a number".to_string(),
        "unit value" => "an empty value".to_string(),
        _ => kind.to_string(),
    }
}

fn scalar_kind(ty: &str) -> String {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer".to_string(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "bool" => "`true` or `false`".to_string(),
        other => format!("a value of type {other}"),
    }
}

fn token_kind(expected: &str) -> String {
    match expected {
        "sequence start" => "a sequence".to_string(),
        "mapping start" | "struct mapping start" => "a mapping".to_string(),
        "string scalar" => "a string".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnose(yaml: &str) -> Vec<Diagnostic> {
        analyze(
            Path::new("s.yaml"),
            yaml,
            &Context::empty("/"),
            LoadMode::Check,
        )
        .1
    }

    const HEAD: &str = "version: 1\nprovider:\n  name: demo\n  base_url: http://127.0.0.1/\nauth:\n  grant: client_credentials\n  token_url: /t\n  client_id: app\n";

    #[test]
    fn unknown_key_points_at_the_key_with_a_suggestion() {
        let d = diagnose(&format!(
            "{HEAD}endpoints:\n  - id: a\n    path: /x\n    require: [a]\n"
        ));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "unknown key `require`");
        assert_eq!(
            d[0].pos,
            Pos {
                line: 12,
                column: 5
            }
        );
        assert_eq!(d[0].help.as_deref(), Some("did you mean `requires`?"));
    }

    #[test]
    fn wrong_types_never_quote_the_value() {
        let d = diagnose(&format!(
            "{HEAD}connections:\n  - id: a\n    credential: [sim_at_1]\n"
        ));
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].message.as_str(), d[0].label.as_str()),
            ("wrong type for `credential`", "expected a string")
        );
        let d = diagnose(&format!("{HEAD}limits:\n  concurrency: many\n"));
        assert_eq!(d[0].label, "expected a non-negative integer");
        assert_eq!(
            d[0].pos,
            Pos {
                line: 10,
                column: 16
            }
        );
    }

    #[test]
    fn invalid_enum_value_lists_choices() {
        let d = diagnose(&HEAD.replace("client_credentials", "client_credential"));
        assert_eq!(d[0].message, "invalid value `client_credential`");
        assert_eq!(
            d[0].label,
            "expected one of `authorization_code`, `client_credentials`, `static_bearer`, `password`"
        );
        assert_eq!(
            d[0].help.as_deref(),
            Some("did you mean `client_credentials`?")
        );
    }

    #[test]
    fn missing_key_and_yes_as_boolean() {
        let d = diagnose("version: 1\nprovider:\n  name: demo\nauth:\n  grant: static_bearer\n");
        assert_eq!(d[0].message, "missing required key `base_url`");
        let d = diagnose(&format!(
            "{HEAD}connections:\n  - id: a\n    disposable: yes\n"
        ));
        assert_eq!(d[0].label, "expected `true` or `false`");
    }

    #[test]
    fn keys_before_positions() {
        let src = "a:\n  limit: x\n  q: { lim: 2 }\n- b\n";
        assert_eq!(
            key_before(
                src,
                Pos {
                    line: 2,
                    column: 10
                }
            ),
            Some("limit".into())
        );
        assert_eq!(
            key_before(
                src,
                Pos {
                    line: 3,
                    column: 13
                }
            ),
            Some("lim".into())
        );
        assert_eq!(key_before(src, Pos { line: 4, column: 3 }), None);
        assert_eq!(key_before(src, Pos { line: 9, column: 3 }), None);
    }

    #[test]
    fn value_kinds() {
        assert_eq!(value_kind("string \"sim_cs_1\""), "a string");
        assert_eq!(value_kind("map"), "a mapping");
        assert_eq!(value_kind("integer `5`"), "an integer");
    }
}
