//! Fitting QR frames to a terminal: the largest code that the terminal shows whole.
//!
//! A terminal code is drawn with half blocks (one module per column, two per row, see
//! [`super::render_terminal`]), so a code of `w` modules with its 4-module quiet zone takes
//! `w + 8` columns and `(w + 8) / 2` rows (rounded up). A code wider than the terminal wraps
//! and a taller one scrolls: either way the camera sees garbage. [`fit_terminal`] therefore
//! cuts the payload into smaller fragments (fewer modules per frame, more frames) until
//! every frame fits, and refuses when even the smallest useful fragment does not.

use qrcode::Version;

use super::qr::build_code;
use super::{
    EcLevel, FrameOptions, TransportError, UrFrame, UrType, cbor_byte_string, encode_ur_frames,
};

/// Smallest fragment (payload bytes per frame) worth playing: below it a response takes
/// hundreds of frames, and the UR header dominates each code.
pub const MIN_TERMINAL_FRAGMENT_LEN: usize = 20;

/// Modules of quiet zone on each side of a terminal code (the QR standard's 4).
const QUIET_ZONE: usize = 4;

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

/// Frames cut and drawn to fit a terminal.
#[derive(Debug, Clone)]
pub struct TerminalFrames {
    /// The frames, in playing order.
    pub frames: Vec<UrFrame>,
    /// Each frame drawn as half-block text, all at one QR version (the code keeps its size
    /// and place from frame to frame).
    pub drawn: Vec<String>,
    /// Payload bytes per frame chosen.
    pub fragment_len: usize,
    /// Error-correction level chosen (the one asked for, or L when only L fits).
    pub ec_level: EcLevel,
    /// Columns one drawn code takes (quiet zone included).
    pub cols: usize,
    /// Rows one drawn code takes (quiet zone included).
    pub rows: usize,
}

/// Rows a playback screen uses below the code: one caption line.
pub const CAPTION_ROWS: u16 = 1;

impl TerminalFrames {
    /// One screen per frame, for playing in a loop: clear the terminal, the code, then one
    /// caption line, `frame i of n · SHA-256 … · NAME`, with the payload's SHA-256 whole
    /// (in groups of 8) when the terminal is wide enough, else its first and last 8 digits
    /// (what the checklist compares). No line break follows, so nothing scrolls.
    pub fn screens(&self, name: &str, digest: &str, cols: u16) -> Vec<String> {
        let cols = usize::from(cols);
        let count = self.drawn.len();
        let first = digest.get(..8).unwrap_or(digest);
        let last = digest.get(digest.len().saturating_sub(8)..).unwrap_or("");
        self.drawn
            .iter()
            .enumerate()
            .map(|(i, code)| {
                let counter = format!("frame {} of {count} · ", i + 1);
                let whole = format!("{counter}SHA-256 {} · ", group_hex(digest));
                let caption = if whole.chars().count() + 8 <= cols {
                    whole
                } else {
                    format!("{counter}SHA-256 {first}…{last} · ")
                };
                let room = cols.saturating_sub(caption.chars().count() + 1);
                format!("\x1b[2J\x1b[H{code}\n{caption}{}", shorten(name, room))
            })
            .collect()
    }
}

/// Hex in groups of 8 digits separated by spaces (`7240f9c8 aa11bb22 …`): a SHA-256 takes
/// 71 columns and is read, written and compared group by group.
pub fn group_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(8)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text`, or its end behind `…` when longer than `room` characters.
fn shorten(text: &str, room: usize) -> String {
    let len = text.chars().count();
    if len <= room {
        return text.to_owned();
    }
    let tail: String = text.chars().skip(len + 1 - room.max(1)).collect();
    format!("…{tail}")
}

/// Columns and rows a code of `width` modules takes when drawn with half blocks.
pub fn drawn_size(width: usize) -> (usize, usize) {
    let side = width + 2 * QUIET_ZONE;
    (side, side.div_ceil(2))
}

/// Cuts `payload` into frames whose codes, drawn with half blocks, fit a terminal of `size`
/// leaving `reserved_rows` rows for captions; fragments are at most `options.fragment_len`
/// bytes and as large as fits, at `options.ec_level` or, when nothing fits at that level,
/// at level L.
///
/// # Errors
/// [`TransportError::TerminalTooSmall`] with the size that would do, when frames of
/// [`MIN_TERMINAL_FRAGMENT_LEN`] bytes do not fit; the errors of
/// [`super::encode_frames`].
pub fn fit_terminal(
    payload: &[u8],
    size: TerminalSize,
    reserved_rows: u16,
    options: &FrameOptions,
) -> Result<TerminalFrames, TransportError> {
    options.validate()?;
    if payload.is_empty() {
        return Err(TransportError::EmptyPayload);
    }
    if payload.len() > super::MAX_PAYLOAD_LEN {
        return Err(TransportError::PayloadTooLarge {
            len: payload.len(),
            max: super::MAX_PAYLOAD_LEN,
        });
    }
    fit_terminal_ur(
        UrType::Bytes,
        &cbor_byte_string(payload),
        size,
        reserved_rows,
        options,
    )
}

/// As [`fit_terminal`], for a UR message of any type (`cbor` as [`encode_ur_frames`]
/// takes it): a wallet's type shown to the wallet's camera.
///
/// # Errors
/// As [`fit_terminal`].
pub fn fit_terminal_ur(
    ur_type: UrType,
    cbor: &[u8],
    size: TerminalSize,
    reserved_rows: u16,
    options: &FrameOptions,
) -> Result<TerminalFrames, TransportError> {
    options.validate()?;
    let payload = (ur_type, cbor);
    match fit_at(payload, size, reserved_rows, options) {
        Err(TransportError::TerminalTooSmall { .. }) if options.ec_level != EcLevel::L => {
            // Lower density per frame still, with less error correction: a screen shown
            // to a camera is not a printed page that gets creased or stained.
            let low = FrameOptions {
                ec_level: EcLevel::L,
                ..*options
            };
            fit_at(payload, size, reserved_rows, &low)
        }
        result => result,
    }
}

fn fit_at(
    (ur_type, cbor): (UrType, &[u8]),
    size: TerminalSize,
    reserved_rows: u16,
    options: &FrameOptions,
) -> Result<TerminalFrames, TransportError> {
    let max_cols = usize::from(size.cols);
    let max_rows = usize::from(size.rows.saturating_sub(reserved_rows));
    let fits = |width: usize| {
        let (cols, rows) = drawn_size(width);
        cols <= max_cols && rows <= max_rows
    };
    let widest = |fragment_len: usize| -> Result<(Vec<UrFrame>, Version), TransportError> {
        let frames = encode_ur_frames(
            ur_type,
            cbor,
            &FrameOptions {
                fragment_len,
                ..*options
            },
        )?;
        let mut version = Version::Normal(1);
        for frame in &frames {
            let code_version = build_code(frame, options.ec_level, None)?.version();
            if code_version.width() > version.width() {
                version = code_version;
            }
        }
        Ok((frames, version))
    };
    let smallest = MIN_TERMINAL_FRAGMENT_LEN.min(options.fragment_len);
    let (frames, version) = widest(smallest)?;
    if !fits(width_of(version)) {
        let (cols, rows) = drawn_size(width_of(version));
        return Err(TransportError::TerminalTooSmall {
            needed_cols: cols,
            needed_rows: rows + usize::from(reserved_rows),
            cols: size.cols,
            rows: size.rows,
        });
    }
    // The code width grows with the fragment length: find the largest that fits.
    let (mut lo, mut hi) = (smallest, options.fragment_len);
    let mut best = (smallest, frames, version);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let (frames, version) = widest(mid)?;
        if fits(width_of(version)) {
            best = (mid, frames, version);
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let (fragment_len, frames, version) = best;
    let drawn = frames
        .iter()
        .map(|frame| draw(frame, options.ec_level, version))
        .collect::<Result<Vec<_>, _>>()?;
    let (cols, rows) = drawn_size(width_of(version));
    Ok(TerminalFrames {
        frames,
        drawn,
        fragment_len,
        ec_level: options.ec_level,
        cols,
        rows,
    })
}

fn width_of(version: Version) -> usize {
    usize::try_from(version.width()).unwrap_or(usize::MAX)
}

fn draw(frame: &UrFrame, ec_level: EcLevel, version: Version) -> Result<String, TransportError> {
    Ok(super::qr::draw_half_blocks(&build_code(
        frame,
        ec_level,
        Some(version),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::FrameCollector;

    fn payload() -> Vec<u8> {
        (0..2500u32).map(|i| (i * 13 % 256) as u8).collect()
    }

    #[test]
    fn frames_fit_an_80x24_terminal_and_carry_the_payload() {
        let size = TerminalSize { cols: 80, rows: 24 };
        let fit = fit_terminal(&payload(), size, CAPTION_ROWS, &FrameOptions::default()).unwrap();
        assert!(
            fit.cols <= 80 && fit.rows <= 23,
            "{}x{}",
            fit.cols,
            fit.rows
        );
        assert_eq!(fit.ec_level, EcLevel::M);
        assert!(fit.fragment_len < FrameOptions::default().fragment_len);
        for drawn in &fit.drawn {
            assert_eq!(drawn.lines().count(), fit.rows);
            assert!(drawn.lines().all(|l| l.chars().count() == fit.cols));
        }
        let mut collector = FrameCollector::new();
        for frame in &fit.frames {
            collector.push(frame.as_str()).unwrap();
        }
        assert_eq!(collector.finish().unwrap(), payload());
    }

    #[test]
    fn screens_fit_the_terminal() {
        let size = TerminalSize { cols: 80, rows: 24 };
        let fit = fit_terminal(&payload(), size, CAPTION_ROWS, &FrameOptions::default()).unwrap();
        let digest = crate::transport::payload_digest(&payload());
        let name = "a/very/long/folder/name/that/goes/on/and/on/for/ever/and/ever/response.json";
        let screens = fit.screens(name, &digest, 80);
        assert_eq!(screens.len(), fit.frames.len());
        for screen in &screens {
            let body = screen.strip_prefix("\x1b[2J\x1b[H").unwrap();
            assert!(body.lines().count() <= 24);
            assert!(!body.ends_with('\n'));
            assert!(body.lines().all(|l| l.chars().count() <= 80), "{body}");
            assert!(body.contains(&format!("{}…{}", &digest[..8], &digest[56..])));
        }
        assert!(screens[0].contains("frame 1 of "));
        assert!(screens[0].ends_with("/ever/response.json"));
        assert!(screens[0].contains(" · …"), "{}", screens[0]);
        let wide = fit.screens("response.json", &digest, 160);
        assert!(wide[0].contains(&group_hex(&digest)));
        assert_eq!(group_hex("0123456789abcdef01"), "01234567 89abcdef 01");
    }

    #[test]
    fn a_large_terminal_keeps_the_default_fragment() {
        let size = TerminalSize {
            cols: 160,
            rows: 50,
        };
        let fit = fit_terminal(&payload(), size, CAPTION_ROWS, &FrameOptions::default()).unwrap();
        assert_eq!(fit.fragment_len, FrameOptions::default().fragment_len);
        assert!(fit.cols <= 160 && fit.rows <= 49);
    }

    #[test]
    fn a_tiny_terminal_is_refused_with_the_size_needed() {
        let size = TerminalSize { cols: 30, rows: 10 };
        match fit_terminal(&payload(), size, CAPTION_ROWS, &FrameOptions::default()) {
            Err(TransportError::TerminalTooSmall {
                needed_cols,
                needed_rows,
                ..
            }) => {
                assert!(needed_cols > 30 && needed_rows > 10);
                let needed = TerminalSize {
                    cols: u16::try_from(needed_cols).unwrap(),
                    rows: u16::try_from(needed_rows).unwrap(),
                };
                assert!(
                    fit_terminal(&payload(), needed, CAPTION_ROWS, &FrameOptions::default())
                        .is_ok()
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
