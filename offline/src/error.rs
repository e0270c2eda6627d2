//! Errors of `keyexport-offline`, their exit codes and the advice printed after them.
//!
//! Every failure has one [`ErrorKind`] ([`CliError::kind`]), the `kind` of the `--json`
//! error object; the kind chooses the exit code through the one table [`EXIT_CODES`],
//! whose rows carry what each code means and what to do. `--help` prints that table, and
//! tests check that README.md and docs/runbook.md say the same.
//!
//! Messages follow the style guide: the first line states the fault (naming the file,
//! frame or signer), [`CliError::advice`] adds what to do. No message ever contains a
//! secret: secret inputs are described by path and position only.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use keyexport_shared::ErrorKind;
use keyexport_shared::exit::Exit;
use keyexport_shared::transport::TransportError;
use keyexport_shared::wire::SignerId;

mod input;
mod usage;

pub use input::InputProblem;
pub use usage::UsageError;

use crate::exit::EXIT_CODES;
use crate::signature::SignError;

/// Where a passphrase was supposed to come from (for messages; never the passphrase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassphraseOrigin {
    /// `--passphrase-file` / `--keystore-passphrase-file`.
    File(PathBuf),
    /// Typed on the terminal.
    Terminal,
}

impl fmt::Display for PassphraseOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassphraseOrigin::File(path) => write!(f, "passphrase file {}", path.display()),
            PassphraseOrigin::Terminal => f.write_str("passphrase typed on the terminal"),
        }
    }
}

/// Every way `keyexport-offline` can fail.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A failure reported by `keyexport-shared` (formats, reconstruction, transport).
    #[error("{source}")]
    Shared {
        /// The input that was being processed, when known.
        input: Option<String>,
        /// The library error.
        #[source]
        source: keyexport_shared::Error,
    },
    /// A QR image or UR frame could not be used (`keyexport_shared::transport`).
    #[error("{input}: {source}")]
    Transport {
        /// The image, file line or frame set concerned.
        input: String,
        /// The transport error.
        #[source]
        source: TransportError,
    },
    /// Arguments that parse but cannot be honoured together.
    #[error("{0}")]
    Usage(UsageError),
    /// An input file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadInput {
        /// The input.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An input holds something other than what the command needs.
    #[error("{path}: {problem}")]
    Input {
        /// The input (path, `-` or a frame description).
        path: String,
        /// What is wrong with it.
        problem: InputProblem,
    },
    /// A secret of the offline machine was given where a request or response belongs.
    #[error("{path} is {what}: a secret of the offline machine, not a request or response")]
    OfflineSecret {
        /// The input.
        path: String,
        /// What it is.
        what: &'static str,
    },
    /// QR or UR frames were given but do not make a whole file yet.
    #[error(
        "UR frames: incomplete: {distinct_frames} distinct frame(s) give about {percent}% of the payload"
    )]
    IncompleteFrames {
        /// Distinct frames read.
        distinct_frames: usize,
        /// Estimated completion.
        percent: u8,
        /// `inspect --json` already printed its report (with the progress).
        reported: bool,
    },
    /// The response belongs to another ceremony or key than the sealed decryption key.
    #[error(
        "the response is for {field} {response}, but the decryption key belongs to {field} {sealed}"
    )]
    CeremonyMismatch {
        /// `ceremony` or `key id`.
        field: &'static str,
        /// Value recorded with the sealed key.
        sealed: String,
        /// Value named by the response.
        response: String,
    },
    /// A response marked as the canary's names one of the ceremony's real keys.
    #[error(
        "the response is marked as the canary's, but its key {key_id} is one of this ceremony's real keys; no canary receipt is written"
    )]
    CanaryIsRealKey {
        /// The key id the response names.
        key_id: String,
    },
    /// A canary's response with a decryption key that names no ceremony (a plain key).
    #[error(
        "the response is a canary's, but this decryption key is a plain key that names no ceremony; a canary receipt proves the ceremony's sealed key (or custody parts)"
    )]
    CanaryNeedsSealedKey,
    /// A canary receipt that cannot be read (format, version, a malformed field).
    #[error("{input}: {source}")]
    Receipt {
        /// The input it came from.
        input: String,
        /// What is wrong with it.
        #[source]
        source: keyexport_shared::canary::CanaryError,
    },
    /// The passphrase does not open the sealed key.
    #[error("wrong passphrase for the sealed decryption key {path}")]
    WrongPassphrase {
        /// The sealed key file.
        path: PathBuf,
    },
    /// An empty passphrase was given.
    #[error("the {origin} is empty; an empty passphrase is refused")]
    EmptyPassphrase {
        /// Where it came from.
        origin: PassphraseOrigin,
    },
    /// A new passphrase is below the floor (length or words).
    #[error(
        "the {origin} is too short to seal the decryption key: at least 20 characters or 5 words are needed"
    )]
    WeakPassphrase {
        /// Where it came from.
        origin: PassphraseOrigin,
    },
    /// The two typed passphrases differ.
    #[error("the two passphrases typed differ")]
    PassphraseMismatch,
    /// A passphrase is needed, there is no file and no terminal to ask on.
    #[error("{what} is needed, but no --{flag} was given and there is no terminal to ask on")]
    NoTerminal {
        /// What passphrase.
        what: &'static str,
        /// The flag that would supply it.
        flag: &'static str,
    },
    /// A passphrase file could not be read or is not UTF-8.
    #[error("cannot use the {origin}: {problem}")]
    PassphraseFile {
        /// Where it came from.
        origin: PassphraseOrigin,
        /// What went wrong (never the content).
        problem: String,
    },
    /// An output would overwrite an existing file.
    #[error("{path} already exists; refusing to overwrite it")]
    OutputExists {
        /// The output.
        path: PathBuf,
    },
    /// An output file cannot be created where it was asked for (checked before any secret
    /// work).
    #[error("cannot write {path}: {problem}")]
    OutputUnusable {
        /// The output.
        path: PathBuf,
        /// Why (a missing or read-only folder).
        problem: String,
    },
    /// The ceremony directory of `init` is not empty.
    #[error("{path} is not empty; init writes only into a new or empty directory")]
    OutputDirNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// An output could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The air-gap guard found network interfaces up.
    #[error("network interface(s) up{}: {}; refusing to handle secrets on an online machine", .when.map(|w| format!(" {w}")).unwrap_or_default(), .interfaces.join(", "))]
    NetworkUp {
        /// The interfaces that are up.
        interfaces: Vec<String>,
        /// When the guard saw them, if not at the start (`after the passphrase was entered`).
        when: Option<&'static str>,
    },
    /// The air-gap guard could not read the interface list.
    #[error("cannot check the network interfaces ({} is unreadable)", .path.display())]
    NetworkUnknown {
        /// The sysfs directory.
        path: PathBuf,
    },
    /// A batch ran to the end but some keys failed (each is reported on its own).
    #[error("{failed} of {total} key(s) failed; the others were rebuilt and verified")]
    BatchFailed {
        /// Keys that failed.
        failed: usize,
        /// Keys in the batch.
        total: usize,
    },
    /// Too few custody parts could be used to rebuild the decryption key.
    #[error("{good} good custody part(s), {} needed{}", needed_text(*.needed), set_aside_text(.set_aside))]
    CustodyQuorum {
        /// Parts that unsealed and passed every check.
        good: usize,
        /// The quorum `K` the good parts name (unknown when there is none).
        needed: Option<u8>,
        /// Each part set aside: `label (path): reason`.
        set_aside: Vec<String>,
    },
    /// `transcript verify` found an edited, removed or reordered line or a changed file.
    #[error("{} is not intact: {count} problem(s) found", .path.display())]
    TranscriptNotIntact {
        /// The transcript.
        path: PathBuf,
        /// How many problems.
        count: usize,
    },
    /// `sign` refused the scheme, the message or the key (the message of [`SignError`]),
    /// prefixed with the input concerned when there is one.
    #[error("{}{source}", .input.as_ref().map(|i| format!("{i}: ")).unwrap_or_default())]
    Sign {
        /// The message source or key file concerned, when one is to blame.
        input: Option<String>,
        /// What the signing library refused.
        #[source]
        source: SignError,
    },
    /// `sign`: the message cannot be used as given (unreadable hex, empty, conflicting).
    #[error("{input}: {problem}")]
    Message {
        /// The message source (`--message-hex`, a path, the frames).
        input: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `sign`: a transaction (`--psbt`, `--eth-tx`, `--solana-tx`) cannot be signed as given.
    #[error("{input}: {problem}")]
    Transaction {
        /// The transaction's source (a path or the flag).
        input: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `sign --key`: the key file holds a key that does not generate the public key.
    #[error("{path}: the key does not match the public key {public_key}")]
    KeyFileMismatch {
        /// The key file.
        path: String,
        /// The public key it was checked against (hex).
        public_key: String,
    },
    /// Something HD-only was asked of a key exported without a chain code.
    #[error("{what} needs an HD root key, but this key's shares carry no chain code")]
    NoChainCode {
        /// The option that needs it (`--derive`, `--format xprv`).
        what: String,
    },
    /// A wallet the Dfns key object lists does not derive from the rebuilt key.
    #[error(
        "wallet {wallet} ({path}): the key derived at its path is {derived}, but the key object records {recorded}"
    )]
    WalletMismatch {
        /// The wallet's id.
        wallet: String,
        /// Its derivation path.
        path: String,
        /// The public key the key object records.
        recorded: String,
        /// The public key derived offline.
        derived: String,
    },
    /// The terminal cannot show a QR code that scans (it would wrap or scroll).
    #[error(
        "the terminal is {cols}x{rows}; a QR code that scans needs at least {needed_cols}x{needed_rows}"
    )]
    TerminalTooSmall {
        /// Columns needed.
        needed_cols: usize,
        /// Rows needed.
        needed_rows: usize,
        /// Columns of the terminal.
        cols: u16,
        /// Rows of the terminal.
        rows: u16,
        /// What to do instead, beside a larger terminal.
        advice: &'static str,
    },
    /// Something that cannot happen did (a bug); the message carries no secret.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CliError {
    /// Wraps a library error, remembering which input it concerns.
    pub fn shared(input: impl Into<String>, source: keyexport_shared::Error) -> Self {
        CliError::Shared {
            input: Some(input.into()),
            source,
        }
    }

    /// The exit code of this failure: the row of [`EXIT_CODES`] that lists its kind.
    pub fn exit_code(&self) -> Exit {
        keyexport_shared::exit::exit_for(&EXIT_CODES, self.kind())
    }

    /// The `kind` of the `--json` error object, which chooses the exit code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CliError::Shared { source, .. } => source.kind(),
            CliError::Usage(_)
            | CliError::TerminalTooSmall { .. }
            | CliError::NoChainCode { .. } => ErrorKind::Usage,
            CliError::ReadInput { .. }
            | CliError::Input { .. }
            | CliError::Transport { .. }
            | CliError::CeremonyMismatch { .. }
            | CliError::CanaryIsRealKey { .. }
            | CliError::CanaryNeedsSealedKey
            | CliError::Receipt { .. }
            | CliError::TranscriptNotIntact { .. }
            | CliError::IncompleteFrames { .. }
            | CliError::Message { .. }
            | CliError::Transaction { .. } => ErrorKind::Input,
            CliError::CustodyQuorum { .. } => ErrorKind::Threshold,
            CliError::OfflineSecret { .. } => ErrorKind::OfflineSecret,
            CliError::WrongPassphrase { .. }
            | CliError::EmptyPassphrase { .. }
            | CliError::PassphraseMismatch
            | CliError::WeakPassphrase { .. }
            | CliError::NoTerminal { .. }
            | CliError::PassphraseFile { .. } => ErrorKind::Passphrase,
            CliError::OutputExists { .. }
            | CliError::OutputUnusable { .. }
            | CliError::OutputDirNotEmpty { .. }
            | CliError::Write { .. } => ErrorKind::Output,
            CliError::NetworkUp { .. } | CliError::NetworkUnknown { .. } => ErrorKind::AirGap,
            CliError::BatchFailed { .. } => ErrorKind::Batch,
            CliError::Sign { source, .. } => match source {
                SignError::UnknownScheme { .. }
                | SignError::CurveMismatch { .. }
                | SignError::RecoveryUnsupported { .. } => ErrorKind::Usage,
                SignError::DigestLength { .. }
                | SignError::StarkMessageLength { .. }
                | SignError::StarkMessageRange { .. } => ErrorKind::Input,
                SignError::KeyMismatch { .. } => ErrorKind::PublicKey,
                SignError::Signing { .. } | SignError::SelfCheck { .. } => ErrorKind::Internal,
            },
            CliError::KeyFileMismatch { .. } | CliError::WalletMismatch { .. } => {
                ErrorKind::PublicKey
            }
            CliError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The signers whose shares caused the failure (empty when none is to blame).
    pub fn bad_signers(&self) -> Vec<SignerId> {
        match self {
            CliError::Shared { source, .. } => source.bad_signers(),
            _ => Vec::new(),
        }
    }

    /// The fault, prefixed with the input it concerns when the library did not name it.
    pub fn message(&self) -> String {
        match self {
            CliError::Shared {
                input: Some(input),
                source,
            } => format!("{input}: {source}"),
            other => other.to_string(),
        }
    }

    /// What the operator should do next, when there is something useful to say.
    ///
    /// One table, one arm per failure with its advice beside it: long, but read and
    /// changed row by row, so it stays one function.
    pub fn advice(&self) -> Option<&'static str> {
        match self {
            CliError::Shared { source, .. } => match source.kind() {
                ErrorKind::Threshold => Some(
                    "Too few usable shares: check that the whole response was transferred (all QR frames, the complete file).",
                ),
                ErrorKind::Decrypt => Some(
                    "Make sure this is the decryption key from this ceremony's init (compare the encryption-key fingerprint); otherwise the response was altered on its way.",
                ),
                ErrorKind::PublicKey => Some(
                    "The shares do not rebuild the published public key. Use no output of this run; report the response digest to Dfns.",
                ),
                ErrorKind::DuplicateIndex
                | ErrorKind::Version
                | ErrorKind::Curve
                | ErrorKind::ShareFormat => Some(
                    "The response is malformed or was altered: fetch it again from the online machine and compare digests with `inspect`.",
                ),
                ErrorKind::Unsupported => Some(
                    "This protocol or curve is not supported by this version of keyexport-offline.",
                ),
                ErrorKind::ChainCode => Some(
                    "The key's HD tree (its chain code) cannot be told, so nothing was delivered. Keep the response; report its digest (`inspect`) and the signers above to Dfns.",
                ),
                ErrorKind::Output => Some(
                    "Nothing was written there: fix what the message names (the path, its folder, its permissions) and run again.",
                ),
                _ => Some(
                    "Check that the input is the Dfns export response (try `keyexport-offline inspect`).",
                ),
            },
            CliError::Transport { source, .. } => Some(match source {
                TransportError::NoQrCode | TransportError::ImageUnreadable { .. } => {
                    "Photograph the QR code again (sharp, whole code in view), or use the PNG or UR text file it was made from."
                }
                TransportError::ForeignFrame { .. } => {
                    "The frames come from different transfers: give only the frames of this ceremony's response."
                }
                TransportError::NotUr | TransportError::WrongUrType { .. } => {
                    "This QR code is not a keyexport transfer; scan the codes keyexport-online shows."
                }
                TransportError::UnsupportedImage { .. } => {
                    "Save or photograph the QR code as PNG or JPEG (keyexport-online writes PNG files)."
                }
                TransportError::TooManyFrames { .. } => {
                    "These frames never complete one transfer: give only the frames keyexport-online showed for this ceremony, or its response file."
                }
                _ => "Scan the frames again; duplicates and any order are fine.",
            }),
            CliError::Usage(usage) => Some(usage.advice()),
            CliError::ReadInput { .. } => Some(
                "Check the path and that you may read it: give the file itself (a regular file, not a device or pipe), within the size limit named.",
            ),
            CliError::Input { problem, .. } => Some(problem.advice()),
            CliError::IncompleteFrames { .. } => Some(
                "Photograph or scan the QR codes not yet read (any order; repeats are fine) and give all the images or frames together.",
            ),
            CliError::OfflineSecret { .. } => Some(
                "If this file is on the online machine, or on a stick that went there: STOP, wipe it there and on the stick, tell the witness and note it on the paper log. Give the request.json or response.json instead (check a custody part with `keyexport-offline custody verify`).",
            ),
            CliError::CeremonyMismatch { .. } => Some(
                "Use the decryption key created by `init` for this ceremony; the response answers another request.",
            ),
            CliError::CanaryIsRealKey { .. } => Some(
                "Do not carry a canary receipt to the online machine: this export is of a real key. Stop, tell the witness, and check on the online machine which key submit exported (its transcript).",
            ),
            CliError::CanaryNeedsSealedKey => Some(
                "Give the sealed decryption key `init --canary` wrote (decryption-key.age), or the custody parts; nothing was written.",
            ),
            CliError::Receipt { .. } => Some(
                "A canary receipt is written by `reconstruct` on the canary's response; write it again there and carry the new one.",
            ),
            CliError::WrongPassphrase { .. } => {
                Some("Try again with the passphrase chosen at `init`; nothing was written.")
            }
            CliError::EmptyPassphrase { .. } | CliError::PassphraseMismatch => {
                Some("Choose a non-empty passphrase and type it the same way twice.")
            }
            CliError::WeakPassphrase { .. } => Some(
                "Whoever copies the sealed key can guess its passphrase offline for ever: choose five or more random words (or 20+ characters). Nothing was created. For a rehearsal only: --allow-short-passphrase.",
            ),
            CliError::NoTerminal { .. } => {
                Some("Run it on a terminal, or give the passphrase in a file.")
            }
            CliError::PassphraseFile { .. } => None,
            CliError::OutputExists { .. } | CliError::OutputDirNotEmpty { .. } => {
                Some("Choose a new path; existing files are never overwritten.")
            }
            CliError::OutputUnusable { .. } => Some(
                "Give an output path in an existing folder you can write to (create the folder first). Nothing was decrypted or written.",
            ),
            CliError::Write { .. } => None,
            CliError::NetworkUp { .. } => Some(
                "Disconnect the machine (or bring the interfaces down). For a rehearsal only: --allow-online or KEYEXPORT_ALLOW_ONLINE=1.",
            ),
            CliError::NetworkUnknown { .. } => {
                Some("Check by hand that the machine has no network, then pass --allow-online.")
            }
            CliError::BatchFailed { .. } => Some(
                "Each failed key is listed with its reason (and in the manifest with --out). Fix what it names and run reconstruct again on those keys' response files only, into a new --out folder.",
            ),
            CliError::CustodyQuorum { .. } => Some(
                "Bring more custodians (or the right passphrases) so that at least the quorum of parts of this ceremony unseal; nothing was written.",
            ),
            CliError::TranscriptNotIntact { .. } => Some(
                "Compare with the heads written on the paper log; keep this copy as evidence and use a backup of the transcript.",
            ),
            CliError::Sign { source, .. } => Some(match source {
                SignError::UnknownScheme { .. } | SignError::CurveMismatch { .. } => {
                    "Choose a --scheme of the key's curve: ecdsa-secp256k1, bip340 or bip340-taproot (secp256k1), ed25519, stark-ecdsa (stark). Nothing was signed."
                }
                SignError::RecoveryUnsupported { .. } => {
                    "Drop --recoverable, or sign with --scheme ecdsa-secp256k1. Nothing was signed."
                }
                SignError::DigestLength { .. } => {
                    "Give the 32-byte digest the chain signs (transaction hash or sighash, 64 hex digits), not the transaction itself. Nothing was signed."
                }
                SignError::StarkMessageLength { .. } | SignError::StarkMessageRange { .. } => {
                    "Give the Starknet transaction hash (a field element below 2^251, at most 64 hex digits). Nothing was signed."
                }
                SignError::KeyMismatch { .. } => {
                    "The key does not belong to this export's public key. Nothing was signed."
                }
                SignError::Signing { .. } | SignError::SelfCheck { .. } => {
                    "No signature was printed. This should never happen: please report it."
                }
            }),
            CliError::Message { .. } => Some(
                "Give the message the scheme signs: the 32-byte digest (ecdsa-secp256k1, bip340*), the transaction hash (stark-ecdsa) or the message itself (ed25519); see `keyexport-offline sign --help`. Nothing was signed.",
            ),
            CliError::Transaction { .. } => Some(
                "Check the transaction with the wallet that made it and export it again, unsigned and whole (formats: `keyexport-offline sign --help`). Nothing was signed.",
            ),
            CliError::KeyFileMismatch { .. } => Some(
                "Use the file `reconstruct --out` wrote for this export, or sign from the response with --decryption-key. Nothing was signed.",
            ),
            CliError::NoChainCode { .. } => Some(
                "This export is an ordinary key, not an HD root: use the key itself (drop --derive / --format xprv). Nothing was written.",
            ),
            CliError::WalletMismatch { .. } => Some(
                "The rebuilt key does not derive a wallet Dfns lists for it. Use no output of this run; report the response digest and the key object to Dfns.",
            ),
            CliError::TerminalTooSmall { advice, .. } => Some(advice),
            CliError::Internal(_) => Some("This is a bug in keyexport-offline; please report it."),
        }
    }

    /// The advice as printed by `command`: `inspect` is the command the general advice
    /// points to, so its own input errors say what to give it instead.
    pub fn advice_in(&self, inspecting: bool) -> Option<&'static str> {
        let points_to_inspect = match self {
            CliError::Input { problem, .. } => problem.points_to_inspect(),
            CliError::Shared { .. } => self.kind() == ErrorKind::Input,
            _ => false,
        };
        if inspecting && points_to_inspect {
            Some(
                "Give a request or response of this ceremony: the file as written, photos or screenshots of all its QR codes (or a folder of them), or its .ur.txt.",
            )
        } else {
            self.advice()
        }
    }

    /// Whether the command already printed its one `--json` object (a batch prints its
    /// `{"keys": [...]}` report even when some keys failed).
    pub fn json_already_printed(&self) -> bool {
        matches!(
            self,
            CliError::BatchFailed { .. } | CliError::IncompleteFrames { reported: true, .. }
        )
    }

    /// The process exit code.
    pub fn to_exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_code().code)
    }
}

fn needed_text(needed: Option<u8>) -> String {
    needed.map_or_else(|| "at least 2".to_owned(), |k| k.to_string())
}

fn set_aside_text(set_aside: &[String]) -> String {
    if set_aside.is_empty() {
        String::new()
    } else {
        format!("; set aside: {}", set_aside.join("; "))
    }
}

/// Shorthand used throughout the binary.
pub type CliResult<T> = std::result::Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::EXIT_RECONSTRUCTION;
    use keyexport_shared::exit::exit_for;

    /// Every kind this binary reports has its row, and each row's codes are distinct.
    #[test]
    fn every_kind_has_one_code() {
        let errors = [
            CliError::Usage(UsageError::NoScheme),
            CliError::PassphraseMismatch,
            CliError::BatchFailed {
                failed: 1,
                total: 2,
            },
            CliError::Internal("x".into()),
            CliError::NetworkUnknown {
                path: PathBuf::from("/sys/class/net"),
            },
            CliError::OfflineSecret {
                path: "k".into(),
                what: "a sealed decryption key",
            },
        ];
        for error in &errors {
            let exit = error.exit_code();
            assert!(exit.kinds.contains(&error.kind()), "{error}");
        }
        for kind in ErrorKind::RECONSTRUCTION {
            assert_eq!(exit_for(&EXIT_CODES, kind), EXIT_RECONSTRUCTION);
        }
    }
}
