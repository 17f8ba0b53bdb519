//! Where the store's files live: the real target of a (possibly symlinked)
//! store path, and the names of its sidecars (`.lock`, `.journal`) and of the
//! temp files of its atomic writes. Plain file-system calls, no JSON.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Symlink hops followed before giving up (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

/// Temp files of an atomic write are `.<store file name>.<6 random>.tmp`.
pub(super) const TEMP_SUFFIX: &str = ".tmp";
pub(super) const TEMP_RAND_LEN: usize = 6;

/// What versions before the journal called their temp files:
/// `.credentials-<6 random>`, whatever the store's name.
const LEGACY_TEMP_PREFIX: &str = ".credentials-";

/// The real file behind `given`: every symlink followed, hop by hop (a link
/// whose target does not exist yet resolves to that target), then the parent
/// directory canonicalised. With `create`, a missing parent directory is made
/// first; without, a missing directory leaves the path as it stands.
pub(super) fn resolve(given: &Path, create: bool) -> io::Result<PathBuf> {
    let mut p = given.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)?;
                // A relative target is relative to the link's directory.
                p = parent_dir(&p).join(target);
            }
            Ok(_) => return std::fs::canonicalize(&p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let Some(name) = p.file_name().map(|n| n.to_os_string()) else {
                    return Ok(p);
                };
                let dir = parent_dir(&p);
                return match std::fs::canonicalize(dir) {
                    Ok(d) => Ok(d.join(name)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                        std::fs::create_dir_all(dir)?;
                        Ok(std::fs::canonicalize(dir)?.join(name))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(p),
                    Err(e) => Err(e),
                };
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "more than {MAX_LINKS} symbolic links in a row"
    )))
}

/// The directory holding `path` (`.` for a bare file name).
pub(super) fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `<real>.<ext>`: the lock or the journal beside the store.
pub(super) fn sidecar(real: &Path, ext: &str) -> PathBuf {
    let mut name = real.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(ext);
    real.with_file_name(name)
}

/// `.<store file name>.`: the temp-file prefix of this store's writes, so
/// two stores in one directory never touch each other's temp files.
pub(super) fn temp_prefix(real: &Path) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(real.file_name().unwrap_or_default());
    prefix.push(".");
    prefix
}

/// The temp files an interrupted write of this store may have left:
/// `.<name>.XXXXXX.tmp`, and the legacy `.credentials-XXXXXX`. Sorted, for a
/// deterministic recovery order. A missing directory has none.
pub(super) fn leftover_temps(real: &Path) -> Vec<PathBuf> {
    let prefix = temp_prefix(real);
    let prefix = prefix.to_string_lossy();
    let Ok(dir) = std::fs::read_dir(parent_dir(real)) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = dir
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let own = name
                .strip_prefix(&*prefix)
                .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
                .is_some_and(random_part);
            let legacy = name
                .strip_prefix(LEGACY_TEMP_PREFIX)
                .is_some_and(random_part);
            own || legacy
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// The random part tempfile puts in a name: exactly 6 ASCII alphanumerics.
fn random_part(s: &str) -> bool {
    s.len() == TEMP_RAND_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Makes a directory's entries (a rename, a new or removed file) durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir) {
        Ok(d) => d.sync_all(),
        // Some platforms cannot open a directory; the rename itself stands.
        Err(_) => Ok(()),
    }
}
