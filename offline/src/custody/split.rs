//! `init --custodians M --quorum K`: the custodians' labels and sealing, settled before
//! the key exists, then the split and one sealed part file per custodian.

use std::collections::BTreeMap;
use std::str::FromStr;

use age::secrecy::SecretString;
use keyexport_shared::custody::{self, CustodyPart, MAX_CUSTODIANS};
use keyexport_shared::files::{CeremonyId, KeyId};
use keyexport_shared::keys::DecryptionKey;
use rand_core::OsRng;

use super::PART_SUFFIX;
use crate::cli::InitArgs;
use crate::error::{CliError, CliResult, PassphraseOrigin, UsageError};
use crate::passphrase::{self, Confirm};
use crate::seal;
use crate::transcript::{CustodyFacts, PartRecord};

/// Longest custodian label.
const MAX_LABEL: usize = 32;

/// How one custodian's part is sealed.
enum Sealing {
    /// With the custodian's passphrase (scrypt).
    Passphrase(SecretString),
    /// To the custodian's age X25519 recipient.
    Recipient(age::x25519::Recipient),
}

/// What `init --custodians` will make, settled before the key exists.
pub struct Plan {
    quorum: u8,
    custodians: Vec<(String, Sealing)>,
}

/// One sealed part, ready to be written.
pub struct PartFile {
    /// Its file name in the ceremony folder.
    pub file_name: String,
    /// The armored age file.
    pub bytes: Vec<u8>,
    /// The scrypt work factor it is sealed with (`None`: sealed to an age recipient).
    pub scrypt_log_n: Option<u8>,
}

/// Checks a custodian label: 1 to 32 of `A–Z a–z 0–9 . _ -`, not starting with `.` or `-`.
fn check_label(label: &str) -> CliResult<()> {
    let valid = !label.is_empty()
        && label.len() <= MAX_LABEL
        && !label.starts_with(['.', '-'])
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(CliError::Usage(UsageError::CustodianLabel {
            label: label.to_owned(),
            max: MAX_LABEL,
        }))
    }
}

/// Reads the custody flags of `init`; `None` without `--custodians`. Asks the passphrases
/// of the custodians without a recipient (files first, in order, then the terminal).
pub fn plan(args: &InitArgs) -> CliResult<Option<Plan>> {
    let (Some(custodians), Some(quorum)) = (args.custodians, args.quorum) else {
        return Ok(None);
    };
    // Each is within 2..=MAX_CUSTODIANS (declared in `cli`); the quorum is at most the
    // number of parts.
    if quorum > custodians {
        return Err(CliError::Usage(UsageError::Quorum {
            custodians,
            quorum,
            max: MAX_CUSTODIANS,
        }));
    }
    let labels = labels(args, custodians)?;
    let mut recipients = recipients(args, &labels)?;
    let needing_passphrase = labels
        .iter()
        .filter(|l| !recipients.contains_key(*l))
        .count();
    if args.passphrase_file.len() > needing_passphrase {
        return Err(CliError::Usage(UsageError::CustodianPassphraseFiles {
            given: args.passphrase_file.len(),
            needing: needing_passphrase,
        }));
    }
    let mut files = args.passphrase_file.iter();
    let mut planned = Vec::with_capacity(labels.len());
    for label in labels {
        let sealing = match recipients.remove(&label) {
            Some(recipient) => Sealing::Recipient(recipient),
            None => {
                let (secret, origin) = match files.next() {
                    Some(file) => (
                        passphrase::from_file(file)?,
                        PassphraseOrigin::File(file.clone()),
                    ),
                    None => (
                        passphrase::ask(
                            &format!("the passphrase of custodian {label}'s part"),
                            passphrase::CUSTODY_PART,
                            Confirm::Twice,
                        )?,
                        PassphraseOrigin::Terminal,
                    ),
                };
                passphrase::check_floor(&secret, &origin, args.allow_short_passphrase)?;
                Sealing::Passphrase(secret)
            }
        };
        planned.push((label, sealing));
    }
    Ok(Some(Plan {
        quorum,
        custodians: planned,
    }))
}

/// The custodians' labels: `--custodian-label`, one per custodian, or `custodian-N`;
/// each file-name safe, no two equal ignoring case.
fn labels(args: &InitArgs, custodians: u8) -> CliResult<Vec<String>> {
    let labels: Vec<String> = if args.custodian_labels.is_empty() {
        (1..=custodians).map(|i| format!("custodian-{i}")).collect()
    } else if args.custodian_labels.len() == usize::from(custodians) {
        args.custodian_labels.clone()
    } else {
        return Err(CliError::Usage(UsageError::CustodianLabelCount {
            given: args.custodian_labels.len(),
            custodians,
        }));
    };
    for (i, label) in labels.iter().enumerate() {
        check_label(label)?;
        // Case-insensitive: USB sticks are often FAT, where alice and Alice collide.
        if labels[..i].iter().any(|l| l.eq_ignore_ascii_case(label)) {
            return Err(CliError::Usage(UsageError::CustodianLabelTwice {
                label: label.to_string(),
            }));
        }
    }
    Ok(labels)
}

/// The `--custodian-recipient LABEL=age1…` of the custodians who seal to an age key.
fn recipients(
    args: &InitArgs,
    labels: &[String],
) -> CliResult<BTreeMap<String, age::x25519::Recipient>> {
    let mut recipients: BTreeMap<String, age::x25519::Recipient> = BTreeMap::new();
    for value in &args.custodian_recipients {
        let (label, recipient) = value.split_once('=').ok_or_else(|| {
            CliError::Usage(UsageError::CustodianRecipientSyntax {
                value: value.to_string(),
            })
        })?;
        if !labels.iter().any(|l| l == label) {
            return Err(CliError::Usage(UsageError::CustodianRecipientLabel {
                value: value.to_string(),
                label: label.to_string(),
            }));
        }
        let parsed = age::x25519::Recipient::from_str(recipient.trim()).map_err(|e| {
            CliError::Usage(UsageError::CustodianRecipientInvalid {
                value: value.to_string(),
                reason: e.to_string(),
            })
        })?;
        if recipients.insert(label.to_owned(), parsed).is_some() {
            return Err(CliError::Usage(UsageError::CustodianRecipientTwice {
                label: label.to_string(),
            }));
        }
    }
    Ok(recipients)
}

impl Plan {
    /// Splits `key` and seals each part for its custodian. `key_ids` are the ceremony's
    /// keys: one, or a batch's.
    pub fn seal(
        &self,
        key: &DecryptionKey,
        ceremony_id: &CeremonyId,
        key_ids: &[KeyId],
        log_n: u8,
    ) -> CliResult<(Vec<PartFile>, CustodyFacts)> {
        let labels: Vec<String> = self.custodians.iter().map(|(l, _)| l.clone()).collect();
        let parts = custody::split(key, ceremony_id, key_ids, &labels, self.quorum, &mut OsRng)
            .map_err(|e| CliError::Internal(format!("custody split: {e}")))?;
        let commitments = parts
            .first()
            .map(CustodyPart::commitments_digest)
            .transpose()
            .map_err(|e| CliError::Internal(format!("custody split: {e}")))?;
        let mut files = Vec::with_capacity(parts.len());
        let mut records = Vec::with_capacity(parts.len());
        for (part, (label, sealing)) in parts.iter().zip(&self.custodians) {
            let plaintext = part.to_bytes();
            let (bytes, sealed_with, scrypt_log_n) = match sealing {
                Sealing::Passphrase(pass) => (
                    seal::seal_bytes(&plaintext, pass.clone(), log_n)?,
                    "passphrase".to_owned(),
                    Some(log_n),
                ),
                Sealing::Recipient(recipient) => {
                    let encryptor = age::Encryptor::with_recipients(std::iter::once(
                        recipient as &dyn age::Recipient,
                    ))
                    .map_err(|e| CliError::Internal(format!("age: {e}")))?;
                    (
                        seal::encrypt_to_armor(encryptor, &plaintext)?,
                        recipient.to_string(),
                        None,
                    )
                }
            };
            files.push(PartFile {
                file_name: format!("{label}{PART_SUFFIX}"),
                bytes,
                scrypt_log_n,
            });
            records.push(PartRecord {
                label: label.clone(),
                index: part.index,
                sealed_with,
            });
        }
        let facts = CustodyFacts {
            quorum: Some(self.quorum),
            custodians: u8::try_from(self.custodians.len()).ok(),
            parts: records,
            commitments_sha256: commitments,
            ..CustodyFacts::default()
        };
        Ok((files, facts))
    }

    /// `K of M`, for the summary.
    pub fn describe(&self) -> String {
        format!("{} of {}", self.quorum, self.custodians.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_filename_safe() {
        for good in ["alice", "Bob_2", "c.d-e", "x"] {
            check_label(good).unwrap();
        }
        for bad in ["", ".hidden", "-flag", "a/b", "a b", "ä", &"x".repeat(33)] {
            assert!(check_label(bad).is_err(), "{bad:?}");
        }
    }
}
