//! Quorum custody of the decryption key: `init --custodians M --quorum K`,
//! `reconstruct` with K or more parts, and `custody verify PART`. The key of a batch
//! ceremony is split the same way: its parts name the batch's keys (`keyIds`)
//! instead of one key id, a batch `reconstruct` opens them once for every key and refuses
//! a single-key ceremony's parts by name, and `custody verify` takes a batch request.
//!
//! The math (Shamir split over the secp256k1 scalar field, Feldman commitments, `C_0` =
//! the request's encryption key) is `keyexport_shared::custody`; this module gives it a
//! command line. Each part is its own armored age file `LABEL.decryption-key-part.age`
//! (mode 0600), sealed either with the custodian's passphrase (scrypt, like the whole
//! sealed key) or to the custodian's age X25519 recipient. Nothing is stored outside the
//! seal: the label is in the file name, and the transcript records each part's label,
//! index, sealing and digest, so a custodian without the passphrase learns nothing from
//! the file but its name.
//!
//! `reconstruct` unseals every part it is given (passphrases from repeated
//! `--passphrase-file`, in the order of the passphrase-sealed parts, or asked on the
//! terminal naming each custodian), checks each against its commitments, and sets aside,
//! naming the custodian, any part that does not unseal, was modified, repeats an index,
//! belongs to another ceremony, or carries another commitment set than the parts that
//! agree (a forged part: see `keyexport_shared::custody`). It goes on with K good parts,
//! and otherwise stops with a threshold error that lists what was set aside.
//!
//! The commitment set's digest is recorded at `init` in the request
//! (`custodyCommitmentsSha256`) and the transcript; `custody verify --request` refuses a part
//! whose set is not the request's, and refuses a request that records none (made before
//! the digest existed), since it could not tell a forged part from a genuine one.

//! The part files are this module's: their name, how one is unsealed, how a part of another
//! ceremony is named. [`split`] makes them (`init`), [`verify`] is `custody verify`, and
//! `rebuild::parts` opens K of them for `reconstruct` and `sign`.

pub mod split;
pub mod verify;

use std::io::BufReader;
use std::path::{Path, PathBuf};

use age::armor::ArmoredReader;
use age::secrecy::SecretString;
use keyexport_shared::custody::CustodyPart;

use crate::error::{CliError, CliResult, InputProblem};
use crate::passphrase::{self, Confirm};
use crate::seal;

/// File name suffix of a custody part: `LABEL.decryption-key-part.age`.
pub const PART_SUFFIX: &str = ".decryption-key-part.age";

/// Whether `reconstruct` was given custody parts rather than one sealed key: more than
/// one `--decryption-key`, or a file named like a part.
pub fn is_custody(paths: &[PathBuf]) -> bool {
    paths.len() > 1 || paths.iter().any(|p| part_label_from_name(p).is_some())
}

/// The label in a part's file name, if it is named `LABEL.decryption-key-part.age`.
pub(crate) fn part_label_from_name(path: &Path) -> Option<String> {
    path.file_name()?
        .to_str()?
        .strip_suffix(PART_SUFFIX)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

/// Whose part a file is, for the passphrase prompt: `custodian LABEL's part` when it is
/// named like a part.
pub(crate) fn who(path: &Path) -> String {
    part_label_from_name(path).map_or_else(
        || format!("the custody part {}", path.display()),
        |l| format!("custodian {l}'s part"),
    )
}

/// Why a part could not be opened: fatal for the run, or a reason to set it aside.
pub(crate) enum OpenFailure {
    /// The run cannot go on (an interrupted prompt, an unreadable passphrase file).
    Fatal(CliError),
    /// The passphrase does not open the part: set aside (or, alone, the run's error).
    WrongPassphrase,
    /// The part is set aside, for this reason.
    SetAside(InputProblem),
}

impl From<CliError> for OpenFailure {
    fn from(e: CliError) -> Self {
        match e {
            CliError::WrongPassphrase { .. } => OpenFailure::WrongPassphrase,
            CliError::Input { problem, .. } => OpenFailure::SetAside(problem),
            fatal => OpenFailure::Fatal(fatal),
        }
    }
}

/// Where passphrases for passphrase-sealed parts come from.
pub(crate) struct Passphrases<'a> {
    /// The `--passphrase-file`s not used yet.
    pub(crate) files: std::slice::Iter<'a, PathBuf>,
    /// The files used so far (recorded by path in the transcript).
    pub(crate) used: Vec<&'a Path>,
}

impl<'a> Passphrases<'a> {
    pub(crate) fn new(files: &'a [PathBuf]) -> Self {
        Passphrases {
            files: files.iter(),
            used: Vec::new(),
        }
    }

    pub(crate) fn next(&mut self, who: &str) -> CliResult<SecretString> {
        match self.files.next() {
            Some(file) => {
                self.used.push(file);
                passphrase::from_file(file)
            }
            None => passphrase::ask(
                &format!("the passphrase of {who}"),
                passphrase::CUSTODY_PART,
                Confirm::Once,
            ),
        }
    }
}

/// Reads age identity files (X25519 `AGE-SECRET-KEY-1…` lines).
pub(crate) fn load_identities(
    paths: &[PathBuf],
) -> CliResult<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let mut all = Vec::new();
    for path in paths {
        let label = path.display().to_string();
        let bytes = crate::inputs::read_secret(path)?;
        let file = age::IdentityFile::from_buffer(BufReader::new(&bytes[..])).map_err(|e| {
            CliError::Input {
                path: label.clone(),
                problem: InputProblem::IdentityFileUnreadable {
                    reason: e.to_string(),
                },
            }
        })?;
        all.extend(file.into_identities().map_err(|e| CliError::Input {
            path: label.clone(),
            problem: InputProblem::IdentityUnusable {
                reason: e.to_string(),
            },
        })?);
    }
    Ok(all)
}

/// Unseals one part file and parses it (no check against commitments yet).
pub(crate) fn open_part(
    bytes: &[u8],
    path: &str,
    who: &str,
    passphrases: &mut Passphrases<'_>,
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<CustodyPart, OpenFailure> {
    let decryptor = age::Decryptor::new(ArmoredReader::new(bytes)).map_err(|e| {
        OpenFailure::SetAside(InputProblem::NotAge {
            reason: e.to_string(),
        })
    })?;
    let plaintext = if decryptor.is_scrypt() {
        let pass = passphrases.next(who).map_err(OpenFailure::Fatal)?;
        seal::unseal_bytes(bytes, pass, path)?
    } else {
        if identities.is_empty() {
            return Err(OpenFailure::SetAside(InputProblem::PartNeedsIdentity));
        }
        let reader = decryptor
            .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|_| OpenFailure::SetAside(InputProblem::PartNotForIdentities))?;
        seal::read_plaintext(reader, bytes.len()).map_err(|e| {
            OpenFailure::SetAside(InputProblem::PartPayloadUnreadable {
                reason: e.to_string(),
            })
        })?
    };
    CustodyPart::from_bytes(&plaintext).map_err(|e| {
        OpenFailure::SetAside(InputProblem::NotCustodyPart {
            reason: e.to_string(),
        })
    })
}

/// How a part of another ceremony is named: its ceremony id, and for a batch's part what
/// it exports (a single-key part keeps the bare id, as before batches).
pub(crate) fn foreign_name(part: &CustodyPart) -> String {
    if part.is_batch() {
        format!("{}, {}", part.ceremony_id, part.describe_keys())
    } else {
        part.ceremony_id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_give_their_label() {
        assert_eq!(
            part_label_from_name(Path::new("/m/alice.decryption-key-part.age")).as_deref(),
            Some("alice")
        );
        assert_eq!(part_label_from_name(Path::new("decryption-key.age")), None);
        assert!(!is_custody(&[PathBuf::from("decryption-key.age")]));
        assert!(is_custody(&[PathBuf::from("a"), PathBuf::from("b")]));
    }
}
