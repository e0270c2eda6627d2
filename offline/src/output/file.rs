//! New output files: checked before any secret is touched, written atomically, never over
//! an existing file.

use std::path::Path;

use keyexport_shared::fsio;

use crate::error::{CliError, CliResult, UsageError};

/// Checks, before any passphrase is asked or secret touched, that `path` can become a new
/// file: nothing is there (not even a dangling link), and its folder exists and is
/// writable.
pub fn check_new_file(path: &Path) -> CliResult<()> {
    if path.symlink_metadata().is_ok() {
        return Err(CliError::OutputExists {
            path: path.to_path_buf(),
        });
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let unusable = |problem: String| CliError::OutputUnusable {
        path: path.to_path_buf(),
        problem,
    };
    match folder.metadata() {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(unusable(format!("{} is not a folder", folder.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(unusable(format!(
                "the folder {} does not exist",
                folder.display()
            )));
        }
        Err(e) => {
            return Err(unusable(format!(
                "cannot use the folder {}: {e}",
                folder.display()
            )));
        }
    }
    rustix::fs::access(
        folder,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    )
    .map_err(|e| {
        unusable(format!(
            "cannot create a file in {}: {}",
            folder.display(),
            std::io::Error::from(e)
        ))
    })
}

/// Checks, before any passphrase is asked or key opened, that the folder `dir` given
/// with `flag` can receive several new files: absent, or an empty folder. A file there is
/// a usage error saying `why` a folder is needed.
pub fn check_new_folder(dir: &Path, flag: &str, why: &str) -> CliResult<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            Some(_) => Err(CliError::OutputDirNotEmpty {
                path: dir.to_path_buf(),
            }),
            None => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(CliError::Usage(UsageError::FolderIsAFile {
                flag: flag.to_owned(),
                dir: dir.to_path_buf(),
                why: why.to_owned(),
            }))
        }
        Err(source) => Err(CliError::Write {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Writes an output file atomically, never over an existing one (named as such).
pub fn write_output(path: &Path, bytes: &[u8], mode: fsio::FileMode) -> CliResult<()> {
    fsio::write_new(path, bytes, mode).map_err(|e| {
        if path.exists() {
            CliError::OutputExists {
                path: path.to_path_buf(),
            }
        } else {
            CliError::shared(path.display().to_string(), e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_folder_is_absent_or_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let check = |dir: &Path| check_new_folder(dir, "--out", "a batch writes one file per key");
        check(&tmp.path().join("absent")).unwrap();
        check(tmp.path()).unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = check(tmp.path()).unwrap_err();
        assert!(matches!(err, CliError::OutputDirNotEmpty { .. }), "{err}");
        let err = check(&file).unwrap_err();
        assert!(matches!(err, CliError::Usage(_)), "{err}");
        assert!(
            err.to_string()
                .ends_with("/file: a batch writes one file per key: give a new or empty folder"),
            "{err}"
        );
    }
}
