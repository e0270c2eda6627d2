//! Delivering the rebuilt private key: the file formats of `reconstruct --out`.
//!
//! - `hex`: 64 hex digits (big-endian scalar) and a newline.
//! - `wif`: compressed Wallet Import Format (secp256k1), see [`wif`].
//! - `eth-keystore`: Ethereum keystore v3 JSON (secp256k1), see [`keystore`].
//!
//! Any of them can be wrapped for age recipients with `--encrypt-to` ([`recipient`]).
//! Files are written once, atomically, mode 0600, never over an existing file.

pub mod keystore;
pub mod recipient;
pub mod wif;

use age::secrecy::SecretString;
use keyexport_shared::scheme::Curve;
use zeroize::Zeroizing;

use crate::cli::{KeyFormat, Network};

/// Everything needed to render the key in the chosen format.
pub struct Rendering<'a> {
    /// The format.
    pub format: KeyFormat,
    /// Network for WIF.
    pub network: Network,
    /// Passphrase for the keystore (present iff the format is `eth-keystore`).
    pub keystore_passphrase: Option<&'a SecretString>,
    /// scrypt work factor of the keystore.
    pub keystore_log_n: u8,
}

impl Rendering<'_> {
    /// The scrypt work factor the output is sealed with: the keystore's, `None` otherwise.
    pub fn scrypt_log_n(&self) -> Option<u8> {
        (self.format == KeyFormat::EthKeystore).then_some(self.keystore_log_n)
    }
}

/// Renders `key` (big-endian scalar of a secp256k1 key for `wif` and `eth-keystore`).
pub fn render(key: &[u8; 32], how: &Rendering<'_>) -> crate::error::CliResult<Zeroizing<Vec<u8>>> {
    match how.format {
        KeyFormat::Hex => {
            let mut out = Zeroizing::new(vec![0u8; 65]);
            hex::encode_to_slice(key, &mut out[..64])
                .expect("32 bytes encode to exactly 64 hex digits");
            out[64] = b'\n';
            Ok(out)
        }
        KeyFormat::Wif => {
            let text = wif::encode(key, how.network);
            let mut out = Zeroizing::new(Vec::with_capacity(text.len() + 1));
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
            Ok(out)
        }
        KeyFormat::EthKeystore => {
            let passphrase = how.keystore_passphrase.ok_or_else(|| {
                crate::error::CliError::Internal("keystore passphrase missing".into())
            })?;
            keystore::encrypt(key, passphrase, how.keystore_log_n).map(Zeroizing::new)
        }
    }
}

/// Whether `format` can hold a key of `curve`.
pub fn supports_curve(format: KeyFormat, curve: Curve) -> bool {
    match format {
        KeyFormat::Hex => true,
        KeyFormat::Wif | KeyFormat::EthKeystore => curve == Curve::Secp256k1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_one_line() {
        let mut key = [0u8; 32];
        key[0] = 0xab;
        key[31] = 0x01;
        let how = Rendering {
            format: KeyFormat::Hex,
            network: Network::Mainnet,
            keystore_passphrase: None,
            keystore_log_n: 2,
        };
        let out = render(&key, &how).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            format!("ab{}01\n", "00".repeat(30))
        );
    }

    #[test]
    fn wallet_formats_are_secp256k1_only() {
        assert!(supports_curve(KeyFormat::Hex, Curve::Ed25519));
        assert!(supports_curve(KeyFormat::Wif, Curve::Secp256k1));
        assert!(!supports_curve(KeyFormat::Wif, Curve::Stark));
        assert!(!supports_curve(KeyFormat::EthKeystore, Curve::Ed25519));
    }
}
