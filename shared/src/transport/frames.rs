//! UR frames: encoding a message into UR frames of a named type and collecting scanned
//! frames back into the message.
//!
//! This tool's own transfers are of type `bytes`: the payload wrapped as one CBOR byte
//! string. Wallets speak other registered types through the same frames ([`UrType`]):
//! `crypto-psbt` (a CBOR byte string of a PSBT), `eth-sign-request` and `eth-signature`
//! (CBOR maps). The message is handed to the `ur` crate's fountain encoder. On the
//! receiving side every text is checked here *before* the `ur` decoder sees it: scheme
//! and type (one of the types the collector was made for), part indices, the CBOR part
//! header (part count, message length, checksum, fragment length) against fixed bounds
//! and against the frames already collected. The `ur` decoder allocates per announced
//! part, so a hostile header announcing billions of parts must never reach it.

use std::collections::BTreeSet;
use std::fmt;

use super::{
    FrameOptions, MAX_PAYLOAD_LEN, MAX_SEQUENCE_COUNT, TransportError, payload_digest, qr,
};

/// Longest text accepted as a frame: a version-40 QR code holds at most 4296
/// alphanumeric characters.
const MAX_FRAME_CHARS: usize = 4296;

/// Largest CBOR message (the wrapped payload) a frame may announce: the payload plus a
/// byte-string header of at most 9 bytes.
const MAX_MESSAGE_LEN: usize = MAX_PAYLOAD_LEN + 9;

/// A registered UR type this tool reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UrType {
    /// `bytes`: a CBOR byte string (this tool's request and response transfers).
    Bytes,
    /// `crypto-psbt` (BCR-2020-006): a CBOR byte string holding a binary PSBT, as
    /// Sparrow, Specter, Nunchuk, BlueWallet and Keystone show it.
    CryptoPsbt,
    /// `psbt`: the later registry's name of `crypto-psbt`, same content.
    Psbt,
    /// `eth-sign-request` (EIP-4527, Keystone/MetaMask): a CBOR map.
    EthSignRequest,
    /// `eth-signature` (EIP-4527): a CBOR map.
    EthSignature,
}

impl UrType {
    const ALL: [UrType; 5] = [
        UrType::Bytes,
        UrType::CryptoPsbt,
        UrType::Psbt,
        UrType::EthSignRequest,
        UrType::EthSignature,
    ];

    /// The type as written in a UR (`crypto-psbt`).
    pub fn name(self) -> &'static str {
        match self {
            UrType::Bytes => "bytes",
            UrType::CryptoPsbt => "crypto-psbt",
            UrType::Psbt => "psbt",
            UrType::EthSignRequest => "eth-sign-request",
            UrType::EthSignature => "eth-signature",
        }
    }

    /// Whether the type's message is one CBOR byte string (its content is the payload).
    pub fn is_byte_string(self) -> bool {
        matches!(self, UrType::Bytes | UrType::CryptoPsbt | UrType::Psbt)
    }

    fn from_name(name: &str) -> Option<UrType> {
        UrType::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for UrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `` `a` `` or `` `a` or `b` ``: the accepted types, for messages.
fn type_list(types: &[UrType]) -> String {
    types
        .iter()
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// One frame: the UR text shown as one QR code (uppercase, so QR alphanumeric mode
/// applies) and its position in the sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrFrame {
    text: String,
    part: Option<(u32, u32)>,
}

impl UrFrame {
    /// The UR text, e.g. `UR:BYTES/3-12/LPAX...`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `Some((sequence number, part count))` for a multi-part frame, `None` for a
    /// single-part one. Sequence numbers above the part count are fountain-mixed frames.
    pub fn part(&self) -> Option<(u32, u32)> {
        self.part
    }

    /// Position label used in messages: `3-12` or `single-part`.
    pub fn label(&self) -> String {
        position_label(self.part)
    }
}

impl fmt::Display for UrFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn position_label(part: Option<(u32, u32)>) -> String {
    match part {
        Some((seq, count)) => format!("{seq}-{count}"),
        None => "single-part".to_owned(),
    }
}

/// Encodes a payload (a file's exact bytes) into `UR:BYTES` frames: the payload wrapped
/// as one CBOR byte string, then [`encode_ur_frames`].
///
/// # Errors
/// As [`encode_ur_frames`]; [`TransportError::EmptyPayload`],
/// [`TransportError::PayloadTooLarge`].
pub fn encode_frames(payload: &[u8], opts: &FrameOptions) -> Result<Vec<UrFrame>, TransportError> {
    check_payload(payload)?;
    encode_ur_frames(UrType::Bytes, &cbor_byte_string(payload), opts)
}

fn check_payload(payload: &[u8]) -> Result<(), TransportError> {
    if payload.is_empty() {
        return Err(TransportError::EmptyPayload);
    }
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(TransportError::PayloadTooLarge {
            len: payload.len(),
            max: MAX_PAYLOAD_LEN,
        });
    }
    Ok(())
}

/// Encodes a UR message (the CBOR of a `ur_type` item; for a byte-string type, see
/// [`cbor_byte_string`]) into frames.
///
/// A message that fits in `opts.fragment_len` bytes becomes one single-part frame
/// `UR:TYPE/...`. A longer one becomes `n` fountain parts `UR:TYPE/1-n/...` to
/// `UR:TYPE/n-n/...` followed by `ceil(n * extra_frames_percent / 100)` mixed parts, so
/// a receiver that misses a frame usually completes from a mixed one instead of waiting
/// for the next loop.
///
/// # Errors
/// [`TransportError::InvalidOptions`] for out-of-range options,
/// [`TransportError::EmptyPayload`], [`TransportError::PayloadTooLarge`] (also when the
/// message would need more than [`MAX_SEQUENCE_COUNT`] parts), and
/// [`TransportError::QrEncode`] when the longest frame does not fit a QR code at the
/// chosen error-correction level.
pub fn encode_ur_frames(
    ur_type: UrType,
    cbor: &[u8],
    opts: &FrameOptions,
) -> Result<Vec<UrFrame>, TransportError> {
    opts.validate()?;
    if cbor.is_empty() {
        return Err(TransportError::EmptyPayload);
    }
    if cbor.len() > MAX_MESSAGE_LEN {
        return Err(TransportError::PayloadTooLarge {
            len: cbor.len(),
            max: MAX_MESSAGE_LEN,
        });
    }
    let frames = if cbor.len() <= opts.fragment_len {
        let text = ur::ur::try_encode(cbor, &ur::Type::Custom(ur_type.name())).map_err(|_| {
            TransportError::QrEncode {
                frame: position_label(None),
                reason: "UR encoder refused the message".to_owned(),
            }
        })?;
        vec![UrFrame {
            text: text.to_ascii_uppercase(),
            part: None,
        }]
    } else {
        let mut encoder =
            ur::Encoder::new(cbor, opts.fragment_len, ur_type.name()).map_err(|_| {
                TransportError::InvalidOptions {
                    reason: "UR encoder refused the fragment length".to_owned(),
                }
            })?;
        let count = encoder.fragment_count();
        if count > MAX_SEQUENCE_COUNT {
            return Err(TransportError::PayloadTooLarge {
                len: cbor.len(),
                max: MAX_SEQUENCE_COUNT * opts.fragment_len,
            });
        }
        let extra = (count * opts.extra_frames_percent as usize).div_ceil(100);
        let count_u32 = u32::try_from(count).map_err(|_| TransportError::PayloadTooLarge {
            len: cbor.len(),
            max: MAX_MESSAGE_LEN,
        })?;
        let mut frames = Vec::with_capacity(count + extra);
        for seq in 1..=(count + extra) {
            let text = encoder.next_part().map_err(|_| TransportError::QrEncode {
                frame: format!("{seq}-{count}"),
                reason: "UR encoder failed".to_owned(),
            })?;
            let seq = u32::try_from(seq).map_err(|_| TransportError::PayloadTooLarge {
                len: cbor.len(),
                max: MAX_MESSAGE_LEN,
            })?;
            frames.push(UrFrame {
                text: text.to_ascii_uppercase(),
                part: Some((seq, count_u32)),
            });
        }
        frames
    };
    // Frames differ in length only by the digits of the sequence number: the longest
    // one fitting a QR code means they all do.
    if let Some(longest) = frames.iter().max_by_key(|f| f.text.len()) {
        qr::build_code(longest, opts.ec_level, None)?;
    }
    Ok(frames)
}

/// Wraps bytes as one definite-length CBOR byte string: the message of the byte-string
/// UR types (`bytes`, `crypto-psbt`).
pub fn cbor_byte_string(payload: &[u8]) -> Vec<u8> {
    let mut encoder = minicbor::Encoder::new(Vec::with_capacity(payload.len() + 9));
    encoder
        .bytes(payload)
        .expect("writing a byte string into a Vec cannot fail: its writer error is Infallible");
    encoder.into_writer()
}

/// Unwraps a CBOR byte string strictly: definite length, shortest length header, no
/// trailing bytes, not empty (the exact inverse of [`cbor_byte_string`]).
///
/// # Errors
/// [`TransportError::CorruptPayload`] naming the rule broken.
pub fn parse_cbor_byte_string(cbor: &[u8]) -> Result<Vec<u8>, TransportError> {
    let mut decoder = minicbor::Decoder::new(cbor);
    let payload = decoder
        .bytes()
        .map_err(|_| TransportError::CorruptPayload {
            reason: "not a CBOR byte string",
        })?;
    if decoder.position() != cbor.len() {
        return Err(TransportError::CorruptPayload {
            reason: "bytes after the CBOR byte string",
        });
    }
    if cbor_byte_string(payload) != cbor {
        return Err(TransportError::CorruptPayload {
            reason: "non-canonical CBOR length header",
        });
    }
    if payload.is_empty() {
        return Err(TransportError::CorruptPayload {
            reason: "empty payload",
        });
    }
    Ok(payload.to_vec())
}

/// A UR text split into its parts, after the checks that need no decoding.
enum UrText<'a> {
    Single {
        ur_type: UrType,
        words: &'a str,
    },
    Multi {
        ur_type: UrType,
        seq: u32,
        count: u32,
        words: &'a str,
    },
}

/// Checks scheme, type (one of `accepted`) and part indices of a lowercased, trimmed UR
/// text.
fn split_ur<'a>(lower: &'a str, accepted: &[UrType]) -> Result<UrText<'a>, TransportError> {
    let rest = lower.strip_prefix("ur:").ok_or(TransportError::NotUr)?;
    let (name, body) = rest.split_once('/').ok_or(TransportError::NotUr)?;
    let Some(ur_type) = UrType::from_name(name).filter(|t| accepted.contains(t)) else {
        let found: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(32)
            .collect();
        return Err(TransportError::WrongUrType {
            found,
            expected: type_list(accepted),
        });
    };
    let Some((indices, words)) = body.split_once('/') else {
        return Ok(UrText::Single {
            ur_type,
            words: body,
        });
    };
    let malformed = |reason| TransportError::MalformedFrame {
        frame: "unknown".to_owned(),
        reason,
    };
    if words.contains('/') {
        return Err(malformed("too many `/` separators"));
    }
    let (seq, count) = indices
        .split_once('-')
        .ok_or(malformed("part indices are not `n-m`"))?;
    let parse = |digits: &str| {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("part index is not a number"));
        }
        // Saturate: a count too long for u64 is simply out of bounds.
        Ok(digits.parse::<u64>().unwrap_or(u64::MAX))
    };
    let (seq, count) = (parse(seq)?, parse(count)?);
    if count > MAX_SEQUENCE_COUNT as u64 {
        return Err(TransportError::SequenceCountOutOfBounds {
            count,
            max: MAX_SEQUENCE_COUNT,
        });
    }
    if seq == 0 || count == 0 {
        return Err(malformed("part index 0"));
    }
    let seq = u32::try_from(seq).map_err(|_| malformed("sequence number above 2^32"))?;
    let count = u32::try_from(count).map_err(|_| malformed("part count above 2^32"))?;
    Ok(UrText::Multi {
        ur_type,
        seq,
        count,
        words,
    })
}

/// The identity of the payload a fountain part belongs to, from its CBOR header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PartHeader {
    count: u32,
    message_len: u32,
    checksum: u32,
    fragment_len: usize,
}

/// Parses and bounds-checks the CBOR of a fountain part: `[seq, count, message_len,
/// checksum, data]`, nothing after it, consistent with the indices of the UR text and
/// with the way the encoder splits a message.
fn parse_part(cbor: &[u8], seq: u32, count: u32) -> Result<PartHeader, &'static str> {
    let mut d = minicbor::Decoder::new(cbor);
    if !matches!(d.array(), Ok(Some(5))) {
        return Err("not a fountain part (5-element CBOR array)");
    }
    let part_seq = d.u32().map_err(|_| "bad sequence number")?;
    let part_count = d.u32().map_err(|_| "bad part count")?;
    let message_len = d.u32().map_err(|_| "bad message length")?;
    let checksum = d.u32().map_err(|_| "bad checksum field")?;
    let data = d.bytes().map_err(|_| "bad fragment data")?;
    if d.position() != cbor.len() {
        return Err("bytes after the fountain part");
    }
    if part_seq != seq || part_count != count {
        return Err("part indices differ from the UR text");
    }
    let message_len_usize = usize::try_from(message_len).map_err(|_| "message too long")?;
    if message_len_usize == 0 || message_len_usize > MAX_MESSAGE_LEN {
        return Err("announced message length out of bounds");
    }
    if data.is_empty() {
        return Err("empty fragment");
    }
    // The encoder splits a message of length L into ceil(L / f) fragments of f bytes.
    if message_len_usize.div_ceil(data.len()) != count as usize {
        return Err("part count does not match message and fragment length");
    }
    Ok(PartHeader {
        count,
        message_len,
        checksum,
        fragment_len: data.len(),
    })
}

/// How far a [`FrameCollector`] has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Frames accepted so far, duplicates included.
    pub frames_seen: usize,
    /// Distinct frames accepted so far.
    pub distinct_frames: usize,
    /// Payload fragments recovered so far.
    pub fragments_resolved: usize,
    /// Fragments the payload was split into (0 before the first frame, 1 for a
    /// single-part payload).
    pub fragment_count: usize,
    /// Estimated completion in percent; 100 only when complete.
    pub percent: u8,
    /// Whether the payload can be taken with [`FrameCollector::finish`].
    pub complete: bool,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} % ({} of {} fragments, {} distinct frames of {} scanned)",
            self.percent,
            self.fragments_resolved,
            self.fragment_count,
            self.distinct_frames,
            self.frames_seen
        )
    }
}

/// The most frames (duplicates included) one collector takes: a USB scanner reading a
/// looping animation for hours stays far below it; endless input does not run forever.
pub const MAX_FRAMES_SEEN: usize = 20_000;

/// The most distinct frames of a `count`-part payload a collector keeps while it is
/// incomplete: every encoder of this tool emits at most `count` parts plus
/// [`super::MAX_EXTRA_FRAMES_PERCENT`] extra, so more distinct frames than that (and a
/// margin) mean a frame set that was made never to complete, whose mixed parts the
/// fountain decoder would otherwise store without bound.
pub fn max_distinct_frames(count: u32) -> usize {
    let count = count as usize;
    let extra = super::MAX_EXTRA_FRAMES_PERCENT as usize;
    count
        .saturating_add(count.saturating_mul(extra).div_ceil(100))
        .saturating_add(64)
}

enum Collected {
    Nothing,
    Single {
        ur_type: UrType,
        message: Vec<u8>,
    },
    Multi {
        ur_type: UrType,
        header: PartHeader,
        decoder: Box<ur::Decoder>,
        distinct: BTreeSet<u32>,
    },
}

/// The most UR types one collector accepts (a wallet format and its later name).
const MAX_ACCEPTED_TYPES: usize = 4;

/// Accumulates scanned frame texts until the message is complete.
///
/// Accepts single- and multi-part URs of the types it was made for (`bytes` for
/// [`FrameCollector::new`]), in any case with surrounding whitespace; the first frame
/// accepted fixes the type. Duplicates are counted and otherwise ignored; a frame of
/// another message is rejected with [`TransportError::ForeignFrame`], one of another type
/// with [`TransportError::WrongUrType`], and either leaves the collector unchanged.
pub struct FrameCollector {
    accepted: Vec<UrType>,
    collected: Collected,
    frames_seen: usize,
}

impl Default for FrameCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for FrameCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameCollector")
            .field("accepted", &self.accepted)
            .field("progress", &self.progress())
            .finish()
    }
}

impl FrameCollector {
    /// An empty collector of `bytes` frames (this tool's own transfers).
    pub fn new() -> Self {
        Self::accepting(&[UrType::Bytes])
    }

    /// An empty collector of frames of one of `types` (the first few are kept: a format
    /// and its later name).
    pub fn accepting(types: &[UrType]) -> Self {
        FrameCollector {
            accepted: types.iter().copied().take(MAX_ACCEPTED_TYPES).collect(),
            collected: Collected::Nothing,
            frames_seen: 0,
        }
    }

    /// The type of the frames collected so far, once one was accepted.
    pub fn ur_type(&self) -> Option<UrType> {
        match &self.collected {
            Collected::Nothing => None,
            Collected::Single { ur_type, .. } | Collected::Multi { ur_type, .. } => Some(*ur_type),
        }
    }

    /// Adds one scanned text (one QR code or one line typed by a USB scanner).
    ///
    /// # Errors
    /// [`TransportError::NotUr`], [`TransportError::WrongUrType`],
    /// [`TransportError::MalformedFrame`], [`TransportError::SequenceCountOutOfBounds`]
    /// or [`TransportError::ForeignFrame`]; the collector is unchanged by a rejected text.
    pub fn push(&mut self, text: &str) -> Result<Progress, TransportError> {
        if self.frames_seen >= MAX_FRAMES_SEEN {
            return Err(TransportError::TooManyFrames {
                max: MAX_FRAMES_SEEN,
                distinct: false,
            });
        }
        let trimmed = text.trim();
        if trimmed.len() > MAX_FRAME_CHARS {
            return Err(TransportError::MalformedFrame {
                frame: "unknown".to_owned(),
                reason: "longer than any QR code can hold",
            });
        }
        if !trimmed.is_ascii() {
            return Err(
                if trimmed
                    .get(..3)
                    .is_some_and(|p| p.eq_ignore_ascii_case("ur:"))
                {
                    TransportError::MalformedFrame {
                        frame: "unknown".to_owned(),
                        reason: "non-ASCII characters",
                    }
                } else {
                    TransportError::NotUr
                },
            );
        }
        let lower = trimmed.to_ascii_lowercase();
        // Once a frame is in, only its type is accepted.
        let accepted = match self.ur_type() {
            Some(ur_type) => vec![ur_type],
            None => self.accepted.clone(),
        };
        match split_ur(&lower, &accepted)? {
            UrText::Single { ur_type, words } => self.push_single(ur_type, words)?,
            UrText::Multi {
                ur_type,
                seq,
                count,
                words,
            } => self.push_multi(ur_type, &lower, seq, count, words)?,
        }
        self.frames_seen += 1;
        Ok(self.progress())
    }

    fn push_single(&mut self, ur_type: UrType, words: &str) -> Result<(), TransportError> {
        let malformed = |reason| TransportError::MalformedFrame {
            frame: position_label(None),
            reason,
        };
        let message = ur::bytewords::decode(words, ur::bytewords::Style::Minimal)
            .map_err(|_| malformed("bad bytewords or frame checksum"))?;
        if message.is_empty() || message.len() > MAX_MESSAGE_LEN {
            return Err(malformed("message length out of bounds"));
        }
        if ur_type.is_byte_string() {
            parse_cbor_byte_string(&message)
                .map_err(|_| malformed("not a canonical CBOR byte string"))?;
        }
        match &self.collected {
            Collected::Nothing => {
                self.collected = Collected::Single { ur_type, message };
                Ok(())
            }
            Collected::Single {
                message: existing, ..
            } if *existing == message => Ok(()),
            Collected::Single {
                message: existing, ..
            } => Err(TransportError::ForeignFrame {
                frame: position_label(None),
                expected: short_identity(existing),
                found: short_identity(&message),
            }),
            Collected::Multi { header, .. } => Err(TransportError::ForeignFrame {
                frame: position_label(None),
                expected: checksum_identity(header.checksum),
                found: short_identity(&message),
            }),
        }
    }

    fn push_multi(
        &mut self,
        ur_type: UrType,
        lower: &str,
        seq: u32,
        count: u32,
        words: &str,
    ) -> Result<(), TransportError> {
        let label = position_label(Some((seq, count)));
        let malformed = |reason| TransportError::MalformedFrame {
            frame: label.clone(),
            reason,
        };
        let cbor = ur::bytewords::decode(words, ur::bytewords::Style::Minimal)
            .map_err(|_| malformed("bad bytewords or frame checksum"))?;
        let header = parse_part(&cbor, seq, count).map_err(malformed)?;
        match &mut self.collected {
            Collected::Nothing => {
                let mut decoder = Box::new(ur::Decoder::default());
                decoder
                    .receive(lower)
                    .map_err(|_| malformed("rejected by the fountain decoder"))?;
                self.collected = Collected::Multi {
                    ur_type,
                    header,
                    decoder,
                    distinct: BTreeSet::from([seq]),
                };
                Ok(())
            }
            Collected::Single { message, .. } => Err(TransportError::ForeignFrame {
                frame: label.clone(),
                expected: short_identity(message),
                found: checksum_identity(header.checksum),
            }),
            Collected::Multi {
                header: expected,
                decoder,
                distinct,
                ..
            } => {
                if expected.checksum != header.checksum
                    || expected.message_len != header.message_len
                {
                    return Err(TransportError::ForeignFrame {
                        frame: label.clone(),
                        expected: checksum_identity(expected.checksum),
                        found: checksum_identity(header.checksum),
                    });
                }
                if *expected != header {
                    return Err(malformed("fragment layout differs from the earlier frames"));
                }
                let max = max_distinct_frames(header.count);
                if !distinct.contains(&seq) && distinct.len() >= max {
                    return Err(TransportError::TooManyFrames {
                        max,
                        distinct: true,
                    });
                }
                if !decoder.complete() {
                    decoder
                        .receive(lower)
                        .map_err(|_| malformed("rejected by the fountain decoder"))?;
                }
                distinct.insert(seq);
                Ok(())
            }
        }
    }

    /// Current progress.
    pub fn progress(&self) -> Progress {
        let (distinct_frames, fragments_resolved, fragment_count, complete) = match &self.collected
        {
            Collected::Nothing => (0, 0, 0, false),
            Collected::Single { .. } => (1, 1, 1, true),
            Collected::Multi {
                header,
                decoder,
                distinct,
                ..
            } => (
                distinct.len(),
                decoder.resolved_fragment_count().unwrap_or(0),
                header.count as usize,
                decoder.complete(),
            ),
        };
        let percent = if complete {
            100
        } else {
            // At most 99 until complete: the last fragments may still be missing.
            (fragments_resolved * 100)
                .checked_div(fragment_count)
                .map_or(0, |p| u8::try_from(p.min(99)).unwrap_or(99))
        };
        Progress {
            frames_seen: self.frames_seen,
            distinct_frames,
            fragments_resolved,
            fragment_count,
            percent,
            complete,
        }
    }

    /// Whether enough frames arrived to rebuild the payload.
    pub fn is_complete(&self) -> bool {
        self.progress().complete
    }

    /// The payload's exact bytes: the content of the CBOR byte string the frames carry
    /// (types `bytes`, `crypto-psbt`).
    ///
    /// # Errors
    /// As [`FrameCollector::finish_message`]; [`TransportError::CorruptPayload`] when the
    /// message is not a canonical CBOR byte string.
    pub fn finish(&self) -> Result<Vec<u8>, TransportError> {
        let (_, message) = self.finish_message()?;
        parse_cbor_byte_string(&message)
    }

    /// The message's type and CBOR, as reassembled (the caller decodes the CBOR of its
    /// type).
    ///
    /// # Errors
    /// [`TransportError::NoFrames`] or [`TransportError::Incomplete`] (with how far it
    /// got) before completion; [`TransportError::CorruptPayload`] when the reassembled
    /// message fails its CRC-32.
    pub fn finish_message(&self) -> Result<(UrType, Vec<u8>), TransportError> {
        match &self.collected {
            Collected::Nothing => Err(TransportError::NoFrames),
            Collected::Single { ur_type, message } => Ok((*ur_type, message.clone())),
            Collected::Multi {
                ur_type, decoder, ..
            } => {
                let progress = self.progress();
                if !progress.complete {
                    return Err(TransportError::Incomplete {
                        percent: progress.percent,
                        resolved: progress.fragments_resolved,
                        total: progress.fragment_count,
                    });
                }
                let message = decoder
                    .message()
                    .map_err(|_| TransportError::CorruptPayload {
                        reason: "reassembled message fails its checksum or padding",
                    })?
                    .ok_or(TransportError::CorruptPayload {
                        reason: "decoder lost its message",
                    })?;
                Ok((*ur_type, message))
            }
        }
    }
}

/// Identity label of a message known in full (single-part).
fn short_identity(message: &[u8]) -> String {
    let digest = payload_digest(message);
    format!("sha256 {}…", digest.get(..12).unwrap_or(&digest))
}

/// Identity label of a multi-part payload: the CRC-32 from the fountain part header.
fn checksum_identity(checksum: u32) -> String {
    format!("crc32 {checksum:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opts(fragment_len: usize) -> FrameOptions {
        FrameOptions {
            fragment_len,
            ..FrameOptions::default()
        }
    }

    fn collect(frames: &[UrFrame]) -> Result<Vec<u8>, TransportError> {
        let mut collector = FrameCollector::new();
        for frame in frames {
            collector.push(frame.as_str())?;
        }
        collector.finish()
    }

    /// Fountain frames of `payload` none of which involves fragment 0: together they
    /// can never complete it, however many arrive.
    fn frames_without_first_fragment(payload: &[u8], fragment_len: usize, n: usize) -> Vec<String> {
        let mut encoder =
            ur::Encoder::bytes(&cbor_byte_string(payload), fragment_len).expect("encoder");
        let mut out = Vec::new();
        while out.len() < n {
            let text = encoder.next_part().expect("part");
            let (_, cbor) = ur::ur::decode(&text).expect("ur");
            let part: ur::fountain::Part = minicbor::decode(&cbor).expect("part cbor");
            if !part.indexes().contains(&0) {
                out.push(text);
            }
        }
        out
    }

    #[test]
    fn a_frame_set_made_never_to_complete_is_cut_off() {
        let payload: Vec<u8> = (0..400u32).map(|i| (i % 251) as u8).collect();
        let first = frames_without_first_fragment(&payload, 40, 1);
        let count: u32 = first[0]
            .split('/')
            .nth(1)
            .and_then(|seq| seq.split('-').nth(1))
            .and_then(|n| n.parse().ok())
            .expect("seq-count");
        let max = max_distinct_frames(count);
        let frames = frames_without_first_fragment(&payload, 40, max + 1);
        let mut collector = FrameCollector::new();
        let mut refused = None;
        for (i, frame) in frames.iter().enumerate() {
            match collector.push(frame) {
                Ok(progress) => assert!(!progress.complete),
                Err(e) => {
                    refused = Some((i, e));
                    break;
                }
            }
        }
        let (at, error) = refused.expect("the endless frame set was accepted");
        assert_eq!(at, max);
        assert_eq!(
            error,
            TransportError::TooManyFrames {
                max,
                distinct: true
            }
        );
        assert!(
            error
                .to_string()
                .contains("distinct frames without completing")
        );
        // Frames already kept are still duplicates, not new ones.
        assert!(collector.push(&frames[0]).is_ok());
    }

    #[test]
    fn endless_duplicates_are_cut_off() {
        let frames = encode_frames(&[5u8; 300], &opts(40)).expect("encode");
        let mut collector = FrameCollector::new();
        for _ in 0..MAX_FRAMES_SEEN {
            collector.push(frames[1].as_str()).expect("duplicate");
        }
        assert_eq!(
            collector.push(frames[1].as_str()),
            Err(TransportError::TooManyFrames {
                max: MAX_FRAMES_SEEN,
                distinct: false
            })
        );
    }

    #[test]
    fn small_payload_is_single_part_uppercase() {
        let frames = encode_frames(b"{\"kind\":\"request\"}", &opts(200)).expect("encode");
        assert_eq!(frames.len(), 1);
        assert!(frames[0].as_str().starts_with("UR:BYTES/"));
        assert_eq!(frames[0].as_str().matches('/').count(), 1);
        assert_eq!(frames[0].part(), None);
        assert_eq!(
            collect(&frames).expect("collect"),
            b"{\"kind\":\"request\"}"
        );
    }

    #[test]
    fn large_payload_is_multi_part_with_extra_frames() {
        let payload: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let frames = encode_frames(
            &payload,
            &FrameOptions {
                extra_frames_percent: 50,
                ..opts(100)
            },
        )
        .expect("encode");
        // 1000 bytes + 3-byte CBOR header in fragments of at most 100 bytes: 11 parts.
        assert_eq!(frames[0].part(), Some((1, 11)));
        assert_eq!(frames.len(), 11 + 6);
        assert!(frames[0].as_str().starts_with("UR:BYTES/1-11/"));
        assert_eq!(frames[0].label(), "1-11");
        assert_eq!(collect(&frames).expect("collect"), payload);
        // Missing two original parts: the mixed frames fill in.
        let lossy: Vec<UrFrame> = frames
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2 && *i != 7)
            .map(|(_, f)| f.clone())
            .collect();
        assert_eq!(collect(&lossy).expect("collect lossy"), payload);
    }

    #[test]
    fn collector_accepts_lowercase_whitespace_and_duplicates() {
        let payload = vec![7u8; 700];
        let frames = encode_frames(&payload, &opts(100)).expect("encode");
        let mut collector = FrameCollector::new();
        for frame in frames.iter().rev() {
            let text = format!("  {}\r\n", frame.as_str().to_ascii_lowercase());
            collector.push(&text).expect("push");
            collector.push(frame.as_str()).expect("push duplicate");
        }
        let progress = collector.progress();
        assert!(progress.complete);
        assert_eq!(progress.frames_seen, 2 * frames.len());
        assert_eq!(progress.distinct_frames, frames.len());
        assert_eq!(progress.percent, 100);
        assert_eq!(collector.finish().expect("finish"), payload);
    }

    #[test]
    fn incomplete_reports_how_far() {
        let payload = vec![1u8; 1000];
        let frames = encode_frames(&payload, &opts(100)).expect("encode");
        let mut collector = FrameCollector::new();
        assert_eq!(collector.finish(), Err(TransportError::NoFrames));
        for frame in &frames[..5] {
            collector.push(frame.as_str()).expect("push");
        }
        assert_eq!(
            collector.finish(),
            Err(TransportError::Incomplete {
                percent: 45,
                resolved: 5,
                total: 11
            })
        );
        assert!(!collector.is_complete());
    }

    #[test]
    fn frame_of_another_payload_is_named() {
        let a = encode_frames(&[1u8; 1000], &opts(100)).expect("encode a");
        let b = encode_frames(&[2u8; 1000], &opts(100)).expect("encode b");
        let mut collector = FrameCollector::new();
        collector.push(a[0].as_str()).expect("push");
        let err = collector.push(b[3].as_str()).expect_err("foreign");
        assert!(
            matches!(&err, TransportError::ForeignFrame { frame, .. } if frame == "4-11"),
            "{err}"
        );
        let single = encode_frames(b"small", &opts(100)).expect("encode single");
        assert!(matches!(
            collector.push(single[0].as_str()),
            Err(TransportError::ForeignFrame { .. })
        ));
        assert_eq!(collector.progress().frames_seen, 1);
    }

    #[test]
    fn huge_sequence_count_rejected_before_decoding() {
        let mut collector = FrameCollector::new();
        for text in [
            "ur:bytes/1-4294967295/lpadaxcsencylobemohsgmoyadhdeynteelblrcygldwvarflojtcywyjydmylgdsa",
            "UR:BYTES/1-99999999999999999999999/AE",
        ] {
            assert!(matches!(
                collector.push(text),
                Err(TransportError::SequenceCountOutOfBounds { .. })
            ));
        }
    }

    #[test]
    fn header_with_huge_count_inside_cbor_rejected() {
        // A part whose CBOR announces 4000 parts for a 20-byte message.
        let mut e = minicbor::Encoder::new(Vec::new());
        e.array(5)
            .and_then(|e| e.u32(1))
            .and_then(|e| e.u32(4000))
            .and_then(|e| e.u32(20))
            .and_then(|e| e.u32(7))
            .and_then(|e| e.bytes(&[0u8; 10]))
            .expect("cbor");
        let cbor = e.into_writer();
        let text = format!(
            "ur:bytes/1-4000/{}",
            ur::bytewords::encode(&cbor, ur::bytewords::Style::Minimal)
        );
        let err = FrameCollector::new().push(&text).expect_err("inconsistent");
        assert!(matches!(
            err,
            TransportError::MalformedFrame {
                reason: "part count does not match message and fragment length",
                ..
            }
        ));
    }

    #[test]
    fn wrong_type_and_not_ur() {
        let mut collector = FrameCollector::new();
        assert_eq!(collector.push("hello"), Err(TransportError::NotUr));
        assert_eq!(collector.push("ur:"), Err(TransportError::NotUr));
        assert_eq!(collector.push("ür:bytes/x"), Err(TransportError::NotUr));
        assert_eq!(
            collector.push("ur:crypto-psbt/1-2/lpadaofe"),
            Err(TransportError::WrongUrType {
                found: "crypto-psbt".to_owned(),
                expected: "`bytes`".to_owned(),
            })
        );
        assert!(matches!(
            collector.push("ur:bytes/0-2/ae"),
            Err(TransportError::MalformedFrame { .. })
        ));
        assert!(matches!(
            collector.push("ur:bytes/a/b/c"),
            Err(TransportError::MalformedFrame { .. })
        ));
    }

    #[test]
    fn wallet_types_round_trip_and_do_not_mix() {
        let psbt: Vec<u8> = (0..900u32).map(|i| (i % 253) as u8).collect();
        let frames =
            encode_ur_frames(UrType::CryptoPsbt, &cbor_byte_string(&psbt), &opts(100)).unwrap();
        assert!(frames[0].as_str().starts_with("UR:CRYPTO-PSBT/1-"));
        let mut collector = FrameCollector::accepting(&[UrType::CryptoPsbt, UrType::Psbt]);
        for frame in frames.iter().rev() {
            collector.push(frame.as_str()).expect("push");
        }
        assert_eq!(collector.ur_type(), Some(UrType::CryptoPsbt));
        assert_eq!(collector.finish().unwrap(), psbt);
        // Once crypto-psbt frames are in, a `psbt` frame is another type.
        let other = encode_ur_frames(UrType::Psbt, &cbor_byte_string(b"x"), &opts(100)).unwrap();
        assert_eq!(
            collector.push(other[0].as_str()),
            Err(TransportError::WrongUrType {
                found: "psbt".to_owned(),
                expected: "`crypto-psbt`".to_owned()
            })
        );
        // The default collector takes `bytes` only.
        assert!(matches!(
            FrameCollector::new().push(frames[0].as_str()),
            Err(TransportError::WrongUrType { .. })
        ));
        // A map type keeps its CBOR as is; `finish` refuses it as a byte string.
        let map = [0xa1, 0x01, 0x02];
        let frames = encode_ur_frames(UrType::EthSignature, &map, &opts(100)).unwrap();
        let mut collector = FrameCollector::accepting(&[UrType::EthSignature]);
        collector.push(frames[0].as_str()).unwrap();
        assert_eq!(
            collector.finish_message().unwrap(),
            (UrType::EthSignature, map.to_vec())
        );
        assert!(matches!(
            collector.finish(),
            Err(TransportError::CorruptPayload { .. })
        ));
    }

    #[test]
    fn a_byte_string_type_with_other_cbor_is_malformed() {
        let text = ur::ur::encode(&[0xa1, 0x01, 0x02], &ur::Type::Custom("crypto-psbt"));
        assert!(matches!(
            FrameCollector::accepting(&[UrType::CryptoPsbt]).push(&text),
            Err(TransportError::MalformedFrame {
                reason: "not a canonical CBOR byte string",
                ..
            })
        ));
    }

    #[test]
    fn cbor_unwrap_is_strict() {
        assert_eq!(parse_cbor_byte_string(&[0x43, 1, 2, 3]), Ok(vec![1, 2, 3]));
        // Non-shortest length header.
        assert!(parse_cbor_byte_string(&[0x58, 3, 1, 2, 3]).is_err());
        // Trailing byte, indefinite length, text string, empty.
        assert!(parse_cbor_byte_string(&[0x43, 1, 2, 3, 0]).is_err());
        assert!(parse_cbor_byte_string(&[0x5f, 0x41, 1, 0xff]).is_err());
        assert!(parse_cbor_byte_string(&[0x63, 0x61, 0x62, 0x63]).is_err());
        assert!(parse_cbor_byte_string(&[0x40]).is_err());
    }

    #[test]
    fn encode_rejects_bad_input() {
        assert_eq!(
            encode_frames(b"", &opts(100)),
            Err(TransportError::EmptyPayload)
        );
        assert!(matches!(
            encode_frames(&vec![0u8; MAX_PAYLOAD_LEN + 1], &opts(100)),
            Err(TransportError::PayloadTooLarge { .. })
        ));
        assert!(matches!(
            encode_frames(
                &vec![0u8; 1990],
                &FrameOptions {
                    fragment_len: 1000,
                    ec_level: crate::transport::EcLevel::H,
                    ..opts(1000)
                }
            ),
            Err(TransportError::QrEncode { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip_any_order(
            payload in proptest::collection::vec(any::<u8>(), 1..3000),
            fragment_len in 20usize..400,
            seed in any::<u64>(),
        ) {
            let frames = encode_frames(&payload, &opts(fragment_len)).expect("encode");
            // Deterministic shuffle from the seed.
            let mut order: Vec<usize> = (0..frames.len()).collect();
            let mut state = seed | 1;
            for i in (1..order.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let mut collector = FrameCollector::new();
            for i in order {
                collector.push(frames[i].as_str()).expect("push");
            }
            prop_assert_eq!(collector.finish().expect("finish"), payload);
        }

        #[test]
        fn random_text_never_panics(text in "\\PC{0,300}") {
            let mut collector = FrameCollector::new();
            let _ = collector.push(&text);
            let _ = collector.push(&format!("ur:bytes/{text}"));
            let _ = collector.push(&format!("ur:bytes/1-3/{text}"));
        }

        #[test]
        fn random_part_bodies_never_panic_or_lie(
            body in proptest::collection::vec(any::<u8>(), 0..200),
            seq in 1u32..20, count in 1u32..10,
        ) {
            let words = ur::bytewords::encode(&body, ur::bytewords::Style::Minimal);
            let mut collector = FrameCollector::new();
            let _ = collector.push(&format!("ur:bytes/{seq}-{count}/{words}"));
            let _ = collector.push(&format!("ur:bytes/{words}"));
            if collector.is_complete() {
                // Whatever was accepted must round-trip to a frame of itself.
                let payload = collector.finish().expect("complete collector finishes");
                prop_assert!(!payload.is_empty());
            }
        }

        #[test]
        fn mutated_frames_never_give_a_wrong_payload(
            payload in proptest::collection::vec(any::<u8>(), 300..1500),
            victim in any::<usize>(),
            position in any::<usize>(),
            replacement in "[A-Z0-9/:-]",
        ) {
            let frames = encode_frames(&payload, &opts(100)).expect("encode");
            let victim = victim % frames.len();
            let mut text = frames[victim].as_str().to_owned();
            let position = position % text.len();
            text.replace_range(position..=position, &replacement);
            let mut collector = FrameCollector::new();
            let _ = collector.push(&text);
            for (i, frame) in frames.iter().enumerate() {
                if i != victim {
                    let _ = collector.push(frame.as_str());
                }
            }
            if let Ok(decoded) = collector.finish() {
                prop_assert_eq!(decoded, payload);
            }
        }
    }
}
