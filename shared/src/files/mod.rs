//! The files that cross the air gap: the request the offline side writes (one key here,
//! several in [`batch`]) and the response the online side keeps (see `docs/formats.md`).
//!
//! Each is a JSON object with a `kind` and a `version`, so a file given in the wrong
//! place is named for what it is: [`Artifact::parse`] (in `artifact`) recognises any of
//! them, and the raw Dfns body alone, as saved by curl or an SDK. The response file wraps
//! that body verbatim. The ids, digests and single-key files live here; `batch` and
//! `artifact` build on them.

mod artifact;
pub mod batch;

pub use artifact::Artifact;

use std::fmt;

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::key_object::KeyObjectFacts;
use crate::keys::crockford_groups;
use crate::wire::{ExportRequestBody, ExportResponse};
use crate::{Error, Result};

/// `kind` of a request file.
pub const REQUEST_KIND: &str = "keyexport-request";
/// `kind` of a response file.
pub const RESPONSE_KIND: &str = "keyexport-response";
/// The format version this tool writes and reads.
pub const FORMAT_VERSION: u32 = 1;

const REQUEST_DOC: &str = "the request file";
const RESPONSE_DOC: &str = "the response file";

/// A secret of the offline machine, recognised by its first bytes: a file that must never
/// reach the online machine, and that `submit`, `show` or `inspect` must name as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineSecret {
    /// An age file: the sealed decryption key, a custody part or an encrypted key output.
    AgeFile,
    /// A plain decryption key in the Dfns serialization (`01` and 64 hex digits).
    PlainDecryptionKey,
}

impl OfflineSecret {
    /// Recognises `bytes` as an offline secret, if they are one.
    pub fn recognise(bytes: &[u8]) -> Option<OfflineSecret> {
        let text = bytes.trim_ascii_start();
        if text.starts_with(b"age-encryption.org/")
            || text.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        {
            return Some(OfflineSecret::AgeFile);
        }
        let line = bytes.trim_ascii();
        let plain_key =
            line.len() == 66 && line.starts_with(b"01") && line.iter().all(u8::is_ascii_hexdigit);
        plain_key.then_some(OfflineSecret::PlainDecryptionKey)
    }

    /// What the file is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            OfflineSecret::AgeFile => {
                "an age-encrypted file: the sealed decryption key, a custody part or an encrypted key"
            }
            OfflineSecret::PlainDecryptionKey => "a plain (unsealed) decryption key",
        }
    }
}

/// Lowercase hex SHA-256 of `bytes`, the digest operators compare across the air gap.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 (lowercase hex) of a custody split's commitment set (computed by
/// `custody`): recorded in the request so every custody part can be checked against it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommitmentsDigest(String);

impl CommitmentsDigest {
    /// The digest of these SHA-256 output bytes.
    pub(crate) fn from_sha256(bytes: [u8; 32]) -> CommitmentsDigest {
        CommitmentsDigest(hex::encode(bytes))
    }

    /// The digest, 64 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 16 characters, enough to tell two sets apart on a screen.
    pub fn short(&self) -> &str {
        &self.0[..16]
    }
}

impl TryFrom<String> for CommitmentsDigest {
    type Error = Error;
    fn try_from(text: String) -> Result<CommitmentsDigest> {
        if text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(CommitmentsDigest(text))
        } else {
            Err(Error::InvalidField {
                document: "the custody commitments digest",
                field: "custodyCommitmentsSha256".into(),
                reason: "expected a SHA-256 digest: 64 lowercase hex characters".into(),
            })
        }
    }
}

impl From<CommitmentsDigest> for String {
    fn from(digest: CommitmentsDigest) -> String {
        digest.0
    }
}

impl fmt::Display for CommitmentsDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Dfns key id. It goes into a URL path, so only `A–Z a–z 0–9 - _` are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    /// Validates a key id.
    pub fn new(id: &str) -> Result<KeyId> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if id.is_empty() || id.len() > 128 || !id.chars().all(valid_char) {
            return Err(Error::InvalidField {
                document: "the key id",
                field: "keyId".into(),
                reason: "a Dfns key id is 1 to 128 characters of A-Z, a-z, 0-9, '-' and '_' (e.g. key-01snl-7k5e2-xxxxxxxxxxxxxxxx)".into(),
            });
        }
        Ok(KeyId(id.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = Error;
    fn try_from(id: String) -> Result<KeyId> {
        KeyId::new(&id)
    }
}

impl From<KeyId> for String {
    fn from(id: KeyId) -> String {
        id.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A ceremony's id: 80 random bits as four groups of Crockford base32, e.g.
/// `C3M9-T2QW-8XHD-KP4A`, short enough to read aloud and to name folders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CeremonyId(String);

impl CeremonyId {
    /// A fresh random id.
    pub fn generate() -> CeremonyId {
        let mut bytes = [0u8; 10];
        OsRng.fill_bytes(&mut bytes);
        CeremonyId(crockford_groups(&bytes, 4))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CeremonyId {
    type Error = Error;
    fn try_from(id: String) -> Result<CeremonyId> {
        let groups: Vec<&str> = id.split('-').collect();
        let valid = groups.len() == 4
            && groups.iter().all(|g| {
                g.len() == 4
                    && g.bytes()
                        .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
            });
        if valid {
            Ok(CeremonyId(id))
        } else {
            Err(Error::InvalidField {
                document: "the ceremony id",
                field: "ceremonyId".into(),
                reason: "expected four groups of four characters, e.g. C3M9-T2QW-8XHD-KP4A".into(),
            })
        }
    }
}

impl From<CeremonyId> for String {
    fn from(id: CeremonyId) -> String {
        id.0
    }
}

impl fmt::Display for CeremonyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `keyexport-offline init` writes and `keyexport-online submit` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestFile {
    kind: String,
    version: u32,
    /// The ceremony this request belongs to.
    pub ceremony_id: CeremonyId,
    /// The Dfns key to export.
    pub key_id: KeyId,
    /// The exact Dfns request body to sign and send.
    pub dfns_request: ExportRequestBody,
    /// The encryption key's fingerprint, for people comparing screens; checked on read.
    pub encryption_key_fingerprint: String,
    /// When the request was made (RFC 3339, UTC).
    pub created_at: String,
    /// The tool and version that made it.
    pub tool: String,
    /// For a ceremony whose decryption key is split among custodians: the digest of the
    /// split's commitment set, which binds every custody part to the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody_commitments_sha256: Option<CommitmentsDigest>,
    /// A canary ceremony (`init --canary`): the online side first exports a throwaway key
    /// with this request and stops; the real key is exported only against a valid canary
    /// receipt. Written only when true, so a request made without it is byte for byte
    /// what older tools wrote; absent reads as false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary: bool,
}

impl RequestFile {
    /// A new request file.
    pub fn new(
        ceremony_id: CeremonyId,
        key_id: KeyId,
        dfns_request: ExportRequestBody,
        created_at: String,
        tool: String,
    ) -> RequestFile {
        let encryption_key_fingerprint = dfns_request.encryption_key.fingerprint().to_string();
        RequestFile {
            kind: REQUEST_KIND.into(),
            version: FORMAT_VERSION,
            ceremony_id,
            key_id,
            dfns_request,
            encryption_key_fingerprint,
            created_at,
            tool,
            custody_commitments_sha256: None,
            canary: false,
        }
    }

    /// The same request, recording the custody parts' commitment set (`None`: a whole
    /// sealed key, no custody parts).
    pub fn with_custody_commitments(mut self, digest: Option<CommitmentsDigest>) -> Self {
        self.custody_commitments_sha256 = digest;
        self
    }

    /// The same request, requiring a canary export first (`true`) or not.
    pub fn with_canary(mut self, canary: bool) -> Self {
        self.canary = canary;
        self
    }

    /// The file's bytes (pretty JSON with a final newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::json::file_bytes(self)
    }

    fn from_value(value: Value) -> Result<RequestFile> {
        check_version(&value, REQUEST_DOC)?;
        let file: RequestFile = serde_json::from_value(value).map_err(|e| Error::Json {
            document: REQUEST_DOC,
            reason: e.to_string(),
        })?;
        check_request_body(
            REQUEST_DOC,
            &file.encryption_key_fingerprint,
            &file.dfns_request,
        )?;
        Ok(file)
    }
}

/// What `keyexport-online submit` writes the moment Dfns answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseFile {
    kind: String,
    version: u32,
    /// The ceremony of the request that was submitted.
    pub ceremony_id: CeremonyId,
    /// The exported key.
    pub key_id: KeyId,
    /// SHA-256 (hex) of the request file's bytes.
    pub request_sha256: String,
    /// When Dfns answered (RFC 3339, UTC).
    pub received_at: String,
    /// The tool and version that received it.
    pub tool: String,
    /// Head (SHA-256 of the last line) of the online transcript when the response was
    /// saved: the line recording the export being sent.
    pub online_transcript_head: String,
    /// Dfns' response body, byte for byte.
    dfns_response: Box<RawValue>,
    /// The HD facts of the key object read by the preflight (`GET /keys/{keyId}`), as
    /// returned. Absent in files written before it was recorded, and when the key object
    /// has none of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_object: Option<KeyObjectFacts>,
    /// The export of a canary ceremony's throwaway key (`keyId` is the canary's), not of
    /// a key the request names. Written only when true; absent reads as false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary: bool,
}

impl ResponseFile {
    /// Wraps a Dfns response body. The body must be JSON (it is kept verbatim).
    pub fn new(
        ceremony_id: CeremonyId,
        key_id: KeyId,
        request_sha256: String,
        received_at: String,
        tool: String,
        online_transcript_head: String,
        dfns_body: &str,
    ) -> Result<ResponseFile> {
        let dfns_response =
            RawValue::from_string(dfns_body.to_string()).map_err(|e| Error::Json {
                document: "the Dfns export response",
                reason: e.to_string(),
            })?;
        Ok(ResponseFile {
            kind: RESPONSE_KIND.into(),
            version: FORMAT_VERSION,
            ceremony_id,
            key_id,
            request_sha256,
            received_at,
            tool,
            online_transcript_head,
            dfns_response,
            key_object: None,
            canary: false,
        })
    }

    /// Marks the response as the export of the canary (`true`) or not.
    pub fn with_canary(mut self, canary: bool) -> ResponseFile {
        self.canary = canary;
        self
    }

    /// Records the key object's HD facts (nothing when it has none).
    pub fn with_key_object(mut self, facts: KeyObjectFacts) -> ResponseFile {
        self.key_object = (!facts.is_empty()).then_some(facts);
        self
    }

    /// The key object's HD facts recorded by the preflight, if any.
    pub fn key_object(&self) -> Option<&KeyObjectFacts> {
        self.key_object.as_ref()
    }

    /// The Dfns body exactly as received.
    pub fn dfns_body(&self) -> &str {
        self.dfns_response.get()
    }

    /// The validated Dfns response.
    pub fn export_response(&self) -> Result<ExportResponse> {
        ExportResponse::from_json(self.dfns_response.get().as_bytes())
    }

    /// The file's bytes (pretty JSON, the Dfns body verbatim, final newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::json::file_bytes(self)
    }

    fn from_bytes(bytes: &[u8]) -> Result<ResponseFile> {
        let file: ResponseFile = serde_json::from_slice(bytes).map_err(|e| Error::Json {
            document: RESPONSE_DOC,
            reason: e.to_string(),
        })?;
        let head = &file.online_transcript_head;
        if head.len() != 64 || !head.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Error::InvalidField {
                document: RESPONSE_DOC,
                field: "onlineTranscriptHead".into(),
                reason: "expected a SHA-256 digest: 64 lowercase hex characters".into(),
            });
        }
        Ok(file)
    }
}

/// What both request files (single-key and batch) check of the Dfns body they carry: the
/// fingerprint written beside it is the encryption key's, and some scheme is offered.
fn check_request_body(
    document: &'static str,
    fingerprint: &str,
    body: &ExportRequestBody,
) -> Result<()> {
    if fingerprint != body.encryption_key.fingerprint().as_str() {
        return Err(Error::InvalidField {
            document,
            field: "encryptionKeyFingerprint".into(),
            reason: "does not match the encryption key: the file was edited".into(),
        });
    }
    if body.supported_schemes.is_empty() {
        return Err(Error::InvalidField {
            document,
            field: "dfnsRequest.supportedSchemes".into(),
            reason: "the list is empty".into(),
        });
    }
    Ok(())
}

/// The document's `version` is the one this tool reads.
fn check_version(value: &Value, document: &'static str) -> Result<()> {
    match value.get("version").and_then(Value::as_u64) {
        Some(v) if v == u64::from(FORMAT_VERSION) => Ok(()),
        Some(v) => Err(Error::InvalidField {
            document,
            field: "version".into(),
            reason: format!(
                "version {v} is not supported by this tool (it reads version {FORMAT_VERSION}); use a matching keyexport release"
            ),
        }),
        None => Err(Error::MissingField {
            document,
            field: "version",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::DecryptionKey;
    use crate::scheme::Scheme;

    fn request() -> RequestFile {
        RequestFile::new(
            CeremonyId::generate(),
            KeyId::new("key-01snl-7k5e2-abc").unwrap(),
            ExportRequestBody {
                encryption_key: DecryptionKey::generate().encryption_key(),
                supported_schemes: Scheme::all(),
            },
            "2026-11-28T17:00:00Z".into(),
            "keyexport-offline 0.1.0".into(),
        )
    }

    #[test]
    fn request_round_trips_and_detects_edits() {
        let file = request();
        let bytes = file.to_bytes();
        match Artifact::parse(&bytes).unwrap() {
            Artifact::Request(again) => assert_eq!(again, file),
            other => panic!("{other:?}"),
        }
        let other_key = DecryptionKey::generate().encryption_key().to_base64();
        let edited = String::from_utf8(bytes)
            .unwrap()
            .replace(&file.dfns_request.encryption_key.to_base64(), &other_key);
        let err = Artifact::parse(edited.as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("encryptionKeyFingerprint"),
            "{err}"
        );
    }

    #[test]
    fn the_canary_flag_is_written_only_when_required() {
        let plain = request();
        let text = String::from_utf8(plain.to_bytes()).unwrap();
        assert!(!text.contains("canary"), "{text}");
        let canary = plain.clone().with_canary(true);
        let bytes = canary.to_bytes();
        assert!(
            String::from_utf8(bytes.clone())
                .unwrap()
                .contains("\"canary\": true")
        );
        match Artifact::parse(&bytes).unwrap() {
            Artifact::Request(again) => assert!(again.canary && again == canary),
            other => panic!("{other:?}"),
        }
        // Written by hand as false, it reads as a request without canary.
        let explicit = text.replacen('{', "{\n  \"canary\": false,", 1);
        match Artifact::parse(explicit.as_bytes()).unwrap() {
            Artifact::Request(again) => assert_eq!(again, plain),
            other => panic!("{other:?}"),
        }
        let wrong = text.replacen('{', "{\n  \"canary\": \"yes\",", 1);
        assert!(Artifact::parse(wrong.as_bytes()).is_err());
    }

    #[test]
    fn response_file_keeps_the_body_verbatim() {
        let body = "{\n  \"publicKey\": \"0367415a7dfaa7ed12c38523e486a8ee6cfc59cc6e44b3edd11646723bc08e0b8c\",\"protocol\":\"CGGMP24\",\"curve\":\"secp256k1\",\"minSigners\":2.0,\"encryptedKeyShares\":[]}";
        let req = request();
        let file = ResponseFile::new(
            req.ceremony_id.clone(),
            req.key_id.clone(),
            sha256_hex(&req.to_bytes()),
            "2026-11-28T17:01:00Z".into(),
            "keyexport-online 0.1.0".into(),
            "ab".repeat(32),
            body,
        )
        .unwrap();
        let bytes = file.to_bytes();
        assert!(String::from_utf8(bytes.clone()).unwrap().contains(body));
        match Artifact::parse(&bytes).unwrap() {
            Artifact::Response(again) => {
                assert_eq!(again.dfns_body(), body);
                assert_eq!(again.online_transcript_head, "ab".repeat(32));
            }
            other => panic!("{other:?}"),
        }
        let text = String::from_utf8(bytes).unwrap();
        for bad in ["AB".repeat(32), "ab".repeat(31)] {
            let edited = text.replace(&"ab".repeat(32), &bad);
            let err = Artifact::parse(edited.as_bytes()).unwrap_err();
            assert!(err.to_string().contains("onlineTranscriptHead"), "{err}");
        }
        let without = text.replace(
            &format!("  \"onlineTranscriptHead\": \"{}\",\n", "ab".repeat(32)),
            "",
        );
        assert!(Artifact::parse(without.as_bytes()).is_err());
    }

    #[test]
    fn a_canary_response_says_so_and_others_are_unchanged() {
        let req = request().with_canary(true);
        let file = ResponseFile::new(
            req.ceremony_id.clone(),
            KeyId::new("key-canary").unwrap(),
            sha256_hex(&req.to_bytes()),
            "2026-11-28T17:01:00Z".into(),
            "keyexport-online 0.1.0".into(),
            "ab".repeat(32),
            r#"{"publicKey":"0367415a7dfaa7ed12c38523e486a8ee6cfc59cc6e44b3edd11646723bc08e0b8c","protocol":"CGGMP24","curve":"secp256k1","minSigners":2,"encryptedKeyShares":[]}"#,
        )
        .unwrap();
        assert!(
            !String::from_utf8(file.to_bytes())
                .unwrap()
                .contains("\"canary\"")
        );
        let canary = file.with_canary(true);
        match Artifact::parse(&canary.to_bytes()).unwrap() {
            Artifact::Response(again) => assert!(again.canary),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn foreign_input_is_named() {
        let cases: [(&[u8], &str); 6] = [
            (b"", "empty"),
            (b"\x00\xff\xfe", "binary"),
            (b"{\"kind\":\"keyexport-request\"", "not valid JSON"),
            (b"[1,2]", "not an object"),
            (b"{\"kind\":\"other\"}", "kind \"other\""),
            (
                b"{\"kind\":\"keyexport-request\",\"version\":9}",
                "version 9",
            ),
        ];
        for (bytes, expected) in cases {
            let err = Artifact::parse(bytes).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Input);
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn ids_are_validated() {
        assert!(KeyId::new("key-../../etc").is_err());
        assert!(KeyId::new("").is_err());
        let id = CeremonyId::generate();
        assert_eq!(CeremonyId::try_from(id.to_string()).unwrap(), id);
        assert!(CeremonyId::try_from("abcd".to_string()).is_err());
    }
}
