//! Durable file writes: nothing is lost, nothing is clobbered.
//!
//! [`write_new`] writes to a temporary file in the destination folder, fsyncs it,
//! links it into place only if the name is still free, and fsyncs the folder, so a
//! crash leaves either no file or the whole file, and an existing file is never
//! replaced. Secret files are created with mode 0600 from the first byte.
//!
//! [`NewFiles`] writes many files into one folder the same way, except that the folder
//! is fsynced once, after the last file, instead of once per file (a batch of key files).
//!
//! Planted files: whoever can write the ceremony folder (or the stick it is on) could leave
//! a symbolic link where a file is expected. New files are created with `O_EXCL` on a
//! random temporary name and linked into place only if the name is free; the transcript is
//! appended with `O_NOFOLLOW` and must be a regular file; folders made here are 0700
//! whatever the umask. On file systems without hard links (FAT, exFAT: most USB sticks)
//! the temporary file is renamed into place with `renameat2(RENAME_NOREPLACE)`, which
//! fails rather than replace a file created meanwhile; only where the kernel or file
//! system lacks that (not Linux, or an old kernel) is it check-then-rename, which a
//! process racing on the same folder could defeat.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::OFlags;

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
/// and fsyncs. Used for transcripts, which only ever grow. Refuses a symbolic link at
/// `path` (`O_NOFOLLOW`: a planted link would send the line to another file) and anything
/// but a regular file.
pub fn append_line(path: &Path, line: &str, mode: FileMode) -> Result<()> {
    let planted = |what: &str| planted_error(path, what);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(mode.bits())
        .custom_flags((OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::NONBLOCK).bits() as i32)
        .open(path)
        .map_err(|e| {
            if path
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
            {
                planted("a symbolic link")
            } else {
                Error::io("cannot open for appending", path, e)
            }
        })?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io("cannot open for appending", path, e))?;
    if !meta.file_type().is_file() {
        return Err(planted("not a regular file"));
    }
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("cannot append to", path, e))
}

/// Checks, before a run does anything, that [`append_line`] will accept `path`: absent, or
/// a regular file (not a symbolic link, folder, pipe or device).
pub fn check_appendable(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot open for appending", path, e)),
        Ok(meta) if meta.file_type().is_symlink() => Err(planted_error(path, "a symbolic link")),
        Ok(meta) if !meta.file_type().is_file() => Err(planted_error(path, "not a regular file")),
        Ok(_) => Ok(()),
    }
}

fn planted_error(path: &Path, what: &str) -> Error {
    Error::io(
        "refusing to append to",
        path,
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "it is {what}, not the file itself (a planted link would send the line elsewhere); remove it and check who else can write this folder"
            ),
        ),
    )
}

/// Creates `dir` (and parents) if needed, mode 0700 whatever the umask, and checks it
/// holds no files. The folder itself is set to 0700 even if it existed (empty): only its
/// owner may plant or replace files in it.
pub fn ensure_empty_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("cannot create folder", dir, e))?;
    let meta = fs::symlink_metadata(dir).map_err(|e| Error::io("cannot read folder", dir, e))?;
    if !meta.file_type().is_dir() {
        return Err(Error::io(
            "refusing to use folder",
            dir,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "it is a symbolic link or not a folder; give a real folder",
            ),
        ));
    }
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
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("cannot set the mode of folder", dir, e))
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
    let exists = || Error::AlreadyExists {
        path: path.to_path_buf(),
    };
    match fs::hard_link(temp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(exists()),
        // File systems without hard links (FAT on USB sticks): rename, never over a file.
        Err(_) => match rename_noreplace(temp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(exists()),
            // No RENAME_NOREPLACE here: check, then rename.
            Err(e)
                if e.kind() == io::ErrorKind::InvalidInput
                    || e.kind() == io::ErrorKind::Unsupported =>
            {
                if path.symlink_metadata().is_ok() {
                    return Err(exists());
                }
                fs::rename(temp, path).map_err(|e| Error::io("cannot write", path, e))
            }
            Err(e) => Err(Error::io("cannot write", path, e)),
        },
    }
}

/// `renameat2(RENAME_NOREPLACE)`: renames `from` to `to` unless `to` exists.
#[cfg(target_os = "linux")]
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        from,
        rustix::fs::CWD,
        to,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .map_err(io::Error::from)
}

/// No `renameat2` outside Linux: the caller falls back to check-then-rename.
#[cfg(not(target_os = "linux"))]
fn rename_noreplace(_from: &Path, _to: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

fn sync_dir(dir: &Path, path: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot flush the folder of", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(err.kind(), crate::ErrorKind::Output);
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
            crate::ErrorKind::Output
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
    fn append_refuses_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere.txt");
        fs::write(&elsewhere, "untouched\n").unwrap();
        let log = dir.path().join("transcript.jsonl");
        std::os::unix::fs::symlink(&elsewhere, &log).unwrap();
        let err = append_line(&log, "a", FileMode::Public).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(check_appendable(&log).is_err());
        check_appendable(&elsewhere).unwrap();
        check_appendable(&dir.path().join("absent")).unwrap();
        assert!(check_appendable(dir.path()).is_err());
        assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "untouched\n");
        // A dangling link is refused too (it would otherwise create its target).
        let dangling = dir.path().join("dangling.jsonl");
        std::os::unix::fs::symlink(dir.path().join("new-target"), &dangling).unwrap();
        assert!(append_line(&dangling, "a", FileMode::Public).is_err());
        assert!(!dir.path().join("new-target").exists());
    }

    #[test]
    fn new_folders_are_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let made = dir.path().join("a/ceremony");
        ensure_empty_dir(&made).unwrap();
        assert_eq!(
            fs::metadata(&made).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let existing = dir.path().join("open");
        fs::create_dir(&existing).unwrap();
        fs::set_permissions(&existing, fs::Permissions::from_mode(0o777)).unwrap();
        ensure_empty_dir(&existing).unwrap();
        assert_eq!(
            fs::metadata(&existing).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn rename_noreplace_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, "a").unwrap();
        fs::write(&b, "b").unwrap();
        let err = rename_noreplace(&a, &b).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&b).unwrap(), "b");
        fs::remove_file(&b).unwrap();
        rename_noreplace(&a, &b).unwrap();
        assert_eq!(fs::read_to_string(&b).unwrap(), "a");
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
