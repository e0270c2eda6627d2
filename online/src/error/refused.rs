//! What the tool refuses before exporting: folders, outputs, keys, confirmations.

use std::path::PathBuf;

/// A folder the outputs go in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    /// The output folder of a single export (`--out`).
    Output,
    /// The responses folder of a batch (`--out`).
    Responses,
    /// `OUT/canary/`.
    Canary,
}

impl Folder {
    fn name(self) -> &'static str {
        match self {
            Folder::Output => "output folder",
            Folder::Responses => "responses folder",
            Folder::Canary => "canary folder",
        }
    }
}

/// What the operator types to confirm an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// The key id of a single export.
    KeyId,
    /// The number of keys of a batch.
    KeyCount,
}

/// Why the preflight (`GET /keys/{id}`) refuses to export a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Dfns shows the key exported already.
    AlreadyExported,
    /// The key is not active (its status).
    NotActive(String),
    /// The key's curve is not among the request's `supportedSchemes`.
    SchemeNotListed,
}

impl Refusal {
    /// A short stable name (the batch summary's `kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::AlreadyExported => "already-exported",
            Refusal::NotActive(_) => "not-active",
            Refusal::SchemeNotListed => "scheme-not-listed",
        }
    }
}

/// Why the tool refuses to go on before exporting: the facts, the message and the advice.
/// All are of kind `refused`.
#[derive(Debug, thiserror::Error)]
pub enum RefusedError {
    /// A folder for the outputs cannot be created.
    #[error("cannot create the {} {}: {error}", folder.name(), path.display())]
    FolderUnwritable {
        /// Which folder.
        folder: Folder,
        /// Where.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The output path exists and is not a folder.
    #[error("the output {} is not a folder", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// An earlier run's outputs are in the output folder.
    #[error("output files already exist: {}", list(paths))]
    OutputsExist {
        /// The files in the way.
        paths: Vec<PathBuf>,
    },
    /// An earlier canary attempt's files are in `OUT/canary/`.
    #[error("the canary folder holds an earlier run's files: {}", list(paths))]
    CanaryFolderTaken {
        /// The files in the way.
        paths: Vec<PathBuf>,
    },
    /// Dfns shows the key exported already.
    #[error(
        "key {key_id} is already exported{}",
        on.as_deref().map(|d| format!(" (on {d})")).unwrap_or_default()
    )]
    AlreadyExported {
        /// The key.
        key_id: String,
        /// When, if Dfns says.
        on: Option<String>,
    },
    /// The key is not active.
    #[error("key {key_id} is not active (status {status})")]
    NotActive {
        /// The key.
        key_id: String,
        /// Its status at Dfns.
        status: String,
    },
    /// The key's curve is not among the request's `supportedSchemes`.
    #[error(
        "key {key_id} is on curve {curve}, which the request does not list (supportedSchemes: \
         {})",
        listed.join(", ")
    )]
    SchemeNotListed {
        /// The key.
        key_id: String,
        /// Its curve at Dfns.
        curve: String,
        /// The schemes the request lists.
        listed: Vec<String>,
    },
    /// The batch's first key, of which the canary is made, cannot be exported.
    #[error(
        "the batch's first key {key_id} cannot be exported ({}): the canary is made of its \
         scheme and curve",
        refusal.kind()
    )]
    FirstKeyNotExportable {
        /// The key.
        key_id: String,
        /// Why.
        refusal: Refusal,
    },
    /// Canary flags for a request that asks for no canary.
    #[error(
        "--canary-receipt or --skip-canary was given, but this request does not ask for a \
         canary ceremony"
    )]
    CanaryFlagsWithoutCanary,
    /// The batch's journal in the folder was started by another request.
    #[error(
        "{} belongs to another request (ceremony {ceremony_id}, request digest {request_sha256})",
        path.display()
    )]
    JournalOfAnotherRequest {
        /// The journal.
        path: PathBuf,
        /// The ceremony that started it.
        ceremony_id: String,
        /// SHA-256 of the request that started it.
        request_sha256: String,
    },
    /// The batch's journal cannot be written.
    #[error("cannot write the batch journal {}: {error}", path.display())]
    JournalUnwritable {
        /// The journal.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The transcript cannot be written.
    #[error("cannot write the transcript: {0}")]
    TranscriptUnwritable(keyexport_shared::Error),
    /// Standard input is not a terminal and `--yes` was not given.
    #[error("no terminal to confirm the export on")]
    NoTerminal(Confirm),
    /// What was typed is not what was asked.
    #[error(
        "the {} typed does not match; nothing was exported",
        match .0 { Confirm::KeyId => "key id", Confirm::KeyCount => "number" }
    )]
    Mismatch(Confirm),
}

/// Paths as a comma-separated list.
fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl RefusedError {
    /// What to do.
    pub fn advice(&self) -> String {
        match self {
            RefusedError::FolderUnwritable {
                folder: Folder::Canary,
                ..
            } => "Choose with --out a folder you can write to. Nothing was created or exported."
                .into(),
            RefusedError::FolderUnwritable { .. } | RefusedError::NotAFolder { .. } => {
                "Choose with --out a folder you can write to. Nothing was exported.".into()
            }
            RefusedError::OutputsExist { .. } => {
                "An earlier run may already have exported this key and saved its response \
                 there: keep those files. Use another --out folder for a new attempt."
                    .into()
            }
            RefusedError::CanaryFolderTaken { .. } => {
                "An earlier canary attempt was held or stopped: read those files (a held \
                 canary key may exist in Dfns: delete it in the dashboard), then move them \
                 away, or use another --out folder. Nothing was created or exported."
                    .into()
            }
            RefusedError::AlreadyExported { .. } => {
                "A key can be exported only once. Find the response.json saved when it was \
                 exported."
                    .into()
            }
            RefusedError::NotActive { .. } => "Only an active key can be exported.".into(),
            RefusedError::SchemeNotListed { .. } => {
                "Make a new request on the offline machine that includes this key's scheme \
                 (keyexport-offline init --scheme PROTOCOL:CURVE), or check the key id."
                    .into()
            }
            RefusedError::FirstKeyNotExportable { .. } => {
                "Check that key at Dfns; make a new request whose first key is active, not \
                 exported and of a listed scheme. Nothing was created or exported."
                    .into()
            }
            RefusedError::CanaryFlagsWithoutCanary => {
                "Leave those flags out for this request (made without `init --canary`). \
                 Nothing was sent."
                    .into()
            }
            RefusedError::JournalOfAnotherRequest { .. } => {
                "Resume a batch with the very request file that started it, or choose \
                 another --out folder for this request."
                    .into()
            }
            RefusedError::JournalUnwritable { .. } => {
                "Free space or fix permissions on the responses folder, then run the same \
                 command again to resume."
                    .into()
            }
            RefusedError::TranscriptUnwritable(_) => {
                "Make the output folder writable (or choose another with --out); nothing \
                 more was sent to Dfns."
                    .into()
            }
            RefusedError::NoTerminal(Confirm::KeyId) => {
                "Run submit in a terminal to type the key id, or pass --yes in a script that \
                 has checked the key id, ceremony id and fingerprint itself."
                    .into()
            }
            RefusedError::NoTerminal(Confirm::KeyCount) => {
                "Run submit in a terminal to type the number of keys, or pass --yes in a \
                 script that has checked the ceremony id and fingerprint itself."
                    .into()
            }
            RefusedError::Mismatch(Confirm::KeyId) => {
                "Run submit again and type the key id exactly as shown.".into()
            }
            RefusedError::Mismatch(Confirm::KeyCount) => {
                "Run submit again and type the number of keys shown.".into()
            }
        }
    }
}
