//! The sandbox's side of Dfns authentication: bearer tokens, permissions, and the
//! user-action challenge/assertion flow, verified for real.
//!
//! Mirrors `dfns-auth.md`: a challenge is issued for an exact (method, path, payload);
//! the assertion must be a valid signature, by a registered credential, of clientData
//! `{"type":"key.get","challenge":…}` for that challenge; the resulting user-action token
//! is single-use, short-lived and valid only for that exact request. Expiry is checked
//! against a monotonic clock.
//!
//! Statuses and messages follow Dfns' error reference (docs.dfns.co "API Errors"): a bad
//! or missing bearer token is 401; a missing, unknown, expired or mismatched
//! `X-DFNS-USERACTION` is 403 "user action signature is missing or invalid" (the reason
//! follows after a colon); a reused one is 400 "user action has already been used". An
//! assertion by a credential the user does not have is 401 at `POST /auth/action` (that
//! case is not in Dfns' public reference: unconfirmed); a bad signature there is 403.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use serde::Deserialize;

use crate::credentials::TestCredential;

/// How long challenges and user-action tokens live.
const TTL: Duration = Duration::from_secs(300);

/// Dfns' message for a missing or invalid `X-DFNS-USERACTION` (HTTP 403).
const USER_ACTION_INVALID: &str = "user action signature is missing or invalid";

/// The permissions the sandbox checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `Keys:Read`.
    KeysRead,
    /// `Keys:Export`.
    KeysExport,
    /// `Keys:Create`.
    KeysCreate,
    /// `Keys:Delete`.
    KeysDelete,
}

impl Permission {
    /// The Dfns name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::KeysRead => "Keys:Read",
            Permission::KeysExport => "Keys:Export",
            Permission::KeysCreate => "Keys:Create",
            Permission::KeysDelete => "Keys:Delete",
        }
    }
}

/// A bearer token's record.
#[derive(Debug, Clone)]
struct TokenRecord {
    permissions: Vec<Permission>,
    expired: bool,
}

/// A pending challenge.
#[derive(Debug)]
struct Challenge {
    challenge: String,
    request: ActionRequest,
    issued: Instant,
}

/// The request a user action authorizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRequest {
    /// HTTP method.
    pub method: String,
    /// URL path.
    pub path: String,
    /// Exact body text.
    pub payload: String,
}

/// An issued user-action token.
#[derive(Debug)]
struct UserAction {
    request: ActionRequest,
    issued: Instant,
    used: bool,
}

/// Why an authentication step failed, with the HTTP status Dfns would answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// HTTP status.
    pub status: u16,
    /// Message for the error body.
    pub message: String,
}

fn denied(status: u16, message: impl Into<String>) -> Denied {
    Denied {
        status,
        message: message.into(),
    }
}

/// All authentication state of one sandbox.
#[derive(Debug)]
pub struct AuthState {
    tokens: HashMap<String, TokenRecord>,
    credentials: Vec<TestCredential>,
    challenges: HashMap<String, Challenge>,
    actions: HashMap<String, UserAction>,
}

/// Random URL-safe text of `bytes` random bytes.
pub fn random_text(prefix: &str, bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    OsRng.fill_bytes(&mut raw);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw))
}

/// The body of `POST /auth/action/init`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitBody {
    user_action_payload: String,
    user_action_http_method: String,
    user_action_http_path: String,
    #[serde(default)]
    user_action_server_kind: Option<String>,
}

/// The body of `POST /auth/action`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignBody {
    challenge_identifier: String,
    first_factor: FirstFactor,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FirstFactor {
    kind: String,
    credential_assertion: Assertion,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Assertion {
    cred_id: String,
    client_data: String,
    signature: String,
}

#[derive(Debug, Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
}

impl AuthState {
    /// A state with one user (`credential`) and two tokens: a valid one with
    /// `permissions`, and an expired one.
    pub fn new(
        credential: TestCredential,
        permissions: Vec<Permission>,
    ) -> (AuthState, String, String) {
        let token = random_text("sandbox-token-", 24);
        let expired = random_text("sandbox-expired-", 24);
        let mut tokens = HashMap::new();
        tokens.insert(
            token.clone(),
            TokenRecord {
                permissions,
                expired: false,
            },
        );
        tokens.insert(
            expired.clone(),
            TokenRecord {
                permissions: vec![Permission::KeysRead, Permission::KeysExport],
                expired: true,
            },
        );
        let state = AuthState {
            tokens,
            credentials: vec![credential],
            challenges: HashMap::new(),
            actions: HashMap::new(),
        };
        (state, token, expired)
    }

    /// Checks `Authorization: Bearer <token>` and, if given, a permission.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        permission: Option<Permission>,
    ) -> Result<(), Denied> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| denied(401, "missing Authorization: Bearer token"))?;
        let record = self
            .tokens
            .get(token)
            .ok_or_else(|| denied(401, "invalid auth token"))?;
        if record.expired {
            return Err(denied(401, "auth token expired"));
        }
        match permission {
            Some(p) if !record.permissions.contains(&p) => Err(denied(
                403,
                format!("Forbidden: missing permissions: {}", p.as_str()),
            )),
            _ => Ok(()),
        }
    }

    /// `POST /auth/action/init`: records a challenge and returns the response body.
    pub fn init(&mut self, body: &[u8]) -> Result<serde_json::Value, Denied> {
        let init: InitBody = serde_json::from_slice(body)
            .map_err(|e| denied(400, format!("invalid user action init body: {e}")))?;
        if init
            .user_action_server_kind
            .as_deref()
            .is_some_and(|k| k != "Api")
        {
            return Err(denied(400, "userActionServerKind must be Api"));
        }
        let challenge = random_text("", 32);
        let identifier = random_text("ch-", 16);
        self.challenges.insert(
            identifier.clone(),
            Challenge {
                challenge: challenge.clone(),
                request: ActionRequest {
                    method: init.user_action_http_method,
                    path: init.user_action_http_path,
                    payload: init.user_action_payload,
                },
                issued: Instant::now(),
            },
        );
        let allowed: Vec<serde_json::Value> = self
            .credentials
            .iter()
            .map(|c| serde_json::json!({"type": "public-key", "id": c.id()}))
            .collect();
        // The documented response of Create User Action Challenge, for a user whose
        // only credential is one key.
        Ok(serde_json::json!({
            "challenge": challenge,
            "challengeIdentifier": identifier,
            "supportedCredentialKinds": [
                {"kind": "Key", "factor": "first", "requiresSecondFactor": false}
            ],
            "userVerification": "required",
            "attestation": "none",
            "allowCredentials": {"key": allowed, "passwordProtectedKey": [], "webauthn": []},
            "externalAuthenticationUrl": "",
        }))
    }

    /// `POST /auth/action`: verifies the assertion and issues a user-action token.
    pub fn sign(&mut self, body: &[u8]) -> Result<serde_json::Value, Denied> {
        let sign: SignBody = serde_json::from_slice(body)
            .map_err(|e| denied(400, format!("invalid user action body: {e}")))?;
        // Single use: the challenge is consumed whatever the outcome.
        let challenge = self
            .challenges
            .remove(&sign.challenge_identifier)
            .ok_or_else(|| denied(400, "unknown or already used challengeIdentifier"))?;
        if challenge.issued.elapsed() > TTL {
            return Err(denied(400, "challenge expired"));
        }
        if sign.first_factor.kind != "Key" {
            return Err(denied(400, "firstFactor.kind must be Key"));
        }
        let assertion = &sign.first_factor.credential_assertion;
        let credential = self
            .credentials
            .iter()
            .find(|c| c.id() == assertion.cred_id)
            .ok_or_else(|| {
                denied(
                    401,
                    format!("credential {} not found for this user", assertion.cred_id),
                )
            })?;
        let client_data = URL_SAFE_NO_PAD
            .decode(&assertion.client_data)
            .map_err(|_| denied(400, "clientData is not base64url without padding"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(&assertion.signature)
            .map_err(|_| denied(400, "signature is not base64url without padding"))?;
        let parsed: ClientData = serde_json::from_slice(&client_data)
            .map_err(|_| denied(400, "clientData is not the expected JSON"))?;
        if parsed.kind != "key.get" || parsed.challenge != challenge.challenge {
            return Err(denied(403, "clientData does not match the challenge"));
        }
        if !credential.verify(&client_data, &signature) {
            return Err(denied(403, "invalid credential signature"));
        }
        let token = random_text("ua-", 32);
        self.actions.insert(
            token.clone(),
            UserAction {
                request: challenge.request,
                issued: Instant::now(),
                used: false,
            },
        );
        Ok(serde_json::json!({"userAction": token}))
    }

    /// Checks and consumes a user-action token for the request actually received.
    pub fn consume_user_action(
        &mut self,
        header: Option<&str>,
        request: &ActionRequest,
    ) -> Result<(), Denied> {
        let invalid = |why: &str| denied(403, format!("{USER_ACTION_INVALID}: {why}"));
        let header = header.ok_or_else(|| invalid("no X-DFNS-USERACTION header"))?;
        let action = self
            .actions
            .get_mut(header)
            .ok_or_else(|| invalid("unknown user action token"))?;
        if action.used {
            return Err(denied(400, "user action has already been used"));
        }
        action.used = true;
        if action.issued.elapsed() > TTL {
            return Err(invalid("the user action token expired"));
        }
        if action.request.method != request.method || action.request.path != request.path {
            return Err(invalid("it was signed for another request"));
        }
        if action.request.payload != request.payload {
            return Err(invalid(
                "the signed payload does not match the request body byte for byte",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::CredentialKind;
    use ed25519_dalek::Signer as _;
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;

    fn setup() -> (AuthState, String, ed25519_dalek::SigningKey, String) {
        let cred = TestCredential::generate("cr-1", CredentialKind::Ed25519).unwrap();
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(cred.private_pem()).unwrap();
        let (state, token, expired) =
            AuthState::new(cred, vec![Permission::KeysRead, Permission::KeysExport]);
        (state, token, key, expired)
    }

    fn request(payload: &str) -> ActionRequest {
        ActionRequest {
            method: "POST".into(),
            path: "/keys/k/export".into(),
            payload: payload.into(),
        }
    }

    /// The `/auth/action` body answering a fresh challenge for `payload`: `key` signs as
    /// credential `cred_id`.
    fn answer(
        state: &mut AuthState,
        key: &ed25519_dalek::SigningKey,
        cred_id: &str,
        payload: &str,
    ) -> serde_json::Value {
        let init = serde_json::json!({"userActionPayload": payload, "userActionHttpMethod": "POST",
            "userActionHttpPath": "/keys/k/export", "userActionServerKind": "Api"});
        let reply = state.init(init.to_string().as_bytes()).unwrap();
        let data = format!(
            r#"{{"type":"key.get","challenge":"{}"}}"#,
            reply["challenge"].as_str().unwrap()
        );
        let sig = key.sign(data.as_bytes()).to_bytes();
        serde_json::json!({"challengeIdentifier": reply["challengeIdentifier"],
            "firstFactor": {"kind": "Key", "credentialAssertion": {"credId": cred_id,
            "clientData": URL_SAFE_NO_PAD.encode(&data), "signature": URL_SAFE_NO_PAD.encode(sig)}}})
    }

    fn sign_flow(state: &mut AuthState, key: &ed25519_dalek::SigningKey, payload: &str) -> String {
        let body = answer(state, key, "cr-1", payload);
        let reply = state.sign(body.to_string().as_bytes()).unwrap();
        reply["userAction"].as_str().unwrap().to_owned()
    }

    #[test]
    fn tokens_and_permissions() {
        let (state, token, _, expired) = setup();
        let bearer = format!("Bearer {token}");
        assert!(
            state
                .authorize(Some(&bearer), Some(Permission::KeysExport))
                .is_ok()
        );
        assert_eq!(state.authorize(None, None).unwrap_err().status, 401);
        assert_eq!(
            state
                .authorize(Some("Bearer nope"), None)
                .unwrap_err()
                .status,
            401
        );
        let old = format!("Bearer {expired}");
        assert_eq!(
            state.authorize(Some(&old), None).unwrap_err().message,
            "auth token expired"
        );
        let cred = TestCredential::generate("cr-1", CredentialKind::Ed25519).unwrap();
        let (limited, token, _) = AuthState::new(cred, vec![Permission::KeysRead]);
        let denied = limited
            .authorize(
                Some(&format!("Bearer {token}")),
                Some(Permission::KeysExport),
            )
            .unwrap_err();
        assert_eq!(denied.status, 403);
        assert!(denied.message.contains("Keys:Export"));
    }

    #[test]
    fn user_action_is_single_use_and_bound_to_the_exact_body() {
        let (mut state, _, key, _) = setup();
        let token = sign_flow(&mut state, &key, r#"{"a":1}"#);
        assert!(
            state
                .consume_user_action(Some(&token), &request(r#"{"a":1}"#))
                .is_ok()
        );
        let reused = state
            .consume_user_action(Some(&token), &request(r#"{"a":1}"#))
            .unwrap_err();
        assert_eq!(
            (reused.status, reused.message.as_str()),
            (400, "user action has already been used")
        );
        let token = sign_flow(&mut state, &key, r#"{"a":1}"#);
        let denied = state
            .consume_user_action(Some(&token), &request(r#"{"a": 1}"#))
            .unwrap_err();
        assert_eq!(denied.status, 403);
        assert!(denied.message.starts_with(USER_ACTION_INVALID));
        let missing = state.consume_user_action(None, &request("")).unwrap_err();
        assert_eq!(missing.status, 403);
        assert!(missing.message.starts_with(USER_ACTION_INVALID));
        let unknown = state
            .consume_user_action(Some("ua-nope"), &request(""))
            .unwrap_err();
        assert_eq!(unknown.status, 403);
    }

    #[test]
    fn wrong_signature_and_reused_challenge_are_refused() {
        let (mut state, _, _, _) = setup();
        let other = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let body = answer(&mut state, &other, "cr-1", "{}");
        let denied = state.sign(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            (denied.status, denied.message.as_str()),
            (403, "invalid credential signature")
        );
        assert_eq!(
            state.sign(body.to_string().as_bytes()).unwrap_err().status,
            400
        );
    }

    #[test]
    fn an_unknown_credential_is_401() {
        let (mut state, _, key, _) = setup();
        let body = answer(&mut state, &key, "cr-other", "{}");
        let denied = state.sign(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(denied.status, 401);
        assert!(denied.message.contains("cr-other"), "{}", denied.message);
    }
}
