//! `reconstruct --destroy-decryption-key`: overwrite, fsync, verify and remove the key files.
//!
//! Each file is opened without following a symbolic link (`O_NOFOLLOW`) and must be a
//! regular file; it is overwritten in place with random bytes over the length of the
//! opened file (not of whatever a name points to), synced to the device, read back and
//! compared with what was written, unlinked only if the name still refers to that same
//! file, and its folder synced. A symbolic link planted in the key's place is refused by
//! [`check`] before anything is written, so the real key cannot survive behind a
//! "Destroyed" line.
//!
//! On SSDs and flash media (USB sticks, SD cards) wear levelling may keep old blocks
//! elsewhere, so this is not a guarantee there: the runbook says to destroy such media
//! physically when that matters.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};
use rustix::fs::OFlags;
use sha2::{Digest, Sha256};

use crate::error::{CliError, CliResult, InputProblem};

/// Size of one overwrite chunk.
const CHUNK: usize = 64 * 1024;

/// Refuses, before anything is written, key files that cannot be destroyed in place: a
/// symbolic link (the file it points to would survive), or anything but a regular file.
pub fn check(paths: &[PathBuf]) -> CliResult<()> {
    for path in paths {
        let refuse = |problem: InputProblem| CliError::Input {
            path: path.display().to_string(),
            problem,
        };
        let meta = fs::symlink_metadata(path).map_err(|e| {
            refuse(InputProblem::DestroyUncheckable {
                reason: e.to_string(),
            })
        })?;
        if meta.file_type().is_symlink() {
            return Err(refuse(InputProblem::DestroySymlink {
                target: fs::read_link(path).ok(),
            }));
        }
        if !meta.file_type().is_file() {
            return Err(refuse(InputProblem::DestroyNotRegular));
        }
    }
    Ok(())
}

/// Overwrites the regular file `path` with random bytes, syncs, checks the overwrite,
/// removes it and syncs its folder. Refuses symbolic links and other non-regular files.
pub fn destroy(path: &Path) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((OFlags::NOFOLLOW | OFlags::NOCTTY).bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let written = overwrite(&mut file, meta.len())?;
    file.sync_all()?;
    file.seek(SeekFrom::Start(0))?;
    if read_digest(&mut file, meta.len())? != written {
        return Err(io::Error::other(
            "the overwrite did not read back as written",
        ));
    }
    drop(file);
    // Unlink only the file that was overwritten, not one put in its place meanwhile.
    let now = fs::symlink_metadata(path)?;
    if now.dev() != meta.dev() || now.ino() != meta.ino() {
        return Err(io::Error::other(
            "the file was replaced while it was being overwritten",
        ));
    }
    fs::remove_file(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Writes `len` random bytes from the start of `file`; returns their SHA-256.
fn overwrite(file: &mut File, len: u64) -> io::Result<[u8; 32]> {
    digest_in_chunks(len, |chunk| {
        OsRng.fill_bytes(chunk);
        file.write_all(chunk)
    })
}

/// SHA-256 of the first `len` bytes of `file`, from its current position.
fn read_digest(file: &mut File, len: u64) -> io::Result<[u8; 32]> {
    digest_in_chunks(len, |chunk| file.read_exact(chunk))
}

/// SHA-256 of `len` bytes that `fill` writes or reads one chunk at a time.
fn digest_in_chunks(
    len: u64,
    mut fill: impl FnMut(&mut [u8]) -> io::Result<()>,
) -> io::Result<[u8; 32]> {
    let mut chunk = vec![0u8; CHUNK];
    let mut digest = Sha256::new();
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        fill(&mut chunk[..n])?;
        digest.update(&chunk[..n]);
        left -= n as u64;
    }
    Ok(digest.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k.age");
        fs::write(&path, vec![7u8; 100_000]).unwrap();
        destroy(&path).unwrap();
        assert!(!path.exists());
        assert!(destroy(&path).is_err());
    }

    #[test]
    fn a_symlink_is_refused_and_its_target_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("stick-copy.age");
        fs::write(&real, b"the real sealed key").unwrap();
        let link = tmp.path().join("decryption-key.age");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = check(std::slice::from_ref(&link)).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(destroy(&link).is_err());
        assert_eq!(fs::read(&real).unwrap(), b"the real sealed key");
        assert!(link.symlink_metadata().is_ok());
        // A folder is not a key file either.
        assert!(check(&[tmp.path().to_path_buf()]).is_err());
        check(&[real]).unwrap();
    }
}
