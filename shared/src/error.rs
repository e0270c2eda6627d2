//! The one error type of `keyexport-shared`.
//!
//! Every variant states a fact (which file, field, share or signer) and never the
//! content of a secret. Advice on what to do is added by the binaries. [`Error::kind`]
//! gives the stable kebab-case name that the `--json` outputs and the test vectors use.

use std::path::PathBuf;

use crate::wire::SignerId;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one share was set aside during reconstruction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShareFault {
    /// AES-GCM authentication failed: wrong decryption key, or the share was tampered with.
    Decrypt,
    /// The decrypted text is not a valid share document; the reason names the field.
    ShareFormat(String),
    /// The share document has a version other than 1.
    Version(u64),
    /// The share's curve differs from the response's.
    Curve(String),
    /// Two or more shares carry the same index.
    DuplicateIndex,
    /// The share decrypted and parsed, but its value disagrees with the verified key.
    WrongValue,
    /// The share fits the verified key but carries another chain code (or none, or one
    /// where the others have none) than the strict majority of the shares that rebuilt it.
    ChainCode,
}

impl ShareFault {
    /// The vector kind this fault belongs to.
    pub fn kind(&self) -> &'static str {
        match self {
            ShareFault::Decrypt => "decrypt",
            ShareFault::ShareFormat(_) => "share-format",
            ShareFault::Version(_) => "version",
            ShareFault::Curve(_) => "curve",
            ShareFault::DuplicateIndex => "duplicate-index",
            ShareFault::WrongValue => "public-key",
            ShareFault::ChainCode => "chain-code",
        }
    }
}

impl std::fmt::Display for ShareFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShareFault::Decrypt => f.write_str("does not decrypt (authentication tag mismatch)"),
            ShareFault::ShareFormat(reason) => write!(f, "is not a valid share document: {reason}"),
            ShareFault::Version(v) => write!(f, "has share format version {v}, expected 1"),
            ShareFault::Curve(c) => write!(f, "is for curve {c:?}, not the response's curve"),
            ShareFault::DuplicateIndex => f.write_str("repeats another share's index"),
            ShareFault::WrongValue => f.write_str("carries a value inconsistent with the key"),
            ShareFault::ChainCode => f.write_str(
                "carries another chain code than the majority of the shares that rebuilt the key",
            ),
        }
    }
}

/// One share that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadShare {
    /// The signer that sent it.
    pub signer_id: SignerId,
    /// What was wrong with it.
    pub fault: ShareFault,
}

/// Too few good shares were left after setting the bad ones aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// Every share set aside, in response order.
    pub bad: Vec<BadShare>,
    /// How many shares were still usable.
    pub usable: usize,
    /// How many the key needs (`minSigners`).
    pub needed: usize,
}

impl Shortfall {
    fn signers(&self) -> String {
        let ids: Vec<&str> = self.bad.iter().map(|b| b.signer_id.as_str()).collect();
        ids.join(", ")
    }
}

/// Everything that can go wrong in `keyexport-shared`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The response holds fewer shares than `minSigners`, or `minSigners` is impossible.
    #[error(
        "the response has {shares} share(s) and minSigners {min_signers}: at least 2 and at most the number of shares are needed"
    )]
    Threshold {
        /// `minSigners` as received.
        min_signers: u64,
        /// Number of shares in the response.
        shares: usize,
    },
    /// Too many shares failed to decrypt.
    #[error("{} share(s) failed to decrypt (signers {}); {} usable of {} needed", .0.bad.len(), .0.signers(), .0.usable, .0.needed)]
    Decrypt(Shortfall),
    /// Too many decrypted shares were not valid share documents.
    #[error("{} share(s) are not valid share documents (signers {}); {} usable of {} needed", .0.bad.len(), .0.signers(), .0.usable, .0.needed)]
    ShareFormat(Shortfall),
    /// Too many shares had an unknown format version.
    #[error("{} share(s) have a share format version other than 1 (signers {}); {} usable of {} needed", .0.bad.len(), .0.signers(), .0.usable, .0.needed)]
    Version(Shortfall),
    /// Too many shares were for another curve than the response's.
    #[error("{} share(s) are for another curve than the response's (signers {}); {} usable of {} needed", .0.bad.len(), .0.signers(), .0.usable, .0.needed)]
    Curve(Shortfall),
    /// Too many shares repeated an index.
    #[error("{} share(s) repeat an index (signers {}); {} usable of {} needed", .0.bad.len(), .0.signers(), .0.usable, .0.needed)]
    DuplicateIndex(Shortfall),
    /// No set of the shares rebuilds a key that matches the response's public key.
    #[error("the shares do not rebuild the response's public key {public_key}{}", suspects_text(.suspects))]
    PublicKey {
        /// The public key the response announced (hex).
        public_key: String,
        /// Signers whose shares disagreed with the others, where that could be told.
        suspects: Vec<SignerId>,
    },
    /// The shares that rebuilt the key disagree on its chain code and no value is carried
    /// by a strict majority of them: the key's HD tree is unknown, so no key is delivered.
    #[error(
        "the {used} shares that rebuilt the key disagree on its chain code, no value in a strict majority ({}); no key is delivered",
        chain_code_groups(.groups)
    )]
    ChainCode {
        /// How many shares rebuilt the key.
        used: usize,
        /// The signers grouped by the value they carry (`has_code`: a chain code, else none),
        /// largest group first; the values themselves are never shown.
        groups: Vec<ChainCodeGroup>,
    },
    /// A protocol, curve or scheme this tool does not know.
    #[error(
        "unsupported {what}: supported are the protocols CGGMP24, FROST, FROST_BITCOIN, GLOW20_DH, KU23, CGGMP21 on the curves ed25519, secp256k1, stark"
    )]
    Unsupported {
        /// What was unknown, e.g. `protocol "GG18"`.
        what: String,
    },
    /// A document is not valid JSON.
    #[error("{document} is not valid JSON: {reason}")]
    Json {
        /// Which document, e.g. "the Dfns export response".
        document: &'static str,
        /// The parser's reason, with line and column (never content).
        reason: String,
    },
    /// A required field is missing.
    #[error("{document} has no field `{field}`")]
    MissingField {
        /// Which document.
        document: &'static str,
        /// The field name.
        field: &'static str,
    },
    /// A field is present but malformed.
    #[error("{document}: field `{field}` is invalid: {reason}")]
    InvalidField {
        /// Which document.
        document: &'static str,
        /// The field name.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file of another kind than expected.
    #[error("expected {expected}, found {found}")]
    WrongDocument {
        /// What was expected.
        expected: &'static str,
        /// What was found instead.
        found: String,
    },
    /// A decryption key in Dfns serialization could not be read. Never holds key material.
    #[error("the decryption key is malformed: {reason}")]
    DecryptionKey {
        /// Position-level reason, without content.
        reason: String,
    },
    /// An encryption key in Dfns serialization could not be read.
    #[error("the encryption key is malformed: {reason}")]
    EncryptionKey {
        /// What is wrong.
        reason: String,
    },
    /// A file system operation failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done, e.g. "cannot write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A QR image or UR frame could not be read or assembled.
    #[error(transparent)]
    Transport(#[from] crate::transport::TransportError),
    /// Refused to replace an existing file.
    #[error("{} already exists; refusing to overwrite it", .path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
}

/// Signers of a failed reconstruction that carry one and the same chain code value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCodeGroup {
    /// Whether the value is a chain code (`false`: `null` or no field).
    pub has_code: bool,
    /// The signers, in response order.
    pub signers: Vec<SignerId>,
}

fn chain_code_groups(groups: &[ChainCodeGroup]) -> String {
    let mut codes = 0;
    let parts: Vec<String> = groups
        .iter()
        .map(|g| {
            let ids: Vec<&str> = g.signers.iter().map(SignerId::as_str).collect();
            let value = if g.has_code {
                codes += 1;
                format!("chain code #{codes}")
            } else {
                "no chain code".to_string()
            };
            format!("{}: {value}", ids.join(", "))
        })
        .collect();
    parts.join("; ")
}

fn suspects_text(suspects: &[SignerId]) -> String {
    if suspects.is_empty() {
        String::new()
    } else {
        let ids: Vec<&str> = suspects.iter().map(SignerId::as_str).collect();
        format!(" (shares disagreeing with the others: {})", ids.join(", "))
    }
}

impl Error {
    /// The stable kebab-case kind: one of the vector kinds (`threshold`, `decrypt`,
    /// `public-key`, `duplicate-index`, `version`, `curve`, `unsupported`,
    /// `share-format`, `chain-code`), `input` for unreadable or foreign input (files, QR images, UR
    /// frames), or `io`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Threshold { .. } => "threshold",
            Error::Decrypt(_) => "decrypt",
            Error::ShareFormat(_) => "share-format",
            Error::Version(_) => "version",
            Error::Curve(_) => "curve",
            Error::DuplicateIndex(_) => "duplicate-index",
            Error::PublicKey { .. } => "public-key",
            Error::Unsupported { .. } => "unsupported",
            Error::ChainCode { .. } => "chain-code",
            Error::Json { .. }
            | Error::MissingField { .. }
            | Error::InvalidField { .. }
            | Error::WrongDocument { .. }
            | Error::DecryptionKey { .. }
            | Error::EncryptionKey { .. }
            | Error::Transport(_) => "input",
            Error::Io { .. } | Error::AlreadyExists { .. } => "io",
        }
    }

    /// The signers whose shares caused this error, in response order.
    pub fn bad_signers(&self) -> Vec<SignerId> {
        match self {
            Error::Decrypt(s)
            | Error::ShareFormat(s)
            | Error::Version(s)
            | Error::Curve(s)
            | Error::DuplicateIndex(s) => s.bad.iter().map(|b| b.signer_id.clone()).collect(),
            Error::PublicKey { suspects, .. } => suspects.clone(),
            _ => Vec::new(),
        }
    }

    /// Builds the error for a shortfall, named after the most frequent fault among the
    /// shares set aside (ties go to the fault seen first).
    pub(crate) fn from_shortfall(shortfall: Shortfall) -> Error {
        let mut best: Option<(&'static str, usize)> = None;
        for bad in &shortfall.bad {
            let kind = bad.fault.kind();
            let count = shortfall
                .bad
                .iter()
                .filter(|b| b.fault.kind() == kind)
                .count();
            if best.is_none_or(|(_, c)| count > c) {
                best = Some((kind, count));
            }
        }
        match best.map(|(k, _)| k) {
            Some("share-format") => Error::ShareFormat(shortfall),
            Some("version") => Error::Version(shortfall),
            Some("curve") => Error::Curve(shortfall),
            Some("duplicate-index") => Error::DuplicateIndex(shortfall),
            _ => Error::Decrypt(shortfall),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
