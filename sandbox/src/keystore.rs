//! The sandbox's keys: real keys split by `keyexport-shared`'s trusted dealer.
//!
//! `GET /keys/{id}` must show a key's public key before any export, but the dealer draws
//! the key and its shares in one go. So each key keeps a random seed: the dealer is run
//! once at start with a seeded RNG to learn the key, and again with the same seed at
//! export time, encrypting to the caller's key. The dealer draws the polynomial first,
//! so the same seed gives the same key; the export checks this and refuses (HTTP 500,
//! a sandbox bug) if it ever does not.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_core::{OsRng, RngCore};

use keyexport_shared::chain_code::ChainCode;
use keyexport_shared::curve::{PrivateKey, PublicKey};
use keyexport_shared::dealer::Deal;
use keyexport_shared::hd::{self, DerivationPath};
use keyexport_shared::keys::{DecryptionKey, EncryptionKey};
use keyexport_shared::scheme::{Curve, Protocol, Scheme};
use keyexport_shared::share::DocumentFormat;
use keyexport_shared::wire::ExportResponse;

use crate::config::KeySpec;

/// One key held by the sandbox.
pub struct KeyRecord {
    /// Key id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Protocol and curve.
    pub scheme: Scheme,
    /// Threshold.
    pub min_signers: usize,
    /// Signers.
    pub signers: usize,
    /// The public key.
    pub public_key: PublicKey,
    /// The private key (for tests and the rehearsal to compare with).
    pub private_key: PrivateKey,
    /// An HD master key: its chain code (for tests and the rehearsal to compare with).
    pub chain_code: Option<ChainCode>,
    /// Set once exported.
    pub exported: bool,
    /// Set once deleted (`DELETE /keys/{keyId}`).
    pub deleted: bool,
    /// Created through `POST /keys` (a canary), not configured.
    pub created: bool,
    seed: [u8; 32],
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("id", &self.id)
            .field("scheme", &self.scheme.to_string())
            .field("exported", &self.exported)
            .finish_non_exhaustive()
    }
}

/// How an export's shares are dealt (from the sandbox's faults).
#[derive(Debug, Clone, Default)]
pub struct ExportShape {
    /// Signers added whose shares carry wrong values.
    pub extra_wrong: usize,
    /// The first signer's share carries another chain code.
    pub other_chain_code: bool,
    /// The share document written.
    pub format: DocumentFormat,
}

/// Paths of the derived wallets a master key lists.
const WALLET_PATHS: [&str; 2] = ["m/0/0", "m/0/1"];

/// The Dfns signature scheme name of a key (`GET /keys` field `scheme`).
pub fn dfns_scheme_name(scheme: Scheme) -> &'static str {
    match (scheme.protocol, scheme.curve) {
        (Protocol::Glow20Dh, _) => "DH",
        (Protocol::FrostBitcoin, _) => "Schnorr",
        (Protocol::Frost, Curve::Ed25519) => "EdDSA",
        (Protocol::Frost, _) => "Schnorr",
        (Protocol::Cggmp21 | Protocol::Cggmp24 | Protocol::Ku23, _) => "ECDSA",
    }
}

/// The protocol a key created with Dfns' `scheme` name on `curve` runs (`POST /keys`
/// names the signature scheme, not the MPC protocol): the current protocol of each pair
/// Dfns issues. `None` for a pair Dfns does not issue (EdDSA on secp256k1, ...).
pub fn created_scheme(dfns_scheme: &str, curve: Curve) -> Option<Scheme> {
    let protocol = match (dfns_scheme, curve) {
        ("ECDSA", Curve::Secp256k1 | Curve::Stark) => Protocol::Cggmp24,
        ("EdDSA", Curve::Ed25519) => Protocol::Frost,
        ("Schnorr", Curve::Secp256k1) => Protocol::FrostBitcoin,
        ("DH", Curve::Secp256k1) => Protocol::Glow20Dh,
        _ => return None,
    };
    Some(Scheme::new(protocol, curve))
}

impl KeyRecord {
    /// Creates the key described by `spec`.
    pub fn create(spec: &KeySpec) -> anyhow::Result<Self> {
        anyhow::ensure!(
            spec.min_signers >= 2 && spec.min_signers <= spec.signers,
            "key {:?}: need 2 <= minSigners <= signers, got {} of {}",
            spec.id,
            spec.min_signers,
            spec.signers
        );
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        let id = match &spec.id {
            Some(id) => id.clone(),
            None => format!(
                "key-{}-{}-{:08x}",
                spec.scheme
                    .protocol
                    .as_str()
                    .to_ascii_lowercase()
                    .replace('_', ""),
                spec.scheme.curve,
                OsRng.next_u32()
            ),
        };
        let probe = DecryptionKey::generate().encryption_key();
        let deal = Deal {
            hd: spec.master_key,
            ..Deal::new(spec.scheme, spec.min_signers, spec.signers)
        };
        let dealt = deal.run(&probe, &mut StdRng::from_seed(seed));
        Ok(KeyRecord {
            name: spec
                .name
                .clone()
                .unwrap_or_else(|| format!("Sandbox {} key", spec.scheme)),
            id,
            scheme: spec.scheme,
            min_signers: spec.min_signers,
            signers: spec.signers,
            public_key: dealt.response.public_key,
            private_key: dealt.private_key,
            chain_code: dealt.chain_code,
            exported: spec.exported,
            deleted: false,
            created: false,
            seed,
        })
    }

    /// Deals this key's shares to `to`, shaped by `shape`. `None` if the dealer did not
    /// reproduce the key or its chain code (a sandbox bug).
    pub fn export(&self, to: &EncryptionKey, shape: &ExportShape) -> Option<ExportResponse> {
        let extra = shape.extra_wrong;
        let deal = Deal {
            wrong_values: (self.signers..self.signers + extra).collect(),
            hd: self.chain_code.is_some(),
            other_chain_code: if shape.other_chain_code {
                vec![0]
            } else {
                Vec::new()
            },
            format: shape.format,
            ..Deal::new(self.scheme, self.min_signers, self.signers + extra)
        };
        let dealt = deal.run(to, &mut StdRng::from_seed(self.seed));
        (dealt.private_key.to_be_bytes() == self.private_key.to_be_bytes()
            && dealt.chain_code == self.chain_code)
            .then_some(dealt.response)
    }

    /// The public key of another, unrelated key on the same curve.
    pub fn unrelated_public_key(&self) -> PublicKey {
        let probe = DecryptionKey::generate().encryption_key();
        Deal::new(self.scheme, 2, 2)
            .run(&probe, &mut OsRng)
            .response
            .public_key
    }

    /// The `GET /keys/{id}` body.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::json!({
            "id": self.id,
            "name": self.name,
            "scheme": dfns_scheme_name(self.scheme),
            "curve": self.scheme.curve,
            "publicKey": self.public_key.to_hex(),
            "status": if self.deleted { "Archived" } else { "Active" },
            "custodial": true,
            "dateCreated": "2026-01-01T00:00:00.000Z",
            "exported": self.exported,
        });
        if self.exported {
            value["dateExported"] = serde_json::json!("2026-01-02T00:00:00.000Z");
        }
        if self.deleted {
            value["dateDeleted"] = serde_json::json!("2026-01-03T00:00:00.000Z");
        }
        if self.chain_code.is_some() {
            value["masterKey"] = serde_json::json!(true);
            value["wallets"] = serde_json::Value::Array(self.wallets());
        }
        value
    }

    /// The wallets of an HD master key as `GET /keys/{id}` lists them: two derived at
    /// non-hardened paths (MPC derives only those), one on the key itself.
    ///
    /// Dfns' published types give a wallet entry only `id` and `network`. The sandbox
    /// invents two fields, `derivationPath` and `publicKey` (hex, as derived with
    /// `keyexport_shared::hd`), so that the offline wallet check has something to verify;
    /// the third entry has neither, like a real one, and is reported "not checkable".
    fn wallets(&self) -> Vec<serde_json::Value> {
        let network = match self.scheme.curve {
            Curve::Secp256k1 => "Bitcoin",
            Curve::Ed25519 => "Solana",
            Curve::Stark => "Starknet",
        };
        let mut wallets: Vec<serde_json::Value> = WALLET_PATHS
            .iter()
            .enumerate()
            .filter_map(|(n, path)| {
                let chain_code = self.chain_code.as_ref()?;
                let path: DerivationPath = path.parse().ok()?;
                let child = hd::derive(&self.private_key, chain_code, &path).ok()?;
                Some(serde_json::json!({
                    "id": format!("wa-{}-{n}", self.id),
                    "network": network,
                    "derivationPath": path.to_string(),
                    "publicKey": child.public_key.to_hex(),
                }))
            })
            .collect();
        wallets.push(serde_json::json!({
            "id": format!("wa-{}-root", self.id),
            "network": network,
        }));
        wallets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyexport_shared::keys::DecryptionKey;

    #[test]
    fn export_reproduces_the_announced_key_on_every_scheme() {
        for scheme in Scheme::all() {
            let key = KeyRecord::create(&KeySpec::new(scheme)).unwrap();
            let to = DecryptionKey::generate().encryption_key();
            let shape = ExportShape {
                extra_wrong: 1,
                ..ExportShape::default()
            };
            let response = key.export(&to, &shape).expect("same seed, same key");
            assert_eq!(response.public_key, key.public_key, "{scheme}");
            assert_eq!(response.shares.len(), 4);
            assert_eq!(response.scheme(), scheme);
            assert_ne!(key.unrelated_public_key(), key.public_key);
        }
    }

    #[test]
    fn master_keys_deal_their_chain_code_in_every_share_format() {
        let mut spec = KeySpec::new("FROST:ed25519".parse().unwrap());
        spec.master_key = true;
        let key = KeyRecord::create(&spec).unwrap();
        assert!(key.chain_code.is_some());
        assert_eq!(key.to_json()["masterKey"], true);
        // Its wallets: two derived ones the offline check can verify, one it cannot.
        let facts = keyexport_shared::key_object::KeyObjectFacts::from_key_object(&key.to_json());
        let checks = keyexport_shared::key_object::check_wallets(
            &facts,
            &key.private_key,
            key.chain_code.as_ref(),
        );
        let verified = checks
            .iter()
            .filter(|c| c.status == keyexport_shared::key_object::WalletStatus::Verified)
            .count();
        assert_eq!((checks.len(), verified), (3, 2));
        let plain = KeyRecord::create(&KeySpec::new(spec.scheme)).unwrap();
        assert!(plain.chain_code.is_none() && plain.to_json().get("masterKey").is_none());
        let decryption = DecryptionKey::generate();
        for (record, format, other, expected) in [
            (
                &key,
                DocumentFormat::Current,
                false,
                Ok(key.chain_code.clone()),
            ),
            (
                &key,
                DocumentFormat::Current,
                true,
                Ok(key.chain_code.clone()),
            ),
            (&plain, DocumentFormat::Current, true, Ok(None)),
            (&plain, DocumentFormat::Legacy, false, Ok(None)),
            (&key, DocumentFormat::Legacy, false, Ok(None)),
        ] {
            let shape = ExportShape {
                extra_wrong: 0,
                other_chain_code: other,
                format,
            };
            let response = record.export(&decryption.encryption_key(), &shape).unwrap();
            let rebuilt: Result<_, &str> =
                keyexport_shared::reconstruct::reconstruct(&response, &decryption)
                    .map(|r| {
                        assert_eq!(r.bad_shares.len(), usize::from(other));
                        r.chain_code
                    })
                    .map_err(|_| "failed");
            assert_eq!(rebuilt, expected, "{format:?} other={other}");
        }
    }

    #[test]
    fn created_keys_run_the_protocol_dfns_issues_for_their_scheme() {
        for scheme in Scheme::ISSUED {
            let created = created_scheme(dfns_scheme_name(scheme), scheme.curve).unwrap();
            assert_eq!(created.curve, scheme.curve);
            assert_eq!(dfns_scheme_name(created), dfns_scheme_name(scheme));
            assert!(Scheme::ISSUED.contains(&created), "{created}");
        }
        assert_eq!(created_scheme("EdDSA", Curve::Secp256k1), None);
        assert_eq!(created_scheme("ECDSA", Curve::Ed25519), None);
        assert_eq!(created_scheme("RSA", Curve::Secp256k1), None);
    }

    #[test]
    fn rejects_impossible_thresholds() {
        let mut spec = KeySpec::new("CGGMP24:secp256k1".parse().unwrap());
        spec.min_signers = 1;
        assert!(KeyRecord::create(&spec).is_err());
        spec.min_signers = 4;
        assert!(KeyRecord::create(&spec).is_err());
    }
}
