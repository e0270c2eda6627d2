//! What the single-key and the batch `reconstruct` share: where the transcript goes, the
//! keystore passphrase asked before the key is rebuilt, the destruction of the key files
//! once delivered, and the public facts of a rebuilt key as `--json` prints them.

use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use keyexport_shared::reconstruct::Reconstruction;
use keyexport_shared::scheme::Curve;
use serde::Serialize;

use crate::addresses::Addresses;
use crate::cli::{KeyFormat, ReconstructArgs};
use crate::error::CliResult;
use crate::passphrase::{self, Confirm};
use crate::rebuild::{ED25519_NOTE, signer_strings};
use crate::render;
use crate::transcript::{self, ArtifactRecord, Entry};

/// The transcript a run appends to: `--transcript`, or the one beside the decryption key.
pub(super) fn transcript_path(args: &ReconstructArgs) -> PathBuf {
    args.transcript.clone().unwrap_or_else(|| {
        let first = args
            .decryption_key
            .first()
            .map_or(Path::new("."), PathBuf::as_path);
        transcript::parent_dir(first).join(transcript::FILE_NAME)
    })
}

/// The passphrase of an Ethereum keystore `--out` file (none for other formats), asked
/// before the key is rebuilt.
pub(super) fn keystore_passphrase(
    args: &ReconstructArgs,
    entry: &mut Entry,
) -> CliResult<Option<SecretString>> {
    match (&args.out, args.format) {
        (Some(_), KeyFormat::EthKeystore) => {
            if let Some(path) = &args.keystore_passphrase_file {
                entry.inputs.push(ArtifactRecord::passphrase_file(path));
            }
            Ok(Some(passphrase::obtain(
                args.keystore_passphrase_file.as_deref(),
                passphrase::KEYSTORE,
                Confirm::Twice,
            )?))
        }
        _ => Ok(None),
    }
}

/// Overwrites and removes the key files once the key is safely written (`--out`), recording
/// each in the transcript; a file that cannot be destroyed is reported, not fatal.
pub(super) fn destroy_key_files(files: &[PathBuf], entry: &mut Entry) {
    for file in files {
        match crate::destroy::destroy(file) {
            Ok(()) => {
                eprintln!("Destroyed    {} (overwritten, removed)", file.display());
                entry.facts.destroyed.push(
                    std::path::absolute(file)
                        .unwrap_or_else(|_| file.clone())
                        .display()
                        .to_string(),
                );
            }
            Err(e) => render::loud_warning(&[&format!(
                "WARNING: could not destroy {}: {e}; destroy it by hand.",
                file.display()
            )]),
        }
    }
}

/// What `--out` wrote (public facts only).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Written {
    pub(crate) path: String,
    pub(crate) format: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) encrypted_to: Vec<String>,
}

/// The public facts of one rebuilt key, as `--json` prints them: the whole object for a
/// single key, and each entry of a batch (after its `keyId`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyFacts {
    pub(crate) curve: String,
    pub(crate) protocol: String,
    pub(crate) public_key: String,
    min_signers: u64,
    share_count: usize,
    used_signers: Vec<String>,
    bad_signers: Vec<String>,
    bad_shares: Vec<BadShareJson>,
    pub(crate) addresses: Addresses,
    /// Whether the key is the root of an HD tree (its shares carry a chain code).
    hd: bool,
    pub(crate) unknown_fields: Vec<UnknownFieldJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) output: Option<Written>,
}

/// A field of a Dfns document this tool does not know, as `--json` names it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UnknownFieldJson {
    document: &'static str,
    field: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signers: Vec<String>,
}

/// A share set aside, as `--json` names it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BadShareJson {
    signer_id: String,
    kind: &'static str,
}

impl KeyFacts {
    pub(crate) fn new(
        reconstruction: &Reconstruction,
        addresses: Addresses,
        output: Option<Written>,
    ) -> Self {
        Self {
            curve: reconstruction.scheme.curve.to_string(),
            protocol: reconstruction.scheme.protocol.to_string(),
            public_key: reconstruction.public_key.to_hex(),
            min_signers: reconstruction.min_signers,
            share_count: reconstruction.share_count,
            used_signers: signer_strings(&reconstruction.used_signers),
            bad_signers: signer_strings(&reconstruction.bad_signers()),
            bad_shares: reconstruction
                .bad_shares
                .iter()
                .map(|b| BadShareJson {
                    signer_id: b.signer_id.to_string(),
                    kind: b.fault.kind().as_str(),
                })
                .collect(),
            addresses,
            hd: reconstruction.is_hd(),
            unknown_fields: reconstruction
                .unknown_fields
                .iter()
                .map(|f| UnknownFieldJson {
                    document: f.document.as_str(),
                    field: f.field.clone(),
                    signers: signer_strings(&f.signers),
                })
                .collect(),
            note: (reconstruction.public_key.curve() == Curve::Ed25519).then_some(ED25519_NOTE),
            output,
        }
    }
}
