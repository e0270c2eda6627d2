//! Test credentials: key pairs the sandbox generates, hands out as PEM, and verifies
//! user-action signatures against, for real.
//!
//! Same four key types and signature encodings as Dfns (`dfns-auth.md`, step 2):
//! Ed25519 (64 raw bytes), ECDSA P-256 and secp256k1 (SHA-256, DER), RSA (PKCS#1 v1.5,
//! SHA-256). The private PEM is what OpenSSL writes, since that is what operators paste
//! and what Dfns' SDKs (OpenSSL or Python's `cryptography` underneath) load:
//! `openssl genpkey` gives PKCS#8 v1 (`PRIVATE KEY`, RFC 5208) for every type. For
//! Ed25519 that means without the public key: the v2 form (RFC 8410, public key inside)
//! is refused by OpenSSL 3.0 and by `cryptography`, so it is never printed. (RustCrypto's
//! SEC1 encoder leaves out the curve OID, which OpenSSL needs in an `EC PRIVATE KEY`, so
//! secp256k1 is PKCS#8 too, as `openssl genpkey -algorithm EC` writes it.)

use std::fmt;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey as _, KeypairBytes};
use rand_core::OsRng;
use rsa::signature::Verifier as _;
use zeroize::Zeroizing;

/// A credential key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CredentialKind {
    /// Ed25519.
    Ed25519,
    /// ECDSA over NIST P-256.
    P256,
    /// ECDSA over secp256k1.
    Secp256k1,
    /// RSA 2048, PKCS#1 v1.5 with SHA-256.
    Rsa,
}

impl CredentialKind {
    /// Every kind.
    pub const ALL: [CredentialKind; 4] = [
        CredentialKind::Ed25519,
        CredentialKind::P256,
        CredentialKind::Secp256k1,
        CredentialKind::Rsa,
    ];
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialKind::Ed25519 => "ed25519",
            CredentialKind::P256 => "p256",
            CredentialKind::Secp256k1 => "secp256k1",
            CredentialKind::Rsa => "rsa",
        })
    }
}

/// The public half, used to verify assertions.
#[derive(Clone)]
enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    Secp256k1(k256::ecdsa::VerifyingKey),
    Rsa(Box<rsa::pkcs1v15::VerifyingKey<sha2::Sha256>>),
}

/// A generated credential: its id, kind, private PEM (for the operator) and public key.
#[derive(Clone)]
pub struct TestCredential {
    id: String,
    kind: CredentialKind,
    private_pem: Zeroizing<String>,
    public: PublicKey,
}

impl fmt::Debug for TestCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCredential")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl TestCredential {
    /// Generates a fresh key pair of `kind` with credential id `id`.
    pub fn generate(id: &str, kind: CredentialKind) -> anyhow::Result<Self> {
        let (private_pem, public) = match kind {
            CredentialKind::Ed25519 => {
                let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
                // Without the public key: PKCS#8 v1, as `openssl genpkey` writes it.
                let v1 = KeypairBytes {
                    secret_key: key.to_bytes(),
                    public_key: None,
                };
                let pem = v1.to_pkcs8_pem(LineEnding::LF)?;
                (pem, PublicKey::Ed25519(key.verifying_key()))
            }
            CredentialKind::P256 => {
                let key = p256::ecdsa::SigningKey::random(&mut OsRng);
                let pem = key.to_pkcs8_pem(LineEnding::LF)?;
                (pem, PublicKey::P256(*key.verifying_key()))
            }
            CredentialKind::Secp256k1 => {
                let key = k256::ecdsa::SigningKey::random(&mut OsRng);
                let pem = key.to_pkcs8_pem(LineEnding::LF)?;
                (pem, PublicKey::Secp256k1(*key.verifying_key()))
            }
            CredentialKind::Rsa => {
                let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048)?;
                let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, LineEnding::LF)?;
                let public = rsa::pkcs1v15::VerifyingKey::new(key.to_public_key());
                (pem, PublicKey::Rsa(Box::new(public)))
            }
        };
        Ok(TestCredential {
            id: id.to_owned(),
            kind,
            private_pem: Zeroizing::new(private_pem.as_str().to_owned()),
            public,
        })
    }

    /// The credential id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key type.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// The private key as PEM, for the operator's `DFNS_PRIVATE_KEY`.
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }

    /// Whether `signature` is a valid signature of `message` by this credential, in the
    /// encoding Dfns expects for its type (strict DER for ECDSA).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.public {
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok()),
            PublicKey::P256(key) => p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
            PublicKey::Secp256k1(key) => k256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
            PublicKey::Rsa(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::{DecodePrivateKey as _, PrivateKeyInfo, SecretDocument};
    use rsa::signature::{SignatureEncoding as _, Signer as _};

    #[test]
    fn every_kind_is_printed_as_pkcs8_v1_like_openssl_genpkey() {
        for (kind, algorithm) in [
            (CredentialKind::Ed25519, "1.3.101.112"),
            (CredentialKind::P256, "1.2.840.10045.2.1"),
            (CredentialKind::Secp256k1, "1.2.840.10045.2.1"),
            (CredentialKind::Rsa, "1.2.840.113549.1.1.1"),
        ] {
            let cred = TestCredential::generate("cr-test", kind).unwrap();
            let (label, document) = SecretDocument::from_pem(cred.private_pem()).unwrap();
            assert_eq!(label, "PRIVATE KEY", "{kind}");
            let info = PrivateKeyInfo::try_from(document.as_bytes()).unwrap();
            assert_eq!(info.version(), rsa::pkcs8::Version::V1, "{kind}");
            assert!(info.public_key.is_none(), "{kind}");
            assert_eq!(info.algorithm.oid.to_string(), algorithm, "{kind}");
        }
        // Ed25519 v1 is the 48-byte document `openssl genpkey -algorithm Ed25519` writes.
        let cred = TestCredential::generate("cr-test", CredentialKind::Ed25519).unwrap();
        let (_, document) = SecretDocument::from_pem(cred.private_pem()).unwrap();
        assert_eq!(document.as_bytes().len(), 48);
    }

    #[test]
    fn verifies_each_kind_and_rejects_wrong_encodings() {
        for kind in CredentialKind::ALL {
            let cred = TestCredential::generate("cr-test", kind).unwrap();
            let (good, wrong_encoding) = match kind {
                CredentialKind::Ed25519 => {
                    let key =
                        ed25519_dalek::SigningKey::from_pkcs8_pem(cred.private_pem()).unwrap();
                    use ed25519_dalek::Signer as _;
                    (key.sign(b"m").to_bytes().to_vec(), vec![0u8; 63])
                }
                CredentialKind::P256 => {
                    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(cred.private_pem()).unwrap();
                    let sig: p256::ecdsa::Signature = key.sign(b"m");
                    (sig.to_der().as_bytes().to_vec(), sig.to_bytes().to_vec())
                }
                CredentialKind::Secp256k1 => {
                    let key = k256::ecdsa::SigningKey::from_pkcs8_pem(cred.private_pem()).unwrap();
                    let sig: k256::ecdsa::Signature = key.sign(b"m");
                    (sig.to_der().as_bytes().to_vec(), sig.to_bytes().to_vec())
                }
                CredentialKind::Rsa => {
                    let key = rsa::RsaPrivateKey::from_pkcs8_pem(cred.private_pem()).unwrap();
                    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
                    (signer.sign(b"m").to_vec(), vec![1u8; 256])
                }
            };
            assert!(cred.verify(b"m", &good), "{kind}");
            assert!(!cred.verify(b"other", &good), "{kind}");
            assert!(!cred.verify(b"m", &wrong_encoding), "{kind}");
            assert!(!format!("{cred:?}").contains("PRIVATE"));
        }
    }
}
