//! `keyexport-offline reconstruct` of one key: decrypt the shares, rebuild and verify the
//! key, deliver it.
//!
//! Order (each step can refuse before anything secret is produced or written):
//! air-gap guard → output checks (recipients parse, `--out` absent) → read the response
//! from every input → format suits the curve → keystore passphrase → open the decryption
//! key (sealed, plain or custody parts) → the response's ceremony and key id match it →
//! reconstruct and verify (`crate::rebuild`) → show the summary → for a canary's response,
//! the canary receipt ([`super::canary`]) → write the output.
//! Every run is appended to the ceremony transcript, failures included.

use std::io::Write;
use std::path::{Path, PathBuf};

use keyexport_shared::curve::PrivateKey;
use keyexport_shared::fsio;
use keyexport_shared::reconstruct::Reconstruction;
use keyexport_shared::wire::ExportResponse;
use serde::Serialize;
use zeroize::Zeroizing;

use super::canary::{self, ReceiptPlace, WrittenReceipt};
use super::common::{KeyFacts, Written, destroy_key_files, keystore_passphrase, transcript_path};
use crate::airgap;
use crate::cli::{KeyFormat, ReconstructArgs};
use crate::error::{CliError, CliResult, UsageError};
use crate::hd;
use crate::output::file::{check_new_file, write_output};
use crate::output::{self, Rendering, recipient::Recipients};
use crate::rebuild::{self, KeySource, Rebuilt};
use crate::render;
use crate::seal;
use crate::transcript::{self, ArtifactRecord, Entry, Outcome};

/// Runs `reconstruct` of one key, appending to the transcript whatever the outcome.
pub fn run(args: &ReconstructArgs) -> CliResult<()> {
    let transcript_path = transcript_path(args);
    transcript::check_target(&transcript_path)?;
    let mut entry = Entry::new("reconstruct", args.air_gap.allow_online);
    let result = execute(args, &mut entry);
    entry.outcome = Outcome::of(&result);
    let logged = transcript::append(&transcript_path, &entry);
    // Standard output is written only once the run is recorded, so `--json` prints
    // exactly one object even when the transcript cannot be appended to.
    match (result, logged) {
        (Ok(stdout), Ok(head)) => {
            render::transcript_head(&head);
            if args.reveal && !args.json {
                // The key goes to standard output alone (for scripts); its label to the
                // screen, just above it.
                eprintln!(
                    "Private key  next line: 64 hex digits, big-endian. Never read it aloud."
                );
            }
            std::io::stdout()
                .write_all(&stdout)
                .and_then(|()| std::io::stdout().flush())
                .map_err(|source| CliError::Write {
                    path: PathBuf::from("-"),
                    source,
                })
        }
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(log_error)) => {
            eprintln!("warning: the transcript was not updated: {log_error}");
            Err(e)
        }
    }
}

/// Runs the command; returns what goes to standard output (the `--json` object, the
/// revealed key, or nothing), held in a zeroizing buffer since it may hold the key.
fn execute(args: &ReconstructArgs, entry: &mut Entry) -> CliResult<Zeroizing<Vec<u8>>> {
    let recipients = check_before_reading(args)?;
    let test_log_n = seal::test_log_n()?;

    let read = rebuild::read_response(&args.responses, entry)?;
    check_outputs(args, &read.response)?;
    if read.ids.canary && args.destroy_decryption_key {
        return Err(CliError::Usage(UsageError::DestroyOnCanary));
    }
    // A canary's receipt goes beside the decryption key: its names are checked free now.
    let receipt_place = read
        .ids
        .canary
        .then(|| ReceiptPlace::check(args))
        .transpose()?;
    // The new keystore passphrase first: a mistyped confirmation then costs a retype of
    // it alone, not of the decryption key's passphrase too.
    let keystore_passphrase = keystore_passphrase(args, entry)?;
    let source =
        KeySource::from_flags(&args.decryption_key, &args.passphrase_file, &args.identity)?;
    let rebuilt = rebuild::rebuild(&source, &read, args.air_gap.allow_online, entry)?;
    let reconstruction = &rebuilt.reconstruction;
    if args.out.is_some() && args.format == KeyFormat::Xprv {
        hd::require_chain_code(reconstruction, "--format xprv")?;
    }
    let xpub = hd::root_xpub(reconstruction, args.network);
    let children = hd::derive_children(reconstruction, &args.derive)?;
    hd::print_tree(reconstruction, xpub.as_deref(), &children);
    let receipt = match (&receipt_place, &read.ids.ceremony_id, &read.ids.key_id) {
        (Some(place), Some(ceremony_id), Some(canary_key_id)) => Some(canary::write_receipt(
            place,
            ceremony_id,
            canary_key_id,
            reconstruction,
            entry,
        )?),
        _ => None,
    };
    if args.out.is_some() || args.reveal {
        airgap::check_again(
            args.air_gap.allow_online,
            airgap::Moment::BeforeSecretOutput,
        )?;
    }

    let written = match &args.out {
        Some(out) => {
            let rendering = Rendering {
                format: args.format,
                network: args.network,
                keystore_passphrase: keystore_passphrase.as_ref(),
                keystore_log_n: test_log_n.unwrap_or(output::keystore::STANDARD_LOG_N),
            };
            let how = Delivery {
                rendering: &rendering,
                recipients: &recipients,
                reconstruction,
            };
            Some(write_files(args, out, &how, &children, &rebuilt, entry)?)
        }
        None => None,
    };

    if args.json {
        return success_json(args, &rebuilt, xpub, &children, written.as_ref(), receipt);
    }
    match (&receipt_place, &read.ids.key_id) {
        (Some(place), Some(canary_key_id)) => {
            if written.is_some() {
                print_written(written.as_ref(), args.reveal);
            }
            canary::print_next(place, canary_key_id);
        }
        _ => print_written(written.as_ref(), args.reveal),
    }
    Ok(revealed(args.reveal, reconstruction, &children))
}

/// What is checked before any input is read: the air-gap guard, the `--encrypt-to`
/// recipients (returned), a new `--out`, and that `--destroy-decryption-key` can destroy.
fn check_before_reading(args: &ReconstructArgs) -> CliResult<Recipients> {
    airgap::enforce(args.air_gap.allow_online)?;
    let recipients = Recipients::parse(&args.encrypt_to)?;
    if let Some(out) = &args.out {
        check_new_file(out)?;
    }
    if args.destroy_decryption_key {
        crate::destroy::check(&args.decryption_key)?;
    }
    Ok(recipients)
}

/// Checks, before any passphrase is asked, that the outputs asked for suit the response:
/// the `--format` holds its curve, `--derive` children are not asked of `--format xprv`,
/// and no child's file exists.
fn check_outputs(args: &ReconstructArgs, response: &ExportResponse) -> CliResult<()> {
    if args.out.is_some() && !output::supports_curve(args.format, response.curve) {
        return Err(CliError::Usage(UsageError::FormatNeedsSecp256k1 {
            format: args.format.name(),
            curve: response.curve.to_string(),
            batch: false,
        }));
    }
    if !args.derive.is_empty() && args.out.is_some() && args.format == KeyFormat::Xprv {
        return Err(CliError::Usage(UsageError::XprvWithDerive));
    }
    if let Some(out) = &args.out {
        for path in &args.derive {
            let child = hd::child_out(out, path);
            if child.exists() {
                return Err(CliError::OutputExists { path: child });
            }
        }
    }
    Ok(())
}

/// How the key files are rendered and sealed.
struct Delivery<'a> {
    rendering: &'a Rendering<'a>,
    recipients: &'a Recipients,
    reconstruction: &'a Reconstruction,
}

impl Delivery<'_> {
    /// Renders `key`, encrypts it to the recipients if any, and writes it as a new file.
    fn write(&self, path: &Path, key: &PrivateKey, entry: &mut Entry) -> CliResult<()> {
        let rendered =
            output::render(key, self.reconstruction.chain_code.as_ref(), self.rendering)?;
        let bytes = if self.recipients.is_empty() {
            rendered
        } else {
            Zeroizing::new(self.recipients.encrypt(&rendered)?)
        };
        write_output(path, &bytes, fsio::FileMode::Secret)?;
        entry.outputs.push(
            ArtifactRecord::new("key-output", &path.display().to_string(), &bytes)
                .sealed_with(self.rendering.scrypt_log_n()),
        );
        Ok(())
    }
}

/// Writes `--out` and one file per `--derive` child beside it, then (when asked) destroys
/// the decryption key's files.
fn write_files(
    args: &ReconstructArgs,
    out: &Path,
    how: &Delivery<'_>,
    children: &[hd::Child],
    rebuilt: &Rebuilt,
    entry: &mut Entry,
) -> CliResult<Written> {
    how.write(out, &rebuilt.reconstruction.private_key, entry)?;
    for child in children {
        let path = hd::child_out(out, &child.key.path);
        how.write(&path, &child.key.private_key, entry)?;
        eprintln!(
            "Wrote {} (child {}, mode 0600)",
            path.display(),
            child.key.path
        );
    }
    if args.destroy_decryption_key {
        destroy_key_files(&rebuilt.key_files, entry);
    }
    Ok(Written {
        path: out.display().to_string(),
        format: args.format.name(),
        encrypted_to: args.encrypt_to.clone(),
    })
}

/// Says on standard error what was written (or that nothing was).
fn print_written(written: Option<&Written>, reveal: bool) {
    match written {
        Some(w) if w.encrypted_to.is_empty() => {
            eprintln!("Wrote {} ({}, mode 0600)", w.path, w.format)
        }
        Some(w) => eprintln!(
            "Wrote {} ({}, age-encrypted to {}, mode 0600)",
            w.path,
            w.format,
            w.encrypted_to.join(", ")
        ),
        None if !reveal => {
            eprintln!("Nothing written: add --out FILE (or --reveal) to deliver the key.")
        }
        None => {}
    }
}

/// The `--reveal` lines for standard output: the root key, then each child prefixed with
/// its path; empty without `--reveal`.
fn revealed(
    reveal: bool,
    reconstruction: &Reconstruction,
    children: &[hd::Child],
) -> Zeroizing<Vec<u8>> {
    let mut line = Zeroizing::new(Vec::with_capacity(65 * (1 + children.len())));
    if reveal {
        line.extend_from_slice(reconstruction.private_key.to_hex().as_bytes());
        line.push(b'\n');
        for child in children {
            line.extend_from_slice(format!("{} ", child.key.path).as_bytes());
            line.extend_from_slice(child.key.private_key.to_hex().as_bytes());
            line.push(b'\n');
        }
    }
    line
}

/// The HD part of the `--json` object: `xpub` (secp256k1 HD roots), `xprv` (only under
/// `--reveal`), `derived` (the `--derive` children) and `wallets` (the key object's
/// wallets, when the response file recorded them).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HdJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    xpub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    xprv: Option<Zeroizing<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    derived: Vec<hd::DerivedJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wallets: Option<hd::WalletsJson>,
}

/// The `--json` object of a run: the key's facts, the HD tree, what was written, the
/// canary receipt; the key itself only with `--reveal`.
fn success_json(
    args: &ReconstructArgs,
    rebuilt: &Rebuilt,
    xpub: Option<String>,
    children: &[hd::Child],
    written: Option<&Written>,
    receipt: Option<WrittenReceipt>,
) -> CliResult<Zeroizing<Vec<u8>>> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Success<'a> {
        #[serde(flatten)]
        facts: KeyFacts,
        #[serde(skip_serializing_if = "Option::is_none")]
        private_key: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        chain_code: Option<&'a str>,
        #[serde(flatten)]
        hd: HdJson,
        /// The response was a canary ceremony's throwaway key.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        canary: bool,
        /// The canary receipt written.
        #[serde(skip_serializing_if = "Option::is_none")]
        receipt: Option<WrittenReceipt>,
    }
    let reconstruction = &rebuilt.reconstruction;
    let reveal = args.reveal;
    let hd_json = HdJson {
        xpub,
        xprv: hd::revealed_xprv(reconstruction, args.network, reveal)?,
        derived: children
            .iter()
            .map(|c| hd::DerivedJson::new(c, reveal))
            .collect(),
        wallets: rebuilt.wallets.as_ref().map(hd::Wallets::to_json),
    };
    let hex = reveal.then(|| reconstruction.private_key.to_hex());
    let chain_code = reconstruction
        .chain_code
        .as_ref()
        .filter(|_| reveal)
        .map(|c| c.to_hex());
    let success = Success {
        facts: KeyFacts::new(reconstruction, rebuilt.addresses.clone(), written.cloned()),
        private_key: hex.as_ref().map(|h| h.as_str()),
        chain_code: chain_code.as_ref().map(|c| c.as_str()),
        hd: hd_json,
        canary: receipt.is_some(),
        receipt,
    };
    // Serialize into one zeroized buffer sized up front (the key may be inside).
    let mut out = Zeroizing::new(Vec::with_capacity(16 * 1024));
    keyexport_shared::display::write_json(&mut *out, &success)
        .map_err(|e| CliError::Internal(format!("JSON output: {e}")))?;
    out.push(b'\n');
    Ok(out)
}
