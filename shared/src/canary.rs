//! The canary ceremony's receipt: proof, carried from the offline machine to the online
//! one, that this ceremony's sealed decryption key rebuilt the throwaway canary key.
//!
//! Before the irreversible export of the real key, the online side creates a throwaway
//! key (the canary, named [`canary_key_name`]) and exports it with the ceremony's
//! request; the offline side rebuilds and verifies it like any key and signs a receipt
//! with it. The online side checks the receipt from public data only (the canary's
//! public key, from the canary export it saved) before it touches the real key.
//!
//! # What is signed
//!
//! ```text
//! preimage = "keyexport canary receipt v1" ‖ 0x00
//!            ‖ len(ceremonyId) ‖ ceremonyId ‖ len(canaryKeyId) ‖ canaryKeyId
//! message  = SHA-256(preimage)           (lengths: one byte each; ids are ASCII)
//! ```
//!
//! The tag makes the signature useless for anything but a receipt of this version; the
//! lengths make the encoding unambiguous. Each curve signs the 32-byte `message` with the
//! scheme `keyexport-offline sign` names the same way ([`ReceiptSignature`]):
//! `ecdsa-secp256k1` (k256, `r ‖ s`, low-S only) for every secp256k1 key (ECDSA, Schnorr
//! and DH keys alike: it is a key on the curve), `ed25519` (ed25519-dalek,
//! `verify_strict`) and, for stark, `stark-ecdsa` (starknet-crypto, Starknet's ECDSA).
//! Starknet signs field elements below 2^251, so for stark the top five bits of
//! `message` are cleared; Starknet verifies against the x coordinate of the key, so the
//! receipt's full 33-byte key is compared with the exported canary's besides.
//!
//! # The document
//!
//! `canary-receipt.json` (and the same bytes as QR codes in `canary-receipt.png`):
//! `kind` `keyexport-canary-receipt`, `version` 1, `ceremonyId`, `canaryKeyId`,
//! `protocol`, `curve`, `publicKey` (hex, as the canary export announced it),
//! `signatureScheme` and `signature` (128 lowercase hex digits). A field this version
//! does not know is reported ([`CanaryReceipt::unknown_fields`]), never fatal.
//!
//! # Checks, in order
//!
//! [`CanaryReceipt::verify`] first checks the signature over the receipt's own claims
//! under the key it names (a receipt altered after signing fails here:
//! [`CanaryError::SignatureInvalid`]), then compares the claims with the canary this
//! ceremony exported: another ceremony ([`CanaryError::ForeignCeremony`]), another
//! canary key ([`CanaryError::ForeignCanaryKey`]), or a receipt signed by a key that is
//! not the canary ([`CanaryError::NotTheCanary`], a forgery).

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::curve::PublicKey;
use crate::files::{CeremonyId, KeyId, ResponseFile};
use crate::scheme::{Curve, Protocol};
use crate::transport::{self, FrameOptions, TransportError, UrFrame};

/// `kind` of a canary receipt.
pub const RECEIPT_KIND: &str = "keyexport-canary-receipt";
/// The receipt format version this tool writes and reads.
pub const RECEIPT_VERSION: u32 = 1;
/// The receipt's file name in the ceremony folder.
pub const RECEIPT_FILE_NAME: &str = "canary-receipt.json";
/// The receipt's QR image in the ceremony folder.
pub const RECEIPT_PNG_NAME: &str = "canary-receipt.png";
/// The folder, inside `submit --out`, that holds the canary's response and its frames.
pub const CANARY_RESPONSE_FOLDER: &str = "canary";

/// The domain-separation tag at the start of the signed preimage.
const SIGNATURE_TAG: &[u8] = b"keyexport canary receipt v1";

/// The fields of version 1, in the order they are written.
const FIELDS: [&str; 9] = [
    "kind",
    "version",
    "ceremonyId",
    "canaryKeyId",
    "protocol",
    "curve",
    "publicKey",
    "signatureScheme",
    "signature",
];

/// Payload bytes per QR code of the receipt's sheet (a receipt is about 450 bytes: two
/// mid-sized codes, as easy to read as the request's).
const SHEET_FRAGMENT_LEN: usize = 400;
/// Codes per row of the receipt's sheet.
const SHEET_COLUMNS: u32 = 3;
/// White gap between codes of the sheet, in pixels.
const SHEET_GAP_PX: u32 = 24;

/// The name the online side gives the throwaway key it creates (`POST /keys`, `name`):
/// it says what the key is to anyone who finds it in the Dfns dashboard.
pub fn canary_key_name(ceremony_id: &CeremonyId) -> String {
    format!("keyexport canary {ceremony_id}")
}

/// The signature scheme a receipt is signed with, by curve. The names are those of
/// `keyexport-offline sign --scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiptSignature {
    /// ECDSA over secp256k1 of the 32-byte message as a prehash, `r ‖ s`, low-S.
    EcdsaSecp256k1,
    /// Ed25519 (RFC 8032) of the 32-byte message.
    Ed25519,
    /// Starknet ECDSA of the message as a field element (top five bits cleared), `r ‖ s`.
    StarkEcdsa,
}

impl ReceiptSignature {
    /// The scheme for keys on `curve`.
    pub fn for_curve(curve: Curve) -> ReceiptSignature {
        match curve {
            Curve::Secp256k1 => ReceiptSignature::EcdsaSecp256k1,
            Curve::Ed25519 => ReceiptSignature::Ed25519,
            Curve::Stark => ReceiptSignature::StarkEcdsa,
        }
    }

    /// The name, as `keyexport-offline sign --scheme` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptSignature::EcdsaSecp256k1 => "ecdsa-secp256k1",
            ReceiptSignature::Ed25519 => "ed25519",
            ReceiptSignature::StarkEcdsa => "stark-ecdsa",
        }
    }
}

impl fmt::Display for ReceiptSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The 32 bytes a receipt for `canary_key_id` in `ceremony_id` signs on `curve` (see the
/// module documentation).
pub fn signed_message(ceremony_id: &CeremonyId, canary_key_id: &KeyId, curve: Curve) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(SIGNATURE_TAG);
    hash.update([0u8]);
    for id in [ceremony_id.as_str(), canary_key_id.as_str()] {
        // Both ids are validated ASCII of at most 128 bytes.
        hash.update([u8::try_from(id.len()).unwrap_or(u8::MAX)]);
        hash.update(id.as_bytes());
    }
    let mut message: [u8; 32] = hash.finalize().into();
    if curve == Curve::Stark {
        message[0] &= 0x07;
    }
    message
}

/// Why a receipt is refused. Each variant says which check failed; none carries secrets
/// (a receipt holds none).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanaryError {
    /// Not a canary receipt of this version, or a field is malformed.
    #[error("the canary receipt is not valid: {reason}")]
    Format {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The signature does not verify under the public key the receipt names: the
    /// receipt was altered after it was signed, or its signature was never made by that
    /// key.
    #[error(
        "the canary receipt's signature does not verify under the public key it names: it \
         was altered after it was signed, or that key never signed it"
    )]
    SignatureInvalid,
    /// A valid receipt of another ceremony.
    #[error("the canary receipt belongs to ceremony {found}, not to this ceremony ({expected})")]
    ForeignCeremony {
        /// This ceremony.
        expected: CeremonyId,
        /// The receipt's.
        found: CeremonyId,
    },
    /// A valid receipt for another canary key.
    #[error(
        "the canary receipt is for the key {found}, not for the canary this ceremony \
         exported ({expected})"
    )]
    ForeignCanaryKey {
        /// The canary this ceremony exported.
        expected: KeyId,
        /// The receipt's.
        found: KeyId,
    },
    /// A receipt validly signed, but by a key that is not the canary exported: it does
    /// not prove the canary was rebuilt.
    #[error(
        "the canary receipt is signed by the key {found}, not by the canary exported \
         ({expected}): it does not prove the canary was rebuilt"
    )]
    NotTheCanary {
        /// The exported canary's public key (hex).
        expected: String,
        /// The receipt's (hex).
        found: String,
    },
}

fn format_error(reason: impl Into<String>) -> CanaryError {
    CanaryError::Format {
        reason: reason.into(),
    }
}

/// Why a receipt could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError<E: fmt::Display> {
    /// The signing function failed.
    #[error("the canary key could not sign the receipt: {0}")]
    Signing(E),
    /// The signature made does not verify under the canary's public key; it was
    /// discarded.
    #[error(
        "the receipt's signature does not verify under the canary's public key; it was \
         discarded"
    )]
    SelfCheck,
}

/// The canary a ceremony exported, as the online side knows it from public data: what a
/// receipt must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedCanary {
    /// The ceremony.
    pub ceremony_id: CeremonyId,
    /// The throwaway key's id.
    pub canary_key_id: KeyId,
    /// The public key its export announced.
    pub public_key: PublicKey,
}

impl ExportedCanary {
    /// The canary of a saved canary response (`OUT/canary/response.json`).
    ///
    /// # Errors
    /// [`CanaryError::Format`] when the file is not marked as a canary's response or its
    /// Dfns body is not a valid export.
    pub fn from_response(file: &ResponseFile) -> Result<ExportedCanary, CanaryError> {
        if !file.canary {
            return Err(format_error(
                "the response file given for the canary is not a canary's response (no \"canary\": true)",
            ));
        }
        let response = file
            .export_response()
            .map_err(|e| format_error(format!("the canary's response: {e}")))?;
        Ok(ExportedCanary {
            ceremony_id: file.ceremony_id.clone(),
            canary_key_id: file.key_id.clone(),
            public_key: response.public_key,
        })
    }
}

/// A canary receipt (see the module documentation). Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryReceipt {
    ceremony_id: CeremonyId,
    canary_key_id: KeyId,
    protocol: Protocol,
    public_key: PublicKey,
    signature: [u8; 64],
    unknown_fields: Vec<String>,
}

impl CanaryReceipt {
    /// Signs a receipt for the canary `canary_key_id` of `ceremony_id`, whose rebuilt
    /// key generates `public_key` (on the curve of `public_key`, exported with
    /// `protocol`). `sign` receives the scheme and the 32-byte message and returns the
    /// 64-byte signature; the offline binary passes its `sign` module. The signature is
    /// verified under `public_key` before the receipt is returned.
    ///
    /// # Errors
    /// [`CreateError::Signing`] with the signing function's error;
    /// [`CreateError::SelfCheck`] when its signature does not verify.
    pub fn create<E: fmt::Display>(
        ceremony_id: CeremonyId,
        canary_key_id: KeyId,
        protocol: Protocol,
        public_key: PublicKey,
        sign: impl FnOnce(ReceiptSignature, &[u8; 32]) -> Result<[u8; 64], E>,
    ) -> Result<CanaryReceipt, CreateError<E>> {
        let curve = public_key.curve();
        let message = signed_message(&ceremony_id, &canary_key_id, curve);
        let signature =
            sign(ReceiptSignature::for_curve(curve), &message).map_err(CreateError::Signing)?;
        let receipt = CanaryReceipt {
            ceremony_id,
            canary_key_id,
            protocol,
            public_key,
            signature,
            unknown_fields: Vec::new(),
        };
        receipt
            .check_signature()
            .map_err(|_| CreateError::SelfCheck)?;
        Ok(receipt)
    }

    /// The ceremony the receipt claims.
    pub fn ceremony_id(&self) -> &CeremonyId {
        &self.ceremony_id
    }

    /// The canary key the receipt claims.
    pub fn canary_key_id(&self) -> &KeyId {
        &self.canary_key_id
    }

    /// The protocol the canary was exported with.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The canary's public key, as the receipt names it.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The signature scheme (by the key's curve).
    pub fn signature_scheme(&self) -> ReceiptSignature {
        ReceiptSignature::for_curve(self.public_key.curve())
    }

    /// The 64-byte signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Fields of the document this version does not know (reported, not fatal).
    pub fn unknown_fields(&self) -> &[String] {
        &self.unknown_fields
    }

    /// Checks the receipt against the canary this ceremony exported: the signature over
    /// the receipt's own claims first, then each claim (see the module documentation).
    ///
    /// # Errors
    /// [`CanaryError::SignatureInvalid`], [`CanaryError::ForeignCeremony`],
    /// [`CanaryError::ForeignCanaryKey`], [`CanaryError::NotTheCanary`].
    pub fn verify(&self, expected: &ExportedCanary) -> Result<(), CanaryError> {
        self.check_signature()?;
        if self.ceremony_id != expected.ceremony_id {
            return Err(CanaryError::ForeignCeremony {
                expected: expected.ceremony_id.clone(),
                found: self.ceremony_id.clone(),
            });
        }
        if self.canary_key_id != expected.canary_key_id {
            return Err(CanaryError::ForeignCanaryKey {
                expected: expected.canary_key_id.clone(),
                found: self.canary_key_id.clone(),
            });
        }
        if !same_key(&self.public_key, &expected.public_key) {
            return Err(CanaryError::NotTheCanary {
                expected: expected.public_key.to_hex(),
                found: self.public_key.to_hex(),
            });
        }
        Ok(())
    }

    /// Checks the signature over the receipt's claims under the key it names.
    ///
    /// # Errors
    /// [`CanaryError::SignatureInvalid`].
    pub fn check_signature(&self) -> Result<(), CanaryError> {
        let curve = self.public_key.curve();
        let message = signed_message(&self.ceremony_id, &self.canary_key_id, curve);
        let valid = match ReceiptSignature::for_curve(curve) {
            ReceiptSignature::EcdsaSecp256k1 => {
                verify_secp256k1(&self.public_key, &message, &self.signature)
            }
            ReceiptSignature::Ed25519 => {
                verify_ed25519(&self.public_key, &message, &self.signature)
            }
            ReceiptSignature::StarkEcdsa => {
                verify_stark(&self.public_key, &message, &self.signature)
            }
        };
        if valid {
            Ok(())
        } else {
            Err(CanaryError::SignatureInvalid)
        }
    }

    /// The file's bytes: pretty JSON, fields in the documented order, final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Document<'a> {
            kind: &'a str,
            version: u32,
            ceremony_id: &'a CeremonyId,
            canary_key_id: &'a KeyId,
            protocol: Protocol,
            curve: Curve,
            public_key: String,
            signature_scheme: &'a str,
            signature: String,
        }
        let document = Document {
            kind: RECEIPT_KIND,
            version: RECEIPT_VERSION,
            ceremony_id: &self.ceremony_id,
            canary_key_id: &self.canary_key_id,
            protocol: self.protocol,
            curve: self.public_key.curve(),
            public_key: self.public_key.to_hex(),
            signature_scheme: self.signature_scheme().as_str(),
            signature: hex::encode(self.signature),
        };
        crate::json::file_bytes(&document)
    }

    /// Whether `bytes` are a JSON object of kind `keyexport-canary-receipt` (not
    /// validated): lets a reader name the file for what it is.
    pub fn is_receipt(bytes: &[u8]) -> bool {
        serde_json::from_slice::<Value>(bytes)
            .ok()
            .is_some_and(|v| v.get("kind").and_then(Value::as_str) == Some(RECEIPT_KIND))
    }

    /// Parses a receipt strictly: every field of this version present and well formed,
    /// no repeated key; unknown fields are kept in [`CanaryReceipt::unknown_fields`].
    /// The signature is not checked here ([`CanaryReceipt::verify`]).
    ///
    /// # Errors
    /// [`CanaryError::Format`] naming the field.
    pub fn parse(bytes: &[u8]) -> Result<CanaryReceipt, CanaryError> {
        let value: Value = crate::json::parse(bytes, "the canary receipt")
            .map_err(|e| format_error(e.to_string()))?;
        let object = value
            .as_object()
            .ok_or_else(|| format_error("it is not a JSON object"))?;
        match object.get("kind").and_then(Value::as_str) {
            Some(RECEIPT_KIND) => {}
            Some(other) => {
                return Err(format_error(format!(
                    "it is a file of kind {other:?}, not {RECEIPT_KIND:?}"
                )));
            }
            None => return Err(format_error("it has no \"kind\"")),
        }
        match object.get("version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(RECEIPT_VERSION) => {}
            Some(v) => {
                return Err(format_error(format!(
                    "version {v} is not supported by this tool (it reads version \
                     {RECEIPT_VERSION}); use a matching keyexport release"
                )));
            }
            None => return Err(format_error("\"version\" is missing or not a number")),
        }
        let ceremony_id = CeremonyId::try_from(text(object, "ceremonyId")?.to_owned())
            .map_err(|e| format_error(format!("\"ceremonyId\": {e}")))?;
        let canary_key_id = KeyId::new(text(object, "canaryKeyId")?)
            .map_err(|e| format_error(format!("\"canaryKeyId\": {e}")))?;
        let protocol: Protocol = text(object, "protocol")?
            .parse()
            .map_err(|e| format_error(format!("\"protocol\": {e}")))?;
        let curve: Curve = text(object, "curve")?
            .parse()
            .map_err(|e| format_error(format!("\"curve\": {e}")))?;
        let key_hex = text(object, "publicKey")?;
        let key_bytes = lower_hex(key_hex, "publicKey")?;
        let public_key = PublicKey::from_bytes(curve, &key_bytes)
            .map_err(|e| format_error(format!("\"publicKey\": {e}")))?;
        let expected_scheme = ReceiptSignature::for_curve(curve);
        let scheme = text(object, "signatureScheme")?;
        if scheme != expected_scheme.as_str() {
            return Err(format_error(format!(
                "\"signatureScheme\" is {scheme:?}; a receipt of a {curve} key is signed \
                 with {expected_scheme}"
            )));
        }
        let signature: [u8; 64] = lower_hex(text(object, "signature")?, "signature")?
            .try_into()
            .map_err(|_| format_error("\"signature\" must be 64 bytes (128 hex digits)"))?;
        Ok(CanaryReceipt {
            ceremony_id,
            canary_key_id,
            protocol,
            public_key,
            signature,
            unknown_fields: object
                .keys()
                .filter(|k| !FIELDS.contains(&k.as_str()))
                .cloned()
                .collect(),
        })
    }

    /// The receipt's bytes as UR frames for a still QR sheet (every frame in view, so no
    /// extra fountain frames).
    ///
    /// # Errors
    /// [`TransportError`] from the encoder.
    pub fn qr_frames(&self) -> Result<Vec<UrFrame>, TransportError> {
        transport::encode_frames(&self.to_bytes(), &sheet_options())
    }

    /// `canary-receipt.png`: every frame of [`CanaryReceipt::qr_frames`] on one PNG.
    ///
    /// # Errors
    /// [`TransportError`] from the encoder or the PNG writer.
    pub fn to_png(&self) -> Result<Vec<u8>, TransportError> {
        transport::render_sheet_png(
            &self.qr_frames()?,
            &sheet_options(),
            SHEET_COLUMNS,
            SHEET_GAP_PX,
        )
    }
}

fn sheet_options() -> FrameOptions {
    FrameOptions {
        fragment_len: SHEET_FRAGMENT_LEN,
        extra_frames_percent: 0,
        ..FrameOptions::default()
    }
}

/// A string field.
fn text<'a>(object: &'a Map<String, Value>, field: &str) -> Result<&'a str, CanaryError> {
    match object.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format_error(format!("\"{field}\" is not a string"))),
        None => Err(format_error(format!("\"{field}\" is missing"))),
    }
}

/// Lowercase hex only: one canonical encoding of the bytes that are compared.
fn lower_hex(text: &str, field: &str) -> Result<Vec<u8>, CanaryError> {
    if text.is_empty()
        || text
            .bytes()
            .any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(format_error(format!(
            "\"{field}\" must be lowercase hexadecimal"
        )));
    }
    hex::decode(text).map_err(|_| format_error(format!("\"{field}\" has an odd number of digits")))
}

/// The same point: secp256k1 keys compare in compressed form (a Dfns export may announce
/// either form); the other curves have one encoding.
fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    match (a.secp256k1_compressed(), b.secp256k1_compressed()) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

fn verify_secp256k1(key: &PublicKey, message: &[u8; 32], signature: &[u8; 64]) -> bool {
    use k256::ecdsa::signature::hazmat::PrehashVerifier as _;
    let Ok(key) = k256::ecdsa::VerifyingKey::from_sec1_bytes(key.as_bytes()) else {
        return false;
    };
    let Ok(signature) = k256::ecdsa::Signature::from_slice(signature) else {
        return false;
    };
    // One encoding only: a high-S twin of a valid signature is refused.
    signature.normalize_s().is_none() && key.verify_prehash(message, &signature).is_ok()
}

fn verify_ed25519(key: &PublicKey, message: &[u8; 32], signature: &[u8; 64]) -> bool {
    let Ok(bytes) = <[u8; 32]>::try_from(key.as_bytes()) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&bytes) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    key.verify_strict(message, &signature).is_ok()
}

fn verify_stark(key: &PublicKey, message: &[u8; 32], signature: &[u8; 64]) -> bool {
    use starknet_crypto::Felt;
    let Some(x) = key.as_bytes().get(1..33) else {
        return false;
    };
    let mut x_bytes = [0u8; 32];
    x_bytes.copy_from_slice(x);
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&signature[..32]);
    s.copy_from_slice(&signature[32..]);
    // Felt::from_bytes_be reduces modulo the field prime: refuse non-canonical input by
    // checking the value round-trips.
    let felt = |bytes: &[u8; 32]| {
        let value = Felt::from_bytes_be(bytes);
        (value.to_bytes_be() == *bytes).then_some(value)
    };
    match (felt(&x_bytes), felt(message), felt(&r), felt(&s)) {
        (Some(x), Some(m), Some(r), Some(s)) => {
            starknet_crypto::verify(&x, &m, &r, &s).unwrap_or(false)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curve::PrivateKey;
    use crate::dealer::Deal;
    use crate::keys::DecryptionKey;
    use crate::scheme::Scheme;
    use proptest::prelude::*;
    use rand_core::OsRng;

    /// A canary key of `scheme`, as the dealer (and so the sandbox) makes one.
    fn key(scheme: &str) -> (PrivateKey, PublicKey, Protocol) {
        let scheme: Scheme = scheme.parse().unwrap();
        let dealt =
            Deal::new(scheme, 2, 3).run(&DecryptionKey::generate().encryption_key(), &mut OsRng);
        (
            dealt.private_key,
            dealt.response.public_key,
            scheme.protocol,
        )
    }

    /// Signs as the offline binary's `sign` module does, with the libraries' own signers.
    fn sign_with(
        key: &PrivateKey,
    ) -> impl FnOnce(ReceiptSignature, &[u8; 32]) -> Result<[u8; 64], String> + '_ {
        move |scheme, message| match scheme {
            ReceiptSignature::EcdsaSecp256k1 => {
                use k256::ecdsa::signature::hazmat::PrehashSigner as _;
                let signer = k256::ecdsa::SigningKey::from_bytes(&(*key.to_be_bytes()).into())
                    .map_err(|e| e.to_string())?;
                let signature: k256::ecdsa::Signature =
                    signer.sign_prehash(message).map_err(|e| e.to_string())?;
                Ok(signature.to_bytes().into())
            }
            ReceiptSignature::Ed25519 => {
                let mut le = *key.to_be_bytes();
                le.reverse();
                let scalar = curve25519_dalek::Scalar::from_canonical_bytes(le)
                    .into_option()
                    .ok_or("not a scalar")?;
                let expanded = ed25519_dalek::hazmat::ExpandedSecretKey {
                    scalar,
                    hash_prefix: [7u8; 32],
                };
                let public = ed25519_dalek::VerifyingKey::from(&expanded);
                Ok(
                    ed25519_dalek::hazmat::raw_sign::<sha2::Sha512>(&expanded, message, &public)
                        .to_bytes(),
                )
            }
            ReceiptSignature::StarkEcdsa => {
                use starknet_crypto::Felt;
                let secret = Felt::from_bytes_be(key.to_be_bytes());
                let m = Felt::from_bytes_be(message);
                let k = starknet_crypto::rfc6979_generate_k(&m, &secret, None);
                let signature =
                    starknet_crypto::sign(&secret, &m, &k).map_err(|e| e.to_string())?;
                let mut out = [0u8; 64];
                out[..32].copy_from_slice(&signature.r.to_bytes_be());
                out[32..].copy_from_slice(&signature.s.to_bytes_be());
                Ok(out)
            }
        }
    }

    fn ids() -> (CeremonyId, KeyId) {
        (
            CeremonyId::generate(),
            KeyId::new("key-canary-01snl-7k5e2").unwrap(),
        )
    }

    fn receipt(scheme: &str) -> (CanaryReceipt, PublicKey, PrivateKey) {
        let (private, public, protocol) = key(scheme);
        let (ceremony, key_id) = ids();
        let receipt = CanaryReceipt::create(
            ceremony,
            key_id,
            protocol,
            public.clone(),
            sign_with(&private),
        )
        .unwrap();
        (receipt, public, private)
    }

    fn expected(receipt: &CanaryReceipt, public: &PublicKey) -> ExportedCanary {
        ExportedCanary {
            ceremony_id: receipt.ceremony_id().clone(),
            canary_key_id: receipt.canary_key_id().clone(),
            public_key: public.clone(),
        }
    }

    const SCHEMES: [&str; 4] = [
        "CGGMP24:secp256k1",
        "FROST:ed25519",
        "CGGMP24:stark",
        "FROST_BITCOIN:secp256k1",
    ];

    #[test]
    fn a_receipt_round_trips_and_verifies_on_every_curve() {
        for scheme in SCHEMES {
            let (receipt, public, _) = receipt(scheme);
            let parsed = CanaryReceipt::parse(&receipt.to_bytes()).unwrap();
            assert_eq!(parsed, receipt, "{scheme}");
            assert!(CanaryReceipt::is_receipt(&receipt.to_bytes()));
            parsed.verify(&expected(&parsed, &public)).unwrap();
            let text = String::from_utf8(receipt.to_bytes()).unwrap();
            let keys: Vec<usize> = FIELDS
                .iter()
                .map(|f| text.find(&format!("\"{f}\"")).unwrap())
                .collect();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{text}");
            assert!(text.ends_with("}\n"));
        }
    }

    #[test]
    fn a_forged_receipt_is_refused_as_not_the_canary() {
        for scheme in SCHEMES {
            // Signed correctly, but by a key of the forger's, named in the receipt.
            let (forger_private, forger_public, protocol) = key(scheme);
            let (_, canary_public, _) = key(scheme);
            let (ceremony, key_id) = ids();
            let forged = CanaryReceipt::create(
                ceremony.clone(),
                key_id.clone(),
                protocol,
                forger_public,
                sign_with(&forger_private),
            )
            .unwrap();
            let refused = forged
                .verify(&ExportedCanary {
                    ceremony_id: ceremony.clone(),
                    canary_key_id: key_id.clone(),
                    public_key: canary_public.clone(),
                })
                .unwrap_err();
            assert!(
                matches!(refused, CanaryError::NotTheCanary { .. }),
                "{scheme}: {refused}"
            );
            // Naming the canary's key over the forger's signature fails the signature.
            let text = String::from_utf8(forged.to_bytes())
                .unwrap()
                .replace(&forged.public_key().to_hex(), &canary_public.to_hex());
            let claimed = CanaryReceipt::parse(text.as_bytes()).unwrap();
            assert_eq!(
                claimed
                    .verify(&ExportedCanary {
                        ceremony_id: ceremony.clone(),
                        canary_key_id: key_id.clone(),
                        public_key: canary_public.clone(),
                    })
                    .unwrap_err(),
                CanaryError::SignatureInvalid,
                "{scheme}"
            );
        }
    }

    #[test]
    fn a_foreign_receipt_is_refused_naming_what_differs() {
        for scheme in SCHEMES {
            let (receipt, public, _) = receipt(scheme);
            let other_ceremony = CeremonyId::generate();
            let refused = receipt
                .verify(&ExportedCanary {
                    ceremony_id: other_ceremony.clone(),
                    ..expected(&receipt, &public)
                })
                .unwrap_err();
            assert_eq!(
                refused,
                CanaryError::ForeignCeremony {
                    expected: other_ceremony.clone(),
                    found: receipt.ceremony_id().clone()
                }
            );
            let other_key = KeyId::new("key-canary-other").unwrap();
            let refused = receipt
                .verify(&ExportedCanary {
                    canary_key_id: other_key.clone(),
                    ..expected(&receipt, &public)
                })
                .unwrap_err();
            assert!(
                matches!(refused, CanaryError::ForeignCanaryKey { .. }),
                "{refused}"
            );
            assert!(refused.to_string().contains("key-canary-other"));
        }
    }

    #[test]
    fn a_tampered_receipt_is_refused_as_an_invalid_signature() {
        for scheme in SCHEMES {
            let (receipt, public, _) = receipt(scheme);
            let text = String::from_utf8(receipt.to_bytes()).unwrap();
            // Its ceremony id edited to match another ceremony.
            let other = CeremonyId::generate();
            let edited = text.replace(receipt.ceremony_id().as_str(), other.as_str());
            let edited = CanaryReceipt::parse(edited.as_bytes()).unwrap();
            let refused = edited
                .verify(&ExportedCanary {
                    ceremony_id: other.clone(),
                    ..expected(&receipt, &public)
                })
                .unwrap_err();
            assert_eq!(refused, CanaryError::SignatureInvalid, "{scheme}");
            // Its key id edited.
            let edited = text.replace("key-canary-01snl-7k5e2", "key-canary-01snl-7k5e3");
            let edited = CanaryReceipt::parse(edited.as_bytes()).unwrap();
            assert_eq!(
                edited.check_signature().unwrap_err(),
                CanaryError::SignatureInvalid
            );
        }
    }

    #[test]
    fn a_high_s_twin_of_a_secp256k1_signature_is_refused() {
        let (receipt, public, _) = receipt("CGGMP24:secp256k1");
        let signature = k256::ecdsa::Signature::from_slice(receipt.signature()).unwrap();
        let (r, s) = signature.split_scalars();
        let twin = k256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        let mut tampered = receipt.clone();
        tampered.signature = twin.to_bytes().into();
        assert_eq!(
            tampered.verify(&expected(&receipt, &public)).unwrap_err(),
            CanaryError::SignatureInvalid
        );
    }

    #[test]
    fn a_signer_that_fails_or_signs_wrongly_makes_no_receipt() {
        let (_, public, protocol) = key("FROST:ed25519");
        let (ceremony, key_id) = ids();
        let failed = CanaryReceipt::create(
            ceremony.clone(),
            key_id.clone(),
            protocol,
            public.clone(),
            |_, _| Err::<[u8; 64], _>("no key"),
        )
        .unwrap_err();
        assert_eq!(
            failed.to_string(),
            "the canary key could not sign the receipt: no key"
        );
        let (other, _, _) = key("FROST:ed25519");
        let wrong = CanaryReceipt::create(ceremony, key_id, protocol, public, sign_with(&other))
            .unwrap_err();
        assert!(matches!(wrong, CreateError::SelfCheck));
    }

    #[test]
    fn malformed_documents_are_refused_and_unknown_fields_reported() {
        let (receipt, _, _) = receipt("CGGMP24:secp256k1");
        let text = String::from_utf8(receipt.to_bytes()).unwrap();
        let with_extra = text.replacen('{', "{\n  \"note\": \"added by Dfns\",", 1);
        let parsed = CanaryReceipt::parse(with_extra.as_bytes()).unwrap();
        assert_eq!(parsed.unknown_fields(), ["note"]);
        let signature = hex::encode(receipt.signature());
        let cases: Vec<(String, &str)> = vec![
            (text.replace(RECEIPT_KIND, "keyexport-request"), "kind"),
            (
                text.replace("\"version\": 1", "\"version\": 2"),
                "version 2",
            ),
            (
                text.replace("\"curve\": \"secp256k1\"", "\"curve\": \"ed25519\""),
                "publicKey",
            ),
            (
                text.replace("ecdsa-secp256k1", "ed25519"),
                "signatureScheme",
            ),
            (
                text.replace(&signature, &signature.to_uppercase()),
                "signature",
            ),
            (text.replace(&signature, &signature[..126]), "signature"),
            (
                text.replace(&receipt.public_key().to_hex(), "02"),
                "publicKey",
            ),
            (
                text.replace("\"protocol\": \"CGGMP24\"", "\"protocol\": \"GG18\""),
                "protocol",
            ),
            (text.replacen('{', "{\"kind\": \"x\",", 1), "kind"),
            ("[]".to_owned(), "not a JSON object"),
        ];
        for (document, expected) in cases {
            let refused = CanaryReceipt::parse(document.as_bytes()).unwrap_err();
            assert!(matches!(refused, CanaryError::Format { .. }));
            assert!(
                refused.to_string().contains(expected),
                "{expected}: {refused}"
            );
        }
        assert!(!CanaryReceipt::is_receipt(
            b"{\"kind\":\"keyexport-request\"}"
        ));
    }

    #[test]
    fn the_exported_canary_is_read_from_its_saved_response() {
        let decryption = DecryptionKey::generate();
        let scheme: Scheme = "FROST:ed25519".parse().unwrap();
        let dealt = Deal::new(scheme, 2, 3).run(&decryption.encryption_key(), &mut OsRng);
        let (ceremony, key_id) = ids();
        let body = dealt.response.to_json_value().to_string();
        let file = ResponseFile::new(
            ceremony.clone(),
            key_id.clone(),
            "00".repeat(32),
            "2026-11-28T17:01:00Z".into(),
            "keyexport-online 0.1.0".into(),
            "ab".repeat(32),
            &body,
        )
        .unwrap();
        let refused = ExportedCanary::from_response(&file).unwrap_err();
        assert!(
            refused.to_string().contains("not a canary's response"),
            "{refused}"
        );
        let canary = ExportedCanary::from_response(&file.with_canary(true)).unwrap();
        assert_eq!(
            canary,
            ExportedCanary {
                ceremony_id: ceremony.clone(),
                canary_key_id: key_id.clone(),
                public_key: dealt.response.public_key.clone(),
            }
        );
        let receipt = CanaryReceipt::create(
            ceremony,
            key_id,
            scheme.protocol,
            dealt.response.public_key.clone(),
            sign_with(&dealt.private_key),
        )
        .unwrap();
        receipt.verify(&canary).unwrap();
    }

    #[test]
    fn the_qr_sheet_scans_back_to_the_receipt() {
        let (receipt, public, _) = receipt("CGGMP24:stark");
        // About 450 bytes: two codes on the sheet, as docs/formats.md says.
        assert_eq!(receipt.qr_frames().unwrap().len(), 2);
        let png = receipt.to_png().unwrap();
        let mut collector = transport::FrameCollector::new();
        for text in transport::decode_image(&png).unwrap() {
            collector.push(&text).unwrap();
        }
        let scanned = CanaryReceipt::parse(&collector.finish().unwrap()).unwrap();
        assert_eq!(scanned, receipt);
        scanned.verify(&expected(&scanned, &public)).unwrap();
    }

    #[test]
    fn the_signed_message_is_domain_separated_and_stark_sized() {
        let (ceremony, key_id) = ids();
        let secp = signed_message(&ceremony, &key_id, Curve::Secp256k1);
        let stark = signed_message(&ceremony, &key_id, Curve::Stark);
        assert_eq!(stark[0], secp[0] & 0x07);
        assert_eq!(stark[1..], secp[1..]);
        let mut preimage = SIGNATURE_TAG.to_vec();
        preimage.push(0);
        for id in [ceremony.as_str(), key_id.as_str()] {
            preimage.push(id.len() as u8);
            preimage.extend_from_slice(id.as_bytes());
        }
        assert_eq!(secp, <[u8; 32]>::from(Sha256::digest(&preimage)));
        assert_eq!(
            canary_key_name(&ceremony),
            format!("keyexport canary {ceremony}")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn any_flipped_signature_bit_is_refused(bit in 0usize..512, scheme in 0usize..3) {
            let (receipt, public, _) = receipt(SCHEMES[scheme]);
            let mut tampered = receipt.clone();
            tampered.signature[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(
                tampered.verify(&expected(&receipt, &public)).unwrap_err(),
                CanaryError::SignatureInvalid
            );
        }

        #[test]
        fn receipts_round_trip_for_any_key_id(id in "[A-Za-z0-9_-]{1,128}") {
            let (private, public, protocol) = key("CGGMP24:secp256k1");
            let key_id = KeyId::new(&id).unwrap();
            let receipt = CanaryReceipt::create(
                CeremonyId::generate(), key_id, protocol, public.clone(), sign_with(&private),
            ).unwrap();
            let parsed = CanaryReceipt::parse(&receipt.to_bytes()).unwrap();
            prop_assert_eq!(&parsed, &receipt);
            prop_assert!(parsed.verify(&expected(&parsed, &public)).is_ok());
        }
    }
}
