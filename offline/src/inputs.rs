//! Turning `--response` / `inspect` inputs into parsed artifacts.
//!
//! An input is a file or `-` (standard input). Each holds one JSON document: a request file,
//! a response file or a raw Dfns response (`keyexport_shared::files::Artifact`). Every
//! input's bytes are digested for the transcript.

use std::io::Read;
use std::path::Path;

use keyexport_shared::files::Artifact;

use crate::error::{CliError, CliResult};
use crate::transcript::{ArtifactRecord, sha256_hex};

/// A parsed artifact and where it came from.
#[derive(Debug)]
pub struct Found {
    /// Input description (path or `-`).
    pub source: String,
    /// SHA-256 of the document's bytes.
    pub sha256: String,
    /// The artifact.
    pub artifact: Artifact,
}

/// Everything gathered from the inputs.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Digests of every input read (for the transcript).
    pub records: Vec<ArtifactRecord>,
    /// Parsed artifacts, in input order.
    pub found: Vec<Found>,
}

/// Reads and parses every input.
pub fn gather(inputs: &[String]) -> CliResult<Gathered> {
    let mut gathered = Gathered::default();
    for input in inputs {
        let bytes = if input == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|source| CliError::ReadInput {
                    path: "-".into(),
                    source,
                })?;
            bytes
        } else {
            std::fs::read(Path::new(input)).map_err(|source| CliError::ReadInput {
                path: input.clone(),
                source,
            })?
        };
        gathered
            .records
            .push(ArtifactRecord::new("input", input, &bytes));
        if bytes.is_empty() {
            return Err(CliError::Input {
                path: input.clone(),
                problem: "the file is empty".into(),
            });
        }
        gathered.found.push(parse_document(input, &bytes)?);
    }
    Ok(gathered)
}

fn parse_document(source: &str, bytes: &[u8]) -> CliResult<Found> {
    let artifact = Artifact::parse(bytes).map_err(|e| CliError::shared(source.to_owned(), e))?;
    Ok(Found {
        source: source.to_owned(),
        sha256: sha256_hex(bytes),
        artifact,
    })
}
