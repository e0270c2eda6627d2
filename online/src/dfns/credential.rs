//! The credential that signs Dfns user actions: a private key read from PEM.
//!
//! `dfns-auth.md` ("User-action signing", step 2): Dfns accepts Ed25519, ECDSA P-256,
//! ECDSA secp256k1 and RSA keys. The signature covers the clientData bytes:
//! Ed25519 gives 64 raw bytes, ECDSA is SHA-256 with a **DER** signature, RSA is
//! PKCS#1 v1.5 with SHA-256. Keys arrive as PEM: PKCS#8 for every type (v1 as
//! `openssl genpkey` writes it, and v2, RFC 8410 with the public key, for Ed25519),
//! PKCS#1 for RSA; SEC1 `EC PRIVATE KEY` (what `openssl ecparam -genkey` writes) is
//! accepted too.
//!
//! The key types zeroize themselves on drop; the PEM text is held in `Zeroizing`
//! while it is parsed, and `Debug` prints only the key type and credential id.

use std::fmt;
use std::path::Path;

use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use zeroize::Zeroizing;

/// Which kind of key a credential holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// Ed25519 (raw 64-byte signatures).
    Ed25519,
    /// ECDSA over NIST P-256 (DER signatures).
    EcdsaP256,
    /// ECDSA over secp256k1 (DER signatures).
    EcdsaSecp256k1,
    /// RSA with PKCS#1 v1.5 and SHA-256.
    Rsa,
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialKind::Ed25519 => "Ed25519",
            CredentialKind::EcdsaP256 => "ECDSA P-256",
            CredentialKind::EcdsaSecp256k1 => "ECDSA secp256k1",
            CredentialKind::Rsa => "RSA",
        })
    }
}

/// Why a credential could not be loaded. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The credential id is empty.
    #[error("the credential id is empty")]
    EmptyId,
    /// The key file could not be read.
    #[error("cannot read the credential key file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The PEM is password-protected.
    #[error(
        "the credential key is an encrypted PEM (ENCRYPTED PRIVATE KEY), which is not supported"
    )]
    Encrypted,
    /// No usable private key block.
    #[error(
        "the credential key is not a supported private key: expected PEM (PKCS#8 'PRIVATE KEY', \
         'RSA PRIVATE KEY' or 'EC PRIVATE KEY') holding an Ed25519, ECDSA P-256, \
         ECDSA secp256k1 or RSA key"
    )]
    Unsupported,
}

/// The signing key inside a [`Credential`].
enum SigningKey {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    P256(p256::ecdsa::SigningKey),
    Secp256k1(k256::ecdsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>),
}

/// A Dfns credential: its id and the private key that signs user actions.
pub struct Credential {
    id: String,
    key: SigningKey,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// Loads a credential from its id and PEM text.
    ///
    /// PEM given through an environment variable often carries its line breaks as the two
    /// characters `\n` (as `.env` files write them); those are turned back into newlines.
    pub fn from_pem(id: &str, pem: &str) -> Result<Self, CredentialError> {
        let id = id.trim();
        if id.is_empty() {
            return Err(CredentialError::EmptyId);
        }
        let pem = if !pem.contains('\n') && pem.contains("\\n") {
            Zeroizing::new(pem.replace("\\n", "\n"))
        } else {
            Zeroizing::new(pem.to_owned())
        };
        let key = parse_pem(pem.trim())?;
        Ok(Credential {
            id: id.to_owned(),
            key,
        })
    }

    /// Loads a credential from its id and a PEM file.
    pub fn from_pem_file(id: &str, path: &Path) -> Result<Self, CredentialError> {
        let read = keyexport_shared::input::read(path, keyexport_shared::input::SECRET);
        let text = read.map_err(|source| CredentialError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let text = Zeroizing::new(text);
        let text = std::str::from_utf8(&text).map_err(|_| CredentialError::Unsupported)?;
        Credential::from_pem(id, text)
    }

    /// The credential id Dfns knows this key by.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key type.
    pub fn kind(&self) -> CredentialKind {
        match self.key {
            SigningKey::Ed25519(_) => CredentialKind::Ed25519,
            SigningKey::P256(_) => CredentialKind::EcdsaP256,
            SigningKey::Secp256k1(_) => CredentialKind::EcdsaSecp256k1,
            SigningKey::Rsa(_) => CredentialKind::Rsa,
        }
    }

    /// Signs `message` the way Dfns verifies it for this key type (see the module docs).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.key {
            SigningKey::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                key.sign(message).to_bytes().to_vec()
            }
            SigningKey::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            SigningKey::Secp256k1(key) => {
                let signature: k256::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            SigningKey::Rsa(key) => key.sign(message).to_vec(),
        }
    }
}

/// Parses the first private-key PEM block, trying each supported type in turn.
fn parse_pem(pem: &str) -> Result<SigningKey, CredentialError> {
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(CredentialError::Encrypted);
    }
    if let Some(block) = pem_block(pem, "PRIVATE KEY") {
        if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(block) {
            return Ok(SigningKey::Ed25519(Box::new(key)));
        }
        if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_pem(block) {
            return Ok(SigningKey::P256(key));
        }
        if let Ok(key) = k256::ecdsa::SigningKey::from_pkcs8_pem(block) {
            return Ok(SigningKey::Secp256k1(key));
        }
        if let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_pem(block) {
            return Ok(rsa_key(key));
        }
    }
    if let Some(block) = pem_block(pem, "RSA PRIVATE KEY")
        && let Ok(key) = rsa::RsaPrivateKey::from_pkcs1_pem(block)
    {
        return Ok(rsa_key(key));
    }
    if let Some(block) = pem_block(pem, "EC PRIVATE KEY") {
        if let Ok(key) = p256::SecretKey::from_sec1_pem(block) {
            return Ok(SigningKey::P256(key.into()));
        }
        if let Ok(key) = k256::SecretKey::from_sec1_pem(block) {
            return Ok(SigningKey::Secp256k1(key.into()));
        }
    }
    Err(CredentialError::Unsupported)
}

fn rsa_key(key: rsa::RsaPrivateKey) -> SigningKey {
    SigningKey::Rsa(Box::new(rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(
        key,
    )))
}

/// The text of the first `-----BEGIN {label}-----` … `-----END {label}-----` block, if any.
/// Other blocks (such as OpenSSL's `EC PARAMETERS`) are skipped.
fn pem_block<'a>(pem: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)?;
    let stop = pem[start..].find(&end)? + start + end.len();
    Some(&pem[start..stop])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use rand_core::OsRng;
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::signature::Verifier as _;

    const LF: ed25519_dalek::pkcs8::spki::der::pem::LineEnding =
        ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF;

    #[test]
    fn ed25519_pkcs8_signs_raw_64_bytes() {
        let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
        let pem = key.to_pkcs8_pem(LF).unwrap();
        let cred = Credential::from_pem("cr-1", &pem).unwrap();
        assert_eq!(cred.kind(), CredentialKind::Ed25519);
        let sig = cred.sign(b"client data");
        assert_eq!(sig.len(), 64);
        let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
        key.verifying_key()
            .verify_strict(b"client data", &sig)
            .unwrap();
    }

    /// Throwaway test keys written by OpenSSL 3.0.19 (`openssl genpkey -algorithm
    /// Ed25519`; `openssl ecparam -name secp256k1 -genkey`), with the public keys
    /// `openssl pkey -pubout` / `openssl ec -pubout -conv_form compressed` gave for them.
    const OPENSSL_ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIMJRgUuicvEWp0x8ONQZU0HHV89NTbSuCbg2OZQ7F6QA
-----END PRIVATE KEY-----
";
    const OPENSSL_ED25519_PUBLIC: &str =
        "c518ba6947f537558ae6afffd135ffa9d87dc5717bfffffeb90d4e1ecc0ced9c";
    const OPENSSL_SECP256K1_SEC1: &str = "-----BEGIN EC PARAMETERS-----
BgUrgQQACg==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MHQCAQEEILj8BhaYcL1S9ZSP4u8mGWFvN/VlpMS31c1aoJiplLB3oAcGBSuBBAAK
oUQDQgAEgR8aPWEkfYjS0hqGUJMvm5kNfJz9w6FqIviK/cH431ollcanbtGMH7By
ykv+VcBYs8MilaLwb/+UGEr9+/jnPw==
-----END EC PRIVATE KEY-----
";
    const OPENSSL_SECP256K1_PUBLIC: &str =
        "03811f1a3d61247d88d2d21a8650932f9b990d7c9cfdc3a16a22f88afdc1f8df5a";

    #[test]
    fn ed25519_pkcs8_v1_and_v2_both_load() {
        let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
        let v2 = key.to_pkcs8_pem(LF).unwrap();
        let v1 = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: key.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LF)
        .unwrap();
        assert_ne!(v1.as_str(), v2.as_str());
        for pem in [v1.as_str(), v2.as_str()] {
            let cred = Credential::from_pem("cr-1", pem).unwrap();
            assert_eq!(cred.kind(), CredentialKind::Ed25519);
            let sig = ed25519_dalek::Signature::from_slice(&cred.sign(b"abc")).unwrap();
            key.verifying_key().verify_strict(b"abc", &sig).unwrap();
        }
        let cred = Credential::from_pem("cr-1", OPENSSL_ED25519).unwrap();
        let public: [u8; 32] = hex::decode(OPENSSL_ED25519_PUBLIC)
            .unwrap()
            .try_into()
            .unwrap();
        let public = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&cred.sign(b"abc")).unwrap();
        public.verify_strict(b"abc", &sig).unwrap();
    }

    #[test]
    fn secp256k1_sec1_from_openssl_signs_der() {
        let cred = Credential::from_pem("cr-1", OPENSSL_SECP256K1_SEC1).unwrap();
        assert_eq!(cred.kind(), CredentialKind::EcdsaSecp256k1);
        let public = hex::decode(OPENSSL_SECP256K1_PUBLIC).unwrap();
        let public = k256::ecdsa::VerifyingKey::from_sec1_bytes(&public).unwrap();
        let sig = k256::ecdsa::Signature::from_der(&cred.sign(b"abc")).unwrap();
        public.verify(b"abc", &sig).unwrap();
    }

    #[test]
    fn p256_pkcs8_and_sec1_sign_der() {
        let key = p256::ecdsa::SigningKey::random(&mut OsRng);
        let pkcs8 = key.to_pkcs8_pem(LF).unwrap();
        let sec1 = p256::SecretKey::from(key.clone()).to_sec1_pem(LF).unwrap();
        let with_params = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            sec1.as_str()
        );
        for pem in [pkcs8.as_str(), with_params.as_str()] {
            let cred = Credential::from_pem("cr-1", pem).unwrap();
            assert_eq!(cred.kind(), CredentialKind::EcdsaP256);
            let sig = p256::ecdsa::Signature::from_der(&cred.sign(b"abc")).unwrap();
            key.verifying_key().verify(b"abc", &sig).unwrap();
        }
    }

    #[test]
    fn secp256k1_pkcs8_signs_der() {
        let key = k256::ecdsa::SigningKey::random(&mut OsRng);
        let pem = key.to_pkcs8_pem(LF).unwrap();
        let cred = Credential::from_pem("cr-1", &pem).unwrap();
        assert_eq!(cred.kind(), CredentialKind::EcdsaSecp256k1);
        let sig = k256::ecdsa::Signature::from_der(&cred.sign(b"abc")).unwrap();
        key.verifying_key().verify(b"abc", &sig).unwrap();
    }

    #[test]
    fn rsa_pkcs1_and_pkcs8_sign_pkcs1v15_sha256() {
        let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).unwrap();
        let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.to_public_key());
        let pkcs1 = key.to_pkcs1_pem(LF).unwrap();
        let pkcs8 = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, LF).unwrap();
        for pem in [pkcs1.as_str(), pkcs8.as_str()] {
            let cred = Credential::from_pem("cr-1", pem).unwrap();
            assert_eq!(cred.kind(), CredentialKind::Rsa);
            let sig = rsa::pkcs1v15::Signature::try_from(cred.sign(b"abc").as_slice()).unwrap();
            verifier.verify(b"abc", &sig).unwrap();
        }
    }

    #[test]
    fn escaped_newlines_from_env_are_accepted() {
        let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
        let pem = key.to_pkcs8_pem(LF).unwrap();
        let escaped = pem.trim().replace('\n', "\\n");
        assert!(Credential::from_pem("cr-1", &escaped).is_ok());
    }

    #[test]
    fn rejects_garbage_encrypted_and_empty_id_without_echoing_input() {
        let err = Credential::from_pem("cr-1", "not a key SECRETSTUFF").unwrap_err();
        assert!(matches!(err, CredentialError::Unsupported));
        assert!(!err.to_string().contains("SECRETSTUFF"));
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----";
        assert!(matches!(
            Credential::from_pem("cr-1", enc),
            Err(CredentialError::Encrypted)
        ));
        let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
        let pem = key.to_pkcs8_pem(LF).unwrap();
        assert!(matches!(
            Credential::from_pem("  ", &pem),
            Err(CredentialError::EmptyId)
        ));
    }

    #[test]
    fn debug_prints_no_key_material() {
        let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
        let pem = key.to_pkcs8_pem(LF).unwrap();
        let cred = Credential::from_pem("cr-1", &pem).unwrap();
        let debug = format!("{cred:?}");
        assert!(debug.contains("cr-1") && debug.contains("Ed25519"));
        assert!(!debug.contains(&hex::encode(key.to_bytes())));
    }
}
