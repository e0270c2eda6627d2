//! The Ethereum QR protocol of Keystone and MetaMask (EIP-4527): `eth-sign-request` in,
//! `eth-signature` out.
//!
//! `eth-sign-request` is a CBOR map with integer keys:
//!
//! | key | field | CBOR |
//! | --- | --- | --- |
//! | 1 | request-id | tag 37 (UUID), 16-byte string (optional) |
//! | 2 | sign-data | byte string: the unsigned transaction |
//! | 3 | data-type | 1 legacy transaction (RLP), 2 EIP-712 typed data, 3 personal message, 4 typed transaction (EIP-2718) |
//! | 4 | chain-id | integer (optional) |
//! | 5 | derivation-path | tag 304 (`crypto-keypath`): {1: [index, hardened, …], 2: source fingerprint, 3: depth} |
//! | 6 | address | 20-byte string (optional) |
//! | 7 | origin | text, the requesting wallet (optional) |
//!
//! Only transactions (types 1 and 4) are signed: typed data and personal messages are
//! refused, since this command shows and signs transactions. `eth-signature` is
//! `{1: tag 37 request-id (when the request had one), 2: r ‖ s ‖ v}`, where `v` is the `v`
//! of the signed transaction (legacy: EIP-155 `2·chainId + 35 + recovery id`, big-endian
//! without leading zeros; typed: the y parity, one byte), as the wallets' keyrings read it
//! (`v = signature[64..]`).

use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};
use serde::Serialize;

/// CBOR tag of a UUID (IANA), used for request ids.
const TAG_UUID: u64 = 37;
/// CBOR tag of a `crypto-keypath` (BCR-2020-006).
const TAG_KEYPATH: u64 = 304;
/// More map entries than any request has: a hostile header cannot make the loop long.
const MAX_ENTRIES: u64 = 32;
/// More path levels than BIP-32 allows.
const MAX_LEVELS: u64 = 255;
/// Longest origin shown (characters).
const MAX_ORIGIN: usize = 64;

/// What the request asks to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataType {
    /// A legacy transaction (RLP list), data-type 1.
    Transaction,
    /// An EIP-2718 typed transaction (`0x01`, `0x02`), data-type 4.
    TypedTransaction,
}

/// A decoded `eth-sign-request`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EthSignRequest {
    /// The request id (UUID, 8-4-4-4-12 hex), echoed in the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip)]
    request_id_bytes: Option<[u8; 16]>,
    /// The unsigned transaction.
    #[serde(skip)]
    pub sign_data: Vec<u8>,
    /// Legacy or typed transaction.
    pub data_type: DataType,
    /// The chain id the wallet names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// The wallet's derivation path of the signing key (`m/44'/60'/0'/0/0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derivation_path: Option<String>,
    /// The master key fingerprint the path starts from (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_fingerprint: Option<String>,
    /// The address the wallet expects to sign (EIP-55).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The requesting wallet, as it names itself (printable, shortened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Keys this tool does not read, reported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_keys: Vec<u64>,
}

fn cbor_error(what: &str) -> impl Fn(minicbor::decode::Error) -> String + '_ {
    move |e| format!("malformed or truncated CBOR at {what}: {e}")
}

/// Decodes an `eth-sign-request` strictly: a definite map, each key once, the fields of
/// the types above, nothing after it. Returns what is wrong in a sentence.
pub fn decode(cbor: &[u8]) -> Result<EthSignRequest, String> {
    let mut d = Decoder::new(cbor);
    let entries = d
        .map()
        .map_err(cbor_error("the request"))?
        .ok_or("the request is an indefinite-length map (not as EIP-4527 encodes it)")?;
    if entries > MAX_ENTRIES {
        return Err(format!("the request announces {entries} fields"));
    }
    let mut seen = Vec::new();
    let mut fields = Fields::default();
    for _ in 0..entries {
        let key = d.u64().map_err(cbor_error("a field key"))?;
        if seen.contains(&key) {
            return Err(format!("field {key} appears twice"));
        }
        seen.push(key);
        fields.read(key, &mut d)?;
    }
    if d.position() != cbor.len() {
        return Err(format!(
            "{} byte(s) follow the request",
            cbor.len() - d.position()
        ));
    }
    fields.request()
}

/// The fields of a request as they are read, each in its type.
#[derive(Default)]
struct Fields {
    request_id: Option<[u8; 16]>,
    sign_data: Option<Vec<u8>>,
    data_type: Option<DataType>,
    chain_id: Option<u64>,
    /// The path and the source fingerprint.
    keypath: Option<(String, Option<u32>)>,
    address: Option<[u8; 20]>,
    origin: Option<String>,
    unknown_keys: Vec<u64>,
}

impl Fields {
    /// Reads the value of field `key` (an unknown one is skipped and its key noted).
    fn read(&mut self, key: u64, d: &mut Decoder<'_>) -> Result<(), String> {
        match key {
            1 => {
                expect_tag(d, TAG_UUID, "request-id")?;
                self.request_id = Some(fixed(d, "request-id")?);
            }
            2 => {
                let bytes = d.bytes().map_err(cbor_error("sign-data"))?;
                if bytes.is_empty() {
                    return Err("sign-data is empty".into());
                }
                self.sign_data = Some(bytes.to_vec());
            }
            3 => self.data_type = Some(data_type(d)?),
            4 => self.chain_id = Some(d.u64().map_err(cbor_error("chain-id"))?),
            5 => {
                expect_tag(d, TAG_KEYPATH, "derivation-path")?;
                self.keypath = Some(decode_keypath(d)?);
            }
            6 => self.address = Some(fixed(d, "address")?),
            7 => {
                let text = d.str().map_err(cbor_error("origin"))?;
                let shown = text.chars().filter(|c| !c.is_control()).take(MAX_ORIGIN);
                self.origin = Some(shown.collect());
            }
            other => {
                d.skip().map_err(cbor_error("an unknown field"))?;
                self.unknown_keys.push(other);
            }
        }
        Ok(())
    }

    /// The request, once every field is read: sign-data and data-type are required.
    fn request(self) -> Result<EthSignRequest, String> {
        let sign_data = self
            .sign_data
            .ok_or("the request has no sign-data (field 2)")?;
        let data_type = self
            .data_type
            .ok_or("the request has no data-type (field 3)")?;
        let (derivation_path, source_fingerprint) = match self.keypath {
            Some((path, fingerprint)) => (Some(path), fingerprint),
            None => (None, None),
        };
        Ok(EthSignRequest {
            request_id: self.request_id.map(|id| uuid_text(&id)),
            request_id_bytes: self.request_id,
            sign_data,
            data_type,
            chain_id: self.chain_id,
            derivation_path,
            source_fingerprint: source_fingerprint.map(|f| format!("{f:08x}")),
            address: self.address.map(|a| crate::addresses::eip55(&a)),
            origin: self.origin,
            unknown_keys: self.unknown_keys,
        })
    }
}

/// A byte string of exactly `N` bytes, `what` naming it.
fn fixed<const N: usize>(d: &mut Decoder<'_>, what: &str) -> Result<[u8; N], String> {
    let bytes = d.bytes().map_err(cbor_error(what))?;
    bytes
        .try_into()
        .map_err(|_| format!("{what} is {} bytes, not {N}", bytes.len()))
}

/// The data-type: a transaction, legacy or typed; typed data and personal messages are
/// refused by name.
fn data_type(d: &mut Decoder<'_>) -> Result<DataType, String> {
    match d.u64().map_err(cbor_error("data-type"))? {
        1 => Ok(DataType::Transaction),
        4 => Ok(DataType::TypedTransaction),
        2 => Err("the request is EIP-712 typed data (data-type 2), not a \
                  transaction: only transactions are shown and signed here"
            .into()),
        3 => Err("the request is a personal message (data-type 3), not a \
                  transaction: only transactions are shown and signed here"
            .into()),
        other => Err(format!("unknown data-type {other}")),
    }
}

fn expect_tag(d: &mut Decoder<'_>, tag: u64, what: &str) -> Result<(), String> {
    let found = d.tag().map_err(cbor_error(what))?;
    if found != Tag::new(tag) {
        return Err(format!("{what} has CBOR tag {found}, not {tag}"));
    }
    Ok(())
}

/// A `crypto-keypath`: the path as `m/44'/60'/0'/0/0` and the source fingerprint.
fn decode_keypath(d: &mut Decoder<'_>) -> Result<(String, Option<u32>), String> {
    let entries = d
        .map()
        .map_err(cbor_error("derivation-path"))?
        .ok_or("derivation-path is an indefinite-length map")?;
    if entries > MAX_ENTRIES {
        return Err(format!("derivation-path announces {entries} fields"));
    }
    let mut path = None;
    let mut fingerprint = None;
    let mut seen = Vec::new();
    for _ in 0..entries {
        let key = d.u64().map_err(cbor_error("a derivation-path key"))?;
        if seen.contains(&key) {
            return Err(format!("derivation-path field {key} appears twice"));
        }
        seen.push(key);
        match key {
            1 => {
                let items = d
                    .array()
                    .map_err(cbor_error("derivation-path components"))?
                    .ok_or("derivation-path components are an indefinite-length array")?;
                if items % 2 != 0 || items / 2 > MAX_LEVELS {
                    return Err(format!(
                        "derivation-path has {items} component items, not index/hardened pairs"
                    ));
                }
                let mut text = String::from("m");
                for _ in 0..items / 2 {
                    if d.datatype().map_err(cbor_error("a path index"))? == Type::Array {
                        return Err(
                            "derivation-path has a wildcard or range: a signing key has one path"
                                .into(),
                        );
                    }
                    let index = d.u32().map_err(cbor_error("a path index"))?;
                    if index >= 1 << 31 {
                        return Err(format!("path index {index} is 2^31 or more"));
                    }
                    let hardened = d.bool().map_err(cbor_error("a path hardened flag"))?;
                    text.push_str(&format!("/{index}{}", if hardened { "'" } else { "" }));
                }
                path = Some(text);
            }
            2 => fingerprint = Some(d.u32().map_err(cbor_error("source-fingerprint"))?),
            _ => d.skip().map_err(cbor_error("a derivation-path field"))?,
        }
    }
    let path = path.ok_or("derivation-path has no components (field 1)")?;
    Ok((path, fingerprint))
}

/// 8-4-4-4-12 hex of a UUID.
fn uuid_text(id: &[u8; 16]) -> String {
    let hex = hex::encode(id);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl EthSignRequest {
    /// The `eth-signature` answering this request: its request id and `signature`
    /// (`r ‖ s ‖ v`).
    pub fn signature_cbor(&self, signature: &[u8]) -> Result<Vec<u8>, String> {
        let mut e = Encoder::new(Vec::new());
        let fields = if self.request_id_bytes.is_some() {
            2
        } else {
            1
        };
        let write = |e: &mut Encoder<Vec<u8>>| -> Result<(), minicbor::encode::Error<_>> {
            e.map(fields)?;
            if let Some(id) = &self.request_id_bytes {
                e.u8(1)?.tag(Tag::new(TAG_UUID))?.bytes(id)?;
            }
            e.u8(2)?.bytes(signature)?;
            Ok(())
        };
        write(&mut e).map_err(|e: minicbor::encode::Error<std::convert::Infallible>| {
            format!("eth-signature encoding: {e}")
        })?;
        Ok(e.into_writer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keystone's own test vector (ur-registry, `eth_sign_request.rs`): request id
    /// 9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d, a legacy transaction, chain 1, path
    /// 44'/1'/1'/0/1 from fingerprint 12345678, origin "metamask".
    const KEYSTONE_REQUEST: &str = "a601d825509b1deb4d3b7d4bad9bdd2b0d7b3dcb6d02584bf849808609184e72a00082271094000000000000000000000000000000000000000080a47f74657374320000000000000000000000000000000000000000000000000000006000578080800301040105d90130a2018a182cf501f501f500f401f4021a1234567807686d6574616d61736b";

    #[test]
    fn keystones_request_vector_decodes() {
        let request = decode(&hex::decode(KEYSTONE_REQUEST).unwrap()).unwrap();
        assert_eq!(
            request.request_id.as_deref(),
            Some("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d")
        );
        assert_eq!(request.data_type, DataType::Transaction);
        assert_eq!(request.chain_id, Some(1));
        assert_eq!(request.derivation_path.as_deref(), Some("m/44'/1'/1'/0/1"));
        assert_eq!(request.source_fingerprint.as_deref(), Some("12345678"));
        assert_eq!(request.origin.as_deref(), Some("metamask"));
        assert_eq!(request.address, None);
        assert_eq!(request.sign_data.len(), 75);
        assert_eq!(request.sign_data[0], 0xf8);
    }

    /// Keystone's `eth_signature.rs` vector, without its optional origin field: the same
    /// bytes up to where the origin starts, with the map size 2 instead of 3.
    #[test]
    fn the_signature_matches_keystones_encoding() {
        let request = decode(&hex::decode(KEYSTONE_REQUEST).unwrap()).unwrap();
        let signature = hex::decode("d4f0a7bcd95bba1fbb1051885054730e3f47064288575aacc102fbbf6a9a14daa066991e360d3e3406c20c00a40973eff37c7d641e5b351ec4a99bfe86f335f713").unwrap();
        let cbor = request.signature_cbor(&signature).unwrap();
        let keystone = "a301d825509b1deb4d3b7d4bad9bdd2b0d7b3dcb6d025841d4f0a7bcd95bba1fbb1051885054730e3f47064288575aacc102fbbf6a9a14daa066991e360d3e3406c20c00a40973eff37c7d641e5b351ec4a99bfe86f335f71303686b657973746f6e65";
        let without_origin = format!("a2{}", &keystone[2..keystone.len() - 20]);
        assert_eq!(hex::encode(cbor), without_origin);
    }

    #[test]
    fn damaged_requests_are_refused_with_a_reason() {
        let good = hex::decode(KEYSTONE_REQUEST).unwrap();
        for cut in [1, 10, good.len() / 2, good.len() - 1] {
            let err = decode(&good[..cut]).unwrap_err();
            assert!(err.contains("malformed or truncated CBOR"), "{cut}: {err}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(
            decode(&trailing)
                .unwrap_err()
                .contains("follow the request")
        );
        // data-type 3 (personal message): refused by name.
        let personal = KEYSTONE_REQUEST.replace("0301", "0303");
        assert!(
            decode(&hex::decode(personal).unwrap())
                .unwrap_err()
                .contains("personal message")
        );
        // A byte string instead of a map.
        assert!(decode(&[0x41, 0x00]).is_err());
    }
}
