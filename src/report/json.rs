//! The JSON reporter: `reports/<run-id>/run.json` and the `reports/latest` link.
//! Only reads a finished run.

use crate::model::Exchange;
use crate::report::ahead::{Nested, render};
use crate::run::Run;
use rayon::iter::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::cell::Cell;
use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};

thread_local! {
    /// Set while [`write_run`] serialises a run on this thread: `Run::exchanges` then writes
    /// an empty array, which the [`Splice`] writer replaces by the exchanges rendered on every
    /// core.
    static SPLICE_EXCHANGES: Cell<bool> = const { Cell::new(false) };
    /// Set while that empty array is being written (and until [`Splice`] has replaced it).
    static EXCHANGES_NEXT: Cell<bool> = const { Cell::new(false) };
}

/// Exchanges rendered at once: bounds what is held in memory beyond the run itself.
const RENDER_BATCH: usize = 512;

/// How `Run::exchanges` serialises: while [`write_run`] writes, as an empty array the writer
/// fills in (the exchanges are most of a `run.json`); otherwise one by one as usual. The bytes
/// are the same either way.
pub(crate) fn serialize_exchanges<S: Serializer>(
    exchanges: &[Exchange],
    s: S,
) -> Result<S::Ok, S::Error> {
    if !SPLICE_EXCHANGES.get() {
        return exchanges.serialize(s);
    }
    EXCHANGES_NEXT.set(true);
    let written = s.serialize_seq(Some(0)).and_then(|seq| seq.end());
    EXCHANGES_NEXT.set(false);
    written
}

/// Writes a run as `to_writer_pretty` does, except that the `exchanges` array (left empty by
/// [`serialize_exchanges`]) is written here: a batch at a time, each exchange rendered on its
/// own core. The pretty printer writes an empty array as `[` then `]`; the `[` is held back
/// and, when the `]` follows, the whole array goes out instead.
struct Splice<'a, W: Write> {
    out: W,
    exchanges: &'a [Exchange],
    /// Each exchange's text rendered ahead, looked up meanwhile on a thread of its own.
    ahead: Option<std::thread::ScopedJoinHandle<'a, Vec<Option<&'a [u8]>>>>,
    /// The empty array's `[` was held back.
    open: bool,
}

impl<W: Write> Write for Splice<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if EXCHANGES_NEXT.get() {
            match (self.open, buf) {
                (false, b"[") => {
                    tracing::debug!("run.json head written");
                    self.open = true;
                    return Ok(1);
                }
                (true, b"]") => {
                    self.open = false;
                    EXCHANGES_NEXT.set(false);
                    let ahead = match self.ahead.take().map(|h| h.join()) {
                        Some(Ok(texts)) => texts,
                        // A lookup that panicked found nothing: every exchange is rendered.
                        Some(Err(_)) | None => vec![None; self.exchanges.len()],
                    };
                    tracing::debug!("rendered exchanges found");
                    write_exchanges(&mut self.out, self.exchanges, &ahead)?;
                    return Ok(1);
                }
                (true, _) => {
                    return Err(std::io::Error::other(
                        "run.json: the exchanges array was not written as expected",
                    ));
                }
                _ => {}
            }
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The `exchanges` array as the pretty printer writes it two levels deep: each exchange's text
/// rendered ahead when there is one for it (`ahead`, by position; see
/// [`crate::report::ahead`]), else rendered here.
fn write_exchanges(
    out: &mut impl Write,
    exchanges: &[Exchange],
    ahead: &[Option<&[u8]>],
) -> std::io::Result<()> {
    if exchanges.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    let mut first = true;
    let mut found = 0;
    for (batch, texts) in exchanges
        .chunks(RENDER_BATCH)
        .zip(ahead.chunks(RENDER_BATCH))
    {
        let rendered: Vec<Cow<'_, [u8]>> = batch
            .par_iter()
            .zip(texts.par_iter())
            .map(|(x, text)| match text {
                Some(text) => Ok(Cow::Borrowed(*text)),
                None => render(x).map(Cow::Owned),
            })
            .collect::<Result<_, _>>()?;
        found += rendered
            .iter()
            .filter(|t| matches!(t, Cow::Borrowed(_)))
            .count();
        // Written straight from the texts (no copy into the writer's buffer), a batch at a
        // time: each text after its separator.
        let mut slices = Vec::with_capacity(2 * rendered.len());
        for text in &rendered {
            slices.push(IoSlice::new(if first { b"\n    " } else { b",\n    " }));
            slices.push(IoSlice::new(text));
            first = false;
        }
        write_all_vectored(out, &mut slices)?;
    }
    tracing::debug!(
        exchanges = exchanges.len(),
        rendered_ahead = found,
        "exchanges written"
    );
    out.write_all(b"\n  ]")
}

/// `Write::write_all_vectored`, which is not stable yet.
fn write_all_vectored(out: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a driftwatch run file ({reason}); re-run `driftwatch run` to produce a new one", path.display())]
    Corrupt { path: PathBuf, reason: String },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ReportError {
    let path = path.to_path_buf();
    move |source| ReportError::Io {
        action,
        path,
        source,
    }
}

/// Writes `<reports>/<run-id>/run.json` and points `<reports>/latest` at that
/// directory. Returns the path of `run.json`.
pub fn write_run(reports: &Path, run: &Run) -> Result<PathBuf, ReportError> {
    let dir = reports.join(&run.run_id);
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let path = dir.join("run.json");
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io("create a file in", &dir))?;
    let corrupt = |e: serde_json::Error| ReportError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    };
    std::thread::scope(|scope| {
        // The texts rendered ahead are looked up (every exchange hashed) while the fields
        // before the exchanges are written.
        let ahead = (!run.rendered.is_empty()).then(|| {
            scope.spawn(|| {
                let found = run
                    .exchanges
                    .par_iter()
                    .map(|x| run.rendered.text_of(x))
                    .collect::<Vec<_>>();
                tracing::debug!("exchanges looked up");
                found
            })
        });
        // Streamed: a merged run of thousands of connections is hundreds of MiB of text.
        let mut out = Splice {
            out: std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut()),
            exchanges: &run.exchanges,
            ahead,
            open: false,
        };
        SPLICE_EXCHANGES.set(true);
        // `to_writer_pretty`'s bytes, with fewer writes (see `Nested`).
        let mut ser = serde_json::Serializer::with_formatter(&mut out, Nested::at(0));
        let written = run.serialize(&mut ser);
        SPLICE_EXCHANGES.set(false);
        written.map_err(corrupt)?;
        out.write_all(b"\n").map_err(io("write", &path))?;
        out.flush().map_err(io("write", &path))
    })?;
    tmp.persist(&path)
        .map_err(|e| io("write", &path)(e.error))?;
    point_latest(reports, &run.run_id)?;
    Ok(path)
}

/// Reads a `run.json` back (for `report`, `merge` and tests), parsing from a
/// buffered reader rather than holding the whole text.
pub fn read_run(path: &Path) -> Result<Run, ReportError> {
    let file =
        crate::bounded::open_bounded(path, crate::bounded::RUN_LIMIT).map_err(io("read", path))?;
    run_from_reader(std::io::BufReader::new(file), path)
}

/// Parses a run from `reader`, refusing any other format version; `path` only names the
/// source in errors.
pub fn run_from_reader(reader: impl std::io::Read, path: &Path) -> Result<Run, ReportError> {
    let run: Run = serde_json::from_reader(reader).map_err(|e| ReportError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if run.format != crate::run::RUN_FORMAT {
        return Err(ReportError::Corrupt {
            path: path.to_path_buf(),
            reason: unknown_format(&run.format),
        });
    }
    Ok(run)
}

/// Why a run file of another format version is refused: its fields may mean
/// something else, so nothing of it is rendered or merged.
pub(crate) fn unknown_format(format: &str) -> String {
    format!(
        "unsupported format `{}` (expected `{}`)",
        format.escape_debug(),
        crate::run::RUN_FORMAT
    )
}

#[cfg(unix)]
fn point_latest(reports: &Path, run_id: &str) -> Result<(), ReportError> {
    let latest = reports.join("latest");
    let tmp = reports.join(format!(".latest-{run_id}"));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(run_id, &tmp).map_err(io("link", &tmp))?;
    std::fs::rename(&tmp, &latest).map_err(io("replace", &latest))
}

#[cfg(not(unix))]
fn point_latest(reports: &Path, run_id: &str) -> Result<(), ReportError> {
    // No cheap atomic symlink: `latest` is a directory holding a copy of run.json.
    let latest = reports.join("latest");
    std::fs::create_dir_all(&latest).map_err(io("create", &latest))?;
    let src = reports.join(run_id).join("run.json");
    std::fs::copy(&src, latest.join("run.json")).map_err(io("copy", &src))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exchanges rendered on every core leave `run.json` byte for byte what the pretty
    /// printer writes in one pass, nested bodies, headers and escapes included.
    #[test]
    fn run_json_with_exchanges_rendered_in_parallel_is_the_plain_pretty_text() {
        // More than one batch.
        let mut run = crate::report::fixture::html_run();
        let one = run.exchanges[0].clone();
        for i in 0..(RENDER_BATCH + 100) {
            let mut x = one.clone();
            x.id = format!("x{i:04}");
            if let Some(resp) = x.response.as_mut() {
                resp.body = Some(format!(
                    "{{\"n\": {i}, \"s\": \"line\\nbreak \\\"q\\\" ü\"}}"
                ));
            }
            run.exchanges.push(x);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = write_run(dir.path(), &run).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        let plain = serde_json::to_string_pretty(&run).unwrap() + "\n";
        assert_eq!(written, plain);
        assert!(
            written.contains("\n    {\n      \"id\": \"x0611\""),
            "{written}"
        );
        assert_eq!(read_run(&path).unwrap().exchanges, run.exchanges);

        // No exchanges at all (say, every connection unusable before its first call).
        run.exchanges.clear();
        run.run_id.push_str("-none");
        let path = write_run(dir.path(), &run).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written, serde_json::to_string_pretty(&run).unwrap() + "\n");
        assert!(written.contains("\n  \"exchanges\": [],\n"), "{written}");
    }

    /// Issue 17: the exchanges rendered ahead (while the answers arrived) are written as they
    /// were rendered; one changed since, or never rendered, is rendered when written. The file
    /// is the plain pretty text either way.
    #[test]
    fn run_json_takes_the_exchanges_rendered_ahead_and_renders_those_changed_since() {
        static B: crate::report::ahead::Budget = crate::report::ahead::Budget::new(1 << 20);
        let mut run = crate::report::fixture::html_run();
        let one = run.exchanges[0].clone();
        // More than one batch.
        for i in 0..(2 * RENDER_BATCH + 20) {
            let mut x = one.clone();
            x.id = format!("x{i:04}");
            run.exchanges.push(x);
        }
        let n = run.exchanges.len();
        for x in &run.exchanges[..n - 5] {
            run.rendered
                .insert(crate::report::ahead::render_ahead(x, &B).unwrap());
        }
        // Changed after they were rendered: a body reduced, an id prefixed.
        run.exchanges[3].response.as_mut().unwrap().body = Some("{\"reduced\":1}".into());
        run.exchanges[4].id = format!("s1-{}", run.exchanges[4].id);
        run.exchanges[2 * RENDER_BATCH + 3].duration_ms += 1;
        let dir = tempfile::tempdir().unwrap();
        let path = write_run(dir.path(), &run).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written, serde_json::to_string_pretty(&run).unwrap() + "\n");

        // The texts found are the ones written: a forged one shows.
        let forged = "{\"forged\": true}";
        run.rendered.insert(crate::report::ahead::forged(
            &run.exchanges[RENDER_BATCH + 7],
            forged,
        ));
        run.run_id.push_str("-forged");
        let written = std::fs::read_to_string(write_run(dir.path(), &run).unwrap()).unwrap();
        assert!(
            written.contains(&format!(",\n    {forged},\n")),
            "{written}"
        );
        assert_eq!(written.matches(forged).count(), 1);
    }
}
