//! What is wrong with an input, as facts: [`InputProblem`] states the fault (after the
//! input's name) and [`InputProblem::advice`] what to do, both written here once.

use std::path::PathBuf;

use keyexport_shared::custody::PartFault;

/// Why an input (a file, `-`, a folder, a key id of a batch) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputProblem {
    // Reading and sniffing.
    /// The file has no bytes.
    #[error("the file is empty")]
    Empty,
    /// Neither JSON, UR text nor an image.
    #[error("neither JSON, UR frames (ur:…) nor a PNG/JPEG image")]
    Unrecognised,
    /// A text input that is not UTF-8.
    #[error("not {expected}: the file is not UTF-8 text")]
    NotUtf8 {
        /// What the file should have been.
        expected: &'static str,
    },
    /// Standard input held nothing usable.
    #[error("standard input held no UR frame and no JSON document")]
    StdinEmpty,
    /// A folder given as input holds no image.
    #[error("the directory holds no PNG or JPEG image (.png, .jpg, .jpeg)")]
    NoImageInFolder,
    /// A folder's images carry the frames of two transfers.
    #[error(
        "the folder holds QR codes of two different files: {first} and {other} belong to different transfers; keep only the frames of this ceremony's response (a request.png is the request)"
    )]
    FolderMixesTransfers {
        /// The image whose frames came first.
        first: String,
        /// The image of the other transfer.
        other: String,
    },

    // Responses.
    /// No export response among the inputs.
    #[error("no export response found")]
    NoResponse,
    /// A canary receipt was given where the response belongs.
    #[error(
        "this is a canary receipt (written by reconstruct for the online machine), not an export response; carry it to the online machine (keyexport-online submit --canary-receipt) and give the response here"
    )]
    ReceiptNotResponse,
    /// The request was given where the response belongs.
    #[error(
        "this is an export request (made by init), not the response; give the response saved by keyexport-online or returned by Dfns"
    )]
    RequestNotResponse,
    /// Two different responses were given to a single reconstruction.
    #[error("holds a different response than {first}; give one response only")]
    DifferentResponses {
        /// Where the first response came from.
        first: String,
    },

    // Batches.
    /// A batch folder without response files.
    #[error("no response file found (a batch folder holds KEY_ID.response.json files)")]
    NoBatchResponse,
    /// The canary's response among a batch's.
    #[error(
        "this is the canary's response, not one of the batch's keys: reconstruct it on its own (--response with this file alone) to write the canary receipt"
    )]
    CanaryInBatch,
    /// A batch input that names no key id.
    #[error(
        "{found} names no key id: a batch takes the response files written by keyexport-online (reconstruct a raw Dfns response on its own)"
    )]
    NoKeyId {
        /// What the input is.
        found: String,
    },
    /// A response file whose name names another key.
    #[error("holds the response for key {key_id}, but its name says otherwise")]
    NameMismatch {
        /// The key id inside.
        key_id: String,
    },
    /// Two different responses for one key of a batch.
    #[error(
        "holds a different response for key {key_id} than {first}; keep only the one saved by keyexport-online"
    )]
    DuplicateKey {
        /// The key.
        key_id: String,
        /// Where its first response came from.
        first: String,
    },
    /// A response for a key the batch ceremony does not export.
    #[error("key {key_id} is not one of the keys of this batch ceremony")]
    NotInBatch {
        /// The key.
        key_id: String,
    },
    /// A key of the batch without a response.
    #[error(
        "no response for this key of the batch (the online summary says why it was not exported)"
    )]
    MissingKey,
    /// A line of a batch journal that does not parse.
    #[error("line {line} is not a journal entry ({reason})")]
    JournalLine {
        /// 1-based line number.
        line: usize,
        /// The parser's diagnostic.
        reason: String,
    },

    // Sealed keys and age files.
    /// Not an age file at all.
    #[error("not a readable age file: {reason}")]
    NotAge {
        /// age's diagnostic.
        reason: String,
    },
    /// An age file sealed to a recipient where a passphrase seal belongs.
    #[error("this age file is encrypted to a recipient key, not sealed with a passphrase")]
    SealedToRecipient,
    /// An age file sealed with a passphrase where an identity's file belongs.
    #[error(
        "this age file is passphrase-encrypted; sign opens key files encrypted to an age identity (reconstruct --encrypt-to)"
    )]
    SealedWithPassphrase,
    /// The scrypt work factor is above what is accepted.
    #[error("sealed with scrypt work factor {required}, above the accepted {max}")]
    ExcessiveWork {
        /// The file's work factor (log2 N).
        required: u8,
        /// The highest accepted.
        max: u8,
    },
    /// The sealed plaintext is not JSON of a sealed key.
    #[error("the sealed content is not a keyexport sealed key (line {line}, column {column})")]
    SealedNotJson {
        /// Where parsing stopped.
        line: usize,
        /// Where parsing stopped.
        column: usize,
    },
    /// The sealed plaintext is another kind or version.
    #[error(
        "the sealed content is {kind} version {version}, expected {expected_kind} version {expected_version}"
    )]
    SealedWrongKind {
        /// Kind found.
        kind: String,
        /// Version found.
        version: u32,
        /// Kind expected.
        expected_kind: &'static str,
        /// Version expected.
        expected_version: u32,
    },
    /// The sealed plaintext holds no valid Dfns decryption key.
    #[error("the sealed content does not hold a valid Dfns decryption key")]
    SealedNotDfnsKey,
    /// Neither a sealed key nor a bare Dfns decryption key.
    #[error("neither a sealed key from `init` (age) nor a Dfns decryption key `01<64 hex>`")]
    NotADecryptionKey,
    /// None of the identities opens an age file.
    #[error("none of the --identity keys opens this file (it was encrypted to another recipient)")]
    NoIdentityOpens,
    /// age could not decrypt the file.
    #[error("cannot decrypt: {reason}")]
    CannotDecrypt {
        /// age's diagnostic.
        reason: String,
    },
    /// An identity file that holds no identity.
    #[error("not an age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes)")]
    NotIdentityFile,
    /// An identity file age cannot parse.
    #[error("not an age identity file: {reason}")]
    IdentityFileUnreadable {
        /// age's diagnostic.
        reason: String,
    },
    /// An identity age cannot use.
    #[error("unusable age identity: {reason}")]
    IdentityUnusable {
        /// age's diagnostic.
        reason: String,
    },

    // Key files of `sign --key`.
    /// The key file is not text.
    #[error("not a key file of reconstruct --out (not text)")]
    KeyFileNotText,
    /// An Ethereum keystore given to `sign`.
    #[error(
        "an Ethereum keystore cannot be used by sign; write the key with --format hex (or wif)"
    )]
    KeyFileIsKeystore,
    /// Neither hex nor WIF.
    #[error("neither 64 hex digits (--format hex) nor a compressed WIF key (--format wif)")]
    KeyFileUnknown,

    // Custody parts.
    /// A part sealed to a recipient, and no identity was given.
    #[error("sealed to an age recipient, and no --identity was given")]
    PartNeedsIdentity,
    /// No identity given opens a part.
    #[error("no --identity given opens it (sealed to another recipient)")]
    PartNotForIdentities,
    /// The part's age payload cannot be read.
    #[error("unreadable age payload: {reason}")]
    PartPayloadUnreadable {
        /// age's diagnostic.
        reason: String,
    },
    /// The plaintext is not a custody part.
    #[error("not a custody part: {reason}")]
    NotCustodyPart {
        /// The parser's diagnostic.
        reason: String,
    },
    /// A part that fails its own checks.
    #[error("custodian {label}'s part: {fault}")]
    PartFault {
        /// The custodian.
        label: String,
        /// What is wrong.
        fault: PartFault,
    },
    /// The parts of two ceremonies, as many of each.
    #[error(
        "the parts belong to different ceremonies ({first} and {second}, {count} part(s) each); give the parts of one ceremony"
    )]
    PartsOfTwoCeremonies {
        /// One ceremony.
        first: String,
        /// The other.
        second: String,
        /// Parts of each.
        count: usize,
    },
    /// A request without custody commitments given to `custody verify`.
    #[error(
        "this request records no custody commitments (custodyCommitmentsSha256): it was made without --custodians or by an older keyexport, so it cannot show that a part is genuine; verify the part without --request and compare its commitments with the init line of the ceremony's transcript"
    )]
    NoCommitments,
    /// Something else than init's request given as `--request`.
    #[error("this is {found}, not the request of init")]
    NotTheRequest {
        /// What it is.
        found: String,
    },

    // Other commands.
    /// `show` was given something it does not play.
    #[error(
        "not a request file nor a wallet answer: `show` plays the request.json written by `init`, the canary-receipt.json written by `reconstruct`, or the TYPE.txt frames `sign --ur-out` wrote"
    )]
    NotShowable,
    /// `--destroy-decryption-key` cannot look at the file.
    #[error("--destroy-decryption-key cannot check it: {reason}")]
    DestroyUncheckable {
        /// The system's diagnostic.
        reason: String,
    },
    /// `--destroy-decryption-key` on a symbolic link.
    #[error(
        "--destroy-decryption-key: this is a symbolic link{}, not the key file; nothing was written",
        .target.as_ref().map(|t| format!(" (to {})", t.display())).unwrap_or_default()
    )]
    DestroySymlink {
        /// Where it points, when readable.
        target: Option<PathBuf>,
    },
    /// `--destroy-decryption-key` on something else than a regular file.
    #[error("--destroy-decryption-key: not a regular file; nothing was written")]
    DestroyNotRegular,
}

/// The advice for an input that `inspect` can explain.
const INSPECT: &str = "Run `keyexport-offline inspect` on the input to see what it holds.";

impl InputProblem {
    /// What the operator should do next.
    pub fn advice(&self) -> &'static str {
        self.specific_advice().unwrap_or(INSPECT)
    }

    /// Whether the advice sends the operator to `inspect` (which then says instead what
    /// to give it).
    pub fn points_to_inspect(&self) -> bool {
        self.specific_advice().is_none()
    }

    /// The advice of the problems that `inspect` cannot explain (secret files, flags).
    fn specific_advice(&self) -> Option<&'static str> {
        use InputProblem::*;
        Some(match self {
            NotAge { .. } | ExcessiveWork { .. } => {
                "Give the file keyexport wrote for this (init's decryption-key.age or custody part, or the key file of `reconstruct --encrypt-to`), with its passphrase or --identity; nothing was decrypted."
            }
            SealedToRecipient
            | SealedNotJson { .. }
            | SealedWrongKind { .. }
            | SealedNotDfnsKey
            | NotADecryptionKey => {
                "Give the decryption-key.age that `init` wrote for this ceremony (or its custody parts); nothing was decrypted."
            }
            SealedWithPassphrase | NoIdentityOpens | CannotDecrypt { .. } => {
                "Give the key file `reconstruct --encrypt-to` wrote, with the --identity it was encrypted to. Nothing was signed."
            }
            NotIdentityFile | IdentityFileUnreadable { .. } | IdentityUnusable { .. } => {
                "Give the identity file age-keygen wrote (AGE-SECRET-KEY-1… lines) as --identity."
            }
            KeyFileNotText | KeyFileIsKeystore | KeyFileUnknown => {
                "Give the key file `reconstruct --out --format hex` (or wif) wrote, or sign from the response with --decryption-key. Nothing was signed."
            }
            PartNeedsIdentity
            | PartNotForIdentities
            | PartPayloadUnreadable { .. }
            | NotCustodyPart { .. }
            | PartFault { .. }
            | PartsOfTwoCeremonies { .. } => {
                "Give the custody parts `init --custodians` wrote for this ceremony (and the --identity or passphrase each was sealed with); check a part with `keyexport-offline custody verify`."
            }
            DestroyUncheckable { .. } | DestroySymlink { .. } | DestroyNotRegular => {
                "Give the key file's own path, or leave out --destroy-decryption-key and destroy the file by hand."
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each problem, with the facts a run would give it.
    fn every_problem() -> Vec<InputProblem> {
        use InputProblem::*;
        let reason = || "age's diagnostic".to_owned();
        vec![
            Empty,
            Unrecognised,
            NotUtf8 {
                expected: "a transcript",
            },
            StdinEmpty,
            NoImageInFolder,
            FolderMixesTransfers {
                first: "response-1.png".into(),
                other: "request.png".into(),
            },
            NoResponse,
            ReceiptNotResponse,
            RequestNotResponse,
            DifferentResponses {
                first: "response.json".into(),
            },
            NoBatchResponse,
            CanaryInBatch,
            NoKeyId {
                found: "a Dfns export response".into(),
            },
            NameMismatch {
                key_id: "key-01".into(),
            },
            DuplicateKey {
                key_id: "key-01".into(),
                first: "a/key-01.response.json".into(),
            },
            NotInBatch {
                key_id: "key-09".into(),
            },
            MissingKey,
            JournalLine {
                line: 3,
                reason: "expected value at line 1 column 1".into(),
            },
            NotAge { reason: reason() },
            SealedToRecipient,
            SealedWithPassphrase,
            ExcessiveWork {
                required: 30,
                max: 22,
            },
            SealedNotJson { line: 1, column: 2 },
            SealedWrongKind {
                kind: "something-else".into(),
                version: 7,
                expected_kind: "keyexport-sealed-decryption-key",
                expected_version: 1,
            },
            SealedNotDfnsKey,
            NotADecryptionKey,
            NoIdentityOpens,
            CannotDecrypt { reason: reason() },
            NotIdentityFile,
            IdentityFileUnreadable { reason: reason() },
            IdentityUnusable { reason: reason() },
            KeyFileNotText,
            KeyFileIsKeystore,
            KeyFileUnknown,
            PartNeedsIdentity,
            PartNotForIdentities,
            PartPayloadUnreadable { reason: reason() },
            NotCustodyPart {
                reason: "missing field `share`".into(),
            },
            PartFault {
                label: "alice".into(),
                fault: keyexport_shared::custody::PartFault::DuplicateIndex(2),
            },
            PartsOfTwoCeremonies {
                first: "cer-a".into(),
                second: "cer-b".into(),
                count: 2,
            },
            NoCommitments,
            NotTheRequest {
                found: "a Dfns export response".into(),
            },
            NotShowable,
            DestroyUncheckable {
                reason: "No such file or directory (os error 2)".into(),
            },
            DestroySymlink {
                target: Some(PathBuf::from("elsewhere.age")),
            },
            DestroySymlink { target: None },
            DestroyNotRegular,
        ]
    }

    /// Each problem's message and advice, as `CliError::Input` prints them.
    #[test]
    fn every_problem_says_what_happened_and_what_to_do() {
        let text: String = every_problem()
            .into_iter()
            .map(|problem| {
                let error = crate::error::CliError::Input {
                    path: "INPUT".into(),
                    problem,
                };
                assert_eq!(error.kind(), keyexport_shared::ErrorKind::Input);
                assert_eq!(error.exit_code().code, 3);
                format!(
                    "error: {}\nadvice: {}\n\n",
                    error.message(),
                    error.advice().unwrap_or("(none)")
                )
            })
            .collect();
        insta::assert_snapshot!(text);
    }

    /// `inspect` explains the inputs it reads; the secret files and flags it cannot
    /// explain keep their own advice.
    #[test]
    fn only_readable_inputs_point_to_inspect() {
        for problem in every_problem() {
            let inspectable = problem.points_to_inspect();
            assert_eq!(inspectable, problem.advice() == INSPECT, "{problem}");
            let secret = matches!(
                problem,
                InputProblem::NotAge { .. }
                    | InputProblem::KeyFileUnknown
                    | InputProblem::PartFault { .. }
                    | InputProblem::DestroyNotRegular
            );
            assert!(!(secret && inspectable), "{problem}");
        }
    }
}
