//! Transactions as wallets show them over QR: UR frames read from images, text files,
//! arguments or standard input, and the answer written back as UR frames.
//!
//! A `--psbt` or `--eth-tx` input is one of:
//! - the transaction itself: a file (binary, base64 or hex text) or its text;
//! - UR frames of the wallet's type (`crypto-psbt`, `eth-sign-request`): a `ur:…` frame
//!   given as text, a text file of frames (one per line, as a USB QR scanner types them),
//!   PNG/JPEG images of the QR codes, a folder of such images, or `-` for frames typed
//!   on standard input until the set is complete.
//!
//! Files are told by their content (`keyexport_shared::transport::sniff`), never by their
//! name. Every frame goes through `keyexport_shared::transport::FrameCollector`, which
//! checks each one before the fountain decoder sees it: duplicates and any order are
//! fine, a frame of another type or another transfer is refused by name.

use std::io::IsTerminal;
use std::path::Path;

use keyexport_shared::fsio;
use keyexport_shared::input::{self, SizeLimit};
use keyexport_shared::transport::{
    self, Content, FrameCollector, FrameOptions, TransportError, UrFrame, UrType, is_ur, sniff,
    ur_lines,
};

use super::input_error;
use crate::error::{CliError, CliResult};
use crate::output::file::check_new_folder;
use crate::transcript::{ArtifactRecord, Entry};

/// Any file given to a transaction flag before it is sniffed: an image is the largest
/// thing it may be; anything else is then held to the document limit.
const ANY_INPUT: SizeLimit = SizeLimit {
    max: input::IMAGE.max,
    what: "a transaction input (transaction file, UR text or QR image)",
};

/// What a transaction flag was given.
#[derive(Debug)]
pub enum TxInput {
    /// The transaction's own bytes (a file's content, or the text given).
    Plain {
        /// The bytes.
        bytes: Vec<u8>,
        /// The path, or the flag when the text was given.
        label: String,
    },
    /// A UR message reassembled from frames.
    Frames {
        /// The UR type of the frames.
        ur_type: UrType,
        /// The message's CBOR.
        cbor: Vec<u8>,
        /// `TYPE QR code`.
        label: String,
    },
}

/// A transport error on a frame input, with what to do about it.
fn frame_error(label: &str, flag: &str, error: &TransportError) -> CliError {
    let advice = match error {
        TransportError::WrongUrType { .. } | TransportError::NotUr => format!(
            "{flag} reads the QR code a wallet shows for the transaction to sign; give that one \
             (or the transaction file)"
        ),
        TransportError::ForeignFrame { .. } => {
            "the frames come from two different transfers: give only the frames of this one"
                .to_owned()
        }
        TransportError::NoQrCode
        | TransportError::ImageUnreadable { .. }
        | TransportError::UnsupportedImage { .. } => {
            "photograph the QR code again (sharp, whole, as PNG or JPEG)".to_owned()
        }
        _ => "scan the frames again (any order, repeats are fine)".to_owned(),
    };
    input_error(label, format!("{error}: {advice}"))
}

/// Reads what `flag` was given (`inputs`, in order). Frames must be of one of `accepted`
/// and complete one message; a transaction file or text must be the only input.
pub fn read(
    flag: &str,
    inputs: &[String],
    accepted: &[UrType],
    entry: &mut Entry,
) -> CliResult<TxInput> {
    let mut collector = FrameCollector::accepting(accepted);
    for input in inputs {
        let path = Path::new(input);
        if input == "-" {
            if std::io::stderr().is_terminal() {
                eprintln!("Scan the wallet's QR code (frames are read until the set is complete)");
            }
            let raw = crate::inputs::read_stdin_frames(&mut collector, |label, e| {
                frame_error(label, flag, &e)
            })?;
            entry
                .inputs
                .push(ArtifactRecord::new("transaction", "-", &raw));
        } else if path.is_dir() {
            read_folder(flag, input, path, &mut collector, entry)?;
        } else if path.symlink_metadata().is_ok() {
            if let Some(bytes) = read_file(flag, input, &mut collector, entry)? {
                return plain(flag, inputs, bytes, input.clone());
            }
        } else if is_ur(input.trim()) {
            collector
                .push(input.trim())
                .map_err(|e| frame_error(flag, flag, &e))?;
        } else {
            return plain(flag, inputs, input.as_bytes().to_vec(), flag.to_owned());
        }
    }
    finish(flag, collector)
}

/// Reads the file `input`: the frames of a QR image or a UR text file go to `collector`;
/// anything else is the transaction itself, returned.
fn read_file(
    flag: &str,
    input: &str,
    collector: &mut FrameCollector,
    entry: &mut Entry,
) -> CliResult<Option<Vec<u8>>> {
    let bytes = read_recorded(Path::new(input), input, ANY_INPUT, entry)?;
    let content = sniff(&bytes);
    if let Some(Content::Image(_)) = content {
        scan_image(flag, input, &bytes, collector)?;
        return Ok(None);
    }
    input::check_size(bytes.len(), input::DOCUMENT).map_err(|source| CliError::ReadInput {
        path: input.to_owned(),
        source,
    })?;
    if content != Some(Content::UrText) {
        return Ok(Some(bytes));
    }
    let text = String::from_utf8_lossy(&bytes);
    for (number, line) in ur_lines(&text) {
        let label = format!("{input}, line {number}");
        collector
            .push(line)
            .map_err(|e| frame_error(&label, flag, &e))?;
    }
    Ok(None)
}

/// Reads the file at `path` (named `label`) within `limit`, recorded in the transcript as
/// a transaction input.
pub fn read_recorded(
    path: &Path,
    label: &str,
    limit: SizeLimit,
    entry: &mut Entry,
) -> CliResult<Vec<u8>> {
    let bytes = crate::inputs::read_input(label, path, limit)?;
    entry
        .inputs
        .push(ArtifactRecord::new("transaction", label, &bytes));
    Ok(bytes)
}

/// The message of the frames collected: refused when they are incomplete.
fn finish(flag: &str, collector: FrameCollector) -> CliResult<TxInput> {
    // Short: the summary's first line names it within 80 columns.
    let label = format!("{} QR code", collector.ur_type().map_or("UR", UrType::name));
    if !collector.is_complete() {
        let progress = collector.progress();
        return Err(input_error(
            &label,
            format!(
                "the frames are incomplete: {progress}. Scan the frames not yet read (any \
                 order, repeats are fine) and give them all together"
            ),
        ));
    }
    let (ur_type, cbor) = collector
        .finish_message()
        .map_err(|e| frame_error(&label, flag, &e))?;
    Ok(TxInput::Frames {
        ur_type,
        cbor,
        label,
    })
}

/// Reads a transaction input: the file at `input` if there is one, else the text given.
/// Returns the bytes and a label for messages (the path, or the flag name).
pub fn read_plain(flag: &str, input: &str, entry: &mut Entry) -> CliResult<(Vec<u8>, String)> {
    let path = Path::new(input);
    if path.symlink_metadata().is_ok() {
        let label = path.display().to_string();
        let bytes = read_recorded(path, &label, keyexport_shared::input::DOCUMENT, entry)?;
        return Ok((bytes, label));
    }
    Ok((input.as_bytes().to_vec(), flag.to_owned()))
}

/// The transaction itself: only as the one input.
fn plain(flag: &str, inputs: &[String], bytes: Vec<u8>, label: String) -> CliResult<TxInput> {
    if inputs.len() > 1 {
        return Err(input_error(
            &label,
            format!(
                "{flag} takes several inputs only as QR frames (images, UR text); this one is \
                 neither: give the transaction alone"
            ),
        ));
    }
    Ok(TxInput::Plain { bytes, label })
}

fn read_folder(
    flag: &str,
    input: &str,
    path: &Path,
    collector: &mut FrameCollector,
    entry: &mut Entry,
) -> CliResult<()> {
    let images = transport::image_files_in(path).map_err(|e| frame_error(input, flag, &e))?;
    if images.is_empty() {
        return Err(input_error(
            input,
            "the folder holds no PNG or JPEG image (.png, .jpg, .jpeg)",
        ));
    }
    for image in images {
        let label = image.display().to_string();
        let bytes = read_recorded(&image, &label, input::IMAGE, entry)?;
        scan_image(flag, &label, &bytes, collector)?;
    }
    Ok(())
}

fn scan_image(
    flag: &str,
    label: &str,
    bytes: &[u8],
    collector: &mut FrameCollector,
) -> CliResult<()> {
    let texts = transport::decode_image(bytes).map_err(|e| frame_error(label, flag, &e))?;
    for text in texts {
        collector
            .push(&text)
            .map_err(|e| frame_error(label, flag, &e))?;
    }
    Ok(())
}

/// Frames written for a wallet: payload bytes per frame, as wallets show them (Keystone's
/// SDK uses 400, Sparrow about 250 per code); no fountain extras, since every frame is a
/// file that is shown in turn.
fn frame_options() -> FrameOptions {
    FrameOptions {
        fragment_len: 250,
        extra_frames_percent: 0,
        ..FrameOptions::default()
    }
}

/// The UR frames of a message, for `--json` and `--ur-out`.
pub fn frames(ur_type: UrType, cbor: &[u8]) -> CliResult<Vec<UrFrame>> {
    transport::encode_ur_frames(ur_type, cbor, &frame_options()).map_err(|e| {
        CliError::Internal(format!(
            "the {ur_type} answer cannot be drawn as UR frames: {e}"
        ))
    })
}

/// Checks, before any key is opened, that `--ur-out DIR` can be written: absent, or an
/// empty folder.
pub fn check_out_dir(dir: &Path) -> CliResult<()> {
    check_new_folder(dir, "--ur-out", "the frames are written as several files")
}

/// Tells the operator what `--ur-out` wrote and how the wallet reads it, within 80
/// columns (the folder's own path aside).
pub fn print_written(dir: &Path, ur_type: UrType, frames: usize) {
    eprintln!(
        "Wrote        {} ({frames} QR code(s) of `{ur_type}`)",
        dir.display()
    );
    eprintln!("             for the wallet: show {ur_type}-01.png… in turn, or run");
    eprintln!("             keyexport-offline show {ur_type}.txt in that folder");
}

/// Writes `frames` into the new or empty folder `dir`: `TYPE.txt` (one frame per line, for
/// a scanner or a file transfer) and `TYPE-NN.png` (one QR code each, shown in turn to the
/// wallet's camera).
pub fn write_frames(
    dir: &Path,
    ur_type: UrType,
    frames: &[UrFrame],
    entry: &mut Entry,
) -> CliResult<()> {
    check_out_dir(dir)?;
    fsio::ensure_empty_dir(dir).map_err(|e| CliError::shared(dir.display().to_string(), e))?;
    let files = fsio::NewFiles::new(dir);
    let write = |name: &str, bytes: &[u8]| {
        files
            .write(name, bytes, fsio::FileMode::Public)
            .map_err(|e| CliError::shared(dir.join(name).display().to_string(), e))
    };
    let mut text = String::new();
    for frame in frames {
        text.push_str(frame.as_str());
        text.push('\n');
    }
    let name = format!("{ur_type}.txt");
    write(&name, text.as_bytes())?;
    let mut records = vec![ArtifactRecord::new(
        "ur-frames",
        &dir.join(&name).display().to_string(),
        text.as_bytes(),
    )];
    let width = frames.len().to_string().len().max(2);
    for (i, frame) in frames.iter().enumerate() {
        let png = transport::render_png(frame, &frame_options()).map_err(|e| {
            CliError::Internal(format!("frame {} cannot be drawn: {e}", frame.label()))
        })?;
        let name = format!("{ur_type}-{:0width$}.png", i + 1);
        write(&name, &png)?;
        records.push(ArtifactRecord::new(
            "ur-frame",
            &dir.join(&name).display().to_string(),
            &png,
        ));
    }
    files
        .sync()
        .map_err(|e| CliError::shared(dir.display().to_string(), e))?;
    entry.outputs.extend(records);
    Ok(())
}
