//! Statuses and bodies as Dfns documents them, seen by any HTTP client: a missing or
//! unknown `X-DFNS-USERACTION` is 403, an unknown credential at `POST /auth/action` is
//! 401, a reused user action is 400, every error body is `{"error": {"id", "status",
//! "message", "details"}}`, and a policy hold's 202 body has only the documented fields
//! of an Approval object.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::scheme::Scheme;
use sandbox::{Fault, KeySpec, Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// One HTTP/1.0 request: returns the status and the body parsed as JSON.
pub(crate) fn call(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    user_action: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let address = sandbox.url().trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    let user_action = user_action
        .map(|t| format!("X-DFNS-USERACTION: {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\n{user_action}Content-Length: {}\r\n\r\n{body}",
        sandbox.token(),
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (_, body) = reply.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap())
}

/// Checks the Dfns error shape and returns its message.
pub(crate) fn error_message(status: u16, body: &Value) -> String {
    let error = body["error"]
        .as_object()
        .expect("an {\"error\": {...}} body");
    let mut members: Vec<&str> = error.keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(members, ["details", "id", "message", "status"], "{body}");
    assert_eq!(error["status"], status);
    error["message"].as_str().unwrap().to_owned()
}

/// The export body for one key, and the key's id.
fn export_body(sandbox: &Sandbox) -> (String, String) {
    let key = &sandbox.keys()[0];
    let body = json!({
        "encryptionKey": DecryptionKey::generate().encryption_key().to_base64(),
        "supportedSchemes": Scheme::ISSUED,
    })
    .to_string();
    (body, key.id.clone())
}

/// Runs `/auth/action/init` and `/auth/action` for `payload` on `path`, signing as
/// `cred_id` with the sandbox credential's key: the status and body of `/auth/action`.
fn sign(sandbox: &Sandbox, path: &str, payload: &str, cred_id: &str) -> (u16, Value) {
    sign_request(sandbox, "POST", path, payload, cred_id)
}

/// As [`sign`], for any method.
pub(crate) fn sign_request(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    payload: &str,
    cred_id: &str,
) -> (u16, Value) {
    let init = json!({"userActionPayload": payload, "userActionHttpMethod": method,
        "userActionHttpPath": path, "userActionServerKind": "Api"});
    let (status, challenge) = call(
        sandbox,
        "POST",
        "/auth/action/init",
        None,
        &init.to_string(),
    );
    assert_eq!(status, 200, "{challenge}");
    let key =
        ed25519_dalek::SigningKey::from_pkcs8_pem(sandbox.credential().private_pem()).unwrap();
    let client_data = json!({"type": "key.get", "challenge": challenge["challenge"],
        "origin": "http://127.0.0.1", "crossOrigin": false})
    .to_string();
    let signature = key.sign(client_data.as_bytes()).to_bytes();
    let assertion = json!({"challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": {"kind": "Key", "credentialAssertion": {"credId": cred_id,
        "clientData": URL_SAFE_NO_PAD.encode(&client_data),
        "signature": URL_SAFE_NO_PAD.encode(signature)}}});
    call(
        sandbox,
        "POST",
        "/auth/action",
        None,
        &assertion.to_string(),
    )
}

fn one_key(config: SandboxConfig) -> Sandbox {
    let keys = vec![KeySpec::new("CGGMP24:secp256k1".parse().unwrap())];
    Sandbox::start(SandboxConfig { keys, ..config }).unwrap()
}

#[test]
fn a_missing_or_unknown_user_action_is_403_and_a_reused_one_400() {
    let sandbox = one_key(SandboxConfig::default());
    let (body, id) = export_body(&sandbox);
    let path = format!("/keys/{id}/export");
    for token in [None, Some("ua-unknown")] {
        let (status, reply) = call(&sandbox, "POST", &path, token, &body);
        assert_eq!(status, 403, "{reply}");
        let message = error_message(403, &reply);
        assert!(
            message.starts_with("user action signature is missing or invalid"),
            "{message}"
        );
    }
    let cred_id = sandbox.credential().id().to_owned();
    let (status, token) = sign(&sandbox, &path, &body, &cred_id);
    assert_eq!(status, 200, "{token}");
    let token = token["userAction"].as_str().unwrap();
    let (status, exported) = call(&sandbox, "POST", &path, Some(token), &body);
    assert_eq!(status, 200, "{exported}");
    assert!(sandbox.keys()[0].exported);
    let (status, reply) = call(&sandbox, "POST", &path, Some(token), &body);
    assert_eq!(
        error_message(status, &reply),
        "user action has already been used"
    );
    assert_eq!(status, 400);
}

#[test]
fn an_unknown_credential_at_auth_action_is_401() {
    let sandbox = one_key(SandboxConfig::default());
    let (body, id) = export_body(&sandbox);
    let (status, reply) = sign(&sandbox, &format!("/keys/{id}/export"), &body, "cr-unknown");
    assert_eq!(status, 401, "{reply}");
    assert!(error_message(401, &reply).contains("cr-unknown"));
    // A bad bearer token is 401 too, in the same shape.
    let address = sandbox.url().trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /keys/{id} HTTP/1.0\r\nAuthorization: Bearer wrong\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.0 401") || head.starts_with("HTTP/1.1 401"));
    error_message(401, &serde_json::from_str(body).unwrap());
}

#[test]
fn a_policy_hold_answers_202_with_the_documented_approval_fields_only() {
    let sandbox = one_key(SandboxConfig::default().fault(Fault::PolicyHold));
    let (body, id) = export_body(&sandbox);
    let path = format!("/keys/{id}/export");
    let cred_id = sandbox.credential().id().to_owned();
    let (_, token) = sign(&sandbox, &path, &body, &cred_id);
    let (status, held) = call(&sandbox, "POST", &path, token["userAction"].as_str(), &body);
    assert_eq!(status, 202, "{held}");
    let mut members: Vec<&str> = held
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "activity",
            "dateCreated",
            "dateUpdated",
            "decisions",
            "evaluatedPolicies",
            "expirationDate",
            "id",
            "initiatorId",
            "status"
        ]
    );
    assert_eq!(held["status"], "Pending");
    assert!(held["id"].as_str().unwrap().starts_with("ap-"));
    assert!(!sandbox.keys()[0].exported);
}
