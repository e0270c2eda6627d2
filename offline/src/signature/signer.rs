//! [`sign`] and [`check_message`]: the one entry to the schemes, which refuses what does
//! not fit before signing and returns only a signature that verifies.

use keyexport_shared::curve::{PrivateKey, PublicKey};

use super::{
    SignError, SignScheme, SignedMessage, digest32, ed25519, key_mismatch, secp256k1, stark,
};

/// Checks that `message` is something `scheme` signs (see the module documentation), so a
/// caller can refuse it before opening any key.
pub fn check_message(scheme: SignScheme, message: &[u8]) -> Result<(), SignError> {
    match scheme {
        SignScheme::EcdsaSecp256k1 | SignScheme::Bip340 | SignScheme::Bip340Taproot => {
            digest32(scheme, message).map(|_| ())
        }
        SignScheme::StarkEcdsa => stark::message_bytes(message).map(|_| ()),
        SignScheme::Ed25519 => Ok(()),
    }
}

/// Signs `message` with `key` under `scheme` and returns the signature once it verifies
/// against `public_key`.
///
/// Refuses, before any signing: a scheme of another curve than the key's or the public
/// key's; `recoverable` for a scheme other than ecdsa-secp256k1; a key that does not
/// generate `public_key` (checked by the shared library and again by the signing library's
/// own key derivation); a message the scheme cannot sign (see the module documentation).
pub fn sign(
    key: &PrivateKey,
    public_key: &PublicKey,
    scheme: SignScheme,
    message: &[u8],
    recoverable: bool,
) -> Result<SignedMessage, SignError> {
    let expected = scheme.curve();
    for actual in [key.curve(), public_key.curve()] {
        if actual != expected {
            return Err(SignError::CurveMismatch {
                scheme,
                expected,
                actual,
            });
        }
    }
    if recoverable && scheme != SignScheme::EcdsaSecp256k1 {
        return Err(SignError::RecoveryUnsupported { scheme });
    }
    // The same check `reconstruct` and `--key` loading make: the full point, parity included.
    PrivateKey::from_be_bytes_verified(public_key, key.to_be_bytes())
        .map_err(|_| key_mismatch(public_key))?;
    let made = match scheme {
        SignScheme::EcdsaSecp256k1 => secp256k1::ecdsa(key, public_key, message, recoverable)?,
        SignScheme::Bip340 => secp256k1::bip340(key, public_key, message, secp256k1::Tweak::None)?,
        SignScheme::Bip340Taproot => {
            secp256k1::bip340(key, public_key, message, secp256k1::Tweak::TaprootKeyPath)?
        }
        SignScheme::Ed25519 => ed25519::sign(key, public_key, message)?,
        SignScheme::StarkEcdsa => stark::sign(key, public_key, message)?,
    };
    Ok(SignedMessage {
        scheme,
        public_key: public_key.clone(),
        verifying_key: made.verifying_key,
        digest: made.digest,
        signature: made.signature,
    })
}
