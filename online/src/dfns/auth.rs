//! User-action signing: the three-call flow that authorizes one state-changing request.
//!
//! `dfns-auth.md` ("User-action signing"): `POST /auth/action/init` with the exact body
//! text to be sent, sign `{"type":"key.get","challenge":…}` with the credential,
//! `POST /auth/action` with the assertion, and receive a single-use, short-lived token
//! for the `X-DFNS-USERACTION` header. The whole round is repeatable (it changes nothing
//! at Dfns but an unused challenge), so a transient failure restarts it from the
//! challenge; it is run right before the export so the token is fresh.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::client::DfnsClient;
use super::credential::Credential;
use super::errors::{ApiError, ApiErrorKind, Call};

/// The request a user action authorizes.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// HTTP method (`POST`).
    pub method: &'static str,
    /// The URL path, without host, query or deployment prefix.
    pub path: &'a str,
    /// The exact body text that will be sent.
    pub body: &'a str,
}

/// A user-action token for `X-DFNS-USERACTION`. Never printed.
pub struct UserActionToken(Zeroizing<String>);

impl UserActionToken {
    /// The header value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserActionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserActionToken(<redacted>)")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitBody<'a> {
    user_action_payload: &'a str,
    user_action_http_method: &'a str,
    user_action_http_path: &'a str,
    user_action_server_kind: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitReply {
    challenge: String,
    challenge_identifier: String,
    #[serde(default)]
    allow_credentials: Option<AllowCredentials>,
}

#[derive(Deserialize)]
struct AllowCredentials {
    #[serde(default)]
    key: Vec<AllowedCredential>,
}

#[derive(Deserialize)]
struct AllowedCredential {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignBody<'a> {
    challenge_identifier: &'a str,
    first_factor: FirstFactor<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FirstFactor<'a> {
    kind: &'a str,
    credential_assertion: Assertion<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Assertion<'a> {
    cred_id: &'a str,
    client_data: String,
    signature: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignReply {
    user_action: String,
}

/// The clientData text signed for a challenge (step 2 of the flow).
pub fn client_data(challenge: &str) -> String {
    #[derive(Serialize)]
    struct ClientData<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        challenge: &'a str,
    }
    serde_json::to_string(&ClientData {
        kind: "key.get",
        challenge,
    })
    .expect("serializing two strings to JSON cannot fail")
}

/// Obtains a user-action token for `request`, retrying the whole round on transient
/// failures.
pub fn sign_user_action(
    client: &DfnsClient,
    credential: &Credential,
    request: SignedRequest<'_>,
) -> Result<UserActionToken, ApiError> {
    client.with_retries(|| sign_round(client, credential, request))
}

fn sign_round(
    client: &DfnsClient,
    credential: &Credential,
    request: SignedRequest<'_>,
) -> Result<UserActionToken, ApiError> {
    let init = serde_json::to_vec(&InitBody {
        user_action_payload: request.body,
        user_action_http_method: request.method,
        user_action_http_path: request.path,
        user_action_server_kind: "Api",
    })
    .expect("serializing strings to JSON cannot fail");
    let reply: InitReply = client
        .post(&Call::ActionInit, "/auth/action/init", &init, None)?
        .json(Call::ActionInit)?;

    if let Some(allowed) = &reply.allow_credentials
        && !allowed.key.iter().any(|c| c.id == credential.id())
    {
        return Err(ApiError {
            call: Call::ActionInit,
            kind: ApiErrorKind::CredentialNotAllowed {
                cred_id: credential.id().to_owned(),
                allowed: allowed.key.iter().map(|c| c.id.clone()).collect(),
            },
        });
    }

    let client_data = client_data(&reply.challenge);
    let signature = credential.sign(client_data.as_bytes());
    let body = serde_json::to_vec(&SignBody {
        challenge_identifier: &reply.challenge_identifier,
        first_factor: FirstFactor {
            kind: "Key",
            credential_assertion: Assertion {
                cred_id: credential.id(),
                client_data: URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                signature: URL_SAFE_NO_PAD.encode(signature),
            },
        },
    })
    .expect("serializing strings to JSON cannot fail");
    let reply: SignReply = client
        .post(&Call::ActionSign, "/auth/action", &body, None)?
        .json(Call::ActionSign)?;
    if reply.user_action.is_empty() {
        return Err(ApiError {
            call: Call::ActionSign,
            kind: ApiErrorKind::InvalidResponse("empty userAction token".into()),
        });
    }
    Ok(UserActionToken(Zeroizing::new(reply.user_action)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_data_is_the_documented_json() {
        let text = client_data("abc\"def");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["type"], "key.get");
        assert_eq!(value["challenge"], "abc\"def");
        assert_eq!(text, r#"{"type":"key.get","challenge":"abc\"def"}"#);
    }

    #[test]
    fn init_body_carries_the_exact_payload_text() {
        let payload = r#"{"encryptionKey":"AQ==","supportedSchemes":[]}"#;
        let init = serde_json::to_value(InitBody {
            user_action_payload: payload,
            user_action_http_method: "POST",
            user_action_http_path: "/keys/key-1/export",
            user_action_server_kind: "Api",
        })
        .unwrap();
        assert_eq!(init["userActionPayload"], payload);
        assert_eq!(init["userActionHttpPath"], "/keys/key-1/export");
        assert_eq!(init["userActionServerKind"], "Api");
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = UserActionToken(Zeroizing::new("secret-token".into()));
        assert!(!format!("{token:?}").contains("secret"));
    }
}
