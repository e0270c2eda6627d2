//! The Dfns Export Key request and response bodies (spec §1).
//!
//! The request body is ours to write, so it is a strict serde type. The response
//! comes from Dfns (or from a file someone saved), so it is read field by field:
//! unknown fields are ignored and their names kept for the caller to report, a missing
//! or malformed required field is an error naming it, and an unknown protocol or curve
//! is `unsupported`, not a parse error.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::curve::PublicKey;
use crate::keys::EncryptionKey;
use crate::scheme::{Curve, Protocol, Scheme};
use crate::{Error, Result};

const RESPONSE: &str = "the Dfns export response";
/// The response fields this tool reads.
const RESPONSE_FIELDS: [&str; 6] = [
    "publicKey",
    "protocol",
    "curve",
    "minSigners",
    "encryptedKeyShares",
    "encryptedShares",
];
/// The fields of one share entry this tool reads.
const SHARE_FIELDS: [&str; 2] = ["signerId", "encryptedKeyShare"];
const REQUEST: &str = "the Dfns export request body";

/// The most shares a response may carry. Dfns signing committees are small (a few
/// signers; the threshold is at most their number); the limit is far above any real
/// committee and keeps a hostile response from reaching the reconstruction, whose
/// consistency checks grow with the cube of the share count, or from being decrypted
/// at all: it is checked when the response is parsed, before the decryption key is
/// unsealed.
pub const MAX_SHARES: usize = 256;

/// The longest signer id, in bytes once decoded (Dfns' ids are 16 or 32 bytes).
pub const MAX_SIGNER_ID_BYTES: usize = 64;

/// The id Dfns gives a signer: the standard, padded base64 of a few bytes, as Dfns'
/// export SDK (de)serialises `signerId` (`serde_with` `Base64`). Only that form is
/// accepted, so an id is always short, printable ASCII (`A-Z a-z 0-9 + / =`) and can
/// never carry terminal control sequences; it is kept exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SignerId(String);

impl SignerId {
    /// Checks and wraps a signer id received as text.
    ///
    /// # Errors
    /// A reason (without the id, which may be anything) when the text is not standard
    /// padded base64 of 1 to [`MAX_SIGNER_ID_BYTES`] bytes.
    pub fn parse(text: &str) -> std::result::Result<SignerId, String> {
        let too_long = || format!("a signer id is at most {MAX_SIGNER_ID_BYTES} bytes");
        if text.len() > MAX_SIGNER_ID_BYTES.div_ceil(3) * 4 {
            return Err(too_long());
        }
        match BASE64.decode(text) {
            Ok(bytes) if bytes.is_empty() => Err("the signer id is empty".to_owned()),
            Ok(bytes) if bytes.len() > MAX_SIGNER_ID_BYTES => Err(too_long()),
            Ok(_) => Ok(SignerId(text.to_owned())),
            Err(e) => Err(format!(
                "a signer id is standard padded base64, as Dfns sends it ({e})"
            )),
        }
    }

    /// The id of a signer known by its bytes (the dealer's signers).
    pub fn from_bytes(bytes: &[u8]) -> SignerId {
        SignerId(BASE64.encode(bytes))
    }

    /// The id as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SignerId {
    type Error = String;

    fn try_from(text: String) -> std::result::Result<SignerId, String> {
        SignerId::parse(&text)
    }
}

impl From<SignerId> for String {
    fn from(id: SignerId) -> String {
        id.0
    }
}

impl fmt::Display for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// The body of `POST /keys/{keyId}/export`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportRequestBody {
    /// The key every share is encrypted to.
    pub encryption_key: EncryptionKey,
    /// The schemes the offline side can rebuild; Dfns exports only if the key's is listed.
    pub supported_schemes: Vec<Scheme>,
}

impl ExportRequestBody {
    /// The exact compact JSON text that is signed and sent.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a struct of strings serializes to JSON")
    }

    /// Parses a request body strictly (no other properties allowed).
    pub fn from_json(bytes: &[u8]) -> Result<ExportRequestBody> {
        let body: ExportRequestBody = crate::json::parse(bytes, REQUEST)?;
        if body.supported_schemes.is_empty() {
            return Err(Error::InvalidField {
                document: REQUEST,
                field: "supportedSchemes".into(),
                reason: "the list is empty".into(),
            });
        }
        Ok(body)
    }
}

/// One `{signerId, encryptedKeyShare}` entry of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedShare {
    /// Who sent it.
    pub signer_id: SignerId,
    /// `ciphertext || tag || ephemeral point`, base64-decoded.
    pub ciphertext: Vec<u8>,
}

/// The body Dfns returns from `POST /keys/{keyId}/export`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportResponse {
    /// The key's public key; the rebuilt key must match it.
    pub public_key: PublicKey,
    /// The key's MPC protocol.
    pub protocol: Protocol,
    /// The key's curve.
    pub curve: Curve,
    /// The threshold `t`: shares needed to rebuild.
    pub min_signers: u64,
    /// Every signer's encrypted share, in response order.
    pub shares: Vec<EncryptedShare>,
    /// Fields of the response this tool does not know, ignored: top-level names, and
    /// `encryptedKeyShares[].NAME` for a field of the share entries (each name once).
    pub unknown_fields: Vec<String>,
}

impl ExportResponse {
    /// Parses and validates a response body (spec §1). Accepts `encryptedShares` for
    /// `encryptedKeyShares` and integer-valued floats such as `2.0` for `minSigners`.
    pub fn from_json(bytes: &[u8]) -> Result<ExportResponse> {
        let value: Value = crate::json::parse(bytes, RESPONSE)?;
        ExportResponse::from_value(&value)
    }

    /// Validates an already parsed response body.
    pub fn from_value(value: &Value) -> Result<ExportResponse> {
        let object = value.as_object().ok_or_else(|| Error::WrongDocument {
            expected: RESPONSE,
            found: format!("a JSON {}", json_type(value)),
        })?;
        let protocol: Protocol = string_field(object, "protocol")?.parse()?;
        let curve: Curve = string_field(object, "curve")?.parse()?;
        let public_key_hex = string_field(object, "publicKey")?;
        let public_key_bytes =
            hex::decode(public_key_hex.strip_prefix("0x").unwrap_or(public_key_hex))
                .map_err(|e| invalid("publicKey", format!("not hexadecimal ({e})")))?;
        let public_key = PublicKey::from_bytes(curve, &public_key_bytes)
            .map_err(|reason| invalid("publicKey", reason))?;
        let min_signers = min_signers(object)?;
        let shares = shares(object)?;
        Ok(ExportResponse {
            public_key,
            protocol,
            curve,
            min_signers,
            shares,
            unknown_fields: unknown_fields(object),
        })
    }

    /// The response in Dfns' own JSON shape (as the sandbox serves it).
    pub fn to_json_value(&self) -> Value {
        let shares: Vec<Value> = self
            .shares
            .iter()
            .map(|s| {
                serde_json::json!({
                    "signerId": s.signer_id,
                    "encryptedKeyShare": BASE64.encode(&s.ciphertext),
                })
            })
            .collect();
        serde_json::json!({
            "publicKey": self.public_key.to_hex(),
            "protocol": self.protocol,
            "curve": self.curve,
            "minSigners": self.min_signers,
            "encryptedKeyShares": shares,
        })
    }

    /// The scheme of the exported key.
    pub fn scheme(&self) -> Scheme {
        Scheme {
            protocol: self.protocol,
            curve: self.curve,
        }
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidField {
        document: RESPONSE,
        field: field.into(),
        reason: reason.into(),
    }
}

fn string_field<'a>(object: &'a Map<String, Value>, field: &'static str) -> Result<&'a str> {
    match object.get(field) {
        None | Some(Value::Null) => Err(Error::MissingField {
            document: RESPONSE,
            field,
        }),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(invalid(
            field,
            format!("expected a string, found a {}", json_type(other)),
        )),
    }
}

fn min_signers(object: &Map<String, Value>) -> Result<u64> {
    const FIELD: &str = "minSigners";
    let number = match object.get(FIELD) {
        None | Some(Value::Null) => {
            return Err(Error::MissingField {
                document: RESPONSE,
                field: FIELD,
            });
        }
        Some(Value::Number(n)) => n,
        Some(other) => {
            return Err(invalid(
                FIELD,
                format!("expected a number, found a {}", json_type(other)),
            ));
        }
    };
    if let Some(n) = number.as_u64() {
        return Ok(n);
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&f) => Ok(f as u64),
        _ => Err(invalid(
            FIELD,
            format!("{number} is not a non-negative whole number"),
        )),
    }
}

fn unknown_fields(object: &Map<String, Value>) -> Vec<String> {
    let mut names: Vec<String> = object
        .keys()
        .filter(|k| !RESPONSE_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    let entries = ["encryptedKeyShares", "encryptedShares"]
        .iter()
        .filter_map(|list| object.get(*list).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_object);
    for entry in entries {
        for key in entry.keys() {
            let name = format!("encryptedKeyShares[].{key}");
            if !SHARE_FIELDS.contains(&key.as_str()) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

fn shares(object: &Map<String, Value>) -> Result<Vec<EncryptedShare>> {
    let list = match (
        object.get("encryptedKeyShares"),
        object.get("encryptedShares"),
    ) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid(
                "encryptedKeyShares",
                "both `encryptedKeyShares` and `encryptedShares` are present and differ",
            ));
        }
        (Some(list), _) | (None, Some(list)) => list,
        (None, None) => {
            return Err(Error::MissingField {
                document: RESPONSE,
                field: "encryptedKeyShares",
            });
        }
    };
    let list = list.as_array().ok_or_else(|| {
        invalid(
            "encryptedKeyShares",
            format!("expected an array, found a {}", json_type(list)),
        )
    })?;
    if list.len() > MAX_SHARES {
        return Err(invalid(
            "encryptedKeyShares",
            format!(
                "{} shares, more than the {MAX_SHARES} any Dfns signing committee sends",
                list.len()
            ),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let field = |name: &str| format!("encryptedKeyShares[{i}].{name}");
            let entry = entry
                .as_object()
                .ok_or_else(|| invalid(format!("encryptedKeyShares[{i}]"), "expected an object"))?;
            let text = |name: &'static str| match entry.get(name) {
                Some(Value::String(s)) => Ok(s.as_str()),
                Some(_) => Err(invalid(field(name), "expected a string")),
                None => Err(invalid(field(name), "missing")),
            };
            let signer_id = SignerId::parse(text("signerId")?)
                .map_err(|reason| invalid(field("signerId"), reason))?;
            let ciphertext = BASE64.decode(text("encryptedKeyShare")?).map_err(|e| {
                invalid(
                    field("encryptedKeyShare"),
                    format!("not standard base64 ({e})"),
                )
            })?;
            Ok(EncryptedShare {
                signer_id,
                ciphertext,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::DecryptionKey;
    use proptest::prelude::*;

    fn sample() -> Value {
        serde_json::json!({
            "publicKey": "0367415a7dfaa7ed12c38523e486a8ee6cfc59cc6e44b3edd11646723bc08e0b8c",
            "protocol": "CGGMP24", "curve": "secp256k1", "minSigners": 2,
            "encryptedKeyShares": [{"signerId": "c2lnbmVy", "encryptedKeyShare": "AAEC"}],
            "somethingNew": true
        })
    }

    #[test]
    fn request_body_is_compact_and_strict() {
        let body = ExportRequestBody {
            encryption_key: DecryptionKey::generate().encryption_key(),
            supported_schemes: vec!["CGGMP24:secp256k1".parse().unwrap()],
        };
        let text = String::from_utf8(body.to_json_bytes()).unwrap();
        assert!(text.starts_with("{\"encryptionKey\":\""), "{text}");
        assert!(text.ends_with(
            ",\"supportedSchemes\":[{\"protocol\":\"CGGMP24\",\"curve\":\"secp256k1\"}]}"
        ));
        assert_eq!(ExportRequestBody::from_json(text.as_bytes()).unwrap(), body);
        let extra = text.replacen('{', "{\"extra\":1,", 1);
        assert!(ExportRequestBody::from_json(extra.as_bytes()).is_err());
    }

    #[test]
    fn response_accepts_both_share_field_names_and_float_threshold() {
        let a = ExportResponse::from_value(&sample()).unwrap();
        let mut renamed = sample();
        let shares = renamed
            .as_object_mut()
            .unwrap()
            .remove("encryptedKeyShares")
            .unwrap();
        renamed["encryptedShares"] = shares;
        renamed["minSigners"] = serde_json::json!(2.0);
        assert_eq!(ExportResponse::from_value(&renamed).unwrap(), a);
        assert_eq!(a.min_signers, 2);
        let unknown = ExportResponse::from_value(&a.to_json_value()).unwrap();
        assert!(unknown.unknown_fields.is_empty());
        assert_eq!(
            ExportResponse {
                unknown_fields: vec!["somethingNew".into()],
                ..unknown
            },
            a
        );
    }

    #[test]
    fn unknown_fields_are_named_not_fatal() {
        let mut doc = sample();
        doc["encryptedKeyShares"][0]["keyShareVersion"] = serde_json::json!(2);
        doc["encryptedKeyShares"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"signerId": "b3RoZXI=", "encryptedKeyShare": "AAEC", "keyShareVersion": 2}));
        let response = ExportResponse::from_value(&doc).unwrap();
        assert_eq!(
            response.unknown_fields,
            ["somethingNew", "encryptedKeyShares[].keyShareVersion"]
        );
        assert_eq!(response.shares.len(), 2);
    }

    #[test]
    fn response_errors_name_the_field() {
        let cases: [(&str, Value, &str); 6] = [
            ("publicKey", Value::Null, "publicKey"),
            ("minSigners", serde_json::json!(2.5), "minSigners"),
            ("minSigners", serde_json::json!("2"), "minSigners"),
            (
                "encryptedKeyShares",
                serde_json::json!([{"signerId": "eA=="}]),
                "encryptedKeyShares[0].encryptedKeyShare",
            ),
            ("publicKey", serde_json::json!("zz"), "publicKey"),
            ("encryptedKeyShares", Value::Null, "encryptedKeyShares"),
        ];
        for (field, value, named) in cases {
            let mut doc = sample();
            if value.is_null() {
                doc.as_object_mut().unwrap().remove(field);
            } else {
                doc[field] = value;
            }
            let err = ExportResponse::from_value(&doc).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Input);
            assert!(err.to_string().contains(named), "{err}");
        }
        let mut doc = sample();
        doc["protocol"] = serde_json::json!("GG18");
        assert_eq!(
            ExportResponse::from_value(&doc).unwrap_err().kind(),
            crate::ErrorKind::Unsupported
        );
    }

    #[test]
    fn signer_ids_are_standard_padded_base64_only() {
        for good in [
            "c2lnbmVy",
            "+Yg3mr4MqW05q8eHnKiZfw==",
            "/NJ+01IIe3irv4N4t3RCDjCEi7a8JgyuSewE9EuExA8=",
        ] {
            assert_eq!(SignerId::parse(good).unwrap().as_str(), good);
        }
        let too_long = BASE64.encode([7u8; MAX_SIGNER_ID_BYTES + 1]);
        for bad in [
            "",
            "\u{1b}[2K\u{1b}[1A",
            "c2lnbmVy\n",
            "+Yg3mr4MqW05q8eHnKiZfw",
            "-_8=",
            "c2lnbmVy ",
            "eQ=",
            "eR==",
            too_long.as_str(),
        ] {
            assert!(SignerId::parse(bad).is_err(), "{bad:?} accepted");
        }
        let mut doc = sample();
        doc["encryptedKeyShares"][0]["signerId"] =
            serde_json::json!("\u{1b}[1A\u{1b}[2KPublic key");
        let err = ExportResponse::from_value(&doc).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        let text = err.to_string();
        assert!(text.contains("encryptedKeyShares[0].signerId"), "{text}");
        assert!(text.contains("base64"), "{text}");
        assert!(!text.contains('\u{1b}'), "the error repeats the id: {text}");
        assert!(serde_json::from_str::<SignerId>("\"\\u001b[2K\"").is_err());
    }

    #[test]
    fn share_count_is_bounded() {
        let mut doc = sample();
        let share = doc["encryptedKeyShares"][0].clone();
        doc["encryptedKeyShares"] = Value::Array(vec![share; MAX_SHARES + 1]);
        let err = ExportResponse::from_value(&doc).unwrap_err();
        assert!(err.to_string().contains("257 shares"), "{err}");
        doc["encryptedKeyShares"]
            .as_array_mut()
            .unwrap()
            .truncate(MAX_SHARES);
        assert_eq!(
            ExportResponse::from_value(&doc).unwrap().shares.len(),
            MAX_SHARES
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let doc = br#"{"publicKey":"02aa","protocol":"CGGMP24","curve":"secp256k1","minSigners":2,"encryptedKeyShares":[],"publicKey":"03bb"}"#;
        let err = ExportResponse::from_json(doc).unwrap_err();
        assert!(
            err.to_string().contains("`publicKey` appears twice"),
            "{err}"
        );
        let body = br#"{"encryptionKey":"x","supportedSchemes":[],"encryptionKey":"y"}"#;
        assert!(
            ExportRequestBody::from_json(body)
                .unwrap_err()
                .to_string()
                .contains("appears twice")
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ExportResponse::from_json(&bytes);
            let _ = ExportRequestBody::from_json(&bytes);
        }
    }
}
