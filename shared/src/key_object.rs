//! The public HD facts of the Dfns key object, and the offline check of its wallets.
//!
//! The online preflight (`GET /keys/{keyId}`) reads the key object. Three of its fields
//! concern the HD tree: `masterKey` (the key is an HD root), `derivedFrom` (the key was
//! derived from another) and `wallets` (the wallets built on the key). The public OpenAPI
//! and Dfns' TypeScript SDK type `wallets` as `{id, network}[]` and do not spell out
//! `masterKey` or `derivedFrom`, so [`KeyObjectFacts`] keeps the three values verbatim,
//! as JSON, and never invents a field.
//!
//! What the wallet check reads from a wallet entry, when present:
//! - `derivationPath`: a BIP-32 path string (`m/0/5`) from the key to the wallet's key;
//! - `publicKey`: the wallet's public key in hex.
//!
//! Neither is in Dfns' published types: they are what the sandbox writes, and a real
//! entry without them is reported "not checkable", never passed. Dfns' wallet guide says a
//! wallet is derived from a master key with `signingKey.deriveFrom: {keyId, path}` (BIP-32
//! syntax, non-hardened only) but not where the key object shows that path afterwards, so
//! no other field is guessed at.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chain_code::ChainCode;
use crate::curve::{PrivateKey, PublicKey};
use crate::hd::{self, DerivationPath};
use crate::scheme::Curve;

/// `masterKey`, `derivedFrom` and `wallets` of the key object, each as returned (absent
/// when the key object does not have it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyObjectFacts {
    /// `masterKey` as returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_key: Option<Value>,
    /// `derivedFrom` as returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<Value>,
    /// `wallets` as returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallets: Option<Value>,
}

impl KeyObjectFacts {
    /// Picks the three fields out of a `GET /keys/{keyId}` body.
    pub fn from_key_object(key_object: &Value) -> KeyObjectFacts {
        let field = |name: &str| key_object.get(name).cloned();
        KeyObjectFacts {
            master_key: field("masterKey"),
            derived_from: field("derivedFrom"),
            wallets: field("wallets"),
        }
    }

    /// Whether the key object has none of the three fields.
    pub fn is_empty(&self) -> bool {
        self.master_key.is_none() && self.derived_from.is_none() && self.wallets.is_none()
    }

    /// The wallet entries (empty when `wallets` is absent or not an array).
    pub fn wallet_entries(&self) -> &[Value] {
        match &self.wallets {
            Some(Value::Array(entries)) => entries,
            _ => &[],
        }
    }
}

/// The outcome of checking one wallet entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletStatus {
    /// The key derived at the wallet's path has the wallet's public key.
    Verified,
    /// The key derived at the wallet's path has another public key.
    Mismatch {
        /// The public key the key object records (hex, as given).
        recorded: String,
        /// The public key derived offline (hex).
        derived: String,
    },
    /// The entry cannot be checked; the reason says why.
    NotCheckable(String),
}

/// One wallet entry and its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletCheck {
    /// The entry's `id`, or `wallet #N` (from 1) when it has none.
    pub wallet: String,
    /// The entry's `network`, when it is a string.
    pub network: Option<String>,
    /// The entry's `derivationPath`, when it is a string.
    pub path: Option<String>,
    /// The outcome.
    pub status: WalletStatus,
}

/// Reason given for entries without a readable path.
pub const NO_PATH: &str = "no derivation path in the key object";

/// Checks every wallet entry of `facts` against the key rebuilt offline: derives the key at
/// the entry's path from `root` and `chain_code` and compares its public key with the
/// recorded one.
pub fn check_wallets(
    facts: &KeyObjectFacts,
    root: &PrivateKey,
    chain_code: Option<&ChainCode>,
) -> Vec<WalletCheck> {
    facts
        .wallet_entries()
        .iter()
        .enumerate()
        .map(|(position, entry)| {
            let text = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
            let wallet = text("id").unwrap_or_else(|| format!("wallet #{}", position + 1));
            let path = text("derivationPath");
            let status = check_one(entry, path.as_deref(), root, chain_code);
            WalletCheck {
                wallet,
                network: text("network"),
                path,
                status,
            }
        })
        .collect()
}

fn check_one(
    entry: &Value,
    path: Option<&str>,
    root: &PrivateKey,
    chain_code: Option<&ChainCode>,
) -> WalletStatus {
    let not_checkable = |reason: String| WalletStatus::NotCheckable(reason);
    let Some(path) = path else {
        return not_checkable(NO_PATH.into());
    };
    let path: DerivationPath = match path.parse() {
        Ok(path) => path,
        Err(e) => return not_checkable(format!("unreadable derivation path: {e}")),
    };
    let Some(recorded) = entry.get("publicKey").and_then(Value::as_str) else {
        return not_checkable("no public key in the wallet entry".into());
    };
    let Some(chain_code) = chain_code else {
        return not_checkable("the export carries no chain code to derive with".into());
    };
    let curve = root.curve();
    let recorded_key = match hex::decode(recorded.trim_start_matches("0x"))
        .ok()
        .and_then(|bytes| PublicKey::from_bytes(curve, &bytes).ok())
    {
        Some(key) => key,
        None => {
            return not_checkable(format!(
                "the wallet's publicKey is not a {curve} public key in hex"
            ));
        }
    };
    let derived = match hd::derive(root, chain_code, &path) {
        Ok(derived) => derived.public_key,
        Err(e) => return not_checkable(e.to_string()),
    };
    if same_point(&recorded_key, &derived) {
        WalletStatus::Verified
    } else {
        WalletStatus::Mismatch {
            recorded: recorded.to_owned(),
            derived: derived.to_hex(),
        }
    }
}

/// Equality of points whatever the secp256k1 encoding (compressed or not).
fn same_point(a: &PublicKey, b: &PublicKey) -> bool {
    match a.curve() {
        Curve::Secp256k1 => {
            a.secp256k1_compressed().is_some()
                && a.secp256k1_compressed() == b.secp256k1_compressed()
        }
        _ => a.as_bytes() == b.as_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use zeroize::Zeroizing;

    fn root() -> (PrivateKey, ChainCode) {
        let mut secret = [0u8; 32];
        secret[31] = 7;
        (
            PrivateKey::new(Curve::Secp256k1, Zeroizing::new(secret)),
            ChainCode::from_bytes([9; 32]),
        )
    }

    #[test]
    fn facts_keep_the_three_fields_verbatim_and_nothing_else() {
        let body = json!({
            "id": "key-1", "masterKey": true, "name": "x",
            "wallets": [{"id": "wa-1", "network": "Bitcoin", "extra": {"a": 1}}]
        });
        let facts = KeyObjectFacts::from_key_object(&body);
        assert_eq!(facts.master_key, Some(json!(true)));
        assert_eq!(facts.derived_from, None);
        assert_eq!(facts.wallets, Some(body["wallets"].clone()));
        let text = serde_json::to_string(&facts).unwrap();
        assert!(!text.contains("derivedFrom") && !text.contains("name"));
        assert_eq!(
            serde_json::from_str::<KeyObjectFacts>(&text).unwrap(),
            facts
        );
        assert!(KeyObjectFacts::from_key_object(&json!({"id": "k"})).is_empty());
    }

    #[test]
    fn wallets_are_verified_refused_or_not_checkable_each_with_a_reason() {
        let (root, code) = root();
        let child = hd::derive(&root, &code, &"m/0/5".parse().unwrap()).unwrap();
        let other = hd::derive(&root, &code, &"m/0/6".parse().unwrap()).unwrap();
        let facts = KeyObjectFacts {
            wallets: Some(json!([
                {"id": "wa-good", "network": "Bitcoin", "derivationPath": "m/0/5",
                 "publicKey": child.public_key.to_hex()},
                {"id": "wa-bad", "derivationPath": "m/0/5", "publicKey": other.public_key.to_hex()},
                {"id": "wa-plain", "network": "Ethereum"},
                {"derivationPath": "m/x"},
                {"id": "wa-nokey", "derivationPath": "m/1"},
            ])),
            ..KeyObjectFacts::default()
        };
        let checks = check_wallets(&facts, &root, Some(&code));
        assert_eq!(checks[0].status, WalletStatus::Verified);
        assert_eq!(checks[0].network.as_deref(), Some("Bitcoin"));
        assert!(matches!(checks[1].status, WalletStatus::Mismatch { .. }));
        assert_eq!(checks[2].status, WalletStatus::NotCheckable(NO_PATH.into()));
        assert_eq!(checks[3].wallet, "wallet #4");
        assert!(
            matches!(&checks[3].status, WalletStatus::NotCheckable(r) if r.contains("unreadable"))
        );
        assert!(
            matches!(&checks[4].status, WalletStatus::NotCheckable(r) if r.contains("no public key"))
        );
        // Without a chain code nothing is verified.
        let without = check_wallets(&facts, &root, None);
        assert!(
            without
                .iter()
                .all(|c| matches!(c.status, WalletStatus::NotCheckable(_)))
        );
    }
}
