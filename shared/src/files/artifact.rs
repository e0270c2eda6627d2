//! What a file is: [`Artifact::parse`] recognises every document this tool reads by its
//! content (its `kind`, or the fields of a raw Dfns body) and validates it with the
//! reader of what it claims to be. This is the one place that tells a single-key request
//! from a batch request, so a caller matches on the artifact instead of asking again.

use serde_json::Value;

use super::batch::{BATCH_REQUEST_KIND, BatchRequestFile};
use super::{REQUEST_KIND, RESPONSE_DOC, RESPONSE_KIND, RequestFile, ResponseFile, check_version};
use crate::wire::ExportResponse;
use crate::{Error, Result};

/// Any file this tool reads, recognised by its content.
#[derive(Debug, Clone)]
pub enum Artifact {
    /// A request file from `keyexport-offline init`.
    Request(RequestFile),
    /// A batch request file from `keyexport-offline init` (two or more keys).
    BatchRequest(BatchRequestFile),
    /// A response file from `keyexport-online submit`.
    Response(ResponseFile),
    /// A raw Dfns export response body, saved by another tool.
    DfnsResponse(ExportResponse),
}

impl Artifact {
    /// Recognises and fully validates a file's bytes. A document that claims to be a batch
    /// request (its `kind`, or a damaged JSON text naming that kind) is read by the batch
    /// request's reader, so damage is reported as a damaged batch request.
    pub fn parse(bytes: &[u8]) -> Result<Artifact> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::WrongDocument {
                expected: "a request or response file",
                found: "an empty file".into(),
            });
        }
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(value) => value,
            Err(_) if names_batch_kind(bytes) => return parse_batch(bytes),
            Err(_) if std::str::from_utf8(bytes).is_err() => {
                return Err(Error::WrongDocument {
                    expected: "a request or response file (JSON text)",
                    found: "binary data".into(),
                });
            }
            Err(e) => {
                return Err(Error::Json {
                    document: "the file",
                    reason: e.to_string(),
                });
            }
        };
        if value.get("kind").and_then(Value::as_str) == Some(BATCH_REQUEST_KIND) {
            return parse_batch(bytes);
        }
        crate::json::check_unique_keys(bytes, "the file")?;
        let Some(object) = value.as_object() else {
            return Err(Error::WrongDocument {
                expected: "a request or response file",
                found: "JSON that is not an object".into(),
            });
        };
        match object.get("kind").and_then(Value::as_str) {
            Some(REQUEST_KIND) => RequestFile::from_value(value).map(Artifact::Request),
            Some(RESPONSE_KIND) => {
                check_version(&value, RESPONSE_DOC)?;
                let file = ResponseFile::from_bytes(bytes)?;
                file.export_response()?;
                Ok(Artifact::Response(file))
            }
            Some(other) => Err(Error::WrongDocument {
                expected: "a keyexport request or response file",
                found: format!("a file of kind {other:?}"),
            }),
            None if ["encryptedKeyShares", "encryptedShares", "minSigners"]
                .iter()
                .any(|f| object.contains_key(*f)) =>
            {
                ExportResponse::from_value(&value).map(Artifact::DfnsResponse)
            }
            None if object.contains_key("encryptionKey") => Err(Error::WrongDocument {
                expected: "a keyexport request or response file",
                found: "a bare Dfns export request body (use the request file written by keyexport-offline init)"
                    .into(),
            }),
            None => Err(Error::WrongDocument {
                expected: "a keyexport request or response file",
                found: "a JSON object of an unknown kind".into(),
            }),
        }
    }

    /// The key id a response file names, read from its `kind` and `keyId` alone (nothing
    /// else is checked): a damaged response still counts for its key, so a batch run
    /// reports it as that key's failure.
    pub fn response_key_id(bytes: &[u8]) -> Option<String> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        (value.get("kind")?.as_str()? == RESPONSE_KIND)
            .then(|| value.get("keyId")?.as_str().map(str::to_owned))
            .flatten()
    }

    /// A short name of what this is, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Artifact::Request(_) => "a request file",
            Artifact::BatchRequest(_) => "a batch request file",
            Artifact::Response(_) => "a response file",
            Artifact::DfnsResponse(_) => "a Dfns export response",
        }
    }
}

fn parse_batch(bytes: &[u8]) -> Result<Artifact> {
    BatchRequestFile::parse(bytes).map(Artifact::BatchRequest)
}

/// Whether a text that is not valid JSON still claims to be a batch request: a damaged
/// JSON object naming that kind.
fn names_batch_kind(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| {
        text.trim_start().starts_with('{') && text.contains(&format!("\"{BATCH_REQUEST_KIND}\""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_requests_are_recognised_by_kind_even_when_damaged() {
        // Valid JSON of another kind naming the batch kind in a field is not one.
        let other = br#"{"kind":"keyexport-request","tool":"keyexport-batch-request"}"#;
        assert!(!matches!(
            Artifact::parse(other),
            Ok(Artifact::BatchRequest(_))
        ));
        assert!(!names_batch_kind(b"ur:bytes/1-2/abc"));
        for damaged in [
            &br#"{"kind":"keyexport-batch-request","version":1}"#[..],
            br#"{"kind": "keyexport-batch-request", "keyIds": ["#,
        ] {
            let err = Artifact::parse(damaged).unwrap_err();
            assert!(err.to_string().contains("batch request"), "{err}");
        }
    }

    #[test]
    fn a_response_names_its_key_before_it_is_validated() {
        assert_eq!(
            Artifact::response_key_id(br#"{"kind":"keyexport-response","keyId":"key-a"}"#)
                .as_deref(),
            Some("key-a")
        );
        assert_eq!(
            Artifact::response_key_id(br#"{"kind":"keyexport-request","keyId":"key-a"}"#),
            None
        );
        assert_eq!(Artifact::response_key_id(b"not json"), None);
    }
}
