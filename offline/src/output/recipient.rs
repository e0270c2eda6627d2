//! `--encrypt-to age1…`: the key file is age-encrypted to X25519 recipients (ASCII armor).
//!
//! Recipients are parsed before anything secret is touched, so a typo fails early. The
//! result decrypts with the reference `age`/`rage` CLI and the recipient's identity.

use std::str::FromStr;

use crate::error::{CliError, CliResult, UsageError};
use crate::seal;

/// Parsed, validated recipients.
pub struct Recipients(Vec<age::x25519::Recipient>);

impl Recipients {
    /// Parses `age1…` strings; the error names the offending one (public data).
    pub fn parse(values: &[String]) -> CliResult<Self> {
        values
            .iter()
            .map(|value| {
                age::x25519::Recipient::from_str(value.trim()).map_err(|e| {
                    CliError::Usage(UsageError::EncryptTo {
                        value: value.to_string(),
                        reason: e.to_string(),
                    })
                })
            })
            .collect::<CliResult<Vec<_>>>()
            .map(Recipients)
    }

    /// Whether no recipient was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Encrypts `plaintext` to every recipient; returns armored age.
    pub fn encrypt(&self, plaintext: &[u8]) -> CliResult<Vec<u8>> {
        let encryptor =
            age::Encryptor::with_recipients(self.0.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| CliError::Internal(format!("age: {e}")))?;
        seal::encrypt_to_armor(encryptor, plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trip_with_identity() {
        let identity = age::x25519::Identity::generate();
        let recipients = Recipients::parse(&[identity.to_public().to_string()]).unwrap();
        let sealed = recipients.encrypt(b"secret key text\n").unwrap();
        let decryptor = age::Decryptor::new(age::armor::ArmoredReader::new(&sealed[..])).unwrap();
        let mut out = Vec::new();
        decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"secret key text\n");
    }

    #[test]
    fn bad_recipient_is_a_usage_error() {
        let err = Recipients::parse(&["age1notakey".to_owned()])
            .err()
            .unwrap();
        assert!(err.to_string().contains("age1notakey"));
        assert_eq!(err.exit_code(), crate::exit::EXIT_USAGE);
    }
}
