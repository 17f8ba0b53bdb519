//! Bounded reads of local files (DESIGN.md safety rule 7): every file
//! driftwatch reads — suite, `schema:` file, config, credential store,
//! snapshot, run.json — must be a regular file under a documented size, so a
//! FIFO, `/dev/zero`, a directory or a runaway file is a clear error at once
//! instead of a hang or an exhausted memory.
//!
//! The errors are `std::io::Error`s so that every call site keeps its own
//! error variant, which already names the file.

use std::io::{self, Read};
use std::path::Path;

const MIB: u64 = 1024 * 1024;

/// Suites (`*.yaml`) and the files a suite names (`schema:`, suppressions).
pub const SUITE_LIMIT: u64 = 8 * MIB;
/// `driftwatch.toml`.
pub const CONFIG_LIMIT: u64 = 8 * MIB;
/// The credential store (and its temp files).
pub const STORE_LIMIT: u64 = 16 * MIB;
/// One snapshot (`.snap`, `.snap.new`) or baseline file.
pub const SNAPSHOT_LIMIT: u64 = 16 * MIB;
/// An OpenAPI document given to `init --from`.
pub const SPEC_LIMIT: u64 = 64 * MIB;
/// One `run.json` (`report`, `merge`, `review --run`, HTML history).
pub const RUN_LIMIT: u64 = 1024 * MIB;

/// Human form of a limit for messages ("8 MiB").
pub fn describe(limit: u64) -> String {
    if limit >= MIB && limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else {
        format!("{limit} bytes")
    }
}

/// Opens `path` for reading after checking it is a regular file no larger
/// than `limit`; the reader stops after `limit + 1` bytes whatever happens to
/// the file meanwhile (callers that read it whole check the length).
pub fn open_bounded(path: &Path, limit: u64) -> io::Result<io::Take<std::fs::File>> {
    // Checked before opening: opening a FIFO for reading blocks until a writer comes.
    check(&std::fs::metadata(path)?, limit)?;
    let file = std::fs::File::open(path)?;
    // And again on what was opened, in case the path was swapped meanwhile.
    check(&file.metadata()?, limit)?;
    Ok(file.take(limit + 1))
}

/// Reads the whole of `path`, a regular file of at most `limit` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_bounded(path, limit)?.read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// [`read_bounded`] for text: invalid UTF-8 is an `InvalidData` error.
pub fn read_bounded_string(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_bounded(path, limit)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

fn check(meta: &std::fs::Metadata, limit: u64) -> io::Result<()> {
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a device, FIFO or socket)"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{kind}: only regular files are read"),
        ));
    }
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    Ok(())
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than the {} limit", describe(limit)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_zero_is_refused_as_not_a_regular_file() {
        let e = read_bounded(Path::new("/dev/zero"), SUITE_LIMIT).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a regular file (a device, FIFO or socket): only regular files are read"
        );
    }

    #[test]
    fn directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_bounded(dir.path(), SUITE_LIMIT).unwrap_err();
        assert_eq!(e.to_string(), "a directory: only regular files are read");
    }

    #[cfg(unix)]
    #[test]
    fn fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let e = read_bounded(&fifo, SUITE_LIMIT).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn oversize_file_is_refused_and_limit_itself_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'a'; 11]).unwrap();
        let e = read_bounded(&path, 10).unwrap_err();
        assert_eq!(e.to_string(), "larger than the 10 bytes limit");
        assert_eq!(read_bounded(&path, 11).unwrap().len(), 11);
        assert_eq!(describe(SUITE_LIMIT), "8 MiB");
    }
}
