//! Strict JSON reading for every document that comes from an input.
//!
//! JSON leaves duplicate keys undefined and parsers disagree: serde_json keeps the last
//! value, others keep the first. A response with two `publicKey` fields could show one
//! value to `inspect` (or to a second tool on the online machine) and another to the
//! rebuild. So a document in which any object repeats a key is refused, naming the key;
//! [`parse`] checks that before handing the bytes to serde. [`file_bytes`] writes the
//! documents the tools make.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::{Error, Result};

/// The bytes of a document file the tools write: pretty JSON and a final newline.
pub fn file_bytes(document: &impl Serialize) -> Vec<u8> {
    // The documents are structs of strings, numbers and JSON values: serializing them to
    // memory cannot fail.
    let mut out =
        serde_json::to_vec_pretty(document).expect("a struct of strings serializes to JSON");
    out.push(b'\n');
    out
}

/// Parses `bytes` as one JSON document of type `T`, refusing duplicate keys in any
/// object. `document` names it in errors ("the Dfns export response").
///
/// # Errors
/// [`Error::Json`] for invalid JSON, a duplicate key, or a shape serde refuses.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], document: &'static str) -> Result<T> {
    check_unique_keys(bytes, document)?;
    serde_json::from_slice(bytes).map_err(|e| Error::Json {
        document,
        reason: e.to_string(),
    })
}

/// Fails when `bytes` is not JSON or when an object in it has the same key twice.
///
/// # Errors
/// [`Error::Json`] naming the repeated key (at most 64 characters of it; the binaries
/// escape it when they print it).
pub fn check_unique_keys(bytes: &[u8], document: &'static str) -> Result<()> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    <UniqueKeys as de::Deserialize>::deserialize(&mut deserializer)
        .and_then(|_| deserializer.end())
        .map_err(|e| Error::Json {
            document,
            reason: e.to_string(),
        })
}

/// A JSON value that is only walked, to find repeated keys.
struct UniqueKeys;

impl<'de> de::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> std::result::Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<UniqueKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format_args!(
                    "the key `{shown}` appears twice in one object (which one counts is undefined)"
                )));
            }
            map.next_value::<UniqueKeys>()?;
            seen.insert(key);
        }
        Ok(UniqueKeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let ok: Value = parse(br#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#, "test").unwrap();
        assert_eq!(ok["c"][1]["a"], 4);
        for doc in [
            r#"{"publicKey":"02aa","publicKey":"03bb"}"#,
            r#"{"x":{"y":1,"y":2}}"#,
            r#"[{"ok":1},{"k":1,"k":1}]"#,
        ] {
            let err = parse::<Value>(doc.as_bytes(), "test").unwrap_err();
            assert!(err.to_string().contains("appears twice"), "{err}");
        }
        let err = parse::<Value>(br#"{"publicKey":"a","publicKey":"b"}"#, "test").unwrap_err();
        assert!(
            err.to_string().contains("`publicKey` appears twice"),
            "{err}"
        );
    }

    #[test]
    fn invalid_json_and_trailing_text_are_refused() {
        assert!(check_unique_keys(b"{\"a\":", "test").is_err());
        assert!(check_unique_keys(b"{} {}", "test").is_err());
        assert!(check_unique_keys(b"  {}\n", "test").is_ok());
    }
}
