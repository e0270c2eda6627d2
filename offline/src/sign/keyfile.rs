//! `sign --key FILE`: loading a key that `reconstruct --out` wrote, and checking it against
//! the export's public key before anything is signed.
//!
//! Accepted contents: `--format hex` (64 hex digits, big-endian scalar) and `--format wif`
//! (compressed WIF, secp256k1), either as written or age-encrypted by `--encrypt-to`
//! (armored or binary age). An encrypted file is opened with the age identities given by
//! `--identity` (files as `age-keygen` writes them: `AGE-SECRET-KEY-1…` lines and comments),
//! like `age --decrypt -i`. An identity file that is itself passphrase-encrypted (`age -p`,
//! as the age documentation recommends for identities at rest) is opened first, with the
//! passphrase from `--identity-passphrase-file` or typed on the terminal, as `age` does,
//! through the sealed key's own path ([`seal::unseal_bytes`]: same refusals, same cap on
//! the scrypt work factor).
//! Ethereum keystores and passphrase-encrypted key files are refused with what to do instead.
//!
//! Every secret (file bytes, decrypted text, identities, scalar) is held in wiped memory,
//! read into buffers allocated once so no copy is left behind by a reallocation; errors
//! name the file, never its content.

use std::path::{Path, PathBuf};

use age::armor::ArmoredReader;
use keyexport_shared::curve::{PrivateKey, PublicKey};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult, InputProblem, UsageError};
use crate::inputs::read_secret;
use crate::output::wif;
use crate::passphrase::{self, Confirm, Purpose};
use crate::seal;
use crate::transcript::{ArtifactRecord, Entry};

/// The passphrase of a passphrase-encrypted age identity file.
const IDENTITY_PASSPHRASE: Purpose = Purpose {
    what: "the passphrase of the age identity file",
    flag: "identity-passphrase-file",
};

/// How the key file was stored (shown on standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// 64 hex digits.
    Hex,
    /// Compressed WIF.
    Wif,
}

impl Stored {
    /// The `reconstruct --format` name.
    pub fn name(self) -> &'static str {
        match self {
            Stored::Hex => "hex",
            Stored::Wif => "wif",
        }
    }
}

/// A key loaded from a file and verified against the public key.
pub struct LoadedKey {
    /// The key.
    pub key: PrivateKey,
    /// Its format.
    pub stored: Stored,
    /// Whether the file was age-encrypted.
    pub encrypted: bool,
}

/// Where the key file is and what opens it.
pub struct KeyFile<'a> {
    /// The key file.
    pub path: &'a Path,
    /// age identity files.
    pub identities: &'a [PathBuf],
    /// Passphrase file of passphrase-encrypted identity files.
    pub identity_passphrase_file: Option<&'a Path>,
}

/// Reads, decrypts if needed, parses and verifies the key file against `public_key`.
pub fn load(file: &KeyFile<'_>, public_key: &PublicKey, entry: &mut Entry) -> CliResult<LoadedKey> {
    let label = file.path.display().to_string();
    let bytes = read_secret(file.path)?;
    entry
        .inputs
        .push(ArtifactRecord::new("key-file", &label, &bytes));
    let encrypted = seal::is_age_file(&bytes);
    let text = if encrypted {
        decrypt(&bytes, file, &label, entry)?
    } else {
        bytes
    };
    let (scalar, stored) = parse(&text, &label)?;
    let key = PrivateKey::from_be_bytes_verified(public_key, &scalar).map_err(|_| {
        CliError::KeyFileMismatch {
            path: label.clone(),
            public_key: public_key.to_hex(),
        }
    })?;
    Ok(LoadedKey {
        key,
        stored,
        encrypted,
    })
}

/// Decrypts an age-encrypted key file with the `--identity` files.
fn decrypt(
    bytes: &[u8],
    file: &KeyFile<'_>,
    label: &str,
    entry: &mut Entry,
) -> CliResult<Zeroizing<Vec<u8>>> {
    let decryptor =
        age::Decryptor::new(ArmoredReader::new(bytes)).map_err(|e| CliError::Input {
            path: label.to_owned(),
            problem: InputProblem::NotAge {
                reason: e.to_string(),
            },
        })?;
    if decryptor.is_scrypt() {
        return Err(CliError::Input {
            path: label.to_owned(),
            problem: InputProblem::SealedWithPassphrase,
        });
    }
    if file.identities.is_empty() {
        return Err(CliError::Usage(UsageError::KeyNeedsIdentity {
            label: label.to_owned(),
        }));
    }
    let mut identities: Vec<Box<dyn age::Identity + Send + Sync>> = Vec::new();
    for path in file.identities {
        identities.extend(identities_in(path, file.identity_passphrase_file, entry)?);
    }
    let reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => CliError::Input {
                path: label.to_owned(),
                problem: InputProblem::NoIdentityOpens,
            },
            other => CliError::Input {
                path: label.to_owned(),
                problem: InputProblem::CannotDecrypt {
                    reason: other.to_string(),
                },
            },
        })?;
    seal::read_plaintext(reader, bytes.len()).map_err(|e| CliError::Input {
        path: label.to_owned(),
        problem: InputProblem::CannotDecrypt {
            reason: e.to_string(),
        },
    })
}

/// The identities of an identity file, opening it with a passphrase if it is encrypted.
fn identities_in(
    path: &Path,
    passphrase_file: Option<&Path>,
    entry: &mut Entry,
) -> CliResult<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let label = path.display().to_string();
    let bytes = read_secret(path)?;
    let plain = if seal::is_age_file(&bytes) {
        if let Some(file) = passphrase_file {
            entry.inputs.push(ArtifactRecord::passphrase_file(file));
        }
        let passphrase = passphrase::obtain(passphrase_file, IDENTITY_PASSPHRASE, Confirm::Once)?;
        seal::unseal_bytes(&bytes, passphrase, &label)?
    } else {
        bytes
    };
    let not_identities = || CliError::Input {
        path: label.clone(),
        problem: InputProblem::NotIdentityFile,
    };
    let identities = age::IdentityFile::from_buffer(&plain[..])
        .map_err(|_| not_identities())?
        .into_identities()
        .map_err(|_| not_identities())?;
    if identities.is_empty() {
        return Err(not_identities());
    }
    Ok(identities)
}

/// The scalar of a `hex` or `wif` key file.
fn parse(text: &[u8], label: &str) -> CliResult<(Zeroizing<[u8; 32]>, Stored)> {
    let problem = |problem: InputProblem| CliError::Input {
        path: label.to_owned(),
        problem,
    };
    let text = std::str::from_utf8(text)
        .map_err(|_| problem(InputProblem::KeyFileNotText))?
        .trim();
    if text.starts_with('{') {
        return Err(problem(InputProblem::KeyFileIsKeystore));
    }
    let mut scalar = Zeroizing::new([0u8; 32]);
    if text.len() == 64 && hex::decode_to_slice(text, &mut scalar[..]).is_ok() {
        return Ok((scalar, Stored::Hex));
    }
    if let Some((decoded, _network)) = wif::decode(text) {
        return Ok((decoded, Stored::Wif));
    }
    Err(problem(InputProblem::KeyFileUnknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_wif_parse_to_the_same_scalar() {
        let hex = "0c28fca386c7a227600b2fe50b7cae11ec86d3bf1fbe471be89827e19d72aa1d";
        let (scalar, stored) = parse(format!("{hex}\n").as_bytes(), "k").unwrap();
        assert_eq!(stored, Stored::Hex);
        assert_eq!(hex::encode(*scalar), hex);
        // The WIF of the same key (Bitcoin wiki, compressed).
        let wif = "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617";
        let (scalar, stored) = parse(wif.as_bytes(), "k").unwrap();
        assert_eq!(stored, Stored::Wif);
        assert_eq!(hex::encode(*scalar), hex);
    }

    #[test]
    fn other_contents_are_refused_without_echo() {
        for text in [
            &b"{\"crypto\":{}}"[..],
            b"0c28fca386c7a227600b2fe50b7cae11ec86d3bf1fbe471be89827e19d72aa",
            b"\xff\xfe",
        ] {
            let err = parse(text, "k").unwrap_err();
            assert!(matches!(err, CliError::Input { .. }), "{err}");
            assert!(!err.to_string().contains("0c28fca3"), "{err}");
        }
    }
}
