//! Ethereum transactions: legacy with EIP-155 replay protection, EIP-2930 (`0x01`) and
//! EIP-1559 (`0x02`), unsigned, parsed, summarised and signed on the offline machine.
//!
//! alloy-rlp decodes the fields (canonical integers only: leading zeros and non-canonical
//! sizes are refused); every byte must belong to the transaction. The digest signed is
//! Keccak-256 of the unsigned encoding as given: for a legacy transaction
//! `rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])` (EIP-155), for a typed one
//! `type ‖ rlp([chainId, …, accessList])` (EIP-2718). The signed transaction is the same
//! fields followed by `v, r, s` (legacy: `v = 2·chainId + 35 + recovery id`) or
//! `yParity, r, s` (typed), which is what `eth_sendRawTransaction` takes.
//!
//! A legacy transaction without a chain id (before EIP-155: valid on every chain) is
//! refused. The ERC-20 `transfer(address,uint256)` and `approve(address,uint256)` calls are
//! decoded; other call data is shown by its length and selector.

use alloy_rlp::{Decodable, Encodable, Header};
use keyexport_shared::curve::{PrivateKey, PublicKey};
use serde::Serialize;
use sha3::{Digest, Keccak256};

use super::eth_ur::{self, DataType, EthSignRequest};
use super::ur::TxInput;
use super::{Delivery, input_error};
use crate::addresses::eip55;
use crate::cli::SignArgs;
use crate::error::{CliError, CliResult, UsageError};
use crate::render;
use crate::signature::{SignScheme, SignedMessage};
use crate::transcript::{Entry, sha256_hex};
use keyexport_shared::transport::{UrFrame, UrType};

/// The transaction types read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TxType {
    /// Legacy with EIP-155 chain id.
    Legacy,
    /// EIP-2930 (type 1, access list).
    Eip2930,
    /// EIP-1559 (type 2, priority fee).
    Eip1559,
}

/// A decoded ERC-20 call.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Erc20Call {
    /// `transfer` or `approve`.
    function: &'static str,
    /// The recipient (transfer) or spender (approve), EIP-55.
    to: String,
    /// The amount in the token's base units (decimal), as the contract counts it.
    amount: String,
}

/// What the operator is shown before confirming, and `--json`'s `"ethereum"`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    #[serde(rename = "type")]
    tx_type: TxType,
    chain_id: u64,
    nonce: u64,
    /// EIP-55 address, absent for a contract creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    value_wei: String,
    gas_limit: u64,
    /// Legacy and EIP-2930.
    #[serde(skip_serializing_if = "Option::is_none")]
    gas_price_wei: Option<String>,
    /// EIP-1559.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_fee_per_gas_wei: Option<String>,
    /// EIP-1559.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_priority_fee_per_gas_wei: Option<String>,
    /// `gasLimit × (gasPrice or maxFeePerGas)`: the most the transaction can cost in fees.
    max_fee_wei: String,
    data_length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    erc20: Option<Erc20Call>,
    /// Access list entries (EIP-2930, EIP-1559).
    #[serde(skip_serializing_if = "Option::is_none")]
    access_list_entries: Option<usize>,
    /// The digest signed: Keccak-256 of the unsigned transaction.
    signing_hash: String,
    warnings: Vec<String>,
}

/// A decoded unsigned transaction and what is needed to sign it.
#[derive(Debug)]
pub struct Parsed {
    summary: Summary,
    /// The list payload up to the fields the signature replaces or follows (legacy: before
    /// `chainId, 0, 0`; typed: all of it).
    fields: Vec<u8>,
    signing_hash: [u8; 32],
    sha256: String,
    /// The path, or the flag when the transaction was given as text.
    label: String,
    /// The wallet's request the transaction came in, if it came as a QR code.
    request: Option<EthSignRequest>,
}

/// Decodes the hex text (or binary file content) of an unsigned transaction.
pub fn parse(bytes: &[u8], label: &str, expected_chain: Option<u64>) -> CliResult<Parsed> {
    let raw = match std::str::from_utf8(bytes) {
        Ok(text) => {
            let trimmed = text.trim();
            let digits = trimmed
                .strip_prefix("0x")
                .or_else(|| trimmed.strip_prefix("0X"))
                .unwrap_or(trimmed);
            match hex::decode(digits) {
                Ok(raw) => raw,
                // A binary file whose bytes happen to be valid UTF-8.
                Err(_)
                    if bytes
                        .first()
                        .is_some_and(|&b| b == 0x01 || b == 0x02 || b >= 0xc0) =>
                {
                    bytes.to_vec()
                }
                Err(e) => {
                    return Err(input_error(
                        label,
                        format!("not the hex of an unsigned transaction ({e})"),
                    ));
                }
            }
        }
        Err(_) => bytes.to_vec(),
    };
    parse_raw(&raw, label, expected_chain)
}

/// Decodes the binary encoding of an unsigned transaction (as in an `eth-sign-request`).
pub fn parse_raw(raw: &[u8], label: &str, expected_chain: Option<u64>) -> CliResult<Parsed> {
    let (tx_type, body) = split_type(raw, label)?;
    let payload = list_payload(body, label)?;
    let fields = TxFields::read(tx_type, payload, label)?;
    if let Some(expected) = expected_chain
        && expected != fields.chain_id
    {
        return Err(input_error(
            label,
            format!(
                "the transaction is for chain id {} ({}), but --chain-id {expected} ({}) was given: refused",
                fields.chain_id,
                chain_name(fields.chain_id),
                chain_name(expected)
            ),
        ));
    }
    let signing_hash: [u8; 32] = Keccak256::digest(raw).into();
    let fee_per_gas = fields.gas_price.or(fields.max_fee).unwrap_or_default();
    let max_fee_wei = u128::from(fields.gas_limit)
        .checked_mul(fee_per_gas)
        .ok_or_else(|| input_error(label, "gas limit × fee per gas overflows"))?;
    let erc20 = erc20_call(&fields.data);
    let warnings = warnings(&fields, erc20.as_ref());
    let summary = Summary {
        tx_type,
        chain_id: fields.chain_id,
        nonce: fields.nonce,
        to: fields.to.map(|a| eip55(&a)),
        value_wei: fields.value.to_string(),
        gas_limit: fields.gas_limit,
        gas_price_wei: fields.gas_price.map(|v| v.to_string()),
        max_fee_per_gas_wei: fields.max_fee.map(|v| v.to_string()),
        max_priority_fee_per_gas_wei: fields.max_priority_fee.map(|v| v.to_string()),
        max_fee_wei: max_fee_wei.to_string(),
        data_length: fields.data.len(),
        erc20,
        access_list_entries: fields.access_list_entries,
        signing_hash: hex::encode(signing_hash),
        warnings,
    };
    Ok(Parsed {
        fields: payload[..fields.end].to_vec(),
        summary,
        signing_hash,
        sha256: sha256_hex(raw),
        label: label.to_owned(),
        request: None,
    })
}

/// The transaction's type, from its first byte, and the RLP list that follows (all of it
/// for a legacy transaction).
fn split_type<'a>(raw: &'a [u8], label: &str) -> CliResult<(TxType, &'a [u8])> {
    match raw.first() {
        None => Err(input_error(label, "the transaction is empty")),
        Some(0x01) => Ok((TxType::Eip2930, &raw[1..])),
        Some(0x02) => Ok((TxType::Eip1559, &raw[1..])),
        Some(&b) if b >= 0xc0 => Ok((TxType::Legacy, raw)),
        Some(&b) => Err(input_error(
            label,
            format!(
                "transaction type 0x{b:02x} is not signed here (legacy, 0x01 EIP-2930 and 0x02 EIP-1559 are)"
            ),
        )),
    }
}

/// The error of a field that is not canonical RLP of its type.
fn rlp_error(label: &str) -> impl Fn(alloy_rlp::Error) -> CliError + '_ {
    move |e| input_error(label, format!("not a valid unsigned transaction: {e}"))
}

/// The payload of the RLP list `body` is, which must be all of `body`.
fn list_payload<'a>(body: &'a [u8], label: &str) -> CliResult<&'a [u8]> {
    let mut buf = body;
    let header = Header::decode(&mut buf).map_err(rlp_error(label))?;
    if !header.list {
        return Err(input_error(
            label,
            "not a valid unsigned transaction: not an RLP list",
        ));
    }
    if buf.len() != header.payload_length {
        return Err(input_error(
            label,
            format!(
                "{} byte(s) follow the transaction: refused (a transaction is signed whole, nothing after it)",
                buf.len().saturating_sub(header.payload_length)
            ),
        ));
    }
    Ok(buf)
}

/// The fields of an unsigned transaction, as decoded.
struct TxFields {
    chain_id: u64,
    nonce: u64,
    /// Legacy and EIP-2930.
    gas_price: Option<u128>,
    /// EIP-1559.
    max_priority_fee: Option<u128>,
    /// EIP-1559.
    max_fee: Option<u128>,
    gas_limit: u64,
    /// Absent for a contract creation.
    to: Option<[u8; 20]>,
    value: u128,
    data: Vec<u8>,
    /// Typed transactions.
    access_list_entries: Option<usize>,
    /// Where, in the list's payload, the fields end that the signature follows (legacy:
    /// before `chainId, 0, 0`; typed: the end).
    end: usize,
}

impl TxFields {
    /// Reads the fields of `tx_type` from the list's payload, every byte of it.
    fn read(tx_type: TxType, payload: &[u8], label: &str) -> CliResult<TxFields> {
        let rlp = rlp_error(label);
        let mut p = payload;
        let typed_chain = match tx_type {
            TxType::Legacy => None,
            _ => Some(u64::decode(&mut p).map_err(&rlp)?),
        };
        let nonce = u64::decode(&mut p).map_err(&rlp)?;
        let (gas_price, max_priority_fee, max_fee) = match tx_type {
            TxType::Eip1559 => {
                let priority = u128::decode(&mut p).map_err(&rlp)?;
                let max = u128::decode(&mut p).map_err(&rlp)?;
                (None, Some(priority), Some(max))
            }
            _ => (Some(u128::decode(&mut p).map_err(&rlp)?), None, None),
        };
        let gas_limit = u64::decode(&mut p).map_err(&rlp)?;
        let to = recipient(&mut p, label)?;
        let value = u128::decode(&mut p).map_err(&rlp)?;
        let data = Header::decode_bytes(&mut p, false).map_err(&rlp)?.to_vec();
        let (chain_id, access_list_entries, end) = match typed_chain {
            None => {
                let end = payload.len() - p.len();
                (legacy_chain_id(&mut p, label)?, None, end)
            }
            Some(chain) => {
                let entries = access_list_entries(&mut p, label)?;
                (chain, Some(entries), payload.len() - p.len())
            }
        };
        if !p.is_empty() {
            return Err(input_error(
                label,
                format!(
                    "{} byte(s) of further fields after the unsigned transaction's: refused (is it already signed?)",
                    p.len()
                ),
            ));
        }
        Ok(TxFields {
            chain_id,
            nonce,
            gas_price,
            max_priority_fee,
            max_fee,
            gas_limit,
            to,
            value,
            data,
            access_list_entries,
            end,
        })
    }
}

/// The `to` field: empty (a contract creation) or a 20-byte address.
fn recipient(p: &mut &[u8], label: &str) -> CliResult<Option<[u8; 20]>> {
    let bytes = Header::decode_bytes(p, false).map_err(rlp_error(label))?;
    match <[u8; 20]>::try_from(bytes) {
        Ok(address) => Ok(Some(address)),
        Err(_) if bytes.is_empty() => Ok(None),
        Err(_) => Err(input_error(
            label,
            format!("the recipient is {} bytes; an address is 20", bytes.len()),
        )),
    }
}

/// A legacy transaction's last fields, `chainId, 0, 0` (EIP-155): the chain id.
fn legacy_chain_id(p: &mut &[u8], label: &str) -> CliResult<u64> {
    if p.is_empty() {
        return Err(input_error(
            label,
            "a legacy transaction without a chain id (before EIP-155) is valid on every \
             chain and is refused; have the wallet build it with its chain id (EIP-155) \
             or as an EIP-1559 transaction",
        ));
    }
    let rlp = rlp_error(label);
    let chain = u64::decode(p).map_err(&rlp)?;
    let zero_r = u64::decode(p).map_err(&rlp)?;
    let zero_s = u64::decode(p).map_err(&rlp)?;
    if chain == 0 || zero_r != 0 || zero_s != 0 {
        return Err(input_error(
            label,
            "not an unsigned EIP-155 transaction: its last fields must be chainId, 0, 0 \
             (is it already signed?)",
        ));
    }
    Ok(chain)
}

/// A typed transaction's access list: the number of its entries (each an RLP list).
fn access_list_entries(p: &mut &[u8], label: &str) -> CliResult<usize> {
    let rlp = rlp_error(label);
    let mut rest = Header::decode_bytes(p, true).map_err(&rlp)?;
    let mut entries = 0usize;
    while !rest.is_empty() {
        Header::decode_bytes(&mut rest, true).map_err(&rlp)?;
        entries += 1;
    }
    Ok(entries)
}

/// What the operator is warned of: a contract creation, an ERC-20 approve or a call that
/// also sends ETH, call data not decoded, a priority fee above the max fee.
fn warnings(fields: &TxFields, erc20: Option<&Erc20Call>) -> Vec<String> {
    let mut warnings = Vec::new();
    if fields.to.is_none() {
        warnings.push("no recipient: this transaction creates a contract".to_owned());
    }
    let data = &fields.data;
    if let Some(call) = erc20 {
        if call.function == "approve" {
            warnings.push(format!(
                "this is an ERC-20 approve: {} may then move up to {} base units of the token",
                call.to, call.amount
            ));
        }
        if fields.value != 0 {
            warnings.push("an ERC-20 call that also sends ETH".to_owned());
        }
    } else if !data.is_empty() {
        warnings.push(format!(
            "{} bytes of call data (selector 0x{}) that this tool does not decode: check them with the contract's ABI",
            data.len(),
            hex::encode(&data[..data.len().min(4)])
        ));
    }
    if let (Some(priority), Some(max)) = (fields.max_priority_fee, fields.max_fee)
        && priority > max
    {
        warnings.push("the priority fee is above the max fee per gas".to_owned());
    }
    warnings
}

/// `transfer(address,uint256)` / `approve(address,uint256)` call data, exactly 68 bytes.
fn erc20_call(data: &[u8]) -> Option<Erc20Call> {
    if data.len() != 4 + 32 + 32 {
        return None;
    }
    let function = match data[..4] {
        [0xa9, 0x05, 0x9c, 0xbb] => "transfer",
        [0x09, 0x5e, 0xa7, 0xb3] => "approve",
        _ => return None,
    };
    if data[4..16].iter().any(|&b| b != 0) {
        return None;
    }
    Some(Erc20Call {
        function,
        to: eip55(&data[16..36]),
        amount: decimal(&data[36..68]),
    })
}

/// A big-endian unsigned integer of any length in decimal.
fn decimal(be: &[u8]) -> String {
    let mut digits = vec![0u8];
    for &byte in be {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut() {
            let v = u32::from(*digit) * 256 + carry;
            *digit = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// Wei as ETH, exactly (18 decimals, trailing zeros dropped).
fn eth(wei: u128) -> String {
    in_units(wei, 18, "ETH")
}

/// Wei as gwei, exactly.
fn gwei(wei: u128) -> String {
    in_units(wei, 9, "gwei")
}

/// `amount` in `unit`s of 10^`decimals`, exactly, trailing zeros dropped.
fn in_units(amount: u128, decimals: u32, unit: &str) -> String {
    let scale = 10u128.pow(decimals);
    let (whole, fraction) = (amount / scale, amount % scale);
    if fraction == 0 {
        return format!("{whole} {unit}");
    }
    let text = format!("{fraction:0width$}", width = decimals as usize);
    format!("{whole}.{} {unit}", text.trim_end_matches('0'))
}

/// The name of the well-known chains (a tool that shows a chain id alone invites mistakes).
fn chain_name(id: u64) -> &'static str {
    match id {
        1 => "Ethereum mainnet",
        10 => "OP Mainnet",
        56 => "BNB Smart Chain",
        137 => "Polygon PoS",
        8453 => "Base",
        17000 => "Holesky testnet",
        42161 => "Arbitrum One",
        43114 => "Avalanche C-Chain",
        11155111 => "Sepolia testnet",
        560048 => "Hoodi testnet",
        _ => "unknown chain",
    }
}

/// Prints the summary on standard error, within 80 columns.
pub fn print(summary: &Summary, label: &str) {
    let kind = match summary.tx_type {
        TxType::Legacy => "legacy, EIP-155",
        TxType::Eip2930 => "EIP-2930",
        TxType::Eip1559 => "EIP-1559",
    };
    eprintln!("Transaction  {label} (Ethereum, {kind})");
    eprintln!(
        "Chain id     {} ({})",
        summary.chain_id,
        chain_name(summary.chain_id)
    );
    eprintln!("Nonce        {}", summary.nonce);
    eprintln!(
        "To           {}",
        summary
            .to
            .as_deref()
            .unwrap_or("(none: creates a contract)")
    );
    let wei = |s: &str| s.parse::<u128>().unwrap_or_default();
    eprintln!("Value        {}", eth(wei(&summary.value_wei)));
    eprintln!("Gas limit    {}", summary.gas_limit);
    if let Some(price) = &summary.gas_price_wei {
        eprintln!("Gas price    {}", gwei(wei(price)));
    }
    if let (Some(max), Some(priority)) = (
        &summary.max_fee_per_gas_wei,
        &summary.max_priority_fee_per_gas_wei,
    ) {
        eprintln!(
            "Fee per gas  at most {} (priority {})",
            gwei(wei(max)),
            gwei(wei(priority))
        );
    }
    eprintln!("Fee          at most {}", eth(wei(&summary.max_fee_wei)));
    eprintln!("Data         {} bytes", summary.data_length);
    if let Some(call) = &summary.erc20 {
        eprintln!(
            "ERC-20       {} of the token at To (amount in its base units)",
            call.function
        );
        render::labelled_line(2, "amount", 11, &call.amount);
        let role = if call.function == "approve" {
            "spender"
        } else {
            "to"
        };
        render::labelled_line(2, role, 11, &call.to);
    }
    if let Some(entries) = summary.access_list_entries {
        eprintln!(
            "Access list  {entries} entr{}",
            if entries == 1 { "y" } else { "ies" }
        );
    }
    render::hex_value("Signing hash", &summary.signing_hash);
    for warning in &summary.warnings {
        super::print_warning(warning);
    }
}

/// The raw signed transaction for `eth_sendRawTransaction`, and the signature made.
#[derive(Debug)]
pub struct Signed {
    /// The encoded signed transaction.
    pub raw: Vec<u8>,
    /// The signature, with its recovery id.
    pub signed: SignedMessage,
    /// `r ‖ s ‖ v` with the `v` of the signed transaction (legacy: EIP-155, big-endian
    /// without leading zeros; typed: the y parity), as `eth-signature` carries it.
    pub rsv: Vec<u8>,
}

/// Signs the signing hash and encodes the signed transaction.
pub fn sign(parsed: &Parsed, key: &PrivateKey, public_key: &PublicKey) -> CliResult<Signed> {
    let signed = crate::signature::sign(
        key,
        public_key,
        SignScheme::EcdsaSecp256k1,
        &parsed.signing_hash,
        true,
    )
    .map_err(|source| CliError::Sign {
        input: None,
        source,
    })?;
    let recovery = signed
        .signature()
        .recovery_id()
        .ok_or_else(|| CliError::Internal("no recovery id".into()))?;
    let bytes = signed.signature().as_bytes();
    let mut payload = parsed.fields.clone();
    let v = match parsed.summary.tx_type {
        TxType::Legacy => parsed
            .summary
            .chain_id
            .checked_mul(2)
            .and_then(|v| v.checked_add(35 + u64::from(recovery)))
            .ok_or(CliError::Usage(UsageError::ChainIdTooLarge))?,
        _ => u64::from(recovery),
    };
    v.encode(&mut payload);
    let mut rsv = bytes[..64].to_vec();
    let v_bytes = v.to_be_bytes();
    let first = v_bytes.iter().position(|&b| b != 0).unwrap_or(7);
    rsv.extend_from_slice(&v_bytes[first..]);
    for half in [&bytes[..32], &bytes[32..]] {
        let first = half.iter().position(|&b| b != 0).unwrap_or(32);
        half[first..].encode(&mut payload);
    }
    let mut raw = Vec::with_capacity(payload.len() + 10);
    if parsed.summary.tx_type == TxType::Eip2930 {
        raw.push(0x01);
    } else if parsed.summary.tx_type == TxType::Eip1559 {
        raw.push(0x02);
    }
    Header {
        list: true,
        payload_length: payload.len(),
    }
    .encode(&mut raw);
    raw.extend_from_slice(&payload);
    Ok(Signed { raw, signed, rsv })
}

/// Checks an `eth-sign-request` against the transaction it carries: the data type names
/// the transaction's kind, and the chain id, when given, is the transaction's.
fn check_request(request: &EthSignRequest, parsed: &Parsed, label: &str) -> CliResult<()> {
    let typed = parsed.summary.tx_type != TxType::Legacy;
    match (request.data_type, typed) {
        (DataType::Transaction, true) => {
            return Err(input_error(
                label,
                "the request says legacy transaction (data-type 1) but carries a typed one: refused",
            ));
        }
        (DataType::TypedTransaction, false) => {
            return Err(input_error(
                label,
                "the request says typed transaction (data-type 4) but carries a legacy one: refused",
            ));
        }
        _ => {}
    }
    if let Some(chain) = request.chain_id
        && chain != parsed.summary.chain_id
    {
        return Err(input_error(
            label,
            format!(
                "the request names chain id {chain} ({}) but its transaction is for chain id {} ({}): refused",
                chain_name(chain),
                parsed.summary.chain_id,
                chain_name(parsed.summary.chain_id)
            ),
        ));
    }
    Ok(())
}

/// The Ethereum address of a secp256k1 public key, EIP-55.
fn address_of(public_key: &PublicKey) -> CliResult<String> {
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    let compressed = public_key.secp256k1_compressed().ok_or_else(|| {
        CliError::Usage(UsageError::TransactionNeedsSecp256k1 {
            flag: "--eth-tx",
            curve: public_key.curve().to_string(),
        })
    })?;
    let point = k256::PublicKey::from_sec1_bytes(&compressed)
        .map_err(|e| CliError::Internal(format!("the verified public key does not parse: {e}")))?
        .to_encoded_point(false);
    Ok(crate::addresses::ethereum_address(&point.as_bytes()[1..]))
}

/// Prints what the wallet's request adds to the transaction, within 80 columns.
fn print_request(request: &EthSignRequest, ours: &str) {
    eprintln!(
        "Request      eth-sign-request from {}",
        request
            .origin
            .as_deref()
            .unwrap_or("a wallet that gives no name")
    );
    if let Some(id) = &request.request_id {
        render::labelled_line(2, "id", 11, id);
    }
    if let Some(path) = &request.derivation_path {
        render::labelled_line(2, "path", 11, &format!("{path} (the wallet's)"));
    }
    let address = match &request.address {
        Some(address) => format!("{address} (this key's)"),
        None => format!("{ours} (this key's; the request names none)"),
    };
    render::labelled_line(2, "signer", 11, &address);
    if !request.unknown_keys.is_empty() {
        super::print_warning(&format!(
            "the request has fields this tool does not read (keys {:?}); they are not signed",
            request.unknown_keys
        ));
    }
}

/// Decodes a wallet's `eth-sign-request` and the transaction it carries, and checks that
/// they agree.
fn from_request(cbor: &[u8], label: &str, expected_chain: Option<u64>) -> CliResult<Parsed> {
    let request = eth_ur::decode(cbor).map_err(|problem| {
        input_error(label, format!("the eth-sign-request is refused: {problem}"))
    })?;
    let parsed = parse_raw(&request.sign_data, label, expected_chain)?;
    check_request(&request, &parsed, label)?;
    Ok(Parsed {
        request: Some(request),
        ..parsed
    })
}

impl super::Transaction for Parsed {
    const FORMAT: &'static str = "ethereum-transaction";
    const SCHEME: SignScheme = SignScheme::EcdsaSecp256k1;
    type Input = [String];
    /// This key's address (EIP-55).
    type Seen = String;
    type Signed = Signed;

    /// The transaction as hex (or a file), or a wallet's `eth-sign-request` QR code;
    /// `--ur-out` only answers the latter.
    fn read(inputs: &[String], args: &SignArgs, entry: &mut Entry) -> CliResult<Parsed> {
        let parsed = match super::ur::read("--eth-tx", inputs, &[UrType::EthSignRequest], entry)? {
            TxInput::Plain { bytes, label } => parse(&bytes, &label, args.chain_id)?,
            TxInput::Frames { cbor, label, .. } => from_request(&cbor, &label, args.chain_id)?,
        };
        if parsed.request.is_none() && args.ur_out.is_some() {
            return Err(CliError::Usage(UsageError::UrOutForHexTransaction));
        }
        Ok(parsed)
    }

    fn sha256(&self) -> &str {
        &self.sha256
    }

    /// This key's address, which must be the one the wallet's request names, if any.
    fn summarize(&self, _args: &SignArgs, public_key: &PublicKey) -> CliResult<String> {
        let ours = address_of(public_key)?;
        if let Some(request) = &self.request
            && let Some(expected) = &request.address
            && !expected.eq_ignore_ascii_case(&ours)
        {
            return Err(input_error(
                &self.label,
                format!(
                    "the wallet asks for the signature of {expected}, but this key's address is \
                     {ours}: refused (is this the key the wallet holds? --derive for a derived one)"
                ),
            ));
        }
        Ok(ours)
    }

    fn print(&self, ours: &String) {
        print(&self.summary, &self.label);
        if let Some(request) = &self.request {
            print_request(request, ours);
        }
    }

    fn sign(&self, _ours: &String, key: &PrivateKey, public_key: &PublicKey) -> CliResult<Signed> {
        sign(self, key, public_key)
    }

    fn signatures(signed: &Signed) -> Vec<SignedMessage> {
        vec![signed.signed.clone()]
    }

    /// `0x` hex on standard output and in `--out`, and the `eth-signature` answering the
    /// wallet's request, when there is one.
    fn deliver(&self, signed: &Signed) -> CliResult<Delivery> {
        let text = format!("0x{}", hex::encode(&signed.raw));
        let frames = match &self.request {
            Some(request) => {
                let cbor = request
                    .signature_cbor(&signed.rsv)
                    .map_err(CliError::Internal)?;
                let frames = super::ur::frames(UrType::EthSignature, &cbor)?;
                Some((UrType::EthSignature, frames))
            }
            None => None,
        };
        Ok(Delivery {
            file: format!("{text}\n").into_bytes(),
            text,
            role: "signed-transaction",
            what: "the signed transaction, hex",
            frames,
        })
    }

    fn json<'a>(
        &'a self,
        _ours: &'a String,
        signed: &'a Signed,
        delivery: &'a Delivery,
        _public_key: &'a PublicKey,
    ) -> impl Serialize + 'a {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Details<'a> {
            ethereum: &'a Summary,
            #[serde(skip_serializing_if = "Option::is_none")]
            eth_sign_request: Option<&'a EthSignRequest>,
            #[serde(flatten)]
            signed: &'a SignedMessage,
            signed_transaction: &'a str,
            /// The `eth-signature` answering the request, as UR frames.
            #[serde(skip_serializing_if = "Option::is_none")]
            eth_signature_ur: Option<Vec<&'a str>>,
        }
        Details {
            ethereum: &self.summary,
            eth_sign_request: self.request.as_ref(),
            signed: &signed.signed,
            signed_transaction: &delivery.text,
            eth_signature_ur: delivery
                .frames
                .as_ref()
                .map(|(_, frames)| frames.iter().map(UrFrame::as_str).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_exactly() {
        assert_eq!(eth(0), "0 ETH");
        assert_eq!(eth(1), "0.000000000000000001 ETH");
        assert_eq!(eth(1_500_000_000_000_000_000), "1.5 ETH");
        assert_eq!(gwei(30_000_000_000), "30 gwei");
        assert_eq!(gwei(1_500_000_001), "1.500000001 gwei");
        assert_eq!(decimal(&[0; 32]), "0");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(
            decimal(&[0xff; 32]),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
    }

    /// The EIP-155 example transaction (nonce 9, 20 gwei, 21000 gas, to 0x3535…, 1 ETH,
    /// chain 1): its signing hash is the one the EIP publishes.
    #[test]
    fn the_eip155_example_hashes_as_published() {
        let unsigned = "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080";
        let parsed = parse(unsigned.as_bytes(), "test", Some(1)).unwrap();
        assert_eq!(
            hex::encode(parsed.signing_hash),
            "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
        );
        assert_eq!(parsed.summary.value_wei, "1000000000000000000");
        let err = parse(format!("{unsigned}00").as_bytes(), "test", None).unwrap_err();
        assert!(err.to_string().contains("follow the transaction"), "{err}");
        let err = parse(unsigned.as_bytes(), "test", Some(5)).unwrap_err();
        assert!(err.to_string().contains("--chain-id 5"), "{err}");
    }

    /// EIP-155's example signed with its private key 0x4646…46: the raw signed transaction
    /// is byte for byte the one the EIP publishes.
    #[test]
    fn the_eip155_example_signs_as_published() {
        use k256::elliptic_curve::sec1::ToEncodedPoint;
        let scalar = [0x46u8; 32];
        let point = k256::SecretKey::from_bytes(&scalar.into())
            .unwrap()
            .public_key()
            .to_encoded_point(true);
        let public =
            PublicKey::from_bytes(keyexport_shared::scheme::Curve::Secp256k1, point.as_bytes())
                .unwrap();
        let (key, public) = crate::signature::test_keys::pair(public, &scalar);
        let unsigned = "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080";
        let parsed = parse(unsigned.as_bytes(), "test", None).unwrap();
        let signed = sign(&parsed, &key, &public).unwrap();
        assert_eq!(
            hex::encode(&signed.raw),
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
        );
    }
}
