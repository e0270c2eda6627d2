//! The decrypted share document (spec §4, §4a), read strictly on what is used.
//!
//! ```json
//! {"version":1,"index":{"curve":"secp256k1","scalar":"<64 hex>"},"secret_share":{"curve":"secp256k1","scalar":"<64 hex>"},"chain_code":null}
//! ```
//!
//! Parsing checks the version, that both curves equal the response's curve, that both
//! scalars are exactly 32 bytes of hex (range checks against the curve order happen in
//! [`crate::reconstruct`], which knows the field), and that `chain_code`, when present
//! and not `null`, is standard base64 of exactly 32 bytes. Documents written before
//! Dfns added chain codes have no `chain_code` field and read as having none. A field
//! this tool does not know is ignored and its name recorded, so that it can be reported:
//! Dfns may add fields. The secret scalar text and the chain code are kept in wiped
//! memory.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::chain_code::ChainCode;
use crate::error::ShareFault;
use crate::scheme::Curve;

/// The only share document version this tool reads.
const VERSION: u64 = 1;

/// A parsed share: its index `x` and value `y`, 32 bytes big-endian each, and the
/// key's chain code as this share carries it.
pub struct SharePlaintext {
    /// The share's index (the point it is evaluated at); public.
    pub index: [u8; 32],
    /// The share's secret value.
    pub secret: Zeroizing<[u8; 32]>,
    /// The chain code this share carries (`None`: `null` or no field).
    pub chain_code: Option<ChainCode>,
    /// Fields of the document this tool does not know (`index.hint` for one inside
    /// `index`), in document order. Their values are never kept.
    pub unknown_fields: Vec<String>,
}

/// The two shapes of the share document Dfns has written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DocumentFormat {
    /// Since Dfns added HD keys: `chain_code` last, `null` for an ordinary key.
    #[default]
    Current,
    /// Before: three fields, no `chain_code` (a chain code cannot be written).
    Legacy,
}

/// The document as read; the scalar texts stay in wiped memory.
struct Document {
    version: u64,
    index: ScalarDoc,
    secret_share: ScalarDoc,
    chain_code: Option<ChainCode>,
    unknown: Vec<String>,
}

struct ScalarDoc {
    curve: String,
    scalar: Zeroizing<String>,
    unknown: Vec<String>,
}

/// The document as written (`chain_code`: absent, `null`, or base64).
#[derive(Serialize)]
struct DocumentOut<'a> {
    version: u64,
    index: ScalarOut<'a>,
    secret_share: ScalarOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chain_code: Option<Option<&'a str>>,
}

#[derive(Serialize)]
struct ScalarOut<'a> {
    curve: &'a str,
    scalar: &'a str,
}

impl SharePlaintext {
    /// Reads a share document for a key on `curve`.
    pub fn parse(plaintext: &[u8], curve: Curve) -> Result<SharePlaintext, ShareFault> {
        let document: Document = serde_json::from_slice(plaintext).map_err(|e| {
            // Every message names a field or a position, never a value.
            ShareFault::ShareFormat(format!(
                "line {} column {}: {}",
                e.line(),
                e.column(),
                classify(&e)
            ))
        })?;
        if document.version != VERSION {
            return Err(ShareFault::Version(document.version));
        }
        for part in [&document.index, &document.secret_share] {
            if part.curve != curve.as_str() {
                return Err(ShareFault::Curve(part.curve.clone()));
            }
        }
        let index = scalar_bytes(&document.index.scalar, "index")?;
        let secret = scalar_bytes(&document.secret_share.scalar, "secret_share")?;
        let mut unknown_fields = document.unknown;
        for (name, part) in [
            ("index", document.index),
            ("secret_share", document.secret_share),
        ] {
            unknown_fields.extend(part.unknown.into_iter().map(|f| format!("{name}.{f}")));
        }
        Ok(SharePlaintext {
            index: *index,
            secret,
            chain_code: document.chain_code,
            unknown_fields,
        })
    }

    /// Writes the share document for `curve` as Dfns does (compact JSON, fields in
    /// Dfns' order). In the legacy format the chain code is left out.
    pub fn to_json(&self, curve: Curve, format: DocumentFormat) -> Zeroizing<Vec<u8>> {
        let index = hex::encode(self.index);
        let secret = Zeroizing::new(hex::encode(self.secret.as_slice()));
        let chain_code = self.chain_code.as_ref().map(ChainCode::to_base64);
        let document = DocumentOut {
            version: VERSION,
            index: ScalarOut {
                curve: curve.as_str(),
                scalar: &index,
            },
            secret_share: ScalarOut {
                curve: curve.as_str(),
                scalar: &secret,
            },
            chain_code: match format {
                DocumentFormat::Current => Some(chain_code.as_ref().map(|c| c.as_str())),
                DocumentFormat::Legacy => None,
            },
        };
        let mut out = Zeroizing::new(Vec::with_capacity(512));
        serde_json::to_writer(&mut *out, &document)
            .expect("a struct of strings serializes to JSON");
        out
    }
}

/// Sets a field once; a repeated field makes the document invalid.
fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, field: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(field));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Document, D::Error> {
        struct DocumentVisitor;
        impl<'de> Visitor<'de> for DocumentVisitor {
            type Value = Document;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a share document (a JSON object)")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
                let mut version = None;
                let mut index = None;
                let mut secret_share = None;
                let mut chain_code: Option<Option<ChainCodeText>> = None;
                let mut unknown = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "version" => once(&mut version, map.next_value()?, "version")?,
                        "index" => once(&mut index, map.next_value()?, "index")?,
                        "secret_share" => {
                            once(&mut secret_share, map.next_value()?, "secret_share")?
                        }
                        "chain_code" => once(&mut chain_code, map.next_value()?, "chain_code")?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            unknown.push(key);
                        }
                    }
                }
                Ok(Document {
                    version: version.ok_or_else(|| de::Error::missing_field("version"))?,
                    index: index.ok_or_else(|| de::Error::missing_field("index"))?,
                    secret_share: secret_share
                        .ok_or_else(|| de::Error::missing_field("secret_share"))?,
                    chain_code: chain_code.flatten().map(|c| c.0),
                    unknown,
                })
            }
        }
        deserializer.deserialize_map(DocumentVisitor)
    }
}

impl<'de> Deserialize<'de> for ScalarDoc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ScalarDoc, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = ScalarDoc;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object {\"curve\", \"scalar\"}")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScalarDoc, A::Error> {
                let mut curve = None;
                let mut scalar: Option<Zeroizing<String>> = None;
                let mut unknown = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "curve" => once(&mut curve, map.next_value()?, "curve")?,
                        "scalar" => once(&mut scalar, map.next_value()?, "scalar")?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            unknown.push(key);
                        }
                    }
                }
                Ok(ScalarDoc {
                    curve: curve.ok_or_else(|| de::Error::missing_field("curve"))?,
                    scalar: scalar.ok_or_else(|| de::Error::missing_field("scalar"))?,
                    unknown,
                })
            }
        }
        deserializer.deserialize_map(ScalarVisitor)
    }
}

/// A `chain_code` string, decoded.
struct ChainCodeText(ChainCode);

impl<'de> Deserialize<'de> for ChainCodeText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ChainCodeText, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = ChainCodeText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null or standard base64 of 32 bytes")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<ChainCodeText, E> {
                ChainCode::from_base64(text)
                    .map(ChainCodeText)
                    .map_err(E::custom)
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// A serde error reworded without any input excerpt.
fn classify(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Io => "unreadable".into(),
        Category::Syntax => "not valid JSON".into(),
        Category::Eof => "truncated".into(),
        // Data errors say "missing field `x`", "duplicate field `x`", or "invalid type:
        // integer `5`, expected ...": the value is dropped, field names are kept.
        Category::Data => {
            let text = error.to_string();
            let text = text.split(" at line").next().unwrap_or_default();
            without_value(text)
        }
    }
}

/// "invalid type: string \"...\", expected X" → "invalid type: string, expected X".
fn without_value(text: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let (unexpected, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            let kind = unexpected
                .split(['`', '"'])
                .next()
                .unwrap_or_default()
                .trim();
            return format!("{prefix}{kind}, expected {expected}");
        }
    }
    text.to_string()
}

fn scalar_bytes(text: &str, field: &str) -> Result<Zeroizing<[u8; 32]>, ShareFault> {
    let mut out = Zeroizing::new([0u8; 32]);
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ShareFault::ShareFormat(format!(
            "{field}.scalar must be 64 hexadecimal characters"
        )));
    }
    hex::decode_to_slice(text, out.as_mut_slice())
        .map_err(|_| ShareFault::ShareFormat(format!("{field}.scalar is not hexadecimal")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    const LEGACY: &str = r#"{"version":1,"index":{"curve":"secp256k1","scalar":"0000000000000000000000000000000000000000000000000000000000000001"},"secret_share":{"curve":"secp256k1","scalar":"00000000000000000000000000000000000000000000000000000000000000ff"}}"#;
    /// A document as Dfns' serializer writes it (reference-hd.meta.json, first case).
    const HD: &str = r#"{"version":1,"index":{"curve":"secp256k1","scalar":"0000000000000000000000000000000000000000000000000000000000000001"},"secret_share":{"curve":"secp256k1","scalar":"6bdc23a58e8004307b9fbccc939cbac15253fa205706afaf1454f964c310efd2"},"chain_code":"VZd2AJpthiqtBJIeKf3lvXLv9wF8LcnBSzkosyWpN6c="}"#;

    fn current_null() -> String {
        LEGACY.replace("}}", "},\"chain_code\":null}")
    }

    fn share_format(text: &str) -> String {
        match SharePlaintext::parse(text.as_bytes(), Curve::Secp256k1) {
            Err(ShareFault::ShareFormat(reason)) => reason,
            other => panic!("expected share-format for {text}, got {:?}", other.err()),
        }
    }

    #[test]
    fn parses_and_round_trips_every_format() {
        let share = SharePlaintext::parse(LEGACY.as_bytes(), Curve::Secp256k1).unwrap();
        assert_eq!(share.index[31], 1);
        assert_eq!(share.secret[31], 0xff);
        assert!(share.chain_code.is_none() && share.unknown_fields.is_empty());
        let legacy = share.to_json(Curve::Secp256k1, DocumentFormat::Legacy);
        assert_eq!(legacy.as_slice(), LEGACY.as_bytes());
        let current = share.to_json(Curve::Secp256k1, DocumentFormat::Current);
        assert_eq!(current.as_slice(), current_null().as_bytes());
        let null = SharePlaintext::parse(current.as_slice(), Curve::Secp256k1).unwrap();
        assert!(null.chain_code.is_none() && null.unknown_fields.is_empty());

        let hd = SharePlaintext::parse(HD.as_bytes(), Curve::Secp256k1).unwrap();
        assert_eq!(
            hd.chain_code.as_ref().unwrap().to_hex().as_str(),
            "559776009a6d862aad04921e29fde5bd72eff7017c2dc9c14b3928b325a937a7"
        );
        assert_eq!(
            hd.to_json(Curve::Secp256k1, DocumentFormat::Current)
                .as_slice(),
            HD.as_bytes()
        );
    }

    #[test]
    fn unknown_fields_are_recorded_not_fatal() {
        let text = HD
            .replacen("{\"version\":1,", "{\"version\":1,\"hint\":{\"a\":[1]},", 1)
            .replacen(
                "\"curve\":\"secp256k1\",",
                "\"curve\":\"secp256k1\",\"encoding\":\"be\",",
                1,
            );
        let text = text.trim_end_matches('}').to_string() + ",\"zz\":7}";
        let share = SharePlaintext::parse(text.as_bytes(), Curve::Secp256k1).unwrap();
        assert_eq!(share.unknown_fields, ["hint", "zz", "index.encoding"]);
        assert!(share.chain_code.is_some());
    }

    #[test]
    fn malformed_chain_codes_make_the_document_invalid() {
        let b31 = base64::engine::general_purpose::STANDARD.encode([9u8; 31]);
        let b33 = base64::engine::general_purpose::STANDARD.encode([9u8; 33]);
        let code = "VZd2AJpthiqtBJIeKf3lvXLv9wF8LcnBSzkosyWpN6c=";
        for (value, says) in [
            (format!("\"{b31}\""), "31 bytes"),
            (format!("\"{b33}\""), "33 bytes"),
            ("\"not base64!\"".into(), "not standard base64"),
            ("\"\"".into(), "0 bytes"),
            ("5".into(), "invalid type: integer, expected"),
            ("true".into(), "invalid type: boolean"),
            ("[1,2]".into(), "invalid type: sequence"),
            ("{}".into(), "invalid type: map"),
        ] {
            let text = HD.replace(&format!("\"{code}\""), &value);
            let reason = share_format(&text);
            assert!(reason.contains(says), "{value}: {reason}");
        }
        let twice = HD.trim_end_matches('}').to_string() + ",\"chain_code\":null}";
        assert!(share_format(&twice).contains("duplicate field `chain_code`"));
    }

    #[test]
    fn faults_are_specific_and_never_echo_the_secret() {
        let v2 = LEGACY.replace("\"version\":1", "\"version\":2");
        assert_eq!(
            SharePlaintext::parse(v2.as_bytes(), Curve::Secp256k1).err(),
            Some(ShareFault::Version(2))
        );
        assert!(matches!(
            SharePlaintext::parse(LEGACY.as_bytes(), Curve::Stark).err(),
            Some(ShareFault::Curve(_))
        ));
        for bad in [
            LEGACY.replace("00ff\"", "0ff\""),
            LEGACY.replace("\"version\":1,", "\"version\":1,\"version\":1,"),
            LEGACY.replace(
                "\"scalar\":\"00000000000000000000000000000000000000000000000000000000000000ff\"",
                "\"scalar\":255",
            ),
            LEGACY.replace("\"version\":1", "\"version\":\"ff\""),
            LEGACY[..LEGACY.len() - 3].to_string(),
            "garbage".to_string(),
            "[1]".to_string(),
            LEGACY.replace("00ff\"", "00fg\""),
        ] {
            let reason = share_format(&bad);
            assert!(
                !reason.contains("ff") && !reason.contains("255"),
                "{reason}"
            );
        }
        let secret = "6bdc23a58e8004307b9fbccc939cbac15253fa205706afaf1454f964c310efd2";
        let code = "VZd2AJpthiqtBJIeKf3lvXLv9wF8LcnBSzkosyWpN6c";
        let reason = share_format(&HD.replace("6c=", "6c=!"));
        assert!(
            !reason.contains(code) && !reason.contains(secret),
            "{reason}"
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = SharePlaintext::parse(&bytes, Curve::Ed25519);
        }

        #[test]
        fn any_chain_code_round_trips(bytes in any::<[u8; 32]>(), index in 1u8..) {
            let mut share_index = [0u8; 32];
            share_index[31] = index;
            let share = SharePlaintext {
                index: share_index,
                secret: Zeroizing::new([3u8; 32]),
                chain_code: Some(ChainCode::from_bytes(bytes)),
                unknown_fields: Vec::new(),
            };
            let text = share.to_json(Curve::Stark, DocumentFormat::Current);
            let read = SharePlaintext::parse(&text, Curve::Stark).unwrap();
            prop_assert_eq!(read.chain_code.as_ref().map(ChainCode::as_bytes), Some(&bytes));
            prop_assert_eq!(read.index, share_index);
        }
    }
}
