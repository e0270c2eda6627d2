//! Durable file writes: nothing is lost, nothing is clobbered.
//!
//! [`write_new`] writes to a temporary file in the destination folder, fsyncs it,
//! links it into place only if the name is still free, and fsyncs the folder, so a
//! crash leaves either no file or the whole file, and an existing file is never
//! replaced. Secret files are created with mode 0600 from the first byte.
//!
//! [`NewFiles`] writes many files into one folder the same way, except that the folder
//! is fsynced once, after the last file, instead of once per file (a batch of key files).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

use crate::{Error, Result};

/// Who may read a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// Owner only (0600): keys, sealed keys, anything secret.
    Secret,
    /// Readable by all (0644): requests, responses, QR images, transcripts.
    Public,
}

impl FileMode {
    fn bits(self) -> u32 {
        match self {
            FileMode::Secret => 0o600,
            FileMode::Public => 0o644,
        }
    }
}

/// Writes `bytes` to a new file at `path`, atomically; fails if `path` exists.
pub fn write_new(path: &Path, bytes: &[u8], mode: FileMode) -> Result<()> {
    let dir = parent_dir(path);
    write_unsynced(&dir, path, bytes, mode)?;
    sync_dir(&dir, path)
}

/// Many new files in one folder, each written as [`write_new`] writes it (temporary file,
/// fsync of the file, linked into place only if the name is free), with **one** fsync of
/// the folder for all of them, by [`NewFiles::sync`].
///
/// Until `sync` has returned, a crash may lose the names of the files written since the
/// folder was last synced (never leave a partial file, never replace an existing one), so
/// the caller reports the files as written only after `sync`.
#[derive(Debug)]
#[must_use = "call sync() once the files are written, before reporting them written"]
pub struct NewFiles {
    dir: PathBuf,
}

impl NewFiles {
    /// Files to be written into `dir` (which must exist).
    pub fn new(dir: &Path) -> NewFiles {
        NewFiles {
            dir: dir.to_path_buf(),
        }
    }

    /// Writes `bytes` to the new file `name` of the folder; fails if it exists. Returns
    /// its path. Safe to call from several threads at once.
    pub fn write(&self, name: &str, bytes: &[u8], mode: FileMode) -> Result<PathBuf> {
        let path = self.dir.join(name);
        if path.parent() != Some(self.dir.as_path()) {
            return Err(Error::io(
                "cannot write",
                &path,
                io::Error::new(io::ErrorKind::InvalidInput, "not a plain file name"),
            ));
        }
        write_unsynced(&self.dir, &path, bytes, mode)?;
        Ok(path)
    }

    /// Fsyncs the folder: every file written so far is now durable under its name.
    pub fn sync(self) -> Result<()> {
        sync_dir(&self.dir, &self.dir)
    }
}

/// [`write_new`] without the fsync of the folder.
fn write_unsynced(dir: &Path, path: &Path, bytes: &[u8], mode: FileMode) -> Result<()> {
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            "cannot write",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
        )
    })?;
    if path.symlink_metadata().is_ok() {
        return Err(Error::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    let temp = dir.join(format!(
        ".{}.tmp-{:016x}",
        name.to_string_lossy(),
        OsRng.next_u64()
    ));
    let result = write_temp(&temp, bytes, mode).and_then(|()| link_into_place(&temp, path));
    // The temporary name is gone after a successful link-and-remove; on any failure
    // remove it so no partial file is left behind.
    let _ = fs::remove_file(&temp);
    result
}

/// Appends one line (a `\n` is added) to `path`, creating it with `mode` if needed,
/// and fsyncs. Used for transcripts, which only ever grow.
pub fn append_line(path: &Path, line: &str, mode: FileMode) -> Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(mode.bits())
        .open(path)
        .map_err(|e| Error::io("cannot open for appending", path, e))?;
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("cannot append to", path, e))
}

/// Creates `dir` (and parents) if needed, and checks it holds no files.
pub fn ensure_empty_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create folder", dir, e))?;
    let mut entries = fs::read_dir(dir).map_err(|e| Error::io("cannot read folder", dir, e))?;
    if entries.next().is_some() {
        return Err(Error::io(
            "refusing to use folder",
            dir,
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "it is not empty; choose a new or empty folder",
            ),
        ));
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn write_temp(temp: &Path, bytes: &[u8], mode: FileMode) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode.bits())
        .open(temp)
        .map_err(|e| Error::io("cannot create a file in", parent_dir(temp).as_path(), e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("cannot write", temp, e))
}

fn link_into_place(temp: &Path, path: &Path) -> Result<()> {
    match fs::hard_link(temp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(Error::AlreadyExists {
            path: path.to_path_buf(),
        }),
        // File systems without hard links (FAT on USB sticks): check, then rename.
        Err(_) => {
            if path.symlink_metadata().is_ok() {
                return Err(Error::AlreadyExists {
                    path: path.to_path_buf(),
                });
            }
            fs::rename(temp, path).map_err(|e| Error::io("cannot write", path, e))
        }
    }
}

fn sync_dir(dir: &Path, path: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot flush the folder of", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_once_with_mode_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        write_new(&path, b"secret", FileMode::Secret).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let err = write_new(&path, b"other", FileMode::Secret).unwrap_err();
        assert_eq!(err.kind(), "io");
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        // No temporary files left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn new_files_share_one_folder_sync_and_refuse_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let files = NewFiles::new(dir.path());
        let a = files.write("a.hex", b"aa", FileMode::Secret).unwrap();
        assert_eq!(a, dir.path().join("a.hex"));
        files.write("b.hex", b"bb", FileMode::Public).unwrap();
        assert_eq!(
            files
                .write("a.hex", b"xx", FileMode::Secret)
                .unwrap_err()
                .kind(),
            "io"
        );
        assert!(files.write("../escape", b"x", FileMode::Public).is_err());
        assert!(files.write("sub/x", b"x", FileMode::Public).is_err());
        files.sync().unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"aa");
        assert_eq!(
            fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Only the two files: no temporary left behind, nothing written outside.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn missing_folder_is_an_error_not_a_panic() {
        let err =
            write_new(Path::new("/nonexistent-folder/x"), b"x", FileMode::Public).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-folder"), "{err}");
    }

    #[test]
    fn append_and_empty_dir() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sub/log.jsonl");
        ensure_empty_dir(&dir.path().join("sub")).unwrap();
        append_line(&log, "a", FileMode::Public).unwrap();
        append_line(&log, "b", FileMode::Public).unwrap();
        assert_eq!(fs::read_to_string(&log).unwrap(), "a\nb\n");
        assert!(ensure_empty_dir(&dir.path().join("sub")).is_err());
    }
}
