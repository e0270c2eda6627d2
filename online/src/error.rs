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
use keyexport_shared::exit::{self, Exit, JsonError};

use crate::dfns::client::UrlError;
use crate::dfns::credential::CredentialError;
use crate::dfns::errors::{ApiError, ApiErrorKind, Call};

/// Exit code: success.
pub const EXIT_OK: Exit = Exit {
    code: 0,
    kinds: &[],
    meaning: "success (`submit`: exported, saved, QR/UR files written)",
    advice: "Step 4.",
};
/// Exit code: a bug (a kind this table lacks); no failure is meant to end here.
pub const EXIT_INTERNAL: Exit = Exit {
    code: 1,
    kinds: &[],
    meaning: "internal error (a bug)",
    advice: "Stop, keep the message, report it.",
};
/// Exit code: invalid command-line arguments (clap's own convention).
pub const EXIT_USAGE: Exit = Exit {
    code: 2,
    kinds: &[ErrorKind::Usage],
    meaning: "invalid arguments; `show`: the terminal is too small for a QR code that scans",
    advice: "Read `--help`. For `show`: enlarge the window or use a smaller font to the size named, or carry the PNG files.",
};
/// Exit code: the input is unreadable or invalid.
pub const EXIT_INPUT: Exit = Exit {
    code: 3,
    kinds: &[ErrorKind::Input],
    meaning: "the request (file, photo, UR text) is unreadable, incomplete or not a request",
    advice: "Carry the request again; photograph all QR codes.",
};
/// Exit code: the configuration is missing or invalid.
pub const EXIT_CONFIG: Exit = Exit {
    code: 4,
    kinds: &[ErrorKind::Config],
    meaning: "configuration: API URL, token or credential missing or invalid",
    advice: "Set the `DFNS_*` variables (P3). Plain `http://` is allowed only to `127.0.0.1`.",
};
/// Exit code: refused before exporting.
pub const EXIT_REFUSED: Exit = Exit {
    code: 5,
    kinds: &[ErrorKind::Refused],
    meaning: "refused before exporting: key already exported or not active, key's curve not in the request, key id not confirmed, output files exist",
    advice: "Nothing was exported. Read the message: a key already exported has a `response.json` from the earlier run; find it. For a curve not offered, redo Step 1 with the right `--scheme`.",
};
/// Exit code: Dfns refused a call.
pub const EXIT_DFNS_REFUSED: Exit = Exit {
    code: 6,
    kinds: &[ErrorKind::DfnsRefused],
    meaning: "Dfns refused a call (400, 401, 402, 403, 404, 409): nothing exported",
    advice: "401: token expired or wrong, or (at `POST /auth/action`) a credential id Dfns does not know; 402: Key Export not enabled; 403: missing `Keys:Export`/`Keys:Read` or the credential's signature refused; 404: wrong key id or region; 409: already exported — find the earlier response.",
};
/// Exit code: a network failure before the export was sent.
pub const EXIT_NETWORK: Exit = Exit {
    code: 7,
    kinds: &[ErrorKind::Network],
    meaning: "network failure, rate limit or server error **before** the export was sent: nothing exported",
    advice: "Check the network, run `submit` again.",
};
/// Exit code: the export may have reached Dfns.
pub const EXIT_EXPORT_UNCERTAIN: Exit = Exit {
    code: 8,
    kinds: &[ErrorKind::ExportUncertain],
    meaning: "**the export may have reached Dfns**: it was sent but no answer came back",
    advice: "**Do not simply run it again.** Check the key in the Dfns dashboard. If it is not exported, run `submit` again (it checks first). If it is exported, the shares were produced but lost in transit: contact Dfns support with the key id and time.",
};
/// Exit code: a policy holds the export.
pub const EXIT_HELD: Exit = Exit {
    code: 9,
    kinds: &[ErrorKind::HeldForApproval],
    meaning: "held for approval by a policy (HTTP 202): nothing exported",
    advice: "Nothing was exported, and this tool will not receive the shares if it is approved later. Have the pending approval rejected, arrange the policy (approve beforehand or exempt this export as your policy allows), then run `submit` again with the same request.",
};
/// Exit code: saved, but the response fails a check.
pub const EXIT_RESPONSE_CHECK: Exit = Exit {
    code: 10,
    kinds: &[ErrorKind::ResponseCheck],
    meaning: "the response was saved but fails a check (not a valid export, public key differs from `GET /keys`)",
    advice: "The key **is** exported. Do not export again. Carry `response.json` to the offline machine: `reconstruct` verifies it independently. Report the discrepancy to Dfns.",
};
/// Exit code: the response could not be saved.
pub const EXIT_NOT_SAVED: Exit = Exit {
    code: 11,
    kinds: &[ErrorKind::NotSaved],
    meaning: "the response could not be saved; it was printed on standard output",
    advice: "Copy the printed text into a file **now**; do not run `submit` again. The key is already exported.",
};
/// Exit code: the QR/UR files could not be written.
pub const EXIT_TRANSPORT: Exit = Exit {
    code: 12,
    kinds: &[ErrorKind::Transport],
    meaning: "the response is saved but its QR/UR files could not be written",
    advice: "The response is safe. Use `keyexport-online show response.json` or carry the file on TRANSFER.",
};
/// Exit code: a batch with keys not exported.
pub const EXIT_BATCH_INCOMPLETE: Exit = Exit {
    code: 13,
    kinds: &[ErrorKind::BatchIncomplete],
    meaning: "a batch finished with keys not exported, each listed with its reason (none uncertain)",
    advice: "Fix what each reason names (key id, policy, permission…) and run the very same command again: saved keys are skipped, failed keys are tried again. A batch with **uncertain** keys exits 8 instead: check those keys at Dfns first ([batch.md](batch.md)).",
};
/// Exit code: an offline machine's secret was given.
pub const EXIT_OFFLINE_SECRET: Exit = Exit {
    code: 14,
    kinds: &[ErrorKind::OfflineSecret],
    meaning: "**an offline machine's secret** (sealed decryption key, custody part) was given as the request: nothing was sent",
    advice: "**Stop.** Nothing was sent. Wipe the file from this machine and from the stick it came on (or destroy the stick), tell the witness and note it on the paper log. If it was the sealed decryption key, its passphrase is now its only protection: start a new ceremony unless your policy accepts that. Carry `request.json` or `request.png`.",
};
/// Exit code: a batch interrupted by Ctrl-C (the shell's 128 + SIGINT).
pub const EXIT_INTERRUPTED: Exit = Exit {
    code: 130,
    kinds: &[ErrorKind::Interrupted],
    meaning: "a batch stopped by Ctrl-C: the exports in flight finished and were saved, the rest are \"not attempted\" (a second Ctrl-C quits at once, with the same code and no summary)",
    advice: "Run the very same command again to resume: saved keys are skipped; a key that was in flight at a second Ctrl-C is listed as uncertain, never re-sent silently.",
};

/// The exit-code table, in order: the one source of `--help`'s list and of the tables in
/// README.md and docs/runbook.md.
pub const EXIT_CODES: [Exit; 16] = [
    EXIT_OK,
    EXIT_INTERNAL,
    EXIT_USAGE,
    EXIT_INPUT,
    EXIT_CONFIG,
    EXIT_REFUSED,
    EXIT_DFNS_REFUSED,
    EXIT_NETWORK,
    EXIT_EXPORT_UNCERTAIN,
    EXIT_HELD,
    EXIT_RESPONSE_CHECK,
    EXIT_NOT_SAVED,
    EXIT_TRANSPORT,
    EXIT_BATCH_INCOMPLETE,
    EXIT_OFFLINE_SECRET,
    EXIT_INTERRUPTED,
];

/// The exit code that reports `kind` (a kind of no row would be a bug: internal).
pub fn exit_for(kind: ErrorKind) -> Exit {
    exit::lookup(&EXIT_CODES, kind).unwrap_or(EXIT_INTERNAL)
}

/// The exit-code list at the end of the main `--help`, generated from [`EXIT_CODES`].
pub fn exit_codes_help() -> String {
    exit::help(&EXIT_CODES)
}

/// A failure, with what is needed to explain it.
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    /// Arguments the command line parser refused (it prints them itself).
    #[error("{0}")]
    Usage(String),
    /// The request or another input could not be used.
    #[error("{0}")]
    Input(String),
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
    #[error("{message}")]
    Show {
        /// What happened.
        message: String,
        /// What to do.
        advice: String,
        /// `input` for the file, `usage` for the terminal.
        kind: ErrorKind,
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
            OnlineError::OfflineSecret { .. } => ErrorKind::OfflineSecret,
            OnlineError::Config(_) | OnlineError::Url(_) | OnlineError::Credential(_) => {
                ErrorKind::Config
            }
            OnlineError::Refused { .. } => ErrorKind::Refused,
            OnlineError::Api(e) => match (&e.call, &e.kind) {
                (Call::Export(_), _) if e.may_have_reached_server() => ErrorKind::ExportUncertain,
                (_, ApiErrorKind::Transport { .. }) => ErrorKind::Network,
                (_, ApiErrorKind::RateLimited { .. } | ApiErrorKind::Server { .. }) => {
                    ErrorKind::Network
                }
                _ => ErrorKind::DfnsRefused,
            },
            OnlineError::Held { .. } => ErrorKind::HeldForApproval,
            OnlineError::ResponseCheck { .. } => ErrorKind::ResponseCheck,
            OnlineError::NotSaved { .. } => ErrorKind::NotSaved,
            OnlineError::Transport { .. } => ErrorKind::Transport,
            OnlineError::Batch { kind, .. } | OnlineError::Show { kind, .. } => *kind,
        }
    }

    /// The documented exit code: the row of [`EXIT_CODES`] that lists the kind.
    pub fn exit_code(&self) -> u8 {
        exit_for(self.kind()).code
    }

    /// The process exit code.
    pub fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }

    /// A Dfns body that must reach the operator because it could not be saved.
    pub fn unsaved_body(&self) -> Option<&str> {
        match self {
            OnlineError::NotSaved { body, .. } | OnlineError::Held { saved: None, body } => {
                Some(body)
            }
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
            OnlineError::Input(_) => Some(
                "Give the request file written by `keyexport-offline init`, photos or \
                 screenshots of all its QR codes, or its .ur.txt file."
                    .into(),
            ),
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
            OnlineError::OfflineSecret { .. } => Some(
                "STOP. Nothing was sent. This file must never leave the offline machine: wipe \
                 it from this machine and from the stick it came on (or destroy the stick), \
                 tell the witness and note it on the paper log. If it is the sealed decryption \
                 key, its passphrase is now the only protection: start a new ceremony (`init`) \
                 unless your policy accepts that. Carry request.json (or request.png) instead."
                    .into(),
            ),
            OnlineError::Api(e) => Some(api_advice(e)),
            OnlineError::Held { saved, .. } => Some(format!(
                "Nothing was exported now, and this tool will not receive the shares if the \
                 request is approved later. {}Have the pending approval rejected in the Dfns \
                 dashboard, exempt this export from the policy (or have it approved \
                 beforehand as your policy allows), then run `submit` again with the same \
                 request.",
                saved
                    .as_ref()
                    .map(|p| format!("Dfns' answer is saved in {}. ", p.display()))
                    .unwrap_or_default()
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
            OnlineError::Batch { advice, .. } | OnlineError::Show { advice, .. } => {
                Some(advice.clone())
            }
            OnlineError::Transport { saved, .. } => Some(format!(
                "The response itself is safe. Show its QR codes with \
                 `keyexport-online show {}`, or carry the file on removable media.",
                saved.display()
            )),
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

    /// README.md and docs/runbook.md carry the table of [`EXIT_CODES`], verbatim.
    #[test]
    fn docs_hold_the_exit_code_table() {
        let readme = include_str!("../../README.md");
        let runbook = include_str!("../../docs/runbook.md");
        let summary = format!(
            "### keyexport-online\n\n{}",
            exit::summary_table(&EXIT_CODES)
        );
        let detailed = format!(
            "### keyexport-online\n\n{}",
            exit::runbook_table(&EXIT_CODES)
        );
        let results = [
            exit::check_doc("README.md", readme, &summary),
            exit::check_doc("docs/runbook.md", runbook, &detailed),
        ];
        for result in results {
            result.unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Each kind has exactly one code, and the codes are distinct.
    #[test]
    fn every_kind_has_one_code() {
        let kinds: Vec<ErrorKind> = EXIT_CODES.iter().flat_map(|e| e.kinds.to_vec()).collect();
        for kind in &kinds {
            assert_eq!(kinds.iter().filter(|k| *k == kind).count(), 1, "{kind}");
            assert!(exit_for(*kind).kinds.contains(kind));
        }
        let mut codes: Vec<u8> = EXIT_CODES.iter().map(|e| e.code).collect();
        codes.dedup();
        assert_eq!(codes.len(), EXIT_CODES.len());
        let held = OnlineError::Held {
            saved: None,
            body: "{}".into(),
        };
        assert_eq!(
            (held.kind(), held.exit_code()),
            (ErrorKind::HeldForApproval, 9)
        );
        assert_eq!(OnlineError::Input("x".into()).exit_code(), 3);
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
