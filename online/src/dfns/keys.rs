//! The two Key endpoints the ceremony uses: the read-only preflight and the export.
//!
//! `dfns-auth.md` ("Read-only preflight", "Export Key"). `GET /keys/{keyId}` is retried
//! like any read; `POST /keys/{keyId}/export` is signed as a user action and sent once,
//! with byte-for-byte the body that was signed. A 202 is a policy hold, not an export.

use keyexport_shared::files::KeyId;
use keyexport_shared::key_object::KeyObjectFacts;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::auth::{SignedRequest, UserActionToken, sign_user_action};
use super::client::DfnsClient;
use super::credential::Credential;
use super::errors::{ApiError, ApiErrorKind, Call};

/// The fields of `GET /keys/{keyId}` the ceremony uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    /// Key id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// `ECDSA`, `EdDSA`, `Schnorr` or `DH`.
    pub scheme: String,
    /// `secp256k1`, `ed25519`, `stark`, …
    pub curve: String,
    /// Hex public key.
    pub public_key: String,
    /// `Active` or `Archived`.
    pub status: String,
    /// Set once exported.
    #[serde(default)]
    pub exported: Option<bool>,
    /// Date of the export.
    #[serde(default)]
    pub date_exported: Option<String>,
    /// `masterKey` as returned (a JSON `null` is kept as such).
    #[serde(default, deserialize_with = "present")]
    pub master_key: Option<Value>,
    /// `derivedFrom` as returned.
    #[serde(default, deserialize_with = "present")]
    pub derived_from: Option<Value>,
    /// `wallets` as returned.
    #[serde(default, deserialize_with = "present")]
    pub wallets: Option<Value>,
}

/// A field that is present, whatever its JSON value (`null` included).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl KeyInfo {
    /// Whether Dfns reports the key as already exported.
    pub fn is_exported(&self) -> bool {
        self.exported == Some(true) || self.date_exported.is_some()
    }

    /// The HD facts of the key object, verbatim, for the response file.
    pub fn key_object_facts(&self) -> KeyObjectFacts {
        KeyObjectFacts {
            master_key: self.master_key.clone(),
            derived_from: self.derived_from.clone(),
            wallets: self.wallets.clone(),
        }
    }

    /// Whether the key is active.
    pub fn is_active(&self) -> bool {
        self.status == "Active"
    }

    /// Whether the key object says `masterKey: true` (an HD master key).
    pub fn is_master_key(&self) -> bool {
        self.master_key == Some(Value::Bool(true))
    }
}

/// What the export call returned.
#[derive(Debug)]
pub enum ExportOutcome {
    /// HTTP 200: the body, verbatim.
    Exported(Vec<u8>),
    /// HTTP 202: a policy holds the action for approval; the body, verbatim.
    Held(Vec<u8>),
}

/// `GET /keys/{keyId}`, retried on transient failures.
pub fn get_key(client: &DfnsClient, key_id: &KeyId) -> Result<KeyInfo, ApiError> {
    let call = Call::GetKey(key_id.as_str().to_owned());
    let path = format!("/keys/{}", key_id.as_str());
    let info: KeyInfo = client.with_retries(|| client.get(&call, &path)?.json(call.clone()))?;
    if info.id != key_id.as_str() {
        return Err(ApiError {
            call,
            kind: ApiErrorKind::InvalidResponse(format!(
                "asked for key {}, got key {}",
                key_id.as_str(),
                info.id
            )),
        });
    }
    Ok(info)
}

/// Signs and sends the export once. `body` is sent byte for byte as signed.
pub fn export_key(
    client: &DfnsClient,
    credential: &Credential,
    key_id: &KeyId,
    body: &[u8],
) -> Result<ExportOutcome, ApiError> {
    let token = sign_export(client, credential, key_id, body)?;
    send_export(client, key_id, body, &token)
}

/// The user-action round for exporting `key_id` with `body` (repeatable: nothing is
/// exported until [`send_export`]).
pub fn sign_export(
    client: &DfnsClient,
    credential: &Credential,
    key_id: &KeyId,
    body: &[u8],
) -> Result<UserActionToken, ApiError> {
    let call = Call::Export(key_id.as_str().to_owned());
    let text = std::str::from_utf8(body).map_err(|_| ApiError {
        call,
        kind: ApiErrorKind::InvalidResponse("the export body is not UTF-8 text".into()),
    })?;
    sign_user_action(
        client,
        credential,
        SignedRequest {
            method: "POST",
            path: &export_path(key_id),
            body: text,
        },
    )
}

/// Sends the signed export once (the irreversible call). `body` must be the signed bytes.
pub fn send_export(
    client: &DfnsClient,
    key_id: &KeyId,
    body: &[u8],
    token: &UserActionToken,
) -> Result<ExportOutcome, ApiError> {
    let call = Call::Export(key_id.as_str().to_owned());
    let reply = client.post(&call, &export_path(key_id), body, Some(token.as_str()))?;
    match reply.status {
        200 => Ok(ExportOutcome::Exported(reply.body)),
        202 => Ok(ExportOutcome::Held(reply.body)),
        _ => Err(reply.into_error(call)),
    }
}

fn export_path(key_id: &KeyId) -> String {
    format!("/keys/{}/export", key_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_info_parses_dfns_shape() {
        let info: KeyInfo = serde_json::from_str(
            r#"{"id":"key-1","scheme":"ECDSA","curve":"secp256k1","publicKey":"02ab",
                "status":"Active","custodial":true,"dateCreated":"2024-01-01"}"#,
        )
        .unwrap();
        assert!(info.is_active() && !info.is_exported());
        let info: KeyInfo = serde_json::from_str(
            r#"{"id":"key-1","scheme":"EdDSA","curve":"ed25519","publicKey":"ab",
                "status":"Active","exported":true,"dateExported":"2024-02-02"}"#,
        )
        .unwrap();
        assert!(info.is_exported());
    }

    #[test]
    fn the_key_objects_hd_facts_are_kept_as_returned() {
        let body = r#"{"id":"key-1","scheme":"ECDSA","curve":"secp256k1","publicKey":"02aa",
            "status":"Active","masterKey":null,"derivedFrom":{"keyId":"key-0","path":"m/0"},
            "wallets":[{"id":"wa-1","network":"Bitcoin","extra":[1,2]}]}"#;
        let info: KeyInfo = serde_json::from_str(body).unwrap();
        let facts = info.key_object_facts();
        assert_eq!(facts.master_key, Some(Value::Null));
        let value: Value = serde_json::from_str(body).unwrap();
        assert_eq!(facts.derived_from.as_ref(), value.get("derivedFrom"));
        assert_eq!(facts.wallets.as_ref(), value.get("wallets"));
        let plain: KeyInfo = serde_json::from_str(
            r#"{"id":"k","scheme":"ECDSA","curve":"secp256k1","publicKey":"02","status":"Active"}"#,
        )
        .unwrap();
        assert!(plain.key_object_facts().is_empty());
    }
}
