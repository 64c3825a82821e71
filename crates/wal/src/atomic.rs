//! Crash-safe replacement of a whole file: the content goes to `<file>.tmp`, is fsynced, renamed
//! over the file, and the directory is fsynced, so a crash leaves the old or the new file, never
//! a torn one.
//!
//! Here rather than in each user because several stores need it (the notifier's state files,
//! the ML reference datasets) and this crate is the one that owns fsync discipline while
//! depending on nothing else of Vigil's.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::segment::TMP_SUFFIX;

/// The temporary file [`write_atomic`] writes before the rename: `<path>.tmp`.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TMP_SUFFIX);
    PathBuf::from(name)
}

/// Writes `bytes` to `path` atomically (see the module doc), creating the parent directory if
/// needed. Blocking. Writers of the same `path` must be serialised by the caller: they share
/// the temporary file name.
///
/// # Errors
/// The failed step, with the file it failed on in the message (`create`, `write` or `fsync` of
/// the temporary file, the `rename`, the directory fsync); the error keeps the underlying
/// [`io::ErrorKind`]. Before the rename the previous file is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| context("create directory", dir, e))?;
    let tmp = tmp_path(path);
    {
        let mut f = fs::File::create(&tmp).map_err(|e| context("create", &tmp, e))?;
        f.write_all(bytes).map_err(|e| context("write", &tmp, e))?;
        f.sync_all().map_err(|e| context("fsync", &tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| context("rename to", path, e))?;
    // Make the rename itself durable. Not every platform lets a directory be opened, and some
    // file systems refuse fsync on one (EINVAL); anything else is a real failure.
    if let Ok(d) = fs::File::open(dir) {
        match d.sync_all() {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                ) => {}
            Err(e) => return Err(context("fsync directory", dir, e)),
        }
    }
    Ok(())
}

fn context(step: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{step} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sub").join("state.bin");
        write_atomic(&path, b"one").expect("write");
        write_atomic(&path, b"two").expect("rewrite");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        assert!(!tmp_path(&path).exists());
    }

    #[test]
    fn a_failure_names_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        // The parent is a file, so the directory cannot be created.
        let blocker = dir.path().join("blocker");
        fs::write(&blocker, b"x").expect("write");
        let err = write_atomic(&blocker.join("f"), b"x").expect_err("must fail");
        assert!(err.to_string().contains("blocker"), "{err}");
    }
}
