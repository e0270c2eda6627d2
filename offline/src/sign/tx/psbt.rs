//! Bitcoin PSBTs (BIP-174 version 0, and BIP-370 version 2 through [`super::psbt_v2`]):
//! parsed, summarised and signed on the offline machine.
//!
//! The `bitcoin` crate decodes the PSBT, computes the BIP-143 (P2WPKH) and BIP-341 (P2TR key
//! path) sighashes and encodes addresses; the signatures themselves are made by
//! [`crate::signature::sign`] (k256: ECDSA RFC 6979 low-S, BIP-340 with the BIP-86 tweak), the one
//! signing implementation of this binary, which verifies each before returning it. The
//! tweaked output key it signs for is compared with the input's witness program, which the
//! `bitcoin` crate computed independently (libsecp256k1).
//!
//! Refused before any key is opened: a PSBT that does not decode, a version other than 0 or 2,
//! an input whose amount is not given (`witness_utxo` or `non_witness_utxo`, whose txid must
//! match the outpoint), outputs worth more than the inputs. Refused once the key is known: a
//! PSBT with no input of this key, an input of this key with another sighash type than ALL
//! (DEFAULT for Taproot). Warned: a fee above half the inputs, an output the PSBT marks as
//! change (it carries key origins) that does not pay this key, inputs of other keys (shown,
//! not signed).

use base64::Engine;
use bitcoin::hashes::Hash;
use bitcoin::psbt::Psbt;
use bitcoin::secp256k1::{Secp256k1, XOnlyPublicKey};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache, TapSighashType};
use bitcoin::{Address, CompressedPublicKey, OutPoint, ScriptBuf, TxIn, TxOut};
use keyexport_shared::curve::{PrivateKey, PublicKey};
use serde::Serialize;

use super::btc;
use super::{Delivery, input_error};
use crate::cli::{Network, SignArgs};
use crate::error::{CliError, CliResult, UsageError};
use crate::render;
use crate::signature::{SignScheme, SignedMessage};
use crate::transcript::{Entry, sha256_hex};
use keyexport_shared::transport::{self, UrFrame, UrType};

use super::ur::TxInput;

/// A fee above this share of the inputs (in percent) gets a loud warning.
const FEE_WARNING_PERCENT: u64 = 50;

/// Witness weight once signed, per input spent by this key: P2WPKH (item count, a DER
/// signature of at most 72 bytes with its sighash byte, the 33-byte key, their lengths) and
/// P2TR key path (item count, length, 64-byte signature).
const P2WPKH_WITNESS_WEIGHT: u64 = 1 + 1 + 73 + 1 + 33;
const P2TR_WITNESS_WEIGHT: u64 = 1 + 1 + 64;

/// A decoded PSBT whose every input has a known amount.
#[derive(Debug)]
pub struct Parsed {
    psbt: Psbt,
    /// The version 2 maps, when the PSBT came as version 2 (`psbt` is its version 0 form).
    v2: Option<super::psbt_v2::V2>,
    /// The output each input spends, in input order.
    spent: Vec<TxOut>,
    label: String,
    sha256: String,
    /// The UR type of a QR answer: the wallet's, `crypto-psbt` when the PSBT came as a file.
    answer: UrType,
}

/// How an input of this key is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Spend {
    /// SegWit v0 key hash (BIP-143 sighash, ECDSA).
    P2wpkh,
    /// Taproot key path, BIP-86 output key (BIP-341 sighash, BIP-340).
    P2tr,
}

impl Spend {
    fn name(self) -> &'static str {
        match self {
            Spend::P2wpkh => "P2WPKH",
            Spend::P2tr => "P2TR",
        }
    }
}

/// One input as shown.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputSummary {
    index: usize,
    txid: String,
    vout: u32,
    amount_sat: u64,
    /// How this key spends it; absent when it is not this key's (not signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    ours: Option<Spend>,
}

/// One output as shown.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputSummary {
    index: usize,
    /// The address on `--network`, when the script has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    script_pubkey: String,
    amount_sat: u64,
    /// It pays this key back (P2WPKH or BIP-86 P2TR of the key that signs).
    change: bool,
}

/// What the operator is shown before confirming, and `--json`'s `"psbt"`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    network: &'static str,
    txid: String,
    inputs: Vec<InputSummary>,
    outputs: Vec<OutputSummary>,
    input_total_sat: u64,
    output_total_sat: u64,
    fee_sat: u64,
    /// The virtual size once signed, estimated (exact for this key's inputs; other keys'
    /// witnesses are counted only when the PSBT already holds them).
    estimated_vsize: u64,
    /// `fee_sat / estimated_vsize`, in sat/vB, one decimal.
    fee_rate_sat_per_vb: f64,
    warnings: Vec<String>,
    /// The PSBT's version as it came (0 or 2), shown in the summary's first line.
    #[serde(skip)]
    psbt_version: u32,
}

/// The signed PSBT and what was signed.
#[derive(Debug)]
pub struct Signed {
    /// The PSBT with this key's signatures (`partial_sigs`, `tap_key_sig`), not finalized.
    pub bytes: Vec<u8>,
    /// One per input signed, with its sighash as the signed digest.
    pub signatures: Vec<(usize, SignedMessage)>,
}

/// Decodes a PSBT (binary, or base64 text) and checks every input's amount; no key is
/// needed for this.
pub fn parse(bytes: &[u8], label: &str) -> CliResult<Parsed> {
    let binary = binary_of(bytes, label)?;
    let (psbt, v2) = decode_versioned(&binary, label)?;
    let spent = psbt
        .inputs
        .iter()
        .zip(&psbt.unsigned_tx.input)
        .enumerate()
        .map(|(index, (input, txin))| spent_output(index, input, txin, label))
        .collect::<CliResult<Vec<TxOut>>>()?;
    let input_total = total(spent.iter().map(|o| o.value.to_sat()))
        .ok_or_else(|| input_error(label, "the inputs' amounts overflow"))?;
    let output_total = total(psbt.unsigned_tx.output.iter().map(|o| o.value.to_sat()))
        .ok_or_else(|| input_error(label, "the outputs' amounts overflow"))?;
    if output_total > input_total {
        return Err(input_error(
            label,
            format!(
                "the outputs pay {} but the inputs hold only {}: not a valid transaction",
                btc(output_total),
                btc(input_total)
            ),
        ));
    }
    Ok(Parsed {
        psbt,
        v2,
        spent,
        label: label.to_owned(),
        sha256: sha256_hex(bytes),
        answer: UrType::CryptoPsbt,
    })
}

/// The binary PSBT: the bytes as given, or decoded from base64 text.
fn binary_of(bytes: &[u8], label: &str) -> CliResult<Vec<u8>> {
    if bytes.starts_with(b"psbt\xff") {
        return Ok(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| input_error(label, "neither a binary PSBT nor base64 text"))?;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| {
            input_error(
                label,
                format!("neither a PSBT file nor a base64 PSBT ({e}); give the file a wallet exported, or its base64 text"),
            )
        })
}

/// The PSBT in its version 0 form, and its version 2 maps when it came as version 2;
/// refuses another version, and a version 0 PSBT carrying version 2 fields.
fn decode_versioned(binary: &[u8], label: &str) -> CliResult<(Psbt, Option<super::psbt_v2::V2>)> {
    let (psbt, v2) = if super::psbt_v2::version(binary) == Some(2) {
        let (v2, psbt) = super::psbt_v2::V2::parse(binary).map_err(|e| {
            input_error(label, format!("not a valid version 2 PSBT (BIP-370): {e}"))
        })?;
        (psbt, Some(v2))
    } else {
        let psbt = Psbt::deserialize(binary).map_err(|e| match e {
            bitcoin::psbt::Error::MustHaveUnsignedTx => input_error(
                label,
                "the PSBT has no unsigned transaction and does not say version 2: malformed",
            ),
            other => input_error(label, format!("not a valid PSBT: {other}")),
        })?;
        if let Some(field) = super::psbt_v2::v2_field_in_v0(&psbt) {
            return Err(input_error(
                label,
                format!(
                    "a version 0 PSBT, but {field}, a version 2 (BIP-370) field: refused as \
                     malformed"
                ),
            ));
        }
        (psbt, None)
    };
    if psbt.version != 0 {
        return Err(input_error(
            label,
            format!(
                "PSBT version {}: only versions 0 (BIP-174) and 2 (BIP-370) are signed here",
                psbt.version
            ),
        ));
    }
    Ok((psbt, v2))
}

/// The output input `index` spends, from its `witness_utxo` or its `non_witness_utxo`
/// (which must agree when both are given): refused when neither says it.
fn spent_output(
    index: usize,
    input: &bitcoin::psbt::Input,
    txin: &TxIn,
    label: &str,
) -> CliResult<TxOut> {
    let outpoint = txin.previous_output;
    let from_full = match &input.non_witness_utxo {
        Some(tx) => Some(output_of(index, tx, outpoint, label)?),
        None => None,
    };
    match (&input.witness_utxo, from_full) {
        (Some(witness), Some(full)) if *witness != full => Err(input_error(
            label,
            format!(
                "input {index}: its witness_utxo and non_witness_utxo disagree on the output spent"
            ),
        )),
        (Some(witness), _) => Ok(witness.clone()),
        (None, Some(full)) => Ok(full),
        (None, None) => Err(input_error(
            label,
            format!(
                "input {index} ({outpoint}) does not say what it spends (no witness_utxo \
                 or non_witness_utxo): its amount, and so the fee, cannot be checked. \
                 Have the wallet export the PSBT with the UTXOs included"
            ),
        )),
    }
}

/// The output `outpoint` names in `tx`, a `non_witness_utxo`, which must be the
/// transaction the outpoint names.
fn output_of(
    index: usize,
    tx: &bitcoin::Transaction,
    outpoint: OutPoint,
    label: &str,
) -> CliResult<TxOut> {
    if tx.compute_txid() != outpoint.txid {
        return Err(input_error(
            label,
            format!(
                "input {index}: its non_witness_utxo is transaction {}, not {} that the input spends",
                tx.compute_txid(),
                outpoint.txid
            ),
        ));
    }
    usize::try_from(outpoint.vout)
        .ok()
        .and_then(|vout| tx.output.get(vout))
        .cloned()
        .ok_or_else(|| {
            input_error(
                label,
                format!(
                    "input {index}: its non_witness_utxo has no output {}",
                    outpoint.vout
                ),
            )
        })
}

/// Decodes the PSBT a wallet sent as UR (`crypto-psbt`: a CBOR byte string holding the
/// binary PSBT), then as [`parse`].
pub fn parse_ur(ur_type: UrType, cbor: &[u8], label: &str) -> CliResult<Parsed> {
    let bytes = transport::parse_cbor_byte_string(cbor).map_err(|e| {
        input_error(
            label,
            format!("the `{ur_type}` UR does not hold a PSBT as a CBOR byte string ({e})"),
        )
    })?;
    if !bytes.starts_with(b"psbt\xff") {
        return Err(input_error(
            label,
            format!("the `{ur_type}` UR holds no binary PSBT (it does not start with `psbt` 0xff)"),
        ));
    }
    Ok(Parsed {
        answer: ur_type,
        ..parse(&bytes, label)?
    })
}

fn total(mut amounts: impl Iterator<Item = u64>) -> Option<u64> {
    amounts.try_fold(0u64, u64::checked_add)
}

/// This key's scripts: P2WPKH of the compressed key and the BIP-86 P2TR output.
struct OurScripts {
    compressed: CompressedPublicKey,
    internal: XOnlyPublicKey,
    p2wpkh: ScriptBuf,
    p2tr: ScriptBuf,
}

impl OurScripts {
    fn of(public_key: &PublicKey) -> CliResult<OurScripts> {
        let bytes = public_key.secp256k1_compressed().ok_or_else(|| {
            CliError::Usage(UsageError::TransactionNeedsSecp256k1 {
                flag: "--psbt",
                curve: public_key.curve().to_string(),
            })
        })?;
        let compressed = CompressedPublicKey::from_slice(&bytes).map_err(|e| {
            CliError::Internal(format!("the verified public key does not parse: {e}"))
        })?;
        let internal = XOnlyPublicKey::from(compressed.0);
        let secp = Secp256k1::verification_only();
        Ok(OurScripts {
            p2wpkh: ScriptBuf::new_p2wpkh(&compressed.wpubkey_hash()),
            p2tr: ScriptBuf::new_p2tr(&secp, internal, None),
            compressed,
            internal,
        })
    }

    fn spend(&self, script: &ScriptBuf) -> Option<Spend> {
        if *script == self.p2wpkh {
            Some(Spend::P2wpkh)
        } else if *script == self.p2tr {
            Some(Spend::P2tr)
        } else {
            None
        }
    }
}

fn bitcoin_network(network: Network) -> bitcoin::Network {
    match network {
        Network::Mainnet => bitcoin::Network::Bitcoin,
        Network::Testnet => bitcoin::Network::Testnet,
    }
}

/// What the PSBT does, as seen by the key `public_key`. Refuses a PSBT with no input of
/// this key and an input of this key with a sighash type other than ALL / DEFAULT.
pub fn summarize(parsed: &Parsed, public_key: &PublicKey, network: Network) -> CliResult<Summary> {
    let ours = OurScripts::of(public_key)?;
    let label = parsed.label.as_str();
    let tx = &parsed.psbt.unsigned_tx;
    let mut warnings = Vec::new();
    let mut inputs = Vec::new();
    let mut witness_weight = 0;
    for (index, ((txin, input), out)) in tx
        .input
        .iter()
        .zip(&parsed.psbt.inputs)
        .zip(&parsed.spent)
        .enumerate()
    {
        let seen = InputSeen {
            index,
            input,
            out,
            several: tx.input.len() > 1,
        };
        let (spend, weight) = seen.spend(&ours, label, &mut warnings)?;
        witness_weight += weight;
        inputs.push(InputSummary {
            index,
            txid: txin.previous_output.txid.to_string(),
            vout: txin.previous_output.vout,
            amount_sat: out.value.to_sat(),
            ours: spend,
        });
    }
    if inputs.iter().all(|i| i.ours.is_none()) {
        return Err(no_input_of(&ours, network, label));
    }
    let outputs = summarize_outputs(parsed, &ours, network, &mut warnings);
    let input_total_sat: u64 = inputs.iter().map(|i| i.amount_sat).sum();
    let output_total_sat: u64 = outputs.iter().map(|o| o.amount_sat).sum();
    let fee_sat = input_total_sat - output_total_sat;
    if u128::from(fee_sat) * 100 > u128::from(input_total_sat) * u128::from(FEE_WARNING_PERCENT) {
        warnings.insert(
            0,
            format!(
                "THE FEE IS {} OF {} IN INPUTS: MORE THAN HALF GOES TO THE MINER",
                btc(fee_sat),
                btc(input_total_sat)
            ),
        );
    }
    // The SegWit marker and flag bytes count once there is any witness.
    let marker = if witness_weight > 0 { 2 } else { 0 };
    let estimated_vsize = (tx.weight().to_wu() + witness_weight + marker).div_ceil(4);
    let fee_rate = if estimated_vsize == 0 {
        0.0
    } else {
        (fee_sat as f64 / estimated_vsize as f64 * 10.0).round() / 10.0
    };
    Ok(Summary {
        network: match network {
            Network::Mainnet => "mainnet",
            Network::Testnet => "testnet",
        },
        txid: tx.compute_txid().to_string(),
        inputs,
        outputs,
        input_total_sat,
        output_total_sat,
        fee_sat,
        estimated_vsize,
        fee_rate_sat_per_vb: fee_rate,
        warnings,
        psbt_version: if parsed.v2.is_some() { 2 } else { 0 },
    })
}

/// One input of a PSBT, as [`summarize`] looks at it.
struct InputSeen<'a> {
    index: usize,
    input: &'a bitcoin::psbt::Input,
    /// The output it spends.
    out: &'a TxOut,
    /// Whether the transaction has other inputs (the SegWit fee attack needs them).
    several: bool,
}

impl InputSeen<'_> {
    /// How this key spends the input (`None`: not this key's) and the witness weight it
    /// adds once signed (a foreign input's only when the PSBT holds its witness); refuses a
    /// sighash type other than ALL (DEFAULT or ALL for Taproot), and adds its warnings.
    fn spend(
        &self,
        ours: &OurScripts,
        label: &str,
        warnings: &mut Vec<String>,
    ) -> CliResult<(Option<Spend>, u64)> {
        let (index, input) = (self.index, self.input);
        let spend = ours.spend(&self.out.script_pubkey);
        let allowed = match spend {
            Some(Spend::P2wpkh) => input.ecdsa_hash_ty().ok() == Some(EcdsaSighashType::All),
            Some(Spend::P2tr) => matches!(
                input.taproot_hash_ty().ok(),
                Some(TapSighashType::Default | TapSighashType::All)
            ),
            None => true,
        };
        if !allowed {
            let expected = match spend {
                Some(Spend::P2tr) => "DEFAULT or ALL",
                _ => "ALL",
            };
            return Err(input_error(
                label,
                format!(
                    "input {index} asks for a signature of sighash type {:?}, not {expected}: it would let others change the transaction; refused",
                    input.sighash_type.map(|t| t.to_u32())
                ),
            ));
        }
        let weight = match spend {
            Some(Spend::P2wpkh) => {
                if input.non_witness_utxo.is_none() && self.several {
                    warnings.push(format!(
                        "input {index} gives its amount in witness_utxo only: sign one version of \
                         this transaction, never a second one with other amounts (the SegWit \
                         fee attack)"
                    ));
                }
                P2WPKH_WITNESS_WEIGHT
            }
            Some(Spend::P2tr) => P2TR_WITNESS_WEIGHT,
            None => {
                warnings.push(format!(
                    "input {index} is not this key's (nor P2WPKH or BIP-86 P2TR of it): it is not signed here"
                ));
                input
                    .final_script_witness
                    .as_ref()
                    .map_or(0, |witness| witness.size() as u64)
            }
        };
        Ok((spend, weight))
    }
}

/// The refusal of a PSBT none of whose inputs this key spends, naming this key's
/// addresses.
fn no_input_of(ours: &OurScripts, network: Network, label: &str) -> CliError {
    let address = |script: &ScriptBuf| {
        Address::from_script(script, bitcoin_network(network))
            .map(|a| a.to_string())
            .unwrap_or_default()
    };
    input_error(
        label,
        format!(
            "no input of this PSBT is this key's (P2WPKH {} or P2TR {}): nothing to sign. \
             Check the PSBT and the key (--derive for a derived wallet)",
            address(&ours.p2wpkh),
            address(&ours.p2tr),
        ),
    )
}

/// The outputs as shown, change marked; warns of an output the PSBT marks as change (it
/// carries key origins) that does not pay this key.
fn summarize_outputs(
    parsed: &Parsed,
    ours: &OurScripts,
    network: Network,
    warnings: &mut Vec<String>,
) -> Vec<OutputSummary> {
    let tx = &parsed.psbt.unsigned_tx;
    let mut outputs = Vec::new();
    for (index, (out, map)) in tx.output.iter().zip(&parsed.psbt.outputs).enumerate() {
        let change = ours.spend(&out.script_pubkey).is_some();
        let claims_ours = !map.bip32_derivation.is_empty()
            || !map.tap_key_origins.is_empty()
            || map.tap_internal_key.is_some();
        if claims_ours && !change {
            warnings.push(format!(
                "output {index} is marked as change (it carries key origins) but does not pay this key: check where it goes"
            ));
        }
        outputs.push(OutputSummary {
            index,
            address: Address::from_script(&out.script_pubkey, bitcoin_network(network))
                .ok()
                .map(|a| a.to_string()),
            script_pubkey: hex::encode(out.script_pubkey.as_bytes()),
            amount_sat: out.value.to_sat(),
            change,
        });
    }
    outputs
}

/// Signs every input of this key (the summary must be of the same PSBT and key) and returns
/// the PSBT with the signatures added, not finalized.
pub fn sign(
    parsed: &Parsed,
    summary: &Summary,
    key: &PrivateKey,
    public_key: &PublicKey,
) -> CliResult<Signed> {
    let mut signer = InputSigner {
        parsed,
        key,
        public_key,
        ours: OurScripts::of(public_key)?,
        cache: SighashCache::new(&parsed.psbt.unsigned_tx),
        psbt: parsed.psbt.clone(),
    };
    let mut signatures = Vec::new();
    for input in &summary.inputs {
        let signed = match input.ours {
            None => continue,
            Some(Spend::P2wpkh) => signer.p2wpkh(input.index)?,
            Some(Spend::P2tr) => signer.p2tr(input.index)?,
        };
        signatures.push((input.index, signed));
    }
    let bytes = match &parsed.v2 {
        Some(v2) => v2.with_signatures(&signer.psbt).map_err(|e| {
            CliError::Internal(format!(
                "writing the signatures into the version 2 PSBT: {e}"
            ))
        })?,
        None => signer.psbt.serialize(),
    };
    Ok(Signed { bytes, signatures })
}

/// Signs the inputs of this key one by one, writing each signature into `psbt`.
struct InputSigner<'a> {
    parsed: &'a Parsed,
    key: &'a PrivateKey,
    public_key: &'a PublicKey,
    ours: OurScripts,
    cache: SighashCache<&'a bitcoin::Transaction>,
    /// The PSBT the signatures are written into.
    psbt: Psbt,
}

impl InputSigner<'_> {
    /// This key's signature of `digest` with `scheme`, verified.
    fn sign_digest(&self, scheme: SignScheme, digest: &[u8]) -> CliResult<SignedMessage> {
        crate::signature::sign(self.key, self.public_key, scheme, digest, false).map_err(|source| {
            CliError::Sign {
                input: Some(self.parsed.label.clone()),
                source,
            }
        })
    }

    fn sighash_error(&self, index: usize, e: &dyn std::fmt::Display) -> CliError {
        input_error(
            &self.parsed.label,
            format!("input {index}: no sighash: {e}"),
        )
    }

    /// A P2WPKH input: ECDSA over the BIP-143 sighash (ALL), into `partial_sigs`.
    fn p2wpkh(&mut self, index: usize) -> CliResult<SignedMessage> {
        let out = &self.parsed.spent[index];
        let sighash = self
            .cache
            .p2wpkh_signature_hash(index, &out.script_pubkey, out.value, EcdsaSighashType::All)
            .map_err(|e| self.sighash_error(index, &e))?;
        let signed = self.sign_digest(SignScheme::EcdsaSecp256k1, sighash.as_byte_array())?;
        let signature =
            bitcoin::secp256k1::ecdsa::Signature::from_compact(signed.signature().as_bytes())
                .map_err(|e| CliError::Internal(format!("ECDSA signature encoding: {e}")))?;
        self.psbt.inputs[index].partial_sigs.insert(
            bitcoin::PublicKey::new(self.ours.compressed.0),
            bitcoin::ecdsa::Signature {
                signature,
                sighash_type: EcdsaSighashType::All,
            },
        );
        Ok(signed)
    }

    /// A P2TR key-path input: BIP-340 with the BIP-86 tweak over the BIP-341 sighash of
    /// the input's type, into `tap_key_sig`; the tweaked key signed for must be the
    /// input's witness program.
    fn p2tr(&mut self, index: usize) -> CliResult<SignedMessage> {
        let out = &self.parsed.spent[index];
        let ty = self.parsed.psbt.inputs[index]
            .taproot_hash_ty()
            .map_err(|e| self.sighash_error(index, &e))?;
        let sighash = self
            .cache
            .taproot_key_spend_signature_hash(index, &Prevouts::All(&self.parsed.spent), ty)
            .map_err(|e| self.sighash_error(index, &e))?;
        let signed = self.sign_digest(SignScheme::Bip340Taproot, sighash.as_byte_array())?;
        // k256's tweaked key against the witness program libsecp256k1 computed.
        if signed.verifying_key() != &out.script_pubkey.as_bytes()[2..] {
            return Err(CliError::Internal(format!(
                "input {index}: the Taproot output key signed for is not the one the input spends"
            )));
        }
        let signature =
            bitcoin::secp256k1::schnorr::Signature::from_slice(signed.signature().as_bytes())
                .map_err(|e| CliError::Internal(format!("BIP-340 signature encoding: {e}")))?;
        let psbt_input = &mut self.psbt.inputs[index];
        psbt_input.tap_key_sig = Some(bitcoin::taproot::Signature {
            signature,
            sighash_type: ty,
        });
        psbt_input
            .tap_internal_key
            .get_or_insert(self.ours.internal);
        Ok(signed)
    }
}

impl super::Transaction for Parsed {
    const FORMAT: &'static str = "bitcoin-psbt";
    const SCHEME: SignScheme = SignScheme::EcdsaSecp256k1;
    type Input = [String];
    type Seen = Summary;
    type Signed = Signed;

    fn read(inputs: &[String], _args: &SignArgs, entry: &mut Entry) -> CliResult<Parsed> {
        match super::ur::read("--psbt", inputs, &[UrType::CryptoPsbt, UrType::Psbt], entry)? {
            TxInput::Plain { bytes, label } => parse(&bytes, &label),
            TxInput::Frames {
                ur_type,
                cbor,
                label,
            } => parse_ur(ur_type, &cbor, &label),
        }
    }

    fn sha256(&self) -> &str {
        &self.sha256
    }

    fn summarize(&self, args: &SignArgs, public_key: &PublicKey) -> CliResult<Summary> {
        summarize(self, public_key, args.network)
    }

    /// Inputs (ours or not), outputs (change marked), fee and fee rate, warnings (a fee
    /// above half the inputs loudly).
    fn print(&self, summary: &Summary) {
        let label = &self.label;
        eprintln!(
            "PSBT         {label} ({}, version {}, {} input(s), {} output(s))",
            summary.network,
            summary.psbt_version,
            summary.inputs.len(),
            summary.outputs.len()
        );
        render::labelled_line(0, "Txid", 13, &summary.txid);
        for input in &summary.inputs {
            let who = match input.ours {
                Some(spend) => format!("this key, {}: signed here", spend.name()),
                None => "NOT this key: not signed".to_owned(),
            };
            eprintln!(
                "{:<13}{:>20}  {who}",
                format!("Input {}", input.index),
                btc(input.amount_sat)
            );
            render::labelled_line(2, "spends", 11, &format!("{}:{}", input.txid, input.vout));
        }
        for output in &summary.outputs {
            let what = if output.change {
                "change: pays this key back"
            } else {
                "pays"
            };
            eprintln!(
                "{:<13}{:>20}  {what}",
                format!("Output {}", output.index),
                btc(output.amount_sat)
            );
            match &output.address {
                Some(address) => render::labelled_line(2, "to", 11, address),
                None => render::labelled_line(2, "script", 11, &output.script_pubkey),
            }
        }
        eprintln!(
            "{:<13}{:>20}  ({} sat)",
            "Fee",
            btc(summary.fee_sat),
            summary.fee_sat
        );
        eprintln!(
            "Fee rate     about {:.1} sat/vB ({} vB once signed, estimated)",
            summary.fee_rate_sat_per_vb, summary.estimated_vsize
        );
        for warning in &summary.warnings {
            if warning.starts_with("THE FEE") {
                render::loud_warning(&[
                    warning.as_str(),
                    "Do not sign unless this fee is intended.",
                ]);
            } else {
                super::print_warning(warning);
            }
        }
    }

    fn sign(
        &self,
        summary: &Summary,
        key: &PrivateKey,
        public_key: &PublicKey,
    ) -> CliResult<Signed> {
        sign(self, summary, key, public_key)
    }

    fn signatures(signed: &Signed) -> Vec<SignedMessage> {
        signed.signatures.iter().map(|(_, s)| s.clone()).collect()
    }

    fn print_signed(signed: &Signed) {
        eprintln!(
            "Signed       {} input(s); every signature verifies against the public key",
            signed.signatures.len()
        );
    }

    /// Base64 on standard output, binary in `--out`, and as UR frames of the input's type
    /// (`crypto-psbt` unless the wallet sent `psbt`).
    fn deliver(&self, signed: &Signed) -> CliResult<Delivery> {
        let frames = super::ur::frames(self.answer, &transport::cbor_byte_string(&signed.bytes))?;
        Ok(Delivery {
            text: base64::engine::general_purpose::STANDARD.encode(&signed.bytes),
            file: signed.bytes.clone(),
            role: "signed-psbt",
            what: "the signed PSBT, binary",
            frames: Some((self.answer, frames)),
        })
    }

    fn json<'a>(
        &'a self,
        summary: &'a Summary,
        signed: &'a Signed,
        delivery: &'a Delivery,
        public_key: &'a PublicKey,
    ) -> impl Serialize + 'a {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct SignedInput<'a> {
            input: usize,
            #[serde(flatten)]
            signed: &'a SignedMessage,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Details<'a> {
            public_key: String,
            psbt: &'a Summary,
            signatures: Vec<SignedInput<'a>>,
            signed_psbt: &'a str,
            /// The signed PSBT as UR frames of the input's type.
            signed_psbt_ur: Vec<&'a str>,
        }
        Details {
            public_key: public_key.to_hex(),
            psbt: summary,
            signatures: signed
                .signatures
                .iter()
                .map(|(input, signed)| SignedInput {
                    input: *input,
                    signed,
                })
                .collect(),
            signed_psbt: &delivery.text,
            signed_psbt_ur: delivery
                .frames
                .iter()
                .flat_map(|(_, frames)| frames.iter().map(UrFrame::as_str))
                .collect(),
        }
    }
}
