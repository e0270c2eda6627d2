//! What an input file holds, told by its content, never by its name: the one set of rules
//! both tools and every command that reads a QR image, a JSON document or UR text use.
//!
//! - An image is recognised by its magic bytes ([`sniff_image`]): PNG and JPEG are
//!   scanned; GIF, TIFF and the other formats known here are recognised so the decoder can
//!   refuse them by name.
//! - Text may start with a UTF-8 byte order mark (Windows editors write one) and
//!   whitespace: a document starts with `{`, UR text with `ur:` in any case.
//! - UR text holds one frame per line; blank lines, surrounding whitespace and the byte
//!   order mark are ignored ([`ur_lines`]).

use super::scan::{ImageKind, sniff_image};

/// The UTF-8 byte order mark.
const BOM: char = '\u{feff}';

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// An image (PNG and JPEG are scanned; other formats are refused by name).
    Image(ImageKind),
    /// A JSON document (text starting with `{`).
    Json,
    /// UR frames as text, one per line.
    UrText,
}

/// Recognises what `bytes` hold, or `None` when they are none of the [`Content`] kinds.
pub fn sniff(bytes: &[u8]) -> Option<Content> {
    if let Some(kind) = sniff_image(bytes) {
        return Some(Content::Image(kind));
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let start = text.trim_start_matches(BOM).trim_start();
    if start.starts_with('{') {
        Some(Content::Json)
    } else if is_ur(start) {
        Some(Content::UrText)
    } else {
        None
    }
}

/// Whether `text` starts like a UR (`ur:`, any case).
pub fn is_ur(text: &str) -> bool {
    text.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("ur:"))
}

/// The non-blank lines of a UR text, trimmed and without the byte order mark, each with
/// its line number (from 1).
pub fn ur_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.trim_start_matches(BOM)
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_by_their_magic_bytes() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(Content::Image(ImageKind::Png))
        );
        assert_eq!(
            sniff(b"\xff\xd8\xff\xe0...."),
            Some(Content::Image(ImageKind::Jpeg))
        );
        assert_eq!(
            sniff(b"GIF89a\x01\0\x01\0"),
            Some(Content::Image(ImageKind::Unsupported("GIF")))
        );
        assert_eq!(
            sniff(b"GIF87a\x01\0\x01\0"),
            Some(Content::Image(ImageKind::Unsupported("GIF")))
        );
    }

    #[test]
    fn documents_and_frames_may_start_with_a_bom_and_whitespace() {
        for json in [
            &b"{}"[..],
            b"  \n{\"a\":1}",
            b"\xef\xbb\xbf{}",
            b"\xef\xbb\xbf \r\n{}",
        ] {
            assert_eq!(sniff(json), Some(Content::Json), "{json:?}");
        }
        for ur in [
            &b"ur:bytes/abc"[..],
            b"UR:BYTES/1-2/X",
            b"\n  Ur:bytes/x",
            b"\xef\xbb\xbfUR:BYTES/X",
        ] {
            assert_eq!(sniff(ur), Some(Content::UrText), "{ur:?}");
        }
    }

    #[test]
    fn anything_else_is_unknown() {
        for other in [
            &b""[..],
            b"   ",
            b"hello",
            b"[1, 2]",
            b"u",
            b"\xff\xfe{\0}\0",
            b"\xef\xbb\xbfhello",
        ] {
            assert_eq!(sniff(other), None, "{other:?}");
        }
        assert!(!is_ur("ur"));
        assert!(!is_ur("urn:x"));
        assert!(is_ur("uR:"));
    }

    #[test]
    fn ur_lines_skip_blanks_and_the_bom_and_keep_line_numbers() {
        let text = "\u{feff}UR:BYTES/1-2/A\r\n\n   \n  UR:BYTES/2-2/B  \n";
        let lines: Vec<(usize, &str)> = ur_lines(text).collect();
        assert_eq!(lines, [(1, "UR:BYTES/1-2/A"), (4, "UR:BYTES/2-2/B")]);
        assert_eq!(ur_lines("").count(), 0);
    }
}
