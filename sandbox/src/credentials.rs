//! Test credentials: key pairs the sandbox generates, hands out as PEM, and verifies
//! user-action signatures against, for real.
//!
//! Same four key types and signature encodings as Dfns (`dfns-auth.md`, step 2):
//! Ed25519 (64 raw bytes), ECDSA P-256 and secp256k1 (SHA-256, DER), RSA (PKCS#1 v1.5,
//! SHA-256). The private PEM is PKCS#8, except RSA which is PKCS#1 (`RSA PRIVATE KEY`),
//! so both encodings the online side accepts are exercised end to end.

use std::fmt;

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use rand_core::OsRng;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
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
                let pem = key.to_pkcs8_pem(LineEnding::LF)?;
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
                let pem = key.to_pkcs1_pem(LineEnding::LF)?;
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
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::signature::{SignatureEncoding as _, Signer as _};

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
                    let key = rsa::RsaPrivateKey::from_pkcs1_pem(cred.private_pem()).unwrap();
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
