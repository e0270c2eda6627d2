//! The decryption key of a split ceremony, rebuilt from K good custody parts (see
//! [`crate::custody`]): every part given is unsealed, checked against its commitments, its
//! ceremony and the others, and set aside (named) when it does not belong; K good parts of
//! one split rebuild the key, fewer stop the run with what was set aside.

use std::path::PathBuf;

use keyexport_shared::custody::{self, CustodyPart, PartFault};
use keyexport_shared::display::Escaped;
use keyexport_shared::files::CeremonyId;
use keyexport_shared::keys::EncryptionKey;
use zeroize::Zeroizing;

use super::key::OpenedKey;
use crate::custody::{
    OpenFailure, Passphrases, foreign_name, load_identities, open_part, part_label_from_name, who,
};
use crate::error::{CliError, CliResult, InputProblem, UsageError};
use crate::render;
use crate::transcript::{ArtifactRecord, CustodyFacts, Entry};

/// A part that unsealed, with where it came from.
struct Opened {
    path: String,
    part: CustodyPart,
}

impl Opened {
    fn name(&self) -> String {
        format!("{} ({})", self.part.label, self.path)
    }
}

/// The custody parts given and how to open them.
pub(super) struct Parts<'a> {
    pub(super) files: &'a [PathBuf],
    pub(super) passphrase_files: &'a [PathBuf],
    pub(super) identities: &'a [PathBuf],
}

/// Rebuilds the decryption key from K good parts. `response_ceremony` is the ceremony the
/// response files name, when they name one; `batch` says they are a batch's, for which only
/// a batch ceremony's parts are good.
pub(super) fn open(
    given: &Parts<'_>,
    response_ceremony: Option<&str>,
    batch: bool,
    entry: &mut Entry,
) -> CliResult<OpenedKey> {
    let (opened, mut set_aside) = unseal_all(given, entry)?;
    let expected = ceremony_key(&opened, response_ceremony, batch)?;
    let good = check_each(
        &opened,
        expected.as_ref(),
        response_ceremony,
        batch,
        &mut set_aside,
    );
    // One split's parts only: a part whose commitment set differs from the others' is
    // forged or from another split, and is named.
    let claimed_quorum = good.first().map(|g| g.part.quorum);
    let selection = custody::select(&good.iter().map(|g| &g.part).collect::<Vec<_>>());
    set_aside.extend(
        selection
            .set_aside
            .iter()
            .map(|(position, fault)| format!("{}: {fault}", good[*position].name())),
    );
    let good: Vec<&Opened> = selection.usable.iter().map(|&u| good[u]).collect();
    let needed = good.first().map(|g| g.part.quorum).or(claimed_quorum);
    let mut facts = CustodyFacts {
        quorum: needed,
        set_aside: set_aside.clone(),
        ..CustodyFacts::default()
    };
    let enough = needed.is_some_and(|k| good.len() >= usize::from(k));
    let (Some((key, ceremony)), true) = (expected, enough) else {
        entry.facts.custody = Some(facts);
        return Err(CliError::CustodyQuorum {
            good: good.len(),
            needed,
            set_aside,
        });
    };
    let parts: Vec<CustodyPart> = good.iter().map(|g| g.part.clone()).collect();
    let combined = custody::combine(&parts, &key).map_err(|e| CliError::Shared {
        input: None,
        source: e,
    })?;
    facts.used = combined.used.clone();
    facts.commitments_sha256 = Some(combined.commitments.clone());
    entry.facts.custody = Some(facts);
    report(&combined.used, needed, &set_aside);
    // The good parts are of one ceremony, so they name the same keys.
    let first = good.first().map(|g| &g.part);
    Ok(OpenedKey {
        key: combined.key,
        ceremony_id: Some(ceremony.to_string()),
        key_id: first
            .and_then(|p| p.key_id.as_ref())
            .map(ToString::to_string),
        files: good.iter().map(|g| PathBuf::from(&g.path)).collect(),
        key_ids: first
            .map(|p| p.key_ids.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    })
}

/// Unseals every part given (asking or reading the passphrases in order), recording each
/// in the transcript; returns the parts that unsealed and, named, those set aside.
fn unseal_all(given: &Parts<'_>, entry: &mut Entry) -> CliResult<(Vec<Opened>, Vec<String>)> {
    let identities = load_identities(given.identities)?;
    let mut set_aside: Vec<String> = Vec::new();
    let mut opened: Vec<Opened> = Vec::new();
    let mut records = Vec::new();
    let mut passphrases = Passphrases::new(given.passphrase_files);
    for path in given.files {
        let shown = path.display().to_string();
        let name =
            part_label_from_name(path).map_or_else(|| shown.clone(), |l| format!("{l} ({shown})"));
        let bytes = match keyexport_shared::input::read(path, keyexport_shared::input::DOCUMENT) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) => {
                set_aside.push(format!("{name}: cannot read: {e}"));
                continue;
            }
        };
        records.push(ArtifactRecord::new("decryption-key-part", &shown, &bytes));
        match open_part(&bytes, &shown, &who(path), &mut passphrases, &identities) {
            Ok(part) => opened.push(Opened { path: shown, part }),
            Err(OpenFailure::WrongPassphrase) => {
                set_aside.push(format!("{name}: wrong passphrase"))
            }
            Err(OpenFailure::SetAside(reason)) => set_aside.push(format!("{name}: {reason}")),
            Err(OpenFailure::Fatal(e)) => {
                record_inputs(entry, records, &passphrases);
                return Err(e);
            }
        }
    }
    record_inputs(entry, records, &passphrases);
    if passphrases.files.len() > 0 {
        return Err(CliError::Usage(UsageError::PassphraseFilesLeftOver {
            count: passphrases.files.len(),
        }));
    }
    Ok((opened, set_aside))
}

/// The parts that check out on their own and belong to the expected ceremony (and to a
/// batch ceremony for a batch); the others are named in `set_aside`.
fn check_each<'o>(
    opened: &'o [Opened],
    expected: Option<&(EncryptionKey, CeremonyId)>,
    response_ceremony: Option<&str>,
    batch: bool,
    set_aside: &mut Vec<String>,
) -> Vec<&'o Opened> {
    let mut good: Vec<&Opened> = Vec::new();
    for candidate in opened {
        let part = &candidate.part;
        let fault = match (part.check(), expected) {
            (Err(fault), _) => Some(fault),
            (Ok(()), _) if batch && !part.is_batch() => Some(PartFault::SingleKeyPart(format!(
                "{}, {}",
                part.ceremony_id,
                part.describe_keys()
            ))),
            (Ok(()), _) if response_ceremony.is_some_and(|c| c != part.ceremony_id.as_str()) => {
                Some(PartFault::ForeignCeremony(foreign_name(part)))
            }
            (Ok(()), None) => None,
            (Ok(()), Some((key, ceremony))) => match part.encryption_key() {
                Err(fault) => Some(fault),
                Ok(k) if &k != key || &part.ceremony_id != ceremony => {
                    Some(PartFault::ForeignCeremony(foreign_name(part)))
                }
                Ok(_) => None,
            },
        };
        match fault {
            Some(fault) => set_aside.push(format!("{}: {fault}", candidate.name())),
            None => good.push(candidate),
        }
    }
    good
}

/// Says on standard error which parts rebuilt the key, and loudly which were set aside.
fn report(used: &[String], needed: Option<u8>, set_aside: &[String]) {
    eprintln!(
        "Custody      rebuilt the decryption key from {} of the parts ({} needed): {}",
        used.len(),
        needed.unwrap_or_default(),
        Escaped(used.join(", "))
    );
    if !set_aside.is_empty() {
        let escaped: Vec<String> = set_aside.iter().map(|l| Escaped(l).to_string()).collect();
        let mut lines = vec!["Custody parts set aside (not used):"];
        lines.extend(escaped.iter().map(String::as_str));
        render::loud_warning(&lines);
    }
}

fn record_inputs(entry: &mut Entry, parts: Vec<ArtifactRecord>, passphrases: &Passphrases<'_>) {
    entry.inputs.extend(parts);
    entry.inputs.extend(
        passphrases
            .used
            .iter()
            .map(|p| ArtifactRecord::passphrase_file(p)),
    );
}

/// The encryption key (and ceremony) the parts must be bound to: that of the largest group
/// of self-consistent parts sharing one `C_0` and ceremony id, among those of the
/// response's ceremony when it names one (and of a batch ceremony for a batch). `None`
/// when no part is usable.
fn ceremony_key(
    opened: &[Opened],
    response_ceremony: Option<&str>,
    batch: bool,
) -> CliResult<Option<(EncryptionKey, CeremonyId)>> {
    let mut groups: Vec<(EncryptionKey, CeremonyId, usize)> = Vec::new();
    for o in opened {
        if o.part.check().is_err()
            || (batch && !o.part.is_batch())
            || response_ceremony.is_some_and(|c| c != o.part.ceremony_id.as_str())
        {
            continue;
        }
        let Ok(key) = o.part.encryption_key() else {
            continue;
        };
        match groups
            .iter_mut()
            .find(|(k, c, _)| k == &key && c == &o.part.ceremony_id)
        {
            Some(group) => group.2 += 1,
            None => groups.push((key, o.part.ceremony_id.clone(), 1)),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.2));
    match groups.as_slice() {
        [] => Ok(None),
        [(_, a, n), (_, b, m), ..] if n == m => Err(CliError::Input {
            path: "--decryption-key".into(),
            problem: InputProblem::PartsOfTwoCeremonies {
                first: a.to_string(),
                second: b.to_string(),
                count: *n,
            },
        }),
        [(key, ceremony, _), ..] => Ok(Some((*key, ceremony.clone()))),
    }
}
