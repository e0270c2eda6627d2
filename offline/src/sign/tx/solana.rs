//! Solana transactions: a message (legacy or v0) or an unsigned transaction, parsed,
//! summarised and signed with the ed25519 scalar on the offline machine.
//!
//! Anza's `solana-message` decodes the message from its wire format (bincode, with every
//! byte accounted for: trailing bytes are refused) and sanitizes it (every account index in
//! range). The signature covers the message bytes exactly as given (Ed25519 signs the whole
//! message), made by [`crate::signature::sign`] with the export's scalar. The System transfer,
//! the SPL Token `Transfer` and `TransferChecked` and the Compute Budget instructions are
//! decoded; any other instruction is shown raw (program, accounts, data) with a warning.

use base64::Engine;
use keyexport_shared::curve::{PrivateKey, PublicKey};
use serde::Serialize;
use solana_message::VersionedMessage;
use solana_message::compiled_instruction::CompiledInstruction;

use super::{Delivery, input_error};
use crate::cli::SignArgs;
use crate::error::{CliError, CliResult};
use crate::render;
use crate::signature::{SignScheme, SignedMessage};
use crate::transcript::{Entry, sha256_hex};

/// The largest transaction Solana accepts (the packet size), in bytes.
const PACKET: usize = 1232;

/// `11111111111111111111111111111111` (32 zero bytes).
const SYSTEM_PROGRAM: &str = "11111111111111111111111111111111";
/// `TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA`.
const TOKEN_PROGRAM: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
/// `TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb` (Token-2022: same transfer layouts).
const TOKEN_2022_PROGRAM: &str = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
const COMPUTE_BUDGET_PROGRAM: &str = "ComputeBudget111111111111111111111111111111";

/// One instruction as shown.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstructionSummary {
    index: usize,
    program: String,
    /// What it does, when decoded (`system-transfer`, `spl-transfer`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// Labelled values of a decoded instruction (amount, from, to, mint, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<(String, String)>,
    /// The accounts, in order (base58, or a lookup-table reference).
    accounts: Vec<String>,
    /// The data, hex.
    data: String,
}

/// What the operator is shown before confirming, and `--json`'s `"solana"`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    version: &'static str,
    fee_payer: String,
    recent_blockhash: String,
    required_signatures: u8,
    /// The position of this key among the signers.
    signer_index: usize,
    instructions: Vec<InstructionSummary>,
    /// SHA-256 of the message signed.
    message_sha256: String,
    warnings: Vec<String>,
}

/// A decoded message and what is needed to sign it.
#[derive(Debug)]
pub struct Parsed {
    message: VersionedMessage,
    /// The message bytes, exactly what is signed.
    bytes: Vec<u8>,
    /// SHA-256 of the input as decoded (message or transaction).
    sha256: String,
    label: String,
}

fn b58(bytes: &[u8]) -> String {
    bs58::encode(bytes).into_string()
}

/// The message in `raw`, all of it, or `None`.
fn decode_message(raw: &[u8]) -> Option<VersionedMessage> {
    use bincode::Options;
    let message: VersionedMessage = bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .reject_trailing_bytes()
        .with_limit(PACKET as u64)
        .deserialize(raw)
        .ok()?;
    message.sanitize().ok()?;
    Some(message)
}

/// Decodes base64 or base58 text (or a binary file) of a message or unsigned transaction.
pub fn parse(bytes: &[u8], label: &str) -> CliResult<Parsed> {
    // Base58 text may also be valid base64 (its alphabet is a subset): each decoding is
    // tried, and the one that holds a message is taken.
    let candidates: Vec<Vec<u8>> = match std::str::from_utf8(bytes) {
        Ok(text) => {
            let text = text.trim();
            let found: Vec<Vec<u8>> = [
                base64::engine::general_purpose::STANDARD.decode(text).ok(),
                bs58::decode(text).into_vec().ok(),
            ]
            .into_iter()
            .flatten()
            .collect();
            if found.is_empty() && bytes.iter().any(|b| b.is_ascii_graphic() || *b == b' ') {
                return Err(input_error(
                    label,
                    "neither base64 nor base58 text of a Solana message or transaction",
                ));
            }
            // A binary file whose bytes happen to be valid UTF-8 is tried as it is too.
            found.into_iter().chain([bytes.to_vec()]).collect()
        }
        Err(_) => vec![bytes.to_vec()],
    };
    let mut last = None;
    for raw in candidates {
        match parse_raw(raw, label) {
            Ok(parsed) => return Ok(parsed),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| input_error(label, "the transaction is empty")))
}

/// Decodes the bytes of a message or unsigned transaction.
fn parse_raw(raw: Vec<u8>, label: &str) -> CliResult<Parsed> {
    if raw.len() > PACKET {
        return Err(input_error(
            label,
            format!(
                "{} bytes: larger than any Solana transaction ({PACKET} bytes)",
                raw.len()
            ),
        ));
    }
    // An unsigned transaction: the signature count (compact-u16, below 128 in practice),
    // that many 64-byte slots, then the message, which must need exactly that many.
    let as_transaction = raw.first().and_then(|&count| {
        let count = usize::from(count);
        if count == 0 || count >= 0x80 {
            return None;
        }
        let body = raw.get(1 + 64 * count..)?;
        let message = decode_message(body)?;
        (usize::from(message.header().num_required_signatures) == count)
            .then(|| (message, body.to_vec()))
    });
    let (message, message_bytes) = match as_transaction {
        Some(found) => found,
        None => match decode_message(&raw) {
            Some(message) => (message, raw.clone()),
            None => {
                return Err(input_error(
                    label,
                    "not a valid Solana message (legacy or v0) or unsigned transaction: it does \
                     not decode, an account index is out of range, or bytes follow it",
                ));
            }
        },
    };
    Ok(Parsed {
        sha256: sha256_hex(&raw),
        message,
        bytes: message_bytes,
        label: label.to_owned(),
    })
}

fn u64_le(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

fn sol(lamports: u64) -> String {
    format!(
        "{}.{:09} SOL ({lamports} lamports)",
        lamports / 1_000_000_000,
        lamports % 1_000_000_000
    )
}

/// What the message does, as seen by `public_key`; refuses a message this key does not
/// sign for.
pub fn summarize(parsed: &Parsed, public_key: &PublicKey) -> CliResult<Summary> {
    let message = &parsed.message;
    let accounts = Accounts::of(message);
    let required = message.header().num_required_signatures;
    let ours = public_key.as_bytes();
    let signer_index = accounts
        .keys
        .iter()
        .take(usize::from(required))
        .position(|k| k.as_slice() == ours)
        .ok_or_else(|| {
            input_error(
                &parsed.label,
                format!(
                    "this key ({}) is not one of the message's {required} signer(s): nothing to sign",
                    b58(ours)
                ),
            )
        })?;
    let mut warnings = signer_warnings(signer_index, required, &accounts);
    let mut instructions = Vec::new();
    for (index, instruction) in message.instructions().iter().enumerate() {
        let summary = summarize_instruction(index, instruction, &accounts, &parsed.label)?;
        if summary.kind.is_none() {
            warnings.push(format!(
                "instruction {index} ({}) is not decoded here: shown raw; check it with the program's documentation before signing",
                summary.program
            ));
        }
        instructions.push(summary);
    }
    Ok(Summary {
        version: match message {
            VersionedMessage::Legacy(_) => "legacy",
            VersionedMessage::V0(_) => "v0",
        },
        fee_payer: accounts.keys.first().map(|k| b58(k)).unwrap_or_default(),
        recent_blockhash: b58(message.recent_blockhash().as_ref()),
        required_signatures: required,
        signer_index,
        instructions,
        message_sha256: sha256_hex(&parsed.bytes),
        warnings,
    })
}

/// The accounts a message's instructions name by index: its own keys, then those of
/// its address lookup tables.
struct Accounts {
    keys: Vec<[u8; 32]>,
    /// The accounts past the static keys, as `table KEY #INDEX` (their addresses are in
    /// tables that cannot be read offline): writable ones first, as Solana orders them.
    looked_up: Vec<String>,
}

impl Accounts {
    fn of(message: &VersionedMessage) -> Accounts {
        let keys = message
            .static_account_keys()
            .iter()
            .map(|k| k.to_bytes())
            .collect();
        let mut looked_up = Vec::new();
        if let Some(lookups) = message.address_table_lookups() {
            let writable = lookups.iter().flat_map(|l| {
                l.writable_indexes
                    .iter()
                    .map(move |index| (l.account_key, index))
            });
            let readonly = lookups.iter().flat_map(|l| {
                l.readonly_indexes
                    .iter()
                    .map(move |index| (l.account_key, index))
            });
            for (table, index) in writable.chain(readonly) {
                looked_up.push(format!("table {} #{index}", b58(&table.to_bytes())));
            }
        }
        Accounts { keys, looked_up }
    }

    /// The account at `index` as shown: base58, or a lookup-table reference.
    fn name(&self, index: u8) -> String {
        let index = usize::from(index);
        match self.keys.get(index) {
            Some(key) => b58(key),
            None => self
                .looked_up
                .get(index - self.keys.len())
                .cloned()
                .unwrap_or_else(|| format!("account #{index}")),
        }
    }
}

/// The warnings about who signs: another fee payer, other signatures needed, accounts
/// that cannot be shown.
fn signer_warnings(signer_index: usize, required: u8, accounts: &Accounts) -> Vec<String> {
    let mut warnings = Vec::new();
    if signer_index != 0 {
        warnings.push(format!(
            "this key signs as signer {signer_index}; the fee payer is another key"
        ));
    }
    if required > 1 {
        warnings.push(format!(
            "the message needs {required} signatures: only this key's is added here"
        ));
    }
    if !accounts.looked_up.is_empty() {
        warnings.push(
            "some accounts come from address lookup tables, which cannot be read offline: \
             they are shown as table and index"
                .to_owned(),
        );
    }
    warnings
}

/// One instruction as shown: its program, accounts and data, and what it does when its
/// program's decoder knows it.
fn summarize_instruction(
    index: usize,
    instruction: &CompiledInstruction,
    accounts: &Accounts,
    label: &str,
) -> CliResult<InstructionSummary> {
    let Some(program_key) = accounts.keys.get(usize::from(instruction.program_id_index)) else {
        return Err(input_error(
            label,
            format!("instruction {index} names a program that is not among the message's keys"),
        ));
    };
    let program = b58(program_key);
    let names: Vec<String> = instruction
        .accounts
        .iter()
        .map(|&a| accounts.name(a))
        .collect();
    let decoded = DECODERS
        .iter()
        .find(|(id, _)| *id == program)
        .and_then(|(_, decode)| decode(&instruction.data, &names));
    let (kind, fields) = match decoded {
        Some((kind, fields)) => (Some(kind), fields),
        None => (None, Vec::new()),
    };
    Ok(InstructionSummary {
        index,
        program,
        kind,
        fields,
        accounts: names,
        data: hex::encode(&instruction.data),
    })
}

/// A decoded instruction: its kind (`system-transfer`, …) and its labelled values.
type Decoded = (&'static str, Vec<(String, String)>);

/// A program's decoder of an instruction's data and accounts: `None` for an instruction
/// it does not know.
type Decoder = fn(&[u8], &[String]) -> Option<Decoded>;

/// The programs whose instructions are decoded (by base58 id), each with its decoder.
const DECODERS: [(&str, Decoder); 4] = [
    (SYSTEM_PROGRAM, system_instruction),
    (TOKEN_PROGRAM, token_instruction),
    (TOKEN_2022_PROGRAM, token_instruction),
    (COMPUTE_BUDGET_PROGRAM, compute_budget_instruction),
];

/// The account at `at` of a decoded instruction (its length was checked).
fn account(accounts: &[String], at: usize) -> String {
    accounts.get(at).cloned().unwrap_or_default()
}

/// System program: `Transfer` (4-byte index 2, lamports).
fn system_instruction(data: &[u8], accounts: &[String]) -> Option<Decoded> {
    match (data.get(..4), u64_le(data, 4)) {
        (Some([2, 0, 0, 0]), Some(lamports)) if data.len() == 12 && accounts.len() >= 2 => Some((
            "system-transfer",
            vec![
                ("amount".into(), sol(lamports)),
                ("from".into(), account(accounts, 0)),
                ("to".into(), account(accounts, 1)),
            ],
        )),
        _ => None,
    }
}

/// SPL Token and Token-2022: `Transfer` (3) and `TransferChecked` (12).
fn token_instruction(data: &[u8], accounts: &[String]) -> Option<Decoded> {
    match (data.first(), u64_le(data, 1)) {
        (Some(3), Some(amount)) if data.len() == 9 && accounts.len() >= 3 => Some((
            "spl-transfer",
            vec![
                (
                    "amount".into(),
                    format!("{amount} base units (mint not named)"),
                ),
                ("source".into(), account(accounts, 0)),
                ("to".into(), account(accounts, 1)),
                ("authority".into(), account(accounts, 2)),
            ],
        )),
        (Some(12), Some(amount)) if data.len() == 10 && accounts.len() >= 4 => Some((
            "spl-transfer-checked",
            vec![
                (
                    "amount".into(),
                    format!("{amount} base units, {} decimals", data[9]),
                ),
                ("mint".into(), account(accounts, 1)),
                ("source".into(), account(accounts, 0)),
                ("to".into(), account(accounts, 2)),
                ("authority".into(), account(accounts, 3)),
            ],
        )),
        _ => None,
    }
}

/// Compute Budget: `SetComputeUnitLimit` (2) and `SetComputeUnitPrice` (3).
fn compute_budget_instruction(data: &[u8], _accounts: &[String]) -> Option<Decoded> {
    match data.first() {
        Some(2) if data.len() == 5 => Some((
            "compute-unit-limit",
            vec![(
                "units".into(),
                u32::from_le_bytes([data[1], data[2], data[3], data[4]]).to_string(),
            )],
        )),
        Some(3) if data.len() == 9 => Some((
            "compute-unit-price",
            vec![(
                "price".into(),
                format!(
                    "{} micro-lamports/unit",
                    u64_le(data, 1).unwrap_or_default()
                ),
            )],
        )),
        _ => None,
    }
}

/// The signature made and the signed transaction.
#[derive(Debug)]
pub struct Signed {
    /// This key's signature of the message.
    signed: SignedMessage,
    /// The signature count, the signatures (this key's in its slot, the others' empty),
    /// the message.
    transaction: Vec<u8>,
}

impl super::Transaction for Parsed {
    const FORMAT: &'static str = "solana-transaction";
    const SCHEME: SignScheme = SignScheme::Ed25519;
    type Input = str;
    type Seen = Summary;
    type Signed = Signed;

    fn read(input: &str, _args: &SignArgs, entry: &mut Entry) -> CliResult<Parsed> {
        let (bytes, label) = super::ur::read_plain("--solana-tx", input, entry)?;
        parse(&bytes, &label)
    }

    fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The message's: what is signed, whether it came alone or in a transaction.
    fn message_sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }

    fn summarize(&self, _args: &SignArgs, public_key: &PublicKey) -> CliResult<Summary> {
        summarize(self, public_key)
    }

    /// Fee payer, blockhash, signers, each instruction (decoded, or raw), the message's
    /// SHA-256, warnings.
    fn print(&self, summary: &Summary) {
        let label = &self.label;
        eprintln!("Transaction  {label} (Solana, {} message)", summary.version);
        let payer_note = if summary.signer_index == 0 {
            " (this key)"
        } else {
            ""
        };
        render::labelled_line(
            0,
            "Fee payer",
            13,
            &format!("{}{payer_note}", summary.fee_payer),
        );
        render::labelled_line(0, "Blockhash", 13, &summary.recent_blockhash);
        eprintln!(
            "Signers      {} (this key is signer {})",
            summary.required_signatures, summary.signer_index
        );
        for instruction in &summary.instructions {
            let what = instruction.kind.unwrap_or("NOT DECODED");
            eprintln!("Instruction {}  {what}", instruction.index);
            if instruction.kind.is_some() {
                for (label, value) in &instruction.fields {
                    render::labelled_line(2, label, 11, value);
                }
            } else {
                render::labelled_line(2, "program", 11, &instruction.program);
                for (i, account) in instruction.accounts.iter().enumerate() {
                    render::labelled_line(2, &format!("account {i}"), 11, account);
                }
                let data = if instruction.data.is_empty() {
                    "(none)"
                } else {
                    instruction.data.as_str()
                };
                render::labelled_line(2, "data", 11, data);
            }
        }
        render::hex_value("Message", &summary.message_sha256);
        eprintln!("             (SHA-256 of the message signed)");
        for warning in &summary.warnings {
            super::print_warning(warning);
        }
    }

    fn sign(
        &self,
        summary: &Summary,
        key: &PrivateKey,
        public_key: &PublicKey,
    ) -> CliResult<Signed> {
        let signed =
            crate::signature::sign(key, public_key, SignScheme::Ed25519, &self.bytes, false)
                .map_err(|source| CliError::Sign {
                    input: None,
                    source,
                })?;
        let required = usize::from(summary.required_signatures);
        let mut transaction = Vec::with_capacity(1 + 64 * required + self.bytes.len());
        transaction.push(summary.required_signatures);
        for slot in 0..required {
            if slot == summary.signer_index {
                transaction.extend_from_slice(signed.signature().as_bytes());
            } else {
                transaction.extend_from_slice(&[0; 64]);
            }
        }
        transaction.extend_from_slice(&self.bytes);
        Ok(Signed {
            signed,
            transaction,
        })
    }

    fn signatures(signed: &Signed) -> Vec<SignedMessage> {
        vec![signed.signed.clone()]
    }

    fn print_signed(signed: &Signed) {
        eprintln!("{}", super::SIGNED_ONE);
        render::hex_value("Signature", &signed.signed.signature().to_hex());
    }

    /// Base64 on standard output and in `--out`.
    fn deliver(&self, signed: &Signed) -> CliResult<Delivery> {
        let text = base64::engine::general_purpose::STANDARD.encode(&signed.transaction);
        Ok(Delivery {
            file: format!("{text}\n").into_bytes(),
            text,
            role: "signed-transaction",
            what: "the signed transaction, base64",
            frames: None,
        })
    }

    fn json<'a>(
        &'a self,
        summary: &'a Summary,
        signed: &'a Signed,
        delivery: &'a Delivery,
        _public_key: &'a PublicKey,
    ) -> impl Serialize + 'a {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Details<'a> {
            solana: &'a Summary,
            #[serde(flatten)]
            signed: &'a SignedMessage,
            signed_transaction: &'a str,
        }
        Details {
            solana: summary,
            signed: &signed.signed,
            signed_transaction: &delivery.text,
        }
    }
}
