//! Reading input files: regular files only, each kind within its size limit.
//!
//! Whoever writes the stick chooses what a path names. `/dev/zero` or a FIFO never ends,
//! a 200 MB "response" would be read whole before any check; so every input the tools
//! read goes through [`read`], which refuses anything that is not a regular file (after
//! following symbolic links) and stops reading one byte past the limit of its kind.
//! The limits are far above any genuine file and are documented in `docs/formats.md`.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use zeroize::Zeroizing;

/// What is being read, and the most bytes such an input may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimit {
    /// The largest accepted size in bytes.
    pub max: u64,
    /// What the input is, for the error ("a request or response file").
    pub what: &'static str,
}

const MIB: u64 = 1024 * 1024;

/// JSON documents (request, response, batch request, custody part, key id list), UR
/// text and messages to sign: a Dfns response is capped at 1 MiB on the online side, a
/// response file adds a few hundred bytes to it.
pub const DOCUMENT: SizeLimit = SizeLimit {
    max: 2 * MIB,
    what: "a request, response, custody part, UR text or message file",
};

/// Standard input: a JSON document piped in, or the UR frames a USB QR scanner types,
/// repeats included (about 4,000 scans of the largest frames).
pub const STDIN: SizeLimit = SizeLimit {
    max: 16 * MIB,
    what: "standard input",
};

/// Small secrets: a sealed decryption key, a passphrase file, a signing key file.
pub const SECRET: SizeLimit = SizeLimit {
    max: 64 * 1024,
    what: "a sealed key, key or passphrase file",
};

/// Photos and screenshots of QR codes (a 50-megapixel JPEG is about 20 MiB).
pub const IMAGE: SizeLimit = SizeLimit {
    max: 64 * MIB,
    what: "a QR code image",
};

/// A ceremony transcript (a few KiB per step; a batch of thousands of keys stays far below).
pub const TRANSCRIPT: SizeLimit = SizeLimit {
    max: 16 * MIB,
    what: "a transcript",
};

/// A file a transcript line names and `transcript verify` checks (requests, responses,
/// QR images and animations, key files).
pub const ARTIFACT: SizeLimit = SizeLimit {
    max: 256 * MIB,
    what: "a file recorded in a transcript",
};

/// Reads `path` whole if it is a regular file of at most `limit.max` bytes.
///
/// # Errors
/// The I/O error; [`io::ErrorKind::InvalidInput`] for a device, FIFO, socket or
/// folder (checked before opening, so a FIFO cannot block the read, and again on the
/// opened file); [`io::ErrorKind::FileTooLarge`] past the limit. The messages say
/// which, and give the limit.
pub fn read(path: &Path, limit: SizeLimit) -> io::Result<Vec<u8>> {
    let (file, len) = open_regular(path, limit)?;
    let capacity = usize::try_from(len + 1).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    read_within(file, limit, &mut bytes)?;
    Ok(bytes)
}

/// Reads the small secret file `path` (a key, identity or passphrase file: [`SECRET`])
/// like [`read`], into wiped memory.
///
/// The buffer is allocated once, one byte past the limit, and the read is bounded by it,
/// so the secret is never reallocated (which would leave an unwiped copy in freed memory),
/// even if the file grows while it is read.
///
/// # Errors
/// As [`read`].
pub fn read_secret(path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    read_secret_within(path, SECRET)
}

fn read_secret_within(path: &Path, limit: SizeLimit) -> io::Result<Zeroizing<Vec<u8>>> {
    let (file, _) = open_regular(path, limit)?;
    let bound = limit.max + 1;
    let mut bytes = Zeroizing::new(Vec::with_capacity(
        usize::try_from(bound).unwrap_or(usize::MAX),
    ));
    file.take(bound).read_to_end(&mut bytes)?;
    check_size(bytes.len(), limit)?;
    Ok(bytes)
}

/// Opens `path` if it is a regular file (checked before opening, so a FIFO cannot block,
/// and again on the opened file) of at most `limit.max` bytes; returns it and its size.
/// A file that is already too large is refused without reading any of it.
fn open_regular(path: &Path, limit: SizeLimit) -> io::Result<(File, u64)> {
    check_regular(&std::fs::metadata(path)?)?;
    let file = File::open(path)?;
    let opened = file.metadata()?;
    check_regular(&opened)?;
    check_size(usize::try_from(opened.len()).unwrap_or(usize::MAX), limit)?;
    Ok((file, opened.len()))
}

/// Reads `reader` to its end (standard input) into `bytes`, failing past `limit.max`
/// bytes in total (counting what `bytes` already holds).
///
/// # Errors
/// The I/O error, or [`io::ErrorKind::FileTooLarge`] past the limit.
pub fn read_within(reader: impl Read, limit: SizeLimit, bytes: &mut Vec<u8>) -> io::Result<()> {
    let room = limit.max.saturating_sub(bytes.len() as u64);
    reader.take(room + 1).read_to_end(bytes)?;
    check_size(bytes.len(), limit)
}

/// Fails when `len` bytes are more than `limit` allows.
///
/// # Errors
/// [`io::ErrorKind::FileTooLarge`] naming the limit.
pub fn check_size(len: usize, limit: SizeLimit) -> io::Result<()> {
    if len as u64 > limit.max {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "larger than the {} that {} may have: not the expected file",
                human_size(limit.max),
                limit.what
            ),
        ));
    }
    Ok(())
}

fn check_regular(metadata: &std::fs::Metadata) -> io::Result<()> {
    if metadata.is_file() {
        return Ok(());
    }
    let what = if metadata.is_dir() {
        "a folder"
    } else {
        "a device, FIFO or socket"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file: only regular files are read"),
    ))
}

fn human_size(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: SizeLimit = SizeLimit {
        max: 10,
        what: "a test file",
    };

    #[test]
    fn regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read(&path, SMALL).unwrap(), b"0123456789");
        std::fs::write(&path, b"0123456789A").unwrap();
        let err = read(&path, SMALL).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert!(
            err.to_string()
                .contains("10 bytes that a test file may have"),
            "{err}"
        );
        // A huge (sparse) file is refused from its size, before anything is read.
        let huge = dir.path().join("huge");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        let err = read(&huge, ARTIFACT).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
    }

    #[test]
    fn secrets_are_read_within_the_limit_into_one_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let bytes = read_secret_within(&path, SMALL).unwrap();
        assert_eq!(&bytes[..], b"0123456789");
        assert_eq!(
            bytes.capacity(),
            11,
            "allocated once, one byte past the limit"
        );
        std::fs::write(&path, b"0123456789A").unwrap();
        let err = read_secret_within(&path, SMALL).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        let err = read_secret(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn devices_and_folders_are_refused_without_reading() {
        let err = read(Path::new("/dev/zero"), ARTIFACT).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        assert!(
            read(dir.path(), DOCUMENT)
                .unwrap_err()
                .to_string()
                .contains("a folder")
        );
        // A FIFO with no writer would block `open` forever: it is refused before.
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read(&fifo, DOCUMENT).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn endless_streams_stop_at_the_limit() {
        let mut bytes = b"abc".to_vec();
        let err = read_within(io::repeat(b'x'), SMALL, &mut bytes).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(bytes.len(), 11);
        assert_eq!(human_size(DOCUMENT.max), "2 MiB");
        assert_eq!(human_size(SECRET.max), "64 KiB");
    }
}
