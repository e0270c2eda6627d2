//! `reconstruct --destroy-decryption-key`: overwrite, fsync and remove the key files.
//!
//! Each file is overwritten in place with random bytes over its whole length, synced to
//! the device, unlinked, and its folder synced. On SSDs and flash media (USB sticks, SD
//! cards) wear levelling may keep old blocks elsewhere, so this is not a guarantee there:
//! the runbook says to destroy such media physically when that matters.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use rand_core::{OsRng, RngCore};

/// Overwrites `path` with random bytes, syncs, removes it and syncs its folder.
pub fn destroy(path: &Path) -> io::Result<()> {
    let len = fs::symlink_metadata(path)?.len();
    let mut file = OpenOptions::new().write(true).open(path)?;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        OsRng.fill_bytes(&mut chunk[..n]);
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    drop(file);
    fs::remove_file(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
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
}
