//! Create Key and Delete Key: the canary ceremony's throwaway key.
//!
//! Before the real export, a canary ceremony creates a key of the real key's signature
//! scheme and curve (`POST /keys`, permission `Keys:Create`), exports it with the
//! ceremony's request, and deletes it once the offline side proved it rebuilt it
//! (`DELETE /keys/{keyId}`, permission `Keys:Delete`). Both are user actions, signed
//! exactly like the export (`dfns-auth.md`); Dfns' TypeScript SDK signs and sends `{}` as
//! the body of a DELETE, and so does this module. Both answer the key object (Dfns'
//! "Create Key" and "Delete Key" reference: HTTP 200; a deleted key has `dateDeleted`).
//! Neither is retried: a second creation could leave a second key behind.
//!
//! A policy may hold either for approval (HTTP 202: [`CreateOutcome::Held`],
//! [`DeleteOutcome::Held`]). A refusal for lack of the permission is classified as
//! [`CanaryKeyError::MissingPermission`], naming it, so the operator learns what to ask
//! for (or that `--skip-canary` exists) instead of reading a bare 403.

use keyexport_shared::canary::canary_key_name;
use keyexport_shared::files::{CeremonyId, KeyId};
use serde::Serialize;

use super::auth::{SignedRequest, sign_user_action};
use super::client::DfnsClient;
use super::credential::Credential;
use super::errors::{ApiError, ApiErrorKind, Call, DfnsMessage};
use super::keys::KeyInfo;

/// The body of `POST /keys` for a canary: the real key's scheme and curve, the canary's
/// name, and `masterKey: true` when the real key is an HD master key (so the canary's
/// shares carry a chain code as the real key's will).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateKeyBody {
    /// Dfns' signature scheme name (`ECDSA`, `EdDSA`, `Schnorr`, `DH`).
    pub scheme: String,
    /// The curve (`secp256k1`, `ed25519`, `stark`).
    pub curve: String,
    /// The key's name in Dfns.
    pub name: String,
    /// Asked for an HD master key; left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key: Option<bool>,
}

impl CreateKeyBody {
    /// The canary of `real` (the preflight's key object) for `ceremony_id`.
    pub fn canary_of(real: &KeyInfo, ceremony_id: &CeremonyId) -> CreateKeyBody {
        CreateKeyBody {
            scheme: real.scheme.clone(),
            curve: real.curve.clone(),
            name: canary_key_name(ceremony_id),
            master_key: real.is_master_key().then_some(true),
        }
    }

    /// The exact bytes signed and sent.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a struct of strings serializes to JSON")
    }
}

/// A key Dfns created, checked against what was asked.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// Its id, validated for use in a URL path.
    pub id: KeyId,
    /// The key object Dfns answered.
    pub info: KeyInfo,
}

/// What `POST /keys` returned.
#[derive(Debug)]
pub enum CreateOutcome {
    /// HTTP 200: the key exists.
    Created(Box<CreatedKey>),
    /// HTTP 202: a policy holds the creation for approval; the body, verbatim. No key
    /// exists yet.
    Held(Vec<u8>),
}

/// What `DELETE /keys/{keyId}` returned.
#[derive(Debug)]
pub enum DeleteOutcome {
    /// HTTP 200: the key object, now deleted.
    Deleted(Box<KeyInfo>),
    /// HTTP 202: a policy holds the deletion for approval; the body, verbatim.
    Held(Vec<u8>),
}

/// A failed canary key call.
#[derive(Debug, thiserror::Error)]
pub enum CanaryKeyError {
    /// HTTP 403 on the call itself (after a user action that Dfns issued): the token's
    /// user or service account lacks the permission.
    #[error(
        "{call}: permission denied (HTTP 403): the token's user or service account lacks \
         the permission {permission}{message}"
    )]
    MissingPermission {
        /// The call refused.
        call: Call,
        /// The permission it needs (`Keys:Create`, `Keys:Delete`).
        permission: &'static str,
        /// Dfns' message.
        message: DfnsMessage,
    },
    /// Any other failure, classified as for every Dfns call.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Signs and sends `POST /keys` once.
///
/// # Errors
/// [`CanaryKeyError::MissingPermission`] without `Keys:Create`; [`CanaryKeyError::Api`]
/// for any other failure, including an answer that is not the key asked for.
pub fn create_key(
    client: &DfnsClient,
    credential: &Credential,
    body: &CreateKeyBody,
) -> Result<CreateOutcome, CanaryKeyError> {
    let call = Call::CreateKey;
    let bytes = body.to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    let request = SignedRequest {
        method: "POST",
        path: "/keys",
        body: &text,
    };
    let token = sign_user_action(client, credential, request)?;
    let reply = client.post(&call, "/keys", &bytes, Some(token.as_str()))?;
    match reply.status {
        200 => {
            let info: KeyInfo = reply.json(call.clone())?;
            check_created(&info, body)
                .map(|id| CreateOutcome::Created(Box::new(CreatedKey { id, info })))
                .map_err(|reason| invalid(call, reason))
        }
        202 => Ok(CreateOutcome::Held(reply.body)),
        _ => Err(classify(reply.into_error(call))),
    }
}

/// Signs and sends `DELETE /keys/{keyId}` once, with the body `{}`.
///
/// # Errors
/// [`CanaryKeyError::MissingPermission`] without `Keys:Delete`; [`CanaryKeyError::Api`]
/// for any other failure, including an answer about another key.
pub fn delete_key(
    client: &DfnsClient,
    credential: &Credential,
    key_id: &KeyId,
) -> Result<DeleteOutcome, CanaryKeyError> {
    const BODY: &str = "{}";
    let call = Call::DeleteKey(key_id.as_str().to_owned());
    let path = format!("/keys/{}", key_id.as_str());
    let request = SignedRequest {
        method: "DELETE",
        path: &path,
        body: BODY,
    };
    let token = sign_user_action(client, credential, request)?;
    let reply = client.delete(&call, &path, BODY.as_bytes(), Some(token.as_str()))?;
    match reply.status {
        200 => {
            let info: KeyInfo = reply.json(call.clone())?;
            if info.id == key_id.as_str() {
                Ok(DeleteOutcome::Deleted(Box::new(info)))
            } else {
                Err(invalid(
                    call,
                    format!("asked to delete key {key_id}, got key {}", info.id),
                ))
            }
        }
        202 => Ok(DeleteOutcome::Held(reply.body)),
        _ => Err(classify(reply.into_error(call))),
    }
}

/// The created key's id, if the answer is the key asked for.
fn check_created(info: &KeyInfo, asked: &CreateKeyBody) -> Result<KeyId, String> {
    let id = KeyId::new(&info.id).map_err(|e| format!("the new key's id: {e}"))?;
    if info.scheme != asked.scheme || info.curve != asked.curve {
        return Err(format!(
            "asked for a {} key on {}, got {} on {}",
            asked.scheme, asked.curve, info.scheme, info.curve
        ));
    }
    if !info.is_active() {
        return Err(format!(
            "the new key's status is {:?}, not Active",
            info.status
        ));
    }
    if asked.master_key == Some(true) && !info.is_master_key() {
        return Err("asked for an HD master key, got a key without masterKey: true".into());
    }
    Ok(id)
}

fn invalid(call: Call, reason: String) -> CanaryKeyError {
    CanaryKeyError::Api(ApiError {
        call,
        kind: ApiErrorKind::InvalidResponse(reason),
    })
}

/// A 403 on the call is the missing permission, unless Dfns says it is the user action
/// (it answers 403 for both).
fn classify(error: ApiError) -> CanaryKeyError {
    match (error.kind, error.call.permission()) {
        (ApiErrorKind::Forbidden(message), Some(permission))
            if !message
                .text()
                .is_some_and(|t| t.to_ascii_lowercase().contains("user action")) =>
        {
            CanaryKeyError::MissingPermission {
                call: error.call,
                permission,
                message,
            }
        }
        (kind, _) => CanaryKeyError::Api(ApiError {
            call: error.call,
            kind,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dfns::client::{AuthToken, BaseUrl, RetryPolicy, Timeouts};
    use sandbox::{Fault, KeySpec, Sandbox, SandboxConfig};

    fn sandbox(faults: &[Fault]) -> Sandbox {
        let mut real = KeySpec::new("CGGMP24:secp256k1".parse().unwrap());
        real.master_key = true;
        let mut config = SandboxConfig::with_keys(vec![real]);
        for fault in faults {
            config = config.fault(fault.clone());
        }
        Sandbox::start(config).unwrap()
    }

    fn connect(sandbox: &Sandbox) -> (DfnsClient, Credential) {
        let client = DfnsClient::new(
            BaseUrl::parse(sandbox.url()).unwrap(),
            AuthToken::new(sandbox.token()).unwrap(),
            Timeouts::default(),
            None,
            RetryPolicy::default(),
            Box::new(|_| {}),
        );
        let credential = Credential::from_pem(
            sandbox.credential().id(),
            sandbox.credential().private_pem(),
        )
        .unwrap();
        (client, credential)
    }

    fn real_key(sandbox: &Sandbox, client: &DfnsClient) -> KeyInfo {
        let id = KeyId::new(&sandbox.keys()[0].id).unwrap();
        super::super::keys::get_key(client, &id).unwrap()
    }

    #[test]
    fn the_canary_of_a_master_key_is_created_like_it_then_deleted() {
        let sandbox = sandbox(&[]);
        let (client, credential) = connect(&sandbox);
        let real = real_key(&sandbox, &client);
        let ceremony = CeremonyId::generate();
        let body = CreateKeyBody::canary_of(&real, &ceremony);
        assert_eq!(
            String::from_utf8(body.to_bytes()).unwrap(),
            format!(
                r#"{{"scheme":"ECDSA","curve":"secp256k1","name":"keyexport canary {ceremony}","masterKey":true}}"#
            )
        );
        let CreateOutcome::Created(canary) = create_key(&client, &credential, &body).unwrap()
        else {
            panic!("held")
        };
        assert_ne!(canary.id.as_str(), real.id);
        let listed = sandbox.keys();
        let made = listed.iter().find(|k| k.id == canary.id.as_str()).unwrap();
        assert!(made.master_key && !made.deleted);
        assert_eq!(canary.info.public_key, made.public_key);
        assert_eq!(canary.info.name.as_deref(), Some(body.name.as_str()));

        let DeleteOutcome::Deleted(gone) = delete_key(&client, &credential, &canary.id).unwrap()
        else {
            panic!("held")
        };
        assert_eq!(
            (gone.id.as_str(), gone.status.as_str()),
            (canary.id.as_str(), "Archived")
        );
        assert!(
            sandbox
                .keys()
                .iter()
                .any(|k| k.id == canary.id.as_str() && k.deleted)
        );
        // The real key was read, never touched.
        assert!(!sandbox.keys()[0].exported && !sandbox.keys()[0].deleted);
        let methods: Vec<(String, String)> = sandbox
            .requests()
            .into_iter()
            .filter(|r| !r.path.starts_with("/auth/"))
            .map(|r| (r.method, r.path))
            .collect();
        assert_eq!(
            methods,
            [
                ("GET".to_owned(), format!("/keys/{}", real.id)),
                ("POST".to_owned(), "/keys".to_owned()),
                ("DELETE".to_owned(), format!("/keys/{}", canary.id)),
            ]
        );
        // A second deletion is Dfns' (here the sandbox's) refusal, not a permission issue.
        let again = delete_key(&client, &credential, &canary.id).unwrap_err();
        assert!(
            matches!(again, CanaryKeyError::Api(ref e) if matches!(e.kind, ApiErrorKind::Conflict(_))),
            "{again}"
        );
    }

    #[test]
    fn without_keys_create_the_refusal_names_the_permission() {
        let sandbox = sandbox(&[Fault::MissingCreatePermission]);
        let (client, credential) = connect(&sandbox);
        let body = CreateKeyBody::canary_of(&real_key(&sandbox, &client), &CeremonyId::generate());
        let refused = create_key(&client, &credential, &body).unwrap_err();
        assert!(
            matches!(
                refused,
                CanaryKeyError::MissingPermission {
                    permission: "Keys:Create",
                    ..
                }
            ),
            "{refused}"
        );
        assert_eq!(
            refused.to_string(),
            "POST /keys: permission denied (HTTP 403): the token's user or service account \
             lacks the permission Keys:Create: Dfns says \"Forbidden: missing permissions: \
             Keys:Create\""
        );
        assert_eq!(sandbox.keys().len(), 1);
    }

    #[test]
    fn a_held_creation_is_reported_as_held_with_its_body() {
        let sandbox = sandbox(&[Fault::CreateKeyHeld]);
        let (client, credential) = connect(&sandbox);
        let body = CreateKeyBody::canary_of(&real_key(&sandbox, &client), &CeremonyId::generate());
        let CreateOutcome::Held(held) = create_key(&client, &credential, &body).unwrap() else {
            panic!("created despite the hold")
        };
        let held: serde_json::Value = serde_json::from_slice(&held).unwrap();
        assert_eq!(held["status"], "Pending");
        assert_eq!(held["activity"]["kind"], "Keys:Create");
        assert_eq!(sandbox.keys().len(), 1);
    }

    #[test]
    fn a_held_deletion_is_reported_as_held_and_the_key_stays() {
        let sandbox = sandbox(&[Fault::DeleteKeyHeld]);
        let (client, credential) = connect(&sandbox);
        let body = CreateKeyBody::canary_of(&real_key(&sandbox, &client), &CeremonyId::generate());
        let CreateOutcome::Created(canary) = create_key(&client, &credential, &body).unwrap()
        else {
            panic!("held")
        };
        let DeleteOutcome::Held(held) = delete_key(&client, &credential, &canary.id).unwrap()
        else {
            panic!("deleted despite the hold")
        };
        let held: serde_json::Value = serde_json::from_slice(&held).unwrap();
        assert_eq!(held["activity"]["kind"], "Keys:Delete");
        assert!(sandbox.keys().iter().all(|k| !k.deleted));
    }

    #[test]
    fn a_creation_that_fails_once_is_not_retried() {
        let sandbox = sandbox(&[Fault::FailOnce {
            status: sandbox::FailStatus::Internal,
            route: sandbox::Route::CreateKey,
        }]);
        let (client, credential) = connect(&sandbox);
        let body = CreateKeyBody::canary_of(&real_key(&sandbox, &client), &CeremonyId::generate());
        let failed = create_key(&client, &credential, &body).unwrap_err();
        assert!(
            matches!(failed, CanaryKeyError::Api(ref e) if e.call == Call::CreateKey && e.may_have_reached_server()),
            "{failed}"
        );
        let posts = sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/keys")
            .count();
        assert_eq!(posts, 1);
    }

    #[test]
    fn a_403_about_the_user_action_stays_a_plain_refusal() {
        let error = ApiError::from_status(
            Call::CreateKey,
            403,
            br#"{"error":{"message":"user action signature is missing or invalid: x"}}"#,
            None,
            None,
        );
        assert!(matches!(classify(error), CanaryKeyError::Api(_)));
        let error = ApiError::from_status(Call::DeleteKey("k".into()), 403, b"", None, None);
        assert!(matches!(
            classify(error),
            CanaryKeyError::MissingPermission {
                permission: "Keys:Delete",
                ..
            }
        ));
        let error = ApiError::from_status(Call::ActionSign, 403, b"", None, None);
        assert!(matches!(classify(error), CanaryKeyError::Api(_)));
    }

    #[test]
    fn an_answer_that_is_not_the_key_asked_for_is_refused() {
        let info: KeyInfo = serde_json::from_str(
            r#"{"id":"key-1","scheme":"EdDSA","curve":"ed25519","publicKey":"ab","status":"Active"}"#,
        )
        .unwrap();
        let asked = CreateKeyBody {
            scheme: "ECDSA".into(),
            curve: "secp256k1".into(),
            name: "n".into(),
            master_key: None,
        };
        assert!(
            check_created(&info, &asked)
                .unwrap_err()
                .contains("asked for a ECDSA key")
        );
        let master = CreateKeyBody {
            scheme: "EdDSA".into(),
            curve: "ed25519".into(),
            master_key: Some(true),
            ..asked
        };
        assert!(
            check_created(&info, &master)
                .unwrap_err()
                .contains("HD master key")
        );
        let bad_id: KeyInfo = serde_json::from_str(
            r#"{"id":"key/../x","scheme":"EdDSA","curve":"ed25519","publicKey":"ab","status":"Active"}"#,
        )
        .unwrap();
        assert!(check_created(&bad_id, &master).is_err());
    }
}
