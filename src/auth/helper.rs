//! The credential-helper backend of the store: runs `<cmd> get <key>` /
//! `<cmd> store <key>` with a deadline and moves entries through it as JSON.
//!
//! Knows the helper protocol (docs/credential-helpers.md), not the token
//! manager. Never puts the helper's stdout into an error (it holds secrets);
//! stderr is shown only after [`scrub`] has removed anything token-shaped.

use super::store::{Entry, StoreError};
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one helper call may take before it is killed.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// More output than any credential entry needs; a bound keeps a runaway
/// helper from exhausting memory.
const MAX_STDOUT: u64 = 1024 * 1024;
const MAX_STDERR: u64 = 64 * 1024;
/// How much of the (scrubbed) stderr a reason quotes.
const STDERR_TAIL: usize = 400;
/// Shortest run of token characters that [`scrub`] treats as a secret.
const TOKEN_MIN_LEN: usize = 16;

/// A parsed helper command line. `Debug` shows only what the user wrote.
#[derive(Debug, Clone)]
pub(crate) struct HelperCommand {
    line: String,
    argv: Vec<String>,
    timeout: Duration,
}

/// Why a helper command line cannot be used at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    Empty,
    Unbalanced,
}

impl ParseError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            ParseError::Empty => "the command is empty",
            ParseError::Unbalanced => "it has an unterminated quote or a trailing backslash",
        }
    }
}

/// What the helper produced when it succeeded.
#[derive(Debug)]
pub(crate) struct Output {
    /// Raw stdout: may hold secrets, never goes into a message.
    pub(crate) stdout: Vec<u8>,
}

impl HelperCommand {
    /// Splits `line` like a POSIX shell would; no shell ever runs it.
    pub(crate) fn parse(line: &str) -> Result<HelperCommand, ParseError> {
        let argv = shlex::split(line).ok_or(ParseError::Unbalanced)?;
        if argv.is_empty() {
            return Err(ParseError::Empty);
        }
        Ok(HelperCommand {
            line: line.trim().to_string(),
            argv,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The command as the user wrote it, for messages.
    pub(crate) fn line(&self) -> &str {
        &self.line
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Runs `<cmd> <action> <key>`, feeding `input` on stdin when given.
    /// The error is a reason fit for a message (no stdout, scrubbed stderr).
    pub(crate) fn run(
        &self,
        action: &str,
        key: &str,
        input: Option<&[u8]>,
    ) -> Result<Output, String> {
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .arg(action)
            .arg(key)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so a timeout kills a script's children too
        // (a killed `sh` would otherwise leave `vault` holding our pipes).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "cannot start `{}`: not found (is it installed and on PATH?)",
                self.argv[0]
            ),
            _ => format!("cannot start `{}`: {e}", self.argv[0]),
        })?;
        let deadline = Instant::now() + self.timeout;

        let writer = match (input, child.stdin.take()) {
            (Some(bytes), Some(mut stdin)) => {
                let bytes = bytes.to_vec();
                // Dropping `stdin` at the end closes the pipe: the helper sees EOF.
                Some(std::thread::spawn(move || stdin.write_all(&bytes)))
            }
            _ => None,
        };
        let stdout = spawn_reader(child.stdout.take(), MAX_STDOUT);
        let stderr = spawn_reader(child.stderr.take(), MAX_STDERR);

        let Some(status) = wait_until(&mut child, deadline) else {
            kill(&mut child);
            return Err(self.timed_out());
        };
        // A helper's background child may keep the pipes open past its exit.
        let (Some(out), Some(err)) = (recv_until(&stdout, deadline), recv_until(&stderr, deadline))
        else {
            kill(&mut child);
            return Err(self.timed_out());
        };
        let written = writer.map(|w| w.join());

        if !status.success() {
            return Err(format!(
                "{}{}",
                describe_status(status),
                stderr_note(err.as_deref().unwrap_or_default())
            ));
        }
        match written {
            Some(Ok(Err(e))) => {
                return Err(format!(
                    "the entry could not be handed to it on stdin ({e})"
                ));
            }
            Some(Err(_)) => return Err("the entry could not be handed to it on stdin".into()),
            _ => {}
        }
        match out {
            Ok(stdout) => Ok(Output { stdout }),
            Err(ReadError::TooLarge) => Err(format!(
                "its output is larger than {} KiB, which no credential entry needs",
                MAX_STDOUT / 1024
            )),
            Err(ReadError::Io(e)) => Err(format!("cannot read its output ({e})")),
        }
    }

    fn timed_out(&self) -> String {
        format!(
            "it did not finish within {} and was stopped; run it by hand to see whether it waits for input (helpers must not prompt)",
            human_duration(self.timeout)
        )
    }
}

#[derive(Debug)]
enum ReadError {
    TooLarge,
    Io(std::io::Error),
}

type Received = Result<Vec<u8>, ReadError>;

/// Reads a pipe to its end on a thread so stdout and stderr never block each other.
fn spawn_reader<R: Read + Send + 'static>(pipe: Option<R>, limit: u64) -> mpsc::Receiver<Received> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let result = match pipe {
            None => Ok(buf),
            Some(pipe) => match pipe.take(limit + 1).read_to_end(&mut buf) {
                Ok(_) if buf.len() as u64 > limit => Err(ReadError::TooLarge),
                Ok(_) => Ok(buf),
                Err(e) => Err(ReadError::Io(e)),
            },
        };
        let _ = tx.send(result);
    });
    rx
}

fn recv_until(rx: &mpsc::Receiver<Received>, deadline: Instant) -> Option<Received> {
    let left = deadline.saturating_duration_since(Instant::now());
    rx.recv_timeout(left).ok()
}

/// Polls for exit until `deadline`; `None` means it is still running.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            // Cannot observe it any more: treat like a hang so it is killed.
            Err(_) => return None,
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn kill(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pgid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) has no memory effects; the negative pid names the
        // process group created for this child by `process_group(0)`.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("it exited with code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("it was killed by signal {signal}");
        }
    }
    "it failed without an exit code".into()
}

/// `; its stderr (secrets removed): …` or nothing when stderr was empty.
fn stderr_note(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let scrubbed = scrub(text.trim());
    let flat = scrubbed.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return String::new();
    }
    // The end of stderr is where scripts say what finally went wrong.
    let tail = match flat.char_indices().rev().nth(STDERR_TAIL - 1) {
        Some((at, _)) if at > 0 => format!("…{}", &flat[at..]),
        _ => flat,
    };
    format!("; its stderr (secrets removed): {tail}")
}

/// Replaces every run of [`TOKEN_MIN_LEN`]+ token characters
/// (`[A-Za-z0-9_.~+/=-]`) with `[REDACTED]`. Crude on purpose: it also eats
/// long paths, which is a fair price for never echoing a token.
pub(crate) fn scrub(text: &str) -> String {
    fn is_token_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || "_.~+/=-".contains(c)
    }
    let mut out = String::with_capacity(text.len());
    let mut run_start: Option<usize> = None;
    let flush = |out: &mut String, run: &str| {
        if run.len() >= TOKEN_MIN_LEN {
            out.push_str("[REDACTED]");
        } else {
            out.push_str(run);
        }
    };
    for (i, c) in text.char_indices() {
        if is_token_char(c) {
            run_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = run_start.take() {
            flush(&mut out, &text[start..i]);
        }
        out.push(c);
    }
    if let Some(start) = run_start {
        flush(&mut out, &text[start..]);
    }
    out
}

fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn failed(helper: &HelperCommand, action: &str, key: &str, reason: String) -> StoreError {
    StoreError::Helper {
        command: helper.line().to_string(),
        action: format!("{action} `{key}`"),
        reason,
    }
}

/// `<cmd> get <key>`: an entry as JSON, or empty output for "not found".
pub(super) fn get(helper: &HelperCommand, key: &str) -> Result<Option<Entry>, StoreError> {
    let out = helper
        .run("get", key, None)
        .map_err(|reason| failed(helper, "get", key, reason))?;
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&out.stdout).map(Some).map_err(|e| {
        let reason = format!(
            "its output is not a credential entry (line {} column {}: {})",
            e.line(),
            e.column(),
            super::store::classify_json(&e)
        );
        failed(helper, "get", key, reason)
    })
}

/// `<cmd> store <key>` with the entry as JSON on stdin; exit 0 means stored.
pub(super) fn put(helper: &HelperCommand, key: &str, entry: &Entry) -> Result<(), StoreError> {
    let mut json = serde_json::to_vec(entry).map_err(|e| {
        failed(
            helper,
            "store",
            key,
            format!("cannot encode the entry ({e})"),
        )
    })?;
    json.push(b'\n');
    helper
        .run("store", key, Some(&json))
        .map(drop)
        .map_err(|reason| failed(helper, "store", key, reason))
}

#[cfg(test)]
mod tests;
