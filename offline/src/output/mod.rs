//! Delivering the rebuilt private key: the file formats of `reconstruct --out`.
//!
//! - `hex`: 64 hex digits (big-endian scalar) and a newline.
//! - `wif`: compressed Wallet Import Format (secp256k1), see [`wif`].
//! - `eth-keystore`: Ethereum keystore v3 JSON (secp256k1), see [`keystore`].
//! - `xprv`: BIP-32 extended private key of an HD root (secp256k1 with a chain code), one
//!   line (`tprv` on testnet).
//!
//! Any of them can be wrapped for age recipients with `--encrypt-to` ([`recipient`]).
//! Files are written once, atomically, mode 0600, never over an existing file.

pub mod file;
pub mod keystore;
pub mod recipient;
pub mod wif;

use age::secrecy::SecretString;
use keyexport_shared::chain_code::ChainCode;
use keyexport_shared::curve::PrivateKey;
use keyexport_shared::hd;
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

/// Renders `private_key` (a secp256k1 key for `wif`, `eth-keystore` and `xprv`; `xprv` also
/// needs the chain code).
pub fn render(
    private_key: &PrivateKey,
    chain_code: Option<&ChainCode>,
    how: &Rendering<'_>,
) -> crate::error::CliResult<Zeroizing<Vec<u8>>> {
    let key = private_key.to_be_bytes();
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
        KeyFormat::Xprv => {
            let chain_code = chain_code.ok_or_else(|| crate::error::CliError::NoChainCode {
                what: "--format xprv".into(),
            })?;
            let text = hd::xprv(private_key, chain_code, crate::hd::network(how.network)).map_err(
                |e| {
                    crate::error::CliError::Usage(crate::error::UsageError::Xprv {
                        reason: e.to_string(),
                    })
                },
            )?;
            let mut out = Zeroizing::new(Vec::with_capacity(text.len() + 1));
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
            Ok(out)
        }
    }
}

/// Whether `format` can hold a key of `curve`.
pub fn supports_curve(format: KeyFormat, curve: Curve) -> bool {
    match format {
        KeyFormat::Hex => true,
        KeyFormat::Wif | KeyFormat::EthKeystore | KeyFormat::Xprv => curve == Curve::Secp256k1,
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
        let secret = k256::SecretKey::from_slice(&key).unwrap();
        let public = keyexport_shared::curve::PublicKey::from_bytes(
            Curve::Secp256k1,
            &secret.public_key().to_sec1_bytes(),
        )
        .unwrap();
        let private = PrivateKey::from_be_bytes_verified(&public, &key).unwrap();
        let out = render(&private, None, &how).unwrap();
        // An xprv needs the chain code of an HD root.
        let xprv = Rendering {
            format: KeyFormat::Xprv,
            ..how
        };
        assert!(matches!(
            render(&private, None, &xprv),
            Err(crate::error::CliError::NoChainCode { .. })
        ));
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
        assert!(!supports_curve(KeyFormat::Xprv, Curve::Stark));
    }
}
