//! Conversion of `auth.authorize_params`: extra parameters of the authorization request
//! (`access_type: offline`, `prompt: consent`, …), checked so they can never replace what the
//! code and device flows set themselves.
//!
//! Part of the raw → model conversion; never quotes a parameter value.

use super::convert::{Converter, pos};
use super::model::{Located, Pos};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// Parameters the flows set themselves; a suite may not set them.
pub const RESERVED_AUTHORIZE_PARAMS: [&str; 7] = [
    "client_id",
    "code_challenge",
    "code_challenge_method",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
];

impl Converter<'_> {
    pub(super) fn authorize_params(
        &mut self,
        raw: Option<&Spanned<BTreeMap<String, Spanned<String>>>>,
    ) -> BTreeMap<String, Located<String>> {
        let mut out = BTreeMap::new();
        let Some(raw) = raw else {
            return out;
        };
        for (name, value) in &raw.value {
            let at = self.key_pos(name, pos(value));
            if RESERVED_AUTHORIZE_PARAMS.contains(&name.as_str()) {
                let help = if name == "scope" {
                    "scopes come from the connection's scope set or `auth.scopes`"
                } else {
                    "`driftwatch connect` sets it on every authorization request"
                };
                self.diags
                    .error(
                        at,
                        format!("`{name}` cannot be set in `authorize_params`"),
                        "reserved authorization parameter",
                    )
                    .help = Some(help.to_string());
                continue;
            }
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
            {
                self.diags.error(
                    at,
                    format!(
                        "invalid authorization parameter name `{}`",
                        name.escape_debug()
                    ),
                    "expected letters, digits, `_`, `-`, `.` or `:`",
                );
                continue;
            }
            let text = self.text(value);
            if text.value.chars().any(char::is_control) {
                self.diags.error(
                    text.pos,
                    format!("authorization parameter `{name}` contains control characters"),
                    "expected one line of text",
                );
                continue;
            }
            out.insert(name.clone(), text.located());
        }
        out
    }

    /// Where `key` is written on the line of its value (flow or block mapping); else the value.
    fn key_pos(&self, key: &str, value_at: Pos) -> Pos {
        let Some(line) = self
            .source
            .lines()
            .nth((value_at.line as usize).wrapping_sub(1))
        else {
            return value_at;
        };
        let before: String = line
            .chars()
            .take((value_at.column as usize).saturating_sub(1))
            .collect();
        match before.rfind(key).filter(|_| !key.is_empty()) {
            Some(i) => Pos {
                line: value_at.line,
                column: u32::try_from(before[..i].chars().count() + 1).unwrap_or(value_at.column),
            },
            None => value_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::load::{analyze, render_all};
    use super::super::model::Pos;
    use super::super::{LoadMode, Suite};
    use crate::context::Context;
    use std::path::Path;

    const HEAD: &str = "version: 1\nprovider:\n  name: demo\n  base_url: http://127.0.0.1/\nauth:\n  grant: authorization_code\n  token_url: /t\n  client_id: app\n";

    fn load(tail: &str) -> (Option<Suite>, Vec<super::super::Diagnostic>, String) {
        let src = format!("{HEAD}{tail}");
        let ctx = Context::empty("/").with_var("HINT", "ops@acme.example");
        let (suite, diags) = analyze(Path::new("s.yaml"), &src, &ctx, LoadMode::Check);
        (suite, diags, src)
    }

    #[test]
    fn authorize_params_are_read_and_interpolated() {
        let (suite, diags, _) = load(
            "  authorize_params: {access_type: offline, prompt: consent, login_hint: \"${env:HINT}\"}\n",
        );
        assert_eq!(diags, vec![]);
        let params: Vec<(String, String)> = suite
            .unwrap()
            .auth
            .authorize_params
            .into_iter()
            .map(|(k, v)| (k, v.value))
            .collect();
        assert_eq!(
            params,
            [
                ("access_type".to_string(), "offline".to_string()),
                ("login_hint".to_string(), "ops@acme.example".to_string()),
                ("prompt".to_string(), "consent".to_string()),
            ]
        );
    }

    #[test]
    fn reserved_authorize_params_are_rejected_at_the_key() {
        let (_, diags, src) = load(
            "  authorize_params:\n    access_type: offline\n    client_id: other\n    redirect_uri: http://evil.example/cb\n",
        );
        let got: Vec<(String, Pos)> = diags.iter().map(|d| (d.message.clone(), d.pos)).collect();
        assert_eq!(
            got,
            [
                (
                    "`client_id` cannot be set in `authorize_params`".to_string(),
                    Pos {
                        line: 11,
                        column: 5
                    }
                ),
                (
                    "`redirect_uri` cannot be set in `authorize_params`".to_string(),
                    Pos {
                        line: 12,
                        column: 5
                    }
                ),
            ]
        );
        let rendered = render_all(&diags[..1], &src, false);
        assert_eq!(
            rendered,
            "error: `client_id` cannot be set in `authorize_params`\n  --> s.yaml:11:5\n   |\n11 |     client_id: other\n   |     ^^^^^^^^^ reserved authorization parameter\n   |\n   = help: `driftwatch connect` sets it on every authorization request\n\n"
        );
    }

    #[test]
    fn every_flow_parameter_is_reserved() {
        for name in super::RESERVED_AUTHORIZE_PARAMS {
            let (suite, diags, _) = load(&format!("  authorize_params: {{{name}: x}}\n"));
            assert_eq!(diags.len(), 1, "{name}");
            assert_eq!(
                diags[0].pos,
                Pos {
                    line: 9,
                    column: 22
                },
                "{name}"
            );
            assert!(
                suite.is_some_and(|s| s.auth.authorize_params.is_empty()),
                "{name}"
            );
        }
    }

    #[test]
    fn bad_names_and_control_characters_are_rejected_without_quoting_values() {
        let (_, diags, _) =
            load("  authorize_params:\n    \"a b\": x\n    prompt: \"consent\\nsim_at_secret\"\n");
        let got: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            got,
            [
                "invalid authorization parameter name `a b`",
                "authorization parameter `prompt` contains control characters",
            ]
        );
        assert!(!format!("{diags:?}").contains("sim_at_secret"));
    }
}
