//! Turning `--response` / `inspect` inputs into parsed artifacts.
//!
//! An input is a file, a directory of QR images, or `-` (standard input). Files are sniffed:
//! PNG/JPEG/GIF images are scanned for QR codes, text starting with `{` is a JSON document
//! (request file, response file or raw Dfns response), other text is UR frames, one per line.
//! All UR frames from all inputs feed one collector (the QR/UR codec of `keyexport-shared`):
//! duplicates are fine, a frame of another payload is an error, and the payload is parsed
//! once complete. Standard input is read line by line so that a USB QR scanner can be used
//! interactively: reading stops as soon as the frame set is complete, with progress shown.

use std::io::{BufRead, IsTerminal, Read};
use std::path::Path;

use keyexport_shared::files::Artifact;
use keyexport_shared::transport::FrameCollector;

use crate::error::{CliError, CliResult};
use crate::transcript::ArtifactRecord;

/// Image extensions picked from a directory.
const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "gif"];

/// A parsed artifact and where it came from.
#[derive(Debug)]
pub struct Found {
    /// Input description (`path`, `-`, or `UR frames from N inputs`).
    pub source: String,
    /// SHA-256 of the artifact's bytes (the JSON document, or the reassembled UR payload).
    pub sha256: String,
    /// The artifact.
    pub artifact: Artifact,
}

/// State of an incomplete UR frame set (for `inspect`).
#[derive(Debug, Clone)]
pub struct PartialFrames {
    /// Distinct frames seen.
    pub frames_seen: usize,
    /// Estimated completion, 0..=100.
    pub percent: u8,
}

/// Everything gathered from the inputs.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Digests of every file read (for the transcript).
    pub records: Vec<ArtifactRecord>,
    /// Complete artifacts.
    pub found: Vec<Found>,
    /// An incomplete UR frame set, if frames were seen but do not complete a payload.
    pub partial: Option<PartialFrames>,
}

/// What a file looks like.
enum Sniffed {
    Image,
    Json,
    Text,
}

fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xff, 0xd8, 0xff]) || bytes.starts_with(b"GIF8") {
        return Some(Sniffed::Image);
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        Some(Sniffed::Json)
    } else if trimmed.lines().next().is_some_and(|l| l.trim().to_ascii_lowercase().starts_with("ur:")) {
        Some(Sniffed::Text)
    } else {
        None
    }
}

/// Reads and parses every input.
pub fn gather(inputs: &[String]) -> CliResult<Gathered> {
    let mut gathered = Gathered::default();
    let mut collector = FrameCollector::new();
    let mut frame_sources = 0usize;
    for input in inputs {
        if input == "-" {
            frame_sources += read_stdin(&mut gathered, &mut collector)?;
            continue;
        }
        let path = Path::new(input);
        if path.is_dir() {
            let images = images_in(path)?;
            if images.is_empty() {
                return Err(CliError::Input {
                    path: input.clone(),
                    problem: "the directory holds no PNG, JPEG or GIF image".into(),
                });
            }
            for image in images {
                let bytes = read(&image.display().to_string(), &image)?;
                gathered
                    .records
                    .push(ArtifactRecord::new("response-input", image.display().to_string(), &bytes));
                scan_image(&image.display().to_string(), &bytes, &mut collector)?;
                frame_sources += 1;
            }
            continue;
        }
        let bytes = read(input, path)?;
        gathered
            .records
            .push(ArtifactRecord::new("response-input", input.clone(), &bytes));
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(CliError::Input {
                path: input.clone(),
                problem: "the file is empty".into(),
            });
        }
        match sniff(&bytes) {
            Some(Sniffed::Image) => {
                scan_image(input, &bytes, &mut collector)?;
                frame_sources += 1;
            }
            Some(Sniffed::Json) => gathered.found.push(parse_document(input, &bytes)?),
            Some(Sniffed::Text) => {
                let text = String::from_utf8_lossy(&bytes);
                for (number, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if !line.is_empty() {
                        push_frame(&format!("{input}, line {}", number + 1), line, &mut collector)?;
                    }
                }
                frame_sources += 1;
            }
            None => {
                return Err(CliError::Input {
                    path: input.clone(),
                    problem: "neither JSON, UR frames (ur:…) nor a PNG/JPEG/GIF image".into(),
                });
            }
        }
    }
    if frame_sources > 0 {
        if collector.is_complete() {
            let source = format!("UR frames from {frame_sources} input(s)");
            let payload = collector
                .finish()
                .map_err(|e| CliError::shared(source.clone(), e))?;
            gathered.found.push(parse_document(&source, &payload)?);
        } else {
            let progress = collector.progress();
            gathered.partial = Some(PartialFrames {
                frames_seen: progress.frames_seen,
                percent: progress.percent(),
            });
        }
    }
    Ok(gathered)
}

fn read(label: &str, path: &Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|source| CliError::ReadInput {
        path: label.to_owned(),
        source,
    })
}

fn images_in(dir: &Path) -> CliResult<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| CliError::ReadInput {
        path: dir.display().to_string(),
        source,
    })?;
    let mut images: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    images.sort();
    Ok(images)
}

fn scan_image(label: &str, bytes: &[u8], collector: &mut FrameCollector) -> CliResult<()> {
    let texts = keyexport_shared::transport::decode_image(bytes)
        .map_err(|e| CliError::shared(label.to_owned(), e))?;
    if texts.is_empty() {
        return Err(CliError::Input {
            path: label.to_owned(),
            problem: "no QR code found in the image".into(),
        });
    }
    for text in texts {
        push_frame(label, &text, collector)?;
    }
    Ok(())
}

fn push_frame(label: &str, frame: &str, collector: &mut FrameCollector) -> CliResult<()> {
    if !frame.to_ascii_lowercase().starts_with("ur:") {
        return Err(CliError::Input {
            path: label.to_owned(),
            problem: "the QR code / line is not a UR frame (ur:…); it does not belong to a keyexport transfer".into(),
        });
    }
    collector
        .push(frame)
        .map(|_| ())
        .map_err(|e| CliError::shared(label.to_owned(), e))
}

/// Reads standard input: a JSON document, or UR frames until the set is complete.
/// Returns the number of frame sources (0 or 1).
fn read_stdin(gathered: &mut Gathered, collector: &mut FrameCollector) -> CliResult<usize> {
    let stdin = std::io::stdin();
    let interactive = std::io::stderr().is_terminal();
    let mut lock = stdin.lock();
    let mut raw = Vec::new();
    let mut line = String::new();
    let mut number = 0usize;
    let mut frames = 0usize;
    loop {
        line.clear();
        let n = lock.read_line(&mut line).map_err(|source| CliError::ReadInput {
            path: "-".into(),
            source,
        })?;
        if n == 0 {
            break;
        }
        number += 1;
        raw.extend_from_slice(line.as_bytes());
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if frames == 0 && trimmed.starts_with('{') {
            // A JSON document piped in (e.g. from curl): read the rest of it.
            lock.read_to_end(&mut raw).map_err(|source| CliError::ReadInput {
                path: "-".into(),
                source,
            })?;
            gathered.records.push(ArtifactRecord::new("response-input", "-", &raw));
            gathered.found.push(parse_document("-", &raw)?);
            return Ok(0);
        }
        push_frame(&format!("-, line {number}"), trimmed, collector)?;
        frames += 1;
        let progress = collector.progress();
        if interactive {
            eprint!(
                "\rframes seen: {:>4}   complete: {:>3}%",
                progress.frames_seen,
                progress.percent()
            );
        }
        if collector.is_complete() {
            break;
        }
    }
    if interactive && frames > 0 {
        eprintln!();
    }
    gathered.records.push(ArtifactRecord::new("response-input", "-", &raw));
    if frames == 0 {
        return Err(CliError::Input {
            path: "-".into(),
            problem: "standard input held no UR frame and no JSON document".into(),
        });
    }
    Ok(1)
}

fn parse_document(source: &str, bytes: &[u8]) -> CliResult<Found> {
    let artifact = Artifact::parse(bytes).map_err(|e| CliError::shared(source.to_owned(), e))?;
    Ok(Found {
        source: source.to_owned(),
        sha256: crate::transcript::sha256_hex(bytes),
        artifact,
    })
}
