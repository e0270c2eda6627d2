//! The decrypted share document (spec §4), read strictly.
//!
//! ```json
//! {"version":1,"index":{"curve":"secp256k1","scalar":"<64 hex>"},"secret_share":{"curve":"secp256k1","scalar":"<64 hex>"}}
//! ```
//!
//! Parsing checks the version, that both curves equal the response's curve, and that
//! both scalars are exactly 32 bytes of hex (range checks against the curve order
//! happen in [`crate::reconstruct`], which knows the field). The secret scalar text
//! is kept in wiped memory.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::ShareFault;
use crate::scheme::Curve;

/// The only share document version this tool reads.
const VERSION: u64 = 1;

/// A parsed share: its index `x` and value `y`, 32 bytes big-endian each.
pub struct SharePlaintext {
    /// The share's index (the point it is evaluated at); public.
    pub index: [u8; 32],
    /// The share's secret value.
    pub secret: Zeroizing<[u8; 32]>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u64,
    index: ScalarDoc,
    secret_share: ScalarDoc,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ScalarDoc {
    curve: String,
    scalar: Zeroizing<String>,
}

impl SharePlaintext {
    /// Reads a share document for a key on `curve`.
    pub fn parse(plaintext: &[u8], curve: Curve) -> Result<SharePlaintext, ShareFault> {
        let document: Document = serde_json::from_slice(plaintext).map_err(|e| {
            // serde's message names the field or the position, never a value.
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
        Ok(SharePlaintext {
            index: *index,
            secret,
        })
    }

    /// Writes the share document for `curve`, as Dfns does (compact JSON).
    pub fn to_json(&self, curve: Curve) -> Zeroizing<Vec<u8>> {
        let document = Document {
            version: VERSION,
            index: ScalarDoc {
                curve: curve.as_str().into(),
                scalar: Zeroizing::new(hex::encode(self.index)),
            },
            secret_share: ScalarDoc {
                curve: curve.as_str().into(),
                scalar: Zeroizing::new(hex::encode(self.secret.as_slice())),
            },
        };
        Zeroizing::new(
            serde_json::to_vec(&document).expect("a struct of strings serializes to JSON"),
        )
    }
}

/// A serde error reworded without any input excerpt.
fn classify(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Io => "unreadable".into(),
        Category::Syntax => "not valid JSON".into(),
        Category::Eof => "truncated".into(),
        // Data errors say "missing field `x`", "unknown field `x`" or "invalid type":
        // field names only, which are not secret.
        Category::Data => {
            let text = error.to_string();
            text.split(" at line")
                .next()
                .unwrap_or("invalid share document")
                .to_string()
        }
    }
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
    use proptest::prelude::*;

    const GOOD: &str = r#"{"version":1,"index":{"curve":"secp256k1","scalar":"0000000000000000000000000000000000000000000000000000000000000001"},"secret_share":{"curve":"secp256k1","scalar":"00000000000000000000000000000000000000000000000000000000000000ff"}}"#;

    #[test]
    fn parses_and_round_trips() {
        let share = SharePlaintext::parse(GOOD.as_bytes(), Curve::Secp256k1).unwrap();
        assert_eq!(share.index[31], 1);
        assert_eq!(share.secret[31], 0xff);
        assert_eq!(share.to_json(Curve::Secp256k1).as_slice(), GOOD.as_bytes());
    }

    #[test]
    fn faults_are_specific_and_never_echo_the_secret() {
        let v2 = GOOD.replace("\"version\":1", "\"version\":2");
        assert_eq!(
            SharePlaintext::parse(v2.as_bytes(), Curve::Secp256k1).err(),
            Some(ShareFault::Version(2))
        );
        assert!(matches!(
            SharePlaintext::parse(GOOD.as_bytes(), Curve::Stark).err(),
            Some(ShareFault::Curve(_))
        ));
        for bad in [
            GOOD.replace("00ff\"", "0ff\""),
            GOOD.replace("\"version\":1,", "\"version\":1,\"extra\":0,"),
            GOOD[..GOOD.len() - 3].to_string(),
            "garbage".to_string(),
            GOOD.replace("00ff\"", "00fg\""),
        ] {
            match SharePlaintext::parse(bad.as_bytes(), Curve::Secp256k1) {
                Err(ShareFault::ShareFormat(reason)) => assert!(!reason.contains("ff"), "{reason}"),
                other => panic!("expected share-format, got {:?}", other.err()),
            }
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = SharePlaintext::parse(&bytes, Curve::Ed25519);
        }
    }
}
