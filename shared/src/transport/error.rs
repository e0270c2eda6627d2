//! Errors of the air-gap transport (UR frames, QR rendering, image scanning).
//!
//! Each variant states the fault and, where there is one, the frame it concerns
//! (`3-12` for part 3 of 12, `single-part` otherwise). Messages stay short and never
//! echo frame content: the binaries add the advice ("scan the other screen again").

use thiserror::Error;

/// What went wrong while encoding, rendering, scanning or collecting transport frames.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// The text does not start with the `ur:` scheme followed by a type.
    #[error("not a UR frame (expected text starting with `ur:TYPE/`)")]
    NotUr,
    /// The text is a UR of another type than the ones expected.
    #[error("UR of type `{found}` received, expected {expected}")]
    WrongUrType {
        /// The UR type found (sanitised, at most 32 characters).
        found: String,
        /// The types accepted (`` `bytes` ``, `` `crypto-psbt` or `psbt` ``).
        expected: String,
    },
    /// The frame is a UR but its body does not decode.
    #[error("frame {frame} is malformed: {reason}")]
    MalformedFrame {
        /// Position of the frame (`3-12` or `single-part`), `unknown` when unreadable.
        frame: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The frame header announces more parts than any payload of this tool can need.
    /// Rejected before the UR decoder allocates anything for it.
    #[error("frame announces {count} parts, more than the maximum of {max}")]
    SequenceCountOutOfBounds {
        /// Announced number of parts.
        count: u64,
        /// Largest accepted number of parts.
        max: usize,
    },
    /// The frame belongs to a different payload than the frames collected so far.
    #[error(
        "frame {frame} belongs to another payload (checksum {found}, the frames so far have {expected})"
    )]
    ForeignFrame {
        /// Position of the offending frame.
        frame: String,
        /// CRC-32 (hex) of the payload being collected.
        expected: String,
        /// CRC-32 (hex) of the payload the frame belongs to.
        found: String,
    },
    /// More frames arrived than any frame set of this tool has, and the payload is still
    /// incomplete: the frames were made never to complete, or belong to something else.
    #[error(
        "more than {max} {} frames without completing the payload",
        if *distinct { "distinct" } else { "scanned" }
    )]
    TooManyFrames {
        /// The limit reached.
        max: usize,
        /// Whether distinct frames (kept in memory) or all scanned frames were counted.
        distinct: bool,
    },
    /// No frame has been accepted yet.
    #[error("no frame received yet")]
    NoFrames,
    /// Not enough frames have been received to rebuild the payload.
    #[error("payload incomplete: {resolved} of {total} fragments recovered ({percent} %)")]
    Incomplete {
        /// Estimated completion in percent (0 to 99).
        percent: u8,
        /// Fragments recovered so far.
        resolved: usize,
        /// Fragments the payload was split into.
        total: usize,
    },
    /// All frames arrived but the reassembled payload fails its checks.
    #[error("reassembled payload is corrupt: {reason}")]
    CorruptPayload {
        /// Which check failed.
        reason: &'static str,
    },
    /// The terminal is too small to show a code that scans.
    #[error(
        "the terminal is {cols}x{rows}; a QR code that scans needs at least {needed_cols}x{needed_rows}"
    )]
    TerminalTooSmall {
        /// Columns needed.
        needed_cols: usize,
        /// Rows needed (captions included).
        needed_rows: usize,
        /// Columns of the terminal.
        cols: u16,
        /// Rows of the terminal.
        rows: u16,
    },
    /// The payload to encode is empty.
    #[error("payload is empty")]
    EmptyPayload,
    /// The payload to encode or announced by a frame is larger than the transport accepts.
    #[error("payload of {len} bytes is larger than the maximum of {max} bytes")]
    PayloadTooLarge {
        /// Payload length in bytes.
        len: usize,
        /// Largest accepted payload length.
        max: usize,
    },
    /// A frame option is out of its allowed range.
    #[error("invalid frame option: {reason}")]
    InvalidOptions {
        /// Which option and its allowed range.
        reason: String,
    },
    /// The text of a frame does not fit into a QR code.
    #[error("frame {frame} cannot be encoded as a QR code: {reason}")]
    QrEncode {
        /// Position of the frame.
        frame: String,
        /// The QR encoder's reason.
        reason: String,
    },
    /// Writing a PNG or GIF failed.
    #[error("cannot write {format} image: {reason}")]
    ImageEncode {
        /// `PNG` or `GIF`.
        format: &'static str,
        /// The image encoder's reason.
        reason: String,
    },
    /// An image file or directory cannot be read.
    #[error("cannot read {}: {reason}", path.display())]
    FileUnreadable {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The I/O error kind.
        reason: String,
    },
    /// The bytes are not a readable PNG or JPEG image (or exceed the size limits).
    #[error("image is unreadable: {reason}")]
    ImageUnreadable {
        /// The image decoder's reason.
        reason: String,
    },
    /// The bytes are an image of a format this tool does not decode (only PNG and JPEG
    /// are: every other decoder is left out of the air-gapped binary).
    #[error("{format} is not supported: use PNG or JPEG")]
    UnsupportedImage {
        /// The format recognised from the content ("TIFF", "GIF", …).
        format: &'static str,
    },
    /// The image was read but contains no decodable QR code.
    #[error("no QR code found in the image")]
    NoQrCode,
}
