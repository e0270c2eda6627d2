//! The canary receipt: once the canary's response is rebuilt and verified like any key,
//! the rebuilt canary key signs a receipt (`keyexport_shared::canary`) that the online
//! machine checks from public data before it exports the real key.
//!
//! The receipt goes into the sealed key's ceremony folder (the `init --out` folder; with
//! custody parts, the folder holding the first part given): `canary-receipt.json` and the
//! same bytes as QR codes, `canary-receipt.png`, each written atomically and never over
//! an existing file. Both names are checked free before any passphrase is asked.

use std::path::{Path, PathBuf};

use keyexport_shared::canary::{CanaryReceipt, CreateError, RECEIPT_FILE_NAME, RECEIPT_PNG_NAME};
use keyexport_shared::display::Escaped;
use keyexport_shared::files::{CeremonyId, KeyId};
use keyexport_shared::fsio::FileMode;
use keyexport_shared::reconstruct::Reconstruction;
use serde::Serialize;

use crate::cli::ReconstructArgs;
use crate::error::{CliError, CliResult};
use crate::output::file::write_output;
use crate::sign::{self, SignScheme};
use crate::transcript::{ArtifactRecord, CanaryReceiptFacts, Entry, sha256_hex};

/// Where the receipt goes: the folder of the sealed key (or of the first custody part).
pub(super) struct ReceiptPlace {
    json: PathBuf,
    png: PathBuf,
}

impl ReceiptPlace {
    /// The receipt's two files beside the first `--decryption-key`, checked free.
    pub(super) fn check(args: &ReconstructArgs) -> CliResult<ReceiptPlace> {
        let first = args
            .decryption_key
            .first()
            .map_or(Path::new("."), PathBuf::as_path);
        let folder = crate::transcript::parent_dir(first);
        let place = ReceiptPlace {
            json: folder.join(RECEIPT_FILE_NAME),
            png: folder.join(RECEIPT_PNG_NAME),
        };
        for path in [&place.json, &place.png] {
            crate::output::file::check_new_file(path)?;
        }
        Ok(place)
    }
}

/// The receipt written, as `--json` reports it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WrittenReceipt {
    /// `canary-receipt.json`.
    pub(super) path: String,
    /// `canary-receipt.png`.
    pub(super) qr_path: String,
    /// SHA-256 of `canary-receipt.json` (what the online machine's transcript records).
    pub(super) sha256: String,
    /// The receipt document, as written.
    pub(super) document: serde_json::Value,
}

/// Signs the receipt with the rebuilt, verified canary key and writes it; records it in
/// the transcript entry.
pub(super) fn write_receipt(
    place: &ReceiptPlace,
    ceremony_id: &str,
    canary_key_id: &str,
    reconstruction: &Reconstruction,
    entry: &mut Entry,
) -> CliResult<WrittenReceipt> {
    let ceremony = CeremonyId::try_from(ceremony_id.to_owned())
        .map_err(|e| CliError::Internal(format!("the canary's ceremony id: {e}")))?;
    let key_id = KeyId::new(canary_key_id)
        .map_err(|e| CliError::Internal(format!("the canary's key id: {e}")))?;
    let key = &reconstruction.private_key;
    let public_key = &reconstruction.public_key;
    let receipt = CanaryReceipt::create(
        ceremony,
        key_id,
        reconstruction.scheme.protocol,
        public_key.clone(),
        |scheme, message| {
            let scheme: SignScheme = scheme.as_str().parse()?;
            sign::sign(key, public_key, scheme, message, false)
                .map(|signed| *signed.signature().as_bytes())
        },
    )
    .map_err(|e| match e {
        CreateError::Signing(source) => CliError::Sign {
            input: None,
            source,
        },
        CreateError::SelfCheck => CliError::Internal(
            "the canary receipt's signature does not verify under the canary's public key".into(),
        ),
    })?;
    let json = receipt.to_bytes();
    let png = receipt.to_png().map_err(|source| CliError::Transport {
        input: place.png.display().to_string(),
        source,
    })?;
    write_output(&place.json, &json, FileMode::Public)?;
    entry.outputs.push(ArtifactRecord::new(
        "canary-receipt",
        &place.json.display().to_string(),
        &json,
    ));
    write_output(&place.png, &png, FileMode::Public)?;
    entry.outputs.push(ArtifactRecord::new(
        "canary-receipt-qr",
        &place.png.display().to_string(),
        &png,
    ));
    entry.facts.canary_receipt = Some(CanaryReceiptFacts {
        canary_key_id: receipt.canary_key_id().to_string(),
        signature_scheme: receipt.signature_scheme().as_str(),
        signature: hex::encode(receipt.signature()),
    });
    let document = serde_json::from_slice(&json)
        .map_err(|e| CliError::Internal(format!("the canary receipt: {e}")))?;
    Ok(WrittenReceipt {
        path: absolute(&place.json),
        qr_path: absolute(&place.png),
        sha256: sha256_hex(&json),
        document,
    })
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Says on standard error what was proven, where the receipt is and what to carry to the
/// online machine (80 columns: the paths on lines of their own).
pub(super) fn print_next(place: &ReceiptPlace, canary_key_id: &str) {
    eprintln!(
        "Canary       rebuilt and verified: {}",
        Escaped(canary_key_id)
    );
    eprintln!("Receipt      signed by the canary key; carry it to the online machine:");
    eprintln!("  {}", place.json.display());
    eprintln!("  {}  (the same, as QR codes)", place.png.display());
    eprintln!("Next         there, with the request and --out of the first submit:");
    eprintln!("  keyexport-online submit --request request.json --out OUT \\");
    eprintln!("    --canary-receipt canary-receipt.json");
}
