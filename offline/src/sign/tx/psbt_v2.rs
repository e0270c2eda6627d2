//! PSBT version 2 (BIP-370): read strictly, turned into the version 0 PSBT the `bitcoin`
//! crate decodes, summarises and signs, and the signatures written back into the version 2
//! maps.
//!
//! Version 2 keeps the transaction's fields in the maps instead of an unsigned transaction:
//! global PSBT_GLOBAL_TX_VERSION, FALLBACK_LOCKTIME, INPUT_COUNT, OUTPUT_COUNT,
//! TX_MODIFIABLE; per input PREVIOUS_TXID, OUTPUT_INDEX, SEQUENCE, REQUIRED_TIME_LOCKTIME,
//! REQUIRED_HEIGHT_LOCKTIME; per output AMOUNT and SCRIPT. Every other key means the same
//! in both versions and is kept as it is. Refused: a missing required field, a version 0
//! field (PSBT_GLOBAL_UNSIGNED_TX), a key twice in a map, a field of the wrong length or out
//! of its range, counts that disagree with the maps, lock times no value satisfies.

use std::collections::BTreeMap;

use bitcoin::hashes::Hash;
use bitcoin::psbt::Psbt;
use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness, absolute,
    transaction,
};

const MAGIC: &[u8] = b"psbt\xff";

/// Lock time values from this one on are times, below it heights.
const LOCKTIME_THRESHOLD: u32 = 500_000_000;

/// Global key types.
const GLOBAL_UNSIGNED_TX: u8 = 0x00;
const GLOBAL_TX_VERSION: u8 = 0x02;
const GLOBAL_FALLBACK_LOCKTIME: u8 = 0x03;
const GLOBAL_INPUT_COUNT: u8 = 0x04;
const GLOBAL_OUTPUT_COUNT: u8 = 0x05;
const GLOBAL_TX_MODIFIABLE: u8 = 0x06;
const GLOBAL_VERSION: u8 = 0xfb;

/// Input key types of version 2.
const IN_PREVIOUS_TXID: u8 = 0x0e;
const IN_OUTPUT_INDEX: u8 = 0x0f;
const IN_SEQUENCE: u8 = 0x10;
const IN_REQUIRED_TIME_LOCKTIME: u8 = 0x11;
const IN_REQUIRED_HEIGHT_LOCKTIME: u8 = 0x12;

/// Output key types of version 2.
const OUT_AMOUNT: u8 = 0x03;
const OUT_SCRIPT: u8 = 0x04;

/// The transaction's own fields in each kind of map, by key type and name: what version 2
/// adds (BIP-370) and version 0 holds in its unsigned transaction instead.
const GLOBAL_TX_FIELDS: [(u8, &str); 5] = [
    (GLOBAL_TX_VERSION, "PSBT_GLOBAL_TX_VERSION"),
    (GLOBAL_FALLBACK_LOCKTIME, "PSBT_GLOBAL_FALLBACK_LOCKTIME"),
    (GLOBAL_INPUT_COUNT, "PSBT_GLOBAL_INPUT_COUNT"),
    (GLOBAL_OUTPUT_COUNT, "PSBT_GLOBAL_OUTPUT_COUNT"),
    (GLOBAL_TX_MODIFIABLE, "PSBT_GLOBAL_TX_MODIFIABLE"),
];
const INPUT_TX_FIELDS: [(u8, &str); 5] = [
    (IN_PREVIOUS_TXID, "PSBT_IN_PREVIOUS_TXID"),
    (IN_OUTPUT_INDEX, "PSBT_IN_OUTPUT_INDEX"),
    (IN_SEQUENCE, "PSBT_IN_SEQUENCE"),
    (IN_REQUIRED_TIME_LOCKTIME, "PSBT_IN_REQUIRED_TIME_LOCKTIME"),
    (
        IN_REQUIRED_HEIGHT_LOCKTIME,
        "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME",
    ),
];
const OUTPUT_TX_FIELDS: [(u8, &str); 2] = [
    (OUT_AMOUNT, "PSBT_OUT_AMOUNT"),
    (OUT_SCRIPT, "PSBT_OUT_SCRIPT"),
];

/// The name of the transaction field of `table` of key type `key_type`, if it is one.
fn tx_field(table: &[(u8, &'static str)], key_type: u8) -> Option<&'static str> {
    table
        .iter()
        .find(|(field, _)| *field == key_type)
        .map(|(_, name)| *name)
}

/// TX_MODIFIABLE bits a SIGHASH_ALL signature ends: inputs and outputs modifiable.
const MODIFIABLE_INPUTS_AND_OUTPUTS: u8 = 0b11;

/// One map: full key (type and key data) to value.
type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// One map's key-value pairs as they come.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A version 2 PSBT's maps, as read.
#[derive(Debug, Clone)]
pub struct V2 {
    global: Map,
    inputs: Vec<Map>,
    outputs: Vec<Map>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// A Bitcoin compact size, in its shortest encoding.
    fn compact(&mut self) -> Result<u64, String> {
        let first = *self.take(1)?.first().ok_or("the PSBT ends early")?;
        let (value, min) = match first {
            0xfd => (le(self.take(2)?), 0xfd),
            0xfe => (le(self.take(4)?), 0x1_0000),
            0xff => (le(self.take(8)?), 0x1_0000_0000),
            small => return Ok(u64::from(small)),
        };
        if value < min {
            return Err("a length is not in its shortest encoding".to_owned());
        }
        Ok(value)
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], String> {
        let len = usize::try_from(len)
            .ok()
            .filter(|len| *len <= self.remaining())
            .ok_or("the PSBT ends in the middle of a key or value (truncated?)")?;
        let slice = &self.bytes[self.at..self.at + len];
        self.at += len;
        Ok(slice)
    }

    /// One map's key-value pairs, in order, up to its separator.
    fn entries(&mut self) -> Result<Entries, String> {
        let mut entries = Vec::new();
        loop {
            let key_len = self.compact()?;
            if key_len == 0 {
                return Ok(entries);
            }
            let key = self.take(key_len)?.to_vec();
            let value_len = self.compact()?;
            let value = self.take(value_len)?.to_vec();
            entries.push((key, value));
        }
    }

    fn map(&mut self, what: &str) -> Result<Map, String> {
        let mut map = Map::new();
        for (key, value) in self.entries()? {
            if map.contains_key(&key) {
                return Err(format!(
                    "{what} has the key {} twice: refused as malformed",
                    hex::encode(&key)
                ));
            }
            map.insert(key, value);
        }
        Ok(map)
    }
}

fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// The PSBT's version (PSBT_GLOBAL_VERSION, 0 when absent), read from the global map alone;
/// `None` when the global map does not read (the `bitcoin` crate then says why).
pub fn version(binary: &[u8]) -> Option<u32> {
    let rest = binary.strip_prefix(MAGIC)?;
    let mut reader = Reader { bytes: rest, at: 0 };
    let entries = reader.entries().ok()?;
    match entries.iter().find(|(key, _)| key == &[GLOBAL_VERSION]) {
        None => Some(0),
        Some((_, value)) => <[u8; 4]>::try_from(value.as_slice())
            .ok()
            .map(u32::from_le_bytes),
    }
}

/// The value of a field whose key is its type alone, checked for length; a key of that
/// type with key data is refused.
fn field<'m>(
    map: &'m Map,
    key_type: u8,
    name: &str,
    len: Option<usize>,
    what: &str,
) -> Result<Option<&'m [u8]>, String> {
    if map.keys().any(|k| k.len() > 1 && k[0] == key_type) {
        return Err(format!(
            "{what}: its {name} key carries key data, which BIP-370 does not allow"
        ));
    }
    match map.get(&[key_type][..]) {
        None => Ok(None),
        Some(value) if len.is_some_and(|len| value.len() != len) => Err(format!(
            "{what}: its {name} is {} bytes, not {}",
            value.len(),
            len.unwrap_or_default()
        )),
        Some(value) => Ok(Some(value)),
    }
}

fn required<'m>(
    map: &'m Map,
    key_type: u8,
    name: &str,
    len: Option<usize>,
    what: &str,
) -> Result<&'m [u8], String> {
    field(map, key_type, name, len, what)?
        .ok_or_else(|| format!("{what} has no {name}, which a version 2 PSBT (BIP-370) must carry"))
}

fn u32_of(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(<[u8; 4]>::try_from(bytes).unwrap_or_default())
}

/// A count field: a compact size that fills its value.
fn count(map: &Map, key_type: u8, name: &str) -> Result<u64, String> {
    let value = required(map, key_type, name, None, "the global map")?;
    let mut reader = Reader {
        bytes: value,
        at: 0,
    };
    let count = reader.compact()?;
    if reader.remaining() != 0 {
        return Err(format!("the {name} is not one compact size"));
    }
    Ok(count)
}

fn maps(reader: &mut Reader<'_>, count: u64, kind: &str, name: &str) -> Result<Vec<Map>, String> {
    if count > reader.remaining() as u64 {
        return Err(format!(
            "its {name} says {count} {kind}s, more than the PSBT can hold: the counts disagree with the maps"
        ));
    }
    let mut maps = Vec::new();
    for index in 0..count {
        if reader.remaining() == 0 {
            return Err(format!(
                "the PSBT ends after {index} of the {count} {kind}s its {name} announces: \
                 the counts disagree with the maps"
            ));
        }
        maps.push(reader.map(&format!("{kind} {index}"))?);
    }
    Ok(maps)
}

/// The first version 2 field a version 0 PSBT carries, which BIP-370 forbids: where it is
/// and its name.
pub fn v2_field_in_v0(psbt: &Psbt) -> Option<String> {
    let first = |table, unknown: &BTreeMap<bitcoin::psbt::raw::Key, Vec<u8>>| {
        unknown
            .keys()
            .find_map(|key| tx_field(table, key.type_value))
    };
    let global = first(&GLOBAL_TX_FIELDS, &psbt.unknown)
        .map(|name| format!("the global map carries {name}"));
    let input = psbt.inputs.iter().enumerate().find_map(|(index, input)| {
        first(&INPUT_TX_FIELDS, &input.unknown).map(|name| format!("input {index} carries {name}"))
    });
    let output = psbt.outputs.iter().enumerate().find_map(|(index, output)| {
        first(&OUTPUT_TX_FIELDS, &output.unknown)
            .map(|name| format!("output {index} carries {name}"))
    });
    global.or(input).or(output)
}

impl V2 {
    /// Reads a binary PSBT whose PSBT_GLOBAL_VERSION is 2, and checks it as BIP-370 asks.
    pub fn parse(binary: &[u8]) -> Result<(V2, Psbt), String> {
        let rest = binary.strip_prefix(MAGIC).ok_or("no PSBT magic")?;
        let mut reader = Reader { bytes: rest, at: 0 };
        let global = reader.map("the global map")?;
        if global.contains_key(&[GLOBAL_UNSIGNED_TX][..]) {
            return Err(
                "it says version 2 but carries PSBT_GLOBAL_UNSIGNED_TX, a version 0 field: \
                 refused as malformed"
                    .to_owned(),
            );
        }
        let inputs = count(&global, GLOBAL_INPUT_COUNT, "PSBT_GLOBAL_INPUT_COUNT")?;
        let outputs = count(&global, GLOBAL_OUTPUT_COUNT, "PSBT_GLOBAL_OUTPUT_COUNT")?;
        let inputs = maps(&mut reader, inputs, "input", "PSBT_GLOBAL_INPUT_COUNT")?;
        let outputs = maps(&mut reader, outputs, "output", "PSBT_GLOBAL_OUTPUT_COUNT")?;
        if reader.remaining() != 0 {
            return Err(format!(
                "{} bytes follow the last output its PSBT_GLOBAL_OUTPUT_COUNT announces: \
                 the counts disagree with the maps",
                reader.remaining()
            ));
        }
        let v2 = V2 {
            global,
            inputs,
            outputs,
        };
        let v0 = v2.to_v0()?;
        let psbt = Psbt::deserialize(&v0).map_err(|e| format!("not a valid PSBT: {e}"))?;
        Ok((v2, psbt))
    }

    /// The unsigned transaction, lock time chosen as BIP-370 says.
    fn unsigned_tx(&self) -> Result<Transaction, String> {
        let global = "the global map";
        let version = required(
            &self.global,
            GLOBAL_TX_VERSION,
            "PSBT_GLOBAL_TX_VERSION",
            Some(4),
            global,
        )?;
        let fallback = field(
            &self.global,
            GLOBAL_FALLBACK_LOCKTIME,
            "PSBT_GLOBAL_FALLBACK_LOCKTIME",
            Some(4),
            global,
        )?
        .map_or(0, u32_of);
        field(
            &self.global,
            GLOBAL_TX_MODIFIABLE,
            "PSBT_GLOBAL_TX_MODIFIABLE",
            Some(1),
            global,
        )?;
        let mut input = Vec::with_capacity(self.inputs.len());
        let mut locks = Vec::with_capacity(self.inputs.len());
        for (index, map) in self.inputs.iter().enumerate() {
            let (txin, lock) = tx_input(index, map)?;
            input.push(txin);
            locks.push(lock);
        }
        let lock_time = lock_time(&locks, fallback)?;
        let output = self
            .outputs
            .iter()
            .enumerate()
            .map(|(index, map)| tx_output(index, map))
            .collect::<Result<Vec<TxOut>, String>>()?;
        Ok(Transaction {
            version: transaction::Version(i32::from_le_bytes(
                <[u8; 4]>::try_from(version).unwrap_or_default(),
            )),
            lock_time: absolute::LockTime::from_consensus(lock_time),
            input,
            output,
        })
    }

    /// The same PSBT as version 0: the unsigned transaction instead of the version 2
    /// fields, every other key as it is.
    fn to_v0(&self) -> Result<Vec<u8>, String> {
        let tx = self.unsigned_tx()?;
        let mut out = MAGIC.to_vec();
        put(
            &mut out,
            &[GLOBAL_UNSIGNED_TX],
            &bitcoin::consensus::serialize(&tx),
        );
        // PSBT_GLOBAL_VERSION goes too: version 0 is its absence.
        let global = self
            .global
            .iter()
            .filter(|(key, _)| key.as_slice() != [GLOBAL_VERSION]);
        write_map(&mut out, global, &GLOBAL_TX_FIELDS);
        for map in &self.inputs {
            write_map(&mut out, map, &INPUT_TX_FIELDS);
        }
        for map in &self.outputs {
            write_map(&mut out, map, &OUTPUT_TX_FIELDS);
        }
        Ok(out)
    }

    /// This PSBT with what signing added to `signed` (the version 0 form of it): each
    /// input's new or changed keys (partial signatures, Taproot key signature and internal
    /// key), and TX_MODIFIABLE's inputs and outputs flags cleared, as a SIGHASH_ALL
    /// signature fixes both.
    pub fn with_signatures(&self, signed: &Psbt) -> Result<Vec<u8>, String> {
        let bytes = signed.serialize();
        let mut reader = Reader {
            bytes: bytes.strip_prefix(MAGIC).ok_or("no PSBT magic")?,
            at: 0,
        };
        reader.entries()?;
        let mut inputs = self.inputs.clone();
        for (index, map) in inputs.iter_mut().enumerate() {
            map.extend(reader.map(&format!("signed input {index}"))?);
        }
        let mut global = self.global.clone();
        if let Some(bits) = global
            .get_mut(&[GLOBAL_TX_MODIFIABLE][..])
            .and_then(|flags| flags.first_mut())
        {
            *bits &= !MODIFIABLE_INPUTS_AND_OUTPUTS;
        }
        let mut out = MAGIC.to_vec();
        for map in std::iter::once(&global).chain(&inputs).chain(&self.outputs) {
            write_map(&mut out, map, &[]);
        }
        Ok(out)
    }
}

/// The lock time an input requires (BIP-370): a time, a block height, either, or none.
#[derive(Debug, Clone, Copy)]
struct LockRequirement {
    time: Option<u32>,
    height: Option<u32>,
}

/// Input `index` of the unsigned transaction, from its map, and the lock time it
/// requires (checked: a time from 500000000 on, a height from 1 below it).
fn tx_input(index: usize, map: &Map) -> Result<(TxIn, LockRequirement), String> {
    let what = format!("input {index}");
    let txid = required(
        map,
        IN_PREVIOUS_TXID,
        "PSBT_IN_PREVIOUS_TXID",
        Some(32),
        &what,
    )?;
    let vout = required(map, IN_OUTPUT_INDEX, "PSBT_IN_OUTPUT_INDEX", Some(4), &what)?;
    let sequence =
        field(map, IN_SEQUENCE, "PSBT_IN_SEQUENCE", Some(4), &what)?.map_or(u32::MAX, u32_of);
    let time = field(
        map,
        IN_REQUIRED_TIME_LOCKTIME,
        "PSBT_IN_REQUIRED_TIME_LOCKTIME",
        Some(4),
        &what,
    )?
    .map(u32_of);
    let height = field(
        map,
        IN_REQUIRED_HEIGHT_LOCKTIME,
        "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME",
        Some(4),
        &what,
    )?
    .map(u32_of);
    if let Some(t) = time
        && t < LOCKTIME_THRESHOLD
    {
        return Err(format!(
            "{what}: its PSBT_IN_REQUIRED_TIME_LOCKTIME {t} is below {LOCKTIME_THRESHOLD}, so not a time"
        ));
    }
    if let Some(h) = height
        && (h == 0 || h >= LOCKTIME_THRESHOLD)
    {
        return Err(format!(
            "{what}: its PSBT_IN_REQUIRED_HEIGHT_LOCKTIME {h} is not a block height (1 to {})",
            LOCKTIME_THRESHOLD - 1
        ));
    }
    let txin = TxIn {
        previous_output: OutPoint {
            txid: Txid::from_slice(txid).map_err(|e| format!("{what}: txid: {e}"))?,
            vout: u32_of(vout),
        },
        script_sig: ScriptBuf::new(),
        sequence: Sequence(sequence),
        witness: Witness::new(),
    };
    Ok((txin, LockRequirement { time, height }))
}

/// The transaction's lock time (BIP-370): the fallback when no input requires one;
/// else the largest height when every input that requires one accepts a height, else
/// the largest time when every one accepts a time; refused when none satisfies them all.
fn lock_time(locks: &[LockRequirement], fallback: u32) -> Result<u32, String> {
    let requiring: Vec<&LockRequirement> = locks
        .iter()
        .filter(|lock| lock.time.is_some() || lock.height.is_some())
        .collect();
    if requiring.is_empty() {
        return Ok(fallback);
    }
    // The largest of `pick` over the inputs requiring a lock, when every one has it.
    let largest = |pick: fn(&LockRequirement) -> Option<u32>| {
        requiring
            .iter()
            .map(|lock| pick(lock))
            .collect::<Option<Vec<u32>>>()
            .map(|values| values.into_iter().max().unwrap_or_default())
    };
    if let Some(height) = largest(|lock| lock.height) {
        return Ok(height);
    }
    if let Some(time) = largest(|lock| lock.time) {
        return Ok(time);
    }
    Err(
        "some inputs require a time lock and others a height lock: no lock time \
         satisfies them all, so the transaction cannot be built"
            .to_owned(),
    )
}

/// Output `index` of the unsigned transaction, from its map.
fn tx_output(index: usize, map: &Map) -> Result<TxOut, String> {
    let what = format!("output {index}");
    let amount = required(map, OUT_AMOUNT, "PSBT_OUT_AMOUNT", Some(8), &what)?;
    let amount = i64::from_le_bytes(<[u8; 8]>::try_from(amount).unwrap_or_default());
    let amount = u64::try_from(amount)
        .map_err(|_| format!("{what}: its PSBT_OUT_AMOUNT {amount} is negative"))?;
    let script = required(map, OUT_SCRIPT, "PSBT_OUT_SCRIPT", None, &what)?;
    Ok(TxOut {
        value: Amount::from_sat(amount),
        script_pubkey: ScriptBuf::from_bytes(script.to_vec()),
    })
}

fn compact(out: &mut Vec<u8>, len: usize) {
    let len = len as u64;
    match len {
        0..=0xfc => out.push(len as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(len as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(len as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
}

/// Writes a map's pairs, but those that are transaction fields of `dropped`, then its
/// separator.
fn write_map<'m>(
    out: &mut Vec<u8>,
    pairs: impl IntoIterator<Item = (&'m Vec<u8>, &'m Vec<u8>)>,
    dropped: &[(u8, &'static str)],
) {
    for (key, value) in pairs {
        let is_dropped =
            matches!(key.as_slice(), [key_type] if tx_field(dropped, *key_type).is_some());
        if !is_dropped {
            put(out, key, value);
        }
    }
    out.push(0);
}

fn put(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    compact(out, key.len());
    out.extend_from_slice(key);
    compact(out, value.len());
    out.extend_from_slice(value);
}
