//! Turning `--response` / `inspect` inputs into parsed artifacts.
//!
//! An input is a file, a directory of QR images, or `-` (standard input). Files are sniffed:
//! PNG/JPEG images are scanned for QR codes (other image formats are refused by name), text starting with `{` is a JSON document
//! (request file, response file, raw Dfns response or canary receipt), text starting with `ur:` is UR
//! frames, one per line. All UR frames from all inputs feed one collector (the QR/UR codec
//! of `keyexport_shared::transport`): duplicates are fine, a frame of another payload is an
//! error, and the payload is parsed once complete. Standard input is read line by line so a
//! USB QR scanner can be used interactively: reading stops as soon as the frame set is
//! complete, with progress shown on a terminal.
//!
//! Every input is bounded: only regular files are read, each within its size limit
//! (`keyexport_shared::input`), standard input within the document limit, and the frame
//! collector stops a frame set made never to complete.

use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};

use keyexport_shared::canary::CanaryReceipt;
use keyexport_shared::files::{Artifact, OfflineSecret};
use keyexport_shared::input::{self, SizeLimit};
use keyexport_shared::transport::{
    Content, FrameCollector, TransportError, decode_image, has_image_extension, sniff, ur_lines,
};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult, InputProblem};
use crate::transcript::{ArtifactRecord, sha256_hex};

/// Any input before it is sniffed: the largest limit of what it may be (an image); a
/// document is then held to its own, smaller limit.
const ANY_INPUT: SizeLimit = SizeLimit {
    max: input::IMAGE.max,
    what: "an input file (QR image, request, response or UR text)",
};

/// A parsed artifact and where it came from.
#[derive(Debug)]
pub struct Found {
    /// Input description (path, `-`, or `UR frames from N input(s)`).
    pub source: String,
    /// SHA-256 of the document's bytes (for UR frames: of the reassembled payload).
    pub sha256: String,
    /// The artifact.
    pub artifact: Artifact,
}

/// A canary receipt (written by `reconstruct` of a canary's response) and where it came
/// from.
#[derive(Debug)]
pub struct FoundReceipt {
    /// Input description, as for [`Found`].
    pub source: String,
    /// SHA-256 of the receipt's bytes.
    pub sha256: String,
    /// The receipt, parsed (its signature not yet checked).
    pub receipt: CanaryReceipt,
}

/// An incomplete UR frame set.
#[derive(Debug, Clone)]
pub struct PartialFrames {
    /// Distinct frames accepted.
    pub distinct_frames: usize,
    /// Estimated completion, 0..=99.
    pub percent: u8,
}

/// Everything gathered from the inputs.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Digests of every input read (for the transcript).
    pub records: Vec<ArtifactRecord>,
    /// Parsed artifacts, in input order (a reassembled UR payload comes last).
    pub found: Vec<Found>,
    /// Canary receipts, in input order.
    pub receipts: Vec<FoundReceipt>,
    /// Set when UR frames were given but do not complete a payload.
    pub partial: Option<PartialFrames>,
}

/// Reads and parses every input.
pub fn gather(inputs: &[String]) -> CliResult<Gathered> {
    let mut gathered = Gathered::default();
    let mut collector = FrameCollector::new();
    let mut frame_inputs = 0usize;
    for input in inputs {
        let path = Path::new(input);
        frame_inputs += if input == "-" {
            read_stdin(&mut gathered, &mut collector)?
        } else if path.is_dir() {
            read_folder(input, path, &mut gathered, &mut collector)?
        } else {
            read_file(input, path, &mut gathered, &mut collector)?
        };
    }
    if frame_inputs > 0 {
        let source = format!("UR frames from {frame_inputs} input(s)");
        if collector.is_complete() {
            let payload = collector
                .finish()
                .map_err(|source_error| CliError::Transport {
                    input: source.clone(),
                    source: source_error,
                })?;
            add_document(&mut gathered, &source, &payload)?;
        } else {
            let progress = collector.progress();
            gathered.partial = Some(PartialFrames {
                distinct_frames: progress.distinct_frames,
                percent: progress.percent,
            });
        }
    }
    Ok(gathered)
}

/// Scans every PNG and JPEG image of a folder into the collector. Returns the number of
/// frame inputs it contributed.
fn read_folder(
    input: &str,
    path: &Path,
    gathered: &mut Gathered,
    collector: &mut FrameCollector,
) -> CliResult<usize> {
    let images = images_in(path)?;
    if images.is_empty() {
        return Err(CliError::Input {
            path: input.to_owned(),
            problem: InputProblem::NoImageInFolder,
        });
    }
    // The image whose frames came first: when another image's frames belong to a
    // different file, both are named (the intruder may be either, e.g. a
    // request.png left beside the response's frames).
    let mut first: Option<String> = None;
    let count = images.len();
    for image in images {
        let label = image.display().to_string();
        let bytes = read_input(&label, &image, input::IMAGE)?;
        gathered
            .records
            .push(ArtifactRecord::new("input", &label, &bytes));
        scan_image(&label, &bytes, collector).map_err(|e| match (e, &first) {
            (
                CliError::Transport {
                    source: TransportError::ForeignFrame { .. },
                    ..
                },
                Some(first),
            ) => CliError::Input {
                path: input.to_owned(),
                problem: InputProblem::FolderMixesTransfers {
                    first: first.to_string(),
                    other: label.to_string(),
                },
            },
            (e, _) => e,
        })?;
        first.get_or_insert(label);
    }
    Ok(count)
}

/// Reads one file: a document is parsed, an image scanned, UR text pushed line by line.
/// Returns the number of frame inputs it contributed (0 or 1).
fn read_file(
    input: &str,
    path: &Path,
    gathered: &mut Gathered,
    collector: &mut FrameCollector,
) -> CliResult<usize> {
    let bytes = read_input(input, path, ANY_INPUT)?;
    gathered
        .records
        .push(ArtifactRecord::new("input", input, &bytes));
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CliError::Input {
            path: input.to_owned(),
            problem: InputProblem::Empty,
        });
    }
    if let Some(secret) = OfflineSecret::recognise(&bytes) {
        return Err(CliError::OfflineSecret {
            path: input.to_owned(),
            what: secret.describe(),
        });
    }
    match sniff(&bytes) {
        Some(Content::Image(_)) => {
            scan_image(input, &bytes, collector)?;
            Ok(1)
        }
        Some(Content::Json) => {
            check_size(input, &bytes, input::DOCUMENT)?;
            add_document(gathered, input, &bytes)?;
            Ok(0)
        }
        Some(Content::UrText) => {
            check_size(input, &bytes, input::DOCUMENT)?;
            let text = String::from_utf8_lossy(&bytes);
            for (number, line) in ur_lines(&text) {
                push_frame(&format!("{input}, line {number}"), line, collector)?;
            }
            Ok(1)
        }
        None => Err(CliError::Input {
            path: input.to_owned(),
            problem: InputProblem::Unrecognised,
        }),
    }
}

/// The error for an incomplete frame set (used by `reconstruct`).
pub fn incomplete(partial: &PartialFrames, reported: bool) -> CliError {
    CliError::IncompleteFrames {
        distinct_frames: partial.distinct_frames,
        percent: partial.percent,
        reported,
    }
}

/// Reads a regular file of at most `limit` bytes; `label` names it in the error.
pub fn read_input(label: &str, path: &Path, limit: SizeLimit) -> CliResult<Vec<u8>> {
    input::read(path, limit).map_err(|source| CliError::ReadInput {
        path: label.to_owned(),
        source,
    })
}

/// Reads a text file of at most `limit` bytes; a file that is not UTF-8 is refused as not
/// being `what` ("a transcript").
pub fn read_text(path: &Path, limit: SizeLimit, what: &'static str) -> CliResult<String> {
    let label = path.display().to_string();
    let bytes = read_input(&label, path, limit)?;
    String::from_utf8(bytes).map_err(|_| CliError::Input {
        path: label,
        problem: InputProblem::NotUtf8 { expected: what },
    })
}

/// Reads a small secret file (a key, identity or passphrase file) into wiped memory, within
/// the size of a secret file ([`input::read_secret`]).
pub fn read_secret(path: &Path) -> CliResult<Zeroizing<Vec<u8>>> {
    input::read_secret(path).map_err(|source| CliError::ReadInput {
        path: path.display().to_string(),
        source,
    })
}

fn check_size(label: &str, bytes: &[u8], limit: SizeLimit) -> CliResult<()> {
    input::check_size(bytes.len(), limit).map_err(|source| CliError::ReadInput {
        path: label.to_owned(),
        source,
    })
}

fn images_in(dir: &Path) -> CliResult<Vec<PathBuf>> {
    files_in(dir, |name| has_image_extension(Path::new(name)))
}

/// The regular files of folder `dir` whose (UTF-8) name `keep` accepts, sorted by name.
pub(crate) fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> CliResult<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| CliError::ReadInput {
        path: dir.display().to_string(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    files.sort();
    Ok(files)
}

fn scan_image(label: &str, bytes: &[u8], collector: &mut FrameCollector) -> CliResult<()> {
    let texts = decode_image(bytes).map_err(|source| CliError::Transport {
        input: label.to_owned(),
        source,
    })?;
    for text in texts {
        push_frame(label, &text, collector)?;
    }
    Ok(())
}

fn push_frame(label: &str, frame: &str, collector: &mut FrameCollector) -> CliResult<()> {
    collector
        .push(frame)
        .map(|_| ())
        .map_err(|source| CliError::Transport {
            input: label.to_owned(),
            source,
        })
}

/// Reads standard input: a JSON document, or UR frames until the set is complete.
/// Returns the number of frame inputs it contributed (0 or 1).
fn read_stdin(gathered: &mut Gathered, collector: &mut FrameCollector) -> CliResult<usize> {
    let read = read_stdin_lines(collector, StdinHolds::FramesOrDocument, |label, source| {
        CliError::Transport {
            input: label.to_owned(),
            source,
        }
    })?;
    gathered
        .records
        .push(ArtifactRecord::new("input", "-", &read.raw));
    if read.document {
        add_document(gathered, "-", &read.raw)?;
        return Ok(0);
    }
    if read.frames == 0 {
        return Err(CliError::Input {
            path: "-".into(),
            problem: InputProblem::StdinEmpty,
        });
    }
    Ok(1)
}

/// Parses a whole document: a canary receipt, or a request or response.
fn add_document(gathered: &mut Gathered, source: &str, bytes: &[u8]) -> CliResult<()> {
    if CanaryReceipt::is_receipt(bytes) {
        let receipt = CanaryReceipt::parse(bytes).map_err(|e| CliError::Receipt {
            input: source.to_owned(),
            source: e,
        })?;
        gathered.receipts.push(FoundReceipt {
            source: source.to_owned(),
            sha256: sha256_hex(bytes),
            receipt,
        });
        return Ok(());
    }
    let artifact = Artifact::parse(bytes).map_err(|e| CliError::shared(source.to_owned(), e))?;
    gathered.found.push(Found {
        source: source.to_owned(),
        sha256: sha256_hex(bytes),
        artifact,
    });
    Ok(())
}

/// UR frames from standard input, one per line (as a USB QR scanner types them), until the
/// set is complete or the input ends, with progress when standard error is a terminal.
/// Returns the bytes read, for the transcript. A frame the collector refuses is reported
/// through `refused` with its line (`-, line N`). Reading stops at the standard-input limit
/// even within one endless line.
pub fn read_stdin_frames(
    collector: &mut FrameCollector,
    refused: impl Fn(&str, TransportError) -> CliError,
) -> CliResult<Vec<u8>> {
    read_stdin_lines(collector, StdinHolds::Frames, refused).map(|read| read.raw)
}

/// What standard input may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StdinHolds {
    /// UR frames only.
    Frames,
    /// UR frames, or one JSON document (e.g. piped from curl) starting on the first line
    /// that is not blank.
    FramesOrDocument,
}

/// What was read from standard input.
struct StdinRead {
    /// Every byte read, for the transcript (the whole document, when it is one).
    raw: Vec<u8>,
    /// Whether `raw` is a JSON document rather than UR frames.
    document: bool,
    /// How many frames were pushed into the collector.
    frames: usize,
}

/// The one reader of standard input: line by line, so a USB QR scanner can be used
/// interactively, pushing each frame into `collector` until the set is complete or the
/// input ends, with progress when standard error is a terminal. Bounded by the
/// standard-input limit even within one endless line (`cat /dev/zero` has no newline); a
/// document is held to the document limit.
fn read_stdin_lines(
    collector: &mut FrameCollector,
    holds: StdinHolds,
    refused: impl Fn(&str, TransportError) -> CliError,
) -> CliResult<StdinRead> {
    let read_error = |source| CliError::ReadInput {
        path: "-".into(),
        source,
    };
    let interactive = std::io::stderr().is_terminal();
    let mut lock = std::io::stdin().lock();
    let mut read = StdinRead {
        raw: Vec::new(),
        document: false,
        frames: 0,
    };
    let mut line = String::new();
    let mut number = 0usize;
    // Where a document is possible, the first line is read even when earlier inputs
    // completed the frame set: it may be a document.
    while !(collector.is_complete() && (read.frames > 0 || holds == StdinHolds::Frames)) {
        line.clear();
        // One line can be no longer than what is left of the limit.
        let room = input::STDIN.max.saturating_sub(read.raw.len() as u64) + 1;
        if (&mut lock)
            .take(room)
            .read_line(&mut line)
            .map_err(read_error)?
            == 0
        {
            break;
        }
        number += 1;
        read.raw.extend_from_slice(line.as_bytes());
        input::check_size(read.raw.len(), input::STDIN).map_err(read_error)?;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if holds == StdinHolds::FramesOrDocument && read.frames == 0 && trimmed.starts_with('{') {
            input::read_within(&mut lock, input::DOCUMENT, &mut read.raw).map_err(read_error)?;
            read.document = true;
            return Ok(read);
        }
        collector
            .push(trimmed)
            .map_err(|e| refused(&format!("-, line {number}"), e))?;
        read.frames += 1;
        if interactive {
            let progress = collector.progress();
            eprint!(
                "\rframes seen {:>4}   distinct {:>4}   complete {:>3}%",
                progress.frames_seen, progress.distinct_frames, progress.percent
            );
        }
    }
    if interactive && read.frames > 0 {
        eprintln!();
    }
    Ok(read)
}
