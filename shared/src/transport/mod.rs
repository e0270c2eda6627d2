//! Air-gap transport: request and response files as Blockchain Commons UR frames in QR codes.
//!
//! A payload (the exact bytes of a request or response file) is wrapped as a CBOR byte
//! string and sent as a UR of type `bytes` (wallets' types, [`UrType`], travel the same
//! way: [`encode_ur_frames`], [`FrameCollector::accepting`]): one frame (`UR:BYTES/...`) when it fits one
//! QR code, otherwise fountain-coded parts (`UR:BYTES/3-12/...`) that may arrive in any
//! order, repeat, or go missing as long as enough of them arrive. Frames are uppercase so
//! the QR codes use the denser alphanumeric mode.
//!
//! Sending: [`encode_frames`], then [`render_png`], `render_gif` (feature `gif`, for the
//! online tool only: the air-gapped binary has no GIF code) or [`render_terminal`].
//! Receiving: [`decode_image`] on photos/screenshots (or text lines typed by a USB
//! scanner), each text pushed into a [`FrameCollector`] until [`FrameCollector::finish`]
//! returns the payload. Both sides show [`payload_digest`] so operators can compare it;
//! the caller then parses the bytes as the kind of file it expects.
//!
//! The defaults in [`FrameOptions`] were chosen by measurement, see
//! `docs/transport-robustness.md` and the `transport_robustness` benchmark.

mod error;
mod frames;
mod qr;
mod scan;
mod sniff;
mod terminal;

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

pub use error::TransportError;
pub use frames::{
    FrameCollector, MAX_FRAMES_SEEN, Progress, UrFrame, UrType, cbor_byte_string, encode_frames,
    encode_ur_frames, max_distinct_frames, parse_cbor_byte_string,
};
#[cfg(feature = "gif")]
pub use qr::render_gif;
pub use qr::{
    render_png, render_sheet_png, render_terminal, render_text_png, render_text_terminal_sized,
};
pub use scan::{
    ImageKind, decode_image, decode_image_file, decode_luma, has_image_extension, image_files_in,
    sniff_image,
};
pub use sniff::{Content, is_ur, sniff, ur_lines};
pub use terminal::{
    CAPTION_ROWS, MIN_TERMINAL_FRAGMENT_LEN, TerminalFrames, TerminalSize, drawn_size,
    fit_terminal, fit_terminal_ur, group_hex,
};

/// Largest payload (file) the transport encodes or accepts, in bytes. Request and
/// response files are a few KiB; this bound keeps a hostile frame header from making
/// the decoder allocate much.
pub const MAX_PAYLOAD_LEN: usize = 256 * 1024;

/// Largest number of fountain parts a frame may announce. Checked before the UR decoder
/// sees the frame: the `ur` crate allocates per announced part.
pub const MAX_SEQUENCE_COUNT: usize = 4096;

/// Smallest and largest accepted fragment length (payload bytes per multi-part frame).
pub const FRAGMENT_LEN_RANGE: std::ops::RangeInclusive<usize> = 10..=1000;
/// Smallest and largest accepted pixels per QR module in rendered images.
pub const MODULE_PX_RANGE: std::ops::RangeInclusive<u32> = 4..=40;
/// Smallest and largest accepted frame rate of animated output.
pub const FPS_RANGE: std::ops::RangeInclusive<u32> = 1..=30;
/// Largest accepted extra-frame share of a multi-part sequence, in percent.
pub const MAX_EXTRA_FRAMES_PERCENT: u32 = 1000;

/// QR error-correction level (share of codewords that may be damaged: L 7 %, M 15 %,
/// Q 25 %, H 30 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcLevel {
    /// Low: about 7 % of codewords recoverable.
    L,
    /// Medium: about 15 %.
    M,
    /// Quartile: about 25 %.
    Q,
    /// High: about 30 %.
    H,
}

impl EcLevel {
    /// All levels, lowest first.
    pub const ALL: [EcLevel; 4] = [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H];

    pub(crate) fn to_qrcode(self) -> qrcode::EcLevel {
        match self {
            EcLevel::L => qrcode::EcLevel::L,
            EcLevel::M => qrcode::EcLevel::M,
            EcLevel::Q => qrcode::EcLevel::Q,
            EcLevel::H => qrcode::EcLevel::H,
        }
    }
}

impl fmt::Display for EcLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EcLevel::L => "L",
            EcLevel::M => "M",
            EcLevel::Q => "Q",
            EcLevel::H => "H",
        })
    }
}

impl FromStr for EcLevel {
    type Err = TransportError;

    /// Parses `L`, `M`, `Q` or `H` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "L" => Ok(EcLevel::L),
            "M" => Ok(EcLevel::M),
            "Q" => Ok(EcLevel::Q),
            "H" => Ok(EcLevel::H),
            _ => Err(TransportError::InvalidOptions {
                reason: "error-correction level must be one of L, M, Q, H".to_owned(),
            }),
        }
    }
}

/// How payloads are cut into frames and drawn as QR codes.
///
/// The defaults are measured (see `docs/transport-robustness.md`); the binaries expose
/// them as `--fragment-len`, `--ec-level`, `--module-px` and `--fps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameOptions {
    /// Payload bytes per multi-part frame (the CBOR-wrapped payload is sent single-part
    /// when it is not longer than this).
    pub fragment_len: usize,
    /// QR error-correction level.
    pub ec_level: EcLevel,
    /// Pixels per QR module in PNG/GIF output (at least 4).
    pub module_px: u32,
    /// Frames per second of animated output.
    pub fps: u32,
    /// Extra fountain frames emitted beyond the minimal part count, in percent of it
    /// (rounded up), so a missed frame is covered by a mixed one instead of a full loop.
    pub extra_frames_percent: u32,
}

impl Default for FrameOptions {
    fn default() -> Self {
        FrameOptions {
            fragment_len: 200,
            ec_level: EcLevel::M,
            module_px: 8,
            fps: 4,
            extra_frames_percent: 50,
        }
    }
}

impl FrameOptions {
    /// Checks every option against its allowed range.
    ///
    /// # Errors
    /// [`TransportError::InvalidOptions`] naming the first option out of range.
    pub fn validate(&self) -> Result<(), TransportError> {
        fn out_of_range<T: fmt::Display>(
            name: &str,
            value: T,
            lo: T,
            hi: T,
        ) -> Result<(), TransportError> {
            Err(TransportError::InvalidOptions {
                reason: format!("{name} {value} is outside {lo}..={hi}"),
            })
        }
        if !FRAGMENT_LEN_RANGE.contains(&self.fragment_len) {
            return out_of_range(
                "fragment length",
                self.fragment_len,
                *FRAGMENT_LEN_RANGE.start(),
                *FRAGMENT_LEN_RANGE.end(),
            );
        }
        if !MODULE_PX_RANGE.contains(&self.module_px) {
            return out_of_range(
                "pixels per module",
                self.module_px,
                *MODULE_PX_RANGE.start(),
                *MODULE_PX_RANGE.end(),
            );
        }
        if !FPS_RANGE.contains(&self.fps) {
            return out_of_range(
                "frames per second",
                self.fps,
                *FPS_RANGE.start(),
                *FPS_RANGE.end(),
            );
        }
        if self.extra_frames_percent > MAX_EXTRA_FRAMES_PERCENT {
            return out_of_range(
                "extra frames percent",
                self.extra_frames_percent,
                0,
                MAX_EXTRA_FRAMES_PERCENT,
            );
        }
        Ok(())
    }
}

/// SHA-256 of a payload as lowercase hex, shown on both sides of the air gap so the
/// operators can compare what was sent with what was received.
pub fn payload_digest(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            payload_digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn defaults_are_valid_and_ranges_enforced() {
        assert_eq!(FrameOptions::default().validate(), Ok(()));
        let bad = [
            FrameOptions {
                fragment_len: 9,
                ..FrameOptions::default()
            },
            FrameOptions {
                module_px: 3,
                ..FrameOptions::default()
            },
            FrameOptions {
                fps: 0,
                ..FrameOptions::default()
            },
            FrameOptions {
                extra_frames_percent: 1001,
                ..FrameOptions::default()
            },
        ];
        for opts in bad {
            assert!(matches!(
                opts.validate(),
                Err(TransportError::InvalidOptions { .. })
            ));
        }
    }

    #[test]
    fn ec_level_parses_and_prints() {
        for level in EcLevel::ALL {
            assert_eq!(level.to_string().parse::<EcLevel>(), Ok(level));
        }
        assert_eq!("q".parse::<EcLevel>(), Ok(EcLevel::Q));
        assert!("X".parse::<EcLevel>().is_err());
    }
}
