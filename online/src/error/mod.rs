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
use keyexport_shared::files::KeyId;

use crate::exit::EXIT_CODES;

use crate::dfns::client::UrlError;
use crate::dfns::credential::CredentialError;
use crate::dfns::errors::{ApiError, ApiErrorKind, Call, DfnsMessage};

mod batch;
mod canary;
mod config;
mod input;
mod refused;
mod response;

pub use batch::BatchError;
pub use canary::{CanaryStep, UnprovenError};
use config::CREDENTIAL_ADVICE;
pub use config::ConfigError;
pub use input::{InputError, ShowError};
pub use refused::{Confirm, Folder, Refusal, RefusedError};
pub use response::{Answer, FramesError, ResponseCheck, SaveError};

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
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// More than one setting is wrong (configuration, API URL, credential): each is named,
    /// in the order checked.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Settings(Vec<OnlineError>),
    /// The API URL is refused.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The credential could not be loaded.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The tool refused to go on before exporting.
    #[error(transparent)]
    Refused(#[from] RefusedError),
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
    #[error("{check}")]
    ResponseCheck {
        /// What failed.
        check: Box<ResponseCheck>,
        /// Where the response was saved.
        saved: PathBuf,
    },
    /// The response could not be saved.
    #[error("could not save the Dfns response{of}: {error}", of = key_of(.key_id.as_ref()))]
    NotSaved {
        /// The key of a batch whose response it is (`None` for a single export).
        key_id: Option<KeyId>,
        /// Why.
        error: Box<SaveError>,
        /// The body as received, to be printed so it is not lost.
        body: String,
    },
    /// A batch ended with keys not exported; its summary is already printed.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A failure every key would meet stopped the batch; its kind, code and advice are the
    /// batch's. The summary is already printed.
    #[error("the batch stopped: {0}")]
    BatchStopped(Box<OnlineError>),
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
    #[error(transparent)]
    CanaryUnproven(#[from] UnprovenError),
    /// A canary call was refused (HTTP 403): the token lacks a permission it needs.
    #[error(
        "the canary key could not be created: {call}: permission denied (HTTP 403): the \
         token's user or service account lacks the permission {permission}{message}"
    )]
    CanaryPermission {
        /// The call refused.
        call: Call,
        /// The permission it needs (`Keys:Create`, `Keys:Delete`).
        permission: &'static str,
        /// Dfns' message.
        message: DfnsMessage,
    },
    /// HTTP 202 on a canary step: a policy holds the canary key's creation or export.
    #[error("Dfns did not {step}: a policy holds it for approval (HTTP 202)")]
    CanaryHeld {
        /// The step that was held.
        step: CanaryStep,
        /// Where the 202 body was saved, if it could be.
        saved: Option<PathBuf>,
        /// The 202 body as received.
        body: String,
    },
    /// The QR/UR files could not be written.
    #[error("the response is saved in {saved}, but its QR/UR files could not be written: {error}")]
    Transport {
        /// Where the response was saved.
        saved: PathBuf,
        /// What failed.
        error: Box<FramesError>,
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
            OnlineError::Config(_)
            | OnlineError::Settings(_)
            | OnlineError::Url(_)
            | OnlineError::Credential(_) => ErrorKind::Config,
            OnlineError::Refused(_) => ErrorKind::Refused,
            OnlineError::Api(e) => OnlineError::api_kind(e),
            OnlineError::Held { .. } | OnlineError::CanaryHeld { .. } => ErrorKind::HeldForApproval,
            OnlineError::CanaryUnproven(_) => ErrorKind::CanaryUnproven,
            OnlineError::CanaryPermission { .. } => ErrorKind::CanaryPermission,
            OnlineError::ResponseCheck { .. } => ErrorKind::ResponseCheck,
            OnlineError::NotSaved { .. } => ErrorKind::NotSaved,
            OnlineError::Transport { .. } => ErrorKind::Transport,
            OnlineError::Batch(e) => e.kind(),
            OnlineError::BatchStopped(e) => e.kind(),
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
        matches!(self, OnlineError::Batch(_) | OnlineError::BatchStopped(_))
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
            OnlineError::Config(e) => Some(e.advice()),
            OnlineError::Settings(problems) => {
                let mut advice: Vec<String> = Vec::new();
                for one in problems.iter().filter_map(OnlineError::advice) {
                    if !advice.contains(&one) {
                        advice.push(one);
                    }
                }
                Some(advice.join(" "))
            }
            OnlineError::Credential(_) => Some(CREDENTIAL_ADVICE.into()),
            OnlineError::Refused(e) => Some(e.advice()),
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
            OnlineError::Batch(e) => Some(e.advice()),
            OnlineError::BatchStopped(e) => e.advice(),
            OnlineError::CanaryUnproven(e) => Some(e.advice()),
            OnlineError::CanaryPermission { .. } => Some(
                "Grant the token's user or service account the permissions Keys:Create and \
                 Keys:Delete (the canary key is created, exported, then deleted), then run \
                 `submit` again. If your policy accepts exporting the real key without \
                 proving the path on a throwaway key first, run it with --skip-canary \
                 (warned and recorded). Nothing was created or exported."
                    .into(),
            ),
            OnlineError::CanaryHeld { step, saved, .. } => Some(format!(
                "{}{}",
                kept_answer(saved.as_deref()),
                step.advice()
            )),
            OnlineError::Transport { saved, .. } => Some(format!(
                "The response itself is safe. Show its QR codes with \
                 `keyexport-online show {}`, or carry the file on removable media.",
                saved.display()
            )),
        }
    }
}

/// " of KEY" when the response is a batch key's, "" for a single export.
fn key_of(key_id: Option<&KeyId>) -> String {
    key_id.map(|k| format!(" of {k}")).unwrap_or_default()
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
    use keyexport_shared::files::CeremonyId;
    use keyexport_shared::transport::TransportError;

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

    /// Every refusal (exit 5), configuration error (exit 4), unproven canary (exit 15) and
    /// held canary step (exit 9), each with its message and advice written in this module.
    /// (Over 80 lines because it spells out every variant once, on purpose.)
    #[test]
    fn typed_errors_keep_their_kind_and_carry_advice() {
        let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let shared = || keyexport_shared::files::Artifact::parse(b"{}").unwrap_err();
        let canary = || keyexport_shared::canary::CanaryReceipt::parse(b"{}").unwrap_err();
        let path = || PathBuf::from("out");
        let key_id = || "key-1".to_owned();
        let refused = vec![
            RefusedError::FolderUnwritable {
                folder: Folder::Output,
                path: path(),
                error: io(),
            },
            RefusedError::FolderUnwritable {
                folder: Folder::Responses,
                path: path(),
                error: io(),
            },
            RefusedError::FolderUnwritable {
                folder: Folder::Canary,
                path: path(),
                error: io(),
            },
            RefusedError::NotAFolder { path: path() },
            RefusedError::OutputsExist {
                paths: vec![path(), path()],
            },
            RefusedError::CanaryFolderTaken {
                paths: vec![path()],
            },
            RefusedError::AlreadyExported {
                key_id: key_id(),
                on: None,
            },
            RefusedError::NotActive {
                key_id: key_id(),
                status: "Archived".into(),
            },
            RefusedError::SchemeNotListed {
                key_id: key_id(),
                curve: "ed25519".into(),
                listed: vec!["CGGMP24:secp256k1".into()],
            },
            RefusedError::FirstKeyNotExportable {
                key_id: key_id(),
                refusal: Refusal::NotActive("Archived".into()),
            },
            RefusedError::CanaryFlagsWithoutCanary,
            RefusedError::JournalOfAnotherRequest {
                path: path(),
                ceremony_id: "C1".into(),
                request_sha256: "aa".into(),
            },
            RefusedError::JournalUnwritable {
                path: path(),
                error: io(),
            },
            RefusedError::TranscriptUnwritable(shared()),
            RefusedError::NoTerminal(Confirm::KeyId),
            RefusedError::NoTerminal(Confirm::KeyCount),
            RefusedError::Mismatch(Confirm::KeyId),
            RefusedError::Mismatch(Confirm::KeyCount),
        ];
        let proxy = ureq::Proxy::new("http://[::1").unwrap_err();
        let config = vec![
            ConfigError::Proxy { error: proxy },
            ConfigError::TokenFileUnreadable {
                path: path(),
                error: io(),
            },
            ConfigError::TokenFileNotText { path: path() },
            ConfigError::NoToken,
            ConfigError::NoCredentialId,
            ConfigError::NoCredentialKey,
            ConfigError::NoCredential,
        ];
        let ceremony = CeremonyId::generate;
        let unproven = vec![
            UnprovenError::NoCanaryResponse { path: path() },
            UnprovenError::CanaryResponseUnreadable {
                path: path(),
                error: io(),
            },
            UnprovenError::CanaryResponseUnparsable {
                path: path(),
                error: shared(),
            },
            UnprovenError::NotACanaryResponse {
                path: path(),
                found: "a request file",
            },
            UnprovenError::OtherCeremony {
                path: path(),
                found: ceremony(),
                expected: ceremony(),
            },
            UnprovenError::ReceiptUnreadable(InputError::SeveralFiles),
            UnprovenError::ReceiptRefused(canary()),
            UnprovenError::NotAReceipt {
                error: canary(),
                path: path(),
                found: "a response file",
            },
        ];
        let held = [
            CanaryStep::Create,
            CanaryStep::Export(KeyId::new("key-c").unwrap()),
        ]
        .map(|step| OnlineError::CanaryHeld {
            step,
            saved: Some(path()),
            body: "{}".into(),
        });
        let cases = (refused.into_iter().map(OnlineError::from))
            .chain(config.into_iter().map(OnlineError::from))
            .chain([OnlineError::Settings(vec![
                ConfigError::NoToken.into(),
                ConfigError::NoCredential.into(),
            ])])
            .chain(unproven.into_iter().map(OnlineError::from))
            .chain(held);
        let mut advice = std::collections::HashMap::<ErrorKind, Vec<String>>::new();
        for e in cases {
            let (text, kind) = (e.to_string(), e.kind());
            assert!(!text.is_empty() && !text.contains('{'), "{text}");
            let code = match kind {
                ErrorKind::Refused => 5,
                ErrorKind::Config => 4,
                ErrorKind::CanaryUnproven => 15,
                ErrorKind::HeldForApproval => 9,
                other => panic!("{text}: kind {other:?}"),
            };
            assert_eq!(e.exit_code(), code, "{text}");
            let one = e.advice().unwrap();
            assert!(one.ends_with('.'), "{text}: {one}");
            let seen = advice.entry(kind).or_default();
            if !seen.contains(&one) {
                seen.push(one);
            }
        }
        // The output and responses folders share one advice (the canary folder's says
        // nothing was created), and so do the settings of the credential (several missing
        // ones give theirs once); the saved canary response has one, the receipt two.
        let distinct = |kind| advice.get(&kind).map_or(0, Vec::len);
        assert_eq!(distinct(ErrorKind::Refused), 16);
        assert_eq!(distinct(ErrorKind::Config), 3);
        assert_eq!(distinct(ErrorKind::CanaryUnproven), 3);
        assert_eq!(distinct(ErrorKind::HeldForApproval), 2);
        let several = OnlineError::Settings(vec![
            ConfigError::NoToken.into(),
            ConfigError::NoCredential.into(),
        ]);
        assert_eq!(
            several.to_string(),
            "no auth token: DFNS_AUTH_TOKEN is not set or empty; no credential id: \
             DFNS_CRED_ID is not set; no credential key: set DFNS_PRIVATE_KEY (PEM text) or \
             DFNS_PRIVATE_KEY_FILE"
        );
        assert_eq!(several.advice().as_deref(), Some(CREDENTIAL_ADVICE));
    }

    /// The failures after the export (saving, checking, the QR/UR files), the canary's
    /// missing permission and a batch's ends: each keeps its documented code, says what
    /// happened and what to do.
    #[test]
    fn failures_after_the_export_keep_their_codes_and_carry_advice() {
        use keyexport_shared::curve::PublicKey;
        use keyexport_shared::scheme::Curve;
        let shared = || keyexport_shared::files::Artifact::parse(b"{}").unwrap_err();
        let saved = || PathBuf::from("out/response.json");
        let key_id = || KeyId::new("key-1").unwrap();
        let mut base_point = [0x66; 32];
        base_point[0] = 0x58;
        let public_key = PublicKey::from_bytes(Curve::Ed25519, &base_point).unwrap();
        let checks = [Answer::Export, Answer::Canary, Answer::SavedCanary]
            .map(|answer| ResponseCheck::NotAnExport {
                answer,
                error: shared(),
            })
            .into_iter()
            .chain([ResponseCheck::PublicKeyDiffers {
                public_key,
                curve: Curve::Ed25519,
                expected: "0x02aa".into(),
                expected_curve: "secp256k1".into(),
            }])
            .map(|check| OnlineError::ResponseCheck {
                check: Box::new(check),
                saved: saved(),
            });
        let not_saved = [
            (None, SaveError::NotUtf8),
            (Some(key_id()), SaveError::File(shared())),
            (None, SaveError::Write(shared())),
        ]
        .map(|(key_id, error)| OnlineError::NotSaved {
            key_id,
            error: Box::new(error),
            body: "{}".into(),
        });
        let frames = [
            FramesError::Encode(TransportError::NotUr),
            FramesError::Write(shared()),
        ]
        .map(|error| OnlineError::Transport {
            saved: saved(),
            error: Box::new(error),
        });
        let permission = || OnlineError::CanaryPermission {
            call: Call::CreateKey,
            permission: "Keys:Create",
            message: DfnsMessage::from_body(br#"{"error":{"message":"Forbidden"}}"#),
        };
        let batch = [
            BatchError::Interrupted { not_attempted: 2 },
            BatchError::Uncertain { count: 1 },
            BatchError::CheckFailed { count: 1 },
            BatchError::Incomplete { count: 3 },
        ]
        .map(OnlineError::from);
        let cases = checks
            .chain(not_saved)
            .chain(frames)
            .chain([
                permission(),
                OnlineError::BatchStopped(Box::new(permission())),
            ])
            .chain(batch);
        let mut codes = Vec::new();
        for e in cases {
            let text = e.to_string();
            assert!(!text.is_empty() && !text.contains('{'), "{text}");
            let advice = e.advice().unwrap();
            assert!(advice.ends_with('.'), "{text}: {advice}");
            assert_eq!(e.to_json().message, text);
            codes.push(e.exit_code());
        }
        assert_eq!(
            codes,
            [10, 10, 10, 10, 11, 11, 11, 12, 12, 16, 16, 130, 8, 10, 13]
        );
        let of_key = OnlineError::NotSaved {
            key_id: Some(key_id()),
            error: Box::new(SaveError::NotUtf8),
            body: String::new(),
        };
        assert_eq!(
            of_key.to_string(),
            "could not save the Dfns response of key-1: the response body is not UTF-8 text"
        );
        let stopped = OnlineError::BatchStopped(Box::new(permission()));
        assert_eq!(
            stopped.to_string(),
            format!("the batch stopped: {}", permission())
        );
        assert_eq!(stopped.advice(), permission().advice());
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
