//! The rebuild core that `reconstruct` and `sign` share: read the export response, open
//! the decryption key ([`KeySource`]: the sealed key, or custody parts), check that it is
//! the response's ceremony, rebuild the key and **verify it against the public key**
//! (`keyexport_shared::reconstruct`), derive its addresses, check the key object's wallets,
//! and show the summary. Nothing here delivers a key: the commands do, after this returns.
//!
//! [`key`] opens one sealed (or plain) key, [`parts`] the custody parts of a split key.

mod key;
mod parts;

pub use key::{KeySource, OpenedKey};

use keyexport_shared::display::Escaped;
use keyexport_shared::files::Artifact;
use keyexport_shared::key_object::KeyObjectFacts;
use keyexport_shared::reconstruct::{Reconstruction, UnknownField};
use keyexport_shared::scheme::Curve;
use keyexport_shared::wire::{ExportResponse, SignerId};

use crate::addresses::{self, Addresses};
use crate::airgap;
use crate::error::{CliError, CliResult, InputProblem};
use crate::hd;
use crate::inputs;
use crate::render;
use crate::transcript::Entry;

/// Shown with every ed25519 result (spec section 5).
pub(crate) const ED25519_NOTE: &str = "ed25519: this is the expanded secret scalar \
    (big-endian), not an RFC 8032 seed; it cannot be turned into a seed, so seed-based \
    wallet files cannot hold it; sign with the scalar directly";

/// An export response as read, with what its file says about the ceremony.
pub struct Response {
    pub response: ExportResponse,
    pub ids: ResponseIds,
}

/// Opens the decryption key, checks it is the response's ceremony, rebuilds the key and
/// verifies it against the public key; the transcript entry gets the ceremony and key
/// facts, standard error the summary. The air-gap guard looks again once the passphrases
/// are typed.
pub fn rebuild(
    source: &KeySource<'_>,
    read: &Response,
    allow_online: bool,
    entry: &mut Entry,
) -> CliResult<Rebuilt> {
    let opened = open_for_response(source, &read.ids, entry)?;
    airgap::check_again(allow_online, airgap::Moment::AfterPassphrase)?;
    rebuild_with(&read.response, &read.ids, opened, entry)
}

/// A key rebuilt, verified and checked against the wallets of its key object.
pub struct Rebuilt {
    pub reconstruction: Reconstruction,
    pub addresses: Addresses,
    pub wallets: Option<hd::Wallets>,
    /// The files the decryption key came from (what `--destroy-decryption-key` removes).
    pub key_files: Vec<std::path::PathBuf>,
}

/// Opens the decryption key: the sealed (or plain) key, or custody parts matched to the
/// ceremony the responses name (a batch's parts for a batch's responses).
pub fn open_key(
    source: &KeySource<'_>,
    response_ids: &ResponseIds,
    entry: &mut Entry,
) -> CliResult<OpenedKey> {
    match *source {
        KeySource::Sealed {
            path,
            passphrase_file,
        } => key::open_sealed(path, passphrase_file, entry),
        KeySource::Parts {
            parts,
            passphrase_files,
            identities,
        } => parts::open(
            &parts::Parts {
                files: parts,
                passphrase_files,
                identities,
            },
            response_ids.ceremony_id.as_deref(),
            response_ids.batch,
            entry,
        ),
    }
}

/// Opens the decryption key (or custody parts) and checks it belongs to the response's
/// ceremony; records the ceremony facts in the transcript entry.
fn open_for_response(
    source: &KeySource<'_>,
    response_ids: &ResponseIds,
    entry: &mut Entry,
) -> CliResult<OpenedKey> {
    let opened = open_key(source, response_ids, entry)?;
    check_ceremony(&opened, response_ids)?;
    entry.facts.ceremony_id = opened
        .ceremony_id
        .clone()
        .or(response_ids.ceremony_id.clone());
    entry.facts.key_id = if response_ids.canary {
        response_ids.key_id.clone()
    } else {
        opened.key_id.clone().or(response_ids.key_id.clone())
    };
    entry.facts.canary = response_ids.canary;
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
    opened: OpenedKey,
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
    let addresses = addresses::of(&reconstruction.public_key)?;
    print_summary(&reconstruction, &addresses, response_ids, &opened);
    let key_object = response_ids.key_object.as_ref();
    if let Some(note) = hd::master_key_without_chain_code(&reconstruction, key_object) {
        render::note(note);
    }
    let wallets = hd::check_wallets(&reconstruction, key_object)?;
    if let Some(wallets) = &wallets {
        wallets.print();
    }
    Ok(Rebuilt {
        reconstruction,
        addresses,
        wallets,
        key_files: opened.files,
    })
}

/// The response must be of the decryption key's ceremony and, unless it is the canary's,
/// of its key. A canary's response is of a throwaway key: its key id must be none of the
/// ceremony's real keys (a real key exported as the "canary" would be lost for nothing),
/// and the decryption key must name its ceremony's keys (the sealed key or custody parts
/// from `init`; a plain key names none, and the receipt is to prove the sealed key).
fn check_ceremony(opened: &OpenedKey, ids: &ResponseIds) -> CliResult<()> {
    let mut checked = vec![("ceremony", &opened.ceremony_id, &ids.ceremony_id)];
    if !ids.canary {
        checked.push(("key id", &opened.key_id, &ids.key_id));
    }
    for (field, sealed, response) in checked {
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
    if ids.canary {
        if opened.ceremony_id.is_none() {
            return Err(CliError::CanaryNeedsSealedKey);
        }
        if let Some(canary) = &ids.key_id
            && opened
                .key_id
                .iter()
                .chain(&opened.key_ids)
                .any(|id| id == canary)
        {
            return Err(CliError::CanaryIsRealKey {
                key_id: canary.clone(),
            });
        }
    }
    Ok(())
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
    /// The response is a canary ceremony's throwaway key (`"canary": true`).
    pub(crate) canary: bool,
}

/// Reads the export response from every input (they must agree), records the inputs and
/// the scheme in the transcript entry.
pub fn read_response(inputs_given: &[String], entry: &mut Entry) -> CliResult<Response> {
    let gathered = inputs::gather(inputs_given)?;
    entry.inputs.extend(gathered.records.iter().cloned());
    if let Some(receipt) = gathered.receipts.first() {
        return Err(CliError::Input {
            path: receipt.source.clone(),
            problem: InputProblem::ReceiptNotResponse,
        });
    }
    let mut chosen: Option<(ExportResponse, ResponseIds, String)> = None;
    for found in gathered.found {
        let (response, ids) = match found.artifact {
            Artifact::Request(_) | Artifact::BatchRequest(_) => {
                return Err(CliError::Input {
                    path: found.source,
                    problem: InputProblem::RequestNotResponse,
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
                    canary: file.canary,
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
                        problem: InputProblem::DifferentResponses {
                            first: first_source.clone(),
                        },
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
            entry.facts.scheme = Some(response.scheme().to_string());
            Ok(Response { response, ids })
        }
        (None, Some(partial)) => Err(inputs::incomplete(partial, false)),
        (None, None) => Err(CliError::Input {
            path: inputs_given.join(" "),
            problem: InputProblem::NoResponse,
        }),
    }
}

/// Signer ids as text, for the transcript and `--json`.
pub fn signer_strings(signers: &[SignerId]) -> Vec<String> {
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
    // A canary is thrown away: its addresses and the note on using an ed25519 key would
    // only crowd the screen.
    if !ids.canary {
        eprintln!("Addresses");
        for (label, value) in addresses.labelled() {
            render::labelled_line(2, label, 24, value);
        }
        if reconstruction.public_key.curve() == Curve::Ed25519 {
            render::note(ED25519_NOTE);
        }
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
