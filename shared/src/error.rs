//! The one error type of `keyexport-shared`.
//!
//! Every variant states a fact (which file, field, share or signer) and never the
//! content of a secret. Advice on what to do is added by the binaries. [`Error::kind`]
//! gives the [`ErrorKind`]: the stable kebab-case name that the `--json` outputs and the
//! test vectors use, shared by both binaries so each failure has one spelling.

use std::path::PathBuf;

use serde::Serialize;

use crate::wire::SignerId;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The stable name of a failure: the `kind` of both tools' `--json` error objects, of batch
/// reports and transcript outcomes, and of the test vectors' expected errors. Its spelling
/// ([`ErrorKind::as_str`], also its serde form) never changes: scripts match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Vector kind: fewer shares than `minSigners`, or `minSigners` impossible.
    Threshold,
    /// Vector kind: too many shares fail authentication.
    Decrypt,
    /// Vector kind: the shares (or a key) do not match the public key.
    PublicKey,
    /// Vector kind: two shares carry the same index.
    DuplicateIndex,
    /// Vector kind: a share format version other than 1.
    Version,
    /// Vector kind: a share for another curve than the response's.
    Curve,
    /// Vector kind: an unknown protocol or curve.
    Unsupported,
    /// Vector kind: a decrypted share is not a valid share document.
    ShareFormat,
    /// Vector kind: the shares that rebuilt the key disagree on its chain code.
    ChainCode,
    /// Invalid command-line arguments, or a terminal too small for what was asked.
    Usage,
    /// Unreadable, malformed, incomplete or foreign input.
    Input,
    /// A secret of the offline machine given where a request or response belongs.
    OfflineSecret,
    /// Offline: a bug.
    Internal,
    /// Offline: a passphrase wrong, empty, too weak, unconfirmed, or not obtainable.
    Passphrase,
    /// An output exists, or cannot be written.
    Output,
    /// Offline: the air-gap guard found a network interface up.
    AirGap,
    /// Offline: a batch in which at least one key failed.
    Batch,
    /// Online: the API URL, token or credential is missing or invalid.
    Config,
    /// Online: refused before exporting (key state, confirmation, outputs).
    Refused,
    /// Online: Dfns refused a call; nothing was exported.
    DfnsRefused,
    /// Online: a network failure before the export was sent.
    Network,
    /// Online: the export may have reached Dfns but no answer came back.
    ExportUncertain,
    /// Online: a policy holds the export for approval (HTTP 202).
    HeldForApproval,
    /// Online: the response was saved but fails a check.
    ResponseCheck,
    /// Online: the response could not be saved.
    NotSaved,
    /// Online: the response was saved but its QR/UR files could not be written.
    Transport,
    /// Online: a batch finished with keys not exported.
    BatchIncomplete,
    /// Online: a canary ceremony's real export refused: no valid canary receipt.
    CanaryUnproven,
    /// Online: the canary key could not be created: the token lacks `Keys:Create`.
    CanaryPermission,
    /// Interrupted by Ctrl-C.
    Interrupted,
}

impl ErrorKind {
    /// The kinds of the test vectors: the ways reconstruction fails.
    pub const RECONSTRUCTION: [ErrorKind; 9] = [
        ErrorKind::Threshold,
        ErrorKind::Decrypt,
        ErrorKind::PublicKey,
        ErrorKind::DuplicateIndex,
        ErrorKind::Version,
        ErrorKind::Curve,
        ErrorKind::Unsupported,
        ErrorKind::ShareFormat,
        ErrorKind::ChainCode,
    ];

    /// The kebab-case name, as in JSON and the test vectors.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Threshold => "threshold",
            ErrorKind::Decrypt => "decrypt",
            ErrorKind::PublicKey => "public-key",
            ErrorKind::DuplicateIndex => "duplicate-index",
            ErrorKind::Version => "version",
            ErrorKind::Curve => "curve",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::ShareFormat => "share-format",
            ErrorKind::ChainCode => "chain-code",
            ErrorKind::Usage => "usage",
            ErrorKind::Input => "input",
            ErrorKind::OfflineSecret => "offline-secret",
            ErrorKind::Internal => "internal",
            ErrorKind::Passphrase => "passphrase",
            ErrorKind::Output => "output",
            ErrorKind::AirGap => "air-gap",
            ErrorKind::Batch => "batch",
            ErrorKind::Config => "config",
            ErrorKind::Refused => "refused",
            ErrorKind::DfnsRefused => "dfns-refused",
            ErrorKind::Network => "network",
            ErrorKind::ExportUncertain => "export-uncertain",
            ErrorKind::HeldForApproval => "held-for-approval",
            ErrorKind::ResponseCheck => "response-check",
            ErrorKind::NotSaved => "not-saved",
            ErrorKind::Transport => "transport",
            ErrorKind::BatchIncomplete => "batch-incomplete",
            ErrorKind::CanaryUnproven => "canary-unproven",
            ErrorKind::CanaryPermission => "canary-permission",
            ErrorKind::Interrupted => "interrupted",
        }
    }

    /// Whether this is one of the vector kinds (a reconstruction failure).
    pub fn is_reconstruction(self) -> bool {
        ErrorKind::RECONSTRUCTION.contains(&self)
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    pub fn kind(&self) -> ErrorKind {
        match self {
            ShareFault::Decrypt => ErrorKind::Decrypt,
            ShareFault::ShareFormat(_) => ErrorKind::ShareFormat,
            ShareFault::Version(_) => ErrorKind::Version,
            ShareFault::Curve(_) => ErrorKind::Curve,
            ShareFault::DuplicateIndex => ErrorKind::DuplicateIndex,
            ShareFault::WrongValue => ErrorKind::PublicKey,
            ShareFault::ChainCode => ErrorKind::ChainCode,
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
    /// The kind: one of the vector kinds, [`ErrorKind::Input`] for unreadable or foreign
    /// input (files, QR images, UR frames), or [`ErrorKind::Output`] for a file that could
    /// not be written or already exists.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Threshold { .. } => ErrorKind::Threshold,
            Error::Decrypt(_) => ErrorKind::Decrypt,
            Error::ShareFormat(_) => ErrorKind::ShareFormat,
            Error::Version(_) => ErrorKind::Version,
            Error::Curve(_) => ErrorKind::Curve,
            Error::DuplicateIndex(_) => ErrorKind::DuplicateIndex,
            Error::PublicKey { .. } => ErrorKind::PublicKey,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::ChainCode { .. } => ErrorKind::ChainCode,
            Error::Json { .. }
            | Error::MissingField { .. }
            | Error::InvalidField { .. }
            | Error::WrongDocument { .. }
            | Error::DecryptionKey { .. }
            | Error::EncryptionKey { .. }
            | Error::Transport(_) => ErrorKind::Input,
            Error::Io { .. } | Error::AlreadyExists { .. } => ErrorKind::Output,
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
        let mut best: Option<(ErrorKind, usize)> = None;
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
            Some(ErrorKind::ShareFormat) => Error::ShareFormat(shortfall),
            Some(ErrorKind::Version) => Error::Version(shortfall),
            Some(ErrorKind::Curve) => Error::Curve(shortfall),
            Some(ErrorKind::DuplicateIndex) => Error::DuplicateIndex(shortfall),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The serde spelling (JSON) and the text spelling are one and the same.
    #[test]
    fn kinds_are_spelled_once() {
        for kind in ErrorKind::RECONSTRUCTION
            .into_iter()
            .chain([ErrorKind::AirGap, ErrorKind::Input])
        {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(ErrorKind::PublicKey.to_string(), "public-key");
        assert!(ErrorKind::ChainCode.is_reconstruction());
        assert!(!ErrorKind::Input.is_reconstruction());
    }
}
