//! `driftwatch config`'s text: every effective setting with its source, the
//! webhook URL masked. Presentation only; the chain itself lives in the parent.

use super::{DEFAULT_CONFIG, Settings, Source, mask_url};
use clap::ValueEnum;
use std::path::PathBuf;
use std::time::Duration;

impl Settings {
    /// [`Settings::render`] limited to `keys` (the settings one command reads), after the
    /// config-file line.
    pub fn render_only(&self, keys: &[&str]) -> String {
        self.render()
            .lines()
            .filter(|l| {
                l.starts_with('#')
                    || l.split_whitespace().next().is_some_and(|k| {
                        keys.contains(&k)
                            || (k.starts_with("severity.") && keys.contains(&"severity"))
                    })
            })
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// `key = value  # source` lines, secrets masked (for `driftwatch config`).
    pub fn render(&self) -> String {
        fn line(out: &mut String, key: &str, value: String, source: Source) {
            out.push_str(&format!("{key:<18} = {value:<28} # {source}\n"));
        }
        fn opt_path(p: &Option<PathBuf>, unset: &str) -> String {
            p.as_ref()
                .map_or(unset.to_string(), |p| format!("\"{}\"", p.display()))
        }
        let enum_name = |v: Option<clap::builder::PossibleValue>| {
            v.map_or(String::new(), |p| format!("\"{}\"", p.get_name()))
        };
        let mut out = String::new();
        out.push_str(&match &self.file {
            Some(f) => format!("# config file: {}\n", f.display()),
            None => format!("# config file: none (no {DEFAULT_CONFIG})\n"),
        });
        let s = self;
        line(
            &mut out,
            "snapshots",
            format!("\"{}\"", s.snapshots.value.display()),
            s.snapshots.source,
        );
        line(
            &mut out,
            "reports",
            format!("\"{}\"", s.reports.value.display()),
            s.reports.source,
        );
        line(
            &mut out,
            "credentials",
            opt_path(&s.credentials.value, "(platform data directory)"),
            s.credentials.source,
        );
        line(
            &mut out,
            "credential_helper",
            s.credential_helper
                .value
                .as_ref()
                .map_or("(each suite's auth.credential_helper)".into(), |h| {
                    format!("\"{h}\"")
                }),
            if s.credential_helper.value.is_none() {
                Source::Suite
            } else {
                s.credential_helper.source
            },
        );
        line(
            &mut out,
            "fail_on",
            enum_name(s.fail_on.value.to_possible_value()),
            s.fail_on.source,
        );
        line(
            &mut out,
            "expiry_window",
            format!("\"{}\"", format_duration(s.expiry_window.value)),
            s.expiry_window.source,
        );
        line(
            &mut out,
            "suppressions",
            opt_path(
                &s.suppressions.value,
                "(driftwatch.ignore.yaml when it exists)",
            ),
            s.suppressions.source,
        );
        line(
            &mut out,
            "update",
            enum_name(s.update.value.to_possible_value()),
            s.update.source,
        );
        line(
            &mut out,
            "evidence",
            enum_name(s.evidence.value.to_possible_value()),
            s.evidence.source,
        );
        let formats: Vec<String> = s
            .formats
            .value
            .iter()
            .map(|f| enum_name(f.to_possible_value()))
            .collect();
        line(
            &mut out,
            "format",
            format!("[{}]", formats.join(", ")),
            s.formats.source,
        );
        let outputs: Vec<String> = s
            .outputs
            .value
            .iter()
            .map(|p| format!("\"{}\"", p.display()))
            .collect();
        line(
            &mut out,
            "output",
            format!("[{}]", outputs.join(", ")),
            s.outputs.source,
        );
        line(
            &mut out,
            "webhook.url",
            s.webhook_url
                .value
                .as_ref()
                .map_or("(none)".into(), |u| format!("\"{}\"", mask_url(u))),
            s.webhook_url.source,
        );
        line(
            &mut out,
            "webhook.on",
            enum_name(s.webhook_on.value.to_possible_value()),
            s.webhook_on.source,
        );
        line(
            &mut out,
            "webhook.report_url",
            s.webhook_report_url
                .value
                .as_ref()
                .map_or("(none)".into(), |u| format!("\"{u}\"")),
            s.webhook_report_url.source,
        );
        line(
            &mut out,
            "history",
            opt_path(&s.history.value, "false"),
            s.history.source,
        );
        // One line per severity override, keys aligned among themselves; an entry a more
        // specific layer replaces says by what.
        let mut overrides: Vec<&crate::rules::SeverityOverride> = s.severity.0.iter().collect();
        overrides.sort_by(|a, b| {
            (a.provider.as_deref(), a.rule.id(), &a.origin).cmp(&(
                b.provider.as_deref(),
                b.rule.id(),
                &b.origin,
            ))
        });
        let key = |o: &crate::rules::SeverityOverride| match &o.provider {
            Some(p) => format!("severity.{p}.\"{}\"", o.rule.id()),
            None => format!("severity.\"{}\"", o.rule.id()),
        };
        let width = overrides.iter().map(|o| key(o).len()).max().unwrap_or(0);
        for o in &overrides {
            let winner = overrides.iter().find(|x| {
                x.rule == o.rule
                    && x.origin > o.origin
                    && (x.provider.is_none() || (o.provider.is_some() && x.provider == o.provider))
            });
            let shadowed = winner.map_or(String::new(), |w| {
                format!(" (replaced by the {})", w.origin)
            });
            out.push_str(&format!(
                "{:<width$} = {:<10} # {}{shadowed}\n",
                key(o),
                format!("\"{}\"", o.severity),
                o.origin
            ));
        }
        out
    }
}

/// `7d`, `12h`, `5m` or `30s`: the largest unit that divides the duration.
fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
