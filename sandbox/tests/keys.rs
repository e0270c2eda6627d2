//! `POST /keys` and `DELETE /keys/{keyId}` over real HTTP, signed as the online client
//! signs them: a real key is created (its export rebuilds to its public key), deleted,
//! refused without `Keys:Create`, held by a policy, and refused without a user action
//! signed for exactly that request.

use keyexport_shared::keys::DecryptionKey;
use keyexport_shared::scheme::Scheme;
use sandbox::{Fault, KeySpec, Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::statuses::{call, error_message, sign_request};

fn start(config: SandboxConfig) -> Sandbox {
    let keys = vec![KeySpec::new("CGGMP24:secp256k1".parse().unwrap())];
    Sandbox::start(SandboxConfig { keys, ..config }).unwrap()
}

/// Signs `body` for `method path` and sends it: the status and the answer.
fn signed(sandbox: &Sandbox, method: &str, path: &str, body: &str) -> (u16, Value) {
    let cred_id = sandbox.credential().id().to_owned();
    let (status, token) = sign_request(sandbox, method, path, body, &cred_id);
    assert_eq!(status, 200, "{token}");
    call(sandbox, method, path, token["userAction"].as_str(), body)
}

/// The members of a JSON object, sorted.
fn members(value: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

#[test]
fn a_created_key_is_real_exportable_and_deletable() {
    let sandbox = start(SandboxConfig::default());
    for (dfns_scheme, curve, scheme, master) in [
        ("ECDSA", "secp256k1", "CGGMP24:secp256k1", true),
        ("EdDSA", "ed25519", "FROST:ed25519", false),
        ("ECDSA", "stark", "CGGMP24:stark", false),
        ("Schnorr", "secp256k1", "FROST_BITCOIN:secp256k1", false),
    ] {
        let name = "keyexport canary C3M9-T2QW-8XHD-KP4A";
        let body =
            json!({"scheme": dfns_scheme, "curve": curve, "name": name, "masterKey": master})
                .to_string();
        let (status, key) = signed(&sandbox, "POST", "/keys", &body);
        assert_eq!(status, 200, "{key}");
        // Dfns' Create Key answer: the key object.
        assert_eq!(key["scheme"], dfns_scheme);
        assert_eq!(key["curve"], curve);
        assert_eq!(key["name"], name);
        assert_eq!(key["status"], "Active");
        assert_eq!(key["exported"], false);
        assert_eq!(key.get("masterKey").is_some(), master, "{key}");
        let id = key["id"].as_str().unwrap().to_owned();
        let listed = sandbox.keys().into_iter().find(|k| k.id == id).unwrap();
        assert_eq!(listed.scheme, scheme.parse::<Scheme>().unwrap());
        assert_eq!(listed.master_key, master);
        assert_eq!(key["publicKey"], listed.public_key);

        // Exported with an ordinary request body, it rebuilds to the announced key.
        let decryption = DecryptionKey::generate();
        let export = json!({"encryptionKey": decryption.encryption_key().to_base64(),
            "supportedSchemes": Scheme::ISSUED})
        .to_string();
        let (status, response) = signed(&sandbox, "POST", &format!("/keys/{id}/export"), &export);
        assert_eq!(status, 200, "{response}");
        let response =
            keyexport_shared::wire::ExportResponse::from_value(&response).expect("a Dfns export");
        let rebuilt = keyexport_shared::reconstruct::reconstruct(&response, &decryption).unwrap();
        assert_eq!(rebuilt.chain_code.is_some(), master);
        assert_eq!(
            rebuilt.private_key.to_hex().as_str(),
            sandbox.private_key_hex(&id).unwrap().as_str()
        );

        // Deleted with the body Dfns' SDK signs for a DELETE, `{}`.
        let path = format!("/keys/{id}");
        let (status, gone) = signed(&sandbox, "DELETE", &path, "{}");
        assert_eq!(status, 200, "{gone}");
        assert_eq!(
            (gone["id"].as_str(), gone["status"].as_str()),
            (Some(id.as_str()), Some("Archived"))
        );
        assert!(gone["dateDeleted"].is_string(), "{gone}");
        assert!(sandbox.keys().iter().any(|k| k.id == id && k.deleted));
        let (status, again) = signed(&sandbox, "DELETE", &path, "{}");
        assert_eq!(status, 409, "{again}");
        error_message(409, &again);
    }
    // The sandbox's own key was never touched.
    assert!(!sandbox.keys()[0].exported && !sandbox.keys()[0].deleted);
}

#[test]
fn creation_and_deletion_need_a_user_action_for_exactly_that_request() {
    let sandbox = start(SandboxConfig::default());
    let body = json!({"scheme": "ECDSA", "curve": "secp256k1"}).to_string();
    let (status, reply) = call(&sandbox, "POST", "/keys", None, &body);
    assert_eq!(status, 403, "{reply}");
    assert!(error_message(403, &reply).starts_with("user action signature is missing or invalid"));
    // Signed for another body.
    let cred_id = sandbox.credential().id().to_owned();
    let (_, token) = sign_request(&sandbox, "POST", "/keys", "{}", &cred_id);
    let (status, reply) = call(
        &sandbox,
        "POST",
        "/keys",
        token["userAction"].as_str(),
        &body,
    );
    assert_eq!(status, 403, "{reply}");
    // A deletion signed as a POST of the same path.
    let id = sandbox.keys()[0].id.clone();
    let path = format!("/keys/{id}");
    let (_, token) = sign_request(&sandbox, "POST", &path, "{}", &cred_id);
    let (status, reply) = call(
        &sandbox,
        "DELETE",
        &path,
        token["userAction"].as_str(),
        "{}",
    );
    assert_eq!(status, 403, "{reply}");
    assert_eq!(sandbox.keys().len(), 1);
    assert!(!sandbox.keys()[0].deleted);
    // Bodies the sandbox does not serve are refused as invalid, signed or not.
    for bad in [
        json!({"scheme": "EdDSA", "curve": "secp256k1"}),
        json!({"scheme": "ECDSA", "curve": "p256"}),
        json!({"scheme": "ECDSA", "curve": "secp256k1", "deriveFrom": {"keyId": id}}),
        json!({"scheme": "ECDSA", "curve": "secp256k1", "name": "n".repeat(101)}),
    ] {
        let (status, reply) = signed(&sandbox, "POST", "/keys", &bad.to_string());
        assert_eq!(status, 400, "{bad}: {reply}");
        error_message(400, &reply);
    }
    let (status, reply) = signed(&sandbox, "DELETE", "/keys/key-unknown", "{}");
    assert_eq!(status, 404, "{reply}");
    assert_eq!(sandbox.keys().len(), 1);
}

#[test]
fn without_keys_create_creation_is_403_naming_the_permission() {
    let sandbox = start(SandboxConfig::default().fault(Fault::MissingCreatePermission));
    let body = json!({"scheme": "ECDSA", "curve": "secp256k1"}).to_string();
    let cred_id = sandbox.credential().id().to_owned();
    let (_, token) = sign_request(&sandbox, "POST", "/keys", &body, &cred_id);
    let (status, reply) = call(
        &sandbox,
        "POST",
        "/keys",
        token["userAction"].as_str(),
        &body,
    );
    assert_eq!(status, 403, "{reply}");
    assert_eq!(
        error_message(403, &reply),
        "Forbidden: missing permissions: Keys:Create"
    );
    assert_eq!(sandbox.keys().len(), 1);
}

#[test]
fn a_held_creation_answers_202_with_the_approval_fields_and_creates_nothing() {
    let sandbox = start(SandboxConfig::default().fault(Fault::CreateKeyHeld));
    let body = json!({"scheme": "EdDSA", "curve": "ed25519", "name": "canary"}).to_string();
    let (status, held) = signed(&sandbox, "POST", "/keys", &body);
    assert_eq!(status, 202, "{held}");
    assert_eq!(
        members(&held),
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
    assert_eq!(held["activity"]["kind"], "Keys:Create");
    assert_eq!(sandbox.keys().len(), 1);
}
