//! The chain code of an HD key (spec §4a).
//!
//! Current Dfns share documents carry `"chain_code"`: `null` for an ordinary key, and for
//! a key that is the root of an HD tree 32 bytes in standard base64. With the private key
//! the chain code is the root of the HD tree; with any non-hardened child private key it
//! reveals the root. So it is treated like a secret: wiped memory, never printed by
//! `Debug`, shown only where the user asked for the key itself.

use std::fmt;

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose::STANDARD as BASE64_PADDED};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The standard alphabet, padding optional: how Dfns' reference reads the field
/// (`serde_with`'s `Base64` decoder ignores padding). Dfns writes it padded.
const READER: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The 32-byte chain code of an HD root key. Wiped on drop; `Debug` shows no byte.
#[derive(Clone)]
pub struct ChainCode(Zeroizing<[u8; 32]>);

/// Why a `chain_code` text is not a chain code (never quotes the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCodeError {
    /// Not standard base64.
    NotBase64,
    /// Base64 of another length than 32 bytes.
    Length(usize),
}

impl fmt::Display for ChainCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainCodeError::NotBase64 => {
                f.write_str("chain_code is not standard base64 (expected 32 bytes)")
            }
            ChainCodeError::Length(n) => {
                write!(f, "chain_code holds {n} bytes, expected 32")
            }
        }
    }
}

impl ChainCode {
    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ChainCode {
        ChainCode(Zeroizing::new(bytes))
    }

    /// Reads the share document's text: standard base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<ChainCode, ChainCodeError> {
        let decoded = Zeroizing::new(READER.decode(text).map_err(|_| ChainCodeError::NotBase64)?);
        let mut bytes = Zeroizing::new([0u8; 32]);
        if decoded.len() != bytes.len() {
            return Err(ChainCodeError::Length(decoded.len()));
        }
        bytes.copy_from_slice(&decoded);
        Ok(ChainCode(bytes))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex characters, in memory that is wiped after use.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_slice()))
    }

    /// Standard base64 with padding, as Dfns writes it in a share document.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64_PADDED.encode(self.0.as_slice()))
    }
}

impl PartialEq for ChainCode {
    fn eq(&self, other: &ChainCode) -> bool {
        self.0.ct_eq(&*other.0).into()
    }
}

impl Eq for ChainCode {}

impl fmt::Debug for ChainCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainCode(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "VZd2AJpthiqtBJIeKf3lvXLv9wF8LcnBSzkosyWpN6c=";

    #[test]
    fn reads_padded_and_unpadded_standard_base64_of_32_bytes() {
        let code = ChainCode::from_base64(CODE).unwrap();
        assert_eq!(
            code.to_hex().as_str(),
            "559776009a6d862aad04921e29fde5bd72eff7017c2dc9c14b3928b325a937a7"
        );
        assert_eq!(code.to_base64().as_str(), CODE);
        assert_eq!(
            ChainCode::from_base64(CODE.trim_end_matches('=')).unwrap(),
            code
        );
        assert_eq!(format!("{code:?}"), "ChainCode(<secret>)");
    }

    #[test]
    fn refuses_other_lengths_and_alphabets() {
        let b31 = BASE64_PADDED.encode([7u8; 31]);
        let b33 = BASE64_PADDED.encode([7u8; 33]);
        assert_eq!(
            ChainCode::from_base64(&b31).unwrap_err(),
            ChainCodeError::Length(31)
        );
        assert_eq!(
            ChainCode::from_base64(&b33).unwrap_err(),
            ChainCodeError::Length(33)
        );
        for bad in [
            "",
            "not base64!",
            &CODE.replacen('V', "-", 1),
            "VZd2AJpthiqtBJIeKf3lvXLv9wF8LcnBSzkosyWpN6d=",
        ] {
            assert!(ChainCode::from_base64(bad).is_err(), "{bad:?}");
        }
        // An empty string decodes to zero bytes: a length error, not a chain code.
        assert_eq!(
            ChainCode::from_base64("").unwrap_err(),
            ChainCodeError::Length(0)
        );
    }
}
