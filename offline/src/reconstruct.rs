//! `keyexport-offline reconstruct`: decrypt the shares, rebuild and verify the key, deliver it.
//!
//! Order (each step can refuse before anything secret is produced or written):
//! air-gap guard → output checks (recipients parse, `--out` absent) → read the response
//! from every input → format suits the curve → open the decryption key (sealed or plain) →
//! the response's ceremony and key id match the sealed key → keystore passphrase →
//! reconstruct and verify (`keyexport-shared`) → show the summary → write the output.
//! Every run is appended to the ceremony transcript, failures included.

use std::io::Write;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use keyexport_shared::curve::PublicKey;
use keyexport_shared::display::Escaped;
use keyexport_shared::files::Artifact;
use keyexport_shared::fsio;
use keyexport_shared::key_object::KeyObjectFacts;
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::reconstruct::{Reconstruction, UnknownField};
use keyexport_shared::scheme::Curve;
use keyexport_shared::wire::ExportResponse;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::addresses::{self, Addresses};
use crate::airgap;
use crate::cli::{KeyFormat, ReconstructArgs};
use crate::error::{CliError, CliResult};
use crate::hd;
use crate::inputs;
use crate::output::{self, Rendering, recipient::Recipients};
use crate::passphrase::{self, Confirm};
use crate::render;
use crate::seal;
use crate::transcript::{self, ArtifactRecord, Entry, Outcome};

/// Shown with every ed25519 result (spec section 5).
pub(crate) const ED25519_NOTE: &str = "ed25519: this is the expanded secret scalar (big-endian), not an RFC 8032 seed; it cannot be turned into a seed, so seed-based wallet files cannot hold it; sign with the scalar directly";

/// Runs `reconstruct`, appending to the transcript whatever the outcome.
pub fn run(args: &ReconstructArgs) -> CliResult<()> {
    // Several keys' responses: each key on its own, with a manifest.
    if crate::batch::reconstruct::is_batch(&args.responses) {
        return crate::batch::reconstruct::run(args);
    }
    let transcript_path = args.transcript.clone().unwrap_or_else(|| {
        let first = args
            .decryption_key
            .first()
            .map_or(Path::new("."), PathBuf::as_path);
        transcript::parent_dir(first).join(transcript::FILE_NAME)
    });
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

/// The decryption key and what it says about its ceremony.
pub struct OpenedKey {
    /// The key.
    pub key: DecryptionKey,
    /// The ceremony it was sealed for, when known.
    pub ceremony_id: Option<String>,
    /// The Dfns key id it was sealed for, when known.
    pub key_id: Option<String>,
    /// The files it came from that belong to this ceremony (what
    /// `--destroy-decryption-key` removes).
    pub files: Vec<PathBuf>,
    /// The keys of a batch ceremony (empty for a single key or a plain key).
    pub key_ids: Vec<String>,
}

/// Runs the command; returns what goes to standard output (the `--json` object, the
/// revealed key, or nothing), held in a zeroizing buffer since it may hold the key.
fn execute(args: &ReconstructArgs, entry: &mut Entry) -> CliResult<Zeroizing<Vec<u8>>> {
    airgap::enforce(args.air_gap.allow_online)?;
    let recipients = Recipients::parse(&args.encrypt_to)?;
    if let Some(out) = &args.out {
        check_new_file(out)?;
    }
    if args.destroy_decryption_key {
        crate::destroy::check(&args.decryption_key)?;
    }
    let test_log_n = seal::test_log_n()?;

    let (response, response_ids) = read_response(&args.responses, entry)?;
    entry.facts.scheme = Some(response.scheme().to_string());
    if args.out.is_some() && !output::supports_curve(args.format, response.curve) {
        return Err(CliError::Usage(format!(
            "--format {} holds secp256k1 keys only; this response is for {}",
            format_name(args.format),
            response.curve
        )));
    }
    if !args.derive.is_empty() && args.out.is_some() && args.format == KeyFormat::Xprv {
        return Err(CliError::Usage(
            "--format xprv writes the HD root only; write the --derive children with --format hex (or wif)".into(),
        ));
    }
    if let Some(out) = &args.out {
        for path in &args.derive {
            let child = hd::child_out(out, path);
            if child.exists() {
                return Err(CliError::OutputExists { path: child });
            }
        }
    }

    // The new keystore passphrase first: a mistyped confirmation then costs a retype of
    // it alone, not of the decryption key's passphrase too.
    let keystore_passphrase = keystore_passphrase(args, entry)?;
    let opened = open_for_response(args, &response_ids, entry)?;
    airgap::check_again(args.air_gap.allow_online, airgap::Moment::AfterPassphrase)?;
    let Rebuilt {
        reconstruction,
        addresses,
        wallets,
    } = rebuild_with(&response, &response_ids, &opened, entry)?;
    if args.out.is_some() && args.format == KeyFormat::Xprv {
        hd::require_chain_code(&reconstruction, "--format xprv")?;
    }
    let xpub = hd::root_xpub(&reconstruction, args.network);
    let children = hd::derive_children(&reconstruction, &args.derive)?;
    hd::print_tree(&reconstruction, xpub.as_deref(), &children);
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
            let deliver = |path: &Path,
                           key: &keyexport_shared::curve::PrivateKey,
                           entry: &mut Entry| {
                let rendered = output::render(key, reconstruction.chain_code.as_ref(), &rendering)?;
                let bytes = if recipients.is_empty() {
                    rendered
                } else {
                    Zeroizing::new(recipients.encrypt(&rendered)?)
                };
                write_output(path, &bytes, fsio::FileMode::Secret)?;
                entry.outputs.push(
                    ArtifactRecord::new("key-output", &path.display().to_string(), &bytes)
                        .sealed_with(rendering.scrypt_log_n()),
                );
                CliResult::Ok(())
            };
            deliver(out, &reconstruction.private_key, entry)?;
            for child in &children {
                let path = hd::child_out(out, &child.key.path);
                deliver(&path, &child.key.private_key, entry)?;
                eprintln!(
                    "Wrote {} (child {}, mode 0600)",
                    path.display(),
                    child.key.path
                );
            }
            if args.destroy_decryption_key {
                destroy_key_files(&opened.files, entry);
            }
            Some(Written {
                path: out.display().to_string(),
                format: format_name(args.format),
                encrypted_to: args.encrypt_to.clone(),
            })
        }
        None => None,
    };

    if args.json {
        let hd_json = HdJson {
            xpub,
            xprv: hd::revealed_xprv(&reconstruction, args.network, args.reveal)?,
            derived: children
                .iter()
                .map(|c| hd::DerivedJson::new(c, args.reveal))
                .collect(),
            wallets: wallets.as_ref().map(hd::Wallets::to_json),
        };
        return success_json(
            &reconstruction,
            &addresses,
            written.as_ref(),
            args.reveal,
            hd_json,
        );
    }
    match &written {
        Some(w) if w.encrypted_to.is_empty() => {
            eprintln!("Wrote {} ({}, mode 0600)", w.path, w.format)
        }
        Some(w) => eprintln!(
            "Wrote {} ({}, age-encrypted to {}, mode 0600)",
            w.path,
            w.format,
            w.encrypted_to.join(", ")
        ),
        None if !args.reveal => {
            eprintln!("Nothing written: add --out FILE (or --reveal) to deliver the key.")
        }
        None => {}
    }
    let mut line = Zeroizing::new(Vec::with_capacity(65 * (1 + children.len())));
    if args.reveal {
        line.extend_from_slice(reconstruction.private_key.to_hex().as_bytes());
        line.push(b'\n');
        // Children after the root, each line prefixed with its path.
        for child in &children {
            line.extend_from_slice(format!("{} ", child.key.path).as_bytes());
            line.extend_from_slice(child.key.private_key.to_hex().as_bytes());
            line.push(b'\n');
        }
    }
    Ok(line)
}

/// Rebuilds and verifies the key exactly as `reconstruct` does (same inputs, ceremony check,
/// transcript facts and summary on standard error), without delivering it: for `sign`.
/// `check_response` runs once the response is read, before the decryption key is opened,
/// so a response the caller cannot use is refused before any passphrase is asked.
pub fn rebuild(
    args: &ReconstructArgs,
    entry: &mut Entry,
    check_response: impl FnOnce(&ExportResponse) -> CliResult<()>,
) -> CliResult<Reconstruction> {
    let (response, response_ids) = read_response(&args.responses, entry)?;
    entry.facts.scheme = Some(response.scheme().to_string());
    check_response(&response)?;
    let opened = open_for_response(args, &response_ids, entry)?;
    airgap::check_again(args.air_gap.allow_online, airgap::Moment::AfterPassphrase)?;
    rebuild_with(&response, &response_ids, &opened, entry).map(|rebuilt| rebuilt.reconstruction)
}

/// A key rebuilt, verified and checked against the wallets of its key object.
pub(crate) struct Rebuilt {
    pub(crate) reconstruction: Reconstruction,
    pub(crate) addresses: Addresses,
    pub(crate) wallets: Option<hd::Wallets>,
}

/// Opens the decryption key (or custody parts) and checks it belongs to the response's
/// ceremony; records the ceremony facts in the transcript entry.
fn open_for_response(
    args: &ReconstructArgs,
    response_ids: &ResponseIds,
    entry: &mut Entry,
) -> CliResult<OpenedKey> {
    let opened = open_decryption_key(args, response_ids, entry)?;
    check_ceremony(&opened, response_ids)?;
    entry.facts.ceremony_id = opened
        .ceremony_id
        .clone()
        .or(response_ids.ceremony_id.clone());
    entry.facts.key_id = opened.key_id.clone().or(response_ids.key_id.clone());
    entry.facts.encryption_key_fingerprint =
        Some(opened.key.encryption_key().fingerprint().to_string());
    Ok(opened)
}

/// Rebuilds and verifies the key, records its public facts in the transcript entry and
/// shows the summary on standard error (always, before anything is written, `--json` or
/// not).
fn rebuild_with(
    response: &ExportResponse,
    response_ids: &ResponseIds,
    opened: &OpenedKey,
    entry: &mut Entry,
) -> CliResult<Rebuilt> {
    let reconstruction = keyexport_shared::reconstruct::reconstruct(response, &opened.key)
        .map_err(|e| CliError::Shared {
            input: None,
            source: e,
        })?;
    entry.facts.public_key = Some(reconstruction.public_key.to_hex());
    entry.facts.used_signers = signer_strings(&reconstruction.used_signers);
    entry.facts.bad_signers = signer_strings(&reconstruction.bad_signers());
    let addresses = derive_addresses(&reconstruction)?;
    print_summary(&reconstruction, &addresses, response_ids, opened);
    let key_object = response_ids.key_object.as_ref();
    if let Some(note) = hd::master_key_without_chain_code(&reconstruction, key_object) {
        eprintln!("Note         {note}");
    }
    let wallets = hd::check_wallets(&reconstruction, key_object)?;
    if let Some(wallets) = &wallets {
        wallets.print();
    }
    Ok(Rebuilt {
        reconstruction,
        addresses,
        wallets,
    })
}

/// The passphrase of an Ethereum keystore `--out` file (none for other formats), asked
/// before the key is rebuilt.
pub(crate) fn keystore_passphrase(
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

/// Checks, before any passphrase is asked or secret touched, that `path` can become a new
/// file: nothing is there (not even a dangling link), and its folder exists and is
/// writable.
pub(crate) fn check_new_file(path: &Path) -> CliResult<()> {
    if path.symlink_metadata().is_ok() {
        return Err(CliError::OutputExists {
            path: path.to_path_buf(),
        });
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let unusable = |problem: String| CliError::OutputUnusable {
        path: path.to_path_buf(),
        problem,
    };
    match folder.metadata() {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(unusable(format!("{} is not a folder", folder.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(unusable(format!(
                "the folder {} does not exist",
                folder.display()
            )));
        }
        Err(e) => {
            return Err(unusable(format!(
                "cannot use the folder {}: {e}",
                folder.display()
            )));
        }
    }
    rustix::fs::access(
        folder,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    )
    .map_err(|e| {
        unusable(format!(
            "cannot create a file in {}: {}",
            folder.display(),
            std::io::Error::from(e)
        ))
    })
}

/// Writes an output file atomically, never over an existing one (named as such).
pub(crate) fn write_output(path: &Path, bytes: &[u8], mode: fsio::FileMode) -> CliResult<()> {
    fsio::write_new(path, bytes, mode).map_err(|e| {
        if path.exists() {
            CliError::OutputExists {
                path: path.to_path_buf(),
            }
        } else {
            CliError::shared(path.display().to_string(), e)
        }
    })
}

/// The export response named by `inputs`, read and checked as `reconstruct` reads it
/// (for `sign --key`, which takes the public key from it).
pub fn response_of(inputs: &[String], entry: &mut Entry) -> CliResult<ExportResponse> {
    read_response(inputs, entry).map(|(response, _)| response)
}

/// Ceremony and key ids named by the response, when it is a keyexport response file.
#[derive(Debug, Default, Clone)]
pub(crate) struct ResponseIds {
    pub(crate) ceremony_id: Option<String>,
    pub(crate) key_id: Option<String>,
    /// The responses are a batch's (several keys): custody parts must be a batch's too.
    pub(crate) batch: bool,
    /// The key object's HD facts the response file recorded, if any.
    pub(crate) key_object: Option<KeyObjectFacts>,
}

fn read_response(
    inputs_given: &[String],
    entry: &mut Entry,
) -> CliResult<(ExportResponse, ResponseIds)> {
    let gathered = inputs::gather(inputs_given)?;
    entry.inputs.extend(gathered.records.iter().cloned());
    let mut chosen: Option<(ExportResponse, ResponseIds, String)> = None;
    for found in gathered.found {
        let (response, ids) = match found.artifact {
            Artifact::Request(_) => {
                return Err(CliError::Input {
                    path: found.source,
                    problem: "this is an export request (made by init), not the response; give the response saved by keyexport-online or returned by Dfns".into(),
                });
            }
            Artifact::Response(file) => (
                file.export_response()
                    .map_err(|e| CliError::shared(found.source.clone(), e))?,
                ResponseIds {
                    ceremony_id: Some(file.ceremony_id.to_string()),
                    key_id: Some(file.key_id.to_string()),
                    batch: false,
                    key_object: file.key_object().cloned(),
                },
            ),
            Artifact::DfnsResponse(response) => (response, ResponseIds::default()),
        };
        match &chosen {
            None => chosen = Some((response, ids, found.source)),
            Some((first, first_ids, first_source)) => {
                if first != &response {
                    return Err(CliError::Input {
                        path: found.source,
                        problem: format!(
                            "holds a different response than {first_source}; give one response only"
                        ),
                    });
                }
                if first_ids.ceremony_id.is_none() && ids.ceremony_id.is_some() {
                    chosen = Some((response, ids, found.source));
                }
            }
        }
    }
    match (chosen, &gathered.partial) {
        (Some((response, ids, _)), partial) => {
            if let Some(partial) = partial {
                eprintln!(
                    "warning: ignoring an incomplete set of UR frames ({} %); the response was read from the other inputs",
                    partial.percent
                );
            }
            Ok((response, ids))
        }
        (None, Some(partial)) => Err(inputs::incomplete(partial, false)),
        (None, None) => Err(CliError::Input {
            path: inputs_given.join(" "),
            problem: "no export response found".into(),
        }),
    }
}

/// Overwrites and removes the key files once the key is safely written (`--out`), recording
/// each in the transcript; a file that cannot be destroyed is reported, not fatal.
pub(crate) fn destroy_key_files(files: &[PathBuf], entry: &mut Entry) {
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

pub(crate) fn open_decryption_key(
    args: &ReconstructArgs,
    response_ids: &ResponseIds,
    entry: &mut Entry,
) -> CliResult<OpenedKey> {
    if crate::custody::is_custody(&args.decryption_key) {
        return crate::custody::open_parts(
            args,
            response_ids.ceremony_id.as_deref(),
            response_ids.batch,
            entry,
        );
    }
    if args.passphrase_file.len() > 1 {
        return Err(CliError::Usage(
            "--passphrase-file is given more than once for one sealed decryption key".into(),
        ));
    }
    let [key_path] = args.decryption_key.as_slice() else {
        return Err(CliError::Usage("--decryption-key is required".into()));
    };
    let label = key_path.display().to_string();
    let bytes = Zeroizing::new(
        keyexport_shared::input::read(key_path, keyexport_shared::input::DOCUMENT).map_err(
            |source| CliError::ReadInput {
                path: label.clone(),
                source,
            },
        )?,
    );
    entry
        .inputs
        .push(ArtifactRecord::new("decryption-key", &label, &bytes));
    if seal::is_age_file(&bytes) {
        if let Some(path) = args.passphrase_file.first() {
            entry.inputs.push(ArtifactRecord::passphrase_file(path));
        }
        let passphrase = passphrase::obtain(
            args.passphrase_file.first().map(PathBuf::as_path),
            passphrase::SEALED_KEY,
            Confirm::Once,
        )?;
        let payload = seal::unseal(&bytes, passphrase, &label)?;
        let key =
            DecryptionKey::from_dfns_hex(&payload.decryption_key).map_err(|_| CliError::Input {
                path: label.clone(),
                problem: "the sealed content does not hold a valid Dfns decryption key".into(),
            })?;
        // A batch key names no single key id: its ceremony id is what binds the response.
        return Ok(OpenedKey {
            key,
            ceremony_id: Some(payload.ceremony_id.clone()),
            key_id: payload.key_ids.is_empty().then(|| payload.key_id.clone()),
            files: vec![key_path.clone()],
            key_ids: payload.key_ids.clone(),
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| not_a_key(&label))?;
    let key = DecryptionKey::from_dfns_hex(text.trim()).map_err(|_| not_a_key(&label))?;
    render::loud_warning(&[
        &format!("WARNING: {label} is an UNPROTECTED decryption key (plain hex)."),
        "Anyone who can read that file can decrypt the exported shares.",
        "Delete it securely after the ceremony; prefer keys sealed by `init`.",
    ]);
    Ok(OpenedKey {
        key,
        ceremony_id: None,
        key_id: None,
        files: vec![key_path.clone()],
        key_ids: Vec::new(),
    })
}

fn not_a_key(label: &str) -> CliError {
    CliError::Input {
        path: label.to_owned(),
        problem: "neither a sealed key from `init` (age) nor a Dfns decryption key `01<64 hex>`"
            .into(),
    }
}

fn check_ceremony(opened: &OpenedKey, ids: &ResponseIds) -> CliResult<()> {
    for (field, sealed, response) in [
        ("ceremony", &opened.ceremony_id, &ids.ceremony_id),
        ("key id", &opened.key_id, &ids.key_id),
    ] {
        if let (Some(sealed), Some(response)) = (sealed, response)
            && sealed != response
        {
            return Err(CliError::CeremonyMismatch {
                field,
                sealed: sealed.clone(),
                response: response.clone(),
            });
        }
    }
    Ok(())
}

pub(crate) fn derive_addresses(reconstruction: &Reconstruction) -> CliResult<Addresses> {
    addresses_of(&reconstruction.public_key)
}

/// The addresses of a public key (the root's, or a derived child's).
pub(crate) fn addresses_of(public_key: &PublicKey) -> CliResult<Addresses> {
    let public = public_key.as_bytes();
    let derived = match public_key.curve() {
        Curve::Secp256k1 => addresses::secp256k1(public),
        Curve::Ed25519 => addresses::ed25519(public),
        Curve::Stark => addresses::stark(public),
    };
    derived.map_err(|e| CliError::Internal(format!("address derivation: {e}")))
}

pub(crate) fn format_name(format: KeyFormat) -> &'static str {
    match format {
        KeyFormat::Hex => "hex",
        KeyFormat::Wif => "wif",
        KeyFormat::EthKeystore => "eth-keystore",
        KeyFormat::Xprv => "xprv",
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

pub(crate) fn signer_strings(signers: &[keyexport_shared::wire::SignerId]) -> Vec<String> {
    signers.iter().map(ToString::to_string).collect()
}

fn print_summary(
    reconstruction: &Reconstruction,
    addresses: &Addresses,
    ids: &ResponseIds,
    opened: &OpenedKey,
) {
    eprintln!(
        "Scheme       {} / {}",
        reconstruction.scheme.protocol, reconstruction.scheme.curve
    );
    eprintln!(
        "Threshold    {} of {} shares",
        reconstruction.min_signers, reconstruction.share_count
    );
    if let Some(ceremony) = ids.ceremony_id.as_ref().or(opened.ceremony_id.as_ref()) {
        eprintln!("Ceremony     {}", Escaped(ceremony));
    }
    render::hex_value("Public key", &reconstruction.public_key.to_hex());
    eprintln!("Verified     the rebuilt key matches the public key");
    if reconstruction.is_hd() {
        eprintln!("Key          HD root key (chain code present)");
    }
    // One signer id per line: a list of them would wrap mid-id at 80 columns.
    for (i, signer) in reconstruction.used_signers.iter().enumerate() {
        let label = if i == 0 { "Used shares" } else { "" };
        eprintln!("{label:<13}{}", Escaped(signer));
    }
    if reconstruction.bad_shares.is_empty() {
        eprintln!("Bad shares   none");
    } else {
        eprintln!("Bad shares   set aside; the key was rebuilt without them:");
        for bad in &reconstruction.bad_shares {
            eprintln!(
                "             {} ({})",
                Escaped(&bad.signer_id),
                bad.fault.kind()
            );
        }
    }
    eprintln!("Addresses");
    for (label, value) in addresses.labelled() {
        render::labelled_line(2, label, 24, value);
    }
    if reconstruction.public_key.curve() == Curve::Ed25519 {
        eprintln!("Note         {ED25519_NOTE}");
    }
    for line in unknown_field_lines(&reconstruction.unknown_fields) {
        eprintln!("{line}");
    }
}

/// At most this many unknown fields are named on the terminal (all are in `--json`).
const UNKNOWN_FIELDS_SHOWN: usize = 4;
/// Longer field names are cut on the terminal.
const FIELD_NAME_SHOWN: usize = 40;

/// The warning about fields of Dfns' documents that this tool does not know: which
/// document, which field, how many shares carry it. Names are escaped and cut short.
pub(crate) fn unknown_field_lines(fields: &[UnknownField]) -> Vec<String> {
    if fields.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![
        "warning: Dfns' documents carry fields this tool does not know; they were ignored"
            .to_string(),
    ];
    for field in fields.iter().take(UNKNOWN_FIELDS_SHOWN) {
        let mut name: String = field.field.chars().take(FIELD_NAME_SHOWN).collect();
        if name.len() < field.field.len() {
            name.push_str("...");
        }
        let whose = match field.signers.len() {
            0 => String::new(),
            1 => format!(" (signer {})", field.signers[0]),
            n => format!(" ({n} signers)"),
        };
        lines.push(format!(
            "  {} field {}{whose}",
            field.document.as_str(),
            name.escape_debug()
        ));
    }
    if fields.len() > UNKNOWN_FIELDS_SHOWN {
        lines.push(format!(
            "  and {} more (--json lists them all)",
            fields.len() - UNKNOWN_FIELDS_SHOWN
        ));
    }
    lines.push("  The key was verified without them. Tell the keyexport maintainers.".to_string());
    lines
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

/// The HD part of the `--json` object: `xpub` (secp256k1 HD roots), `xprv` (only under
/// `--reveal`), `derived` (the `--derive` children) and `wallets` (the key object's
/// wallets, when the response file recorded them).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HdJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) xpub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) xprv: Option<Zeroizing<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) derived: Vec<hd::DerivedJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wallets: Option<hd::WalletsJson>,
}

fn success_json(
    reconstruction: &Reconstruction,
    addresses: &Addresses,
    written: Option<&Written>,
    reveal: bool,
    hd_json: HdJson,
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
    }
    let hex = reveal.then(|| reconstruction.private_key.to_hex());
    let chain_code = reconstruction
        .chain_code
        .as_ref()
        .filter(|_| reveal)
        .map(|c| c.to_hex());
    let success = Success {
        facts: KeyFacts::new(reconstruction, addresses.clone(), written.cloned()),
        private_key: hex.as_ref().map(|h| h.as_str()),
        chain_code: chain_code.as_ref().map(|c| c.as_str()),
        hd: hd_json,
    };
    // Serialize into one zeroized buffer sized up front (the key may be inside).
    let mut out = Zeroizing::new(Vec::with_capacity(16 * 1024));
    keyexport_shared::display::write_json(&mut *out, &success)
        .map_err(|e| CliError::Internal(format!("JSON output: {e}")))?;
    out.push(b'\n');
    Ok(out)
}
