//! New output files: checked before any secret is touched, written atomically, never over
//! an existing file.

use std::path::Path;

use keyexport_shared::fsio;

use crate::error::{CliError, CliResult};

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
