//! The message `sign` signs, from exactly one source: `--message-hex`, `--message-file`
//! (raw bytes), `--message-qr` (images) or `--message-ur` (UR text).
//!
//! QR codes and UR text carry the raw message as a UR of type `bytes` (`ur:bytes/…`, one
//! frame or fountain parts in any order, the codec of `keyexport_shared::transport`). Since
//! most tools show a transaction hash as a plain QR code of its hex, a QR image may instead
//! hold the message in hex (`0x` allowed); several such codes must agree. Hex is decoded
//! strictly: an odd number of digits is refused, except for `stark-ecdsa`, whose message is
//! a number that Starknet tools print without leading zeros.
//!
//! The message is public (a transaction hash or an unsigned transaction): every file read
//! is recorded in the transcript with its digest.

use std::path::Path;

use keyexport_shared::input::DOCUMENT;
use keyexport_shared::transport::{self, FrameCollector, TransportError, is_ur, ur_lines};

use crate::cli::SignArgs;
use crate::error::{CliError, CliResult, UsageError};
use crate::inputs::read_input;
use crate::transcript::{ArtifactRecord, Entry};

use crate::signature::SignScheme;

/// The message and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The bytes to sign.
    pub bytes: Vec<u8>,
    /// The source, for messages: `--message-hex`, a path, or `UR frames from N input(s)`.
    pub source: String,
}

/// Reads the one message source given (clap makes sure there is exactly one).
pub fn read(args: &SignArgs, scheme: SignScheme, entry: &mut Entry) -> CliResult<Message> {
    let message = if let Some(text) = &args.message_hex {
        let source = "--message-hex".to_owned();
        Message {
            bytes: parse_hex(text, scheme).map_err(|problem| CliError::Message {
                input: source.clone(),
                problem,
            })?,
            source,
        }
    } else if let Some(path) = &args.message_file {
        let source = path.display().to_string();
        let bytes = read_input(&source, path, DOCUMENT)?;
        entry
            .inputs
            .push(ArtifactRecord::new("message", &source, &bytes));
        Message { bytes, source }
    } else if !args.message_qr.is_empty() {
        from_images(&args.message_qr, scheme, entry)?
    } else if !args.message_ur.is_empty() {
        from_ur_text(&args.message_ur, entry)?
    } else {
        return Err(CliError::Usage(UsageError::NoMessage));
    };
    if message.bytes.is_empty() {
        return Err(CliError::Message {
            input: message.source,
            problem: "the message is empty".into(),
        });
    }
    Ok(message)
}

/// Decodes hex: surrounding whitespace and a `0x` prefix are ignored; an odd digit count is
/// refused except for stark-ecdsa, where a leading zero is implied. The error is the problem.
pub fn parse_hex(text: &str, scheme: SignScheme) -> Result<Vec<u8>, String> {
    let trimmed = text.trim();
    let digits = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    if let Some((position, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "not hex: {c:?} at position {} of the digits",
            position + 1
        ));
    }
    if digits.len() % 2 == 1 {
        if scheme != SignScheme::StarkEcdsa {
            return Err(format!(
                "{} hex digits, an odd number: a digit is missing",
                digits.len()
            ));
        }
        return hex::decode(format!("0{digits}")).map_err(|e| e.to_string());
    }
    hex::decode(digits).map_err(|e| e.to_string())
}

fn transport_error(input: &str) -> impl Fn(TransportError) -> CliError + '_ {
    move |source| CliError::Transport {
        input: input.to_owned(),
        source,
    }
}

/// `--message-qr`: image files and directories of images.
fn from_images(inputs: &[String], scheme: SignScheme, entry: &mut Entry) -> CliResult<Message> {
    let mut collector = FrameCollector::new();
    let mut frames = 0usize;
    // Plain (non-UR) codes: the first one's hex and where it was seen.
    let mut plain: Option<(Vec<u8>, String)> = None;
    for input in inputs {
        let path = Path::new(input);
        let images = if path.is_dir() {
            let images = transport::image_files_in(path).map_err(transport_error(input))?;
            if images.is_empty() {
                return Err(CliError::Message {
                    input: input.clone(),
                    problem: "the directory holds no PNG or JPEG image (.png, .jpg, .jpeg)".into(),
                });
            }
            images
        } else {
            vec![path.to_path_buf()]
        };
        for image in images {
            let label = image.display().to_string();
            let bytes = read_input(&label, &image, DOCUMENT)?;
            entry
                .inputs
                .push(ArtifactRecord::new("message", &label, &bytes));
            for text in transport::decode_image(&bytes).map_err(transport_error(&label))? {
                if is_ur(text.trim()) {
                    collector
                        .push(text.trim())
                        .map_err(transport_error(&label))?;
                    frames += 1;
                    continue;
                }
                let decoded = parse_hex(&text, scheme).map_err(|problem| CliError::Message {
                    input: label.clone(),
                    problem: format!(
                        "the QR code holds neither UR frames (ur:bytes) nor the message in hex: {problem}"
                    ),
                })?;
                match &plain {
                    None => plain = Some((decoded, label.clone())),
                    Some((first, first_label)) if *first != decoded => {
                        return Err(CliError::Message {
                            input: label.clone(),
                            problem: format!(
                                "its QR code holds another message than the one in {first_label}; give one message only"
                            ),
                        });
                    }
                    Some(_) => {}
                }
            }
        }
    }
    match (plain, frames) {
        (Some((bytes, source)), 0) => Ok(Message { bytes, source }),
        (Some((_, source)), _) => Err(CliError::Message {
            input: source,
            problem: "a QR code in hex was given together with UR frames; give one message only"
                .into(),
        }),
        (None, _) => finish(&collector, inputs.len()),
    }
}

/// `--message-ur`: frames as arguments, text files of frames, or `-` (standard input).
fn from_ur_text(inputs: &[String], entry: &mut Entry) -> CliResult<Message> {
    let mut collector = FrameCollector::new();
    for input in inputs {
        if input == "-" {
            let raw = crate::inputs::read_stdin_frames(&mut collector, |label, source| {
                CliError::Transport {
                    input: label.to_owned(),
                    source,
                }
            })?;
            entry.inputs.push(ArtifactRecord::new("message", "-", &raw));
        } else if is_ur(input.trim()) {
            collector
                .push(input.trim())
                .map_err(transport_error("--message-ur"))?;
        } else {
            let bytes = read_input(input, Path::new(input), DOCUMENT)?;
            entry
                .inputs
                .push(ArtifactRecord::new("message", input, &bytes));
            let text = std::str::from_utf8(&bytes).map_err(|_| CliError::Message {
                input: input.clone(),
                problem: "not text: expected UR frames (ur:bytes/…), one per line".into(),
            })?;
            let mut any = false;
            for (number, line) in ur_lines(text) {
                if !is_ur(line) {
                    return Err(CliError::Message {
                        input: format!("{input}, line {number}"),
                        problem: "not a UR frame (ur:bytes/…)".into(),
                    });
                }
                collector
                    .push(line)
                    .map_err(transport_error(&format!("{input}, line {number}")))?;
                any = true;
            }
            if !any {
                return Err(CliError::Message {
                    input: input.clone(),
                    problem: "the file holds no UR frame".into(),
                });
            }
        }
    }
    finish(&collector, inputs.len())
}

fn finish(collector: &FrameCollector, input_count: usize) -> CliResult<Message> {
    let source = format!("UR frames from {input_count} input(s)");
    if !collector.is_complete() {
        let progress = collector.progress();
        return Err(CliError::Message {
            input: source,
            problem: format!(
                "incomplete: {} distinct frame(s) give about {}% of the message",
                progress.distinct_frames, progress.percent
            ),
        });
    }
    let bytes = collector.finish().map_err(transport_error(&source))?;
    Ok(Message { bytes, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_accepts_a_prefix_and_refuses_odd_lengths_except_for_stark() {
        assert_eq!(
            parse_hex(" 0xABcd\n", SignScheme::EcdsaSecp256k1).unwrap(),
            [0xab, 0xcd]
        );
        let err = parse_hex("abc", SignScheme::EcdsaSecp256k1).unwrap_err();
        assert!(err.contains("3 hex digits, an odd number"), "{err}");
        assert_eq!(
            parse_hex("0x5f3", SignScheme::StarkEcdsa).unwrap(),
            [0x05, 0xf3]
        );
        let err = parse_hex("12 34", SignScheme::Ed25519).unwrap_err();
        assert!(err.contains("' ' at position 3"), "{err}");
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            for scheme in SignScheme::ALL {
                prop_assert_eq!(&parse_hex(&hex::encode(&bytes), scheme).unwrap(), &bytes);
                prop_assert_eq!(
                    &parse_hex(&format!("0x{}", hex::encode_upper(&bytes)), scheme).unwrap(),
                    &bytes
                );
            }
        }
    }
}
