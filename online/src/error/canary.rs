//! A canary ceremony's failures: no valid receipt for the real export, a canary step held.

use std::path::PathBuf;

use keyexport_shared::canary::CanaryError;
use keyexport_shared::files::{CeremonyId, KeyId};

use super::input::InputError;

/// Why a canary ceremony cannot go on to the real export: the facts, the message and the
/// advice. All are of kind `canary-unproven`; the real key was not touched.
#[derive(Debug, thiserror::Error)]
pub enum UnprovenError {
    /// No canary response in `OUT/canary/` to check the receipt against.
    #[error("there is no canary response in {} to check the receipt against", path.display())]
    NoCanaryResponse {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The saved canary response cannot be read.
    #[error("cannot read {}: {error}", path.display())]
    CanaryResponseUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The saved canary response is not a file of this tool.
    #[error("{}: {error}", path.display())]
    CanaryResponseUnparsable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: keyexport_shared::Error,
    },
    /// The saved file is not a canary's response.
    #[error("{} is {found}, not a canary's response", path.display())]
    NotACanaryResponse {
        /// The file.
        path: PathBuf,
        /// What it is.
        found: &'static str,
    },
    /// The saved canary response is another ceremony's.
    #[error(
        "{} is the canary response of ceremony {found}, not of this ceremony ({expected})",
        path.display()
    )]
    OtherCeremony {
        /// The file.
        path: PathBuf,
        /// Its ceremony.
        found: CeremonyId,
        /// This ceremony.
        expected: CeremonyId,
    },
    /// The canary receipt given cannot be read.
    #[error("cannot read the canary receipt: {0}")]
    ReceiptUnreadable(InputError),
    /// The canary receipt does not prove the saved canary.
    #[error("canary receipt refused: {0}")]
    ReceiptRefused(CanaryError),
    /// The file given as the receipt is another file of this tool.
    #[error("canary receipt refused: {error} ({} is {found})", path.display())]
    NotAReceipt {
        /// Why it is not a receipt.
        error: CanaryError,
        /// The file.
        path: PathBuf,
        /// What it is.
        found: &'static str,
    },
}

impl UnprovenError {
    /// What to do.
    pub fn advice(&self) -> String {
        match self {
            UnprovenError::NoCanaryResponse { .. }
            | UnprovenError::CanaryResponseUnreadable { .. }
            | UnprovenError::CanaryResponseUnparsable { .. }
            | UnprovenError::NotACanaryResponse { .. }
            | UnprovenError::OtherCeremony { .. } => {
                "Give the same --out as the run that exported the canary (its canary/ folder \
                 holds the canary's response.json), and move away any other file there. The \
                 real key was not touched."
                    .into()
            }
            UnprovenError::ReceiptUnreadable(_) => {
                "Give canary-receipt.json as written by `keyexport-offline reconstruct`, or \
                 photos of all the QR codes of canary-receipt.png. The real key was not \
                 touched."
                    .into()
            }
            UnprovenError::ReceiptRefused(_) | UnprovenError::NotAReceipt { .. } => {
                "The real key was not touched. Do not export it until the canary is proven: \
                 carry back the canary-receipt.json (or .png) that `keyexport-offline \
                 reconstruct` wrote for THIS ceremony's canary and give it with the same \
                 --out. If the offline machine could not rebuild the canary, find out why \
                 first: the real key would fail the same way."
                    .into()
            }
        }
    }
}

/// A canary step that a policy can hold for approval (HTTP 202).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanaryStep {
    /// `POST /keys`: creating the canary key.
    Create,
    /// Exporting the canary key.
    Export(KeyId),
}

impl std::fmt::Display for CanaryStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CanaryStep::Create => f.write_str("create the canary key"),
            CanaryStep::Export(key_id) => write!(f, "export the canary key {key_id}"),
        }
    }
}

impl CanaryStep {
    /// What to do when the step is held.
    pub fn advice(&self) -> String {
        match self {
            CanaryStep::Create => "A policy holds key creation (Keys:Create) for approval: \
                                   no canary key exists, nothing was exported. Have the \
                                   pending approval rejected, exempt the canary's creation \
                                   from the policy (or approve it beforehand as your policy \
                                   allows), move that file away and run `submit` again; or, \
                                   if your policy accepts it, run with --skip-canary (warned \
                                   and recorded)."
                .into(),
            CanaryStep::Export(canary_id) => format!(
                "A policy holds exports for approval: the canary key {canary_id} exists but \
                 was not exported, and the real key was not touched. The real export would \
                 be held the same way: arrange the policy first (reject the pending approval, \
                 exempt this ceremony's exports or approve them beforehand as your policy \
                 allows), delete the canary key in the Dfns dashboard, move that file away \
                 and run `submit` again."
            ),
        }
    }
}
