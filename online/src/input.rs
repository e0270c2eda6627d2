//! Reading what crossed the air gap: a file, photos or screenshots of its QR codes, or
//! the UR text of its frames. Whatever the carrier, the result is the file's exact
//! bytes, then parsed and fully validated by `keyexport-shared`.

use std::path::{Path, PathBuf};

use keyexport_shared::files::{Artifact, OfflineSecret};
use keyexport_shared::input;
use keyexport_shared::transport::{
    Content, FrameCollector, TransportError, decode_image, sniff, ur_lines,
};

use crate::error::{InputError, OnlineError};

/// A file's bytes, however they arrived.
#[derive(Debug)]
pub struct Received {
    /// The exact bytes.
    pub bytes: Vec<u8>,
    /// How they arrived, for messages: "file", "QR images", "UR text".
    pub carrier: &'static str,
    /// The first input, to place outputs next to.
    pub first: PathBuf,
}

impl Received {
    /// The bytes received do not parse as the file expected.
    pub fn unparsable(&self, error: keyexport_shared::Error) -> InputError {
        InputError::Unparsable {
            path: self.first.clone(),
            carrier: self.carrier,
            error,
        }
    }
}

/// An image by its content: PNG and JPEG are scanned, other formats refused by name.
fn is_image(bytes: &[u8]) -> bool {
    matches!(sniff(bytes), Some(Content::Image(_)))
}

fn is_ur_text(bytes: &[u8]) -> bool {
    sniff(bytes) == Some(Content::UrText)
}

/// Reads the inputs: one plain file, or any number of QR images and UR text files whose
/// frames together make one payload.
pub fn receive(inputs: &[PathBuf]) -> Result<Received, OnlineError> {
    let first = inputs.first().ok_or(InputError::Missing)?.clone();
    let mut files = Vec::with_capacity(inputs.len());
    for path in inputs {
        let bytes = input::read(path, input::IMAGE).map_err(|error| InputError::Unreadable {
            path: path.clone(),
            error,
        })?;
        if let Some(secret) = OfflineSecret::recognise(&bytes) {
            return Err(OnlineError::OfflineSecret {
                path: path.clone(),
                what: secret.describe(),
            });
        }
        files.push((path.as_path(), bytes));
    }
    let framed = files
        .iter()
        .filter(|(_, b)| is_image(b) || is_ur_text(b))
        .count();
    if framed == 0 {
        if files.len() > 1 {
            return Err(InputError::SeveralFiles.into());
        }
        let (path, bytes) = files.remove(0);
        input::check_size(bytes.len(), input::DOCUMENT).map_err(|error| {
            InputError::Unreadable {
                path: path.to_path_buf(),
                error,
            }
        })?;
        return Ok(Received {
            bytes,
            carrier: "file",
            first,
        });
    }
    if framed != files.len() {
        return Err(InputError::MixedCarriers.into());
    }
    let mut collector = FrameCollector::new();
    let mut carrier = "UR text";
    for (path, bytes) in &files {
        let texts = if is_image(bytes) {
            carrier = "QR images";
            decode_image(bytes).map_err(|e| frame_error(path, e))?
        } else {
            let text = String::from_utf8_lossy(bytes);
            ur_lines(&text).map(|(_, line)| line.to_owned()).collect()
        };
        for text in texts {
            collector.push(&text).map_err(|e| frame_error(path, e))?;
        }
    }
    let bytes = collector
        .finish()
        .map_err(|error| InputError::IncompleteFrames { error })?;
    Ok(Received {
        bytes,
        carrier,
        first,
    })
}

fn frame_error(path: &Path, error: TransportError) -> InputError {
    InputError::BadFrame {
        path: path.to_path_buf(),
        error,
    }
}

/// Parses received bytes as any artifact this tool knows.
pub fn parse(received: &Received) -> Result<Artifact, OnlineError> {
    Artifact::parse(&received.bytes).map_err(|error| received.unparsable(error).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_carriers() {
        assert!(is_image(b"\x89PNG\r\n\x1a\nrest"));
        assert!(is_image(&[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(is_ur_text(b"  UR:BYTES/1-3/abc\n"));
        assert!(is_ur_text(b"ur:bytes/xyz"));
        assert!(!is_ur_text(b"{\"kind\":\"keyexport-request\"}"));
        assert!(!is_image(b"{}"));
    }

    #[test]
    fn several_plain_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        std::fs::write(&a, "{}").unwrap();
        std::fs::write(&b, "{}").unwrap();
        assert!(matches!(
            receive(&[a, b]),
            Err(OnlineError::Input(InputError::SeveralFiles))
        ));
    }
}
