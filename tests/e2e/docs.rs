//! The documentation set stays honest: every relative link in README.md and
//! docs/*.md resolves, docs/index.md lists every doc, and every `driftwatch`
//! command the guides show exists with the flags they use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Docs written by work merged alongside this one; a link to one of them may dangle until the
/// merge lands. Remove an entry once its file exists on the main branch.
const PENDING_DOCS: &[&str] = &[];

/// Subcommands being added by parallel work (same rule as `PENDING_DOCS`).
const PENDING_COMMANDS: &[&str] = &[];

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| Path::new("docs").join(p.file_name().unwrap()))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Targets of inline Markdown links `[text](target)`, outside fenced code blocks.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or_default();
            out.push(target.to_string());
            rest = &after[end..];
        }
    }
    out
}

/// The file a relative link points at (anchor dropped), relative to the crate root;
/// None for external links and same-page anchors.
fn local_target(from: &Path, link: &str) -> Option<PathBuf> {
    if link.is_empty()
        || link.starts_with('#')
        || link.contains("://")
        || link.starts_with("mailto:")
    {
        return None;
    }
    let path = link.split('#').next().unwrap_or_default();
    let mut out = from.parent().unwrap_or(Path::new("")).to_path_buf();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    Some(out)
}

#[test]
fn links_extract_and_resolve() {
    let text = "see [a](docs/a.md#x) and [b](../suites/examples/ \"t\"), [c](https://x.y)\n```\n[d](no.md)\n```\n";
    assert_eq!(
        links(text),
        ["docs/a.md#x", "../suites/examples/", "https://x.y"]
    );
    assert_eq!(
        local_target(Path::new("docs/faq.md"), "../suites/examples/"),
        Some(PathBuf::from("suites/examples"))
    );
    assert_eq!(
        local_target(Path::new("README.md"), "docs/a.md#x"),
        Some(PathBuf::from("docs/a.md"))
    );
    assert_eq!(local_target(Path::new("README.md"), "#exit-codes"), None);
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(root().join(&file)).unwrap();
        for link in links(&text) {
            let Some(target) = local_target(&file, &link) else {
                continue;
            };
            let pending = PENDING_DOCS.iter().any(|p| Path::new(p) == target);
            if !root().join(&target).exists() && !pending {
                broken.push(format!("{}: {link}", file.display()));
            }
        }
    }
    assert_eq!(broken, Vec::<String>::new());
}

#[test]
fn docs_index_lists_every_doc() {
    let index = std::fs::read_to_string(root().join("docs/index.md")).unwrap();
    let listed: BTreeSet<PathBuf> = links(&index)
        .iter()
        .filter_map(|l| local_target(Path::new("docs/index.md"), l))
        .collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let path = Path::new("docs").join(&name);
        if name != "index.md" && !listed.contains(&path) {
            missing.push(name);
        }
    }
    missing.sort();
    assert_eq!(
        missing,
        Vec::<String>::new(),
        "docs/index.md does not link these"
    );
    for pending in PENDING_DOCS {
        assert!(
            listed.contains(Path::new(pending)),
            "{pending} not in the index"
        );
    }
}

fn help(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `driftwatch <sub> …` invocations shown in a guide: lines of fenced code blocks that start
/// with `driftwatch `, and inline code spans that do.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            let shell = line.trim_start();
            if shell.starts_with("driftwatch ") {
                out.push(shell.split(" #").next().unwrap_or(shell).trim().to_string());
            }
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("`driftwatch ") {
            let span = &rest[i + 1..];
            let end = span.find('`').unwrap_or(span.len());
            out.push(span[..end].trim().to_string());
            rest = &span[end..];
        }
    }
    out
}

#[test]
fn commands_are_found_in_code_only() {
    let text = "driftwatch keeps tokens; run `driftwatch tokens --json` or\n```sh\ndriftwatch run --fail-on warning   # nightly\n  driftwatch check a.yaml\n```\n";
    assert_eq!(
        commands(text),
        [
            "driftwatch tokens --json",
            "driftwatch run --fail-on warning",
            "driftwatch check a.yaml"
        ]
    );
}

#[test]
fn guides_show_only_commands_and_flags_that_exist() {
    let top = help(&[]);
    let mut checked = 0;
    for guide in ["docs/getting-started.md", "docs/faq.md"] {
        let text = std::fs::read_to_string(root().join(guide)).unwrap();
        for cmd in commands(&text) {
            let mut words = cmd.split_whitespace().skip(1);
            let Some(sub) = words.next() else { continue };
            if sub.starts_with('<') || PENDING_COMMANDS.contains(&sub) {
                continue;
            }
            assert!(
                top.contains(&format!("\n  {sub} ")),
                "{guide}: `{cmd}`: no subcommand `{sub}`"
            );
            let sub_help = help(&[sub]);
            for flag in words.filter(|w| w.starts_with("--")) {
                let flag = flag.split('=').next().unwrap_or(flag);
                assert!(
                    sub_help.contains(flag),
                    "{guide}: `{cmd}`: `driftwatch {sub}` has no flag `{flag}`"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} commands found");
}
