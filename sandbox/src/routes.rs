//! Routing and responders: a `match` on (method, path), one function per endpoint, and
//! one named responder per fault.
//!
//! Order of checks on the export mirrors Dfns: token (401), permission (403), user
//! action (403, or 400 when reused), feature enabled (402), body (400), key (404),
//! already exported (409), scheme listed (400), policy (202), then the export itself
//! (200). Create Key (`POST /keys`) and Delete Key (`DELETE /keys/{keyId}`) follow the
//! same order: token (401), permission `Keys:Create` / `Keys:Delete` (403), user action
//! (403 or 400), body (400), key (404), already deleted (409), policy (202), then the
//! action (200, the key object as Dfns' Create Key and Delete Key answer
//! it). Every error body is Dfns' `{"error": {"id", "status", "message", "details"}}`.

use keyexport_shared::keys::EncryptionKey;
use keyexport_shared::scheme::Curve;
use keyexport_shared::share::DocumentFormat;
use keyexport_shared::wire::ExportRequestBody;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{ActionRequest, AuthState, Denied, Permission};
use crate::config::{FailStatus, Fault, KeySpec, Route};
use crate::keystore::{ExportShape, KeyRecord, created_scheme};

/// The longest key name Dfns accepts (Create Key, `name`: "Maximum length: 100").
const MAX_KEY_NAME: usize = 100;

/// One HTTP request as the router sees it.
#[derive(Debug)]
pub struct Incoming {
    /// Method.
    pub method: String,
    /// Path (query removed).
    pub path: String,
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// `X-DFNS-USERACTION` header.
    pub user_action: Option<String>,
    /// Body bytes, as received.
    pub body: Vec<u8>,
}

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Status.
    pub status: u16,
    /// JSON body bytes.
    pub body: Vec<u8>,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Outgoing {
    fn json(status: u16, value: &Value) -> Self {
        Outgoing {
            status,
            body: value.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    /// A Dfns-shaped error: `{"error": {"id", "status", "message", "details"}}`.
    pub fn error(status: u16, message: &str) -> Self {
        Outgoing::json(
            status,
            &json!({"error": {"id": crate::auth::random_text("err-", 8), "status": status,
                              "message": message, "details": {}}}),
        )
    }
}

impl From<Denied> for Outgoing {
    fn from(d: Denied) -> Self {
        Outgoing::error(d.status, &d.message)
    }
}

/// The mutable state behind the routes.
#[derive(Debug)]
pub struct State {
    /// Tokens, credentials, challenges, user actions.
    pub auth: AuthState,
    /// Keys.
    pub keys: Vec<KeyRecord>,
    /// Faults still armed (fail-once faults disarm after firing).
    pub faults: Vec<Fault>,
}

/// Which route a request is for, if any.
pub fn route_of(method: &str, path: &str) -> Option<(Route, Option<String>)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["keys", id]) => Some((Route::GetKey, Some((*id).to_owned()))),
        ("POST", ["keys", id, "export"]) => Some((Route::Export, Some((*id).to_owned()))),
        ("POST", ["auth", "action", "init"]) => Some((Route::ActionInit, None)),
        ("POST", ["auth", "action"]) => Some((Route::Action, None)),
        ("POST", ["keys"]) => Some((Route::CreateKey, None)),
        ("DELETE", ["keys", id]) => Some((Route::DeleteKey, Some((*id).to_owned()))),
        _ => None,
    }
}

/// Answers one request.
pub fn handle(state: &mut State, request: &Incoming) -> Outgoing {
    let Some((route, key_id)) = route_of(&request.method, &request.path) else {
        return Outgoing::error(
            404,
            &format!("no route {} {}", request.method, request.path),
        );
    };
    if let Some(status) = take_fail_once(state, route) {
        return fail_once(status);
    }
    let result = match (route, key_id) {
        (Route::GetKey, Some(id)) => get_key(state, request, &id),
        (Route::ActionInit, _) => action_init(state, request),
        (Route::Action, _) => action_sign(state, request),
        (Route::Export, Some(id)) => export(state, request, &id),
        (Route::CreateKey, _) => create_key(state, request),
        (Route::DeleteKey, Some(id)) => delete_key(state, request, &id),
        _ => Err(Outgoing::error(404, "no such route")),
    };
    result.unwrap_or_else(|e| e)
}

fn take_fail_once(state: &mut State, route: Route) -> Option<FailStatus> {
    let position = state
        .faults
        .iter()
        .position(|f| matches!(f, Fault::FailOnce { route: r, .. } if *r == route))?;
    match state.faults.remove(position) {
        Fault::FailOnce { status, .. } => Some(status),
        _ => None,
    }
}

/// Fault responder `FailOnce`: 500 as a crashed backend, or 429 with `Retry-After: 1`.
fn fail_once(status: FailStatus) -> Outgoing {
    match status {
        FailStatus::Internal => Outgoing::error(500, "Internal Server Error (sandbox fault)"),
        FailStatus::RateLimited => {
            let mut out = Outgoing::error(429, "Too Many Requests (sandbox fault)");
            out.headers.push(("Retry-After", "1".into()));
            out
        }
    }
}

fn authorize(state: &State, request: &Incoming, permission: Permission) -> Result<(), Outgoing> {
    state
        .auth
        .authorize(request.authorization.as_deref(), Some(permission))
        .map_err(Outgoing::from)
}

fn find_key(state: &State, id: &str) -> Result<usize, Outgoing> {
    state
        .keys
        .iter()
        .position(|k| k.id == id)
        .ok_or_else(|| Outgoing::error(404, &format!("Key {id} not found")))
}

fn get_key(state: &mut State, request: &Incoming, id: &str) -> Result<Outgoing, Outgoing> {
    authorize(state, request, Permission::KeysRead)?;
    let index = find_key(state, id)?;
    Ok(Outgoing::json(200, &state.keys[index].to_json()))
}

fn action_init(state: &mut State, request: &Incoming) -> Result<Outgoing, Outgoing> {
    state
        .auth
        .authorize(request.authorization.as_deref(), None)
        .map_err(Outgoing::from)?;
    let reply = state.auth.init(&request.body)?;
    Ok(Outgoing::json(200, &reply))
}

fn action_sign(state: &mut State, request: &Incoming) -> Result<Outgoing, Outgoing> {
    state
        .auth
        .authorize(request.authorization.as_deref(), None)
        .map_err(Outgoing::from)?;
    let reply = state.auth.sign(&request.body)?;
    Ok(Outgoing::json(200, &reply))
}

fn export(state: &mut State, request: &Incoming, id: &str) -> Result<Outgoing, Outgoing> {
    if state.faults.contains(&Fault::MissingExportPermission) {
        return Err(missing_export_permission());
    }
    authorize_action(state, request, Permission::KeysExport)?;
    if state.faults.contains(&Fault::ExportNotEnabled) {
        return Err(export_not_enabled());
    }
    let body = ExportRequestBody::from_json(&request.body)
        .map_err(|e| Outgoing::error(400, &format!("invalid export request body: {e}")))?;
    let index = find_key(state, id)?;
    let key = &state.keys[index];
    if key.deleted {
        return Err(deleted(id));
    }
    if key.exported {
        return Err(Outgoing::error(
            409,
            &format!("Key {id} has already been exported"),
        ));
    }
    if !body.supported_schemes.contains(&key.scheme) {
        return Err(Outgoing::error(
            400,
            &format!("the key's scheme {} is not in supportedSchemes", key.scheme),
        ));
    }
    if state.faults.contains(&Fault::PolicyHold) {
        return Ok(policy_hold(json!({"kind": "Keys:Export", "keyId": id})));
    }
    let response = deal(state, index, &body.encryption_key)?;
    state.keys[index].exported = true;
    Ok(Outgoing::json(200, &response))
}

/// The body of `POST /keys` the sandbox serves: Dfns' documented fields it implements.
/// `deriveFrom`, `storeId`, `delegateTo` and `delayDelegation` are refused as unknown
/// (HTTP 400): the ceremony never sends them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateKeyBody {
    scheme: String,
    curve: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    master_key: Option<bool>,
}

/// Checks the bearer token and `permission`, then consumes the user action signed for
/// exactly this request.
fn authorize_action(
    state: &mut State,
    request: &Incoming,
    permission: Permission,
) -> Result<(), Outgoing> {
    authorize(state, request, permission)?;
    let payload = String::from_utf8(request.body.clone())
        .map_err(|_| Outgoing::error(400, "the body is not UTF-8"))?;
    state.auth.consume_user_action(
        request.user_action.as_deref(),
        &ActionRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            payload,
        },
    )?;
    Ok(())
}

/// `POST /keys`: a new 2-of-3 key from the dealer, answered with its key object.
fn create_key(state: &mut State, request: &Incoming) -> Result<Outgoing, Outgoing> {
    authorize_action(state, request, Permission::KeysCreate)?;
    let body: CreateKeyBody = serde_json::from_slice(&request.body)
        .map_err(|e| Outgoing::error(400, &format!("invalid create key body: {e}")))?;
    let curve: Curve = body
        .curve
        .parse()
        .map_err(|_| Outgoing::error(400, &format!("unknown curve {:?}", body.curve)))?;
    let scheme = created_scheme(&body.scheme, curve).ok_or_else(|| {
        Outgoing::error(
            400,
            &format!("scheme {:?} is not available on curve {curve}", body.scheme),
        )
    })?;
    if body
        .name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_KEY_NAME)
    {
        return Err(Outgoing::error(
            400,
            &format!("name is longer than {MAX_KEY_NAME} characters"),
        ));
    }
    if state.faults.contains(&Fault::CreateKeyHeld) {
        return Ok(policy_hold(
            json!({"kind": "Keys:Create", "scheme": body.scheme, "curve": curve}),
        ));
    }
    let spec = KeySpec {
        name: body.name,
        master_key: body.master_key.unwrap_or(false),
        ..KeySpec::new(scheme)
    };
    let mut key = KeyRecord::create(&spec)
        .map_err(|e| Outgoing::error(500, &format!("sandbox bug: cannot create the key: {e}")))?;
    key.created = true;
    let reply = key.to_json();
    state.keys.push(key);
    Ok(Outgoing::json(200, &reply))
}

/// `DELETE /keys/{keyId}`: marks the key deleted, answered with its key object
/// (`status` "Archived", `dateDeleted`).
fn delete_key(state: &mut State, request: &Incoming, id: &str) -> Result<Outgoing, Outgoing> {
    authorize_action(state, request, Permission::KeysDelete)?;
    let index = find_key(state, id)?;
    if state.keys[index].deleted {
        return Err(deleted(id));
    }
    if state.faults.contains(&Fault::DeleteKeyHeld) {
        return Ok(policy_hold(json!({"kind": "Keys:Delete", "keyId": id})));
    }
    state.keys[index].deleted = true;
    Ok(Outgoing::json(200, &state.keys[index].to_json()))
}

/// A deleted key: HTTP 409. (Dfns does not document what it answers for a deleted key;
/// the sandbox's choice.)
fn deleted(id: &str) -> Outgoing {
    Outgoing::error(409, &format!("Key {id} has been deleted"))
}

/// Deals the export and applies the response-shaping faults.
fn deal(state: &State, index: usize, to: &EncryptionKey) -> Result<Value, Outgoing> {
    let key = &state.keys[index];
    let extra = state
        .faults
        .iter()
        .find_map(|f| match f {
            Fault::ExtraSigners(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0);
    let shape = ExportShape {
        extra_wrong: extra,
        other_chain_code: state.faults.contains(&Fault::OtherChainCode),
        format: if state.faults.contains(&Fault::LegacyShares) {
            DocumentFormat::Legacy
        } else {
            DocumentFormat::Current
        },
    };
    let mut response = key
        .export(to, &shape)
        .ok_or_else(|| Outgoing::error(500, "sandbox bug: the dealer did not reproduce the key"))?;
    for fault in &state.faults {
        match fault {
            Fault::TamperShare => tamper_share(&mut response),
            Fault::DropShare => drop_share(&mut response),
            Fault::WrongPublicKey => response.public_key = key.unrelated_public_key(),
            Fault::CanaryShareFormat if key.created => unreadable_shares(&mut response, to),
            _ => {}
        }
    }
    Ok(response.to_json_value())
}

/// Fault responder `TamperShare`: flips one ciphertext byte of the first share.
fn tamper_share(response: &mut keyexport_shared::wire::ExportResponse) {
    if let Some(byte) = response
        .shares
        .first_mut()
        .and_then(|s| s.ciphertext.first_mut())
    {
        *byte ^= 0x01;
    }
}

/// Fault responder `CanaryShareFormat`: every share encrypted correctly, but holding a
/// document without the fields a share document has.
fn unreadable_shares(response: &mut keyexport_shared::wire::ExportResponse, to: &EncryptionKey) {
    const DOCUMENT: &[u8] = br#"{"version":1,"shareFormat":"not known to this reader"}"#;
    for share in &mut response.shares {
        share.ciphertext =
            keyexport_shared::ecies::encrypt_share(to, DOCUMENT, &mut rand_core::OsRng);
    }
}

/// Fault responder `DropShare`: leaves the last share out.
fn drop_share(response: &mut keyexport_shared::wire::ExportResponse) {
    response.shares.pop();
}

/// Fault responders `PolicyHold`, `CreateKeyHeld` and `DeleteKeyHeld`: HTTP 202 with a
/// pending approval, nothing exported, created or deleted.
///
/// Dfns does not document the 202 body of Export Key or Create Key. The sandbox answers
/// with the documented fields of a policy Approval object (docs.dfns.co, "Policy
/// Approvals"): `id`, `initiatorId`, `status`, `expirationDate`, `dateCreated`,
/// `dateUpdated`, `activity`, `evaluatedPolicies`, `decisions`. Invented, where nothing is
/// documented: the activity's content (`kind` "Keys:Export" or "Keys:Delete" with `keyId`,
/// or "Keys:Create" with the requested scheme and curve), the ids, the dates and the
/// policy's reason text.
fn policy_hold(activity: Value) -> Outgoing {
    let action = match activity["kind"].as_str() {
        Some("Keys:Create") => "the key creation",
        Some("Keys:Delete") => "the key deletion",
        _ => "the export",
    };
    Outgoing::json(
        202,
        &json!({
            "id": crate::auth::random_text("ap-", 12),
            "initiatorId": "us-sandbox-user",
            "status": "Pending",
            "expirationDate": "2026-01-02T00:00:00.000Z",
            "dateCreated": "2026-01-01T00:00:00.000Z",
            "dateUpdated": "2026-01-01T00:00:00.000Z",
            "activity": activity,
            "evaluatedPolicies": [{
                "policyId": "plc-sandbox-policy-hold",
                "triggerStatus": "Triggered",
                "reason": format!("held by the sandbox policy-hold fault: an approver must approve {action}"),
            }],
            "decisions": [],
        }),
    )
}

/// Fault responder `MissingExportPermission`: HTTP 403 naming `Keys:Export`.
fn missing_export_permission() -> Outgoing {
    Outgoing::error(403, "Forbidden: missing permissions: Keys:Export")
}

/// Fault responder `ExportNotEnabled`: HTTP 402.
fn export_not_enabled() -> Outgoing {
    Outgoing::error(
        402,
        "Key export is not enabled for this organization; contact Dfns to enable it",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_method_and_path() {
        assert_eq!(
            route_of("GET", "/keys/k1"),
            Some((Route::GetKey, Some("k1".into())))
        );
        assert_eq!(
            route_of("POST", "/keys/k1/export"),
            Some((Route::Export, Some("k1".into())))
        );
        assert_eq!(
            route_of("POST", "/auth/action/init"),
            Some((Route::ActionInit, None))
        );
        assert_eq!(
            route_of("POST", "/auth/action"),
            Some((Route::Action, None))
        );
        assert_eq!(route_of("POST", "/keys"), Some((Route::CreateKey, None)));
        assert_eq!(
            route_of("DELETE", "/keys/k1"),
            Some((Route::DeleteKey, Some("k1".into())))
        );
        assert_eq!(route_of("GET", "/keys/k1/export"), None);
        assert_eq!(route_of("DELETE", "/keys/k1/export"), None);
        assert_eq!(route_of("DELETE", "/keys"), None);
    }
}
