//! The decryption key of a ceremony, from wherever the operator keeps it: the key sealed
//! by `init` (age, scrypt), a plain `01<64 hex>` file (warned about), or the custody parts
//! of a split key ([`super::parts`]).

use std::path::{Path, PathBuf};

use keyexport_shared::keys::DecryptionKey;
use zeroize::Zeroizing;

use crate::custody;
use crate::error::{CliError, CliResult, InputProblem, UsageError};
use crate::passphrase::{self, Confirm};
use crate::render;
use crate::seal;
use crate::transcript::{ArtifactRecord, Entry};

/// Where the decryption key comes from, as the command line named it.
#[derive(Debug, Clone, Copy)]
pub enum KeySource<'a> {
    /// One file: the key sealed by `init`, or a plain Dfns hex key; the file holding the
    /// sealed key's passphrase, if given (otherwise it is asked on the terminal).
    Sealed {
        path: &'a Path,
        passphrase_file: Option<&'a Path>,
    },
    /// The custody parts of a split key (at least the quorum), the files holding the
    /// passphrases of the passphrase-sealed parts in their order, and the age identities
    /// opening the parts sealed to a recipient.
    Parts {
        parts: &'a [PathBuf],
        passphrase_files: &'a [PathBuf],
        identities: &'a [PathBuf],
    },
}

impl<'a> KeySource<'a> {
    /// Reads the flags `reconstruct` and `sign` share: custody parts when more than one
    /// `--decryption-key` is given or a file is named like a part, one sealed key otherwise.
    pub fn from_flags(
        decryption_key: &'a [PathBuf],
        passphrase_file: &'a [PathBuf],
        identity: &'a [PathBuf],
    ) -> CliResult<Self> {
        if custody::is_custody(decryption_key) {
            return Ok(KeySource::Parts {
                parts: decryption_key,
                passphrase_files: passphrase_file,
                identities: identity,
            });
        }
        if passphrase_file.len() > 1 {
            return Err(CliError::Usage(UsageError::PassphraseFileRepeated));
        }
        let [path] = decryption_key else {
            return Err(CliError::Usage(UsageError::DecryptionKeyRequired));
        };
        Ok(KeySource::Sealed {
            path,
            passphrase_file: passphrase_file.first().map(PathBuf::as_path),
        })
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

/// Opens one sealed key (asking its passphrase) or reads a plain one (with a loud warning).
pub(super) fn open_sealed(
    key_path: &Path,
    passphrase_file: Option<&Path>,
    entry: &mut Entry,
) -> CliResult<OpenedKey> {
    let label = key_path.display().to_string();
    let bytes = Zeroizing::new(crate::inputs::read_input(
        &label,
        key_path,
        keyexport_shared::input::DOCUMENT,
    )?);
    entry
        .inputs
        .push(ArtifactRecord::new("decryption-key", &label, &bytes));
    if seal::is_age_file(&bytes) {
        if let Some(path) = passphrase_file {
            entry.inputs.push(ArtifactRecord::passphrase_file(path));
        }
        let passphrase =
            passphrase::obtain(passphrase_file, passphrase::SEALED_KEY, Confirm::Once)?;
        let payload = seal::unseal(&bytes, passphrase, &label)?;
        let key =
            DecryptionKey::from_dfns_hex(&payload.decryption_key).map_err(|_| CliError::Input {
                path: label.clone(),
                problem: InputProblem::SealedNotDfnsKey,
            })?;
        // A batch key names no single key id: its ceremony id is what binds the response.
        return Ok(OpenedKey {
            key,
            ceremony_id: Some(payload.ceremony_id.clone()),
            key_id: payload.key_ids.is_empty().then(|| payload.key_id.clone()),
            files: vec![key_path.to_path_buf()],
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
        files: vec![key_path.to_path_buf()],
        key_ids: Vec::new(),
    })
}

fn not_a_key(label: &str) -> CliError {
    CliError::Input {
        path: label.to_owned(),
        problem: InputProblem::NotADecryptionKey,
    }
}
