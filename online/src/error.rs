//! Every failure of `keyexport-online`, its exit code, and the advice shown with it.
//!
//! Every failure has one [`ErrorKind`] ([`OnlineError::kind`]), the `kind` of the `--json`
//! error object; the kind chooses the exit code through the one table [`EXIT_CODES`],
//! whose rows carry what each code means and what to do. `--help` prints that table, and
//! tests check that README.md and docs/runbook.md say the same.
//!
//! A batch that ends with keys uncertain exits 8, with a saved response failing a check 10;
//! one stopped by a failure every key would meet exits with that failure's code.

use std::path::PathBuf;
use std::process::ExitCode;

use keyexport_shared::ErrorKind;
use keyexport_shared::exit::{self, JsonError};
use keyexport_shared::transport::TransportError;

use crate::exit::EXIT_CODES;

use crate::dfns::client::UrlError;
use crate::dfns::credential::CredentialError;
use crate::dfns::errors::{ApiError, ApiErrorKind, Call};

/// A failure, with what is needed to explain it.
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    /// Arguments the command line parser refused (it prints them itself).
    #[error("{0}")]
    Usage(String),
    /// The request or another input could not be used.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Configuration is missing or invalid.
    #[error("{0}")]
    Config(String),
    /// The API URL is refused.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The credential could not be loaded.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The tool refused to go on before exporting.
    #[error("{message}")]
    Refused {
        /// What was refused and why.
        message: String,
        /// What to do.
        advice: String,
    },
    /// A Dfns call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// HTTP 202.
    #[error("Dfns did not export the key: a policy holds the export for approval (HTTP 202)")]
    Held {
        /// Where the 202 body was saved, if it could be.
        saved: Option<PathBuf>,
        /// The 202 body as received.
        body: String,
    },
    /// Saved, but the response fails a check.
    #[error("{message}")]
    ResponseCheck {
        /// What failed.
        message: String,
        /// Where the response was saved.
        saved: PathBuf,
    },
    /// The response could not be saved.
    #[error("could not save the Dfns response: {reason}")]
    NotSaved {
        /// Why.
        reason: String,
        /// The body as received, to be printed so it is not lost.
        body: String,
    },
    /// A batch ended with keys not exported; its summary is already printed.
    #[error("{message}")]
    Batch {
        /// Why: `export-uncertain`, `response-check`, `batch-incomplete`, `interrupted`,
        /// or the kind of the failure that stopped it.
        kind: ErrorKind,
        /// What happened.
        message: String,
        /// What to do.
        advice: String,
    },
    /// A secret of the offline machine was given as input: it must never be here.
    #[error("{path} is {what}: this is the OFFLINE machine's secret, not the request", path = .path.display())]
    OfflineSecret {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
    /// `show` cannot play the file: its input, or a terminal too small for a code that scans.
    #[error(transparent)]
    Show(#[from] ShowError),
    /// A canary ceremony cannot go on to the real export: no valid canary receipt.
    #[error("{message}")]
    CanaryUnproven {
        /// Which check failed.
        message: String,
        /// What to do.
        advice: String,
    },
    /// The canary receipt given cannot be read: the canary is not proven.
    #[error("cannot read the canary receipt: {0}")]
    ReceiptUnreadable(InputError),
    /// The canary key could not be created: the token lacks a permission.
    #[error("the canary key could not be created: {0}")]
    CanaryPermission(String),
    /// HTTP 202 on a canary step: a policy holds the canary key's creation or export.
    #[error("Dfns did not {what}: a policy holds it for approval (HTTP 202)")]
    CanaryHeld {
        /// What was held ("create the canary key", "export the canary key KEY").
        what: String,
        /// Where the 202 body was saved, if it could be.
        saved: Option<PathBuf>,
        /// The 202 body as received.
        body: String,
        /// What to do.
        advice: String,
    },
    /// The QR/UR files could not be written.
    #[error("the response is saved in {saved}, but its QR/UR files could not be written: {reason}")]
    Transport {
        /// Where the response was saved.
        saved: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl OnlineError {
    /// The kind of the failure, which chooses the exit code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            OnlineError::Usage(_) => ErrorKind::Usage,
            OnlineError::Input(_) => ErrorKind::Input,
            OnlineError::Show(e) => e.kind(),
            OnlineError::OfflineSecret { .. } => ErrorKind::OfflineSecret,
            OnlineError::Config(_) | OnlineError::Url(_) | OnlineError::Credential(_) => {
                ErrorKind::Config
            }
            OnlineError::Refused { .. } => ErrorKind::Refused,
            OnlineError::Api(e) => OnlineError::api_kind(e),
            OnlineError::Held { .. } | OnlineError::CanaryHeld { .. } => ErrorKind::HeldForApproval,
            OnlineError::CanaryUnproven { .. } | OnlineError::ReceiptUnreadable(_) => {
                ErrorKind::CanaryUnproven
            }
            OnlineError::CanaryPermission(_) => ErrorKind::CanaryPermission,
            OnlineError::ResponseCheck { .. } => ErrorKind::ResponseCheck,
            OnlineError::NotSaved { .. } => ErrorKind::NotSaved,
            OnlineError::Transport { .. } => ErrorKind::Transport,
            OnlineError::Batch { kind, .. } => *kind,
        }
    }

    /// The kind of a failed Dfns call: an export that may have reached Dfns is uncertain, a
    /// network failure or an overloaded Dfns is `network`, any other answer a refusal.
    pub fn api_kind(error: &ApiError) -> ErrorKind {
        match (&error.call, &error.kind) {
            (Call::Export(_), _) if error.may_have_reached_server() => ErrorKind::ExportUncertain,
            (_, ApiErrorKind::Transport { .. }) => ErrorKind::Network,
            (_, ApiErrorKind::RateLimited { .. } | ApiErrorKind::Server { .. }) => {
                ErrorKind::Network
            }
            _ => ErrorKind::DfnsRefused,
        }
    }

    /// The documented exit code: the row of [`EXIT_CODES`] that lists the kind.
    pub fn exit_code(&self) -> u8 {
        exit::exit_for(&EXIT_CODES, self.kind()).code
    }

    /// The process exit code.
    pub fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }

    /// A Dfns body that must reach the operator because it could not be saved.
    pub fn unsaved_body(&self) -> Option<&str> {
        match self {
            OnlineError::NotSaved { body, .. }
            | OnlineError::Held { saved: None, body }
            | OnlineError::CanaryHeld {
                saved: None, body, ..
            } => Some(body),
            _ => None,
        }
    }

    /// Whether the one `--json` object (the batch summary) is already printed.
    pub fn json_printed(&self) -> bool {
        matches!(self, OnlineError::Batch { .. })
    }

    /// The `--json` error object of this failure.
    pub fn to_json(&self) -> JsonError {
        JsonError {
            kind: self.kind(),
            exit_code: self.exit_code(),
            message: self.to_string(),
            advice: self.advice(),
            bad_signers: Vec::new(),
            dfns_response: self.unsaved_body().map(str::to_owned),
        }
    }

    /// What the operator should do next, if there is advice.
    pub fn advice(&self) -> Option<String> {
        match self {
            OnlineError::Usage(_) => Some("See `keyexport-online help`.".into()),
            OnlineError::Input(e) => Some(e.advice()),
            OnlineError::Show(e) => Some(e.advice()),
            OnlineError::Url(_) => Some(
                "Set DFNS_API_URL (or --api-url) to the Dfns API base URL of your organization's \
                 region, e.g. https://api.dfns.io: https, no query, no credentials in it \
                 (plain http only to 127.0.0.1, the sandbox). Nothing was sent."
                    .into(),
            ),
            OnlineError::Config(_) | OnlineError::Credential(_) => Some(
                "Set DFNS_AUTH_TOKEN, DFNS_CRED_ID and DFNS_PRIVATE_KEY (PEM text) or \
                 DFNS_PRIVATE_KEY_FILE; DFNS_API_URL defaults to https://api.dfns.io. \
                 See `keyexport-online submit --help`."
                    .into(),
            ),
            OnlineError::Refused { advice, .. } => Some(advice.clone()),
            OnlineError::OfflineSecret { .. } => Some(OFFLINE_SECRET_ADVICE.into()),
            OnlineError::Api(e) => Some(api_advice(e)),
            OnlineError::Held { saved, .. } => Some(format!(
                "Nothing was exported now, and this tool will not receive the shares if the \
                 request is approved later. {}Have the pending approval rejected in the Dfns \
                 dashboard, exempt this export from the policy (or have it approved \
                 beforehand as your policy allows), then run `submit` again with the same \
                 request.",
                kept_answer(saved.as_deref())
            )),
            OnlineError::ResponseCheck { saved, .. } => Some(format!(
                "The key has been exported and the response is saved, unchanged, in {}. \
                 Do not run the export again. Carry the response to the offline machine: \
                 `keyexport-offline reconstruct` verifies it independently; report the \
                 discrepancy to Dfns.",
                saved.display()
            )),
            OnlineError::NotSaved { .. } => Some(
                "The Dfns response was printed to standard output: copy it into a file now. \
                 The key is already exported; it cannot be exported again."
                    .into(),
            ),
            OnlineError::Batch { advice, .. } | OnlineError::CanaryUnproven { advice, .. } => {
                Some(advice.clone())
            }
            OnlineError::ReceiptUnreadable(_) => Some(
                "Give canary-receipt.json as written by `keyexport-offline reconstruct`, or \
                 photos of all the QR codes of canary-receipt.png. The real key was not \
                 touched."
                    .into(),
            ),
            OnlineError::CanaryPermission(_) => Some(
                "Grant the token's user or service account the permissions Keys:Create and \
                 Keys:Delete (the canary key is created, exported, then deleted), then run \
                 `submit` again. If your policy accepts exporting the real key without \
                 proving the path on a throwaway key first, run it with --skip-canary \
                 (warned and recorded). Nothing was created or exported."
                    .into(),
            ),
            OnlineError::CanaryHeld { saved, advice, .. } => {
                Some(format!("{}{advice}", kept_answer(saved.as_deref())))
            }
            OnlineError::Transport { saved, .. } => Some(format!(
                "The response itself is safe. Show its QR codes with \
                 `keyexport-online show {}`, or carry the file on removable media.",
                saved.display()
            )),
        }
    }
}

/// What to do when an offline machine's secret reaches this machine.
const OFFLINE_SECRET_ADVICE: &str = "STOP. Nothing was sent. This file must never leave the \
     offline machine: wipe it from this machine and from the stick it came on (or destroy the \
     stick), tell the witness and note it on the paper log. If it is the sealed decryption \
     key, its passphrase is now the only protection: start a new ceremony (`init`) unless \
     your policy accepts that. Carry request.json (or request.png) instead.";

/// Where a 202's body was kept, as the first sentence of the advice ("" when it was not).
fn kept_answer(saved: Option<&std::path::Path>) -> String {
    saved
        .map(|p| format!("Dfns' answer is saved in {}. ", p.display()))
        .unwrap_or_default()
}

/// What to give instead of a request that cannot be used.
const REQUEST_ADVICE: &str = "Give the request file written by `keyexport-offline init`, photos \
                              or screenshots of all its QR codes, or its .ur.txt file.";

/// Why an input cannot be used (the request, a canary receipt, a response to show, the
/// batch journal): the facts, the message and the advice. All are of kind `input`.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// No input path was given.
    #[error("no input given")]
    Missing,
    /// An input file cannot be read, or is too large.
    #[error("cannot read {}: {error}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Several inputs, none of them QR images or UR text.
    #[error("several inputs were given but they are not QR images or UR text: give one file")]
    SeveralFiles,
    /// A plain file given together with QR images or UR text.
    #[error("mix of a plain file and QR images/UR text: give either the file or its frames")]
    MixedCarriers,
    /// A QR image or UR text whose frames cannot be read or belong to another payload.
    #[error("{}: {error}", path.display())]
    BadFrame {
        /// The image or UR text file.
        path: PathBuf,
        /// Why.
        error: TransportError,
    },
    /// The frames given do not make a whole file.
    #[error("the frames given do not make a complete file: {error}; scan the missing QR codes")]
    IncompleteFrames {
        /// What is missing.
        error: TransportError,
    },
    /// The bytes received are not a file of this tool, or a malformed one.
    #[error("{} ({carrier}): {error}", path.display())]
    Unparsable {
        /// The (first) input.
        path: PathBuf,
        /// How the bytes arrived: "file", "QR images", "UR text".
        carrier: &'static str,
        /// Why.
        error: keyexport_shared::Error,
    },
    /// A file of this tool, but not a request.
    #[error("{} is {found}, not a request file from `keyexport-offline init`", path.display())]
    NotARequest {
        /// The (first) input.
        path: PathBuf,
        /// What it is.
        found: &'static str,
    },
    /// A batch request that names no key.
    #[error("the batch request names no key")]
    EmptyBatch,
    /// The batch's journal exists but cannot be read.
    #[error("cannot read {}: {error}", path.display())]
    JournalUnreadable {
        /// The journal.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A line of the batch's journal, other than an unfinished last one, is damaged.
    #[error("{}: line {line} is damaged ({error})", path.display())]
    JournalDamaged {
        /// The journal.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
        /// Why it does not parse.
        error: serde_json::Error,
    },
    /// A journal or transcript line cannot be written as JSON (a bug).
    #[error("{what}: {error}")]
    Encode {
        /// "journal entry" or "transcript entry".
        what: &'static str,
        /// Why.
        error: serde_json::Error,
    },
    /// The typed confirmation cannot be read from the terminal.
    #[error("cannot read the confirmation: {0}")]
    Confirmation(std::io::Error),
}

impl InputError {
    /// What to do.
    pub fn advice(&self) -> String {
        match self {
            InputError::Missing
            | InputError::Unreadable { .. }
            | InputError::SeveralFiles
            | InputError::MixedCarriers
            | InputError::BadFrame { .. }
            | InputError::IncompleteFrames { .. }
            | InputError::Unparsable { .. }
            | InputError::NotARequest { .. }
            | InputError::EmptyBatch => REQUEST_ADVICE.into(),
            InputError::JournalUnreadable { path, .. } => format!(
                "Make {} readable and run the same command again: it records which keys \
                 earlier runs sent, so keep it. Nothing was sent.",
                path.display()
            ),
            InputError::JournalDamaged { path, .. } => format!(
                "{} records which keys earlier runs sent and is only ever appended to: a \
                 damaged line other than the last means it was edited or the disk failed. \
                 Restore it from a copy, or check each key of the request at Dfns before \
                 going on. Nothing was sent.",
                path.display()
            ),
            InputError::Encode { .. } => "This is a bug: keep the message and report it.".into(),
            InputError::Confirmation(_) => {
                "Run submit again in a terminal and type what it asks, or pass --yes in a \
                 script that has checked the request itself. Nothing was exported."
                    .into()
            }
        }
    }
}

/// Why `show` cannot play a file.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// The file cannot be read or is not a file of this tool.
    #[error(transparent)]
    Input(InputError),
    /// The file is a request, which the offline machine shows.
    #[error("{} is a request file, not a response", path.display())]
    Request {
        /// The file.
        path: PathBuf,
    },
    /// The terminal is too small for a QR code that scans.
    #[error("{error}")]
    TerminalTooSmall {
        /// The transport's account of the sizes.
        error: TransportError,
        /// Columns needed.
        needed_cols: usize,
        /// Rows needed.
        needed_rows: usize,
    },
    /// The file cannot be cut into QR frames.
    #[error("cannot encode {} as QR frames: {error}", path.display())]
    Encode {
        /// The file.
        path: PathBuf,
        /// Why.
        error: TransportError,
    },
}

impl ShowError {
    /// `usage` for the terminal (like a bad argument), `input` for the file.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ShowError::TerminalTooSmall { .. } => ErrorKind::Usage,
            _ => ErrorKind::Input,
        }
    }

    /// What to do.
    pub fn advice(&self) -> String {
        match self {
            ShowError::Input(_) => "Give the response.json written by `keyexport-online \
                                    submit`, or its response.ur.txt."
                .into(),
            ShowError::Request { .. } => "`keyexport-online show` plays the response written \
                                          by `submit` (response.json or response.ur.txt); the \
                                          offline machine shows the request with \
                                          `keyexport-offline show`."
                .into(),
            ShowError::TerminalTooSmall {
                needed_cols,
                needed_rows,
                ..
            } => format!(
                "Make the terminal at least {needed_cols}x{needed_rows} (a smaller font, a \
                 larger window), or carry the PNG files written by `submit` \
                 (response-qr-NN.png, response-qr.gif) instead."
            ),
            ShowError::Encode { .. } => "Carry the response file itself on removable media.".into(),
        }
    }
}

/// Advice for a failed Dfns call.
fn api_advice(e: &ApiError) -> String {
    let export = matches!(e.call, Call::Export(_));
    match &e.kind {
        // At `POST /auth/action` Dfns answers 401 for a credential it does not know.
        ApiErrorKind::Unauthorized(_) if e.call == Call::ActionSign => {
            "Check DFNS_CRED_ID: Dfns does not accept that credential for this token's user \
             or service account (a wrong id, or a deactivated credential). Check also that \
             DFNS_AUTH_TOKEN is current. Nothing was exported."
                .into()
        }
        ApiErrorKind::Unauthorized(_) => {
            "Check DFNS_AUTH_TOKEN: it must be a current service-account token or personal \
             access token for this organization (tokens expire)."
                .into()
        }
        ApiErrorKind::Forbidden(_) if export => {
            "The token's user or service account needs the permission `Keys:Export`, and the \
             credential DFNS_CRED_ID must be one of its active credentials with the matching \
             private key. Nothing was exported."
                .into()
        }
        ApiErrorKind::Forbidden(_) => {
            "The token lacks a permission for this call (`Keys:Read` for the preflight; \
             `Keys:Export` for the export), or the credential signature was refused."
                .into()
        }
        ApiErrorKind::NotFound(_) => {
            "Check the key id in the request: it must be a key of the organization the \
             token belongs to (and of the API region in DFNS_API_URL)."
                .into()
        }
        ApiErrorKind::BadRequest(_) => {
            "Dfns refused the request as invalid; its message says why. Nothing was exported."
                .into()
        }
        ApiErrorKind::NotEnabled(_) => {
            "Key export is not enabled for this organization: ask Dfns to enable it.".into()
        }
        ApiErrorKind::Conflict(_) => {
            "Dfns reports a conflict: the key has most likely been exported already. Find \
             the response saved by the earlier run; a key can be exported only once."
                .into()
        }
        ApiErrorKind::CredentialNotAllowed { .. } => {
            "Set DFNS_CRED_ID to one of the allowed credential ids, with its private key.".into()
        }
        _ if export && e.may_have_reached_server() => {
            "The export request may have reached Dfns and been carried out, but no answer \
             came back. Do NOT simply run it again. Check the key in the Dfns dashboard or \
             with `GET /keys/{keyId}`: if it shows as exported, the encrypted shares were \
             produced but lost in transit; contact Dfns support with the key id and time. \
             If it is not exported, run `submit` again (it checks first)."
                .into()
        }
        _ if export => {
            "The export request was not sent (nothing was exported); check the network and \
             run `submit` again."
                .into()
        }
        _ => "Check the network and DFNS_API_URL, then run `submit` again; nothing was \
              exported."
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind has exactly one code, and the codes are distinct.
    #[test]
    fn every_kind_has_one_code() {
        exit::check_table(&EXIT_CODES).unwrap_or_else(|e| panic!("{e}"));
        for kind in EXIT_CODES.iter().flat_map(|e| e.kinds) {
            assert!(exit::exit_for(&EXIT_CODES, *kind).kinds.contains(kind));
        }
        let held = OnlineError::Held {
            saved: None,
            body: "{}".into(),
        };
        assert_eq!(
            (held.kind(), held.exit_code()),
            (ErrorKind::HeldForApproval, 9)
        );
        assert_eq!(OnlineError::Input(InputError::SeveralFiles).exit_code(), 3);
    }

    /// Every way an input fails is of kind `input` (exit 3) with its own advice; `show`'s
    /// terminal too small is `usage`; an unreadable canary receipt leaves it unproven. (Over
    /// 80 lines because it spells out every variant once, on purpose.)
    #[test]
    fn input_errors_keep_the_input_code_and_carry_advice() {
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let json = || serde_json::from_str::<u8>("x").unwrap_err();
        let transport = || TransportError::TerminalTooSmall {
            needed_cols: 90,
            needed_rows: 40,
            cols: 80,
            rows: 24,
        };
        let path = PathBuf::from("in.json");
        let inputs = vec![
            InputError::Missing,
            InputError::Unreadable {
                path: path.clone(),
                error: io(),
            },
            InputError::SeveralFiles,
            InputError::MixedCarriers,
            InputError::BadFrame {
                path: path.clone(),
                error: transport(),
            },
            InputError::IncompleteFrames { error: transport() },
            InputError::Unparsable {
                path: path.clone(),
                carrier: "file",
                error: keyexport_shared::files::Artifact::parse(b"{}").unwrap_err(),
            },
            InputError::NotARequest {
                path: path.clone(),
                found: "a response file",
            },
            InputError::EmptyBatch,
            InputError::JournalUnreadable {
                path: path.clone(),
                error: io(),
            },
            InputError::JournalDamaged {
                path: path.clone(),
                line: 2,
                error: json(),
            },
            InputError::Encode {
                what: "journal entry",
                error: json(),
            },
            InputError::Confirmation(io()),
        ];
        let mut advice = std::collections::HashSet::new();
        for input in inputs {
            let text = input.to_string();
            let e = OnlineError::from(input);
            assert_eq!((e.kind(), e.exit_code()), (ErrorKind::Input, 3), "{text}");
            assert!(!text.is_empty());
            advice.insert(e.advice().unwrap());
        }
        // The request's advice, the journal's two, the bug's, the confirmation's.
        assert_eq!(advice.len(), 5, "{advice:?}");
        let receipt = OnlineError::ReceiptUnreadable(InputError::SeveralFiles);
        assert_eq!(receipt.exit_code(), 15);
        assert!(
            receipt
                .to_string()
                .starts_with("cannot read the canary receipt: ")
        );
        let small = OnlineError::from(ShowError::TerminalTooSmall {
            error: transport(),
            needed_cols: 90,
            needed_rows: 40,
        });
        assert_eq!(small.exit_code(), 2);
        assert!(small.advice().unwrap().contains("at least 90x40"));
        for show in [
            ShowError::Input(InputError::SeveralFiles),
            ShowError::Request { path: path.clone() },
            ShowError::Encode {
                path: path.clone(),
                error: transport(),
            },
        ] {
            assert_eq!(OnlineError::from(show).exit_code(), 3);
        }
    }

    #[test]
    fn export_uncertainty_has_its_own_code() {
        let late = ureq::Error::Timeout(ureq::Timeout::RecvResponse);
        let e = OnlineError::Api(ApiError::from_transport(Call::Export("k".into()), &late));
        assert_eq!(e.exit_code(), 8);
        assert!(e.advice().unwrap().contains("Do NOT simply run it again"));
        let refused = ureq::Error::ConnectionFailed;
        let e = OnlineError::Api(ApiError::from_transport(Call::Export("k".into()), &refused));
        assert_eq!(e.exit_code(), 7);
        let e = OnlineError::Api(ApiError::from_status(
            Call::Export("k".into()),
            403,
            b"{}",
            None,
            None,
        ));
        assert_eq!(e.exit_code(), 6);
        assert!(e.advice().unwrap().contains("Keys:Export"));
    }

    /// The answers of Dfns (and of the sandbox) for authentication failures: each is a
    /// refusal before anything was exported (exit 6), with advice naming what to check.
    #[test]
    fn authentication_answers_are_refusals_with_specific_advice() {
        let refusal = |call: Call, status: u16, message: &str| {
            let body = serde_json::json!({"error": {"id": "err-1", "status": status,
                "message": message, "details": {}}});
            let e = OnlineError::Api(ApiError::from_status(
                call,
                status,
                body.to_string().as_bytes(),
                None,
                None,
            ));
            assert_eq!(e.exit_code(), 6, "{e}");
            (e.to_string(), e.advice().unwrap())
        };
        let (text, advice) = refusal(Call::ActionSign, 401, "credential cr-x not found");
        assert!(
            text.contains("HTTP 401") && text.contains("cr-x not found"),
            "{text}"
        );
        assert!(advice.contains("DFNS_CRED_ID"), "{advice}");
        let (_, advice) = refusal(Call::GetKey("k".into()), 401, "Not Authorized.");
        assert!(advice.contains("DFNS_AUTH_TOKEN") && !advice.contains("DFNS_CRED_ID"));
        let (text, advice) = refusal(
            Call::Export("k".into()),
            403,
            "user action signature is missing or invalid",
        );
        assert!(
            text.contains("HTTP 403") && text.contains("missing or invalid"),
            "{text}"
        );
        assert!(advice.contains("Nothing was exported"), "{advice}");
        let (text, _) = refusal(
            Call::Export("k".into()),
            400,
            "user action has already been used",
        );
        assert!(text.contains("HTTP 400"), "{text}");
    }
}
