//! What a sandbox serves: its keys, its test user's permissions, and the faults to inject.
//!
//! Keys come from a JSON config file ([`KeysFile`], any protocol × curve) or are
//! generated on start, one per pair Dfns issues ([`Scheme::ISSUED`]). Each fault is a
//! named variant of [`Fault`], documented with what the sandbox does when it is set; the
//! responders live in `routes.rs`.

use std::path::Path;
use std::time::Duration;

use keyexport_shared::scheme::Scheme;
use serde::Deserialize;

use crate::credentials::CredentialKind;

/// A Dfns route a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Route {
    /// `GET /keys/{keyId}`.
    GetKey,
    /// `POST /auth/action/init`.
    ActionInit,
    /// `POST /auth/action`.
    Action,
    /// `POST /keys/{keyId}/export`.
    Export,
    /// `POST /keys` (Create Key).
    CreateKey,
    /// `DELETE /keys/{keyId}` (Delete Key).
    DeleteKey,
}

/// A status the fail-once fault answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailStatus {
    /// HTTP 500, as a crashed backend answers.
    Internal,
    /// HTTP 429 with `Retry-After: 1`, as the rate limiter answers.
    RateLimited,
}

impl FailStatus {
    /// The HTTP status code.
    pub fn code(self) -> u16 {
        match self {
            FailStatus::Internal => 500,
            FailStatus::RateLimited => 429,
        }
    }
}

/// A fault to inject. Every variant is a named responder in `routes.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The first request on `route` is answered with `status`, without being processed;
    /// later ones are served normally.
    FailOnce {
        /// 500 or 429.
        status: FailStatus,
        /// Where.
        route: Route,
    },
    /// Requests on `route` are processed, then answered only after `delay`: a client
    /// with a shorter timeout sees a request that may (here: did) take effect.
    Delay {
        /// Where.
        route: Route,
        /// How long.
        delay: Duration,
    },
    /// One byte of the first share's ciphertext is flipped (AES-GCM will refuse it).
    TamperShare,
    /// The last share is left out of the response.
    DropShare,
    /// The response carries the public key of another, unrelated key.
    WrongPublicKey,
    /// `n` extra signers are added whose shares are well formed and correctly encrypted
    /// but hold wrong values (faulty or malicious signers).
    ExtraSigners(usize),
    /// The first signer's share carries another chain code than the key's (for a key
    /// without one: a chain code where the others carry `null`).
    OtherChainCode,
    /// Shares are written in the share document Dfns used before HD keys (no
    /// `chain_code` field) instead of the current one.
    LegacyShares,
    /// A policy holds the export for approval: HTTP 202, the key is not exported.
    PolicyHold,
    /// The test user lacks the `Keys:Export` permission: HTTP 403.
    MissingExportPermission,
    /// The organization does not have Export Key enabled: HTTP 402.
    ExportNotEnabled,
    /// The test user lacks the `Keys:Create` permission: `POST /keys` is refused with
    /// HTTP 403 by the ordinary permission check (the token is issued without it).
    MissingCreatePermission,
    /// A policy holds key creation for approval: `POST /keys` answers HTTP 202, no key
    /// is created.
    CreateKeyHeld,
    /// A policy holds key deletion for approval: `DELETE /keys/{keyId}` answers HTTP 202,
    /// the key stays.
    DeleteKeyHeld,
    /// The export of a key created by `POST /keys` (a canary) carries, in every share, a
    /// share document this tool cannot read (no `index`, no `secret_share`): the canary
    /// fails offline. Exports of the configured keys are not affected.
    CanaryShareFormat,
}

/// One key the sandbox holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySpec {
    /// Key id; generated as `key-<protocol>-<curve>-<random>` when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// `PROTOCOL:CURVE`.
    #[serde(deserialize_with = "scheme_from_text")]
    pub scheme: Scheme,
    /// Threshold `t`.
    #[serde(default = "default_min_signers")]
    pub min_signers: usize,
    /// Number of signers `n`.
    #[serde(default = "default_signers")]
    pub signers: usize,
    /// Start as already exported.
    #[serde(default)]
    pub exported: bool,
    /// An HD master key (`masterKey: true` on the key object): every share carries the
    /// key's chain code.
    #[serde(default)]
    pub master_key: bool,
}

fn default_min_signers() -> usize {
    2
}

fn default_signers() -> usize {
    3
}

fn scheme_from_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Scheme, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

impl KeySpec {
    /// A 2-of-3 key of `scheme` with a generated id.
    pub fn new(scheme: Scheme) -> Self {
        KeySpec {
            id: None,
            name: None,
            scheme,
            min_signers: default_min_signers(),
            signers: default_signers(),
            exported: false,
            master_key: false,
        }
    }
}

/// The keys config file: `{"keys": [{"scheme": "CGGMP24:secp256k1", ...}, ...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysFile {
    /// The keys.
    pub keys: Vec<KeySpec>,
}

impl KeysFile {
    /// Reads a keys config file.
    pub fn read(path: &Path) -> anyhow::Result<Vec<KeySpec>> {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read the keys file {}: {e}", path.display()))?;
        let file: KeysFile = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("the keys file {} is invalid: {e}", path.display()))?;
        Ok(file.keys)
    }
}

/// Everything a sandbox is started with.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Keys to serve; empty means one 2-of-3 key per pair Dfns issues.
    pub keys: Vec<KeySpec>,
    /// The test user's credential type.
    pub credential: CredentialKind,
    /// Faults to inject.
    pub faults: Vec<Fault>,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            keys: Vec::new(),
            credential: CredentialKind::Ed25519,
            faults: Vec::new(),
            port: 0,
        }
    }
}

impl SandboxConfig {
    /// A config serving the given keys, with default credential and no faults.
    pub fn with_keys(keys: Vec<KeySpec>) -> Self {
        SandboxConfig {
            keys,
            ..SandboxConfig::default()
        }
    }

    /// Adds a fault.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Sets the credential type.
    pub fn credential(mut self, kind: CredentialKind) -> Self {
        self.credential = kind;
        self
    }

    /// Whether `fault` is set.
    pub fn has(&self, fault: &Fault) -> bool {
        self.faults.contains(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_file_parses_and_defaults() {
        let file: KeysFile = serde_json::from_str(
            r#"{"keys":[{"id":"key-a","scheme":"FROST:ed25519","minSigners":3,"signers":5},
                        {"scheme":"CGGMP24:secp256k1","exported":true}]}"#,
        )
        .unwrap();
        assert_eq!(file.keys.len(), 2);
        assert_eq!(file.keys[0].scheme.to_string(), "FROST:ed25519");
        assert_eq!((file.keys[0].min_signers, file.keys[0].signers), (3, 5));
        assert_eq!((file.keys[1].min_signers, file.keys[1].signers), (2, 3));
        assert!(file.keys[1].exported && file.keys[1].id.is_none());
        assert!(!file.keys[0].master_key);
        let hd: KeysFile =
            serde_json::from_str(r#"{"keys":[{"scheme":"CGGMP24:secp256k1","masterKey":true}]}"#)
                .unwrap();
        assert!(hd.keys[0].master_key);
        assert!(serde_json::from_str::<KeysFile>(r#"{"keys":[{"scheme":"GG18:x"}]}"#).is_err());
        assert!(serde_json::from_str::<KeysFile>(r#"{"keys":[],"extra":1}"#).is_err());
    }
}
