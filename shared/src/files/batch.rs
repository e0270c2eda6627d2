//! Batch ceremonies: one decryption key and one request for many Dfns keys.
//!
//! A request naming one key stays the single-key [`RequestFile`](crate::files::RequestFile)
//! of kind `keyexport-request`, byte for byte as before. A request naming two or more keys
//! is a [`BatchRequestFile`] of its own kind, `keyexport-batch-request`: an older tool
//! then names the file for what it is instead of misreading it. The Dfns body is the same
//! for every key of the batch (one encryption key, one list of schemes), so it is stored
//! once.
//!
//! The answers are not a new format: the online side saves one ordinary response file
//! (`keyexport-response`, same `ceremonyId`, `requestSha256` of the batch request) per
//! key, named [`response_file_name`], in one folder. That makes saving each answer the
//! moment it arrives, resuming, and reading any subset on the offline side natural.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    CeremonyId, CommitmentsDigest, FORMAT_VERSION, KeyId, check_request_body, check_version,
};
use crate::wire::ExportRequestBody;
use crate::{Error, Result};

/// `kind` of a batch request file.
pub const BATCH_REQUEST_KIND: &str = "keyexport-batch-request";

const BATCH_DOC: &str = "the batch request file";
const LIST_DOC: &str = "the key id list";

/// What `keyexport-offline init` writes for two or more keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchRequestFile {
    kind: String,
    version: u32,
    /// The ceremony this request belongs to.
    pub ceremony_id: CeremonyId,
    /// The Dfns keys to export, in the operator's order, without repetition.
    pub key_ids: Vec<KeyId>,
    /// The exact Dfns request body sent for every key.
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

impl BatchRequestFile {
    /// A new batch request. `key_ids` must be non-empty and free of repetitions
    /// (as [`parse_key_id_list`] and [`unique_key_ids`] guarantee).
    pub fn new(
        ceremony_id: CeremonyId,
        key_ids: Vec<KeyId>,
        dfns_request: ExportRequestBody,
        created_at: String,
        tool: String,
    ) -> BatchRequestFile {
        let encryption_key_fingerprint = dfns_request.encryption_key.fingerprint().to_string();
        BatchRequestFile {
            kind: BATCH_REQUEST_KIND.into(),
            version: FORMAT_VERSION,
            ceremony_id,
            key_ids,
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

    /// Parses and fully validates a batch request file ([`Artifact::parse`](super::Artifact)
    /// calls this for any document that claims to be one).
    pub fn parse(bytes: &[u8]) -> Result<BatchRequestFile> {
        let value: Value = crate::json::parse(bytes, BATCH_DOC)?;
        match value.get("kind").and_then(Value::as_str) {
            Some(BATCH_REQUEST_KIND) => {}
            other => {
                return Err(Error::WrongDocument {
                    expected: "a batch request file",
                    found: match other {
                        Some(kind) => format!("a file of kind {kind:?}"),
                        None => "a JSON document without a kind".into(),
                    },
                });
            }
        }
        check_version(&value, BATCH_DOC)?;
        let file: BatchRequestFile = serde_json::from_value(value).map_err(|e| Error::Json {
            document: BATCH_DOC,
            reason: e.to_string(),
        })?;
        check_request_body(
            BATCH_DOC,
            &file.encryption_key_fingerprint,
            &file.dfns_request,
        )?;
        if file.key_ids.is_empty() {
            return Err(invalid("keyIds", "the list is empty".into()));
        }
        if let Some(repeated) = first_repeated(&file.key_ids) {
            return Err(invalid("keyIds", format!("{repeated} is listed twice")));
        }
        Ok(file)
    }
}

fn invalid(field: &str, reason: String) -> Error {
    Error::InvalidField {
        document: BATCH_DOC,
        field: field.into(),
        reason,
    }
}

fn first_repeated(ids: &[KeyId]) -> Option<&KeyId> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().find(|id| !seen.insert(id.as_str()))
}

/// Parses a key id list: one id per line; blank lines and everything after a `#` are
/// ignored. An invalid or repeated id is an error naming its line.
pub fn parse_key_id_list(text: &str) -> Result<Vec<KeyId>> {
    let mut ids: Vec<KeyId> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (number, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let field = format!("line {}", number + 1);
        let id = KeyId::new(content).map_err(|e| Error::InvalidField {
            document: LIST_DOC,
            field: field.clone(),
            reason: match e {
                Error::InvalidField { reason, .. } => reason,
                other => other.to_string(),
            },
        })?;
        if !seen.insert(id.as_str().to_owned()) {
            return Err(Error::InvalidField {
                document: LIST_DOC,
                field,
                reason: format!("{id} is listed twice"),
            });
        }
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(Error::InvalidField {
            document: LIST_DOC,
            field: "lines".into(),
            reason: "no key id found (one id per line; # starts a comment)".into(),
        });
    }
    Ok(ids)
}

/// Merges key id lists in order, refusing repetitions (naming the id).
pub fn unique_key_ids(ids: impl IntoIterator<Item = KeyId>) -> Result<Vec<KeyId>> {
    let mut out: Vec<KeyId> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for id in ids {
        if !seen.insert(id.as_str().to_owned()) {
            return Err(Error::InvalidField {
                document: LIST_DOC,
                field: "keyIds".into(),
                reason: format!("{id} is given twice"),
            });
        }
        out.push(id);
    }
    Ok(out)
}

/// The name of a key's response file in a batch response folder.
pub fn response_file_name(key_id: &KeyId) -> String {
    format!("{}.response.json", key_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::DecryptionKey;
    use crate::scheme::Scheme;
    use proptest::prelude::*;

    fn ids(list: &[&str]) -> Vec<KeyId> {
        list.iter().map(|id| KeyId::new(id).unwrap()).collect()
    }

    fn request(key_ids: Vec<KeyId>) -> BatchRequestFile {
        BatchRequestFile::new(
            CeremonyId::generate(),
            key_ids,
            ExportRequestBody {
                encryption_key: DecryptionKey::generate().encryption_key(),
                supported_schemes: Scheme::all(),
            },
            "2026-11-28T17:00:00Z".into(),
            "keyexport-offline 0.1.0".into(),
        )
    }

    #[test]
    fn one_canary_flag_covers_the_batch() {
        let plain = request(ids(&["key-a", "key-b"]));
        assert!(
            !String::from_utf8(plain.to_bytes())
                .unwrap()
                .contains("canary")
        );
        let canary = plain.with_canary(true);
        let parsed = BatchRequestFile::parse(&canary.to_bytes()).unwrap();
        assert!(parsed.canary);
        assert_eq!(parsed, canary);
    }

    #[test]
    fn batch_request_round_trips_and_is_recognised() {
        let file = request(ids(&["key-a", "key-b", "key-c"]));
        let bytes = file.to_bytes();
        assert_eq!(BatchRequestFile::parse(&bytes).unwrap(), file);
        // Recognised for what it is among every file the tools read.
        match crate::files::Artifact::parse(&bytes).unwrap() {
            crate::files::Artifact::BatchRequest(again) => assert_eq!(again, file),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn batch_request_refuses_edits_and_repetitions() {
        let file = request(ids(&["key-a", "key-b"]));
        let text = String::from_utf8(file.to_bytes()).unwrap();
        let repeated = text.replace("\"key-b\"", "\"key-a\"");
        let err = BatchRequestFile::parse(repeated.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
        let other_key = DecryptionKey::generate().encryption_key().to_base64();
        let edited = text.replace(&file.dfns_request.encryption_key.to_base64(), &other_key);
        let err = BatchRequestFile::parse(edited.as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("encryptionKeyFingerprint"),
            "{err}"
        );
        let extra = text.replacen('{', "{\"extra\": 1,", 1);
        assert!(BatchRequestFile::parse(extra.as_bytes()).is_err());
        let future = text.replace("\"version\": 1", "\"version\": 2");
        let err = BatchRequestFile::parse(future.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("version 2"), "{err}");
    }

    #[test]
    fn key_id_lists_allow_comments_and_blank_lines() {
        let text = "# keys of the treasury\nkey-a\n\n  key-b   # cold wallet\n#key-c\n";
        assert_eq!(parse_key_id_list(text).unwrap(), ids(&["key-a", "key-b"]));
        let err = parse_key_id_list("key-a\nkey/b\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse_key_id_list("key-a\nkey-a\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(parse_key_id_list("# nothing\n\n").is_err());
        assert!(unique_key_ids(ids(&["key-a", "key-a"])).is_err());
    }

    proptest! {
        #[test]
        fn key_id_lists_round_trip(
            list in proptest::collection::hash_set("[A-Za-z0-9_-]{1,40}", 1..30)
        ) {
            let list: Vec<String> = list.into_iter().collect();
            let text: String = list.iter().map(|id| format!("{id}  # note\n")).collect();
            let parsed = parse_key_id_list(&text).unwrap();
            let parsed: Vec<&str> = parsed.iter().map(KeyId::as_str).collect();
            prop_assert_eq!(parsed, list.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
